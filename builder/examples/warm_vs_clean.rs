//! The builder's warm-start target, strictly: `soda-builder build` with
//! nothing changed (a new process on the persisted state) against
//! `soda-builder build --no-incremental` (a clean build), run alternately so
//! both see the same machine. Prints the medians of N pairs and the median of
//! their ratios. Each run is timed from spawn to exit, as a user sees it;
//! both pay the same spawn, which a shell's `date` around them would not
//! keep out of the smaller figure.
//!
//! The third figure is the floor of any build that has to find out whether
//! something changed: a process that lists the config directory and stats
//! every TypeScript file in it (on every core, relative to each directory's
//! handle), and does nothing else.
//!
//! `cargo build --release -p builder && cargo run --release -p builder
//! --example warm_vs_clean -- <soda-gql.config.ts>... [--pairs N]`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;

use support::{median, quartiles};

/// One `soda-builder build`, in ms from spawn to exit.
fn run(bin: &Path, config: &Path, clean: bool) -> anyhow::Result<f64> {
    let mut command = Command::new(bin);
    command.arg("build").arg("--config").arg(config);
    if clean {
        command.arg("--no-incremental");
    }
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let status = command.status()?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(
        status.success(),
        "soda-builder build {} failed ({status})",
        config.display()
    );
    Ok(ms)
}

/// The floor process: list every directory below `root` and stat its
/// TypeScript files; prints how many.
fn stat_floor(root: &Path) -> anyhow::Result<()> {
    use builder::io::walk::{DirHandle, EntryKind};
    use rayon::prelude::*;
    fn walk(dir: &DirHandle, path: &Path) -> usize {
        let Ok(entries) = dir.entries() else {
            return 0;
        };
        entries
            .par_iter()
            .with_max_len(64)
            .map(|entry| match builder::io::walk::resolve_kind(dir, entry) {
                EntryKind::Dir if entry.name != ".cache" && entry.name != "node_modules" => {
                    let child = path.join(&entry.name);
                    dir.open_child(&entry.name, &child)
                        .map_or(0, |handle| walk(&handle, &child))
                }
                EntryKind::File if entry.name.ends_with(".ts") => {
                    usize::from(dir.stat(&entry.name, false).is_ok())
                }
                _ => 0,
            })
            .sum()
    }
    let files = walk(&DirHandle::open(root)?, root);
    println!("{files}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let (Some("--stat-floor"), Some(root)) =
        (std::env::args().nth(1).as_deref(), std::env::args().nth(2))
    {
        return stat_floor(Path::new(&root));
    }
    let mut configs: Vec<PathBuf> = Vec::new();
    let mut pairs = 21;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--pairs" {
            pairs = args
                .next()
                .ok_or_else(|| anyhow::anyhow!("--pairs needs a number"))?
                .parse()?;
        } else {
            configs.push(arg.into());
        }
    }
    anyhow::ensure!(
        !configs.is_empty(),
        "usage: warm_vs_clean <soda-gql.config.ts>... [--pairs N]"
    );
    // The examples live in target/<profile>/examples/, the binary one up.
    let bin = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("soda-builder"))
        .filter(|bin| bin.is_file())
        .ok_or_else(|| anyhow::anyhow!("build it first: cargo build --release -p builder"))?;
    for config in &configs {
        // A persisted state to start from, taken twice: the first build's
        // cache directory makes the root too recent to trust for a moment.
        run(&bin, config, false)?;
        run(&bin, config, false)?;
        let root = config.parent().unwrap_or(Path::new("."));
        let floor_run = || -> anyhow::Result<f64> {
            let mut command = Command::new(std::env::current_exe()?);
            command.arg("--stat-floor").arg(root).stdout(Stdio::null());
            let started = Instant::now();
            let status = command.status()?;
            anyhow::ensure!(status.success(), "the stat floor failed ({status})");
            Ok(started.elapsed().as_secs_f64() * 1000.0)
        };
        let (mut warm, mut clean, mut ratio, mut floor) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..pairs {
            let w = run(&bin, config, false)?;
            let c = run(&bin, config, true)?;
            floor.push(floor_run()?);
            warm.push(w);
            clean.push(c);
            ratio.push(w / c);
        }
        let (low, high) = quartiles(ratio.clone());
        let floor = median(floor);
        println!(
            "{}: warm median {:.2} ms, clean median {:.1} ms, warm = {:.1}% of clean (pair ratios: median {:.1}%, quartiles {:.1}..{:.1}%; {pairs} pairs); the stat floor {:.2} ms = {:.1}% of clean",
            config.display(),
            median(warm.clone()),
            median(clean.clone()),
            100.0 * median(warm) / median(clean.clone()),
            100.0 * median(ratio),
            100.0 * low,
            100.0 * high,
            floor,
            100.0 * floor / median(clean),
        );
    }
    Ok(())
}
