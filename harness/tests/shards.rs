//! `run --shard i/n` × n and `merge`: the merged record has the structure
//! of an unsharded run of the same plan (same fixtures, scenarios, metrics
//! and sample counts), measured for real on the smallest committed fixture.
#![cfg(feature = "worker")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One row of a record: fixture, scenario, and each metric's sample count.
type Row = (String, String, Vec<(String, usize)>);

/// Every row of a record, in record order.
fn structure(path: &Path) -> Vec<Row> {
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for fixture in record["fixtures"].as_array().unwrap() {
        for scenario in fixture["scenarios"].as_array().unwrap() {
            let metrics = scenario["metrics"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, m)| (name.clone(), m["samples"].as_array().unwrap().len()))
                .collect();
            out.push((
                fixture["fixture"].as_str().unwrap().to_string(),
                scenario["scenario"].as_str().unwrap().to_string(),
                metrics,
            ));
        }
    }
    out
}

#[test]
fn sharded_runs_merge_into_the_unsharded_structure() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\n",
    )
    .unwrap();
    std::fs::create_dir_all(workspace.path().join("fixtures")).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("fixtures/small-app"))
        .arg(workspace.path().join("fixtures"))
        .status()
        .unwrap();
    assert!(status.success());
    let suite = [
        "--fixture",
        "small-app",
        "--scenario",
        "cold,warm,warm-session",
        "--iterations",
        "2",
        "--warmup",
        "0",
        "--no-verify",
        "--no-calibrate",
        "--quiet",
    ];
    let run = |extra: &[&str], out: &Path| {
        cargo_bin_cmd!("soda-perf")
            .arg("run")
            .args(suite)
            .args(extra)
            .arg("--export-json")
            .arg(out)
            .arg("--root")
            .arg(workspace.path())
            .assert()
            .success();
    };
    let whole = workspace.path().join("whole.json");
    run(&[], &whole);
    let shards: Vec<PathBuf> = (1..=2)
        .map(|i| workspace.path().join(format!("shard{i}.json")))
        .collect();
    for (i, path) in shards.iter().enumerate() {
        run(&["--shard", &format!("{}/2", i + 1)], path);
    }
    // A shard alone is a part: merging it without the others is refused.
    cargo_bin_cmd!("soda-perf")
        .arg("merge")
        .arg(&shards[0])
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing"));
    let merged = workspace.path().join("merged.json");
    cargo_bin_cmd!("soda-perf")
        .arg("merge")
        .args(shards.iter().rev())
        .arg("--history")
        .arg("--out")
        .arg(&merged)
        .arg("--quiet")
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success();
    let shard_rows: usize = shards.iter().map(|s| structure(s).len()).sum();
    assert_eq!(shard_rows, 3, "the shards split the plan");
    assert_eq!(structure(&merged), structure(&whole));
    // Only the merge reached the history: one run, not three.
    let history = std::fs::read_dir(workspace.path().join("reports/history"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    assert_eq!(std::fs::read_to_string(history).unwrap().lines().count(), 1);
}
