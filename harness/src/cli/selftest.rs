//! `soda-perf selftest`: the gate's own false-alarm and detection rates
//! on this machine.

use anyhow::{Context, Result};
use clap::Args;

use crate::measure::runner::PairedExes;
use crate::measure::scenario::ScenarioOptions;
use crate::model::format_rfc3339_utc;

use super::common::{gate_config, progress_bar, workspace_root, CommonArgs, PairedArgs, SuiteArgs};
use super::suite::{plan_suite, settle_generated, unique_run_dir};
use super::Outcome;

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

pub(super) fn cmd_selftest(args: &SelftestArgs) -> Result<Outcome> {
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
    let exes = PairedExes::of_current_exe(&scratch.join("exes"))?;
    let (mut base_runner, mut head_runner) = exes.runners(&scratch.join("cachegrind"));
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
    crate::store::atomic::write_atomic(&run_dir.join("selftest.txt"), text.as_bytes())
        .with_context(|| format!("cannot write {}", run_dir.display()))?;
    Ok(Outcome::Clean)
}
