//! The interleaved A/B run that decides a timing row: the baseline
//! commit's binary and the current one, each on its own working copy of the
//! same settled fixture, run in pairs whose order is drawn at random, so
//! that machine drift, speed states and neighbours hit both sides alike.
//! Pairs are added in geometrically growing batches until every gated
//! metric resolves (or a cap): a quiet machine decides a row in 12 pairs, a
//! loaded one keeps going, because under load only more pairs narrow the
//! interval. The per-pair log ratios are judged by the order-statistic
//! interval of their median and the exact sign test (the interval's own
//! test: they cannot disagree). The signed-rank test, used before, lost
//! consistent shifts behind a long tail on the other side: a +7.8% row at
//! 240 pairs, 164 of them up, was p = 0.021 after Holm.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fixtures::FixtureLocation;
use crate::gate::verdict::{GateConfig, MetricVerdict, Verdict};
use crate::measure::protocol::WorkerScenario;
use crate::measure::runner::{Measurement, Runner};
use crate::measure::scenario::{
    scenario_result, CollectedRuns, ProgressEvent, ScenarioError, ScenarioOptions, ScenarioRun,
};
use crate::measure::schedule::{Calibration, Lane, Schedule};
use crate::model::{metric_names, Direction, MetricKind, ScenarioResult, Side};
use crate::stats::paired::{median_ci_order_statistics, pairs_to_resolve, sign_test};
use crate::stats::rng::Xoshiro256StarStar;
use crate::stats::{ConfidenceInterval, Sample};

/// The timing metrics an interleaved run decides. CPU time (user + sys of
/// the child) gates here although it is informational against stored
/// samples: within a pair both sides meet the same neighbours.
pub const PAIRED_METRICS: [&str; 3] = [
    metric_names::WALL_MS,
    metric_names::CPU_MS,
    metric_names::PEAK_RSS_KIB,
];

/// How many pairs an interleaved run takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedConfig {
    /// Pairs before the first look.
    pub initial_pairs: usize,
    /// The least number of pairs added per further look while a metric is
    /// unresolved (a look adds at least half the pairs so far, too).
    pub batch: usize,
    /// No more pairs than this, resolved or not.
    pub max_pairs: usize,
    /// Seed of the order draws (base or head first in each pair).
    pub seed: u64,
    /// How many paired tests the check corrects together (Holm): a run
    /// stops on a regression only once it would survive that correction.
    /// `check` sets it to its suspects × [`PAIRED_METRICS`].
    #[serde(default = "one")]
    pub family: usize,
}

fn one() -> usize {
    1
}

impl Default for PairedConfig {
    fn default() -> Self {
        PairedConfig {
            initial_pairs: 12,
            batch: 8,
            max_pairs: 240,
            seed: 0x0A1B_0A1B_5EED,
            family: 1,
        }
    }
}

impl PairedConfig {
    /// No more pairs than this.
    pub fn cap(&self) -> usize {
        self.max_pairs.max(self.initial_pairs).max(3)
    }

    /// The pairs of the first look.
    pub fn first_look(&self) -> usize {
        self.initial_pairs.max(3).min(self.cap())
    }

    /// The pairs of the look after one at `pairs`; `None` at the cap. Looks
    /// grow geometrically (12, 20, 30, 45, 68, 102, 153, 230, 240 by
    /// default): every look is a chance for a false alarm, so a noisy row
    /// reaches many pairs in few looks.
    pub fn next_look(&self, pairs: usize) -> Option<usize> {
        if pairs >= self.cap() {
            return None;
        }
        let grown = (pairs + self.batch.max(1)).max(pairs + pairs.div_ceil(2));
        Some(grown.min(self.cap()))
    }
}

/// The outcome of one interleaved run.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedRun {
    pub fixture: String,
    pub scenario: String,
    /// One sample per pair on each side, in pair order.
    pub base: ScenarioResult,
    pub head: ScenarioResult,
    /// Whether the head ran first in each pair.
    pub head_first: Vec<bool>,
}

impl PairedRun {
    pub fn pairs(&self) -> usize {
        self.head_first.len()
    }
}

/// What the pairs say about one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedEvidence {
    pub pairs: usize,
    /// exp(median of ln(head/base)): the typical per-pair ratio.
    pub ratio: f64,
    /// The (1 − alpha) distribution-free interval of that ratio (order
    /// statistics of the log ratios).
    pub ci: ConfidenceInterval,
    /// Two-sided exact sign-test p of the log ratios (the test whose
    /// inversion is `ci`).
    pub p_value: f64,
    /// Robust spread of the log ratios (1.4826 · MAD).
    pub sigma: f64,
}

/// Per-pair evidence; `None` with fewer than 3 usable pairs (a side ≤ 0).
pub fn paired_evidence(base: &[f64], head: &[f64], gate: &GateConfig) -> Option<PairedEvidence> {
    let logs: Vec<f64> = base
        .iter()
        .zip(head)
        .filter(|(b, h)| **b > 0.0 && **h > 0.0 && b.is_finite() && h.is_finite())
        .map(|(b, h)| (h / b).ln())
        .collect();
    if logs.len() < 3 {
        return None;
    }
    let sample = Sample::from_slice(&logs).ok()?;
    // Too few pairs for the confidence: an unbounded interval (never resolved).
    let (lower, upper) = median_ci_order_statistics(sample.sorted(), 1.0 - gate.alpha)
        .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    Some(PairedEvidence {
        pairs: logs.len(),
        ratio: sample.median().exp(),
        ci: ConfidenceInterval {
            lower: lower.exp(),
            upper: upper.exp(),
        },
        p_value: sign_test(&logs),
        sigma: 1.4826 * sample.mad(),
    })
}

/// The verdict of a paired metric with its (Holm-adjusted) p-value:
/// `regressed` needs the typical ratio beyond the threshold in the bad
/// direction, the interval of that ratio on the same side of 1, and the
/// What [`judge_paired`] decided about one paired metric.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedJudgement {
    pub verdict: Verdict,
    /// The reason shown beside the verdict.
    pub reason: String,
    /// For an inconclusive verdict, about how many pairs would resolve it.
    pub pairs_needed: Option<u64>,
}

/// The verdict of a paired metric with its (Holm-adjusted) p-value:
/// `regressed` needs the typical ratio beyond the threshold in the bad
/// direction, the interval of that ratio on the same side of 1, and the
/// adjusted p below alpha; `unchanged` needs the ratio and its whole
/// interval within ±threshold. Anything else is `inconclusive`.
pub fn judge_paired(
    evidence: &PairedEvidence,
    p_adjusted: f64,
    direction: Direction,
    gate: &GateConfig,
) -> PairedJudgement {
    let threshold = gate.threshold_pct / 100.0;
    let change = evidence.ratio - 1.0;
    let pairs = evidence.pairs;
    if change.abs() <= threshold {
        // `unchanged` is a claim about the change, so its interval must
        // back it; a point inside ±threshold alone is not evidence.
        let within = evidence.ci.lower >= 1.0 - threshold && evidence.ci.upper <= 1.0 + threshold;
        if within {
            return PairedJudgement {
                verdict: Verdict::Unchanged,
                reason: format!(
                    "interleaved, {pairs} pairs: within ±{}%, interval too",
                    gate.threshold_pct
                ),
                pairs_needed: None,
            };
        }
        let need = pairs_to_resolve(evidence.sigma, threshold, gate.alpha, 0.8);
        return PairedJudgement {
            verdict: Verdict::Inconclusive,
            reason: format!(
                "interleaved, {pairs} pairs: {:+.1}%, but the interval [{:+.1}%, {:+.1}%] reaches past ±{}%{}",
                change * 100.0,
                (evidence.ci.lower - 1.0) * 100.0,
                (evidence.ci.upper - 1.0) * 100.0,
                gate.threshold_pct,
                need.map(|n| format!("; about {n} pairs would resolve it"))
                    .unwrap_or_default()
            ),
            pairs_needed: need,
        };
    }
    let up = change > 0.0;
    let excludes_one = if up {
        evidence.ci.lower > 1.0
    } else {
        evidence.ci.upper < 1.0
    };
    if direction != Direction::Informational && excludes_one && p_adjusted < gate.alpha {
        let bad = match direction {
            Direction::SmallerIsBetter => up,
            Direction::LargerIsBetter => !up,
            Direction::Informational => false,
        };
        let verdict = if bad {
            Verdict::Regressed
        } else {
            Verdict::Improved
        };
        return PairedJudgement {
            verdict,
            reason: format!(
                "interleaved, {pairs} pairs: beyond ±{}%, sign-test p = {} (adjusted), interval excludes 1",
                gate.threshold_pct,
                crate::gate::verdict::format_p_value(p_adjusted)
            ),
            pairs_needed: None,
        };
    }
    let need = pairs_to_resolve(evidence.sigma, threshold, gate.alpha, 0.8);
    PairedJudgement {
        verdict: Verdict::Inconclusive,
        reason: format!(
            "interleaved, {pairs} pairs: beyond ±{}% but not significant (adjusted p = {}){}",
            gate.threshold_pct,
            crate::gate::verdict::format_p_value(p_adjusted),
            need.map(|n| format!("; about {n} pairs would resolve it"))
                .unwrap_or_default()
        ),
        pairs_needed: need,
    }
}

/// Whether more pairs can change what the gate does: a metric is resolved
/// when it is decided (regressed or improved) at a p-value multiplied by
/// the check's `family` (Bonferroni: what survives it survives Holm), or
/// when its interval's upper end already rules out a regression beyond the
/// threshold. Deciding an improvement or narrowing the lower end would
/// only cost pairs the exit code does not depend on. Judging the stop on
/// the unadjusted p stopped runs that Holm then called inconclusive: a
/// 9% slowdown at 45 pairs, p = 0.024 after the correction.
pub fn resolved(evidence: &PairedEvidence, gate: &GateConfig, family: usize) -> bool {
    let threshold = gate.threshold_pct / 100.0;
    let regression_ruled_out = evidence.ci.upper <= 1.0 + threshold;
    let p = (evidence.p_value * family.max(1) as f64).min(1.0);
    let verdict = judge_paired(evidence, p, Direction::SmallerIsBetter, gate).verdict;
    regression_ruled_out || matches!(verdict, Verdict::Regressed | Verdict::Improved)
}

/// A run gives up on its unresolved rows only when they need more than
/// this many times the cap. The need is estimated from 30–68 pairs, whose
/// σ and median are rough: giving up at 1× the cap, all 11 misses of
/// `large-app/targeted-session/wall_ms` in 26 slowed checks were such
/// stops; at 2×, 4 of its 9 misses in 20 checks were. Resampled A/A checks
/// stay at 0.3% false alarms, for about half as many pairs again
/// (`harness/drills/whatif.py`, docs/guides/harness-statistics.md §7c).
pub const FUTILITY_MARGIN: usize = 2;

/// The pairs of the next look, or `None` when the run stops here: every
/// metric is resolved, the cap is reached, or — from the third look on,
/// when the spread is known well enough — no unresolved metric could be
/// resolved within the cap at the spread measured so far (under heavy load
/// a wall-time row's per-pair σ reached 0.4–1.1 here: thousands of pairs;
/// running to the cap would only cost minutes and still say inconclusive).
pub fn next_look(
    evidence: &[PairedEvidence],
    pairs: usize,
    config: &PairedConfig,
    gate: &GateConfig,
) -> Option<usize> {
    let unresolved: Vec<&PairedEvidence> = evidence
        .iter()
        .filter(|e| !resolved(e, gate, config.family))
        .collect();
    if !evidence.is_empty() && unresolved.is_empty() {
        return None;
    }
    let next = config.next_look(pairs)?;
    // From the third look on, the spread is known well enough to give up.
    let third_look = config
        .next_look(config.first_look())
        .and_then(|second| config.next_look(second));
    let threshold = gate.threshold_pct / 100.0;
    // The change a row must be told from: the threshold, or the change
    // seen so far when larger — a clear +11% needs a quarter of the pairs
    // a 5% one does (stopping on the threshold's need lost +8–11% session
    // rows at 30 pairs).
    let futile = third_look.is_some_and(|third| pairs >= third)
        && unresolved.iter().all(|e| {
            let seen = e.ratio.ln().abs().exp_m1();
            pairs_to_resolve(e.sigma, threshold.max(seen), gate.alpha, 0.8)
                .is_none_or(|need| need as usize > FUTILITY_MARGIN * config.cap())
        });
    (!futile).then_some(next)
}

/// A [`MetricVerdict`] for a paired metric (the p-value and verdict are
/// filled in after Holm's correction).
pub fn paired_metric_verdict(
    name: &str,
    run: &PairedRun,
    evidence: &PairedEvidence,
) -> Option<MetricVerdict> {
    let base = run.base.metrics.get(name)?;
    let head = run.head.metrics.get(name)?;
    Some(MetricVerdict {
        metric: name.to_string(),
        unit: head.unit.clone(),
        kind: MetricKind::Timing,
        direction: Direction::SmallerIsBetter,
        base_median: crate::stats::median_of(&base.samples).unwrap_or(0.0),
        head_median: crate::stats::median_of(&head.samples).unwrap_or(0.0),
        base_n: evidence.pairs,
        head_n: evidence.pairs,
        ratio: evidence.ratio,
        ratio_ci: evidence.ci,
        change_pct: (evidence.ratio - 1.0) * 100.0,
        p_value: Some(evidence.p_value),
        p_adjusted: Some(evidence.p_value),
        family_size: 1,
        verdict: Verdict::Unchanged,
        reason: String::new(),
        resolve_with: None,
    })
}

/// Evidence for every paired metric of a run.
pub fn run_evidence(run: &PairedRun, gate: &GateConfig) -> Vec<(&'static str, PairedEvidence)> {
    PAIRED_METRICS
        .iter()
        .filter_map(|&name| {
            let base = run.base.metrics.get(name)?;
            let head = run.head.metrics.get(name)?;
            Some((name, paired_evidence(&base.samples, &head.samples, gate)?))
        })
        .collect()
}

/// Both sides' options: the same, except that only the head carries a
/// synthetic injection.
pub struct Sides<'a> {
    pub base: &'a ScenarioOptions,
    pub head: &'a ScenarioOptions,
}

/// Runs one fixture × scenario interleaved: prime and warm both sides,
/// then pairs in random order, in batches until every paired metric is
/// resolved or `max_pairs` is reached.
#[allow(clippy::too_many_arguments)]
pub fn run_interleaved(
    fixture: &FixtureLocation,
    scenario: WorkerScenario,
    sides: &Sides<'_>,
    work_dir: &Path,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    config: &PairedConfig,
    gate: &GateConfig,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<PairedRun, ScenarioError> {
    let mut base = ScenarioRun::prepare(fixture, scenario, &work_dir.join("base"), sides.base)?;
    let mut head = ScenarioRun::prepare(fixture, scenario, &work_dir.join("head"), sides.head)?;
    let run = run_interleaved_on(
        &mut base,
        &mut head,
        sides,
        base_runner,
        head_runner,
        config,
        gate,
        progress,
    );
    if run.is_ok() {
        let _ = std::fs::remove_dir_all(work_dir);
    }
    run
}

/// The interleaving itself, on two prepared runs.
#[allow(clippy::too_many_arguments)]
pub fn run_interleaved_on(
    base: &mut ScenarioRun,
    head: &mut ScenarioRun,
    sides: &Sides<'_>,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    config: &PairedConfig,
    gate: &GateConfig,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<PairedRun, ScenarioError> {
    let scenario = base.scenario();
    let fixture = base.project().name.clone();
    let mut rng = Xoshiro256StarStar::seed_from_u64(
        config.seed
            ^ xxhash_rust::xxh3::xxh3_64(format!("{fixture}/{}", scenario.name()).as_bytes()),
    );
    let lanes = vec![
        Lane::new(Side::Base, base, base_runner),
        Lane::new(Side::Head, head, head_runner),
    ];
    let mut schedule = Schedule::new(lanes, progress);
    schedule.prime_and_warm(sides.base.warmup.max(1))?;
    let mut head_first = Vec::new();
    let mut target = config.first_look();
    let mut look_start = 0;
    loop {
        // The sides trade working copies halfway through each look and at
        // its end, so every look holds as many pairs of one assignment of
        // copies to sides as of the other: two copies of one fixture read
        // and wrote at steadily different speeds under heavy file-system
        // load (an A/A row +9.6% over 240 pairs, the next row −9.5%), and
        // pairs cannot cancel a difference that stays with one side.
        let halfway = look_start + (target - look_start) / 2;
        while head_first.len() < target {
            let index = head_first.len();
            if index == halfway && halfway > look_start {
                schedule.trade_projects(0, 1, sides.base.warmup.max(1))?;
            }
            let flip = rng.next_u64() & 1 == 1;
            head_first.push(flip);
            let order: &[usize] = if flip { &[1, 0] } else { &[0, 1] };
            schedule.measure_round(order, index, target, Calibration::Off)?;
        }
        let run = assemble(schedule.lane(0), schedule.lane(1), sides, &head_first);
        let evidence: Vec<PairedEvidence> = run_evidence(&run, gate)
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        match next_look(&evidence, target, config, gate) {
            Some(next) => {
                schedule.trade_projects(0, 1, sides.base.warmup.max(1))?;
                look_start = target;
                target = next;
            }
            None => return Ok(run),
        }
    }
}

/// The run so far: each lane's measured runs as a result, and the order of
/// every pair.
fn assemble(base: &Lane<'_>, head: &Lane<'_>, sides: &Sides<'_>, head_first: &[bool]) -> PairedRun {
    let result = |run: &ScenarioRun, runs: &[Measurement]| {
        scenario_result(
            run.scenario(),
            sides.base.warmup,
            run.verifies(),
            CollectedRuns {
                measured: runs.to_vec(),
                ..CollectedRuns::default()
            },
        )
    };
    PairedRun {
        fixture: base.run().project().name.clone(),
        scenario: base.run().scenario().name().to_string(),
        base: result(base.run(), base.measured()),
        head: result(head.run(), head.measured()),
        head_first: head_first.to_vec(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn quick() -> GateConfig {
        GateConfig {
            bootstrap: crate::stats::BootstrapConfig {
                resamples: 2000,
                ..Default::default()
            },
            ..GateConfig::default()
        }
    }

    #[test]
    fn a_consistent_ten_percent_per_pair_is_a_regression() {
        let base: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i % 5) * 7.0).collect();
        let head: Vec<f64> = base
            .iter()
            .enumerate()
            .map(|(i, b)| b * (1.10 + if i % 2 == 0 { 0.01 } else { -0.01 }))
            .collect();
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        assert!((evidence.ratio - 1.10).abs() < 0.02, "{evidence:?}");
        let PairedJudgement {
            verdict, reason, ..
        } = judge_paired(
            &evidence,
            evidence.p_value,
            Direction::SmallerIsBetter,
            &quick(),
        );
        assert_eq!(verdict, Verdict::Regressed, "{reason}");
    }

    #[test]
    fn drift_shared_by_both_sides_of_a_pair_cancels() {
        // The machine slows by up to 80% over the run; both sides alike.
        let drift: Vec<f64> = (0..16).map(|i| 1.0 + f64::from(i) * 0.05).collect();
        let base: Vec<f64> = drift.iter().map(|d| 50.0 * d).collect();
        let head: Vec<f64> = drift
            .iter()
            .enumerate()
            .map(|(i, d)| 50.0 * d * if i % 2 == 0 { 1.01 } else { 0.99 })
            .collect();
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        let PairedJudgement { verdict, .. } = judge_paired(
            &evidence,
            evidence.p_value,
            Direction::SmallerIsBetter,
            &quick(),
        );
        assert_eq!(verdict, Verdict::Unchanged);
        assert!(resolved(&evidence, &quick(), 1));
    }

    #[test]
    fn a_large_noisy_change_is_inconclusive_and_says_how_many_pairs_would_do() {
        let base = [100.0, 100.0, 100.0, 100.0, 100.0];
        let head = [150.0, 60.0, 140.0, 70.0, 130.0];
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        let PairedJudgement {
            verdict,
            reason,
            pairs_needed: need,
        } = judge_paired(
            &evidence,
            evidence.p_value,
            Direction::SmallerIsBetter,
            &quick(),
        );
        assert_eq!(verdict, Verdict::Inconclusive, "{reason}");
        assert!(need.unwrap() > 5, "{reason}");
        assert!(reason.contains("pairs would resolve it"), "{reason}");
    }

    #[test]
    fn a_small_change_with_a_wide_interval_is_not_called_unchanged() {
        // Median +1%, but pairs spread ±15%: nothing rules out +10%.
        let base = vec![100.0; 12];
        let head: Vec<f64> = (0..12)
            .map(|i| 100.0 * [0.85, 1.15, 1.01, 0.9, 1.12, 1.01][i % 6])
            .collect();
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        assert!((evidence.ratio - 1.0).abs() < 0.05, "{evidence:?}");
        let judgement = judge_paired(
            &evidence,
            evidence.p_value,
            Direction::SmallerIsBetter,
            &quick(),
        );
        assert_eq!(judgement.verdict, Verdict::Inconclusive, "{judgement:?}");
        assert!(
            judgement.reason.contains("reaches past"),
            "{}",
            judgement.reason
        );
    }

    #[test]
    fn looks_grow_geometrically_up_to_the_cap() {
        let config = PairedConfig::default();
        let mut looks = vec![config.first_look()];
        while let Some(next) = config.next_look(*looks.last().unwrap()) {
            looks.push(next);
        }
        assert_eq!(looks, vec![12, 20, 30, 45, 68, 102, 153, 230, 240]);
        let small = PairedConfig {
            initial_pairs: 5,
            batch: 8,
            max_pairs: 4,
            seed: 1,
            family: 1,
        };
        assert_eq!((small.first_look(), small.next_look(5)), (5, None));
    }

    #[test]
    fn a_row_is_resolved_once_its_interval_rules_out_a_regression() {
        // Noisy around an improvement: the upper end is below +5%, the
        // lower end far below −5% — nothing more to learn for the gate.
        let base = vec![100.0; 24];
        let head: Vec<f64> = (0..24)
            .map(|i| 90.0 + f64::from(i % 6) * 2.0 - 4.0)
            .collect();
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        assert!(evidence.ci.upper <= 1.05, "{evidence:?}");
        assert!(resolved(&evidence, &quick(), 1));
    }

    #[test]
    fn a_regression_stops_the_run_only_once_it_survives_the_family_correction() {
        // 9 pairs, all about +10%: p = 2/512 alone, 0.09 for a family of
        // 24; 20 pairs: p ≈ 2e-6, below alpha even multiplied by 24.
        let base = vec![100.0; 9];
        let head: Vec<f64> = (0..9).map(|i| 110.0 + f64::from(i)).collect();
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        assert!(evidence.p_value < 0.01, "{evidence:?}");
        assert!(evidence.p_value * 24.0 > 0.01, "{evidence:?}");
        assert!(resolved(&evidence, &quick(), 1));
        assert!(!resolved(&evidence, &quick(), 24));
        let base = vec![100.0; 20];
        let head: Vec<f64> = (0..20).map(|i| 110.0 + f64::from(i) * 0.5).collect();
        let evidence = paired_evidence(&base, &head, &quick()).unwrap();
        assert!(resolved(&evidence, &quick(), 24), "{evidence:?}");
    }

    #[test]
    fn a_row_too_noisy_for_the_cap_stops_at_the_third_look() {
        let config = PairedConfig::default();
        // Per-pair ratios spread over ±60%: thousands of pairs to resolve 5%.
        let base = vec![100.0; 30];
        let head: Vec<f64> = (0..30)
            .map(|i| 100.0 * [0.4, 1.6, 0.7, 1.3, 1.0][i % 5])
            .collect();
        let evidence = vec![paired_evidence(&base, &head, &quick()).unwrap()];
        assert!(!resolved(&evidence[0], &quick(), 1));
        // At the second look it goes on (the spread is not known well yet) …
        assert_eq!(next_look(&evidence, 20, &config, &quick()), Some(30));
        // … at the third it stops: the cap could not resolve it.
        assert_eq!(next_look(&evidence, 30, &config, &quick()), None);
        // A quieter row goes on to the next look.
        let calm: Vec<f64> = (0..30)
            .map(|i| 100.0 * [0.97, 1.13, 1.0, 1.08, 0.99][i % 5])
            .collect();
        let evidence = vec![paired_evidence(&base, &calm, &quick()).unwrap()];
        assert!(!resolved(&evidence[0], &quick(), 1), "{evidence:?}");
        assert_eq!(next_look(&evidence, 30, &config, &quick()), Some(45));
        // As noisy, but a clear shift: worth the pairs the shift needs.
        let shifted: Vec<f64> = (0..30)
            .map(|i| 100.0 * [0.5, 1.9, 1.25, 1.5, 0.9][i % 5])
            .collect();
        let evidence = vec![paired_evidence(&base, &shifted, &quick()).unwrap()];
        assert!(!resolved(&evidence[0], &quick(), 1), "{evidence:?}");
        assert_eq!(next_look(&evidence, 30, &config, &quick()), Some(45));
    }

    #[test]
    fn a_row_gives_up_only_when_it_needs_more_than_twice_the_cap() {
        let config = PairedConfig::default();
        let gate = quick();
        let cap = config.cap();
        // +2% so far, the interval reaching past +5%: unresolved.
        let at = |sigma: f64| PairedEvidence {
            pairs: 30,
            ratio: 1.02,
            ci: ConfidenceInterval {
                lower: 0.95,
                upper: 1.09,
            },
            p_value: 0.5,
            sigma,
        };
        let need = |sigma: f64| {
            pairs_to_resolve(sigma, gate.threshold_pct / 100.0, gate.alpha, 0.8).unwrap() as usize
        };
        let sigmas = (1..4000).map(|i| f64::from(i) * 0.0005);
        let past_cap = sigmas
            .clone()
            .find(|&s| need(s) > cap && need(s) <= FUTILITY_MARGIN * cap)
            .unwrap();
        let past_margin = sigmas
            .clone()
            .find(|&s| need(s) > FUTILITY_MARGIN * cap)
            .unwrap();
        assert!(!resolved(&at(past_cap), &gate, 24));
        assert_eq!(next_look(&[at(past_cap)], 30, &config, &gate), Some(45));
        assert_eq!(next_look(&[at(past_margin)], 30, &config, &gate), None);
    }

    #[test]
    fn fewer_than_three_usable_pairs_give_no_evidence() {
        assert!(paired_evidence(&[1.0, 0.0, 1.0], &[1.0, 1.0, 0.0], &quick()).is_none());
    }
}
