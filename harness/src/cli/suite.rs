//! Running the measurement suite for `run`, `baseline save` and `check`:
//! the parsed plan, this binary's worker runs, the run directory and the
//! run record written as each fixture finishes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::fixtures::{self, FixtureLocation};
use crate::measure::machine::{detect_git, detect_machine};
use crate::measure::protocol::WorkerScenario;
use crate::measure::runner::{ProcessRunner, Runner};
use crate::measure::scenario::{self, ScenarioName, ScenarioOptions};
use crate::measure::schedule;
use crate::model::shard::{self, ShardInfo, ShardSpec};
use crate::model::{format_rfc3339_utc, MachineInfo, RunRecord, RECORD_FORMAT_VERSION};
use crate::stats::BootstrapConfig;
use crate::store::history;

use super::common::{inform, progress_bar, show_progress, CommonArgs, SuiteArgs};
use super::{REPORTS_DIR, RUNS_DIR};

/// The parsed, validated form of [`SuiteArgs`]: what a suite run measures,
/// how, and whether it is appended to the history. Commands adjust the plan,
/// never the arguments it came from.
#[derive(Debug, Clone)]
pub(super) struct SuitePlan {
    pub(super) fixtures: Vec<FixtureLocation>,
    pub(super) scenarios: Vec<WorkerScenario>,
    pub(super) options: ScenarioOptions,
    pub(super) append_history: bool,
}

pub(super) fn plan_suite(root: &Path, suite: &SuiteArgs) -> Result<SuitePlan> {
    let scenarios = ScenarioName::parse_list(&suite.scenario)?;
    let fixtures = fixtures::resolve_fixture_list(root, &suite.fixture)?;
    Ok(SuitePlan {
        fixtures,
        scenarios,
        options: suite_options(suite),
        append_history: !suite.no_history,
    })
}

/// Iterations, checks and (drills only) injected work of a suite.
pub(super) fn suite_options(suite: &SuiteArgs) -> ScenarioOptions {
    ScenarioOptions {
        iterations: suite.iterations as usize,
        warmup: suite.warmup as usize,
        instructions: suite.instructions,
        verify_targeted: !suite.no_verify,
        calibrate: !suite.no_calibrate,
        inject: crate::measure::protocol::Injection::from_pcts(
            suite.inject_slowdown_pct,
            suite.inject_alloc_pct,
        ),
    }
}

/// Runs every fixture × scenario with this binary's worker. Each fixture's
/// results are written as soon as it finishes, so a crash loses nothing.
pub(super) fn run_suite(root: &Path, plan: &SuitePlan, common: &CommonArgs) -> Result<RunRecord> {
    run_suite_sharded(root, plan, common, None)
}

/// [`run_suite`] of one shard's fixtures × scenarios (all when `None`).
pub(super) fn run_suite_sharded(
    root: &Path,
    plan: &SuitePlan,
    common: &CommonArgs,
    shard: Option<&crate::model::shard::ShardInfo>,
) -> Result<RunRecord> {
    let selected = shard_selection(plan, shard);
    let mut plan = plan.clone();
    plan.fixtures
        .retain(|f| selected.iter().any(|(name, _)| *name == f.name));
    if !cfg!(feature = "worker") {
        bail!("this soda-perf was built without the `worker` feature and cannot measure; build it with default features (`cargo perf run`)");
    }
    let started_at = format_rfc3339_utc(std::time::SystemTime::now());
    let machine = detect_machine();
    let mut record = new_record(&started_at, machine, root);
    let run_dir = unique_run_dir(root, &started_at)?;
    let scratch = run_dir.join("work");
    let mut runner = ProcessRunner::current_exe(&scratch)?;
    warn_about_instructions(&plan.options, &runner, common);
    settle_generated(&plan.fixtures, &scratch, &mut runner)?;

    let progress = progress_bar(common, total_steps(&plan));
    for (fixture, scenarios) in plan.fixtures.iter().zip(selected.iter().map(|(_, s)| s)) {
        let result = schedule::run_fixture(
            fixture,
            scenarios,
            &plan.options,
            &scratch,
            &mut runner,
            &mut |event| show_progress(&progress, None, event),
        );
        let result = match result {
            Ok(result) => result,
            Err(err) => {
                progress.abandon();
                return Err(err).with_context(|| {
                    format!(
                        "measuring fixture `{}` failed (results so far are in {})",
                        fixture.name,
                        run_dir.display()
                    )
                });
            }
        };
        let partial = RunRecord {
            fixtures: vec![result.clone()],
            ..record.clone()
        };
        write_record(&run_dir.join(&fixture.name).join("metrics.json"), &partial)?;
        record.fixtures.push(result);
    }
    progress.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    let metrics_path = run_dir.join("metrics.json");
    write_record_of_shard(&metrics_path, &record, shard)?;
    inform(common, &format!("metrics: {}", metrics_path.display()));
    if plan.append_history {
        let path = history::append_run(&root.join(REPORTS_DIR), &record)?;
        inform(common, &format!("history: appended to {}", path.display()));
    }
    Ok(record)
}

/// Settles generated presets before anything is measured: a preset may
/// have been written seconds ago, by this very process. One untimed clean
/// build of a working copy reads every file once (the page cache holds the
/// tree as it will for every later run) and runs every phase, so the first
/// measured run of a fresh preset starts from the same state as every run
/// of an old one. Committed fixtures are settled by the checkout.
pub(super) fn settle_generated(
    fixtures: &[FixtureLocation],
    scratch: &Path,
    runner: &mut dyn Runner,
) -> Result<()> {
    for fixture in fixtures
        .iter()
        .filter(|f| f.source == fixtures::FixtureSource::Generated)
    {
        let copy = fixtures::working_copy(fixture, &scratch.join("settle"))
            .with_context(|| format!("cannot copy `{}` to settle it", fixture.name))?;
        let request = crate::measure::protocol::WorkerRequest::new(
            &copy.config_path,
            WorkerScenario::Clean,
            0,
            false,
        );
        runner
            .run(&request)
            .with_context(|| format!("settling `{}`: its clean build failed", fixture.name))?;
        let _ = std::fs::remove_dir_all(scratch.join("settle"));
    }
    Ok(())
}

pub(super) fn new_record(started_at: &str, machine: MachineInfo, root: &Path) -> RunRecord {
    RunRecord {
        format_version: RECORD_FORMAT_VERSION,
        started_at: started_at.to_string(),
        machine,
        git: detect_git(root),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        // The builder is a workspace member and shares the workspace version.
        builder_version: env!("CARGO_PKG_VERSION").to_string(),
        fixtures: Vec::new(),
    }
}

/// `.cache/perf/<timestamp>` (colons replaced: they are awkward in paths),
/// suffixed when two runs start in the same second.
pub(super) fn unique_run_dir(root: &Path, started_at: &str) -> Result<PathBuf> {
    let stamp = started_at.replace(':', "-");
    let base = root.join(RUNS_DIR);
    let mut candidate = base.join(&stamp);
    let mut suffix = 2;
    while candidate.exists() {
        candidate = base.join(format!("{stamp}-{suffix}"));
        suffix += 1;
    }
    std::fs::create_dir_all(&candidate)
        .with_context(|| format!("cannot create {}", candidate.display()))?;
    Ok(candidate)
}

pub(super) fn write_record(path: &Path, record: &RunRecord) -> Result<()> {
    write_record_of_shard(path, record, None)
}

/// Writes `value` (a record with its summaries) as pretty JSON.
pub(super) fn write_record_value(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut json =
        serde_json::to_string_pretty(value).context("cannot serialize the run record")?;
    json.push('\n');
    crate::store::atomic::write_atomic(path, json.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The record as JSON with each metric's summary (n, median, MAD, CV and
/// the median's 95% interval) beside its raw samples, as the terminal table
/// shows them. Readers ignore the summaries: the samples are the data.
pub(super) fn with_summaries(record: &RunRecord) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(record).context("cannot serialize the run record")?;
    let bootstrap = BootstrapConfig::default();
    for (fixture_index, fixture) in record.fixtures.iter().enumerate() {
        for (scenario_index, scenario) in fixture.scenarios.iter().enumerate() {
            for (name, metric) in &scenario.metrics {
                let Ok(summary) = crate::stats::summarize_metric(metric, &bootstrap) else {
                    continue;
                };
                let slot = &mut value["fixtures"][fixture_index]["scenarios"][scenario_index]
                    ["metrics"][name.as_str()];
                if let Some(object) = slot.as_object_mut() {
                    object.insert(
                        "summary".to_string(),
                        serde_json::json!({
                            "n": summary.n,
                            "median": summary.median,
                            "mad": summary.mad,
                            "cv": summary.cv.is_finite().then_some(summary.cv),
                            "ci95_median": summary.ci95_median,
                        }),
                    );
                }
            }
        }
    }
    Ok(value)
}

pub(super) fn read_record(path: &Path) -> Result<RunRecord> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let record: RunRecord = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a soda-perf metrics.json (run record)",
            path.display()
        )
    })?;
    if record.format_version > RECORD_FORMAT_VERSION {
        bail!(
            "{} has record format version {}, newer than version {RECORD_FORMAT_VERSION} that this soda-perf reads",
            path.display(),
            record.format_version
        );
    }
    Ok(record)
}

pub(super) fn warn_about_instructions(
    options: &ScenarioOptions,
    runner: &ProcessRunner,
    common: &CommonArgs,
) {
    if options.instructions && !runner.can_count_instructions() {
        // Said once here; each scenario also carries it as a note.
        inform(
            common,
            &format!(
                "warning: {}",
                crate::measure::runner::RunError::ValgrindMissing
            ),
        );
    }
}

/// Progress steps: one per priming, warm-up, measured and instruction run.
pub(super) fn total_steps(plan: &SuitePlan) -> u64 {
    let per_fixture: usize = plan
        .scenarios
        .iter()
        .map(|&scenario| {
            1 + plan.options.warmup
                + plan.options.iterations
                + scenario::instruction_runs(scenario, &plan.options)
        })
        .sum();
    (plan.fixtures.len() * per_fixture) as u64
}

/// The results to save or check: `--from` a metrics.json, or a fresh suite run.
pub(super) fn record_from_or_run(
    from: Option<&Path>,
    root: &Path,
    suite: &SuiteArgs,
    common: &CommonArgs,
) -> Result<RunRecord> {
    match from {
        Some(path) => read_record(path),
        None => run_suite(root, &plan_suite(root, suite)?, common),
    }
}

/// Per fixture of the plan, the scenarios this shard measures (every
/// scenario without a shard); fixtures with none are left out.
pub(super) fn shard_selection(
    plan: &SuitePlan,
    shard: Option<&ShardInfo>,
) -> Vec<(String, Vec<WorkerScenario>)> {
    plan.fixtures
        .iter()
        .map(|fixture| {
            let scenarios = match shard {
                None => plan.scenarios.clone(),
                Some(info) => {
                    let spec = ShardSpec {
                        index: info.index,
                        count: info.count,
                    };
                    let names = shard::scenarios_of(&info.plan, &fixture.name, spec);
                    plan.scenarios
                        .iter()
                        .copied()
                        .filter(|s| names.iter().any(|n| n == s.name()))
                        .collect()
                }
            };
            (fixture.name.clone(), scenarios)
        })
        .filter(|(_, scenarios)| !scenarios.is_empty())
        .collect()
}

/// Writes a run record with its summaries, and its shard information when
/// it is a shard's.
pub(super) fn write_record_of_shard(
    path: &Path,
    record: &RunRecord,
    shard: Option<&ShardInfo>,
) -> Result<()> {
    let mut value = with_summaries(record)?;
    if let (Some(info), Some(object)) = (shard, value.as_object_mut()) {
        object.insert(
            shard::SHARD_KEY.to_string(),
            serde_json::to_value(info).context("cannot serialize the shard information")?,
        );
    }
    write_record_value(path, &value)
}
