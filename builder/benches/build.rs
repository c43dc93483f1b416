//! Criterion micro-benchmarks of the builder: a clean build of the committed
//! `large-app` fixture, an in-session update after a fragment edit, and the
//! parse-only floor (swc over every file) that a clean build is held against.

use std::path::{Path, PathBuf};

use builder::config::load_config;
use builder::phases::parse_floor::ParseFloor;
use builder::{clean_build, BuilderSession, SessionOptions};
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../examples/support/mod.rs"]
mod support;

use support::FragmentEdit;

// The allocator and options `soda-builder` (and its `--watch` session) ships with.
support::soda_builder_allocator!();

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

/// `SODA_BENCH_PROJECT=/path/to/soda-gql.config.ts` benchmarks another project
/// (e.g. a generated preset) instead of `large-app`.
fn config_path() -> PathBuf {
    std::env::var_os("SODA_BENCH_PROJECT")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixture("large-app/soda-gql.config.ts"))
}

fn bench_clean_build(c: &mut Criterion) {
    let config = load_config(&config_path()).expect("benchmark config");
    c.bench_function("clean_build", |b| {
        b.iter(|| clean_build(&config).expect("build"))
    });
}

fn bench_parse_floor(c: &mut Criterion) {
    let config = load_config(&config_path()).expect("benchmark config");
    let floor = ParseFloor::new(&config);
    c.bench_function("read_and_parse_every_file", |b| b.iter(|| floor.run()));
}

fn bench_update_after_fragment_edit(c: &mut Criterion) {
    let (_copy, config) = support::copy_project(&config_path()).expect("a copy of the project");
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: false });
    session.build_initial().expect("initial");
    let fragments = session.state().spread_fragment_files();
    // "A fragment used by a few operations" (the fewest spreaders), and the
    // most-spread fragment, whose affected set is the largest.
    let picks = [
        ("update_after_fragment_edit", fragments.first()),
        ("update_after_most_spread_fragment_edit", fragments.last()),
    ];
    for (name, pick) in picks {
        let (_, file) = pick.expect("a spread fragment");
        let edit = FragmentEdit::new(config.root_dir.join(file)).expect("read");
        let mut toggle = false;
        c.bench_function(name, |b| {
            b.iter(|| {
                toggle = !toggle;
                let changes = edit.write(toggle).expect("write");
                session.update(&changes).expect("update")
            })
        });
        let restored = edit.write(false).expect("restore");
        session.update(&restored).expect("update");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_clean_build, bench_parse_floor, bench_update_after_fragment_edit
}
criterion_main!(benches);
