//! Everything that remembers between builds: the session (`build_initial`,
//! `update`, `write_outputs`), its persisted state and the dependency graph
//! it patches. A clean build is a session with no prior state.

pub mod change;
pub mod graph_patch;
pub mod persist;
pub mod service;
pub mod session;
pub mod stat_scan;
pub mod state;
