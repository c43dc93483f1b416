//! Regression tests for issue 14: inputs that aborted or flooded a build,
//! silences where a diagnostic belongs, incremental disagreeing with clean,
//! and what crashes or damaged caches leave behind. Each test failed before
//! its fix.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command as AssertCommand;

fn project_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture(name), dir.path());
    dir
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("soda-gql.config.ts")
}

/// Runs `soda-builder build` on the project in `dir` (incremental unless told).
fn build(dir: &Path, extra: &[&str]) -> Output {
    AssertCommand::cargo_bin("soda-builder")
        .unwrap()
        .args(["build", "--config"])
        .arg(config_path(dir))
        .args(extra)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn artifact(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(".cache/soda-gql/builder/artifact.json")).unwrap_or_default()
}

const GQL_IMPORT: &str = "import { gql } from \"../../graphql-system\";\n";

fn write_source(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Item 1: 700 nested parentheses (and 1,000 levels of arrays, objects,
/// templates) aborted the process with a stack overflow (exit 134).
#[test]
fn deep_expressions_never_abort_the_build() {
    let dir = project_copy("small-app");
    let cases = [
        (
            "parens",
            format!(
                "export const deep = {}1{};\n",
                "(".repeat(700),
                ")".repeat(700)
            ),
        ),
        (
            "arrays",
            format!(
                "export const deep = {}1{};\n",
                "[".repeat(1000),
                "]".repeat(1000)
            ),
        ),
        (
            "objects",
            format!(
                "export const deep = {}1{};\n",
                "{a:".repeat(1000),
                "}".repeat(1000)
            ),
        ),
        (
            "templates",
            format!(
                "export const deep = {}1{};\n",
                "`${".repeat(1000),
                "}`".repeat(1000)
            ),
        ),
        (
            "huge",
            format!(
                "export const deep = {}1{};\n",
                "(".repeat(50_000),
                ")".repeat(50_000)
            ),
        ),
    ];
    for (name, text) in cases {
        write_source(dir.path(), "src/utils/deep.ts", &text);
        let out = build(dir.path(), &["--no-incremental"]);
        let err = stderr(&out);
        assert!(
            matches!(code(&out), 0 | 1),
            "{name}: exit {:?}\n{}",
            out.status,
            &err[..err.len().min(2000)]
        );
        if code(&out) == 1 {
            assert!(err.contains("src/utils/deep.ts:1:"), "{name}: {err}");
        }
        assert!(
            artifact(dir.path()).contains("ProductList"),
            "{name}: the other files are still built"
        );
    }
}

/// Item 2: every GraphQL parse error re-printed the whole source line, and
/// nothing capped their number: output grew with the square of the input.
#[test]
fn malformed_graphql_does_not_flood() {
    let dir = project_copy("small-app");
    let n = 10_000;
    let text = format!(
        "{GQL_IMPORT}export const flood = gql.default(({{ query }}) => query(\"Flood\")`{{ products {} }}`());\n",
        "(".repeat(n)
    );
    write_source(dir.path(), "src/pages/flood.ts", &text);
    let nested = format!(
        "{GQL_IMPORT}export const nest = gql.default(({{ query }}) => query(\"Nest\")`{{ {} }}`());\n",
        "{ child ".repeat(n)
    );
    write_source(dir.path(), "src/pages/nest.ts", &nested);
    let out = build(dir.path(), &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{}", &err[..err.len().min(2000)]);
    assert!(err.contains("src/pages/flood.ts:"), "located");
    assert!(err.contains("SODA0103"), "a count of what was left out");
    let input = (text.len() + nested.len()) as u64;
    assert!(
        (err.len() as u64) < 20 * input.max(10_000),
        "stderr {} bytes for {} bytes of input",
        err.len(),
        input
    );
    let state = std::fs::metadata(dir.path().join(".cache/soda-gql/builder/state.bin"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(state < 2_000_000, "state.bin {state} bytes");
    // The incremental build agrees.
    let again = build(dir.path(), &[]);
    let without_info = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("info:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_info(&stderr(&again)), without_info(&err));
}
