//! Conformance with the TypeScript builder: our `elements` equal the
//! reference artifact's once `loc`, `metadata.contentHash` (and our extra
//! `prebuild.documentText`) are dropped. The references live in
//! `../shared/reference/` beside the repository: a clone without it skips
//! these tests with one line, and CI (which sets `SODA_REQUIRE_REFERENCE=1`
//! in `.ci/run`) fails when it is missing.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::path::PathBuf;

use builder::clean_build;
use serde_json::Value;

fn normalize(mut v: Value) -> Value {
    fn strip_loc(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("loc");
                m.values_mut().for_each(strip_loc);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_loc),
            _ => {}
        }
    }
    strip_loc(&mut v);
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("contentHash");
    }
    if let Some(p) = v["prebuild"].as_object_mut() {
        p.remove("documentText");
    }
    v
}

/// `../shared/reference/soda-gql-0.15.0/<rel>`, or `None` (with one line
/// saying so) where the shared reference is not beside this clone.
fn reference(rel: &str) -> Option<PathBuf> {
    let dir = common::repo_root()
        .join("../shared/reference/soda-gql-0.15.0")
        .join(rel);
    if dir.exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("SODA_REQUIRE_REFERENCE").is_none(),
        "SODA_REQUIRE_REFERENCE is set but the reference project is missing at {}",
        dir.display()
    );
    eprintln!(
        "skipped: no reference project at {} (../shared/ is not beside this clone)",
        dir.display()
    );
    None
}

/// Builds `dir` and compares every element with `expected-artifact.json`;
/// returns how many were equal (all of them, or the test fails).
fn assert_conforms(dir: &std::path::Path) -> usize {
    let config = common::config_in(dir);
    let output = clean_build(&config).unwrap();
    assert!(
        !output.has_errors(),
        "{}: {}",
        dir.display(),
        common::render_diagnostics(&output.diagnostics)
    );
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected-artifact.json")).unwrap())
            .unwrap();
    let expected = expected["elements"].as_object().unwrap();
    let ours: Value =
        serde_json::from_str(&format!("{{\"e\": {}}}", output.artifact.elements_json())).unwrap();
    let ours = ours["e"].as_object().unwrap();
    let expected_ids: Vec<_> = expected.keys().collect();
    let our_ids: Vec<_> = ours.keys().collect();
    assert_eq!(expected_ids, our_ids, "{}", dir.display());
    for (id, element) in expected {
        assert_eq!(
            normalize(element.clone()),
            normalize(ours[id].clone()),
            "{}: element {id} differs",
            dir.display()
        );
    }
    expected.len()
}

#[test]
fn reference_artifact_matches() {
    let Some(dir) = reference("large") else {
        return;
    };
    assert_eq!(assert_conforms(&dir), 90);
}

/// The four hand-written playgrounds of soda-gql 0.15: options-object
/// operations, aliases, directives, `fragment.spread({ v: $.x })`,
/// `$colocate`, metadata callbacks, compat templates, `.attach(...)`.
#[test]
fn playgrounds_match_the_typescript_builder() {
    let mut equal = 0;
    for project in [
        "expo-metro",
        "nestjs-compiler-tsc",
        "nextjs-webpack",
        "vite-react",
    ] {
        let Some(dir) = reference(&format!("playgrounds/{project}")) else {
            return;
        };
        equal += assert_conforms(&dir);
    }
    assert_eq!(equal, 80);
}
