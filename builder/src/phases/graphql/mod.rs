//! GraphQL: schema loading, rendering definitions to GraphQL text, validation
//! with apollo-compiler, fragment inlining, and the graphql-js `DocumentNode`
//! JSON and canonical text of every operation.

pub mod compile;
pub mod ir;
pub mod metadata;
pub mod render;
pub mod schema;
pub mod selection;
