//! Times an in-session `update` after a real edit of one fragment, on a copy
//! of each given project, and prints the phase breakdown — the figures behind
//! "update time does not grow with the number of untouched files".
//!
//! `cargo run --release -p builder --example update_scaling -- <soda-gql.config.ts>...`

use std::path::Path;
use std::time::Instant;

use builder::config::load_config;
use builder::{clean_build, BuilderSession, ChangeSet, SessionOptions};

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".cache")
    {
        let entry = entry.map_err(std::io::Error::other)?;
        let target = to.join(
            entry
                .path()
                .strip_prefix(from)
                .map_err(std::io::Error::other)?,
        );
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> anyhow::Result<()> {
    for arg in std::env::args().skip(1) {
        let source = Path::new(&arg);
        let dir = tempfile::tempdir()?;
        copy_tree(source.parent().unwrap_or(Path::new(".")), dir.path())?;
        let config = load_config(&dir.path().join(source.file_name().unwrap_or_default()))?;
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
        // The fragment file with the fewest dependents that still has some:
        // "a fragment used by a few operations".
        let state = session.state();
        let mut candidates: Vec<(usize, String)> = state
            .resolved
            .values()
            .filter(|r| {
                state.files.get(&r.file).is_some_and(|f| {
                    f.summary
                        .definitions
                        .get(r.index)
                        .is_some_and(|d| d.type_condition.is_some())
                })
            })
            .map(|r| {
                (
                    state
                        .resolved
                        .values()
                        .filter(|o| o.deps().contains(&r.id.as_str()))
                        .count(),
                    r.file.clone(),
                )
            })
            .filter(|(n, _)| *n > 0)
            .collect();
        candidates.sort();
        let (spreaders, file) = candidates
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no spread fragment"))?;
        let target = config.root_dir.join(&file);
        let original = std::fs::read_to_string(&target)?;
        let mut times = Vec::new();
        let mut last = None;
        for i in 0..21 {
            let text = if i % 2 == 0 {
                original.replacen("}`(", "  __typename\n  }`(", 1)
            } else {
                original.clone()
            };
            std::fs::write(&target, text)?;
            let changes = ChangeSet {
                updated: vec![target.clone()],
                ..ChangeSet::default()
            };
            let t = Instant::now();
            let output = session.update(&changes)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            last = Some(output);
        }
        let output = last.ok_or_else(|| anyhow::anyhow!("no update"))?;
        let report = output.report();
        println!(
            "{}: {} files, clean build median {:.1} ms; update after editing {file} ({spreaders} direct spreaders): median {:.2} ms ({:.2}% of clean), {} definitions affected, {} recompiled",
            arg,
            state_files(&mut session),
            median(clean.clone()),
            median(times.clone()),
            100.0 * median(times) / median(clean),
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
    Ok(())
}

fn state_files(session: &mut BuilderSession) -> usize {
    session.state().files.len()
}
