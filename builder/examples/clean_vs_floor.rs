//! A clean build against the parse floor (`builder::phases::parse_floor`), run
//! alternately so both see the same machine, in alternating order: the
//! medians of N pairs and the median of their ratios, overall and by which
//! of the two ran first. The criterion bench times each on its own, minutes
//! apart; on a machine whose speed drifts, only pairs give a ratio to trust.
//!
//! `cargo run --release -p builder --example clean_vs_floor -- <soda-gql.config.ts> [pairs]`

use std::time::Instant;

use builder::config::load_config;
use builder::phases::parse_floor::ParseFloor;

#[path = "support/mod.rs"]
mod support;

use support::{median, quartiles};

// The allocator and options `soda-builder` (and its `--watch` session) ships with.
support::soda_builder_allocator!();

fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: clean_vs_floor <soda-gql.config.ts> [pairs]"))?;
    let pairs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(21);
    let config = load_config(std::path::Path::new(&path))?;
    let floor = ParseFloor::new(&config);
    // One of each first: the files in the page cache, the pool started.
    builder::clean_build(&config)?;
    floor.run();
    let (mut clean, mut parse, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    // Each run leaves the allocator and the caches to the next: the order
    // alternates, so neither side always follows the other.
    let mut by_order: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for i in 0..pairs {
        let build = || ms(|| drop(builder::clean_build(&config)));
        let read_and_parse = || {
            ms(|| {
                floor.run();
            })
        };
        let (c, p) = if i % 2 == 0 {
            let c = build();
            (c, read_and_parse())
        } else {
            let p = read_and_parse();
            (build(), p)
        };
        clean.push(c);
        parse.push(p);
        ratio.push(c / p);
        by_order[i % 2].push(c / p);
    }
    let [clean_first, floor_first] = by_order;
    let (low, high) = quartiles(ratio.clone());
    println!(
        "{} files, {pairs} pairs: clean build median {:.1} ms, read+parse median {:.1} ms, ratio median {:.2}x (quartiles {:.2}..{:.2}; clean run first {:.2}x, read+parse first {:.2}x)",
        floor.files(),
        median(clean),
        median(parse),
        median(ratio.clone()),
        low,
        high,
        median(clean_first),
        median(floor_first),
    );
    Ok(())
}
