//! HTML building blocks of the trend report: escaping and the inline style
//! sheet (no external CSS, fonts or scripts — the file must open offline).

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Light theme, system font stack, tabular numbers.
pub const STYLE: &str = r#"
:root {
  --text: #1f2937; --muted: #6b7280; --faint: #9ca3af; --border: #e5e7eb;
  --page: #f6f7f9; --card: #ffffff; --accent: #2563eb;
  --red: #b91c1c; --red-bg: #fee2e2; --green: #15803d; --green-bg: #dcfce7;
  --amber: #b45309; --amber-bg: #fef3c7; --grey-bg: #f3f4f6;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--page); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
main { max-width: 1180px; margin: 0 auto; padding: 36px 28px 72px; }
h1 { font-size: 26px; font-weight: 650; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 20px; font-weight: 650; margin: 40px 0 4px; }
h2 .sub { color: var(--muted); font-weight: 400; font-size: 15px; margin-left: 8px; }
h3 { font-size: 16px; font-weight: 600; margin: 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
.meta { color: var(--muted); display: flex; flex-wrap: wrap; gap: 2px 28px; font-size: 14px; }
.meta b { color: var(--text); font-weight: 600; }
.banner { border-radius: 10px; padding: 12px 18px; margin: 24px 0 8px; border: 1px solid; font-weight: 500; }
.banner.fail { background: #fef2f2; border-color: #fecaca; color: #991b1b; }
.banner.pass { background: #f0fdf4; border-color: #bbf7d0; color: #166534; }
.banner.info { background: #eff6ff; border-color: #bfdbfe; color: #1e3a8a; }
/* overflow-x: auto, never hidden: a wide table scrolls instead of being cut off. */
.panel { background: var(--card); border: 1px solid var(--border); border-radius: 12px;
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 14px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: 0.04em; background: #fafafa; }
th, td { padding: 8px 12px; border-bottom: 1px solid var(--border); vertical-align: middle; }
td.num, td.mono, td.name { white-space: nowrap; }
th { white-space: normal; }
/* The reason column wraps: it is the one that was cut off. */
.vs { display: inline-block; min-width: 4.2em; text-align: right; }
td.why { white-space: normal; min-width: 12em; color: var(--muted); font-size: 13px; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; }
td.change { text-align: right; color: var(--muted); }
td.change.regressed { color: var(--red); font-weight: 600; }
td.change.improved { color: var(--green); font-weight: 600; }
td.change.inconclusive { color: var(--amber); }
tr.regressed td:first-child { box-shadow: inset 3px 0 0 var(--red); }
.pill { white-space: nowrap; display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.pill.regressed { background: var(--red-bg); color: var(--red); }
.pill.improved { background: var(--green-bg); color: var(--green); }
.pill.inconclusive { background: var(--amber-bg); color: var(--amber); }
.pill.unchanged { background: var(--grey-bg); color: var(--muted); }
.pill.none { background: transparent; color: var(--faint); border: 1px dashed var(--border); font-weight: 500; }
.change.regressed { color: var(--red); font-weight: 600; }
.change.improved { color: var(--green); font-weight: 600; }
.change.inconclusive { color: var(--amber); }
details { margin: 10px 0; }
details > summary { cursor: pointer; color: var(--muted); font-weight: 600; padding: 6px 0; }
.note { color: var(--muted); font-size: 14px; max-width: 80em; }
.chart-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 8px 20px; }
figure { margin: 8px 0 0; min-width: 0; }
figcaption { color: var(--muted); font-size: 13px; margin-bottom: 2px; }
h3 .sub, h3.fixture-name .sub { color: var(--muted); font-weight: 400; font-size: 14px; margin-left: 8px; }
h3.fixture-name { font-size: 18px; margin: 28px 0 4px; }
svg.spark, svg.strip { display: inline-block; vertical-align: middle; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 18px 22px 14px;
  margin: 16px 0; box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); }
.card-head { display: flex; align-items: baseline; justify-content: space-between; gap: 16px; flex-wrap: wrap; }
.card-head .stats { color: var(--muted); font-size: 14px; font-variant-numeric: tabular-nums; }
.card-head .stats b { color: var(--text); font-weight: 600; }
.chart-title { color: var(--muted); font-size: 13px; margin: 14px 0 2px; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font-family: inherit; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; color: var(--muted); font-size: 13px; margin-top: 4px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -1px; margin-right: 6px; }
.swatch.dot { border-radius: 50%; }
.swatch.ring { border-radius: 50%; background: transparent !important; border: 2px solid; }
.empty { text-align: center; padding: 96px 24px; }
.empty h1 { font-size: 28px; }
.empty p { color: var(--muted); max-width: 560px; margin: 12px auto; }
ul.missing { color: var(--muted); font-size: 14px; }
footer { color: var(--faint); font-size: 13px; margin-top: 48px; }
"#;

/// The x position of a value on a strip `width` wide with `pad` on each
/// side, scaled from the smallest to the largest finite value (all in the
/// middle when they are equal); `None` when no value is finite.
pub fn strip_scale(
    values: impl IntoIterator<Item = f64>,
    width: u32,
    pad: f64,
) -> Option<impl Fn(f64) -> f64> {
    let (min, max) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !min.is_finite() {
        return None;
    }
    let w = f64::from(width) - 2.0 * pad;
    Some(move |v: f64| {
        if max > min {
            pad + w * (v - min) / (max - min)
        } else {
            pad + w / 2.0
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }
}
