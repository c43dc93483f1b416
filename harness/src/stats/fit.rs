//! Power-law fits for scaling curves: least squares on `ln y` against
//! `ln x`, so the slope reads as the exponent (1.0 = linear in the project
//! size, 2.0 = quadratic).

/// `y ≈ e^intercept · x^slope`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerFit {
    pub slope: f64,
    pub intercept: f64,
    /// Coefficient of determination of the log-log line.
    pub r_squared: f64,
    pub points: usize,
}

/// The log-log least-squares fit of `points` (x, y); points with a
/// non-positive or non-finite coordinate are left out. `None` with fewer
/// than two usable points or a single x.
pub fn power_fit(points: &[(f64, f64)]) -> Option<PowerFit> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let mean_x = logs.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = logs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let sxy: f64 = logs.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let ss_total: f64 = logs.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let ss_residual: f64 = logs
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let r_squared = if ss_total > 0.0 {
        1.0 - ss_residual / ss_total
    } else {
        1.0
    };
    Some(PowerFit {
        slope,
        intercept,
        r_squared,
        points: logs.len(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn linear_and_quadratic_growth_have_slopes_one_and_two() {
        let linear: Vec<(f64, f64)> = [10.0, 100.0, 1000.0]
            .iter()
            .map(|&x| (x, 3.0 * x))
            .collect();
        let fit = power_fit(&linear).unwrap();
        assert!((fit.slope - 1.0).abs() < 1e-12);
        assert!((fit.intercept - 3f64.ln()).abs() < 1e-12);
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        let quadratic: Vec<(f64, f64)> =
            [2.0, 4.0, 8.0, 16.0].iter().map(|&x| (x, x * x)).collect();
        assert!((power_fit(&quadratic).unwrap().slope - 2.0).abs() < 1e-12);
    }

    #[test]
    fn unusable_points_are_left_out() {
        assert!(power_fit(&[(1.0, 1.0)]).is_none());
        assert!(power_fit(&[(5.0, 1.0), (5.0, 2.0)]).is_none(), "one x");
        let fit = power_fit(&[(0.0, 1.0), (1.0, 2.0), (10.0, 20.0), (f64::NAN, 1.0)]).unwrap();
        assert_eq!(fit.points, 2);
        assert!((fit.slope - 1.0).abs() < 1e-12);
    }

    #[test]
    fn noisy_points_have_r_squared_below_one() {
        let fit = power_fit(&[(1.0, 1.0), (2.0, 2.5), (4.0, 3.5), (8.0, 9.0)]).unwrap();
        assert!(fit.r_squared < 1.0 && fit.r_squared > 0.9);
    }
}
