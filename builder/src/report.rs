//! What a build reports about itself (`BuildReport`: time per phase, cache
//! hits, files read, definitions recomputed) and the timer that fills it.
//! Not part of the incremental == clean invariant.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// How the artifact was built. Not part of the incremental == clean invariant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    #[serde(rename = "durationMs")]
    pub duration_ms: f64,
    pub warnings: Vec<String>,
    pub stats: CacheStats,
    pub phases: BTreeMap<String, f64>,
    pub files: FileCounts,
    /// Definitions whose resolution or document was recomputed by this build.
    pub recomputed: RecomputedCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecomputedCounts {
    pub definitions: u64,
    pub resolved: u64,
    pub compiled: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub skips: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    pub scanned: u64,
    pub read: u64,
    pub analyzed: u64,
    /// Directories the walk listed: none when every directory is as the
    /// last walk found it.
    #[serde(default)]
    pub listed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Hit,
    Miss,
    Skip,
}

/// Why a file was (not) re-analysed, for `--show-cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCacheStatus {
    pub status: CacheStatus,
    pub reason: &'static str,
}

/// Milliseconds per phase of one build, lap by lap.
pub struct Timer {
    /// Milliseconds per phase, by name.
    pub phases: BTreeMap<String, f64>,
    last: Instant,
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl Timer {
    pub fn new() -> Timer {
        Timer {
            phases: BTreeMap::new(),
            last: Instant::now(),
        }
    }
    /// Credits `ms` of the time since the last lap to `phase` (timed where
    /// it ran, inside a parallel section); the next lap gets the rest.
    pub fn split(&mut self, phase: &str, ms: f64) {
        *self.phases.entry(phase.to_owned()).or_insert(0.0) += ms;
        self.last += std::time::Duration::from_secs_f64(ms / 1000.0);
    }

    pub fn lap(&mut self, phase: &str) {
        let now = Instant::now();
        *self.phases.entry(phase.to_owned()).or_insert(0.0) +=
            (now - self.last).as_secs_f64() * 1000.0;
        self.last = now;
    }
}
