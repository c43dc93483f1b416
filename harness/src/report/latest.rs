//! The latest run in detail: per fixture × scenario, every wall-time sample
//! (a strip, the median ticked) and the builder's phase timings as one
//! stacked bar. The phases add up: the builder's timer laps sequentially,
//! and a split phase is carved out of the next lap (`session.rs`).

use std::fmt::Write as _;

use crate::export::format::significant;
use crate::model::metric_names::{PHASE_PREFIX, WALL_MS};
use crate::model::RunRecord;
use crate::stats::median_of;

use super::html::escape;

const PALETTE: [&str; 12] = [
    "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0d9488", "#db2777", "#64748b", "#ca8a04",
    "#0891b2", "#1e3a8a", "#65a30d", "#dc2626",
];

/// One fixture × scenario of the latest run.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestRow {
    pub fixture: String,
    pub scenario: String,
    pub wall: Vec<f64>,
    /// (phase name without `phase.` and `_ms`, median ms), in name order.
    pub phases: Vec<(String, f64)>,
}

pub fn latest_rows(latest: &RunRecord) -> Vec<LatestRow> {
    latest
        .fixtures
        .iter()
        .flat_map(|f| {
            f.scenarios.iter().map(|s| LatestRow {
                fixture: f.fixture.clone(),
                scenario: s.scenario.clone(),
                wall: s
                    .metric(WALL_MS)
                    .map(|m| m.samples.clone())
                    .unwrap_or_default(),
                phases: s
                    .metrics
                    .iter()
                    .filter_map(|(name, m)| {
                        let phase = name.strip_prefix(PHASE_PREFIX)?;
                        let phase = phase.strip_suffix("_ms").unwrap_or(phase);
                        Some((phase.to_string(), median_of(&m.samples)?))
                    })
                    .filter(|(_, ms)| ms.is_finite() && *ms > 0.0)
                    .collect(),
            })
        })
        .collect()
}

/// Every phase name of `rows`, sorted, so a phase has one color page-wide.
pub fn phase_names(rows: &[LatestRow]) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.phases.iter().map(|p| p.0.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn color(names: &[String], phase: &str) -> &'static str {
    let index = names.iter().position(|n| n == phase).unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

/// Every sample as a dot on a line from min to max, the median ticked.
pub fn samples_strip(values: &[f64], width: u32) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let Some(median) = median_of(&finite) else {
        return String::new();
    };
    let Some(x) = super::html::strip_scale(finite.iter().copied(), width, 5.0) else {
        return String::new();
    };
    let mut svg = format!(
        "<svg class=\"strip\" width=\"{width}\" height=\"20\" viewBox=\"0 0 {width} 20\" role=\"img\" aria-label=\"{} samples\">",
        finite.len()
    );
    for v in &finite {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"10\" r=\"2.6\" fill=\"#2563eb\" fill-opacity=\"0.5\"/>",
            x(*v)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{m:.1}\" x2=\"{m:.1}\" y1=\"2\" y2=\"18\" stroke=\"#1f2937\" stroke-width=\"2\"/></svg>",
        m = x(median)
    );
    svg
}

/// The phases as one bar, each a share of their sum, named in tooltips.
pub fn stacked_bar(phases: &[(String, f64)], names: &[String], width: u32) -> String {
    let total: f64 = phases.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return String::new();
    }
    let mut svg = format!(
        "<svg class=\"strip\" width=\"{width}\" height=\"18\" viewBox=\"0 0 {width} 18\" role=\"img\" aria-label=\"phases\">"
    );
    let mut x = 0.0;
    for (phase, ms) in phases {
        let w = f64::from(width) * ms / total;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"2\" width=\"{w:.1}\" height=\"14\" fill=\"{}\"><title>{}: {} ms ({:.0}%)</title></rect>",
            color(names, phase),
            escape(phase),
            significant(*ms),
            100.0 * ms / total
        );
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

pub fn write_latest(out: &mut String, latest: &RunRecord) {
    let rows = latest_rows(latest);
    if rows.is_empty() {
        return;
    }
    let names = phase_names(&rows);
    out.push_str(
        "<section id=\"latest\">\n<h2>Latest run in detail</h2>\n<p class=\"note\">Every wall-time sample of the latest \
         run (the median ticked), and the builder's own phase timings (medians) as shares of their sum.</p>\n",
    );
    if !names.is_empty() {
        out.push_str("<div class=\"legend\">");
        for name in &names {
            let _ = write!(
                out,
                "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
                color(&names, name),
                escape(name)
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str(
        "<div class=\"panel\"><table><thead><tr><th>fixture · scenario</th><th class=\"num\">min</th><th>wall-time samples</th>\
         <th class=\"num\">max</th><th>phases</th><th class=\"num\">phase sum</th></tr></thead><tbody>\n",
    );
    for row in &rows {
        let (min, max) = row
            .wall
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let ms = |v: f64| {
            if v.is_finite() {
                format!("{} ms", significant(v))
            } else {
                "—".to_string()
            }
        };
        let sum: f64 = row.phases.iter().map(|p| p.1).sum();
        let _ = writeln!(
            out,
            "<tr><td class=\"name\"><b>{}</b> · {}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&row.fixture),
            escape(&row.scenario),
            ms(min),
            samples_strip(&row.wall, 220),
            ms(max),
            stacked_bar(&row.phases, &names, 260),
            if sum > 0.0 { ms(sum) } else { "—".to_string() }
        );
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::report::sample_history;

    #[test]
    fn rows_have_samples_and_phase_medians() {
        let run = &sample_history::history(1)[0];
        let rows = latest_rows(run);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].wall.len(), 15);
        assert_eq!(rows[0].phases.len(), 1);
        assert_eq!(rows[0].phases[0].0, "scan");
        assert_eq!(phase_names(&rows), ["scan"]);
    }

    #[test]
    fn the_bar_splits_by_share_and_the_strip_has_every_sample() {
        let phases = vec![("a".to_string(), 3.0), ("b".to_string(), 1.0)];
        let names = vec!["a".to_string(), "b".to_string()];
        let bar = stacked_bar(&phases, &names, 100);
        assert!(
            bar.contains("width=\"75.0\"") && bar.contains("x=\"75.0\" y=\"2\" width=\"25.0\""),
            "{bar}"
        );
        assert!(
            bar.contains("<title>a: 3.00 ms (75%)</title>")
                || bar.contains("<title>a: 3 ms (75%)</title>"),
            "{bar}"
        );
        assert_eq!(stacked_bar(&[], &names, 100), "");
        let strip = samples_strip(&[1.0, 2.0, 3.0], 100);
        assert_eq!(strip.matches("<circle").count(), 3);
        assert!(strip.contains("x1=\"50.0\""), "median tick: {strip}");
        assert_eq!(samples_strip(&[], 100), "");
    }
}
