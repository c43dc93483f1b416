//! Statistics for benchmark samples, with no IO: validated samples, robust
//! summaries (median, MAD, Tukey outliers), bootstrap confidence intervals, the
//! Mann–Whitney U test and a noise check. The methods are documented in
//! `docs/guides/harness-statistics.md`.
//!
//! Everything here is deterministic: bootstrap resampling uses a seeded PRNG,
//! so the same samples always give the same intervals.

pub mod bootstrap;
pub mod change_points;
pub mod descriptive;
pub mod fit;
pub mod mann_whitney;
pub mod median_interval;
pub mod noise;
pub mod normal;
pub mod paired;
pub mod rng;

use serde::{Deserialize, Serialize};

use crate::model::MetricSamples;

pub use bootstrap::{
    bootstrap_median_ci, bootstrap_ratio_of_medians, BootstrapConfig, RatioEstimate,
};
pub use descriptive::{tukey_fences, OutlierCounts, TukeyFences};
pub use mann_whitney::{mann_whitney_u, MannWhitney, MannWhitneyMethod};
pub use noise::{noise_check, required_iterations, NoiseConfig, NoiseWarning};

/// The confidence level of every interval the harness shows.
pub const CONFIDENCE_95: f64 = 0.95;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("need at least 2 samples, got {count}")]
    TooFewPoints { count: usize },
    #[error("sample #{index} is not a finite number ({value})")]
    NotFinite { index: usize, value: f64 },
    #[error("the base median is zero, so a ratio of medians is undefined")]
    ZeroBaseMedian,
}

/// A validated set of measurements: at least two points, all finite. Keeps
/// the values in measurement order and a sorted copy for order statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    values: Vec<f64>,
    sorted: Vec<f64>,
}

impl Sample {
    pub const MIN_POINTS: usize = 2;

    pub fn new(values: Vec<f64>) -> Result<Self, StatsError> {
        if values.len() < Self::MIN_POINTS {
            return Err(StatsError::TooFewPoints {
                count: values.len(),
            });
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(StatsError::NotFinite { index, value });
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(Self { values, sorted })
    }

    pub fn from_slice(values: &[f64]) -> Result<Self, StatsError> {
        Self::new(values.to_vec())
    }

    /// The values in the order they were measured.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values in ascending order.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a `Sample` holds at least two points.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn min(&self) -> f64 {
        self.sorted[0]
    }

    pub fn max(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }

    pub fn median(&self) -> f64 {
        descriptive::median_of_sorted(&self.sorted)
    }

    /// The `p`-quantile (0 ≤ p ≤ 1) by linear interpolation between order
    /// statistics (Hyndman–Fan type 7, the default of R and NumPy).
    pub fn quantile(&self, p: f64) -> f64 {
        descriptive::quantile_of_sorted(&self.sorted, p)
    }

    pub fn mean(&self) -> f64 {
        descriptive::mean_and_variance(&self.values).mean
    }

    /// Sample standard deviation (n − 1 denominator).
    pub fn stddev(&self) -> f64 {
        descriptive::mean_and_variance(&self.values).variance.sqrt()
    }

    /// Median absolute deviation from the median, unscaled: half of the
    /// points lie within median ± MAD.
    pub fn mad(&self) -> f64 {
        descriptive::mad_of_sorted(&self.sorted)
    }
}

/// A two-sided confidence interval. A bound can be +∞ for a ratio against
/// a zero base (written as `null` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    #[serde(with = "infinity_as_null")]
    pub lower: f64,
    #[serde(with = "infinity_as_null")]
    pub upper: f64,
}

impl ConfidenceInterval {
    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }

    /// A zero-width interval, for values known exactly.
    pub fn point(value: f64) -> Self {
        Self {
            lower: value,
            upper: value,
        }
    }
}

/// The per-metric summary every report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub stddev: f64,
    /// Unscaled median absolute deviation.
    pub mad: f64,
    pub min: f64,
    pub max: f64,
    /// Coefficient of variation, stddev / |mean|: 0 when all values are
    /// equal, +∞ when the mean is zero but the values differ.
    pub cv: f64,
    /// Percentile-bootstrap 95% confidence interval of the median.
    pub ci95_median: ConfidenceInterval,
    /// Tukey-fence outlier counts; outliers stay in the data.
    pub outliers: OutlierCounts,
}

impl Summary {
    /// The summary of a single measurement: no spread, no interval width.
    /// Used for display when a metric was measured once; a `Sample` (and so
    /// any statistical test) needs two points.
    pub fn single(value: f64) -> Self {
        Self {
            n: 1,
            median: value,
            mean: value,
            stddev: 0.0,
            mad: 0.0,
            min: value,
            max: value,
            cv: 0.0,
            ci95_median: ConfidenceInterval::point(value),
            outliers: OutlierCounts::default(),
        }
    }
}

/// Summarizes a sample; the median's interval uses `bootstrap`.
pub fn summarize(sample: &Sample, bootstrap: &BootstrapConfig) -> Summary {
    let moments = descriptive::mean_and_variance(sample.values());
    let stddev = moments.variance.sqrt();
    Summary {
        n: sample.len(),
        median: sample.median(),
        mean: moments.mean,
        stddev,
        mad: sample.mad(),
        min: sample.min(),
        max: sample.max(),
        cv: coefficient_of_variation(moments.mean, stddev),
        ci95_median: bootstrap_median_ci(sample, CONFIDENCE_95, bootstrap),
        outliers: tukey_fences(sample).count(sample),
    }
}

/// Summarizes raw values for display: two or more finite values give a full
/// summary, a single finite value gives [`Summary::single`].
pub fn summarize_values(
    values: &[f64],
    bootstrap: &BootstrapConfig,
) -> Result<Summary, StatsError> {
    match values {
        [value] if value.is_finite() => Ok(Summary::single(*value)),
        [value] => Err(StatsError::NotFinite {
            index: 0,
            value: *value,
        }),
        _ => Ok(summarize(&Sample::from_slice(values)?, bootstrap)),
    }
}

/// [`summarize_values`] for one metric of a scenario.
pub fn summarize_metric(
    metric: &MetricSamples,
    bootstrap: &BootstrapConfig,
) -> Result<Summary, StatsError> {
    summarize_values(&metric.samples, bootstrap)
}

/// Serde for `f64` fields that may be +∞ (a ratio against a zero base, the CV
/// of a zero-mean sample): JSON has no infinity, so a non-finite value is
/// written as `null`, and `null` reads back as +∞.
pub mod infinity_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::INFINITY))
    }
}

fn coefficient_of_variation(mean: f64, stddev: f64) -> f64 {
    if stddev == 0.0 {
        0.0
    } else if mean == 0.0 {
        f64::INFINITY
    } else {
        stddev / mean.abs()
    }
}

/// The median of raw values for display; `None` if empty or not finite.
pub fn median_of(values: &[f64]) -> Option<f64> {
    match values {
        [] => None,
        [single] => single.is_finite().then_some(*single),
        _ => Sample::from_slice(values).ok().map(|s| s.median()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sample_rejects_too_few_and_non_finite_points() {
        assert_eq!(
            Sample::new(vec![]).unwrap_err(),
            StatsError::TooFewPoints { count: 0 }
        );
        assert_eq!(
            Sample::new(vec![1.0]).unwrap_err(),
            StatsError::TooFewPoints { count: 1 }
        );
        assert!(matches!(
            Sample::new(vec![1.0, f64::NAN, 2.0]).unwrap_err(),
            StatsError::NotFinite { index: 1, .. }
        ));
        assert!(matches!(
            Sample::new(vec![1.0, 2.0, f64::INFINITY]).unwrap_err(),
            StatsError::NotFinite { index: 2, .. }
        ));
        let sample = Sample::new(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!(sample.values(), &[3.0, 1.0, 2.0]);
        assert_eq!(sample.sorted(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn summary_of_known_values() {
        // 1..=9 plus one far outlier.
        let sample = Sample::new(vec![1., 2., 3., 4., 5., 6., 7., 8., 9., 100.]).unwrap();
        let summary = summarize(&sample, &BootstrapConfig::default());
        assert_eq!(summary.n, 10);
        assert_eq!(summary.median, 5.5);
        assert_eq!(summary.mean, 14.5);
        assert_eq!(summary.min, 1.0);
        assert_eq!(summary.max, 100.0);
        // |x - 5.5| = 4.5 3.5 2.5 1.5 .5 .5 1.5 2.5 3.5 94.5 → median 2.5.
        assert_eq!(summary.mad, 2.5);
        assert!(
            (summary.stddev - 30.152_390_728_873_666).abs() < 1e-9,
            "{}",
            summary.stddev
        );
        assert!((summary.cv - 30.152_390_728_873_666 / 14.5).abs() < 1e-9);
        assert_eq!(summary.outliers.high_severe, 1);
        assert_eq!(summary.outliers.total(), 1);
        assert!(summary.ci95_median.lower <= summary.median);
        assert!(summary.ci95_median.upper >= summary.median);
    }

    #[test]
    fn summary_is_reproducible() {
        let sample = Sample::new((0..25).map(|i| f64::from(i * 7 % 11)).collect()).unwrap();
        let a = summarize(&sample, &BootstrapConfig::default());
        let b = summarize(&sample, &BootstrapConfig::default());
        assert_eq!(a, b);
    }

    #[test]
    fn constant_sample_has_no_spread() {
        let sample = Sample::new(vec![42.0; 5]).unwrap();
        let summary = summarize(&sample, &BootstrapConfig::default());
        assert_eq!(summary.cv, 0.0);
        assert_eq!(summary.mad, 0.0);
        assert_eq!(summary.stddev, 0.0);
        assert_eq!(summary.ci95_median, ConfidenceInterval::point(42.0));
        assert_eq!(summary.outliers.total(), 0);
    }

    #[test]
    fn summarize_values_handles_a_single_point() {
        let config = BootstrapConfig::default();
        assert_eq!(
            summarize_values(&[3.5], &config).unwrap(),
            Summary::single(3.5)
        );
        assert!(summarize_values(&[], &config).is_err());
        assert!(summarize_values(&[f64::NAN], &config).is_err());
    }

    #[test]
    fn cv_is_infinite_when_the_mean_is_zero_but_values_differ() {
        let sample = Sample::new(vec![-1.0, 1.0]).unwrap();
        let summary = summarize(&sample, &BootstrapConfig::default());
        assert_eq!(summary.cv, f64::INFINITY);
    }

    #[test]
    fn infinite_bounds_round_trip_through_json_as_null() {
        let ci = ConfidenceInterval {
            lower: 1.5,
            upper: f64::INFINITY,
        };
        let json = serde_json::to_string(&ci).unwrap();
        assert_eq!(json, r#"{"lower":1.5,"upper":null}"#);
        let back: ConfidenceInterval = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ci);
    }

    fn finite_values() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-1e6f64..1e6, 2..40)
    }

    fn fast_bootstrap() -> BootstrapConfig {
        BootstrapConfig {
            resamples: 500,
            ..BootstrapConfig::default()
        }
    }

    proptest! {
        #[test]
        fn median_is_within_min_and_max(values in finite_values()) {
            let sample = Sample::new(values).unwrap();
            prop_assert!(sample.min() <= sample.median());
            prop_assert!(sample.median() <= sample.max());
        }

        #[test]
        fn mad_and_stddev_are_non_negative(values in finite_values()) {
            let sample = Sample::new(values).unwrap();
            prop_assert!(sample.mad() >= 0.0);
            prop_assert!(sample.stddev() >= 0.0);
        }

        #[test]
        fn shifting_shifts_the_median(values in finite_values(), shift in -1e3f64..1e3) {
            let sample = Sample::new(values.clone()).unwrap();
            let shifted = Sample::new(values.iter().map(|v| v + shift).collect()).unwrap();
            let expected = sample.median() + shift;
            prop_assert!((shifted.median() - expected).abs() <= 1e-9 * (1.0 + expected.abs()));
            // The MAD does not move.
            prop_assert!((shifted.mad() - sample.mad()).abs() <= 1e-9 * (1.0 + sample.mad()));
        }

        #[test]
        fn scaling_scales_the_median_and_mad(values in finite_values(), factor in 1e-3f64..1e3) {
            let sample = Sample::new(values.clone()).unwrap();
            let scaled = Sample::new(values.iter().map(|v| v * factor).collect()).unwrap();
            let expected = sample.median() * factor;
            prop_assert!((scaled.median() - expected).abs() <= 1e-9 * (1.0 + expected.abs()));
            let expected_mad = sample.mad() * factor;
            prop_assert!((scaled.mad() - expected_mad).abs() <= 1e-9 * (1.0 + expected_mad));
        }

        #[test]
        fn summary_interval_is_ordered_and_within_range(values in finite_values()) {
            let sample = Sample::new(values).unwrap();
            let summary = summarize(&sample, &fast_bootstrap());
            prop_assert!(summary.ci95_median.lower <= summary.ci95_median.upper);
            prop_assert!(summary.min <= summary.ci95_median.lower);
            prop_assert!(summary.ci95_median.upper <= summary.max);
            prop_assert!(summary.cv >= 0.0);
            prop_assert!(summary.outliers.total() <= summary.n);
        }
    }
}
