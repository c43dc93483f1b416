//! The file system at the edges: fingerprints and stat keys, the walk's
//! directory primitives, atomic writes, and the worker pool's start. Nothing
//! here knows what a build is.

pub mod atomic;
pub mod fingerprint;
pub mod pool;
pub mod walk;
