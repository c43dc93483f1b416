//! `soda-perf worker` (hidden): the measured child process.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The WorkerRequest as JSON.
    pub request: String,
}

#[cfg(feature = "worker")]
pub(super) fn cmd_worker(args: &WorkerArgs) -> ExitCode {
    match crate::measure::worker::worker_main(&args.request) {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

#[cfg(not(feature = "worker"))]
pub(super) fn cmd_worker(_args: &WorkerArgs) -> ExitCode {
    let report = crate::measure::protocol::WorkerReport::failure(
        "this soda-perf was built without the `worker` feature and cannot measure; build it with default features",
    );
    println!("{}", report.to_line());
    ExitCode::from(1)
}
