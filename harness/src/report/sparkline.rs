//! A tiny inline SVG line of a series, for the summary table: no axes, the
//! latest point dotted. Written by hand (a polyline), because a plotters
//! chart per table row would weigh a hundred times more.

use std::fmt::Write as _;

/// The sparkline of `values` (oldest first) in a `width` × `height` box;
/// an empty string when there is nothing to draw.
pub fn sparkline(values: &[f64], width: u32, height: u32, color: &str) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return String::new();
    }
    let (min, max) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let pad = 2.0;
    let (w, h) = (f64::from(width) - 2.0 * pad, f64::from(height) - 2.0 * pad);
    let x = |i: usize| {
        if finite.len() == 1 {
            pad + w
        } else {
            pad + w * i as f64 / (finite.len() - 1) as f64
        }
    };
    let y = |v: f64| {
        if max > min {
            pad + h * (1.0 - (v - min) / (max - min))
        } else {
            pad + h / 2.0
        }
    };
    let mut points = String::new();
    for (i, &v) in finite.iter().enumerate() {
        let _ = write!(
            points,
            "{}{:.1},{:.1}",
            if i == 0 { "" } else { " " },
            x(i),
            y(v)
        );
    }
    let last = finite.len() - 1;
    format!(
        "<svg class=\"spark\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"trend of {} runs\"><polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{points}\"/>\
         <circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.2\" fill=\"{color}\"/></svg>",
        finite.len(),
        x(last),
        y(finite[last])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_series_ends_at_the_top_right() {
        let svg = sparkline(&[1.0, 2.0, 3.0], 100, 20, "#2563eb");
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("points=\"2.0,18.0 50.0,10.0 98.0,2.0\""),
            "{svg}"
        );
        assert!(svg.contains("cx=\"98.0\" cy=\"2.0\""));
        assert!(svg.contains("trend of 3 runs"));
    }

    #[test]
    fn flat_single_and_empty_series() {
        let flat = sparkline(&[5.0, 5.0], 100, 20, "#000");
        assert!(flat.contains("2.0,10.0 98.0,10.0"), "{flat}");
        let one = sparkline(&[5.0, f64::NAN], 100, 20, "#000");
        assert!(one.contains("points=\"98.0,10.0\""), "{one}");
        assert_eq!(sparkline(&[], 100, 20, "#000"), "");
    }
}
