//! `soda-builder` as a user runs it: exit codes 0 / 1 / 2, output formats,
//! the persisted cache across processes, and the real file watcher.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;

fn soda() -> AssertCommand {
    AssertCommand::cargo_bin("soda-builder").unwrap()
}

fn project_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture(name), dir.path());
    dir
}

#[test]
fn builds_a_fixture_and_exits_0() {
    let dir = project_copy("small-app");
    soda()
        .args(["build", "--config"])
        .arg(dir.path().join("soda-gql.config.ts"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "built 3 elements (2 operations, 1 fragments)",
        ));
    let artifact = dir.path().join(".cache/soda-gql/builder/artifact.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifact).unwrap()).unwrap();
    assert_eq!(json["elements"].as_object().unwrap().len(), 3);
    assert!(json["meta"]["createdAt"].is_string());
    assert_eq!(json["report"]["stats"]["misses"], 5);
}

#[test]
fn finds_the_config_upward_from_the_working_directory() {
    let dir = project_copy("small-app");
    soda()
        .current_dir(dir.path().join("src/pages"))
        .arg("build")
        .assert()
        .success();
}

#[test]
fn diagnostics_exit_1_with_file_line_col() {
    let dir = project_copy("invalid/unknown-field");
    soda()
        .args(["build", "--config"])
        .arg(dir.path().join("soda-gql.config.ts"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--> src/pages/product.page.ts:9:7",
        ))
        .stderr(predicate::str::contains("Cannot query field \"sku\""));
}

#[test]
fn json_format_lists_diagnostics() {
    let dir = project_copy("invalid/syntax-error");
    let output = soda()
        .args(["build", "--format", "json", "--config"])
        .arg(dir.path().join("soda-gql.config.ts"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0]["code"], "SODA0101");
    assert_eq!(diagnostics[0]["location"]["line"], 4);
    // The valid file in the same project is still built.
    assert_eq!(json["elements"], 1);
}

#[test]
fn missing_config_exits_2_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    soda()
        .current_dir(dir.path())
        .arg("build")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no soda-gql.config.ts or soda-gql.config.json found")
                .and(predicate::str::contains("--config")),
        );
}

#[test]
fn missing_schema_exits_2_with_a_fix() {
    let dir = project_copy("invalid/missing-schema");
    soda()
        .args(["build", "--config"])
        .arg(dir.path().join("soda-gql.config.ts"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("nope.graphql")
                .and(predicate::str::contains("schemas.default.schema")),
        );
}

#[test]
fn dynamic_config_exits_2_naming_the_property() {
    soda()
        .args(["build", "--config"])
        .arg(common::fixture("invalid/dynamic-config/soda-gql.config.ts"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("`outdir`")
                .and(predicate::str::contains("soda-gql.config.json")),
        );
}

#[test]
fn second_run_uses_the_cache_and_show_cache_says_why() {
    let dir = project_copy("medium-app");
    let config = dir.path().join("soda-gql.config.ts");
    soda()
        .args(["build", "--config"])
        .arg(&config)
        .assert()
        .success();
    let out = soda()
        .args(["build", "--show-cache", "--format", "json", "--config"])
        .arg(&config)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["report"]["stats"]["misses"], 0);
    assert!(json["cache"]
        .as_object()
        .unwrap()
        .values()
        .all(|s| s["status"] == "hit"));
    soda()
        .args(["build", "--show-cache", "--config"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("hit   src/entities/product.ts"));
}

#[test]
fn no_incremental_ignores_the_cache() {
    let dir = project_copy("small-app");
    let config = dir.path().join("soda-gql.config.ts");
    soda()
        .args(["build", "--config"])
        .arg(&config)
        .assert()
        .success();
    let out = soda()
        .args(["build", "--no-incremental", "--format", "json", "--config"])
        .arg(&config)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["report"]["stats"]["hits"], 0);
}

/// A clean build writes the artifact where it is asked to, and no cache:
/// with the artifact elsewhere, the cache directory is not made.
#[test]
fn no_incremental_with_out_makes_no_cache_directory() {
    let dir = project_copy("small-app");
    let config = dir.path().join("soda-gql.config.ts");
    let out = dir.path().join("out/artifact.json");
    soda()
        .args(["build", "--no-incremental", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(out.is_file());
    assert!(!dir.path().join(".cache").exists());
}

#[test]
fn write_delta_and_out() {
    let dir = project_copy("small-app");
    let config = dir.path().join("soda-gql.config.ts");
    let out = dir.path().join("out/artifact.json");
    let delta = dir.path().join("delta.json");
    soda()
        .args(["build", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .arg("--write-delta")
        .arg(&delta)
        .assert()
        .success();
    assert!(out.exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&delta).unwrap()).unwrap();
    assert_eq!(json["added"].as_object().unwrap().len(), 3);
}

#[test]
fn graph_filter_prints_text_and_dot() {
    let dir = project_copy("large-app");
    let config = dir.path().join("soda-gql.config.ts");
    soda()
        .args(["build", "--graph-filter", "src/entities/*.ts", "--config"])
        .arg(&config)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("src/entities/product.ts")
                .and(predicate::str::contains("defines fragment")),
        );
    soda()
        .args([
            "build",
            "--graph-filter",
            "src/**",
            "--format",
            "dot",
            "--config",
        ])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("digraph modules {"));
}

fn wait_for_line(reader: &mut impl BufRead, needle: &str, timeout: Duration) -> String {
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < timeout {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if line.contains(needle) {
            return line;
        }
    }
    panic!("no line containing {needle:?} within {timeout:?}");
}

/// Kills the watcher if the test panics before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_artifact(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn watch_rebuilds_on_an_atomic_save_and_a_new_directory() {
    let dir = project_copy("small-app");
    let config = dir.path().join("soda-gql.config.ts");
    let artifact = dir.path().join(".cache/soda-gql/builder/artifact.json");
    let mut child = KillOnDrop(
        Command::cargo_bin("soda-builder")
            .unwrap()
            .args(["build", "--watch", "--debounce-ms", "100", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    wait_for_line(&mut stdout, "watching", Duration::from_secs(30));
    assert!(!read_artifact(&artifact).contains("\"listPrice\""));

    // An editor's atomic save: write a temp file, rename it over the original.
    let fragment = dir.path().join("src/entities/product.ts");
    let edited = std::fs::read_to_string(&fragment)
        .unwrap()
        .replace("    price\n", "    price\n    listPrice: price\n");
    let tmp = dir.path().join("src/entities/.product.ts.swp");
    std::fs::write(&tmp, edited).unwrap();
    std::fs::rename(&tmp, &fragment).unwrap();
    let line = wait_for_line(&mut stdout, "rebuilt:", Duration::from_secs(30));
    assert!(line.contains("recompiled"), "{line}");
    assert!(read_artifact(&artifact).contains("\"listPrice\""));

    // A new directory with a new operation in it.
    let feature = dir.path().join("src/features/extra");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(
        feature.join("extra.page.ts"),
        "import { gql } from \"../../../graphql-system\";\nimport { productFields } from \"../../entities/product\";\nexport const extra = gql.default(({ query }) => query(\"ExtraProducts\")`{ products { ...${productFields} } }`());\n",
    )
    .unwrap();
    // The directory and the file may land in two batches (a busy machine
    // can fire the debouncer between them): the rebuild that sees the file
    // is the one to wait for.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read_artifact(&artifact).contains("ExtraProducts") {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no rebuild picked up the new directory's file"
        );
        wait_for_line(&mut stdout, "rebuilt:", left);
    }

    // Ctrl-C stops it cleanly.
    Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
