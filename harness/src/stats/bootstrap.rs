//! Percentile-bootstrap confidence intervals: of one sample's median, and of
//! the ratio of two samples' medians (head / base). Resampling is driven by
//! a seeded xoshiro256**, so intervals are reproducible.

use serde::{Deserialize, Serialize};

use super::descriptive::{median_in_place, quantile_of_sorted};
use super::rng::Xoshiro256StarStar;
use super::{ConfidenceInterval, Sample, StatsError};

/// How many resamples to draw and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// 10 000 by default: the Monte-Carlo error of a 2.5% percentile is then
    /// about ±0.16 percentage points, well below what the reports show.
    pub resamples: usize,
    pub seed: u64,
}

impl BootstrapConfig {
    /// The fixed default seed: any constant works, it only has to stay put.
    pub const DEFAULT_SEED: u64 = 0x50DA_6A11_B007_5EED;
    pub const DEFAULT_RESAMPLES: usize = 10_000;
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            resamples: Self::DEFAULT_RESAMPLES,
            seed: Self::DEFAULT_SEED,
        }
    }
}

/// The confidence interval of the median at `confidence` (e.g. 0.95): the
/// α/2 and 1−α/2 percentiles of the medians of `resamples` resamples drawn
/// with replacement. With `resamples == 0` the interval is the point median.
pub fn bootstrap_median_ci(
    sample: &Sample,
    confidence: f64,
    config: &BootstrapConfig,
) -> ConfidenceInterval {
    if config.resamples == 0 {
        return ConfidenceInterval::point(sample.median());
    }
    let mut rng = Xoshiro256StarStar::seed_from_u64(config.seed);
    let mut scratch = vec![0.0; sample.len()];
    let mut medians = Vec::with_capacity(config.resamples);
    for _ in 0..config.resamples {
        medians.push(resampled_median(sample.values(), &mut scratch, &mut rng));
    }
    percentile_interval(medians, confidence)
}

/// The ratio of medians, head / base, with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    /// median(head) / median(base): 1.10 means head is 10% larger.
    pub ratio: f64,
    pub ci: ConfidenceInterval,
}

/// Bootstraps the ratio median(head) / median(base), resampling each side
/// independently. Fails when the base median is zero (no ratio exists).
///
/// Meant for non-negative metrics. A resample whose base median is zero gives
/// a ratio of +∞ (or 1 when the head median is zero too), which can make the
/// upper bound infinite for samples that are mostly zeros.
pub fn bootstrap_ratio_of_medians(
    base: &Sample,
    head: &Sample,
    confidence: f64,
    config: &BootstrapConfig,
) -> Result<RatioEstimate, StatsError> {
    let base_median = base.median();
    if base_median == 0.0 {
        return Err(StatsError::ZeroBaseMedian);
    }
    let ratio = head.median() / base_median;
    if config.resamples == 0 {
        return Ok(RatioEstimate {
            ratio,
            ci: ConfidenceInterval::point(ratio),
        });
    }
    let mut rng = Xoshiro256StarStar::seed_from_u64(config.seed);
    let mut base_scratch = vec![0.0; base.len()];
    let mut head_scratch = vec![0.0; head.len()];
    let mut ratios = Vec::with_capacity(config.resamples);
    for _ in 0..config.resamples {
        let base_resample = resampled_median(base.values(), &mut base_scratch, &mut rng);
        let head_resample = resampled_median(head.values(), &mut head_scratch, &mut rng);
        ratios.push(safe_ratio(head_resample, base_resample));
    }
    Ok(RatioEstimate {
        ratio,
        ci: percentile_interval(ratios, confidence),
    })
}

fn safe_ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 && numerator == 0.0 {
        1.0
    } else {
        numerator / denominator
    }
}

fn resampled_median(values: &[f64], scratch: &mut [f64], rng: &mut Xoshiro256StarStar) -> f64 {
    for slot in scratch.iter_mut() {
        *slot = values[rng.below(values.len())];
    }
    median_in_place(scratch)
}

fn percentile_interval(mut statistics: Vec<f64>, confidence: f64) -> ConfidenceInterval {
    statistics.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    ConfidenceInterval {
        lower: quantile_of_sorted(&statistics, tail),
        upper: quantile_of_sorted(&statistics, 1.0 - tail),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::stats::rng::Xoshiro256StarStar;
    use proptest::prelude::*;

    fn noisy(seed: u64, n: usize, center: f64, relative_noise: f64) -> Sample {
        let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
        Sample::new(
            (0..n)
                .map(|_| center * (1.0 + relative_noise * rng.standard_normal()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn median_interval_is_reproducible() {
        let sample = noisy(1, 30, 100.0, 0.05);
        let config = BootstrapConfig::default();
        let a = bootstrap_median_ci(&sample, 0.95, &config);
        let b = bootstrap_median_ci(&sample, 0.95, &config);
        assert_eq!(a, b);
    }

    #[test]
    fn median_interval_covers_the_true_median_most_of_the_time() {
        // 95% intervals should miss the true median (100) in roughly 1 of 20
        // samples; allow generous slack: at most 12 misses in 100.
        let config = BootstrapConfig {
            resamples: 2_000,
            ..BootstrapConfig::default()
        };
        let misses = (0..100)
            .filter(|&seed| {
                let sample = noisy(seed, 25, 100.0, 0.05);
                !bootstrap_median_ci(&sample, 0.95, &config).contains(100.0)
            })
            .count();
        assert!(misses <= 12, "{misses} misses");
    }

    #[test]
    fn wider_confidence_gives_a_wider_interval() {
        let sample = noisy(3, 20, 50.0, 0.1);
        let config = BootstrapConfig::default();
        let ci90 = bootstrap_median_ci(&sample, 0.90, &config);
        let ci99 = bootstrap_median_ci(&sample, 0.99, &config);
        assert!(ci99.lower <= ci90.lower && ci90.upper <= ci99.upper);
    }

    #[test]
    fn ratio_of_medians_detects_a_shift() {
        let base = noisy(10, 20, 100.0, 0.02);
        let head = noisy(11, 20, 110.0, 0.02);
        let estimate =
            bootstrap_ratio_of_medians(&base, &head, 0.95, &BootstrapConfig::default()).unwrap();
        assert!((estimate.ratio - 1.10).abs() < 0.02, "{estimate:?}");
        assert!(estimate.ci.lower > 1.0, "{estimate:?}");
        assert!(estimate.ci.contains(estimate.ratio));
    }

    #[test]
    fn ratio_of_medians_needs_a_non_zero_base() {
        let base = Sample::new(vec![0.0, 0.0, 0.0]).unwrap();
        let head = Sample::new(vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(
            bootstrap_ratio_of_medians(&base, &head, 0.95, &BootstrapConfig::default()),
            Err(StatsError::ZeroBaseMedian)
        );
        // Zero over zero in a resample counts as "no change", not NaN.
        let mostly_zero = Sample::new(vec![0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
        let estimate = bootstrap_ratio_of_medians(
            &mostly_zero,
            &mostly_zero,
            0.95,
            &BootstrapConfig::default(),
        )
        .unwrap();
        assert_eq!(estimate.ratio, 1.0);
        assert!(!estimate.ci.lower.is_nan() && !estimate.ci.upper.is_nan());
    }

    #[test]
    fn zero_resamples_give_a_point_interval() {
        let sample = Sample::new(vec![1.0, 2.0, 3.0]).unwrap();
        let config = BootstrapConfig {
            resamples: 0,
            ..BootstrapConfig::default()
        };
        assert_eq!(
            bootstrap_median_ci(&sample, 0.95, &config),
            ConfidenceInterval::point(2.0)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn interval_brackets_the_resampled_medians(values in prop::collection::vec(0.1f64..1e4, 2..30), seed in any::<u64>()) {
            let sample = Sample::new(values).unwrap();
            let config = BootstrapConfig { resamples: 400, seed };
            let ci = bootstrap_median_ci(&sample, 0.95, &config);
            // The median of the resampled medians lies inside the interval.
            let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
            let mut scratch = vec![0.0; sample.len()];
            let mut medians: Vec<f64> = (0..400).map(|_| resampled_median(sample.values(), &mut scratch, &mut rng)).collect();
            let center = median_in_place(&mut medians);
            prop_assert!(ci.lower <= center && center <= ci.upper, "{ci:?} vs {center}");
            prop_assert!(ci.lower <= ci.upper);
            prop_assert!(sample.min() <= ci.lower && ci.upper <= sample.max());
        }

        #[test]
        fn ratio_interval_is_ordered(base in prop::collection::vec(1.0f64..1e3, 2..20), head in prop::collection::vec(1.0f64..1e3, 2..20)) {
            let base = Sample::new(base).unwrap();
            let head = Sample::new(head).unwrap();
            let config = BootstrapConfig { resamples: 300, ..BootstrapConfig::default() };
            let estimate = bootstrap_ratio_of_medians(&base, &head, 0.95, &config).unwrap();
            prop_assert!(estimate.ci.lower <= estimate.ci.upper);
            prop_assert!(estimate.ci.lower > 0.0);
        }
    }
}
