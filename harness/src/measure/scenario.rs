//! One fixture × scenario: a scratch working copy of the fixture, the
//! un-measured set-up (priming the cache, the parent-side edit of
//! `targeted-process`), one iteration through a [`Runner`] with its
//! verification, and the conversion of every [`Measurement`] into the
//! well-known metric samples of [`crate::model`]. Which iterations run, and
//! in what order, is the schedule's (`measure::schedule`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::fixtures::FixtureLocation;
use crate::measure::protocol::{WorkerRequest, WorkerScenario};
use crate::measure::runner::{Measurement, RunError, Runner};
use crate::model::{
    metric_names, Direction, FixtureResult, MetricKind, MetricSamples, ScenarioResult,
};

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
    pub inject: Option<crate::measure::protocol::Injection>,
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
        crate::fixtures::generate::targeted_edit(root, iteration)
            .map(|_| ())
            .map_err(|err| err.to_string())
    })
}

/// One fixture × worker scenario in progress, on its own working copy.
/// The schedule drives one of these (a single run) or two (base and head)
/// iteration by iteration.
pub struct ScenarioRun {
    fixture: String,
    scenario: WorkerScenario,
    project: FixtureLocation,
    verify: bool,
    /// Distinct across all stages so every targeted edit changes the file.
    next_iteration: u32,
    edit: EditFn,
    /// Synthetic extra work for the measured runs (selftest, drills only).
    inject: Option<crate::measure::protocol::Injection>,
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

    /// Adds synthetic work to every measured run (see [`crate::measure::protocol::Injection`]).
    pub fn with_injection(
        mut self,
        inject: Option<crate::measure::protocol::Injection>,
    ) -> ScenarioRun {
        self.inject = inject;
        self
    }

    pub fn fixture(&self) -> &str {
        &self.fixture
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

    /// Trades working copies with `other` (same fixture and scenario): what
    /// one copy's files cost to read or write then falls on both sides in
    /// turn. Each must be primed again: a persisted state is its writer's.
    pub fn trade_projects(&mut self, other: &mut ScenarioRun) {
        debug_assert_eq!(
            (&self.fixture, self.scenario),
            (&other.fixture, other.scenario)
        );
        std::mem::swap(&mut self.project, &mut other.project);
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

    /// The control run before measured iteration `index`: the same spawn
    /// path as a measured run, right before it, so it says what the
    /// machine's speed was at that moment.
    pub fn calibrate(
        &self,
        runner: &mut dyn Runner,
        index: usize,
    ) -> Result<Measurement, ScenarioError> {
        let request = WorkerRequest::new(
            &self.project.config_path,
            WorkerScenario::Calibrate,
            0,
            false,
        );
        runner.run(&request).map_err(|source| ScenarioError::Run {
            fixture: self.fixture.clone(),
            scenario: self.scenario,
            stage: Stage::Measured,
            iteration: index as u32,
            source,
        })
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

/// Assembles a fixture's results; `files` is the largest number of source
/// files any scenario scanned.
pub fn fixture_result(fixture: &str, scenarios: Vec<ScenarioResult>) -> FixtureResult {
    let files = scenarios
        .iter()
        .filter_map(|result| result.metrics.get(metric_names::FILES_SCANNED))
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
pub fn metric_spec(name: &str) -> MetricSpec {
    let (unit, kind, direction) = metric_spec_parts(name);
    MetricSpec {
        unit,
        kind,
        direction,
    }
}

/// Unit, kind and direction of a well-known metric, as [`metric_spec`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub unit: &'static str,
    pub kind: MetricKind,
    pub direction: Direction,
}

/// The table behind [`metric_spec`]; a tuple only inside this file.
fn metric_spec_parts(name: &str) -> (&'static str, MetricKind, Direction) {
    use Direction::{Informational, LargerIsBetter, SmallerIsBetter};
    use MetricKind::{Deterministic, Timing};
    match name {
        metric_names::WALL_MS => ("ms", Timing, SmallerIsBetter),
        // CPU time of a multi-threaded build includes worker threads spinning
        // while they wait, which grows when another tenant takes a core: in
        // A/A runs it moved 20-40% with no code change. Shown, never gating.
        metric_names::CPU_MS
        | metric_names::USER_MS
        | metric_names::SYS_MS
        | metric_names::CONTROL_MS
        | metric_names::CONTROL_CPU_MS => ("ms", Timing, Informational),
        metric_names::PEAK_RSS_KIB => ("KiB", Timing, SmallerIsBetter),
        metric_names::ALLOC_TOTAL_BYTES => ("bytes", Deterministic, SmallerIsBetter),
        metric_names::ALLOC_COUNT => ("count", Deterministic, SmallerIsBetter),
        // The peak of live bytes depends on how worker threads interleave:
        // three modes (≈970, 1,009, 1,048 KB on large-app/cold) in A/A
        // checks. Shown; peak RSS, decided by interleaving, gates memory.
        metric_names::ALLOC_PEAK_BYTES => ("bytes", Timing, Informational),
        // Depends on jemalloc's page retention and thread timing.
        metric_names::JEMALLOC_RESIDENT_BYTES => ("bytes", Timing, Informational),
        metric_names::INSTRUCTIONS => ("instructions", Deterministic, SmallerIsBetter),
        metric_names::FILES_READ | metric_names::FILES_ANALYZED => {
            ("count", Deterministic, SmallerIsBetter)
        }
        // Work done: a build that misses more or hits less did more work.
        metric_names::CACHE_MISSES => ("count", Deterministic, SmallerIsBetter),
        metric_names::CACHE_HITS => ("count", Deterministic, LargerIsBetter),
        metric_names::FILES_SCANNED | metric_names::CACHE_SKIPS => {
            ("count", Deterministic, Informational)
        }
        name if name.starts_with(metric_names::PHASE_PREFIX) => ("ms", Timing, Informational),
        _ => ("count", Deterministic, Informational),
    }
}

/// Deletes a fixture's builder cache in the parent, so that the timed child
/// of a `cold` iteration does not spend its time deleting hundreds of chunk
/// files a first build on a fresh checkout never sees. Best effort: the child
/// clears the cache again (a no-op when it is gone), which keeps a cold
/// iteration cold whatever happens here.
#[cfg(feature = "worker")]
fn clear_cache_before_cold(config_path: &Path) {
    if let Ok(config) = builder::config::load_config(config_path) {
        let _ = builder::incremental::persist::clear_cache(&config);
    }
}

/// Without the builder linked there is no cache format to read; the child
/// (which then refuses to measure anyway) is the one that clears it.
#[cfg(not(feature = "worker"))]
fn clear_cache_before_cold(_config_path: &Path) {}

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
        (metric_names::WALL_MS.to_string(), wall),
        (metric_names::CPU_MS.to_string(), user + sys),
        (metric_names::USER_MS.to_string(), user),
        (metric_names::SYS_MS.to_string(), sys),
        (metric_names::PEAK_RSS_KIB.to_string(), peak_rss_kib as f64),
        (
            metric_names::ALLOC_TOTAL_BYTES.to_string(),
            report.alloc.total_allocated_bytes as f64,
        ),
        (
            metric_names::ALLOC_COUNT.to_string(),
            report.alloc.allocations as f64,
        ),
        (
            metric_names::ALLOC_PEAK_BYTES.to_string(),
            report.alloc.peak_allocated_bytes as f64,
        ),
        (
            metric_names::JEMALLOC_RESIDENT_BYTES.to_string(),
            report.alloc.jemalloc_resident_bytes as f64,
        ),
        (
            metric_names::CACHE_HITS.to_string(),
            report.stats.hits as f64,
        ),
        (
            metric_names::CACHE_MISSES.to_string(),
            report.stats.misses as f64,
        ),
        (
            metric_names::CACHE_SKIPS.to_string(),
            report.stats.skips as f64,
        ),
        (
            metric_names::FILES_SCANNED.to_string(),
            report.files.scanned as f64,
        ),
        (
            metric_names::FILES_READ.to_string(),
            report.files.read as f64,
        ),
        (
            metric_names::FILES_ANALYZED.to_string(),
            report.files.analyzed as f64,
        ),
    ]);
    for (phase, ms) in &report.phases {
        samples.insert(format!("{}{phase}_ms", metric_names::PHASE_PREFIX), *ms);
    }
    samples
}

fn metric(name: &str, samples: Vec<f64>) -> MetricSamples {
    let MetricSpec {
        unit,
        kind,
        direction,
    } = metric_spec(name);
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
        metrics.insert(
            metric_names::INSTRUCTIONS.to_string(),
            metric(metric_names::INSTRUCTIONS, values),
        );
    }
    let mut notes = collected.notes;
    if metrics.contains_key(metric_names::INSTRUCTIONS) {
        // Instruction counts depend on the code paths the CPU's features
        // select (SIMD in hashing and memchr): they compare only on equal features.
        notes.push(crate::measure::machine::cpu_features_note());
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
