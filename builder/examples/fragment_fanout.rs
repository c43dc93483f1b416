//! The case of issue 14, item 10: one file holding a fragment and 5,000
//! operations that spread it. Times a clean build against the in-session
//! update after an edit of the fragment (medians of 5), the figures behind
//! "a targeted rebuild is never slower than a clean one".
//!
//! `cargo run --release -p builder --example fragment_fanout [-- OPERATIONS]`

use std::time::Instant;

use builder::{clean_build, BuilderSession, SessionOptions};

#[path = "support/mod.rs"]
mod support;

use support::median;

// The allocator and options `soda-builder` (and its `--watch` session) ships with.
support::soda_builder_allocator!();

fn main() -> anyhow::Result<()> {
    let operations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    let dir = tempfile::tempdir()?;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/small-app");
    for name in ["soda-gql.config.ts", "schema.graphql", "graphql-inject.ts"] {
        std::fs::copy(fixture.join(name), dir.path().join(name))?;
    }
    std::fs::create_dir_all(dir.path().join("graphql-system"))?;
    std::fs::copy(
        fixture.join("graphql-system/index.ts"),
        dir.path().join("graphql-system/index.ts"),
    )?;
    std::fs::create_dir_all(dir.path().join("src"))?;
    let file = dir.path().join("src/fanout.ts");
    let write = |extra: &str| -> std::io::Result<()> {
        let mut text = String::from("import { gql } from \"../graphql-system\";\n");
        text.push_str(&format!(
            "export const productFields = gql.default(({{ fragment }}) => fragment(\"ProductFields\", \"Product\")`{{ id name {extra} }}`());\n"
        ));
        for i in 0..operations {
            text.push_str(&format!(
                "export const op{i} = gql.default(({{ query }}) => query(\"Op{i}\")`{{ products {{ ...${{productFields}} }} }}`());\n"
            ));
        }
        std::fs::write(&file, text)
    };
    write("")?;
    let config = builder::config::load_config(&dir.path().join("soda-gql.config.ts"))?;
    let clean: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let _ = clean_build(&config);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: false });
    session.build_initial()?;
    let mut updates = Vec::new();
    for i in 0..5 {
        write(if i % 2 == 0 { "price" } else { "" })?;
        let changes = builder::incremental::change::ChangeSet {
            updated: vec![file.clone()],
            ..Default::default()
        };
        let t = Instant::now();
        let output = session.update(&changes)?;
        updates.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!output.has_errors());
    }
    let (clean, update) = (median(clean), median(updates));
    println!(
        "{operations} operations spreading one fragment, one file: clean build median {clean:.0} ms; update after editing the fragment median {update:.0} ms ({:.0}% of clean)",
        100.0 * update / clean
    );
    Ok(())
}
