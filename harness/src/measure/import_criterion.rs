//! Criterion results as a run record (`soda-perf import criterion DIR`), so
//! micro-benchmarks (`builder/benches/`) and macro runs share the history
//! and the trend report. Every benchmark directory holding
//! `new/estimates.json` becomes one scenario of the fixture [`MICRO_FIXTURE`]
//! named by its id (`clean_build`, `group/function`); its `wall_ms` samples
//! are the per-iteration times of `new/sample.json` (time / iterations of
//! each criterion sample), or the median point estimate alone when that file
//! is absent. The median and its interval from `estimates.json` go into a
//! note. No IO beyond reading the directory; the history line is the usual
//! format 2, so older lines and readers are untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{Direction, MetricKind, MetricSamples, ScenarioResult};

/// The fixture name micro-benchmarks are filed under.
pub const MICRO_FIXTURE: &str = "micro";

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not criterion's {what}: {source}", path.display())]
    Parse {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("no criterion results under {}: run `cargo bench -p builder` first (it writes target/criterion/<bench>/new/estimates.json)", dir.display())]
    Empty { dir: PathBuf },
}

#[derive(Debug, Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Debug, Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Debug, Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Debug, Deserialize)]
struct Sample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Every benchmark under `dir` (criterion's output directory), sorted by id.
pub fn read_criterion_dir(dir: &Path) -> Result<Vec<ScenarioResult>, ImportError> {
    let mut found = Vec::new();
    collect(dir, dir, &mut found)?;
    if found.is_empty() {
        return Err(ImportError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    found.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    Ok(found)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<ScenarioResult>) -> Result<(), ImportError> {
    let estimates = dir.join("new").join("estimates.json");
    if estimates.is_file() {
        let id = dir
            .strip_prefix(root)
            .unwrap_or(dir)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        out.push(benchmark(
            &id,
            &estimates,
            &dir.join("new").join("sample.json"),
        )?);
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        // `report/` holds criterion's HTML, never results.
        if path.is_dir() && entry.file_name() != "report" {
            collect(root, &path, out)?;
        }
    }
    Ok(())
}

/// One benchmark: nanoseconds in criterion's files, milliseconds here.
fn benchmark(id: &str, estimates: &Path, sample: &Path) -> Result<ScenarioResult, ImportError> {
    let parsed: Estimates =
        serde_json::from_str(&read(estimates)?).map_err(|source| ImportError::Parse {
            path: estimates.to_path_buf(),
            what: "estimates.json",
            source,
        })?;
    const NS_PER_MS: f64 = 1e6;
    let median = &parsed.median;
    let samples: Vec<f64> = if sample.is_file() {
        let parsed: Sample =
            serde_json::from_str(&read(sample)?).map_err(|source| ImportError::Parse {
                path: sample.to_path_buf(),
                what: "sample.json",
                source,
            })?;
        parsed
            .iter_times()
            .map(|per_iter| per_iter / NS_PER_MS)
            .collect()
    } else {
        vec![median.point_estimate / NS_PER_MS]
    };
    let mut metrics = BTreeMap::new();
    metrics.insert(
        crate::model::metric_names::WALL_MS.to_string(),
        MetricSamples {
            unit: "ms".into(),
            kind: MetricKind::Timing,
            direction: Direction::SmallerIsBetter,
            samples: samples.clone(),
        },
    );
    Ok(ScenarioResult {
        scenario: id.to_string(),
        iterations: samples.len(),
        warmup: 0,
        metrics,
        verified: None,
        notes: vec![format!(
            "criterion: median {:.6} ms [{:.6}, {:.6}] (estimates.json)",
            median.point_estimate / NS_PER_MS,
            median.confidence_interval.lower_bound / NS_PER_MS,
            median.confidence_interval.upper_bound / NS_PER_MS
        )],
    })
}

impl Sample {
    /// Time per iteration of each criterion sample, in nanoseconds.
    fn iter_times(&self) -> impl Iterator<Item = f64> + '_ {
        self.iters
            .iter()
            .zip(&self.times)
            .filter(|(iters, _)| **iters > 0.0)
            .map(|(iters, time)| time / iters)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn estimates(median_ns: f64) -> String {
        let e = |v: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{v},"standard_error":1.0}}"#,
                v * 0.9,
                v * 1.1
            )
        };
        format!(
            r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":null,"std_dev":{}}}"#,
            e(median_ns),
            e(median_ns),
            e(1.0),
            e(1.0)
        )
    }

    #[test]
    fn reads_estimates_and_samples_of_every_benchmark() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("clean_build/new/estimates.json"),
            &estimates(2_000_000.0),
        );
        write(
            &root.join("clean_build/new/sample.json"),
            r#"{"sampling_mode":"Linear","iters":[1.0,2.0,4.0],"times":[2000000.0,4200000.0,7600000.0]}"#,
        );
        write(
            &root.join("group/analyze/new/estimates.json"),
            &estimates(50_000.0),
        );
        // Criterion's HTML and the previous run's results are not benchmarks.
        write(&root.join("report/index.html"), "<html>");
        write(
            &root.join("clean_build/base/estimates.json"),
            &estimates(1.0),
        );
        let scenarios = read_criterion_dir(root).unwrap();
        let ids: Vec<&str> = scenarios.iter().map(|s| s.scenario.as_str()).collect();
        assert_eq!(ids, ["clean_build", "group/analyze"]);
        let wall = &scenarios[0].metrics["wall_ms"];
        assert_eq!(wall.samples, vec![2.0, 2.1, 1.9]);
        assert_eq!(scenarios[1].metrics["wall_ms"].samples, vec![0.05]);
        assert!(scenarios[1].notes[0].contains("median 0.050000 ms"));
    }

    #[test]
    fn an_empty_directory_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_criterion_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("cargo bench"), "{err}");
    }
}
