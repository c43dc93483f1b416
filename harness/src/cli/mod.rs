//! The `soda-perf` command line: one file per subcommand (its arguments,
//! clap derive, and its function), `common.rs` for what they share and
//! `suite.rs` for running the measurement suite. [`run`] is the whole
//! program: parse, dispatch, turn the outcome into an exit code (0 clean,
//! 1 regression, 2 error). `anyhow` lives here and nowhere below.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod baseline;
mod check;
mod common;
mod compare;
mod generate;
mod import;
mod merge;
mod report;
mod run;
mod selftest;
mod suite;
mod worker;

pub use baseline::{BaselineCommand, BaselineListArgs, BaselineSaveArgs};
pub use check::CheckArgs;
pub use common::{CommonArgs, ExportArgs, PairedArgs, SuiteArgs};
pub use compare::CompareArgs;
pub use generate::GenerateArgs;
pub use report::ReportArgs;
pub use run::RunArgs;
pub use selftest::SelftestArgs;
pub use worker::WorkerArgs;

/// Where runs keep their per-run output, relative to the workspace root.
pub const RUNS_DIR: &str = ".cache/perf";

/// Where baselines and history live, relative to the workspace root.
pub const REPORTS_DIR: &str = "reports";

#[derive(Debug, Parser)]
#[command(
    name = "soda-perf",
    version,
    about = "Measures the soda-gql builder in isolated child processes, keeps baselines and history, gates regressions",
    after_help = "Exit codes: 0 success, 1 a metric regressed (check, compare), 2 usage or data error.\n\
                  Guide: docs/guides/harness-usage.md"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure fixtures × scenarios; print a table, save metrics.json, append to history.
    Run(RunArgs),
    /// Write a synthetic fixture project from a preset (optionally resized).
    Generate(GenerateArgs),
    /// Save or list named baselines.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Gate: screen a run against a baseline, decide suspects by an
    /// interleaved A/B run against the baseline commit's binary; exit 1 on a regression.
    Check(CheckArgs),
    /// Measure the gate's own false-alarm and detection rates on this machine.
    Selftest(SelftestArgs),
    /// Compare two revisions, running their workers alternately.
    Compare(CompareArgs),
    /// Render the HTML trend report from the run history.
    Report(ReportArgs),
    /// Join the metrics.json of every `run --shard i/n` into one run record.
    Merge(merge::MergeArgs),
    /// Import results of other tools into the history (criterion micro-benchmarks).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// The measured child process (internal).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// How a successful command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Regression,
}

/// The whole program: parse, dispatch, exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::cmd_run(&args),
        Command::Generate(args) => generate::cmd_generate(&args),
        Command::Baseline(BaselineCommand::Save(args)) => baseline::cmd_baseline_save(&args),
        Command::Baseline(BaselineCommand::List(args)) => baseline::cmd_baseline_list(&args),
        Command::Check(args) => check::cmd_check(&args),
        Command::Selftest(args) => selftest::cmd_selftest(&args),
        Command::Compare(args) => compare::cmd_compare(&args),
        Command::Report(args) => report::cmd_report(&args),
        Command::Merge(args) => merge::cmd_merge(&args),
        Command::Import(command) => import::cmd_import(&command),
        Command::Worker(args) => return worker::cmd_worker(&args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Regression) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::common::*;
    use super::suite::*;
    use super::*;
    use crate::export::ExportFormat;
    use crate::fixtures::{self, FixtureLocation};
    use crate::measure::machine::detect_machine;
    use crate::measure::protocol::WorkerScenario;
    use crate::measure::scenario::{self, ScenarioOptions};
    use crate::model::RECORD_FORMAT_VERSION;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults() {
        let cli = Cli::try_parse_from(["soda-perf", "run"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        assert_eq!(args.suite.fixture, "all");
        assert_eq!(args.suite.scenario, "all");
        assert_eq!(args.suite.iterations, 10);
        assert_eq!(args.suite.warmup, 1);
        assert!(!args.suite.instructions);
    }

    #[test]
    fn a_negative_threshold_parses_and_is_refused_by_validation() {
        let cli = Cli::try_parse_from(["soda-perf", "check", "--threshold", "-5"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("check")
        };
        assert_eq!(args.threshold, -5.0);
        let err = gate_config(args.threshold).unwrap_err();
        assert!(format!("{err:#}").contains("non-negative"), "{err:#}");
    }

    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || command.is_hide_set() {
                    continue;
                }
                assert!(
                    arg.get_help().is_some() || arg.get_long_help().is_some(),
                    "{path} --{id} has no help"
                );
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "soda-perf");
    }

    #[test]
    fn metrics_json_carries_summaries_beside_the_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        let mut record = new_record("2025-01-02T03:04:05Z", detect_machine(), dir.path());
        record.fixtures.push(crate::model::FixtureResult {
            fixture: "f".into(),
            files: 1,
            scenarios: vec![crate::model::ScenarioResult {
                scenario: "cold".into(),
                iterations: 3,
                warmup: 0,
                metrics: [(
                    "wall_ms".to_string(),
                    crate::model::MetricSamples {
                        unit: "ms".into(),
                        kind: crate::model::MetricKind::Timing,
                        direction: crate::model::Direction::SmallerIsBetter,
                        samples: vec![1.0, 2.0, 4.0],
                    },
                )]
                .into(),
                verified: None,
                notes: vec![],
            }],
        });
        write_record(&path, &record).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let metric = &json["fixtures"][0]["scenarios"][0]["metrics"]["wall_ms"];
        assert_eq!(metric["samples"].as_array().unwrap().len(), 3);
        assert_eq!(metric["summary"]["n"], 3);
        assert_eq!(metric["summary"]["median"], 2.0);
        assert_eq!(metric["summary"]["mad"], 1.0);
        assert!(metric["summary"]["cv"].as_f64().unwrap() > 0.0);
        assert!(metric["summary"]["ci95_median"]["lower"].as_f64().unwrap() <= 2.0);
        assert_eq!(read_record(&path).unwrap(), record);
    }

    #[test]
    fn pair_defaults_are_the_paired_configs() {
        let cli = Cli::try_parse_from(["soda-perf", "check"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("check")
        };
        assert_eq!(args.paired.config(), crate::gate::PairedConfig::default());
    }

    #[test]
    fn zero_iterations_are_refused() {
        assert!(Cli::try_parse_from(["soda-perf", "run", "--iterations", "0"]).is_err());
    }

    #[test]
    fn exports_are_collected() {
        let cli = Cli::try_parse_from([
            "soda-perf",
            "run",
            "--export-json",
            "a.json",
            "--export-github",
            "g.json",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        let formats: Vec<_> = args
            .exports
            .requested()
            .into_iter()
            .map(|(format, _)| format)
            .collect();
        assert_eq!(formats, vec![ExportFormat::Json, ExportFormat::Github]);
    }

    #[test]
    fn steps_count_every_worker_run() {
        let plan = SuitePlan {
            fixtures: Vec::new(),
            scenarios: vec![WorkerScenario::Cold, WorkerScenario::Warm],
            options: ScenarioOptions {
                iterations: 5,
                warmup: 2,
                instructions: true,
                verify_targeted: true,
                calibrate: false,
                inject: None,
            },
            append_history: false,
        };
        assert_eq!(total_steps(&plan), 0);
        let plan = SuitePlan {
            fixtures: vec![FixtureLocation {
                name: "x".into(),
                config_path: PathBuf::from("x/c"),
                root: PathBuf::from("x"),
                source: fixtures::FixtureSource::Committed,
            }],
            ..plan
        };
        let counted = scenario::MAX_INSTRUCTION_RUNS as u64;
        assert_eq!(total_steps(&plan), 2 * (1 + 2 + 5 + counted));
    }

    #[test]
    fn run_dirs_are_unique_and_path_safe() {
        let dir = tempfile::tempdir().unwrap();
        let first = unique_run_dir(dir.path(), "2025-01-02T03:04:05Z").unwrap();
        let second = unique_run_dir(dir.path(), "2025-01-02T03:04:05Z").unwrap();
        assert!(first.ends_with("2025-01-02T03-04-05Z"));
        assert!(second.ends_with("2025-01-02T03-04-05Z-2"));
    }

    #[test]
    fn records_round_trip_and_newer_formats_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        let mut record = new_record("2025-01-02T03:04:05Z", detect_machine(), dir.path());
        write_record(&path, &record).unwrap();
        assert_eq!(read_record(&path).unwrap(), record);
        record.format_version = RECORD_FORMAT_VERSION + 1;
        write_record(&path, &record).unwrap();
        assert!(read_record(&path)
            .unwrap_err()
            .to_string()
            .contains("newer"));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(read_record(&path)
            .unwrap_err()
            .to_string()
            .contains("not a soda-perf metrics.json"));
    }
}
