//! The preset sweep (`soda-perf run --preset-sweep`): the generator's
//! presets from small to stress measured in one run, kept apart from the
//! nightly history (its fixtures are not the nightly suite's) in
//! `reports/history/<machine>.sweep.jsonl`, one line per sweep; the
//! report's scaling section reads the last one.

use std::path::{Path, PathBuf};

use crate::model::RunRecord;
use crate::store::atomic;

/// The presets in size order; the sweep's default is all of them.
pub const SWEEP_PRESETS: [&str; 7] = [
    "small", "medium", "large", "xlarge", "xxlarge", "xxxlarge", "stress",
];
/// The scenarios a sweep measures unless told otherwise.
pub const SWEEP_SCENARIOS: &str = "cold,warm,targeted";

/// Checks a `--preset-sweep` list (`small,medium` or `all`) and returns the
/// presets in size order.
pub fn parse_presets(list: &str) -> Result<Vec<&'static str>, String> {
    if list.trim() == "all" || list.trim().is_empty() {
        return Ok(SWEEP_PRESETS.to_vec());
    }
    let asked: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = asked.iter().find(|a| !SWEEP_PRESETS.contains(a)) {
        return Err(format!(
            "`{unknown}` is not a sweep preset; choose from {} (or `all`)",
            SWEEP_PRESETS.join(", ")
        ));
    }
    Ok(SWEEP_PRESETS
        .iter()
        .copied()
        .filter(|p| asked.contains(p))
        .collect())
}

/// `<reports>/history/<machine>.sweep.jsonl`.
pub fn sweep_path(reports: &Path, machine_key: &str) -> PathBuf {
    reports
        .join("history")
        .join(format!("{machine_key}.sweep.jsonl"))
}

/// Appends a sweep's record (locked, fsync'd, one line).
pub fn append_sweep(reports: &Path, record: &RunRecord) -> std::io::Result<PathBuf> {
    let path = sweep_path(reports, &record.machine.key);
    let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    let _lock = atomic::FileLock::acquire(&path)?;
    atomic::append_line_durable(&path, &line)?;
    Ok(path)
}

/// The last sweep that parses; `None` when there is none.
pub fn read_last_sweep(path: &Path) -> Option<RunRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .rev()
        .find_map(|line| serde_json::from_str::<RunRecord>(line).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn presets_parse_in_size_order() {
        assert_eq!(parse_presets("all").unwrap(), SWEEP_PRESETS);
        assert_eq!(parse_presets("large, small").unwrap(), ["small", "large"]);
        assert!(parse_presets("small,huge").unwrap_err().contains("`huge`"));
    }

    #[test]
    fn the_last_sweep_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let runs = crate::report::sample_history::history(2);
        append_sweep(dir.path(), &runs[0]).unwrap();
        let path = append_sweep(dir.path(), &runs[1]).unwrap();
        assert!(path.ends_with("history/linux-x86_64-epyc-7b13-2c-24g.sweep.jsonl"));
        assert_eq!(read_last_sweep(&path).unwrap(), runs[1]);
        assert!(read_last_sweep(&dir.path().join("none")).is_none());
    }
}
