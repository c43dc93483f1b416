//! The noise check: is a metric's spread small enough, at the measured number
//! of iterations, for the gate to resolve a given relative change? If not, say
//! how many iterations would.
//!
//! Sample size for a two-sample comparison of means (normal approximation):
//!
//! ```text
//! n = ⌈ 2 · (z₁₋α/₂ + z_power)² · cv² / δ² ⌉   per side
//! ```
//!
//! with cv the coefficient of variation and δ the relative change to detect.
//! Defaults: α = 0.01 (the gate's significance level), power = 0.8, δ = 5%,
//! which gives n ≈ 23.4 · cv² / δ² (e.g. cv 5% → 24 iterations, cv 10% → 94).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{normal, Summary};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseConfig {
    /// Two-sided significance level the change must reach (the gate's alpha).
    pub alpha: f64,
    /// Probability of detecting a real change of `min_detectable_change`.
    pub power: f64,
    /// Relative change to resolve: 0.05 is 5%.
    pub min_detectable_change: f64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            power: 0.8,
            min_detectable_change: 0.05,
        }
    }
}

impl NoiseConfig {
    /// (z₁₋α/₂ + z_power)²: the constant of the sample-size formula.
    fn z_term(&self) -> f64 {
        let z = normal::quantile(1.0 - self.alpha / 2.0) + normal::quantile(self.power);
        z * z
    }
}

/// Iterations per side needed to resolve `config.min_detectable_change` at
/// coefficient of variation `cv`; `None` when `cv` is not finite.
pub fn required_iterations(cv: f64, config: &NoiseConfig) -> Option<u64> {
    if !cv.is_finite() || cv < 0.0 {
        return None;
    }
    let delta = config.min_detectable_change;
    let n = 2.0 * config.z_term() * cv * cv / (delta * delta);
    if !n.is_finite() {
        return None;
    }
    // Never fewer than 2: a sample needs two points.
    Some((n.ceil() as u64).max(2))
}

/// The smallest relative change resolvable with `n` iterations per side.
pub fn detectable_change(cv: f64, n: usize, config: &NoiseConfig) -> f64 {
    if n == 0 {
        return f64::INFINITY;
    }
    (2.0 * config.z_term() * cv * cv / n as f64).sqrt()
}

/// A metric too noisy to resolve the configured change at its sample size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseWarning {
    pub cv: f64,
    pub n: usize,
    /// The change the gate is meant to resolve, in percent.
    pub target_change_pct: f64,
    /// The change resolvable with `n` iterations, in percent.
    pub detectable_change_pct: f64,
    /// Iterations that would resolve the target; `None` if the spread is
    /// undefined (mean of zero).
    pub required_iterations: Option<u64>,
}

impl fmt::Display for NoiseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.required_iterations {
            Some(required) => write!(
                f,
                "noisy: CV {:.1}% with n={} resolves only changes ≥ {:.1}%; \
                 about {} iterations would resolve {:.0}%",
                self.cv * 100.0,
                self.n,
                self.detectable_change_pct,
                required,
                self.target_change_pct
            ),
            None => write!(
                f,
                "noisy: the values vary around a mean of zero, so relative changes cannot be resolved (n={})",
                self.n
            ),
        }
    }
}

/// Warns when `summary.n` iterations are too few to resolve the configured
/// change at the summary's coefficient of variation.
pub fn noise_check(summary: &Summary, config: &NoiseConfig) -> Option<NoiseWarning> {
    let required = required_iterations(summary.cv, config);
    let enough = matches!(required, Some(needed) if needed <= summary.n as u64);
    if enough {
        return None;
    }
    Some(NoiseWarning {
        cv: summary.cv,
        n: summary.n,
        target_change_pct: config.min_detectable_change * 100.0,
        detectable_change_pct: detectable_change(summary.cv, summary.n, config) * 100.0,
        required_iterations: required,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::stats::{summarize, BootstrapConfig, Sample};

    #[test]
    fn required_iterations_follow_the_formula() {
        let gate = NoiseConfig::default();
        // 2 · (2.5758 + 0.8416)² = 23.357…
        assert_eq!(required_iterations(0.05, &gate), Some(24));
        assert_eq!(required_iterations(0.10, &gate), Some(94));
        assert_eq!(required_iterations(0.0, &gate), Some(2));
        assert_eq!(required_iterations(f64::INFINITY, &gate), None);
        // The textbook α = 0.05: 2 · (1.96 + 0.8416)² = 15.70… → cv 5% needs 16.
        let textbook = NoiseConfig {
            alpha: 0.05,
            ..NoiseConfig::default()
        };
        assert_eq!(required_iterations(0.05, &textbook), Some(16));
    }

    #[test]
    fn detectable_change_inverts_required_iterations() {
        let config = NoiseConfig::default();
        let delta = detectable_change(0.05, 24, &config);
        assert!(delta <= 0.05 && delta > 0.049, "{delta}");
    }

    #[test]
    fn quiet_metric_gets_no_warning() {
        let sample = Sample::new(vec![100.0, 100.5, 99.8, 100.2, 99.9, 100.1]).unwrap();
        let summary = summarize(&sample, &BootstrapConfig::default());
        assert_eq!(noise_check(&summary, &NoiseConfig::default()), None);
    }

    #[test]
    fn noisy_metric_gets_a_warning_with_a_sample_size() {
        let sample = Sample::new(vec![100.0, 120.0, 90.0, 130.0, 85.0, 110.0]).unwrap();
        let summary = summarize(&sample, &BootstrapConfig::default());
        let warning = noise_check(&summary, &NoiseConfig::default()).unwrap();
        assert_eq!(warning.n, 6);
        let required = warning.required_iterations.unwrap();
        assert!(required > 6);
        assert!(warning.detectable_change_pct > 5.0);
        let text = warning.to_string();
        assert!(
            text.contains(&format!("about {required} iterations")),
            "{text}"
        );
    }

    #[test]
    fn zero_mean_spread_is_reported_without_a_sample_size() {
        let sample = Sample::new(vec![-1.0, 1.0]).unwrap();
        let summary = summarize(&sample, &BootstrapConfig::default());
        let warning = noise_check(&summary, &NoiseConfig::default()).unwrap();
        assert_eq!(warning.required_iterations, None);
        assert!(warning.to_string().contains("mean of zero"));
    }
}
