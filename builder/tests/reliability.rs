//! Regression tests for issue 14: inputs that aborted or flooded a build,
//! silences where a diagnostic belongs, incremental disagreeing with clean,
//! and what crashes or damaged caches leave behind. Each test failed before
//! its fix.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;

fn project_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture(name), dir.path());
    dir
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("soda-gql.config.ts")
}

/// Runs `soda-builder build` on the project in `dir` (incremental unless told).
fn build(dir: &Path, extra: &[&str]) -> Output {
    AssertCommand::cargo_bin("soda-builder")
        .unwrap()
        .args(["build", "--config"])
        .arg(config_path(dir))
        .args(extra)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap()
}

/// [`build`] without the capabilities that let root read any file (tests
/// run as root in CI containers, where `chmod 000` would change nothing).
fn build_unprivileged(dir: &Path, extra: &[&str]) -> Output {
    let mut cmd = std::process::Command::new("setpriv");
    if is_root() {
        cmd.arg("--bounding-set=-dac_override,-dac_read_search");
    } else {
        cmd.arg("--");
    }
    cmd.arg(assert_cmd::cargo::cargo_bin("soda-builder"))
        .args(["build", "--config"])
        .arg(config_path(dir))
        .args(extra);
    cmd.output().unwrap()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn artifact(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(".cache/soda-gql/builder/artifact.json")).unwrap_or_default()
}

const GQL_IMPORT: &str = "import { gql } from \"../../graphql-system\";\n";

fn write_source(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Item 1: 700 nested parentheses (and 1,000 levels of arrays, objects,
/// templates) aborted the process with a stack overflow (exit 134).
#[test]
fn deep_expressions_never_abort_the_build() {
    let dir = project_copy("small-app");
    let cases = [
        (
            "parens",
            format!(
                "export const deep = {}1{};\n",
                "(".repeat(700),
                ")".repeat(700)
            ),
        ),
        (
            "arrays",
            format!(
                "export const deep = {}1{};\n",
                "[".repeat(1000),
                "]".repeat(1000)
            ),
        ),
        (
            "objects",
            format!(
                "export const deep = {}1{};\n",
                "{a:".repeat(1000),
                "}".repeat(1000)
            ),
        ),
        (
            "templates",
            format!(
                "export const deep = {}1{};\n",
                "`${".repeat(1000),
                "}`".repeat(1000)
            ),
        ),
        (
            "huge",
            format!(
                "export const deep = {}1{};\n",
                "(".repeat(50_000),
                ")".repeat(50_000)
            ),
        ),
    ];
    for (name, text) in cases {
        write_source(dir.path(), "src/utils/deep.ts", &text);
        let out = build(dir.path(), &["--no-incremental"]);
        let err = stderr(&out);
        assert!(
            matches!(code(&out), 0 | 1),
            "{name}: exit {:?}\n{}",
            out.status,
            &err[..err.len().min(2000)]
        );
        if code(&out) == 1 {
            assert!(err.contains("src/utils/deep.ts:1:"), "{name}: {err}");
        }
        assert!(
            artifact(dir.path()).contains("ProductList"),
            "{name}: the other files are still built"
        );
    }
}

/// Item 2: every GraphQL parse error re-printed the whole source line, and
/// nothing capped their number: output grew with the square of the input.
#[test]
fn malformed_graphql_does_not_flood() {
    let dir = project_copy("small-app");
    let n = 10_000;
    let text = format!(
        "{GQL_IMPORT}export const flood = gql.default(({{ query }}) => query(\"Flood\")`{{ products {} }}`());\n",
        "(".repeat(n)
    );
    write_source(dir.path(), "src/pages/flood.ts", &text);
    let nested = format!(
        "{GQL_IMPORT}export const nest = gql.default(({{ query }}) => query(\"Nest\")`{{ {} }}`());\n",
        "{ child ".repeat(n)
    );
    write_source(dir.path(), "src/pages/nest.ts", &nested);
    let out = build(dir.path(), &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{}", &err[..err.len().min(2000)]);
    assert!(err.contains("src/pages/flood.ts:"), "located");
    assert!(err.contains("SODA0103"), "a count of what was left out");
    let input = (text.len() + nested.len()) as u64;
    assert!(
        (err.len() as u64) < 20 * input.max(10_000),
        "stderr {} bytes for {} bytes of input",
        err.len(),
        input
    );
    let state = std::fs::metadata(dir.path().join(".cache/soda-gql/builder/state.bin"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(state < 2_000_000, "state.bin {state} bytes");
    // The incremental build agrees.
    let again = build(dir.path(), &[]);
    let without_info = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("info:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_info(&stderr(&again)), without_info(&err));
}

/// Item 5: empty templates and a template starting with the keyword were
/// dropped silently (exit 0, no element, no diagnostic).
#[test]
fn definitions_the_builder_cannot_emit_are_diagnostics() {
    for (name, body) in [
        ("empty", "query(\"Empty\")``()"),
        ("blank", "query(\"Blank\")`   `()"),
        ("keyword", "query(\"Kw\")`query { products { id } }`()"),
        ("empty-string", "query(\"\")`{ products { id } }`()"),
    ] {
        let dir = project_copy("small-app");
        write_source(
            dir.path(),
            "src/pages/odd.ts",
            &format!("{GQL_IMPORT}export const odd = gql.default(({{ query }}) =>\n  {body});\n"),
        );
        let out = build(dir.path(), &["--no-incremental"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{name}: {err}");
        assert!(err.contains("src/pages/odd.ts:3:"), "{name}: {err}");
    }
}

/// Item 5: a directory the builder cannot list was skipped silently (9 of
/// 15 operations missing, exit 0).
#[test]
fn an_unreadable_directory_is_an_error_naming_it() {
    let dir = project_copy("small-app");
    build(dir.path(), &[]);
    let pages = dir.path().join("src/pages");
    set_mode(&pages, 0o000);
    let cold = build_unprivileged(dir.path(), &["--no-incremental"]);
    let warm = build_unprivileged(dir.path(), &[]);
    set_mode(&pages, 0o755);
    for (what, out) in [("clean", cold), ("incremental", warm)] {
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{what}: {err}");
        assert!(err.contains("src/pages"), "{what}: {err}");
        assert!(err.contains("chmod"), "{what}: says what to do: {err}");
    }
}

/// Item 3: the watcher rebuilt on its own reads (access events) and on the
/// cache it writes: 9 `rebuilt` lines in 3 idle seconds; `cat` of a source
/// rebuilt too.
#[test]
fn watch_goes_idle_and_ignores_reads() {
    let dir = project_copy("small-app");
    let mut watcher = common::Watcher::start(&config_path(dir.path()), 100);
    let idle = watcher.lines_until_quiet(Duration::from_secs(2), Duration::from_secs(10));
    assert!(idle.is_empty(), "idle: {idle:?}");
    std::fs::read_to_string(dir.path().join("src/entities/product.ts")).unwrap();
    let after_read = watcher.lines_until_quiet(Duration::from_secs(1), Duration::from_secs(10));
    assert!(after_read.is_empty(), "after a read: {after_read:?}");
    let file = dir.path().join("src/entities/product.ts");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("    price\n", "    price\n    inStock\n"),
    )
    .unwrap();
    watcher.wait_for("rebuilt:", Duration::from_secs(30));
    let after_edit = watcher.lines_until_quiet(Duration::from_secs(2), Duration::from_secs(20));
    assert!(after_edit.is_empty(), "after one edit: {after_edit:?}");
}

/// Item 4: `rm -rf` of a directory left its elements in the watcher's
/// artifact (a clean build had none).
#[test]
fn watch_forgets_a_removed_directory() {
    let dir = project_copy("small-app");
    let artifact = dir.path().join(".cache/soda-gql/builder/artifact.json");
    let mut watcher = common::Watcher::start(&config_path(dir.path()), 100);
    let sub = dir.path().join("src/sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("b.ts"),
        "import { gql } from \"../../graphql-system\";\nexport const b = gql.default(({ query }) => query(\"SubB\")`{ products { id } }`());\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&artifact)
        .unwrap_or_default()
        .contains("SubB")
    {
        assert!(Instant::now() < deadline, "the new file was never built");
        watcher.lines_until_quiet(Duration::from_millis(300), Duration::from_secs(5));
    }
    std::fs::remove_dir_all(&sub).unwrap();
    watcher.wait_for("rebuilt:", Duration::from_secs(30));
    watcher.lines_until_quiet(Duration::from_secs(1), Duration::from_secs(10));
    let watched = std::fs::read_to_string(&artifact).unwrap();
    assert!(
        !watched.contains("SubB"),
        "the removed directory's element stayed"
    );
    // A rename of a directory: its files move with it.
    std::fs::rename(dir.path().join("src/pages"), dir.path().join("src/moved")).unwrap();
    watcher.wait_for("rebuilt:", Duration::from_secs(30));
    watcher.lines_until_quiet(Duration::from_secs(1), Duration::from_secs(10));
    let watched = std::fs::read_to_string(&artifact).unwrap();
    assert_eq!(
        common::elements(&watched),
        common::elements(&common::clean_artifact(dir.path()))
    );
    assert!(watched.contains("src/moved/"), "the moved files are built");
}

/// Item 6: after `chmod 000` of a source, a clean build failed (SODA0102)
/// while an incremental one kept the old content, exit 0: the stat key did
/// not see a mode change.
#[test]
fn chmod_000_is_seen_by_an_incremental_build() {
    let dir = project_copy("small-app");
    assert_eq!(code(&build(dir.path(), &[])), 0);
    let file = dir.path().join("src/entities/product.ts");
    set_mode(&file, 0o000);
    let warm = build_unprivileged(dir.path(), &[]);
    let cold = build_unprivileged(dir.path(), &["--no-incremental"]);
    set_mode(&file, 0o644);
    let errors = |o: &Output| {
        stderr(o)
            .lines()
            .filter(|l| l.starts_with("error") || l.contains("-->"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(code(&cold), 1, "{}", stderr(&cold));
    assert!(stderr(&cold).contains("SODA0102"));
    assert_eq!(code(&warm), 1, "incremental: {}", stderr(&warm));
    assert_eq!(errors(&warm), errors(&cold));
    // Readable again: both build.
    assert_eq!(code(&build(dir.path(), &[])), 0);
}

/// Item 7: a `kill -9` mid-write left `.state.bin.<pid>.tmp` files that no
/// later build removed.
#[test]
fn temp_files_of_dead_processes_are_removed_by_the_next_build() {
    let dir = project_copy("small-app");
    assert_eq!(code(&build(dir.path(), &[])), 0);
    let cache = dir.path().join(".cache/soda-gql/builder");
    let dead = u32::MAX - 1;
    for name in [".state.bin", ".artifact.stamp", ".artifact.json"] {
        std::fs::write(cache.join(format!("{name}.{dead}.tmp")), vec![0u8; 1024]).unwrap();
    }
    assert_eq!(code(&build(dir.path(), &[])), 0);
    let left: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Item 8: an invalid schema printed a source excerpt per error (194 MB for
/// 76 KB); an artifact path equal to the schema overwrote the schema.
#[test]
fn schema_errors_are_capped_and_the_schema_is_never_the_artifact() {
    let dir = project_copy("small-app");
    let schema = dir.path().join("schema.graphql");
    let text = std::fs::read_to_string(&schema).unwrap();
    std::fs::write(
        &schema,
        format!("{text}\ntype Broken {{ {} }}\n", "x(".repeat(5_000)),
    )
    .unwrap();
    let out = build(dir.path(), &["--no-incremental"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("schema.graphql:"), "located: {err}");
    assert!(err.contains("more error(s)"), "counted: {err}");
    assert!(err.len() < 5_000, "{} bytes", err.len());

    std::fs::write(&schema, &text).unwrap();
    let out = build(dir.path(), &["--out", schema.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the schema `default`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&schema).unwrap(),
        text,
        "the schema is intact"
    );
}

/// Item 11: changing `--out` discarded the persisted state ("the config
/// changed": a cold build), though the analysis does not depend on it.
#[test]
fn changing_out_keeps_the_persisted_state() {
    let dir = project_copy("small-app");
    let first = dir.path().join("first.json");
    let second = dir.path().join("second.json");
    assert_eq!(
        code(&build(dir.path(), &["--out", first.to_str().unwrap()])),
        0
    );
    let out = build(dir.path(), &["--out", second.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("using the persisted state"),
        "{}",
        stderr(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("misses 0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let read = |p: &Path| common::elements(&std::fs::read_to_string(p).unwrap());
    assert_eq!(read(&second), read(&first));
}

/// Item 12: three errors about `query("Ünïcödé")` all pointed at the
/// name's first column; now one diagnostic at the first character that
/// cannot be in a GraphQL name (columns in characters, as everywhere).
#[test]
fn a_non_graphql_name_is_one_diagnostic_at_its_character() {
    let dir = project_copy("small-app");
    write_source(
        dir.path(),
        "src/pages/uni.ts",
        &format!("{GQL_IMPORT}export const u = gql.default(({{ query }}) => query(\"Ab_Ünï\")`{{ products {{ id }} }}`());\n"),
    );
    let out = build(dir.path(), &["--no-incremental"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let column = "export const u = gql.default(({ query }) => query(\"Ab_"
        .chars()
        .count()
        + 1;
    assert!(
        err.contains(&format!("src/pages/uni.ts:2:{column}")),
        "{err}"
    );
    assert_eq!(err.matches("error[").count(), 1, "{err}");
}

/// Item 9: a cache entry replaced by a directory, or a dangling `lock`
/// symlink, made every build fail (exit 2, naming the cache directory).
#[test]
fn cache_entries_that_are_not_files_are_removed_with_a_warning() {
    for what in ["state.bin", "lock", "artifact.stamp", "lock-symlink"] {
        let dir = project_copy("small-app");
        assert_eq!(code(&build(dir.path(), &[])), 0);
        let cache = dir.path().join(".cache/soda-gql/builder");
        let name = what.trim_end_matches("-symlink");
        let path = cache.join(name);
        std::fs::remove_file(&path).unwrap();
        if what.ends_with("-symlink") {
            std::os::unix::fs::symlink("/nonexistent/soda/lock", &path).unwrap();
        } else {
            std::fs::create_dir_all(path.join("inside")).unwrap();
        }
        let out = build(dir.path(), &[]);
        let err = stderr(&out);
        assert_eq!(code(&out), 0, "{what}: {err}");
        assert!(
            err.contains(&format!("warning: {}", path.display())),
            "{what}: {err}"
        );
        assert!(path.is_file(), "{what}: written afresh");
        assert_eq!(
            common::elements(&artifact(dir.path())),
            common::elements(&common::clean_artifact(dir.path())),
            "{what}"
        );
    }
}

/// Item 10: 5,000 operations spreading one fragment in one file; editing
/// the fragment made an incremental process slower than a clean one (it
/// decoded and diffed the whole state for a change that reaches every
/// element). When the moved files hold most elements, the build is cold.
#[test]
fn an_edit_reaching_most_elements_builds_cold_and_equals_clean() {
    let dir = project_copy("small-app");
    let fanout = |extra: &str| {
        let mut text = format!(
            "{GQL_IMPORT}export const fanFields = gql.default(({{ fragment }}) => fragment(\"FanFields\", \"Product\")`{{ id {extra} }}`());\n"
        );
        for i in 0..1_200 {
            text.push_str(&format!(
                "export const fan{i} = gql.default(({{ query }}) => query(\"Fan{i}\")`{{ products {{ ...${{fanFields}} }} }}`());\n"
            ));
        }
        text
    };
    write_source(dir.path(), "src/pages/fanout.ts", &fanout(""));
    assert_eq!(code(&build(dir.path(), &[])), 0);
    write_source(dir.path(), "src/pages/fanout.ts", &fanout("name"));
    let out = build(dir.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("built cold"), "{}", stderr(&out));
    assert_eq!(
        common::elements(&artifact(dir.path())),
        common::elements(&common::clean_artifact(dir.path()))
    );
    // An edit of a file with few elements still builds from the state.
    let product = dir.path().join("src/entities/product.ts");
    let text = std::fs::read_to_string(&product).unwrap();
    std::fs::write(
        &product,
        text.replace("    price\n", "    price\n    inStock\n"),
    )
    .unwrap();
    let out = build(dir.path(), &[]);
    assert!(
        stderr(&out).contains("using the persisted state"),
        "{}",
        stderr(&out)
    );
}

/// Item 9: a corrupt `artifact.stamp` was recovered without the warning
/// the other damaged cache files get.
#[test]
fn a_corrupt_artifact_stamp_is_recovered_with_a_warning() {
    let dir = project_copy("small-app");
    assert_eq!(code(&build(dir.path(), &[])), 0);
    let stamp = dir.path().join(".cache/soda-gql/builder/artifact.stamp");
    std::fs::write(&stamp, b"garbage").unwrap();
    let out = build(dir.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("warning: {} is corrupt", stamp.display())),
        "{}",
        stderr(&out)
    );
    let again = build(dir.path(), &[]);
    assert!(
        !stderr(&again).contains("warning"),
        "recovered: {}",
        stderr(&again)
    );
}

/// Found by the long fuzz (case 15972): `import { a } from "./nope";` 2,000
/// times on one line kept the whole 60 KB line in every import's summary, a
/// 115 MB state from 113 KB of input. Each import now keeps an excerpt, and
/// its diagnostic still points at the right column.
#[test]
fn a_long_line_of_imports_keeps_the_state_small() {
    let dir = project_copy("small-app");
    let imports = (0..2000)
        .map(|i| format!("import {{ a{i} }} from \"./nope{i}\";"))
        .collect::<Vec<_>>()
        .join(" ");
    let source = format!(
        "{GQL_IMPORT}{imports}\nexport const op = gql.default(({{ query }}) => query(\"Op\")`{{ products {{ ...${{a1999}} }} }}`());\n"
    );
    let input = source.len() as u64;
    write_source(dir.path(), "src/pages/many.ts", &source);
    let out = build(dir.path(), &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    // The spread's import is the last one on the line: its specifier's column.
    let column = imports.find("\"./nope1999\"").unwrap() + 1;
    assert!(
        err.contains(&format!("src/pages/many.ts:2:{column}")),
        "{err}"
    );
    let state = std::fs::metadata(dir.path().join(".cache/soda-gql/builder/state.bin"))
        .unwrap()
        .len();
    assert!(
        state < 20 * input + 2_000_000,
        "state {state} bytes from {input} bytes of input"
    );
}

/// Many definitions on one long line (minified code) each kept the whole
/// line for their snippets: 2,000 operations on one ~150 KB line made a
/// state of hundreds of MB. Each keeps an excerpt around itself now, and a
/// diagnostic inside one still points at its column.
#[test]
fn a_long_line_of_definitions_keeps_the_state_small() {
    let dir = project_copy("small-app");
    let ops = (0..2000)
        .map(|i| {
            format!(
                "export const op{i} = gql.default(({{ query }}) => query(\"Op{i}\")`{{ products {{ id }} }}`());"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    // The last operation selects a field the schema lacks.
    let broken =
        "export const bad = gql.default(({ query }) => query(\"Bad\")`{ products { nope } }`());";
    let source = format!("{GQL_IMPORT}{ops} {broken}\n");
    let input = source.len() as u64;
    write_source(dir.path(), "src/pages/minified.ts", &source);
    let out = build(dir.path(), &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let line = format!("{ops} {broken}");
    let column = line.find("nope").unwrap() + 1;
    assert!(
        err.contains(&format!("src/pages/minified.ts:2:{column}")),
        "{err}"
    );
    assert!(err.contains("nope"), "the snippet shows the field: {err}");
    let state = std::fs::metadata(dir.path().join(".cache/soda-gql/builder/state.bin"))
        .unwrap()
        .len();
    assert!(
        state < 20 * input + 2_000_000,
        "state {state} bytes from {input} bytes of input"
    );
}
