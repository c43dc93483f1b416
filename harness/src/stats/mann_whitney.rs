//! The Mann–Whitney U test (Wilcoxon rank-sum), two-sided: does one sample
//! tend to have larger values than the other? Rank-based, so it needs no
//! normality and shrugs off outliers — the right test for timing samples.
//!
//! Small samples without ties use the exact null distribution; otherwise the
//! normal approximation with tie and continuity corrections (as R's
//! `wilcox.test` and SciPy's `mannwhitneyu` do).

use serde::{Deserialize, Serialize};

use super::{normal, Sample};

/// Exact p-values are computed when neither side is larger than this and
/// there are no ties (cost grows like n⁴; the approximation is excellent
/// beyond it).
pub const EXACT_MAX_SIDE: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MannWhitneyMethod {
    Exact,
    NormalApproximation,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// U of the first sample: the number of (first, second) pairs in which the
    /// first value is larger, ties counting one half. Ranges over 0..=n₁n₂;
    /// n₁n₂/2 means no tendency either way.
    pub u: f64,
    /// The normal-approximation statistic for the first sample (tie and
    /// continuity corrected): positive when the first sample tends larger.
    pub z: f64,
    /// Two-sided p-value in [0, 1].
    pub p_value: f64,
    pub method: MannWhitneyMethod,
}

pub fn mann_whitney_u(first: &Sample, second: &Sample) -> MannWhitney {
    let n1 = first.len();
    let n2 = second.len();
    let ranks = RankSums::compute(first.sorted(), second.sorted());
    let n1f = n1 as f64;
    let n2f = n2 as f64;
    let u = ranks.first_rank_sum - n1f * (n1f + 1.0) / 2.0;
    let mean_u = n1f * n2f / 2.0;

    let total = n1f + n2f;
    let tie_term = ranks.tie_correction / (total * (total - 1.0));
    let variance = n1f * n2f / 12.0 * ((total + 1.0) - tie_term);
    let deviation = u - mean_u;
    let z = if variance <= 0.0 {
        0.0
    } else {
        // Continuity correction: move half a step toward the mean, never past it.
        deviation.signum() * (deviation.abs() - 0.5).max(0.0) / variance.sqrt()
    };

    let exact = ranks.tie_correction == 0.0 && n1 <= EXACT_MAX_SIDE && n2 <= EXACT_MAX_SIDE;
    if exact {
        let smaller_u = u.min(n1f * n2f - u);
        // No ties: U is an integer.
        let tail = exact_lower_cdf(n1, n2, smaller_u.round() as usize);
        MannWhitney {
            u,
            z,
            p_value: (2.0 * tail).clamp(0.0, 1.0),
            method: MannWhitneyMethod::Exact,
        }
    } else {
        MannWhitney {
            u,
            z,
            p_value: normal::two_sided_p(z).clamp(0.0, 1.0),
            method: MannWhitneyMethod::NormalApproximation,
        }
    }
}

struct RankSums {
    /// Sum of the (mid-)ranks of the first sample in the pooled data.
    first_rank_sum: f64,
    /// Σ (t³ − t) over groups of t tied values; 0 when there are no ties.
    tie_correction: f64,
}

impl RankSums {
    fn compute(first_sorted: &[f64], second_sorted: &[f64]) -> Self {
        // Merge the two sorted samples, tagging which side each value is from.
        let mut pooled: Vec<(f64, bool)> =
            Vec::with_capacity(first_sorted.len() + second_sorted.len());
        let (mut i, mut j) = (0, 0);
        while i < first_sorted.len() || j < second_sorted.len() {
            let take_first = j >= second_sorted.len()
                || (i < first_sorted.len() && first_sorted[i].total_cmp(&second_sorted[j]).is_le());
            if take_first {
                pooled.push((first_sorted[i], true));
                i += 1;
            } else {
                pooled.push((second_sorted[j], false));
                j += 1;
            }
        }

        let mut first_rank_sum = 0.0;
        let mut tie_correction = 0.0;
        let mut start = 0;
        while start < pooled.len() {
            let mut end = start + 1;
            // Exact equality is what a tie means for ranks.
            while end < pooled.len() && pooled[end].0 == pooled[start].0 {
                end += 1;
            }
            let group = (end - start) as f64;
            // Ranks are 1-based: positions start..end get the mean of start+1..=end.
            let mid_rank = (start + 1 + end) as f64 / 2.0;
            let from_first = pooled[start..end]
                .iter()
                .filter(|(_, first)| *first)
                .count();
            first_rank_sum += mid_rank * from_first as f64;
            tie_correction += group * group * group - group;
            start = end;
        }
        Self {
            first_rank_sum,
            tie_correction,
        }
    }
}

/// P(U ≤ k) under the null hypothesis for sample sizes (n1, n2), no ties.
///
/// Recurrence on the largest pooled value: it belongs to the first sample
/// with probability m/(m+n), adding n to U, otherwise to the second. Working
/// in probabilities (not counts) avoids overflow; only sums of non-negative
/// terms are formed, so no precision is lost to cancellation. The result is
/// symmetric in (n1, n2) by construction.
fn exact_lower_cdf(n1: usize, n2: usize, k: usize) -> f64 {
    let (m_max, n_max) = if n1 <= n2 { (n1, n2) } else { (n2, n1) };
    let width = k + 1;
    // previous[j][u] = P(U = u) for sizes (m - 1, j); start with m = 0.
    let point_mass_at_zero = {
        let mut v = vec![0.0; width];
        v[0] = 1.0;
        v
    };
    let mut previous = vec![point_mass_at_zero.clone(); n_max + 1];
    let mut current = vec![vec![0.0; width]; n_max + 1];
    for m in 1..=m_max {
        current[0].clone_from(&point_mass_at_zero);
        for j in 1..=n_max {
            let from_first = m as f64 / (m + j) as f64;
            let from_second = j as f64 / (m + j) as f64;
            for u in 0..width {
                let largest_in_first = if u >= j { previous[j][u - j] } else { 0.0 };
                current[j][u] = from_first * largest_in_first + from_second * current[j - 1][u];
            }
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[n_max].iter().sum::<f64>().min(1.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::stats::rng::Xoshiro256StarStar;
    use proptest::prelude::*;

    fn sample(values: &[f64]) -> Sample {
        Sample::from_slice(values).unwrap()
    }

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    #[test]
    fn textbook_example_exact() {
        // Hollander & Wolfe (1973), p. 69, as in R's `?wilcox.test`:
        // wilcox.test(x, y) gives W = 35, p = 0.2544 (exact, two-sided).
        let x = sample(&[0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]);
        let y = sample(&[1.15, 0.88, 0.90, 0.74, 1.21]);
        let result = mann_whitney_u(&x, &y);
        assert_eq!(result.u, 35.0);
        assert_eq!(result.method, MannWhitneyMethod::Exact);
        assert!(
            close(result.p_value, 0.254_412_254_412_254_4, 1e-12),
            "{result:?}"
        );
        // The other way round: U' = n1 n2 − U, same p-value.
        let reversed = mann_whitney_u(&y, &x);
        assert_eq!(reversed.u, 15.0);
        assert_eq!(reversed.p_value, result.p_value);
    }

    #[test]
    fn textbook_example_with_ties_uses_the_corrected_approximation() {
        // Reference: scipy.stats.mannwhitneyu(a, b, method="asymptotic",
        // use_continuity=True) → U = 29.5, p = 0.060453967157800.
        let a = sample(&[19.0, 22.0, 16.0, 29.0, 24.0]);
        let b = sample(&[20.0, 11.0, 17.0, 12.0, 16.0, 20.0, 11.0]);
        let result = mann_whitney_u(&a, &b);
        assert_eq!(result.method, MannWhitneyMethod::NormalApproximation);
        assert_eq!(result.u, 29.5);
        assert!(
            close(result.p_value, 0.060_453_967_157_800_39, 1e-12),
            "{result:?}"
        );
    }

    #[test]
    fn larger_samples_match_scipy_asymptotic() {
        // 30 vs 30 (over the exact limit): scipy asymptotic, continuity corrected.
        let a: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i)).collect();
        let b: Vec<f64> = (0..30).map(|i| 110.5 + f64::from(i)).collect();
        let result = mann_whitney_u(&sample(&a), &sample(&b));
        assert_eq!(result.method, MannWhitneyMethod::NormalApproximation);
        assert_eq!(result.u, 190.0);
        assert!(
            close(result.p_value, 1.247_705_378_909_993_3e-4, 1e-12),
            "{result:?}"
        );
        assert!(result.z < 0.0);
    }

    #[test]
    fn exact_small_samples_match_scipy_exact() {
        // scipy.stats.mannwhitneyu([1, 2, 3], [4, 5, 6], method="exact").pvalue = 0.1
        let result = mann_whitney_u(&sample(&[1.0, 2.0, 3.0]), &sample(&[4.0, 5.0, 6.0]));
        assert_eq!(result.u, 0.0);
        assert!(close(result.p_value, 0.1, 1e-12), "{result:?}");
        // Two against two can never be significant: the minimum p is 1/3.
        let result = mann_whitney_u(&sample(&[1.0, 2.0]), &sample(&[3.0, 4.0]));
        assert!(close(result.p_value, 1.0 / 3.0, 1e-12), "{result:?}");
    }

    #[test]
    fn exact_medium_samples_match_scipy_exact() {
        // a = (i·7919 mod 1009)/10, b = (j·104729 + 13 mod 1013)/10 + 30.05;
        // reference p-values from scipy.stats.mannwhitneyu(a, b, method="exact").
        let a =
            |n: u64| -> Vec<f64> { (0..n).map(|i| ((i * 7919) % 1009) as f64 / 10.0).collect() };
        let b = |n: u64| -> Vec<f64> {
            (0..n)
                .map(|j| ((j * 104_729 + 13) % 1013) as f64 / 10.0 + 30.05)
                .collect()
        };
        let cases = [
            (12, 20, 67.0, 0.039_672_861_194_358_505),
            (25, 25, 171.0, 0.005_495_214_384_340_97),
            (4, 25, 30.0, 0.227_274_641_067_744_5),
        ];
        for (n1, n2, u, p) in cases {
            let result = mann_whitney_u(&sample(&a(n1)), &sample(&b(n2)));
            assert_eq!(result.method, MannWhitneyMethod::Exact);
            assert_eq!(result.u, u, "{n1}x{n2}");
            assert!(close(result.p_value, p, 1e-12), "{n1}x{n2}: {result:?}");
        }
    }

    #[test]
    fn exact_distribution_sums_to_one() {
        for (n1, n2) in [(1, 1), (2, 5), (7, 3), (10, 10), (25, 25)] {
            let total = exact_lower_cdf(n1, n2, n1 * n2);
            assert!(close(total, 1.0, 1e-12), "{n1}x{n2}: {total}");
        }
    }

    #[test]
    fn identical_samples_are_not_significant() {
        let values = [5.0, 6.0, 7.0, 8.0];
        let result = mann_whitney_u(&sample(&values), &sample(&values));
        assert_eq!(result.p_value, 1.0);
        assert_eq!(result.z, 0.0);
        let constant = [3.0; 6];
        let result = mann_whitney_u(&sample(&constant), &sample(&constant));
        assert_eq!(result.p_value, 1.0);
    }

    #[test]
    fn clear_shift_is_significant() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(5);
        let base: Vec<f64> = (0..20).map(|_| 100.0 + rng.standard_normal()).collect();
        let head: Vec<f64> = (0..20).map(|_| 110.0 + rng.standard_normal()).collect();
        let result = mann_whitney_u(&sample(&head), &sample(&base));
        assert!(result.p_value < 1e-6, "{result:?}");
        assert!(result.z > 0.0);
        assert_eq!(result.u, 400.0);
    }

    fn values() -> impl Strategy<Value = Vec<f64>> {
        // Integers make ties likely, exercising the tie correction.
        prop_oneof![
            prop::collection::vec(-1e3f64..1e3, 2..40),
            prop::collection::vec((0i32..8).prop_map(f64::from), 2..40),
        ]
    }

    proptest! {
        #[test]
        fn p_value_is_symmetric_and_bounded(a in values(), b in values()) {
            let a = sample(&a);
            let b = sample(&b);
            let ab = mann_whitney_u(&a, &b);
            let ba = mann_whitney_u(&b, &a);
            prop_assert_eq!(ab.p_value, ba.p_value);
            prop_assert!((0.0..=1.0).contains(&ab.p_value));
            prop_assert_eq!(ab.u + ba.u, (a.len() * b.len()) as f64);
            prop_assert_eq!(ab.z, -ba.z);
        }

        #[test]
        fn identical_samples_give_p_one(a in values()) {
            let a = sample(&a);
            prop_assert_eq!(mann_whitney_u(&a, &a).p_value, 1.0);
        }
    }
}
