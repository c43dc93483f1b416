//! The scaling section: the last preset sweep's cold, warm and targeted
//! times and peak RSS against the project's file count, on log-log axes,
//! each line with its fitted power-law slope (1.0 = linear).

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::export::format::significant;
use crate::model::metric_names::{PEAK_RSS_KIB, WALL_MS};
use crate::model::RunRecord;
use crate::stats::fit::{power_fit, PowerFit};
use crate::stats::median_of;

use super::charts::ChartError;
use super::html::escape;

/// The read+parse floor, when a sweep records it (ms, in `cold`).
pub const FLOOR_METRIC: &str = "phase.read_parse_floor_ms";

/// One line of a scaling chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingSeries {
    pub name: String,
    /// (files, median) in size order.
    pub points: Vec<(f64, f64)>,
    pub fit: Option<PowerFit>,
}

/// The medians of `metric` in `scenario` against each fixture's file count.
pub fn scaling_series(
    sweep: &RunRecord,
    scenario: &str,
    metric: &str,
    name: &str,
) -> ScalingSeries {
    scaled_series(sweep, scenario, metric, name, 1.0)
}

/// [`scaling_series`] with the medians multiplied by `scale` (KiB → MiB).
pub fn scaled_series(
    sweep: &RunRecord,
    scenario: &str,
    metric: &str,
    name: &str,
    scale: f64,
) -> ScalingSeries {
    let mut points: Vec<(f64, f64)> = sweep
        .fixtures
        .iter()
        .filter_map(|f| {
            let values = &f.scenario(scenario)?.metric(metric)?.samples;
            Some((f.files as f64, median_of(values)? * scale))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    ScalingSeries {
        name: name.to_string(),
        fit: power_fit(&points),
        points,
    }
}

/// The time series of a sweep: cold, warm, the targeted scenarios, and the
/// floor beside cold when recorded.
pub fn time_series(sweep: &RunRecord) -> Vec<ScalingSeries> {
    [
        ("cold", WALL_MS, "cold"),
        ("cold", FLOOR_METRIC, "read+parse floor"),
        ("warm", WALL_MS, "warm"),
        ("targeted-process", WALL_MS, "targeted-process"),
        ("targeted-session", WALL_MS, "targeted-session"),
    ]
    .iter()
    .map(|(scenario, metric, name)| scaling_series(sweep, scenario, metric, name))
    .filter(|s| !s.points.is_empty())
    .collect()
}

/// A line's color by its name, so a series keeps its color whether or not
/// the others are present.
fn color_of(name: &str) -> RGBColor {
    match name {
        "read+parse floor" => RGBColor(148, 163, 184),
        "warm" => RGBColor(22, 163, 74),
        "targeted-process" => RGBColor(217, 119, 6),
        "targeted-session" => RGBColor(124, 58, 237),
        _ => RGBColor(37, 99, 235),
    }
}

fn chart_error<E: std::fmt::Debug>(err: E) -> ChartError {
    ChartError::from_debug(err)
}

/// A log-log chart of `series`.
pub fn loglog_chart(
    series: &[ScalingSeries],
    y_desc: &str,
    width: u32,
    height: u32,
) -> Result<String, ChartError> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let range = |it: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = it
            .filter(|v| *v > 0.0 && v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if lo.is_finite() {
            (lo / 1.5, hi * 1.5)
        } else {
            (1.0, 10.0)
        }
    };
    let x = range(&mut xs.into_iter());
    let y = range(&mut ys.into_iter());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((x.0..x.1).log_scale(), (y.0..y.1).log_scale())
            .map_err(chart_error)?;
        let fmt = |v: &f64| crate::export::format::significant(*v);
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .max_light_lines(0)
            .x_desc("files (log)")
            .y_desc(y_desc)
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .label_style(("sans-serif", 12).into_font().color(&RGBColor(75, 85, 99)))
            .bold_line_style(RGBColor(238, 240, 243))
            .light_line_style(WHITE)
            .draw()
            .map_err(chart_error)?;
        let value_style = ("sans-serif", 11)
            .into_font()
            .color(&RGBColor(75, 85, 99))
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        for line in series {
            let color = color_of(&line.name);
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(chart_error)?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|p| Circle::new(*p, 3, color.filled())),
                )
                .map_err(chart_error)?;
            // Log axes over less than a decade get few ticks: each point
            // carries its value.
            chart
                .draw_series(line.points.iter().map(|p| {
                    EmptyElement::at(*p) + Text::new(significant(p.1), (4, -3), value_style.clone())
                }))
                .map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(209, 213, 219))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn fit_text(series: &ScalingSeries) -> String {
    match series.fit {
        Some(fit) => format!(
            "<b>{}</b>: slope {:.2} (R² {:.3}, {} sizes)",
            escape(&series.name),
            fit.slope,
            fit.r_squared,
            fit.points
        ),
        None => format!("<b>{}</b>: too few sizes to fit", escape(&series.name)),
    }
}

pub fn write_scaling(out: &mut String, sweep: &RunRecord) {
    let times = time_series(sweep);
    let rss = vec![scaled_series(
        sweep,
        "cold",
        PEAK_RSS_KIB,
        "cold peak RSS",
        1.0 / 1024.0,
    )];
    let _ = writeln!(
        out,
        "<section id=\"scaling\">\n<h2>Scaling<span class=\"sub\">preset sweep of {} · {}</span></h2>\n\
         <p class=\"note\">Median per preset against its file count, log-log; the slope of the fitted line is the \
         exponent (1.0 = linear in the project's size). {}</p>",
        escape(&sweep.started_at),
        escape(&super::changes::short_commit(sweep)),
        if times.iter().any(|s| s.name == "read+parse floor") {
            "The read+parse floor (reading and parsing every file, nothing else) is drawn beside the cold line."
        } else {
            "This sweep did not record the read+parse floor."
        }
    );
    out.push_str("<div class=\"chart-grid\">\n<figure><figcaption>Wall time (ms)</figcaption>\n");
    super::push_chart(out, loglog_chart(&times, "ms (log)", 540, 300));
    let fits: Vec<String> = times.iter().map(fit_text).collect();
    let _ = writeln!(out, "<p class=\"note\">{}</p></figure>", fits.join(" · "));
    out.push_str("<figure><figcaption>Peak RSS, cold (MiB)</figcaption>\n");
    super::push_chart(out, loglog_chart(&rss, "MiB (log)", 540, 300));
    let fits: Vec<String> = rss.iter().map(fit_text).collect();
    let _ = writeln!(
        out,
        "<p class=\"note\">{}</p></figure>\n</div>\n</section>",
        fits.join(" · ")
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::report::sample_history;

    #[test]
    fn series_follow_file_counts_and_fit() {
        let sweep = &sample_history::history(1)[0];
        let cold = scaling_series(sweep, "cold", WALL_MS, "cold");
        assert_eq!(cold.points.len(), 2, "small and large");
        assert!(cold.points[0].0 < cold.points[1].0);
        let fit = cold.fit.unwrap();
        // 412 ms at 120 files, 5210 ms at 2400: slope ln(12.6)/ln(20) ≈ 0.85.
        assert!((fit.slope - 0.85).abs() < 0.05, "{fit:?}");
        assert!(time_series(sweep)
            .iter()
            .all(|s| s.name != "read+parse floor"));
    }

    #[test]
    fn loglog_chart_draws_lines_and_a_legend() {
        let sweep = &sample_history::history(1)[0];
        let svg = loglog_chart(&time_series(sweep), "ms (log)", 540, 300).unwrap();
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("cold"));
        let mut html = String::new();
        write_scaling(&mut html, sweep);
        assert!(html.contains("slope 0.8"), "{html}");
    }
}
