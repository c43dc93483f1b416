//! `soda-perf compare --base REV [--head REV]`: builds both revisions
//! (a kept per-commit build, or the working tree), runs them paired on the
//! same fixtures and judges every metric.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::export::gate_table::render_gate_table;
use crate::export::{self, ExportFormat, ExportInput};
use crate::gate::verdict::{self, GateConfig};
use crate::measure::git::{self, Revision};
use crate::measure::machine::{detect_git, detect_machine};
use crate::measure::runner::{PairedExes, Runner};
use crate::measure::scenario;
use crate::measure::schedule;
use crate::model::{format_rfc3339_utc, GitInfo};
use crate::stats::BootstrapConfig;

use super::common::{
    gate_config, inform, progress_bar, show_progress, workspace_root, CommonArgs, SuiteArgs,
};
use super::suite::{
    new_record, plan_suite, total_steps, unique_run_dir, warn_about_instructions, write_record,
    SuitePlan,
};
use super::Outcome;

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

pub(super) fn cmd_compare(args: &CompareArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let config = gate_config(args.threshold)?;
    let plan = plan_suite(&root, &args.suite)?;
    let base = git::resolve_revision(&root, &args.base)?;
    let head = match &args.head {
        Some(rev) => git::resolve_revision(&root, rev)?,
        None => Revision::WorkingTree,
    };
    compare_revisions(&root, &base, &head, &plan, &config, args)
}

pub(super) fn compare_revisions(
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
                Ok(git::build_soda_perf(root, None)?)
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
    let exes = PairedExes::copy(&base_exe, &head_exe, &scratch.join("exes"))?;
    let (mut base_runner, mut head_runner) = exes.runners(&scratch.join("cachegrind"));
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
            let paired = schedule::run_paired(
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
    print!("{}", render_gate_table(&gate, &base.label(), &head.label()));
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

pub(super) fn revision_git(root: &Path, revision: &Revision) -> GitInfo {
    match revision {
        Revision::WorkingTree => detect_git(root),
        Revision::Commit { rev, sha } => GitInfo {
            commit: Some(sha.clone()),
            branch: Some(rev.clone()),
            dirty: false,
        },
    }
}
