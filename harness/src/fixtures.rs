//! Resolves fixture names to projects on disk: the committed fixtures under
//! `<repo>/fixtures/<name>/`, and the generator presets, written on demand
//! to `<repo>/.cache/perf/fixtures/<preset>/`. Also makes scratch working
//! copies, since targeted runs edit files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::generate::{self, GenerateError, GenerateSpec};

/// Fixtures committed to the repository, measured by default.
const COMMITTED_FIXTURES: [&str; 3] = ["small-app", "medium-app", "large-app"];

/// Every fixture's builder config file name.
pub const CONFIG_FILE: &str = "soda-gql.config.ts";

/// Where generated presets are cached, relative to the workspace root.
pub const GENERATED_FIXTURES_DIR: &str = ".cache/perf/fixtures";

/// Directories never copied into a working copy: builder caches.
const EXCLUDED_FROM_COPY: [&str; 1] = [".cache"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureSource {
    /// Checked in under `fixtures/<name>/`.
    Committed,
    /// Written by the generator from a preset.
    Generated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureLocation {
    pub name: String,
    /// The project's `soda-gql.config.ts`.
    pub config_path: PathBuf,
    pub root: PathBuf,
    pub source: FixtureSource,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("unknown fixture `{name}`; valid names: {valid}")]
    Unknown { name: String, valid: String },
    #[error(
        "committed fixture `{name}` is missing: expected {} (run from inside the repository, \
         or pass --root)",
        config_path.display()
    )]
    MissingCommitted { name: String, config_path: PathBuf },
    #[error(
        "no Cargo workspace above {}: run from inside the repository or pass --root",
        start.display()
    )]
    NoWorkspaceRoot { start: PathBuf },
    #[error("empty fixture list `{list}`: give `all` or comma-separated names")]
    EmptyList { list: String },
    #[error("cannot generate fixture `{name}`: {source}")]
    Generate {
        name: String,
        #[source]
        source: GenerateError,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The fixtures measured when none are named: the committed ones.
pub fn default_suite() -> &'static [&'static str] {
    &COMMITTED_FIXTURES
}

/// Every name [`resolve_fixture`] accepts: committed fixtures, then presets.
pub fn known_fixture_names() -> Vec<&'static str> {
    COMMITTED_FIXTURES
        .iter()
        .chain(GenerateSpec::presets())
        .copied()
        .collect()
}

/// Walks up from `start` to the directory whose `Cargo.toml` has a
/// `[workspace]` table.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf, FixtureError> {
    let mut current = Some(start);
    while let Some(dir) = current {
        let manifest = dir.join("Cargo.toml");
        match fs::read_to_string(&manifest) {
            Ok(text) if text.lines().any(|line| line.trim() == "[workspace]") => {
                return Ok(dir.to_path_buf());
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(FixtureError::Io {
                    path: manifest,
                    source,
                })
            }
        }
        current = dir.parent();
    }
    Err(FixtureError::NoWorkspaceRoot {
        start: start.to_path_buf(),
    })
}

/// Where preset `preset` is generated.
pub fn generated_fixture_dir(workspace_root: &Path, preset: &str) -> PathBuf {
    workspace_root.join(GENERATED_FIXTURES_DIR).join(preset)
}

/// Resolves one fixture name. A preset is generated first if its cached copy
/// is missing or stale (see [`generate::generate`]).
pub fn resolve_fixture(workspace_root: &Path, name: &str) -> Result<FixtureLocation, FixtureError> {
    if COMMITTED_FIXTURES.contains(&name) {
        let root = workspace_root.join("fixtures").join(name);
        let config_path = root.join(CONFIG_FILE);
        if !config_path.is_file() {
            return Err(FixtureError::MissingCommitted {
                name: name.to_string(),
                config_path,
            });
        }
        return Ok(FixtureLocation {
            name: name.to_string(),
            config_path,
            root,
            source: FixtureSource::Committed,
        });
    }
    let Some(spec) = GenerateSpec::preset(name) else {
        return Err(FixtureError::Unknown {
            name: name.to_string(),
            valid: known_fixture_names().join(", "),
        });
    };
    let root = generated_fixture_dir(workspace_root, name);
    let project = generate::generate(&spec, &root).map_err(|source| FixtureError::Generate {
        name: name.to_string(),
        source,
    })?;
    Ok(FixtureLocation {
        name: name.to_string(),
        config_path: project.root.join(CONFIG_FILE),
        root: project.root,
        source: FixtureSource::Generated,
    })
}

/// Resolves `all` (the [`default_suite`]) or a comma-separated list of
/// names, in order, without duplicates. Every name is checked before any
/// preset is generated, so a typo fails fast.
pub fn resolve_fixture_list(
    workspace_root: &Path,
    list: &str,
) -> Result<Vec<FixtureLocation>, FixtureError> {
    let names: Vec<&str> = if list.trim() == "all" {
        default_suite().to_vec()
    } else {
        let mut names: Vec<&str> = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    };
    if names.is_empty() {
        return Err(FixtureError::EmptyList {
            list: list.to_string(),
        });
    }
    let known = known_fixture_names();
    if let Some(unknown) = names.iter().find(|name| !known.contains(name)) {
        return Err(FixtureError::Unknown {
            name: (*unknown).to_string(),
            valid: known.join(", "),
        });
    }
    names
        .into_iter()
        .map(|name| resolve_fixture(workspace_root, name))
        .collect()
}

/// How long before a run the copied sources were "last edited". A fresh
/// copy would have every mtime inside the builder's racy window (stats within
/// 2 s of the previous build are re-hashed, not trusted), and a warm build
/// would then read every file, which is not what a warm build is.
pub const COPY_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Copies the fixture project (without `.cache` directories) to
/// `scratch/<name>/`, replacing what was there, and returns the copy's
/// location. Measured runs edit and cache into the copy, never the source.
/// The copies' mtimes, directories' included, are set `COPY_AGE` in the past.
pub fn working_copy(loc: &FixtureLocation, scratch: &Path) -> io::Result<FixtureLocation> {
    let destination = scratch.join(&loc.name);
    if destination.starts_with(&loc.root) || loc.root.starts_with(&destination) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "scratch copy {} overlaps the fixture {}",
                destination.display(),
                loc.root.display()
            ),
        ));
    }
    if destination.exists() {
        fs::remove_dir_all(&destination)?;
    }
    let edited = copy_date();
    copy_tree(&loc.root, &destination, edited)?;
    let config_relative = loc
        .config_path
        .strip_prefix(&loc.root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(CONFIG_FILE));
    fs::File::open(&destination)?.set_modified(edited)?;
    Ok(FixtureLocation {
        name: loc.name.clone(),
        config_path: destination.join(config_relative),
        root: destination,
        source: loc.source,
    })
}

/// Dates every directory of a working copy `COPY_AGE` in the past again,
/// after a build made its cache directory there: the build a scenario
/// measures next is not seconds after the first one, as in a real tree, so
/// no directory is too recent for the builder to trust.
pub fn age_directories(root: &Path) -> io::Result<()> {
    fn walk(dir: &Path, edited: std::time::SystemTime) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), edited)?;
            }
        }
        fs::File::open(dir)?.set_modified(edited)
    }
    walk(root, copy_date())
}

/// `COPY_AGE` before now: when a working copy was "last edited".
fn copy_date() -> std::time::SystemTime {
    std::time::SystemTime::now()
        .checked_sub(COPY_AGE)
        .unwrap_or(std::time::UNIX_EPOCH)
}

fn copy_tree(from: &Path, to: &Path, edited: std::time::SystemTime) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if EXCLUDED_FROM_COPY.iter().any(|excluded| name == *excluded) {
            continue;
        }
        let source = entry.path();
        let target = to.join(&name);
        // Follow symlinks: the copy must stand alone.
        if fs::metadata(&source)?.is_dir() {
            copy_tree(&source, &target, edited)?;
            // After its entries: creating them set the directory's mtime.
            fs::File::open(&target)?.set_modified(edited)?;
        } else {
            fs::copy(&source, &target)?;
            fs::File::options()
                .write(true)
                .open(&target)?
                .set_modified(edited)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        let fixture = dir.path().join("fixtures/small-app");
        fs::create_dir_all(fixture.join("src/.cache")).unwrap();
        fs::create_dir_all(fixture.join(".cache/builder")).unwrap();
        fs::write(fixture.join(CONFIG_FILE), "export default {};\n").unwrap();
        fs::write(fixture.join("src/a.ts"), "export const a = 1;\n").unwrap();
        fs::write(fixture.join("src/.cache/x"), "cache").unwrap();
        fs::write(fixture.join(".cache/builder/state"), "cache").unwrap();
        dir
    }

    #[test]
    fn finds_the_workspace_root_from_a_subdirectory() {
        let ws = workspace();
        let nested = ws.path().join("crate/src");
        fs::create_dir_all(&nested).unwrap();
        fs::write(
            ws.path().join("crate/Cargo.toml"),
            "[package]\nname = \"c\"\n",
        )
        .unwrap();
        assert_eq!(find_workspace_root(&nested).unwrap(), ws.path());
        // This repository's own root is found from the crate directory.
        let here = find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(here.join("harness").is_dir());
    }

    #[test]
    fn resolves_committed_fixtures_and_reports_missing_ones() {
        let ws = workspace();
        let loc = resolve_fixture(ws.path(), "small-app").unwrap();
        assert_eq!(loc.source, FixtureSource::Committed);
        assert_eq!(
            loc.config_path,
            ws.path().join("fixtures/small-app").join(CONFIG_FILE)
        );
        let err = resolve_fixture(ws.path(), "medium-app").unwrap_err();
        assert!(
            matches!(err, FixtureError::MissingCommitted { .. }),
            "{err}"
        );
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let ws = workspace();
        let err = resolve_fixture(ws.path(), "huge-app").unwrap_err();
        let message = err.to_string();
        for name in ["small-app", "large-app", "small", "stress"] {
            assert!(message.contains(name), "{message}");
        }
        // A list fails on the typo before generating anything.
        let err = resolve_fixture_list(ws.path(), "small, nope").unwrap_err();
        assert!(
            matches!(err, FixtureError::Unknown { ref name, .. } if name == "nope"),
            "{err}"
        );
        assert!(!ws.path().join(GENERATED_FIXTURES_DIR).exists());
        assert!(matches!(
            resolve_fixture_list(ws.path(), " , "),
            Err(FixtureError::EmptyList { .. })
        ));
    }

    #[test]
    fn generates_presets_on_demand_and_reuses_them() {
        let ws = workspace();
        let loc = resolve_fixture(ws.path(), "small").unwrap();
        assert_eq!(loc.source, FixtureSource::Generated);
        assert_eq!(loc.root, generated_fixture_dir(ws.path(), "small"));
        assert!(loc.config_path.is_file());
        let list = resolve_fixture_list(ws.path(), "small,small-app,small").unwrap();
        let names: Vec<&str> = list.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, vec!["small", "small-app"]);
    }

    #[test]
    fn all_is_the_default_suite() {
        let ws = workspace();
        // Only small-app exists in this workspace, so `all` names the next one missing.
        let err = resolve_fixture_list(ws.path(), "all").unwrap_err();
        assert!(
            matches!(err, FixtureError::MissingCommitted { ref name, .. } if name == "medium-app"),
            "{err}"
        );
        assert_eq!(default_suite(), &["small-app", "medium-app", "large-app"]);
    }

    #[test]
    fn working_copy_skips_caches_and_replaces_an_old_copy() {
        let ws = workspace();
        let loc = resolve_fixture(ws.path(), "small-app").unwrap();
        let scratch = tempfile::tempdir().unwrap();
        fs::create_dir_all(scratch.path().join("small-app/stale")).unwrap();
        let copy = working_copy(&loc, scratch.path()).unwrap();
        assert_eq!(copy.root, scratch.path().join("small-app"));
        assert_eq!(copy.config_path, copy.root.join(CONFIG_FILE));
        assert_eq!(copy.source, FixtureSource::Committed);
        assert!(copy.root.join("src/a.ts").is_file());
        assert!(!copy.root.join(".cache").exists());
        assert!(!copy.root.join("src/.cache").exists());
        assert!(!copy.root.join("stale").exists());
        // Out of the builder's racy window: a warm build trusts the stats.
        let aged = |path: &Path| {
            let age = fs::metadata(path)
                .unwrap()
                .modified()
                .unwrap()
                .elapsed()
                .unwrap();
            assert!(
                age >= COPY_AGE - std::time::Duration::from_secs(60),
                "{}: {age:?}",
                path.display()
            );
        };
        for path in [
            copy.root.join("src/a.ts"),
            copy.root.clone(),
            copy.root.join("src"),
        ] {
            aged(&path);
        }
        // A build's cache directory, aged with the rest.
        fs::create_dir_all(copy.root.join(".cache/soda-gql")).unwrap();
        age_directories(&copy.root).unwrap();
        aged(&copy.root);
        // Editing the copy leaves the fixture alone.
        fs::write(copy.root.join("src/a.ts"), "changed").unwrap();
        assert_eq!(
            fs::read_to_string(loc.root.join("src/a.ts")).unwrap(),
            "export const a = 1;\n"
        );
        // A scratch inside the fixture is refused.
        assert!(working_copy(&loc, &loc.root).is_err());
    }
}
