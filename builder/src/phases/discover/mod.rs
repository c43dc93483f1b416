//! Discovery: expand include/exclude globs, follow relative imports, and read
//! and analyse files in parallel — or reuse a cached summary when the
//! fingerprint says the file did not change (stat-only fast path first, then
//! the content hash).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use globset::{GlobSet, GlobSetBuilder};
use rayon::iter::Either;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::diagnostics::{codes, Diagnostic, Location};
use crate::io::fingerprint::{self, Fingerprint, StatKey};
use crate::io::pool;
use crate::io::walk::{self, DirHandle, EntryKind};
use crate::phases::analyze::{analyze_module, AnalyzerContext, ModuleSummary};
use crate::phases::resolve::{self, Resolution, TS_EXTENSIONS};
use crate::report::{CacheStats, CacheStatus, FileCacheStatus, FileCounts};

/// One discovered file: its fingerprint, summary and resolved dependencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub fingerprint: Fingerprint,
    pub summary: LazySummary,
    /// Project files this file imports or re-exports from.
    pub deps: Vec<String>,
    /// Paths probed for relative imports that matched nothing: creating one of
    /// them changes this file's dependencies.
    pub probed: Vec<String>,
}

pub type FileTable = BTreeMap<String, FileEntry>;

/// The fingerprint the discovery cache holds for `rel` (root-relative),
/// without touching the disk: what the next discovery compares the file's
/// stat against, and then its content hash.
pub fn peek<'a>(files: &'a FileTable, rel: &str) -> Option<&'a Fingerprint> {
    files.get(rel).map(|entry| &entry.fingerprint)
}

/// Deserializes a map written in key order by collecting it first: the
/// bulk build from sorted pairs skips a search per insert.
pub fn deserialize_sorted_map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    struct Pairs<K, V>(Vec<(K, V)>);
    impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Pairs<K, V> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor<K, V>(std::marker::PhantomData<(K, V)>);
            impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<K, V> {
                type Value = Pairs<K, V>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Pairs<K, V>, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
                    while let Some(pair) = map.next_entry()? {
                        out.push(pair);
                    }
                    Ok(Pairs(out))
                }
            }
            deserializer.deserialize_map(Visitor(std::marker::PhantomData))
        }
    }
    let Pairs(pairs) = Pairs::<K, V>::deserialize(deserializer)?;
    Ok(pairs.into_iter().collect())
}

/// [`deserialize_sorted_map`] for sets: a sequence written in order,
/// collected and bulk-built.
pub fn deserialize_sorted_set<'de, D, K>(deserializer: D) -> Result<BTreeSet<K>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Deserialize<'de> + Ord,
{
    Ok(Vec::<K>::deserialize(deserializer)?.into_iter().collect())
}

/// A module summary that a loaded state decodes on first use. Persisted as
/// its own postcard bytes: a warm build reads thousands of entries and looks
/// inside only the few that a change reaches.
#[derive(Clone, Default)]
pub struct LazySummary {
    decoded: OnceLock<Arc<ModuleSummary>>,
    encoded: Option<Arc<[u8]>>,
    has_diagnostics: bool,
}

impl LazySummary {
    pub fn new(summary: ModuleSummary) -> LazySummary {
        LazySummary {
            has_diagnostics: !summary.diagnostics.is_empty(),
            decoded: OnceLock::from(Arc::new(summary)),
            encoded: None,
        }
    }

    pub fn get(&self) -> &ModuleSummary {
        self.decoded.get_or_init(|| {
            let bytes = self.encoded.as_deref().unwrap_or_default();
            // The state file passed its checksum, so this only fails on a bug;
            // say so in the build instead of panicking.
            Arc::new(postcard::from_bytes(bytes).unwrap_or_else(|e| ModuleSummary {
                diagnostics: vec![Diagnostic::error(
                    codes::READ_ERROR,
                    format!("a cached module summary is unreadable ({e}); run with --no-incremental"),
                )],
                ..ModuleSummary::default()
            }))
        })
    }

    /// Without decoding the summary.
    pub fn has_diagnostics(&self) -> bool {
        self.has_diagnostics
    }

    /// Bytes of the kept encoding (0 before [`LazySummary::encode`]).
    pub fn encoded_len(&self) -> usize {
        self.encoded.as_deref().map_or(0, <[u8]>::len)
    }

    /// Keeps the summary's encoding beside it, so a state write copies bytes
    /// (the encodes of many summaries then run on every core first).
    pub fn encode(&mut self) {
        if self.encoded.is_none() {
            // postcard cannot fail on plain data; an empty encoding would
            // decode to an error summary, never to a wrong one.
            // Sized first (postcard's size flavor walks without writing):
            // a summary of 5,000 definitions is 1.4 MB, and growing a
            // buffer to that copies it over and over.
            let summary = self.get();
            let len = postcard::serialize_with_flavor::<ModuleSummary, _, usize>(
                summary,
                postcard::ser_flavors::Size::default(),
            )
            .unwrap_or_default();
            self.encoded = Some(Arc::from(
                postcard::to_extend(summary, Vec::with_capacity(len)).unwrap_or_default(),
            ));
        }
    }
}

impl std::ops::Deref for LazySummary {
    type Target = ModuleSummary;
    fn deref(&self) -> &ModuleSummary {
        self.get()
    }
}

impl std::fmt::Debug for LazySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.decoded.get() {
            Some(summary) => summary.fmt(f),
            None => write!(
                f,
                "LazySummary(<{} bytes>)",
                self.encoded.as_deref().map_or(0, <[u8]>::len)
            ),
        }
    }
}

impl PartialEq for LazySummary {
    fn eq(&self, other: &LazySummary) -> bool {
        if let (Some(a), Some(b)) = (&self.encoded, &other.encoded) {
            if Arc::ptr_eq(a, b) || a == b {
                return true;
            }
        }
        self.get() == other.get()
    }
}

impl Serialize for LazySummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let fresh;
        let bytes: &[u8] = match &self.encoded {
            Some(bytes) => bytes,
            None => {
                fresh = postcard::to_allocvec(self.get()).map_err(serde::ser::Error::custom)?;
                &fresh
            }
        };
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&self.has_diagnostics)?;
        tuple.serialize_element(&Bytes(bytes))?;
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for LazySummary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (has_diagnostics, bytes): (bool, ByteBuf) = Deserialize::deserialize(deserializer)?;
        Ok(LazySummary {
            decoded: OnceLock::new(),
            encoded: Some(bytes.0),
            has_diagnostics,
        })
    }
}

/// Bytes as one serde byte string (postcard: a length and a memcpy).
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Decoded straight into its shared buffer: one allocation, one copy.
struct ByteBuf(Arc<[u8]>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(Arc::from(v)))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(Arc::from(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ByteBuf, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(ByteBuf(Arc::from(out)))
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
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

    /// A TypeScript source (not a declaration file) that the globs include.
    pub fn is_entry_source(&self, rel: &str) -> bool {
        is_ts_file(rel) && self.is_entry(rel)
    }

    pub fn is_excluded(&self, rel: &str) -> bool {
        self.exclude.is_match(rel)
    }
}

/// A warning for each include glob that matches none of `entries` (the
/// sources the build started from), located at the glob in the config file.
/// A glob that matches is found at its first match: the entries under its
/// literal base are tried, in order, until one matches.
pub fn unmatched_includes(config: &Config, entries: &BTreeSet<String>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, glob) in config.include.iter().enumerate() {
        let Ok(matcher) = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher())
        else {
            continue;
        };
        let base = crate::config::split_glob_base(glob).0;
        let matched = entries
            .range::<str, _>((std::ops::Bound::Included(base), std::ops::Bound::Unbounded))
            .take_while(|e| e.starts_with(base))
            .any(|e| matcher.is_match(e.as_str()));
        if matched {
            continue;
        }
        let mut warning = Diagnostic::warning(
            codes::INCLUDE_MATCHES_NOTHING,
            format!("include glob `{glob}` matches no TypeScript source file"),
        )
        .with_help(
            "check the glob against the config directory; paths outside it start with `../`",
        );
        if let Some(Some((line, column))) = config.include_positions.get(i) {
            warning = warning.at(
                Location {
                    file: config.relative(&config.config_path),
                    line: *line,
                    column: *column,
                },
                None,
            );
        }
        out.push(warning);
    }
    out
}

pub fn is_ts_file(rel: &str) -> bool {
    TS_EXTENSIONS.iter().any(|e| rel.ends_with(e)) && !rel.ends_with(".d.ts")
}

/// Directories the walk never enters (besides the graphql-system outdir).
const SKIPPED_DIRS: [&str; 4] = ["node_modules", ".git", ".cache", "target"];

/// What one walk of the config directory found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Files matching the include globs (and no exclude glob).
    pub entries: BTreeSet<String>,
    /// Every TypeScript file seen, entry or not: import resolution asks this
    /// set instead of probing the file system once per candidate path.
    pub known: KnownFiles,
    /// Every directory listed (`""`, `src/`, ...), with its stat, in path order.
    pub dirs: Vec<(String, StatKey)>,
    /// A directory the walk could not list (permissions): the build stops
    /// there rather than build without the files in it, silently.
    pub unreadable: Option<(PathBuf, std::io::Error)>,
}

/// The TypeScript files of the walked part of the tree, with the stat the
/// walk took of each (relative to its directory's handle: one path component
/// to look up instead of the whole path).
#[derive(Debug, Default)]
pub struct KnownFiles {
    /// Sorted by path: looked up by binary search, merged with the file
    /// table. No stat when the walk did not take them (a cold build reads
    /// every file anyway and takes the stat from the open file).
    files: Vec<(String, Option<StatKey>)>,
    /// Path hash → index into `files`, sorted by hash: import resolution asks
    /// once per candidate path, and comparing hashes beats comparing paths
    /// that share long prefixes. Built on first use (a warm build that
    /// resolves nothing never pays for it), without copying a path.
    index: OnceLock<Vec<(u64, u32)>>,
    outdir_rel: String,
    /// Handles of walked directories, sorted by path: a file in one is opened
    /// relative to it (one path component to look up, not the whole path).
    dirs: Vec<(String, DirHandle)>,
}

impl KnownFiles {
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.files.iter().map(|(f, _)| f)
    }

    /// The walked files with the stat the walk took (sorted by path).
    pub fn stats(&self) -> &[(String, Option<StatKey>)] {
        &self.files
    }

    /// (xxh3 of the path, index into `files`), sorted: no path is copied.
    fn index(&self) -> &[(u64, u32)] {
        self.index.get_or_init(|| {
            let mut index: Vec<(u64, u32)> = self
                .files
                .iter()
                .enumerate()
                .map(|(i, (f, _))| (fingerprint::hash_bytes(f.as_bytes()), i as u32))
                .collect();
            index.sort_unstable();
            index
        })
    }

    fn position(&self, rel: &str) -> Option<usize> {
        let index = self.index();
        let hash = fingerprint::hash_bytes(rel.as_bytes());
        let first = index.partition_point(|(h, _)| *h < hash);
        index[first..]
            .iter()
            .take_while(|(h, _)| *h == hash)
            .map(|&(_, i)| i as usize)
            .find(|&i| self.files[i].0 == rel)
    }

    /// Opens a walked file through its directory's handle, when the walk
    /// kept it.
    pub fn open(&self, rel: &str) -> Option<std::io::Result<std::fs::File>> {
        let (parent, name) = split_dir(rel);
        let at = self
            .dirs
            .binary_search_by(|(path, _)| path.as_str().cmp(parent))
            .ok()?;
        Some(self.dirs[at].1.open_file(name))
    }

    fn get(&self, rel: &str) -> Option<Option<StatKey>> {
        self.position(rel).map(|i| self.files[i].1)
    }

    pub fn in_walked_region(&self, rel: &str) -> bool {
        in_walked_region(rel, &self.outdir_rel)
    }

    /// `Some(exists)` for a path inside the walked region; `None` outside it
    /// (above the root, or in a directory the walk skips), where only the
    /// file system knows.
    pub fn exists(&self, rel: &str) -> Option<bool> {
        if self.position(rel).is_some() {
            return Some(true);
        }
        self.in_walked_region(rel).then_some(false)
    }

    /// The walk's stat of `rel`: `Some(None)` when the walk saw no such
    /// file, `None` when only the file system knows (outside the walk, or
    /// walked without stats).
    pub fn stat(&self, rel: &str) -> Option<Option<StatKey>> {
        match self.get(rel) {
            Some(Some(stat)) => Some(Some(stat)),
            Some(None) => None,
            None => self.in_walked_region(rel).then_some(None),
        }
    }
}

/// A root-relative path as its directory, as the walk names directories
/// (`""`, `src/`, ...), and its name in it.
pub(crate) fn split_dir(rel: &str) -> (&str, &str) {
    match rel.rfind('/') {
        Some(at) => rel.split_at(at + 1),
        None => ("", rel),
    }
}

/// Whether the walk lists the directory of `rel` (not above the root, not
/// in a skipped directory or the graphql-system outdir).
pub(crate) fn in_walked_region(rel: &str, outdir_rel: &str) -> bool {
    !(rel.starts_with("../")
        || rel
            .split('/')
            .any(|c| SKIPPED_DIRS.contains(&c) || c == "..")
        || (!outdir_rel.is_empty()
            && rel
                .strip_prefix(outdir_rel)
                .is_some_and(|r| r.starts_with('/'))))
}

/// Walks the config directory: the include-glob matches (cold builds), and every
/// TypeScript file (with its stat when `with_stats`: the check of a loaded
/// state needs them, a cold build does not) for import resolution.
pub fn scan(config: &Config, globs: &Globs, with_stats: bool) -> Scan {
    let mut out = Scan {
        known: KnownFiles {
            outdir_rel: config.relative(&config.outdir),
            ..KnownFiles::default()
        },
        ..Scan::default()
    };
    // Directories are listed in parallel, and each directory's files are
    // stat'ed (one path component each, relative to the directory's handle)
    // and matched against the globs on every core as soon as it is listed.
    let walk = Walk {
        config,
        globs,
        with_stats,
        handles_left: AtomicUsize::new(KEPT_DIR_HANDLES),
        unreadable: std::sync::Mutex::new(None),
    };
    let mut walked = match DirHandle::open(&config.root_dir) {
        Ok(root) => walk.dir(root, &config.root_dir, ""),
        Err(e) => {
            walk.unreadable(&config.root_dir, e);
            Vec::new()
        }
    };
    let outside = config.outside_roots();
    for (rel, path) in &outside {
        match DirHandle::open(path) {
            Ok(dir) => walked.extend(walk.dir(dir, path, &format!("{rel}/"))),
            Err(e) => walk.unreadable(path, e),
        }
    }
    out.unreadable = walk
        .unreadable
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    out.known.files.reserve(walked.len());
    let mut entries: Vec<String> = Vec::new();
    for found in walked {
        match found {
            Walked::File((rel, stat, is_entry)) => {
                if is_entry {
                    entries.push(rel.clone());
                }
                out.known.files.push((rel, stat));
            }
            Walked::Dir(rel, stat, handle) => {
                if let Some(handle) = handle {
                    out.known.dirs.push((rel.clone(), handle));
                }
                out.dirs.push((rel, stat));
            }
        }
    }
    if !outside.is_empty() {
        // Each walk is in path order; `../` paths sort among the others.
        out.known.files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out.known.dirs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out.dirs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        entries.sort_unstable();
    }
    debug_assert!(out.known.files.is_sorted_by(|a, b| a.0 < b.0));
    // Sorted input: the set is bulk-built.
    out.entries = entries.into_iter().collect();
    out
}

/// How many directory handles a walk keeps open for reading the files in
/// them afterwards (one descriptor each; a tree with more directories reads
/// the rest by path).
const KEPT_DIR_HANDLES: usize = 256;

/// One walked file: its path, its stat (when taken), whether it is an entry.
type WalkedFile = (String, Option<StatKey>, bool);

/// What the walk found, in path order.
enum Walked {
    File(WalkedFile),
    /// A listed directory (its path ends with `/`; the root's is empty), its
    /// stat, and its handle when kept, before everything in it.
    Dir(String, StatKey, Option<DirHandle>),
}

/// What every directory of one walk is walked with.
struct Walk<'a> {
    config: &'a Config,
    globs: &'a Globs,
    with_stats: bool,
    handles_left: AtomicUsize,
    unreadable: std::sync::Mutex<Option<(PathBuf, std::io::Error)>>,
}

impl Walk<'_> {
    /// Records a directory that could not be listed (one that vanished
    /// meanwhile is simply gone).
    fn unreadable(&self, path: &Path, e: std::io::Error) {
        if e.kind() == std::io::ErrorKind::NotFound {
            return;
        }
        let mut first = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        if first.as_ref().is_none_or(|(p, _)| path < p.as_path()) {
            *first = Some((path.to_path_buf(), e));
        }
    }

    /// Walks `dir`, returning its TypeScript files in the order of their
    /// relative paths, so the walk needs no sort of its own: siblings are
    /// sorted by name, a directory's name with the `/` that all paths below
    /// it continue with. Names that are not UTF-8 are skipped: no relative
    /// path could read them back.
    fn dir(&self, dir: DirHandle, dir_path: &Path, dir_rel: &str) -> Vec<Walked> {
        // Taken before the listing: an entry added meanwhile moves it past
        // this stat, never the other way round.
        let (dir_stat, listed) = match (dir.stat_self(), dir.entries()) {
            (Ok(stat), Ok(listed)) => (stat, listed),
            (Err(e), _) | (_, Err(e)) => {
                self.unreadable(dir_path, e);
                return Vec::new();
            }
        };
        let mut children: Vec<(String, EntryKind)> = listed
            .into_iter()
            .filter_map(|entry| {
                let kind = walk::resolve_kind(&dir, &entry);
                let mut key = entry.name;
                match kind {
                    EntryKind::Dir if SKIPPED_DIRS.contains(&key.as_str()) => return None,
                    EntryKind::Dir => key.push('/'),
                    EntryKind::File | EntryKind::Symlink
                        if TS_EXTENSIONS.iter().any(|x| key.ends_with(x)) => {}
                    _ => return None,
                }
                Some((key, kind))
            })
            .collect();
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Collected in order: its files, then each subdirectory's, as the
        // sorted keys say.
        let below: Vec<Walked> = children
            .into_par_iter()
            .with_max_len(64)
            .flat_map_iter(|(key, kind)| {
                let mut rel = String::with_capacity(dir_rel.len() + key.len());
                rel.push_str(dir_rel);
                rel.push_str(&key);
                if kind != EntryKind::Dir {
                    let file = walk_file(self.globs, self.with_stats, &dir, &key, kind, rel);
                    return Either::Left(file.map(Walked::File).into_iter());
                }
                let name = &key[..key.len() - 1];
                let path = dir_path.join(name);
                let below = match dir.open_child(name, &path) {
                    // The config directory itself, met from a walk of a
                    // directory above it (`../**`), was walked already.
                    Ok(child) if path != self.config.outdir && path != self.config.root_dir => {
                        self.dir(child, &path, &rel)
                    }
                    Ok(_) => Vec::new(),
                    Err(e) => {
                        self.unreadable(&path, e);
                        Vec::new()
                    }
                };
                Either::Right(below.into_iter())
            })
            .collect();
        let keep = self
            .handles_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        let mut out = Vec::with_capacity(below.len() + 1);
        out.push(Walked::Dir(
            dir_rel.to_owned(),
            dir_stat,
            keep.then_some(dir),
        ));
        out.extend(below);
        out
    }
}

/// The stat and entry status of one listed file; `None` when it vanished
/// or is a symlink to something other than a file.
fn walk_file(
    globs: &Globs,
    with_stats: bool,
    dir: &DirHandle,
    name: &str,
    kind: EntryKind,
    rel: String,
) -> Option<WalkedFile> {
    let stat = if kind == EntryKind::Symlink {
        // A symlink counts when it points at a file, as `is_file` says.
        let target = dir
            .stat(name, true)
            .ok()
            .filter(|s| s.kind == EntryKind::File)?;
        with_stats.then_some(target.stat)
    } else if with_stats {
        Some(dir.stat(name, false).ok()?.stat)
    } else {
        None
    };
    // With stats, a state is loaded: `stat_scan` knows the entries.
    let is_entry = !with_stats && globs.is_entry_source(&rel);
    Some((rel, stat, is_entry))
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
    /// The files of a walk that just happened, for import resolution.
    pub known: Option<&'a KnownFiles>,
}

/// What looking at one file found.
enum Processed {
    Entry(Looked),
    Gone,
    Failed(Diagnostic),
}

/// A file that is there: its entry, why it was (not) re-analysed, and what
/// looking at it cost and changed.
struct Looked {
    entry: FileEntry,
    status: FileCacheStatus,
    /// Its bytes were read.
    read: bool,
    /// It was parsed and analysed.
    analyzed: bool,
    /// Its summary differs from the previous table's.
    changed: bool,
}

fn process_file(input: &DiscoveryInput<'_>, rel: &str) -> Processed {
    let abs = input.config.root_dir.join(rel);
    let previous = input.previous.get(rel);
    let invalidated = input.invalidated.contains(rel);
    // The walk that just happened may have taken the stat already.
    let walked = match input.known.and_then(|k| k.stat(rel)) {
        Some(Some(s)) => Some(s),
        Some(None) => return Processed::Gone,
        None => None,
    };
    if let (Some(prev), false) = (previous, invalidated) {
        let stat = match walked {
            Some(s) => s,
            None => match fingerprint::stat(&abs) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Processed::Gone,
                Err(e) => return Processed::Failed(read_error(rel, &e)),
            },
        };
        if prev.fingerprint.stat == stat && stat.mtime_ns < input.racy_after_ns {
            let status = FileCacheStatus {
                status: CacheStatus::Hit,
                reason: "stat unchanged (not read)",
            };
            return Processed::Entry(Looked {
                entry: prev.clone(),
                status,
                read: false,
                analyzed: false,
                changed: false,
            });
        }
    }
    let read = match input.known.and_then(|known| known.open(rel)) {
        Some(opened) => opened.and_then(fingerprint::read_open_with_stat),
        None => fingerprint::read_with_stat(&abs),
    };
    let (bytes, opened) = match read {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Processed::Gone,
        Err(e) => return Processed::Failed(read_error(rel, &e)),
    };
    // A stat taken before the read is the conservative one: an edit between
    // the two shows as a changed stat next time, never as a missed one.
    let stat = walked.unwrap_or(opened);
    let hash = fingerprint::hash_bytes(&bytes);
    let fingerprint = Fingerprint { stat, hash };
    if let Some(prev) = previous {
        if prev.fingerprint.hash == hash {
            let status = if invalidated {
                FileCacheStatus {
                    status: CacheStatus::Skip,
                    reason: "invalidated; content unchanged",
                }
            } else if prev.fingerprint.stat == stat {
                FileCacheStatus {
                    status: CacheStatus::Hit,
                    reason: "modified inside the racy window; content hash unchanged",
                }
            } else {
                FileCacheStatus {
                    status: CacheStatus::Hit,
                    reason: "stat changed; content hash unchanged",
                }
            };
            let mut entry = prev.clone();
            entry.fingerprint = fingerprint;
            if invalidated {
                // Invalidated because a path its imports probed appeared:
                // the same text may now resolve to other files.
                (entry.deps, entry.probed) =
                    resolve_deps(input.config, input.known, rel, &prev.summary);
            }
            return Processed::Entry(Looked {
                entry,
                status,
                read: true,
                analyzed: false,
                changed: false,
            });
        }
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(&bytes),
    };
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
    let (deps, probed) = resolve_deps(input.config, input.known, rel, &summary);
    let entry = FileEntry {
        fingerprint,
        summary: LazySummary::new(summary),
        deps,
        probed,
    };
    Processed::Entry(Looked {
        entry,
        status,
        read: true,
        analyzed: true,
        changed,
    })
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
    known: Option<&KnownFiles>,
    rel: &str,
    summary: &ModuleSummary,
) -> (Vec<String>, Vec<String>) {
    let mut deps = Vec::new();
    let mut probed = Vec::new();
    let exists = |p: &str| match known.and_then(|k| k.exists(p)) {
        Some(answer) => answer,
        None => config.root_dir.join(p).is_file(),
    };
    // Two specifiers can name one file (`./a`, `./a.ts`); barrels name
    // hundreds, so the check is by hash, confirmed only on a hit.
    let mut seen: HashSet<u64> = HashSet::new();
    for spec in summary.dependency_specifiers() {
        match resolve::resolve_in(&config.root_dir, rel, spec, exists) {
            Resolution::File(p) => {
                if seen.insert(fingerprint::hash_bytes(p.as_bytes())) || !deps.contains(&p) {
                    deps.push(p);
                }
            }
            Resolution::NotFound { tried } => probed.extend(tried),
            Resolution::External | Resolution::Asset => {}
        }
    }
    (deps, probed)
}

/// Fewer files than this in a wave are processed on the calling thread
/// (`pool::filter_map_ordered`).
const FILES_INLINE_BELOW: usize = 16;

/// Runs discovery: processes roots (in parallel), then follows imports wave by
/// wave until no new file turns up.
pub fn discover(input: &DiscoveryInput<'_>) -> Discovery {
    let mut out = Discovery::default();
    // A full discovery's caller knows its entries; a targeted one learns
    // which of its roots are entries here.
    if input.targeted {
        out.entries = input
            .roots
            .iter()
            .filter(|r| input.globs.is_entry(r))
            .cloned()
            .collect();
    }
    // Targeted discovery returns only the entries it processed; the caller
    // merges them into its table (no O(files) copy per update).
    let mut files: FileTable = FileTable::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut wave: Vec<String> = input.roots.iter().cloned().collect();
    if input.targeted {
        wave.extend(input.invalidated.iter().cloned());
        wave.sort();
        wave.dedup();
    }
    while !wave.is_empty() {
        seen.extend(wave.iter().cloned());
        // Leaves of a few files: files differ in cost, and rayon splits a
        // range only as far as it sees steals, so a slower half would leave
        // the other core idle (half the cores for a third of the wave, once).
        // A wave of a few files (an update's) stays on this thread: reading
        // and analyzing one costs about a tenth of waking a parked worker.
        let results: Vec<(String, Processed)> =
            pool::filter_map_ordered(&wave, FILES_INLINE_BELOW, 8, |rel| {
                Some((rel.clone(), process_file(input, rel)))
            });
        // Each wave is sorted: its results are bulk-built into the maps
        // (one merge per wave, not a search per file).
        let mut found: Vec<(String, FileEntry)> = Vec::with_capacity(results.len());
        let mut statuses: Vec<(String, FileCacheStatus)> = Vec::with_capacity(results.len());
        let mut changed: Vec<String> = Vec::new();
        let mut next = BTreeSet::new();
        for (rel, processed) in results {
            out.counts.scanned += 1;
            match processed {
                Processed::Entry(Looked {
                    entry,
                    status,
                    read,
                    analyzed,
                    changed: is_changed,
                }) => {
                    match status.status {
                        CacheStatus::Hit => out.stats.hits += 1,
                        CacheStatus::Miss => out.stats.misses += 1,
                        CacheStatus::Skip => out.stats.skips += 1,
                    }
                    out.counts.read += u64::from(read);
                    out.counts.analyzed += u64::from(analyzed);
                    if is_changed {
                        changed.push(rel.clone());
                    }
                    for dep in &entry.deps {
                        let known = input.targeted
                            && (files.contains_key(dep) || input.previous.contains_key(dep));
                        if !seen.contains(dep) && !known && !input.globs.is_excluded(dep) {
                            next.insert(dep.clone());
                        }
                    }
                    statuses.push((rel.clone(), status));
                    found.push((rel, entry));
                }
                Processed::Gone => {
                    // Every path is processed once (`seen`): only the
                    // previous table can have it.
                    if input.previous.contains_key(&rel) {
                        out.removed.insert(rel.clone());
                    }
                    out.entries.remove(&rel);
                }
                Processed::Failed(d) => {
                    // Out of the table as a clean build has it: not there.
                    if input.previous.contains_key(&rel) {
                        out.removed.insert(rel.clone());
                    }
                    out.diagnostics.push(d);
                }
            }
        }
        files.append(&mut found.into_iter().collect());
        out.status.append(&mut statuses.into_iter().collect());
        out.changed.append(&mut changed.into_iter().collect());
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

/// `path` as the build names it, when it is inside the config directory or
/// one of the directories outside it that an include reaches (change sets
/// from a watcher carry absolute paths).
pub fn relative_in_root(config: &Config, path: &Path) -> Option<String> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        config.root_dir.join(path)
    };
    if let Ok(rel) = abs.strip_prefix(&config.root_dir) {
        return Some(rel.to_string_lossy().replace('\\', "/"));
    }
    let abs = crate::config::normalize_path(&abs);
    config
        .outside_roots()
        .iter()
        .any(|(_, dir)| abs.starts_with(dir))
        .then(|| config.relative(&abs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's own order is path order, with names that sort before and
    /// after `/` (`a-b.ts`, `a.ts`, `a/x.ts`, `a0.ts`): no sort needed after.
    #[test]
    fn the_walk_lists_files_in_path_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(
            root.join("soda-gql.config.ts"),
            r#"export default { outdir: "graphql-system", include: ["src/**/*.ts"], schemas: { default: { schema: "./schema.graphql" } } };"#,
        )
        .expect("config");
        let files = [
            "src/a-b.ts",
            "src/a.ts",
            "src/a/x.ts",
            "src/a/y/z.ts",
            "src/a.b/c.ts",
            "src/a0.ts",
            "src/ab/d.ts",
            "src/b.ts",
            "src/B.ts",
            "src/a/-.ts",
        ];
        for f in files {
            let path = root.join(f);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "export {};").expect("write");
        }
        let config = crate::config::load_config(&root.join("soda-gql.config.ts")).expect("config");
        let globs = Globs::new(&config).expect("globs");
        for with_stats in [false, true] {
            let scan = scan(&config, &globs, with_stats);
            let walked: Vec<&String> = scan.known.files().collect();
            let mut expected: Vec<String> = files.iter().map(|f| f.to_string()).collect();
            expected.push("soda-gql.config.ts".into());
            expected.sort();
            assert_eq!(walked, expected.iter().collect::<Vec<_>>());
            assert_eq!(
                scan.known.files.iter().all(|(_, s)| s.is_some()),
                with_stats
            );
            // Every walked path is found by its hash; others are not.
            for f in &expected {
                assert_eq!(scan.known.exists(f), Some(true), "{f}");
            }
            assert_eq!(scan.known.exists("src/a/nope.ts"), Some(false));
            assert_eq!(scan.known.exists("../outside.ts"), None);
            if !with_stats {
                let entries: Vec<String> = expected
                    .into_iter()
                    .filter(|f| f.starts_with("src/"))
                    .collect();
                assert_eq!(scan.entries.into_iter().collect::<Vec<_>>(), entries);
            }
        }
    }
}
