//! soda-perf: the measurement tool for the soda-gql builder.
//!
//! Pipeline: fixtures → scenario → worker (the measured child) → measure →
//! stats → baseline/compare → history → report (json, markdown, html/plots).
//! See ARCHITECTURE.md for the code map.

pub mod baseline;
pub mod cli;
pub mod compare;
pub mod export;
pub mod fixtures;
pub mod fsutil;
pub mod gate;
pub mod generate;
pub mod history;
pub mod machine;
pub mod model;
pub mod protocol;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod verdict;
#[cfg(feature = "worker")]
pub mod worker;
