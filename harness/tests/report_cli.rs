//! `soda-perf report` end to end: the window options, the stored verdicts
//! and a comparison, on histories written by the test.
// Test helpers outside `#[test]` functions are not covered by clippy.toml's
// allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::json;

const MACHINE: &str = "linux-x86_64-test-cpu-2c-24g";

/// A run on `day` (of May 2024) with one fixture × scenario.
fn record(day: u32, wall: f64) -> serde_json::Value {
    let samples: Vec<f64> = (0..5).map(|i| wall + f64::from(i)).collect();
    json!({
        "format_version": 1,
        "started_at": format!("2024-05-{day:02}T02:00:00Z"),
        "machine": {"key": MACHINE, "os": "Linux", "kernel": "6.1", "cpu_model": "Test CPU",
                    "cores": 2, "memory_bytes": 25_769_803_776u64},
        "git": {"commit": format!("{day:02}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "branch": "main", "dirty": false},
        "harness_version": "0.1.0",
        "builder_version": "0.1.0",
        "fixtures": [{"fixture": "small-app", "files": 5, "scenarios": [{
            "scenario": "cold", "iterations": 5, "warmup": 1,
            "metrics": {
                "wall_ms": {"unit": "ms", "kind": "timing", "direction": "smaller-is-better", "samples": samples},
                "phase.scan_ms": {"unit": "ms", "kind": "timing", "direction": "informational", "samples": [1.0, 1.1, 1.2, 1.0, 1.1]}
            }
        }]}]
    })
}

/// `days` runs, one a day from May 1st, in `<dir>/history/<machine>.jsonl`.
fn write_history(dir: &Path, days: u32) -> std::path::PathBuf {
    let history = dir.join("history").join(format!("{MACHINE}.jsonl"));
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    let lines: Vec<String> = (1..=days)
        .map(|d| serde_json::to_string(&record(d, 100.0)).unwrap())
        .collect();
    std::fs::write(&history, lines.join("\n") + "\n").unwrap();
    history
}

fn report(history: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("soda-perf")
        .args(["report", "--history"])
        .arg(history)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

#[test]
fn last_draws_only_the_most_recent_runs() {
    let dir = tempfile::tempdir().unwrap();
    let history = write_history(dir.path(), 10);
    let out = dir.path().join("trend.html");
    report(&history, &out, &["--last", "3"])
        .success()
        .stdout(predicate::str::contains("3 of 10 run(s)"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("3 of 10 runs"));
    assert!(html.contains("2024-05-08 → 2024-05-10"));
}

#[test]
fn since_draws_the_runs_from_a_date() {
    let dir = tempfile::tempdir().unwrap();
    let history = write_history(dir.path(), 10);
    let out = dir.path().join("trend.html");
    report(&history, &out, &["--since", "2024-05-06"])
        .success()
        .stdout(predicate::str::contains("5 of 10 run(s)"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("2024-05-06 → 2024-05-10"));
}

#[test]
fn bad_windows_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let history = write_history(dir.path(), 2);
    let out = dir.path().join("trend.html");
    report(&history, &out, &["--since", "May 1st"])
        .code(2)
        .stderr(predicate::str::contains("YYYY-MM-DD"));
    report(&history, &out, &["--last", "0"]).code(2);
    assert!(!out.exists());
}

#[test]
fn the_stored_verdict_is_shown_and_never_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let history = write_history(dir.path(), 4);
    let out = dir.path().join("trend.html");
    // No stored verdict: the report says so and judges nothing.
    report(&history, &out, &[]).success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("no verdict recorded"));
    assert!(!html.contains("gate failed"));
    // A stored check of the latest run.
    let check = json!({
        "format": "soda-perf-check", "format_version": 1,
        "started_at": "2024-05-04T02:00:00Z", "baseline": "main",
        "report": {"config": {"threshold_pct": 5.0, "deterministic_tolerance_pct": 1.0},
                   "rows": [{"fixture": "small-app", "scenario": "cold", "metric": {
                       "metric": "wall_ms", "unit": "ms", "kind": "timing", "direction": "smaller-is-better",
                       "base_median": 90.0, "head_median": 102.0, "change_pct": 13.3,
                       "verdict": "regressed", "reason": "slower in 12 of 12 pairs"}}]}
    });
    let checks = history.with_file_name(format!("{MACHINE}.checks.jsonl"));
    std::fs::write(&checks, serde_json::to_string(&check).unwrap() + "\n").unwrap();
    report(&history, &out, &[]).success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("the gate failed against baseline <b>main</b>"),
        "{html}"
    );
    assert!(html.contains("slower in 12 of 12 pairs"));
}

#[test]
fn a_comparison_file_gets_its_section() {
    let dir = tempfile::tempdir().unwrap();
    let history = write_history(dir.path(), 2);
    let compare = dir.path().join("compare.json");
    std::fs::write(
        &compare,
        serde_json::to_string(&json!({"base": record(1, 100.0), "head": record(2, 120.0)}))
            .unwrap(),
    )
    .unwrap();
    let out = dir.path().join("trend.html");
    report(&history, &out, &["--compare", compare.to_str().unwrap()]).success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<section id=\"comparison\">"));
    assert!(html.contains("class=\"strip\""));
    report(&history, &out, &["--compare", "/nonexistent/compare"])
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
}
