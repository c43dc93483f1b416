//! `import criterion [DIR]`: criterion's results (`builder/benches/`) as one
//! run record of the fixture `micro`, appended (`--history`) to this machine's history so
//! the trend report shows micro and macro results together.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::measure::import_criterion::{read_criterion_dir, MICRO_FIXTURE};
use crate::measure::machine::detect_machine;
use crate::model::{format_rfc3339_utc, FixtureResult};
use crate::store::history;

use super::common::{inform, workspace_root, write_exports, CommonArgs, ExportArgs};
use super::suite::new_record;
use super::{Outcome, REPORTS_DIR};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Read criterion's estimates.json (and sample.json) under DIR into the history.
    Criterion(ImportCriterionArgs),
}

#[derive(Debug, Args)]
pub struct ImportCriterionArgs {
    /// Criterion's output directory (default: target/criterion under the workspace root).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Append the results to reports/history/<machine>.jsonl (off by
    /// default, as for `run`: print and export only).
    #[arg(long)]
    pub history: bool,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub exports: ExportArgs,
}

pub(super) fn cmd_import(command: &ImportCommand) -> Result<Outcome> {
    match command {
        ImportCommand::Criterion(args) => import_criterion(args),
    }
}

fn import_criterion(args: &ImportCriterionArgs) -> Result<Outcome> {
    let root = workspace_root(&args.common)?;
    let dir = match &args.dir {
        Some(dir) if dir.is_relative() => std::env::current_dir()
            .context("cannot read the current directory")?
            .join(dir),
        Some(dir) => dir.clone(),
        None => root.join("target").join("criterion"),
    };
    let scenarios = read_criterion_dir(&dir)?;
    let started_at = format_rfc3339_utc(std::time::SystemTime::now());
    let mut record = new_record(&started_at, detect_machine(), &root);
    record.fixtures.push(FixtureResult {
        fixture: MICRO_FIXTURE.to_string(),
        files: 0,
        scenarios,
    });
    print!("{}", crate::export::render_table(&record));
    if args.history {
        let path = history::append_run(&root.join(REPORTS_DIR), &record)?;
        inform(
            &args.common,
            &format!(
                "history: appended {} benchmark(s) as fixture `{MICRO_FIXTURE}` to {}",
                record.fixtures[0].scenarios.len(),
                path.display()
            ),
        );
    }
    write_exports(&record, None, &args.exports, &args.common)?;
    Ok(Outcome::Clean)
}
