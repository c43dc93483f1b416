//! The comparison view: the last `soda-perf compare` (its `base.json` and
//! `head.json` under `.cache/perf/compare-<timestamp>/`, or a file given
//! with `report --compare`) as paired distributions per row — every sample
//! of each side on one scale — with the head/base ratio of medians and its
//! interval, computed by the same function `compare` prints its table with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::export::format::format_value;
use crate::gate::verdict::{compare_fixtures, format_change_pct, GateConfig, Verdict};
use crate::model::metric_names::{ALLOC_TOTAL_BYTES, CPU_MS, PEAK_RSS_KIB, WALL_MS};
use crate::model::{FixtureResult, RunRecord, ScenarioResult};

use super::changes::short_commit;
use super::html::escape;

/// The rows shown: the metrics a reader compares two revisions on.
pub const COMPARED: [&str; 4] = [WALL_MS, CPU_MS, PEAK_RSS_KIB, ALLOC_TOTAL_BYTES];

/// A comparison's two sides.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Comparison {
    pub base: RunRecord,
    pub head: RunRecord,
    /// Where it was read from.
    #[serde(skip)]
    pub source: String,
}

/// Reads a comparison: a directory holding `base.json` and `head.json` (what
/// `compare` writes), or one JSON file `{"base": run, "head": run}`.
pub fn read_comparison(path: &Path) -> Result<Comparison, String> {
    let read = |p: &Path| -> Result<String, String> {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let parse = |p: &Path, text: &str| -> Result<RunRecord, String> {
        serde_json::from_str(text).map_err(|e| format!("{} is not a run record: {e}", p.display()))
    };
    let mut comparison = if path.is_dir() {
        let (base, head) = (path.join("base.json"), path.join("head.json"));
        Comparison {
            base: parse(&base, &read(&base)?)?,
            head: parse(&head, &read(&head)?)?,
            source: String::new(),
        }
    } else {
        serde_json::from_str(&read(path)?).map_err(|e| {
            format!(
                "{} is neither a compare directory (base.json, head.json) nor {{\"base\": …, \"head\": …}}: {e}",
                path.display()
            )
        })?
    };
    comparison.source = path.display().to_string();
    Ok(comparison)
}

/// The newest `compare-*` directory under `<root>/.cache/perf` that holds
/// both sides.
pub fn latest_comparison_dir(root: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(".cache/perf"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("compare-"))
                && p.join("base.json").is_file()
                && p.join("head.json").is_file()
        })
        .collect();
    // The timestamped names sort in time order.
    dirs.sort();
    dirs.pop()
}

/// One compared metric.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    pub fixture: String,
    pub scenario: String,
    pub metric: String,
    pub unit: String,
    pub base: Vec<f64>,
    pub head: Vec<f64>,
    pub ratio: f64,
    pub ratio_lower: f64,
    pub ratio_upper: f64,
    pub change_pct: f64,
    pub verdict: Verdict,
}

fn only_compared(fixtures: &[FixtureResult]) -> Vec<FixtureResult> {
    fixtures
        .iter()
        .map(|f| FixtureResult {
            scenarios: f
                .scenarios
                .iter()
                .map(|s| ScenarioResult {
                    metrics: s
                        .metrics
                        .iter()
                        .filter(|(name, _)| COMPARED.contains(&name.as_str()))
                        .map(|(n, m)| (n.clone(), m.clone()))
                        .collect(),
                    ..s.clone()
                })
                .collect(),
            ..f.clone()
        })
        .collect()
}

/// The rows of a comparison, in head order.
pub fn comparison_rows(comparison: &Comparison, config: &GateConfig) -> Vec<ComparisonRow> {
    let gate = compare_fixtures(
        &only_compared(&comparison.base.fixtures),
        &only_compared(&comparison.head.fixtures),
        config,
    );
    let samples = |run: &RunRecord, f: &str, s: &str, m: &str| {
        run.fixture(f)
            .and_then(|x| x.scenario(s))
            .and_then(|x| x.metric(m))
            .map(|x| x.samples.clone())
            .unwrap_or_default()
    };
    gate.rows
        .iter()
        .map(|row| ComparisonRow {
            fixture: row.fixture.clone(),
            scenario: row.scenario.clone(),
            metric: row.metric.metric.clone(),
            unit: row.metric.unit.clone(),
            base: samples(
                &comparison.base,
                &row.fixture,
                &row.scenario,
                &row.metric.metric,
            ),
            head: samples(
                &comparison.head,
                &row.fixture,
                &row.scenario,
                &row.metric.metric,
            ),
            ratio: row.metric.ratio,
            ratio_lower: row.metric.ratio_ci.lower,
            ratio_upper: row.metric.ratio_ci.upper,
            change_pct: row.metric.change_pct,
            verdict: row.metric.verdict,
        })
        .collect()
}

/// Both sides' samples as dots on one scale: base above (grey), head below
/// (blue), each median a tick.
pub fn strip_plot(base: &[f64], head: &[f64], width: u32) -> String {
    let Some(x) = super::html::strip_scale(base.iter().chain(head).copied(), width, 6.0) else {
        return String::new();
    };
    let mut svg = format!(
        "<svg class=\"strip\" width=\"{width}\" height=\"34\" viewBox=\"0 0 {width} 34\" role=\"img\" aria-label=\"samples of base and head\">"
    );
    for (values, y, color) in [(base, 9.0, "#6b7280"), (head, 25.0, "#2563eb")] {
        for v in values.iter().filter(|v| v.is_finite()) {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{y}\" r=\"2.6\" fill=\"{color}\" fill-opacity=\"0.55\"/>",
                x(*v)
            );
        }
        if let Some(median) = crate::stats::median_of(values) {
            let _ = write!(
                svg,
                "<line x1=\"{m:.1}\" x2=\"{m:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2\"/>",
                y - 7.0,
                y + 7.0,
                m = x(median)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn side(run: &RunRecord) -> String {
    let branch = run
        .git
        .branch
        .as_deref()
        .map(|b| format!("{} ", escape(b)))
        .unwrap_or_default();
    format!(
        "{branch}<span class=\"mono\">{}</span>",
        escape(&short_commit(run))
    )
}

pub fn write_comparison(out: &mut String, comparison: &Comparison) {
    let rows = comparison_rows(comparison, &GateConfig::default());
    let _ = writeln!(
        out,
        "<section id=\"comparison\">\n<h2>Comparison<span class=\"sub\">base {} vs head {}</span></h2>\n\
         <p class=\"note\">From <code>{}</code> ({}): the two revisions ran alternately on this machine. Each row: every sample \
         of the base (grey, above) and the head (blue, below) on one scale, medians as ticks; the ratio is head/base of the \
         medians with its bootstrap interval, the verdict the rule <code>compare</code> prints (threshold 5%).</p>",
        side(&comparison.base),
        side(&comparison.head),
        escape(&comparison.source),
        escape(&comparison.head.started_at)
    );
    out.push_str(
        "<div class=\"panel\"><table><thead><tr><th>fixture</th><th>scenario</th><th>metric</th><th class=\"num\">base</th>\
         <th class=\"num\">head</th><th>samples</th><th class=\"num\">ratio</th><th class=\"num\">interval</th><th>verdict</th></tr></thead><tbody>\n",
    );
    for row in &rows {
        let median = |v: &[f64]| {
            crate::stats::median_of(v).map_or("—".to_string(), |m| format_value(m, &row.unit))
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td class=\"num\"><span class=\"change {v}\">{:.3}× ({})</span></td><td class=\"num\">{:.3} – {:.3}</td>\
             <td><span class=\"pill {v}\">{v}</span></td></tr>",
            escape(&row.fixture),
            escape(&row.scenario),
            escape(&row.metric),
            escape(&median(&row.base)),
            escape(&median(&row.head)),
            strip_plot(&row.base, &row.head, 260),
            row.ratio,
            format_change_pct(row.change_pct),
            row.ratio_lower,
            row.ratio_upper,
            v = row.verdict.as_str()
        );
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::report::sample_history;

    fn comparison() -> Comparison {
        let runs = sample_history::history(12);
        Comparison {
            base: runs[10].clone(),
            head: runs[11].clone(),
            source: "test".into(),
        }
    }

    #[test]
    fn rows_carry_both_sides_and_the_ratio() {
        let rows = comparison_rows(&comparison(), &GateConfig::default());
        let wall = rows
            .iter()
            .find(|r| r.fixture == "small" && r.scenario == "cold" && r.metric == WALL_MS)
            .unwrap();
        assert_eq!(wall.base.len(), 15);
        assert_eq!(wall.head.len(), 15);
        assert!(wall.ratio > 1.05, "the last sample run is 12% slower");
        assert!(wall.ratio_lower <= wall.ratio && wall.ratio <= wall.ratio_upper);
        assert!(rows.iter().all(|r| COMPARED.contains(&r.metric.as_str())));
    }

    #[test]
    fn strip_plot_has_every_sample_and_two_medians() {
        let svg = strip_plot(&[1.0, 2.0, 3.0], &[2.0, 4.0], 200);
        assert_eq!(svg.matches("<circle").count(), 5);
        assert_eq!(svg.matches("<line").count(), 2);
        assert_eq!(strip_plot(&[], &[], 200), "");
    }

    #[test]
    fn reads_a_compare_directory_and_a_combined_file() {
        let c = comparison();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.json"),
            serde_json::to_string(&c.base).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("head.json"),
            serde_json::to_string(&c.head).unwrap(),
        )
        .unwrap();
        let read = read_comparison(dir.path()).unwrap();
        assert_eq!(read.head, c.head);
        let file = dir.path().join("both.json");
        let both = format!(
            "{{\"base\":{},\"head\":{}}}",
            serde_json::to_string(&c.base).unwrap(),
            serde_json::to_string(&c.head).unwrap()
        );
        std::fs::write(&file, both).unwrap();
        assert_eq!(read_comparison(&file).unwrap().base, c.base);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{}").unwrap();
        assert!(read_comparison(&bad).unwrap_err().contains("neither"));
    }

    #[test]
    fn the_newest_compare_directory_is_found() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "compare-2024-05-01T00:00:00Z",
            "compare-2024-05-02T00:00:00Z",
            "compare-2024-05-03T00:00:00Z",
        ] {
            let dir = root.path().join(".cache/perf").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            if !name.contains("05-03") {
                std::fs::write(dir.join("base.json"), "{}").unwrap();
                std::fs::write(dir.join("head.json"), "{}").unwrap();
            }
        }
        let found = latest_comparison_dir(root.path()).unwrap();
        assert!(found.ends_with("compare-2024-05-02T00:00:00Z"), "{found:?}");
    }
}
