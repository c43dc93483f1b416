//! A small hand-made run record shared by the exporter snapshot tests and
//! the shard tests.

use std::collections::BTreeMap;

use crate::model::{
    Direction, FixtureResult, GitInfo, MachineInfo, MetricKind, MetricSamples, RunRecord,
    ScenarioResult, RECORD_FORMAT_VERSION,
};

fn metric(unit: &str, kind: MetricKind, direction: Direction, samples: &[f64]) -> MetricSamples {
    MetricSamples {
        unit: unit.into(),
        kind,
        direction,
        samples: samples.to_vec(),
    }
}

fn scenario(name: &str, wall: &[f64], scale: f64) -> ScenarioResult {
    let n = wall.len();
    let timing = |unit: &str, values: Vec<f64>| {
        metric(
            unit,
            MetricKind::Timing,
            Direction::SmallerIsBetter,
            &values,
        )
    };
    let rss = [
        48_000.0, 48_210.0, 47_950.0, 48_100.0, 48_020.0, 48_330.0, 48_060.0,
    ];
    let mut metrics = BTreeMap::new();
    metrics.insert("wall_ms".into(), timing("ms", wall.to_vec()));
    metrics.insert(
        "cpu_ms".into(),
        timing("ms", wall.iter().map(|v| v * 0.9).collect()),
    );
    metrics.insert(
        "peak_rss_kib".into(),
        timing(
            "KiB",
            rss.iter().cycle().take(n).map(|v| v * scale).collect(),
        ),
    );
    metrics.insert(
        "alloc_total_bytes".into(),
        metric(
            "bytes",
            MetricKind::Deterministic,
            Direction::SmallerIsBetter,
            &vec![125_829_120.0 * scale; n],
        ),
    );
    metrics.insert(
        "cache_hits".into(),
        metric(
            "count",
            MetricKind::Deterministic,
            Direction::Informational,
            &vec![0.0; n],
        ),
    );
    metrics.insert(
        "cache_misses".into(),
        metric(
            "count",
            MetricKind::Deterministic,
            Direction::Informational,
            &vec![240.0; n],
        ),
    );
    metrics.insert(
        "phase.scan_ms".into(),
        timing("ms", wall.iter().map(|v| v * 0.25).collect()),
    );
    ScenarioResult {
        scenario: name.into(),
        iterations: n,
        warmup: 1,
        metrics,
        verified: None,
        notes: vec![],
    }
}

pub fn record() -> RunRecord {
    RunRecord {
        format_version: RECORD_FORMAT_VERSION,
        started_at: "2024-05-01T10:00:00Z".into(),
        machine: MachineInfo {
            key: "linux-x86_64-test-cpu-2c-24g".into(),
            os: "linux".into(),
            kernel: "6.1.0".into(),
            cpu_model: "Test CPU @ 2.0GHz".into(),
            cores: 2,
            memory_bytes: 24 << 30,
        },
        git: GitInfo {
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            branch: Some("main".into()),
            dirty: false,
        },
        harness_version: "0.1.0".into(),
        builder_version: "0.1.0".into(),
        fixtures: vec![FixtureResult {
            fixture: "small".into(),
            files: 120,
            scenarios: vec![
                scenario(
                    "cold",
                    &[
                        812.0, 798.5, 805.2, 830.1, 801.7, 809.9, 815.4, 803.3, 799.9, 808.6,
                    ],
                    1.0,
                ),
                // A noisy scenario: the table and markdown warn about it.
                scenario("warm", &[41.0, 55.3, 38.2, 61.9, 44.4, 35.0], 0.5),
            ],
        }],
    }
}
