//! `markdown`: a compact report for `$GITHUB_STEP_SUMMARY` and PR comments —
//! the verdict in one line, the gating rows that changed, then everything
//! else folded in `<details>`. Plain text verdicts, no emoji. Whatever the
//! suite, the text stays under [`MARKDOWN_BUDGET`] characters (GitHub
//! rejects a comment over 65,536): past it, it is cut at a line with a note.

use std::fmt::Write as _;

use super::format::{format_bytes, format_pct, format_value};
use super::{display_order, ExportError, ExportFormat, ExportInput, Exporter};
use crate::gate::verdict::{GateReport, Verdict};
use crate::model::metric_names::PHASE_PREFIX;
use crate::model::{Direction, FixtureResult};
use crate::stats::{noise_check, NoiseConfig};

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn format(&self) -> ExportFormat {
        ExportFormat::Markdown
    }

    fn render(&self, input: &ExportInput<'_>) -> Result<String, ExportError> {
        let mut out = String::new();
        write_header(&mut out, input);
        if let Some(gate) = input.gate {
            write_gate(&mut out, gate);
        }
        for fixture in &input.record.fixtures {
            write_fixture(&mut out, fixture, input);
        }
        Ok(fit_to_budget(out, MARKDOWN_BUDGET))
    }
}

/// Characters a markdown report may take: under GitHub's 65,536 for a
/// comment, with room for what a workflow adds around it.
pub const MARKDOWN_BUDGET: usize = 60_000;

/// `text` cut to at most `budget` characters at a line boundary, with a
/// note saying how much was left out (and any `<details>` left open closed).
pub fn fit_to_budget(text: String, budget: usize) -> String {
    if text.chars().count() <= budget {
        return text;
    }
    const NOTE_ROOM: usize = 400;
    let mut kept = String::new();
    let mut open_details = 0usize;
    let mut kept_chars = 0usize;
    for line in text.split_inclusive('\n') {
        let n = line.chars().count();
        if kept_chars + n > budget.saturating_sub(NOTE_ROOM) {
            break;
        }
        open_details += line.matches("<details>").count();
        open_details = open_details.saturating_sub(line.matches("</details>").count());
        kept.push_str(line);
        kept_chars += n;
    }
    let left_out = text.chars().count() - kept_chars;
    let _ = write!(
        kept,
        "\n\n**Truncated**: {left_out} more characters did not fit in {budget}; \
         the full report is in the run's files (`--export-json`, `metrics.json`).\n"
    );
    for _ in 0..open_details {
        kept.push_str("\n</details>\n");
    }
    kept
}

/// Table cells must not contain a raw `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn write_header(out: &mut String, input: &ExportInput<'_>) {
    let record = input.record;
    let branch = record
        .git
        .branch
        .as_deref()
        .map(|b| format!(" ({})", cell(b)))
        .unwrap_or_default();
    let base = input
        .base_label
        .as_deref()
        .map(|b| format!(" vs base `{}`", cell(b)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "## soda-perf · head `{}`{branch}{base}\n",
        record.short_commit()
    );
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
    let headline = if counts.regressed > 0 {
        format!("**Regression**: {} metric(s) regressed", counts.regressed)
    } else {
        "**No regression**".to_owned()
    };
    let _ = writeln!(
        out,
        "### {headline} · {} improved, {} inconclusive, {} unchanged\n",
        counts.improved, counts.inconclusive, counts.unchanged
    );
    let _ = writeln!(
        out,
        "Timing metrics: regressed when the median moves more than ±{}% and the test gives p < {} \
         (Holm-corrected over the timing metrics compared); deterministic counts: more than ±{}%.\n",
        gate.config.threshold_pct, gate.config.alpha, gate.config.deterministic_tolerance_pct
    );
    let changed = |row: &&crate::gate::verdict::GateRow| row.metric.verdict != Verdict::Unchanged;
    let gating = |row: &&crate::gate::verdict::GateRow| {
        matches!(row.metric.verdict, Verdict::Regressed | Verdict::Improved)
            && row.metric.direction != Direction::Informational
    };
    let mut decided: Vec<_> = gate.rows.iter().filter(changed).filter(gating).collect();
    // Regressions first, then improvements.
    decided.sort_by_key(|row| row.metric.verdict);
    let mut rest: Vec<_> = gate
        .rows
        .iter()
        .filter(changed)
        .filter(|row| !gating(row))
        .collect();
    rest.sort_by_key(|row| row.metric.verdict);
    if decided.is_empty() {
        out.push_str("No gating metric changed beyond its threshold.\n\n");
    } else {
        write_gate_rows(out, &decided);
    }
    if counts.unchanged > 0 {
        let _ = writeln!(out, "{} unchanged metrics not listed.\n", counts.unchanged);
    }
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} other change(s): inconclusive or informational (never a regression)</summary>\n",
            rest.len()
        );
        write_gate_rows(out, &rest);
        out.push_str("</details>\n\n");
    }
    if !gate.missing.is_empty() {
        out.push_str("Not compared:\n\n");
        for entry in &gate.missing {
            let _ = writeln!(out, "- {}", cell(entry));
        }
        out.push('\n');
    }
}

fn write_gate_rows(out: &mut String, rows: &[&crate::gate::verdict::GateRow]) {
    out.push_str("| Fixture | Scenario | Metric | Base | Head | Result |\n");
    out.push_str("| --- | --- | --- | ---: | ---: | --- |\n");
    for row in rows {
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
    out.push('\n');
}

fn write_fixture(out: &mut String, fixture: &FixtureResult, input: &ExportInput<'_>) {
    // Under a gate's verdict the measurements are the detail; alone, the content.
    let folded = input.gate.is_some();
    if folded {
        let _ = writeln!(
            out,
            "<details><summary>{} · {} files: measurements</summary>\n",
            cell(&fixture.fixture),
            fixture.files,
        );
    }
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
        out.push_str("Phase timings:\n\n");
        out.push_str(HEADER);
        for row in &phase_rows {
            out.push_str(row);
            out.push('\n');
        }
        out.push('\n');
    }
    if folded {
        out.push_str("</details>\n\n");
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
    fn a_long_report_is_cut_at_a_line_under_the_budget_with_a_note() {
        let mut text = String::from("<details><summary>x</summary>\n\n");
        for i in 0..10_000 {
            text.push_str(&format!("| row {i} | some value | another |\n"));
        }
        text.push_str("</details>\n");
        let cut = fit_to_budget(text.clone(), MARKDOWN_BUDGET);
        assert!(cut.chars().count() <= MARKDOWN_BUDGET, "{}", cut.len());
        assert!(cut.contains("**Truncated**"), "says so");
        assert!(
            cut.trim_end().ends_with("</details>"),
            "closes what it opened"
        );
        let short = "a\nb\n".to_owned();
        assert_eq!(fit_to_budget(short.clone(), MARKDOWN_BUDGET), short);
    }

    #[test]
    fn the_base_is_named_beside_the_head() {
        let record = sample_data::record();
        let input =
            ExportInput::new(&record, None, &sample_data::bootstrap()).with_base("main (1234567)");
        let text = MarkdownExporter.render(&input).unwrap();
        assert!(
            text.lines()
                .next()
                .unwrap()
                .contains("vs base `main (1234567)`"),
            "{text}"
        );
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
