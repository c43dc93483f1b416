//! The markdown of the largest suite there is — every generator preset and
//! committed fixture × every scenario × every metric, with a gate report of
//! hundreds of changed rows, built synthetically — fits a PR comment
//! (`MARKDOWN_BUDGET`, under GitHub's 65,536) and names both revisions.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use harness::export::markdown::MARKDOWN_BUDGET;
use harness::export::{export, ExportFormat, ExportInput};
use harness::fixtures::generate::GenerateSpec;
use harness::gate::verdict::{compare_fixtures, GateConfig};
use harness::measure::scenario::{metric_spec, MetricSpec};
use harness::model::{
    FixtureResult, GitInfo, MachineInfo, MetricSamples, RunRecord, ScenarioResult,
    RECORD_FORMAT_VERSION,
};
use harness::stats::BootstrapConfig;

const SCENARIOS: [&str; 5] = [
    "cold",
    "warm",
    "warm-session",
    "targeted-session",
    "targeted-process",
];

const METRICS: [&str; 25] = [
    "wall_ms",
    "cpu_ms",
    "user_ms",
    "sys_ms",
    "peak_rss_kib",
    "alloc_total_bytes",
    "alloc_peak_bytes",
    "jemalloc_resident_bytes",
    "instructions",
    "cache_hits",
    "cache_misses",
    "cache_skips",
    "files_scanned",
    "files_read",
    "files_analyzed",
    "control_ms",
    "control_cpu_ms",
    "phase.schema_ms",
    "phase.scan_ms",
    "phase.discover_ms",
    "phase.analyze_ms",
    "phase.graph_ms",
    "phase.emit_ms",
    "phase.artifact_ms",
    "phase.cache_write_ms",
];

/// A record of every fixture × scenario × metric; `shift(i)` scales the
/// i-th metric row, so the head can move many rows in both directions.
fn record(commit: &str, shift: impl Fn(usize) -> f64) -> RunRecord {
    let mut fixtures_names: Vec<String> = ["small-app", "medium-app", "large-app"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    fixtures_names.extend(GenerateSpec::presets().iter().map(|s| s.to_string()));
    let mut row = 0;
    let fixtures = fixtures_names
        .iter()
        .map(|fixture| FixtureResult {
            fixture: fixture.clone(),
            files: 5000,
            scenarios: SCENARIOS
                .iter()
                .map(|scenario| {
                    let metrics: BTreeMap<String, MetricSamples> = METRICS
                        .iter()
                        .map(|name| {
                            row += 1;
                            let MetricSpec {
                                unit,
                                kind,
                                direction,
                            } = metric_spec(name);
                            let scale = shift(row);
                            let samples = (0..30)
                                .map(|i| (1000.0 + f64::from(i % 7)) * scale)
                                .collect();
                            (
                                name.to_string(),
                                MetricSamples {
                                    unit: unit.to_string(),
                                    kind,
                                    direction,
                                    samples,
                                },
                            )
                        })
                        .collect();
                    ScenarioResult {
                        scenario: scenario.to_string(),
                        iterations: 30,
                        warmup: 1,
                        metrics,
                        verified: None,
                        notes: vec![],
                    }
                })
                .collect(),
        })
        .collect();
    RunRecord {
        format_version: RECORD_FORMAT_VERSION,
        started_at: "2026-01-02T03:04:05Z".into(),
        machine: MachineInfo {
            key: "linux-x86_64-test-cpu-2c-8g".into(),
            os: "linux".into(),
            kernel: "6.1".into(),
            cpu_model: "Test CPU".into(),
            cores: 2,
            memory_bytes: 8 << 30,
        },
        git: GitInfo {
            commit: Some(commit.into()),
            branch: Some("feature".into()),
            dirty: false,
        },
        harness_version: "0.1.0".into(),
        builder_version: "0.1.0".into(),
        fixtures,
    }
}

#[test]
fn the_largest_suite_fits_the_budget_and_names_both_revisions() {
    let base = record("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", |_| 1.0);
    // Every third row 30% slower, every fifth 30% faster, the rest equal.
    let head = record("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", |row| {
        if row % 3 == 0 {
            1.3
        } else if row % 5 == 0 {
            0.7
        } else {
            1.0
        }
    });
    // Few resamples: the intervals' precision is not what this test is about,
    // and 1,250 rows × 10,000 resamples take minutes in a debug build.
    let bootstrap = BootstrapConfig {
        resamples: 50,
        seed: BootstrapConfig::DEFAULT_SEED,
    };
    let config = GateConfig {
        bootstrap,
        ..GateConfig::default()
    };
    let gate = compare_fixtures(&base.fixtures, &head.fixtures, &config);
    let counts = gate.counts();
    assert!(gate.rows.len() >= 1000, "{} rows", gate.rows.len());
    assert!(counts.regressed > 100, "{counts:?}");
    let base_label = "main (aaaaaaaaaa)";
    let input = ExportInput::new(&head, Some(&gate), &bootstrap).with_base(base_label);
    let text = export(ExportFormat::Markdown, &input).unwrap();
    let chars = text.chars().count();
    assert!(chars <= MARKDOWN_BUDGET, "{chars} characters");
    assert!(
        chars > MARKDOWN_BUDGET / 2,
        "the suite is large enough to test the cut: {chars}"
    );
    let first = text.lines().next().unwrap();
    assert!(first.contains("head `bbbbbbbb`"), "{first}");
    assert!(first.contains(base_label), "{first}");
    // The verdict comes first, whatever was cut.
    assert!(text.contains("**Regression**"), "headline");
    assert_eq!(
        text.matches("<details>").count(),
        text.matches("</details>").count(),
        "every fold closed"
    );
}
