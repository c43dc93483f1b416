//! The report's data preparation, with no IO and no HTML: per fixture ×
//! scenario and per trend metric, the median of every run with its
//! interval, the baseline the gate held each run against (from the stored
//! verdicts, when there is one), the gate's regressions and improvements,
//! and the change points of the medians.

use crate::gate::verdict::Verdict;
use crate::model::metric_names::{
    ALLOC_TOTAL_BYTES, CACHE_HITS, CACHE_MISSES, CPU_MS, INSTRUCTIONS, PEAK_RSS_KIB, SYS_MS,
    USER_MS, WALL_MS,
};
use crate::model::{RunRecord, ScenarioResult};
use crate::stats::change_points::{change_points, ChangePoint, ChangePointConfig};
use crate::stats::median_interval::median_interval;
use crate::stats::median_of;
use crate::stats::CONFIDENCE_95;

use super::verdicts::StoredCheck;

/// Change points are searched in at most this many of the most recent runs
/// of a trend: a year of nightlies, and ~1.5 s for a year of 20 fixture ×
/// scenarios on two busy cores (the search grows with the square).
pub const CHANGE_POINT_WINDOW: usize = 400;

/// What a trend chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrendMetric {
    Wall,
    Cpu,
    PeakRss,
    AllocTotal,
    Instructions,
    CacheHitRate,
}

impl TrendMetric {
    pub const ALL: [TrendMetric; 6] = [
        TrendMetric::Wall,
        TrendMetric::Cpu,
        TrendMetric::PeakRss,
        TrendMetric::AllocTotal,
        TrendMetric::Instructions,
        TrendMetric::CacheHitRate,
    ];

    pub fn title(self) -> &'static str {
        match self {
            TrendMetric::Wall => "Wall time",
            TrendMetric::Cpu => "CPU (user + sys)",
            TrendMetric::PeakRss => "Peak RSS",
            TrendMetric::AllocTotal => "Allocated bytes",
            TrendMetric::Instructions => "Instructions",
            TrendMetric::CacheHitRate => "Cache hit rate",
        }
    }

    /// The y axis's unit.
    pub fn axis(self) -> &'static str {
        match self {
            TrendMetric::Wall | TrendMetric::Cpu => "ms",
            TrendMetric::PeakRss | TrendMetric::AllocTotal => "MiB",
            TrendMetric::Instructions => "million instructions",
            TrendMetric::CacheHitRate => "% of files",
        }
    }

    /// The recorded metric behind the chart, as the gate names it; the hit
    /// rate is derived and has none.
    pub fn source(self) -> Option<&'static str> {
        match self {
            TrendMetric::Wall => Some(WALL_MS),
            TrendMetric::Cpu => Some(CPU_MS),
            TrendMetric::PeakRss => Some(PEAK_RSS_KIB),
            TrendMetric::AllocTotal => Some(ALLOC_TOTAL_BYTES),
            TrendMetric::Instructions => Some(INSTRUCTIONS),
            TrendMetric::CacheHitRate => None,
        }
    }

    /// Recorded unit → chart unit.
    fn scale(self) -> f64 {
        match self {
            TrendMetric::Wall | TrendMetric::Cpu => 1.0,
            TrendMetric::PeakRss => 1.0 / 1024.0,
            TrendMetric::AllocTotal => 1.0 / (1024.0 * 1024.0),
            TrendMetric::Instructions => 1e-6,
            TrendMetric::CacheHitRate => 100.0,
        }
    }

    /// The samples of this metric in chart units. CPU is `cpu_ms`, or
    /// `user_ms + sys_ms` pairwise in records from before `cpu_ms`; the hit
    /// rate is `hits / (hits + misses)` per iteration, where the builder
    /// looked at any file.
    pub fn samples(self, scenario: &ScenarioResult) -> Option<Vec<f64>> {
        let scale = self.scale();
        let of = |name: &str| scenario.metric(name).map(|m| m.samples.as_slice());
        let values: Vec<f64> = match self {
            TrendMetric::CacheHitRate => {
                let (hits, misses) = (of(CACHE_HITS)?, of(CACHE_MISSES)?);
                hits.iter()
                    .zip(misses)
                    .filter(|(h, m)| **h + **m > 0.0)
                    .map(|(h, m)| h / (h + m))
                    .collect()
            }
            TrendMetric::Cpu if of(CPU_MS).is_none() => {
                let (user, sys) = (of(USER_MS)?, of(SYS_MS)?);
                user.iter().zip(sys).map(|(u, s)| u + s).collect()
            }
            _ => of(self.source()?)?.to_vec(),
        };
        let values: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite())
            .map(|v| v * scale)
            .collect();
        (!values.is_empty()).then_some(values)
    }

    /// The recorded value in chart units (for a stored verdict's medians).
    pub fn to_chart_units(self, value: f64) -> f64 {
        value * self.scale()
    }
}

/// One run's median with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Index of the run in the window.
    pub run: usize,
    pub median: f64,
    pub lower: f64,
    pub upper: f64,
}

/// The baseline the gate held one run against: its median and the band
/// inside which the gate called the metric unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineStep {
    pub run: usize,
    pub median: f64,
    pub tolerance_pct: f64,
}

/// A run the gate called regressed or improved on this metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictMark {
    pub run: usize,
    pub verdict: Verdict,
    pub change_pct: f64,
}

/// A change point of the medians, placed on the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeAt {
    /// The run before the change (the last of the old level).
    pub before_run: usize,
    /// The first run of the new level.
    pub run: usize,
    pub change: ChangePoint,
}

/// One metric of one fixture × scenario across the window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricTrend {
    pub metric: TrendMetric,
    pub points: Vec<Point>,
    pub baseline: Vec<BaselineStep>,
    pub marks: Vec<VerdictMark>,
    pub changes: Vec<ChangeAt>,
}

/// Every trend of one fixture × scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioTrend {
    pub fixture: String,
    pub files: u64,
    pub scenario: String,
    pub metrics: Vec<MetricTrend>,
}

/// A fixture × scenario of the history, with the fixture's file count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioKey {
    pub fixture: String,
    pub files: u64,
    pub scenario: String,
}

/// The fixtures × scenarios of `runs`, in the latest run's order, then
/// those only older runs have.
pub fn scenario_keys(runs: &[RunRecord]) -> Vec<ScenarioKey> {
    let mut keys: Vec<ScenarioKey> = Vec::new();
    for run in runs.iter().rev() {
        for fixture in &run.fixtures {
            for scenario in &fixture.scenarios {
                if !keys
                    .iter()
                    .any(|key| key.fixture == fixture.fixture && key.scenario == scenario.scenario)
                {
                    keys.push(ScenarioKey {
                        fixture: fixture.fixture.clone(),
                        files: fixture.files,
                        scenario: scenario.scenario.clone(),
                    });
                }
            }
        }
    }
    // Group by fixture, keeping the first appearance order of fixtures.
    let mut fixtures: Vec<&str> = Vec::new();
    for key in &keys {
        if !fixtures.contains(&key.fixture.as_str()) {
            fixtures.push(&key.fixture);
        }
    }
    let mut grouped = Vec::with_capacity(keys.len());
    for fixture in fixtures {
        grouped.extend(keys.iter().filter(|key| key.fixture == fixture).cloned());
    }
    grouped
}

/// The trends of one fixture × scenario. `checks[i]` is the stored verdict
/// of `runs[i]`, if any.
pub fn metric_trend(
    runs: &[RunRecord],
    checks: &[Option<&StoredCheck>],
    fixture: &str,
    scenario: &str,
    metric: TrendMetric,
    change_config: &ChangePointConfig,
) -> Option<MetricTrend> {
    let mut points = Vec::new();
    let mut baseline = Vec::new();
    let mut marks = Vec::new();
    for (run, record) in runs.iter().enumerate() {
        let Some(result) = record.fixture(fixture).and_then(|f| f.scenario(scenario)) else {
            continue;
        };
        if let Some(values) = metric.samples(result) {
            let median = median_of(&values).unwrap_or(values[0]);
            let interval = median_interval(&values, CONFIDENCE_95);
            points.push(Point {
                run,
                median,
                lower: interval.map_or(median, |i| i.lower),
                upper: interval.map_or(median, |i| i.upper),
            });
        }
        let stored = checks.get(run).copied().flatten().and_then(|check| {
            let row = check.row(fixture, scenario, metric.source()?)?;
            Some((check, row))
        });
        if let Some((check, row)) = stored {
            if let Some(base) = row.base_median.filter(|_| row.gates()) {
                baseline.push(BaselineStep {
                    run,
                    median: metric.to_chart_units(base),
                    tolerance_pct: check.tolerance_pct(row),
                });
            }
            if matches!(row.verdict, Verdict::Regressed | Verdict::Improved) {
                marks.push(VerdictMark {
                    run,
                    verdict: row.verdict,
                    change_pct: row.change(),
                });
            }
        }
    }
    // A hit rate that is 0 in every run (a cold build, by design) says nothing.
    let all_zero = points.iter().all(|p| p.median == 0.0 && p.upper == 0.0);
    if points.is_empty() || (metric == TrendMetric::CacheHitRate && all_zero) {
        return None;
    }
    // The search is O(n²) per shuffle: it looks at the most recent
    // CHANGE_POINT_WINDOW runs, whatever the window drawn.
    let offset = points.len().saturating_sub(CHANGE_POINT_WINDOW);
    let medians: Vec<f64> = points[offset..].iter().map(|p| p.median).collect();
    let changes = change_points(&medians, change_config)
        .into_iter()
        .filter(|c| c.index > 0)
        .map(|mut change| {
            change.index += offset;
            ChangeAt {
                before_run: points[change.index - 1].run,
                run: points[change.index].run,
                change,
            }
        })
        .collect();
    Some(MetricTrend {
        metric,
        points,
        baseline,
        marks,
        changes,
    })
}

/// Every fixture × scenario's trends over `runs`. The change-point search
/// is most of the cost (O(n²) per shuffle, 199 shuffles per change point
/// kept), so fixture × scenarios are spread over the machine's cores: a
/// year of the 4-fixture suite took 1.7 s on one core.
pub fn build_trends(
    runs: &[RunRecord],
    checks: &[Option<&StoredCheck>],
    change_config: &ChangePointConfig,
) -> Vec<ScenarioTrend> {
    let keys = scenario_keys(runs);
    let trend_of = |ScenarioKey {
                        fixture,
                        files,
                        scenario,
                    }: &ScenarioKey| {
        let metrics = TrendMetric::ALL
            .iter()
            .filter_map(|&metric| {
                metric_trend(runs, checks, fixture, scenario, metric, change_config)
            })
            .collect();
        ScenarioTrend {
            fixture: fixture.clone(),
            files: *files,
            scenario: scenario.clone(),
            metrics,
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(keys.len());
    if threads <= 1 {
        return keys.iter().map(trend_of).collect();
    }
    let chunk = keys.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = keys
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(trend_of).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::report::sample_history;
    use crate::report::verdicts::parse_checks;

    fn quick() -> ChangePointConfig {
        ChangePointConfig::default()
    }

    #[test]
    fn points_hold_medians_and_intervals_in_chart_units() {
        let runs = sample_history::history(3);
        let trend =
            metric_trend(&runs, &[], "small", "cold", TrendMetric::PeakRss, &quick()).unwrap();
        assert_eq!(trend.points.len(), 3);
        let p = trend.points[0];
        assert!((p.median - 96.0).abs() < 2.0, "MiB: {p:?}");
        assert!(p.lower <= p.median && p.median <= p.upper);
        assert!(trend.baseline.is_empty(), "no stored verdicts");
        assert!(trend.marks.is_empty());
    }

    #[test]
    fn missing_metrics_have_no_trend() {
        let runs = sample_history::history(2);
        assert!(metric_trend(
            &runs,
            &[],
            "small",
            "cold",
            TrendMetric::Instructions,
            &quick()
        )
        .is_none());
        assert!(metric_trend(&runs, &[], "nope", "cold", TrendMetric::Wall, &quick()).is_none());
    }

    #[test]
    fn cpu_falls_back_to_user_plus_sys_and_hit_rate_is_derived() {
        let mut runs = sample_history::history(1);
        let scenario = &mut runs[0].fixtures[0].scenarios[0];
        let sample = |v: Vec<f64>| crate::model::MetricSamples {
            unit: "count".into(),
            kind: crate::model::MetricKind::Deterministic,
            direction: crate::model::Direction::Informational,
            samples: v,
        };
        scenario.metrics.remove(CPU_MS);
        scenario
            .metrics
            .insert(USER_MS.into(), sample(vec![3.0, 5.0]));
        scenario
            .metrics
            .insert(SYS_MS.into(), sample(vec![1.0, 1.0]));
        scenario
            .metrics
            .insert(CACHE_HITS.into(), sample(vec![3.0, 0.0]));
        scenario
            .metrics
            .insert(CACHE_MISSES.into(), sample(vec![1.0, 0.0]));
        assert_eq!(TrendMetric::Cpu.samples(scenario).unwrap(), [4.0, 6.0]);
        assert_eq!(
            TrendMetric::CacheHitRate.samples(scenario).unwrap(),
            [75.0],
            "an iteration that looked at no file has no rate"
        );
    }

    #[test]
    fn stored_verdicts_give_the_baseline_steps_and_marks() {
        let runs = sample_history::history(12);
        let line = |at: &str, base: f64, verdict: &str| {
            format!(
                r#"{{"started_at":"{at}","report":{{"config":{{"threshold_pct":5.0,"deterministic_tolerance_pct":1.0}},"rows":[{{"fixture":"small","scenario":"cold","metric":{{"metric":"wall_ms","kind":"timing","direction":"smaller-is-better","base_median":{base},"change_pct":12.0,"verdict":"{verdict}"}}}}]}}}}"#
            )
        };
        let text = [
            line(&runs[10].started_at, 400.0, "unchanged"),
            line(&runs[11].started_at, 400.0, "regressed"),
        ]
        .join("\n");
        let (verdicts, _) = parse_checks(&text);
        let checks: Vec<Option<&StoredCheck>> = runs
            .iter()
            .map(|r| verdicts.for_run(&r.started_at))
            .collect();
        let trend =
            metric_trend(&runs, &checks, "small", "cold", TrendMetric::Wall, &quick()).unwrap();
        assert_eq!(
            trend.baseline.iter().map(|b| b.run).collect::<Vec<_>>(),
            [10, 11]
        );
        assert_eq!(trend.baseline[0].median, 400.0);
        assert_eq!(trend.baseline[0].tolerance_pct, 5.0);
        assert_eq!(trend.marks.len(), 1);
        assert_eq!(trend.marks[0].run, 11);
        assert_eq!(trend.marks[0].verdict, Verdict::Regressed);
    }

    #[test]
    fn a_step_in_the_medians_is_a_change_point_between_two_runs() {
        let mut runs = sample_history::history(24);
        for run in &mut runs[12..] {
            let wall = run.fixtures[1].scenarios[0]
                .metrics
                .get_mut(WALL_MS)
                .unwrap();
            for v in &mut wall.samples {
                *v *= 1.3;
            }
        }
        let trend = metric_trend(&runs, &[], "large", "cold", TrendMetric::Wall, &quick()).unwrap();
        // The sample history also drifts down 1% every third run; the step
        // is the change point that matters here.
        let change = trend
            .changes
            .iter()
            .find(|c| c.run == 12)
            .unwrap_or_else(|| panic!("{:?}", trend.changes));
        assert_eq!((change.before_run, change.run), (11, 12));
        assert!(change.change.shift_pct.unwrap() > 20.0);
    }

    #[test]
    fn change_points_are_searched_in_the_most_recent_runs_and_placed_on_them() {
        let mut runs = sample_history::history(CHANGE_POINT_WINDOW + 30);
        let step = runs.len() - 20;
        for run in &mut runs[step..] {
            let wall = run.fixtures[1].scenarios[0]
                .metrics
                .get_mut(WALL_MS)
                .unwrap();
            for v in &mut wall.samples {
                *v *= 1.5;
            }
        }
        let trend = metric_trend(&runs, &[], "large", "cold", TrendMetric::Wall, &quick()).unwrap();
        let change = trend
            .changes
            .iter()
            .find(|c| c.run == step)
            .unwrap_or_else(|| panic!("{:?}", trend.changes));
        assert_eq!(change.before_run, step - 1);
        assert_eq!(
            change.change.index, step,
            "indices are the trend's, not the tail's"
        );
        assert!(trend
            .changes
            .iter()
            .all(|c| c.run >= runs.len() - CHANGE_POINT_WINDOW));
    }

    #[test]
    fn scenarios_follow_the_latest_run_grouped_by_fixture() {
        let mut runs = sample_history::history(2);
        let copy = runs[0].fixtures[0].scenarios[0].clone();
        runs[0].fixtures[0].scenarios.push(copy);
        runs[0].fixtures[0].scenarios[2].scenario = "targeted-process".into();
        let keys: Vec<String> = scenario_keys(&runs)
            .into_iter()
            .map(|key| format!("{}/{}", key.fixture, key.scenario))
            .collect();
        assert_eq!(
            keys,
            [
                "small/cold",
                "small/warm",
                "small/targeted-process",
                "large/cold",
                "large/warm-session"
            ]
        );
    }
}
