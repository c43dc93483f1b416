//! A distribution-free confidence interval of the median from order
//! statistics: with `n` values, the interval from the `k`-th smallest to the
//! `k`-th largest covers the median with probability `1 − 2·P(Bin(n, ½) < k)`.
//! No resampling, so a report can afford one per run per metric across a
//! year of history (a bootstrap of 2 000 resamples per point took most of a
//! 365-run render).

use super::ConfidenceInterval;

/// The order-statistic interval of the median of `values` at `confidence`
/// (at least that coverage; the widest interval, min to max, when `n` is too
/// small to reach it). `None` when there are no finite values.
pub fn median_interval(values: &[f64], confidence: f64) -> Option<ConfidenceInterval> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let alpha_half = (1.0 - confidence) / 2.0;
    // The largest k (1-based) with P(Bin(n, ½) ≤ k − 1) ≤ α/2; k = 1
    // (min to max) when even that is above α/2.
    let mut k = 1;
    let mut cumulative = 0.0;
    let half_pow = 0.5f64.powi(i32::try_from(n).unwrap_or(i32::MAX));
    let mut choose = 1.0f64;
    for j in 0..n / 2 {
        // After this step `cumulative` = P(Bin ≤ j).
        cumulative += choose * half_pow;
        if cumulative > alpha_half {
            break;
        }
        k = j + 1;
        choose = choose * (n - j) as f64 / (j + 1) as f64;
    }
    let k = k.min(n.div_ceil(2));
    Some(ConfidenceInterval {
        lower: sorted[k - 1],
        upper: sorted[n - k],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn ranks(n: usize) -> (f64, f64) {
        let values: Vec<f64> = (1..=n).map(|i| i as f64).collect();
        let ci = median_interval(&values, 0.95).unwrap();
        (ci.lower, ci.upper)
    }

    #[test]
    fn known_ranks_from_binomial_tables() {
        // Small samples cannot reach 95%: the whole range.
        assert_eq!(ranks(5), (1.0, 5.0));
        // n = 6: P(Bin ≤ 0) = 1/64 ≤ 0.025, so the 1st and 6th.
        assert_eq!(ranks(6), (1.0, 6.0));
        // n = 10: P(Bin ≤ 1) = 11/1024 ≤ 0.025 < P(Bin ≤ 2) = 56/1024: 2nd and 9th.
        assert_eq!(ranks(10), (2.0, 9.0));
        // n = 20: P(Bin ≤ 5) = 0.0207 ≤ 0.025 < P(Bin ≤ 6) = 0.0577: 6th and 15th.
        assert_eq!(ranks(20), (6.0, 15.0));
    }

    #[test]
    fn unordered_input_and_edge_cases() {
        let ci = median_interval(&[9.0, 1.0, 5.0, f64::NAN, 3.0, 7.0], 0.95).unwrap();
        assert_eq!((ci.lower, ci.upper), (1.0, 9.0));
        let one = median_interval(&[4.0], 0.95).unwrap();
        assert_eq!((one.lower, one.upper), (4.0, 4.0));
        assert!(median_interval(&[], 0.95).is_none());
        assert!(median_interval(&[f64::NAN], 0.95).is_none());
    }

    #[test]
    fn interval_always_holds_the_median() {
        for n in 1..60 {
            let values: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64).collect();
            let ci = median_interval(&values, 0.95).unwrap();
            let median = crate::stats::median_of(&values).unwrap();
            assert!(ci.lower <= median && median <= ci.upper, "n = {n}");
        }
    }
}
