//! A deterministic mutation fuzzer over the fixtures: each case mutates one
//! source (or the schema) of a built copy of a fixture and runs
//! `soda-builder` on it twice, incrementally from the state of the original
//! and clean. Every case must exit 0, 1 or 2 (never abort or hang), locate
//! every source diagnostic, keep its output and state within a small
//! multiple of its input, and the two builds must agree.
//!
//! `cargo test` runs a bounded number of cases. Long mode, by environment:
//! `SODA_FUZZ_CASES` (cases, default 300), `SODA_FUZZ_SEED` (default 14),
//! `SODA_FUZZ_FIXTURE` (default `small-app`), `SODA_FUZZ_BIN` (a release
//! `soda-builder` to run instead of the test profile's), e.g.
//! `SODA_FUZZ_CASES=20000 SODA_FUZZ_BIN=target/release/soda-builder cargo test --release -p builder --test fuzz -- --nocapture`.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// xorshift64*: the same cases on every machine for one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments a hostile or careless edit inserts.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "`",
    "${",
    "\"",
    "'",
    "/*",
    "*/",
    "//",
    "\n",
    ";",
    ",",
    "query",
    "mutation",
    "fragment",
    "subscription",
    "query(\"X\")`{ products { id } }`()",
    "gql.default(({ query }) => query(\"Z\")`{ products { id } }`())",
    "...${productFields}",
    "Ünïcödé",
    "\u{0}",
    "\u{feff}",
    "\\",
    "$",
    "@include(if: true)",
    "import { a } from \"./nope\";",
    "export * from \"../pages/product-list.page\";",
    "{ child",
    "(a: 1",
    "type Query { x: Int }",
];

enum Mutation {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutate(rng: &mut Rng, text: &str) -> (String, &'static str) {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let at = |rng: &mut Rng| rng.below(len + 1);
    let mutation = match rng.below(10) {
        0..=3 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            // Sometimes a token many times over: deep nesting, floods.
            let times = match rng.below(8) {
                0 => 200 + rng.below(2_000),
                1 => 2 + rng.below(50),
                _ => 1,
            };
            Mutation::Insert(at(rng), token.repeat(times))
        }
        4..=5 => {
            let from = at(rng);
            Mutation::Delete(from, (from + 1 + rng.below(64)).min(len))
        }
        6..=7 => {
            let from = at(rng);
            Mutation::Duplicate(from, (from + 1 + rng.below(200)).min(len))
        }
        8 => Mutation::Truncate(at(rng)),
        _ => {
            let from = at(rng);
            let to = (from + 1 + rng.below(16)).min(len);
            Mutation::Insert(
                from,
                String::from_utf8_lossy(&bytes[from..to]).repeat(2 + rng.below(500)),
            )
        }
    };
    let mut out = bytes.to_vec();
    let kind = match mutation {
        Mutation::Insert(at, s) => {
            out.splice(at..at, s.into_bytes());
            "insert"
        }
        Mutation::Delete(from, to) => {
            out.drain(from..to.max(from));
            "delete"
        }
        Mutation::Duplicate(from, to) => {
            let piece = out[from..to.max(from)].to_vec();
            out.splice(to..to, piece);
            "duplicate"
        }
        Mutation::Truncate(at) => {
            out.truncate(at);
            "truncate"
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), kind)
}

struct Run {
    code: Option<i32>,
    stderr: String,
    elements: serde_json::Value,
}

fn binary() -> PathBuf {
    std::env::var_os("SODA_FUZZ_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("soda-builder"))
}

fn run(dir: &Path, extra: &[&str], artifact: &Path) -> Run {
    let out = assert_cmd::Command::new(binary())
        .args(["build", "--config"])
        .arg(dir.join("soda-gql.config.ts"))
        .arg("--out")
        .arg(artifact)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output();
    match out {
        Ok(out) => Run {
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elements: common::elements(&std::fs::read_to_string(artifact).unwrap_or_default()),
        },
        Err(_) => Run {
            code: None,
            stderr: "timed out".into(),
            elements: serde_json::Value::Null,
        },
    }
}

/// The diagnostics of a run as printed: headline and location lines.
fn diagnostic_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.starts_with("warning") || l.starts_with("  -->"))
        .collect()
}

/// Every source diagnostic (not a config/schema/IO failure, exit 2) is
/// followed by its `file:line:col`.
fn unlocated(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    lines.iter().enumerate().find_map(|(i, l)| {
        let source =
            (l.starts_with("error[") || l.starts_with("warning[")) && !l.contains("SODA0501");
        // A message may run over lines (swc's suggestions): the location
        // follows it, before the diagnostic's blank line.
        let located = lines[i + 1..]
            .iter()
            .take_while(|n| !n.is_empty() && !n.starts_with("error[") && !n.starts_with("warning["))
            .any(|n| n.starts_with("  --> ") && n.matches(':').count() >= 2);
        (source && !located).then(|| l.to_string())
    })
}

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir.join("src"))
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out.push(dir.join("schema.graphql"));
    out
}

fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn mutated_fixtures_never_abort_hang_flood_or_disagree() {
    let cases: usize = std::env::var("SODA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("SODA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let fixture = std::env::var("SODA_FUZZ_FIXTURE").unwrap_or_else(|_| "small-app".into());
    // One built copy: each case starts from its files and its state.
    let base = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture(&fixture), base.path());
    let scratch = tempfile::tempdir().unwrap();
    let first = run(base.path(), &[], &scratch.path().join("base.json"));
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let files = sources(base.path());
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let started = std::time::Instant::now();
    for case in 0..cases {
        let dir = tempfile::tempdir().unwrap();
        common::copy_tree(base.path(), dir.path());
        // copy_tree skips `.cache`: the state comes along by hand.
        common::copy_tree(&base.path().join(".cache"), &dir.path().join(".cache"));
        let target = &files[rng.below(files.len())];
        let rel = target.strip_prefix(base.path()).unwrap();
        let original = std::fs::read_to_string(target).unwrap();
        let mut text = original.clone();
        let mut kinds = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let (next, kind) = mutate(&mut rng, &text);
            text = next;
            kinds.push(kind);
        }
        std::fs::write(dir.path().join(rel), &text).unwrap();
        let input = dir_size(&dir.path().join("src")) + text.len() as u64;
        let warm = run(dir.path(), &[], &dir.path().join("warm.json"));
        let clean = run(
            dir.path(),
            &["--no-incremental"],
            &dir.path().join("clean.json"),
        );
        let label = format!("case {case} ({}: {})", rel.display(), kinds.join("+"));
        *by_code.entry(format!("{:?}", warm.code)).or_default() += 1;
        let mut fail = |why: String| {
            let keep = std::env::temp_dir().join(format!("soda-fuzz-{seed}-{case}.ts"));
            let _ = std::fs::write(&keep, &text);
            failures.push(format!("{label}: {why} (input kept at {})", keep.display()));
        };
        for (what, r) in [("incremental", &warm), ("clean", &clean)] {
            if !matches!(r.code, Some(0..=2)) {
                fail(format!(
                    "{what} exit {:?}: {}",
                    r.code,
                    r.stderr.chars().take(500).collect::<String>()
                ));
            }
            if let Some(line) = unlocated(&r.stderr) {
                fail(format!("{what}: unlocated diagnostic {line}"));
            }
            if r.stderr.len() as u64 > 64 * input + 65_536 {
                fail(format!(
                    "{what}: {} bytes of stderr for {input} of input",
                    r.stderr.len()
                ));
            }
        }
        if warm.code != clean.code || warm.elements != clean.elements {
            fail(format!(
                "incremental {:?} != clean {:?} (elements equal: {})",
                warm.code,
                clean.code,
                warm.elements == clean.elements
            ));
        } else if diagnostic_lines(&warm.stderr) != diagnostic_lines(&clean.stderr) {
            fail("incremental and clean diagnostics differ".into());
        }
        let state = std::fs::metadata(dir.path().join(".cache/soda-gql/builder/state.bin"))
            .map_or(0, |m| m.len());
        if state > 64 * input + 1_048_576 {
            fail(format!("state.bin {state} bytes for {input} of input"));
        }
        if failures.len() >= 10 {
            break;
        }
        // Long runs report as they go: a run cut short still has figures.
        if (case + 1) % 500 == 0 {
            println!(
                "fuzz progress: {} cases in {:.0} s; exit codes {by_code:?}; {} failure(s)",
                case + 1,
                started.elapsed().as_secs_f64(),
                failures.len()
            );
        }
    }
    println!(
        "fuzz: {cases} cases (seed {seed}, {fixture}) in {:.1} s; incremental exit codes {by_code:?}; {} failure(s)",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
