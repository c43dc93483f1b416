//! Tidy checks over the harness's own sources (as rust-analyzer's `tidy`
//! test does): every module says what it is in a `//!` first line, and
//! modules import only from layers below their own, so no two import each
//! other.

use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules of `harness/src`, bottom layer first. A module may
/// name (`crate::x`) only modules that come before it here.
const LAYERS: [&str; 9] = [
    "model", "stats", "store", "fixtures", "measure", "gate", "export", "report", "cli",
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names through `crate::` paths, comments
/// left out (doc links may point anywhere).
fn named_modules(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a::b, c}`: every path of the group.
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.push(name);
                }
            } else {
                names.push(
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect(),
                );
            }
        }
    }
    names
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap_or_default();
            !text.starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these modules do not start with a `//!` line saying what they are:\n{}",
        missing.join("\n")
    );
}

#[test]
fn modules_import_only_from_layers_below() {
    let src = src_dir();
    let mut violations = Vec::new();
    for (rank, layer) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        let dir = src.join(layer);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        let single = src.join(format!("{layer}.rs"));
        if single.is_file() {
            files.push(single);
        }
        assert!(
            !files.is_empty(),
            "no module `{layer}` in {}",
            src.display()
        );
        for file in files {
            let text = fs::read_to_string(&file).unwrap_or_default();
            for name in named_modules(&text) {
                if name == *layer {
                    continue;
                }
                match LAYERS.iter().position(|other| *other == name) {
                    Some(other) if other < rank => {}
                    Some(_) => violations.push(format!(
                        "{} ({layer}) names crate::{name}, which is not below it",
                        file.display()
                    )),
                    None => violations.push(format!(
                        "{} names crate::{name}, a module LAYERS does not place",
                        file.display()
                    )),
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
