//! Named baselines: the samples of a run saved as plain, pretty-printed JSON,
//! one file per fixture × scenario, so that a diff shows what changed:
//! `reports/baselines/<machine-key>/<name>/<fixture>/<scenario>.json`.
//!
//! Saving merges: it (re)writes the files of the fixtures and scenarios in the
//! record and leaves the others alone, so a partial run updates just its part.
//! Each file carries its own commit and time; [`Baseline::entries`] shows
//! them. To start a baseline afresh, delete its directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::{
    format_rfc3339_utc, FixtureResult, GitInfo, MachineInfo, RunRecord, ScenarioResult,
};
use crate::store::atomic;

/// Bumped when a baseline file's fields change meaning.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

const BASELINES_DIR: &str = "baselines";
const FILE_EXTENSION: &str = "json";

/// One baseline file: one scenario of one fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineFile {
    pub format_version: u32,
    pub name: String,
    pub machine: MachineInfo,
    pub git: GitInfo,
    pub harness_version: String,
    pub builder_version: String,
    /// RFC 3339 UTC time of the save.
    pub saved_at: String,
    /// `started_at` of the run the samples come from.
    #[serde(default)]
    pub run_started_at: String,
    pub fixture: String,
    /// Source files in the fixture (kept so the fixture result round-trips).
    #[serde(default)]
    pub files: u64,
    pub scenario: ScenarioResult,
}

/// Where one loaded scenario came from.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineEntry {
    pub fixture: String,
    pub scenario: String,
    pub path: PathBuf,
    pub git: GitInfo,
    pub saved_at: String,
}

/// A loaded baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub name: String,
    /// The machine of the most recently saved file.
    pub machine: MachineInfo,
    /// Sorted by fixture name, scenarios by scenario name.
    pub fixtures: Vec<FixtureResult>,
    pub entries: Vec<BaselineEntry>,
}

impl Baseline {
    /// The distinct commits the baseline's files were saved from, in order of
    /// first appearance; more than one means the baseline is a mix.
    pub fn commits(&self) -> Vec<String> {
        let mut commits: Vec<String> = Vec::new();
        for entry in &self.entries {
            let commit = entry.git.commit.clone().unwrap_or_else(|| "unknown".into());
            if !commits.contains(&commit) {
                commits.push(commit);
            }
        }
        commits
    }
}

/// One baseline as listed by [`list_baselines`].
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineSummary {
    pub machine_key: String,
    pub name: String,
    pub dir: PathBuf,
    /// Readable fixture × scenario files.
    pub scenarios: usize,
    pub latest_saved_at: Option<String>,
    pub commits: Vec<String>,
    /// Files that could not be read or parsed.
    pub unreadable: Vec<PathBuf>,
}

/// The outcome of [`ensure_same_machine`] when it does not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineCheck {
    Same,
    /// Different machines, compared anyway because the caller allowed it; the
    /// warning should be shown to the reader.
    OtherMachineAllowed {
        warning: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(
        "no baseline named `{name}` for machine `{machine_key}` (looked in {}); \
         create one with `soda-perf baseline save --name {name}`",
        dir.display()
    )]
    NotFound {
        name: String,
        machine_key: String,
        dir: PathBuf,
    },
    #[error(
        "baseline file {}:{line}:{column} is corrupt ({source}); delete it or re-save \
         the baseline with `soda-perf baseline save --name {name}`",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "baseline file {} has format version {found}, newer than version {supported} that \
         this soda-perf reads; update soda-perf or re-save the baseline",
        path.display()
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "the baseline was recorded on machine `{baseline_key}` but this machine is \
         `{current_key}`; timings from different machines are not comparable. Save a \
         baseline on this machine, or pass --allow-other-machine to compare anyway"
    )]
    MachineMismatch {
        baseline_key: String,
        current_key: String,
    },
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("the run has no results to save as baseline `{name}`")]
    Empty { name: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot serialize the baseline of {fixture}/{scenario}: {source}")]
    Serialize {
        fixture: String,
        scenario: String,
        #[source]
        source: serde_json::Error,
    },
}

/// `<root>/baselines/<machine-key>/<name>`.
pub fn baseline_dir(root: &Path, machine_key: &str, name: &str) -> PathBuf {
    root.join(BASELINES_DIR).join(machine_key).join(name)
}

/// Saves every fixture × scenario of `record` under `name` for the record's
/// machine; each file is written atomically. Returns the written paths.
pub fn save_baseline(
    root: &Path,
    name: &str,
    record: &RunRecord,
) -> Result<Vec<PathBuf>, BaselineError> {
    check_path_component("baseline name", name)?;
    check_path_component("machine key", &record.machine.key)?;
    if record.fixtures.iter().all(|f| f.scenarios.is_empty()) {
        return Err(BaselineError::Empty { name: name.into() });
    }
    let dir = baseline_dir(root, &record.machine.key, name);
    // One writer per baseline at a time: two saves never mix their files.
    let _lock = atomic::FileLock::acquire(&dir).map_err(|source| BaselineError::Io {
        action: "lock",
        path: dir.clone(),
        source,
    })?;
    let saved_at = format_rfc3339_utc(SystemTime::now());
    let mut written = Vec::new();
    for fixture in &record.fixtures {
        check_path_component("fixture name", &fixture.fixture)?;
        for scenario in &fixture.scenarios {
            check_path_component("scenario name", &scenario.scenario)?;
            let file = BaselineFile {
                format_version: BASELINE_FORMAT_VERSION,
                name: name.into(),
                machine: record.machine.clone(),
                git: record.git.clone(),
                harness_version: record.harness_version.clone(),
                builder_version: record.builder_version.clone(),
                saved_at: saved_at.clone(),
                run_started_at: record.started_at.clone(),
                fixture: fixture.fixture.clone(),
                files: fixture.files,
                scenario: scenario.clone(),
            };
            let mut json =
                serde_json::to_string_pretty(&file).map_err(|source| BaselineError::Serialize {
                    fixture: fixture.fixture.clone(),
                    scenario: scenario.scenario.clone(),
                    source,
                })?;
            json.push('\n');
            let path = dir
                .join(&fixture.fixture)
                .join(format!("{}.{FILE_EXTENSION}", scenario.scenario));
            atomic::write_atomic(&path, json.as_bytes()).map_err(|source| BaselineError::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Loads every file of a baseline back into fixture results.
pub fn load_baseline(
    root: &Path,
    machine_key: &str,
    name: &str,
) -> Result<Baseline, BaselineError> {
    check_path_component("baseline name", name)?;
    check_path_component("machine key", machine_key)?;
    let dir = baseline_dir(root, machine_key, name);
    let not_found = || BaselineError::NotFound {
        name: name.into(),
        machine_key: machine_key.into(),
        dir: dir.clone(),
    };
    if !dir.is_dir() {
        return Err(not_found());
    }
    let mut files = Vec::new();
    for path in baseline_files(&dir)? {
        let file = read_baseline_file(&path, name)?;
        files.push((path, file));
    }
    if files.is_empty() {
        return Err(not_found());
    }
    // Sorted by path: fixtures then scenarios by name.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let machine = files
        .iter()
        .max_by(|a, b| a.1.saved_at.cmp(&b.1.saved_at))
        .map(|(_, file)| file.machine.clone())
        .ok_or_else(not_found)?;

    let mut fixtures: Vec<FixtureResult> = Vec::new();
    let mut entries = Vec::new();
    for (path, file) in files {
        entries.push(BaselineEntry {
            fixture: file.fixture.clone(),
            scenario: file.scenario.scenario.clone(),
            path,
            git: file.git,
            saved_at: file.saved_at,
        });
        match fixtures.iter_mut().find(|f| f.fixture == file.fixture) {
            Some(fixture) => fixture.scenarios.push(file.scenario),
            None => fixtures.push(FixtureResult {
                fixture: file.fixture,
                files: file.files,
                scenarios: vec![file.scenario],
            }),
        }
    }
    Ok(Baseline {
        name: name.into(),
        machine,
        fixtures,
        entries,
    })
}

/// Refuses to compare against a baseline from another machine unless
/// `allow_other` (the `--allow-other-machine` flag) is set.
pub fn ensure_same_machine(
    baseline_machine: &MachineInfo,
    current_machine: &MachineInfo,
    allow_other: bool,
) -> Result<MachineCheck, BaselineError> {
    if baseline_machine.key == current_machine.key {
        return Ok(MachineCheck::Same);
    }
    if allow_other {
        return Ok(MachineCheck::OtherMachineAllowed {
            warning: format!(
                "comparing against a baseline from machine `{}` on machine `{}` \
                 (--allow-other-machine): differences may come from the hardware, not the code",
                baseline_machine.key, current_machine.key
            ),
        });
    }
    Err(BaselineError::MachineMismatch {
        baseline_key: baseline_machine.key.clone(),
        current_key: current_machine.key.clone(),
    })
}

/// Every baseline of every machine under `root`, sorted by machine and name.
/// A missing baselines directory gives an empty list.
pub fn list_baselines(root: &Path) -> Result<Vec<BaselineSummary>, BaselineError> {
    let base = root.join(BASELINES_DIR);
    let mut summaries = Vec::new();
    for machine_dir in sorted_subdirs(&base)? {
        let machine_key = file_name_string(&machine_dir);
        for dir in sorted_subdirs(&machine_dir)? {
            let name = file_name_string(&dir);
            let mut summary = BaselineSummary {
                machine_key: machine_key.clone(),
                name: name.clone(),
                dir: dir.clone(),
                scenarios: 0,
                latest_saved_at: None,
                commits: Vec::new(),
                unreadable: Vec::new(),
            };
            for path in baseline_files(&dir)? {
                match read_baseline_file(&path, &name) {
                    Ok(file) => {
                        summary.scenarios += 1;
                        if summary
                            .latest_saved_at
                            .as_ref()
                            .is_none_or(|t| *t < file.saved_at)
                        {
                            summary.latest_saved_at = Some(file.saved_at.clone());
                        }
                        let commit = file.git.commit.unwrap_or_else(|| "unknown".into());
                        if !summary.commits.contains(&commit) {
                            summary.commits.push(commit);
                        }
                    }
                    Err(_) => summary.unreadable.push(path),
                }
            }
            summaries.push(summary);
        }
    }
    Ok(summaries)
}

fn read_baseline_file(path: &Path, name: &str) -> Result<BaselineFile, BaselineError> {
    let text = fs::read_to_string(path).map_err(|source| BaselineError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |source: serde_json::Error| BaselineError::Corrupt {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        name: name.into(),
        source,
    };

    // Check the version first: a newer file may not parse as this version.
    #[derive(Deserialize)]
    struct VersionOnly {
        format_version: u32,
    }
    let version: VersionOnly = serde_json::from_str(&text).map_err(corrupt)?;
    if version.format_version > BASELINE_FORMAT_VERSION {
        return Err(BaselineError::NewerFormat {
            path: path.to_path_buf(),
            found: version.format_version,
            supported: BASELINE_FORMAT_VERSION,
        });
    }
    serde_json::from_str(&text).map_err(corrupt)
}

/// `<dir>/<fixture>/<scenario>.json` files, skipping temp and hidden files.
fn baseline_files(dir: &Path) -> Result<Vec<PathBuf>, BaselineError> {
    let mut files = Vec::new();
    for fixture_dir in sorted_subdirs(dir)? {
        for path in sorted_entries(&fixture_dir)? {
            let visible = !file_name_string(&path).starts_with('.');
            let is_json = path.extension().is_some_and(|ext| ext == FILE_EXTENSION);
            if visible && is_json && path.is_file() {
                files.push(path);
            }
        }
    }
    Ok(files)
}

fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>, BaselineError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir() && !file_name_string(p).starts_with('.'))
        .collect())
}

/// Entries of `dir`, sorted; a missing directory has none.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, BaselineError> {
    let io_error = |source| BaselineError::Io {
        action: "list",
        path: dir.to_path_buf(),
        source,
    };
    let reader = match fs::read_dir(dir) {
        Ok(reader) => reader,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_error(err)),
    };
    let mut paths = Vec::new();
    for entry in reader {
        paths.push(entry.map_err(io_error)?.path());
    }
    paths.sort();
    Ok(paths)
}

fn file_name_string(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Names become directory and file names: keep them to a safe alphabet.
fn check_path_component(what: &'static str, value: &str) -> Result<(), BaselineError> {
    let invalid = |reason| BaselineError::InvalidName {
        what,
        value: value.into(),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("it is empty"));
    }
    if value.starts_with('.') {
        return Err(invalid("it must not start with a dot"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+');
    if !value.chars().all(allowed) {
        return Err(invalid("use only letters, digits, '-', '_', '.' and '+'"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use crate::model::{Direction, MetricKind, MetricSamples, RECORD_FORMAT_VERSION};
    use std::collections::BTreeMap;

    fn machine(key: &str) -> MachineInfo {
        MachineInfo {
            key: key.into(),
            os: "linux".into(),
            kernel: "6.1".into(),
            cpu_model: "Test CPU".into(),
            cores: 2,
            memory_bytes: 24 << 30,
        }
    }

    fn scenario(name: &str, wall: Vec<f64>) -> ScenarioResult {
        let mut metrics = BTreeMap::new();
        metrics.insert(
            "wall_ms".to_string(),
            MetricSamples {
                unit: "ms".into(),
                kind: MetricKind::Timing,
                direction: Direction::SmallerIsBetter,
                samples: wall,
            },
        );
        ScenarioResult {
            scenario: name.into(),
            iterations: 3,
            warmup: 1,
            metrics,
            verified: None,
            notes: vec![],
        }
    }

    fn record(commit: &str, fixtures: Vec<FixtureResult>) -> RunRecord {
        RunRecord {
            format_version: RECORD_FORMAT_VERSION,
            started_at: "2024-05-01T10:00:00Z".into(),
            machine: machine("linux-x86_64-test-2c-24g"),
            git: GitInfo {
                commit: Some(commit.into()),
                branch: Some("main".into()),
                dirty: false,
            },
            harness_version: "0.1.0".into(),
            builder_version: "0.1.0".into(),
            fixtures,
        }
    }

    fn two_fixture_record(commit: &str) -> RunRecord {
        record(
            commit,
            vec![
                FixtureResult {
                    fixture: "small".into(),
                    files: 12,
                    scenarios: vec![
                        scenario("cold", vec![1.0, 2.0, 3.0]),
                        scenario("warm", vec![0.5, 0.6, 0.7]),
                    ],
                },
                FixtureResult {
                    fixture: "large".into(),
                    files: 900,
                    scenarios: vec![scenario("cold", vec![10.0, 11.0, 12.0])],
                },
            ],
        )
    }

    #[test]
    fn save_then_load_round_trips() {
        let root = tempfile::tempdir().unwrap();
        let run = two_fixture_record("abc123");
        let written = save_baseline(root.path(), "main", &run).unwrap();
        assert_eq!(written.len(), 3);
        let expected = root
            .path()
            .join("baselines/linux-x86_64-test-2c-24g/main/small/cold.json");
        assert!(written.contains(&expected));

        let loaded = load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main").unwrap();
        assert_eq!(loaded.name, "main");
        assert_eq!(loaded.machine, run.machine);
        assert_eq!(loaded.commits(), vec!["abc123".to_string()]);
        // Sorted by name: large before small; scenarios cold before warm.
        let mut expected_fixtures = run.fixtures.clone();
        expected_fixtures.reverse();
        assert_eq!(loaded.fixtures, expected_fixtures);
        assert_eq!(loaded.entries.len(), 3);
    }

    #[test]
    fn baseline_files_are_pretty_and_self_describing() {
        let root = tempfile::tempdir().unwrap();
        let written = save_baseline(root.path(), "main", &two_fixture_record("abc123")).unwrap();
        let text = fs::read_to_string(&written[0]).unwrap();
        assert!(
            text.starts_with("{\n  \"format_version\": 1,\n  \"name\": \"main\""),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let file: BaselineFile = serde_json::from_str(&text).unwrap();
        assert_eq!(file.fixture, "small");
        assert_eq!(file.files, 12);
        assert_eq!(file.run_started_at, "2024-05-01T10:00:00Z");
        assert!(file.saved_at.ends_with('Z'));
    }

    #[test]
    fn saving_merges_with_what_is_there() {
        let root = tempfile::tempdir().unwrap();
        save_baseline(root.path(), "main", &two_fixture_record("old")).unwrap();
        let partial = record(
            "new",
            vec![FixtureResult {
                fixture: "small".into(),
                files: 12,
                scenarios: vec![scenario("cold", vec![4.0, 5.0, 6.0])],
            }],
        );
        save_baseline(root.path(), "main", &partial).unwrap();
        let loaded = load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main").unwrap();
        assert_eq!(loaded.entries.len(), 3);
        let mut commits = loaded.commits();
        commits.sort();
        assert_eq!(commits, vec!["new".to_string(), "old".to_string()]);
        let small = loaded
            .fixtures
            .iter()
            .find(|f| f.fixture == "small")
            .unwrap();
        assert_eq!(
            small.scenario("cold").unwrap().metrics["wall_ms"].samples,
            vec![4.0, 5.0, 6.0]
        );
    }

    #[test]
    fn missing_baseline_says_how_to_create_one() {
        let root = tempfile::tempdir().unwrap();
        let err = load_baseline(root.path(), "some-machine", "main").unwrap_err();
        assert!(matches!(err, BaselineError::NotFound { .. }));
        let message = err.to_string();
        assert!(
            message.contains("soda-perf baseline save --name main"),
            "{message}"
        );
        assert!(message.contains("some-machine"), "{message}");

        // An existing but empty directory is not a baseline either.
        fs::create_dir_all(baseline_dir(root.path(), "some-machine", "main").join("small"))
            .unwrap();
        assert!(matches!(
            load_baseline(root.path(), "some-machine", "main"),
            Err(BaselineError::NotFound { .. })
        ));
    }

    #[test]
    fn corrupt_file_names_path_line_and_column() {
        let root = tempfile::tempdir().unwrap();
        let written = save_baseline(root.path(), "main", &two_fixture_record("abc")).unwrap();
        let victim = &written[1];
        fs::write(victim, "{\n  \"format_version\": 1,\n  \"name\": oops\n}\n").unwrap();
        let err = load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main").unwrap_err();
        match &err {
            BaselineError::Corrupt {
                path, line, column, ..
            } => {
                assert_eq!(path, victim);
                assert_eq!(*line, 3);
                assert!(*column > 0);
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&format!("{}:3:", victim.display())),
            "{message}"
        );
        assert!(message.contains("delete it or re-save"), "{message}");
    }

    #[test]
    fn truncated_and_wrongly_shaped_files_are_corrupt() {
        let root = tempfile::tempdir().unwrap();
        let written = save_baseline(root.path(), "main", &two_fixture_record("abc")).unwrap();
        let text = fs::read_to_string(&written[0]).unwrap();
        fs::write(&written[0], &text[..text.len() / 2]).unwrap();
        assert!(matches!(
            load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main"),
            Err(BaselineError::Corrupt { .. })
        ));
        fs::write(&written[0], "{\"format_version\": 1, \"name\": 5}").unwrap();
        assert!(matches!(
            load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main"),
            Err(BaselineError::Corrupt { .. })
        ));
        fs::write(&written[0], "").unwrap();
        assert!(matches!(
            load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main"),
            Err(BaselineError::Corrupt { line: 1, .. })
        ));
    }

    #[test]
    fn newer_format_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let written = save_baseline(root.path(), "main", &two_fixture_record("abc")).unwrap();
        fs::write(
            &written[0],
            "{\"format_version\": 99, \"something\": \"new\"}",
        )
        .unwrap();
        let err = load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main").unwrap_err();
        assert!(
            matches!(
                err,
                BaselineError::NewerFormat {
                    found: 99,
                    supported: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("update soda-perf"));
    }

    #[test]
    fn temp_and_foreign_files_are_ignored() {
        let root = tempfile::tempdir().unwrap();
        save_baseline(root.path(), "main", &two_fixture_record("abc")).unwrap();
        let fixture_dir =
            baseline_dir(root.path(), "linux-x86_64-test-2c-24g", "main").join("small");
        fs::write(fixture_dir.join(".cold.json.tmp-1-0"), "garbage").unwrap();
        fs::write(fixture_dir.join("README.md"), "notes").unwrap();
        let loaded = load_baseline(root.path(), "linux-x86_64-test-2c-24g", "main").unwrap();
        assert_eq!(loaded.entries.len(), 3);
    }

    #[test]
    fn unsafe_names_are_rejected() {
        let root = tempfile::tempdir().unwrap();
        let run = two_fixture_record("abc");
        for bad in ["", "../escape", "a/b", ".hidden", "with space"] {
            let err = save_baseline(root.path(), bad, &run).unwrap_err();
            assert!(
                matches!(
                    err,
                    BaselineError::InvalidName {
                        what: "baseline name",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        let mut bad_fixture = run.clone();
        bad_fixture.fixtures[0].fixture = "../../etc".into();
        assert!(matches!(
            save_baseline(root.path(), "main", &bad_fixture),
            Err(BaselineError::InvalidName {
                what: "fixture name",
                ..
            })
        ));
        let empty = record("abc", vec![]);
        assert!(matches!(
            save_baseline(root.path(), "main", &empty),
            Err(BaselineError::Empty { .. })
        ));
    }

    #[test]
    fn machine_check_names_both_keys_and_the_flag() {
        let here = machine("linux-x86_64-here-2c-24g");
        let there = machine("linux-x86_64-there-8c-64g");
        assert_eq!(
            ensure_same_machine(&here, &here, false).unwrap(),
            MachineCheck::Same
        );
        let err = ensure_same_machine(&there, &here, false).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("linux-x86_64-there-8c-64g"), "{message}");
        assert!(message.contains("linux-x86_64-here-2c-24g"), "{message}");
        assert!(message.contains("--allow-other-machine"), "{message}");
        assert!(matches!(
            ensure_same_machine(&there, &here, true).unwrap(),
            MachineCheck::OtherMachineAllowed { .. }
        ));
    }

    #[test]
    fn list_shows_every_baseline_and_unreadable_files() {
        let root = tempfile::tempdir().unwrap();
        assert!(list_baselines(root.path()).unwrap().is_empty());
        let written = save_baseline(root.path(), "main", &two_fixture_record("abc")).unwrap();
        save_baseline(root.path(), "feature-x", &two_fixture_record("def")).unwrap();
        fs::write(&written[0], "not json").unwrap();
        let list = list_baselines(root.path()).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "feature-x");
        assert_eq!(list[0].scenarios, 3);
        assert_eq!(list[0].commits, vec!["def".to_string()]);
        assert!(list[0].latest_saved_at.is_some());
        assert_eq!(list[1].name, "main");
        assert_eq!(list[1].scenarios, 2);
        assert_eq!(list[1].unreadable, vec![written[0].clone()]);
    }
}
