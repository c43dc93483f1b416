//! Times an in-session `update` after a real edit of one fragment, on a copy
//! of each given project, and prints the phase breakdown — the figures behind
//! "update time does not grow with the number of untouched files".
//!
//! `cargo run --release -p builder --example update_scaling -- <soda-gql.config.ts>...`

use std::path::Path;
use std::time::Instant;

use builder::{clean_build, BuilderSession, SessionOptions};

#[path = "support/mod.rs"]
mod support;

use support::{median, FragmentEdit};

// The allocator and options `soda-builder` (and its `--watch` session) ships with.
support::soda_builder_allocator!();

fn main() -> anyhow::Result<()> {
    for arg in std::env::args().skip(1) {
        let (_copy, config) = support::copy_project(Path::new(&arg))?;
        let clean: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                let _ = clean_build(&config);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        let mut session =
            BuilderSession::new(config.clone(), SessionOptions { incremental: false });
        session.build_initial()?;
        let candidates = session.state().spread_fragment_files();
        let clean = median(clean);
        // "A fragment used by a few operations" is the one with the fewest
        // dependents; the most-spread one shows what the affected set costs.
        let picks = [("fewest", candidates.first()), ("most", candidates.last())];
        for (which, pick) in picks {
            let (spreaders, file) = pick
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no spread fragment"))?;
            let (update_ms, output) = time_updates(&mut session, &config.root_dir.join(&file))?;
            let report = output.report();
            println!(
                "{}: {} files, clean build median {:.1} ms; update after editing {file} ({which} spreaders: {spreaders} direct): median {:.2} ms ({:.2}% of clean), {} definitions affected, {} recompiled",
                arg,
                state_files(&mut session),
                clean,
                update_ms,
                100.0 * update_ms / clean,
                report.recomputed.definitions,
                report.recomputed.compiled
            );
            println!(
                "    phases of the last update: {:?}",
                report
                    .phases
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.2}"))
                    .collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

fn state_files(session: &mut BuilderSession) -> usize {
    session.state().files.len()
}

/// 21 updates after alternately adding a selection to `target` and restoring
/// it: the median in ms and the last update's output.
fn time_updates(
    session: &mut BuilderSession,
    target: &Path,
) -> anyhow::Result<(f64, builder::BuildOutput)> {
    let edit = FragmentEdit::new(target.to_path_buf())?;
    let mut times = Vec::new();
    let mut last = None;
    for i in 0..21 {
        let changes = edit.write(i % 2 == 0)?;
        let t = Instant::now();
        let output = session.update(&changes)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(output);
    }
    let output = last.ok_or_else(|| anyhow::anyhow!("no update"))?;
    Ok((median(times), output))
}
