//! Criterion micro-benchmarks of single builder phases on the committed
//! `large-app` fixture: fingerprinting every file (stat + xxh3 of its
//! bytes), analyzing one file (swc parse + extraction), and resolving the
//! graph (every definition's spreads). `build.rs` holds the whole-build
//! figures (clean build, in-session one-file update).
//! `soda-perf import criterion target/criterion` files the results into
//! the history beside the macro runs.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use builder::config::load_config;
use builder::io::fingerprint::{hash_bytes, stat};
use builder::phases::analyze::{analyze_module, AnalyzerContext};
use builder::phases::link::{resolve_definition, Modules};
use criterion::{criterion_group, criterion_main, Criterion};

fn config_path() -> PathBuf {
    std::env::var_os("SODA_BENCH_PROJECT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/large-app/soda-gql.config.ts")
        })
}

/// Every .ts/.tsx source under `dir`, as (path relative to `root` with
/// `/` separators, absolute path), sorted.
fn sources(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "node_modules" && !name.starts_with('.') && name != "graphql-system" {
                sources(root, &path, out);
            }
        } else if name.ends_with(".ts") || name.ends_with(".tsx") {
            if let Ok(rel) = path.strip_prefix(root) {
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path.clone()));
            }
        }
    }
    out.sort();
}

struct Project {
    ctx: AnalyzerContext,
    root: PathBuf,
    files: Vec<(String, PathBuf, String)>,
}

fn project() -> Project {
    let config = load_config(&config_path()).expect("benchmark config");
    let mut found = Vec::new();
    sources(&config.root_dir, &config.root_dir, &mut found);
    let files = found
        .into_iter()
        .filter(|(rel, _)| !rel.ends_with(".config.ts"))
        .map(|(rel, path)| {
            let text = std::fs::read_to_string(&path).expect("read a source");
            (rel, path, text)
        })
        .collect();
    Project {
        ctx: AnalyzerContext::for_config(&config),
        root: config.root_dir.clone(),
        files,
    }
}

fn bench_fingerprint(c: &mut Criterion) {
    let project = project();
    c.bench_function("fingerprint_every_file", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for (_, path, _) in &project.files {
                let key = stat(path).expect("stat");
                let bytes = std::fs::read(path).expect("read");
                acc ^= hash_bytes(&bytes) ^ key.size;
            }
            black_box(acc)
        })
    });
}

fn bench_analyze_one_file(c: &mut Criterion) {
    let project = project();
    // The file with the most definitions: the analyzer's heaviest single input.
    let (rel, _, text) = project
        .files
        .iter()
        .max_by_key(|(rel, _, text)| {
            analyze_module(rel, text, &project.ctx).definitions.len() * 1_000_000 + text.len()
        })
        .expect("a source file");
    c.bench_function("analyze_one_file", |b| {
        b.iter(|| analyze_module(black_box(rel), black_box(text), &project.ctx))
    });
}

fn bench_resolve_graph(c: &mut Criterion) {
    let project = project();
    let modules: Modules = project
        .files
        .iter()
        .map(|(rel, _, text)| {
            (
                rel.clone(),
                Arc::new(analyze_module(rel, text, &project.ctx)),
            )
        })
        .collect();
    let locations: Vec<(String, usize)> = modules
        .iter()
        .flat_map(|(file, m)| (0..m.definitions.len()).map(move |i| (file.clone(), i)))
        .collect();
    assert!(!locations.is_empty(), "the project has definitions");
    c.bench_function("resolve_graph", |b| {
        b.iter(|| {
            locations
                .iter()
                .filter_map(|(file, i)| resolve_definition(&modules, &project.root, file, *i))
                .count()
        })
    });
}

criterion_group! {
    name = phases;
    config = Criterion::default().sample_size(20);
    targets = bench_fingerprint, bench_analyze_one_file, bench_resolve_graph
}
criterion_main!(phases);
