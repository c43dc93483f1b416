//! Tidy checks over the builder's sources, as rust-analyzer keeps them: every
//! module says what it is in a `//!` line, and the modules depend on each
//! other one way — io ← phases ← incremental ← build/watch ← main — with no
//! cycle. A failure names the file or the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read src")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `phases/discover/mod.rs` → `phases::discover`; `lib.rs` → `` (the root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

#[test]
fn every_module_has_a_doc_line() {
    let src = src_dir();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` line saying what they are:\n{}",
        missing.join("\n")
    );
}

/// The layer of a module: a module may use its own layer and those below.
/// `config`, `diagnostics` and `report` are leaves every layer may use.
fn layer(module: &str) -> u8 {
    let top = module.split("::").next().unwrap_or("");
    match top {
        "io" | "config" | "diagnostics" | "report" => 0,
        "phases" => 1,
        "incremental" => 2,
        "build" | "watch" => 3,
        _ => 4, // main, lib
    }
}

/// Module → the modules its `crate::…` paths name (a path names the
/// longest module that prefixes it). Uses of an enclosing module (a child
/// reaching its parent's items) are not edges.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = src_dir();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("read source");
        let deps = graph.entry(from.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let path: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|m| modules.contains(m));
            let Some(target) = target else { continue };
            let enclosing = from == target || from.starts_with(&format!("{target}::"));
            if !enclosing {
                deps.insert(target);
            }
        }
    }
    graph
}

#[test]
fn modules_depend_one_way() {
    let graph = module_graph();
    let mut wrong_way = Vec::new();
    for (from, deps) in &graph {
        for to in deps {
            if layer(to) > layer(from) {
                wrong_way.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(
        wrong_way.is_empty(),
        "uses against the layering (io ← phases ← incremental ← build/watch ← main):\n{}",
        wrong_way.join("\n")
    );
    // No cycle: depth-first search with colours.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let start = stack.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node, 1);
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(node, &graph, &mut state, &mut stack) {
            panic!("an import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_graph_sees_a_module_s_uses() {
    // The check above would pass on an empty graph: it must see real edges.
    let graph = module_graph();
    let session = &graph["incremental::session"];
    assert!(session.contains("incremental::persist"), "{session:?}");
    assert!(session.contains("phases::link"), "{session:?}");
    assert!(graph["phases::artifact"].contains("io::atomic"));
}
