//! soda-perf: the measurement tool for the soda-gql builder.
//!
//! Pipeline: fixtures → measure (scenario → schedule → worker, the measured
//! child → runner) → stats → gate (verdicts, interleaved confirmation) →
//! store (baselines, history) → export / report. Layers, bottom to top:
//! `model`, `stats`, `store`, `fixtures`, `measure`, `gate`, `export`,
//! `report`, `cli`; a module imports only from layers below it
//! (`tests/tidy.rs`). See ARCHITECTURE.md for the code map.

pub mod cli;
pub mod export;
pub mod fixtures;
pub mod gate;
pub mod measure;
pub mod model;
pub mod report;
pub mod stats;
pub mod store;
