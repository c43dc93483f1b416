//! Include globs that reach out of the config directory (`../shared/**`, an
//! absolute path), as monorepos write them, and the warning for a glob that
//! matches nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use builder::build::clean_build;
use builder::config::load_config;
use builder::diagnostics::codes;
use builder::incremental::session::{BuilderSession, SessionOptions};

/// `root/app` (a copy of small-app whose config includes `extra_includes`)
/// and `root/shared/entities/review.ts`, a fragment spread by
/// `root/shared/pages/reviews.ts`.
fn monorepo(root: &Path, extra_includes: &str) -> std::path::PathBuf {
    let app = root.join("app");
    common::copy_tree(&common::fixture("small-app"), &app);
    let config = fs::read_to_string(app.join("soda-gql.config.ts")).unwrap();
    let config = config.replace(
        r#"include: ["./src/**/*.ts"],"#,
        &format!(r#"include: ["./src/**/*.ts", {extra_includes}],"#),
    );
    fs::write(app.join("soda-gql.config.ts"), config).unwrap();
    fs::create_dir_all(root.join("shared/entities")).unwrap();
    fs::create_dir_all(root.join("shared/pages")).unwrap();
    fs::write(
        root.join("shared/entities/review.ts"),
        r#"import { gql } from "../../app/graphql-system";

export const productName = gql.default(({ fragment }) =>
  fragment("ProductName", "Product")`{ id name }`(),
);
"#,
    )
    .unwrap();
    fs::write(
        root.join("shared/pages/reviews.ts"),
        r#"import { gql } from "../../app/graphql-system";
import { productName } from "../entities/review";

export const sharedProducts = gql.default(({ query }) =>
  query("SharedProducts")`{ products { ...${productName} } }`(),
);
"#,
    )
    .unwrap();
    app.join("soda-gql.config.ts")
}

fn scratch(config: &mut builder::config::Config, dir: &Path) {
    config.cache_dir = dir.join("cache");
    config.artifact_path = dir.join("artifact.json");
}

#[test]
fn a_relative_include_outside_the_config_directory_finds_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = monorepo(dir.path(), r#""../shared/**/*.ts""#);
    let mut config = load_config(&config_path).unwrap();
    scratch(&mut config, dir.path());
    assert!(config.include.contains(&"../shared/**/*.ts".to_owned()));
    let output = clean_build(&config).unwrap();
    assert!(
        output.diagnostics.is_empty(),
        "{}",
        common::render_diagnostics(&output.diagnostics)
    );
    let ids: Vec<&String> = output.artifact.elements.keys().collect();
    assert!(
        ids.iter()
            .any(|id| *id == "../shared/pages/reviews.ts::sharedProducts"),
        "{ids:?}"
    );
    assert!(ids
        .iter()
        .any(|id| *id == "../shared/entities/review.ts::productName"));
}

#[test]
fn an_absolute_include_is_relative_to_the_config_directory_in_ids() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    let glob = format!("\"{}/**/*.ts\"", shared.display());
    let config_path = monorepo(dir.path(), &glob);
    let mut config = load_config(&config_path).unwrap();
    scratch(&mut config, dir.path());
    assert!(config.include.contains(&"../shared/**/*.ts".to_owned()));
    let output = clean_build(&config).unwrap();
    assert!(output
        .artifact
        .elements
        .contains_key("../shared/pages/reviews.ts::sharedProducts"));
}

#[test]
fn an_incremental_build_sees_edits_and_new_files_outside_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = monorepo(dir.path(), r#""../shared/**/*.ts""#);
    let mut config = load_config(&config_path).unwrap();
    scratch(&mut config, dir.path());
    let build = |config: &builder::config::Config| {
        let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: true });
        let output = session.build_initial().unwrap();
        session.write_outputs().unwrap();
        output
    };
    let first = build(&config);
    assert!(first.diagnostics.is_empty());
    // Past the racy window, so the next build trusts stats where it can.
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(
        dir.path().join("shared/pages/more.ts"),
        r#"import { gql } from "../../app/graphql-system";

export const moreProducts = gql.default(({ query }) =>
  query("MoreProducts")`{ products { id price } }`(),
);
"#,
    )
    .unwrap();
    let review = dir.path().join("shared/entities/review.ts");
    let text = fs::read_to_string(&review)
        .unwrap()
        .replace("{ id name }", "{ id name price }");
    fs::write(&review, text).unwrap();
    let incremental = build(&config);
    let clean = clean_build(&config).unwrap();
    assert_eq!(incremental.artifact.elements, clean.artifact.elements);
    assert!(clean
        .artifact
        .elements
        .contains_key("../shared/pages/more.ts::moreProducts"));
}

#[test]
fn an_include_that_matches_nothing_is_a_located_warning() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = monorepo(dir.path(), r#""../nowhere/**/*.ts""#);
    let mut config = load_config(&config_path).unwrap();
    scratch(&mut config, dir.path());
    let output = clean_build(&config).unwrap();
    let warnings: Vec<_> = output
        .diagnostics
        .iter()
        .filter(|d| d.code == codes::INCLUDE_MATCHES_NOTHING)
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "{}",
        common::render_diagnostics(&output.diagnostics)
    );
    assert!(!output.has_errors());
    let location = warnings[0].location.as_ref().unwrap();
    assert_eq!(location.file, "soda-gql.config.ts");
    assert_eq!(location.line, 6);
    assert!(warnings[0].message.contains("../nowhere/**/*.ts"));
    // The same warning from a build that finds nothing changed.
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: true });
    let first = session.build_initial().unwrap();
    session.write_outputs().unwrap();
    let again = BuilderSession::new(config, SessionOptions { incremental: true })
        .build_initial()
        .unwrap();
    assert_eq!(first.diagnostics, again.diagnostics);
    assert_eq!(first.diagnostics, output.diagnostics);
}

/// What the watcher makes of events outside the config directory: a change
/// set the session folds in, equal to a clean build afterwards.
#[test]
fn watcher_events_outside_the_config_directory_update_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = monorepo(dir.path(), r#""../shared/**/*.ts""#);
    let mut config = load_config(&config_path).unwrap();
    scratch(&mut config, dir.path());
    let mut session = BuilderSession::new(config.clone(), SessionOptions { incremental: false });
    session.build_initial().unwrap();
    let known: std::collections::BTreeSet<String> = session.state().files.keys().cloned().collect();
    assert!(known.contains("../shared/pages/reviews.ts"), "{known:?}");

    // A new file, and `rm -rf` of the directory holding the fragment.
    let more = dir.path().join("shared/pages/more.ts");
    fs::write(
        &more,
        r#"import { gql } from "../../app/graphql-system";

export const moreProducts = gql.default(({ query }) =>
  query("MoreProducts")`{ products { id price } }`(),
);
"#,
    )
    .unwrap();
    let entities = dir.path().join("shared/entities");
    fs::remove_dir_all(&entities).unwrap();
    let paths = [more.clone(), entities].into_iter().collect();
    let changes = builder::watch::change_set_from_paths(&config, &known, &paths);
    assert_eq!(changes.added, vec![more]);
    assert_eq!(changes.removed.len(), 1, "{changes:?}");
    let updated = session.update(&changes).unwrap();
    let clean = clean_build(&config).unwrap();
    assert_eq!(updated.artifact.elements, clean.artifact.elements);
    assert!(clean
        .artifact
        .elements
        .contains_key("../shared/pages/more.ts::moreProducts"));
    assert!(!clean
        .artifact
        .elements
        .contains_key("../shared/entities/review.ts::productName"));
}
