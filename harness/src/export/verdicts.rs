//! The verdict export of `check` and `compare` (`--export-json`): one
//! versioned JSON document per gate decision, with every compared row (its
//! verdict and reason), the verdict counts and the exit status. `check`
//! writes the gate's [`CheckRecord`] (also the line format of the check
//! history); `compare` writes a [`CompareRecord`], which names both
//! revisions. The shape is documented in `docs/guides/harness-usage.md`
//! ("Verdict exports").

use serde::{Deserialize, Serialize};

use crate::gate::verdict::GateReport;
use crate::gate::{CheckCounts, CheckRecord, PairedConfig, CHECK_FORMAT_VERSION};
use crate::model::{GitInfo, RunRecord};

/// Bumped when a field of [`CompareRecord`] changes meaning.
pub const COMPARE_FORMAT_VERSION: u32 = 1;

/// One side of a comparison: how it is shown and what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionInfo {
    /// As the tables show it: `main (1a2b3c4d5e)` or `working tree`.
    pub label: String,
    pub commit: Option<String>,
    /// The revision as the user named it (`main`, `HEAD~1`), or the branch
    /// of the working tree.
    pub rev: Option<String>,
    /// Uncommitted changes were measured (the working tree only).
    pub dirty: bool,
}

impl RevisionInfo {
    pub fn new(label: String, git: &GitInfo) -> RevisionInfo {
        RevisionInfo {
            label,
            commit: git.commit.clone(),
            rev: git.branch.clone(),
            dirty: git.dirty,
        }
    }
}

/// `compare --export-json`: two revisions measured alternately on one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRecord {
    /// Always `soda-perf-compare`.
    pub format: String,
    pub format_version: u32,
    pub started_at: String,
    pub machine_key: String,
    pub base: RevisionInfo,
    pub head: RevisionInfo,
    /// What `compare` exits with: 1 when a row regressed, else 0.
    pub exit_code: i32,
    pub counts: CheckCounts,
    /// Every compared row with its verdict and reason, and what was missing.
    pub report: GateReport,
}

impl CompareRecord {
    pub const FORMAT: &'static str = "soda-perf-compare";

    pub fn new(
        base: RevisionInfo,
        head: RevisionInfo,
        head_record: &RunRecord,
        report: &GateReport,
    ) -> CompareRecord {
        CompareRecord {
            format: Self::FORMAT.to_string(),
            format_version: COMPARE_FORMAT_VERSION,
            started_at: head_record.started_at.clone(),
            machine_key: head_record.machine.key.clone(),
            base,
            head,
            exit_code: report.exit_code(),
            counts: counts_of(report),
            report: report.clone(),
        }
    }
}

/// What `check --from` decided, as a [`CheckRecord`]: a screen of stored
/// samples, so nothing was interleaved.
pub struct ScreenCheck<'a> {
    pub record: &'a RunRecord,
    pub baseline: &'a crate::store::baseline::Baseline,
    pub foreign_machine: bool,
    pub paired: PairedConfig,
    pub report: &'a GateReport,
}

impl ScreenCheck<'_> {
    pub fn to_record(&self) -> CheckRecord {
        let baseline_commit = self
            .baseline
            .entries
            .iter()
            .filter(|entry| entry.git.commit.is_some())
            .max_by(|a, b| a.saved_at.cmp(&b.saved_at))
            .and_then(|entry| entry.git.commit.clone());
        CheckRecord {
            format: CheckRecord::FORMAT.to_string(),
            format_version: CHECK_FORMAT_VERSION,
            started_at: self.record.started_at.clone(),
            machine_key: self.record.machine.key.clone(),
            baseline: self.baseline.name.clone(),
            baseline_machine_key: self.baseline.machine.key.clone(),
            baseline_commit,
            head_commit: self.record.git.commit.clone(),
            head_dirty: self.record.git.dirty,
            foreign_machine: self.foreign_machine,
            paired: self.paired,
            exit_code: self.report.exit_code(),
            counts: counts_of(self.report),
            interleaved: Vec::new(),
            report: self.report.clone(),
        }
    }
}

fn counts_of(report: &GateReport) -> CheckCounts {
    let counts = report.counts();
    CheckCounts {
        regressed: counts.regressed,
        improved: counts.improved,
        unchanged: counts.unchanged,
        inconclusive: counts.inconclusive,
    }
}

/// Pretty JSON with a final newline, as every export is written.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, super::ExportError> {
    super::pretty_json("json", value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::export::sample_data;
    use crate::gate::verdict::{compare_fixtures, GateConfig};

    #[test]
    fn a_compare_record_names_both_revisions_and_carries_the_rows() {
        let record = sample_data::record();
        let report = compare_fixtures(&record.fixtures, &record.fixtures, &GateConfig::default());
        let base = RevisionInfo {
            label: "main (0123456789)".into(),
            commit: Some("0123456789abcdef".into()),
            rev: Some("main".into()),
            dirty: false,
        };
        let head = RevisionInfo::new("working tree".into(), &record.git);
        let export = CompareRecord::new(base, head, &record, &report);
        let text = to_json(&export).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["format"], "soda-perf-compare");
        assert_eq!(value["format_version"], COMPARE_FORMAT_VERSION);
        assert_eq!(value["base"]["label"], "main (0123456789)");
        assert_eq!(value["head"]["label"], "working tree");
        assert_eq!(value["exit_code"], 0);
        let rows = value["report"]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), report.rows.len());
        assert!(rows[0]["metric"]["verdict"].is_string());
        assert!(rows[0]["metric"]["reason"].is_string());
        let back: CompareRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back.report.rows.len(), export.report.rows.len());
    }
}
