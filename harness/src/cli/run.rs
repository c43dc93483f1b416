//! `soda-perf run`: measure fixtures × scenarios, print the table, save
//! metrics.json (and, with `--history`, append to the history); also the
//! preset sweep (`--preset-sweep`) and, via `merge.rs`, shards.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;

use crate::export;
use crate::fixtures;
use crate::measure::scenario::ScenarioName;

use super::common::{inform, workspace_root, write_exports, CommonArgs, ExportArgs, SuiteArgs};
use super::suite::{plan_suite, run_suite, suite_options, SuitePlan};
use super::{merge, Outcome, REPORTS_DIR};

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
    pub shard: Option<crate::model::shard::ShardSpec>,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub exports: ExportArgs,
}

pub(super) fn cmd_run(args: &RunArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    if let Some(presets) = &args.preset_sweep {
        return cmd_sweep(&root, args, presets);
    }
    if let Some(shard) = args.shard {
        return merge::cmd_run_shard(&root, &args.suite, &args.common, &args.exports, shard);
    }
    let mut plan = plan_suite(&root, &args.suite)?;
    // `run` appends only when asked to (`--history`).
    plan.append_history &= args.history;
    let record = run_suite(&root, &plan, &args.common)?;
    print!("{}", export::render_table(&record));
    write_exports(&record, None, &args.exports, &args.common)?;
    Ok(Outcome::Clean)
}

/// `run --preset-sweep`: the presets as fixtures, cold/warm/targeted unless
/// `--scenario` says otherwise, recorded apart from the run history.
pub(super) fn cmd_sweep(root: &Path, args: &RunArgs, presets: &str) -> Result<Outcome> {
    use crate::report::sweep;
    let presets = sweep::parse_presets(presets).map_err(anyhow::Error::msg)?;
    let scenarios = if args.suite.scenario == "all" {
        sweep::SWEEP_SCENARIOS
    } else {
        args.suite.scenario.as_str()
    };
    let scenarios = ScenarioName::parse_list(scenarios)?;
    let plan = SuitePlan {
        fixtures: fixtures::resolve_fixture_names(root, &presets)?,
        scenarios,
        options: suite_options(&args.suite),
        // A sweep goes to its own file (below), never the run history.
        append_history: false,
    };
    let record = run_suite(root, &plan, &args.common)?;
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
