//! Times the parts of a warm start in one process (median of 15):
//! the walk with stats, glob matching, and the state load.
//!
//! `cargo run --release -p builder --example warm_parts -- <soda-gql.config.ts>`

use std::time::Instant;

use builder::config::load_config;
use builder::phases::discover::{self, Globs};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "support/mod.rs"]
mod support;

use support::median;

fn time(f: &mut dyn FnMut()) -> f64 {
    median(
        (0..15)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: warm_parts <soda-gql.config.ts>"))?;
    let config = load_config(std::path::Path::new(&path))?;
    let globs = Globs::new(&config)?;
    let scan = discover::scan(&config, &globs, true);
    let paths: Vec<String> = scan.entries.iter().cloned().collect();
    let schemas = builder::phases::graphql::schema::load_schemas(&config)?;
    let hash = schemas.combined_hash();
    println!(
        "scan (walk + stats)  {:.2} ms",
        time(&mut || {
            let _ = discover::scan(&config, &globs, true);
        })
    );
    let mut schema = || {
        if let Ok(s) = builder::phases::graphql::schema::load_schemas(&config) {
            let _ = s.validate_all();
        }
    };
    println!("schema load+validate {:.2} ms", time(&mut schema));
    let mut no_stats = || {
        let _ = discover::scan(&config, &globs, false);
    };
    println!("scan without stats   {:.2} ms", time(&mut no_stats));
    let dir = config.root_dir.join("src");
    let subdirs: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    println!(
        "readdir only         {:.2} ms",
        time(&mut || {
            for d in &subdirs {
                let _ = std::fs::read_dir(d).map(|r| r.count());
            }
        })
    );
    println!(
        "readdir + entry stat {:.2} ms",
        time(&mut || {
            for d in &subdirs {
                if let Ok(r) = std::fs::read_dir(d) {
                    for e in r.filter_map(Result::ok) {
                        let _ = e.metadata();
                    }
                }
            }
        })
    );
    let all: Vec<std::path::PathBuf> = paths.iter().map(|p| config.root_dir.join(p)).collect();
    println!(
        "path stat, serial    {:.2} ms",
        time(&mut || {
            for p in &all {
                let _ = std::fs::metadata(p);
            }
        })
    );
    println!(
        "path stat, rayon     {:.2} ms",
        time(&mut || {
            use rayon::prelude::*;
            all.par_iter().for_each(|p| {
                let _ = std::fs::metadata(p);
            });
        })
    );
    println!(
        "glob matching        {:.2} ms",
        time(&mut || {
            let _ = paths.iter().filter(|p| globs.is_entry(p)).count();
        })
    );
    println!(
        "state read           {:.2} ms",
        time(&mut || {
            let _ = std::fs::read(builder::incremental::persist::state_path(&config));
        })
    );
    println!(
        "state load           {:.2} ms",
        time(&mut || {
            let _ = builder::incremental::persist::load_state(&config, hash);
        })
    );
    // The parse floor as the criterion bench measures it, then with each
    // file's own path (the analyzer resolves `gql` imports against it), then
    // with import resolution on top.
    let ctx = builder::phases::analyze::AnalyzerContext::for_config(&config);
    let files: Vec<String> = discover::scan(&config, &globs, false)
        .entries
        .into_iter()
        .collect();
    {
        use rayon::prelude::*;
        let mut floor = || {
            files.par_iter().for_each(|rel| {
                let text = std::fs::read_to_string(config.root_dir.join(rel)).unwrap_or_default();
                let _ = builder::phases::analyze::analyze_module("x.ts", &text, &ctx);
            })
        };
        println!("floor (path x.ts)    {:.2} ms", time(&mut floor));
        let mut real = || {
            files.par_iter().for_each(|rel| {
                let text = std::fs::read_to_string(config.root_dir.join(rel)).unwrap_or_default();
                let _ = builder::phases::analyze::analyze_module(rel, &text, &ctx);
            })
        };
        println!("floor (real paths)   {:.2} ms", time(&mut real));
        let mut deps = || {
            files.par_iter().for_each(|rel| {
                let text = std::fs::read_to_string(config.root_dir.join(rel)).unwrap_or_default();
                let summary = builder::phases::analyze::analyze_module(rel, &text, &ctx);
                let _ = discover::resolve_deps(&config, Some(&scan.known), rel, &summary);
            })
        };
        println!("  + resolve_deps     {:.2} ms", time(&mut deps));
        let mut kept = || {
            let all: Vec<_> = files
                .par_iter()
                .map(|rel| {
                    let bytes =
                        builder::io::fingerprint::read_with_stat(&config.root_dir.join(rel))
                            .map(|(bytes, _)| bytes)
                            .unwrap_or_default();
                    let _ = builder::io::fingerprint::hash_bytes(&bytes);
                    let text = String::from_utf8(bytes).unwrap_or_default();
                    let summary = builder::phases::analyze::analyze_module(rel, &text, &ctx);
                    let deps = discover::resolve_deps(&config, Some(&scan.known), rel, &summary);
                    (summary, deps)
                })
                .collect();
            drop(all);
        };
        println!("  + kept, hashed     {:.2} ms", time(&mut kept));
    }
    // Phases of a clean build, median per phase over 9 runs.
    let mut phases: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut totals = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let output = builder::clean_build(&config)?;
        totals.push(t.elapsed().as_secs_f64() * 1000.0);
        for (name, ms) in &output.report().phases {
            phases.entry(name.clone()).or_default().push(*ms);
        }
    }
    println!("clean build          {:.2} ms", median(totals));
    for (name, samples) in phases {
        println!("  {name:<18} {:.2} ms", median(samples));
    }
    Ok(())
}
