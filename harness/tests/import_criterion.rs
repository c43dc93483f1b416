//! `soda-perf import criterion DIR`: criterion's results land in the
//! history as fixture `micro`, readable beside the macro runs (and beside
//! lines of the older record format).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn criterion_results_join_the_history() {
    let workspace = tempfile::tempdir().unwrap();
    write(
        &workspace.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\n",
    );
    let criterion = workspace.path().join("target/criterion");
    let estimate = |v: f64| {
        format!(
            r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{v},"standard_error":1.0}}"#,
            v * 0.9,
            v * 1.1
        )
    };
    let estimates = format!(
        r#"{{"mean":{e},"median":{e},"median_abs_dev":{e},"slope":null,"std_dev":{e}}}"#,
        e = estimate(3_000_000.0)
    );
    write(
        &criterion.join("clean_build/new/estimates.json"),
        &estimates,
    );
    write(
        &criterion.join("clean_build/new/sample.json"),
        r#"{"sampling_mode":"Linear","iters":[1.0,1.0,1.0],"times":[3000000.0,3100000.0,2900000.0]}"#,
    );
    cargo_bin_cmd!("soda-perf")
        .args(["import", "criterion", "--history", "--quiet", "--root"])
        .arg(workspace.path())
        .assert()
        .success()
        .stdout(predicates::str::contains("clean_build"));
    let history_dir = workspace.path().join("reports/history");
    let history = std::fs::read_dir(&history_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    // An older line (record format 1: the run record as JSON) stays readable.
    let old = r#"{"format_version":1,"started_at":"2025-01-01T00:00:00Z","machine":{"key":"k","os":"Linux","kernel":"6","cpu_model":"c","cores":2,"memory_bytes":1},"git":{"commit":null,"branch":null,"dirty":false},"harness_version":"0.1.0","builder_version":"0.1.0","fixtures":[]}"#;
    let text = std::fs::read_to_string(&history).unwrap();
    std::fs::write(&history, format!("{old}\n{text}")).unwrap();
    let read = harness::store::history::read_history(&history).unwrap();
    assert_eq!(read.records.len(), 2, "{:?}", read.warnings(&history));
    let micro = &read.records[1].fixtures[0];
    assert_eq!(micro.fixture, "micro");
    let wall = &micro.scenarios[0].metrics["wall_ms"].samples;
    assert_eq!(wall, &vec![3.0, 3.1, 2.9]);
    // The trend report renders the micro results with the rest.
    let out = workspace.path().join("trend.html");
    cargo_bin_cmd!("soda-perf")
        .args(["report", "--quiet", "--history"])
        .arg(&history)
        .arg("--out")
        .arg(&out)
        .arg("--root")
        .arg(workspace.path())
        .assert()
        .success();
    assert!(std::fs::read_to_string(&out).unwrap().contains("micro"));
}
