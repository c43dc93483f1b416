//! Paired statistics for interleaved A/B runs: the Wilcoxon signed-rank
//! test on per-pair differences, the Wilson score interval of a rate, and
//! the pairs a paired comparison needs to resolve a change. No IO.

use super::normal;

/// The two-sided Wilcoxon signed-rank test of "the differences are
/// symmetric about 0". Zero differences are dropped (Wilcoxon's
/// convention); ties among |d| get average ranks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// Sum of the ranks of the positive differences.
    pub w_plus: f64,
    /// Non-zero differences used.
    pub n: usize,
    pub p_value: f64,
}

/// Exact null distribution when n ≤ 30 and no |d| ties, else the normal
/// approximation with tie and continuity corrections.
pub fn wilcoxon_signed_rank(differences: &[f64]) -> SignedRank {
    let mut nonzero: Vec<f64> = differences
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d != 0.0)
        .collect();
    let n = nonzero.len();
    if n == 0 {
        return SignedRank {
            w_plus: 0.0,
            n,
            p_value: 1.0,
        };
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut ranks = vec![0.0; n];
    let mut tie_term = 0.0;
    let mut has_ties = false;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && nonzero[end].abs() == nonzero[start].abs() {
            end += 1;
        }
        let t = (end - start) as f64;
        if end - start > 1 {
            has_ties = true;
            tie_term += t * t * t - t;
        }
        let average = (start + 1 + end) as f64 / 2.0;
        for rank in &mut ranks[start..end] {
            *rank = average;
        }
        start = end;
    }
    let w_plus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum();
    let nf = n as f64;
    let total = nf * (nf + 1.0) / 2.0;
    let p_value = if !has_ties && n <= 30 {
        // Counts of subsets of {1..n} by rank sum, in probabilities.
        let max = n * (n + 1) / 2;
        let mut dist = vec![0.0_f64; max + 1];
        dist[0] = 1.0;
        for k in 1..=n {
            for s in (k..=max).rev() {
                dist[s] = (dist[s] + dist[s - k]) * 0.5;
            }
            for value in dist.iter_mut().take(k) {
                *value *= 0.5;
            }
        }
        let w = w_plus.min(total - w_plus).round() as usize;
        let tail: f64 = dist[..=w.min(max)].iter().sum();
        (2.0 * tail).min(1.0)
    } else {
        let mean = total / 2.0;
        let variance = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
        if variance <= 0.0 {
            1.0
        } else {
            let z = ((w_plus - mean).abs() - 0.5).max(0.0) / variance.sqrt();
            normal::two_sided_p(z)
        }
    };
    SignedRank { w_plus, n, p_value }
}

/// The distribution-free interval of a median from order statistics: the
/// k-th smallest and k-th largest of the n sorted values, with k the largest
/// such that P(Binomial(n, ½) < k) ≤ (1 − confidence)/2. Exact coverage of
/// at least `confidence` for any continuous distribution; `None` when n is
/// too small for that confidence (the interval would be unbounded).
pub fn median_ci_order_statistics(sorted: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = sorted.len();
    let tail = (1.0 - confidence) / 2.0;
    // P(X = i) for X ~ Binomial(n, ½), accumulated in log space.
    let mut cumulative = 0.0;
    let mut k = 0;
    let ln_half_n = n as f64 * 0.5_f64.ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    for i in 0..n {
        let p = (ln_choose + ln_half_n).exp();
        if cumulative + p > tail {
            break;
        }
        cumulative += p;
        k = i + 1;
        ln_choose += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    // P(X ≤ k − 1) ≤ tail: the interval is [x_(k), x_(n−k+1)] (1-based).
    if k == 0 || k > n / 2 {
        return None;
    }
    Some((sorted[k - 1], sorted[n - k]))
}

/// The two-sided exact sign test of "the differences' median is 0": zero
/// differences are dropped, and p = 2·P(Binomial(n, ½) ≤ min(positives,
/// negatives)), at most 1. The inversion of this test is the
/// order-statistic interval of the median ([`median_ci_order_statistics`]):
/// a gate that reports that interval and this p-value says one thing.
/// Valid for any distribution of the differences (no symmetry assumed).
pub fn sign_test(differences: &[f64]) -> f64 {
    let positives = differences.iter().filter(|d| **d > 0.0).count();
    let negatives = differences.iter().filter(|d| **d < 0.0).count();
    let n = positives + negatives;
    if n == 0 {
        return 1.0;
    }
    let smaller = positives.min(negatives);
    // P(X ≤ smaller) for X ~ Binomial(n, ½), in log space.
    let ln_half_n = n as f64 * 0.5_f64.ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut tail = 0.0;
    for i in 0..=smaller {
        tail += (ln_choose + ln_half_n).exp();
        ln_choose += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    (2.0 * tail).min(1.0)
}

/// The Wilson score interval of `successes` of `trials` at 95%.
pub fn wilson_95(successes: usize, trials: usize) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = trials as f64;
    let p = successes as f64 / n;
    let denominator = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// z of the two-sided level `alpha` plus z of `power`, squared: the
/// constant of the sample-size formula for a one-sample (paired) test.
fn z_sum_squared(alpha: f64, power: f64) -> f64 {
    let z = normal::quantile(1.0 - alpha / 2.0) + normal::quantile(power);
    z * z
}

/// The asymptotic relative efficiency of the sign test (and of the median)
/// against the t-test on normal data, 2/π: the price of robustness. On the
/// heavy-tailed, often two-humped per-pair ratios of short runs it does
/// better than that, and better than the signed-rank test.
const TEST_EFFICIENCY: f64 = 2.0 / std::f64::consts::PI;

/// Pairs needed for a paired test at `alpha` with `power` to resolve a
/// relative change `threshold` (0.05 = 5%) when per-pair log ratios have
/// standard deviation `sigma`.
pub fn pairs_to_resolve(sigma: f64, threshold: f64, alpha: f64, power: f64) -> Option<u64> {
    let delta = (1.0 + threshold).ln();
    if !(sigma.is_finite() && delta > 0.0) {
        return None;
    }
    let n = z_sum_squared(alpha, power) * sigma * sigma / (delta * delta) / TEST_EFFICIENCY;
    Some(n.ceil().max(6.0) as u64)
}

/// The smallest relative change (0.05 = 5%) `n` pairs resolve at `alpha`
/// with `power` when per-pair log ratios have standard deviation `sigma`.
pub fn minimal_detectable_effect(sigma: f64, n: usize, alpha: f64, power: f64) -> f64 {
    if n == 0 {
        return f64::INFINITY;
    }
    let delta = (z_sum_squared(alpha, power) * sigma * sigma / TEST_EFFICIENCY / n as f64).sqrt();
    delta.exp() - 1.0
}

/// Holm's step-down adjustment of a family of p-values, in the input's
/// order. Monotone (an adjusted p is never below a smaller p's) and valid
/// under any dependence between the tests.
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let size = p_values.len();
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; size];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((size - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn the_sign_test_is_exact() {
        // 10 of 10 positive: 2 · 2⁻¹⁰.
        let all_up = [0.1; 10];
        assert!((sign_test(&all_up) - 2.0 / 1024.0).abs() < 1e-12);
        // 8 of 10: 2 · P(X ≤ 2) = 2 · 56/1024 (scipy.stats.binomtest(8, 10) → 0.109375).
        let mostly = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, -0.1, -0.2];
        assert!((sign_test(&mostly) - 0.109375).abs() < 1e-12);
        // Balanced, and nothing but zeros: no evidence.
        assert_eq!(sign_test(&[0.1, -0.1]), 1.0);
        assert_eq!(sign_test(&[0.0, 0.0]), 1.0);
        // Magnitudes do not matter: a long tail on the other side does not
        // hide a consistent shift (what the signed-rank test fell for).
        let mut tailed: Vec<f64> = vec![0.07; 160];
        tailed.extend(std::iter::repeat_n(-0.25, 80));
        assert!(sign_test(&tailed) < 1e-6);
        assert!(wilcoxon_signed_rank(&tailed).p_value > 0.01);
    }

    #[test]
    fn holm_multiplies_by_the_remaining_family_and_stays_monotone() {
        let adjusted = holm_adjust(&[0.04, 0.01, 0.03, 0.5]);
        for (got, want) in adjusted.iter().zip([0.09, 0.04, 0.09, 0.5]) {
            assert!((got - want).abs() < 1e-12, "{adjusted:?}");
        }
        assert!(holm_adjust(&[]).is_empty());
    }

    #[test]
    #[allow(clippy::approx_constant)] // 3.14 is a measurement of the example, not π.
    fn signed_rank_matches_scipy_exact() {
        // scipy.stats.wilcoxon([1.83,0.50,1.62,2.48,1.68,1.88,1.55,3.06,1.30]
        //   - [0.878,0.647,0.598,2.05,1.06,1.29,1.06,3.14,1.29]) → W=5 (minus side), p=0.0390625
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
        let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
        let result = wilcoxon_signed_rank(&d);
        assert_eq!(result.n, 9);
        assert_eq!(result.w_plus, 40.0);
        assert!((result.p_value - 0.039_062_5).abs() < 1e-12, "{result:?}");
    }

    #[test]
    fn signed_rank_is_symmetric_and_one_for_no_change() {
        let d = [0.1, -0.2, 0.3, -0.05, 0.07];
        let negated: Vec<f64> = d.iter().map(|v| -v).collect();
        assert_eq!(
            wilcoxon_signed_rank(&d).p_value,
            wilcoxon_signed_rank(&negated).p_value
        );
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0]).p_value, 1.0);
        // All 12 positive: exact p = 2 / 2^12.
        let all_up = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
        ];
        assert!((wilcoxon_signed_rank(&all_up).p_value - 2.0 / 4096.0).abs() < 1e-15);
    }

    #[test]
    fn signed_rank_normal_approximation_with_ties() {
        // 40 values with ties: the approximation path; all positive is tiny p.
        let d: Vec<f64> = (0..40).map(|i| f64::from(i / 2 + 1)).collect();
        let result = wilcoxon_signed_rank(&d);
        assert!(result.p_value < 1e-6, "{result:?}");
        let mixed: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert!(wilcoxon_signed_rank(&mixed).p_value > 0.9);
    }

    #[test]
    fn median_interval_from_order_statistics() {
        let sorted: Vec<f64> = (1..=12).map(f64::from).collect();
        // n = 12 at 99%: P(X ≤ 1) = 13/4096 ≤ 0.005 < P(X ≤ 2): [x(2), x(11)].
        assert_eq!(median_ci_order_statistics(&sorted, 0.99), Some((2.0, 11.0)));
        // n = 12 at 95%: P(X ≤ 2) = 0.0193 ≤ 0.025 < P(X ≤ 3) = 0.073: [x(3), x(10)].
        assert_eq!(median_ci_order_statistics(&sorted, 0.95), Some((3.0, 10.0)));
        // Too few points for 99%: 2/2^6 = 0.031 > 0.005.
        assert_eq!(median_ci_order_statistics(&sorted[..6], 0.99), None);
    }

    #[test]
    fn wilson_interval_known_values() {
        // 0 of 40: [0, 0.0876]; 20 of 40: [0.352, 0.648].
        let (lo, hi) = wilson_95(0, 40);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0876).abs() < 1e-3, "{hi}");
        let (lo, hi) = wilson_95(20, 40);
        assert!((lo - 0.352).abs() < 1e-3 && (hi - 0.648).abs() < 1e-3);
    }

    #[test]
    fn pairs_and_effect_are_inverse() {
        let n = pairs_to_resolve(0.05, 0.05, 0.01, 0.8).unwrap();
        let effect = minimal_detectable_effect(0.05, n as usize, 0.01, 0.8);
        assert!(effect <= 0.05 + 1e-9 && effect > 0.045, "{n} {effect}");
        assert!(pairs_to_resolve(0.20, 0.05, 0.01, 0.8).unwrap() > n);
    }
}
