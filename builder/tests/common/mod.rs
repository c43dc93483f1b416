//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use builder::config::{load_config, Config};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("fixtures").join(name)
}

pub fn config_in(dir: &Path) -> Config {
    let ts = dir.join("soda-gql.config.ts");
    let path = if ts.exists() {
        ts
    } else {
        dir.join("soda-gql.config.json")
    };
    let mut config = load_config(&path).unwrap();
    // Keep test outputs out of the committed fixture directories.
    let scratch = std::env::temp_dir().join(format!(
        "soda-test-{}-{}",
        std::process::id(),
        dir.file_name().unwrap().to_string_lossy()
    ));
    config.cache_dir = scratch.join("cache");
    config.artifact_path = scratch.join("artifact.json");
    config
}

/// Copies a directory tree (skipping `.cache`).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".cache")
    {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Diagnostics rendered as the CLI prints them.
pub fn render_diagnostics(diagnostics: &[builder::diagnostics::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.render_human())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A `soda-builder build --watch` child whose stdout lines arrive on a
/// channel (read by a thread, so waits have timeouts); killed on drop.
pub struct Watcher {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watcher {
    pub fn start(config: &Path, debounce_ms: u64) -> Watcher {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("soda-builder"))
            .args(["build", "--watch", "--debounce-ms"])
            .arg(debounce_ms.to_string())
            .arg("--config")
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut watcher = Watcher { child, lines };
        watcher.wait_for("watching", std::time::Duration::from_secs(60));
        watcher
    }

    /// The first line containing `needle` within `timeout` (panics without one).
    pub fn wait_for(&mut self, needle: &str, timeout: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {needle:?} within {timeout:?}"),
            }
        }
    }

    /// Every line printed from now until `quiet` passes without one (or
    /// `at_most` in all).
    pub fn lines_until_quiet(
        &mut self,
        quiet: std::time::Duration,
        at_most: std::time::Duration,
    ) -> Vec<String> {
        let deadline = std::time::Instant::now() + at_most;
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            out.push(line);
            if std::time::Instant::now() > deadline {
                break;
            }
        }
        out
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The artifact of a clean build of `dir` (written outside it).
pub fn clean_artifact(dir: &Path) -> String {
    let out = tempfile::NamedTempFile::new().unwrap();
    let config = if dir.join("soda-gql.config.ts").exists() {
        dir.join("soda-gql.config.ts")
    } else {
        dir.join("soda-gql.config.json")
    };
    std::process::Command::new(assert_cmd::cargo::cargo_bin("soda-builder"))
        .args(["build", "--no-incremental", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    std::fs::read_to_string(out.path()).unwrap_or_default()
}

/// The `elements` of an artifact's JSON (what a build decides; `meta` and
/// `report` differ between any two builds).
pub fn elements(artifact: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(artifact)
        .ok()
        .and_then(|v| v.get("elements").cloned())
        .unwrap_or(serde_json::Value::Null)
}
