//! The HTML trend report: one self-contained file (inline CSS, inline SVG
//! charts drawn with plotters; no scripts, fonts or network). In order: the
//! summary of the latest run with the verdict the gate stored for it, the
//! trends of every fixture × scenario, the change points of those trends,
//! the latest run in detail (samples, phases), the scaling curves of the
//! last preset sweep and the last comparison.
//!
//! Architecture invariant: the report judges nothing. Verdicts and the
//! baseline each run was held against come from the gate's stored checks
//! ([`verdicts`]); a run without one says "no verdict recorded".

pub mod changes;
pub mod charts;
pub mod comparison;
pub mod html;
pub mod latest;
pub mod scaling;
pub mod series;
pub mod sparkline;
pub mod summary;
pub mod sweep;
pub mod verdicts;
pub mod window;

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::export::format::format_value;
use crate::gate::verdict::{format_change_pct, Verdict};
use crate::model::RunRecord;
use crate::stats::change_points::ChangePointConfig;
use crate::store::atomic;
use charts::{Axes, TrendChart};
use html::escape;
use series::{ScenarioTrend, TrendMetric};
use verdicts::{StoredCheck, StoredVerdicts};
use window::{runs_within_budget, select_window, Window, WindowSpec};

const TREND_CHART_SIZE: (u32, u32) = (540, 210);

#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    pub title: String,
    /// Which runs are drawn.
    pub window: WindowSpec,
    /// The change-point search over each trend's medians.
    pub change_points: ChangePointConfig,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            title: "soda-perf trend report".into(),
            window: WindowSpec::default(),
            change_points: ChangePointConfig::default(),
        }
    }
}

/// Everything the report is drawn from.
#[derive(Debug, Default)]
pub struct ReportInput<'a> {
    /// The machine's history, oldest run first.
    pub history: &'a [RunRecord],
    /// The gate's stored verdicts.
    pub verdicts: StoredVerdicts,
    /// The last preset sweep, if any.
    pub sweep: Option<&'a RunRecord>,
    /// The last comparison (base and head runs), if any.
    pub comparison: Option<comparison::Comparison>,
}

/// The page and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub html: String,
    pub window: Window,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write the report {}: {source}", path.display())]
pub struct ReportError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Writes the report atomically.
pub fn write_report(path: &Path, html: &str) -> Result<(), ReportError> {
    atomic::write_atomic(path, html.as_bytes()).map_err(|source| ReportError {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders the report.
pub fn render_report(input: &ReportInput<'_>, opts: &ReportOptions) -> Rendered {
    let history = input.history;
    let charts = series::scenario_keys(history).len() * TrendMetric::ALL.len();
    let started: Vec<&str> = history.iter().map(|r| r.started_at.as_str()).collect();
    let window = select_window(&started, &opts.window, runs_within_budget(charts));
    let runs = &history[window.runs.clone()];
    let mut body = String::new();
    if runs.is_empty() {
        write_empty(&mut body, history.len());
    } else {
        let checks: Vec<Option<&StoredCheck>> = runs
            .iter()
            .map(|r| input.verdicts.for_run(&r.started_at))
            .collect();
        let trends = series::build_trends(runs, &checks, &opts.change_points);
        let latest = &runs[runs.len() - 1];
        let latest_check = checks[runs.len() - 1];
        write_header(&mut body, runs, &window, &opts.title);
        write_banner(&mut body, latest, latest_check);
        let rows = summary::summary_rows(latest, latest_check, &trends);
        summary::write_summary(&mut body, &rows, latest_check.is_some());
        write_trends(&mut body, runs, &trends);
        changes::write_changes(&mut body, &changes::change_rows(runs, &trends), runs.len());
        latest::write_latest(&mut body, latest);
    }
    if let Some(sweep) = input.sweep {
        scaling::write_scaling(&mut body, sweep);
    }
    if let Some(comparison) = &input.comparison {
        comparison::write_comparison(&mut body, comparison);
    }
    write_footer(&mut body, runs.last(), &window);
    Rendered {
        html: page(&opts.title, &body),
        window,
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title),
        html::STYLE
    )
}

/// `05-01 a1b2c3d` — date and short commit of a run.
fn run_label(run: &RunRecord) -> String {
    let date = run.started_at.get(5..10).unwrap_or(&run.started_at);
    format!("{date} {}", changes::short_commit(run))
}

fn write_empty(out: &mut String, total: usize) {
    if total > 0 {
        let _ = writeln!(
            out,
            "<div class=\"empty\">\n<h1>No runs in this window</h1>\n<p>The history holds {total} run(s), \
             none of them in the window asked for (<code>--last</code>, <code>--since</code>).</p>\n</div>"
        );
        return;
    }
    out.push_str(
        "<div class=\"empty\">\n<h1>No history yet</h1>\n\
         <p>Every <code>soda-perf run</code> appends its results to \
         <code>reports/history/&lt;machine&gt;.jsonl</code>. Once there is a run, \
         this page shows how each fixture and scenario moves over time.</p>\n</div>\n",
    );
}

fn write_header(out: &mut String, runs: &[RunRecord], window: &Window, title: &str) {
    let first = &runs[0];
    let last = &runs[runs.len() - 1];
    let machine = &last.machine;
    let _ = writeln!(
        out,
        "<header>\n<h1>{}</h1>\n<div class=\"meta\">",
        escape(title)
    );
    let _ = writeln!(
        out,
        "<span>Machine <b class=\"mono\">{}</b></span>",
        escape(&machine.key)
    );
    let _ = writeln!(
        out,
        "<span>{} · {} cores · {}</span>",
        escape(&machine.cpu_model),
        machine.cores,
        format_value(machine.memory_bytes as f64, "bytes")
    );
    let commits = if runs.len() == 1 {
        format!("<b class=\"mono\">{}</b>", escape(&last.short_commit()))
    } else {
        format!(
            "<b class=\"mono\">{}</b> → <b class=\"mono\">{}</b>",
            escape(&first.short_commit()),
            escape(&last.short_commit())
        )
    };
    let branch = last
        .git
        .branch
        .as_deref()
        .map(|b| format!(" on <b>{}</b>", escape(b)))
        .unwrap_or_default();
    let _ = writeln!(out, "<span>Commits {commits}{branch}</span>");
    let dates = if runs.len() == 1 {
        escape(&last.started_at)
    } else {
        format!(
            "{} → {}",
            escape(date_of(&first.started_at)),
            escape(date_of(&last.started_at))
        )
    };
    let shown = if window.total > runs.len() {
        format!("{} of {} runs", runs.len(), window.total)
    } else if runs.len() == 1 {
        "1 run".to_string()
    } else {
        format!("{} runs", runs.len())
    };
    let _ = writeln!(out, "<span>{dates} · {shown}</span>\n</div>\n</header>");
    if window.cut_by_budget > 0 {
        let _ = writeln!(
            out,
            "<p class=\"banner info\">The {} oldest runs are left out to keep the page under its {} MB budget; \
             <code>soda-perf report --last N</code> or <code>--since YYYY-MM-DD</code> chooses the window.</p>",
            window.cut_by_budget,
            window::PAGE_BUDGET_BYTES / 1_000_000
        );
    }
    if runs.iter().any(|r| r.machine.key != machine.key) {
        out.push_str(
            "<p class=\"banner info\">These runs come from more than one machine; \
             their timings are not directly comparable.</p>\n",
        );
    }
}

fn date_of(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

/// The gate's verdict on the latest run, as stored; never recomputed.
fn write_banner(out: &mut String, latest: &RunRecord, check: Option<&StoredCheck>) {
    let run = format!(
        "{} <span class=\"mono\">{}</span>",
        escape(date_of(&latest.started_at)),
        escape(&changes::short_commit(latest))
    );
    let Some(check) = check else {
        let _ = writeln!(
            out,
            "<div class=\"banner info\">Latest run ({run}): no verdict recorded. The gate stores its verdict when \
             <code>soda-perf check</code> judges a run; this report shows that verdict and never judges a run itself.</div>"
        );
        return;
    };
    let gated: Vec<&verdicts::StoredMetric> = check
        .report
        .rows
        .iter()
        .map(|r| &r.metric)
        .filter(|m| m.gates())
        .collect();
    let count = |v: Verdict| gated.iter().filter(|m| m.verdict == v).count();
    let against = match (&check.baseline, &check.baseline_commit) {
        (Some(name), Some(commit)) => format!(
            " against baseline <b>{}</b> (<span class=\"mono\">{}</span>)",
            escape(name),
            escape(commit.get(..7).unwrap_or(commit))
        ),
        (Some(name), None) => format!(" against baseline <b>{}</b>", escape(name)),
        _ => String::new(),
    };
    let regressed = count(Verdict::Regressed);
    if regressed > 0 {
        let list: Vec<String> = check
            .report
            .rows
            .iter()
            .filter(|r| r.metric.gates() && r.metric.verdict == Verdict::Regressed)
            .map(|r| {
                format!(
                    "{}/{} {} {}",
                    r.fixture,
                    r.scenario,
                    r.metric.metric,
                    format_change_pct(r.metric.change())
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<div class=\"banner fail\">Latest run ({run}): the gate failed{against} — {regressed} regression{}: {}.</div>",
            if regressed == 1 { "" } else { "s" },
            escape(&list.join(", "))
        );
    } else {
        let _ = writeln!(
            out,
            "<div class=\"banner pass\">Latest run ({run}): the gate passed{against} — {} improved, {} inconclusive, {} unchanged gated metrics.</div>",
            count(Verdict::Improved),
            count(Verdict::Inconclusive),
            count(Verdict::Unchanged)
        );
    }
}

fn write_trends(out: &mut String, runs: &[RunRecord], trends: &[ScenarioTrend]) {
    let labels: Vec<String> = runs.iter().map(run_label).collect();
    out.push_str("<section id=\"trends\">\n<h2>Trends</h2>\n");
    out.push_str(
        "<div class=\"legend\"><span><span class=\"swatch\" style=\"background:#2563eb\"></span>median</span>\
         <span><span class=\"swatch\" style=\"background:rgba(37,99,235,0.18)\"></span>95% interval of the median</span>\
         <span><span class=\"swatch\" style=\"background:#64748b\"></span>baseline the gate held the run against, with its ±threshold band</span>\
         <span><span class=\"swatch ring\" style=\"border-color:#dc2626\"></span>regressed (gate)</span>\
         <span><span class=\"swatch ring\" style=\"border-color:#16a34a\"></span>improved (gate)</span>\
         <span><span class=\"swatch\" style=\"background:#d97706\"></span>change point</span></div>\n",
    );
    let mut fixture = "";
    for trend in trends {
        if trend.fixture != fixture {
            if !fixture.is_empty() {
                out.push_str("</div>\n");
            }
            fixture = &trend.fixture;
            let _ = writeln!(
                out,
                "<div class=\"fixture\">\n<h3 class=\"fixture-name\">{}<span class=\"sub\">{} files</span></h3>",
                escape(&trend.fixture),
                trend.files
            );
        }
        let _ = writeln!(
            out,
            "<div class=\"card\">\n<div class=\"card-head\"><h3>{} · {}</h3></div>\n<div class=\"chart-grid\">",
            escape(&trend.fixture),
            escape(&trend.scenario)
        );
        for metric in &trend.metrics {
            let _ = writeln!(
                out,
                "<figure><figcaption>{} ({})</figcaption>",
                metric.metric.title(),
                metric.metric.axis()
            );
            let chart = charts::trend_chart(&TrendChart {
                points: &metric.points,
                baseline: &metric.baseline,
                marks: &metric.marks,
                changes: &metric.changes,
                axes: Axes {
                    run_labels: &labels,
                    y_desc: metric.metric.axis(),
                },
                width: TREND_CHART_SIZE.0,
                height: TREND_CHART_SIZE.1,
            });
            push_chart(out, chart);
            out.push_str("</figure>\n");
        }
        out.push_str("</div>\n</div>\n");
    }
    if !fixture.is_empty() {
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

pub(crate) fn push_chart(out: &mut String, chart: Result<String, charts::ChartError>) {
    match chart {
        Ok(svg) => {
            out.push_str(&svg);
            out.push('\n');
        }
        Err(err) => {
            let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&err.to_string()));
        }
    }
}

fn write_footer(out: &mut String, last: Option<&RunRecord>, window: &Window) {
    let version = last.map_or(String::new(), |r| {
        format!("soda-perf {} · ", escape(&r.harness_version))
    });
    let _ = writeln!(
        out,
        "<footer>{version}intervals: distribution-free 95% interval of the median (order statistics) · verdicts and baselines: \
         as the gate stored them with each checked run · page budget {} MB: by default every run that fits \
         ({} shown of {}).</footer>",
        window::PAGE_BUDGET_BYTES / 1_000_000,
        window.runs.len(),
        window.total
    );
}

#[cfg(test)]
pub(crate) use crate::store::history::sample_history;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn quick() -> ReportOptions {
        ReportOptions::default()
    }

    fn render(history: &[RunRecord], verdicts: StoredVerdicts, opts: &ReportOptions) -> String {
        let input = ReportInput {
            history,
            verdicts,
            ..ReportInput::default()
        };
        render_report(&input, opts).html
    }

    /// Stored checks of the last two runs: unchanged, then a wall-time
    /// regression of small/cold.
    fn stored(history: &[RunRecord]) -> StoredVerdicts {
        let n = history.len();
        let lines = [
            sample_history::check_line(
                &history[n - 2],
                &[
                    ("small", "cold", "wall_ms", 400.0, 1.0, "unchanged"),
                    ("large", "cold", "wall_ms", 5000.0, 0.5, "unchanged"),
                ],
            ),
            sample_history::check_line(
                &history[n - 1],
                &[
                    ("small", "cold", "wall_ms", 400.0, 12.0, "regressed"),
                    ("large", "cold", "wall_ms", 5000.0, 0.2, "unchanged"),
                ],
            ),
        ];
        let (verdicts, warnings) = verdicts::parse_checks(&lines.join("\n"));
        assert!(warnings.is_empty(), "{warnings:?}");
        verdicts
    }

    /// No network references: the only URL allowed is the SVG namespace.
    fn assert_self_contained(html: &str) {
        let without_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_namespace.contains("http://"), "external reference");
        assert!(
            !without_namespace.contains("https://"),
            "external reference"
        );
        assert!(!html.contains("<script"), "no scripts");
        assert!(!html.contains("<link"), "no external style sheets");
        assert!(!html.contains("@import"), "no imported CSS");
    }

    fn position(html: &str, needle: &str) -> usize {
        html.find(needle)
            .unwrap_or_else(|| panic!("missing {needle}"))
    }

    #[test]
    fn sections_come_in_order_summary_before_any_chart() {
        let history = sample_history::history(12);
        let html = render(&history, stored(&history), &quick());
        assert_self_contained(&html);
        let summary = position(&html, "<section id=\"summary\">");
        let trends = position(&html, "<section id=\"trends\">");
        let changes = position(&html, "<section id=\"change-points\">");
        let first_chart = position(&html, "<svg width=");
        assert!(
            summary < trends && trends < changes,
            "summary, trends, change points"
        );
        assert!(summary < first_chart, "no chart before the summary");
        // Only sparklines inside the summary.
        assert!(
            html[summary..trends].matches("<svg").count()
                == html[summary..trends].matches("class=\"spark\"").count()
        );
        // Informational metrics are folded away.
        let details = position(&html, "<details><summary>Informational metrics");
        assert!(details < trends);
        let folded = &html[details..trends];
        assert!(folded.contains("phase.scan_ms") && folded.contains("cpu_ms"));
        let headline = &html[summary..position(&html, "</table>")];
        assert!(
            !headline.contains("phase.scan_ms"),
            "informational metrics are not in the headline table"
        );
    }

    #[test]
    fn the_summary_shows_the_stored_verdict_failures_first() {
        let history = sample_history::history(12);
        let html = render(&history, stored(&history), &quick());
        assert!(html.contains("the gate failed against baseline <b>main</b>"));
        assert!(html.contains("1 regression: small/cold wall_ms +12.0%"));
        let rows: Vec<&str> = html.split("<tr").skip(1).take(3).collect();
        assert!(
            rows[1].contains("pill regressed") && rows[1].contains("<b>small</b> · cold"),
            "{}",
            rows[1]
        );
        assert!(rows[1].contains("wall_ms regressed +12.0%: the gate&#39;s reason"));
        assert!(rows[2].contains("pill unchanged"), "{}", rows[2]);
        // Every fixture × scenario has a row with a sparkline.
        assert_eq!(html.matches("class=\"spark\"").count(), 4);
    }

    #[test]
    fn without_a_stored_verdict_nothing_is_judged() {
        let history = sample_history::history(12);
        let html = render(&history, StoredVerdicts::default(), &quick());
        assert!(html.contains("no verdict recorded"));
        assert!(!html.contains("gate failed"));
        assert!(!html.contains("pill regressed"));
        assert!(!html.contains("class=\"change regressed\""));
    }

    #[test]
    fn trends_have_a_chart_per_metric_and_the_baseline_when_known() {
        let history = sample_history::history(12);
        let html = render(&history, stored(&history), &quick());
        let trends = &html[position(&html, "<section id=\"trends\">")
            ..position(&html, "<section id=\"change-points\">")];
        // 4 scenarios × (wall, CPU, RSS, alloc) and the warm ones' hit rate; no
        // instructions recorded.
        // The hit rate of the cold ones is 0 by design and not drawn.
        assert_eq!(trends.matches("<svg").count(), 4 * 4 + 2);
        assert!(trends.contains("Wall time (ms)") && trends.contains("Cache hit rate"));
        assert!(!trends.contains("Instructions ("));
        assert!(
            trends.contains("05-12 "),
            "points are labelled with date and short commit"
        );
        assert!(trends.contains("+12.0%"), "the stored regression is marked");
    }

    #[test]
    fn change_points_are_listed_with_commit_ranges() {
        let mut history = sample_history::history(24);
        for run in &mut history[12..] {
            for v in &mut run.fixtures[1].scenarios[0]
                .metrics
                .get_mut("wall_ms")
                .unwrap()
                .samples
            {
                *v *= 1.3;
            }
        }
        let html = render(&history, StoredVerdicts::default(), &quick());
        let section = &html[position(&html, "<section id=\"change-points\">")..];
        let from = history[11].git.commit.as_deref().unwrap()[..7].to_string();
        let to = history[12].git.commit.as_deref().unwrap()[..7].to_string();
        assert!(section.contains(&format!("{from} .. {to}")), "{section}");
        assert!(
            section.contains("p=0.01") || section.contains("p<0.001") || section.contains("p=0.0")
        );
    }

    #[test]
    fn the_window_follows_last_and_since() {
        let history = sample_history::history(12);
        let last = ReportOptions {
            window: WindowSpec {
                last: Some(5),
                since: None,
            },
            ..quick()
        };
        let html = render(&history, StoredVerdicts::default(), &last);
        assert!(html.contains("5 of 12 runs"));
        assert!(html.contains("2024-05-08 → 2024-05-12"));
        let since = ReportOptions {
            window: WindowSpec {
                last: None,
                since: Some("2024-05-10".into()),
            },
            ..quick()
        };
        let html = render(&history, StoredVerdicts::default(), &since);
        assert!(html.contains("3 of 12 runs"));
    }

    #[test]
    fn a_year_of_history_renders_within_budget() {
        let history = sample_history::history(365);
        let started = std::time::Instant::now();
        let rendered = render_report(
            &ReportInput {
                history: &history,
                ..ReportInput::default()
            },
            &ReportOptions::default(),
        );
        let elapsed = started.elapsed();
        assert_eq!(rendered.window.runs.len(), 365);
        assert!(
            rendered.html.len() < window::PAGE_BUDGET_BYTES,
            "{} bytes",
            rendered.html.len()
        );
        eprintln!("365 runs: {} bytes in {elapsed:?}", rendered.html.len());
    }

    /// The histories committed under `reports/history` render a page that
    /// claims no verdict the gate never gave.
    #[test]
    fn the_committed_histories_render_and_claim_nothing() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/history");
        let mut rendered = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".jsonl") || name.matches('.').count() > 1 {
                continue;
            }
            let history = crate::store::history::read_history(&path).unwrap();
            assert!(history.skipped.is_empty(), "{name}: {:?}", history.skipped);
            let (verdicts, _) = verdicts::read_checks(&verdicts::checks_path(&path)).unwrap();
            let html = render(&history.records, verdicts.clone(), &quick());
            assert_self_contained(&html);
            let summary = position(&html, "<section id=\"summary\">");
            let trends = position(&html, "<section id=\"trends\">");
            assert!(summary < position(&html, "<svg width=") && summary < trends);
            let latest = history.records.last().unwrap();
            if verdicts.for_run(&latest.started_at).is_none() {
                assert!(html.contains("no verdict recorded"), "{name}");
                assert!(!html.contains("gate failed"), "{name}");
            }
            let rows = latest
                .fixtures
                .iter()
                .map(|f| f.scenarios.len())
                .sum::<usize>();
            assert_eq!(
                html[summary..trends].matches("class=\"spark\"").count(),
                rows,
                "{name}"
            );
            rendered += 1;
        }
        assert!(rendered > 0, "no history under {}", dir.display());
    }

    #[test]
    fn empty_history_gets_a_friendly_page() {
        let html = render(&[], StoredVerdicts::default(), &quick());
        assert_self_contained(&html);
        assert!(html.contains("No history yet"));
        assert!(!html.contains("<svg"));
    }

    #[test]
    fn names_are_escaped() {
        let mut history = sample_history::history(2);
        for run in &mut history {
            run.fixtures[0].fixture = "<script>alert(1)</script>".into();
        }
        let html = render(&history, StoredVerdicts::default(), &quick());
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn write_report_is_atomic_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports/trend.html");
        write_report(&path, "<html></html>").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<html></html>");
    }

    /// Writes `/tmp/report-sample.html` from a synthetic 24-run history
    /// with stored verdicts, a sweep and a comparison, for a browser, and
    /// `/tmp/history-365.jsonl`, a synthetic year:
    /// `cargo test -p harness -- --ignored write_sample_report`.
    #[test]
    #[ignore = "writes a file outside the test's temp dir"]
    fn write_sample_report() {
        let history = sample_history::history(24);
        let comparison = comparison::Comparison {
            base: history[22].clone(),
            head: history[23].clone(),
            source: ".cache/perf/compare-sample".into(),
        };
        let input = ReportInput {
            history: &history,
            verdicts: stored(&history),
            sweep: Some(&history[0]),
            comparison: Some(comparison),
        };
        let rendered = render_report(&input, &ReportOptions::default());
        write_report(Path::new("/tmp/report-sample.html"), &rendered.html).unwrap();
        // A year of nightly runs, for timing `soda-perf report` on it.
        let year: Vec<String> = sample_history::history(365)
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        std::fs::write("/tmp/history-365.jsonl", year.join("\n") + "\n").unwrap();
    }
}
