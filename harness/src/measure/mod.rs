//! Taking measurements: the scenarios (what one fixture × scenario runs),
//! the schedule that runs them (single or paired with a second build), the
//! `Runner` that spawns the measured child and reads its rusage, the
//! child → parent protocol, the machine fingerprint, git worktrees of other
//! revisions, criterion imports, and the measured child itself (`worker`).

pub mod git;
pub mod import_criterion;
pub mod machine;
pub mod protocol;
pub mod runner;
pub mod scenario;
pub mod schedule;
#[cfg(test)]
mod tests;
#[cfg(feature = "worker")]
pub mod worker;
