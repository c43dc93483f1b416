//! Run history: one compact JSON line per run, appended (never rewritten) to
//! `reports/history/<machine-key>.jsonl`. Reading skips lines it cannot
//! parse — a run killed mid-write leaves a partial last line — and reports
//! them, leaving the file untouched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::store::atomic;

mod line;
#[cfg(test)]
pub(crate) mod sample_history;
use crate::model::RunRecord;

const HISTORY_DIR: &str = "history";

#[derive(serde::Deserialize)]
struct VersionOnly {
    format_version: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("invalid machine key `{key}` for a history file name: use only letters, digits, '-', '_', '.' and '+'")]
    InvalidMachineKey { key: String },
    #[error("cannot serialize the run record: {source}")]
    Serialize {
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot {action} history file {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A history line that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based.
    pub line_no: usize,
    pub reason: String,
}

/// What [`read_history`] found, oldest run first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryRead {
    pub records: Vec<RunRecord>,
    pub skipped: Vec<SkippedLine>,
}

impl HistoryRead {
    /// One warning line per skipped line, naming the file.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        self.skipped
            .iter()
            .map(|s| format!("{}:{}: skipped: {}", path.display(), s.line_no, s.reason))
            .collect()
    }
}

/// `<root>/history/<machine-key>.jsonl`.
pub fn history_path(root: &Path, machine_key: &str) -> PathBuf {
    root.join(HISTORY_DIR).join(format!("{machine_key}.jsonl"))
}

/// Appends `record` as one line to its machine's history file (fsync'd).
pub fn append_run(root: &Path, record: &RunRecord) -> Result<PathBuf, HistoryError> {
    let key = &record.machine.key;
    let safe = !key.is_empty()
        && !key.starts_with('.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
    if !safe {
        return Err(HistoryError::InvalidMachineKey { key: key.clone() });
    }
    // The compact line (format 2, see `line`): ~5× smaller than the record.
    let line = line::encode(record).map_err(|source| HistoryError::Serialize { source })?;
    let path = history_path(root, key);
    // Two runs finishing together must not interleave their lines.
    let _lock = atomic::FileLock::acquire(&path).map_err(|source| HistoryError::Io {
        action: "lock",
        path: path.clone(),
        source,
    })?;
    atomic::append_line_durable(&path, &line).map_err(|source| HistoryError::Io {
        action: "append to",
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Reads a history file. A missing file is an empty history. Blank lines are
/// ignored; lines that do not parse, or hold a newer record format, are
/// skipped and listed in [`HistoryRead::skipped`].
pub fn read_history(path: &Path) -> Result<HistoryRead, HistoryError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(HistoryRead::default()),
        Err(source) => {
            return Err(HistoryError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut history = HistoryRead::default();
    for (index, line) in lines.iter().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let is_unterminated_last = index + 1 == lines.len() && !ends_with_newline;
        let parsed = serde_json::from_str::<VersionOnly>(line).and_then(|version| {
            if version.format_version > line::LINE_FORMAT_VERSION {
                Ok(Err(version.format_version))
            } else {
                line::decode(line, version.format_version).map(Ok)
            }
        });
        match parsed {
            Ok(Ok(record)) => history.records.push(record),
            // Checked before the full parse: a newer record may not parse at all.
            Ok(Err(newer)) => history.skipped.push(SkippedLine {
                line_no,
                reason: format!(
                    "record format version {newer} is newer than version {} that this soda-perf reads",
                    line::LINE_FORMAT_VERSION
                ),
            }),
            Err(err) => {
                let reason = if is_unterminated_last && err.is_eof() {
                    "truncated last line (an interrupted run?)".to_string()
                } else {
                    format!("not a valid run record: {err}")
                };
                history.skipped.push(SkippedLine { line_no, reason });
            }
        }
    }
    Ok(history)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::model::{FixtureResult, GitInfo, MachineInfo, RECORD_FORMAT_VERSION};

    fn record(started_at: &str) -> RunRecord {
        RunRecord {
            format_version: RECORD_FORMAT_VERSION,
            started_at: started_at.into(),
            machine: MachineInfo {
                key: "linux-x86_64-test-2c-24g".into(),
                os: "linux".into(),
                kernel: "6.1".into(),
                cpu_model: "Test CPU".into(),
                cores: 2,
                memory_bytes: 1 << 30,
            },
            git: GitInfo {
                commit: Some("abc".into()),
                branch: None,
                dirty: false,
            },
            harness_version: "0.1.0".into(),
            builder_version: "0.1.0".into(),
            fixtures: vec![FixtureResult {
                fixture: "small".into(),
                files: 3,
                scenarios: vec![],
            }],
        }
    }

    #[test]
    fn appended_runs_read_back_in_order() {
        let root = tempfile::tempdir().unwrap();
        let first = append_run(root.path(), &record("2024-01-01T00:00:00Z")).unwrap();
        let second = append_run(root.path(), &record("2024-01-02T00:00:00Z")).unwrap();
        assert_eq!(first, second);
        assert_eq!(
            first,
            root.path().join("history/linux-x86_64-test-2c-24g.jsonl")
        );
        let text = fs::read_to_string(&first).unwrap();
        assert_eq!(text.lines().count(), 2, "one compact line per run");
        let history = read_history(&first).unwrap();
        assert!(history.skipped.is_empty());
        let times: Vec<&str> = history
            .records
            .iter()
            .map(|r| r.started_at.as_str())
            .collect();
        assert_eq!(times, ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]);
    }

    #[test]
    fn corrupt_line_in_the_middle_is_skipped_and_kept() {
        let root = tempfile::tempdir().unwrap();
        let path = append_run(root.path(), &record("2024-01-01T00:00:00Z")).unwrap();
        atomic::append_line_durable(&path, "{this is not json").unwrap();
        append_run(root.path(), &record("2024-01-03T00:00:00Z")).unwrap();
        let before = fs::read(&path).unwrap();

        let history = read_history(&path).unwrap();
        assert_eq!(history.records.len(), 2);
        assert_eq!(history.skipped.len(), 1);
        assert_eq!(history.skipped[0].line_no, 2);
        assert!(history.skipped[0].reason.contains("not a valid run record"));
        let warnings = history.warnings(&path);
        assert!(warnings[0].contains(":2: skipped"), "{warnings:?}");
        assert_eq!(fs::read(&path).unwrap(), before, "reading never rewrites");
    }

    #[test]
    fn truncated_last_line_is_skipped_and_the_next_append_survives() {
        let root = tempfile::tempdir().unwrap();
        let path = append_run(root.path(), &record("2024-01-01T00:00:00Z")).unwrap();
        // Simulate a run killed half-way through writing its line.
        let line = serde_json::to_string(&record("2024-01-02T00:00:00Z")).unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str(&line[..line.len() / 2]);
        fs::write(&path, text).unwrap();

        let history = read_history(&path).unwrap();
        assert_eq!(history.records.len(), 1);
        assert_eq!(
            history.skipped,
            vec![SkippedLine {
                line_no: 2,
                reason: "truncated last line (an interrupted run?)".into()
            }]
        );

        append_run(root.path(), &record("2024-01-03T00:00:00Z")).unwrap();
        let history = read_history(&path).unwrap();
        assert_eq!(history.records.len(), 2);
        assert_eq!(history.records[1].started_at, "2024-01-03T00:00:00Z");
        assert_eq!(history.skipped.len(), 1);
        assert!(history.skipped[0].reason.contains("not a valid run record"));
    }

    #[test]
    fn empty_and_missing_files_are_empty_histories() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("history/none.jsonl");
        assert_eq!(read_history(&missing).unwrap(), HistoryRead::default());
        let empty = root.path().join("empty.jsonl");
        fs::write(&empty, "").unwrap();
        assert_eq!(read_history(&empty).unwrap(), HistoryRead::default());
        let blank = root.path().join("blank.jsonl");
        fs::write(&blank, "\n\n  \n").unwrap();
        assert_eq!(read_history(&blank).unwrap(), HistoryRead::default());
    }

    #[test]
    fn newer_records_are_skipped_with_a_reason() {
        let root = tempfile::tempdir().unwrap();
        let mut newer = record("2024-01-01T00:00:00Z");
        newer.format_version = line::LINE_FORMAT_VERSION + 1;
        let path = history_path(root.path(), &newer.machine.key);
        atomic::append_line_durable(&path, &serde_json::to_string(&newer).unwrap()).unwrap();
        // A future record whose fields no longer parse as today's.
        atomic::append_line_durable(&path, r#"{"format_version": 99, "runs": []}"#).unwrap();
        let history = read_history(&path).unwrap();
        assert!(history.records.is_empty());
        assert_eq!(history.skipped.len(), 2);
        assert!(
            history.skipped.iter().all(|s| s.reason.contains("newer")),
            "{:?}",
            history.skipped
        );
    }

    #[test]
    fn version_one_lines_and_compact_lines_read_together() {
        let root = tempfile::tempdir().unwrap();
        let old = record("2024-01-01T00:00:00Z");
        let path = history_path(root.path(), &old.machine.key);
        atomic::append_line_durable(&path, &serde_json::to_string(&old).unwrap()).unwrap();
        append_run(root.path(), &record("2024-01-02T00:00:00Z")).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text
            .lines()
            .nth(1)
            .unwrap()
            .contains("\"format_version\":2"));
        let history = read_history(&path).unwrap();
        assert!(history.skipped.is_empty(), "{:?}", history.skipped);
        assert_eq!(history.records, [old, record("2024-01-02T00:00:00Z")]);
    }

    #[test]
    fn unsafe_machine_keys_are_rejected() {
        let root = tempfile::tempdir().unwrap();
        let mut bad = record("2024-01-01T00:00:00Z");
        bad.machine.key = "../../escape".into();
        assert!(matches!(
            append_run(root.path(), &bad),
            Err(HistoryError::InvalidMachineKey { .. })
        ));
    }
}
