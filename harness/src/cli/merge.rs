//! `run --shard i/n` and `merge`: the command-line side of [`crate::model::shard`].
//! A shard runs its part of the plan and writes a metrics.json that carries
//! the whole plan and its place in it; it never appends to the history (a
//! partial run there would read as a run that lost scenarios). `merge`
//! joins every shard's record, writes one metrics.json and, with
//! `--history`, appends it to the history, as an unsharded `run --history` would.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::export;
use crate::model::shard::{self, ShardInfo, ShardSpec};
use crate::store::history;

use super::common::{inform, workspace_root, write_exports, CommonArgs, ExportArgs, SuiteArgs};
use super::suite::{
    plan_suite, run_suite_sharded, unique_run_dir, write_record_of_shard, SuitePlan,
};
use super::{Outcome, REPORTS_DIR};

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The metrics.json (or `--export-json` file) of every shard of one run.
    #[arg(required = true, value_name = "METRICS_JSON")]
    pub shards: Vec<PathBuf>,
    /// Where to write the merged run record (default: .cache/perf/<start>-merged/metrics.json).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Append the merged run to reports/history/<machine>.jsonl (off by
    /// default, as for `run`: those files are tracked by git).
    #[arg(long)]
    pub history: bool,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub exports: ExportArgs,
}

/// The whole plan of `suite` and this shard's place in it.
fn shard_info(plan: &SuitePlan, spec: ShardSpec) -> ShardInfo {
    let fixtures: Vec<String> = plan.fixtures.iter().map(|f| f.name.clone()).collect();
    let scenarios: Vec<String> = plan
        .scenarios
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    ShardInfo {
        index: spec.index,
        count: spec.count,
        plan: shard::plan_entries(&fixtures, &scenarios),
    }
}

/// `run --shard i/n`: the suite, common and export arguments of `run`.
pub(super) fn cmd_run_shard(
    root: &Path,
    suite: &SuiteArgs,
    common: &CommonArgs,
    exports: &ExportArgs,
    spec: ShardSpec,
) -> Result<Outcome> {
    let mut plan = plan_suite(root, suite)?;
    let info = shard_info(&plan, spec);
    // A shard never appends: a partial run there would read as a run that
    // lost scenarios.
    plan.append_history = false;
    let record = run_suite_sharded(root, &plan, common, Some(&info))?;
    print!("{}", export::render_table(&record));
    inform(
        common,
        &format!(
            "shard {spec}: {} of {} fixture × scenario(s); not appended to the history (`soda-perf merge` does that)",
            record.fixtures.iter().map(|f| f.scenarios.len()).sum::<usize>(),
            info.plan.len()
        ),
    );
    if let Some(path) = &exports.export_json {
        write_record_of_shard(path, &record, Some(&info))?;
        inform(common, &format!("json: {}", path.display()));
    }
    let other_exports = ExportArgs {
        export_json: None,
        ..exports.clone()
    };
    write_exports(&record, None, &other_exports, common)?;
    Ok(Outcome::Clean)
}

/// `merge <metrics.json>...`.
pub(super) fn cmd_merge(args: &MergeArgs) -> Result<Outcome> {
    let mut shards = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        shards.push(shard::parse_shard(&path.display().to_string(), &text)?);
    }
    let record = shard::merge(&shards)?;
    let keys = shard::machine_keys(&shards);
    if keys.len() > 1 {
        inform(
            &args.common,
            &format!(
                "note: the shards ran on {} machines ({}); the merged run is filed under {}",
                keys.len(),
                keys.join(", "),
                record.machine.key
            ),
        );
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => {
            let root = workspace_root(&args.common)?;
            unique_run_dir(&root, &format!("{}-merged", record.started_at))?.join("metrics.json")
        }
    };
    write_record_of_shard(&out, &record, None)?;
    print!("{}", export::render_table(&record));
    inform(
        &args.common,
        &format!("merged {} shard(s): {}", shards.len(), out.display()),
    );
    if args.history {
        let root = workspace_root(&args.common)?;
        let path = history::append_run(&root.join(REPORTS_DIR), &record)?;
        inform(
            &args.common,
            &format!("history: appended to {}", path.display()),
        );
    }
    write_exports(&record, None, &args.exports, &args.common)?;
    Ok(Outcome::Clean)
}
