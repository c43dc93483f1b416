//! The one schedule every measured run follows, single or paired: each
//! side primed, `warmup` thrown-away runs, the measured runs, then the
//! instruction counts, the sides taking turns run by run (A B A B …) so that
//! machine drift hits both alike. A single run (`run`) is a schedule of one
//! side; `compare` runs two (base and head builds) with the same plan, and
//! the gate's interleaving (`gate::paired`) draws each pair's order and
//! decides when to stop, through the same [`Schedule`].

use std::path::Path;

use crate::fixtures::FixtureLocation;
use crate::measure::protocol::WorkerScenario;
use crate::measure::runner::{Measurement, RunError, Runner};
use crate::measure::scenario::{
    fixture_result, instruction_runs, scenario_result, CollectedRuns, ProgressEvent, ScenarioError,
    ScenarioOptions, ScenarioRun, Stage, SESSION_INSTRUCTIONS_NOTE,
};
use crate::model::{FixtureResult, ScenarioResult, Side};

/// Whether a control run precedes each measured run. Single runs take one
/// (`--calibrate`, recorded as `control_ms`); paired runs need none, each
/// side is the other's control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calibration {
    BeforeEachMeasuredRun,
    Off,
}

/// One side of a schedule: a prepared run, the build that runs it, and what
/// it has gathered so far.
pub struct Lane<'a> {
    pub side: Side,
    run: &'a mut ScenarioRun,
    runner: &'a mut dyn Runner,
    collected: CollectedRuns,
}

impl<'a> Lane<'a> {
    pub fn new(side: Side, run: &'a mut ScenarioRun, runner: &'a mut dyn Runner) -> Lane<'a> {
        Lane {
            side,
            run,
            runner,
            collected: CollectedRuns::default(),
        }
    }

    pub fn run(&self) -> &ScenarioRun {
        self.run
    }

    /// The measured runs so far.
    pub fn measured(&self) -> &[Measurement] {
        &self.collected.measured
    }
}

/// Runs one fixture × scenario on one or more lanes (all on the same
/// fixture and scenario), taking turns run by run.
pub struct Schedule<'a, 'p> {
    lanes: Vec<Lane<'a>>,
    progress: &'p mut dyn FnMut(Side, &ProgressEvent),
}

impl<'a, 'p> Schedule<'a, 'p> {
    pub fn new(
        lanes: Vec<Lane<'a>>,
        progress: &'p mut dyn FnMut(Side, &ProgressEvent),
    ) -> Schedule<'a, 'p> {
        Schedule { lanes, progress }
    }

    pub fn lane(&self, index: usize) -> &Lane<'a> {
        &self.lanes[index]
    }

    fn event(&mut self, lane: usize, stage: Stage, index: usize, of: usize) {
        let run = &self.lanes[lane].run;
        let event = ProgressEvent {
            fixture: run.fixture().to_string(),
            scenario: run.scenario(),
            stage,
            index,
            of,
        };
        (self.progress)(self.lanes[lane].side, &event);
    }

    /// Every lane primed, then `warmup` warm-up runs, the lanes in turn.
    pub fn prime_and_warm(&mut self, warmup: usize) -> Result<(), ScenarioError> {
        for lane in 0..self.lanes.len() {
            self.event(lane, Stage::Priming, 0, 1);
            let Lane { run, runner, .. } = &mut self.lanes[lane];
            run.prime(*runner)?;
        }
        for index in 0..warmup {
            for lane in 0..self.lanes.len() {
                self.event(lane, Stage::Warmup, index, warmup);
                let Lane { run, runner, .. } = &mut self.lanes[lane];
                run.run_iteration(*runner, Stage::Warmup)?;
            }
        }
        Ok(())
    }

    /// Two lanes trade working copies, then every lane is primed and warmed
    /// again on its new copy (see [`ScenarioRun::trade_projects`]).
    pub fn trade_projects(
        &mut self,
        a: usize,
        b: usize,
        warmup: usize,
    ) -> Result<(), ScenarioError> {
        let (low, high) = (a.min(b), a.max(b));
        if low == high || high >= self.lanes.len() {
            return Ok(());
        }
        let (first, rest) = self.lanes.split_at_mut(high);
        first[low].run.trade_projects(rest[0].run);
        for Lane { run, runner, .. } in &mut self.lanes {
            runner
                .renew_executable()
                .map_err(|source| ScenarioError::Run {
                    fixture: run.project().name.clone(),
                    scenario: run.scenario(),
                    stage: Stage::Priming,
                    iteration: 0,
                    source,
                })?;
        }
        self.prime_and_warm(warmup)
    }

    /// Measured run `index` of `of`, one per lane in `order` (lane indexes).
    pub fn measure_round(
        &mut self,
        order: &[usize],
        index: usize,
        of: usize,
        calibration: Calibration,
    ) -> Result<(), ScenarioError> {
        for &lane in order {
            self.event(lane, Stage::Measured, index, of);
            let Lane {
                run,
                runner,
                collected,
                ..
            } = &mut self.lanes[lane];
            if calibration == Calibration::BeforeEachMeasuredRun {
                let control = run.calibrate(*runner, index)?;
                collected.control_ms.push(control.wall_ms);
                collected
                    .control_cpu_ms
                    .push(control.user_ms + control.sys_ms);
            }
            let measurement = run.run_iteration(*runner, Stage::Measured)?;
            collected.measured.push(measurement);
        }
        Ok(())
    }

    /// The instruction counts (none for sessions: a note says why). A
    /// missing valgrind ends them with a note on every lane.
    fn count_instructions(&mut self, options: &ScenarioOptions) -> Result<(), ScenarioError> {
        let scenario = self.lanes[0].run.scenario();
        if options.instructions && scenario.is_session() {
            for lane in &mut self.lanes {
                lane.collected
                    .notes
                    .push(SESSION_INSTRUCTIONS_NOTE.to_string());
            }
        }
        let runs = instruction_runs(scenario, options);
        for index in 0..runs {
            let mut counts = Vec::with_capacity(self.lanes.len());
            for lane in 0..self.lanes.len() {
                self.event(lane, Stage::Instructions, index, runs);
                let Lane { run, runner, .. } = &mut self.lanes[lane];
                counts.push(counted(run.run_iteration(*runner, Stage::Instructions))?);
            }
            if counts.iter().any(Option::is_none) {
                let note = format!("{}: instructions not recorded", RunError::ValgrindMissing);
                for lane in &mut self.lanes {
                    lane.collected.notes.push(note.clone());
                }
                break;
            }
            for (lane, count) in self.lanes.iter_mut().zip(counts.into_iter().flatten()) {
                lane.collected.instructions.extend(count.instructions);
            }
        }
        Ok(())
    }

    /// The whole plan: prime, warm up, `options.iterations` rounds in lane
    /// order, instruction counts; one result per lane, in lane order.
    pub fn run(
        mut self,
        options: &ScenarioOptions,
        calibration: Calibration,
    ) -> Result<Vec<ScenarioResult>, ScenarioError> {
        self.prime_and_warm(options.warmup)?;
        let order: Vec<usize> = (0..self.lanes.len()).collect();
        for index in 0..options.iterations {
            self.measure_round(&order, index, options.iterations, calibration)?;
        }
        self.count_instructions(options)?;
        Ok(self
            .lanes
            .into_iter()
            .map(|lane| {
                scenario_result(
                    lane.run.scenario(),
                    options.warmup,
                    lane.run.verifies(),
                    lane.collected,
                )
            })
            .collect())
    }
}

/// Runs one fixture × scenario with `runner`: prime, warm up, measure,
/// optionally count instructions.
pub fn run_scenario(
    run: &mut ScenarioRun,
    options: &ScenarioOptions,
    runner: &mut dyn Runner,
    progress: &mut dyn FnMut(&ProgressEvent),
) -> Result<ScenarioResult, ScenarioError> {
    let calibration = if options.calibrate {
        Calibration::BeforeEachMeasuredRun
    } else {
        Calibration::Off
    };
    let mut progress = |_: Side, event: &ProgressEvent| progress(event);
    // A single run measures the build under test: the head side.
    let lanes = vec![Lane::new(Side::Head, run, runner)];
    let mut results = Schedule::new(lanes, &mut progress).run(options, calibration)?;
    Ok(results.remove(0))
}

/// Runs every scenario of one fixture, each on a fresh working copy under
/// `scratch_dir/<fixture>/<scenario>`.
pub fn run_fixture(
    fixture: &FixtureLocation,
    scenarios: &[WorkerScenario],
    options: &ScenarioOptions,
    scratch_dir: &Path,
    runner: &mut dyn Runner,
    progress: &mut dyn FnMut(&ProgressEvent),
) -> Result<FixtureResult, ScenarioError> {
    let mut results = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        let work_dir = scratch_dir.join(&fixture.name).join(scenario.name());
        let mut run = ScenarioRun::prepare(fixture, scenario, &work_dir, options)?;
        results.push(run_scenario(&mut run, options, runner, progress)?);
        // The copy is only kept when something failed (for inspection).
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    Ok(fixture_result(&fixture.name, results))
}

/// Both sides of one fixture × scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedResult {
    pub fixture: String,
    pub base: ScenarioResult,
    pub head: ScenarioResult,
}

/// Runs one fixture × scenario on both sides, alternating base and head
/// for every run (priming, warm-up, measured, instruction counts), each side
/// on its own working copy under `work_dir/base` and `work_dir/head`.
pub fn run_paired(
    fixture: &FixtureLocation,
    scenario: WorkerScenario,
    options: &ScenarioOptions,
    work_dir: &Path,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<PairedResult, ScenarioError> {
    let mut base = ScenarioRun::prepare(fixture, scenario, &work_dir.join("base"), options)?;
    let mut head = ScenarioRun::prepare(fixture, scenario, &work_dir.join("head"), options)?;
    let (base, head) = run_paired_on(
        &mut base,
        &mut head,
        options,
        base_runner,
        head_runner,
        progress,
    )?;
    let _ = std::fs::remove_dir_all(work_dir);
    Ok(PairedResult {
        fixture: fixture.name.clone(),
        base,
        head,
    })
}

/// The alternation itself, on two prepared runs: the single run's plan on
/// two lanes, with no control runs.
pub fn run_paired_on(
    base: &mut ScenarioRun,
    head: &mut ScenarioRun,
    options: &ScenarioOptions,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<(ScenarioResult, ScenarioResult), ScenarioError> {
    let lanes = vec![
        Lane::new(Side::Base, base, base_runner),
        Lane::new(Side::Head, head, head_runner),
    ];
    let mut results = Schedule::new(lanes, progress).run(options, Calibration::Off)?;
    let head = results.remove(1);
    let base = results.remove(0);
    Ok((base, head))
}

/// An instruction-count run; `None` when valgrind is missing.
fn counted(
    result: Result<Measurement, ScenarioError>,
) -> Result<Option<Measurement>, ScenarioError> {
    match result {
        Ok(measurement) => Ok(Some(measurement)),
        Err(ScenarioError::Run {
            source: RunError::ValgrindMissing,
            ..
        }) => Ok(None),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::runner::MockRunner;
    use std::cell::RefCell;
    use std::path::PathBuf;
    use std::rc::Rc;

    fn options(iterations: usize, warmup: usize) -> ScenarioOptions {
        ScenarioOptions::for_tests(iterations, warmup)
    }

    fn run_on(scenario: WorkerScenario, options: &ScenarioOptions) -> ScenarioRun {
        let project = FixtureLocation {
            name: "tiny".to_string(),
            config_path: PathBuf::from("/nonexistent/tiny/soda-gql.config.json"),
            root: PathBuf::from("/nonexistent/tiny"),
            source: crate::fixtures::FixtureSource::Committed,
        };
        ScenarioRun::on_project("tiny".to_string(), scenario, project, options)
            .with_edit(Box::new(|_, _| Ok(())))
    }

    /// A mock that logs `<side><scenario>` for every run into a shared log.
    fn logging(side: &'static str, wall_ms: f64, log: Rc<RefCell<Vec<String>>>) -> MockRunner {
        MockRunner::with_fn(move |req| {
            log.borrow_mut()
                .push(format!("{side}:{}", req.scenario.name()));
            let mut m = Measurement::fixed(wall_ms);
            m.report.verified = req.verify.then_some(true);
            Ok(m)
        })
    }

    #[test]
    fn base_and_head_alternate_run_by_run() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut base_runner = logging("A", 100.0, log.clone());
        let mut head_runner = logging("B", 90.0, log.clone());
        let options = options(3, 1);
        let (base, head) = run_paired_on(
            &mut run_on(WorkerScenario::Warm, &options),
            &mut run_on(WorkerScenario::Warm, &options),
            &options,
            &mut base_runner,
            &mut head_runner,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(
            *log.borrow(),
            vec![
                "A:cold", "B:cold", // priming
                "A:warm", "B:warm", // warm-up
                "A:warm", "B:warm", "A:warm", "B:warm", "A:warm", "B:warm",
            ]
        );
        assert_eq!(base.metrics["wall_ms"].samples, vec![100.0; 3]);
        assert_eq!(head.metrics["wall_ms"].samples, vec![90.0; 3]);
        assert_eq!(base.warmup, 1);
    }

    #[test]
    fn a_trade_renews_both_executables_and_primes_again() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut base_runner = logging("A", 100.0, log.clone());
        let mut head_runner = logging("B", 90.0, log.clone());
        let options = options(1, 1);
        let mut base = run_on(WorkerScenario::Warm, &options);
        let mut head = run_on(WorkerScenario::Warm, &options);
        let mut progress = |_: Side, _: &ProgressEvent| {};
        let lanes = vec![
            Lane::new(Side::Base, &mut base, &mut base_runner),
            Lane::new(Side::Head, &mut head, &mut head_runner),
        ];
        Schedule::new(lanes, &mut progress)
            .trade_projects(0, 1, 1)
            .unwrap();
        assert_eq!((base_runner.renewals, head_runner.renewals), (1, 1));
        assert_eq!(*log.borrow(), vec!["A:cold", "B:cold", "A:warm", "B:warm"]);
    }

    #[test]
    fn progress_names_the_side() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let options = options(2, 0);
        let mut sides = Vec::new();
        run_paired_on(
            &mut run_on(WorkerScenario::Cold, &options),
            &mut run_on(WorkerScenario::Cold, &options),
            &options,
            &mut logging("A", 1.0, log.clone()),
            &mut logging("B", 1.0, log),
            &mut |side, event| {
                if event.stage == Stage::Measured {
                    sides.push(side)
                }
            },
        )
        .unwrap();
        assert_eq!(sides, vec![Side::Base, Side::Head, Side::Base, Side::Head]);
    }

    #[test]
    fn instruction_runs_alternate_too_and_missing_valgrind_is_a_note() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut options = options(2, 0);
        options.instructions = true;
        let (base, head) = run_paired_on(
            &mut run_on(WorkerScenario::Cold, &options),
            &mut run_on(WorkerScenario::Cold, &options),
            &options,
            &mut logging("A", 1.0, log.clone()).with_instructions(10),
            &mut logging("B", 1.0, log.clone()).with_instructions(12),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(base.metrics["instructions"].samples, vec![10.0, 10.0]);
        assert_eq!(head.metrics["instructions"].samples, vec![12.0, 12.0]);
        assert_eq!(log.borrow().len(), 8);

        let (base, _) = run_paired_on(
            &mut run_on(WorkerScenario::Cold, &options),
            &mut run_on(WorkerScenario::Cold, &options),
            &options,
            &mut logging("A", 1.0, log.clone()),
            &mut logging("B", 1.0, log),
            &mut |_, _| {},
        )
        .unwrap();
        assert!(base
            .notes
            .iter()
            .any(|note| note.contains("valgrind not found")));
    }

    #[test]
    fn a_failed_verification_on_either_side_aborts() {
        let options = options(3, 0);
        let mut base_runner = MockRunner::with_fn(|_| {
            let mut m = Measurement::fixed(1.0);
            m.report.verified = Some(true);
            Ok(m)
        });
        let mut head_runner = MockRunner::with_fn(|req| {
            let mut m = Measurement::fixed(1.0);
            m.report.verified = Some(req.iteration < 1);
            Ok(m)
        });
        let err = run_paired_on(
            &mut run_on(WorkerScenario::TargetedSession, &options),
            &mut run_on(WorkerScenario::TargetedSession, &options),
            &options,
            &mut base_runner,
            &mut head_runner,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, ScenarioError::VerificationFailed { iteration: 1, .. }),
            "{err}"
        );
    }
}
