//! Exporters of a run's results, one file per format behind one [`Exporter`]
//! trait: `json` (the run record), `markdown` (GitHub step summaries and PR
//! comments), `bmf` (Bencher Metric Format) and `github`
//! (github-action-benchmark `customSmallerIsBetter`). Also the plain-text
//! table `soda-perf run` prints ([`render_table`]).

pub mod bmf;
pub mod format;
pub mod github;
pub mod json;
pub mod markdown;
pub mod table;
pub mod verdicts;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::fsutil;
use crate::model::RunRecord;
use crate::stats::{summarize_metric, BootstrapConfig, Summary};
use crate::verdict::GateReport;

pub use table::render_table;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot serialize the {format} export: {source}")]
    Serialize {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ExportFormat {
    Json,
    Markdown,
    Bmf,
    Github,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [Self::Json, Self::Markdown, Self::Bmf, Self::Github];

    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Markdown => "markdown",
            Self::Bmf => "bmf",
            Self::Github => "github",
        }
    }

    /// The conventional file name of this export inside a run's report dir.
    pub fn default_file_name(self) -> &'static str {
        match self {
            Self::Json => "metrics.json",
            Self::Markdown => "summary.md",
            Self::Bmf => "bencher.json",
            Self::Github => "github-benchmark.json",
        }
    }

    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Self::Json => Box::new(json::JsonExporter),
            Self::Markdown => Box::new(markdown::MarkdownExporter),
            Self::Bmf => Box::new(bmf::BmfExporter),
            Self::Github => Box::new(github::GithubExporter),
        }
    }
}

/// One output format.
pub trait Exporter {
    fn format(&self) -> ExportFormat;
    fn render(&self, input: &ExportInput<'_>) -> Result<String, ExportError>;
}

/// What exporters read: the record, its per-metric summaries (computed once
/// for all formats) and, optionally, a gate report.
pub struct ExportInput<'a> {
    pub record: &'a RunRecord,
    pub summaries: RecordSummaries,
    pub gate: Option<&'a GateReport>,
    /// The revision `record` was compared with (`compare`'s base), named in
    /// reports beside the head.
    pub base_label: Option<String>,
}

impl<'a> ExportInput<'a> {
    pub fn new(
        record: &'a RunRecord,
        gate: Option<&'a GateReport>,
        bootstrap: &BootstrapConfig,
    ) -> Self {
        Self {
            record,
            summaries: RecordSummaries::compute(record, bootstrap),
            gate,
            base_label: None,
        }
    }

    /// Names the base revision the record was compared with.
    pub fn with_base(mut self, label: impl Into<String>) -> Self {
        self.base_label = Some(label.into());
        self
    }
}

/// Summaries of every metric of a record, by fixture, scenario and metric.
/// Metrics without a finite sample have none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSummaries {
    by_key: BTreeMap<(String, String, String), Summary>,
}

impl RecordSummaries {
    pub fn compute(record: &RunRecord, bootstrap: &BootstrapConfig) -> Self {
        let mut by_key = BTreeMap::new();
        for fixture in &record.fixtures {
            for scenario in &fixture.scenarios {
                for (name, metric) in &scenario.metrics {
                    if let Ok(summary) = summarize_metric(metric, bootstrap) {
                        by_key.insert(
                            (
                                fixture.fixture.clone(),
                                scenario.scenario.clone(),
                                name.clone(),
                            ),
                            summary,
                        );
                    }
                }
            }
        }
        Self { by_key }
    }

    pub fn get(&self, fixture: &str, scenario: &str, metric: &str) -> Option<&Summary> {
        self.by_key.get(&(
            fixture.to_string(),
            scenario.to_string(),
            metric.to_string(),
        ))
    }
}

/// Renders one format.
pub fn export(format: ExportFormat, input: &ExportInput<'_>) -> Result<String, ExportError> {
    format.exporter().render(input)
}

/// Writes an export atomically.
/// Pretty JSON with a trailing newline: the text every JSON exporter writes.
pub(crate) fn pretty_json<T: serde::Serialize + ?Sized>(
    format: &'static str,
    value: &T,
) -> Result<String, ExportError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|source| ExportError::Serialize { format, source })?;
    text.push('\n');
    Ok(text)
}

pub fn write_export(path: &Path, contents: &str) -> Result<(), ExportError> {
    fsutil::write_atomic(path, contents.as_bytes()).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Metric names in reading order: the headline metrics first, then the rest
/// alphabetically, per-phase timings last.
pub fn display_order<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    use crate::model::metric_names::*;
    const HEADLINE: [&str; 15] = [
        WALL_MS,
        CPU_MS,
        USER_MS,
        SYS_MS,
        PEAK_RSS_KIB,
        ALLOC_TOTAL_BYTES,
        ALLOC_PEAK_BYTES,
        JEMALLOC_RESIDENT_BYTES,
        INSTRUCTIONS,
        CACHE_HITS,
        CACHE_MISSES,
        CACHE_SKIPS,
        FILES_SCANNED,
        FILES_READ,
        FILES_ANALYZED,
    ];
    let mut names: Vec<&str> = names.into_iter().map(String::as_str).collect();
    names.sort_by_key(|name| {
        let rank =
            HEADLINE
                .iter()
                .position(|h| h == name)
                .unwrap_or(if name.starts_with(PHASE_PREFIX) {
                    HEADLINE.len() + 1
                } else {
                    HEADLINE.len()
                });
        (rank, *name)
    });
    names
}

#[cfg(test)]
pub(crate) mod sample_data {
    //! A small hand-made record shared by the exporter snapshot tests.

    use std::collections::BTreeMap;

    use crate::model::{
        Direction, FixtureResult, GitInfo, MachineInfo, MetricKind, MetricSamples, RunRecord,
        ScenarioResult, RECORD_FORMAT_VERSION,
    };
    use crate::stats::BootstrapConfig;
    use crate::verdict::{compare_fixtures, GateConfig, GateReport};

    fn metric(
        unit: &str,
        kind: MetricKind,
        direction: Direction,
        samples: &[f64],
    ) -> MetricSamples {
        MetricSamples {
            unit: unit.into(),
            kind,
            direction,
            samples: samples.to_vec(),
        }
    }

    fn scenario(name: &str, wall: &[f64], scale: f64) -> ScenarioResult {
        let n = wall.len();
        let timing = |unit: &str, values: Vec<f64>| {
            metric(
                unit,
                MetricKind::Timing,
                Direction::SmallerIsBetter,
                &values,
            )
        };
        let rss = [
            48_000.0, 48_210.0, 47_950.0, 48_100.0, 48_020.0, 48_330.0, 48_060.0,
        ];
        let mut metrics = BTreeMap::new();
        metrics.insert("wall_ms".into(), timing("ms", wall.to_vec()));
        metrics.insert(
            "cpu_ms".into(),
            timing("ms", wall.iter().map(|v| v * 0.9).collect()),
        );
        metrics.insert(
            "peak_rss_kib".into(),
            timing(
                "KiB",
                rss.iter().cycle().take(n).map(|v| v * scale).collect(),
            ),
        );
        metrics.insert(
            "alloc_total_bytes".into(),
            metric(
                "bytes",
                MetricKind::Deterministic,
                Direction::SmallerIsBetter,
                &vec![125_829_120.0 * scale; n],
            ),
        );
        metrics.insert(
            "cache_hits".into(),
            metric(
                "count",
                MetricKind::Deterministic,
                Direction::Informational,
                &vec![0.0; n],
            ),
        );
        metrics.insert(
            "cache_misses".into(),
            metric(
                "count",
                MetricKind::Deterministic,
                Direction::Informational,
                &vec![240.0; n],
            ),
        );
        metrics.insert(
            "phase.scan_ms".into(),
            timing("ms", wall.iter().map(|v| v * 0.25).collect()),
        );
        ScenarioResult {
            scenario: name.into(),
            iterations: n,
            warmup: 1,
            metrics,
            verified: None,
            notes: vec![],
        }
    }

    pub fn record() -> RunRecord {
        RunRecord {
            format_version: RECORD_FORMAT_VERSION,
            started_at: "2024-05-01T10:00:00Z".into(),
            machine: MachineInfo {
                key: "linux-x86_64-test-cpu-2c-24g".into(),
                os: "linux".into(),
                kernel: "6.1.0".into(),
                cpu_model: "Test CPU @ 2.0GHz".into(),
                cores: 2,
                memory_bytes: 24 << 30,
            },
            git: GitInfo {
                commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
                branch: Some("main".into()),
                dirty: false,
            },
            harness_version: "0.1.0".into(),
            builder_version: "0.1.0".into(),
            fixtures: vec![FixtureResult {
                fixture: "small".into(),
                files: 120,
                scenarios: vec![
                    scenario(
                        "cold",
                        &[
                            812.0, 798.5, 805.2, 830.1, 801.7, 809.9, 815.4, 803.3, 799.9, 808.6,
                        ],
                        1.0,
                    ),
                    // A noisy scenario: the table and markdown warn about it.
                    scenario("warm", &[41.0, 55.3, 38.2, 61.9, 44.4, 35.0], 0.5),
                ],
            }],
        }
    }

    /// The record compared against itself with `cold` made 10% slower.
    pub fn gate() -> GateReport {
        let base = record();
        let mut head = record();
        let cold = &mut head.fixtures[0].scenarios[0];
        for metric in ["wall_ms", "cpu_ms"] {
            if let Some(m) = cold.metrics.get_mut(metric) {
                m.samples.iter_mut().for_each(|v| *v *= 1.10);
            }
        }
        if let Some(m) = cold.metrics.get_mut("alloc_total_bytes") {
            m.samples.iter_mut().for_each(|v| *v *= 0.95);
        }
        let config = GateConfig {
            bootstrap: bootstrap(),
            ..GateConfig::default()
        };
        compare_fixtures(&base.fixtures, &head.fixtures, &config)
    }

    pub fn bootstrap() -> BootstrapConfig {
        BootstrapConfig {
            resamples: 2_000,
            ..BootstrapConfig::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn headline_metrics_come_first_and_phases_last() {
        let names: Vec<String> = [
            "phase.scan_ms",
            "zeta",
            "cache_hits",
            "wall_ms",
            "alpha",
            "cpu_ms",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            display_order(&names),
            [
                "wall_ms",
                "cpu_ms",
                "cache_hits",
                "alpha",
                "zeta",
                "phase.scan_ms"
            ]
        );
    }

    #[test]
    fn every_format_has_an_exporter_and_a_file_name() {
        let record = sample_data::record();
        let input = ExportInput::new(&record, None, &sample_data::bootstrap());
        for format in ExportFormat::ALL {
            let exporter = format.exporter();
            assert_eq!(exporter.format(), format);
            assert!(
                !export(format, &input).unwrap().is_empty(),
                "{}",
                format.name()
            );
            assert!(!format.default_file_name().is_empty());
        }
    }

    #[test]
    fn write_export_writes_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/summary.md");
        write_export(&path, "# hi\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# hi\n");
    }
}
