//! The compact history line (record format 2). A version-1 line is a
//! `RunRecord` as JSON: every metric spells its unit, kind and direction
//! and every sample of every metric, ~40–80 KB a run (a year of nightlies:
//! ~20 MB per machine). A version-2 line keeps what a reader of the
//! history uses:
//!
//! - each metric's unit, kind and direction once per line (`metrics`), not
//!   once per scenario;
//! - samples of the gated metrics and of the ones the report charts
//!   (`cpu_ms`, `cache_hits`, `cache_misses`), as arrays, or as one number
//!   when every iteration measured the same (a deterministic count);
//! - only the median of the other informational metrics (`phase.*`,
//!   `user_ms`, `sys_ms`, `control_*`, `jemalloc_resident_bytes`,
//!   `files_scanned`): they are read back as one sample;
//! - numbers with at most 6 significant digits (float noise such as
//!   `8.850999999999999` gone), integers without `.0`.
//!
//! Both versions read back as a `RunRecord`; `metrics.json` and baselines
//! keep every sample (the gate reads those, never the history).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::model::metric_names::{CACHE_HITS, CACHE_MISSES, CPU_MS};
use crate::model::{
    Direction, FixtureResult, GitInfo, MachineInfo, MetricKind, MetricSamples, RunRecord,
    ScenarioResult,
};

/// The format of the lines this harness writes.
pub const LINE_FORMAT_VERSION: u32 = 2;

/// Informational metrics whose samples the report reads.
const KEPT_INFORMATIONAL: [&str; 3] = [CPU_MS, CACHE_HITS, CACHE_MISSES];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MetricMeta(String, MetricKind, Direction);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LineV2 {
    format_version: u32,
    started_at: String,
    machine: MachineInfo,
    git: GitInfo,
    harness_version: String,
    builder_version: String,
    metrics: BTreeMap<String, MetricMeta>,
    fixtures: Vec<FixtureV2>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FixtureV2 {
    fixture: String,
    files: u64,
    scenarios: Vec<ScenarioV2>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScenarioV2 {
    scenario: String,
    iterations: usize,
    warmup: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    /// Metric → an array of samples, or one number for `iterations` equal ones.
    #[serde(default)]
    samples: BTreeMap<String, Value>,
    /// Metric → the median only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    medians: BTreeMap<String, Value>,
}

/// At most 6 significant digits; integral values as JSON integers.
fn compact_number(value: f64) -> Value {
    if !value.is_finite() {
        return Value::Null;
    }
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        return Value::Number(Number::from(value as i64));
    }
    let digits = 6 - 1 - value.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits.clamp(0, 15));
    let rounded = (value * scale).round() / scale;
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        return Value::Number(Number::from(rounded as i64));
    }
    // Parsing the shortest decimal form keeps `8.851`, not its binary tail.
    let text = format!("{rounded}");
    text.parse::<Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn number_of(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// Whether the history keeps every sample of `name`.
fn keeps_samples(name: &str, metric: &MetricSamples) -> bool {
    metric.direction != Direction::Informational || KEPT_INFORMATIONAL.contains(&name)
}

/// The version-2 line of `record`.
pub fn encode(record: &RunRecord) -> Result<String, serde_json::Error> {
    let mut metrics = BTreeMap::new();
    let fixtures = record
        .fixtures
        .iter()
        .map(|fixture| FixtureV2 {
            fixture: fixture.fixture.clone(),
            files: fixture.files,
            scenarios: fixture
                .scenarios
                .iter()
                .map(|scenario| {
                    let mut samples = BTreeMap::new();
                    let mut medians = BTreeMap::new();
                    for (name, metric) in &scenario.metrics {
                        metrics.insert(
                            name.clone(),
                            MetricMeta(metric.unit.clone(), metric.kind, metric.direction),
                        );
                        if keeps_samples(name, metric) {
                            let values = &metric.samples;
                            let all_equal = values.len() == scenario.iterations
                                && values.windows(2).all(|w| w[0] == w[1]);
                            let encoded = match values.first() {
                                Some(&first) if all_equal => compact_number(first),
                                _ => Value::Array(
                                    values.iter().map(|v| compact_number(*v)).collect(),
                                ),
                            };
                            samples.insert(name.clone(), encoded);
                        } else if let Some(median) = crate::stats::median_of(&metric.samples) {
                            medians.insert(name.clone(), compact_number(median));
                        }
                    }
                    ScenarioV2 {
                        scenario: scenario.scenario.clone(),
                        iterations: scenario.iterations,
                        warmup: scenario.warmup,
                        verified: scenario.verified,
                        notes: scenario.notes.clone(),
                        samples,
                        medians,
                    }
                })
                .collect(),
        })
        .collect();
    serde_json::to_string(&LineV2 {
        format_version: LINE_FORMAT_VERSION,
        started_at: record.started_at.clone(),
        machine: record.machine.clone(),
        git: record.git.clone(),
        harness_version: record.harness_version.clone(),
        builder_version: record.builder_version.clone(),
        metrics,
        fixtures,
    })
}

/// Reads a line of either version.
pub fn decode(line: &str, format_version: u32) -> Result<RunRecord, serde_json::Error> {
    if format_version < 2 {
        return serde_json::from_str(line);
    }
    let v2: LineV2 = serde_json::from_str(line)?;
    let meta = |name: &str| {
        v2.metrics.get(name).cloned().unwrap_or(MetricMeta(
            String::new(),
            MetricKind::Timing,
            Direction::Informational,
        ))
    };
    let fixtures = v2
        .fixtures
        .iter()
        .map(|fixture| FixtureResult {
            fixture: fixture.fixture.clone(),
            files: fixture.files,
            scenarios: fixture
                .scenarios
                .iter()
                .map(|scenario| {
                    let mut metrics = BTreeMap::new();
                    let mut insert = |name: &String, samples: Vec<f64>| {
                        let MetricMeta(unit, kind, direction) = meta(name);
                        metrics.insert(
                            name.clone(),
                            MetricSamples {
                                unit,
                                kind,
                                direction,
                                samples,
                            },
                        );
                    };
                    for (name, value) in &scenario.samples {
                        let samples = match value {
                            Value::Array(values) => values.iter().map(number_of).collect(),
                            one => vec![number_of(one); scenario.iterations],
                        };
                        insert(name, samples);
                    }
                    for (name, value) in &scenario.medians {
                        insert(name, vec![number_of(value)]);
                    }
                    ScenarioResult {
                        scenario: scenario.scenario.clone(),
                        iterations: scenario.iterations,
                        warmup: scenario.warmup,
                        metrics,
                        verified: scenario.verified,
                        notes: scenario.notes.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(RunRecord {
        format_version: crate::model::RECORD_FORMAT_VERSION,
        started_at: v2.started_at,
        machine: v2.machine,
        git: v2.git,
        harness_version: v2.harness_version,
        builder_version: v2.builder_version,
        fixtures,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn record() -> RunRecord {
        crate::store::history::sample_history::history(1).remove(0)
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(compact_number(718735.0).to_string(), "718735");
        assert_eq!(compact_number(8.850999999999999).to_string(), "8.851");
        assert_eq!(compact_number(412.38471938).to_string(), "412.385");
        assert_eq!(compact_number(0.000123456789).to_string(), "0.000123457");
        assert_eq!(compact_number(-3.0).to_string(), "-3");
        assert_eq!(compact_number(f64::NAN), Value::Null);
    }

    #[test]
    fn gated_samples_survive_and_informational_ones_keep_their_median() {
        let original = record();
        let line = encode(&original).unwrap();
        let back = decode(&line, 2).unwrap();
        assert_eq!(back.started_at, original.started_at);
        assert_eq!(back.machine, original.machine);
        for (fixture, restored) in original.fixtures.iter().zip(&back.fixtures) {
            for (scenario, got) in fixture.scenarios.iter().zip(&restored.scenarios) {
                assert_eq!(scenario.metrics.len(), got.metrics.len());
                for (name, metric) in &scenario.metrics {
                    let read = &got.metrics[name];
                    assert_eq!(
                        (&read.unit, read.kind, read.direction),
                        (&metric.unit, metric.kind, metric.direction)
                    );
                    if keeps_samples(name, metric) {
                        assert_eq!(read.samples.len(), metric.samples.len(), "{name}");
                        for (a, b) in read.samples.iter().zip(&metric.samples) {
                            assert!((a - b).abs() <= b.abs() * 1e-5, "{name}: {a} vs {b}");
                        }
                    } else {
                        let median = crate::stats::median_of(&metric.samples).unwrap();
                        assert_eq!(read.samples.len(), 1, "{name}");
                        assert!((read.samples[0] - median).abs() <= median.abs() * 1e-5);
                    }
                }
            }
        }
    }

    #[test]
    fn equal_counts_are_one_number_and_version_one_lines_still_read() {
        let original = record();
        let line = encode(&original).unwrap();
        assert!(
            line.contains("\"cache_hits\":0,"),
            "all-equal samples as one number: {line}"
        );
        let v1 = serde_json::to_string(&original).unwrap();
        assert_eq!(decode(&v1, 1).unwrap(), original);
        assert!(line.len() * 2 < v1.len(), "{} vs {}", line.len(), v1.len());
    }

    /// The committed histories, re-encoded: bytes per run before and after
    /// (`cargo test -p harness -- committed_history --nocapture` prints them).
    #[test]
    fn committed_history_shrinks() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/history");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".jsonl") || name.matches('.').count() > 1 {
                continue;
            }
            let history = crate::store::history::read_history(&path).unwrap();
            let before = std::fs::read(&path).unwrap().len();
            let after: usize = history
                .records
                .iter()
                .map(|r| encode(r).unwrap().len() + 1)
                .sum();
            let runs = history.records.len().max(1);
            eprintln!(
                "{name}: {runs} runs, {} → {} bytes per run",
                before / runs,
                after / runs
            );
            assert!(after * 3 < before, "{name}: {after} vs {before}");
            files += 1;
        }
        assert!(files > 0);
    }
}
