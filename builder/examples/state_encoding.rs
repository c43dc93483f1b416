//! Measures how long the persisted session state takes to decode in each
//! candidate encoding (the numbers behind the choice of postcard).
//!
//! `cargo run --release -p builder --example state_encoding -- <cache_dir>/state.bin`

use std::time::Instant;

use builder::incremental::session::SessionState;

#[path = "support/mod.rs"]
mod support;

use support::median;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: state_encoding <state.bin>"))?;
    let bytes = std::fs::read(&path)?;
    let (_, head, payload) =
        builder::incremental::persist::decode(&bytes).map_err(anyhow::Error::msg)?;
    let head_bytes = postcard::to_allocvec(&head)?;
    let head_ms = median(
        (0..15)
            .map(|_| {
                let t = Instant::now();
                let _: builder::incremental::persist::StateHead =
                    postcard::from_bytes(&head_bytes).expect("head");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    );
    println!(
        "head:     {:>9} bytes, decode {head_ms:.2} ms",
        head_bytes.len()
    );
    let state: SessionState = postcard::from_bytes(payload)?;
    let json = serde_json::to_vec(&state)?;
    let runs = 15;
    let time = |f: &dyn Fn()| -> f64 {
        median(
            (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    };
    let postcard_ms = time(&|| {
        let _: SessionState = postcard::from_bytes(payload).expect("postcard");
    });
    let json_ms = time(&|| {
        let _: SessionState = serde_json::from_slice(&json).expect("json");
    });
    let postcard_write_ms = time(&|| {
        let _ = postcard::to_allocvec(&state).expect("postcard");
    });
    let json_write_ms = time(&|| {
        let _ = serde_json::to_vec(&state).expect("json");
    });
    println!(
        "files: {} (deps {}, probed {}, summary bytes {})",
        state.files.len(),
        state.files.values().map(|e| e.deps.len()).sum::<usize>(),
        state.files.values().map(|e| e.probed.len()).sum::<usize>(),
        state
            .files
            .values()
            .map(|e| postcard::to_allocvec(&e.summary).map_or(0, |b| b.len()))
            .sum::<usize>(),
    );
    // Where the bytes and the decode time go, part by part.
    macro_rules! part {
        ($name:literal, $field:expr, $ty:ty) => {{
            let bytes = postcard::to_allocvec(&$field)?;
            let ms = time(&|| {
                let _: $ty = postcard::from_bytes(&bytes).expect("part");
            });
            println!("  {:<9} {:>9} bytes, decode {ms:.2} ms", $name, bytes.len());
        }};
    }
    part!("files", state.files, builder::phases::discover::FileTable);
    part!("resolved", state.resolved, std::collections::BTreeMap<String, builder::phases::link::ResolvedDefinition>);
    part!("compiled", state.compiled, std::collections::BTreeMap<String, builder::incremental::session::CompiledEntry>);
    part!("elements", state.elements, std::collections::BTreeMap<String, String>);
    part!("entries", state.entries, std::collections::BTreeSet<String>);
    part!(
        "graph",
        state.graph,
        builder::incremental::graph_patch::DependencyGraph
    );
    part!(
        "diags",
        state.global_diagnostics,
        Vec<builder::diagnostics::Diagnostic>
    );
    println!(
        "postcard: {:>9} bytes, decode {postcard_ms:.1} ms, encode {postcard_write_ms:.1} ms",
        payload.len()
    );
    println!(
        "json:     {:>9} bytes, decode {json_ms:.1} ms, encode {json_write_ms:.1} ms",
        json.len()
    );
    Ok(())
}
