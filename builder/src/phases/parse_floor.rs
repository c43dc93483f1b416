//! The floor a clean build is held against: reading every TypeScript file
//! under `src/` and parsing it with swc (through the analyzer), on every
//! core, and nothing else. No build of those files can take less; the
//! `build` bench and the `clean_vs_floor` example time a clean build
//! against it.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::config::Config;
use crate::phases::analyze::{analyze_module, AnalyzerContext};

pub struct ParseFloor {
    files: Vec<PathBuf>,
    ctx: AnalyzerContext,
}

impl ParseFloor {
    /// The files, listed once (the listing is not part of the floor).
    pub fn new(config: &Config) -> ParseFloor {
        ParseFloor {
            files: walkdir::WalkDir::new(config.root_dir.join("src"))
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                .map(|e| e.into_path())
                .collect(),
            ctx: AnalyzerContext::for_config(config),
        }
    }

    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Reads and parses every file once; returns the definitions found.
    pub fn run(&self) -> usize {
        // Leaves of a few files, as discovery splits them: a floor split
        // into two unequal halves would idle a core and flatter the ratio.
        self.files
            .par_iter()
            .with_max_len(8)
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                analyze_module("x.ts", &text, &self.ctx).definitions.len()
            })
            .sum()
    }
}
