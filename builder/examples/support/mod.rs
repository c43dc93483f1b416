//! What the examples and the `build` bench share (each includes this file
//! with `#[path]` and uses part of it): order statistics, a scratch copy of
//! a project, and the fragment edit the update figures time.
#![allow(dead_code, unused_macros, unused_imports)]

use std::path::{Path, PathBuf};

use builder::config::{load_config, Config};
use builder::ChangeSet;

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The first and third quartiles.
pub fn quartiles(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 4], xs[3 * xs.len() / 4])
}

/// A copy of the project of `config_path` (without its `.cache`) in a
/// temporary directory, and the copy's config: the timed edits go there.
pub fn copy_project(config_path: &Path) -> anyhow::Result<(tempfile::TempDir, Config)> {
    let dir = tempfile::tempdir()?;
    let from = config_path.parent().unwrap_or(Path::new("."));
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".cache")
    {
        let entry = entry?;
        let target = dir.path().join(entry.path().strip_prefix(from)?);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    let config = load_config(&dir.path().join(config_path.file_name().unwrap_or_default()))?;
    Ok((dir, config))
}

/// A real change to a fragment's selections, valid on any type, and back.
pub struct FragmentEdit {
    target: PathBuf,
    original: String,
}

impl FragmentEdit {
    pub fn new(target: PathBuf) -> std::io::Result<FragmentEdit> {
        let original = std::fs::read_to_string(&target)?;
        Ok(FragmentEdit { target, original })
    }

    /// Writes the fragment with one more selection (`changed`) or as it
    /// was, and returns what a watcher would report.
    pub fn write(&self, changed: bool) -> std::io::Result<ChangeSet> {
        let text = if changed {
            self.original.replacen("}`(", "  __typename\n  }`(", 1)
        } else {
            self.original.clone()
        };
        std::fs::write(&self.target, text)?;
        Ok(ChangeSet {
            updated: vec![self.target.clone()],
            ..ChangeSet::default()
        })
    }
}

/// Runs the target on the allocator and options `soda-builder` ships with
/// (`builder::JEMALLOC_CONF`).
macro_rules! soda_builder_allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

        #[allow(non_upper_case_globals, unsafe_code)] // the one symbol jemalloc reads
        #[export_name = "_rjem_malloc_conf"]
        pub static malloc_conf: &[u8] = builder::JEMALLOC_CONF;
    };
}
pub(crate) use soda_builder_allocator;
