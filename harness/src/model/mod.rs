//! The data model every part of the harness shares: raw samples per metric,
//! grouped by scenario and fixture, inside one run record. Plain, versioned,
//! serde data — what `metrics.json`, baselines and history lines hold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(test)]
pub(crate) mod sample_data;
pub mod shard;

/// The metric of the control workload run beside every measured iteration
/// (see `worker::calibrate`); the gate uses it to correct for machine drift.
pub const CONTROL_METRIC: &str = "control_ms";
/// The control workload's CPU time (user + sys), the reference for CPU metrics.
pub const CONTROL_CPU_METRIC: &str = "control_cpu_ms";

/// Bumped when a field changes meaning; readers refuse newer versions.
pub const RECORD_FORMAT_VERSION: u32 = 1;

/// How a metric's samples behave, which decides how two runs are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricKind {
    /// Noisy measurements (wall, CPU, RSS): compared with a statistical test.
    Timing,
    /// Repeatable counts (allocated bytes, instructions, cache hits, files read):
    /// compared directly with a small tolerance.
    Deterministic,
}

/// Whether a smaller or a larger value is the better one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    SmallerIsBetter,
    LargerIsBetter,
    /// Neither: a change is reported but never called a regression (e.g. cache hits
    /// in a cold run are expected to be zero; a change is informative only).
    Informational,
}

/// All raw samples of one metric in one scenario (warm-up iterations excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSamples {
    /// Unit for display: "ms", "bytes", "KiB", "count", "instructions".
    pub unit: String,
    pub kind: MetricKind,
    pub direction: Direction,
    pub samples: Vec<f64>,
}

/// One scenario (cold, warm, warm-session, targeted-session, targeted-process)
/// measured on one fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub iterations: usize,
    pub warmup: usize,
    /// Metric name -> samples. Well-known names: `wall_ms`, `cpu_ms`, `user_ms`,
    /// `sys_ms`, `peak_rss_kib`, `alloc_total_bytes`, `alloc_peak_bytes`,
    /// `jemalloc_resident_bytes`, `instructions`, `cache_hits`, `cache_misses`,
    /// `cache_skips`, `files_scanned`, `files_read`, `files_analyzed`, and
    /// `phase.<name>_ms` for each builder phase.
    pub metrics: BTreeMap<String, MetricSamples>,
    /// For targeted scenarios: every iteration's artifact equalled a clean build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Free-form notes (e.g. "valgrind missing: instructions not recorded").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureResult {
    pub fixture: String,
    /// Number of source files the builder scanned.
    pub files: u64,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// Stable key used for baseline/history paths: e.g. `linux-x86_64-<cpu-slug>-2c-24g`.
    pub key: String,
    pub os: String,
    pub kernel: String,
    pub cpu_model: String,
    pub cores: u64,
    pub memory_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: bool,
}

/// Everything one `soda-perf run` produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub format_version: u32,
    /// RFC 3339 UTC timestamp of the run's start; also its id.
    pub started_at: String,
    pub machine: MachineInfo,
    pub git: GitInfo,
    pub harness_version: String,
    pub builder_version: String,
    pub fixtures: Vec<FixtureResult>,
}

/// Which build a run or a sample belongs to when two are compared: the
/// baseline side or the one under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Base,
    Head,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Base => "base",
            Side::Head => "head",
        })
    }
}

/// Well-known metric names, so readers and writers agree on the spelling.
pub mod metric_names {
    pub const WALL_MS: &str = "wall_ms";
    pub const CPU_MS: &str = "cpu_ms";
    pub const USER_MS: &str = "user_ms";
    pub const SYS_MS: &str = "sys_ms";
    pub const PEAK_RSS_KIB: &str = "peak_rss_kib";
    pub const ALLOC_TOTAL_BYTES: &str = "alloc_total_bytes";
    pub const ALLOC_PEAK_BYTES: &str = "alloc_peak_bytes";
    pub const ALLOC_COUNT: &str = "alloc_count";
    pub const JEMALLOC_RESIDENT_BYTES: &str = "jemalloc_resident_bytes";
    pub const INSTRUCTIONS: &str = "instructions";
    pub const CACHE_HITS: &str = "cache_hits";
    pub const CACHE_MISSES: &str = "cache_misses";
    pub const CACHE_SKIPS: &str = "cache_skips";
    pub const FILES_SCANNED: &str = "files_scanned";
    pub const FILES_READ: &str = "files_read";
    pub const FILES_ANALYZED: &str = "files_analyzed";
    pub const CONTROL_MS: &str = super::CONTROL_METRIC;
    pub const CONTROL_CPU_MS: &str = super::CONTROL_CPU_METRIC;
    /// Prefix of the per-phase timings: `phase.<name>_ms`.
    pub const PHASE_PREFIX: &str = "phase.";
}

impl ScenarioResult {
    pub fn metric(&self, name: &str) -> Option<&MetricSamples> {
        self.metrics.get(name)
    }
}

impl FixtureResult {
    pub fn scenario(&self, name: &str) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.scenario == name)
    }
}

impl RunRecord {
    pub fn fixture(&self, name: &str) -> Option<&FixtureResult> {
        self.fixtures.iter().find(|f| f.fixture == name)
    }

    /// The first 8 characters of the commit, `-dirty` appended when the tree
    /// had uncommitted changes; `unknown` without git.
    pub fn short_commit(&self) -> String {
        let commit = self
            .git
            .commit
            .as_deref()
            .map_or("unknown", |c| c.get(..8).unwrap_or(c));
        if self.git.dirty {
            format!("{commit}-dirty")
        } else {
            commit.to_string()
        }
    }
}

/// Formats a time as an RFC 3339 UTC timestamp with second precision, e.g.
/// `2024-05-01T12:34:56Z` (the format of `started_at` and `saved_at`).
pub fn format_rfc3339_utc(time: std::time::SystemTime) -> String {
    let seconds = match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(since_epoch) => since_epoch.as_secs() as i64,
        Err(before_epoch) => -(before_epoch.duration().as_secs() as i64),
    };
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let date = civil_from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        date.year,
        date.month,
        date.day,
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

struct CivilDate {
    year: i64,
    month: u32,
    day: u32,
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    CivilDate { year, month, day }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_formatting_of_known_instants() {
        assert_eq!(format_rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2000-02-29 (leap day) 12:34:56 UTC.
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(format_rfc3339_utc(leap_day), "2000-02-29T12:34:56Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(format_rfc3339_utc(later), "2024-12-31T23:59:59Z");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_rfc3339_utc(before), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn short_commit_marks_dirty_trees() {
        let record = RunRecord {
            format_version: RECORD_FORMAT_VERSION,
            started_at: "2024-01-01T00:00:00Z".into(),
            machine: MachineInfo {
                key: "k".into(),
                os: "linux".into(),
                kernel: "6".into(),
                cpu_model: "cpu".into(),
                cores: 2,
                memory_bytes: 1,
            },
            git: GitInfo {
                commit: Some("0123456789abcdef".into()),
                branch: None,
                dirty: true,
            },
            harness_version: "0".into(),
            builder_version: "0".into(),
            fixtures: vec![],
        };
        assert_eq!(record.short_commit(), "01234567-dirty");
    }
}
