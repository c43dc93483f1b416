//! Exporters of a run's results, one file per format behind one [`Exporter`]
//! trait: `json` (the run record), `markdown` (GitHub step summaries and PR
//! comments), `bmf` (Bencher Metric Format) and `github`
//! (github-action-benchmark `customSmallerIsBetter`). Also the plain-text
//! tables for the terminal: a run's ([`render_table`]) and a gate report's
//! ([`gate_table`], printed by `check` and `compare`).

pub mod bmf;
pub mod format;
pub mod gate_table;
pub mod github;
pub mod json;
pub mod markdown;
pub mod table;
pub mod verdicts;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::gate::verdict::GateReport;
use crate::model::RunRecord;
use crate::stats::{summarize_metric, BootstrapConfig, Summary};
use crate::store::atomic;

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

/// Writes an export atomically.
pub fn write_export(path: &Path, contents: &str) -> Result<(), ExportError> {
    atomic::write_atomic(path, contents.as_bytes()).map_err(|source| ExportError::Io {
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
    //! The sample run record (kept in `model`, which the shard tests share)
    //! and a gate report of it against a slower copy.

    use crate::gate::verdict::{compare_fixtures, GateConfig, GateReport};
    pub use crate::model::sample_data::record;
    use crate::stats::BootstrapConfig;

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
