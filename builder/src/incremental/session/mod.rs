//! The long-lived builder session: the only stateful piece of the builder.
//!
//! `build_initial` builds everything — with a persisted state that is valid,
//! as a targeted build of the files whose stat moved — `update` applies one
//! change set as a transaction, `snapshot` returns the last artifact. Both go
//! through one `commit` step: re-resolve the definitions in changed files and
//! those whose resolution trail crossed one, patch the dependency graph with
//! what changed (`graph_patch`), recompute the patch's definitions and —
//! transitively — the definitions that spread them. A file whose summary did
//! not change is an invalidation barrier: nothing behind it is recomputed.

mod commit;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use thiserror::Error;

use crate::config::{Config, ConfigError};
use crate::diagnostics::{Diagnostic, Severity};
use crate::incremental::change::ChangeSet;
use crate::incremental::graph_patch::GraphIndex;
use crate::incremental::persist::{self, CacheLoad, PersistedState};
use crate::incremental::stat_scan;
pub use crate::incremental::state::{CompiledEntry, SessionState};
use crate::io::fingerprint::Fingerprint;
use crate::phases::analyze::AnalyzerContext;
use crate::phases::artifact::{self, Artifact, ArtifactMeta, BuilderArtifactDelta};
use crate::phases::discover::{self, Discovery, DiscoveryInput, Globs};
use crate::phases::graphql::render::Rendered;
use crate::phases::graphql::schema::{load_schemas, SchemaError, SchemaSet};
use crate::phases::link::ResolvedDefinition;
use crate::report::{
    BuildReport, CacheStats, FileCacheStatus, FileCounts, RecomputedCounts, Timer,
};
use commit::CommitInput;

#[derive(Debug, Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("invalid glob in include/exclude: {0}")]
    Glob(#[from] globset::Error),
    #[error("cannot read the directory {path}: {source}; its files would be missing from the artifact: fix its permissions (chmod u+rx) or move it out of the config directory")]
    UnreadableDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Read the persisted state on start and write it back after each build.
    pub incremental: bool,
}

/// The outcome of one build: the artifact, every diagnostic, and what changed.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Shared with the session's snapshot: no copy of every element per build.
    pub artifact: Arc<Artifact>,
    pub diagnostics: Vec<Diagnostic>,
    pub delta: BuilderArtifactDelta,
    /// Files looked at past their stat (see `complete_cache_status`).
    pub cache_status: BTreeMap<String, FileCacheStatus>,
    /// Canonical ids whose documents were recompiled.
    pub compiled_ids: Vec<String>,
    /// How the session started: cold, or from the persisted state (and why not).
    pub cache_note: Option<String>,
}

impl BuildOutput {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn report(&self) -> &BuildReport {
        &self.artifact.report
    }

    /// `cache_status` names only the files the build looked past their stat;
    /// every other file of the build was a stat-only hit.
    pub fn complete_cache_status<'a>(&mut self, files: impl IntoIterator<Item = &'a String>) {
        for file in files {
            self.cache_status
                .entry(file.clone())
                .or_insert(FileCacheStatus {
                    status: crate::report::CacheStatus::Hit,
                    reason: "stat unchanged (not read)",
                });
        }
    }
}

/// File systems with coarse timestamps (2 s on FAT, 1 s on some network
/// mounts) can hide a second edit inside one tick.
const RACY_MARGIN_NS: u128 = 2_000_000_000;

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Indexes derived from the state, rebuilt on load, never persisted.
#[derive(Debug, Default)]
struct RuntimeIndex {
    /// file → ids whose resolution read it.
    trail: HashMap<String, BTreeSet<String>>,
    /// The dependency graph's reverse views (file → ids, fragment → spreaders).
    graph: GraphIndex,
    rendered: HashMap<String, Arc<Rendered>>,
    /// Probed (missing) import path → files whose import probed it.
    probed: HashMap<String, BTreeSet<String>>,
    /// Files whose summary carries diagnostics.
    with_diagnostics: BTreeSet<String>,
}

impl RuntimeIndex {
    fn build(state: &SessionState) -> RuntimeIndex {
        let mut index = RuntimeIndex {
            graph: GraphIndex::build(&state.graph),
            ..RuntimeIndex::default()
        };
        for r in state.resolved.values() {
            index.add(r);
        }
        for (path, entry) in &state.files {
            index.set_file(path, None, Some(entry));
        }
        index
    }

    /// Keeps the per-file indexes in step with one file table entry.
    fn set_file(
        &mut self,
        path: &str,
        old: Option<&discover::FileEntry>,
        entry: Option<&discover::FileEntry>,
    ) {
        for p in old.map(|o| o.probed.as_slice()).unwrap_or_default() {
            if let Some(importers) = self.probed.get_mut(p) {
                importers.remove(path);
            }
        }
        match entry {
            Some(e) => {
                for p in &e.probed {
                    self.probed
                        .entry(p.clone())
                        .or_default()
                        .insert(path.to_owned());
                }
                if !e.summary.has_diagnostics() {
                    self.with_diagnostics.remove(path);
                } else {
                    self.with_diagnostics.insert(path.to_owned());
                }
            }
            None => {
                self.with_diagnostics.remove(path);
            }
        }
    }

    fn add(&mut self, r: &ResolvedDefinition) {
        for file in &r.trail {
            self.trail
                .entry(file.clone())
                .or_default()
                .insert(r.id.clone());
        }
    }

    fn remove(&mut self, r: &ResolvedDefinition) {
        for file in &r.trail {
            if let Some(ids) = self.trail.get_mut(file) {
                ids.remove(&r.id);
            }
        }
        self.rendered.remove(&r.id);
    }
}

pub struct BuilderSession {
    config: Config,
    options: SessionOptions,
    schemas: Option<Arc<SchemaSet>>,
    state: SessionState,
    index: RuntimeIndex,
    last: Option<Arc<Artifact>>,
    /// The state differs from what is on disk.
    dirty: bool,
    initialized: bool,
    /// Chunk outputs planned but not yet written (`write_outputs` does).
    /// A loaded state whose body a build that changed nothing left encoded;
    /// decoded on first need (`ensure_state`).
    pending_body: Option<PendingBody>,
    /// A head to persist in front of that still-encoded body: the build
    /// changed nothing but what the head records (directories listed anew).
    pending_head: Option<persist::StateHead<'static>>,
    /// What the last build reported, persisted for a build that changes
    /// nothing to report again.
    last_diagnostics: Vec<Diagnostic>,
    /// Warnings of the last `write_outputs` (a damaged cache file it replaced).
    write_warnings: Vec<String>,
    /// The directories the last walk listed, with their stats (the head's
    /// `dirs`): a build that finds them unmoved lists none.
    walked_dirs: Vec<(String, crate::io::fingerprint::StatKey)>,
    /// The include globs that match no entry, as of the last change of the
    /// entries: compiling the globs again for every targeted update costs
    /// more than the rest of its diagnostics.
    unmatched_includes: Option<Vec<Diagnostic>>,
}

struct PendingBody {
    body: persist::StateBody,
    elements: Arc<BTreeMap<String, String>>,
}

/// How a build changes the set of include-glob matches.
enum EntriesUpdate {
    /// A full scan: the new set.
    Replace(BTreeSet<String>),
    /// A change set already applied its additions and removals.
    InPlace { changed: bool },
}

impl BuilderSession {
    pub fn new(config: Config, options: SessionOptions) -> BuilderSession {
        BuilderSession {
            config,
            options,
            schemas: None,
            state: SessionState::default(),
            index: RuntimeIndex::default(),
            last: None,
            dirty: true,
            initialized: false,
            pending_body: None,
            pending_head: None,
            last_diagnostics: Vec::new(),
            write_warnings: Vec::new(),
            walked_dirs: Vec::new(),
            unmatched_includes: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The artifact of the last successful build.
    pub fn snapshot(&self) -> Option<&Artifact> {
        self.last.as_deref()
    }

    /// The fingerprint this session's discovery cache holds for `path`
    /// (absolute, or relative to the project root), with no read and no
    /// stat: `None` for a file the last build did not discover. After
    /// `build_initial` on a persisted state, the persisted fingerprint.
    pub fn peek(&mut self, path: &Path) -> Option<Fingerprint> {
        let rel = discover::relative_in_root(&self.config, path)?;
        discover::peek(&self.state().files, &rel).copied()
    }

    pub fn state(&mut self) -> &SessionState {
        self.ensure_state();
        &self.state
    }

    /// Decodes a body the last build left encoded. A body that fails to
    /// decode (its checksum passed, so only a format bug can do this) is
    /// deleted: the session starts over cold.
    fn ensure_state(&mut self) {
        let Some(pending) = self.pending_body.take() else {
            return;
        };
        // A head waiting to be written goes out with the whole state now.
        if self.pending_head.take().is_some() {
            self.dirty = true;
        }
        match pending.body.decode(pending.elements) {
            Ok(state) => {
                self.state = state;
                self.unmatched_includes = None;
                self.index = RuntimeIndex::build(&self.state);
            }
            Err(_) => {
                let _ = std::fs::remove_file(persist::state_path(&self.config));
                self.state = SessionState::default();
                self.unmatched_includes = None;
                self.index = RuntimeIndex::default();
                self.initialized = false;
                self.dirty = true;
            }
        }
    }

    /// The head of the state as it is now (what `write_outputs` persists),
    /// borrowing from the session; `elements` is their encoding
    /// (`StateHead::encode_elements`).
    fn head(&self, elements: persist::Blob<'static>) -> persist::StateHead<'_> {
        let files = &self.state.files;
        // Imports the table lacks (a read failed): every import, sorted, merged
        // with the sorted table (no search per import).
        let mut imports: Vec<&str> = files
            .values()
            .flat_map(|e| e.deps.iter().map(String::as_str))
            .collect();
        imports.sort_unstable();
        imports.dedup();
        let mut table = files.keys().map(String::as_str).peekable();
        let lacking = imports.into_iter().filter(|import| {
            while table.next_if(|path| path < import).is_some() {}
            table.peek() != Some(import)
        });
        // And the probed candidates.
        let mut awaited: Vec<&str> = lacking
            .chain(
                self.index
                    .probed
                    .iter()
                    .filter(|(_, importers)| !importers.is_empty())
                    .map(|(path, _)| path.as_str()),
            )
            .collect();
        awaited.sort_unstable();
        awaited.dedup();
        let mut defining: Vec<&str> = self
            .state
            .graph
            .nodes
            .values()
            .map(|n| n.file.as_str())
            .collect();
        defining.sort_unstable();
        defining.dedup();
        // Both sorted: one merge marks the entries among the files.
        let mut entries = self.state.entries.iter().map(String::as_str).peekable();
        let mut unread_entries = Vec::new();
        let mut head_files = Vec::with_capacity(files.len());
        for (path, e) in files {
            while let Some(entry) = entries.next_if(|entry| *entry < path.as_str()) {
                unread_entries.push(entry.into());
            }
            head_files.push(persist::HeadFile {
                path: path.as_str().into(),
                stat: e.fingerprint.stat,
                entry: entries.next_if(|entry| *entry == path.as_str()).is_some(),
            });
        }
        unread_entries.extend(entries.map(persist::Text::from));
        persist::StateHead {
            files: head_files,
            unread_entries,
            dirs: head_dir_records(&self.walked_dirs),
            awaited: awaited.into_iter().map(persist::Text::from).collect(),
            defining: defining.into_iter().map(persist::Text::from).collect(),
            racy_after_ns: self.state.racy_after_ns,
            diagnostics: self.last_diagnostics.clone(),
            elements,
        }
    }

    fn analyzer_context(&self) -> AnalyzerContext {
        AnalyzerContext::for_config(&self.config)
    }

    /// The schemas as the files have them now. Not kept: a build keeps
    /// them (`self.schemas`) only once nothing that can fail is left.
    fn load_schemas(&self) -> Result<Arc<SchemaSet>, BuildError> {
        Ok(Arc::new(load_schemas(&self.config)?))
    }

    /// A full build: every file is looked at (stat first). Uses the persisted
    /// state when `incremental` and valid, else starts cold.
    ///
    /// Longer than the rest because the loaded head is borrowed from the
    /// bytes read, and the fast path (nothing moved: answer from the head,
    /// the body never decoded) must return while that borrow is alive; the
    /// discovery itself is `discover_cold` / `discover_moved`.
    pub fn build_initial(&mut self) -> Result<BuildOutput, BuildError> {
        self.ensure_state();
        let started = Instant::now();
        let mut timer = Timer::new();
        let schemas = self.load_schemas()?;
        let schema_hash = schemas.combined_hash();
        timer.lap("schema");
        let globs = Globs::new(&self.config)?;
        let analyzer = self.analyzer_context();
        let discovery_started = now_ns();
        let (mut cache_note, persisted) = self.open_persisted(schema_hash);
        let (head_bytes, body) = match persisted {
            Some(p) => (Some(p.head), Some(p.body)),
            None => (None, None),
        };
        // What the table is checked against: the loaded head (borrowed from
        // the bytes read), or the head of this session's own state.
        let own_head;
        let head: Option<&persist::StateHead<'_>> = match head_bytes.as_ref().map(|h| h.decode()) {
            Some(Ok(decoded)) => {
                own_head = decoded;
                Some(&own_head)
            }
            Some(Err(reason)) => {
                cache_note = Some(discarded_note(&reason));
                None
            }
            None if !self.state.files.is_empty() => {
                own_head = self.head(persist::Blob::default()).into_owned();
                Some(&own_head)
            }
            None => None,
        };
        let body = body.filter(|_| head.is_some());
        // What moved: without listing a directory when none moved (the
        // elements are decoded meanwhile), else by a walk.
        let mut elements = None;
        let mut walked = None;
        let mut unreadable = None;
        crate::io::pool::start();
        let stat_scan = head.map(|head| {
            let (unlisted, decoded) = beside(
                || {
                    stat_scan::stat_scan_unlisted(
                        &self.config,
                        &head.dirs,
                        &head.files,
                        &head.unread_entries,
                        head.racy_after_ns,
                    )
                },
                || body.as_ref().map(|_| self.head_elements(head)),
            );
            elements = decoded;
            unlisted.unwrap_or_else(|| {
                let mut scan = discover::scan(&self.config, &globs, true);
                unreadable = scan.unreadable.take();
                let stat_scan = stat_scan::stat_scan(
                    &self.config,
                    &globs,
                    &head.files,
                    &head.entries(),
                    &scan.known,
                    head.racy_after_ns,
                );
                walked = Some(scan);
                stat_scan
            })
        });
        if let Some((path, source)) = unreadable {
            return Err(BuildError::UnreadableDir { path, source });
        }
        let mut per_file = None;
        let mut mostly_moved = false;
        let elements = match elements {
            Some(Ok(HeadElements::Decoded(counts, elements))) => {
                per_file = Some(counts);
                Some(Arc::new(elements))
            }
            Some(Ok(HeadElements::MostlyMoved)) => {
                mostly_moved = true;
                None
            }
            Some(Err(reason)) => {
                cache_note = Some(discarded_note(&reason));
                None
            }
            None => None,
        };
        timer.lap("load_and_scan");
        // When the files that moved hold most of the elements, the state
        // saves little and costs its decode and its diff: a cold build is
        // faster (5,000 operations spreading one fragment in one file: an
        // incremental process took 1.0–1.6 s where a clean one took 0.3 s).
        // A suspect only re-read for raciness (its stat as recorded) has
        // not moved.
        if let (Some(head), Some(scan), Some(per_file)) = (head, &stat_scan, &per_file) {
            mostly_moved = self.mostly_moved(head, scan, per_file);
        }
        if mostly_moved {
            cache_note = Some("most elements are in the files that changed: built cold".into());
        }
        if let (Some(head), Some(stat_scan), Some(body), Some(elements), false) =
            (head, &stat_scan, body, &elements, mostly_moved)
        {
            // No file moved, none came that anything waits for: the last
            // build's answer stands, and the body of the state stays encoded.
            let unchanged = stat_scan.suspects.is_empty()
                && stat_scan.entries_removed.is_empty()
                && !stat_scan
                    .unknown
                    .iter()
                    .any(|f| wanted_new_file(&globs, &head.awaited, f));
            if unchanged {
                self.pending_body = Some(PendingBody {
                    body,
                    elements: Arc::clone(elements),
                });
                self.dirty = false;
                self.walked_dirs = head_dirs(head);
                if let Some(scan) = &walked {
                    // Listed again because a directory moved (an editor's swap
                    // file, a file the build does not read) or was too recent
                    // to trust (the first build made the cache directory):
                    // record the listing and the racy window it moves to, or
                    // every later build lists them all again.
                    self.walked_dirs = scan.dirs.clone();
                    let mut moved = head.clone().into_owned();
                    moved.dirs = head_dir_records(&scan.dirs)
                        .into_iter()
                        .map(persist::HeadDir::into_owned)
                        .collect();
                    moved.racy_after_ns = discovery_started.saturating_sub(RACY_MARGIN_NS);
                    self.pending_head = Some(moved);
                }
                timer.lap("discover");
                let listed = walked.as_ref().map_or(0, |scan| scan.dirs.len() as u64);
                self.schemas = Some(schemas.clone());
                let mut output =
                    self.unchanged_output(head, stat_scan.unchanged, listed, timer, started);
                output.cache_note = cache_note;
                return Ok(output);
            }
            // Something moved. When it is a file with definitions, a compile
            // is likely: parse the schema on one core while the body is
            // decoded on the other.
            let compiles = stat_scan
                .suspects
                .iter()
                .any(|f| head.defining.binary_search_by(|d| (**d).cmp(f)).is_ok());
            let (decoded, ()) = rayon::join(
                || body.decode(Arc::clone(elements)),
                || {
                    if compiles {
                        // Its result is kept; a broken schema is reported
                        // where it is used.
                        let _ = schemas.validate_all();
                    }
                },
            );
            match decoded {
                Ok(state) => {
                    self.state = state;
                    self.unmatched_includes = None;
                    self.index = RuntimeIndex::build(&self.state);
                    self.last_diagnostics = head.diagnostics.clone();
                    self.walked_dirs = head_dirs(head);
                    self.dirty = false;
                }
                Err(reason) => {
                    cache_note = Some(discarded_note(&reason));
                }
            }
        }
        let awaited: Vec<String> = head.map_or_else(Vec::new, |h| {
            h.awaited.iter().map(|a| a.to_string()).collect()
        });
        let cold = self.state.files.is_empty();
        let stat_scan = stat_scan.filter(|_| !cold);
        let (discovery, entries, targeted) = match stat_scan {
            None => {
                let (discovery, entries) =
                    self.discover_cold(walked, &globs, &analyzer, &schemas, &mut timer)?;
                (discovery, entries, false)
            }
            Some(stat_scan) => {
                let (discovery, entries) =
                    self.discover_moved(stat_scan, walked.as_ref(), &globs, &analyzer, &awaited);
                (discovery, entries, true)
            }
        };
        timer.lap("discover");
        self.state.racy_after_ns = discovery_started.saturating_sub(RACY_MARGIN_NS);
        self.schemas = Some(schemas.clone());
        let mut output = self.commit(CommitInput {
            discovery,
            entries,
            schemas: &schemas,
            schema_changed: false,
            targeted,
            timer,
            started,
        });
        output.cache_note = cache_note;
        Ok(output)
    }

    /// Reads the persisted state, when this session is incremental and
    /// has not started yet; returns the note that says what happened.
    fn open_persisted(&mut self, schema_hash: u64) -> (Option<String>, Option<PersistedState>) {
        let load = self.options.incremental && !self.initialized;
        let loaded = if load {
            persist::load_state(&self.config, schema_hash)
        } else {
            CacheLoad::Missing
        };
        self.initialized = true;
        match loaded {
            CacheLoad::Loaded(p) => (Some("using the persisted state".to_owned()), Some(*p)),
            CacheLoad::Missing => (
                load.then(|| "no persisted state: cold build".to_owned()),
                None,
            ),
            CacheLoad::Discarded(reason) => (Some(discarded_note(&reason)), None),
        }
    }

    /// The head's elements, decoded, with how many each file holds; or,
    /// without decoding them, that the few files holding most of them
    /// moved (one file of 5,000 operations: the decode was a tenth of a
    /// build that then went cold).
    fn head_elements(&self, head: &persist::StateHead<'_>) -> Result<HeadElements, String> {
        let per_file = head.elements_per_file()?;
        let total: usize = per_file.iter().map(|(_, n)| n).sum();
        if total >= MOSTLY_MOVED_MIN {
            let mut largest: Vec<(&str, usize)> = per_file.clone();
            largest.sort_unstable_by_key(|&(_, n)| std::cmp::Reverse(n));
            largest.truncate(QUICK_MOVED_FILES);
            let moved: usize = largest
                .iter()
                .filter(|(file, _)| self.moved_since(head, file))
                .map(|(_, n)| n)
                .sum();
            if 2 * moved > total {
                return Ok(HeadElements::MostlyMoved);
            }
        }
        let counts = per_file
            .into_iter()
            .map(|(file, n)| (file.to_string(), n))
            .collect();
        Ok(HeadElements::Decoded(counts, head.decode_elements()?))
    }

    /// Whether a file's stat differs from the one the head recorded (or the
    /// head has none, or it cannot be read now).
    fn moved_since(&self, head: &persist::StateHead<'_>, file: &str) -> bool {
        let recorded = head
            .files
            .binary_search_by(|f| (*f.path).cmp(file))
            .ok()
            .map(|at| head.files[at].stat);
        let now = crate::io::fingerprint::stat(&self.config.root_dir.join(file));
        recorded.is_none_or(|r| now.map_or(true, |s| s != r))
    }

    /// When the files that moved hold most of the elements, the state
    /// saves little and costs its decode and its diff: a cold build is
    /// faster (5,000 operations spreading one fragment in one file: an
    /// incremental process took 1.0–1.6 s where a clean one took 0.3 s).
    /// A suspect only re-read for raciness (its stat as recorded) has not
    /// moved.
    fn mostly_moved(
        &self,
        head: &persist::StateHead<'_>,
        scan: &stat_scan::StatScan,
        per_file: &[(String, usize)],
    ) -> bool {
        let total: usize = per_file.iter().map(|(_, n)| n).sum();
        if scan.suspects.is_empty() || total < MOSTLY_MOVED_MIN {
            return false;
        }
        let moved: usize = per_file
            .iter()
            .filter(|(file, _)| scan.suspects.contains(file) && self.moved_since(head, file))
            .map(|(_, n)| n)
            .sum();
        2 * moved > total
    }

    /// Discovery from nothing: walk (or reuse the walk made for a state
    /// that was then discarded) and read every file the entries reach.
    fn discover_cold(
        &mut self,
        walked: Option<discover::Scan>,
        globs: &Globs,
        analyzer: &AnalyzerContext,
        schemas: &SchemaSet,
        timer: &mut Timer,
    ) -> Result<(Discovery, EntriesUpdate), BuildError> {
        let empty = BTreeSet::new();
        // A cold build needs the parsed schema: it is parsed on one
        // core from the start, while the other walks the tree and
        // then reads and parses sources (with the first core again
        // once the schema is done).
        let walk_and_discover = || {
            let started = Instant::now();
            // A walk made for a state that was then discarded skipped
            // the globs: match them now.
            let scan = match walked {
                Some(mut scan) => {
                    scan.entries = scan
                        .known
                        .files()
                        .filter(|f| globs.is_entry_source(f))
                        .cloned()
                        .collect();
                    scan
                }
                None => discover::scan(&self.config, globs, false),
            };
            let walk_ms = started.elapsed().as_secs_f64() * 1000.0;
            let discovery = discover::discover(&DiscoveryInput {
                racy_after_ns: self.state.racy_after_ns,
                config: &self.config,
                globs,
                analyzer,
                previous: &self.state.files,
                roots: &scan.entries,
                invalidated: &empty,
                targeted: false,
                known: Some(&scan.known),
            });
            (scan, walk_ms, discovery)
        };
        let (schema_check, (mut scan, walk_ms, mut discovery)) =
            rayon::join(|| schemas.validate_all(), walk_and_discover);
        schema_check?;
        if let Some((path, source)) = scan.unreadable.take() {
            return Err(BuildError::UnreadableDir { path, source });
        }
        timer.split("walk", walk_ms);
        self.walked_dirs = scan.dirs;
        discovery.counts.listed = self.walked_dirs.len() as u64;
        Ok((discovery, EntriesUpdate::Replace(scan.entries)))
    }

    /// Discovery with a loaded state: the files whose stat moved, files new
    /// to the table, and importers of files that are gone.
    fn discover_moved(
        &mut self,
        stat_scan: stat_scan::StatScan,
        walked: Option<&discover::Scan>,
        globs: &Globs,
        analyzer: &AnalyzerContext,
        awaited: &[String],
    ) -> (Discovery, EntriesUpdate) {
        // With a loaded state a full build is a targeted one: the
        // files whose stat moved, plus files that are new to the table.
        // The schema is parsed only if something must be compiled.
        let mut roots = stat_scan.suspects;
        let (new_files, mut invalidated) =
            self.files_new_to_table(&stat_scan.unknown, globs, awaited);
        roots.extend(new_files);
        // Files that lost an import target resolve it afresh.
        invalidated.extend(self.importers_of(&stat_scan.gone));
        if let Some(scan) = &walked {
            self.walked_dirs = scan.dirs.clone();
        }
        let mut discovery = discover::discover(&DiscoveryInput {
            racy_after_ns: self.state.racy_after_ns,
            config: &self.config,
            globs,
            analyzer,
            previous: &self.state.files,
            roots: &roots,
            invalidated: &invalidated,
            targeted: true,
            // Without a walk, imports are resolved against the file system.
            known: walked.as_ref().map(|scan| &scan.known),
        });
        discovery.stats.hits += stat_scan.unchanged;
        discovery.counts.scanned += stat_scan.unchanged;
        discovery.counts.listed = walked.as_ref().map_or(0, |scan| scan.dirs.len() as u64);
        // A file read again only because its mtime was inside the
        // racy window is unchanged, but the window moves on: persist
        // it, or that file is read (and the body decoded) forever.
        if discovery.counts.read > 0 {
            self.dirty = true;
        }
        // Entries change by what the walk added or lost, and by
        // files that vanished before they could be read.
        let mut changed = false;
        for entry in stat_scan.entries_added {
            changed |= self.state.entries.insert(entry);
        }
        for entry in stat_scan.entries_removed.iter().chain(&discovery.removed) {
            changed |= self.state.entries.remove(entry);
        }
        (discovery, EntriesUpdate::InPlace { changed })
    }

    /// Walked files missing from the loaded table that the build needs
    /// (`wanted_new_file`), and the importers that probed them: their
    /// dependencies change although their stat did not.
    fn files_new_to_table(
        &self,
        unknown: &[String],
        globs: &Globs,
        awaited: &[String],
    ) -> (BTreeSet<String>, BTreeSet<String>) {
        let new_files: BTreeSet<String> = unknown
            .iter()
            .filter(|f| wanted_new_file(globs, awaited, f))
            .cloned()
            .collect();
        let invalidated = new_files
            .iter()
            .filter_map(|f| self.index.probed.get(f))
            .flatten()
            .cloned()
            .collect();
        (new_files, invalidated)
    }

    /// Files whose dependencies include one of `files` (one pass over the
    /// table, only when files disappeared).
    fn importers_of(&self, files: &BTreeSet<String>) -> BTreeSet<String> {
        if files.is_empty() {
            return BTreeSet::new();
        }
        self.state
            .files
            .iter()
            .filter(|(path, e)| !files.contains(*path) && e.deps.iter().any(|d| files.contains(d)))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Applies one change set: only the named files (and files they newly
    /// import) are looked at; only affected definitions are recomputed.
    pub fn update(&mut self, changes: &ChangeSet) -> Result<BuildOutput, BuildError> {
        self.ensure_state();
        if !self.initialized || changes.should_invalidate_analyzer() {
            self.state = SessionState::default();
            self.unmatched_includes = None;
            self.index = RuntimeIndex::default();
            self.initialized = false;
            return self.build_initial();
        }
        let started = Instant::now();
        let mut timer = Timer::new();
        let previous_schema = self.schemas.as_ref().map(|s| s.combined_hash());
        let schema_paths: BTreeSet<PathBuf> = self
            .config
            .schemas
            .values()
            .flat_map(|s| s.paths.iter().cloned())
            .collect();
        let touches_schema = changes
            .added
            .iter()
            .chain(&changes.updated)
            .chain(&changes.removed)
            .any(|p| {
                schema_paths.contains(&self.config.root_dir.join(p)) || schema_paths.contains(p)
            });
        // The caller's metadata may vouch for the schema the session holds
        // (same hash) or say it moved; a schema file in the change set
        // always reloads.
        let vouched = previous_schema.is_some_and(|hash| !changes.should_invalidate_schema(hash));
        let reload = touches_schema || (changes.metadata.is_some() && !vouched);
        let schemas = match (&self.schemas, reload) {
            (Some(s), false) => s.clone(),
            _ => {
                let reloaded = self.load_schemas()?;
                reloaded.validate_all()?;
                reloaded
            }
        };
        let schema_changed = previous_schema != Some(schemas.combined_hash());
        timer.lap("schema");

        let globs = Globs::new(&self.config)?;
        let mut roots = BTreeSet::new();
        let mut invalidated = BTreeSet::new();
        for path in changes
            .added
            .iter()
            .chain(&changes.updated)
            .chain(&changes.removed)
        {
            let Some(rel) = discover::relative_in_root(&self.config, path) else {
                continue;
            };
            if !discover::is_ts_file(&rel) {
                continue;
            }
            if globs.is_entry(&rel) || self.state.files.contains_key(&rel) {
                invalidated.insert(rel.clone());
            }
            // A new file may be what an earlier import was looking for.
            if let Some(importers) = self.index.probed.get(&rel) {
                invalidated.extend(importers.iter().cloned());
            }
            roots.insert(rel);
        }
        let removed: BTreeSet<String> = changes
            .removed
            .iter()
            .filter_map(|p| discover::relative_in_root(&self.config, p))
            .collect();
        invalidated.extend(self.importers_of(&removed));
        let analyzer = self.analyzer_context();
        let discovery_started = now_ns();
        let discovery = discover::discover(&DiscoveryInput {
            racy_after_ns: self.state.racy_after_ns,
            config: &self.config,
            globs: &globs,
            analyzer: &analyzer,
            previous: &self.state.files,
            roots: &roots,
            invalidated: &invalidated,
            targeted: true,
            known: None,
        });
        timer.lap("discover");
        // Entries change only by the files this change set touched.
        let mut entries_changed = false;
        for added in &discovery.entries {
            entries_changed |= self.state.entries.insert(added.clone());
        }
        for removed in &discovery.removed {
            entries_changed |= self.state.entries.remove(removed);
        }
        let entries = EntriesUpdate::InPlace {
            changed: entries_changed,
        };
        self.state.racy_after_ns = self
            .state
            .racy_after_ns
            .max(discovery_started.saturating_sub(RACY_MARGIN_NS));
        // Nothing below can fail: the update takes effect from here.
        self.schemas = Some(schemas.clone());
        Ok(self.commit(CommitInput {
            discovery,
            entries,
            schemas: &schemas,
            schema_changed,
            targeted: true,
            timer,
            started,
        }))
    }

    /// The artifact of a finished build: the elements as they now are, and
    /// the report. Remembers both for the next `snapshot` and state write.
    fn publish(
        &mut self,
        diagnostics: &[Diagnostic],
        stats: CacheStats,
        files: FileCounts,
        recomputed: RecomputedCounts,
        timer: Timer,
        started: Instant,
    ) -> Arc<Artifact> {
        let report = BuildReport {
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            warnings: diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .map(|d| match &d.location {
                    Some(l) => format!("{}:{}:{}: {}", l.file, l.line, l.column, d.message),
                    None => d.message.clone(),
                })
                .collect(),
            stats,
            phases: timer.phases,
            files,
            recomputed,
        };
        let artifact = Arc::new(Artifact {
            meta: ArtifactMeta {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                created_at: artifact::now_rfc3339(),
            },
            elements: Arc::clone(match &self.pending_body {
                Some(pending) => &pending.elements,
                None => &self.state.elements,
            }),
            report,
        });
        self.last = Some(Arc::clone(&artifact));
        if self.last_diagnostics != diagnostics {
            // The state's head carries them: persist the new ones.
            self.last_diagnostics = diagnostics.to_vec();
            self.dirty = true;
        }
        artifact
    }

    /// The output of a build that found nothing changed: the last build's
    /// elements and diagnostics, every file a hit.
    fn unchanged_output(
        &mut self,
        head: &persist::StateHead,
        unchanged: u64,
        listed: u64,
        timer: Timer,
        started: Instant,
    ) -> BuildOutput {
        self.last_diagnostics = head.diagnostics.clone();
        let artifact = self.publish(
            &head.diagnostics,
            CacheStats {
                hits: unchanged,
                ..CacheStats::default()
            },
            FileCounts {
                scanned: unchanged,
                listed,
                ..FileCounts::default()
            },
            RecomputedCounts::default(),
            timer,
            started,
        );
        BuildOutput {
            artifact,
            diagnostics: head.diagnostics.clone(),
            delta: BuilderArtifactDelta::default(),
            cache_status: BTreeMap::new(),
            compiled_ids: Vec::new(),
            cache_note: None,
        }
    }

    /// Writes the artifact and (when incremental and changed) the persisted
    /// state, each atomically. An incremental
    /// session leaves an artifact file alone that its stamp shows to hold
    /// these very elements and warnings: its bytes would differ only in
    /// `meta.createdAt` and `report`, and a bundler watching it would
    /// rebuild for nothing.
    /// The warnings of the last [`BuilderSession::write_outputs`], taken.
    pub fn take_write_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.write_warnings)
    }

    /// Writes the artifact and, best effort, its stamp: without a stamp the
    /// next build writes the artifact again. A clean build keeps the stamp
    /// true but makes no cache directory for it.
    fn write_artifact(
        &self,
        artifact: &artifact::Artifact,
        content_hash: u64,
        stamp_path: &Path,
    ) -> Result<(), BuildError> {
        let path = &self.config.artifact_path;
        let stat = artifact.write(path).map_err(|source| BuildError::Write {
            path: path.clone(),
            source,
        })?;
        if self.options.incremental || self.config.cache_dir.is_dir() {
            let _ = artifact::ArtifactStamp {
                path: path.clone(),
                stat,
                content_hash,
            }
            .write(stamp_path);
        }
        Ok(())
    }

    pub fn write_outputs(&mut self) -> Result<(), BuildError> {
        if self.dirty && self.pending_body.is_some() {
            // A state to write whole: its body first decoded.
            self.ensure_state();
        }
        let Some(artifact) = &self.last else {
            return Ok(());
        };
        let path = &self.config.artifact_path;
        let stamp_path = self.config.cache_dir.join(artifact::STAMP_FILE);
        let content_hash = artifact.content_hash();
        let stamp = if self.options.incremental {
            artifact::ArtifactStamp::read(&stamp_path)
        } else {
            None
        };
        if self.options.incremental && stamp.is_none() && stamp_path.is_file() {
            // Recovered by writing the artifact and the stamp again, but
            // said, as every other damaged cache file is.
            self.write_warnings.push(format!(
                "warning: {} is corrupt: ignored it, the artifact is written again",
                stamp_path.display()
            ));
        }
        let on_disk = stamp.is_some_and(|stamp| stamp.vouches_for(path, content_hash));
        let schema_hash = self.schemas.as_ref().map_or(0, |s| s.combined_hash());
        let encode = self.options.incremental && self.dirty && self.pending_body.is_none();
        if encode {
            // The summaries new to the table: on every core after a first
            // build, on this thread after an update's few (a parked worker
            // takes longer to wake than they take to encode).
            let mut entries: Vec<&mut discover::FileEntry> = self
                .state
                .files
                .values_mut()
                .filter(|entry| entry.summary.encoded_len() == 0)
                .collect();
            crate::io::pool::for_each_mut(&mut entries, ENCODE_INLINE_BELOW, 64, |entry| {
                entry.summary.encode()
            });
        }
        let write_error = |source| BuildError::Write {
            path: self.config.cache_dir.clone(),
            source,
        };
        // The state is encoded and written while this thread writes the
        // artifact: when an edit reaches most of a project, these two writes
        // are what an incremental build does beyond a clean one.
        let this = &*self;
        let (state_written, artifact_written) = beside(
            || {
                encode.then(|| {
                    persist::write_state(
                        &this.config,
                        schema_hash,
                        &this.head(persist::Blob::default()),
                        &this.state.elements,
                        &this.state,
                    )
                })
            },
            || (!on_disk).then(|| this.write_artifact(artifact, content_hash, &stamp_path)),
        );
        if let Some(written) = artifact_written {
            written?;
        }
        if let Some(written) = state_written {
            written.map_err(write_error)?;
            self.dirty = false;
        } else if let (true, false, Some(head), Some(pending)) = (
            self.options.incremental,
            self.dirty,
            self.pending_head.take(),
            &self.pending_body,
        ) {
            persist::save_head(&self.config, schema_hash, &head, &pending.body)
                .map_err(write_error)?;
        }
        Ok(())
    }
}

/// Runs `pooled` on the rayon pool and `here` on this thread at once: a
/// thread outside the pool would only wait in `rayon::join`, and the pool's
/// second worker may still be starting when the first takes the join.
fn beside<A: Send, B>(pooled: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    let mut pooled_result = None;
    let here_result = rayon::in_place_scope(|scope| {
        scope.spawn(|_| pooled_result = Some(pooled()));
        here()
    });
    match pooled_result {
        Some(a) => (a, here_result),
        None => unreachable!("a scope returns after its spawned work"),
    }
}

/// Whether a walked file the table does not know must be looked at: it is
/// an entry, or something awaits it (an import probed it, or an import of it
/// failed to read). One rule for the unchanged check and the targeted build.
fn wanted_new_file<A: std::ops::Deref<Target = str>>(
    globs: &Globs,
    awaited: &[A],
    file: &str,
) -> bool {
    discover::is_ts_file(file)
        && (globs.is_entry(file) || awaited.binary_search_by(|a| (**a).cmp(file)).is_ok())
}

/// Projects smaller than this always build from their state: a cold build
/// of a few hundred elements costs too little to be worth the switch.
const MOSTLY_MOVED_MIN: usize = 1_000;

/// Fewer summaries than this to encode before a state write are encoded on
/// the calling thread (`io::pool::for_each_mut`).
const ENCODE_INLINE_BELOW: usize = 64;

/// How many of the files holding the most elements are stat'ed before the
/// elements are decoded: when these few hold most of them and moved, the
/// decode is skipped. More would repeat the stat scan's work.
const QUICK_MOVED_FILES: usize = 8;

/// What the head's elements came to, beside the stat scan.
enum HeadElements {
    /// Decoded, with each file's count.
    Decoded(Vec<(String, usize)>, BTreeMap<String, String>),
    /// Not decoded: the few files holding most of them moved.
    MostlyMoved,
}

/// The note of a persisted state that could not be used.
fn discarded_note(reason: &str) -> String {
    format!("persisted state discarded ({reason}): cold build")
}

/// Directories as the head records them, borrowing the session's paths.
fn head_dir_records(
    dirs: &[(String, crate::io::fingerprint::StatKey)],
) -> Vec<persist::HeadDir<'_>> {
    dirs.iter()
        .map(|(path, stat)| persist::HeadDir {
            path: path.as_str().into(),
            stat: *stat,
        })
        .collect()
}

/// The head's directories as the session keeps them.
fn head_dirs(head: &persist::StateHead<'_>) -> Vec<(String, crate::io::fingerprint::StatKey)> {
    head.dirs
        .iter()
        .map(|d| (d.path.to_string(), d.stat))
        .collect()
}
