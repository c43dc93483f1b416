//! Order statistics and moments: median, quantiles, MAD, mean/variance
//! (Welford, so large values do not overflow a running sum) and Tukey-fence
//! outlier classification.

use serde::{Deserialize, Serialize};

use super::Sample;

/// Interquartile-range multiple beyond which a point is a mild outlier.
pub const MILD_FENCE_IQR: f64 = 1.5;
/// Interquartile-range multiple beyond which a point is a severe outlier.
pub const SEVERE_FENCE_IQR: f64 = 3.0;

/// The median of an ascending, non-empty slice.
pub(crate) fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let mid = n / 2;
    if n % 2 == 1 {
        sorted[mid]
    } else {
        midpoint(sorted[mid - 1], sorted[mid])
    }
}

/// The median of an unsorted, non-empty buffer, reordering it in place
/// (O(n) selection instead of a sort; used in bootstrap loops).
pub(crate) fn median_in_place(buffer: &mut [f64]) -> f64 {
    let n = buffer.len();
    let mid = n / 2;
    let (lower, upper_median, _) = buffer.select_nth_unstable_by(mid, f64::total_cmp);
    let upper_median = *upper_median;
    if n % 2 == 1 {
        upper_median
    } else {
        let lower_median = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        midpoint(lower_median, upper_median)
    }
}

/// Halves first so two large values cannot overflow.
fn midpoint(a: f64, b: f64) -> f64 {
    a / 2.0 + b / 2.0
}

/// Type-7 quantile (linear interpolation) of an ascending, non-empty slice.
pub(crate) fn quantile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    let position = p * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    // Equal neighbours need no interpolation (and ∞ − ∞ would give NaN).
    if fraction == 0.0 || sorted[below] == sorted[above] {
        sorted[below]
    } else {
        sorted[below] + fraction * (sorted[above] - sorted[below])
    }
}

pub(crate) fn mad_of_sorted(sorted: &[f64]) -> f64 {
    let median = median_of_sorted(sorted);
    let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - median).abs()).collect();
    median_in_place(&mut deviations)
}

pub(crate) struct Moments {
    pub mean: f64,
    /// Sample variance (n − 1 denominator); 0 for a single value.
    pub variance: f64,
}

pub(crate) fn mean_and_variance(values: &[f64]) -> Moments {
    let mut mean = 0.0;
    let mut sum_sq = 0.0;
    for (i, &value) in values.iter().enumerate() {
        let delta = value - mean;
        mean += delta / (i + 1) as f64;
        sum_sq += delta * (value - mean);
    }
    let variance = if values.len() > 1 {
        (sum_sq / (values.len() - 1) as f64).max(0.0)
    } else {
        0.0
    };
    Moments { mean, variance }
}

/// Tukey's fences from the quartiles: a point below `low_mild` (above
/// `high_mild`) is an outlier, below `low_severe` (above `high_severe`) a
/// severe one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TukeyFences {
    pub low_severe: f64,
    pub low_mild: f64,
    pub high_mild: f64,
    pub high_severe: f64,
}

/// Outliers per class; each point is counted at most once. They are counted
/// for the reader and never removed from the samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlierCounts {
    pub low_severe: usize,
    pub low_mild: usize,
    pub high_mild: usize,
    pub high_severe: usize,
}

impl OutlierCounts {
    pub fn total(&self) -> usize {
        self.low_severe + self.low_mild + self.high_mild + self.high_severe
    }
}

pub fn tukey_fences(sample: &Sample) -> TukeyFences {
    let q1 = sample.quantile(0.25);
    let q3 = sample.quantile(0.75);
    let iqr = q3 - q1;
    TukeyFences {
        low_severe: q1 - SEVERE_FENCE_IQR * iqr,
        low_mild: q1 - MILD_FENCE_IQR * iqr,
        high_mild: q3 + MILD_FENCE_IQR * iqr,
        high_severe: q3 + SEVERE_FENCE_IQR * iqr,
    }
}

impl TukeyFences {
    pub fn count(&self, sample: &Sample) -> OutlierCounts {
        let mut counts = OutlierCounts::default();
        for &value in sample.values() {
            if value < self.low_severe {
                counts.low_severe += 1;
            } else if value < self.low_mild {
                counts.low_mild += 1;
            } else if value > self.high_severe {
                counts.high_severe += 1;
            } else if value > self.high_mild {
                counts.high_mild += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median_of_sorted(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median_of_sorted(&[1.0, 2.0, 4.0, 10.0]), 3.0);
        assert_eq!(median_in_place(&mut [10.0, 1.0, 4.0, 2.0]), 3.0);
        assert_eq!(median_in_place(&mut [10.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of_sorted(&[f64::MAX, f64::MAX]), f64::MAX);
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0.25, 0.5, 0.75, 0.9])
        let sorted: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_of_sorted(&sorted, 0.25), 3.25);
        assert_eq!(quantile_of_sorted(&sorted, 0.5), 5.5);
        assert_eq!(quantile_of_sorted(&sorted, 0.75), 7.75);
        assert!((quantile_of_sorted(&sorted, 0.9) - 9.1).abs() < 1e-12);
        assert_eq!(quantile_of_sorted(&sorted, 0.0), 1.0);
        assert_eq!(quantile_of_sorted(&sorted, 1.0), 10.0);
    }

    #[test]
    fn welford_matches_the_two_pass_formula() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let moments = mean_and_variance(&values);
        assert_eq!(moments.mean, 5.0);
        assert!((moments.variance - 32.0 / 7.0).abs() < 1e-12);
        // Huge values whose plain sum would overflow.
        let huge = mean_and_variance(&[f64::MAX, f64::MAX]);
        assert_eq!(huge.mean, f64::MAX);
        assert_eq!(huge.variance, 0.0);
    }

    #[test]
    fn tukey_fences_classify_mild_and_severe() {
        let mut values: Vec<f64> = (1..=8).map(f64::from).collect();
        values.extend([-5.0, 12.0, 30.0]);
        let sample = Sample::new(values).unwrap();
        let fences = tukey_fences(&sample);
        let counts = fences.count(&sample);
        // sorted: -5 1 2 3 4 5 6 7 8 12 30 → q1 = 2.5, q3 = 7.5, IQR = 5;
        // -5 sits exactly on the low mild fence (not beyond), 12 is inside.
        assert_eq!(fences.low_mild, -5.0);
        assert_eq!(fences.high_mild, 15.0);
        assert_eq!(fences.high_severe, 22.5);
        assert_eq!(
            counts,
            OutlierCounts {
                low_severe: 0,
                low_mild: 0,
                high_mild: 0,
                high_severe: 1,
            }
        );
    }

    #[test]
    fn outliers_are_counted_not_removed() {
        let sample = Sample::new(vec![10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 25.0, 10.0]).unwrap();
        let counts = tukey_fences(&sample).count(&sample);
        assert_eq!(counts.high_severe, 1);
        assert_eq!(sample.len(), 8);
        assert_eq!(sample.max(), 25.0);
    }

    proptest! {
        #[test]
        fn median_in_place_agrees_with_sorted_median(values in prop::collection::vec(-1e9f64..1e9, 1..60)) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let mut buffer = values;
            prop_assert_eq!(median_in_place(&mut buffer), median_of_sorted(&sorted));
        }

        #[test]
        fn quantiles_are_monotone(values in prop::collection::vec(-1e9f64..1e9, 1..60), p in 0.0f64..1.0, q in 0.0f64..1.0) {
            let mut sorted = values;
            sorted.sort_by(f64::total_cmp);
            let (lo, hi) = if p <= q { (p, q) } else { (q, p) };
            prop_assert!(quantile_of_sorted(&sorted, lo) <= quantile_of_sorted(&sorted, hi));
        }
    }
}
