//! Orchestrates one fixture × scenario: a scratch working copy of the fixture,
//! the un-measured set-up (priming the cache, the parent-side edit of
//! `targeted-process`), warm-up iterations that are thrown away, the measured
//! iterations through a [`Runner`], and the conversion of every
//! [`Measurement`] into the well-known metric samples of [`crate::model`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::fixtures::FixtureLocation;
use crate::model::{Direction, FixtureResult, MetricKind, MetricSamples, ScenarioResult};
use crate::protocol::{WorkerRequest, WorkerScenario};
use crate::runner::{Measurement, RunError, Runner};

/// Instruction counts are deterministic but cachegrind is ~50× slower than a
/// plain run, so at most this many counted runs per scenario.
pub const MAX_INSTRUCTION_RUNS: usize = 3;

/// A scenario as named on the command line. `targeted` measures both the
/// in-session and the new-process variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScenarioName {
    Cold,
    Warm,
    WarmSession,
    Targeted,
    TargetedSession,
    TargetedProcess,
}

impl ScenarioName {
    /// The default suite: every scenario.
    pub const ALL: [ScenarioName; 4] = [
        ScenarioName::Cold,
        ScenarioName::Warm,
        ScenarioName::WarmSession,
        ScenarioName::Targeted,
    ];

    /// The worker scenarios (and so the results) this name stands for.
    pub fn worker_scenarios(self) -> &'static [WorkerScenario] {
        match self {
            ScenarioName::Cold => &[WorkerScenario::Cold],
            ScenarioName::Warm => &[WorkerScenario::Warm],
            ScenarioName::WarmSession => &[WorkerScenario::WarmSession],
            ScenarioName::Targeted => &[
                WorkerScenario::TargetedSession,
                WorkerScenario::TargetedProcess,
            ],
            ScenarioName::TargetedSession => &[WorkerScenario::TargetedSession],
            ScenarioName::TargetedProcess => &[WorkerScenario::TargetedProcess],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioName::Cold => "cold",
            ScenarioName::Warm => "warm",
            ScenarioName::WarmSession => "warm-session",
            ScenarioName::Targeted => "targeted",
            ScenarioName::TargetedSession => "targeted-session",
            ScenarioName::TargetedProcess => "targeted-process",
        }
    }

    /// Parses `all` or a comma-separated list into worker scenarios, in the
    /// order given, without duplicates.
    pub fn parse_list(text: &str) -> Result<Vec<WorkerScenario>, UnknownScenario> {
        let mut scenarios = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let names: Vec<ScenarioName> = if part == "all" {
                ScenarioName::ALL.to_vec()
            } else {
                vec![part.parse()?]
            };
            for name in names {
                for scenario in name.worker_scenarios() {
                    if !scenarios.contains(scenario) {
                        scenarios.push(*scenario);
                    }
                }
            }
        }
        if scenarios.is_empty() {
            return Err(UnknownScenario {
                given: text.to_string(),
            });
        }
        Ok(scenarios)
    }
}

impl fmt::Display for ScenarioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario `{given}`: valid scenarios are all, cold, warm, warm-session, targeted (= targeted-session + targeted-process), targeted-session, targeted-process")]
pub struct UnknownScenario {
    pub given: String,
}

impl FromStr for ScenarioName {
    type Err = UnknownScenario;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            ScenarioName::Cold,
            ScenarioName::Warm,
            ScenarioName::WarmSession,
            ScenarioName::Targeted,
            ScenarioName::TargetedSession,
            ScenarioName::TargetedProcess,
        ]
        .into_iter()
        .find(|name| name.as_str() == text)
        .ok_or_else(|| UnknownScenario {
            given: text.to_string(),
        })
    }
}

/// How many iterations and what extra checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOptions {
    pub iterations: usize,
    pub warmup: usize,
    /// Count instructions under cachegrind (separate, un-timed runs).
    pub instructions: bool,
    /// Compare targeted scenarios' artifacts with a clean build.
    pub verify_targeted: bool,
    /// Run the control workload (a child process of fixed work) before every
    /// measured iteration and record it as `control_ms`.
    pub calibrate: bool,
    /// Synthetic extra work in every measured run (hidden options of
    /// `check` and `selftest`; `None` in every normal run).
    pub inject: Option<crate::protocol::Injection>,
}

#[cfg(test)]
impl ScenarioOptions {
    /// Verified, no instructions, no control runs (mock runners count requests).
    pub(crate) fn for_tests(iterations: usize, warmup: usize) -> ScenarioOptions {
        ScenarioOptions {
            iterations,
            warmup,
            instructions: false,
            verify_targeted: true,
            calibrate: false,
            inject: None,
        }
    }
}

impl Default for ScenarioOptions {
    fn default() -> Self {
        ScenarioOptions {
            iterations: 10,
            warmup: 1,
            instructions: false,
            verify_targeted: true,
            calibrate: true,
            inject: None,
        }
    }
}

/// Why session scenarios have no `instructions` metric.
pub const SESSION_INSTRUCTIONS_NOTE: &str = "instructions are counted for process scenarios only: \
     cachegrind counts the whole process, which in a session is mostly the initial build";

/// Number of instruction-counting runs of `scenario`: none for sessions
/// (see [`SESSION_INSTRUCTIONS_NOTE`]) or without `--instructions`.
pub fn instruction_runs(scenario: WorkerScenario, options: &ScenarioOptions) -> usize {
    if options.instructions && !scenario.is_session() {
        options.iterations.clamp(1, MAX_INSTRUCTION_RUNS)
    } else {
        0
    }
}

/// What an iteration is for; carried in progress events and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Priming,
    Warmup,
    Measured,
    Instructions,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Priming => "priming",
            Stage::Warmup => "warm-up",
            Stage::Measured => "measured",
            Stage::Instructions => "instruction-count",
        })
    }
}

/// Reported before every worker run, for progress bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    pub fixture: String,
    pub scenario: WorkerScenario,
    pub stage: Stage,
    /// 0-based index within the stage.
    pub index: usize,
    /// Number of runs of this stage.
    pub of: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("could not make a working copy of fixture `{fixture}` in {}: {source}", path.display())]
    WorkingCopy {
        fixture: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fixture `{fixture}`, scenario {}, {stage} iteration {iteration}: {source}", scenario.name())]
    Run {
        fixture: String,
        scenario: WorkerScenario,
        stage: Stage,
        iteration: u32,
        #[source]
        source: RunError,
    },
    #[error("fixture `{fixture}`, scenario {}, iteration {iteration}: the targeted edit failed: {message}", scenario.name())]
    Edit {
        fixture: String,
        scenario: WorkerScenario,
        iteration: u32,
        message: String,
    },
    #[error(
        "VERIFICATION FAILED: fixture `{fixture}`, scenario {}, {stage} iteration {iteration}: the incremental artifact differs from a clean build of the same tree (working copy kept at {})",
        scenario.name(), project_root.display()
    )]
    VerificationFailed {
        fixture: String,
        scenario: WorkerScenario,
        stage: Stage,
        iteration: u32,
        project_root: PathBuf,
    },
}

/// Applies the parent-side edit of `targeted-process` to a project root.
pub type EditFn = Box<dyn FnMut(&Path, u32) -> Result<(), String>>;

/// The real edit: the generator's targeted fragment edit.
pub fn targeted_edit_fn() -> EditFn {
    Box::new(|root, iteration| {
        crate::generate::targeted_edit(root, iteration)
            .map(|_| ())
            .map_err(|err| err.to_string())
    })
}

/// One fixture × worker scenario in progress, on its own working copy.
/// `compare` drives two of these (base and head) iteration by iteration.
pub struct ScenarioRun {
    fixture: String,
    scenario: WorkerScenario,
    project: FixtureLocation,
    verify: bool,
    /// Distinct across all stages so every targeted edit changes the file.
    next_iteration: u32,
    edit: EditFn,
    /// Synthetic extra work for the measured runs (selftest, drills only).
    inject: Option<crate::protocol::Injection>,
}

impl ScenarioRun {
    /// Makes a fresh working copy of `fixture` in `work_dir` (emptied first).
    pub fn prepare(
        fixture: &FixtureLocation,
        scenario: WorkerScenario,
        work_dir: &Path,
        options: &ScenarioOptions,
    ) -> Result<ScenarioRun, ScenarioError> {
        let copy_error = |source| ScenarioError::WorkingCopy {
            fixture: fixture.name.clone(),
            path: work_dir.to_path_buf(),
            source,
        };
        if work_dir.exists() {
            std::fs::remove_dir_all(work_dir).map_err(copy_error)?;
        }
        std::fs::create_dir_all(work_dir).map_err(copy_error)?;
        let project = crate::fixtures::working_copy(fixture, work_dir).map_err(copy_error)?;
        Ok(ScenarioRun::on_project(
            fixture.name.clone(),
            scenario,
            project,
            options,
        ))
    }

    /// Runs on `project` as it is (no copy); used by tests and by `prepare`.
    pub fn on_project(
        fixture: String,
        scenario: WorkerScenario,
        project: FixtureLocation,
        options: &ScenarioOptions,
    ) -> ScenarioRun {
        let verify = options.verify_targeted
            && matches!(
                scenario,
                WorkerScenario::TargetedSession | WorkerScenario::TargetedProcess
            );
        ScenarioRun {
            fixture,
            scenario,
            project,
            verify,
            next_iteration: 0,
            edit: targeted_edit_fn(),
            inject: options.inject,
        }
    }

    /// Replaces the parent-side edit (tests use a fake one).
    pub fn with_edit(mut self, edit: EditFn) -> ScenarioRun {
        self.edit = edit;
        self
    }

    /// Adds synthetic work to every measured run (see [`crate::protocol::Injection`]).
    pub fn with_injection(mut self, inject: Option<crate::protocol::Injection>) -> ScenarioRun {
        self.inject = inject;
        self
    }

    pub fn scenario(&self) -> WorkerScenario {
        self.scenario
    }

    pub fn project(&self) -> &FixtureLocation {
        &self.project
    }

    pub fn verifies(&self) -> bool {
        self.verify
    }

    /// The un-measured set-up: scenarios that build on persisted state get
    /// one cold build first so the cache exists.
    pub fn prime(&mut self, runner: &mut dyn Runner) -> Result<(), ScenarioError> {
        if matches!(
            self.scenario,
            WorkerScenario::Warm | WorkerScenario::TargetedProcess
        ) {
            let request =
                WorkerRequest::new(&self.project.config_path, WorkerScenario::Cold, 0, false);
            runner.run(&request).map_err(|source| ScenarioError::Run {
                fixture: self.fixture.clone(),
                scenario: self.scenario,
                stage: Stage::Priming,
                iteration: 0,
                source,
            })?;
            // The priming build was "a while ago", as the copy's files were.
            // Best effort: a directory left recent only costs a listing.
            let _ = crate::fixtures::age_directories(&self.project.root);
        }
        Ok(())
    }

    /// One iteration: the parent-side edit when the scenario needs one, the
    /// worker run, and the verification check.
    pub fn run_iteration(
        &mut self,
        runner: &mut dyn Runner,
        stage: Stage,
    ) -> Result<Measurement, ScenarioError> {
        let iteration = self.next_iteration;
        self.next_iteration += 1;
        if self.scenario == WorkerScenario::Cold {
            clear_cache_before_cold(&self.project.config_path);
        }
        if self.scenario == WorkerScenario::TargetedProcess {
            (self.edit)(&self.project.root, iteration).map_err(|message| ScenarioError::Edit {
                fixture: self.fixture.clone(),
                scenario: self.scenario,
                iteration,
                message,
            })?;
        }
        // Sessions verify in the child after the timed update. A process
        // run is timed whole by the parent, so its artifact is verified by a
        // separate child afterwards.
        let in_child = self.verify && self.scenario.is_session();
        let mut request = WorkerRequest::new(
            &self.project.config_path,
            self.scenario,
            iteration,
            in_child,
        );
        if stage == Stage::Measured {
            request.inject = self.inject;
        }
        let result = if stage == Stage::Instructions {
            runner.run_counting_instructions(&request)
        } else {
            runner.run(&request)
        };
        let run_error = |source| ScenarioError::Run {
            fixture: self.fixture.clone(),
            scenario: self.scenario,
            stage,
            iteration,
            source,
        };
        let mut measurement = result.map_err(run_error)?;
        if self.verify && !in_child {
            let check = WorkerRequest::new(
                &self.project.config_path,
                WorkerScenario::VerifyArtifact,
                iteration,
                true,
            );
            measurement.report.verified = runner.run(&check).map_err(run_error)?.report.verified;
        }
        if self.verify && measurement.report.verified == Some(false) {
            return Err(ScenarioError::VerificationFailed {
                fixture: self.fixture.clone(),
                scenario: self.scenario,
                stage,
                iteration,
                project_root: self.project.root.clone(),
            });
        }
        Ok(measurement)
    }
}

/// Everything gathered for one scenario before it becomes a result.
#[derive(Debug, Clone, Default)]
pub struct CollectedRuns {
    pub measured: Vec<Measurement>,
    /// Wall and CPU time of the control child run beside each measured iteration.
    pub control_ms: Vec<f64>,
    pub control_cpu_ms: Vec<f64>,
    pub instructions: Vec<u64>,
    pub notes: Vec<String>,
}

/// Runs one fixture × scenario with `runner`: prime, warm up, measure,
/// optionally count instructions.
pub fn run_scenario(
    run: &mut ScenarioRun,
    options: &ScenarioOptions,
    runner: &mut dyn Runner,
    progress: &mut dyn FnMut(&ProgressEvent),
) -> Result<ScenarioResult, ScenarioError> {
    let fixture = run.fixture.clone();
    let scenario = run.scenario;
    let mut event = |stage, index, of| {
        progress(&ProgressEvent {
            fixture: fixture.clone(),
            scenario,
            stage,
            index,
            of,
        })
    };
    event(Stage::Priming, 0, 1);
    run.prime(runner)?;
    for index in 0..options.warmup {
        event(Stage::Warmup, index, options.warmup);
        run.run_iteration(runner, Stage::Warmup)?;
    }
    let mut collected = CollectedRuns::default();
    for index in 0..options.iterations {
        event(Stage::Measured, index, options.iterations);
        if options.calibrate {
            // Same spawn path as a measured run, right before it: what the
            // machine's speed was at that moment.
            let request = crate::protocol::WorkerRequest::new(
                &run.project.config_path,
                WorkerScenario::Calibrate,
                0,
                false,
            );
            let control = runner.run(&request).map_err(|source| ScenarioError::Run {
                fixture: run.fixture.clone(),
                scenario,
                stage: Stage::Measured,
                iteration: index as u32,
                source,
            })?;
            collected.control_ms.push(control.wall_ms);
            collected
                .control_cpu_ms
                .push(control.user_ms + control.sys_ms);
        }
        collected
            .measured
            .push(run.run_iteration(runner, Stage::Measured)?);
    }
    if options.instructions && scenario.is_session() {
        collected.notes.push(SESSION_INSTRUCTIONS_NOTE.to_string());
    }
    let runs = instruction_runs(scenario, options);
    if runs > 0 {
        for index in 0..runs {
            event(Stage::Instructions, index, runs);
            match run.run_iteration(runner, Stage::Instructions) {
                Ok(measurement) => collected.instructions.extend(measurement.instructions),
                Err(ScenarioError::Run {
                    source: RunError::ValgrindMissing,
                    ..
                }) => {
                    collected.notes.push(format!(
                        "{}: instructions not recorded",
                        RunError::ValgrindMissing
                    ));
                    break;
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(scenario_result(
        run.scenario,
        options.warmup,
        run.verify,
        collected,
    ))
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

/// Assembles a fixture's results; `files` is the largest number of source
/// files any scenario scanned.
pub fn fixture_result(fixture: &str, scenarios: Vec<ScenarioResult>) -> FixtureResult {
    let files = scenarios
        .iter()
        .filter_map(|result| result.metrics.get("files_scanned"))
        .flat_map(|metric| metric.samples.iter().copied())
        .fold(0.0_f64, f64::max) as u64;
    FixtureResult {
        fixture: fixture.to_string(),
        files,
        scenarios,
    }
}

/// Unit, kind and direction of every well-known metric. Only the figures a
/// user cares about gate (wall, CPU, memory, instructions, work done); the
/// breakdowns (user/sys split, phases, cache counters) are informational so
/// that more metrics do not mean more false alarms.
pub fn metric_spec(name: &str) -> (&'static str, MetricKind, Direction) {
    use Direction::{Informational, LargerIsBetter, SmallerIsBetter};
    use MetricKind::{Deterministic, Timing};
    match name {
        "wall_ms" => ("ms", Timing, SmallerIsBetter),
        // CPU time of a multi-threaded build includes worker threads spinning
        // while they wait, which grows when another tenant takes a core: in
        // A/A runs it moved 20-40% with no code change. Shown, never gating.
        "cpu_ms" | "user_ms" | "sys_ms" | "control_ms" | "control_cpu_ms" => {
            ("ms", Timing, Informational)
        }
        "peak_rss_kib" => ("KiB", Timing, SmallerIsBetter),
        "alloc_total_bytes" => ("bytes", Deterministic, SmallerIsBetter),
        "alloc_count" => ("count", Deterministic, SmallerIsBetter),
        // The peak of live bytes depends on how worker threads interleave.
        "alloc_peak_bytes" => ("bytes", Timing, SmallerIsBetter),
        // Depends on jemalloc's page retention and thread timing.
        "jemalloc_resident_bytes" => ("bytes", Timing, Informational),
        "instructions" => ("instructions", Deterministic, SmallerIsBetter),
        "files_read" | "files_analyzed" => ("count", Deterministic, SmallerIsBetter),
        // Work done: a build that misses more or hits less did more work.
        "cache_misses" => ("count", Deterministic, SmallerIsBetter),
        "cache_hits" => ("count", Deterministic, LargerIsBetter),
        "files_scanned" | "cache_skips" => ("count", Deterministic, Informational),
        name if name.starts_with("phase.") => ("ms", Timing, Informational),
        _ => ("count", Deterministic, Informational),
    }
}

/// Deletes a fixture's builder cache in the parent, so that the timed child
/// of a `cold` iteration does not spend its time deleting hundreds of chunk
/// files a first build on a fresh checkout never sees. Best effort: the child
/// clears the cache again (a no-op when it is gone), which keeps a cold
/// iteration cold whatever happens here.
fn clear_cache_before_cold(config_path: &Path) {
    if let Ok(config) = builder::config::load_config(config_path) {
        let _ = builder::incremental::persist::clear_cache(&config);
    }
}

/// The samples of one measurement, by metric name (instructions excluded:
/// they come from separate runs).
pub fn measurement_samples(
    scenario: WorkerScenario,
    measurement: &Measurement,
) -> BTreeMap<String, f64> {
    let report = &measurement.report;
    // Session scenarios time an update inside a process that first did a
    // full build: the child's own timed region is the figure, not the
    // process's lifetime. Process scenarios include start-up, as a CLI user sees.
    let (wall, user, sys) = if scenario.is_session() {
        (
            report.inner_wall_ms,
            report.inner_user_ms,
            report.inner_sys_ms,
        )
    } else {
        (measurement.wall_ms, measurement.user_ms, measurement.sys_ms)
    };
    // The child's own peak at the end of its timed region: a verification's
    // clean build after it does not count, nor (unlike `wait4`'s
    // `ru_maxrss`) the harness's resident set the child started from. A
    // worker too old to report it falls back to `wait4`'s figure.
    let peak_rss_kib = if report.peak_rss_kib > 0 {
        report.peak_rss_kib
    } else {
        measurement.max_rss_kib
    };
    let mut samples = BTreeMap::from([
        ("wall_ms".to_string(), wall),
        ("cpu_ms".to_string(), user + sys),
        ("user_ms".to_string(), user),
        ("sys_ms".to_string(), sys),
        ("peak_rss_kib".to_string(), peak_rss_kib as f64),
        (
            "alloc_total_bytes".to_string(),
            report.alloc.total_allocated_bytes as f64,
        ),
        ("alloc_count".to_string(), report.alloc.allocations as f64),
        (
            "alloc_peak_bytes".to_string(),
            report.alloc.peak_allocated_bytes as f64,
        ),
        (
            "jemalloc_resident_bytes".to_string(),
            report.alloc.jemalloc_resident_bytes as f64,
        ),
        ("cache_hits".to_string(), report.stats.hits as f64),
        ("cache_misses".to_string(), report.stats.misses as f64),
        ("cache_skips".to_string(), report.stats.skips as f64),
        ("files_scanned".to_string(), report.files.scanned as f64),
        ("files_read".to_string(), report.files.read as f64),
        ("files_analyzed".to_string(), report.files.analyzed as f64),
    ]);
    for (phase, ms) in &report.phases {
        samples.insert(format!("phase.{phase}_ms"), *ms);
    }
    samples
}

fn metric(name: &str, samples: Vec<f64>) -> MetricSamples {
    let (unit, kind, direction) = metric_spec(name);
    MetricSamples {
        unit: unit.to_string(),
        kind,
        direction,
        samples,
    }
}

/// Turns the measured iterations of one scenario into its result.
pub fn scenario_result(
    scenario: WorkerScenario,
    warmup: usize,
    verify: bool,
    collected: CollectedRuns,
) -> ScenarioResult {
    let per_run: Vec<BTreeMap<String, f64>> = collected
        .measured
        .iter()
        .map(|measurement| measurement_samples(scenario, measurement))
        .collect();
    // A phase that did not run in some iteration took no time there; every
    // metric keeps one sample per iteration.
    let names: BTreeSet<&String> = per_run.iter().flat_map(|samples| samples.keys()).collect();
    let mut metrics: BTreeMap<String, MetricSamples> = names
        .into_iter()
        .map(|name| {
            let values = per_run
                .iter()
                .map(|samples| samples.get(name).copied().unwrap_or(0.0))
                .collect();
            (name.clone(), metric(name, values))
        })
        .collect();
    if !collected.control_ms.is_empty() {
        metrics.insert(
            crate::model::CONTROL_METRIC.to_string(),
            metric(crate::model::CONTROL_METRIC, collected.control_ms.clone()),
        );
        metrics.insert(
            crate::model::CONTROL_CPU_METRIC.to_string(),
            metric(
                crate::model::CONTROL_CPU_METRIC,
                collected.control_cpu_ms.clone(),
            ),
        );
    }
    if !collected.instructions.is_empty() {
        let values = collected.instructions.iter().map(|&ir| ir as f64).collect();
        metrics.insert("instructions".to_string(), metric("instructions", values));
    }
    let mut notes = collected.notes;
    if metrics.contains_key("instructions") {
        // Instruction counts depend on the code paths the CPU's features
        // select (SIMD in hashing and memchr): they compare only on equal features.
        notes.push(crate::machine::cpu_features_note());
    }
    let error_diagnostics = collected
        .measured
        .iter()
        .map(|measurement| measurement.report.diagnostics_errors)
        .max()
        .unwrap_or(0);
    if error_diagnostics > 0 {
        notes.push(format!(
            "the builder reported {error_diagnostics} error diagnostic(s): the fixture does not build cleanly"
        ));
    }
    let verified = if verify {
        let all_checked = collected
            .measured
            .iter()
            .all(|measurement| measurement.report.verified == Some(true));
        if !all_checked {
            notes.push(
                "the worker did not report a verification result for every iteration".to_string(),
            );
        }
        Some(all_checked)
    } else {
        None
    };
    ScenarioResult {
        scenario: scenario.name().to_string(),
        iterations: collected.measured.len(),
        warmup,
        metrics,
        verified,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::MockRunner;
    use std::cell::RefCell;
    use std::rc::Rc;

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
    /// outside the timing.
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
}
