//! The `soda-perf` command line: argument definitions (clap derive) and one
//! function per subcommand. [`run`] is the whole program: parse, dispatch,
//! turn the outcome into an exit code (0 clean, 1 regression, 2 error).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::baseline::{self, BaselineError};
use crate::compare::{self, Revision, Side};
use crate::export::{self, ExportFormat, ExportInput};
use crate::fixtures::{self, FixtureLocation};
use crate::generate::{self, GenerateSpec};
use crate::history;
use crate::machine::{detect_git, detect_machine};
use crate::model::{format_rfc3339_utc, GitInfo, MachineInfo, RunRecord, RECORD_FORMAT_VERSION};
use crate::protocol::WorkerScenario;
use crate::runner::{ProcessRunner, Runner};
use crate::scenario::{self, ProgressEvent, ScenarioName, ScenarioOptions};
use crate::stats::BootstrapConfig;
use crate::verdict::{self, GateConfig, GateReport};

mod import;
mod merge;

/// Where runs keep their per-run output, relative to the workspace root.
pub const RUNS_DIR: &str = ".cache/perf";
/// Where baselines and history live, relative to the workspace root.
pub const REPORTS_DIR: &str = "reports";

#[derive(Debug, Parser)]
#[command(
    name = "soda-perf",
    version,
    about = "Measures the soda-gql builder in isolated child processes, keeps baselines and history, gates regressions",
    after_help = "Exit codes: 0 success, 1 a metric regressed (check, compare), 2 usage or data error.\n\
                  Guide: docs/guides/harness-usage.md"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure fixtures × scenarios; print a table, save metrics.json, append to history.
    Run(RunArgs),
    /// Write a synthetic fixture project from a preset (optionally resized).
    Generate(GenerateArgs),
    /// Save or list named baselines.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Gate: screen a run against a baseline, decide suspects by an
    /// interleaved A/B run against the baseline commit's binary; exit 1 on a regression.
    Check(CheckArgs),
    /// Measure the gate's own false-alarm and detection rates on this machine.
    Selftest(SelftestArgs),
    /// Compare two revisions, running their workers alternately.
    Compare(CompareArgs),
    /// Render the HTML trend report from the run history.
    Report(ReportArgs),
    /// Join the metrics.json of every `run --shard i/n` into one run record.
    Merge(merge::MergeArgs),
    /// Import results of other tools into the history (criterion micro-benchmarks).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// The measured child process (internal).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// What to measure and how often.
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    /// Fixtures: `all` (the committed ones), a name, or a comma-separated list.
    /// Generator presets (small, medium, large, …) are generated on first use.
    #[arg(long, default_value = "all")]
    pub fixture: String,
    /// Scenarios: all, cold, warm, warm-session, targeted (= targeted-session
    /// + targeted-process), or a comma-separated list.
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Measured iterations per scenario.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
    /// Discarded iterations before measuring.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Also count instructions under cachegrind (separate, un-timed runs; needs valgrind).
    #[arg(long)]
    pub instructions: bool,
    /// Skip comparing targeted scenarios' artifacts with a clean build.
    #[arg(long)]
    pub no_verify: bool,
    /// Do not append this run to the history.
    #[arg(long)]
    pub no_history: bool,
    /// Skip the control workload run beside each iteration (the gate then
    /// cannot correct for machine drift).
    #[arg(long)]
    pub no_calibrate: bool,
    /// Drills only: spin this many percent longer in every measured region.
    #[arg(long, hide = true, default_value_t = 0.0)]
    pub inject_slowdown_pct: f64,
    /// Drills only: allocate this many percent more bytes in every measured region.
    #[arg(long, hide = true, default_value_t = 0.0)]
    pub inject_alloc_pct: f64,
}

/// How many interleaved pairs decide a row.
#[derive(Debug, Clone, Args)]
pub struct PairedArgs {
    /// Interleaved pairs before the first look.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(3..))]
    pub pairs: u32,
    /// The least number of pairs added per further look while a row is
    /// unresolved; a look also adds at least half the pairs so far.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub pair_batch: u32,
    /// At most this many pairs per row. A quiet machine resolves a row in
    /// 12–30 pairs; under load a wall-time row can need 150 or more.
    #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u32).range(3..))]
    pub max_pairs: u32,
}

impl PairedArgs {
    fn config(&self) -> crate::gate::PairedConfig {
        crate::gate::PairedConfig {
            initial_pairs: self.pairs as usize,
            batch: self.pair_batch as usize,
            max_pairs: (self.max_pairs as usize).max(self.pairs as usize),
            ..crate::gate::PairedConfig::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// A/A checks and slowed checks to run, each.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// The synthetic slowdown the slowed checks inject, in percent.
    #[arg(long, default_value_t = 10.0)]
    pub slowdown_pct: f64,
    /// Synthetic A/A checks resampled from the measured A/A pairs.
    #[arg(long, default_value_t = 2000)]
    pub resamples: u32,
    /// Timing changes below this many percent are never regressions.
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true)]
    pub threshold: f64,
    #[command(flatten)]
    pub paired: PairedArgs,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Workspace root (default: the Cargo workspace above the current directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// No progress bar and no informational messages.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Write the run record (JSON).
    #[arg(long, value_name = "PATH")]
    pub export_json: Option<PathBuf>,
    /// Write a Markdown summary (GitHub step summary / PR comment).
    #[arg(long, value_name = "PATH")]
    pub export_markdown: Option<PathBuf>,
    /// Write Bencher Metric Format JSON.
    #[arg(long, value_name = "PATH")]
    pub export_bmf: Option<PathBuf>,
    /// Write github-action-benchmark JSON (customSmallerIsBetter).
    #[arg(long, value_name = "PATH")]
    pub export_github: Option<PathBuf>,
}

impl ExportArgs {
    fn requested(&self) -> Vec<(ExportFormat, &Path)> {
        [
            (ExportFormat::Json, &self.export_json),
            (ExportFormat::Markdown, &self.export_markdown),
            (ExportFormat::Bmf, &self.export_bmf),
            (ExportFormat::Github, &self.export_github),
        ]
        .into_iter()
        .filter_map(|(format, path)| path.as_deref().map(|path| (format, path)))
        .collect()
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Measure the generator's presets (small … stress, or a comma-separated
    /// subset) for the report's scaling curves; kept in
    /// reports/history/<machine>.sweep.jsonl, not the run history.
    #[arg(long, value_name = "PRESETS", num_args = 0..=1, default_missing_value = "all")]
    pub preset_sweep: Option<String>,
    /// Append this run (or sweep) to reports/history/<machine>.jsonl, the
    /// trend report's input. Off by default: those files are tracked by git,
    /// and a local run should leave the tree as it was.
    #[arg(long)]
    pub history: bool,
    /// Measure only shard I of N of the fixture × scenario plan (round
    /// robin); `soda-perf merge` joins the shards' metrics.json.
    #[arg(long, value_name = "I/N", conflicts_with = "preset_sweep")]
    pub shard: Option<crate::shard::ShardSpec>,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub exports: ExportArgs,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Preset to start from: small, medium, large, xlarge, xxlarge, xxxlarge, stress.
    #[arg(long)]
    pub preset: String,
    /// Output directory (default: .cache/perf/fixtures/<name> under the workspace root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Number of .ts files under src.
    #[arg(long)]
    pub files: Option<usize>,
    /// Share of files that hold at least one gql definition (0..1).
    #[arg(long)]
    pub gql_ratio: Option<f64>,
    /// Number of object types in the generated schema.
    #[arg(long)]
    pub object_types: Option<usize>,
    /// Number of fragment definitions spread over the files.
    #[arg(long)]
    pub fragments: Option<usize>,
    /// Number of operation definitions (queries, mutations, subscriptions).
    #[arg(long)]
    pub operations: Option<usize>,
    /// Seed of the generator's PRNG: the same seed and sizes give the same project.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Run the suite (or read --from) and save it as a named baseline for this machine.
    Save(BaselineSaveArgs),
    /// List the baselines of every machine.
    List(BaselineListArgs),
}

#[derive(Debug, Args)]
pub struct BaselineSaveArgs {
    /// Name of the baseline (a file-name-safe word); `check --baseline NAME` reads it.
    #[arg(long, default_value = "main")]
    pub name: String,
    /// Save the results in this metrics.json instead of running the suite.
    #[arg(long, value_name = "METRICS_JSON")]
    pub from: Option<PathBuf>,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct BaselineListArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Name of the baseline to compare against.
    #[arg(long, default_value = "main")]
    pub baseline: String,
    /// Timing changes below this many percent are never regressions.
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Accepted for old scripts: a baseline of another machine is always
    /// usable now (every timing row is then interleaved).
    #[arg(long, hide = true)]
    pub allow_other_machine: bool,
    /// Screen the results in this metrics.json against the baseline (no
    /// interleaving: its timing rows can be inconclusive, never regressed).
    #[arg(long, value_name = "METRICS_JSON")]
    pub from: Option<PathBuf>,
    #[command(flatten)]
    pub paired: PairedArgs,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub exports: ExportArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Base revision (branch, tag, sha).
    #[arg(long)]
    pub base: String,
    /// Head revision (default: the working tree, uncommitted changes included).
    #[arg(long)]
    pub head: Option<String>,
    /// Timing changes below this many percent are never regressions.
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Accepted for old scripts: worktrees are removed once a commit's
    /// binary is kept under .cache/perf/builds.
    #[arg(long, hide = true)]
    pub keep_worktrees: bool,
    /// Write a Markdown summary of the comparison.
    #[arg(long, value_name = "PATH")]
    pub export_markdown: Option<PathBuf>,
    /// Write the verdicts (versioned JSON naming base and head; see the usage guide).
    #[arg(long, value_name = "PATH")]
    pub export_json: Option<PathBuf>,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the HTML report (default: reports/trend.html under the workspace root).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// History file to read (default: reports/history/<this machine>.jsonl).
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// Only the most recent N runs (default: every run the page budget holds).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub last: Option<u32>,
    /// Only runs started on or after this date (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE", value_parser = crate::report::window::parse_since)]
    pub since: Option<String>,
    /// A comparison to show: a `compare` output directory (base.json,
    /// head.json) or a file {"base": …, "head": …} (default: the newest
    /// .cache/perf/compare-*).
    #[arg(long, value_name = "PATH")]
    pub compare: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The WorkerRequest as JSON.
    pub request: String,
}

/// How a successful command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Regression,
}

/// The whole program: parse, dispatch, exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd_run(&args),
        Command::Generate(args) => cmd_generate(&args),
        Command::Baseline(BaselineCommand::Save(args)) => cmd_baseline_save(&args),
        Command::Baseline(BaselineCommand::List(args)) => cmd_baseline_list(&args),
        Command::Check(args) => cmd_check(&args),
        Command::Selftest(args) => cmd_selftest(&args),
        Command::Compare(args) => cmd_compare(&args),
        Command::Report(args) => cmd_report(&args),
        Command::Merge(args) => merge::cmd_merge(&args),
        Command::Import(command) => import::cmd_import(&command),
        Command::Worker(args) => return cmd_worker(&args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Regression) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "worker")]
fn cmd_worker(args: &WorkerArgs) -> ExitCode {
    match crate::worker::worker_main(&args.request) {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

#[cfg(not(feature = "worker"))]
fn cmd_worker(_args: &WorkerArgs) -> ExitCode {
    let report = crate::protocol::WorkerReport::failure(
        "this soda-perf was built without the `worker` feature and cannot measure; build it with default features",
    );
    println!("{}", report.to_line());
    ExitCode::from(1)
}

/// The workspace root: `--root`, else the Cargo workspace above the current directory.
fn workspace_root(common: &CommonArgs) -> Result<PathBuf> {
    if let Some(root) = &common.root {
        if !root.is_dir() {
            bail!("--root {} is not a directory", root.display());
        }
        return Ok(root.clone());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(fixtures::find_workspace_root(&cwd)?)
}

/// Prints an informational line unless --quiet.
fn inform(common: &CommonArgs, message: &str) {
    if !common.quiet {
        eprintln!("{message}");
    }
}

fn cmd_run(args: &RunArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    if let Some(presets) = &args.preset_sweep {
        return cmd_sweep(&root, args, presets);
    }
    if let Some(shard) = args.shard {
        return merge::cmd_run_shard(&root, args, shard);
    }
    let suite = SuiteArgs {
        no_history: args.suite.no_history || !args.history,
        ..args.suite.clone()
    };
    let record = run_suite(&root, &suite, &args.common)?;
    print!("{}", export::render_table(&record));
    write_exports(&record, None, &args.exports, &args.common)?;
    Ok(Outcome::Clean)
}

/// `run --preset-sweep`: the presets as fixtures, cold/warm/targeted unless
/// `--scenario` says otherwise, recorded apart from the run history.
fn cmd_sweep(root: &Path, args: &RunArgs, presets: &str) -> Result<Outcome> {
    use crate::report::sweep;
    let presets = sweep::parse_presets(presets).map_err(anyhow::Error::msg)?;
    let suite = SuiteArgs {
        fixture: presets.join(","),
        scenario: if args.suite.scenario == "all" {
            sweep::SWEEP_SCENARIOS.to_string()
        } else {
            args.suite.scenario.clone()
        },
        no_history: true,
        ..args.suite.clone()
    };
    let record = run_suite(root, &suite, &args.common)?;
    print!("{}", export::render_table(&record));
    if args.history && !args.suite.no_history {
        let path = sweep::append_sweep(&root.join(REPORTS_DIR), &record)
            .context("cannot append the sweep")?;
        inform(
            &args.common,
            &format!("sweep: appended to {}", path.display()),
        );
    }
    write_exports(&record, None, &args.exports, &args.common)?;
    Ok(Outcome::Clean)
}

/// The parsed, validated form of [`SuiteArgs`].
struct SuitePlan {
    fixtures: Vec<FixtureLocation>,
    scenarios: Vec<WorkerScenario>,
    options: ScenarioOptions,
}

fn plan_suite(root: &Path, suite: &SuiteArgs) -> Result<SuitePlan> {
    let scenarios = ScenarioName::parse_list(&suite.scenario)?;
    let fixtures = fixtures::resolve_fixture_list(root, &suite.fixture)?;
    Ok(SuitePlan {
        fixtures,
        scenarios,
        options: ScenarioOptions {
            iterations: suite.iterations as usize,
            warmup: suite.warmup as usize,
            instructions: suite.instructions,
            verify_targeted: !suite.no_verify,
            calibrate: !suite.no_calibrate,
            inject: crate::protocol::Injection::from_pcts(
                suite.inject_slowdown_pct,
                suite.inject_alloc_pct,
            ),
        },
    })
}

/// Runs every fixture × scenario with this binary's worker. Each fixture's
/// results are written as soon as it finishes, so a crash loses nothing.
fn run_suite(root: &Path, suite: &SuiteArgs, common: &CommonArgs) -> Result<RunRecord> {
    run_suite_sharded(root, suite, common, None)
}

/// [`run_suite`] of one shard's fixtures × scenarios (all when `None`).
fn run_suite_sharded(
    root: &Path,
    suite: &SuiteArgs,
    common: &CommonArgs,
    shard: Option<&crate::shard::ShardInfo>,
) -> Result<RunRecord> {
    let mut plan = plan_suite(root, suite)?;
    let selected = merge::shard_selection(&plan, shard);
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
        let result = scenario::run_fixture(
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
    merge::write_record_of_shard(&metrics_path, &record, shard)?;
    inform(common, &format!("metrics: {}", metrics_path.display()));
    if !suite.no_history {
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
fn settle_generated(
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
        let request =
            crate::protocol::WorkerRequest::new(&copy.config_path, WorkerScenario::Clean, 0, false);
        runner
            .run(&request)
            .with_context(|| format!("settling `{}`: its clean build failed", fixture.name))?;
        let _ = std::fs::remove_dir_all(scratch.join("settle"));
    }
    Ok(())
}

fn new_record(started_at: &str, machine: MachineInfo, root: &Path) -> RunRecord {
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
fn unique_run_dir(root: &Path, started_at: &str) -> Result<PathBuf> {
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

fn write_record(path: &Path, record: &RunRecord) -> Result<()> {
    merge::write_record_of_shard(path, record, None)
}

/// Writes `value` (a record with its summaries) as pretty JSON.
fn write_record_value(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut json =
        serde_json::to_string_pretty(value).context("cannot serialize the run record")?;
    json.push('\n');
    crate::fsutil::write_atomic(path, json.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The record as JSON with each metric's summary (n, median, MAD, CV and
/// the median's 95% interval) beside its raw samples, as the terminal table
/// shows them. Readers ignore the summaries: the samples are the data.
fn with_summaries(record: &RunRecord) -> Result<serde_json::Value> {
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

fn read_record(path: &Path) -> Result<RunRecord> {
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

fn warn_about_instructions(options: &ScenarioOptions, runner: &ProcessRunner, common: &CommonArgs) {
    if options.instructions && !runner.can_count_instructions() {
        // Said once here; each scenario also carries it as a note.
        inform(
            common,
            &format!("warning: {}", crate::runner::RunError::ValgrindMissing),
        );
    }
}

/// Progress steps: one per priming, warm-up, measured and instruction run.
fn total_steps(plan: &SuitePlan) -> u64 {
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

/// A progress bar on stderr; hidden with --quiet or when stderr is not a terminal.
fn progress_bar(common: &CommonArgs, total: u64) -> ProgressBar {
    if common.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("[{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn show_progress(bar: &ProgressBar, side: Option<Side>, event: &ProgressEvent) {
    let side = match side {
        Some(Side::Base) => "base ",
        Some(Side::Head) => "head ",
        None => "",
    };
    bar.set_message(format!(
        "{side}{} {} {} {}/{}",
        event.fixture,
        event.scenario.name(),
        event.stage,
        event.index + 1,
        event.of
    ));
    bar.inc(1);
}

fn write_exports(
    record: &RunRecord,
    gate: Option<&GateReport>,
    exports: &ExportArgs,
    common: &CommonArgs,
) -> Result<()> {
    let requested = exports.requested();
    if requested.is_empty() {
        return Ok(());
    }
    let input = ExportInput::new(record, gate, &BootstrapConfig::default());
    for (format, path) in requested {
        let contents = export::export(format, &input)?;
        export::write_export(path, &contents)?;
        inform(common, &format!("{}: {}", format.name(), path.display()));
    }
    Ok(())
}

fn cmd_generate(args: &GenerateArgs) -> Result<Outcome> {
    let Some(mut spec) = GenerateSpec::preset(&args.preset) else {
        bail!(
            "unknown preset `{}`; valid presets: {}",
            args.preset,
            GenerateSpec::presets().join(", ")
        );
    };
    let customized = args.files.is_some()
        || args.gql_ratio.is_some()
        || args.object_types.is_some()
        || args.fragments.is_some()
        || args.operations.is_some()
        || args.seed.is_some();
    spec.files = args.files.unwrap_or(spec.files);
    spec.gql_ratio = args.gql_ratio.unwrap_or(spec.gql_ratio);
    spec.object_types = args.object_types.unwrap_or(spec.object_types);
    spec.fragments = args.fragments.unwrap_or(spec.fragments);
    spec.operations = args.operations.unwrap_or(spec.operations);
    spec.seed = args.seed.unwrap_or(spec.seed);
    if customized {
        // A resized preset must not overwrite the cached preset of the same name.
        spec.name = format!("{}-custom", spec.name);
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => fixtures::generated_fixture_dir(&workspace_root(&args.common)?, &spec.name),
    };
    let project = generate::generate(&spec, &out)?;
    let verb = if project.reused {
        "reused"
    } else {
        "generated"
    };
    println!(
        "{verb} `{}` in {}: {} files ({} with definitions), {} fragments, {} operations",
        spec.name,
        project.root.display(),
        project.files,
        project.definition_files,
        project.fragments,
        project.operations
    );
    Ok(Outcome::Clean)
}

/// The results to save or check: `--from` a metrics.json, or a fresh suite run.
fn record_from_or_run(
    from: Option<&Path>,
    root: &Path,
    suite: &SuiteArgs,
    common: &CommonArgs,
) -> Result<RunRecord> {
    match from {
        Some(path) => read_record(path),
        None => run_suite(root, suite, common),
    }
}

fn cmd_baseline_save(args: &BaselineSaveArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let record = record_from_or_run(args.from.as_deref(), &root, &args.suite, &args.common)?;
    if args.from.is_none() {
        print!("{}", export::render_table(&record));
    }
    let written = baseline::save_baseline(&root.join(REPORTS_DIR), &args.name, &record)?;
    println!(
        "saved baseline `{}` for machine `{}`: {} file(s) under {}",
        args.name,
        record.machine.key,
        written.len(),
        baseline::baseline_dir(&root.join(REPORTS_DIR), &record.machine.key, &args.name).display()
    );
    Ok(Outcome::Clean)
}

fn cmd_baseline_list(args: &BaselineListArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let baselines = baseline::list_baselines(&root.join(REPORTS_DIR))?;
    if baselines.is_empty() {
        println!("no baselines yet; create one with `soda-perf baseline save --name main`");
        return Ok(Outcome::Clean);
    }
    let here = detect_machine().key;
    for summary in baselines {
        let marker = if summary.machine_key == here {
            "*"
        } else {
            " "
        };
        let commits: Vec<String> = summary
            .commits
            .iter()
            .map(|c| c.chars().take(8).collect())
            .collect();
        println!(
            "{marker} {:<40} {:<12} {:>3} scenario(s)  saved {}  commits {}",
            summary.machine_key,
            summary.name,
            summary.scenarios,
            summary.latest_saved_at.as_deref().unwrap_or("?"),
            if commits.is_empty() {
                "?".to_string()
            } else {
                commits.join(",")
            }
        );
        for path in &summary.unreadable {
            println!("    unreadable: {}", path.display());
        }
    }
    println!("(* = this machine, {here})");
    Ok(Outcome::Clean)
}

fn gate_config(threshold: f64) -> Result<GateConfig> {
    let config = GateConfig {
        threshold_pct: threshold,
        ..GateConfig::default()
    };
    config.validate().context("invalid --threshold")?;
    Ok(config)
}

/// The baseline `name` of `machine`, else the most recently saved one of
/// that name from any machine; `true` when it is another machine's.
fn load_baseline_for(
    reports: &Path,
    name: &str,
    machine: &MachineInfo,
) -> Result<(baseline::Baseline, bool)> {
    match baseline::load_baseline(reports, &machine.key, name) {
        Ok(found) => Ok((found, false)),
        Err(not_found @ BaselineError::NotFound { .. }) => {
            let elsewhere = baseline::list_baselines(reports)?
                .into_iter()
                .filter(|summary| summary.name == name && summary.scenarios > 0)
                .max_by(|a, b| a.latest_saved_at.cmp(&b.latest_saved_at));
            match elsewhere {
                Some(other) => Ok((
                    baseline::load_baseline(reports, &other.machine_key, name)?,
                    true,
                )),
                None => Err(not_found.into()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// The commit whose binary the interleaving runs: the baseline entries'
/// commit (the most recently saved one when entries differ).
fn baseline_commit(base: &baseline::Baseline, common: &CommonArgs) -> Result<String> {
    let latest = base
        .entries
        .iter()
        .filter(|entry| entry.git.commit.is_some())
        .max_by(|a, b| a.saved_at.cmp(&b.saved_at));
    let Some(entry) = latest else {
        bail!(
            "baseline `{}` records no commit, so its build cannot be rebuilt; save it again from a git checkout (`soda-perf baseline save --name {}`)",
            base.name,
            base.name
        );
    };
    let commits = base.commits();
    if commits.len() > 1 {
        inform(
            common,
            &format!(
                "note: baseline `{}` holds entries of {} commits; interleaving against the latest, {}",
                base.name,
                commits.len(),
                entry.git.commit.as_deref().unwrap_or("?")
            ),
        );
    }
    if entry.git.dirty {
        inform(
            common,
            "note: the baseline was saved from a tree with uncommitted changes; the interleaving runs its commit as committed",
        );
    }
    Ok(entry.git.commit.clone().unwrap_or_default())
}

fn cmd_check(args: &CheckArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let reports = root.join(REPORTS_DIR);
    let config = gate_config(args.threshold)?;
    let paired = args.paired.config();
    // Fail fast on a missing baseline, before minutes of measuring.
    let machine = match &args.from {
        Some(path) => read_record(path)?.machine,
        None => detect_machine(),
    };
    let (base, foreign_machine) = load_baseline_for(&reports, &args.baseline, &machine)?;
    if foreign_machine {
        inform(
            &args.common,
            &format!(
                "note: baseline `{}` was saved on `{}`, this is `{}`: its stored numbers say nothing here, so every timing row is decided by interleaving against the baseline commit's binary, and counts are compared with that binary's",
                base.name, base.machine.key, machine.key
            ),
        );
    }
    let base_label = format!("baseline `{}`", base.name);
    if let Some(from) = &args.from {
        let record = read_record(from)?;
        let mut gate = verdict::compare_fixtures(&base.fixtures, &record.fixtures, &config);
        crate::gate::screen_only(&mut gate);
        print!(
            "{}",
            compare::render_gate_table(&gate, &base_label, "this run")
        );
        print!("{}", crate::gate::render_unresolved(&gate));
        let check = export::verdicts::ScreenCheck {
            record: &record,
            baseline: &base,
            foreign_machine,
            paired,
            report: &gate,
        }
        .to_record();
        write_verdict_exports(&check, &record, &gate, &args.exports, &args.common)?;
        return Ok(outcome_of(&gate));
    }
    let sha = baseline_commit(&base, &args.common)?;
    let base_exe = crate::gate::builds::ensure_build(
        &root,
        &sha,
        &mut crate::gate::builds::CargoWorktreeBuild,
        &mut |line| eprintln!("{line}"),
    )?;
    let record = run_suite(&root, &args.suite, &args.common)?;
    print!("{}", export::render_table(&record));
    let plan = plan_suite(&root, &args.suite)?;
    let base_options = ScenarioOptions {
        inject: None,
        ..plan.options.clone()
    };
    let run_dir = unique_run_dir(&root, &format!("check-{}", record.started_at))?;
    let scratch = run_dir.join("work");
    let mut base_runner = ProcessRunner::new(base_exe, scratch.join("cachegrind"));
    let mut head_runner = ProcessRunner::current_exe(scratch.join("cachegrind"))?;
    let progress = progress_bar(&args.common, 0);
    let check_plan = crate::gate::CheckPlan {
        baseline: &base.fixtures,
        current: &record.fixtures,
        fixtures: &plan.fixtures,
        base_options: &base_options,
        head_options: &plan.options,
        gate: &config,
        paired: &paired,
        foreign_machine,
        work_dir: &scratch,
    };
    let screen = verdict::compare_fixtures(&base.fixtures, &record.fixtures, &config);
    let suspects = crate::gate::suspects(&screen, &record.fixtures, foreign_machine);
    if !suspects.is_empty() {
        inform(
            &args.common,
            &format!(
                "interleaving {} fixture × scenario(s) against {} ({} to {} pairs each):",
                suspects.len(),
                &sha[..sha.len().min(10)],
                paired.initial_pairs,
                paired.max_pairs
            ),
        );
        for (fixture, scenario, why) in &suspects {
            inform(&args.common, &format!("  {fixture}/{scenario}: {why}"));
        }
    }
    let outcome = crate::gate::decide(
        &check_plan,
        &mut base_runner,
        &mut head_runner,
        &mut |side, event| show_progress(&progress, Some(side), event),
    )
    .context("the interleaved confirmation failed")?;
    progress.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    let gate = outcome.report;
    println!();
    print!(
        "{}",
        compare::render_gate_table(&gate, &base_label, "this run")
    );
    print!("{}", crate::gate::render_unresolved(&gate));
    let counts = gate.counts();
    let check = crate::gate::CheckRecord {
        format: crate::gate::CheckRecord::FORMAT.to_string(),
        format_version: crate::gate::CHECK_FORMAT_VERSION,
        started_at: record.started_at.clone(),
        machine_key: machine.key.clone(),
        baseline: base.name.clone(),
        baseline_machine_key: base.machine.key.clone(),
        baseline_commit: Some(sha.clone()),
        head_commit: record.git.commit.clone(),
        head_dirty: record.git.dirty,
        foreign_machine,
        paired,
        exit_code: gate.exit_code(),
        counts: crate::gate::CheckCounts {
            regressed: counts.regressed,
            improved: counts.improved,
            unchanged: counts.unchanged,
            inconclusive: counts.inconclusive,
        },
        interleaved: outcome
            .interleaved
            .iter()
            .map(|run| {
                let reason = suspects
                    .iter()
                    .find(|(f, s, _)| *f == run.fixture && *s == run.scenario)
                    .map(|(_, _, why)| why.clone())
                    .unwrap_or_default();
                crate::gate::InterleavedSummary::of(run, reason)
            })
            .collect(),
        report: gate.clone(),
    };
    write_record(&run_dir.join("metrics.json"), &record)?;
    let check_json = serde_json::to_string_pretty(&check).context("cannot serialize the check")?;
    crate::fsutil::write_atomic(&run_dir.join("check.json"), check_json.as_bytes())
        .with_context(|| format!("cannot write {}", run_dir.join("check.json").display()))?;
    if !args.suite.no_history {
        let path = crate::gate::append_check(&reports, &check)
            .context("cannot append the check to its history")?;
        inform(
            &args.common,
            &format!("check history: appended to {}", path.display()),
        );
    }
    write_verdict_exports(&check, &record, &gate, &args.exports, &args.common)?;
    Ok(outcome_of(&gate))
}

/// `--export-json` of a verdict: the versioned verdict record (rows,
/// reasons, exit status) instead of the run record; the other formats as
/// `run` writes them, with the gate's findings.
fn write_verdict_exports<T: serde::Serialize>(
    verdict_record: &T,
    record: &RunRecord,
    gate: &GateReport,
    exports: &ExportArgs,
    common: &CommonArgs,
) -> Result<()> {
    if let Some(path) = &exports.export_json {
        export::write_export(path, &export::verdicts::to_json(verdict_record)?)?;
        inform(common, &format!("json: {}", path.display()));
    }
    let other_exports = ExportArgs {
        export_json: None,
        ..exports.clone()
    };
    write_exports(record, Some(gate), &other_exports, common)
}

fn outcome_of(gate: &GateReport) -> Outcome {
    if gate.has_regressions() {
        Outcome::Regression
    } else {
        Outcome::Clean
    }
}

fn cmd_selftest(args: &SelftestArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let config = gate_config(args.threshold)?;
    let paired = args.paired.config();
    let plan = plan_suite(&root, &args.suite)?;
    let run_dir = unique_run_dir(
        &root,
        &format!(
            "selftest-{}",
            format_rfc3339_utc(std::time::SystemTime::now())
        ),
    )?;
    let scratch = run_dir.join("work");
    let mut base_runner = ProcessRunner::current_exe(scratch.join("cachegrind"))?;
    let mut head_runner = ProcessRunner::current_exe(scratch.join("cachegrind"))?;
    settle_generated(&plan.fixtures, &scratch, &mut base_runner)?;
    let options = ScenarioOptions {
        inject: None,
        ..plan.options.clone()
    };
    let selftest_plan = crate::gate::selftest::SelftestPlan {
        fixtures: &plan.fixtures,
        scenarios: &plan.scenarios,
        options: &options,
        runs: args.runs as usize,
        slowdown_pct: args.slowdown_pct,
        gate: &config,
        paired: &paired,
        resamples: args.resamples as usize,
        work_dir: &scratch,
    };
    let progress = progress_bar(&args.common, 0);
    let report = crate::gate::selftest::run_selftest(
        &selftest_plan,
        &mut base_runner,
        &mut head_runner,
        &mut |tag, side, event| {
            progress.set_message(format!(
                "{tag} {side:?} {} {} {} {}/{}",
                event.fixture,
                event.scenario.name(),
                event.stage,
                event.index + 1,
                event.of
            ));
            progress.tick();
        },
    )
    .context("the selftest's interleaved runs failed")?;
    progress.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    let text = crate::gate::selftest::render(&report, &config, &paired);
    print!("{text}");
    crate::fsutil::write_atomic(&run_dir.join("selftest.txt"), text.as_bytes())
        .with_context(|| format!("cannot write {}", run_dir.display()))?;
    Ok(Outcome::Clean)
}

fn cmd_compare(args: &CompareArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let config = gate_config(args.threshold)?;
    let plan = plan_suite(&root, &args.suite)?;
    let base = compare::resolve_revision(&root, &args.base)?;
    let head = match &args.head {
        Some(rev) => compare::resolve_revision(&root, rev)?,
        None => Revision::WorkingTree,
    };
    compare_revisions(&root, &base, &head, &plan, &config, args)
}

fn compare_revisions(
    root: &Path,
    base: &Revision,
    head: &Revision,
    plan: &SuitePlan,
    config: &GateConfig,
    args: &CompareArgs,
) -> Result<Outcome> {
    let started_at = format_rfc3339_utc(std::time::SystemTime::now());
    let run_dir = unique_run_dir(root, &format!("compare-{started_at}"))?;
    let scratch = run_dir.join("work");
    let build = |revision: &Revision| -> Result<PathBuf> {
        match revision {
            Revision::WorkingTree => {
                inform(
                    &args.common,
                    &format!("building soda-perf for {} …", revision.label()),
                );
                Ok(compare::build_soda_perf(root, None)?)
            }
            // A commit's binary is built once (in a worktree, with the target
            // directory every revision shares) and kept under .cache/perf/builds.
            Revision::Commit { sha, .. } => Ok(crate::gate::builds::ensure_build(
                root,
                sha,
                &mut crate::gate::builds::CargoWorktreeBuild,
                &mut |line| inform(&args.common, line),
            )?),
        }
    };
    let base_exe = build(base)?;
    let head_exe = build(head)?;
    let mut base_runner = ProcessRunner::new(base_exe, scratch.join("cachegrind"));
    let mut head_runner = ProcessRunner::new(head_exe, scratch.join("cachegrind"));
    warn_about_instructions(&plan.options, &base_runner, &args.common);

    let machine = detect_machine();
    let mut base_record = new_record(&started_at, machine.clone(), root);
    let mut head_record = new_record(&started_at, machine, root);
    // The git field says which revision each side measured.
    base_record.git = revision_git(root, base);
    head_record.git = revision_git(root, head);
    let progress = progress_bar(&args.common, 2 * total_steps(plan));
    for fixture in &plan.fixtures {
        let mut base_scenarios = Vec::new();
        let mut head_scenarios = Vec::new();
        for &scenario in &plan.scenarios {
            let work_dir = scratch.join(&fixture.name).join(scenario.name());
            let paired = compare::run_paired(
                fixture,
                scenario,
                &plan.options,
                &work_dir,
                &mut base_runner as &mut dyn Runner,
                &mut head_runner as &mut dyn Runner,
                &mut |side, event| show_progress(&progress, Some(side), event),
            );
            let paired = match paired {
                Ok(paired) => paired,
                Err(err) => {
                    progress.abandon();
                    return Err(err).with_context(|| {
                        format!("comparing on fixture `{}` failed", fixture.name)
                    });
                }
            };
            base_scenarios.push(paired.base);
            head_scenarios.push(paired.head);
        }
        base_record
            .fixtures
            .push(scenario::fixture_result(&fixture.name, base_scenarios));
        head_record
            .fixtures
            .push(scenario::fixture_result(&fixture.name, head_scenarios));
    }
    progress.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    write_record(&run_dir.join("base.json"), &base_record)?;
    write_record(&run_dir.join("head.json"), &head_record)?;
    inform(
        &args.common,
        &format!("raw samples: {}/{{base,head}}.json", run_dir.display()),
    );

    let gate = verdict::compare_fixtures(&base_record.fixtures, &head_record.fixtures, config);
    print!(
        "{}",
        compare::render_gate_table(&gate, &base.label(), &head.label())
    );
    if let Some(path) = &args.export_markdown {
        let input = ExportInput::new(&head_record, Some(&gate), &BootstrapConfig::default())
            .with_base(base.label());
        export::write_export(path, &export::export(ExportFormat::Markdown, &input)?)?;
    }
    if let Some(path) = &args.export_json {
        let record = export::verdicts::CompareRecord::new(
            export::verdicts::RevisionInfo::new(base.label(), &base_record.git),
            export::verdicts::RevisionInfo::new(head.label(), &head_record.git),
            &head_record,
            &gate,
        );
        export::write_export(path, &export::verdicts::to_json(&record)?)?;
        inform(&args.common, &format!("json: {}", path.display()));
    }
    Ok(if gate.has_regressions() {
        Outcome::Regression
    } else {
        Outcome::Clean
    })
}

fn revision_git(root: &Path, revision: &Revision) -> GitInfo {
    match revision {
        Revision::WorkingTree => detect_git(root),
        Revision::Commit { rev, sha } => GitInfo {
            commit: Some(sha.clone()),
            branch: Some(rev.clone()),
            dirty: false,
        },
    }
}

fn cmd_report(args: &ReportArgs) -> Result<Outcome> {
    use crate::report::{comparison, sweep, verdicts};
    let root = workspace_root(&args.common);
    let machine_key = detect_machine().key;
    let history_path = match (&args.history, &root) {
        (Some(path), _) => path.clone(),
        (None, Ok(root)) => history::history_path(&root.join(REPORTS_DIR), &machine_key),
        (None, Err(_)) => bail!(
            "no --history given and no workspace root found: pass --history PATH or --root DIR"
        ),
    };
    let out = match (&args.out, &root) {
        (Some(out), _) => out.clone(),
        (None, Ok(root)) => root.join(REPORTS_DIR).join("trend.html"),
        (None, Err(_)) => PathBuf::from(REPORTS_DIR).join("trend.html"),
    };
    let history = history::read_history(&history_path)?;
    for warning in history.warnings(&history_path) {
        eprintln!("warning: {warning}");
    }
    if history.records.is_empty() {
        inform(
            &args.common,
            &format!(
                "note: {} holds no runs yet; the report will be empty",
                history_path.display()
            ),
        );
    }
    // The gate's verdicts as it stored them: the report never judges a run.
    let checks_path = verdicts::checks_path(&history_path);
    let (stored, warnings) = verdicts::read_checks(&checks_path)
        .with_context(|| format!("cannot read {}", checks_path.display()))?;
    for warning in warnings {
        eprintln!("warning: {}: {warning}", checks_path.display());
    }
    let sweep_key = history
        .records
        .last()
        .map_or(machine_key.as_str(), |r| r.machine.key.as_str());
    let sweep = history_path
        .parent()
        .and_then(|dir| sweep::read_last_sweep(&dir.join(format!("{sweep_key}.sweep.jsonl"))));
    let compare_path = match (&args.compare, &root) {
        (Some(path), _) => Some(path.clone()),
        (None, Ok(root)) => comparison::latest_comparison_dir(root),
        (None, Err(_)) => None,
    };
    let comparison = match compare_path {
        Some(path) => match comparison::read_comparison(&path) {
            Ok(c) => Some(c),
            Err(err) if args.compare.is_some() => bail!("{err}"),
            Err(err) => {
                inform(&args.common, &format!("note: no comparison section: {err}"));
                None
            }
        },
        None => None,
    };
    let options = crate::report::ReportOptions {
        window: crate::report::window::WindowSpec {
            last: args.last.map(|n| n as usize),
            since: args.since.clone(),
        },
        ..crate::report::ReportOptions::default()
    };
    let input = crate::report::ReportInput {
        history: &history.records,
        verdicts: stored,
        sweep: sweep.as_ref(),
        comparison,
    };
    let rendered = crate::report::render_report(&input, &options);
    crate::fsutil::write_atomic(&out, rendered.html.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    if rendered.window.cut_by_budget > 0 {
        inform(
            &args.common,
            &format!(
                "note: the {} oldest runs are left out to keep the page under {} MB (--last N / --since DATE choose the window)",
                rendered.window.cut_by_budget,
                crate::report::window::PAGE_BUDGET_BYTES / 1_000_000
            ),
        );
    }
    println!(
        "report: {} ({} of {} run(s), {} KB)",
        out.display(),
        rendered.window.runs.len(),
        rendered.window.total,
        rendered.html.len() / 1000
    );
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults() {
        let cli = Cli::try_parse_from(["soda-perf", "run"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        assert_eq!(args.suite.fixture, "all");
        assert_eq!(args.suite.scenario, "all");
        assert_eq!(args.suite.iterations, 10);
        assert_eq!(args.suite.warmup, 1);
        assert!(!args.suite.instructions);
    }

    #[test]
    fn a_negative_threshold_parses_and_is_refused_by_validation() {
        let cli = Cli::try_parse_from(["soda-perf", "check", "--threshold", "-5"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("check")
        };
        assert_eq!(args.threshold, -5.0);
        let err = gate_config(args.threshold).unwrap_err();
        assert!(format!("{err:#}").contains("non-negative"), "{err:#}");
    }

    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || command.is_hide_set() {
                    continue;
                }
                assert!(
                    arg.get_help().is_some() || arg.get_long_help().is_some(),
                    "{path} --{id} has no help"
                );
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "soda-perf");
    }

    #[test]
    fn metrics_json_carries_summaries_beside_the_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        let mut record = new_record("2025-01-02T03:04:05Z", detect_machine(), dir.path());
        record.fixtures.push(crate::model::FixtureResult {
            fixture: "f".into(),
            files: 1,
            scenarios: vec![crate::model::ScenarioResult {
                scenario: "cold".into(),
                iterations: 3,
                warmup: 0,
                metrics: [(
                    "wall_ms".to_string(),
                    crate::model::MetricSamples {
                        unit: "ms".into(),
                        kind: crate::model::MetricKind::Timing,
                        direction: crate::model::Direction::SmallerIsBetter,
                        samples: vec![1.0, 2.0, 4.0],
                    },
                )]
                .into(),
                verified: None,
                notes: vec![],
            }],
        });
        write_record(&path, &record).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let metric = &json["fixtures"][0]["scenarios"][0]["metrics"]["wall_ms"];
        assert_eq!(metric["samples"].as_array().unwrap().len(), 3);
        assert_eq!(metric["summary"]["n"], 3);
        assert_eq!(metric["summary"]["median"], 2.0);
        assert_eq!(metric["summary"]["mad"], 1.0);
        assert!(metric["summary"]["cv"].as_f64().unwrap() > 0.0);
        assert!(metric["summary"]["ci95_median"]["lower"].as_f64().unwrap() <= 2.0);
        assert_eq!(read_record(&path).unwrap(), record);
    }

    #[test]
    fn pair_defaults_are_the_paired_configs() {
        let cli = Cli::try_parse_from(["soda-perf", "check"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("check")
        };
        assert_eq!(args.paired.config(), crate::gate::PairedConfig::default());
    }

    #[test]
    fn zero_iterations_are_refused() {
        assert!(Cli::try_parse_from(["soda-perf", "run", "--iterations", "0"]).is_err());
    }

    #[test]
    fn exports_are_collected() {
        let cli = Cli::try_parse_from([
            "soda-perf",
            "run",
            "--export-json",
            "a.json",
            "--export-github",
            "g.json",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        let formats: Vec<_> = args
            .exports
            .requested()
            .into_iter()
            .map(|(format, _)| format)
            .collect();
        assert_eq!(formats, vec![ExportFormat::Json, ExportFormat::Github]);
    }

    #[test]
    fn steps_count_every_worker_run() {
        let plan = SuitePlan {
            fixtures: Vec::new(),
            scenarios: vec![WorkerScenario::Cold, WorkerScenario::Warm],
            options: ScenarioOptions {
                iterations: 5,
                warmup: 2,
                instructions: true,
                verify_targeted: true,
                calibrate: false,
                inject: None,
            },
        };
        assert_eq!(total_steps(&plan), 0);
        let plan = SuitePlan {
            fixtures: vec![FixtureLocation {
                name: "x".into(),
                config_path: PathBuf::from("x/c"),
                root: PathBuf::from("x"),
                source: fixtures::FixtureSource::Committed,
            }],
            ..plan
        };
        let counted = scenario::MAX_INSTRUCTION_RUNS as u64;
        assert_eq!(total_steps(&plan), 2 * (1 + 2 + 5 + counted));
    }

    #[test]
    fn run_dirs_are_unique_and_path_safe() {
        let dir = tempfile::tempdir().unwrap();
        let first = unique_run_dir(dir.path(), "2025-01-02T03:04:05Z").unwrap();
        let second = unique_run_dir(dir.path(), "2025-01-02T03:04:05Z").unwrap();
        assert!(first.ends_with("2025-01-02T03-04-05Z"));
        assert!(second.ends_with("2025-01-02T03-04-05Z-2"));
    }

    #[test]
    fn records_round_trip_and_newer_formats_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        let mut record = new_record("2025-01-02T03:04:05Z", detect_machine(), dir.path());
        write_record(&path, &record).unwrap();
        assert_eq!(read_record(&path).unwrap(), record);
        record.format_version = RECORD_FORMAT_VERSION + 1;
        write_record(&path, &record).unwrap();
        assert!(read_record(&path)
            .unwrap_err()
            .to_string()
            .contains("newer"));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(read_record(&path)
            .unwrap_err()
            .to_string()
            .contains("not a soda-perf metrics.json"));
    }
}
