//! Which runs of the history the report draws: `--last N`, `--since DATE`,
//! or by default all of them that fit the page budget.

use std::ops::Range;

/// The report's size target. Trend charts cost about
/// [`BYTES_PER_RUN_PER_CHART`] per run each, so the default window is the
/// most recent runs that keep every chart within this.
pub const PAGE_BUDGET_BYTES: usize = 4_000_000;
/// Measured on a year (365 runs) of the 4-fixture suite, 100 charts drawn
/// as one polyline and one band polygon each, circles only for marked
/// points: a 1.32 MB page, ~33 bytes per run per chart; rounded up.
pub const BYTES_PER_RUN_PER_CHART: usize = 40;
/// What the rest of the page (tables, headings, style) may take.
const FIXED_BYTES: usize = 400_000;

/// How the runs are chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowSpec {
    /// Only the most recent `n` runs.
    pub last: Option<usize>,
    /// Only runs started on or after this date (`YYYY-MM-DD`, UTC).
    pub since: Option<String>,
}

/// The chosen runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub runs: Range<usize>,
    pub total: usize,
    /// Runs left out only because the page budget has no room for them.
    pub cut_by_budget: usize,
}

/// How many runs fit the budget with `charts` trend charts on the page.
pub fn runs_within_budget(charts: usize) -> usize {
    ((PAGE_BUDGET_BYTES - FIXED_BYTES) / charts.max(1).saturating_mul(BYTES_PER_RUN_PER_CHART))
        .max(2)
}

/// The runs of a history (oldest first, by `started_at`) that `spec` asks
/// for. Without `--last` or `--since` the window is every run within
/// `budget_runs`; an explicit window is honoured as asked.
pub fn select_window(started_at: &[&str], spec: &WindowSpec, budget_runs: usize) -> Window {
    let total = started_at.len();
    let mut start = 0;
    if let Some(since) = &spec.since {
        start = started_at
            .iter()
            .position(|t| t.get(..10).unwrap_or(t) >= since.as_str())
            .unwrap_or(total);
    }
    if let Some(last) = spec.last {
        start = start.max(total.saturating_sub(last));
    }
    let mut cut_by_budget = 0;
    if spec.last.is_none() && spec.since.is_none() && total - start > budget_runs {
        cut_by_budget = total - start - budget_runs;
        start = total - budget_runs;
    }
    Window {
        runs: start..total,
        total,
        cut_by_budget,
    }
}

/// Checks a `--since` date: `YYYY-MM-DD`.
pub fn parse_since(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    let month = text.get(5..7).and_then(|m| m.parse::<u32>().ok());
    let day = text.get(8..10).and_then(|d| d.parse::<u32>().ok());
    if shape && matches!(month, Some(1..=12)) && matches!(day, Some(1..=31)) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a date: write it as YYYY-MM-DD, e.g. 2024-05-01"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    const RUNS: [&str; 5] = [
        "2024-05-01T02:00:00Z",
        "2024-05-02T02:00:00Z",
        "2024-05-03T02:00:00Z",
        "2024-05-04T02:00:00Z",
        "2024-05-05T02:00:00Z",
    ];

    fn window(spec: WindowSpec, budget: usize) -> Window {
        select_window(&RUNS, &spec, budget)
    }

    #[test]
    fn default_is_everything_within_the_budget() {
        assert_eq!(window(WindowSpec::default(), 100).runs, 0..5);
        let cut = window(WindowSpec::default(), 3);
        assert_eq!(cut.runs, 2..5);
        assert_eq!(cut.cut_by_budget, 2);
    }

    #[test]
    fn last_and_since_choose_the_window() {
        let last = WindowSpec {
            last: Some(2),
            ..WindowSpec::default()
        };
        assert_eq!(window(last, 100).runs, 3..5);
        let since = WindowSpec {
            since: Some("2024-05-03".into()),
            ..WindowSpec::default()
        };
        assert_eq!(
            window(since, 1).runs,
            2..5,
            "explicit windows ignore the budget"
        );
        let both = WindowSpec {
            last: Some(1),
            since: Some("2024-05-03".into()),
        };
        assert_eq!(window(both, 100).runs, 4..5);
        let future = WindowSpec {
            since: Some("2030-01-01".into()),
            ..WindowSpec::default()
        };
        assert!(window(future, 100).runs.is_empty());
        let more = WindowSpec {
            last: Some(50),
            ..WindowSpec::default()
        };
        assert_eq!(window(more, 100).runs, 0..5);
    }

    #[test]
    fn since_must_be_a_date() {
        assert_eq!(parse_since("2024-05-01").unwrap(), "2024-05-01");
        for bad in [
            "2024-5-1",
            "yesterday",
            "2024-13-01",
            "2024-05-00",
            "2024/05/01",
        ] {
            assert!(
                parse_since(bad).unwrap_err().contains("YYYY-MM-DD"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_budget_shrinks_with_more_charts() {
        assert!(
            runs_within_budget(90) >= 365,
            "the default suite's year fits"
        );
        assert!(runs_within_budget(10_000) < runs_within_budget(100));
        assert_eq!(runs_within_budget(usize::MAX / 1000), 2);
    }
}
