//! `soda-perf compare --base REV [--head REV]`: builds a `soda-perf` binary
//! for each revision (a detached git worktree per commit, each with its own
//! target directory), then runs the base and head workers alternately
//! (A B A B …) on the same fixtures so that machine drift hits both sides
//! equally, and judges every metric's head/base ratio with [`crate::verdict`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fixtures::FixtureLocation;
use crate::model::ScenarioResult;
use crate::protocol::{tail, WorkerScenario};
use crate::runner::{Measurement, RunError, Runner};
use crate::scenario::{
    instruction_runs, scenario_result, CollectedRuns, ProgressEvent, ScenarioError,
    ScenarioOptions, ScenarioRun, Stage, SESSION_INSTRUCTIONS_NOTE,
};
use crate::verdict::{GateReport, GateRow};

/// Where worktrees and their target directories live, under the workspace root.
pub const WORKTREES_DIR: &str = ".cache/perf/worktrees";

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("`git {args}` failed in {}: {message}", dir.display())]
    Git {
        dir: PathBuf,
        args: String,
        message: String,
    },
    #[error("revision `{rev}` is not a commit of the repository at {}: {message}", root.display())]
    UnknownRevision {
        rev: String,
        root: PathBuf,
        message: String,
    },
    #[error("building soda-perf in {} failed ({status}); cargo's output ends with:\n{output_tail}", dir.display())]
    Build {
        dir: PathBuf,
        status: String,
        output_tail: String,
    },
    #[error("could not run cargo in {}: {source}", dir.display())]
    Cargo {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cargo built in {} but reported no soda-perf executable", dir.display())]
    NoExecutable { dir: PathBuf },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// A side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revision {
    /// The checkout as it is, uncommitted changes included.
    WorkingTree,
    /// A commit: `rev` as the user wrote it, `sha` resolved.
    Commit { rev: String, sha: String },
}

impl Revision {
    /// How the side is shown in tables: `main (1a2b3c4d)` or `working tree`.
    pub fn label(&self) -> String {
        match self {
            Revision::WorkingTree => "working tree".to_string(),
            Revision::Commit { rev, sha } => format!("{rev} ({})", &sha[..sha.len().min(10)]),
        }
    }
}

/// Resolves `rev` (branch, tag, sha, `HEAD~3`) to a commit of the repository at `root`.
pub fn resolve_revision(root: &Path, rev: &str) -> Result<Revision, CompareError> {
    let sha = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|err| CompareError::UnknownRevision {
        rev: rev.to_string(),
        root: root.to_path_buf(),
        message: match err {
            CompareError::Git { message, .. } if message.is_empty() => "no such commit".to_string(),
            CompareError::Git { message, .. } => message,
            other => other.to_string(),
        },
    })?;
    Ok(Revision::Commit {
        rev: rev.to_string(),
        sha,
    })
}

/// Runs `git -C dir args…`, returning trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String, CompareError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| CompareError::Git {
            dir: dir.to_path_buf(),
            args: args.join(" "),
            message: format!("could not run git: {err}"),
        })?;
    if !output.status.success() {
        return Err(CompareError::Git {
            dir: dir.to_path_buf(),
            args: args.join(" "),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A detached worktree of one commit, with its own target directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worktree {
    pub sha: String,
    pub path: PathBuf,
    pub target_dir: PathBuf,
}

/// Checks out `sha` under `<root>/.cache/perf/worktrees/<sha>`, reusing a
/// worktree that is already there at that commit.
pub fn add_worktree(root: &Path, sha: &str) -> Result<Worktree, CompareError> {
    let base = root.join(WORKTREES_DIR);
    let worktree = Worktree {
        sha: sha.to_string(),
        path: base.join(sha),
        target_dir: base.join(format!("target-{sha}")),
    };
    if worktree.path.exists() {
        if git(&worktree.path, &["rev-parse", "HEAD"]).is_ok_and(|head| head == sha) {
            return Ok(worktree);
        }
        // Something else is there (a half-made worktree): start over.
        let _ = git(
            root,
            &[
                "worktree",
                "remove",
                "--force",
                &worktree.path.to_string_lossy(),
            ],
        );
        let _ = std::fs::remove_dir_all(&worktree.path);
    }
    // Forget worktrees whose directories were deleted by hand.
    let _ = git(root, &["worktree", "prune"]);
    git(
        root,
        &[
            "worktree",
            "add",
            "--detach",
            &worktree.path.to_string_lossy(),
            sha,
        ],
    )?;
    Ok(worktree)
}

/// `git worktree remove --force`; the target directory stays as a build cache.
pub fn remove_worktree(root: &Path, worktree: &Worktree) -> Result<(), CompareError> {
    git(
        root,
        &[
            "worktree",
            "remove",
            "--force",
            &worktree.path.to_string_lossy(),
        ],
    )
    .map(|_| ())
}

/// Builds `soda-perf` (release) in `source_dir` and returns the executable.
/// `target_dir` overrides cargo's target directory (worktrees use their
/// own); cargo's output is kept quiet and shown only when the build fails.
pub fn build_soda_perf(
    source_dir: &Path,
    target_dir: Option<&Path>,
) -> Result<PathBuf, CompareError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(source_dir)
        .args([
            "build",
            "--release",
            "-p",
            "harness",
            "--bin",
            "soda-perf",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null());
    if let Some(target_dir) = target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let output = command.output().map_err(|source| CompareError::Cargo {
        dir: source_dir.to_path_buf(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(CompareError::Build {
            dir: source_dir.to_path_buf(),
            status: output.status.to_string(),
            output_tail: tail(&stderr, 6000),
        });
    }
    executable_from_cargo_messages(&stdout).ok_or_else(|| CompareError::NoExecutable {
        dir: source_dir.to_path_buf(),
    })
}

/// The `soda-perf` executable named in cargo's JSON messages.
pub fn executable_from_cargo_messages(stdout: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "soda-perf"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// Which side a run was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Base,
    Head,
}

/// Both sides of one fixture × scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedResult {
    pub fixture: String,
    pub base: ScenarioResult,
    pub head: ScenarioResult,
}

/// Runs one fixture × scenario on both sides, alternating base and head
/// for every run (priming, warm-up, measured, instruction counts), each side
/// on its own working copy under `work_dir/base` and `work_dir/head`.
pub fn run_paired(
    fixture: &FixtureLocation,
    scenario: WorkerScenario,
    options: &ScenarioOptions,
    work_dir: &Path,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<PairedResult, ScenarioError> {
    let mut base = ScenarioRun::prepare(fixture, scenario, &work_dir.join("base"), options)?;
    let mut head = ScenarioRun::prepare(fixture, scenario, &work_dir.join("head"), options)?;
    let result = run_paired_on(
        &mut base,
        &mut head,
        options,
        base_runner,
        head_runner,
        progress,
    )?;
    let _ = std::fs::remove_dir_all(work_dir);
    Ok(PairedResult {
        fixture: fixture.name.clone(),
        base: result.0,
        head: result.1,
    })
}

/// The alternation itself, on two prepared runs.
pub fn run_paired_on(
    base: &mut ScenarioRun,
    head: &mut ScenarioRun,
    options: &ScenarioOptions,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    progress: &mut dyn FnMut(Side, &ProgressEvent),
) -> Result<(ScenarioResult, ScenarioResult), ScenarioError> {
    let scenario = base.scenario();
    let mut event = announcer(base, progress);
    prime_and_warm(
        base,
        head,
        options.warmup,
        base_runner,
        head_runner,
        &mut event,
    )?;
    let mut base_runs = CollectedRuns::default();
    let mut head_runs = CollectedRuns::default();
    for index in 0..options.iterations {
        event(Side::Base, Stage::Measured, index, options.iterations);
        base_runs
            .measured
            .push(base.run_iteration(base_runner, Stage::Measured)?);
        event(Side::Head, Stage::Measured, index, options.iterations);
        head_runs
            .measured
            .push(head.run_iteration(head_runner, Stage::Measured)?);
    }
    if options.instructions && scenario.is_session() {
        base_runs.notes.push(SESSION_INSTRUCTIONS_NOTE.to_string());
        head_runs.notes.push(SESSION_INSTRUCTIONS_NOTE.to_string());
    }
    let runs = instruction_runs(scenario, options);
    if runs > 0 {
        for index in 0..runs {
            event(Side::Base, Stage::Instructions, index, runs);
            let base_count = counted(base.run_iteration(base_runner, Stage::Instructions))?;
            event(Side::Head, Stage::Instructions, index, runs);
            let head_count = counted(head.run_iteration(head_runner, Stage::Instructions))?;
            match (base_count, head_count) {
                (Some(b), Some(h)) => {
                    base_runs.instructions.extend(b.instructions);
                    head_runs.instructions.extend(h.instructions);
                }
                _ => {
                    let note = format!("{}: instructions not recorded", RunError::ValgrindMissing);
                    base_runs.notes.push(note.clone());
                    head_runs.notes.push(note);
                    break;
                }
            }
        }
    }
    Ok((
        scenario_result(scenario, options.warmup, base.verifies(), base_runs),
        scenario_result(scenario, options.warmup, head.verifies(), head_runs),
    ))
}

/// The progress callback of a paired run of `run`'s fixture × scenario, as
/// `(side, stage, index, of)`.
pub(crate) fn announcer<'p>(
    run: &ScenarioRun,
    progress: &'p mut dyn FnMut(Side, &ProgressEvent),
) -> impl FnMut(Side, Stage, usize, usize) + 'p {
    let scenario = run.scenario();
    let fixture = run.project().name.clone();
    move |side, stage, index, of| {
        progress(
            side,
            &ProgressEvent {
                fixture: fixture.clone(),
                scenario,
                stage,
                index,
                of,
            },
        )
    }
}

/// The start every paired run shares: both sides primed, then `warmup`
/// warm-up runs, base and head alternately.
pub(crate) fn prime_and_warm(
    base: &mut ScenarioRun,
    head: &mut ScenarioRun,
    warmup: usize,
    base_runner: &mut dyn Runner,
    head_runner: &mut dyn Runner,
    event: &mut impl FnMut(Side, Stage, usize, usize),
) -> Result<(), ScenarioError> {
    event(Side::Base, Stage::Priming, 0, 1);
    base.prime(base_runner)?;
    event(Side::Head, Stage::Priming, 0, 1);
    head.prime(head_runner)?;
    for index in 0..warmup {
        event(Side::Base, Stage::Warmup, index, warmup);
        base.run_iteration(base_runner, Stage::Warmup)?;
        event(Side::Head, Stage::Warmup, index, warmup);
        head.run_iteration(head_runner, Stage::Warmup)?;
    }
    Ok(())
}

/// An instruction-count run; `None` when valgrind is missing.
fn counted(
    result: Result<Measurement, ScenarioError>,
) -> Result<Option<Measurement>, ScenarioError> {
    match result {
        Ok(measurement) => Ok(Some(measurement)),
        Err(ScenarioError::Run {
            source: RunError::ValgrindMissing,
            ..
        }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Metrics always shown in a gate table, whatever their verdict.
const HEADLINE_METRICS: [&str; 4] = ["wall_ms", "cpu_ms", "peak_rss_kib", "alloc_total_bytes"];

/// The plain-text table of a gate report for the terminal: headline
/// metrics always, other metrics only when they regressed, improved, or are
/// inconclusive while gating; then what could not be compared and the
/// bottom line.
pub fn render_gate_table(gate: &GateReport, base_label: &str, head_label: &str) -> String {
    use crate::export::format::format_value;
    use crate::model::Direction;
    use crate::verdict::{format_change_pct, format_p_value, Verdict};

    let headers = [
        "fixture", "scenario", "metric", "base", "head", "change", "ratio CI", "p", "verdict",
    ];
    let mut rows: Vec<[String; 9]> = Vec::new();
    let mut hidden = 0;
    let mut shown: Vec<&GateRow> = gate
        .rows
        .iter()
        .filter(|row| {
            let metric = &row.metric;
            let show = HEADLINE_METRICS.contains(&metric.metric.as_str())
                || matches!(metric.verdict, Verdict::Regressed | Verdict::Improved)
                || (metric.verdict == Verdict::Inconclusive
                    && metric.direction != Direction::Informational);
            if !show {
                hidden += 1;
            }
            show
        })
        .collect();
    // Regressions first, then everything else in report order.
    shown.sort_by_key(|row| row.metric.verdict != Verdict::Regressed);
    for row in shown {
        let metric = &row.metric;
        rows.push([
            row.fixture.clone(),
            row.scenario.clone(),
            metric.metric.clone(),
            format_value(metric.base_median, &metric.unit),
            format_value(metric.head_median, &metric.unit),
            format_change_pct(metric.change_pct),
            format!(
                "[{:.3}, {:.3}]",
                metric.ratio_ci.lower, metric.ratio_ci.upper
            ),
            metric
                .p_value
                .map_or_else(|| "–".to_string(), format_p_value),
            match metric.verdict {
                Verdict::Regressed => "REGRESSED".to_string(),
                other => other.to_string(),
            },
        ]);
    }
    let mut out = format!(
        "base: {base_label}\nhead: {head_label}\ngate: timing changes beyond ±{}% with p < {} and a ratio interval excluding 1; counts beyond ±{}%\n\n",
        gate.config.threshold_pct, gate.config.alpha, gate.config.deterministic_tolerance_pct
    );
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                // Text columns left-aligned, numbers right-aligned.
                if column < 3 || column == 8 {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(headers.to_vec()));
    out.push_str(&format!(
        "{}\n",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    ));
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if hidden > 0 {
        out.push_str(&format!(
            "({hidden} more metric(s) unchanged or informational; the raw samples hold them all)\n"
        ));
    }
    for entry in &gate.missing {
        out.push_str(&format!("not compared: {entry}\n"));
    }
    let counts = gate.counts();
    out.push_str(&format!(
        "\n{} regressed, {} improved, {} inconclusive, {} unchanged\n",
        counts.regressed, counts.improved, counts.inconclusive, counts.unchanged
    ));
    if gate.has_regressions() {
        out.push_str("RESULT: REGRESSION\n");
        for row in gate.regressions() {
            out.push_str(&format!(
                "  {}/{}/{}: {} ({})\n",
                row.fixture,
                row.scenario,
                row.metric.metric,
                row.metric.describe(),
                row.metric.reason
            ));
        }
    } else {
        out.push_str("RESULT: no regression\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::MockRunner;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn options(iterations: usize, warmup: usize) -> ScenarioOptions {
        ScenarioOptions::for_tests(iterations, warmup)
    }

    fn run_on(scenario: WorkerScenario, options: &ScenarioOptions) -> ScenarioRun {
        let project = FixtureLocation {
            name: "tiny".to_string(),
            config_path: PathBuf::from("/nonexistent/tiny/soda-gql.config.json"),
            root: PathBuf::from("/nonexistent/tiny"),
            source: crate::fixtures::FixtureSource::Committed,
        };
        ScenarioRun::on_project("tiny".to_string(), scenario, project, options)
            .with_edit(Box::new(|_, _| Ok(())))
    }

    /// A mock that logs `<side><scenario>` for every run into a shared log.
    fn logging(side: &'static str, wall_ms: f64, log: Rc<RefCell<Vec<String>>>) -> MockRunner {
        MockRunner::with_fn(move |req| {
            log.borrow_mut()
                .push(format!("{side}:{}", req.scenario.name()));
            let mut m = Measurement::fixed(wall_ms);
            m.report.verified = req.verify.then_some(true);
            Ok(m)
        })
    }

    #[test]
    fn base_and_head_alternate_run_by_run() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut base_runner = logging("A", 100.0, log.clone());
        let mut head_runner = logging("B", 90.0, log.clone());
        let options = options(3, 1);
        let (base, head) = run_paired_on(
            &mut run_on(WorkerScenario::Warm, &options),
            &mut run_on(WorkerScenario::Warm, &options),
            &options,
            &mut base_runner,
            &mut head_runner,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(
            *log.borrow(),
            vec![
                "A:cold", "B:cold", // priming
                "A:warm", "B:warm", // warm-up
                "A:warm", "B:warm", "A:warm", "B:warm", "A:warm", "B:warm",
            ]
        );
        assert_eq!(base.metrics["wall_ms"].samples, vec![100.0; 3]);
        assert_eq!(head.metrics["wall_ms"].samples, vec![90.0; 3]);
        assert_eq!(base.warmup, 1);
    }

    #[test]
    fn progress_names_the_side() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let options = options(2, 0);
        let mut sides = Vec::new();
        run_paired_on(
            &mut run_on(WorkerScenario::Cold, &options),
            &mut run_on(WorkerScenario::Cold, &options),
            &options,
            &mut logging("A", 1.0, log.clone()),
            &mut logging("B", 1.0, log),
            &mut |side, event| {
                if event.stage == Stage::Measured {
                    sides.push(side)
                }
            },
        )
        .unwrap();
        assert_eq!(sides, vec![Side::Base, Side::Head, Side::Base, Side::Head]);
    }

    #[test]
    fn instruction_runs_alternate_too_and_missing_valgrind_is_a_note() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut options = options(2, 0);
        options.instructions = true;
        let (base, head) = run_paired_on(
            &mut run_on(WorkerScenario::Cold, &options),
            &mut run_on(WorkerScenario::Cold, &options),
            &options,
            &mut logging("A", 1.0, log.clone()).with_instructions(10),
            &mut logging("B", 1.0, log.clone()).with_instructions(12),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(base.metrics["instructions"].samples, vec![10.0, 10.0]);
        assert_eq!(head.metrics["instructions"].samples, vec![12.0, 12.0]);
        assert_eq!(log.borrow().len(), 8);

        let (base, _) = run_paired_on(
            &mut run_on(WorkerScenario::Cold, &options),
            &mut run_on(WorkerScenario::Cold, &options),
            &options,
            &mut logging("A", 1.0, log.clone()),
            &mut logging("B", 1.0, log),
            &mut |_, _| {},
        )
        .unwrap();
        assert!(base
            .notes
            .iter()
            .any(|note| note.contains("valgrind not found")));
    }

    #[test]
    fn a_failed_verification_on_either_side_aborts() {
        let options = options(3, 0);
        let mut base_runner = MockRunner::with_fn(|_| {
            let mut m = Measurement::fixed(1.0);
            m.report.verified = Some(true);
            Ok(m)
        });
        let mut head_runner = MockRunner::with_fn(|req| {
            let mut m = Measurement::fixed(1.0);
            m.report.verified = Some(req.iteration < 1);
            Ok(m)
        });
        let err = run_paired_on(
            &mut run_on(WorkerScenario::TargetedSession, &options),
            &mut run_on(WorkerScenario::TargetedSession, &options),
            &options,
            &mut base_runner,
            &mut head_runner,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, ScenarioError::VerificationFailed { iteration: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn cargo_messages_name_the_executable() {
        let stdout = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"harness"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"soda-perf"},"executable":"/t/release/soda-perf"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\nnot json\n"
        );
        assert_eq!(
            executable_from_cargo_messages(stdout),
            Some(PathBuf::from("/t/release/soda-perf"))
        );
        assert_eq!(executable_from_cargo_messages("{}"), None);
    }

    fn git_repo() -> Option<tempfile::TempDir> {
        let dir = tempfile::tempdir().unwrap();
        let ok = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .output()
                .is_ok_and(|out| out.status.success())
        };
        if !ok(&["init", "-q"]) {
            return None;
        }
        std::fs::write(dir.path().join("a.txt"), "one").unwrap();
        assert!(ok(&["add", "a.txt"]));
        assert!(ok(&["commit", "-q", "-m", "one"]));
        Some(dir)
    }

    #[test]
    fn revisions_resolve_or_fail_clearly() {
        let Some(repo) = git_repo() else { return };
        let Revision::Commit { sha, .. } = resolve_revision(repo.path(), "HEAD").unwrap() else {
            panic!("HEAD is a commit")
        };
        assert_eq!(sha.len(), 40);
        let err = resolve_revision(repo.path(), "no-such-branch").unwrap_err();
        assert!(err.to_string().contains("`no-such-branch`"), "{err}");
    }

    #[test]
    fn worktrees_are_added_reused_and_removed() {
        let Some(repo) = git_repo() else { return };
        let Revision::Commit { sha, .. } = resolve_revision(repo.path(), "HEAD").unwrap() else {
            panic!("HEAD is a commit")
        };
        let worktree = add_worktree(repo.path(), &sha).unwrap();
        assert_eq!(
            std::fs::read_to_string(worktree.path.join("a.txt")).unwrap(),
            "one"
        );
        assert!(worktree.target_dir.ends_with(format!("target-{sha}")));
        // A second add reuses it.
        assert_eq!(add_worktree(repo.path(), &sha).unwrap(), worktree);
        remove_worktree(repo.path(), &worktree).unwrap();
        assert!(!worktree.path.exists());
    }

    #[test]
    fn labels() {
        assert_eq!(Revision::WorkingTree.label(), "working tree");
        let commit = Revision::Commit {
            rev: "main".to_string(),
            sha: "0123456789abcdef".to_string(),
        };
        assert_eq!(commit.label(), "main (0123456789)");
    }
}
