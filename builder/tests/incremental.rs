//! The invariant: after any sequence of edits, the incremental artifact (a
//! session's `update`, and a new process on the persisted state) equals a
//! clean build of the same tree — elements byte for byte, diagnostics too.
//! Plus scenario tests that assert *what* was recomputed.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::path::{Path, PathBuf};

use builder::config::{load_config, Config};
use builder::incremental::change::ChangeSetMetadata;
use builder::incremental::session::SessionState;
use builder::phases::analyze::ANALYZER_VERSION;
use builder::{clean_build, BuilderSession, ChangeSet, SessionOptions};
use proptest::prelude::*;

const FIELDS: [&str; 6] = [
    "id",
    "name",
    "price",
    "tags",
    "extra",
    "related { id name }",
];
const FRAGMENTS: usize = 4;
const OPERATIONS: usize = 4;

/// A tiny project the edits act on.
#[derive(Debug, Clone)]
struct Model {
    fragments: Vec<Option<FragmentModel>>,
    operations: Vec<OperationModel>,
    broken: Vec<bool>,
    schema_extra: bool,
}

#[derive(Debug, Clone)]
struct FragmentModel {
    fields: u8,
    spreads: Vec<usize>,
    /// 0 none, 1 a static object, 2 a callback.
    metadata: u8,
}

#[derive(Debug, Clone)]
struct OperationModel {
    spreads: Vec<usize>,
    renamed: bool,
    /// Written with the options-object builder instead of a tagged template.
    options_object: bool,
    /// 0 none, 1 a static object, 2 a callback reading `fragmentMetadata`.
    metadata: u8,
}

#[derive(Debug, Clone)]
enum Edit {
    SetFields(usize, u8),
    ToggleOpSpread(usize, usize),
    ToggleFragmentSpread(usize, usize),
    RemoveFragment(usize),
    RestoreFragment(usize),
    Break(usize),
    Fix(usize),
    RenameOperation(usize),
    ToggleSchemaField,
    TouchNoise,
    ToggleOptionsObject(usize),
    SetOperationMetadata(usize, u8),
    SetFragmentMetadata(usize, u8),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..FRAGMENTS, 1u8..64).prop_map(|(i, m)| Edit::SetFields(i, m)),
        (0..OPERATIONS, 0..FRAGMENTS).prop_map(|(o, f)| Edit::ToggleOpSpread(o, f)),
        (0..FRAGMENTS, 0..FRAGMENTS).prop_map(|(a, b)| Edit::ToggleFragmentSpread(a, b)),
        (0..FRAGMENTS).prop_map(Edit::RemoveFragment),
        (0..FRAGMENTS).prop_map(Edit::RestoreFragment),
        (0..FRAGMENTS + OPERATIONS).prop_map(Edit::Break),
        (0..FRAGMENTS + OPERATIONS).prop_map(Edit::Fix),
        (0..OPERATIONS).prop_map(Edit::RenameOperation),
        Just(Edit::ToggleSchemaField),
        Just(Edit::TouchNoise),
        (0..OPERATIONS).prop_map(Edit::ToggleOptionsObject),
        (0..OPERATIONS, 0u8..3).prop_map(|(o, m)| Edit::SetOperationMetadata(o, m)),
        (0..FRAGMENTS, 0u8..3).prop_map(|(i, m)| Edit::SetFragmentMetadata(i, m)),
    ]
}

fn fragment_path(i: usize) -> String {
    format!("src/entities/frag{i}.ts")
}

fn operation_path(model: &Model, o: usize) -> String {
    if model.operations[o].renamed {
        format!("src/pages/renamed/op{o}.ts")
    } else {
        format!("src/pages/op{o}.ts")
    }
}

fn fields_text(mask: u8) -> String {
    let fields: Vec<&str> = FIELDS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, f)| *f)
        .collect();
    if fields.is_empty() {
        "id".to_owned()
    } else {
        fields.join("\n    ")
    }
}

fn render_fragment(i: usize, f: &FragmentModel, broken: bool) -> String {
    let imports: String = f
        .spreads
        .iter()
        .map(|s| format!("import {{ frag{s} }} from \"./frag{s}\";\n"))
        .collect();
    let spreads: String = f
        .spreads
        .iter()
        .map(|s| format!("\n    ...${{frag{s}}}"))
        .collect();
    let options = match f.metadata {
        1 => format!("{{ metadata: {{ frag: \"Frag{i}\", fields: {} }} }}", f.fields),
        2 => format!(
            "{{ metadata: ({{ $var }}) => ({{ frag: `Frag{i}`, fields: {}, tools: typeof $var }}) }}",
            f.fields
        ),
        _ => String::new(),
    };
    let body = format!(
        "import {{ gql }} from \"../../graphql-system\";\n{imports}\nexport const frag{i} = gql.default(({{ fragment }}) =>\n  fragment(\"Frag{i}\", \"Item\")`{{\n    {}{spreads}\n  }}`({options}),\n);\n",
        fields_text(f.fields)
    );
    if broken {
        format!("{body}\nexport const broken = ;\n")
    } else {
        body
    }
}

fn render_operation(model: &Model, o: usize, broken: bool) -> String {
    let op = &model.operations[o];
    let prefix = if op.renamed { "../../" } else { "../" };
    let imports: String = op
        .spreads
        .iter()
        .map(|s| format!("import {{ frag{s} }} from \"{prefix}entities/frag{s}\";\n"))
        .collect();
    let spreads: String = op
        .spreads
        .iter()
        .map(|s| format!("\n      ...${{frag{s}}}"))
        .collect();
    let gql = if op.renamed {
        "../../../graphql-system"
    } else {
        "../../graphql-system"
    };
    let options = match op.metadata {
        1 => format!("{{ metadata: {{ op: \"Op{o}\" }} }}"),
        2 => "{ metadata: ({ $, $var, fragmentMetadata }) => ({ id: $var.getName($.id), count: fragmentMetadata?.length ?? 0, first: fragmentMetadata?.[0], all: fragmentMetadata }) }".to_owned(),
        _ => String::new(),
    };
    let definition = if op.options_object {
        let spreads: String = op
            .spreads
            .iter()
            .map(|s| format!("\n        ...frag{s}.spread(),"))
            .collect();
        format!(
            "query(\"Op{o}\")({{\n    variables: `($id: ID!)`,\n    fields: ({{ f, $ }}) => ({{\n      ...f(\"item\", {{ id: $.id }})(({{ f }}) => ({{\n        ...f(\"id\")(),{spreads}\n      }})),\n    }}),\n  }})({options})"
        )
    } else {
        format!("query(\"Op{o}\")`($id: ID!) {{\n    item(id: $id) {{\n      id{spreads}\n    }}\n  }}`({options})")
    };
    let body = format!(
        "import {{ gql }} from \"{gql}\";\nimport {{ helper }} from \"{prefix}utils/helper\";\n{imports}\nexport const op{o} = gql.default(({{ query }}) =>\n  {definition},\n);\nexport const value = helper(1);\n"
    );
    if broken {
        format!("{body}\nconst oops = (;\n")
    } else {
        body
    }
}

fn schema_text(extra: bool) -> String {
    format!(
        "type Query {{\n  item(id: ID!): Item\n  items: [Item!]!\n}}\n\ntype Item {{\n  id: ID!\n  name: String\n  price: Float\n  tags: [String!]\n  related: Item\n{}}}\n",
        if extra { "  extra: String\n" } else { "" }
    )
}

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    model: Model,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let model = Model {
            fragments: (0..FRAGMENTS)
                .map(|i| {
                    Some(FragmentModel {
                        fields: 0b11 + (i as u8 % 3) * 4,
                        spreads: Vec::new(),
                        metadata: (i % 3) as u8,
                    })
                })
                .collect(),
            operations: (0..OPERATIONS)
                .map(|o| OperationModel {
                    spreads: vec![o % FRAGMENTS],
                    renamed: false,
                    options_object: o % 2 == 1,
                    metadata: (o % 3) as u8,
                })
                .collect(),
            broken: vec![false; FRAGMENTS + OPERATIONS],
            schema_extra: true,
        };
        write(&root, "soda-gql.config.ts", "export default defineConfig({ outdir: \"./graphql-system\", include: [\"./src/**/*.ts\"], schemas: { default: { schema: \"./schema.graphql\" } } });\n");
        write(
            &root,
            "graphql-system/index.ts",
            "export const gql: any = {};\n",
        );
        write(
            &root,
            "src/utils/helper.ts",
            "export function helper(x: number) { return x + 1; }\n",
        );
        write(&root, "schema.graphql", &schema_text(true));
        let project = Project {
            _dir: dir,
            root,
            model,
        };
        for i in 0..FRAGMENTS {
            project.write_fragment(i);
        }
        for o in 0..OPERATIONS {
            project.write_operation(o);
        }
        project
    }

    fn config(&self) -> Config {
        load_config(&self.root.join("soda-gql.config.ts")).unwrap()
    }

    fn write_fragment(&self, i: usize) -> Option<PathBuf> {
        let f = self.model.fragments[i].as_ref()?;
        Some(write(
            &self.root,
            &fragment_path(i),
            &render_fragment(i, f, self.model.broken[i]),
        ))
    }

    fn write_operation(&self, o: usize) -> PathBuf {
        write(
            &self.root,
            &operation_path(&self.model, o),
            &render_operation(&self.model, o, self.model.broken[FRAGMENTS + o]),
        )
    }

    /// Applies an edit to the tree and returns what a watcher would report.
    fn apply(&mut self, edit: &Edit) -> ChangeSet {
        let mut changes = ChangeSet::default();
        match *edit {
            Edit::SetFields(i, mask) => {
                if let Some(f) = self.model.fragments[i].as_mut() {
                    f.fields = mask;
                    changes.updated.extend(self.write_fragment(i));
                }
            }
            Edit::ToggleOpSpread(o, f) => {
                let spreads = &mut self.model.operations[o].spreads;
                match spreads.iter().position(|s| *s == f) {
                    Some(p) => {
                        spreads.remove(p);
                    }
                    None => spreads.push(f),
                }
                changes.updated.push(self.write_operation(o));
            }
            Edit::ToggleFragmentSpread(a, b) => {
                if let Some(f) = self.model.fragments[a].as_mut() {
                    match f.spreads.iter().position(|s| *s == b) {
                        Some(p) => {
                            f.spreads.remove(p);
                        }
                        None => f.spreads.push(b),
                    }
                    changes.updated.extend(self.write_fragment(a));
                }
            }
            Edit::RemoveFragment(i) => {
                if self.model.fragments[i].take().is_some() {
                    let path = self.root.join(fragment_path(i));
                    std::fs::remove_file(&path).unwrap();
                    changes.removed.push(path);
                }
            }
            Edit::RestoreFragment(i) => {
                if self.model.fragments[i].is_none() {
                    self.model.fragments[i] = Some(FragmentModel {
                        fields: 0b101,
                        spreads: Vec::new(),
                        metadata: 0,
                    });
                    changes.added.extend(self.write_fragment(i));
                }
            }
            Edit::Break(k) | Edit::Fix(k) => {
                self.model.broken[k] = matches!(edit, Edit::Break(_));
                if k < FRAGMENTS {
                    changes.updated.extend(self.write_fragment(k));
                } else {
                    changes.updated.push(self.write_operation(k - FRAGMENTS));
                }
            }
            Edit::RenameOperation(o) => {
                let old = self.root.join(operation_path(&self.model, o));
                std::fs::remove_file(&old).unwrap();
                changes.removed.push(old);
                self.model.operations[o].renamed = !self.model.operations[o].renamed;
                changes.added.push(self.write_operation(o));
            }
            Edit::ToggleOptionsObject(o) => {
                let op = &mut self.model.operations[o];
                op.options_object = !op.options_object;
                changes.updated.push(self.write_operation(o));
            }
            Edit::SetOperationMetadata(o, m) => {
                self.model.operations[o].metadata = m;
                changes.updated.push(self.write_operation(o));
            }
            Edit::SetFragmentMetadata(i, m) => {
                if let Some(f) = self.model.fragments[i].as_mut() {
                    f.metadata = m;
                    changes.updated.extend(self.write_fragment(i));
                }
            }
            Edit::ToggleSchemaField => {
                self.model.schema_extra = !self.model.schema_extra;
                changes.updated.push(write(
                    &self.root,
                    "schema.graphql",
                    &schema_text(self.model.schema_extra),
                ));
            }
            Edit::TouchNoise => {
                changes.updated.push(write(
                    &self.root,
                    "src/utils/helper.ts",
                    "// touched\nexport function helper(x: number) { return x + 1; }\n",
                ));
            }
        }
        changes
    }
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The patched dependency graph equals a clean build's.
fn assert_state_same_as_clean(project: &Project, state: &SessionState, step: &str) {
    // A cold incremental session with a cache directory of its own.
    let cache = tempfile::tempdir().unwrap();
    let mut config = project.config();
    config.cache_dir = cache.path().to_path_buf();
    let mut clean = BuilderSession::new(config, SessionOptions { incremental: true });
    clean.build_initial().unwrap();
    assert_eq!(
        state.graph,
        clean.state().graph,
        "dependency graph differs after {step}"
    );
}

fn assert_same_as_clean(project: &Project, incremental: &builder::BuildOutput, step: &str) {
    let clean = clean_build(&project.config()).unwrap();
    assert_eq!(
        incremental.artifact.elements_json(),
        clean.artifact.elements_json(),
        "elements differ after {step}"
    );
    assert_eq!(
        common::render_diagnostics(&incremental.diagnostics),
        common::render_diagnostics(&clean.diagnostics),
        "diagnostics differ after {step}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_clean_build(edits in proptest::collection::vec(edit_strategy(), 1..10)) {
        let mut project = Project::new();
        let mut session = BuilderSession::new(project.config(), SessionOptions { incremental: true });
        let initial = session.build_initial().unwrap();
        session.write_outputs().unwrap();
        assert_same_as_clean(&project, &initial, "the initial build");
        for (step, edit) in edits.iter().enumerate() {
            let changes = project.apply(edit);
            let output = session.update(&changes).unwrap();
            session.write_outputs().unwrap();
            assert_same_as_clean(&project, &output, &format!("step {step} ({edit:?})"));
            assert_state_same_as_clean(&project, session.state(), &format!("step {step} ({edit:?})"));
            // A new process on the persisted state agrees too.
            let mut fresh = BuilderSession::new(project.config(), SessionOptions { incremental: true });
            let from_disk = fresh.build_initial().unwrap();
            assert_same_as_clean(&project, &from_disk, &format!("step {step} ({edit:?}) from disk"));
        }
    }

    /// The CLI's life: every build is a new process on the state the last
    /// one left, and the edits in between are told to nobody.
    #[test]
    fn a_new_process_after_each_edit_equals_clean_build(edits in proptest::collection::vec(edit_strategy(), 1..10)) {
        let mut project = Project::new();
        let mut first = BuilderSession::new(project.config(), SessionOptions { incremental: true });
        first.build_initial().unwrap();
        first.write_outputs().unwrap();
        for (step, edit) in edits.iter().enumerate() {
            let _untold = project.apply(edit);
            let mut process = BuilderSession::new(project.config(), SessionOptions { incremental: true });
            let output = process.build_initial().unwrap();
            process.write_outputs().unwrap();
            assert_same_as_clean(&project, &output, &format!("step {step} ({edit:?}) in a new process"));
            assert_state_same_as_clean(&project, process.state(), &format!("step {step} ({edit:?}) in a new process"));
        }
    }
}

/// Dates `paths` to `when`: out of the racy window, so a new process trusts
/// their stat and a build that finds nothing moved takes the unchanged path.
fn date_files(paths: impl IntoIterator<Item = PathBuf>, when: std::time::SystemTime) {
    for path in paths {
        if let Ok(file) = std::fs::File::options().write(true).open(&path) {
            file.set_modified(when).unwrap();
        }
    }
}

/// Dates every directory of the project whose entries just changed (its
/// mtime is recent) to `when`, as a clock an hour ahead would have: the
/// others keep their older dates, so a new process trusts them and lists
/// none of them.
fn date_changed_dirs(project: &Project, when: std::time::SystemTime) {
    let recent = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    for entry in walkdir::WalkDir::new(&project.root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".cache")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir())
    {
        let modified = entry.metadata().unwrap().modified().unwrap();
        if modified > recent {
            std::fs::File::open(entry.path())
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
    }
}

fn project_files(project: &Project) -> Vec<PathBuf> {
    walkdir::WalkDir::new(&project.root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".cache")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// As above on files and directories dated an hour back, as a real
    /// tree's are: stats are trusted, steps that edit nothing answer from
    /// the state's head without decoding the rest, and steps that add or
    /// remove no file list no directory. Each edited file, and each
    /// directory whose entries changed, gets a date of its own.
    #[test]
    fn a_new_process_on_dated_files_equals_clean_build(
        edits in proptest::collection::vec(prop::option::weighted(0.6, edit_strategy()), 1..10),
    ) {
        let mut project = Project::new();
        let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        date_files(project_files(&project), base);
        date_changed_dirs(&project, base);
        let mut first = BuilderSession::new(project.config(), SessionOptions { incremental: true });
        first.build_initial().unwrap();
        first.write_outputs().unwrap();
        // The first build made the cache directory: the root's entries
        // changed (a moment later). The next build lists it again and
        // records that.
        date_changed_dirs(&project, base + std::time::Duration::from_millis(500));
        let mut second = BuilderSession::new(project.config(), SessionOptions { incremental: true });
        let relisted = second.build_initial().unwrap();
        second.write_outputs().unwrap();
        prop_assert!(relisted.report().files.listed > 0);
        for (step, edit) in edits.iter().enumerate() {
            let mut in_place = !matches!(edit, Some(Edit::ToggleSchemaField));
            if let Some(edit) = edit {
                let changes = project.apply(edit);
                let when = base + std::time::Duration::from_secs(step as u64 + 1);
                date_files(changes.added.iter().chain(&changes.updated).cloned(), when);
                date_changed_dirs(&project, when);
                in_place &= changes.added.is_empty() && changes.removed.is_empty();
            }
            let mut process = BuilderSession::new(project.config(), SessionOptions { incremental: true });
            let output = process.build_initial().unwrap();
            process.write_outputs().unwrap();
            let name = format!("step {step} ({edit:?}) in a new process on dated files");
            if edit.is_none() {
                prop_assert_eq!(output.report().files.read, 0, "{}", name);
                prop_assert_eq!(output.report().stats.misses, 0, "{}", name);
            }
            if in_place {
                prop_assert_eq!(output.report().files.listed, 0, "{}: no directory moved", name);
            }
            assert_same_as_clean(&project, &output, &name);
            assert_state_same_as_clean(&project, process.state(), &name);
        }
    }
}

#[test]
fn a_build_that_changes_nothing_reports_again_and_rewrites_no_state() {
    let mut project = Project::new();
    project.apply(&Edit::Break(0));
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    date_files(project_files(&project), base);
    let config = project.config();
    let first = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(!first.diagnostics.is_empty(), "the broken file reports");
    // The directories were just made (the first build made the cache
    // directory): date them as a real tree's are, and let one build record
    // that listing, so what follows changes nothing at all.
    date_changed_dirs(&project, base);
    let settled = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(
        settled.report().files.listed > 0,
        "moved directories are listed"
    );
    let state = builder::incremental::persist::state_path(&config);
    let written = std::fs::metadata(&state).unwrap().modified().unwrap();
    let again = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert_eq!(again.report().files.read, 0);
    assert_eq!(again.report().files.listed, 0, "no directory moved");
    assert_eq!(again.report().stats.hits, first.report().files.scanned);
    assert_eq!(
        again.artifact.elements_json(),
        first.artifact.elements_json()
    );
    assert_eq!(
        common::render_diagnostics(&again.diagnostics),
        common::render_diagnostics(&first.diagnostics)
    );
    assert_eq!(
        std::fs::metadata(&state).unwrap().modified().unwrap(),
        written
    );
    // An edit after it is seen, and the state it leaves holds.
    let changes = project.apply(&Edit::Fix(0));
    date_files(
        changes.updated.iter().cloned(),
        base + std::time::Duration::from_secs(1),
    );
    let fixed = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert_same_as_clean(&project, &fixed, "the fix after an unchanged build");
    let after = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert_eq!(after.report().files.read, 0);
    assert_same_as_clean(&project, &after, "an unchanged build after the fix");
}

/// A file whose mtime is inside the racy window when a build stores it is
/// read again by the next build, found unchanged — and that build must
/// still persist the window it moved on, or the file is read (and the body
/// decoded) on every build after it.
/// The artifact is rewritten only when what it says moved, or when the file
/// on disk is not the one the last build wrote: a build that changes
/// nothing leaves it (and a bundler watching it) alone.
#[cfg(unix)]
#[test]
fn a_build_that_changes_nothing_leaves_the_artifact_alone() {
    use std::os::unix::fs::MetadataExt as _;
    let project = Project::new();
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    date_files(project_files(&project), base);
    let config = project.config();
    let identity = |path: &Path| {
        let meta = std::fs::metadata(path).unwrap();
        (meta.ino(), meta.mtime_nsec(), meta.mtime())
    };
    let first = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    let written = identity(&config.artifact_path);
    builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert_eq!(identity(&config.artifact_path), written, "left alone");
    // Deleted, or replaced by other bytes: written again, and then trusted.
    for damage in ["delete", "replace"] {
        match damage {
            "delete" => std::fs::remove_file(&config.artifact_path).unwrap(),
            _ => std::fs::write(&config.artifact_path, "{}").unwrap(),
        }
        builder::run_build(&config, builder::BuildOptions::default()).unwrap();
        let text = std::fs::read_to_string(&config.artifact_path).unwrap();
        assert!(
            text.starts_with(&format!(
                "{{\n  \"elements\": {}",
                first.artifact.elements_json()
            )),
            "{damage}: the artifact is whole again"
        );
        let rewritten = identity(&config.artifact_path);
        builder::run_build(&config, builder::BuildOptions::default()).unwrap();
        assert_eq!(
            identity(&config.artifact_path),
            rewritten,
            "{damage}: then left alone"
        );
    }
    // A clean build always writes it; an edit that changes an element too.
    let before_clean = identity(&config.artifact_path);
    builder::run_build(
        &config,
        builder::BuildOptions {
            incremental: false,
            write: true,
        },
    )
    .unwrap();
    assert_ne!(
        identity(&config.artifact_path),
        before_clean,
        "a clean build writes"
    );
    let mut project = project;
    let changes = project.apply(&Edit::Break(0));
    date_files(
        changes.updated.iter().cloned(),
        base + std::time::Duration::from_secs(1),
    );
    let broken = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    let text = std::fs::read_to_string(&config.artifact_path).unwrap();
    assert!(text.starts_with(&format!(
        "{{\n  \"elements\": {}",
        broken.artifact.elements_json()
    )));
}

/// A directory whose entries changed without touching the build (an
/// editor's swap file) is listed once; the build records its new stat in
/// the head alone (the body stays as it was), and the next build lists
/// nothing again.
#[test]
fn a_directory_that_moved_is_listed_once() {
    let project = Project::new();
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    date_files(project_files(&project), base);
    let config = project.config();
    let options = builder::BuildOptions::default();
    builder::run_build(&config, options).unwrap();
    date_changed_dirs(&project, base + std::time::Duration::from_secs(1));
    builder::run_build(&config, options).unwrap();
    let quiet = builder::run_build(&config, options).unwrap();
    assert_eq!(quiet.report().files.listed, 0, "nothing moved");
    std::fs::write(project.root.join("src/utils/.helper.ts.swp"), "x").unwrap();
    date_changed_dirs(&project, base + std::time::Duration::from_secs(2));
    let state = builder::incremental::persist::state_path(&config);
    let body_before = std::fs::read(&state).unwrap();
    let moved = builder::run_build(&config, options).unwrap();
    assert!(
        moved.report().files.listed > 0,
        "the moved directory is listed"
    );
    assert_eq!(moved.report().files.read, 0);
    assert_same_as_clean(&project, &moved, "after a swap file");
    let body_after = std::fs::read(&state).unwrap();
    assert_ne!(body_after, body_before, "the head records the new stat");
    let again = builder::run_build(&config, options).unwrap();
    assert_eq!(
        again.report().files.listed,
        0,
        "then nothing is listed again"
    );
    assert_eq!(again.report().files.read, 0);
    assert_same_as_clean(&project, &again, "the build after");
    // The body written behind the new head is the old one, intact.
    let mut process = BuilderSession::new(config.clone(), SessionOptions { incremental: true });
    process.build_initial().unwrap();
    assert_state_same_as_clean(&project, process.state(), "the state behind the new head");
}

/// A directory listed again only because its stat was too recent to trust
/// (the first build makes the cache directory in the root, a moment before
/// its own window) moves the racy window on: the build after it lists
/// nothing.
#[test]
fn a_directory_listed_for_raciness_is_not_listed_again() {
    let project = Project::new();
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    date_files(project_files(&project), base);
    date_changed_dirs(&project, base);
    let config = project.config();
    let options = builder::BuildOptions::default();
    builder::run_build(&config, options).unwrap();
    // The root changed inside the window of the next build (which trusts
    // no stat newer than two seconds before it starts, and starts well
    // within half a second): that build lists it and records its stat,
    // still too recent to trust.
    let now = std::time::SystemTime::now();
    let changed = now - std::time::Duration::from_millis(1500);
    std::fs::File::open(&project.root)
        .unwrap()
        .set_modified(changed)
        .unwrap();
    let moved = builder::run_build(&config, options).unwrap();
    assert!(moved.report().files.listed > 0, "the moved root is listed");
    // The next build starts over two seconds after the change.
    let later = now + std::time::Duration::from_millis(600);
    if let Ok(wait) = later.duration_since(std::time::SystemTime::now()) {
        std::thread::sleep(wait);
    }
    // Same stat, but racy under the window that build recorded: listed, and
    // the window moves past it.
    let racy = builder::run_build(&config, options).unwrap();
    assert!(racy.report().files.listed > 0, "a racy directory is listed");
    assert_eq!(racy.report().files.read, 0);
    let after = builder::run_build(&config, options).unwrap();
    assert_eq!(after.report().files.listed, 0, "and then trusted");
    assert_same_as_clean(&project, &after, "after a racy directory");
}

#[test]
fn a_file_read_for_raciness_is_not_read_again() {
    let project = Project::new();
    let now = std::time::SystemTime::now();
    date_files(
        project_files(&project),
        now - std::time::Duration::from_secs(3600),
    );
    // One second old: inside the 2 s window of a build that starts now.
    let racy = project.root.join("src/utils/helper.ts");
    date_files([racy], now - std::time::Duration::from_secs(1));
    let build = || {
        let mut process =
            BuilderSession::new(project.config(), SessionOptions { incremental: true });
        let output = process.build_initial().unwrap();
        process.write_outputs().unwrap();
        output
    };
    build();
    // Past the window: a build starting now no longer finds the file racy.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let second = build();
    assert_eq!(second.report().files.read, 1, "the racy file is read again");
    let third = build();
    assert_eq!(third.report().files.read, 0, "and then trusted");
    assert_same_as_clean(&project, &third, "after the racy re-read");
}

#[test]
fn editing_one_fragment_recompiles_only_its_dependents() {
    let mut project = Project::new();
    let mut session = BuilderSession::new(project.config(), SessionOptions { incremental: false });
    session.build_initial().unwrap();
    let changes = project.apply(&Edit::SetFields(0, 0b111));
    let output = session.update(&changes).unwrap();
    let mut compiled = output.compiled_ids.clone();
    compiled.sort();
    // frag0 and the one operation that spreads it (op0), nothing else.
    assert_eq!(
        compiled,
        vec!["src/entities/frag0.ts::frag0", "src/pages/op0.ts::op0"]
    );
    assert_eq!(output.report().files.analyzed, 1);
    assert_eq!(output.report().stats.skips, 1);
    assert_same_as_clean(&project, &output, "the fragment edit");
}

#[test]
fn a_comment_edit_is_an_invalidation_barrier() {
    let mut project = Project::new();
    let mut session = BuilderSession::new(project.config(), SessionOptions { incremental: false });
    session.build_initial().unwrap();
    let changes = project.apply(&Edit::TouchNoise);
    let output = session.update(&changes).unwrap();
    assert!(output.compiled_ids.is_empty(), "{:?}", output.compiled_ids);
    assert_eq!(output.report().recomputed.definitions, 0);
    assert!(output.delta.is_empty());
}

#[test]
fn empty_change_set_recomputes_nothing() {
    let project = Project::new();
    let mut session = BuilderSession::new(project.config(), SessionOptions { incremental: false });
    let first = session.build_initial().unwrap();
    let second = session.update(&ChangeSet::default()).unwrap();
    assert_eq!(second.report().files.read, 0);
    assert!(second.compiled_ids.is_empty());
    assert_eq!(
        first.artifact.elements_json(),
        second.artifact.elements_json()
    );
}

/// Moves every mtime 10 s into the past, out of the racy window.
fn backdate(root: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    for entry in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let file = std::fs::File::options()
            .write(true)
            .open(entry.path())
            .unwrap();
        file.set_modified(past).unwrap();
    }
}

#[test]
fn second_process_is_all_hits_without_reads() {
    let project = Project::new();
    backdate(&project.root);
    let config = project.config();
    builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    let second = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    let report = second.report();
    assert_eq!(report.stats.misses, 0);
    assert_eq!(report.stats.hits, report.files.scanned);
    assert_eq!(report.files.read, 0);
    assert!(second.compiled_ids.is_empty());
}

/// `peek` answers from the discovery cache: the stat and content hash the
/// last build recorded, by absolute or root-relative path, for files it
/// discovered only.
#[test]
fn peek_returns_the_cached_fingerprint_without_reading() {
    let mut project = Project::new();
    let config = project.config();
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: true });
    session.build_initial().unwrap();
    let rel = fragment_path(0);
    let path = project.root.join(&rel);
    let cached = session.peek(&path).expect("a discovered file is cached");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(cached.hash, builder::io::fingerprint::hash_bytes(&bytes));
    assert_eq!(cached.stat, builder::io::fingerprint::stat(&path).unwrap());
    assert_eq!(session.peek(Path::new(&rel)), Some(cached));
    assert_eq!(session.peek(&project.root.join("schema.graphql")), None);
    assert_eq!(session.peek(&project.root.join("src/nope.ts")), None);
    assert_eq!(session.peek(Path::new("/elsewhere/a.ts")), None);
    // An edit nobody was told of: peek still says what the cache holds.
    std::fs::write(&path, "export const changed = 1;\n").unwrap();
    assert_eq!(session.peek(&path), Some(cached));
    // A new process's build discovers the edit; peek then holds the new one.
    let mut fresh = BuilderSession::new(config, SessionOptions { incremental: true });
    fresh.build_initial().unwrap();
    let refreshed = fresh.peek(&path).unwrap();
    assert_ne!(refreshed.hash, cached.hash, "the edit was discovered");
    let changes = project.apply(&Edit::RemoveFragment(0));
    fresh.update(&changes).unwrap();
    assert_eq!(fresh.peek(&path), None, "a removed file leaves the cache");
}

#[test]
fn a_just_written_file_is_rehashed_not_trusted() {
    let project = Project::new();
    let config = project.config();
    builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    // Same size, same mtime tick possible: the stat alone must not be trusted.
    let second = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(second.report().files.read > 0);
    assert_eq!(second.report().stats.misses, 0);
}

#[test]
fn corrupt_or_old_state_is_discarded_with_a_note() {
    let project = Project::new();
    let config = project.config();
    let first = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    let state = builder::incremental::persist::state_path(&config);
    let mut bytes = std::fs::read(&state).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&state, &bytes).unwrap();
    let second = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(
        second.cache_note.as_deref().unwrap().contains("checksum"),
        "{:?}",
        second.cache_note
    );
    assert_eq!(
        first.artifact.elements_json(),
        second.artifact.elements_json()
    );
    // A flipped byte in the head, which a build reads first.
    let mut bytes = std::fs::read(&state).unwrap();
    bytes[24] ^= 0x5a;
    std::fs::write(&state, &bytes).unwrap();
    let head_flipped = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(
        head_flipped
            .cache_note
            .as_deref()
            .unwrap()
            .contains("discarded"),
        "{:?}",
        head_flipped.cache_note
    );
    // Truncated (a killed write can't produce this thanks to rename, but a disk can).
    std::fs::write(&state, &bytes[..10]).unwrap();
    let third = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(third.cache_note.as_deref().unwrap().contains("discarded"));
    // The rebuilt state is valid again.
    let fourth = builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert_eq!(fourth.report().stats.misses, 0);
}

#[test]
fn service_creates_the_session_lazily() {
    let mut project = Project::new();
    let mut service =
        builder::BuilderService::new(project.config(), SessionOptions { incremental: false });
    assert!(!service.has_session());
    let first = service.build(&ChangeSet::default()).unwrap();
    assert!(service.has_session());
    assert_eq!(first.report().files.analyzed, 9);
    let changes = project.apply(&Edit::SetFields(1, 0b1111));
    let second = service.build(&changes).unwrap();
    assert_eq!(second.report().files.analyzed, 1);
    assert_same_as_clean(&project, &second, "a service update");
}

#[test]
fn what_earlier_versions_left_in_the_cache_directory_is_removed() {
    let project = Project::new();
    let config = project.config();
    // State format 8 and before appended chunk outputs to `chunks.pack`
    // (nothing read them back); earlier still, one file per chunk.
    let legacy = config.cache_dir.join("chunks");
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::write(legacy.join("0123456789abcdef.chunk"), b"stale").unwrap();
    let pack = config.cache_dir.join("chunks.pack");
    std::fs::write(&pack, b"SODAPACK stale").unwrap();
    builder::run_build(&config, builder::BuildOptions::default()).unwrap();
    assert!(!legacy.exists());
    assert!(!pack.exists());
    assert!(builder::incremental::persist::state_path(&config).is_file());
}

#[test]
fn a_moved_duplicate_is_reported_at_its_new_place() {
    let project = Project::new();
    let mut session = BuilderSession::new(project.config(), SessionOptions { incremental: false });
    session.build_initial().unwrap();
    // A second fragment named `Frag0`: a duplicate-name warning that points
    // into this file ("first defined at src/entities/dup.ts:…").
    let dup = |blank_lines: usize| {
        format!(
            "{}import {{ gql }} from \"../../graphql-system\";\nexport const dup = gql.default(({{ fragment }}) =>\n  fragment(\"Frag0\", \"Item\")`{{\n    id\n  }}`(),\n);\n",
            "\n".repeat(blank_lines)
        )
    };
    let path = write(&project.root, "src/entities/dup.ts", &dup(0));
    let output = session
        .update(&ChangeSet {
            added: vec![path.clone()],
            ..ChangeSet::default()
        })
        .unwrap();
    assert!(output
        .diagnostics
        .iter()
        .any(|d| d.message.contains("src/entities/dup.ts")));
    assert_same_as_clean(&project, &output, "a duplicate added");
    // Same edges, same name, new position: the warning must move with it.
    write(&project.root, "src/entities/dup.ts", &dup(3));
    let output = session
        .update(&ChangeSet {
            updated: vec![path],
            ..ChangeSet::default()
        })
        .unwrap();
    assert_same_as_clean(&project, &output, "the duplicate moved");
}

/// `ChangeSet::metadata`: a caller's schema hash that matches the session's
/// vouches for it (no reload); a different one reloads; a different
/// analyzer version rebuilds everything. A reload that fails validation
/// changes nothing in the session (an update is a transaction).
#[test]
fn change_set_metadata_decides_what_is_invalidated() {
    let project = Project::new();
    let config = project.config();
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: false });
    let first = session.build_initial().unwrap();
    let hash = builder::phases::graphql::schema::load_schemas(&config)
        .unwrap()
        .combined_hash();
    let with = |schema_hash: u64, analyzer_version: u32| ChangeSet {
        metadata: Some(ChangeSetMetadata {
            schema_hash,
            analyzer_version,
        }),
        ..ChangeSet::default()
    };
    // A schema that parses but does not validate (an unknown type).
    let good = std::fs::read_to_string(project.root.join("schema.graphql")).unwrap();
    write(
        &project.root,
        "schema.graphql",
        "type Query { item: Missing }\n",
    );
    let vouched = session.update(&with(hash, ANALYZER_VERSION)).unwrap();
    assert_eq!(vouched.artifact.elements, first.artifact.elements);
    assert!(
        session.update(&with(hash ^ 1, ANALYZER_VERSION)).is_err(),
        "another hash reloads the schema, which fails"
    );
    let after = session.update(&with(hash, ANALYZER_VERSION)).unwrap();
    assert_eq!(
        after.artifact.elements, first.artifact.elements,
        "the failed update kept the schema the session had"
    );
    write(&project.root, "schema.graphql", &good);
    let rebuilt = session.update(&with(hash, ANALYZER_VERSION + 1)).unwrap();
    assert_eq!(
        rebuilt.report().files.analyzed,
        first.report().files.analyzed,
        "another analyzer version analyzes every file again"
    );
    assert_eq!(rebuilt.artifact.elements, first.artifact.elements);
}
