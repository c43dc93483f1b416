//! What every subcommand shares: the common argument groups (workspace
//! root, suite, pairs, exports), messages, progress and exports.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::export::{self, ExportFormat, ExportInput};
use crate::fixtures;
use crate::gate::verdict::{GateConfig, GateReport};
use crate::measure::scenario::ProgressEvent;
use crate::model::{RunRecord, Side};
use crate::stats::BootstrapConfig;

use super::Outcome;

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
    pub(super) fn requested(&self) -> Vec<(ExportFormat, &Path)> {
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
    pub(super) fn config(&self) -> crate::gate::PairedConfig {
        crate::gate::PairedConfig {
            initial_pairs: self.pairs as usize,
            batch: self.pair_batch as usize,
            max_pairs: (self.max_pairs as usize).max(self.pairs as usize),
            ..crate::gate::PairedConfig::default()
        }
    }
}

/// The workspace root: `--root`, else the Cargo workspace above the current directory.
pub(super) fn workspace_root(common: &CommonArgs) -> Result<PathBuf> {
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
pub(super) fn inform(common: &CommonArgs, message: &str) {
    if !common.quiet {
        eprintln!("{message}");
    }
}

/// A progress bar on stderr; hidden with --quiet or when stderr is not a terminal.
pub(super) fn progress_bar(common: &CommonArgs, total: u64) -> ProgressBar {
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

pub(super) fn show_progress(bar: &ProgressBar, side: Option<Side>, event: &ProgressEvent) {
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

pub(super) fn write_exports(
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

pub(super) fn gate_config(threshold: f64) -> Result<GateConfig> {
    let config = GateConfig {
        threshold_pct: threshold,
        ..GateConfig::default()
    };
    config.validate().context("invalid --threshold")?;
    Ok(config)
}

pub(super) fn outcome_of(gate: &GateReport) -> Outcome {
    if gate.has_regressions() {
        Outcome::Regression
    } else {
        Outcome::Clean
    }
}
