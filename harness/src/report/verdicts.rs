//! The gate's verdicts as the gate stored them, one per checked run: the
//! report shows these and never judges a run itself, so a run is never
//! held against a baseline it did not see.
//!
//! `soda-perf check` appends one line per check to
//! `reports/history/<machine>.checks.jsonl`, beside the run history, keyed
//! by the run's `started_at`. Only the fields the report shows are read,
//! each with a default, so older and newer check lines both load; a line
//! that does not parse is skipped with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::gate::verdict::Verdict;
use crate::model::{Direction, MetricKind};

/// One check of one run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredCheck {
    /// The checked run's `started_at`.
    pub started_at: String,
    /// The baseline's name (`main`).
    #[serde(default)]
    pub baseline: Option<String>,
    #[serde(default)]
    pub baseline_commit: Option<String>,
    pub report: StoredReport,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredReport {
    #[serde(default)]
    pub config: Option<StoredGateConfig>,
    #[serde(default)]
    pub rows: Vec<StoredRow>,
}

/// The thresholds the gate judged with.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct StoredGateConfig {
    #[serde(default = "default_threshold")]
    pub threshold_pct: f64,
    #[serde(default = "default_tolerance")]
    pub deterministic_tolerance_pct: f64,
}

fn default_threshold() -> f64 {
    5.0
}

fn default_tolerance() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredRow {
    pub fixture: String,
    pub scenario: String,
    pub metric: StoredMetric,
}

/// One metric's verdict, as the gate gave it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredMetric {
    pub metric: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub kind: Option<MetricKind>,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub base_median: Option<f64>,
    #[serde(default)]
    pub head_median: Option<f64>,
    /// `null` in the file: +∞ (a zero base).
    #[serde(default)]
    pub change_pct: Option<f64>,
    pub verdict: Verdict,
    #[serde(default)]
    pub reason: String,
}

impl StoredMetric {
    /// Whether the gate can fail on this metric.
    pub fn gates(&self) -> bool {
        self.direction != Some(Direction::Informational)
    }

    /// The change in percent; +∞ where the file has `null`.
    pub fn change(&self) -> f64 {
        self.change_pct.unwrap_or(f64::INFINITY)
    }
}

impl StoredCheck {
    pub fn row(&self, fixture: &str, scenario: &str, metric: &str) -> Option<&StoredMetric> {
        self.report
            .rows
            .iter()
            .find(|r| r.fixture == fixture && r.scenario == scenario && r.metric.metric == metric)
            .map(|r| &r.metric)
    }

    /// The band around the baseline inside which `metric` is unchanged.
    pub fn tolerance_pct(&self, metric: &StoredMetric) -> f64 {
        let config = self.report.config.unwrap_or(StoredGateConfig {
            threshold_pct: default_threshold(),
            deterministic_tolerance_pct: default_tolerance(),
        });
        match metric.kind {
            Some(MetricKind::Deterministic) => config.deterministic_tolerance_pct,
            _ => config.threshold_pct,
        }
    }
}

/// Every stored check, by the `started_at` of the run it judged (the last
/// check wins when a run was checked twice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredVerdicts {
    by_run: HashMap<String, StoredCheck>,
}

impl StoredVerdicts {
    pub fn for_run(&self, started_at: &str) -> Option<&StoredCheck> {
        self.by_run.get(started_at)
    }

    pub fn len(&self) -> usize {
        self.by_run.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_run.is_empty()
    }

    pub fn insert(&mut self, check: StoredCheck) {
        self.by_run.insert(check.started_at.clone(), check);
    }
}

/// `<dir>/<machine>.checks.jsonl` beside `<dir>/<machine>.jsonl`.
pub fn checks_path(history: &Path) -> PathBuf {
    let stem = history
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    history.with_file_name(format!("{stem}.checks.jsonl"))
}

/// Parses the lines of a checks file; returns the checks and one warning
/// per line that was skipped.
pub fn parse_checks(text: &str) -> (StoredVerdicts, Vec<String>) {
    let mut verdicts = StoredVerdicts::default();
    let mut warnings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<StoredCheck>(line) {
            Ok(check) => verdicts.insert(check),
            Err(err) => warnings.push(format!("line {}: skipped: {err}", index + 1)),
        }
    }
    (verdicts, warnings)
}

/// Reads a checks file; a missing file means no verdicts were recorded.
pub fn read_checks(path: &Path) -> std::io::Result<(StoredVerdicts, Vec<String>)> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(parse_checks(&String::from_utf8_lossy(&bytes))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Ok((StoredVerdicts::default(), Vec::new()))
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    const LINE: &str = r#"{"format":"soda-perf-check","format_version":1,"started_at":"2024-05-12T02:00:00Z","baseline":"main","baseline_commit":"abc","exit_code":1,"report":{"config":{"threshold_pct":5.0,"alpha":0.01,"deterministic_tolerance_pct":1.0},"rows":[{"fixture":"small","scenario":"cold","metric":{"metric":"wall_ms","unit":"ms","kind":"timing","direction":"smaller-is-better","base_median":100.0,"head_median":112.0,"base_n":10,"head_n":10,"ratio":1.12,"change_pct":12.0,"p_value":0.001,"verdict":"regressed","reason":"slower"},"evidence":"interleaved"},{"fixture":"small","scenario":"cold","metric":{"metric":"cache_hits","unit":"count","kind":"deterministic","direction":"informational","base_median":0.0,"head_median":3.0,"change_pct":null,"verdict":"inconclusive","reason":"informational"}}],"missing":[]}}"#;

    #[test]
    fn a_check_line_reads_with_the_fields_the_report_uses() {
        let text = format!("{LINE}\n{{not json\n\n");
        let (verdicts, warnings) = parse_checks(&text);
        assert_eq!(verdicts.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("line 2: skipped"));
        let check = verdicts.for_run("2024-05-12T02:00:00Z").unwrap();
        assert_eq!(check.baseline.as_deref(), Some("main"));
        let wall = check.row("small", "cold", "wall_ms").unwrap();
        assert_eq!(wall.verdict, Verdict::Regressed);
        assert!(wall.gates());
        assert_eq!(check.tolerance_pct(wall), 5.0);
        let hits = check.row("small", "cold", "cache_hits").unwrap();
        assert!(!hits.gates());
        assert_eq!(hits.change(), f64::INFINITY);
        assert_eq!(check.tolerance_pct(hits), 1.0);
        assert!(verdicts.for_run("2024-05-11T02:00:00Z").is_none());
    }

    #[test]
    fn the_checks_file_sits_beside_the_history() {
        assert_eq!(
            checks_path(Path::new("reports/history/linux-x.jsonl")),
            Path::new("reports/history/linux-x.checks.jsonl")
        );
        let dir = tempfile::tempdir().unwrap();
        let (none, warnings) = read_checks(&dir.path().join("missing.checks.jsonl")).unwrap();
        assert!(none.is_empty() && warnings.is_empty());
    }
}
