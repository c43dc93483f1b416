//! Fixture-directory snapshot tests: analyzer summaries and artifacts of the
//! committed fixtures, and the diagnostics of every invalid fixture.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use builder::clean_build;
use builder::phases::analyze::{analyze_module, AnalyzerContext};
use common::{config_in, fixture, render_diagnostics};

fn artifact_snapshot(name: &str) -> String {
    let config = config_in(&fixture(name));
    let output = clean_build(&config).unwrap();
    assert!(
        !output.has_errors(),
        "{name}:\n{}",
        render_diagnostics(&output.diagnostics)
    );
    output.artifact.elements_json()
}

#[test]
fn small_app_artifact() {
    insta::assert_snapshot!(artifact_snapshot("small-app"));
}

#[test]
fn medium_app_artifact() {
    insta::assert_snapshot!(artifact_snapshot("medium-app"));
}

#[test]
fn large_app_artifact() {
    insta::assert_snapshot!(artifact_snapshot("large-app"));
}

#[test]
fn definition_forms_artifact() {
    insta::assert_snapshot!(artifact_snapshot("definition-forms"));
}

/// Options-object operations as GraphQL text, and every metadata value: the
/// review view of what the builder made of the DSL.
#[test]
fn definition_forms_documents() {
    let config = config_in(&fixture("definition-forms"));
    let output = clean_build(&config).unwrap();
    assert!(
        output.diagnostics.is_empty(),
        "{}",
        render_diagnostics(&output.diagnostics)
    );
    let mut out = String::new();
    for (id, element) in output.artifact.elements.iter() {
        let value: serde_json::Value = serde_json::from_str(element).unwrap();
        if let Some(text) = value["prebuild"]["documentText"].as_str() {
            out.push_str(&format!("# {id}\n{text}\n"));
            if let Some(m) = value["prebuild"].get("metadata") {
                out.push_str(&format!("metadata: {m}\n"));
            }
            out.push('\n');
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn json_config_artifact() {
    insta::assert_snapshot!(artifact_snapshot("json-config"));
}

/// The operation documents as text: what a reviewer reads in a diff.
#[test]
fn large_app_documents() {
    let config = config_in(&fixture("large-app"));
    let output = clean_build(&config).unwrap();
    let mut out = String::new();
    for (id, element) in output.artifact.elements.iter() {
        let value: serde_json::Value = serde_json::from_str(element).unwrap();
        if let Some(text) = value["prebuild"]["documentText"].as_str() {
            out.push_str(&format!("# {id}\n{text}\n\n"));
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn large_app_excludes_test_files() {
    let config = config_in(&fixture("large-app"));
    let output = clean_build(&config).unwrap();
    assert!(output
        .artifact
        .elements
        .keys()
        .all(|id| !id.contains(".test.ts")));
}

#[test]
fn large_app_analyzer_summaries() {
    let root = fixture("large-app");
    let ctx = AnalyzerContext {
        outdir_rel: "graphql-system".into(),
        root_dir: root.to_path_buf(),
        aliases: vec!["@/graphql-system".into()],
    };
    let mut files: Vec<_> = walkdir::WalkDir::new(root.join("src"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let mut out = String::new();
    for path in files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let summary = analyze_module(&rel, &std::fs::read_to_string(&path).unwrap(), &ctx);
        out.push_str(&format!("## {rel}\n"));
        for i in &summary.imports {
            let names: Vec<_> = i
                .bindings
                .iter()
                .map(|b| format!("{:?} as {}", b.imported, b.local))
                .collect();
            out.push_str(&format!("import {} [{}]\n", i.specifier, names.join(", ")));
        }
        for e in &summary.exports {
            out.push_str(&format!("export {e:?}\n"));
        }
        for d in &summary.definitions {
            let spreads: Vec<_> = d.interpolations.iter().map(|i| i.path.join(".")).collect();
            out.push_str(&format!(
                "def {}::{} {:?} {} on {:?} schema={} spreads=[{}] at {}:{}\n",
                rel,
                d.ast_path,
                d.kind,
                d.name,
                d.type_condition,
                d.schema_label,
                spreads.join(", "),
                d.location.line,
                d.location.column
            ));
        }
        for d in &summary.diagnostics {
            out.push_str(&format!("diag {} {}\n", d.code, d.message));
        }
    }
    insta::assert_snapshot!(out);
}

fn invalid(name: &str) -> String {
    let dir = fixture(&format!("invalid/{name}"));
    let config = config_in(&dir);
    let output = clean_build(&config).unwrap();
    assert!(
        output.has_errors() || !output.diagnostics.is_empty(),
        "{name} produced no diagnostics"
    );
    format!(
        "{}\n--- elements: {:?}",
        render_diagnostics(&output.diagnostics),
        output.artifact.elements.keys().collect::<Vec<_>>()
    )
}

macro_rules! invalid_fixture {
    ($test:ident, $dir:literal) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!(invalid($dir));
        }
    };
}

invalid_fixture!(invalid_syntax_error, "syntax-error");
invalid_fixture!(invalid_graphql_parse_error, "graphql-parse-error");
invalid_fixture!(invalid_unknown_field, "unknown-field");
invalid_fixture!(invalid_unknown_argument, "unknown-argument");
invalid_fixture!(invalid_bad_variable, "bad-variable");
invalid_fixture!(invalid_unresolved_spread, "unresolved-spread");
invalid_fixture!(invalid_missing_export, "missing-export");
invalid_fixture!(invalid_unresolved_import, "unresolved-import");
invalid_fixture!(invalid_fragment_cycle, "fragment-cycle");
invalid_fixture!(invalid_duplicate_operation, "duplicate-operation");
invalid_fixture!(invalid_unknown_schema, "unknown-schema");
invalid_fixture!(invalid_unsupported_form, "unsupported-form");
invalid_fixture!(invalid_dynamic_fields, "dynamic-fields");
invalid_fixture!(invalid_metadata_callback, "metadata-callback");
invalid_fixture!(invalid_unrecognized_forms, "unrecognized-forms");

#[test]
fn invalid_missing_schema_is_a_setup_error() {
    let config = config_in(&fixture("invalid/missing-schema"));
    let err = clean_build(&config).unwrap_err().to_string();
    assert!(err.contains("nope.graphql"), "{err}");
}

#[test]
fn invalid_dynamic_config_names_the_property() {
    let err = builder::config::load_config(&fixture("invalid/dynamic-config/soda-gql.config.ts"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`outdir`") && err.contains(":5:11"), "{err}");
}
