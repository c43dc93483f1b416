//! Other revisions of the repository: resolving a revision to a commit, a
//! detached git worktree per commit (each with its own target directory),
//! and building `soda-perf` in one. Used by `compare` and by the gate's
//! per-commit builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::measure::protocol::tail;

/// Where worktrees and their target directories live, under the workspace root.
pub const WORKTREES_DIR: &str = ".cache/perf/worktrees";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
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
}

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
pub fn resolve_revision(root: &Path, rev: &str) -> Result<Revision, GitError> {
    let sha = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|err| GitError::UnknownRevision {
        rev: rev.to_string(),
        root: root.to_path_buf(),
        message: match err {
            GitError::Git { message, .. } if message.is_empty() => "no such commit".to_string(),
            GitError::Git { message, .. } => message,
            other => other.to_string(),
        },
    })?;
    Ok(Revision::Commit {
        rev: rev.to_string(),
        sha,
    })
}

/// Runs `git -C dir args…`, returning trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| GitError::Git {
            dir: dir.to_path_buf(),
            args: args.join(" "),
            message: format!("could not run git: {err}"),
        })?;
    if !output.status.success() {
        return Err(GitError::Git {
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
pub fn add_worktree(root: &Path, sha: &str) -> Result<Worktree, GitError> {
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
pub fn remove_worktree(root: &Path, worktree: &Worktree) -> Result<(), GitError> {
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
pub fn build_soda_perf(source_dir: &Path, target_dir: Option<&Path>) -> Result<PathBuf, GitError> {
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
    let output = command.output().map_err(|source| GitError::Cargo {
        dir: source_dir.to_path_buf(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(GitError::Build {
            dir: source_dir.to_path_buf(),
            status: output.status.to_string(),
            output_tail: tail(&stderr, 6000),
        });
    }
    executable_from_cargo_messages(&stdout).ok_or_else(|| GitError::NoExecutable {
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

#[cfg(test)]
mod tests {
    use super::*;

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
