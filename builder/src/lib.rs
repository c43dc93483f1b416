//! soda-gql builder: TypeScript sources in, one artifact of ready GraphQL
//! documents out. See ARCHITECTURE.md for the bird's-eye view.

pub mod analyze;
pub mod artifact;
pub mod build;
pub mod cache;
pub mod chunks;
pub mod config;
pub mod diagnostics;
pub mod discover;
pub mod emit;
pub mod fingerprint;
pub mod graph;
pub mod graph_patch;
pub mod graphql;
pub mod resolve;
pub mod session;
pub mod watch;

pub use artifact::Artifact;
pub use build::{clean_build, run_build, BuildOptions};
pub use session::{
    BuildError, BuildOutput, BuilderService, BuilderSession, ChangeSet, SessionOptions,
};
