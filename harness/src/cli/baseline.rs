//! `soda-perf baseline save|list`: named baselines per machine.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::export;
use crate::measure::machine::detect_machine;
use crate::store::baseline;

use super::common::{workspace_root, CommonArgs, SuiteArgs};
use super::suite::record_from_or_run;
use super::{Outcome, REPORTS_DIR};

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

pub(super) fn cmd_baseline_save(args: &BaselineSaveArgs) -> Result<Outcome> {
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

pub(super) fn cmd_baseline_list(args: &BaselineListArgs) -> Result<Outcome> {
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
