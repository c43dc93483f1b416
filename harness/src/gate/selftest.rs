//! `soda-perf selftest`: the gate measures its own error rates on this
//! machine. K A/A checks (the current binary against itself, interleaved
//! exactly as `check` interleaves a baseline) give the false-alarm rate; K
//! checks with a synthetic slowdown of P% injected by the worker into its
//! measured region give the detection rate; both with Wilson 95%
//! intervals. The A/A pairs, pooled per row, also feed a resampled
//! estimate: many synthetic A/A checks drawn from the measured per-pair log
//! ratios with random signs (under "no change" a pair's log ratio is
//! symmetric about 0), run through the same adaptive rule and Holm.
//!
//! Random signs assume the two sides are exchangeable. A side that runs
//! steadily slower on the same binary (generation 6's two false alarms: a
//! working copy, an executable path) breaks that, and flipping signs
//! hides it. So each row also reports its side bias (the pooled A/A
//! median ratio with its interval), and a second resampled estimate flips
//! signs about that median instead of about 0: it keeps the bias the A/A
//! runs showed and asks how often the gate would then cry regression.

use std::path::Path;

use crate::fixtures::FixtureLocation;
use crate::gate::verdict::{GateConfig, GateReport, Verdict};
use crate::measure::protocol::{Injection, WorkerScenario};
use crate::measure::runner::Runner;
use crate::measure::scenario::{ProgressEvent, ScenarioError, ScenarioOptions};
use crate::model::{metric_names, Side};
use crate::stats::paired::{minimal_detectable_effect, wilson_95};
use crate::stats::rng::Xoshiro256StarStar;

use super::paired::{self, PairedConfig, PairedEvidence, PairedRun, PAIRED_METRICS};

/// What to run.
pub struct SelftestPlan<'a> {
    pub fixtures: &'a [FixtureLocation],
    pub scenarios: &'a [WorkerScenario],
    pub options: &'a ScenarioOptions,
    /// A/A checks and slowed checks, each.
    pub runs: usize,
    pub slowdown_pct: f64,
    pub gate: &'a GateConfig,
    pub paired: &'a PairedConfig,
    /// Synthetic A/A checks of the resampled estimate.
    pub resamples: usize,
    pub work_dir: &'a Path,
}

/// One fixture × scenario's rates.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRates {
    pub fixture: String,
    pub scenario: String,
    pub aa_checks: usize,
    pub false_alarms: usize,
    pub ab_checks: usize,
    pub detections: usize,
    /// Pairs the A/A and slowed runs took, summed.
    pub aa_pairs: usize,
    pub ab_pairs: usize,
    /// Robust spread of the pooled A/A wall-time log ratios.
    pub sigma_wall: f64,
    /// Pooled A/A log ratios per paired metric (for resampling).
    pub pooled: Vec<(&'static str, Vec<f64>)>,
    /// The pooled A/A wall-time ratio head/base minus 1, with its 95%
    /// interval: what one side's conditions cost the other on one binary.
    pub side_bias_wall: Option<SideBias>,
    /// Synthetic A/A checks flagging this row, signs flipped about 0.
    pub resampled_false_alarms: usize,
    /// The same, signs flipped about the row's own A/A median (bias kept).
    pub resampled_false_alarms_biased: usize,
}

/// A fraction (0.01 = +1%) with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideBias {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl SideBias {
    /// The median of pooled log ratios and its order-statistics interval.
    pub fn of_log_ratios(logs: &[f64]) -> Option<SideBias> {
        let mut sorted: Vec<f64> = logs.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.len() < 6 {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let median = crate::stats::descriptive::median_of_sorted(&sorted);
        let (low, high) = crate::stats::paired::median_ci_order_statistics(&sorted, 0.95)?;
        Some(SideBias {
            estimate: median.exp_m1(),
            low: low.exp_m1(),
            high: high.exp_m1(),
        })
    }

    /// Whether the interval excludes "no bias".
    pub fn is_real(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// Where a synthetic A/A check's random signs flip each pooled log ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlipAbout {
    /// About 0: the sides are assumed exchangeable.
    Zero,
    /// About each row and metric's own pooled median: the side bias the A/A
    /// runs measured stays in every synthetic pair.
    ObservedMedian,
}

/// What the synthetic A/A checks flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResampledAlarms {
    /// Per row (in the order given), the synthetic checks that flagged it.
    pub per_row: Vec<usize>,
    /// Synthetic whole checks that flagged anything.
    pub checks: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelftestReport {
    pub rows: Vec<RowRates>,
    pub runs: usize,
    pub slowdown_pct: f64,
    pub resamples: usize,
    /// Synthetic whole A/A checks (all rows, Holm) that flagged anything.
    pub resampled_gate_false_alarms: usize,
    /// The same, with each row's measured side bias kept.
    pub resampled_gate_false_alarms_biased: usize,
    /// Whole measured A/A checks that flagged anything.
    pub gate_false_alarms: usize,
    /// Whole slowed checks that flagged every row.
    pub gate_detections: usize,
}

/// One check's interleaved runs of every row, Holm across them: which rows regressed.
fn regressed_rows(runs: &[PairedRun], gate: &GateConfig) -> Vec<bool> {
    let mut report = GateReport {
        config: *gate,
        rows: Vec::new(),
        missing: Vec::new(),
    };
    super::merge_interleaved(&mut report, runs, gate, false);
    runs.iter()
        .map(|run| {
            report.rows.iter().any(|row| {
                row.fixture == run.fixture
                    && row.scenario == run.scenario
                    && row.metric.verdict == Verdict::Regressed
            })
        })
        .collect()
}

/// Runs K A/A and K slowed checks with two runners of the current binary.
pub fn run_selftest(
    plan: &SelftestPlan<'_>,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    progress: &mut dyn FnMut(&str, Side, &ProgressEvent),
) -> Result<SelftestReport, ScenarioError> {
    let mut rows: Vec<RowRates> = Vec::new();
    for fixture in plan.fixtures {
        for scenario in plan.scenarios {
            rows.push(RowRates {
                fixture: fixture.name.clone(),
                scenario: scenario.name().to_string(),
                aa_checks: 0,
                false_alarms: 0,
                ab_checks: 0,
                detections: 0,
                aa_pairs: 0,
                ab_pairs: 0,
                sigma_wall: 0.0,
                pooled: PAIRED_METRICS.iter().map(|m| (*m, Vec::new())).collect(),
                side_bias_wall: None,
                resampled_false_alarms: 0,
                resampled_false_alarms_biased: 0,
            });
        }
    }
    let slowed = ScenarioOptions {
        inject: Injection::from_pcts(plan.slowdown_pct, 0.0),
        ..plan.options.clone()
    };
    let mut gate_false_alarms = 0;
    let mut gate_detections = 0;
    for k in 0..plan.runs {
        for (label, head_options) in [("A/A", plan.options), ("slowed", &slowed)] {
            let mut runs = Vec::new();
            for fixture in plan.fixtures {
                for &scenario in plan.scenarios {
                    let work_dir = plan.work_dir.join(&fixture.name).join(scenario.name());
                    let config = PairedConfig {
                        seed: plan.paired.seed ^ (k as u64).wrapping_mul(0x9E37_79B9),
                        family: rows.len() * PAIRED_METRICS.len(),
                        ..*plan.paired
                    };
                    let tag = format!("{label} {}/{}", k + 1, plan.runs);
                    runs.push(paired::run_interleaved(
                        fixture,
                        scenario,
                        &paired::Sides {
                            base: plan.options,
                            head: head_options,
                        },
                        &work_dir,
                        base_runner,
                        head_runner,
                        &config,
                        plan.gate,
                        &mut |side, event| progress(&tag, side, event),
                    )?);
                }
            }
            let flagged = regressed_rows(&runs, plan.gate);
            let aa = label == "A/A";
            if aa && flagged.iter().any(|f| *f) {
                gate_false_alarms += 1;
            }
            if !aa && flagged.iter().all(|f| *f) {
                gate_detections += 1;
            }
            for ((row, run), flag) in rows.iter_mut().zip(&runs).zip(&flagged) {
                if aa {
                    row.aa_checks += 1;
                    row.aa_pairs += run.pairs();
                    row.false_alarms += usize::from(*flag);
                    for (name, pooled) in &mut row.pooled {
                        if let (Some(b), Some(h)) =
                            (run.base.metrics.get(*name), run.head.metrics.get(*name))
                        {
                            pooled.extend(
                                b.samples
                                    .iter()
                                    .zip(&h.samples)
                                    .filter(|(b, h)| **b > 0.0 && **h > 0.0)
                                    .map(|(b, h)| (h / b).ln()),
                            );
                        }
                    }
                } else {
                    row.ab_checks += 1;
                    row.ab_pairs += run.pairs();
                    row.detections += usize::from(*flag);
                }
            }
        }
    }
    for row in &mut rows {
        let wall = row
            .pooled
            .iter()
            .find(|(name, _)| *name == metric_names::WALL_MS)
            .map(|(_, logs)| logs.as_slice())
            .unwrap_or_default();
        row.sigma_wall = crate::stats::Sample::from_slice(wall)
            .ok()
            .map_or(f64::NAN, |s| 1.4826 * s.mad());
        row.side_bias_wall = SideBias::of_log_ratios(wall);
    }
    let exchangeable = resample_aa(
        &rows,
        plan.gate,
        plan.paired,
        plan.resamples,
        FlipAbout::Zero,
    );
    let biased = resample_aa(
        &rows,
        plan.gate,
        plan.paired,
        plan.resamples,
        FlipAbout::ObservedMedian,
    );
    for (index, row) in rows.iter_mut().enumerate() {
        row.resampled_false_alarms = exchangeable.per_row[index];
        row.resampled_false_alarms_biased = biased.per_row[index];
    }
    Ok(SelftestReport {
        rows,
        runs: plan.runs,
        slowdown_pct: plan.slowdown_pct,
        resamples: plan.resamples,
        resampled_gate_false_alarms: exchangeable.checks,
        resampled_gate_false_alarms_biased: biased.checks,
        gate_false_alarms,
        gate_detections,
    })
}

/// Synthetic A/A checks from the pooled per-pair log ratios: each row draws
/// pairs with replacement and flips each one's sign at random (about
/// `flip_about`), looks after the initial pairs and after every batch
/// exactly as `check` does, and the rows of one synthetic check share
/// Holm's correction.
pub fn resample_aa(
    rows: &[RowRates],
    gate: &GateConfig,
    config: &PairedConfig,
    resamples: usize,
    flip_about: FlipAbout,
) -> ResampledAlarms {
    let mut rng = Xoshiro256StarStar::seed_from_u64(0x5E1F_7E57);
    // A synthetic check corrects every row's paired tests together, as `check` does.
    let config = &PairedConfig {
        family: rows.len() * PAIRED_METRICS.len(),
        ..*config
    };
    // Per row, per usable metric: the pooled log ratios and their centre.
    let pools: Vec<Vec<(&[f64], f64)>> = rows
        .iter()
        .map(|row| {
            row.pooled
                .iter()
                .map(|(_, logs)| logs)
                .filter(|logs| logs.len() >= 3)
                .map(|logs| {
                    let centre = match flip_about {
                        FlipAbout::Zero => 0.0,
                        FlipAbout::ObservedMedian => crate::stats::median_of(logs).unwrap_or(0.0),
                    };
                    (logs.as_slice(), centre)
                })
                .collect()
        })
        .collect();
    let mut alarms = ResampledAlarms {
        per_row: vec![0; rows.len()],
        checks: 0,
    };
    for _ in 0..resamples {
        // (row, metric evidence) of this synthetic check.
        let mut tests: Vec<(usize, PairedEvidence)> = Vec::new();
        for (row_index, usable) in pools.iter().enumerate() {
            if usable.is_empty() {
                continue;
            }
            // One draw of pair indices serves every metric: a pair's wall,
            // CPU and RSS ratios stay together, as in a real run.
            let pool_len = usable.iter().map(|(l, _)| l.len()).min().unwrap_or(0);
            let mut draws: Vec<(usize, bool)> = Vec::new();
            let mut target = config.first_look();
            loop {
                while draws.len() < target {
                    draws.push((rng.below(pool_len), rng.next_u64() & 1 == 1));
                }
                let evidence: Vec<PairedEvidence> = usable
                    .iter()
                    .filter_map(|&(logs, centre)| {
                        let heads: Vec<f64> = draws
                            .iter()
                            .map(|&(i, flip)| {
                                let noise = logs[i] - centre;
                                (centre + if flip { -noise } else { noise }).exp()
                            })
                            .collect();
                        let bases = vec![1.0; heads.len()];
                        paired::paired_evidence(&bases, &heads, gate)
                    })
                    .collect();
                match paired::next_look(&evidence, target, config, gate) {
                    Some(next) => target = next,
                    None => {
                        tests.extend(evidence.into_iter().map(|e| (row_index, e)));
                        break;
                    }
                }
            }
        }
        let p_values: Vec<f64> = tests.iter().map(|(_, e)| e.p_value).collect();
        let adjusted = crate::stats::paired::holm_adjust(&p_values);
        let mut flagged_rows: Vec<usize> = Vec::new();
        for ((row, evidence), p_adjusted) in tests.iter().zip(adjusted) {
            let verdict = paired::judge_paired(
                evidence,
                p_adjusted,
                crate::model::Direction::SmallerIsBetter,
                gate,
            )
            .verdict;
            if verdict == Verdict::Regressed && !flagged_rows.contains(row) {
                flagged_rows.push(*row);
            }
        }
        for &row in &flagged_rows {
            alarms.per_row[row] += 1;
        }
        alarms.checks += usize::from(!flagged_rows.is_empty());
    }
    alarms
}

fn rate(count: usize, of: usize) -> String {
    let (lo, hi) = wilson_95(count, of);
    let pct = if of == 0 {
        0.0
    } else {
        count as f64 * 100.0 / of as f64
    };
    format!(
        "{count}/{of} = {pct:.1}% [{:.1}, {:.1}]",
        lo * 100.0,
        hi * 100.0
    )
}

/// The report as the terminal shows it.
pub fn render(report: &SelftestReport, gate: &GateConfig, config: &PairedConfig) -> String {
    let mut out = format!(
        "selftest: {} A/A and {} slowed (+{}% injected) checks per row; threshold {}%, alpha {}, pairs {}..{} (looks grow by half, at least {} pairs)\n",
        report.runs,
        report.runs,
        report.slowdown_pct,
        gate.threshold_pct,
        gate.alpha,
        config.initial_pairs,
        config.max_pairs,
        config.batch
    );
    out.push_str(&format!(
        "{:<28} {:<26} {:<26} {:>7} {:>9} {:>9} {:>6} {:<26} {:<22} {:<26}\n",
        "fixture/scenario",
        "A/A false alarms [95%]",
        "slowdown detected [95%]",
        "σ wall",
        "MDE@init",
        "MDE@max",
        "pairs",
        "resampled A/A [95%]",
        "side bias wall [95%]",
        "resampled, bias kept [95%]"
    ));
    for row in &report.rows {
        let mde = |n: usize| minimal_detectable_effect(row.sigma_wall, n, gate.alpha, 0.8) * 100.0;
        out.push_str(&format!(
            "{:<28} {:<26} {:<26} {:>6.1}% {:>8.1}% {:>8.1}% {:>6.1} {:<26} {:<22} {:<26}\n",
            format!("{}/{}", row.fixture, row.scenario),
            rate(row.false_alarms, row.aa_checks),
            rate(row.detections, row.ab_checks),
            row.sigma_wall * 100.0,
            mde(config.initial_pairs),
            mde(config.max_pairs),
            if row.aa_checks + row.ab_checks == 0 {
                0.0
            } else {
                (row.aa_pairs + row.ab_pairs) as f64 / (row.aa_checks + row.ab_checks) as f64
            },
            rate(row.resampled_false_alarms, report.resamples),
            row.side_bias_wall.map_or_else(
                || "-".to_string(),
                |bias| format!(
                    "{:+.1}% [{:+.1}, {:+.1}]{}",
                    bias.estimate * 100.0,
                    bias.low * 100.0,
                    bias.high * 100.0,
                    if bias.is_real() { " !" } else { "" }
                )
            ),
            rate(row.resampled_false_alarms_biased, report.resamples),
        ));
    }
    out.push_str(&format!(
        "whole checks: A/A flagged {}; slowed flagged on every row {}; resampled A/A checks flagged {}\n",
        rate(report.gate_false_alarms, report.runs),
        rate(report.gate_detections, report.runs),
        rate(report.resampled_gate_false_alarms, report.resamples)
    ));
    out.push_str(&format!(
        "resampled A/A checks flagged with each row's side bias kept: {}\n",
        rate(report.resampled_gate_false_alarms_biased, report.resamples)
    ));
    if report
        .rows
        .iter()
        .any(|row| row.side_bias_wall.is_some_and(|bias| bias.is_real()))
    {
        out.push_str("! the sides were not exchangeable on the rows marked !: the A/A runs of one binary measured one side steadily slower; trust the bias-kept estimate, not the flipped one\n");
    }
    out.push_str("resampled: synthetic A/A checks drawn from the pooled A/A pairs with random signs, flipped about 0 (sides exchangeable) or about the row's A/A median (its side bias kept)\n");
    out.push_str("MDE: the smallest slowdown the wall-time row detects with power 0.8 at that many pairs (σ of per-pair log ratios, sign-test efficiency 2/π)\n");
    out
}
