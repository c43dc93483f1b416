//! Change points in a metric's history: E-divisive means (Matteson & James,
//! "A nonparametric approach for multiple change point analysis of
//! multivariate data", JASA 2014) with a permutation significance test, the
//! method MongoDB's performance CI and Apache Otava use on noisy series.
//!
//! The statistic compares the mean distance between the two sides of a split
//! with the mean distances within each side; it needs no distribution and no
//! window, and a single outlier cannot carry it (both sides keep at least
//! [`ChangePointConfig::min_segment`] points, and the permutation test asks
//! whether the best split beats the best split of shuffled data). Segments
//! are split one change point at a time, the most significant first, until
//! no segment holds a significant one.
//!
//! Pure: a series in, change points out; the report maps indices to commits.

use super::rng::Xoshiro256StarStar;

/// How change points are searched for.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePointConfig {
    /// Fewest points on each side of a change point.
    pub min_segment: usize,
    /// Permutations per significance test.
    pub permutations: usize,
    /// A change point is kept when its permutation p-value is below this.
    pub significance: f64,
    /// Seed of the permutations: the same history gives the same answer.
    pub seed: u64,
    /// At most this many change points (the rest of the history is quiet
    /// enough, or the report has no room).
    pub max_change_points: usize,
}

impl Default for ChangePointConfig {
    fn default() -> Self {
        ChangePointConfig {
            min_segment: 4,
            permutations: 199,
            significance: 0.01,
            seed: 0x0C4A_9E5E,
            max_change_points: 16,
        }
    }
}

/// One change point: the series moves from `before_mean` to `after_mean`
/// starting at `index`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePoint {
    /// The first point of the new level.
    pub index: usize,
    /// Mean of the segment before (up to the previous change point).
    pub before_mean: f64,
    /// Mean of the segment after (up to the next change point).
    pub after_mean: f64,
    /// `after / before - 1`, in percent (`None` when `before` is 0).
    pub shift_pct: Option<f64>,
    /// Permutation p-value of the split when it was found.
    pub p_value: f64,
    /// The E-divisive statistic of the split (larger: a clearer change).
    pub statistic: f64,
}

/// Every significant change point of `series`, in index order.
pub fn change_points(series: &[f64], config: &ChangePointConfig) -> Vec<ChangePoint> {
    let finite = series.iter().all(|x| x.is_finite());
    if !finite || series.len() < 2 * config.min_segment.max(1) {
        return Vec::new();
    }
    let mut rng = Xoshiro256StarStar::seed_from_u64(config.seed);
    // Found splits: (index, p, statistic). Segments are bounded by them.
    let mut found: Vec<(usize, f64, f64)> = Vec::new();
    while found.len() < config.max_change_points {
        let mut bounds: Vec<usize> = found.iter().map(|f| f.0).collect();
        bounds.push(0);
        bounds.push(series.len());
        bounds.sort_unstable();
        bounds.dedup();
        // The best split of each segment; the strongest is tested first.
        let mut candidates: Vec<(usize, usize, usize, f64)> = bounds
            .windows(2)
            .filter_map(|w| {
                best_split(&series[w[0]..w[1]], config.min_segment)
                    .map(|(at, q)| (w[0], w[1], w[0] + at, q))
            })
            .collect();
        candidates.sort_by(|a, b| b.3.total_cmp(&a.3));
        let mut accepted = false;
        for (start, end, at, q) in candidates {
            let p = permutation_p_value(&series[start..end], q, config, &mut rng);
            if p < config.significance {
                found.push((at, p, q));
                accepted = true;
                break;
            }
        }
        if !accepted {
            break;
        }
    }
    found.sort_unstable_by_key(|f| f.0);
    let mut bounds: Vec<usize> = vec![0];
    bounds.extend(found.iter().map(|f| f.0));
    bounds.push(series.len());
    found
        .iter()
        .enumerate()
        .map(|(i, &(index, p_value, statistic))| {
            let before_mean = mean(&series[bounds[i]..index]);
            let after_mean = mean(&series[index..bounds[i + 2]]);
            ChangePoint {
                index,
                before_mean,
                after_mean,
                shift_pct: (before_mean != 0.0).then(|| (after_mean / before_mean - 1.0) * 100.0),
                p_value,
                statistic,
            }
        })
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// The split of `xs` with the largest statistic, as (index of the first
/// point after it, statistic); `None` when `xs` is too short to split.
fn best_split(xs: &[f64], min_segment: usize) -> Option<(usize, f64)> {
    let order: Vec<usize> = (0..xs.len()).collect();
    best_split_of(xs, &order, min_segment)
}

/// [`best_split`] of `xs` read in `order` (a permutation, for the test).
///
/// With `D` the distance matrix (`|x_i - x_j|`), the statistic of a split at
/// `t` of `n` points is
/// `t(n-t)/n · (2/(t(n-t))·B − 2/(t(t-1))·L − 2/((n-t)(n-t-1))·R)`, where `B`
/// sums the distances across the split and `L`, `R` within each side. As `t`
/// moves by one, the three sums move by one row of `D`: O(n²) for every split.
fn best_split_of(xs: &[f64], order: &[usize], min_segment: usize) -> Option<(usize, f64)> {
    let n = order.len();
    let min = min_segment.max(2);
    if n < 2 * min {
        return None;
    }
    let at = |i: usize| xs[order[i]];
    let dist = |i: usize, j: usize| (at(i) - at(j)).abs();
    // t = 0: everything is on the right.
    let mut left = 0.0;
    let mut between = 0.0;
    let mut right: f64 = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| dist(i, j))
        .sum();
    let mut best: Option<(usize, f64)> = None;
    for t in 1..n {
        // Point t-1 moves from the right side to the left.
        let m = t - 1;
        let to_left: f64 = (0..m).map(|i| dist(i, m)).sum();
        let to_right: f64 = (m + 1..n).map(|j| dist(m, j)).sum();
        left += to_left;
        right -= to_right;
        between += to_right - to_left;
        if t < min || n - t < min {
            continue;
        }
        let (tl, tr) = (t as f64, (n - t) as f64);
        let e = 2.0 * between / (tl * tr)
            - 2.0 * left / (tl * (tl - 1.0))
            - 2.0 * right / (tr * (tr - 1.0));
        let q = tl * tr / n as f64 * e;
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((t, q));
        }
    }
    best
}

/// The share of shuffles of `xs` whose best split is at least `observed`
/// (with the observed order counted once, so it is never 0).
fn permutation_p_value(
    xs: &[f64],
    observed: f64,
    config: &ChangePointConfig,
    rng: &mut Xoshiro256StarStar,
) -> f64 {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut as_large = 0usize;
    for _ in 0..config.permutations {
        // Fisher–Yates.
        for i in (1..order.len()).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
        let q = best_split_of(xs, &order, config.min_segment).map_or(f64::MIN, |b| b.1);
        if q >= observed {
            as_large += 1;
            // Already not significant whatever the remaining shuffles say:
            // stop (most series of a report are noise, and each shuffle is
            // O(n²)). Only p-values of kept change points are shown, and
            // those always run every shuffle.
            // The value returned is then a lower bound of the p-value.
            let lower_bound = (as_large + 1) as f64 / (config.permutations + 1) as f64;
            if lower_bound >= config.significance {
                return lower_bound;
            }
        }
    }
    (as_large + 1) as f64 / (config.permutations + 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points around `level` with Gaussian noise of `sd` (seeded).
    fn noisy(rng: &mut Xoshiro256StarStar, n: usize, level: f64, sd: f64) -> Vec<f64> {
        (0..n).map(|_| level + sd * rng.standard_normal()).collect()
    }

    fn indices(points: &[ChangePoint]) -> Vec<usize> {
        points.iter().map(|c| c.index).collect()
    }

    #[test]
    fn a_clean_step_is_found_where_it_is() {
        let mut series = vec![10.0; 20];
        series.extend(vec![12.0; 20]);
        let points = change_points(&series, &ChangePointConfig::default());
        assert_eq!(indices(&points), vec![20]);
        let shift = points[0].shift_pct.unwrap();
        assert!((shift - 20.0).abs() < 1e-9, "{shift}");
        assert!(points[0].p_value < 0.01);
    }

    #[test]
    fn a_noisy_step_is_found_near_where_it_is() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(7);
        // A 6% step under 2% noise: the gate's threshold, on a noisy runner.
        let mut series = noisy(&mut rng, 40, 100.0, 2.0);
        series.extend(noisy(&mut rng, 40, 106.0, 2.0));
        let points = change_points(&series, &ChangePointConfig::default());
        assert_eq!(points.len(), 1, "{points:?}");
        assert!(points[0].index.abs_diff(40) <= 2, "{points:?}");
        let shift = points[0].shift_pct.unwrap();
        assert!((4.0..8.0).contains(&shift), "{shift}");
    }

    #[test]
    fn a_single_outlier_is_not_a_change_point() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(11);
        let mut series = noisy(&mut rng, 60, 100.0, 2.0);
        series[30] = 180.0;
        assert!(change_points(&series, &ChangePointConfig::default()).is_empty());
    }

    #[test]
    fn noise_alone_has_no_change_point() {
        let config = ChangePointConfig::default();
        let mut false_alarms = 0;
        for seed in 0..20 {
            let mut rng = Xoshiro256StarStar::seed_from_u64(100 + seed);
            let series = noisy(&mut rng, 50, 100.0, 3.0);
            false_alarms += change_points(&series, &config).len();
        }
        // p < 0.01 per test: at most a rare false alarm in 20 quiet series.
        assert!(false_alarms <= 1, "{false_alarms}");
    }

    #[test]
    fn a_slow_drift_is_reported_as_a_shift_in_its_direction() {
        // 15% over 60 points under 1% noise: no step, but the level moves;
        // the method splits it where the halves differ most.
        let mut rng = Xoshiro256StarStar::seed_from_u64(3);
        let series: Vec<f64> = (0..60)
            .map(|i| 100.0 + 0.25 * i as f64 + rng.standard_normal())
            .collect();
        let points = change_points(&series, &ChangePointConfig::default());
        assert!(!points.is_empty());
        assert!(
            points.iter().all(|c| c.after_mean > c.before_mean),
            "{points:?}"
        );
        // And a drift too slow to see against the noise is not reported.
        let mut rng = Xoshiro256StarStar::seed_from_u64(4);
        let quiet: Vec<f64> = (0..60)
            .map(|i| 100.0 + 0.002 * i as f64 + 3.0 * rng.standard_normal())
            .collect();
        assert!(change_points(&quiet, &ChangePointConfig::default()).is_empty());
    }

    #[test]
    fn two_steps_are_both_found() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(5);
        let mut series = noisy(&mut rng, 30, 100.0, 1.5);
        series.extend(noisy(&mut rng, 30, 110.0, 1.5));
        series.extend(noisy(&mut rng, 30, 95.0, 1.5));
        let points = change_points(&series, &ChangePointConfig::default());
        let found = indices(&points);
        assert_eq!(found.len(), 2, "{points:?}");
        assert!(
            found[0].abs_diff(30) <= 2 && found[1].abs_diff(60) <= 2,
            "{found:?}"
        );
        assert!(points[0].shift_pct.unwrap() > 5.0);
        assert!(points[1].shift_pct.unwrap() < -8.0);
    }

    #[test]
    fn short_or_broken_series_have_none() {
        let config = ChangePointConfig::default();
        assert!(change_points(&[], &config).is_empty());
        assert!(change_points(&[1.0, 2.0, 3.0], &config).is_empty());
        let mut series = vec![10.0; 10];
        series.extend(vec![20.0; 10]);
        series[3] = f64::NAN;
        assert!(change_points(&series, &config).is_empty());
    }

    #[test]
    fn the_same_history_gives_the_same_answer() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(9);
        let mut series = noisy(&mut rng, 25, 50.0, 2.0);
        series.extend(noisy(&mut rng, 25, 54.0, 2.0));
        let config = ChangePointConfig::default();
        assert_eq!(
            change_points(&series, &config),
            change_points(&series, &config)
        );
    }
}
