//! The parent↔child protocol: what the parent asks the measured worker to do
//! ([`WorkerRequest`], one JSON command-line argument) and what the worker
//! answers ([`WorkerReport`], one JSON line on its stdout behind
//! [`REPORT_MARKER`], so builder log lines printed to stdout cannot corrupt it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped whenever a field of the request or the report changes meaning.
/// A parent refuses a report of any other version (e.g. `compare` against an
/// old revision whose worker speaks an older protocol).
pub const PROTOCOL_VERSION: u32 = 1;

/// Prefix of the one stdout line that carries the report. Anything else the
/// child prints (builder logs) is ignored by the parent.
pub const REPORT_MARKER: &str = "@@soda-perf-report@@ ";

/// What the child measures. The parent does the set-up that must happen
/// outside the child (priming the cache, editing a file for
/// `TargetedProcess`); the child does the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerScenario {
    /// Delete the cache directory, then build and write artifact + cache.
    Cold,
    /// Build with the on-disk cache present, write artifact + cache.
    Warm,
    /// One process: initial build, then measure an update with no changes.
    WarmSession,
    /// One process: initial build, edit one fragment, measure the update.
    TargetedSession,
    /// New process on persisted state after the parent edited one fragment.
    TargetedProcess,
    /// A clean build: no cache read or write.
    Clean,
    /// The control: a fixed CPU and allocation workload that does not depend
    /// on the builder, run beside every measured iteration so the gate can
    /// tell a slower machine from slower code.
    Calibrate,
    /// Not a measurement: a clean build compared with the artifact the
    /// previous (process) run left on disk. Keeps verification out of the
    /// measured process, whose whole lifetime the parent times.
    VerifyArtifact,
}

impl WorkerScenario {
    /// The name used in results and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            WorkerScenario::Cold => "cold",
            WorkerScenario::Warm => "warm",
            WorkerScenario::WarmSession => "warm-session",
            WorkerScenario::TargetedSession => "targeted-session",
            WorkerScenario::TargetedProcess => "targeted-process",
            WorkerScenario::Clean => "clean",
            WorkerScenario::VerifyArtifact => "verify-artifact",
            WorkerScenario::Calibrate => "calibrate",
        }
    }

    /// Session scenarios time an update inside a long-lived process, so the
    /// parent's process-level wall clock (which includes the initial build)
    /// is not the figure of interest: the worker's own timed region is.
    pub fn is_session(self) -> bool {
        matches!(
            self,
            WorkerScenario::WarmSession | WorkerScenario::TargetedSession
        )
    }
}

/// One job for the worker child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRequest {
    pub protocol_version: u32,
    /// The builder config of the (scratch copy of the) fixture.
    pub config_path: std::path::PathBuf,
    pub scenario: WorkerScenario,
    /// Iteration number, distinct across warm-up and measured iterations;
    /// targeted edits use it so every iteration changes the file again.
    pub iteration: u32,
    /// After the timed region, compare the artifact with a clean build.
    pub verify: bool,
    /// Synthetic extra work inside the measured region, for `selftest` and
    /// the gate's drills only (hidden options; absent in every normal run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject: Option<Injection>,
}

/// Extra work a worker adds to its measured region: busy time in
/// proportion to the region's own wall time, and heap allocations in
/// proportion to the bytes the region allocated. Never on in a normal run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// Spin this many percent of the region's wall time more.
    #[serde(default)]
    pub slowdown_pct: f64,
    /// Allocate (and free) this many percent of the region's bytes more.
    #[serde(default)]
    pub alloc_pct: f64,
}

impl Injection {
    /// `None` when both are zero: nothing to inject.
    pub fn from_pcts(slowdown_pct: f64, alloc_pct: f64) -> Option<Injection> {
        (slowdown_pct != 0.0 || alloc_pct != 0.0).then_some(Injection {
            slowdown_pct,
            alloc_pct,
        })
    }
}

impl WorkerRequest {
    pub fn new(
        config_path: impl Into<std::path::PathBuf>,
        scenario: WorkerScenario,
        iteration: u32,
        verify: bool,
    ) -> WorkerRequest {
        WorkerRequest {
            protocol_version: PROTOCOL_VERSION,
            config_path: config_path.into(),
            scenario,
            iteration,
            verify,
            inject: None,
        }
    }

    pub fn to_json(&self) -> String {
        // A struct of strings, integers and enums always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the worker's command-line argument, refusing other protocol versions.
    pub fn from_json(text: &str) -> Result<WorkerRequest, ProtocolError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ProtocolError::MalformedRequest {
                excerpt: excerpt(text),
                source,
            })?;
        check_version(&value, "request")?;
        serde_json::from_value(value).map_err(|source| ProtocolError::MalformedRequest {
            excerpt: excerpt(text),
            source,
        })
    }
}

/// Builder cache counters of the timed region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounters {
    pub hits: u64,
    pub misses: u64,
    pub skips: u64,
}

/// Builder file counters of the timed region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounters {
    pub scanned: u64,
    pub read: u64,
    pub analyzed: u64,
}

/// Memory figures of the timed region, from the worker's counting allocator
/// and from jemalloc's own statistics at the end of the region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocCounters {
    /// Sum of every allocation's size (reallocations count their growth).
    pub total_allocated_bytes: u64,
    /// Highest number of live heap bytes at any point.
    pub peak_allocated_bytes: u64,
    pub jemalloc_resident_bytes: u64,
    pub jemalloc_allocated_bytes: u64,
    /// Number of allocations (reallocations that grow count once more).
    #[serde(default)]
    pub allocations: u64,
}

/// What the worker tells the parent about one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    pub protocol_version: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time of the timed region, measured inside the child.
    pub inner_wall_ms: f64,
    /// CPU time of the timed region (all threads), measured inside the child.
    /// Session scenarios use these instead of the whole child's rusage.
    #[serde(default)]
    pub inner_user_ms: f64,
    #[serde(default)]
    pub inner_sys_ms: f64,
    /// The child's own peak RSS (KiB, `VmHWM` on Linux) at the end of the
    /// timed region, before any verification. Used instead of `wait4`'s
    /// `ru_maxrss`, which includes the parent's resident set at spawn.
    #[serde(default)]
    pub peak_rss_kib: u64,
    /// Builder phase name -> milliseconds.
    pub phases: BTreeMap<String, f64>,
    pub stats: CacheCounters,
    pub files: FileCounters,
    pub alloc: AllocCounters,
    /// `Some(true)` when the artifact equalled a clean build's, `None` when not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    pub diagnostics_errors: u64,
}

impl WorkerReport {
    /// A report of a worker that could not do its job.
    pub fn failure(message: impl Into<String>) -> WorkerReport {
        WorkerReport {
            protocol_version: PROTOCOL_VERSION,
            ok: false,
            error: Some(message.into()),
            ..WorkerReport::default()
        }
    }

    /// The line the worker prints: marker + compact JSON.
    pub fn to_line(&self) -> String {
        match serde_json::to_string(self) {
            Ok(json) => format!("{REPORT_MARKER}{json}"),
            // Cannot happen for this plain struct; the parent would still show
            // the message as the excerpt of a malformed report.
            Err(err) => format!(
                "{REPORT_MARKER}{{\"ok\":false,\"error\":{:?}}}",
                err.to_string()
            ),
        }
    }

    /// Finds the report in a child's whole stdout: the last line that starts
    /// with [`REPORT_MARKER`]; every other line is builder output.
    pub fn from_stdout(stdout: &str) -> Result<WorkerReport, ProtocolError> {
        let line = stdout
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix(REPORT_MARKER))
            .ok_or_else(|| ProtocolError::MissingReport {
                stdout_tail: tail(stdout, 400),
            })?;
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|source| ProtocolError::MalformedReport {
                excerpt: excerpt(line),
                source,
            })?;
        check_version(&value, "report")?;
        serde_json::from_value(value).map_err(|source| ProtocolError::MalformedReport {
            excerpt: excerpt(line),
            source,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "the worker printed no report line (expected a line starting with {REPORT_MARKER:?}); its stdout ended with: {stdout_tail:?}"
    )]
    MissingReport { stdout_tail: String },
    #[error("the worker's report is not valid JSON ({source}); report began: {excerpt:?}")]
    MalformedReport {
        excerpt: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the worker request is not valid JSON ({source}); request began: {excerpt:?}")]
    MalformedRequest {
        excerpt: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "worker {what} speaks protocol version {found}, this soda-perf speaks version {expected}: rebuild both sides from revisions with the same protocol"
    )]
    VersionMismatch {
        what: &'static str,
        expected: u32,
        found: String,
    },
}

/// Compares the version before decoding the rest, so that a report of another
/// version is named as such instead of as a missing field.
fn check_version(value: &serde_json::Value, what: &'static str) -> Result<(), ProtocolError> {
    match value.get("protocol_version") {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => {
            Ok(())
        }
        Some(other) => Err(ProtocolError::VersionMismatch {
            what,
            expected: PROTOCOL_VERSION,
            found: other.to_string(),
        }),
        None => Err(ProtocolError::VersionMismatch {
            what,
            expected: PROTOCOL_VERSION,
            found: "none (no protocol_version field)".to_string(),
        }),
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(120).collect()
}

/// The last `max_chars` characters of `text`, on a character boundary.
pub(crate) fn tail(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max_chars)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_report() -> WorkerReport {
        WorkerReport {
            protocol_version: PROTOCOL_VERSION,
            ok: true,
            error: None,
            inner_wall_ms: 12.5,
            inner_user_ms: 10.0,
            inner_sys_ms: 1.25,
            peak_rss_kib: 20_480,
            phases: BTreeMap::from([("scan".to_string(), 1.5), ("analyze".to_string(), 7.0)]),
            stats: CacheCounters {
                hits: 3,
                misses: 1,
                skips: 0,
            },
            files: FileCounters {
                scanned: 10,
                read: 4,
                analyzed: 2,
            },
            alloc: AllocCounters {
                total_allocated_bytes: 1 << 20,
                peak_allocated_bytes: 1 << 18,
                jemalloc_resident_bytes: 1 << 22,
                jemalloc_allocated_bytes: 1 << 19,
                allocations: 1000,
            },
            verified: Some(true),
            diagnostics_errors: 0,
        }
    }

    #[test]
    fn report_round_trips_through_stdout_with_log_lines_around_it() {
        let report = sample_report();
        let stdout = format!(
            "building...\n{{\"looks\":\"like json\"}}\n{}\nwarning: trailing log\n",
            report.to_line()
        );
        assert_eq!(WorkerReport::from_stdout(&stdout).unwrap(), report);
    }

    #[test]
    fn the_last_report_line_wins() {
        let first = WorkerReport::failure("first");
        let second = sample_report();
        let stdout = format!("{}\n{}\n", first.to_line(), second.to_line());
        assert_eq!(WorkerReport::from_stdout(&stdout).unwrap(), second);
    }

    #[test]
    fn request_round_trips() {
        let request = WorkerRequest::new(
            "/tmp/x/soda.config.json",
            WorkerScenario::TargetedSession,
            7,
            true,
        );
        assert_eq!(
            WorkerRequest::from_json(&request.to_json()).unwrap(),
            request
        );
    }

    #[test]
    fn scenario_names_are_kebab_case_in_json() {
        let request = WorkerRequest::new("c", WorkerScenario::WarmSession, 0, false);
        assert!(request.to_json().contains("\"warm-session\""));
    }

    #[test]
    fn missing_report_names_the_marker_and_shows_stdout() {
        let err = WorkerReport::from_stdout("only logs here\n").unwrap_err();
        assert!(matches!(err, ProtocolError::MissingReport { .. }));
        let message = err.to_string();
        assert!(message.contains(REPORT_MARKER.trim()), "{message}");
        assert!(message.contains("only logs here"), "{message}");
    }

    #[test]
    fn truncated_report_is_a_malformed_report() {
        let line = sample_report().to_line();
        let truncated = &line[..line.len() / 2];
        let err = WorkerReport::from_stdout(truncated).unwrap_err();
        assert!(
            matches!(err, ProtocolError::MalformedReport { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("not valid JSON"));
    }

    #[test]
    fn report_missing_a_field_is_malformed() {
        let stdout =
            format!("{REPORT_MARKER}{{\"protocol_version\":{PROTOCOL_VERSION},\"ok\":true}}");
        let err = WorkerReport::from_stdout(&stdout).unwrap_err();
        assert!(
            matches!(err, ProtocolError::MalformedReport { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("missing field"), "{err}");
    }

    #[test]
    fn other_protocol_version_is_refused_clearly() {
        let mut value = serde_json::to_value(sample_report()).unwrap();
        value["protocol_version"] = serde_json::json!(PROTOCOL_VERSION + 1);
        // Another version may also have other fields: still named as a version problem.
        value.as_object_mut().unwrap().remove("phases");
        let stdout = format!("{REPORT_MARKER}{value}");
        let err = WorkerReport::from_stdout(&stdout).unwrap_err();
        assert!(
            matches!(err, ProtocolError::VersionMismatch { .. }),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("version {}", PROTOCOL_VERSION + 1)),
            "{message}"
        );
    }

    #[test]
    fn request_without_version_is_refused() {
        let err = WorkerRequest::from_json("{\"config_path\":\"x\"}").unwrap_err();
        assert!(
            matches!(err, ProtocolError::VersionMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn failure_report_round_trips() {
        let report = WorkerReport::failure("config not found: /x");
        let parsed = WorkerReport::from_stdout(&report.to_line()).unwrap();
        assert!(!parsed.ok);
        assert_eq!(parsed.error.as_deref(), Some("config not found: /x"));
    }

    #[test]
    fn tail_keeps_the_end_on_char_boundaries() {
        assert_eq!(tail("héllo wörld", 5), "wörld");
        assert_eq!(tail("ab", 5), "ab");
    }

    proptest! {
        #[test]
        fn any_report_round_trips(
            // Quarter milliseconds: exact in binary and in short decimals, so the
            // comparison below can be exact (serde_json's default float parser
            // may be off by one ulp on long decimals, which is irrelevant here).
            wall_quarters in 0u32..40_000_000,
            hits in any::<u64>(),
            total in any::<u64>(),
            phase in "[a-z_]{1,12}",
            phase_quarters in 0u32..4_000_000,
            verified in proptest::option::of(any::<bool>()),
            noise in "[^@\n]{0,40}",
        ) {
            let mut report = sample_report();
            report.inner_wall_ms = f64::from(wall_quarters) / 4.0;
            report.stats.hits = hits;
            report.alloc.total_allocated_bytes = total;
            report.phases.insert(phase, f64::from(phase_quarters) / 4.0);
            report.verified = verified;
            let stdout = format!("{noise}\n{}\n{noise}", report.to_line());
            prop_assert_eq!(WorkerReport::from_stdout(&stdout).unwrap(), report);
        }

        #[test]
        fn garbage_never_panics(garbage in ".{0,200}") {
            let _ = WorkerReport::from_stdout(&garbage);
            let _ = WorkerReport::from_stdout(&format!("{REPORT_MARKER}{garbage}"));
        }
    }
}
