//! Every command of `docs/guides/performance-profiling.md` is real: each
//! `cargo perf …`/`soda-perf …` line (in code blocks and inline code) parses
//! with soda-perf's own command-line definition, and each other `cargo …`
//! line names a package, bench, binary or example this workspace has.
//! Outside tools (perf, valgrind, samply, heaptrack) are not checked here;
//! the guide says so.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use clap::Parser;
use harness::cli::Cli;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Command lines of the guide: code-block lines and inline code spans that
/// start with `cargo ` or `soda-perf ` (after `VAR=value` prefixes).
fn commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut candidates = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            candidates.push(line.trim().to_string());
        } else {
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    candidates.push(span.trim().to_string());
                }
            }
        }
    }
    for candidate in candidates {
        let words: Vec<&str> = candidate
            .split_whitespace()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .collect();
        // `cargo perf …` in prose names the family, and `cargo perf` alone the alias.
        let placeholder = candidate.contains('…') || words == ["cargo", "perf"];
        if matches!(words.first(), Some(&"cargo") | Some(&"soda-perf"))
            && words.len() > 1
            && !placeholder
        {
            out.push(words.join(" "));
        }
    }
    out
}

fn value_of<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| *w == flag)
        .and_then(|i| words.get(i + 1).copied())
}

fn check_cargo(root: &Path, words: &[&str]) -> Result<(), String> {
    let words: Vec<&str> = words.iter().take_while(|w| **w != "--").copied().collect();
    let sub = words.get(1).copied().unwrap_or_default();
    if sub == "install" {
        return Ok(()); // an outside tool
    }
    if !["build", "bench", "run", "test"].contains(&sub) {
        return Err(format!("unknown cargo subcommand `{sub}`"));
    }
    let package = value_of(&words, "-p");
    if let Some(package) = package {
        if !["builder", "harness"].contains(&package) {
            return Err(format!("no package `{package}`"));
        }
    }
    let dir = root.join(package.unwrap_or("builder"));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    if let Some(bench) = value_of(&words, "--bench") {
        if !dir.join("benches").join(format!("{bench}.rs")).is_file()
            || !manifest.contains(&format!("name = \"{bench}\""))
        {
            return Err(format!("no bench `{bench}` in {}", dir.display()));
        }
    }
    if let Some(bin) = value_of(&words, "--bin") {
        if !manifest.contains(&format!("name = \"{bin}\"")) {
            return Err(format!("no binary `{bin}` in {}", dir.display()));
        }
    }
    if let Some(example) = value_of(&words, "--example") {
        if !dir.join("examples").join(format!("{example}.rs")).is_file() {
            return Err(format!("no example `{example}`"));
        }
    }
    Ok(())
}

#[test]
fn every_command_of_the_profiling_guide_parses() {
    let root = repo_root();
    let guide = std::fs::read_to_string(root.join("docs/guides/performance-profiling.md")).unwrap();
    let alias = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap();
    assert!(alias.contains("perf = \"run --release -p harness --bin soda-perf --\""));
    let commands = commands(&guide);
    let mut perf = 0;
    let mut failures = Vec::new();
    for command in &commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        let perf_args: Option<Vec<&str>> = match words.as_slice() {
            ["cargo", "perf", rest @ ..] => Some(rest.to_vec()),
            ["soda-perf", rest @ ..] => Some(rest.to_vec()),
            _ => None,
        };
        let result = match perf_args {
            Some(rest) => {
                perf += 1;
                Cli::try_parse_from(std::iter::once("soda-perf").chain(rest))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            None => check_cargo(&root, &words),
        };
        if let Err(err) = result {
            failures.push(format!("{command}\n  {err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        perf >= 25,
        "found only {perf} soda-perf commands: {commands:#?}"
    );
    for subcommand in [
        "run", "check", "compare", "merge", "import", "baseline", "report",
    ] {
        assert!(
            commands
                .iter()
                .any(|c| c.starts_with(&format!("cargo perf {subcommand}"))),
            "the guide shows `{subcommand}`"
        );
    }
}
