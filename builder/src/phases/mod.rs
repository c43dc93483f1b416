//! One build's steps, in pipeline order; nothing here remembers anything
//! between builds (that is `incremental`). Each phase is a function from
//! its input to an owned output:
//!
//! discover → analyze → link → graphql → emit → artifact
//!
//! `resolve` (module specifier → file) serves discover, analyze and link;
//! `parse_floor` is the yardstick a clean build is measured against.

pub mod analyze;
pub mod artifact;
pub mod discover;
pub mod emit;
pub mod graphql;
pub mod link;
pub mod parse_floor;
pub mod resolve;
