//! What soda-perf keeps on disk between runs: baselines, the append-only
//! history, and the atomic writes and locks both go through.

pub mod atomic;
pub mod baseline;
pub mod history;
