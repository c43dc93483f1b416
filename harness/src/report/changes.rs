//! The change points section: per metric, every change point found in a
//! fixture × scenario's medians, with the commits on either side, the size
//! of the shift and its permutation p-value.

use std::fmt::Write as _;

use crate::gate::verdict::p_equals;
use crate::model::RunRecord;

use super::html::escape;
use super::series::{ScenarioTrend, TrendMetric, CHANGE_POINT_WINDOW};

/// `a1b2c3d` (`*` when dirty), or `?`.
pub fn short_commit(run: &RunRecord) -> String {
    let commit = run
        .git
        .commit
        .as_deref()
        .map_or("?", |c| c.get(..7).unwrap_or(c));
    format!("{commit}{}", if run.git.dirty { "*" } else { "" })
}

/// One change point, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    pub metric: TrendMetric,
    pub fixture: String,
    pub scenario: String,
    /// The last commit of the old level and the first of the new.
    pub from_commit: String,
    pub to_commit: String,
    pub to_date: String,
    pub before: f64,
    pub after: f64,
    pub shift_pct: Option<f64>,
    pub p_value: f64,
}

/// Every change point of `trends`, grouped by metric (in chart order), the
/// most recent first within a metric.
pub fn change_rows(runs: &[RunRecord], trends: &[ScenarioTrend]) -> Vec<ChangeRow> {
    let mut rows: Vec<(usize, ChangeRow)> = Vec::new();
    for trend in trends {
        for metric in &trend.metrics {
            for change in &metric.changes {
                let (before, at) = (&runs[change.before_run], &runs[change.run]);
                rows.push((
                    change.run,
                    ChangeRow {
                        metric: metric.metric,
                        fixture: trend.fixture.clone(),
                        scenario: trend.scenario.clone(),
                        from_commit: short_commit(before),
                        to_commit: short_commit(at),
                        to_date: at
                            .started_at
                            .get(..10)
                            .unwrap_or(&at.started_at)
                            .to_string(),
                        before: change.change.before_mean,
                        after: change.change.after_mean,
                        shift_pct: change.change.shift_pct,
                        p_value: change.change.p_value,
                    },
                ));
            }
        }
    }
    rows.sort_by(|(run_a, a), (run_b, b)| a.metric.cmp(&b.metric).then(run_b.cmp(run_a)));
    rows.into_iter().map(|(_, row)| row).collect()
}

pub fn write_changes(out: &mut String, rows: &[ChangeRow], runs_shown: usize) {
    out.push_str("<section id=\"change-points\">\n<h2>Change points</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">E-divisive means with a permutation test (Matteson &amp; James 2014; as MongoDB's CI and \
         Apache Otava use) over the medians of the {} runs shown: a level shift that holds for at least 4 runs, \
         significant at p &lt; 0.01 (p = 0.005 is the smallest 199 permutations can show). A lone outlier is not one. The commit range is the last run of the old level .. the \
         first of the new.</p>",
        if runs_shown > CHANGE_POINT_WINDOW {
            format!("last {CHANGE_POINT_WINDOW} of the {runs_shown}")
        } else {
            runs_shown.to_string()
        }
    );
    if rows.is_empty() {
        out.push_str("<p class=\"note\">No change points in the runs shown.</p>\n</section>\n");
        return;
    }
    for metric in TrendMetric::ALL {
        let of_metric: Vec<&ChangeRow> = rows.iter().filter(|r| r.metric == metric).collect();
        if of_metric.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<h3>{} <span class=\"sub\">({})</span></h3>\n<div class=\"panel\"><table><thead><tr><th>fixture</th><th>scenario</th>\
             <th>commits</th><th>date</th><th class=\"num\">before</th><th class=\"num\">after</th><th class=\"num\">shift</th>\
             <th class=\"num\">p</th></tr></thead><tbody>",
            metric.title(),
            metric.axis()
        );
        for row in of_metric {
            let shift = row
                .shift_pct
                .map_or_else(|| "—".to_string(), |s| format!("{s:+.1}%"));
            let class = match row.shift_pct {
                Some(s) if s > 0.0 && metric != TrendMetric::CacheHitRate => "regressed",
                Some(s) if s < 0.0 && metric != TrendMetric::CacheHitRate => "improved",
                _ => "",
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"mono\">{} .. {}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\"><span class=\"change {class}\">{shift}</span></td><td class=\"num\">{}</td></tr>",
                escape(&row.fixture),
                escape(&row.scenario),
                escape(&row.from_commit),
                escape(&row.to_commit),
                escape(&row.to_date),
                crate::export::format::significant(row.before),
                crate::export::format::significant(row.after),
                p_equals(row.p_value)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
}
