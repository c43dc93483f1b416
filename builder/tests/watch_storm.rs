//! Drives the real watcher (`soda-builder build --watch`) through random
//! edit storms — edits, atomic saves, new directories, `rm -rf`, renames of
//! files and directories, schema edits — and after each quiet point
//! compares its artifact with a clean build of the same tree, then checks
//! that it stays idle.
//!
//! `SODA_STORM_ROUNDS` (default 6 quiet points of up to 8 edits each) and
//! `SODA_STORM_SEED` (default 14) make a longer storm.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1) as u64) as usize
    }
}

fn ts_files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root.join("src"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

fn dirs(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root.join("src"))
        .min_depth(1)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

fn operation(name: &str, depth: usize) -> String {
    format!(
        "import {{ gql }} from \"{}graphql-system\";\nexport const op{name} = gql.default(({{ query }}) => query(\"Storm{name}\")`{{ products {{ id name }} }}`());\n",
        "../".repeat(depth)
    )
}

/// One random edit; returns what it did, for the failure message.
fn edit(rng: &mut Rng, root: &Path, step: usize) -> String {
    let files = ts_files(root);
    match rng.below(9) {
        0 | 1 if !files.is_empty() => {
            let f = &files[rng.below(files.len())];
            let text = std::fs::read_to_string(f).unwrap_or_default();
            std::fs::write(f, format!("{text}// edit {step}\n")).unwrap();
            format!("append to {}", f.display())
        }
        2 if !files.is_empty() => {
            // An editor's atomic save.
            let f = &files[rng.below(files.len())];
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let tmp = f.with_extension("ts.swp");
            std::fs::write(&tmp, text.replace("id\n", "id\n    name\n")).unwrap();
            std::fs::rename(&tmp, f).unwrap();
            format!("atomic save of {}", f.display())
        }
        3 => {
            let dir = root.join(format!("src/storm{step}/inner"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("op.ts"), operation(&step.to_string(), 3)).unwrap();
            format!("new directory {}", dir.display())
        }
        4 => {
            let created: Vec<PathBuf> = dirs(root)
                .into_iter()
                .filter(|d| {
                    d.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("storm"))
                })
                .collect();
            match created.get(rng.below(created.len().max(1))) {
                Some(d) => {
                    std::fs::remove_dir_all(d).unwrap();
                    format!("rm -rf {}", d.display())
                }
                None => "nothing to remove".into(),
            }
        }
        5 if !files.is_empty() => {
            let f = &files[rng.below(files.len())];
            let to = f.with_file_name(format!("renamed{step}.ts"));
            std::fs::rename(f, &to).unwrap();
            format!("rename {} -> {}", f.display(), to.display())
        }
        6 => {
            let all = dirs(root);
            match all.get(rng.below(all.len().max(1))) {
                Some(d) if d.parent() == Some(&root.join("src")) => {
                    let to = root.join(format!("src/moved{step}"));
                    std::fs::rename(d, &to).unwrap();
                    format!("rename directory {} -> {}", d.display(), to.display())
                }
                _ => "no directory to rename".into(),
            }
        }
        7 => {
            let schema = root.join("schema.graphql");
            let text = std::fs::read_to_string(&schema).unwrap();
            let edited = if text.contains("stormField") {
                text.replace("  stormField: Int\n", "")
            } else {
                text.replacen("type Product {\n", "type Product {\n  stormField: Int\n", 1)
            };
            std::fs::write(&schema, edited).unwrap();
            "schema edit".into()
        }
        _ if !files.is_empty() => {
            let f = &files[rng.below(files.len())];
            std::fs::remove_file(f).unwrap();
            format!("delete {}", f.display())
        }
        _ => "no file".into(),
    }
}

#[test]
fn the_watcher_equals_a_clean_build_at_every_quiet_point_and_goes_idle() {
    let rounds: usize = std::env::var("SODA_STORM_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("SODA_STORM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture("small-app"), dir.path());
    let artifact = dir.path().join(".cache/soda-gql/builder/artifact.json");
    let mut watcher = common::Watcher::start(&dir.path().join("soda-gql.config.ts"), 100);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut log = Vec::new();
    let mut edits = 0;
    for round in 0..rounds {
        for _ in 0..1 + rng.below(8) {
            edits += 1;
            log.push(edit(&mut rng, dir.path(), edits));
            std::thread::sleep(Duration::from_millis(rng.below(60) as u64));
        }
        // Quiet point: no line for a second.
        watcher.lines_until_quiet(Duration::from_secs(1), Duration::from_secs(60));
        let watched = common::elements(&std::fs::read_to_string(&artifact).unwrap_or_default());
        let clean = common::elements(&common::clean_artifact(dir.path()));
        assert_eq!(watched, clean, "quiet point {round} after: {log:#?}");
        let idle = watcher.lines_until_quiet(Duration::from_secs(2), Duration::from_secs(10));
        assert!(
            idle.is_empty(),
            "not idle after quiet point {round}: {idle:?}"
        );
    }
    println!("watch storm: {edits} edits, {rounds} quiet points equal to a clean build, idle after each (seed {seed})");
}
