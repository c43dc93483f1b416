//! End-to-end tests of the `soda-perf` command line: exit codes, messages,
//! files written. Tests that measure for real need the builder and sit
//! behind the `worker` feature.
// Test helpers outside `#[test]` functions are not covered by clippy.toml's
// allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::json;

/// The repository root (fixtures, Cargo workspace).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An empty workspace: a `[workspace]` Cargo.toml and nothing else.
fn empty_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    dir
}

/// A run record with one fixture × scenario whose wall times are `wall`.
fn record(wall: &[f64], alloc: f64) -> serde_json::Value {
    json!({
        "format_version": 1,
        "started_at": "2025-01-02T03:04:05Z",
        "machine": {
            "key": "linux-x86_64-test-cpu-2c-24g",
            "os": "Linux",
            "kernel": "6.1",
            "cpu_model": "Test CPU",
            "cores": 2,
            "memory_bytes": 25_769_803_776u64
        },
        "git": { "commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main", "dirty": false },
        "harness_version": "0.1.0",
        "builder_version": "0.1.0",
        "fixtures": [{
            "fixture": "small-app",
            "files": 5,
            "scenarios": [{
                "scenario": "cold",
                "iterations": wall.len(),
                "warmup": 1,
                "metrics": {
                    "wall_ms": { "unit": "ms", "kind": "timing", "direction": "smaller-is-better", "samples": wall },
                    "alloc_total_bytes": {
                        "unit": "bytes", "kind": "deterministic", "direction": "smaller-is-better",
                        "samples": vec![alloc; wall.len()]
                    }
                }
            }]
        }]
    })
}

fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

#[test]
fn help_lists_the_subcommands() {
    cargo_bin_cmd!("soda-perf")
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run"))
        .stdout(predicate::str::contains("compare"))
        .stdout(predicate::str::contains("check"))
        // The measured child's subcommand is internal.
        .stdout(predicate::str::is_match(r"(?m)^\s+worker\s").unwrap().not());
}

#[test]
fn unknown_fixture_exits_2_and_lists_valid_names() {
    cargo_bin_cmd!("soda-perf")
        .args([
            "run",
            "--fixture",
            "no-such-app",
            "--quiet",
            "--no-history",
            "--root",
        ])
        .arg(repo_root())
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains("unknown fixture `no-such-app`"))
        .stderr(predicate::str::contains("small-app"))
        .stderr(predicate::str::contains("large-app"));
}

#[test]
fn unknown_scenario_exits_2_and_lists_valid_ones() {
    cargo_bin_cmd!("soda-perf")
        .args([
            "run",
            "--scenario",
            "lukewarm",
            "--quiet",
            "--no-history",
            "--root",
        ])
        .arg(repo_root())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`lukewarm`"))
        .stderr(predicate::str::contains("warm-session"));
}

#[test]
fn bad_arguments_exit_2() {
    cargo_bin_cmd!("soda-perf")
        .args(["run", "--iterations", "zero"])
        .assert()
        .code(2);
    cargo_bin_cmd!("soda-perf")
        .arg("no-such-command")
        .assert()
        .code(2);
}

#[test]
fn check_without_a_baseline_exits_2_with_a_hint() {
    let workspace = empty_workspace();
    cargo_bin_cmd!("soda-perf")
        .args(["check", "--baseline", "main", "--quiet", "--root"])
        .arg(workspace.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no baseline named `main`"))
        .stderr(predicate::str::contains(
            "soda-perf baseline save --name main",
        ));
}

#[test]
fn check_with_a_corrupt_metrics_file_exits_2() {
    let workspace = empty_workspace();
    let metrics = workspace.path().join("metrics.json");
    std::fs::write(&metrics, "{ this is not json").unwrap();
    cargo_bin_cmd!("soda-perf")
        .args(["check", "--quiet", "--from"])
        .arg(&metrics)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("metrics.json"));
}

#[test]
fn check_gates_with_exit_codes_0_and_1() {
    let workspace = empty_workspace();
    let base = workspace.path().join("base.json");
    let same = workspace.path().join("same.json");
    let slower = workspace.path().join("slower.json");
    let walls: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i % 3)).collect();
    write_json(&base, &record(&walls, 1_000_000.0));
    write_json(&same, &record(&walls, 1_000_000.0));
    let slow_walls: Vec<f64> = walls.iter().map(|w| w * 1.3).collect();
    write_json(&slower, &record(&slow_walls, 1_000_000.0));
    let more_bytes = workspace.path().join("more-bytes.json");
    write_json(&more_bytes, &record(&walls, 1_030_000.0));

    cargo_bin_cmd!("soda-perf")
        .args(["baseline", "save", "--name", "main", "--from"])
        .arg(&base)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("saved baseline `main`"));
    assert!(workspace
        .path()
        .join("reports/baselines/linux-x86_64-test-cpu-2c-24g/main/small-app/cold.json")
        .is_file());

    cargo_bin_cmd!("soda-perf")
        .args(["check", "--baseline", "main", "--from"])
        .arg(&same)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("RESULT: no regression"));

    // Stored timings alone never regress: 30% slower is inconclusive until interleaved.
    cargo_bin_cmd!("soda-perf")
        .args(["check", "--baseline", "main", "--from"])
        .arg(&slower)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("small-app/cold/wall_ms"))
        .stdout(predicate::str::contains("not interleaved"));

    // Deterministic counts are gated directly: 3% more bytes regress.
    let markdown = workspace.path().join("gate.md");
    cargo_bin_cmd!("soda-perf")
        .args(["check", "--baseline", "main", "--from"])
        .arg(&more_bytes)
        .arg("--export-markdown")
        .arg(&markdown)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REGRESSED"))
        .stdout(predicate::str::contains("alloc_total_bytes"));
    assert!(std::fs::read_to_string(&markdown)
        .unwrap()
        .contains("regressed"));

    cargo_bin_cmd!("soda-perf")
        .args(["baseline", "list", "--root"])
        .arg(workspace.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("linux-x86_64-test-cpu-2c-24g"));
}

#[test]
fn check_uses_another_machines_baseline_and_says_so() {
    let workspace = empty_workspace();
    let base = workspace.path().join("base.json");
    let walls = [100.0, 101.0, 99.0, 100.0, 100.5];
    write_json(&base, &record(&walls, 10.0));
    cargo_bin_cmd!("soda-perf")
        .args(["baseline", "save", "--from"])
        .arg(&base)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success();
    let mut other = record(&walls, 10.0);
    other["machine"]["key"] = json!("linux-aarch64-other-cpu-8c-64g");
    let head = workspace.path().join("head.json");
    write_json(&head, &other);
    cargo_bin_cmd!("soda-perf")
        .args(["check", "--from"])
        .arg(&head)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "every timing row is decided by interleaving",
        ));
}

#[test]
fn generate_writes_a_project() {
    let out = tempfile::tempdir().unwrap();
    let project = out.path().join("small");
    cargo_bin_cmd!("soda-perf")
        .args(["generate", "--preset", "small", "--out"])
        .arg(&project)
        .assert()
        .success()
        .stdout(predicate::str::contains("generated `small`"));
    assert!(project.join("soda-gql.config.ts").is_file());
    assert!(project.join("schema.graphql").is_file() || project.join("src").is_dir());
    // A second run reuses the identical project.
    cargo_bin_cmd!("soda-perf")
        .args(["generate", "--preset", "small", "--out"])
        .arg(&project)
        .assert()
        .success()
        .stdout(predicate::str::contains("reused"));
}

#[test]
fn generate_refuses_unknown_presets() {
    cargo_bin_cmd!("soda-perf")
        .args([
            "generate",
            "--preset",
            "gigantic",
            "--out",
            "/nonexistent/x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown preset `gigantic`"))
        .stderr(predicate::str::contains("medium"));
}

#[test]
fn report_survives_a_corrupt_history_file() {
    let workspace = empty_workspace();
    let history = workspace.path().join("history.jsonl");
    let good = serde_json::to_string(&record(&[100.0, 101.0, 102.0], 5.0)).unwrap();
    std::fs::write(
        &history,
        format!("{good}\nthis is not json\n{{\"format_version\":1,\"started_at\":\n"),
    )
    .unwrap();
    let out = workspace.path().join("trend.html");
    cargo_bin_cmd!("soda-perf")
        .args(["report", "--history"])
        .arg(&history)
        .arg("--out")
        .arg(&out)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("skipped"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<html"), "{html}");
}

#[test]
fn report_of_a_missing_history_is_an_empty_report() {
    let workspace = empty_workspace();
    let out = workspace.path().join("trend.html");
    cargo_bin_cmd!("soda-perf")
        .args(["report", "--history"])
        .arg(workspace.path().join("none.jsonl"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(out.is_file());
}

#[test]
fn worker_with_a_bad_request_prints_a_failure_report() {
    cargo_bin_cmd!("soda-perf")
        .args(["worker", "{not json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("@@soda-perf-report@@"))
        .stdout(predicate::str::contains("\"ok\":false"));
}

/// A real measurement of the smallest committed fixture, end to end.
#[cfg(feature = "worker")]
#[test]
fn run_measures_a_fixture_and_writes_metrics() {
    let root = repo_root();
    let workspace = empty_workspace();
    // The repository's fixtures, a scratch workspace for outputs.
    std::fs::create_dir_all(workspace.path().join("fixtures")).unwrap();
    let copy = |name: &str| {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(root.join("fixtures").join(name))
            .arg(workspace.path().join("fixtures"))
            .status()
            .unwrap();
        assert!(status.success());
    };
    copy("small-app");
    let json_out = workspace.path().join("out.json");
    cargo_bin_cmd!("soda-perf")
        .args([
            "run",
            "--fixture",
            "small-app",
            "--scenario",
            "cold,warm-session,targeted",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--quiet",
            "--history",
            "--export-json",
        ])
        .arg(&json_out)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("small-app"))
        .stdout(predicate::str::contains("targeted-process"));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap()).unwrap();
    let scenarios = record["fixtures"][0]["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 4);
    for scenario in scenarios {
        assert_eq!(
            scenario["metrics"]["wall_ms"]["samples"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(
            scenario["metrics"]["alloc_total_bytes"]["samples"][0]
                .as_f64()
                .unwrap()
                > 0.0
        );
        if scenario["scenario"]
            .as_str()
            .unwrap()
            .starts_with("targeted")
        {
            assert_eq!(scenario["verified"], json!(true), "{scenario}");
        }
    }
    let history_dir = workspace.path().join("reports/history");
    let histories = std::fs::read_dir(history_dir)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "jsonl")
        })
        .count();
    assert_eq!(histories, 1);
}

/// The README's main job leaves the tree as it was: without `--history`,
/// `run` writes nothing under reports/ (those files are tracked by git).
#[cfg(feature = "worker")]
#[test]
fn run_without_history_writes_nothing_under_reports() {
    let root = repo_root();
    let workspace = empty_workspace();
    std::fs::create_dir_all(workspace.path().join("fixtures")).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(root.join("fixtures").join("small-app"))
        .arg(workspace.path().join("fixtures"))
        .status()
        .unwrap();
    assert!(status.success());
    cargo_bin_cmd!("soda-perf")
        .args([
            "run",
            "--fixture",
            "small-app",
            "--scenario",
            "cold",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--root",
        ])
        .arg(workspace.path())
        .assert()
        .success();
    assert!(
        !workspace.path().join("reports/history").exists(),
        "a run without --history wrote a history"
    );
}
