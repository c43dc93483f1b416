//! `markdown`: a compact report for `$GITHUB_STEP_SUMMARY` and PR comments —
//! the gate's findings first (when there is a gate), then one table per
//! fixture. Plain text verdicts, no emoji.

use std::fmt::Write as _;

use super::format::{format_bytes, format_pct, format_value};
use super::{display_order, ExportError, ExportFormat, ExportInput, Exporter};
use crate::model::metric_names::PHASE_PREFIX;
use crate::model::{FixtureResult, RunRecord};
use crate::stats::{noise_check, NoiseConfig};
use crate::verdict::{GateReport, Verdict};

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn format(&self) -> ExportFormat {
        ExportFormat::Markdown
    }

    fn render(&self, input: &ExportInput<'_>) -> Result<String, ExportError> {
        let mut out = String::new();
        write_header(&mut out, input.record);
        if let Some(gate) = input.gate {
            write_gate(&mut out, gate);
        }
        for fixture in &input.record.fixtures {
            write_fixture(&mut out, fixture, input);
        }
        Ok(out)
    }
}

/// Table cells must not contain a raw `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn write_header(out: &mut String, record: &RunRecord) {
    let branch = record
        .git
        .branch
        .as_deref()
        .map(|b| format!(" ({})", cell(b)))
        .unwrap_or_default();
    let _ = writeln!(out, "## soda-perf · `{}`{branch}\n", record.short_commit());
    let _ = writeln!(
        out,
        "Machine `{}` — {}, {} cores, {} · started {} · builder {} · harness {}\n",
        record.machine.key,
        cell(&record.machine.cpu_model),
        record.machine.cores,
        format_bytes(record.machine.memory_bytes as f64),
        record.started_at,
        record.builder_version,
        record.harness_version
    );
}

fn write_gate(out: &mut String, gate: &GateReport) {
    let counts = gate.counts();
    let _ = writeln!(
        out,
        "### Regression gate: {} regressed, {} improved, {} inconclusive, {} unchanged\n",
        counts.regressed, counts.improved, counts.inconclusive, counts.unchanged
    );
    let _ = writeln!(
        out,
        "Timing metrics: regressed when the median moves more than ±{}% and Mann–Whitney p < {} \
         (Holm-corrected over the timing metrics compared); deterministic counts: more than ±{}%.\n",
        gate.config.threshold_pct, gate.config.alpha, gate.config.deterministic_tolerance_pct
    );
    let mut notable: Vec<_> = gate
        .rows
        .iter()
        .filter(|row| row.metric.verdict != Verdict::Unchanged)
        .collect();
    // Regressions first, then improvements, then the inconclusive ones.
    notable.sort_by_key(|row| row.metric.verdict);
    if notable.is_empty() {
        out.push_str("No metric changed beyond its threshold.\n\n");
    } else {
        out.push_str("| Fixture | Scenario | Metric | Base | Head | Result |\n");
        out.push_str("| --- | --- | --- | ---: | ---: | --- |\n");
        for row in notable {
            let m = &row.metric;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&row.fixture),
                cell(&row.scenario),
                cell(&m.metric),
                format_value(m.base_median, &m.unit),
                format_value(m.head_median, &m.unit),
                if m.verdict == Verdict::Regressed {
                    format!("**{}**", m.describe())
                } else {
                    m.describe()
                }
            );
        }
        if counts.unchanged > 0 {
            let _ = writeln!(out, "\n{} unchanged metrics not listed.", counts.unchanged);
        }
        out.push('\n');
    }
    if !gate.missing.is_empty() {
        out.push_str("Not compared:\n\n");
        for entry in &gate.missing {
            let _ = writeln!(out, "- {}", cell(entry));
        }
        out.push('\n');
    }
}

fn write_fixture(out: &mut String, fixture: &FixtureResult, input: &ExportInput<'_>) {
    let _ = writeln!(
        out,
        "### {} · {} files\n",
        cell(&fixture.fixture),
        fixture.files
    );
    let mut main_rows = Vec::new();
    let mut phase_rows = Vec::new();
    let mut warnings = Vec::new();
    for scenario in &fixture.scenarios {
        for name in display_order(scenario.metrics.keys()) {
            let (Some(metric), Some(summary)) = (
                scenario.metrics.get(name),
                input
                    .summaries
                    .get(&fixture.fixture, &scenario.scenario, name),
            ) else {
                continue;
            };
            let unit = &metric.unit;
            let row = format!(
                "| {} | {} | {} | {} | {} – {} | {} | {} |",
                cell(&scenario.scenario),
                cell(name),
                format_value(summary.median, unit),
                format_value(summary.mad, unit),
                format_value(summary.ci95_median.lower, unit),
                format_value(summary.ci95_median.upper, unit),
                summary.n,
                format_pct(summary.cv)
            );
            if name.starts_with(PHASE_PREFIX) {
                phase_rows.push(row);
            } else {
                main_rows.push(row);
            }
            // Only timing warnings matter: counts are compared without statistics.
            if metric.kind == crate::model::MetricKind::Timing && !name.starts_with(PHASE_PREFIX) {
                if let Some(warning) = noise_check(summary, &NoiseConfig::default()) {
                    warnings.push(format!(
                        "- {} `{}`: {warning}",
                        cell(&scenario.scenario),
                        cell(name)
                    ));
                }
            }
        }
        if scenario.verified == Some(false) {
            warnings.push(format!(
                "- {}: **artifact verification failed** (an iteration's output differed from a clean build)",
                cell(&scenario.scenario)
            ));
        }
        for note in &scenario.notes {
            warnings.push(format!("- {}: {}", cell(&scenario.scenario), cell(note)));
        }
    }
    const HEADER: &str = "| Scenario | Metric | Median | ± MAD | 95% CI | n | CV |\n\
                          | --- | --- | ---: | ---: | --- | ---: | ---: |\n";
    out.push_str(HEADER);
    for row in &main_rows {
        out.push_str(row);
        out.push('\n');
    }
    out.push('\n');
    if !warnings.is_empty() {
        for warning in &warnings {
            out.push_str(warning);
            out.push('\n');
        }
        out.push('\n');
    }
    if !phase_rows.is_empty() {
        out.push_str("<details><summary>Phase timings</summary>\n\n");
        out.push_str(HEADER);
        for row in &phase_rows {
            out.push_str(row);
            out.push('\n');
        }
        out.push_str("\n</details>\n\n");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::export::sample_data;

    #[test]
    fn markdown_snapshot_without_gate() {
        let record = sample_data::record();
        let input = ExportInput::new(&record, None, &sample_data::bootstrap());
        insta::assert_snapshot!(MarkdownExporter.render(&input).unwrap());
    }

    #[test]
    fn markdown_snapshot_with_gate() {
        let record = sample_data::record();
        let gate = sample_data::gate();
        let input = ExportInput::new(&record, Some(&gate), &sample_data::bootstrap());
        let text = MarkdownExporter.render(&input).unwrap();
        assert!(text.contains("regressed +10.0% (p<0.001)"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn pipes_in_names_are_escaped() {
        let mut record = sample_data::record();
        record.fixtures[0].fixture = "a|b".into();
        let input = ExportInput::new(&record, None, &sample_data::bootstrap());
        let text = MarkdownExporter.render(&input).unwrap();
        assert!(text.contains("### a\\|b"), "{text}");
    }
}
