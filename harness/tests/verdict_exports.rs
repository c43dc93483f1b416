//! `--export-json` of `check` and `compare`: the versioned verdict records
//! (rows, reasons, exit status), not the run record.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::json;

fn record(wall: &[f64], alloc: f64) -> serde_json::Value {
    json!({
        "format_version": 1,
        "started_at": "2025-01-02T03:04:05Z",
        "machine": {
            "key": "linux-x86_64-test-cpu-2c-24g", "os": "Linux", "kernel": "6.1",
            "cpu_model": "Test CPU", "cores": 2, "memory_bytes": 25_769_803_776u64
        },
        "git": { "commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main", "dirty": false },
        "harness_version": "0.1.0",
        "builder_version": "0.1.0",
        "fixtures": [{
            "fixture": "small-app", "files": 5,
            "scenarios": [{
                "scenario": "cold", "iterations": wall.len(), "warmup": 1,
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
fn check_export_json_carries_the_verdicts() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\n",
    )
    .unwrap();
    let base = workspace.path().join("base.json");
    let more_bytes = workspace.path().join("more-bytes.json");
    let walls: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i % 3)).collect();
    write_json(&base, &record(&walls, 1_000_000.0));
    write_json(&more_bytes, &record(&walls, 1_030_000.0));
    cargo_bin_cmd!("soda-perf")
        .args(["baseline", "save", "--name", "main", "--from"])
        .arg(&base)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success();
    let out = workspace.path().join("check.json");
    cargo_bin_cmd!("soda-perf")
        .args(["check", "--baseline", "main", "--quiet", "--from"])
        .arg(&more_bytes)
        .arg("--export-json")
        .arg(&out)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(1);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(value["format"], "soda-perf-check");
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["exit_code"], 1);
    assert_eq!(value["baseline"], "main");
    assert_eq!(value["counts"]["regressed"], 1);
    let rows = value["report"]["rows"].as_array().unwrap();
    let regressed = rows
        .iter()
        .find(|row| row["metric"]["verdict"] == "regressed")
        .unwrap();
    assert_eq!(regressed["metric"]["metric"], "alloc_total_bytes");
    assert!(!regressed["metric"]["reason"].as_str().unwrap().is_empty());
}

#[test]
fn compare_accepts_export_json() {
    // The flag exists (the usage guide promised it); a bad revision then
    // fails as a data error, not as a usage error from clap.
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\n",
    )
    .unwrap();
    let assert = cargo_bin_cmd!("soda-perf")
        .args([
            "compare",
            "--base",
            "no-such-revision-anywhere",
            "--fixture",
            "all",
            "--export-json",
            "out.json",
            "--root",
        ])
        .arg(workspace.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
}
