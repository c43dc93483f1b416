//! `soda-perf report`: the HTML trend report from the run history.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::measure::machine::detect_machine;
use crate::store::history;

use super::common::{inform, workspace_root, CommonArgs};
use super::{Outcome, REPORTS_DIR};

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

pub(super) fn cmd_report(args: &ReportArgs) -> Result<Outcome> {
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
    crate::report::write_report(&out, &rendered.html)?;
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
