//! Tests of a fixture × scenario as a single run measures it: the
//! scenario's set-up, edits and verification (`scenario.rs`) through the
//! schedule that runs them (`schedule.rs`), with mock runners.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use super::scenario::*;
use crate::fixtures::FixtureLocation;
use crate::measure::protocol::WorkerScenario;
use crate::measure::runner::{Measurement, MockRunner, RunError};
use crate::measure::schedule::run_scenario;
use crate::model::{Direction, MetricKind};

fn project(root: &Path) -> FixtureLocation {
    FixtureLocation {
        name: "tiny".to_string(),
        config_path: root.join("soda-gql.config.json"),
        root: root.to_path_buf(),
        source: crate::fixtures::FixtureSource::Committed,
    }
}

fn options(iterations: usize, warmup: usize) -> ScenarioOptions {
    ScenarioOptions::for_tests(iterations, warmup)
}

fn run_on(scenario: WorkerScenario, options: &ScenarioOptions) -> ScenarioRun {
    ScenarioRun::on_project(
        "tiny".to_string(),
        scenario,
        project(Path::new("/nonexistent/tiny")),
        options,
    )
    .with_edit(Box::new(|_, _| Ok(())))
}

/// Wall time = 100 + iteration, so the kept samples show which ran.
fn by_iteration(verified: Option<bool>) -> MockRunner {
    MockRunner::with_fn(move |req| {
        let mut m = Measurement::fixed(100.0 + f64::from(req.iteration));
        m.user_ms = 30.0;
        m.sys_ms = 5.0;
        m.max_rss_kib = 2048;
        m.report.inner_wall_ms = 10.0 + f64::from(req.iteration);
        m.report.inner_user_ms = 8.0;
        m.report.inner_sys_ms = 1.0;
        m.report.peak_rss_kib = 1024;
        m.report.files.scanned = 42;
        m.report.phases.insert("scan".to_string(), 3.0);
        m.report.verified = if req.verify { verified } else { None };
        Ok(m)
    })
}

fn no_progress() -> impl FnMut(&ProgressEvent) {
    |_| {}
}

#[test]
fn scenario_list_parsing() {
    assert_eq!(
        ScenarioName::parse_list("cold,targeted").unwrap(),
        vec![
            WorkerScenario::Cold,
            WorkerScenario::TargetedSession,
            WorkerScenario::TargetedProcess
        ]
    );
    assert_eq!(ScenarioName::parse_list("all").unwrap().len(), 5);
    assert_eq!(
        ScenarioName::parse_list("warm, warm").unwrap(),
        vec![WorkerScenario::Warm]
    );
    let err = ScenarioName::parse_list("cold,tepid").unwrap_err();
    assert!(err.to_string().contains("`tepid`"), "{err}");
    assert!(err.to_string().contains("warm-session"), "{err}");
    assert!(ScenarioName::parse_list("").is_err());
}

/// The child of a cold iteration finds no cache: the parent deleted it,
/// outside the timing (with the builder's cache format, so only with the
/// `worker` feature).
#[cfg(feature = "worker")]
#[test]
fn the_parent_clears_the_cache_before_each_cold_iteration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("soda-gql.config.json"),
        r#"{"outdir": "graphql-system", "include": ["src/**/*.ts"], "schemas": {"default": {"schema": "./schema.graphql"}}}"#,
    )
    .unwrap();
    let cache = dir.path().join(".cache/soda-gql/builder");
    let options = options(2, 0);
    let mut run = ScenarioRun::on_project(
        "tiny".to_string(),
        WorkerScenario::Cold,
        project(dir.path()),
        &options,
    );
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&seen);
    let planted = cache.clone();
    let mut runner = MockRunner::with_fn(move |_| {
        log.borrow_mut().push(planted.exists());
        // What the timed build leaves for the next iteration.
        std::fs::create_dir_all(&planted).unwrap();
        std::fs::write(planted.join("state.bin"), b"x").unwrap();
        Ok(Measurement::fixed(1.0))
    });
    std::fs::create_dir_all(&cache).unwrap();
    run_scenario(&mut run, &options, &mut runner, &mut no_progress()).unwrap();
    assert_eq!(*seen.borrow(), vec![false, false]);
}

#[test]
fn warmup_iterations_are_discarded() {
    let options = options(3, 2);
    let mut run = run_on(WorkerScenario::Cold, &options);
    let mut runner = by_iteration(None);
    let result = run_scenario(&mut run, &options, &mut runner, &mut no_progress()).unwrap();
    // Iterations 0 and 1 were warm-up: the kept samples are 2, 3, 4.
    assert_eq!(result.metrics["wall_ms"].samples, vec![102.0, 103.0, 104.0]);
    assert_eq!(result.iterations, 3);
    assert_eq!(result.warmup, 2);
    assert_eq!(runner.requests.len(), 5);
    assert_eq!(result.verified, None);
}

#[test]
fn process_scenarios_use_parent_timings_session_scenarios_the_inner_ones() {
    let options = options(1, 0);
    let mut runner = by_iteration(None);
    let cold = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(cold.metrics["wall_ms"].samples, vec![100.0]);
    assert_eq!(cold.metrics["cpu_ms"].samples, vec![35.0]);
    let session = run_scenario(
        &mut run_on(WorkerScenario::WarmSession, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(session.metrics["wall_ms"].samples, vec![10.0]);
    assert_eq!(session.metrics["cpu_ms"].samples, vec![9.0]);
    assert_eq!(session.metrics["user_ms"].samples, vec![8.0]);
    // Peak RSS: what the child reports of itself, for a process as for a
    // session — not `wait4`'s, which counts the parent's resident set.
    assert_eq!(cold.metrics["peak_rss_kib"].samples, vec![1024.0]);
    assert_eq!(session.metrics["peak_rss_kib"].samples, vec![1024.0]);
    // A worker that reports none (an older revision's) falls back to `wait4`.
    let mut silent = MockRunner::with_fn(|req| {
        let mut m = Measurement::fixed(100.0 + f64::from(req.iteration));
        m.max_rss_kib = 2048;
        m.report.peak_rss_kib = 0;
        Ok(m)
    });
    let old = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut silent,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(old.metrics["peak_rss_kib"].samples, vec![2048.0]);
}

#[test]
fn samples_carry_kind_direction_and_unit() {
    let options = options(2, 0);
    let result = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut by_iteration(None),
        &mut no_progress(),
    )
    .unwrap();
    let wall = &result.metrics["wall_ms"];
    assert_eq!(
        (wall.unit.as_str(), wall.kind, wall.direction),
        ("ms", MetricKind::Timing, Direction::SmallerIsBetter)
    );
    let rss = &result.metrics["peak_rss_kib"];
    assert_eq!(rss.unit, "KiB");
    assert_eq!(rss.samples, vec![1024.0, 1024.0]);
    let hits = &result.metrics["cache_hits"];
    assert_eq!(
        (hits.kind, hits.direction),
        (MetricKind::Deterministic, Direction::LargerIsBetter)
    );
    assert_eq!(result.metrics["phase.scan_ms"].samples, vec![3.0, 3.0]);
    assert_eq!(
        result.metrics["alloc_total_bytes"].kind,
        MetricKind::Deterministic
    );
    assert!(!result.metrics.contains_key("instructions"));
    for (name, metric) in &result.metrics {
        assert_eq!(metric.samples.len(), 2, "{name}");
    }
}

#[test]
fn warm_and_targeted_process_are_primed_with_a_cold_build() {
    let options = options(2, 1);
    let mut runner = by_iteration(None);
    run_scenario(
        &mut run_on(WorkerScenario::Warm, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    let scenarios: Vec<_> = runner.requests.iter().map(|req| req.scenario).collect();
    use WorkerScenario::{Cold, TargetedProcess, VerifyArtifact, Warm};
    assert_eq!(scenarios, vec![Cold, Warm, Warm, Warm]);
    assert!(!runner.requests[0].verify, "priming is never verified");

    let mut runner = by_iteration(Some(true));
    run_scenario(
        &mut run_on(TargetedProcess, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    let scenarios: Vec<_> = runner.requests.iter().map(|req| req.scenario).collect();
    // Every process run is followed by its verification in a separate child.
    assert_eq!(
        scenarios,
        vec![
            Cold,
            TargetedProcess,
            VerifyArtifact,
            TargetedProcess,
            VerifyArtifact,
            TargetedProcess,
            VerifyArtifact
        ]
    );
    assert!(
        runner
            .requests
            .iter()
            .all(|req| req.verify == (req.scenario == VerifyArtifact)),
        "the measured process itself never verifies"
    );
    let once = ScenarioOptions {
        iterations: 1,
        warmup: 0,
        ..options
    };
    let options = once;
    let mut runner = by_iteration(None);
    run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(runner.requests.len(), 1, "cold needs no priming");
}

#[test]
fn targeted_process_edits_in_the_parent_before_every_iteration() {
    let options = options(3, 1);
    let edits = Rc::new(RefCell::new(Vec::new()));
    let seen = edits.clone();
    let mut run = run_on(WorkerScenario::TargetedProcess, &options).with_edit(Box::new(
        move |_, iteration| {
            seen.borrow_mut().push(iteration);
            Ok(())
        },
    ));
    let mut runner = by_iteration(Some(true));
    let result = run_scenario(&mut run, &options, &mut runner, &mut no_progress()).unwrap();
    assert_eq!(*edits.borrow(), vec![0, 1, 2, 3]);
    assert_eq!(result.verified, Some(true));
    // Distinct iteration numbers reach the worker too.
    let iterations: Vec<u32> = runner.requests[1..]
        .iter()
        .filter(|req| req.scenario == WorkerScenario::TargetedProcess)
        .map(|req| req.iteration)
        .collect();
    assert_eq!(iterations, vec![0, 1, 2, 3]);
}

#[test]
fn targeted_session_edits_in_the_child_not_the_parent() {
    let options = options(2, 0);
    let mut run = run_on(WorkerScenario::TargetedSession, &options)
        .with_edit(Box::new(|_, _| Err("the parent must not edit".to_string())));
    let mut runner = by_iteration(Some(true));
    let result = run_scenario(&mut run, &options, &mut runner, &mut no_progress()).unwrap();
    assert_eq!(result.verified, Some(true));
    assert!(runner.requests.iter().all(|req| req.verify));
}

#[test]
fn failed_verification_aborts_naming_fixture_scenario_and_iteration() {
    let options = options(5, 1);
    let mut runner = MockRunner::with_fn(|req| {
        let mut m = Measurement::fixed(1.0);
        m.report.verified = Some(req.iteration != 2);
        Ok(m)
    });
    let mut run = run_on(WorkerScenario::TargetedSession, &options);
    let err = run_scenario(&mut run, &options, &mut runner, &mut no_progress()).unwrap_err();
    assert!(
        matches!(err, ScenarioError::VerificationFailed { iteration: 2, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("`tiny`"), "{message}");
    assert!(message.contains("targeted-session"), "{message}");
    assert!(message.contains("iteration 2"), "{message}");
    // Aborted right there: no later iteration ran.
    assert_eq!(runner.requests.len(), 3);
}

#[test]
fn a_process_run_failing_its_separate_verification_aborts() {
    let options = options(3, 0);
    let mut runner = MockRunner::with_fn(|req| {
        let mut m = Measurement::fixed(1.0);
        if req.scenario == WorkerScenario::VerifyArtifact {
            m.report.verified = Some(req.iteration != 1);
        }
        Ok(m)
    });
    let mut run = run_on(WorkerScenario::TargetedProcess, &options);
    let err = run_scenario(&mut run, &options, &mut runner, &mut no_progress()).unwrap_err();
    assert!(
        matches!(err, ScenarioError::VerificationFailed { iteration: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("targeted-process"), "{err}");
}

#[test]
fn sessions_get_no_instruction_runs_but_a_note() {
    let mut options = options(2, 0);
    options.instructions = true;
    let mut runner = by_iteration(Some(true)).with_instructions(7);
    let result = run_scenario(
        &mut run_on(WorkerScenario::WarmSession, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    assert!(!result.metrics.contains_key("instructions"));
    assert_eq!(runner.requests.len(), 2);
    assert_eq!(result.notes, vec![SESSION_INSTRUCTIONS_NOTE.to_string()]);
}

#[test]
fn verification_can_be_turned_off() {
    let mut options = options(2, 0);
    options.verify_targeted = false;
    let mut runner = by_iteration(Some(false));
    let result = run_scenario(
        &mut run_on(WorkerScenario::TargetedSession, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(result.verified, None);
    assert!(runner.requests.iter().all(|req| !req.verify));
}

#[test]
fn a_worker_failure_names_the_stage_and_iteration() {
    let options = options(2, 1);
    let mut runner = MockRunner::scripted([
        Ok(Measurement::fixed(1.0)),
        Err(RunError::WorkerFailed {
            message: "config not found".to_string(),
        }),
    ]);
    let err = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("measured iteration 1"), "{message}");
    assert!(message.contains("config not found"), "{message}");
}

#[test]
fn instructions_come_from_separate_counted_runs() {
    let mut options = options(5, 0);
    options.instructions = true;
    let mut runner = by_iteration(None).with_instructions(1_000);
    let result = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(
        result.metrics["instructions"].samples,
        vec![1_000.0; MAX_INSTRUCTION_RUNS]
    );
    assert_eq!(result.metrics["wall_ms"].samples.len(), 5);
    assert_eq!(runner.requests.len(), 5 + MAX_INSTRUCTION_RUNS);
}

#[test]
fn missing_valgrind_becomes_a_note() {
    let mut options = options(2, 0);
    options.instructions = true;
    let result = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut by_iteration(None),
        &mut no_progress(),
    )
    .unwrap();
    assert!(!result.metrics.contains_key("instructions"));
    assert!(
        result
            .notes
            .iter()
            .any(|note| note.contains("valgrind not found")),
        "{:?}",
        result.notes
    );
}

#[test]
fn phases_missing_in_some_iterations_count_as_zero() {
    let mut with_phase = Measurement::fixed(1.0);
    with_phase.report.phases.insert("emit".to_string(), 4.0);
    let collected = CollectedRuns {
        measured: vec![with_phase, Measurement::fixed(2.0)],
        ..CollectedRuns::default()
    };
    let result = scenario_result(WorkerScenario::Cold, 0, false, collected);
    assert_eq!(result.metrics["phase.emit_ms"].samples, vec![4.0, 0.0]);
}

#[test]
fn error_diagnostics_are_noted() {
    let mut measurement = Measurement::fixed(1.0);
    measurement.report.diagnostics_errors = 2;
    let collected = CollectedRuns {
        measured: vec![measurement],
        ..CollectedRuns::default()
    };
    let result = scenario_result(WorkerScenario::Cold, 0, false, collected);
    assert!(result.notes[0].contains("2 error diagnostic"));
}

#[test]
fn progress_reports_every_run() {
    let options = options(2, 1);
    let mut events = Vec::new();
    run_scenario(
        &mut run_on(WorkerScenario::Warm, &options),
        &options,
        &mut by_iteration(None),
        &mut |event| events.push((event.stage, event.index, event.of)),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![
            (Stage::Priming, 0, 1),
            (Stage::Warmup, 0, 1),
            (Stage::Measured, 0, 2),
            (Stage::Measured, 1, 2)
        ]
    );
}

#[test]
fn fixture_result_takes_the_largest_file_count() {
    let options = options(1, 0);
    let mut runner = by_iteration(None);
    let cold = run_scenario(
        &mut run_on(WorkerScenario::Cold, &options),
        &options,
        &mut runner,
        &mut no_progress(),
    )
    .unwrap();
    let result = fixture_result("tiny", vec![cold]);
    assert_eq!(result.files, 42);
    assert_eq!(result.fixture, "tiny");
}
