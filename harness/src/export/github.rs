//! `github`: github-action-benchmark's `customSmallerIsBetter` input — an
//! array of `{ name, unit, value, range, extra }`, one entry per metric where
//! smaller is better (the tool cannot express other directions in this mode).

use serde::Serialize;

use super::{ExportError, ExportFormat, ExportInput, Exporter};
use crate::export::format::{significant, tidy};
use crate::model::Direction;

pub struct GithubExporter;

#[derive(Serialize)]
struct Entry {
    name: String,
    unit: String,
    value: f64,
    range: String,
    extra: String,
}

impl Exporter for GithubExporter {
    fn format(&self) -> ExportFormat {
        ExportFormat::Github
    }

    fn render(&self, input: &ExportInput<'_>) -> Result<String, ExportError> {
        let mut entries = Vec::new();
        for fixture in &input.record.fixtures {
            for scenario in &fixture.scenarios {
                for (name, metric) in &scenario.metrics {
                    if metric.direction != Direction::SmallerIsBetter {
                        continue;
                    }
                    let Some(summary) =
                        input
                            .summaries
                            .get(&fixture.fixture, &scenario.scenario, name)
                    else {
                        continue;
                    };
                    entries.push(Entry {
                        name: format!("{}/{}/{}", fixture.fixture, scenario.scenario, name),
                        unit: metric.unit.clone(),
                        value: tidy(summary.median),
                        range: format!("± {}", significant(summary.mad)),
                        extra: format!("n={} cv={:.1}%", summary.n, summary.cv * 100.0),
                    });
                }
            }
        }
        super::pretty_json("github", &entries)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::export::sample_data;

    #[test]
    fn github_snapshot() {
        let record = sample_data::record();
        let input = ExportInput::new(&record, None, &sample_data::bootstrap());
        let text = GithubExporter.render(&input).unwrap();
        assert!(
            !text.contains("cache_hits"),
            "informational metrics are left out"
        );
        insta::assert_snapshot!(text);
    }
}
