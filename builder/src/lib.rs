//! soda-gql builder: TypeScript sources in, one artifact of ready GraphQL
//! documents out. See ARCHITECTURE.md for the bird's-eye view.

pub mod build;
pub mod config;
pub mod diagnostics;
pub mod incremental;
pub mod io;
pub mod phases;
pub mod report;
pub mod watch;

/// The jemalloc options `soda-builder` ships with (a C string for the
/// `_rjem_malloc_conf` symbol). Transparent huge pages: a warm build touched
/// ~3,900 fresh 4 KiB pages, each a costly fault in a VM; with THP ~700. One
/// arena per CPU. The benchmark and the harness worker use the same.
pub const JEMALLOC_CONF: &[u8] = b"thp:always,metadata_thp:always,percpu_arena:percpu\0";

pub use build::{clean_build, run_build, BuildOptions};
pub use incremental::change::ChangeSet;
pub use incremental::service::BuilderService;
pub use incremental::session::{BuildError, BuildOutput, BuilderSession, SessionOptions};
pub use phases::artifact::Artifact;
