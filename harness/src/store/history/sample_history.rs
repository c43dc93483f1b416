//! A synthetic history for tests and the sample report.

use std::collections::BTreeMap;

use crate::model::{
    Direction, FixtureResult, GitInfo, MachineInfo, MetricKind, MetricSamples, RunRecord,
    ScenarioResult, RECORD_FORMAT_VERSION,
};
use crate::stats::rng::Xoshiro256StarStar;

fn metric(unit: &str, kind: MetricKind, samples: Vec<f64>) -> MetricSamples {
    MetricSamples {
        unit: unit.into(),
        kind,
        direction: Direction::SmallerIsBetter,
        samples,
    }
}

fn scenario(
    rng: &mut Xoshiro256StarStar,
    name: &str,
    wall_ms: f64,
    rss_mib: f64,
    alloc_mib: f64,
) -> ScenarioResult {
    let n = 15;
    let mut jitter = |center: f64, noise: f64| -> Vec<f64> {
        (0..n)
            .map(|_| center * (1.0 + noise * rng.standard_normal()))
            .collect()
    };
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "wall_ms".to_string(),
        metric("ms", MetricKind::Timing, jitter(wall_ms, 0.025)),
    );
    metrics.insert(
        "peak_rss_kib".to_string(),
        metric("KiB", MetricKind::Timing, jitter(rss_mib * 1024.0, 0.005)),
    );
    let mut informational = |name: &str, unit: &str, kind: MetricKind, values: Vec<f64>| {
        let mut m = metric(unit, kind, values);
        m.direction = Direction::Informational;
        metrics.insert(name.to_string(), m);
    };
    informational(
        "cpu_ms",
        "ms",
        MetricKind::Timing,
        jitter(wall_ms * 1.6, 0.04),
    );
    informational(
        "phase.scan_ms",
        "ms",
        MetricKind::Timing,
        jitter(wall_ms * 0.3, 0.05),
    );
    let hits = if name == "cold" { 0.0 } else { 100.0 };
    informational(
        "cache_hits",
        "count",
        MetricKind::Deterministic,
        vec![hits; n],
    );
    informational(
        "cache_misses",
        "count",
        MetricKind::Deterministic,
        vec![100.0 - hits; n],
    );
    metrics.insert(
        "alloc_total_bytes".to_string(),
        metric(
            "bytes",
            MetricKind::Deterministic,
            vec![alloc_mib * 1024.0 * 1024.0; n],
        ),
    );
    ScenarioResult {
        scenario: name.into(),
        iterations: n,
        warmup: 2,
        metrics,
        verified: None,
        notes: vec![],
    }
}

/// A stored check of `run` with the given gated rows (fixture, scenario,
/// metric, base median, change %, verdict), as `soda-perf check` stores it.
pub fn check_line(run: &RunRecord, rows: &[(&str, &str, &str, f64, f64, &str)]) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|(fixture, scenario, metric, base, change, verdict)| {
            format!(
                r#"{{"fixture":"{fixture}","scenario":"{scenario}","metric":{{"metric":"{metric}","unit":"ms","kind":"timing","direction":"smaller-is-better","base_median":{base},"head_median":{head},"change_pct":{change},"verdict":"{verdict}","reason":"the gate's reason"}}}}"#,
                head = base * (1.0 + change / 100.0)
            )
        })
        .collect();
    format!(
        r#"{{"format":"soda-perf-check","format_version":1,"started_at":"{}","baseline":"main","baseline_commit":"{}","report":{{"config":{{"threshold_pct":5.0,"alpha":0.01,"deterministic_tolerance_pct":1.0}},"rows":[{}],"missing":[]}}}}"#,
        run.started_at,
        run.git.commit.as_deref().unwrap_or(""),
        rows.join(",")
    )
}

/// `runs` nightly runs; the last one is 12% slower on `small/cold` and
/// allocates 8% more there.
pub fn history(runs: usize) -> Vec<RunRecord> {
    let mut rng = Xoshiro256StarStar::seed_from_u64(2024);
    (0..runs)
        .map(|i| {
            let last = i + 1 == runs;
            let drift = 1.0 - 0.01 * (i as f64 / 3.0).floor();
            let slowdown = if last { 1.12 } else { 1.0 };
            let alloc_growth = if last { 1.08 } else { 1.0 };
            RunRecord {
                format_version: RECORD_FORMAT_VERSION,
                // Nightly from 2024-05-01 (day 19844 since the epoch), 02:00 UTC.
                started_at: crate::model::format_rfc3339_utc(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::from_secs((19_844 + i as u64) * 86_400 + 7_200),
                ),
                machine: MachineInfo {
                    key: "linux-x86_64-epyc-7b13-2c-24g".into(),
                    os: "linux".into(),
                    kernel: "6.1.0".into(),
                    cpu_model: "AMD EPYC 7B13".into(),
                    cores: 2,
                    memory_bytes: 24 << 30,
                },
                git: GitInfo {
                    commit: Some(format!("{:07x}{:033x}", 0x1a2b3c0 + i * 0x1f1, i)),
                    branch: Some("main".into()),
                    dirty: false,
                },
                harness_version: "0.1.0".into(),
                builder_version: "0.1.0".into(),
                fixtures: vec![
                    FixtureResult {
                        fixture: "small".into(),
                        files: 120,
                        scenarios: vec![
                            scenario(
                                &mut rng,
                                "cold",
                                412.0 * drift * slowdown,
                                96.0,
                                180.0 * alloc_growth,
                            ),
                            scenario(&mut rng, "warm", 38.0 * drift, 71.0, 22.0),
                        ],
                    },
                    FixtureResult {
                        fixture: "large".into(),
                        files: 2400,
                        scenarios: vec![
                            scenario(&mut rng, "cold", 5210.0 * drift, 612.0, 2250.0),
                            scenario(&mut rng, "warm-session", 95.0 * drift, 540.0, 64.0),
                        ],
                    },
                ],
            }
        })
        .collect()
}
