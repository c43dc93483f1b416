//! The HTML trend report: one self-contained file (inline CSS, inline SVG
//! charts drawn with plotters; no scripts, fonts or network) showing how each
//! fixture × scenario moved across the runs of a machine's history, the
//! latest run against the previous one (or against the gate's baseline), and
//! the regressions.

pub mod charts;
pub mod html;

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::export::format::{format_pct, format_value};
use crate::fsutil;
use crate::model::metric_names::{ALLOC_TOTAL_BYTES, PEAK_RSS_KIB, WALL_MS};
use crate::model::{FixtureResult, RunRecord, ScenarioResult};
use crate::stats::{noise_check, summarize_metric, BootstrapConfig, NoiseConfig, Summary};
use crate::verdict::{
    compare_fixtures, format_change_pct, median_of, p_equals, GateConfig, GateReport,
    MetricVerdict, Verdict,
};
use charts::{Axes, Marker, Series, TrendPoint};
use html::escape;

const WALL_CHART_SIZE: (u32, u32) = (1100, 300);
const MEMORY_CHART_SIZE: (u32, u32) = (1100, 190);
const BYTES_PER_MIB: f64 = 1024.0 * 1024.0;
const KIB_PER_MIB: f64 = 1024.0;

#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    pub title: String,
    /// Resampling for the intervals drawn; 2 000 by default, plenty for a chart.
    pub bootstrap: BootstrapConfig,
    /// The rule for the run-to-run markers (the gate's rule by default).
    pub gate: GateConfig,
    /// Only the most recent runs are drawn.
    pub max_runs: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        let bootstrap = BootstrapConfig {
            resamples: 2_000,
            ..BootstrapConfig::default()
        };
        Self {
            title: "soda-perf trend report".into(),
            bootstrap,
            gate: GateConfig {
                bootstrap,
                ..GateConfig::default()
            },
            max_runs: 60,
        }
    }
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
    fsutil::write_atomic(path, html.as_bytes()).map_err(|source| ReportError {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders the report for `history` (oldest run first). `current`, when given,
/// is the gate's comparison of the latest run against a baseline.
pub fn render_html(
    history: &[RunRecord],
    current: Option<&GateReport>,
    opts: &ReportOptions,
) -> String {
    let runs = &history[history.len().saturating_sub(opts.max_runs.max(1))..];
    let mut body = String::new();
    if runs.is_empty() {
        write_empty(&mut body);
        if let Some(gate) = current {
            write_gate(&mut body, gate);
        }
    } else {
        let trends = Trends::compute(runs, opts);
        write_header(&mut body, runs, history.len(), &opts.title);
        write_banner(&mut body, runs, current, &trends);
        write_summary(&mut body, &trends, current);
        if let Some(gate) = current {
            write_gate(&mut body, gate);
        }
        write_fixtures(&mut body, &trends);
        write_footer(&mut body, runs, opts);
    }
    page(&opts.title, &body)
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

/// Per fixture × scenario: the summaries across runs and the latest comparison.
struct Trends {
    run_labels: Vec<String>,
    fixtures: Vec<FixtureTrend>,
}

struct FixtureTrend {
    fixture: String,
    files: u64,
    scenarios: Vec<ScenarioTrend>,
}

struct ScenarioTrend {
    scenario: String,
    wall: Vec<TrendPoint>,
    rss_mib: Vec<(usize, f64)>,
    alloc_mib: Vec<(usize, f64)>,
    latest_wall: Option<Summary>,
    /// Whether the latest run has this scenario.
    in_latest: bool,
    /// Latest run vs the run before it, per charted metric.
    vs_previous: Vec<MetricVerdict>,
}

impl Trends {
    fn compute(runs: &[RunRecord], opts: &ReportOptions) -> Self {
        let run_labels = runs.iter().map(run_label).collect();
        // Run i against run i − 1 over the charted metrics: one gate per
        // step, so the markers share the gate's rule and its Holm correction.
        let steps: Vec<Option<GateReport>> = (0..runs.len())
            .map(|i| {
                (i > 0).then(|| {
                    compare_fixtures(
                        &charted_metrics(&runs[i - 1]),
                        &charted_metrics(&runs[i]),
                        &opts.gate,
                    )
                })
            })
            .collect();
        let mut fixtures: Vec<FixtureTrend> = Vec::new();
        // The latest run's order first; fixtures and scenarios that only older
        // runs have come after.
        for run in runs.iter().rev() {
            for fixture in &run.fixtures {
                let index = match fixtures.iter().position(|f| f.fixture == fixture.fixture) {
                    Some(index) => index,
                    None => {
                        fixtures.push(FixtureTrend {
                            fixture: fixture.fixture.clone(),
                            files: fixture.files,
                            scenarios: Vec::new(),
                        });
                        fixtures.len() - 1
                    }
                };
                for scenario in &fixture.scenarios {
                    let known = &mut fixtures[index].scenarios;
                    if !known.iter().any(|s| s.scenario == scenario.scenario) {
                        known.push(ScenarioTrend::compute(
                            runs,
                            &steps,
                            &fixture.fixture,
                            &scenario.scenario,
                            opts,
                        ));
                    }
                }
            }
        }
        Self {
            run_labels,
            fixtures,
        }
    }
}

/// The run with only the metrics the report charts.
fn charted_metrics(run: &RunRecord) -> Vec<FixtureResult> {
    run.fixtures
        .iter()
        .map(|fixture| FixtureResult {
            fixture: fixture.fixture.clone(),
            files: fixture.files,
            scenarios: fixture
                .scenarios
                .iter()
                .map(|scenario| ScenarioResult {
                    metrics: scenario
                        .metrics
                        .iter()
                        .filter(|(name, _)| CHARTED.contains(&name.as_str()))
                        .map(|(name, samples)| (name.clone(), samples.clone()))
                        .collect(),
                    ..scenario.clone()
                })
                .collect(),
        })
        .collect()
}

const CHARTED: [&str; 3] = [WALL_MS, PEAK_RSS_KIB, ALLOC_TOTAL_BYTES];

fn find_scenario<'a>(
    run: &'a RunRecord,
    fixture: &str,
    scenario: &str,
) -> Option<&'a ScenarioResult> {
    run.fixture(fixture).and_then(|f| f.scenario(scenario))
}

impl ScenarioTrend {
    fn compute(
        runs: &[RunRecord],
        steps: &[Option<GateReport>],
        fixture: &str,
        scenario: &str,
        opts: &ReportOptions,
    ) -> Self {
        let latest = runs.len() - 1;
        let mut wall = Vec::new();
        let mut rss_mib = Vec::new();
        let mut alloc_mib = Vec::new();
        let mut latest_wall = None;
        for (index, run) in runs.iter().enumerate() {
            let Some(result) = find_scenario(run, fixture, scenario) else {
                continue;
            };
            if let Some(summary) = result
                .metric(WALL_MS)
                .and_then(|m| summarize_metric(m, &opts.bootstrap).ok())
            {
                let step = steps[index]
                    .as_ref()
                    .and_then(|gate| gate.find(fixture, scenario, WALL_MS));
                let marker = step.map_or(Marker::Plain, |row| match row.metric.verdict {
                    Verdict::Regressed => Marker::Regressed {
                        change_pct: row.metric.change_pct,
                    },
                    Verdict::Improved => Marker::Improved {
                        change_pct: row.metric.change_pct,
                    },
                    _ => Marker::Plain,
                });
                wall.push(TrendPoint {
                    run: index,
                    median: summary.median,
                    lower: summary.ci95_median.lower,
                    upper: summary.ci95_median.upper,
                    marker,
                });
                if index == latest {
                    latest_wall = Some(summary);
                }
            }
            let median = |name: &str| result.metric(name).and_then(|m| median_of(&m.samples));
            if let Some(kib) = median(PEAK_RSS_KIB) {
                rss_mib.push((index, kib / KIB_PER_MIB));
            }
            if let Some(bytes) = median(ALLOC_TOTAL_BYTES) {
                alloc_mib.push((index, bytes / BYTES_PER_MIB));
            }
        }
        let vs_previous = steps[latest]
            .as_ref()
            .map(|gate| {
                gate.rows
                    .iter()
                    .filter(|row| row.fixture == fixture && row.scenario == scenario)
                    .map(|row| row.metric.clone())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            scenario: scenario.into(),
            wall,
            rss_mib,
            alloc_mib,
            latest_wall,
            in_latest: find_scenario(&runs[latest], fixture, scenario).is_some(),
            vs_previous,
        }
    }
}

/// `05-01 a1b2c3d` — date and short commit of a run.
fn run_label(run: &RunRecord) -> String {
    let date = run.started_at.get(5..10).unwrap_or(&run.started_at);
    let commit = run
        .git
        .commit
        .as_deref()
        .map_or("?", |c| c.get(..7).unwrap_or(c));
    let dirty = if run.git.dirty { "*" } else { "" };
    format!("{date} {commit}{dirty}")
}

fn write_empty(out: &mut String) {
    out.push_str(
        "<div class=\"empty\">\n<h1>No history yet</h1>\n\
         <p>Every <code>soda-perf run</code> appends its results to \
         <code>reports/history/&lt;machine&gt;.jsonl</code>. Once there is a run, \
         this page shows how each fixture and scenario moves over time.</p>\n</div>\n",
    );
}

fn write_header(out: &mut String, runs: &[RunRecord], total_runs: usize, title: &str) {
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
    let shown = if total_runs > runs.len() {
        format!("{} of {total_runs} runs", runs.len())
    } else if runs.len() == 1 {
        "1 run".to_string()
    } else {
        format!("{} runs", runs.len())
    };
    let _ = writeln!(out, "<span>{dates} · {shown}</span>\n</div>\n</header>");
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

fn write_banner(
    out: &mut String,
    runs: &[RunRecord],
    current: Option<&GateReport>,
    trends: &Trends,
) {
    if let Some(gate) = current {
        let counts = gate.counts();
        let (class, text) = if counts.regressed > 0 {
            (
                "fail",
                format!(
                    "Gate failed: {} regression{} against the baseline.",
                    counts.regressed,
                    plural(counts.regressed)
                ),
            )
        } else {
            (
                "pass",
                format!(
                    "Gate passed: no regressions against the baseline ({} improved, {} inconclusive, {} unchanged).",
                    counts.improved, counts.inconclusive, counts.unchanged
                ),
            )
        };
        let _ = writeln!(out, "<div class=\"banner {class}\">{text}</div>");
        return;
    }
    if runs.len() < 2 {
        out.push_str(
            "<div class=\"banner info\">One run so far: the charts show trends from the next run on.</div>\n",
        );
        return;
    }
    let regressed = trends
        .fixtures
        .iter()
        .flat_map(|f| &f.scenarios)
        .flat_map(|s| &s.vs_previous)
        .filter(|v| v.verdict == Verdict::Regressed)
        .count();
    if regressed > 0 {
        let _ = writeln!(
            out,
            "<div class=\"banner fail\">Latest run: {regressed} regression{} against the previous run.</div>",
            plural(regressed)
        );
    } else {
        out.push_str("<div class=\"banner pass\">Latest run: no regressions against the previous run.</div>\n");
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// The latest run, one row per fixture × scenario, with its change against
/// the gate's baseline (when given) or the previous run.
fn write_summary(out: &mut String, trends: &Trends, current: Option<&GateReport>) {
    let against = if current.is_some() {
        "vs baseline"
    } else {
        "vs previous"
    };
    out.push_str("<h2>Latest run</h2>\n<div class=\"panel\"><table>\n<thead><tr>");
    let _ = write!(
        out,
        "<th>Fixture</th><th>Scenario</th><th class=\"num\">Wall time</th><th class=\"num\">{against}</th>\
         <th>Verdict</th><th class=\"num\">Peak RSS</th><th class=\"num\">{against}</th>\
         <th class=\"num\">Allocated</th><th class=\"num\">{against}</th>"
    );
    out.push_str("</tr></thead>\n<tbody>\n");
    for fixture in &trends.fixtures {
        for scenario in fixture.scenarios.iter().filter(|s| s.in_latest) {
            let comparison = |metric: &str| -> Option<MetricVerdict> {
                match current {
                    Some(gate) => gate
                        .find(&fixture.fixture, &scenario.scenario, metric)
                        .map(|row| row.metric.clone()),
                    None => scenario
                        .vs_previous
                        .iter()
                        .find(|v| v.metric == metric)
                        .cloned(),
                }
            };
            let wall = comparison(WALL_MS);
            let rss = comparison(PEAK_RSS_KIB);
            let alloc = comparison(ALLOC_TOTAL_BYTES);
            let row_class = [&wall, &rss, &alloc]
                .iter()
                .any(|v| v.as_ref().is_some_and(|v| v.verdict == Verdict::Regressed));
            let _ = write!(
                out,
                "<tr{}><td>{}</td><td>{}</td>",
                if row_class {
                    " class=\"regressed\""
                } else {
                    ""
                },
                escape(&fixture.fixture),
                escape(&scenario.scenario)
            );
            let wall_text = scenario
                .latest_wall
                .as_ref()
                .map_or("–".to_string(), |s| format_value(s.median, "ms"));
            let _ = write!(
                out,
                "<td class=\"num\">{wall_text}</td>{}",
                change_cell(wall.as_ref())
            );
            let pill = wall.as_ref().map_or(String::new(), |v| {
                format!("<span class=\"pill {0}\">{0}</span>", v.verdict.as_str())
            });
            let _ = write!(out, "<td>{pill}</td>");
            // Without a comparison (a first run) the latest value still shows.
            let latest_rss = scenario
                .in_latest
                .then(|| scenario.rss_mib.last())
                .flatten()
                .map(|(_, mib)| format_value(mib * 1024.0, "KiB"));
            let latest_alloc = scenario
                .in_latest
                .then(|| scenario.alloc_mib.last())
                .flatten()
                .map(|(_, mib)| format_value(mib * 1024.0 * 1024.0, "bytes"));
            for (verdict, latest) in [(&rss, latest_rss), (&alloc, latest_alloc)] {
                let value = verdict
                    .as_ref()
                    .map(|v| format_value(v.head_median, &v.unit))
                    .or(latest)
                    .unwrap_or_else(|| "–".to_string());
                let _ = write!(
                    out,
                    "<td class=\"num\">{value}</td>{}",
                    change_cell(verdict.as_ref())
                );
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</tbody></table></div>\n");
}

fn change_cell(verdict: Option<&MetricVerdict>) -> String {
    match verdict {
        None => "<td class=\"change\">–</td>".into(),
        Some(v) => {
            let title = match v.p_value {
                Some(p) => format!("{}; p = {p:.4}", v.reason),
                None => v.reason.clone(),
            };
            format!(
                "<td class=\"change {}\" title=\"{}\">{}</td>",
                v.verdict.as_str(),
                escape(&title),
                format_change_pct(v.change_pct)
            )
        }
    }
}

/// Every metric the gate did not find unchanged, and what it could not compare.
fn write_gate(out: &mut String, gate: &GateReport) {
    let counts = gate.counts();
    let _ = writeln!(
        out,
        "<h2>Regression gate<span class=\"sub\">{} regressed · {} improved · {} inconclusive · {} unchanged</span></h2>",
        counts.regressed, counts.improved, counts.inconclusive, counts.unchanged
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Timing: regressed when the median moves more than ±{}% and Mann–Whitney p &lt; {} \
         (Holm-corrected); counts: more than ±{}%.</p>",
        gate.config.threshold_pct, gate.config.alpha, gate.config.deterministic_tolerance_pct
    );
    let mut notable: Vec<_> = gate
        .rows
        .iter()
        .filter(|row| row.metric.verdict != Verdict::Unchanged)
        .collect();
    notable.sort_by_key(|row| row.metric.verdict);
    if !notable.is_empty() {
        out.push_str(
            "<div class=\"panel\"><table>\n<thead><tr><th>Fixture</th><th>Scenario</th><th>Metric</th>\
             <th class=\"num\">Base</th><th class=\"num\">Head</th><th class=\"num\">Change</th>\
             <th>Verdict</th><th>Why</th></tr></thead>\n<tbody>\n",
        );
        for row in notable {
            let m = &row.metric;
            let p = m
                .p_value
                .map_or(String::new(), |p| format!(" ({})", p_equals(p)));
            let _ =
                writeln!(
                out,
                "<tr{}><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"change {}\">{}{p}</td>\
                 <td><span class=\"pill {}\">{}</span></td><td>{}</td></tr>",
                if m.verdict == Verdict::Regressed { " class=\"regressed\"" } else { "" },
                escape(&row.fixture),
                escape(&row.scenario),
                escape(&m.metric),
                format_value(m.base_median, &m.unit),
                format_value(m.head_median, &m.unit),
                m.verdict.as_str(),
                format_change_pct(m.change_pct),
                m.verdict.as_str(),
                m.verdict.as_str(),
                escape(&m.reason)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    if !gate.missing.is_empty() {
        out.push_str("<p class=\"meta\">Not compared:</p>\n<ul class=\"missing\">\n");
        for entry in &gate.missing {
            let _ = writeln!(out, "<li>{}</li>", escape(entry));
        }
        out.push_str("</ul>\n");
    }
}

fn write_fixtures(out: &mut String, trends: &Trends) {
    for fixture in &trends.fixtures {
        let _ = writeln!(
            out,
            "<section>\n<h2>{}<span class=\"sub\">{} files</span></h2>",
            escape(&fixture.fixture),
            fixture.files
        );
        for scenario in &fixture.scenarios {
            write_scenario_card(out, scenario, &trends.run_labels);
        }
        out.push_str("</section>\n");
    }
}

fn write_scenario_card(out: &mut String, scenario: &ScenarioTrend, run_labels: &[String]) {
    out.push_str("<div class=\"card\">\n<div class=\"card-head\">");
    let _ = write!(out, "<h3>{}</h3>", escape(&scenario.scenario));
    let noise = scenario
        .latest_wall
        .as_ref()
        .and_then(|s| noise_check(s, &NoiseConfig::default()));
    match &scenario.latest_wall {
        Some(s) => {
            let _ = write!(
                out,
                "<div class=\"stats\">latest <b>{}</b> ± {} · 95% CI {} – {} · n = {} · CV {}</div>",
                format_value(s.median, "ms"),
                format_value(s.mad, "ms"),
                format_value(s.ci95_median.lower, "ms"),
                format_value(s.ci95_median.upper, "ms"),
                s.n,
                format_pct(s.cv)
            );
        }
        None if !scenario.in_latest => {
            out.push_str("<div class=\"stats\">not in the latest run</div>");
        }
        None => {}
    }
    out.push_str("</div>\n");
    if let Some(warning) = noise {
        let _ = writeln!(
            out,
            "<p class=\"meta\" style=\"color: var(--amber)\">{}</p>",
            escape(&warning.to_string())
        );
    }

    if !scenario.wall.is_empty() {
        out.push_str(
            "<div class=\"chart-title\">Wall time per run, median with 95% interval</div>\n",
        );
        let axes = Axes {
            run_labels,
            y_desc: "wall time (ms)",
        };
        push_chart(
            out,
            charts::wall_chart(&scenario.wall, &axes, WALL_CHART_SIZE.0, WALL_CHART_SIZE.1),
        );
        out.push_str(
            "<div class=\"legend\"><span><span class=\"swatch dot\" style=\"background: #2563eb\"></span>median</span>\
             <span><span class=\"swatch\" style=\"background: rgba(37, 99, 235, 0.18)\"></span>95% interval of the median</span>\
             <span><span class=\"swatch ring\" style=\"border-color: #dc2626\"></span>regressed vs the previous run</span>\
             <span><span class=\"swatch ring\" style=\"border-color: #16a34a\"></span>improved</span></div>\n",
        );
    }
    if !scenario.rss_mib.is_empty() || !scenario.alloc_mib.is_empty() {
        out.push_str("<div class=\"chart-title\">Memory per run, median</div>\n");
        let series = [
            Series {
                color: charts::RSS_COLOR,
                points: &scenario.rss_mib,
            },
            Series {
                color: charts::ALLOC_COLOR,
                points: &scenario.alloc_mib,
            },
        ];
        let axes = Axes {
            run_labels,
            y_desc: "memory (MiB)",
        };
        push_chart(
            out,
            charts::memory_chart(&series, &axes, MEMORY_CHART_SIZE.0, MEMORY_CHART_SIZE.1),
        );
        out.push_str(
            "<div class=\"legend\"><span><span class=\"swatch dot\" style=\"background: #7c3aed\"></span>peak RSS</span>\
             <span><span class=\"swatch dot\" style=\"background: #0d9488\"></span>allocated in total</span></div>\n",
        );
    }
    out.push_str("</div>\n");
}

fn push_chart(out: &mut String, chart: Result<String, charts::ChartError>) {
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

fn write_footer(out: &mut String, runs: &[RunRecord], opts: &ReportOptions) {
    let last = &runs[runs.len() - 1];
    let _ = writeln!(
        out,
        "<footer>soda-perf {} · intervals: percentile bootstrap of the median ({} resamples) · \
         markers: median moved more than ±{}% with Mann–Whitney p &lt; {} (Holm-corrected) against the previous run.</footer>",
        escape(&last.harness_version),
        opts.bootstrap.resamples,
        opts.gate.threshold_pct,
        opts.gate.alpha
    );
}

#[cfg(test)]
pub(crate) mod sample_history {
    //! A synthetic history for tests and the sample report.

    use std::collections::BTreeMap;

    use crate::model::{
        Direction, FixtureResult, GitInfo, MachineInfo, MetricKind, MetricSamples, RunRecord,
        ScenarioResult, RECORD_FORMAT_VERSION,
    };
    use crate::stats::rng::Xoshiro256StarStar;

    fn metric(unit: &str, kind: MetricKind, samples: Vec<f64>) -> MetricSamples {
        MetricSamples {
            unit: unit.into(),
            kind,
            direction: Direction::SmallerIsBetter,
            samples,
        }
    }

    fn scenario(
        rng: &mut Xoshiro256StarStar,
        name: &str,
        wall_ms: f64,
        rss_mib: f64,
        alloc_mib: f64,
    ) -> ScenarioResult {
        let n = 15;
        let mut jitter = |center: f64, noise: f64| -> Vec<f64> {
            (0..n)
                .map(|_| center * (1.0 + noise * rng.standard_normal()))
                .collect()
        };
        let mut metrics = BTreeMap::new();
        metrics.insert(
            "wall_ms".to_string(),
            metric("ms", MetricKind::Timing, jitter(wall_ms, 0.025)),
        );
        metrics.insert(
            "peak_rss_kib".to_string(),
            metric("KiB", MetricKind::Timing, jitter(rss_mib * 1024.0, 0.005)),
        );
        metrics.insert(
            "alloc_total_bytes".to_string(),
            metric(
                "bytes",
                MetricKind::Deterministic,
                vec![alloc_mib * 1024.0 * 1024.0; n],
            ),
        );
        ScenarioResult {
            scenario: name.into(),
            iterations: n,
            warmup: 2,
            metrics,
            verified: None,
            notes: vec![],
        }
    }

    /// `runs` nightly runs; the last one is 12% slower on `small/cold` and
    /// allocates 8% more there.
    pub fn history(runs: usize) -> Vec<RunRecord> {
        let mut rng = Xoshiro256StarStar::seed_from_u64(2024);
        (0..runs)
            .map(|i| {
                let last = i + 1 == runs;
                let drift = 1.0 - 0.01 * (i as f64 / 3.0).floor();
                let slowdown = if last { 1.12 } else { 1.0 };
                let alloc_growth = if last { 1.08 } else { 1.0 };
                RunRecord {
                    format_version: RECORD_FORMAT_VERSION,
                    started_at: format!("2024-05-{:02}T02:00:00Z", i + 1),
                    machine: MachineInfo {
                        key: "linux-x86_64-epyc-7b13-2c-24g".into(),
                        os: "linux".into(),
                        kernel: "6.1.0".into(),
                        cpu_model: "AMD EPYC 7B13".into(),
                        cores: 2,
                        memory_bytes: 24 << 30,
                    },
                    git: GitInfo {
                        commit: Some(format!("{:07x}{:033x}", 0x1a2b3c0 + i * 0x1f1, i)),
                        branch: Some("main".into()),
                        dirty: false,
                    },
                    harness_version: "0.1.0".into(),
                    builder_version: "0.1.0".into(),
                    fixtures: vec![
                        FixtureResult {
                            fixture: "small".into(),
                            files: 120,
                            scenarios: vec![
                                scenario(
                                    &mut rng,
                                    "cold",
                                    412.0 * drift * slowdown,
                                    96.0,
                                    180.0 * alloc_growth,
                                ),
                                scenario(&mut rng, "warm", 38.0 * drift, 71.0, 22.0),
                            ],
                        },
                        FixtureResult {
                            fixture: "large".into(),
                            files: 2400,
                            scenarios: vec![
                                scenario(&mut rng, "cold", 5210.0 * drift, 612.0, 2250.0),
                                scenario(&mut rng, "warm-session", 95.0 * drift, 540.0, 64.0),
                            ],
                        },
                    ],
                }
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn quick() -> ReportOptions {
        let bootstrap = BootstrapConfig {
            resamples: 500,
            ..BootstrapConfig::default()
        };
        ReportOptions {
            bootstrap,
            gate: GateConfig {
                bootstrap,
                ..GateConfig::default()
            },
            ..ReportOptions::default()
        }
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

    #[test]
    fn report_with_history_has_charts_and_a_summary() {
        let history = sample_history::history(12);
        let html = render_html(&history, None, &quick());
        assert_self_contained(&html);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<svg"));
        // 4 scenarios × (wall + memory).
        assert_eq!(html.matches("<svg").count(), 8);
        assert!(html.contains("linux-x86_64-epyc-7b13-2c-24g"));
        assert!(html.contains("2024-05-01 → 2024-05-12"));
        assert!(
            html.contains("Latest run: 2 regressions"),
            "wall time and allocations of small/cold"
        );
        assert!(html.contains("class=\"change regressed\""));
        assert!(html.contains("wall time (ms)"));
        assert!(html.contains("memory (MiB)"));
    }

    #[test]
    fn report_uses_the_gate_when_given() {
        let history = sample_history::history(12);
        let base = &history[history.len() - 2];
        let head = &history[history.len() - 1];
        let gate = compare_fixtures(&base.fixtures, &head.fixtures, &quick().gate);
        assert_eq!(gate.exit_code(), 1);
        let html = render_html(&history, Some(&gate), &quick());
        assert_self_contained(&html);
        assert!(
            html.contains("Gate failed: 2 regressions against the baseline."),
            "wall and alloc"
        );
        assert!(html.contains("vs baseline"));
        assert!(html.contains("<h2>Regression gate"));
    }

    #[test]
    fn single_run_renders_points_without_lines() {
        let history = sample_history::history(1);
        let html = render_html(&history, None, &quick());
        assert_self_contained(&html);
        assert!(html.contains("<svg"));
        assert!(html.contains("<circle"), "points");
        // No median line (full-opacity accent stroke) and no memory lines.
        assert!(!html.contains("opacity=\"1\" stroke=\"#2563EB\" stroke-width=\"2\""));
        assert!(!html.contains("stroke=\"#7C3AED\""));
        assert!(html.contains("One run so far"));
    }

    #[test]
    fn empty_history_gets_a_friendly_page() {
        let html = render_html(&[], None, &quick());
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
        let html = render_html(&history, None, &quick());
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn only_the_most_recent_runs_are_drawn() {
        let history = sample_history::history(12);
        let options = ReportOptions {
            max_runs: 5,
            ..quick()
        };
        let html = render_html(&history, None, &options);
        assert!(html.contains("5 of 12 runs"));
        assert!(html.contains("2024-05-08 → 2024-05-12"));
    }

    #[test]
    fn write_report_is_atomic_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports/trend.html");
        write_report(&path, "<html></html>").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<html></html>");
    }

    /// Writes `/tmp/report-sample.html` from a synthetic 12-run history with a
    /// regression in the last run, for looking at in a browser:
    /// `cargo test -p harness --no-default-features -- --ignored write_sample_report`.
    #[test]
    #[ignore = "writes a file outside the test's temp dir"]
    fn write_sample_report() {
        let history = sample_history::history(12);
        let html = render_html(&history, None, &ReportOptions::default());
        write_report(Path::new("/tmp/report-sample.html"), &html).unwrap();
    }
}
