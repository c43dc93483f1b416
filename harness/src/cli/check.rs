//! `soda-perf check`: screen a run against a baseline, confirm suspects by
//! an interleaved run against the baseline commit's binary, record the
//! check and exit 1 on a regression.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::export;
use crate::export::gate_table::render_gate_table;
use crate::gate::verdict::{self, GateConfig, GateReport};
use crate::measure::machine::detect_machine;
use crate::measure::runner::PairedExes;
use crate::measure::scenario::ScenarioOptions;
use crate::model::{MachineInfo, RunRecord};
use crate::store::baseline::{self, BaselineError};

use super::common::{
    gate_config, inform, outcome_of, progress_bar, show_progress, workspace_root, write_exports,
    CommonArgs, ExportArgs, PairedArgs, SuiteArgs,
};
use super::suite::{plan_suite, read_record, run_suite, unique_run_dir, write_record};
use super::{Outcome, REPORTS_DIR};

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
    /// Which timing rows to decide by an interleaved run: `all` (the
    /// default; stored samples can hide a change as well as fake one) or
    /// `suspects`, the rows the stored samples could not clear (cheaper).
    #[arg(long, default_value = "all", value_parser = ["all", "suspects"])]
    pub interleave: String,
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

/// The baseline `name` of `machine`, else the most recently saved one of
/// that name from any machine; `true` when it is another machine's.
pub(super) fn load_baseline_for(
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
pub(super) fn baseline_commit(base: &baseline::Baseline, common: &CommonArgs) -> Result<String> {
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

/// What both ways of checking start from: the gate's options and the
/// baseline, found before minutes of measuring.
struct CheckSetup {
    root: PathBuf,
    reports: PathBuf,
    config: GateConfig,
    paired: crate::gate::PairedConfig,
    machine: MachineInfo,
    base: baseline::Baseline,
    foreign_machine: bool,
    base_label: String,
}

pub(super) fn cmd_check(args: &CheckArgs) -> Result<Outcome> {
    let setup = check_setup(args)?;
    match &args.from {
        Some(from) => check_screen_only(args, &setup, from),
        None => check_interleaved(args, &setup),
    }
}

fn check_setup(args: &CheckArgs) -> Result<CheckSetup> {
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
    Ok(CheckSetup {
        root,
        reports,
        config,
        paired,
        machine,
        base,
        foreign_machine,
        base_label,
    })
}

/// `check --from`: the screen alone (its timing rows can be inconclusive,
/// never regressed).
fn check_screen_only(args: &CheckArgs, setup: &CheckSetup, from: &Path) -> Result<Outcome> {
    let record = read_record(from)?;
    let mut gate = verdict::compare_fixtures(&setup.base.fixtures, &record.fixtures, &setup.config);
    crate::gate::screen_only(&mut gate);
    print!(
        "{}",
        render_gate_table(&gate, &setup.base_label, "this run")
    );
    print!("{}", crate::gate::render_unresolved(&gate));
    let check = export::verdicts::ScreenCheck {
        record: &record,
        baseline: &setup.base,
        foreign_machine: setup.foreign_machine,
        paired: setup.paired,
        report: &gate,
    }
    .to_record();
    write_verdict_exports(&check, &record, &gate, &args.exports, &args.common)?;
    Ok(outcome_of(&gate))
}

fn interleave_of(args: &CheckArgs) -> crate::gate::Interleave {
    match args.interleave.as_str() {
        "suspects" => crate::gate::Interleave::Suspects,
        _ => crate::gate::Interleave::All,
    }
}

/// Measure, screen, confirm the suspects by interleaving against the
/// baseline commit's binary, then record the check.
fn check_interleaved(args: &CheckArgs, setup: &CheckSetup) -> Result<Outcome> {
    let CheckSetup {
        root,
        reports,
        config,
        paired,
        base,
        foreign_machine,
        ..
    } = setup;
    let sha = baseline_commit(base, &args.common)?;
    let base_exe = crate::gate::builds::ensure_build(
        root,
        &sha,
        &mut crate::gate::builds::CargoWorktreeBuild,
        &mut |line| eprintln!("{line}"),
    )?;
    let plan = plan_suite(root, &args.suite)?;
    let record = run_suite(root, &plan, &args.common)?;
    print!("{}", export::render_table(&record));
    let base_options = ScenarioOptions {
        inject: None,
        ..plan.options.clone()
    };
    let run_dir = unique_run_dir(root, &format!("check-{}", record.started_at))?;
    let scratch = run_dir.join("work");
    let exes = PairedExes::with_current_head(&base_exe, &scratch.join("exes"))?;
    let (mut base_runner, mut head_runner) = exes.runners(&scratch.join("cachegrind"));
    let progress = progress_bar(&args.common, 0);
    let check_plan = crate::gate::CheckPlan {
        baseline: &base.fixtures,
        current: &record.fixtures,
        fixtures: &plan.fixtures,
        base_options: &base_options,
        head_options: &plan.options,
        gate: config,
        paired,
        foreign_machine: *foreign_machine,
        interleave: interleave_of(args),
        work_dir: &scratch,
    };
    let screen = verdict::compare_fixtures(&base.fixtures, &record.fixtures, config);
    let suspects = crate::gate::suspects(
        &screen,
        &record.fixtures,
        *foreign_machine,
        interleave_of(args),
    );
    announce_suspects(&args.common, &suspects, &sha, paired);
    let outcome = crate::gate::decide(
        &check_plan,
        &mut base_runner,
        &mut head_runner,
        &mut |side, event| show_progress(&progress, Some(side), event),
    )
    .context("the interleaved confirmation failed")?;
    progress.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    println!();
    print!(
        "{}",
        render_gate_table(&outcome.report, &setup.base_label, "this run")
    );
    print!("{}", crate::gate::render_unresolved(&outcome.report));
    let check = check_record(setup, &sha, &record, &suspects, &outcome);
    let gate = outcome.report;
    write_record(&run_dir.join("metrics.json"), &record)?;
    let check_json = serde_json::to_string_pretty(&check).context("cannot serialize the check")?;
    crate::store::atomic::write_atomic(&run_dir.join("check.json"), check_json.as_bytes())
        .with_context(|| format!("cannot write {}", run_dir.join("check.json").display()))?;
    if !args.suite.no_history {
        let path = crate::gate::append_check(reports, &check)
            .context("cannot append the check to its history")?;
        inform(
            &args.common,
            &format!("check history: appended to {}", path.display()),
        );
    }
    write_verdict_exports(&check, &record, &gate, &args.exports, &args.common)?;
    Ok(outcome_of(&gate))
}

/// Says which fixture × scenarios will be interleaved, and why.
fn announce_suspects(
    common: &CommonArgs,
    suspects: &[crate::gate::Suspect],
    sha: &str,
    paired: &crate::gate::PairedConfig,
) {
    if suspects.is_empty() {
        return;
    }
    inform(
        common,
        &format!(
            "interleaving {} fixture × scenario(s) against {} ({} to {} pairs each):",
            suspects.len(),
            &sha[..sha.len().min(10)],
            paired.initial_pairs,
            paired.max_pairs
        ),
    );
    for suspect in suspects {
        let crate::gate::Suspect {
            fixture,
            scenario,
            why,
        } = suspect;
        inform(common, &format!("  {fixture}/{scenario}: {why}"));
    }
}

/// The versioned record of an interleaved check (check.json, the check history).
fn check_record(
    setup: &CheckSetup,
    sha: &str,
    record: &RunRecord,
    suspects: &[crate::gate::Suspect],
    outcome: &crate::gate::CheckOutcome,
) -> crate::gate::CheckRecord {
    let gate = &outcome.report;
    let counts = gate.counts();
    crate::gate::CheckRecord {
        format: crate::gate::CheckRecord::FORMAT.to_string(),
        format_version: crate::gate::CHECK_FORMAT_VERSION,
        started_at: record.started_at.clone(),
        machine_key: setup.machine.key.clone(),
        baseline: setup.base.name.clone(),
        baseline_machine_key: setup.base.machine.key.clone(),
        baseline_commit: Some(sha.to_string()),
        head_commit: record.git.commit.clone(),
        head_dirty: record.git.dirty,
        foreign_machine: setup.foreign_machine,
        paired: setup.paired,
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
                    .find(|suspect| {
                        suspect.fixture == run.fixture && suspect.scenario == run.scenario
                    })
                    .map(|suspect| suspect.why.clone())
                    .unwrap_or_default();
                crate::gate::InterleavedSummary::of(run, reason)
            })
            .collect(),
        report: gate.clone(),
    }
}

/// `--export-json` of a verdict: the versioned verdict record (rows,
/// reasons, exit status) instead of the run record; the other formats as
/// `run` writes them, with the gate's findings.
pub(super) fn write_verdict_exports<T: serde::Serialize>(
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
