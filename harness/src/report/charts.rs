//! SVG line charts of the trend report, drawn with plotters' SVG backend: the
//! wall-time median per run with its 95% interval shaded, and memory per run.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::export::format::significant;

pub const ACCENT: RGBColor = RGBColor(37, 99, 235);
pub const REGRESSED: RGBColor = RGBColor(220, 38, 38);
pub const IMPROVED: RGBColor = RGBColor(22, 163, 74);
pub const RSS_COLOR: RGBColor = RGBColor(124, 58, 237);
pub const ALLOC_COLOR: RGBColor = RGBColor(13, 148, 136);
const TEXT: RGBColor = RGBColor(75, 85, 99);
const AXIS: RGBColor = RGBColor(209, 213, 219);
const GRID: RGBColor = RGBColor(238, 240, 243);

/// How a run's point is marked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    Plain,
    Regressed { change_pct: f64 },
    Improved { change_pct: f64 },
}

/// One run's wall-time summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendPoint {
    /// Index of the run on the x axis.
    pub run: usize,
    pub median: f64,
    pub lower: f64,
    pub upper: f64,
    pub marker: Marker,
}

/// A named line of the memory chart.
pub struct Series<'a> {
    pub color: RGBColor,
    pub points: &'a [(usize, f64)],
}

/// Axis labels of the runs (x) and what the y axis shows.
pub struct Axes<'a> {
    pub run_labels: &'a [String],
    pub y_desc: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn chart_error<E: std::fmt::Debug>(err: E) -> ChartError {
    ChartError(format!("{err:?}"))
}

/// The y range covering `values` with some air, never below zero for
/// non-negative data.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !min.is_finite() {
        return (0.0, 1.0);
    }
    let span = max - min;
    let pad = if span > 0.0 {
        span * 0.15
    } else {
        (max.abs() * 0.05).max(1e-9)
    };
    let lower = if min >= 0.0 {
        (min - pad).max(0.0)
    } else {
        min - pad
    };
    (lower, max + pad)
}

/// Every run gets a tick; labels go on every `stride`-th run counting back
/// from the latest, so the newest run is always labelled.
fn x_label(labels: &[String], stride: usize, x: i32) -> String {
    let Some(index) = usize::try_from(x).ok().filter(|&i| i < labels.len()) else {
        return String::new();
    };
    if (labels.len() - 1 - index).is_multiple_of(stride.max(1)) {
        labels[index].clone()
    } else {
        String::new()
    }
}

/// Room for one label per this many pixels.
const PIXELS_PER_LABEL: usize = 100;

/// Draws axes and grid on `root` and hands the chart to `draw`.
fn with_chart<F>(
    width: u32,
    height: u32,
    axes: &Axes<'_>,
    y: (f64, f64),
    draw: F,
) -> Result<String, ChartError>
where
    F: FnOnce(
        &mut ChartContext<
            '_,
            SVGBackend<'_>,
            Cartesian2d<
                plotters::coord::types::RangedCoordi32,
                plotters::coord::types::RangedCoordf64,
            >,
        >,
    ) -> Result<(), ChartError>,
{
    let mut svg = String::new();
    {
        let root: DrawingArea<SVGBackend<'_>, Shift> =
            SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let runs = i32::try_from(axes.run_labels.len()).unwrap_or(i32::MAX);
        // One empty slot either side keeps the first and last points off the axes.
        let mut chart = ChartBuilder::on(&root)
            .margin_top(12)
            .margin_right(28)
            .margin_left(6)
            .margin_bottom(6)
            .x_label_area_size(34)
            .y_label_area_size(72)
            .build_cartesian_2d(-1..runs, y.0..y.1)
            .map_err(chart_error)?;
        let fitting_labels = (width as usize / PIXELS_PER_LABEL).max(1);
        let stride = axes.run_labels.len().div_ceil(fitting_labels);
        let x_formatter = |x: &i32| x_label(axes.run_labels, stride, *x);
        let y_formatter = |v: &f64| significant(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(axes.run_labels.len() + 2)
            .y_labels(6)
            .x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .y_desc(axes.y_desc)
            .label_style(("sans-serif", 13).into_font().color(&TEXT))
            .axis_desc_style(("sans-serif", 13).into_font().color(&TEXT))
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .axis_style(AXIS)
            .draw()
            .map_err(chart_error)?;
        draw(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn to_x(run: usize) -> i32 {
    i32::try_from(run).unwrap_or(i32::MAX)
}

/// Wall time per run: shaded interval band (whiskers when there is a single
/// run), the median line and points, regressions ringed in red with their
/// change written above.
pub fn wall_chart(
    points: &[TrendPoint],
    axes: &Axes<'_>,
    width: u32,
    height: u32,
) -> Result<String, ChartError> {
    let y = y_range(points.iter().flat_map(|p| [p.lower, p.upper, p.median]));
    with_chart(width, height, axes, y, |chart| {
        if points.len() >= 2 {
            let upper = points.iter().map(|p| (to_x(p.run), p.upper));
            let lower = points.iter().rev().map(|p| (to_x(p.run), p.lower));
            let band: Vec<(i32, f64)> = upper.chain(lower).collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    ACCENT.mix(0.14).filled(),
                )))
                .map_err(chart_error)?;
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (to_x(p.run), p.median)),
                    ACCENT.stroke_width(2),
                ))
                .map_err(chart_error)?;
        } else {
            chart
                .draw_series(points.iter().map(|p| {
                    PathElement::new(
                        vec![(to_x(p.run), p.lower), (to_x(p.run), p.upper)],
                        ACCENT.mix(0.5).stroke_width(2),
                    )
                }))
                .map_err(chart_error)?;
        }
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((to_x(p.run), p.median), 3, ACCENT.filled())),
            )
            .map_err(chart_error)?;
        for point in points {
            let (color, change_pct) = match point.marker {
                Marker::Plain => continue,
                Marker::Regressed { change_pct } => (REGRESSED, change_pct),
                Marker::Improved { change_pct } => (IMPROVED, change_pct),
            };
            let at = (to_x(point.run), point.median);
            chart
                .draw_series([Circle::new(at, 7, color.stroke_width(2))])
                .map_err(chart_error)?;
            let label = format!("{change_pct:+.1}%");
            let style = ("sans-serif", 13)
                .into_font()
                .style(FontStyle::Bold)
                .color(&color)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series([EmptyElement::at(at) + Text::new(label, (0, -11), style)])
                .map_err(chart_error)?;
        }
        Ok(())
    })
}

/// Memory per run: one line (with points) per series.
pub fn memory_chart(
    series: &[Series<'_>],
    axes: &Axes<'_>,
    width: u32,
    height: u32,
) -> Result<String, ChartError> {
    let y = y_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    with_chart(width, height, axes, y, |chart| {
        for line in series {
            if line.points.len() >= 2 {
                chart
                    .draw_series(LineSeries::new(
                        line.points.iter().map(|(run, v)| (to_x(*run), *v)),
                        line.color.stroke_width(2),
                    ))
                    .map_err(chart_error)?;
            }
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|(run, v)| Circle::new((to_x(*run), *v), 3, line.color.filled())),
                )
                .map_err(chart_error)?;
        }
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("run{i}")).collect()
    }

    #[test]
    fn wall_chart_draws_a_band_a_line_and_markers() {
        let points: Vec<TrendPoint> = (0..4)
            .map(|i| TrendPoint {
                run: i,
                median: 100.0 + i as f64,
                lower: 98.0 + i as f64,
                upper: 102.0 + i as f64,
                marker: if i == 3 {
                    Marker::Regressed { change_pct: 7.5 }
                } else {
                    Marker::Plain
                },
            })
            .collect();
        let run_labels = labels(4);
        let axes = Axes {
            run_labels: &run_labels,
            y_desc: "wall time (ms)",
        };
        let svg = wall_chart(&points, &axes, 800, 300).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<polygon"), "band");
        assert!(svg.contains("<polyline"), "median line");
        assert!(svg.contains("+7.5%"));
        assert!(svg.contains("run3"));
        assert!(svg.contains("wall time (ms)"));
    }

    #[test]
    fn single_point_gets_whiskers_not_a_band() {
        let points = [TrendPoint {
            run: 0,
            median: 5.0,
            lower: 4.0,
            upper: 6.0,
            marker: Marker::Plain,
        }];
        let run_labels = labels(1);
        let axes = Axes {
            run_labels: &run_labels,
            y_desc: "ms",
        };
        let svg = wall_chart(&points, &axes, 600, 240).unwrap();
        assert!(!svg.contains("<polygon"));
        assert!(svg.contains("<circle"));
    }

    #[test]
    fn labels_always_include_the_latest_run() {
        let run_labels = labels(12);
        let shown: Vec<String> = (-1..13)
            .map(|x| x_label(&run_labels, 2, x))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(shown, ["run1", "run3", "run5", "run7", "run9", "run11"]);
        assert_eq!(x_label(&run_labels, 1, 0), "run0");
        assert_eq!(x_label(&run_labels, 1, -1), "");
        assert_eq!(x_label(&run_labels, 1, 12), "");
    }

    #[test]
    fn y_range_pads_and_stays_non_negative() {
        assert_eq!(y_range([10.0, 10.0].into_iter()), (9.5, 10.5));
        let (lo, hi) = y_range([0.0, 100.0].into_iter());
        assert_eq!(lo, 0.0);
        assert!(hi > 100.0);
        assert_eq!(y_range(std::iter::empty()), (0.0, 1.0));
    }
}
