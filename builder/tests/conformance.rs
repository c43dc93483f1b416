//! Conformance with the TypeScript builder: our `elements` equal the
//! reference artifact's once `loc`, `metadata.contentHash` (and our extra
//! `prebuild.documentText`) are dropped.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

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

#[test]
fn reference_artifact_matches() {
    let reference = common::repo_root().join("../shared/reference/soda-gql-0.15.0/large");
    assert!(
        reference.exists(),
        "the reference project is expected at {} (shared/ beside the repository)",
        reference.display()
    );
    let config = common::config_in(&reference);
    let output = clean_build(&config).unwrap();
    assert!(
        !output.has_errors(),
        "{}",
        common::render_diagnostics(&output.diagnostics)
    );
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(reference.join("expected-artifact.json")).unwrap(),
    )
    .unwrap();
    let expected = expected["elements"].as_object().unwrap();
    let ours: Value =
        serde_json::from_str(&format!("{{\"e\": {}}}", output.artifact.elements_json())).unwrap();
    let ours = ours["e"].as_object().unwrap();
    let expected_ids: Vec<_> = expected.keys().collect();
    let our_ids: Vec<_> = ours.keys().collect();
    assert_eq!(expected_ids, our_ids);
    for (id, element) in expected {
        assert_eq!(
            normalize(element.clone()),
            normalize(ours[id].clone()),
            "element {id} differs"
        );
    }
}
