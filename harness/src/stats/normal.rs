//! The standard normal distribution: CDF, upper tail and quantile, accurate to
//! about 1e-15 — enough for p-values and sample-size formulas.

use std::f64::consts::PI;

/// Beyond this |x| the series is slow; the continued fraction is used instead.
const SERIES_LIMIT: f64 = 3.0;
/// Terms of Laplace's continued fraction; converges quickly for |x| >= 3.
const CONTINUED_FRACTION_TERMS: u32 = 120;

/// The standard normal density φ(x).
pub fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Φ(x) = P(Z ≤ x).
pub fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        upper_tail(-x)
    } else {
        1.0 - upper_tail(x)
    }
}

/// Q(x) = P(Z > x) = 1 − Φ(x), computed without cancellation in the tail so
/// tiny p-values keep their relative accuracy.
pub fn upper_tail(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 1.0 - upper_tail(-x);
    }
    if x < SERIES_LIMIT {
        // Marsaglia (2004): Φ(x) = 1/2 + φ(x)·(x + x³/3 + x⁵/(3·5) + …).
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        let mut k = 1.0;
        while term.abs() > 1e-17 * sum.abs() {
            k += 2.0;
            term *= x2 / k;
            sum += term;
        }
        0.5 - pdf(x) * sum
    } else {
        // Laplace: Q(x) = φ(x) / (x + 1/(x + 2/(x + 3/(x + …)))).
        let mut denominator = x;
        for k in (1..=CONTINUED_FRACTION_TERMS).rev() {
            denominator = x + f64::from(k) / denominator;
        }
        pdf(x) / denominator
    }
}

/// Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|).
pub fn two_sided_p(z: f64) -> f64 {
    (2.0 * upper_tail(z.abs())).min(1.0)
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by two
/// Halley steps against [`cdf`]. Returns ±∞ at 0 and 1, NaN outside.
pub fn quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        // Symmetry keeps the refinement in the lower tail, where Φ is accurate.
        return -quantile(1.0 - p);
    }
    let mut x = acklam(p);
    for _ in 0..2 {
        // Halley's method on f(x) = Φ(x) − p.
        let density = pdf(x);
        if density == 0.0 {
            break;
        }
        let u = (cdf(x) - p) / density;
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}

fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;

    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) -> bool {
        (actual - expected).abs() <= rel * expected.abs().max(1e-300)
    }

    #[test]
    fn cdf_matches_reference_values() {
        // Reference: 0.5 * erfc(-x / sqrt(2)) from a C math library.
        let cases = [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 0.158_655_253_931_457_05),
            (1.959_963_984_540_054, 0.975),
            (2.5, 0.993_790_334_674_223_8),
            (-3.5, 2.326_290_790_355_250_3e-4),
            (-6.0, 9.865_876_450_377_012e-10),
            (-10.0, 7.619_853_024_160_593e-24),
        ];
        for (x, expected) in cases {
            assert!(close(cdf(x), expected, 1e-12), "cdf({x}) = {}", cdf(x));
        }
    }

    #[test]
    fn upper_tail_keeps_relative_accuracy_far_out() {
        assert!(close(upper_tail(10.0), 7.619_853_024_160_593e-24, 1e-12));
        assert!(close(upper_tail(3.0), 1.349_898_031_630_094_6e-3, 1e-12));
        assert!(close(upper_tail(2.999_999), 1.349_902_463_485_155e-3, 1e-8));
    }

    #[test]
    fn quantile_inverts_cdf() {
        let cases = [
            (0.975, 1.959_963_984_540_054),
            (0.995, 2.575_829_303_548_900_4),
            (0.8, 0.841_621_233_572_914_3),
            (0.5, 0.0),
            (0.01, -2.326_347_874_040_841),
            (1e-10, -6.361_340_902_404_056),
        ];
        for (p, expected) in cases {
            let x = quantile(p);
            assert!((x - expected).abs() < 1e-12, "quantile({p}) = {x}");
        }
        assert_eq!(quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(quantile(1.0), f64::INFINITY);
        assert!(quantile(1.5).is_nan());
    }

    #[test]
    fn two_sided_p_is_symmetric_and_bounded() {
        assert_eq!(two_sided_p(0.0), 1.0);
        assert!(close(two_sided_p(1.959_963_984_540_054), 0.05, 1e-12));
        assert_eq!(two_sided_p(2.0), two_sided_p(-2.0));
    }
}
