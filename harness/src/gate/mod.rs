//! The regression gate's scheduler (`check`): screen every timing row
//! against the stored baseline's samples; decide every suspect — and every
//! timing row when this machine has no baseline of its own — by an
//! interleaved A/B run of the baseline commit's binary against the current
//! one ([`paired`]); gate deterministic counts against the stored baseline
//! directly. Only interleaved evidence can say `regressed` for a timing row.
//! Per-commit binaries live in [`builds`]; [`selftest`] measures the gate's
//! own error rates on this machine.

pub mod builds;
pub mod paired;
pub mod selftest;
pub mod verdict;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fixtures::FixtureLocation;
use crate::measure::protocol::WorkerScenario;
use crate::measure::runner::Runner;
use crate::measure::scenario::{ProgressEvent, ScenarioError, ScenarioOptions};
use crate::model::{metric_names, Direction, FixtureResult, MetricKind, Side};
use verdict::{Evidence, GateConfig, GateReport, GateRow, Verdict};

pub use paired::{PairedConfig, PairedRun, PAIRED_METRICS};

/// Bumped when the check export's meaning changes.
pub const CHECK_FORMAT_VERSION: u32 = 1;

/// Metrics the worker reports since a later harness version: a baseline
/// binary that predates one reports 0, which is "not measured", not a change.
const ADDED_LATER: [&str; 1] = [metric_names::ALLOC_COUNT];

/// Which timing rows a check decides by interleaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interleave {
    /// Every gated timing row (the default). Stored samples can hide a
    /// change as well as fake one: a baseline saved while the machine was
    /// slower makes a slower build look unchanged, and a row the screen
    /// clears is never measured again. In the drills a +8% row was missed
    /// so.
    #[default]
    All,
    /// Only the rows the screen could not clear (cheaper; a drifting
    /// machine can hide a regression from it).
    Suspects,
}

/// What one check decides on.
pub struct CheckPlan<'a> {
    /// The stored baseline's results.
    pub baseline: &'a [FixtureResult],
    /// This run's results (the screen).
    pub current: &'a [FixtureResult],
    pub fixtures: &'a [FixtureLocation],
    /// Options of the baseline side (no injection).
    pub base_options: &'a ScenarioOptions,
    /// Options of the current side.
    pub head_options: &'a ScenarioOptions,
    pub gate: &'a GateConfig,
    pub paired: &'a PairedConfig,
    /// This machine's key differs from the baseline's (or it has none):
    /// stored timings say nothing here, every timing row is interleaved,
    /// and deterministic counts are taken from the interleaved base side.
    pub foreign_machine: bool,
    /// Every timing row, or only the screen's suspects.
    pub interleave: Interleave,
    /// Working copies of the interleaved runs.
    pub work_dir: &'a Path,
}

/// The check's decision and the interleaved runs behind it.
pub struct CheckOutcome {
    pub report: GateReport,
    pub interleaved: Vec<PairedRun>,
    /// What the screen sent to interleaving, and why.
    pub suspects: Vec<Suspect>,
}

/// A fixture × scenario the screen could not clear, to be decided by an
/// interleaved run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspect {
    pub fixture: String,
    pub scenario: String,
    /// Why it is suspect, for the terminal and the check record.
    pub why: String,
}

/// Whether a screened row must be decided by interleaving: a gated timing
/// metric the stored samples could not clear (regressed, or inconclusive).
fn is_suspect(row: &GateRow) -> bool {
    row.metric.kind == MetricKind::Timing
        && row.metric.direction != Direction::Informational
        && matches!(
            row.metric.verdict,
            Verdict::Regressed | Verdict::Inconclusive
        )
}

/// The fixture × scenario pairs to interleave, with the reason: every one
/// on a foreign machine or with [`Interleave::All`], else the screen's
/// suspects.
pub fn suspects(
    screen: &GateReport,
    current: &[FixtureResult],
    foreign: bool,
    interleave: Interleave,
) -> Vec<Suspect> {
    let mut out: Vec<Suspect> = Vec::new();
    let every = if foreign {
        Some("no baseline for this machine: every timing row is interleaved")
    } else if interleave == Interleave::All {
        Some("every timing row is interleaved (stored samples can hide a change)")
    } else {
        None
    };
    if let Some(why) = every {
        for fixture in current {
            for scenario in &fixture.scenarios {
                out.push(Suspect {
                    fixture: fixture.fixture.clone(),
                    scenario: scenario.scenario.clone(),
                    why: why.into(),
                });
            }
        }
        return out;
    }
    for row in screen.rows.iter().filter(|row| is_suspect(row)) {
        if !out
            .iter()
            .any(|suspect| suspect.fixture == row.fixture && suspect.scenario == row.scenario)
        {
            out.push(Suspect {
                fixture: row.fixture.clone(),
                scenario: row.scenario.clone(),
                why: format!(
                    "screen: {} {} {}",
                    row.metric.metric,
                    verdict::format_change_pct(row.metric.change_pct),
                    row.metric.verdict
                ),
            });
        }
    }
    out
}

/// Screen → interleave the suspects → merge. `base_runner` runs the
/// baseline commit's binary, `head_runner` the current one.
pub fn decide(
    plan: &CheckPlan<'_>,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<CheckOutcome, ScenarioError> {
    let mut report = verdict::compare_fixtures(plan.baseline, plan.current, plan.gate);
    let suspects = suspects(&report, plan.current, plan.foreign_machine, plan.interleave);
    // Every interleaved row's paired tests are corrected together (Holm,
    // in `merge_interleaved`); each run stops only on what survives that.
    let paired_config = PairedConfig {
        family: (suspects.len() * PAIRED_METRICS.len()).max(1),
        ..*plan.paired
    };
    let mut interleaved = Vec::new();
    for suspect in &suspects {
        let Some(fixture) = plan.fixtures.iter().find(|f| f.name == suspect.fixture) else {
            continue;
        };
        let Some(scenario) = worker_scenario(&suspect.scenario) else {
            continue;
        };
        let work_dir = plan.work_dir.join(&suspect.fixture).join(&suspect.scenario);
        interleaved.push(paired::run_interleaved(
            fixture,
            scenario,
            &paired::Sides {
                base: plan.base_options,
                head: plan.head_options,
            },
            &work_dir,
            base_runner,
            head_runner,
            &paired_config,
            plan.gate,
            progress,
        )?);
    }
    merge_interleaved(&mut report, &interleaved, plan.gate, plan.foreign_machine);
    Ok(CheckOutcome {
        report,
        interleaved,
        suspects,
    })
}

fn worker_scenario(name: &str) -> Option<WorkerScenario> {
    [
        WorkerScenario::Cold,
        WorkerScenario::Warm,
        WorkerScenario::WarmSession,
        WorkerScenario::TargetedSession,
        WorkerScenario::TargetedProcess,
    ]
    .into_iter()
    .find(|s| s.name() == name)
}

/// Replaces the screened timing rows of every interleaved scenario with the
/// interleaved verdicts (Holm over all of them), and — on a foreign
/// machine — the deterministic rows with the interleaved base side's. A
/// timing row the screen called `regressed` or `improved` that was not
/// interleaved cannot stand: it becomes inconclusive.
pub fn merge_interleaved(
    report: &mut GateReport,
    runs: &[PairedRun],
    gate: &GateConfig,
    foreign_machine: bool,
) {
    // Every paired test of the check, for Holm.
    let mut tests: Vec<(usize, &'static str, paired::PairedEvidence)> = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        for (name, evidence) in paired::run_evidence(run, gate) {
            tests.push((index, name, evidence));
        }
    }
    let size = tests.len();
    let p_values: Vec<f64> = tests.iter().map(|(_, _, e)| e.p_value).collect();
    let adjusted = crate::stats::paired::holm_adjust(&p_values);
    for (i, (run_index, name, evidence)) in tests.iter().enumerate() {
        let run = &runs[*run_index];
        let Some(mut metric) = paired::paired_metric_verdict(name, run, evidence) else {
            continue;
        };
        let paired::PairedJudgement {
            verdict,
            reason,
            pairs_needed: need,
        } = paired::judge_paired(evidence, adjusted[i], Direction::SmallerIsBetter, gate);
        metric.p_adjusted = Some(adjusted[i]);
        metric.family_size = size;
        metric.verdict = verdict;
        metric.reason = reason;
        metric.resolve_with = need;
        let row = GateRow {
            fixture: run.fixture.clone(),
            scenario: run.scenario.clone(),
            metric,
            evidence: Evidence::Interleaved {
                pairs: evidence.pairs,
            },
        };
        replace_row(report, row);
    }
    if foreign_machine {
        for run in runs {
            for (name, head) in &run.head.metrics {
                if head.kind != MetricKind::Deterministic {
                    continue;
                }
                let Some(base) = run.base.metrics.get(name) else {
                    continue;
                };
                if ADDED_LATER.contains(&name.as_str()) && base.samples.iter().all(|v| *v == 0.0) {
                    continue;
                }
                if let Ok(metric) = verdict::compare_metric(name, base, head, gate) {
                    replace_row(
                        report,
                        GateRow {
                            fixture: run.fixture.clone(),
                            scenario: run.scenario.clone(),
                            metric,
                            evidence: Evidence::Interleaved { pairs: run.pairs() },
                        },
                    );
                }
            }
        }
    }
    // Both directions: in 40 A/A checks the stored screen called
    // `large-app/cold/alloc_peak_bytes` (three modes of thread interleaving,
    // gated then, never interleaved) "improved −7.5%" 17 times; a baseline
    // saved in the low mode would have read the same as a regression.
    for row in &mut report.rows {
        if row.metric.kind == MetricKind::Timing
            && row.evidence == Evidence::Stored
            && matches!(row.metric.verdict, Verdict::Regressed | Verdict::Improved)
        {
            row.metric.verdict = Verdict::Inconclusive;
            row.metric.reason = format!(
                "{}; stored samples only (not interleaved): never a change on their own",
                row.metric.reason
            );
        }
    }
    // A stored-screen row of a metric that was interleaved elsewhere keeps
    // its place; rows the interleaving decided are marked in `evidence`.
}

fn replace_row(report: &mut GateReport, row: GateRow) {
    match report.rows.iter_mut().find(|r| {
        r.fixture == row.fixture
            && r.scenario == row.scenario
            && r.metric.metric == row.metric.metric
    }) {
        Some(existing) => *existing = row,
        None => report.rows.push(row),
    }
}

/// Stored-only verdicts (`check --from`, which cannot run anything): a
/// timing `regressed` becomes inconclusive.
pub fn screen_only(report: &mut GateReport) {
    merge_interleaved(report, &[], &report.config.clone(), false);
}

/// The inconclusive gated rows and what would resolve them, for the terminal.
pub fn render_unresolved(report: &GateReport) -> String {
    let mut out = String::new();
    for row in &report.rows {
        let metric = &row.metric;
        if metric.verdict != Verdict::Inconclusive
            || metric.direction == Direction::Informational
            || metric.kind != MetricKind::Timing
        {
            continue;
        }
        let need = match (row.evidence, metric.resolve_with) {
            (Evidence::Interleaved { pairs }, Some(n)) => {
                format!("{pairs} pairs ran; about {n} pairs would resolve it (--max-pairs {n})")
            }
            (Evidence::Interleaved { pairs }, None) => format!("{pairs} pairs ran"),
            (Evidence::Stored, _) => {
                "not interleaved; run check without --from to decide it".to_string()
            }
        };
        out.push_str(&format!(
            "  {}/{}/{} {}: {need}\n",
            row.fixture,
            row.scenario,
            metric.metric,
            verdict::format_change_pct(metric.change_pct)
        ));
    }
    if out.is_empty() {
        out
    } else {
        format!("inconclusive rows:\n{out}")
    }
}

/// `check --export-json` and the check history's lines: versioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub format: String,
    pub format_version: u32,
    pub started_at: String,
    pub machine_key: String,
    pub baseline: String,
    pub baseline_machine_key: String,
    pub baseline_commit: Option<String>,
    pub head_commit: Option<String>,
    pub head_dirty: bool,
    pub foreign_machine: bool,
    pub paired: PairedConfig,
    pub exit_code: i32,
    pub counts: CheckCounts,
    pub interleaved: Vec<InterleavedSummary>,
    pub report: GateReport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCounts {
    pub regressed: usize,
    pub improved: usize,
    pub unchanged: usize,
    pub inconclusive: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterleavedSummary {
    pub fixture: String,
    pub scenario: String,
    pub pairs: usize,
    pub reason: String,
    /// The raw per-pair samples of the paired metrics, `[base, head]` in
    /// pair order, so that pooled analyses (true effects, σ) need no re-run.
    #[serde(default)]
    pub samples: std::collections::BTreeMap<String, [Vec<f64>; 2]>,
}

impl InterleavedSummary {
    /// The summary of one interleaved run.
    pub fn of(run: &PairedRun, reason: String) -> InterleavedSummary {
        InterleavedSummary {
            fixture: run.fixture.clone(),
            scenario: run.scenario.clone(),
            pairs: run.pairs(),
            reason,
            samples: PAIRED_METRICS
                .iter()
                .filter_map(|&name| {
                    let base = run.base.metrics.get(name)?;
                    let head = run.head.metrics.get(name)?;
                    Some((
                        name.to_string(),
                        [base.samples.clone(), head.samples.clone()],
                    ))
                })
                .collect(),
        }
    }
}

impl CheckRecord {
    pub const FORMAT: &'static str = "soda-perf-check";
}

/// Appends a check to `<reports>/history/<machine>.checks.jsonl` (locked,
/// append-only, fsync'd).
pub fn append_check(reports: &Path, record: &CheckRecord) -> std::io::Result<std::path::PathBuf> {
    let path = reports
        .join("history")
        .join(format!("{}.checks.jsonl", record.machine_key));
    let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    let _lock = crate::store::atomic::FileLock::acquire(&path)?;
    crate::store::atomic::append_line_durable(&path, &line)?;
    Ok(path)
}

#[cfg(test)]
mod tests;
