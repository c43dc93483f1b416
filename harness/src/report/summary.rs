//! The summary at the top of the report: one row per fixture × scenario of
//! the latest run with its median, the change the gate found against its
//! baseline, the gate's verdict and a sparkline; failures first. Gated
//! metrics beyond the three headline ones, and informational metrics, are
//! folded away in `<details>`.

use std::fmt::Write as _;

use crate::export::format::format_value;
use crate::gate::verdict::{format_change_pct, Verdict};
use crate::model::metric_names::{ALLOC_TOTAL_BYTES, PEAK_RSS_KIB, WALL_MS};
use crate::model::{Direction, RunRecord};
use crate::stats::median_of;

use super::html::escape;
use super::series::{ScenarioTrend, TrendMetric};
use super::sparkline::sparkline;
use super::verdicts::{StoredCheck, StoredMetric};

/// The headline columns of the summary.
pub const HEADLINE: [&str; 3] = [WALL_MS, PEAK_RSS_KIB, ALLOC_TOTAL_BYTES];

/// What the gate said about a row (or why it said nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowStatus {
    Verdict(Verdict),
    /// The latest run has no stored verdict.
    NoVerdict,
    /// The latest run does not have this fixture × scenario.
    NotInLatest,
}

impl RowStatus {
    /// Sort rank: failures first, then what needs a look, then the rest.
    pub fn rank(self) -> u8 {
        match self {
            RowStatus::Verdict(Verdict::Regressed) => 0,
            RowStatus::Verdict(Verdict::Inconclusive) => 1,
            RowStatus::Verdict(Verdict::Improved) => 2,
            RowStatus::Verdict(Verdict::Unchanged) => 3,
            RowStatus::NoVerdict => 4,
            RowStatus::NotInLatest => 5,
        }
    }

    fn label(self) -> (&'static str, &'static str) {
        match self {
            RowStatus::Verdict(v) => (v.as_str(), v.as_str()),
            RowStatus::NoVerdict => ("none", "no verdict recorded"),
            RowStatus::NotInLatest => ("none", "not in the latest run"),
        }
    }
}

/// One metric of a row: the latest median and the stored verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub metric: String,
    pub unit: String,
    pub gates: bool,
    pub median: Option<f64>,
    pub stored: Option<StoredMetric>,
}

/// One fixture × scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub fixture: String,
    pub scenario: String,
    pub status: RowStatus,
    /// Every metric of the latest run, by name.
    pub cells: Vec<Cell>,
    /// Wall-time medians across the window.
    pub spark: Vec<f64>,
}

impl SummaryRow {
    pub fn cell(&self, metric: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.metric == metric)
    }

    /// Why the row is not plainly unchanged: each gated metric the gate did
    /// not call unchanged, with its reason.
    pub fn why(&self) -> Vec<String> {
        self.cells
            .iter()
            .filter(|c| c.gates)
            .filter_map(|c| c.stored.as_ref())
            .filter(|s| s.verdict != Verdict::Unchanged)
            .map(|s| {
                let reason = if s.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", s.reason)
                };
                format!(
                    "{} {} {}{reason}",
                    s.metric,
                    s.verdict.as_str(),
                    format_change_pct(s.change())
                )
            })
            .collect()
    }
}

/// The summary rows of the latest run, failures first.
pub fn summary_rows(
    latest: &RunRecord,
    check: Option<&StoredCheck>,
    trends: &[ScenarioTrend],
) -> Vec<SummaryRow> {
    let mut rows: Vec<SummaryRow> = trends
        .iter()
        .map(|trend| {
            let result = latest
                .fixture(&trend.fixture)
                .and_then(|f| f.scenario(&trend.scenario));
            let cells: Vec<Cell> = result
                .map(|r| {
                    r.metrics
                        .iter()
                        .map(|(name, samples)| Cell {
                            metric: name.clone(),
                            unit: samples.unit.clone(),
                            gates: samples.direction != Direction::Informational,
                            median: median_of(&samples.samples),
                            stored: check
                                .and_then(|c| c.row(&trend.fixture, &trend.scenario, name))
                                .cloned(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let status = match (result, check) {
                (None, _) => RowStatus::NotInLatest,
                (Some(_), None) => RowStatus::NoVerdict,
                (Some(_), Some(_)) => cells
                    .iter()
                    .filter(|c| c.gates)
                    .filter_map(|c| c.stored.as_ref())
                    .map(|s| RowStatus::Verdict(s.verdict))
                    .min_by_key(|s| s.rank())
                    .unwrap_or(RowStatus::NoVerdict),
            };
            let spark = trend
                .metrics
                .iter()
                .find(|m| m.metric == TrendMetric::Wall)
                .map(|m| m.points.iter().map(|p| p.median).collect())
                .unwrap_or_default();
            SummaryRow {
                fixture: trend.fixture.clone(),
                scenario: trend.scenario.clone(),
                status,
                cells,
                spark,
            }
        })
        .collect();
    // Stable: equal ranks keep the fixture order.
    rows.sort_by_key(|r| r.status.rank());
    rows
}

fn change_cell(stored: Option<&StoredMetric>) -> String {
    match stored {
        Some(s) => format!(
            "<span class=\"change {}\">{}</span>",
            s.verdict.as_str(),
            format_change_pct(s.change())
        ),
        None => "<span class=\"change\">—</span>".to_string(),
    }
}

fn value_cell(cell: Option<&Cell>) -> String {
    match cell.and_then(|c| c.median.map(|m| (m, &c.unit))) {
        Some((median, unit)) => escape(&format_value(median, unit)),
        None => "—".to_string(),
    }
}

fn pill(status: RowStatus) -> String {
    let (class, text) = status.label();
    format!("<span class=\"pill {class}\">{text}</span>")
}

/// The summary section: headline table, then the folded detail tables.
pub fn write_summary(out: &mut String, rows: &[SummaryRow], has_check: bool) {
    out.push_str("<section id=\"summary\">\n<h2>Summary<span class=\"sub\">latest run, failures first</span></h2>\n");
    out.push_str(
        "<div class=\"panel\"><table class=\"summary\"><thead><tr><th>verdict</th><th>fixture · scenario</th>\
         <th class=\"num\">wall time · vs baseline</th><th>trend</th><th class=\"num\">peak RSS · vs baseline</th>\
         <th class=\"num\">allocated · vs baseline</th><th class=\"why\">why</th></tr></thead><tbody>\n",
    );
    for row in rows {
        let why = row.why();
        let class = match row.status {
            RowStatus::Verdict(Verdict::Regressed) => " class=\"regressed\"",
            _ => "",
        };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td class=\"name\"><b>{}</b> · {}</td>",
            pill(row.status),
            escape(&row.fixture),
            escape(&row.scenario)
        );
        for (i, metric) in HEADLINE.iter().enumerate() {
            let cell = row.cell(metric);
            let _ = write!(
                out,
                "<td class=\"num\">{} <span class=\"vs\">{}</span></td>",
                value_cell(cell),
                change_cell(cell.and_then(|c| c.stored.as_ref()))
            );
            if i == 0 {
                let _ = write!(
                    out,
                    "<td>{}</td>",
                    sparkline(&row.spark, 110, 22, "#2563eb")
                );
            }
        }
        let _ = writeln!(
            out,
            "<td class=\"why\">{}</td></tr>",
            escape(&why.join("; "))
        );
    }
    out.push_str("</tbody></table></div>\n");
    if !has_check {
        out.push_str(
            "<p class=\"note\">No verdict recorded for the latest run: the gate stores one when \
             <code>soda-perf check</code> judges a run; the report never judges a run itself.</p>\n",
        );
    }
    write_metric_details(
        out,
        rows,
        |c| c.gates && !HEADLINE.contains(&c.metric.as_str()),
        "Other gated metrics",
    );
    write_metric_details(
        out,
        rows,
        |c| !c.gates,
        "Informational metrics (never fail the gate)",
    );
    out.push_str("</section>\n");
}

fn write_metric_details(
    out: &mut String,
    rows: &[SummaryRow],
    keep: impl Fn(&Cell) -> bool,
    title: &str,
) {
    let mut lines: Vec<(&SummaryRow, &Cell)> = rows
        .iter()
        .flat_map(|r| r.cells.iter().filter(|c| keep(c)).map(move |c| (r, c)))
        .collect();
    if lines.is_empty() {
        return;
    }
    lines.sort_by_key(|(_, c)| {
        c.stored
            .as_ref()
            .map_or(RowStatus::NoVerdict, |s| RowStatus::Verdict(s.verdict))
            .rank()
    });
    let _ = writeln!(
        out,
        "<details><summary>{} ({} rows)</summary>\n<div class=\"panel\"><table><thead><tr><th>verdict</th><th>fixture</th>\
         <th>scenario</th><th>metric</th><th class=\"num\">median</th><th class=\"num\">vs baseline</th><th class=\"why\">why</th></tr></thead><tbody>",
        escape(title),
        lines.len()
    );
    for (row, cell) in lines {
        let status = match (&cell.stored, row.status) {
            (Some(s), _) => RowStatus::Verdict(s.verdict),
            (None, RowStatus::NotInLatest) => RowStatus::NotInLatest,
            (None, _) => RowStatus::NoVerdict,
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"why\">{}</td></tr>",
            pill(status),
            escape(&row.fixture),
            escape(&row.scenario),
            escape(&cell.metric),
            value_cell(Some(cell)),
            change_cell(cell.stored.as_ref()),
            escape(cell.stored.as_ref().map_or("", |s| s.reason.as_str()))
        );
    }
    out.push_str("</tbody></table></div>\n</details>\n");
}
