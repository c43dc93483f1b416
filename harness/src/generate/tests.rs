//! Whole-project tests of the generator: determinism, counts, reuse, the
//! shape of the spread graph, import resolution, the targeted edit, and
//! GraphQL validity of every definition against the generated schema.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use super::scan::{DefinitionKind, ProjectIndex, ScannedDefinition};
use super::*;

fn rendered(name: &str) -> RenderedProject {
    render_project(&GenerateSpec::preset(name).unwrap()).unwrap()
}

fn index_of(project: &RenderedProject) -> ProjectIndex {
    ProjectIndex::from_sources(
        project
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.contents.as_str())),
    )
    .map_err(|(path, problem)| format!("{path}:{}: {}", problem.line, problem.message))
    .unwrap()
}

/// xxh3 over every file's path and bytes under `root`, in path order.
fn tree_hash(root: &Path) -> u64 {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    let mut all = Vec::new();
    for (path, bytes) in files {
        all.extend_from_slice(path.as_bytes());
        all.push(0);
        all.extend_from_slice(&bytes);
        all.push(0);
    }
    xxh3_64(&all)
}

fn src_ts_files(project: &RenderedProject) -> Vec<&ProjectFile> {
    project
        .files
        .iter()
        .filter(|f| f.path.starts_with("src/") && f.path.ends_with(".ts"))
        .collect()
}

#[test]
fn generation_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let spec = GenerateSpec::preset("small").unwrap();
    generate(&spec, &a.path().join("p")).unwrap();
    generate(&spec, &b.path().join("p")).unwrap();
    assert_eq!(
        tree_hash(&a.path().join("p")),
        tree_hash(&b.path().join("p"))
    );

    // Another seed gives another project of the same shape.
    let other = GenerateSpec { seed: 99, ..spec };
    generate(&other, &b.path().join("q")).unwrap();
    assert_ne!(
        tree_hash(&a.path().join("p")),
        tree_hash(&b.path().join("q"))
    );
}

#[test]
fn manifest_hash_covers_every_field_and_the_version() {
    let base = GenerateSpec::preset("medium").unwrap();
    let hash = base.manifest_hash();
    assert_eq!(hash.len(), 16);
    assert_eq!(
        hash,
        GenerateSpec::preset("medium").unwrap().manifest_hash()
    );
    let variants = [
        GenerateSpec {
            files: 201,
            ..base.clone()
        },
        GenerateSpec {
            gql_ratio: 0.16,
            ..base.clone()
        },
        GenerateSpec {
            object_types: 31,
            ..base.clone()
        },
        GenerateSpec {
            fragments: 31,
            ..base.clone()
        },
        GenerateSpec {
            operations: 16,
            ..base.clone()
        },
        GenerateSpec {
            seed: 2,
            ..base.clone()
        },
        GenerateSpec {
            name: "m".into(),
            ..base.clone()
        },
    ];
    for variant in variants {
        assert_ne!(variant.manifest_hash(), hash, "{variant:?}");
    }
}

#[test]
fn presets_are_listed_and_unknown_names_are_none() {
    assert_eq!(GenerateSpec::presets().len(), 8);
    for name in GenerateSpec::presets() {
        assert_eq!(GenerateSpec::preset(name).unwrap().name, *name);
    }
    assert!(GenerateSpec::preset("huge").is_none());
}

/// Counts on disk: files under src, definition files, fragments, operations.
fn check_counts_on_disk(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenerateSpec::preset(name).unwrap();
    let project = generate(&spec, &dir.path().join(name)).unwrap();
    let index = ProjectIndex::read(&project.root).unwrap();
    let src: Vec<&String> = index
        .modules
        .keys()
        .filter(|p| p.starts_with("src/"))
        .collect();
    assert_eq!(src.len(), spec.files, "{name}: files under src");
    assert_eq!(project.files, spec.files);

    let definition_files = index
        .modules
        .iter()
        .filter(|(path, summary)| path.starts_with("src/") && !summary.definitions.is_empty())
        .count();
    assert_eq!(definition_files, project.definition_files);
    assert_eq!(
        definition_files,
        (spec.files as f64 * spec.gql_ratio).round() as usize,
        "{name}: ratio"
    );

    let kinds: Vec<DefinitionKind> = index.definitions().map(|(_, _, d)| d.kind).collect();
    let fragments = kinds
        .iter()
        .filter(|k| **k == DefinitionKind::Fragment)
        .count();
    assert_eq!(fragments, spec.fragments);
    assert_eq!(kinds.len() - fragments, spec.operations);
    assert_eq!(
        (project.fragments, project.operations),
        (spec.fragments, spec.operations)
    );
    assert!(!project.reused);

    // The reference's kinds of files are all there.
    for prefix in [
        "src/entities/model",
        "src/entities/query",
        "src/pages/operation",
        "src/components/Component",
        "src/hooks/useHook",
        "src/utils/util",
        "src/types/types",
    ] {
        assert!(
            src.iter().any(|p| p.starts_with(prefix)),
            "{name}: no {prefix}*"
        );
    }
    for file in [
        "soda-gql.config.ts",
        "schema.graphql",
        "graphql-system/index.ts",
        MANIFEST_FILE,
    ] {
        assert!(project.root.join(file).is_file(), "{name}: {file}");
    }
}

#[test]
fn small_preset_counts() {
    check_counts_on_disk("small");
}

#[test]
fn medium_preset_counts() {
    check_counts_on_disk("medium");
}

#[test]
fn every_preset_renders_exact_counts() {
    for name in GenerateSpec::presets() {
        let spec = GenerateSpec::preset(name).unwrap();
        let project = rendered(name);
        let src = src_ts_files(&project);
        assert_eq!(src.len(), spec.files, "{name}");
        let with_definitions = src
            .iter()
            .filter(|f| f.contents.contains("gql.default("))
            .count();
        assert_eq!(with_definitions, project.definition_files, "{name}");
        assert_eq!(project.fragments, spec.fragments, "{name}");
        assert_eq!(project.operations, spec.operations, "{name}");
    }
}

#[test]
fn a_spec_with_few_definitions_adds_entity_queries() {
    let spec = GenerateSpec {
        name: "sparse".into(),
        files: 300,
        gql_ratio: 0.1,
        object_types: 4,
        fragments: 4,
        operations: 6,
        seed: 5,
        options_object_percent: 0,
    };
    let project = render_project(&spec).unwrap();
    assert_eq!(project.definition_files, 30);
    assert_eq!(project.operations, 26);
    assert_valid_graphql(&project);
}

#[test]
fn an_impossible_spec_is_an_invalid_spec_error() {
    let spec = GenerateSpec {
        name: "tiny".into(),
        files: 10,
        gql_ratio: 0.5,
        object_types: 2,
        fragments: 2,
        operations: 2,
        seed: 1,
        options_object_percent: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let err = generate(&spec, &dir.path().join("t")).unwrap_err();
    assert!(matches!(err, GenerateError::InvalidSpec { .. }), "{err}");
    assert!(err.to_string().contains("tiny"));
    assert!(!dir.path().join("t").exists());
}

#[test]
fn a_matching_manifest_is_reused_and_anything_else_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    let spec = GenerateSpec::preset("small").unwrap();
    let first = generate(&spec, &out).unwrap();
    assert!(!first.reused);
    let hash = tree_hash(&out);

    // A builder cache written inside the project does not prevent reuse.
    fs::create_dir_all(out.join(".cache/builder")).unwrap();
    fs::write(out.join(".cache/builder/state.bin"), b"x").unwrap();
    let second = generate(&spec, &out).unwrap();
    assert!(second.reused);
    assert_eq!(second.manifest_hash, first.manifest_hash);
    assert!(
        out.join(".cache/builder/state.bin").exists(),
        "reuse writes nothing"
    );

    // An edited source file is noticed and the project regenerated.
    let edited = out.join("src/utils/util0.ts");
    fs::write(&edited, "export const changed = 1;\n").unwrap();
    assert!(!generate(&spec, &out).unwrap().reused);
    assert_eq!(tree_hash(&out), hash);

    // A manifest of another spec or version: regenerated.
    let manifest = out.join(MANIFEST_FILE);
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(&first.manifest_hash, "0000000000000000"),
    )
    .unwrap();
    assert!(!generate(&spec, &out).unwrap().reused);

    // A killed generation (no manifest) leaves no finished-looking directory,
    // and a leftover staging directory of a dead process is cleaned up.
    let staging = dir.path().join(".small.generating-4000000000");
    fs::create_dir_all(staging.join("src")).unwrap();
    fs::remove_file(&manifest).unwrap();
    fs::remove_dir_all(&out).unwrap();
    assert!(!generate(&spec, &out).unwrap().reused);
    assert!(!staging.exists());
    assert_eq!(tree_hash(&out), hash);
}

#[test]
fn refuses_to_replace_a_directory_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("notes.txt"), b"keep me").unwrap();
    let err = generate(&GenerateSpec::preset("small").unwrap(), &out).unwrap_err();
    assert!(
        matches!(err, GenerateError::NotAGeneratedDir { .. }),
        "{err}"
    );
    assert_eq!(fs::read(out.join("notes.txt")).unwrap(), b"keep me");

    // An empty directory is fine.
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    generate(&GenerateSpec::preset("small").unwrap(), &empty).unwrap();
}

#[test]
fn fragment_spreads_never_cycle_and_chains_stay_within_depth_three() {
    for name in ["small", "medium", "large", "xlarge", "xxlarge"] {
        let project = rendered(name);
        let graph = index_of(&project).spread_graph();
        assert!(
            graph.unresolved.is_empty(),
            "{name}: {:?}",
            graph.unresolved
        );

        // Longest chain of fragments starting at each fragment (memoised DFS
        // with an on-stack set: meeting a fragment on the stack is a cycle).
        fn depth(
            id: &str,
            graph: &super::scan::SpreadGraph,
            on_stack: &mut BTreeSet<String>,
            memo: &mut BTreeMap<String, usize>,
        ) -> usize {
            if let Some(d) = memo.get(id) {
                return *d;
            }
            assert!(on_stack.insert(id.to_string()), "cycle through {id}");
            let below = graph.spreads[id]
                .iter()
                .map(|next| depth(next, graph, on_stack, memo))
                .max()
                .unwrap_or(0);
            on_stack.remove(id);
            memo.insert(id.to_string(), below + 1);
            below + 1
        }
        let mut memo = BTreeMap::new();
        let mut deepest = 0;
        for (id, kind) in &graph.kinds {
            if *kind == DefinitionKind::Fragment {
                deepest = deepest.max(depth(id, &graph, &mut BTreeSet::new(), &mut memo));
            } else {
                for target in &graph.spreads[id] {
                    assert_eq!(
                        graph.kinds[target],
                        DefinitionKind::Fragment,
                        "{id} spreads an operation"
                    );
                }
            }
        }
        assert!(deepest <= 3, "{name}: chain of {deepest} fragments");
        if name != "small" {
            assert_eq!(deepest, 3, "{name}: expected depth-3 chains");
        }
    }
}

#[test]
fn every_import_names_an_existing_file_or_a_package() {
    for name in ["small", "medium", "large", "xlarge"] {
        let project = rendered(name);
        let index = index_of(&project);
        let mut packages = BTreeSet::new();
        let mut relative = 0;
        for (path, summary) in &index.modules {
            for used in &summary.specifiers {
                if used.specifier.starts_with('.') {
                    relative += 1;
                    assert!(
                        index.resolve_module(path, &used.specifier).is_some(),
                        "{name}: {path}:{}: `{}` names no file",
                        used.line,
                        used.specifier
                    );
                } else {
                    assert!(!used.specifier.starts_with('/'), "{path}: absolute import");
                    packages.insert(used.specifier.clone());
                }
            }
        }
        assert!(relative > 0);
        assert!(packages.contains("react"), "{name}: {packages:?}");
        // Every imported name is exported by the module it comes from.
        let contents: BTreeMap<&str, &str> = project
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.contents.as_str()))
            .collect();
        for (path, summary) in &index.modules {
            for import in &summary.imports {
                if let Some(target) = index.resolve_module(path, &import.specifier) {
                    assert!(
                        exports_name(&index, &contents, target, &import.imported, 0),
                        "{name}: {path} imports `{}` from {target}, which does not export it",
                        import.imported
                    );
                }
            }
        }
    }
}

/// `module` exports `name`: declares it, re-exports it, or star-re-exports a module that does.
fn exports_name(
    index: &ProjectIndex,
    contents: &BTreeMap<&str, &str>,
    module: &str,
    name: &str,
    depth: usize,
) -> bool {
    assert!(depth < 10, "re-export chain too deep at {module}");
    let text = contents[module];
    let declared = ["function", "const", "interface", "type"]
        .iter()
        .any(|keyword| {
            let declaration = format!("export {keyword} {name}");
            text.match_indices(&declaration).any(|(at, _)| {
                text[at + declaration.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| !c.is_ascii_alphanumeric() && c != '_')
            })
        });
    let summary = &index.modules[module];
    declared
        || summary.re_exports.iter().any(|r| {
            r.exported == name
                && index
                    .resolve_module(module, &r.specifier)
                    .is_some_and(|m| exports_name(index, contents, m, &r.imported, depth + 1))
        })
        || summary.star_re_exports.iter().any(|s| {
            index
                .resolve_module(module, s)
                .is_some_and(|m| exports_name(index, contents, m, name, depth + 1))
        })
}

/// A template's braces balance (outside `${}`), and every `${x}` names a
/// local definition or an imported binding.
fn check_template_shape(
    path: &str,
    text: &str,
    definition: &ScannedDefinition,
    index: &ProjectIndex,
) {
    let template = &text[definition.template_start..definition.template_end];
    let mut depth: i64 = 0;
    let mut parens: i64 = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek() == Some(&'{') => {
                // Skip the interpolation: identifiers only, checked below.
                for inner in chars.by_ref() {
                    if inner == '}' {
                        break;
                    }
                }
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                assert!(
                    depth >= 0,
                    "{path}: `}}` without `{{` in {}",
                    definition.export_name
                );
            }
            '(' => parens += 1,
            ')' => parens -= 1,
            _ => {}
        }
    }
    assert_eq!(
        depth, 0,
        "{path}: unbalanced braces in {}",
        definition.export_name
    );
    assert_eq!(
        parens, 0,
        "{path}: unbalanced parentheses in {}",
        definition.export_name
    );
    let module = &index.modules[path];
    for interpolation in &definition.interpolations {
        assert!(interpolation.is_spread, "{path}: bare interpolation");
        let name = &interpolation.expression;
        let known = module.imports.iter().any(|i| &i.local == name)
            || module.definitions.iter().any(|d| &d.export_name == name);
        assert!(
            known,
            "{path}: `...${{{name}}}` is neither imported nor defined here"
        );
    }
}

#[test]
fn templates_balance_and_spread_only_imported_or_local_names() {
    for name in ["small", "medium", "large"] {
        let project = rendered(name);
        let index = index_of(&project);
        let mut seen = 0;
        for file in &project.files {
            if let Some(summary) = index.modules.get(&file.path) {
                for definition in &summary.definitions {
                    check_template_shape(&file.path, &file.contents, definition, &index);
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, project.fragments + project.operations);
    }
}

/// Rewrites every definition as plain GraphQL (spreads by fragment name,
/// fragment variables replaced by their defaults, one extra query per
/// fragment so none is unused) and validates the document against the
/// generated schema with apollo-compiler.
fn assert_valid_graphql(project: &RenderedProject) {
    let index = index_of(project);
    let contents: BTreeMap<&str, &str> = project
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.contents.as_str()))
        .collect();
    let graphql_names: BTreeMap<String, String> = index
        .definitions()
        .map(|(id, _, d)| (id, d.graphql_name.clone()))
        .collect();
    let unique: BTreeSet<&String> = graphql_names.values().collect();
    assert_eq!(
        unique.len(),
        graphql_names.len(),
        "GraphQL names are not unique"
    );

    let mut document = String::new();
    for (_, module, definition) in index.definitions() {
        let text = contents[module];
        let mut body = String::new();
        let template = &text[definition.template_start..definition.template_end];
        // Replace each `${x}` by the fragment's GraphQL name.
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            body.push_str(&rest[..start]);
            let end = rest[start..].find('}').unwrap() + start;
            let local = rest[start + 2..end].trim();
            let id = index
                .resolve_local(module, local)
                .unwrap_or_else(|| panic!("{module}: cannot resolve `{local}`"));
            body.push_str(&graphql_names[&id]);
            rest = &rest[end + 1..];
        }
        body.push_str(rest);

        match definition.kind {
            DefinitionKind::Fragment => {
                let mut selection = body.trim_start().to_string();
                if selection.starts_with('(') {
                    let close = selection.find(')').unwrap();
                    let variables = selection[1..close].to_string();
                    selection = selection[close + 1..].to_string();
                    for variable in variables.split(',') {
                        let (name, default) = variable
                            .split_once('=')
                            .expect("fragment variables have defaults");
                        let name = name.split(':').next().unwrap().trim();
                        selection = selection.replace(name, default.trim());
                    }
                }
                let on_type = definition.on_type.as_deref().unwrap();
                let root_field = on_type.replacen("Entity", "entity", 1);
                document.push_str(&format!(
                    "fragment {} on {on_type} {selection}\n\nquery Check{} {{ {root_field}(id: \"1\") {{ ...{} }} }}\n\n",
                    definition.graphql_name, definition.graphql_name, definition.graphql_name
                ));
            }
            kind => {
                let keyword = match kind {
                    DefinitionKind::Query => "query",
                    DefinitionKind::Mutation => "mutation",
                    _ => "subscription",
                };
                document.push_str(&format!("{keyword} {}{body}\n\n", definition.graphql_name));
            }
        }
    }

    let schema_text = contents["schema.graphql"];
    let schema = apollo_compiler::Schema::parse_and_validate(schema_text, "schema.graphql")
        .unwrap_or_else(|e| panic!("schema invalid: {}", e.errors));
    if let Err(e) = apollo_compiler::ExecutableDocument::parse_and_validate(
        &schema,
        document.as_str(),
        "all.graphql",
    ) {
        panic!("generated definitions are invalid GraphQL:\n{}", e.errors);
    }
}

/// The checker itself: a fragment spread on the wrong type must fail it.
#[test]
#[should_panic(expected = "invalid GraphQL")]
fn the_graphql_check_rejects_a_spread_on_the_wrong_type() {
    let mut project = rendered("small");
    let page = project
        .files
        .iter_mut()
        .find(|f| f.path.starts_with("src/pages/") && f.contents.contains("...${"))
        .unwrap();
    // Point the first root field at another entity; its spreads no longer fit.
    let at = page.contents.find("    entity").unwrap() + "    entity".len();
    let digit = page.contents[at..].chars().next().unwrap();
    let other = if digit == '9' { '8' } else { '9' };
    page.contents.replace_range(at..at + 1, &other.to_string());
    assert_valid_graphql(&project);
}

#[test]
fn every_definition_is_valid_graphql_against_the_schema() {
    for name in ["small", "medium", "large", "xlarge", "xxlarge"] {
        assert_valid_graphql(&rendered(name));
    }
}

#[test]
fn other_seeds_are_valid_too() {
    for seed in 0..6 {
        let spec = GenerateSpec {
            seed,
            ..GenerateSpec::preset("medium").unwrap()
        };
        assert_valid_graphql(&render_project(&spec).unwrap());
    }
}

#[test]
fn the_stress_preset_renders_exactly_and_resolves() {
    let project = rendered("stress");
    assert_eq!(src_ts_files(&project).len(), 20_000);
    let graph = index_of(&project).spread_graph();
    assert!(graph.unresolved.is_empty());
}

#[test]
fn targeted_edit_changes_one_fragment_differently_every_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let project = generate(
        &GenerateSpec::preset("medium").unwrap(),
        &dir.path().join("m"),
    )
    .unwrap();

    let plan = TargetedEditPlan::discover(&project.root).unwrap();
    assert!(plan.dependent_operations >= 2, "{plan:?}");
    let original = fs::read_to_string(&plan.path).unwrap();

    let mut seen = BTreeSet::from([original.clone()]);
    for iteration in 0..6 {
        let edit = targeted_edit(&project.root, iteration).unwrap();
        assert_eq!(edit.path, plan.path);
        assert_eq!(edit.fragment_name, plan.fragment_id);
        assert_eq!(edit.dependent_operations, plan.dependent_operations);
        let now = fs::read_to_string(&edit.path).unwrap();
        assert!(
            seen.insert(now.clone()),
            "iteration {iteration} repeated an earlier content"
        );
        assert_eq!(now.matches("sodaPerfEdit").count(), 1);
    }
    // The same iteration again gives the same bytes; the pick is stable.
    let again = plan.apply(5).unwrap();
    assert_eq!(
        fs::read_to_string(&again.path).unwrap(),
        *seen.iter().find(|c| c.contains("sodaPerfEdit5")).unwrap()
    );
    assert_eq!(TargetedEditPlan::discover(&project.root).unwrap(), plan);

    // The edited project is still valid GraphQL.
    let mut edited = render_project(&GenerateSpec::preset("medium").unwrap()).unwrap();
    let rel = plan.fragment_id.split("::").next().unwrap();
    let file = edited.files.iter_mut().find(|f| f.path == rel).unwrap();
    file.contents = fs::read_to_string(&plan.path).unwrap();
    assert_valid_graphql(&edited);
}

#[test]
fn targeted_edit_reads_the_reference_project_shape() {
    // The reference project's style (one fragment per file, barrels) is the
    // same, so hand-written fixtures in that style work too.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("src/entities")).unwrap();
    fs::create_dir_all(root.join("src/pages")).unwrap();
    fs::write(
        root.join("src/entities/model0.ts"),
        "import { gql } from \"../../graphql-system\";\n\nexport const model0 = gql.default(({ fragment }) =>\n  fragment(\"Model0Fields\", \"Entity0\")`{\n    id\n    name\n    related { id name value }\n  }`(),\n);\n",
    )
    .unwrap();
    for i in 0..2 {
        fs::write(
            root.join(format!("src/pages/operation{i}.ts")),
            format!("import {{ gql }} from \"../../graphql-system\";\nimport {{ model0 }} from \"../entities/model0\";\n\nexport const operation{i} = gql.default(({{ query }}) =>\n  query(\"Operation{i}\")`($id: ID!) {{\n    entity0(id: $id) {{\n            ...${{model0}}\n    }}\n  }}`(),\n);\n"),
        )
        .unwrap();
    }
    let edit = targeted_edit(root, 1).unwrap();
    assert_eq!(edit.fragment_name, "src/entities/model0.ts::model0");
    assert_eq!(edit.dependent_operations, 2);
    assert!(fs::read_to_string(&edit.path)
        .unwrap()
        .contains("    sodaPerfEdit1: name\n    id\n"));

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        targeted_edit(empty.path(), 0),
        Err(GenerateError::NoFragment { .. })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// Any spec that lays out gives exact counts, resolvable spreads and
    /// valid GraphQL (apollo's validation includes "no fragment cycles").
    #[test]
    fn any_spec_generates_a_valid_project(
        files in 40usize..400,
        ratio in 0.03f64..0.3,
        object_types in 1usize..25,
        fragments in 1usize..50,
        operations in 1usize..40,
        seed: u64,
    ) {
        let spec = GenerateSpec { name: "prop".into(), files, gql_ratio: ratio, object_types, fragments, operations, seed, options_object_percent: 0 };
        if let Ok(project) = render_project(&spec) {
            proptest::prop_assert_eq!(src_ts_files(&project).len(), files);
            let graph = index_of(&project).spread_graph();
            proptest::prop_assert!(graph.unresolved.is_empty());
            assert_valid_graphql(&project);
        }
    }
}

/// `mixed` writes options-object operations with metadata callbacks and
/// fragments with metadata, and the builder builds all of it.
#[test]
fn the_mixed_preset_builds_every_definition_form() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenerateSpec::preset("mixed").unwrap();
    let project = generate(&spec, &dir.path().join("mixed")).unwrap();
    let config = builder::config::load_config(&project.root.join("soda-gql.config.ts")).unwrap();
    let output = builder::build::clean_build(&config).unwrap();
    let errors: Vec<String> = output
        .diagnostics
        .iter()
        .map(|d| d.render_human())
        .collect();
    assert!(output.diagnostics.is_empty(), "{}", errors.join("\n"));
    assert_eq!(
        output.artifact.elements.len(),
        spec.fragments + spec.operations
    );
    let rendered = render_project(&spec).unwrap();
    let sources: String = src_ts_files(&rendered)
        .iter()
        .map(|f| f.contents.as_str())
        .collect();
    let options_object = sources.matches("variables: `").count();
    assert!(
        options_object * 4 >= spec.operations && options_object * 4 <= spec.operations * 3,
        "{options_object} of {} operations use the options-object builder",
        spec.operations
    );
    let with_metadata = output
        .artifact
        .elements
        .values()
        .filter(|e| e.contains(r#""metadata":{"fragments":"#) || e.contains(r#""maxCacheTTL""#))
        .count();
    assert_eq!(with_metadata, options_object);
    // The same spec without the share is byte-for-byte `large`.
    assert_ne!(
        spec.manifest_hash(),
        GenerateSpec::preset("large").unwrap().manifest_hash()
    );
}
