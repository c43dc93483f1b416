//! The plain-text table of a gate report that `check` and `compare`
//! print on the terminal.

use crate::gate::verdict::{GateReport, GateRow};
use crate::model::metric_names;

/// Metrics always shown in a gate table, whatever their verdict.
const HEADLINE_METRICS: [&str; 4] = [
    metric_names::WALL_MS,
    metric_names::CPU_MS,
    metric_names::PEAK_RSS_KIB,
    metric_names::ALLOC_TOTAL_BYTES,
];

/// The plain-text table of a gate report for the terminal: headline
/// metrics always, other metrics only when they regressed, improved, or are
/// inconclusive while gating; then what could not be compared and the
/// bottom line.
pub fn render_gate_table(gate: &GateReport, base_label: &str, head_label: &str) -> String {
    use crate::export::format::format_value;
    use crate::gate::verdict::{format_change_pct, format_p_value, Verdict};
    use crate::model::Direction;

    let headers = [
        "fixture", "scenario", "metric", "base", "head", "change", "ratio CI", "p", "verdict",
    ];
    let mut rows: Vec<[String; 9]> = Vec::new();
    let mut hidden = 0;
    let mut shown: Vec<&GateRow> = gate
        .rows
        .iter()
        .filter(|row| {
            let metric = &row.metric;
            let show = HEADLINE_METRICS.contains(&metric.metric.as_str())
                || matches!(metric.verdict, Verdict::Regressed | Verdict::Improved)
                || (metric.verdict == Verdict::Inconclusive
                    && metric.direction != Direction::Informational);
            if !show {
                hidden += 1;
            }
            show
        })
        .collect();
    // Regressions first, then everything else in report order.
    shown.sort_by_key(|row| row.metric.verdict != Verdict::Regressed);
    for row in shown {
        let metric = &row.metric;
        rows.push([
            row.fixture.clone(),
            row.scenario.clone(),
            metric.metric.clone(),
            format_value(metric.base_median, &metric.unit),
            format_value(metric.head_median, &metric.unit),
            format_change_pct(metric.change_pct),
            format!(
                "[{:.3}, {:.3}]",
                metric.ratio_ci.lower, metric.ratio_ci.upper
            ),
            metric
                .p_value
                .map_or_else(|| "–".to_string(), format_p_value),
            match metric.verdict {
                Verdict::Regressed => "REGRESSED".to_string(),
                other => other.to_string(),
            },
        ]);
    }
    let mut out = format!(
        "base: {base_label}\nhead: {head_label}\ngate: timing changes beyond ±{}% with p < {} and a ratio interval excluding 1; counts beyond ±{}%\n\n",
        gate.config.threshold_pct, gate.config.alpha, gate.config.deterministic_tolerance_pct
    );
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                // Text columns left-aligned, numbers right-aligned.
                if column < 3 || column == 8 {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(headers.to_vec()));
    out.push_str(&format!(
        "{}\n",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    ));
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if hidden > 0 {
        out.push_str(&format!(
            "({hidden} more metric(s) unchanged or informational; the raw samples hold them all)\n"
        ));
    }
    for entry in &gate.missing {
        out.push_str(&format!("not compared: {entry}\n"));
    }
    let counts = gate.counts();
    out.push_str(&format!(
        "\n{} regressed, {} improved, {} inconclusive, {} unchanged\n",
        counts.regressed, counts.improved, counts.inconclusive, counts.unchanged
    ));
    if gate.has_regressions() {
        out.push_str("RESULT: REGRESSION\n");
        for row in gate.regressions() {
            out.push_str(&format!(
                "  {}/{}/{}: {} ({})\n",
                row.fixture,
                row.scenario,
                row.metric.metric,
                row.metric.describe(),
                row.metric.reason
            ));
        }
    } else {
        out.push_str("RESULT: no regression\n");
    }
    out
}
