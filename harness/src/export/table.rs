//! The plain-text results table `soda-perf run` prints: one row per fixture ×
//! scenario with the headline metrics, and a warning line under rows too
//! noisy to resolve a 5% change.

use super::format::{format_count, format_pct, format_value};
use crate::model::metric_names::{
    ALLOC_TOTAL_BYTES, CACHE_HITS, CACHE_MISSES, CPU_MS, PEAK_RSS_KIB, WALL_MS,
};
use crate::model::{RunRecord, ScenarioResult};
use crate::stats::median_of;
use crate::stats::{noise_check, summarize_metric, BootstrapConfig, NoiseConfig};

const HEADERS: [&str; 10] = [
    "fixture",
    "scenario",
    "wall (median ± MAD)",
    "CI95",
    "CPU",
    "peak RSS",
    "allocated",
    "hits/misses",
    "n",
    "CV%",
];
/// Columns holding numbers are right-aligned.
const RIGHT_ALIGNED: [bool; 10] = [false, false, true, true, true, true, true, true, true, true];
const MISSING: &str = "–";

/// Renders the results of `record` as an aligned plain-text table.
pub fn render_table(record: &RunRecord) -> String {
    let bootstrap = BootstrapConfig::default();
    let mut rows: Vec<[String; 10]> = Vec::new();
    let mut notes_after_row: Vec<Vec<String>> = Vec::new();
    for fixture in &record.fixtures {
        for (index, scenario) in fixture.scenarios.iter().enumerate() {
            // The fixture name only on its first row keeps the table scannable.
            let fixture_cell = if index == 0 {
                fixture.fixture.clone()
            } else {
                String::new()
            };
            let mut notes = Vec::new();
            let wall = scenario
                .metric(WALL_MS)
                .and_then(|m| summarize_metric(m, &bootstrap).ok());
            let (wall_cell, ci_cell, n_cell, cv_cell) = match &wall {
                Some(s) => {
                    if let Some(warning) = noise_check(s, &NoiseConfig::default()) {
                        notes.push(format!("warning: {warning}"));
                    }
                    (
                        format!(
                            "{} ± {}",
                            format_value(s.median, "ms"),
                            format_value(s.mad, "ms")
                        ),
                        format!(
                            "[{}, {}]",
                            format_value(s.ci95_median.lower, "ms"),
                            format_value(s.ci95_median.upper, "ms")
                        ),
                        s.n.to_string(),
                        format_pct(s.cv).trim_end_matches('%').to_string(),
                    )
                }
                None => (
                    MISSING.into(),
                    MISSING.into(),
                    scenario.iterations.to_string(),
                    MISSING.into(),
                ),
            };
            if scenario.verified == Some(false) {
                notes.push(
                    "error: artifact verification failed (output differed from a clean build)"
                        .into(),
                );
            }
            notes.extend(scenario.notes.iter().map(|n| format!("note: {n}")));
            rows.push([
                fixture_cell,
                scenario.scenario.clone(),
                wall_cell,
                ci_cell,
                median_cell(scenario, CPU_MS),
                median_cell(scenario, PEAK_RSS_KIB),
                median_cell(scenario, ALLOC_TOTAL_BYTES),
                hits_misses_cell(scenario),
                n_cell,
                cv_cell,
            ]);
            notes_after_row.push(notes);
        }
    }
    if rows.is_empty() {
        return "no results\n".into();
    }

    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    push_line(&mut out, &HEADERS.map(String::from), &widths);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(rule.join("  ").as_str());
    out.push('\n');
    for (row, notes) in rows.iter().zip(&notes_after_row) {
        push_line(&mut out, row, &widths);
        for note in notes {
            out.push_str("    ");
            out.push_str(note);
            out.push('\n');
        }
    }
    out
}

fn push_line(out: &mut String, cells: &[String; 10], widths: &[usize; 10]) {
    let mut parts = Vec::with_capacity(cells.len());
    for ((text, width), right) in cells.iter().zip(widths).zip(RIGHT_ALIGNED) {
        let pad = width.saturating_sub(text.chars().count());
        parts.push(if right {
            format!("{}{text}", " ".repeat(pad))
        } else {
            format!("{text}{}", " ".repeat(pad))
        });
    }
    out.push_str(parts.join("  ").trim_end());
    out.push('\n');
}

fn median_cell(scenario: &ScenarioResult, metric: &str) -> String {
    scenario
        .metric(metric)
        .and_then(|m| median_of(&m.samples).map(|median| format_value(median, &m.unit)))
        .unwrap_or_else(|| MISSING.into())
}

fn hits_misses_cell(scenario: &ScenarioResult) -> String {
    let median = |name| scenario.metric(name).and_then(|m| median_of(&m.samples));
    match (median(CACHE_HITS), median(CACHE_MISSES)) {
        (None, None) => MISSING.into(),
        (hits, misses) => format!(
            "{}/{}",
            hits.map_or(MISSING.into(), format_count),
            misses.map_or(MISSING.into(), format_count)
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::export::sample_data;

    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!(render_table(&sample_data::record()));
    }

    #[test]
    fn noisy_rows_get_a_warning_line() {
        let table = render_table(&sample_data::record());
        let lines: Vec<&str> = table.lines().collect();
        let warm = lines.iter().position(|l| l.contains(" warm ")).unwrap();
        assert!(
            lines[warm + 1].trim_start().starts_with("warning: noisy"),
            "{table}"
        );
        let cold = lines.iter().position(|l| l.contains(" cold ")).unwrap();
        assert!(!lines[cold + 1].contains("warning"), "{table}");
    }

    #[test]
    fn empty_record_says_so() {
        let mut record = sample_data::record();
        record.fixtures.clear();
        assert_eq!(render_table(&record), "no results\n");
    }
}
