//! The regression gate: compares base and head samples metric by metric and
//! says regressed, improved, unchanged or inconclusive — and the exit code
//! nightly CI acts on. The rule and its false-alarm rate are documented in
//! `docs/guides/harness-statistics.md`.
//!
//! Timing metrics (noisy) are regressed only when all of these hold:
//! 1. both sides have at least [`MIN_TIMING_SAMPLES`] samples;
//! 2. the medians differ by more than `threshold_pct` in the bad direction;
//! 3. the two-sided Mann–Whitney p-value, Holm-adjusted over all the timing
//!    metrics of the comparison ([`compare_fixtures`]), is below `alpha`;
//! 4. the (1 − alpha) bootstrap interval of the ratio of medians excludes 1
//!    on the same side.
//!
//! Holm's correction bounds the family-wise error: when head and base come
//! from the same distribution (an A/A comparison), the probability that the
//! whole gate reports *any* timing regression or improvement is at most
//! alpha (1% by default), however many metrics are compared — a regression
//! alone about half that. Condition 2 makes it rarer still.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{metric_names, Direction, FixtureResult, MetricKind, MetricSamples, Side};
use crate::stats::{
    bootstrap_ratio_of_medians, infinity_as_null, mann_whitney_u, BootstrapConfig,
    ConfidenceInterval, Sample,
};

/// Fewer timing samples than this on either side make a verdict inconclusive.
pub const MIN_TIMING_SAMPLES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GateConfig {
    /// A timing change smaller than this (in percent) is never a regression,
    /// however significant: small real shifts are below what matters.
    pub threshold_pct: f64,
    /// Family-wise significance level of the Mann–Whitney tests (Holm over
    /// the timing metrics of a comparison). 0.01 rather than the textbook
    /// 0.05: every false alarm of the nightly gate costs a person's time, and
    /// 0.01 makes an A/A night fail at most once in 100 (about once in 200 in
    /// the regressing direction). The price is sample size: a lone metric
    /// needs ≥ 5 iterations per side to ever reach p < 0.01.
    pub alpha: f64,
    /// Deterministic metrics (counts) differing by more than this (percent)
    /// are a change; no statistics, they repeat exactly.
    pub deterministic_tolerance_pct: f64,
    /// Resampling for the ratio interval.
    #[serde(default)]
    pub bootstrap: BootstrapConfig,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            threshold_pct: 5.0,
            alpha: 0.01,
            deterministic_tolerance_pct: 1.0,
            bootstrap: BootstrapConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GateConfigError {
    #[error("alpha must be strictly between 0 and 1, got {0}")]
    Alpha(f64),
    #[error("the threshold must be a non-negative percentage, got {0}")]
    Threshold(f64),
    #[error("the deterministic tolerance must be a non-negative percentage, got {0}")]
    Tolerance(f64),
}

impl GateConfig {
    pub fn validate(&self) -> Result<(), GateConfigError> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(GateConfigError::Alpha(self.alpha));
        }
        if !(self.threshold_pct >= 0.0 && self.threshold_pct.is_finite()) {
            return Err(GateConfigError::Threshold(self.threshold_pct));
        }
        if !(self.deterministic_tolerance_pct >= 0.0
            && self.deterministic_tolerance_pct.is_finite())
        {
            return Err(GateConfigError::Tolerance(self.deterministic_tolerance_pct));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Regressed,
    Improved,
    Unchanged,
    /// Not enough evidence either way (too few samples, or a large change that
    /// is not significant), or an informational metric that moved.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The comparison of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricVerdict {
    pub metric: String,
    pub unit: String,
    pub kind: MetricKind,
    pub direction: Direction,
    pub base_median: f64,
    pub head_median: f64,
    pub base_n: usize,
    pub head_n: usize,
    /// head_median / base_median; +∞ (`null` in JSON) when the base median is
    /// zero and the head's is not, 1 when both are zero.
    #[serde(with = "infinity_as_null")]
    pub ratio: f64,
    /// Bootstrap interval of the ratio at confidence 1 − alpha (99% by default);
    /// the point ratio when a side has fewer than 2 samples.
    pub ratio_ci: ConfidenceInterval,
    /// (ratio − 1) · 100.
    #[serde(with = "infinity_as_null")]
    pub change_pct: f64,
    /// Mann–Whitney two-sided p-value; `None` for deterministic metrics and
    /// when a side has fewer than 2 samples.
    pub p_value: Option<f64>,
    /// `p_value` after Holm's correction over the comparison's family of
    /// timing metrics (equal to `p_value` for a metric compared alone); the
    /// value the significance rule uses.
    #[serde(default)]
    pub p_adjusted: Option<f64>,
    /// How many metrics the Holm correction covered (1 when compared alone).
    #[serde(default = "one")]
    pub family_size: usize,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in a few words.
    pub reason: String,
    /// For an inconclusive timing row: about how many iterations (stored
    /// screen) or interleaved pairs would resolve the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_with: Option<u64>,
}

impl MetricVerdict {
    /// Short text for tables, e.g. `regressed +7.3% (p=0.002)`.
    pub fn describe(&self) -> String {
        let change = format_change_pct(self.change_pct);
        match self.p_value {
            Some(p) => format!("{} {change} ({})", self.verdict, p_equals(p)),
            None => format!("{} {change}", self.verdict),
        }
    }
}

fn one() -> usize {
    1
}

/// `+7.3%`, `-0.4%`, `+inf%` (from a zero base).
pub fn format_change_pct(change_pct: f64) -> String {
    if change_pct.is_infinite() {
        return if change_pct > 0.0 {
            "+inf%".into()
        } else {
            "-inf%".into()
        };
    }
    // Rounds to zero: no sign, rather than a puzzling "-0.0%".
    if change_pct.abs() < 0.05 {
        return "0.0%".into();
    }
    format!("{change_pct:+.1}%")
}

/// `p=0.002`, `p<0.001`.
pub fn p_equals(p: f64) -> String {
    let value = format_p_value(p);
    if value.starts_with('<') {
        format!("p{value}")
    } else {
        format!("p={value}")
    }
}

/// `0.002`, `0.04`, `<0.001`.
pub fn format_p_value(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else if p < 0.01 {
        format!("{p:.3}")
    } else {
        format!("{p:.2}")
    }
}

/// Why a metric could not be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    #[error("no samples in the {side}")]
    NoSamples { side: Side },
    #[error("a sample in the {side} is not a finite number")]
    NotFinite { side: Side },
    #[error("the unit changed from `{base}` to `{head}`")]
    UnitMismatch { base: String, head: String },
    #[error("the kind changed from {base:?} to {head:?}")]
    KindMismatch { base: MetricKind, head: MetricKind },
}

/// Compares one metric. Kind and direction are taken from the head.
pub fn compare_metric(
    metric: &str,
    base: &MetricSamples,
    head: &MetricSamples,
    config: &GateConfig,
) -> Result<MetricVerdict, CompareError> {
    if base.unit != head.unit {
        return Err(CompareError::UnitMismatch {
            base: base.unit.clone(),
            head: head.unit.clone(),
        });
    }
    if base.kind != head.kind {
        return Err(CompareError::KindMismatch {
            base: base.kind,
            head: head.kind,
        });
    }
    let base_median = finite_median(&base.samples, Side::Base)?;
    let head_median = finite_median(&head.samples, Side::Head)?;
    let ratio = ratio_of(head_median, base_median);
    let change_pct = (ratio - 1.0) * 100.0;

    // Both sides are finite here, so only "fewer than 2 points" can fail.
    let samples = Sample::from_slice(&base.samples)
        .ok()
        .zip(Sample::from_slice(&head.samples).ok());
    let confidence = 1.0 - config.alpha;
    let ratio_ci = samples
        .as_ref()
        .and_then(|(b, h)| bootstrap_ratio_of_medians(b, h, confidence, &config.bootstrap).ok())
        .map_or(ConfidenceInterval::point(ratio), |estimate| estimate.ci);

    let mut verdict = MetricVerdict {
        metric: metric.to_string(),
        unit: head.unit.clone(),
        kind: head.kind,
        direction: head.direction,
        base_median,
        head_median,
        base_n: base.samples.len(),
        head_n: head.samples.len(),
        ratio,
        ratio_ci,
        change_pct,
        p_value: None,
        p_adjusted: None,
        family_size: 1,
        verdict: Verdict::Unchanged,
        reason: String::new(),
        resolve_with: None,
    };
    match head.kind {
        MetricKind::Deterministic => judge_deterministic(&mut verdict, config),
        MetricKind::Timing => {
            verdict.p_value = samples.as_ref().map(|(b, h)| mann_whitney_u(b, h).p_value);
            verdict.p_adjusted = verdict.p_value;
            judge_timing(&mut verdict, config);
        }
    }
    Ok(verdict)
}

fn finite_median(values: &[f64], side: Side) -> Result<f64, CompareError> {
    if values.is_empty() {
        return Err(CompareError::NoSamples { side });
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(CompareError::NotFinite { side });
    }
    match Sample::from_slice(values) {
        Ok(sample) => Ok(sample.median()),
        // A single value is its own median.
        Err(_) => Ok(values[0]),
    }
}

fn ratio_of(head: f64, base: f64) -> f64 {
    if base == 0.0 {
        if head == 0.0 {
            1.0
        } else {
            f64::INFINITY.copysign(head)
        }
    } else {
        head / base
    }
}

/// The change in the bad direction, in percent (negative = better).
fn bad_change_pct(direction: Direction, change_pct: f64) -> f64 {
    match direction {
        Direction::SmallerIsBetter => change_pct,
        Direction::LargerIsBetter => -change_pct,
        Direction::Informational => change_pct.abs(),
    }
}

/// The tolerance of a deterministic metric, in percent: byte and
/// allocation counts (and instructions) vary by a hair with thread
/// interleaving and hash seeds, so they get `deterministic_tolerance_pct`
/// (1%); counts of work (files read or analyzed, cache hits and misses) do
/// not vary at all and must match exactly.
pub fn deterministic_tolerance_pct(metric: &str, config: &GateConfig) -> f64 {
    match metric {
        metric_names::FILES_READ
        | metric_names::FILES_ANALYZED
        | metric_names::FILES_SCANNED
        | metric_names::CACHE_HITS
        | metric_names::CACHE_MISSES
        | metric_names::CACHE_SKIPS => 0.0,
        _ => config.deterministic_tolerance_pct,
    }
}

/// An absolute slack under which a deterministic change is never one: the
/// number of allocations of a small warm build (≈ 630) moved by 8 (+1.3%)
/// between two A/A runs (thread-pool and hash-map growth timing), which a
/// percentage alone cannot absorb at that size.
pub fn deterministic_slack(metric: &str) -> f64 {
    match metric {
        metric_names::ALLOC_COUNT => 32.0,
        _ => 0.0,
    }
}

fn judge_deterministic(v: &mut MetricVerdict, config: &GateConfig) {
    let tolerance = deterministic_tolerance_pct(&v.metric, config);
    let exceeds = v.change_pct.abs() > tolerance
        && (v.head_median - v.base_median).abs() > deterministic_slack(&v.metric);
    (v.verdict, v.reason) = if !exceeds {
        (
            Verdict::Unchanged,
            format!("within the ±{tolerance}% tolerance"),
        )
    } else if v.direction == Direction::Informational {
        (
            Verdict::Inconclusive,
            "informational metric changed; never a regression".to_string(),
        )
    } else if bad_change_pct(v.direction, v.change_pct) > 0.0 {
        (
            Verdict::Regressed,
            format!("beyond the ±{tolerance}% tolerance"),
        )
    } else {
        (
            Verdict::Improved,
            format!("beyond the ±{tolerance}% tolerance"),
        )
    };
}

fn judge_timing(v: &mut MetricVerdict, config: &GateConfig) {
    let threshold = config.threshold_pct;
    let exceeds = v.change_pct.abs() > threshold;
    if v.base_n < MIN_TIMING_SAMPLES || v.head_n < MIN_TIMING_SAMPLES {
        v.verdict = Verdict::Inconclusive;
        v.reason = format!(
            "fewer than {MIN_TIMING_SAMPLES} samples (base {}, head {})",
            v.base_n, v.head_n
        );
        return;
    }
    if !exceeds {
        v.verdict = Verdict::Unchanged;
        v.reason = format!("within the ±{threshold}% threshold");
        return;
    }
    if v.direction == Direction::Informational {
        v.verdict = Verdict::Inconclusive;
        v.reason = "informational metric changed; never a regression".into();
        return;
    }
    let p = v.p_adjusted.or(v.p_value).unwrap_or(1.0);
    let significant_test = p < config.alpha;
    let interval_excludes_one = if v.change_pct > 0.0 {
        v.ratio_ci.lower > 1.0
    } else {
        v.ratio_ci.upper < 1.0
    };
    if significant_test && interval_excludes_one {
        v.verdict = if bad_change_pct(v.direction, v.change_pct) > 0.0 {
            Verdict::Regressed
        } else {
            Verdict::Improved
        };
        v.reason = format!(
            "beyond ±{threshold}% and significant (p < {})",
            config.alpha
        );
        if v.family_size > 1 {
            v.reason.push_str(&format!(
                " after Holm's correction for {} metrics",
                v.family_size
            ));
        }
        return;
    }
    v.verdict = Verdict::Inconclusive;
    let raw_p = v.p_value.unwrap_or(1.0);
    v.reason = if significant_test {
        format!(
            "beyond ±{threshold}% but the {:.0}% interval of the ratio includes 1",
            (1.0 - config.alpha) * 100.0
        )
    } else if raw_p < config.alpha {
        format!(
            "beyond ±{threshold}% and p = {} alone, but not significant after Holm's correction \
             for {} metrics (adjusted p = {})",
            format_p_value(raw_p),
            v.family_size,
            format_p_value(p)
        )
    } else {
        format!(
            "beyond ±{threshold}% but not significant (p = {} ≥ {})",
            format_p_value(raw_p),
            config.alpha
        )
    };
}

/// Whether a row takes part in the Holm family: a timing metric that can be
/// called regressed or improved and has a p-value.
fn in_holm_family(v: &MetricVerdict) -> bool {
    v.kind == MetricKind::Timing
        && v.direction != Direction::Informational
        && v.base_n >= MIN_TIMING_SAMPLES
        && v.head_n >= MIN_TIMING_SAMPLES
        && v.p_value.is_some()
}

/// Holm's step-down correction over the family rows, then the timing rule is
/// applied again with the adjusted p-values. Valid under any dependence
/// between the metrics (wall and CPU time are strongly correlated).
fn apply_holm(rows: &mut [GateRow], config: &GateConfig) {
    let family: Vec<usize> = (0..rows.len())
        .filter(|&i| in_holm_family(&rows[i].metric))
        .collect();
    let p_values: Vec<f64> = family
        .iter()
        .map(|&i| rows[i].metric.p_value.unwrap_or(1.0))
        .collect();
    let adjusted = crate::stats::paired::holm_adjust(&p_values);
    for (&index, p_adjusted) in family.iter().zip(adjusted) {
        let metric = &mut rows[index].metric;
        metric.p_adjusted = Some(p_adjusted);
        metric.family_size = family.len();
        judge_timing(metric, config);
    }
}

/// What a row's verdict rests on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Evidence {
    /// This run's samples against the stored baseline's: a screen for
    /// timing rows (it can never say `regressed` on its own), the verdict
    /// itself for deterministic rows.
    #[default]
    Stored,
    /// An interleaved, randomized-order A/B run of the baseline commit's
    /// binary against this one, on this machine, now.
    Interleaved { pairs: usize },
}

/// One compared metric of one fixture × scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    pub fixture: String,
    pub scenario: String,
    pub metric: MetricVerdict,
    /// Where the verdict's evidence came from.
    #[serde(default)]
    pub evidence: Evidence,
}

/// Verdict counts of a gate report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    pub regressed: usize,
    pub improved: usize,
    pub unchanged: usize,
    pub inconclusive: usize,
}

/// Everything the gate found comparing two sets of fixture results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub config: GateConfig,
    /// In head order: fixtures, then scenarios, then metrics by name.
    pub rows: Vec<GateRow>,
    /// Fixtures, scenarios or metrics present on only one side, or that could
    /// not be compared, with the reason: `small/cold/wall_ms: not in the head`.
    pub missing: Vec<String>,
}

impl GateReport {
    /// 1 when any metric regressed, else 0. Missing entries and inconclusive
    /// verdicts do not fail the gate (they are shown to the reader).
    pub fn exit_code(&self) -> i32 {
        i32::from(self.has_regressions())
    }

    /// Whether any row regressed (after any confirmation).
    pub fn has_regressions(&self) -> bool {
        self.rows
            .iter()
            .any(|row| row.metric.verdict == Verdict::Regressed)
    }

    pub fn regressions(&self) -> impl Iterator<Item = &GateRow> {
        self.rows
            .iter()
            .filter(|row| row.metric.verdict == Verdict::Regressed)
    }

    pub fn counts(&self) -> VerdictCounts {
        let mut counts = VerdictCounts::default();
        for row in &self.rows {
            match row.metric.verdict {
                Verdict::Regressed => counts.regressed += 1,
                Verdict::Improved => counts.improved += 1,
                Verdict::Unchanged => counts.unchanged += 1,
                Verdict::Inconclusive => counts.inconclusive += 1,
            }
        }
        counts
    }

    /// The row of one metric, if it was compared.
    pub fn find(&self, fixture: &str, scenario: &str, metric: &str) -> Option<&GateRow> {
        self.rows.iter().find(|row| {
            row.fixture == fixture && row.scenario == scenario && row.metric.metric == metric
        })
    }
}

/// Compares every metric present on both sides; timing p-values are
/// Holm-adjusted over all the timing metrics compared.
pub fn compare_fixtures(
    base: &[FixtureResult],
    head: &[FixtureResult],
    config: &GateConfig,
) -> GateReport {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for head_fixture in head {
        let Some(base_fixture) = base.iter().find(|f| f.fixture == head_fixture.fixture) else {
            missing.push(format!("{}: not in the base", head_fixture.fixture));
            continue;
        };
        for head_scenario in &head_fixture.scenarios {
            let label = format!("{}/{}", head_fixture.fixture, head_scenario.scenario);
            let Some(base_scenario) = base_fixture.scenario(&head_scenario.scenario) else {
                missing.push(format!("{label}: not in the base"));
                continue;
            };
            let features = |scenario: &crate::model::ScenarioResult| {
                scenario
                    .notes
                    .iter()
                    .find(|n| n.starts_with(crate::measure::machine::CPU_FEATURES_NOTE))
                    .cloned()
            };
            let (base_features, head_features) = (features(base_scenario), features(head_scenario));
            for (name, head_metric) in &head_scenario.metrics {
                let Some(base_metric) = base_scenario.metrics.get(name) else {
                    missing.push(format!("{label}/{name}: not in the base"));
                    continue;
                };
                if name == metric_names::INSTRUCTIONS && base_features != head_features {
                    missing.push(format!(
                        "{label}/{name}: the CPU features differ ({} → {}); instruction counts compare only on equal features, re-save the baseline on this runner",
                        base_features.as_deref().unwrap_or("cpu-features unrecorded"),
                        head_features.as_deref().unwrap_or("cpu-features unrecorded")
                    ));
                    continue;
                }
                match compare_metric(name, base_metric, head_metric, config) {
                    Ok(metric) => rows.push(GateRow {
                        fixture: head_fixture.fixture.clone(),
                        scenario: head_scenario.scenario.clone(),
                        metric,
                        evidence: Evidence::Stored,
                    }),
                    Err(err) => missing.push(format!("{label}/{name}: {err}")),
                }
            }
            let head_names: BTreeSet<&String> = head_scenario.metrics.keys().collect();
            for name in base_scenario
                .metrics
                .keys()
                .filter(|n| !head_names.contains(n))
            {
                missing.push(format!("{label}/{name}: not in the head"));
            }
        }
        for base_scenario in &base_fixture.scenarios {
            if head_fixture.scenario(&base_scenario.scenario).is_none() {
                missing.push(format!(
                    "{}/{}: not in the head",
                    base_fixture.fixture, base_scenario.scenario
                ));
            }
        }
    }
    for base_fixture in base {
        if !head.iter().any(|f| f.fixture == base_fixture.fixture) {
            missing.push(format!("{}: not in the head", base_fixture.fixture));
        }
    }
    apply_holm(&mut rows, config);
    GateReport {
        config: *config,
        rows,
        missing,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::model::ScenarioResult;

    use crate::stats::rng::Xoshiro256StarStar;
    use std::collections::BTreeMap;

    /// `n` samples around `center` with relative Gaussian noise.
    fn noisy(seed: u64, n: usize, center: f64, relative_noise: f64) -> Vec<f64> {
        let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
        (0..n)
            .map(|_| center * (1.0 + relative_noise * rng.standard_normal()))
            .collect()
    }

    /// Like a shared CI machine: mostly lognormal noise, and now and then a
    /// sample delayed by 30–80% (another tenant, a page-cache flush).
    fn spiky(seed: u64, n: usize, center: f64, relative_noise: f64) -> Vec<f64> {
        let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let base = center * (relative_noise * rng.standard_normal()).exp();
                if rng.next_f64() < 0.1 {
                    base * (1.3 + 0.5 * rng.next_f64())
                } else {
                    base
                }
            })
            .collect()
    }

    fn timing(samples: Vec<f64>) -> MetricSamples {
        MetricSamples {
            unit: "ms".into(),
            kind: MetricKind::Timing,
            direction: Direction::SmallerIsBetter,
            samples,
        }
    }

    fn counts(samples: Vec<f64>, direction: Direction) -> MetricSamples {
        MetricSamples {
            unit: "bytes".into(),
            kind: MetricKind::Deterministic,
            direction,
            samples,
        }
    }

    fn quick_config() -> GateConfig {
        GateConfig {
            bootstrap: BootstrapConfig {
                resamples: 2_000,
                ..BootstrapConfig::default()
            },
            ..GateConfig::default()
        }
    }

    fn verdict_of(base: Vec<f64>, head: Vec<f64>) -> MetricVerdict {
        compare_metric("wall_ms", &timing(base), &timing(head), &quick_config()).unwrap()
    }

    #[test]
    fn a_a_comparisons_with_2pct_noise_never_regress() {
        for seed in 0..200 {
            let base = noisy(seed * 2, 20, 100.0, 0.02);
            let head = noisy(seed * 2 + 1, 20, 100.0, 0.02);
            let v = verdict_of(base, head);
            assert_ne!(v.verdict, Verdict::Regressed, "seed {seed}: {v:?}");
            assert_ne!(v.verdict, Verdict::Improved, "seed {seed}: {v:?}");
        }
    }

    #[test]
    fn a_a_false_alarms_stay_below_alpha_over_2_even_when_very_noisy() {
        // 15% lognormal noise with spikes and only 10 samples: the 5%
        // threshold is often exceeded by chance, so here the test's
        // significance level is what protects. Expected false alarms
        // ≤ 1000 · alpha/2 = 5; 15 would be a > 4σ excess.
        let trials = 1000;
        let false_alarms = (0..trials)
            .filter(|&seed| {
                let base = spiky(seed * 2, 10, 100.0, 0.15);
                let head = spiky(seed * 2 + 1, 10, 100.0, 0.15);
                verdict_of(base, head).verdict == Verdict::Regressed
            })
            .count();
        assert!(
            false_alarms <= 15,
            "{false_alarms} false alarms in {trials}"
        );
    }

    /// A gate over many noisy metrics: without a correction each one would
    /// false-alarm ~0.25% of the time and 40 of them ~9% of the nights.
    #[test]
    fn a_a_gate_over_many_noisy_metrics_rarely_fails() {
        let config = GateConfig {
            bootstrap: BootstrapConfig {
                resamples: 200,
                ..BootstrapConfig::default()
            },
            ..GateConfig::default()
        };
        let gates = 200u64;
        let metrics = 40u64;
        let failed = (0..gates)
            .filter(|&gate| {
                let side = |offset: u64| {
                    let samples = (0..metrics)
                        .map(|m| {
                            let seed = (gate * metrics + m) * 2 + offset;
                            (format!("m{m}"), timing(spiky(seed, 10, 100.0, 0.15)))
                        })
                        .collect::<Vec<_>>();
                    vec![fixture_with("f", "s", samples)]
                };
                compare_fixtures(&side(0), &side(1), &config).exit_code() == 1
            })
            .count();
        // Holm bounds this by alpha/2 ≈ 0.5%: expected ≤ 1 in 200.
        assert!(failed <= 4, "{failed} of {gates} A/A gates failed");
    }

    #[test]
    fn holm_correction_needs_more_than_a_lone_significant_metric() {
        // Complete separation of 6 vs 6: exact p = 2/924 ≈ 0.0022.
        let base = vec![100.0, 101.0, 102.0, 103.0, 104.0, 105.0];
        let head: Vec<f64> = base.iter().map(|v| v * 1.2).collect();
        let alone = compare_fixtures(
            &[fixture_with(
                "f",
                "s",
                vec![("wall_ms".into(), timing(base.clone()))],
            )],
            &[fixture_with(
                "f",
                "s",
                vec![("wall_ms".into(), timing(head.clone()))],
            )],
            &quick_config(),
        );
        assert_eq!(alone.rows[0].metric.verdict, Verdict::Regressed);
        assert_eq!(alone.rows[0].metric.family_size, 1);

        // The same metric among nine quiet ones: adjusted p = 10 × 0.0022.
        let mut base_metrics = vec![("wall_ms".to_string(), timing(base))];
        let mut head_metrics = vec![("wall_ms".to_string(), timing(head))];
        for m in 0..9u64 {
            base_metrics.push((format!("quiet{m}"), timing(noisy(m * 2, 6, 50.0, 0.01))));
            head_metrics.push((format!("quiet{m}"), timing(noisy(m * 2 + 1, 6, 50.0, 0.01))));
        }
        let in_family = compare_fixtures(
            &[fixture_with("f", "s", base_metrics)],
            &[fixture_with("f", "s", head_metrics)],
            &quick_config(),
        );
        let row = in_family.find("f", "s", "wall_ms").unwrap();
        assert_eq!(row.metric.family_size, 10);
        assert!(
            (row.metric.p_adjusted.unwrap() - 10.0 * row.metric.p_value.unwrap()).abs() < 1e-12
        );
        assert_eq!(row.metric.verdict, Verdict::Inconclusive);
        assert!(row.metric.reason.contains("Holm"), "{}", row.metric.reason);
        assert_eq!(in_family.exit_code(), 0);
    }

    #[test]
    fn ten_percent_slower_with_20_samples_regresses() {
        for seed in 0..20 {
            let base = noisy(seed * 2, 20, 100.0, 0.02);
            let head = noisy(seed * 2 + 1, 20, 110.0, 0.02);
            let v = verdict_of(base, head);
            assert_eq!(v.verdict, Verdict::Regressed, "seed {seed}: {v:?}");
            assert!(v.change_pct > 5.0);
            assert!(v.p_value.unwrap() < 0.01);
            assert!(v.ratio_ci.lower > 1.0);
        }
    }

    #[test]
    fn three_percent_slower_is_not_a_regression() {
        for seed in 0..20 {
            let base = noisy(seed * 2, 20, 100.0, 0.02);
            let head = noisy(seed * 2 + 1, 20, 103.0, 0.02);
            let v = verdict_of(base, head);
            assert!(
                matches!(v.verdict, Verdict::Unchanged | Verdict::Inconclusive),
                "seed {seed}: {v:?}"
            );
        }
    }

    #[test]
    fn ten_percent_faster_improves() {
        for seed in 0..20 {
            let base = noisy(seed * 2, 20, 100.0, 0.02);
            let head = noisy(seed * 2 + 1, 20, 90.0, 0.02);
            let v = verdict_of(base, head);
            assert_eq!(v.verdict, Verdict::Improved, "seed {seed}: {v:?}");
        }
    }

    #[test]
    fn larger_is_better_flips_the_direction() {
        let mut head = timing(noisy(2, 20, 90.0, 0.02));
        head.direction = Direction::LargerIsBetter;
        let mut base = timing(noisy(1, 20, 100.0, 0.02));
        base.direction = Direction::LargerIsBetter;
        let v = compare_metric("throughput", &base, &head, &quick_config()).unwrap();
        assert_eq!(v.verdict, Verdict::Regressed, "{v:?}");
    }

    #[test]
    fn large_but_insignificant_change_is_inconclusive() {
        // Five samples with 30% noise: a big point change, no significance.
        let base = vec![100.0, 140.0, 70.0, 120.0, 90.0];
        let head = vec![110.0, 150.0, 75.0, 135.0, 95.0];
        let v = verdict_of(base, head);
        assert!(v.change_pct > 5.0);
        assert_eq!(v.verdict, Verdict::Inconclusive, "{v:?}");
        assert!(v.reason.contains("not significant"), "{}", v.reason);
    }

    #[test]
    fn fewer_than_three_samples_are_inconclusive() {
        let v = verdict_of(vec![100.0, 100.0], vec![200.0, 200.0, 200.0]);
        assert_eq!(v.verdict, Verdict::Inconclusive);
        assert!(v.reason.contains("fewer than 3"));
        let v = verdict_of(vec![100.0], vec![200.0]);
        assert_eq!(v.verdict, Verdict::Inconclusive);
        assert_eq!(v.p_value, None);
        assert_eq!(v.ratio_ci, ConfidenceInterval::point(2.0));
    }

    #[test]
    fn informational_timing_never_regresses() {
        let mut base = timing(noisy(1, 20, 100.0, 0.02));
        let mut head = timing(noisy(2, 20, 150.0, 0.02));
        base.direction = Direction::Informational;
        head.direction = Direction::Informational;
        let v = compare_metric("phase.x_ms", &base, &head, &quick_config()).unwrap();
        assert_eq!(v.verdict, Verdict::Inconclusive);
        let same = compare_metric("phase.x_ms", &base, &base, &quick_config()).unwrap();
        assert_eq!(same.verdict, Verdict::Unchanged);
    }

    #[test]
    fn deterministic_metrics_use_the_tolerance() {
        let config = GateConfig::default();
        let judge = |base: f64, head: f64, direction| {
            compare_metric(
                "alloc_total_bytes",
                &counts(vec![base; 5], direction),
                &counts(vec![head; 5], direction),
                &config,
            )
            .unwrap()
        };
        let smaller = Direction::SmallerIsBetter;
        assert_eq!(judge(1000.0, 1005.0, smaller).verdict, Verdict::Unchanged);
        assert_eq!(judge(1000.0, 1020.0, smaller).verdict, Verdict::Regressed);
        assert_eq!(judge(1000.0, 980.0, smaller).verdict, Verdict::Improved);
        assert_eq!(
            judge(1000.0, 1020.0, Direction::LargerIsBetter).verdict,
            Verdict::Improved
        );
        assert_eq!(
            judge(0.0, 3.0, Direction::Informational).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(judge(0.0, 0.0, smaller).verdict, Verdict::Unchanged);
        // From zero to something: an infinite change, still a regression.
        let from_zero = judge(0.0, 3.0, smaller);
        assert_eq!(from_zero.verdict, Verdict::Regressed);
        assert_eq!(from_zero.ratio, f64::INFINITY);
        assert_eq!(from_zero.p_value, None);
        assert_eq!(from_zero.describe(), "regressed +inf%");
        // Deterministic metrics are judged even from a single run.
        let single = compare_metric(
            "files_read",
            &counts(vec![10.0], smaller),
            &counts(vec![12.0], smaller),
            &config,
        )
        .unwrap();
        assert_eq!(single.verdict, Verdict::Regressed);
    }

    #[test]
    fn incomparable_metrics_are_errors() {
        let config = GateConfig::default();
        assert_eq!(
            compare_metric("m", &timing(vec![]), &timing(vec![1.0]), &config).unwrap_err(),
            CompareError::NoSamples { side: Side::Base }
        );
        assert!(matches!(
            compare_metric(
                "m",
                &timing(vec![1.0, f64::NAN]),
                &timing(vec![1.0]),
                &config
            ),
            Err(CompareError::NotFinite { side: Side::Base })
        ));
        let mut kib = timing(vec![1.0]);
        kib.unit = "KiB".into();
        assert!(matches!(
            compare_metric("m", &timing(vec![1.0]), &kib, &config),
            Err(CompareError::UnitMismatch { .. })
        ));
    }

    #[test]
    fn describe_formats_change_and_p_value() {
        let mut v = verdict_of(noisy(1, 20, 100.0, 0.01), noisy(2, 20, 107.3, 0.01));
        assert_eq!(v.verdict, Verdict::Regressed);
        v.change_pct = 7.31;
        v.p_value = Some(0.0021);
        assert_eq!(v.describe(), "regressed +7.3% (p=0.002)");
        v.p_value = Some(0.0001);
        assert_eq!(v.describe(), "regressed +7.3% (p<0.001)");
        assert_eq!(format_p_value(0.2544), "0.25");
        assert_eq!(format_change_pct(-0.01), "0.0%");
        assert_eq!(format_change_pct(-0.06), "-0.1%");
    }

    #[test]
    fn gate_config_validation() {
        assert!(GateConfig::default().validate().is_ok());
        let bad_alpha = GateConfig {
            alpha: 1.5,
            ..GateConfig::default()
        };
        assert_eq!(bad_alpha.validate(), Err(GateConfigError::Alpha(1.5)));
        let bad_threshold = GateConfig {
            threshold_pct: -1.0,
            ..GateConfig::default()
        };
        assert!(bad_threshold.validate().is_err());
    }

    fn fixture(name: &str, scenarios: Vec<(&str, Vec<(&str, MetricSamples)>)>) -> FixtureResult {
        FixtureResult {
            fixture: name.into(),
            files: 10,
            scenarios: scenarios
                .into_iter()
                .map(|(scenario, metrics)| ScenarioResult {
                    scenario: scenario.into(),
                    iterations: 20,
                    warmup: 2,
                    metrics: metrics
                        .into_iter()
                        .map(|(name, samples)| (name.to_string(), samples))
                        .collect::<BTreeMap<_, _>>(),
                    verified: None,
                    notes: vec![],
                })
                .collect(),
        }
    }

    fn fixture_with(
        name: &str,
        scenario: &str,
        metrics: Vec<(String, MetricSamples)>,
    ) -> FixtureResult {
        FixtureResult {
            fixture: name.into(),
            files: 1,
            scenarios: vec![ScenarioResult {
                scenario: scenario.into(),
                iterations: 10,
                warmup: 0,
                metrics: metrics.into_iter().collect(),
                verified: None,
                notes: vec![],
            }],
        }
    }

    #[test]
    fn compare_fixtures_reports_rows_missing_entries_and_exit_code() {
        let base = vec![
            fixture(
                "small",
                vec![
                    (
                        "cold",
                        vec![
                            ("wall_ms", timing(noisy(1, 20, 100.0, 0.02))),
                            ("cpu_ms", timing(noisy(3, 20, 90.0, 0.02))),
                        ],
                    ),
                    ("warm", vec![("wall_ms", timing(noisy(5, 20, 10.0, 0.02)))]),
                ],
            ),
            fixture("gone", vec![]),
        ];
        let head = vec![
            fixture(
                "small",
                vec![(
                    "cold",
                    vec![
                        ("wall_ms", timing(noisy(2, 20, 112.0, 0.02))),
                        (
                            "files_read",
                            counts(vec![5.0; 3], Direction::SmallerIsBetter),
                        ),
                    ],
                )],
            ),
            fixture("new", vec![]),
        ];
        let report = compare_fixtures(&base, &head, &quick_config());
        assert_eq!(report.rows.len(), 1);
        let row = report.find("small", "cold", "wall_ms").unwrap();
        assert_eq!(row.metric.verdict, Verdict::Regressed);
        assert_eq!(report.exit_code(), 1);
        assert_eq!(report.regressions().count(), 1);
        assert_eq!(
            report.missing,
            vec![
                "small/cold/files_read: not in the base",
                "small/cold/cpu_ms: not in the head",
                "small/warm: not in the head",
                "new: not in the base",
                "gone: not in the head",
            ]
        );
        assert_eq!(
            report.counts(),
            VerdictCounts {
                regressed: 1,
                ..VerdictCounts::default()
            }
        );

        let clean = compare_fixtures(&base, &base, &quick_config());
        assert_eq!(clean.exit_code(), 0);
        assert!(clean.missing.is_empty());
        assert_eq!(clean.counts().unchanged, clean.rows.len());
    }

    #[test]
    fn instructions_of_other_cpu_features_are_not_compared() {
        let scenario = |count: f64, note: &str| ScenarioResult {
            scenario: "cold".into(),
            iterations: 1,
            warmup: 0,
            metrics: [(
                "instructions".to_string(),
                counts(vec![count], Direction::SmallerIsBetter),
            )]
            .into(),
            verified: None,
            notes: vec![note.to_string()],
        };
        let fixture = |count: f64, note: &str| FixtureResult {
            fixture: "f".into(),
            files: 1,
            scenarios: vec![scenario(count, note)],
        };
        let config = quick_config();
        let same = compare_fixtures(
            &[fixture(100.0, "cpu-features aa")],
            &[fixture(150.0, "cpu-features aa")],
            &config,
        );
        assert_eq!(same.rows[0].metric.verdict, Verdict::Regressed);
        let other = compare_fixtures(
            &[fixture(100.0, "cpu-features aa")],
            &[fixture(150.0, "cpu-features bb")],
            &config,
        );
        assert!(other.rows.is_empty());
        assert!(
            other.missing[0].contains("CPU features differ"),
            "{:?}",
            other.missing
        );
        assert_eq!(other.exit_code(), 0);
    }

    #[test]
    fn counts_of_work_must_match_exactly_and_bytes_within_one_percent() {
        let config = quick_config();
        let bytes = |v: f64| counts(vec![v], Direction::SmallerIsBetter);
        let judge = |name: &str, base: f64, head: f64| {
            compare_metric(name, &bytes(base), &bytes(head), &config)
                .unwrap()
                .verdict
        };
        assert_eq!(
            judge("alloc_total_bytes", 1000.0, 1009.0),
            Verdict::Unchanged
        );
        assert_eq!(
            judge("alloc_total_bytes", 1000.0, 1020.0),
            Verdict::Regressed
        );
        assert_eq!(judge("alloc_count", 1000.0, 995.0), Verdict::Unchanged);
        // Small counts: 8 more of 634 is +1.3%, within the absolute slack.
        assert_eq!(judge("alloc_count", 634.0, 642.0), Verdict::Unchanged);
        assert_eq!(judge("alloc_count", 10_000.0, 10_200.0), Verdict::Regressed);
        assert_eq!(judge("files_read", 1000.0, 1001.0), Verdict::Regressed);
        assert_eq!(judge("cache_misses", 10.0, 10.0), Verdict::Unchanged);
        assert_eq!(judge("cache_misses", 10.0, 9.0), Verdict::Improved);
        assert_eq!(deterministic_tolerance_pct("files_analyzed", &config), 0.0);
        assert_eq!(
            deterministic_tolerance_pct("alloc_total_bytes", &config),
            1.0
        );
    }

    #[test]
    fn verdicts_serialize_in_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Verdict::Inconclusive).unwrap(),
            "\"inconclusive\""
        );
        let v = compare_metric(
            "files_read",
            &counts(vec![0.0], Direction::SmallerIsBetter),
            &counts(vec![2.0], Direction::SmallerIsBetter),
            &GateConfig::default(),
        )
        .unwrap();
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("\"ratio\":null"), "{json}");
        let back: MetricVerdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back.ratio, f64::INFINITY);
    }

    /// Not a check: prints the measured false-alarm and detection rates that
    /// `docs/guides/harness-statistics.md` quotes. Run with
    /// `cargo test -p harness --no-default-features --release -- --ignored measure_gate_rates --nocapture`.
    #[test]
    #[ignore = "measurement for the docs; slow in debug builds"]
    fn measure_gate_rates() {
        // 2 000 resamples keep this to minutes; the interval only matters
        // when the test is already significant.
        let config = quick_config();
        let trials = 4_000u64;
        type Generator = fn(u64, usize, f64, f64) -> Vec<f64>;
        let generators: [(&str, Generator); 2] = [("gaussian", noisy), ("spiky lognormal", spiky)];
        for (label, generate) in generators {
            for (n, noise) in [
                (10, 0.02),
                (10, 0.05),
                (10, 0.15),
                (20, 0.05),
                (20, 0.15),
                (30, 0.10),
            ] {
                let mut regressed = 0;
                let mut detected = 0;
                for seed in 0..trials {
                    let base = timing(generate(seed * 3, n, 100.0, noise));
                    let same = timing(generate(seed * 3 + 1, n, 100.0, noise));
                    let slower = timing(generate(seed * 3 + 2, n, 110.0, noise));
                    if compare_metric("wall_ms", &base, &same, &config)
                        .unwrap()
                        .verdict
                        == Verdict::Regressed
                    {
                        regressed += 1;
                    }
                    if compare_metric("wall_ms", &base, &slower, &config)
                        .unwrap()
                        .verdict
                        == Verdict::Regressed
                    {
                        detected += 1;
                    }
                }
                println!(
                    "{label:>16} n={n:>2} noise={:>4.0}%: A/A regressed {regressed}/{trials} ({:.3}%), +10% detected {:.1}%",
                    noise * 100.0,
                    100.0 * f64::from(regressed) / trials as f64,
                    100.0 * f64::from(detected) / trials as f64
                );
            }
        }
        // Whole gates of 40 noisy metrics (spiky, 15%, n = 10).
        let gates = 1_000u64;
        let mut failed = 0;
        for gate in 0..gates {
            let side = |offset: u64| {
                let metrics = (0..40u64)
                    .map(|m| {
                        (
                            format!("m{m}"),
                            timing(spiky((gate * 40 + m) * 2 + offset, 10, 100.0, 0.15)),
                        )
                    })
                    .collect::<Vec<_>>();
                vec![fixture_with("f", "s", metrics)]
            };
            failed += compare_fixtures(&side(0), &side(1), &config).exit_code();
        }
        println!("A/A gates of 40 noisy metrics failing: {failed}/{gates}");
    }
}
