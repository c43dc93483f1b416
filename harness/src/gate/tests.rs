//! The scheduler with mock runners: screening → interleaved confirmation,
//! a screen that interleaving overrules, the foreign-machine path, stored
//! samples that can never regress alone, and selftest's counts.
#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

use std::cell::Cell;
use std::rc::Rc;

use super::*;
use crate::fixtures::FixtureSource;
use crate::measure::runner::{Measurement, MockRunner};
use crate::model::{MetricSamples, ScenarioResult};

fn fixture_dir() -> (tempfile::TempDir, FixtureLocation) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiny");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("soda-gql.config.json"), "{}").unwrap();
    let location = FixtureLocation {
        name: "tiny".into(),
        config_path: root.join("soda-gql.config.json"),
        root,
        source: FixtureSource::Committed,
    };
    (dir, location)
}

/// A worker whose wall time is `center` × a small deterministic wobble and
/// that allocates `bytes`; a measured run with an injection is slowed and
/// allocates more by its percentages.
fn worker(center: f64, bytes: u64, calls: Rc<Cell<usize>>) -> MockRunner {
    MockRunner::with_fn(move |req| {
        let n = calls.get();
        calls.set(n + 1);
        let wobble = 1.0 + [0.0, 0.012, -0.008, 0.02, -0.015, 0.005, -0.01][n % 7];
        let inject = req.inject.unwrap_or_default();
        let mut m = Measurement::fixed(center * wobble * (1.0 + inject.slowdown_pct / 100.0));
        m.report.alloc.total_allocated_bytes =
            (bytes as f64 * (1.0 + inject.alloc_pct / 100.0)) as u64;
        Ok(m)
    })
}

fn stored(wall: &[f64], bytes: f64) -> Vec<FixtureResult> {
    let timing = |samples: Vec<f64>| MetricSamples {
        unit: "ms".into(),
        kind: MetricKind::Timing,
        direction: Direction::SmallerIsBetter,
        samples,
    };
    vec![FixtureResult {
        fixture: "tiny".into(),
        files: 1,
        scenarios: vec![ScenarioResult {
            scenario: "cold".into(),
            iterations: wall.len(),
            warmup: 0,
            metrics: [
                ("wall_ms".to_string(), timing(wall.to_vec())),
                (
                    "alloc_total_bytes".to_string(),
                    MetricSamples {
                        unit: "bytes".into(),
                        kind: MetricKind::Deterministic,
                        direction: Direction::SmallerIsBetter,
                        samples: vec![bytes; wall.len()],
                    },
                ),
            ]
            .into(),
            verified: None,
            notes: vec![],
        }],
    }]
}

fn wobbly(center: f64) -> Vec<f64> {
    (0..10)
        .map(|i| center * (1.0 + f64::from(i % 5) * 0.01))
        .collect()
}

fn gate() -> GateConfig {
    GateConfig::default()
}

fn options() -> ScenarioOptions {
    ScenarioOptions::for_tests(10, 1)
}

fn row<'r>(report: &'r GateReport, metric: &str) -> &'r GateRow {
    report
        .rows
        .iter()
        .find(|r| r.metric.metric == metric)
        .unwrap()
}

fn decide_with(
    baseline: &[FixtureResult],
    current: &[FixtureResult],
    base_ms: f64,
    head_ms: f64,
    foreign_machine: bool,
    head_options: &ScenarioOptions,
) -> Decided {
    decide_scoped(
        baseline,
        current,
        (base_ms, head_ms),
        foreign_machine,
        Interleave::Suspects,
        head_options,
    )
}

fn decide_scoped(
    baseline: &[FixtureResult],
    current: &[FixtureResult],
    (base_ms, head_ms): (f64, f64),
    foreign_machine: bool,
    interleave: Interleave,
    head_options: &ScenarioOptions,
) -> Decided {
    let (dir, location) = fixture_dir();
    let (base_calls, head_calls) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let mut base = worker(base_ms, 1_000_000, base_calls.clone());
    let mut head = worker(head_ms, 1_000_000, head_calls.clone());
    let plan = CheckPlan {
        baseline,
        current,
        fixtures: std::slice::from_ref(&location),
        base_options: &options(),
        head_options,
        gate: &gate(),
        paired: &PairedConfig::default(),
        foreign_machine,
        interleave,
        work_dir: &dir.path().join("work"),
    };
    let outcome = decide(&plan, &mut base, &mut head, &mut |_, _| {}).unwrap();
    Decided {
        outcome,
        base_calls: base_calls.get(),
        head_calls: head_calls.get(),
    }
}

/// A check decided with mock workers, and how often each side's ran.
struct Decided {
    outcome: CheckOutcome,
    base_calls: usize,
    head_calls: usize,
}

#[test]
fn a_suspect_of_the_screen_is_confirmed_by_interleaving() {
    let Decided {
        outcome,
        base_calls,
        head_calls,
    } = decide_with(
        &stored(&wobbly(100.0), 1e6),
        &stored(&wobbly(130.0), 1e6),
        100.0,
        130.0,
        false,
        &options(),
    );
    assert_eq!(outcome.suspects.len(), 1, "{:?}", outcome.suspects);
    assert!(
        base_calls >= 12 && head_calls >= 12,
        "{base_calls} {head_calls}"
    );
    let wall = row(&outcome.report, "wall_ms");
    assert_eq!(
        wall.metric.verdict,
        Verdict::Regressed,
        "{}",
        wall.metric.reason
    );
    assert!(matches!(wall.evidence, Evidence::Interleaved { pairs } if pairs >= 12));
    assert_eq!(outcome.report.exit_code(), 1);
    let summary = InterleavedSummary::of(&outcome.interleaved[0], "why".into());
    let [base, head] = &summary.samples["wall_ms"];
    assert_eq!((base.len(), head.len()), (summary.pairs, summary.pairs));
    let json = serde_json::to_string(&summary).unwrap();
    assert_eq!(
        serde_json::from_str::<InterleavedSummary>(&json).unwrap(),
        summary
    );
}

#[test]
fn interleaving_overrules_a_screen_that_saw_a_slow_machine() {
    // Stored 100 ms, today 130 ms, but both binaries are equal now.
    let Decided { outcome, .. } = decide_with(
        &stored(&wobbly(100.0), 1e6),
        &stored(&wobbly(130.0), 1e6),
        130.0,
        130.0,
        false,
        &options(),
    );
    let wall = row(&outcome.report, "wall_ms");
    assert_eq!(
        wall.metric.verdict,
        Verdict::Unchanged,
        "{}",
        wall.metric.reason
    );
    assert_eq!(outcome.report.exit_code(), 0);
}

#[test]
fn rows_the_screen_clears_are_not_interleaved_on_the_same_machine() {
    let Decided {
        outcome,
        base_calls,
        ..
    } = decide_with(
        &stored(&wobbly(100.0), 1e6),
        &stored(&wobbly(100.0), 1e6),
        100.0,
        100.0,
        false,
        &options(),
    );
    assert!(outcome.suspects.is_empty());
    assert_eq!(base_calls, 0, "the baseline binary never ran");
    assert_eq!(row(&outcome.report, "wall_ms").evidence, Evidence::Stored);
}

#[test]
fn by_default_a_row_the_screen_clears_is_interleaved_and_its_regression_caught() {
    // The baseline was saved while the machine was slower (130 ms); today
    // the current build takes 130 ms again, where the baseline's build
    // takes 100: the screen sees nothing, the interleaving sees +30%.
    let Decided {
        outcome,
        base_calls,
        ..
    } = decide_scoped(
        &stored(&wobbly(130.0), 1e6),
        &stored(&wobbly(130.0), 1e6),
        (100.0, 130.0),
        false,
        Interleave::All,
        &options(),
    );
    assert_eq!(outcome.suspects.len(), 1);
    assert!(base_calls >= 12, "{base_calls}");
    let wall = row(&outcome.report, "wall_ms");
    assert_eq!(
        wall.metric.verdict,
        Verdict::Regressed,
        "{}",
        wall.metric.reason
    );
    assert_eq!(outcome.report.exit_code(), 1);
}

#[test]
fn on_a_foreign_machine_every_row_is_interleaved_and_counts_come_from_the_base_binary() {
    // Stored numbers from another machine: 50 ms and other byte counts.
    // Here, the current binary allocates 2% more than the baseline's.
    let head_options = ScenarioOptions {
        inject: crate::measure::protocol::Injection::from_pcts(0.0, 2.0),
        ..options()
    };
    let Decided {
        outcome,
        base_calls,
        ..
    } = decide_with(
        &stored(&wobbly(50.0), 5e5),
        &stored(&wobbly(100.0), 1.02e6),
        100.0,
        100.0,
        true,
        &head_options,
    );
    assert_eq!(outcome.suspects.len(), 1);
    assert!(base_calls >= 12);
    let wall = row(&outcome.report, "wall_ms");
    assert_eq!(
        wall.metric.verdict,
        Verdict::Unchanged,
        "{}",
        wall.metric.reason
    );
    let bytes = row(&outcome.report, "alloc_total_bytes");
    assert!(matches!(bytes.evidence, Evidence::Interleaved { .. }));
    assert_eq!(
        bytes.metric.verdict,
        Verdict::Regressed,
        "{}",
        bytes.metric.reason
    );
    assert!((bytes.metric.change_pct - 2.0).abs() < 0.01);
}

/// The stored screen of `base_ms` against `head_ms`: its wall-time verdict
/// before the check's merge, and the report after it (nothing interleaved).
fn screened_alone(base_ms: f64, head_ms: f64) -> (Verdict, GateReport) {
    let mut report = verdict::compare_fixtures(
        &stored(&wobbly(base_ms), 1e6),
        &stored(&wobbly(head_ms), 1e6),
        &gate(),
    );
    let screened = row(&report, "wall_ms").metric.verdict;
    screen_only(&mut report);
    (screened, report)
}

#[test]
fn stored_samples_alone_never_say_regressed() {
    let (screened, report) = screened_alone(100.0, 200.0);
    assert_eq!(screened, Verdict::Regressed);
    let wall = row(&report, "wall_ms");
    assert_eq!(wall.metric.verdict, Verdict::Inconclusive);
    assert!(render_unresolved(&report).contains("tiny/cold/wall_ms"));
}

#[test]
fn stored_samples_alone_never_say_improved() {
    let (screened, report) = screened_alone(200.0, 100.0);
    assert_eq!(screened, Verdict::Improved);
    let wall = row(&report, "wall_ms");
    assert_eq!(wall.metric.verdict, Verdict::Inconclusive);
    assert!(wall.metric.reason.contains("stored samples only"));
}

#[test]
fn a_two_percent_allocation_increase_is_caught_and_the_same_build_is_not() {
    let same = verdict::compare_fixtures(
        &stored(&wobbly(100.0), 1e6),
        &stored(&wobbly(100.0), 1.004e6),
        &gate(),
    );
    assert_eq!(
        row(&same, "alloc_total_bytes").metric.verdict,
        Verdict::Unchanged
    );
    let more = verdict::compare_fixtures(
        &stored(&wobbly(100.0), 1e6),
        &stored(&wobbly(100.0), 1.02e6),
        &gate(),
    );
    assert_eq!(
        row(&more, "alloc_total_bytes").metric.verdict,
        Verdict::Regressed
    );
}

#[test]
fn selftest_counts_false_alarms_and_detections() {
    let (dir, location) = fixture_dir();
    let calls = Rc::new(Cell::new(0));
    let mut base = worker(100.0, 1_000_000, calls.clone());
    let mut head = worker(100.0, 1_000_000, calls.clone());
    let plan = selftest::SelftestPlan {
        fixtures: std::slice::from_ref(&location),
        scenarios: &[WorkerScenario::Cold],
        options: &options(),
        runs: 3,
        slowdown_pct: 10.0,
        gate: &gate(),
        paired: &PairedConfig::default(),
        resamples: 200,
        work_dir: &dir.path().join("work"),
    };
    let report = selftest::run_selftest(&plan, &mut base, &mut head, &mut |_, _, _| {}).unwrap();
    let row = &report.rows[0];
    assert_eq!((row.aa_checks, row.false_alarms), (3, 0));
    assert_eq!((row.ab_checks, row.detections), (3, 3));
    assert_eq!(report.gate_detections, 3);
    assert!(row.resampled_false_alarms <= 2, "{row:?}");
    assert!(row.resampled_false_alarms_biased <= 2, "{row:?}");
    let text = selftest::render(&report, &gate(), &PairedConfig::default());
    assert!(text.contains("tiny/cold"), "{text}");
    assert!(text.contains("3/3 = 100.0%"), "{text}");
}

/// A worker of one build whose runs on the working copy prepared for the
/// head take 10% longer (what two copies of a fixture did under heavy
/// file-system load); `copies` records which copy each run used.
fn copy_biased(copies: Rc<std::cell::RefCell<Vec<bool>>>) -> MockRunner {
    let calls = Rc::new(Cell::new(0usize));
    MockRunner::with_fn(move |req| {
        let n = calls.get();
        calls.set(n + 1);
        let on_head_copy = req
            .config_path
            .components()
            .any(|c| c.as_os_str() == "head");
        copies.borrow_mut().push(on_head_copy);
        let wobble = 1.0 + [0.0, 0.012, -0.008, 0.02, -0.015, 0.005, -0.01][n % 7];
        let copy = if on_head_copy { 1.10 } else { 1.0 };
        Ok(Measurement::fixed(100.0 * copy * wobble))
    })
}

#[test]
fn a_working_copy_slower_than_the_other_is_charged_to_neither_side() {
    let (dir, location) = fixture_dir();
    let (base_copies, head_copies) = (Rc::default(), Rc::default());
    let mut base = copy_biased(Rc::clone(&base_copies));
    let mut head = copy_biased(Rc::clone(&head_copies));
    let baseline = stored(&wobbly(100.0), 1e6);
    let plan = CheckPlan {
        baseline: &baseline,
        current: &baseline,
        fixtures: std::slice::from_ref(&location),
        base_options: &options(),
        head_options: &options(),
        gate: &gate(),
        paired: &PairedConfig::default(),
        foreign_machine: false,
        interleave: Interleave::All,
        work_dir: &dir.path().join("work"),
    };
    let outcome = decide(&plan, &mut base, &mut head, &mut |_, _| {}).unwrap();
    let wall = row(&outcome.report, "wall_ms");
    assert_ne!(
        wall.metric.verdict,
        Verdict::Regressed,
        "{}",
        wall.metric.reason
    );
    assert_eq!(outcome.report.exit_code(), 0);
    // Each side ran on both copies.
    for copies in [&base_copies, &head_copies] {
        let copies: &Vec<bool> = &copies.borrow();
        assert!(copies.iter().any(|&h| h) && copies.iter().any(|&h| !h));
    }
}

/// A selftest row whose pooled A/A wall and CPU log ratios spread evenly
/// over ±5% about `bias` (what one binary on both sides measured).
fn pooled_row(bias: f64) -> selftest::RowRates {
    let logs: Vec<f64> = (0..400)
        .map(|i| bias + 0.05 * (2.0 * ((f64::from(i) * 0.618_034) % 1.0) - 1.0))
        .collect();
    selftest::RowRates {
        fixture: "tiny".into(),
        scenario: "cold".into(),
        aa_checks: 1,
        false_alarms: 0,
        ab_checks: 0,
        detections: 0,
        aa_pairs: logs.len(),
        ab_pairs: 0,
        sigma_wall: 0.03,
        pooled: vec![("wall_ms", logs.clone()), ("cpu_ms", logs)],
        side_bias_wall: None,
        resampled_false_alarms: 0,
        resampled_false_alarms_biased: 0,
    }
}

#[test]
fn a_side_bias_is_hidden_by_flipped_signs_and_kept_by_flipping_about_the_median() {
    let resample = |bias: f64, about| {
        selftest::resample_aa(
            &[pooled_row(bias)],
            &gate(),
            &PairedConfig::default(),
            200,
            about,
        )
    };
    // Exchangeable sides: neither estimate cries regression.
    assert_eq!(resample(0.0, selftest::FlipAbout::Zero).checks, 0);
    assert_eq!(resample(0.0, selftest::FlipAbout::ObservedMedian).checks, 0);
    // One side 9% slower on the same binary: flipping about 0 makes the
    // bias (nearly) vanish; flipping about the median keeps it, and the
    // gate flags it.
    let flipped = resample(0.09, selftest::FlipAbout::Zero);
    assert!(flipped.checks <= 10, "{flipped:?}");
    let kept = resample(0.09, selftest::FlipAbout::ObservedMedian);
    assert!(kept.checks >= 190, "{kept:?}");
    assert_eq!(kept.per_row, vec![kept.checks]);

    let bias = selftest::SideBias::of_log_ratios(&pooled_row(0.09).pooled[0].1).unwrap();
    assert!(
        bias.is_real() && (bias.estimate - 0.094).abs() < 0.01,
        "{bias:?}"
    );
    let none = selftest::SideBias::of_log_ratios(&pooled_row(0.0).pooled[0].1).unwrap();
    assert!(!none.is_real(), "{none:?}");
}
