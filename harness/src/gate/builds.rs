//! A baseline is a build: the measuring binary of each commit, kept under
//! `.cache/perf/builds/<commit>/soda-perf` (a CI cache can restore the
//! directory). A missing one is rebuilt from the commit in a git worktree,
//! with a progress line, never skipped. Every revision builds into one
//! shared target directory (`.cache/perf/target`), so only the workspace
//! crates rebuild; the binary is then copied out ("settled") because the
//! next revision's build overwrites `target/release/soda-perf`.

use std::path::{Path, PathBuf};

use crate::measure::git::{self, GitError};

/// Per-commit binaries, under the workspace root.
pub const BUILDS_DIR: &str = ".cache/perf/builds";
/// The target directory every revision's build shares.
pub const SHARED_TARGET_DIR: &str = ".cache/perf/target";
/// The binary's file name inside `builds/<commit>/`.
pub const BINARY_NAME: &str = "soda-perf";

/// Builds `soda-perf` for a commit and returns the built executable (which
/// the caller copies; it may be overwritten by the next build).
pub trait BuildBackend {
    fn build(&mut self, root: &Path, sha: &str) -> Result<PathBuf, GitError>;
}

/// The real backend: a detached worktree of the commit, `cargo build
/// --release` with the shared target directory, the worktree removed after.
#[derive(Debug, Default)]
pub struct CargoWorktreeBuild;

impl BuildBackend for CargoWorktreeBuild {
    fn build(&mut self, root: &Path, sha: &str) -> Result<PathBuf, GitError> {
        let worktree = git::add_worktree(root, sha)?;
        let built = git::build_soda_perf(&worktree.path, Some(&root.join(SHARED_TARGET_DIR)));
        // The copy is made from the target dir; the sources may go.
        let _ = git::remove_worktree(root, &worktree);
        built
    }
}

/// Where the binary of `sha` is kept.
pub fn build_path(root: &Path, sha: &str) -> PathBuf {
    root.join(BUILDS_DIR).join(sha).join(BINARY_NAME)
}

/// The binary of `sha`, built with `backend` when it is not in the cache.
/// `progress` gets one line before a build starts.
pub fn ensure_build(
    root: &Path,
    sha: &str,
    backend: &mut dyn BuildBackend,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, GitError> {
    let path = build_path(root, sha);
    if path.is_file() {
        return Ok(path);
    }
    progress(&format!(
        "building soda-perf at {} (not in {BUILDS_DIR}; dependencies come from {SHARED_TARGET_DIR}) …",
        &sha[..sha.len().min(10)]
    ));
    let built = backend.build(root, sha)?;
    settle_copy(&built, &path).map_err(|source| GitError::Git {
        dir: path.clone(),
        args: "copy the built binary".into(),
        message: source.to_string(),
    })?;
    Ok(path)
}

/// Copies the built binary to `path` through a temp file and a rename, so a
/// half-copied binary is never taken for a build.
fn settle_copy(built: &Path, path: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{BINARY_NAME}.tmp-{}", std::process::id()));
    std::fs::copy(built, &temp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&temp, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    /// Writes a fake executable and counts the builds.
    struct FakeBuild {
        builds: usize,
        out: PathBuf,
    }

    impl BuildBackend for FakeBuild {
        fn build(&mut self, _root: &Path, sha: &str) -> Result<PathBuf, GitError> {
            self.builds += 1;
            std::fs::write(&self.out, format!("#!/bin/sh\necho {sha}\n")).unwrap();
            Ok(self.out.clone())
        }
    }

    #[test]
    fn a_missing_build_is_built_once_with_a_progress_line_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut backend = FakeBuild {
            builds: 0,
            out: dir.path().join("built"),
        };
        let mut lines = Vec::new();
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let path = ensure_build(dir.path(), sha, &mut backend, &mut |line| {
            lines.push(line.to_string())
        })
        .unwrap();
        assert_eq!(path, build_path(dir.path(), sha));
        assert!(path.is_file());
        assert_eq!(backend.builds, 1);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("0123456789"), "{lines:?}");
        // The next revision's build overwrites the target dir's binary: ours stays.
        std::fs::write(dir.path().join("built"), "other").unwrap();
        let again = ensure_build(dir.path(), sha, &mut backend, &mut |line| {
            lines.push(line.to_string())
        })
        .unwrap();
        assert_eq!(again, path);
        assert_eq!(backend.builds, 1, "reused, not rebuilt");
        assert_eq!(lines.len(), 1);
        assert!(std::fs::read_to_string(&path).unwrap().contains(sha));
    }

    #[test]
    fn a_failed_build_leaves_nothing_behind() {
        struct Failing;
        impl BuildBackend for Failing {
            fn build(&mut self, root: &Path, _sha: &str) -> Result<PathBuf, GitError> {
                Err(GitError::NoExecutable {
                    dir: root.to_path_buf(),
                })
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let err = ensure_build(dir.path(), "abc", &mut Failing, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("no soda-perf executable"));
        assert!(!build_path(dir.path(), "abc").exists());
    }
}
