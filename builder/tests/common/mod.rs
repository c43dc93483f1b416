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
