//! Discovery: expand include/exclude globs, follow relative imports, and read
//! and analyse files in parallel — or reuse a cached summary when the
//! fingerprint says the file did not change (stat-only fast path first, then
//! the content hash).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use globset::{GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analyze::{analyze_module, AnalyzerContext, ModuleSummary};
use crate::config::Config;
use crate::diagnostics::{codes, Diagnostic, Location};
use crate::fingerprint::{self, Fingerprint};
use crate::resolve::{self, Resolution, TS_EXTENSIONS};

/// One discovered file: its fingerprint, summary and resolved dependencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub fingerprint: Fingerprint,
    pub summary: Arc<ModuleSummary>,
    /// Project files this file imports or re-exports from.
    pub deps: Vec<String>,
    /// Paths probed for relative imports that matched nothing: creating one of
    /// them changes this file's dependencies.
    pub probed: Vec<String>,
}

pub type FileTable = BTreeMap<String, FileEntry>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub skips: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    pub scanned: u64,
    pub read: u64,
    pub analyzed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Hit,
    Miss,
    Skip,
}

/// Why a file was (not) re-analysed, for `--show-cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCacheStatus {
    pub status: CacheStatus,
    pub reason: &'static str,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub files: FileTable,
    /// Files matched by the include globs (the roots of import following).
    pub entries: BTreeSet<String>,
    /// Files whose summary differs from the previous table (added included).
    pub changed: BTreeSet<String>,
    pub removed: BTreeSet<String>,
    pub stats: CacheStats,
    pub counts: FileCounts,
    pub status: BTreeMap<String, FileCacheStatus>,
    pub diagnostics: Vec<Diagnostic>,
}

pub struct Globs {
    include: GlobSet,
    exclude: GlobSet,
}

impl Globs {
    pub fn new(config: &Config) -> Result<Globs, globset::Error> {
        let build = |patterns: &[String]| -> Result<GlobSet, globset::Error> {
            let mut b = GlobSetBuilder::new();
            for p in patterns {
                b.add(
                    globset::GlobBuilder::new(p)
                        .literal_separator(true)
                        .build()?,
                );
            }
            b.build()
        };
        Ok(Globs {
            include: build(&config.include)?,
            exclude: build(&config.exclude)?,
        })
    }

    pub fn is_entry(&self, rel: &str) -> bool {
        self.include.is_match(rel) && !self.exclude.is_match(rel)
    }

    pub fn is_excluded(&self, rel: &str) -> bool {
        self.exclude.is_match(rel)
    }
}

pub fn is_ts_file(rel: &str) -> bool {
    TS_EXTENSIONS.iter().any(|e| rel.ends_with(e)) && !rel.ends_with(".d.ts")
}

/// Walks the config directory for files matching the include globs.
pub fn scan_entries(config: &Config, globs: &Globs) -> BTreeSet<String> {
    let outdir = config.outdir.clone();
    walkdir::WalkDir::new(&config.root_dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(e.file_type().is_dir()
                && (matches!(name.as_ref(), "node_modules" | ".git" | ".cache" | "target")
                    || e.path() == outdir))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| config.relative(e.path()))
        .filter(|rel| is_ts_file(rel) && globs.is_entry(rel))
        .collect()
}

pub struct DiscoveryInput<'a> {
    pub config: &'a Config,
    pub globs: &'a Globs,
    pub analyzer: &'a AnalyzerContext,
    pub previous: &'a FileTable,
    /// Files to start from (entries) and files known to be new or changed.
    pub roots: &'a BTreeSet<String>,
    /// Files whose stat must not be trusted (explicitly invalidated).
    pub invalidated: &'a BTreeSet<String>,
    /// Stats with an mtime at or after this instant (ns since the epoch) are
    /// not trusted: the file may have changed again within the timestamp
    /// granularity after the previous build looked at it ("racy git").
    pub racy_after_ns: u128,
    /// When set, only `roots`, `invalidated` and newly reachable files are
    /// looked at; every other previous entry is kept without a stat.
    pub targeted: bool,
}

enum Processed {
    Entry(FileEntry, FileCacheStatus, bool, bool, bool),
    Gone,
    Failed(Diagnostic),
}

fn process_file(input: &DiscoveryInput<'_>, rel: &str) -> Processed {
    let abs = input.config.root_dir.join(rel);
    let previous = input.previous.get(rel);
    let invalidated = input.invalidated.contains(rel);
    let stat = match fingerprint::stat(&abs) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Processed::Gone,
        Err(e) => return Processed::Failed(read_error(rel, &e)),
    };
    if let (Some(prev), false) = (previous, invalidated) {
        if prev.fingerprint.stat == stat && stat.mtime_ns < input.racy_after_ns {
            let status = FileCacheStatus {
                status: CacheStatus::Hit,
                reason: "stat unchanged (not read)",
            };
            return Processed::Entry(prev.clone(), status, false, false, false);
        }
    }
    let bytes = match std::fs::read(&abs) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Processed::Gone,
        Err(e) => return Processed::Failed(read_error(rel, &e)),
    };
    let hash = fingerprint::hash_bytes(&bytes);
    let fingerprint = Fingerprint { stat, hash };
    if let Some(prev) = previous {
        if prev.fingerprint.hash == hash {
            let status = if invalidated {
                FileCacheStatus {
                    status: CacheStatus::Skip,
                    reason: "invalidated; content unchanged",
                }
            } else {
                FileCacheStatus {
                    status: CacheStatus::Hit,
                    reason: "stat changed; content hash unchanged",
                }
            };
            let mut entry = prev.clone();
            entry.fingerprint = fingerprint;
            return Processed::Entry(entry, status, true, false, false);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let summary = analyze_module(rel, &text, input.analyzer);
    let status = match (previous, invalidated) {
        (_, true) => FileCacheStatus {
            status: CacheStatus::Skip,
            reason: "invalidated; re-analyzed",
        },
        (Some(_), false) => FileCacheStatus {
            status: CacheStatus::Miss,
            reason: "content changed",
        },
        (None, false) => FileCacheStatus {
            status: CacheStatus::Miss,
            reason: "new file",
        },
    };
    let changed = previous.is_none_or(|p| *p.summary != summary);
    let (deps, probed) = resolve_deps(input.config, rel, &summary);
    let entry = FileEntry {
        fingerprint,
        summary: Arc::new(summary),
        deps,
        probed,
    };
    Processed::Entry(entry, status, true, true, changed)
}

fn read_error(rel: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(codes::READ_ERROR, format!("cannot read {rel}: {e}")).at(
        Location {
            file: rel.to_owned(),
            line: 1,
            column: 1,
        },
        None,
    )
}

/// Resolves a summary's relative imports against the file system.
pub fn resolve_deps(
    config: &Config,
    rel: &str,
    summary: &ModuleSummary,
) -> (Vec<String>, Vec<String>) {
    let mut deps = Vec::new();
    let mut probed = Vec::new();
    for spec in summary.dependency_specifiers() {
        match resolve::resolve(rel, spec, |p| config.root_dir.join(p).is_file()) {
            Resolution::File(p) => {
                if !deps.contains(&p) {
                    deps.push(p);
                }
            }
            Resolution::NotFound { tried } => probed.extend(tried),
            Resolution::External | Resolution::Asset => {}
        }
    }
    (deps, probed)
}

/// Runs discovery: processes roots (in parallel), then follows imports wave by
/// wave until no new file turns up.
pub fn discover(input: &DiscoveryInput<'_>) -> Discovery {
    let mut out = Discovery {
        entries: input
            .roots
            .iter()
            .filter(|r| input.globs.is_entry(r))
            .cloned()
            .collect(),
        ..Discovery::default()
    };
    // Targeted discovery returns only the entries it processed; the caller
    // merges them into its table (no O(files) copy per update).
    let mut files: FileTable = FileTable::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut wave: Vec<String> = input.roots.iter().cloned().collect();
    if input.targeted {
        wave.extend(input.invalidated.iter().cloned());
        wave.sort();
        wave.dedup();
    }
    while !wave.is_empty() {
        seen.extend(wave.iter().cloned());
        let results: Vec<(String, Processed)> = wave
            .par_iter()
            .map(|rel| (rel.clone(), process_file(input, rel)))
            .collect();
        let mut next = BTreeSet::new();
        for (rel, processed) in results {
            out.counts.scanned += 1;
            match processed {
                Processed::Entry(entry, status, read, analyzed, changed) => {
                    match status.status {
                        CacheStatus::Hit => out.stats.hits += 1,
                        CacheStatus::Miss => out.stats.misses += 1,
                        CacheStatus::Skip => out.stats.skips += 1,
                    }
                    out.counts.read += u64::from(read);
                    out.counts.analyzed += u64::from(analyzed);
                    if changed {
                        out.changed.insert(rel.clone());
                    }
                    for dep in &entry.deps {
                        let known = input.targeted
                            && (files.contains_key(dep) || input.previous.contains_key(dep));
                        if !seen.contains(dep) && !known && !input.globs.is_excluded(dep) {
                            next.insert(dep.clone());
                        }
                    }
                    out.status.insert(rel.clone(), status);
                    files.insert(rel, entry);
                }
                Processed::Gone => {
                    if files.remove(&rel).is_some() || input.previous.contains_key(&rel) {
                        out.removed.insert(rel.clone());
                    }
                    out.entries.remove(&rel);
                }
                Processed::Failed(d) => {
                    out.diagnostics.push(d);
                    files.remove(&rel);
                }
            }
        }
        wave = next.into_iter().collect();
    }
    if !input.targeted {
        for rel in input.previous.keys() {
            if !files.contains_key(rel) {
                out.removed.insert(rel.clone());
            }
        }
    }
    out.files = files;
    out
}

/// Files reachable from `entries` over `deps`: a file that nothing reaches any
/// more (its last importer dropped the import) leaves the build.
pub fn reachable(files: &FileTable, entries: &BTreeSet<String>) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<&str> = entries.iter().map(String::as_str).collect();
    while let Some(rel) = stack.pop() {
        if !seen.insert(rel.to_owned()) {
            continue;
        }
        if let Some(entry) = files.get(rel) {
            stack.extend(
                entry
                    .deps
                    .iter()
                    .map(String::as_str)
                    .filter(|d| !seen.contains(*d)),
            );
        }
    }
    seen.retain(|f| files.contains_key(f));
    seen
}

/// Whether `path` is inside the config directory (change sets from a watcher
/// carry absolute paths).
pub fn relative_in_root(config: &Config, path: &Path) -> Option<String> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        config.root_dir.join(path)
    };
    abs.strip_prefix(&config.root_dir)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
}
