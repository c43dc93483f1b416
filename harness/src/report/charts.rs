//! SVG charts of the trend report, drawn with plotters' SVG backend: a
//! metric's median per run with its 95% interval shaded, the baseline in
//! force and its band, the gate's marks and change points.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::export::format::significant;
use crate::gate::verdict::Verdict;

use super::series::{BaselineStep, ChangeAt, Point, VerdictMark};

pub const ACCENT: RGBColor = RGBColor(37, 99, 235);
pub const REGRESSED: RGBColor = RGBColor(220, 38, 38);
pub const IMPROVED: RGBColor = RGBColor(22, 163, 74);
const TEXT: RGBColor = RGBColor(75, 85, 99);
const AXIS: RGBColor = RGBColor(209, 213, 219);
const GRID: RGBColor = RGBColor(238, 240, 243);

/// Axis labels of the runs (x) and what the y axis shows.
pub struct Axes<'a> {
    pub run_labels: &'a [String],
    pub y_desc: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

impl ChartError {
    pub fn from_debug<E: std::fmt::Debug>(err: E) -> Self {
        ChartError(format!("{err:?}"))
    }
}

fn chart_error<E: std::fmt::Debug>(err: E) -> ChartError {
    ChartError::from_debug(err)
}

pub const CHANGE_COLOR: RGBColor = RGBColor(217, 119, 6);
const BASELINE_COLOR: RGBColor = RGBColor(100, 116, 139);

/// Everything one trend chart draws.
pub struct TrendChart<'a> {
    pub points: &'a [Point],
    pub baseline: &'a [BaselineStep],
    pub marks: &'a [VerdictMark],
    pub changes: &'a [ChangeAt],
    pub axes: Axes<'a>,
    pub width: u32,
    pub height: u32,
}

/// Up to this many runs, every run gets a dot; beyond, only the line (a dot
/// per run of a year-long history would be most of the page's weight).
const DOTS_UP_TO: usize = 60;

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
    } else if max.abs() > 1e-9 {
        max.abs() * 0.05
    } else {
        // All zero: a unit range, not ticks of 0.0000.
        1.0
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
                plotters::coord::types::RangedCoordf64,
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
        let runs = axes.run_labels.len() as f64;
        // One empty slot either side keeps the first and last points off the axes.
        let mut chart = ChartBuilder::on(&root)
            .margin_top(12)
            .margin_right(44)
            .margin_left(6)
            .margin_bottom(6)
            .x_label_area_size(34)
            .y_label_area_size(72)
            .build_cartesian_2d(-1.0..runs, y.0..y.1)
            .map_err(chart_error)?;
        // Run labels are drawn by hand on the latest run and every
        // `stride`-th run back: plotters would write a tick and an empty
        // label per run, most of a year-long chart's bytes.
        let fitting_labels = (width as usize / PIXELS_PER_LABEL).max(1);
        let stride = axes.run_labels.len().div_ceil(fitting_labels).max(1);
        let y_formatter = |v: &f64| significant(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .max_light_lines(0)
            .y_labels(6)
            .y_label_formatter(&y_formatter)
            .y_desc(axes.y_desc)
            .label_style(("sans-serif", 13).into_font().color(&TEXT))
            .axis_desc_style(("sans-serif", 13).into_font().color(&TEXT))
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .axis_style(AXIS)
            .draw()
            .map_err(chart_error)?;
        let label_style = ("sans-serif", 12)
            .into_font()
            .color(&TEXT)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for index in 0..axes.run_labels.len() {
            let label = x_label(axes.run_labels, stride, to_x(index) as i32);
            if label.is_empty() {
                continue;
            }
            let (px, py) = chart.backend_coord(&(to_x(index), y.0));
            root.draw(&PathElement::new(vec![(px, py), (px, py + 4)], AXIS))
                .map_err(chart_error)?;
            root.draw(&Text::new(label, (px, py + 7), label_style.clone()))
                .map_err(chart_error)?;
        }
        draw(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn to_x(run: usize) -> f64 {
    run as f64
}

/// A metric per run: the interval band, the baseline each run was judged
/// against as a step line inside its ±tolerance band, the median line,
/// the gate's regressions (red rings) and improvements (green), and change
/// points (an amber rule before the first run of the new level).
pub fn trend_chart(chart: &TrendChart<'_>) -> Result<String, ChartError> {
    let svg = draw_trend(chart)?;
    if chart.points.len() > DOTS_UP_TO {
        return Ok(svg);
    }
    let titles: Vec<String> = chart
        .points
        .iter()
        .map(|p| {
            let label = chart.axes.run_labels.get(p.run).map_or("", String::as_str);
            format!("{label}: {}", significant(p.median))
        })
        .collect();
    Ok(title_dots(&svg, &titles))
}

/// Gives the run dots (in drawing order, one per point) a `<title>`: the
/// run's date and short commit and its median, shown on hover. Plotters
/// has no titles, so its dots are rewritten.
fn title_dots(svg: &str, titles: &[String]) -> String {
    let dot_fill = format!(
        "r=\"3\" opacity=\"1\" fill=\"#{:02X}{:02X}{:02X}\"",
        ACCENT.0, ACCENT.1, ACCENT.2
    );
    let mut out = String::with_capacity(svg.len() + titles.len() * 40);
    let mut rest = svg;
    let mut titles = titles.iter();
    while let Some(start) = rest.find("<circle ") {
        let Some(len) = rest[start..].find("/>") else {
            break;
        };
        let element = &rest[start..start + len];
        out.push_str(&rest[..start]);
        let title = if element.contains(&dot_fill) {
            titles.next()
        } else {
            None
        };
        match title {
            Some(title) => {
                out.push_str(element);
                out.push_str("><title>");
                out.push_str(&super::html::escape(title));
                out.push_str("</title></circle>");
            }
            None => {
                out.push_str(element);
                out.push_str("/>");
            }
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn draw_trend(chart: &TrendChart<'_>) -> Result<String, ChartError> {
    let points = chart.points;
    let y = y_range(
        points
            .iter()
            .flat_map(|p| [p.lower, p.upper, p.median])
            .chain(chart.baseline.iter().flat_map(|b| {
                let t = b.tolerance_pct / 100.0;
                [b.median * (1.0 - t), b.median * (1.0 + t)]
            })),
    );
    with_chart(chart.width, chart.height, &chart.axes, y, |ctx| {
        // Baseline: consecutive runs judged against the same median are
        // one segment.
        for segment in baseline_segments(chart.baseline) {
            let (x0, x1) = (segment.from as f64 - 0.5, segment.to as f64 + 0.5);
            let t = segment.tolerance_pct / 100.0;
            ctx.draw_series(std::iter::once(Rectangle::new(
                [
                    (x0, segment.median * (1.0 - t)),
                    (x1, segment.median * (1.0 + t)),
                ],
                BASELINE_COLOR.mix(0.12).filled(),
            )))
            .map_err(chart_error)?;
            ctx.draw_series(std::iter::once(PathElement::new(
                vec![(x0, segment.median), (x1, segment.median)],
                BASELINE_COLOR.stroke_width(2),
            )))
            .map_err(chart_error)?;
        }
        if points.len() >= 2 {
            let upper = points.iter().map(|p| (to_x(p.run), p.upper));
            let lower = points.iter().rev().map(|p| (to_x(p.run), p.lower));
            let band: Vec<(f64, f64)> = upper.chain(lower).collect();
            ctx.draw_series(std::iter::once(Polygon::new(
                band,
                ACCENT.mix(0.14).filled(),
            )))
            .map_err(chart_error)?;
            ctx.draw_series(LineSeries::new(
                points.iter().map(|p| (to_x(p.run), p.median)),
                ACCENT.stroke_width(2),
            ))
            .map_err(chart_error)?;
        } else {
            ctx.draw_series(points.iter().map(|p| {
                PathElement::new(
                    vec![(to_x(p.run), p.lower), (to_x(p.run), p.upper)],
                    ACCENT.mix(0.5).stroke_width(2),
                )
            }))
            .map_err(chart_error)?;
        }
        if points.len() <= DOTS_UP_TO {
            ctx.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((to_x(p.run), p.median), 3, ACCENT.filled())),
            )
            .map_err(chart_error)?;
        }
        for change in chart.changes {
            let x = change.run as f64 - 0.5;
            ctx.draw_series(std::iter::once(PathElement::new(
                vec![(x, y.0), (x, y.1)],
                CHANGE_COLOR.stroke_width(1),
            )))
            .map_err(chart_error)?;
            let label = change
                .change
                .shift_pct
                .map_or_else(|| "change".to_string(), |s| format!("{s:+.1}%"));
            let style = ("sans-serif", 12)
                .into_font()
                .color(&CHANGE_COLOR)
                .pos(Pos::new(HPos::Left, VPos::Top));
            ctx.draw_series([EmptyElement::at((x, y.1)) + Text::new(label, (3, 2), style)])
                .map_err(chart_error)?;
        }
        for mark in chart.marks {
            let color = if mark.verdict == Verdict::Regressed {
                REGRESSED
            } else {
                IMPROVED
            };
            let Some(point) = points.iter().find(|p| p.run == mark.run) else {
                continue;
            };
            let at = (to_x(point.run), point.median);
            ctx.draw_series([Circle::new(at, 7, color.stroke_width(2))])
                .map_err(chart_error)?;
            let style = ("sans-serif", 13)
                .into_font()
                .style(FontStyle::Bold)
                .color(&color)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            let label = crate::gate::verdict::format_change_pct(mark.change_pct);
            ctx.draw_series([EmptyElement::at(at) + Text::new(label, (0, -11), style)])
                .map_err(chart_error)?;
        }
        Ok(())
    })
}

/// A run of consecutive baseline steps with one median and tolerance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineSegment {
    pub from: usize,
    pub to: usize,
    pub median: f64,
    pub tolerance_pct: f64,
}

/// Merges steps of adjacent runs with the same baseline into segments.
pub fn baseline_segments(steps: &[BaselineStep]) -> Vec<BaselineSegment> {
    let mut segments: Vec<BaselineSegment> = Vec::new();
    for step in steps {
        match segments.last_mut() {
            Some(last)
                if last.to + 1 == step.run
                    && last.median == step.median
                    && last.tolerance_pct == step.tolerance_pct =>
            {
                last.to = step.run;
            }
            _ => segments.push(BaselineSegment {
                from: step.run,
                to: step.run,
                median: step.median,
                tolerance_pct: step.tolerance_pct,
            }),
        }
    }
    segments
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("run{i}")).collect()
    }

    fn points(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                run: i,
                median: 100.0 + i as f64,
                lower: 98.0 + i as f64,
                upper: 102.0 + i as f64,
            })
            .collect()
    }

    #[test]
    fn trend_chart_draws_band_baseline_marks_and_change_points() {
        let points = points(8);
        let run_labels = labels(8);
        let baseline = [
            BaselineStep {
                run: 5,
                median: 100.0,
                tolerance_pct: 5.0,
            },
            BaselineStep {
                run: 6,
                median: 100.0,
                tolerance_pct: 5.0,
            },
            BaselineStep {
                run: 7,
                median: 104.0,
                tolerance_pct: 5.0,
            },
        ];
        let marks = [VerdictMark {
            run: 7,
            verdict: Verdict::Regressed,
            change_pct: 7.5,
        }];
        let changes = [ChangeAt {
            before_run: 3,
            run: 4,
            change: crate::stats::change_points::ChangePoint {
                index: 4,
                before_mean: 101.5,
                after_mean: 105.5,
                shift_pct: Some(3.9),
                p_value: 0.005,
                statistic: 1.0,
            },
        }];
        let svg = trend_chart(&TrendChart {
            points: &points,
            baseline: &baseline,
            marks: &marks,
            changes: &changes,
            axes: Axes {
                run_labels: &run_labels,
                y_desc: "wall time (ms)",
            },
            width: 800,
            height: 300,
        })
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<polygon"), "band");
        assert!(svg.contains("<polyline"), "median line");
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 2,
            "background and two baseline segments"
        );
        assert!(svg.contains("+7.5%"), "regression label");
        assert!(svg.contains("+3.9%"), "change point label");
        assert!(svg.contains("run7"));
        assert!(svg.contains("wall time (ms)"));
    }

    #[test]
    fn each_dot_names_its_run() {
        let points = points(3);
        let run_labels = labels(3);
        let svg = trend_chart(&TrendChart {
            points: &points,
            baseline: &[],
            marks: &[VerdictMark {
                run: 2,
                verdict: Verdict::Regressed,
                change_pct: 7.5,
            }],
            changes: &[],
            axes: Axes {
                run_labels: &run_labels,
                y_desc: "ms",
            },
            width: 600,
            height: 240,
        })
        .unwrap();
        for (i, median) in ["100", "101", "102"].iter().enumerate() {
            assert!(
                svg.contains(&format!("<title>run{i}: {median}</title></circle>")),
                "{svg}"
            );
        }
        assert_eq!(
            svg.matches("<title>").count(),
            3,
            "the regression ring has none"
        );
    }

    #[test]
    fn long_histories_draw_no_dot_per_run() {
        let points = points(200);
        let run_labels = labels(200);
        let svg = trend_chart(&TrendChart {
            points: &points,
            baseline: &[],
            marks: &[],
            changes: &[],
            axes: Axes {
                run_labels: &run_labels,
                y_desc: "ms",
            },
            width: 560,
            height: 220,
        })
        .unwrap();
        assert!(!svg.contains("<circle"));
        assert!(svg.len() < 16_000, "{} bytes", svg.len());
    }

    #[test]
    fn single_point_gets_whiskers_not_a_band() {
        let points = points(1);
        let run_labels = labels(1);
        let svg = trend_chart(&TrendChart {
            points: &points,
            baseline: &[],
            marks: &[],
            changes: &[],
            axes: Axes {
                run_labels: &run_labels,
                y_desc: "ms",
            },
            width: 600,
            height: 240,
        })
        .unwrap();
        assert!(!svg.contains("<polygon"));
        assert!(svg.contains("<circle"));
    }

    #[test]
    fn adjacent_equal_baselines_merge() {
        let step = |run, median| BaselineStep {
            run,
            median,
            tolerance_pct: 5.0,
        };
        let segments =
            baseline_segments(&[step(1, 10.0), step(2, 10.0), step(4, 10.0), step(5, 11.0)]);
        assert_eq!(
            segments.iter().map(|s| (s.from, s.to)).collect::<Vec<_>>(),
            [(1, 2), (4, 4), (5, 5)]
        );
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
        assert_eq!(y_range([0.0, 0.0].into_iter()), (0.0, 1.0));
    }
}
