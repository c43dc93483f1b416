//! Chunks: the artifact's `elements` split by source file, so a rebuild only
//! re-renders and rewrites the files that changed and the artifact is a splice
//! of persisted pieces.
//!
//! Planning and diffing are pure; the IO (persisting chunk outputs under the
//! cache directory) is kept together at the bottom of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use xxhash_rust::xxh3::xxh3_64;

use crate::phases::artifact::{write_atomic_with, Durability};

/// What a chunk is planned from: one source file's facts.
pub struct ChunkInput<'a> {
    /// The file's project-relative path, as it prefixes its canonical ids.
    pub file: &'a str,
    /// The file's xxh3.
    pub content_hash: u64,
    /// Resolved project files it imports.
    pub imports: &'a [String],
    /// Its definitions in canonical-id order, with the element JSON each emits
    /// (None: no element, e.g. invalid).
    pub definitions: Vec<(&'a str, Option<&'a str>)>,
}

/// One source file's slice of the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub file: String,
    pub content_hash: u64,
    pub imports: Vec<String>,
    /// Canonical ids of every definition in the file, elements or not.
    pub definitions: Vec<String>,
    /// xxh3 of the emitted output bytes (see [`render_chunk_output`]).
    pub output_hash: u64,
}

/// File → chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkManifest {
    pub chunks: BTreeMap<String, Chunk>,
}

/// The JSON object-member fragment the artifact's `elements` object holds for
/// these ids: `"id":element` for each id with an element, joined by `,`, no
/// braces. Elements are already JSON text, so this is concatenation.
pub fn render_chunk_output(definitions: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for (id, element) in definitions {
        let Some(element) = element else { continue };
        if !out.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(json_string(id).as_bytes());
        out.push(b':');
        out.extend_from_slice(element.as_bytes());
    }
    out
}

fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail; the fallback only keeps this panic-free.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Plans one chunk per file that has definitions (files without definitions
/// get no chunk) and renders each chunk's output. Returns the manifest and
/// file → output bytes.
///
/// Definitions are sorted by id if the caller did not already, because the
/// splice into `elements` relies on id order. A file given twice keeps its
/// last input.
pub fn plan_chunks<'a>(
    inputs: impl IntoIterator<Item = ChunkInput<'a>>,
) -> (ChunkManifest, BTreeMap<String, Vec<u8>>) {
    let mut manifest = ChunkManifest::default();
    let mut outputs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for input in inputs {
        if input.definitions.is_empty() {
            manifest.chunks.remove(input.file);
            outputs.remove(input.file);
            continue;
        }
        let mut definitions = input.definitions;
        if !definitions.is_sorted_by(|a, b| a.0 <= b.0) {
            definitions.sort_by(|a, b| a.0.cmp(b.0));
        }
        let output = render_chunk_output(&definitions);
        let chunk = Chunk {
            file: input.file.to_owned(),
            content_hash: input.content_hash,
            imports: input.imports.to_vec(),
            definitions: definitions.iter().map(|(id, _)| (*id).to_owned()).collect(),
            output_hash: xxh3_64(&output),
        };
        manifest.chunks.insert(chunk.file.clone(), chunk);
        outputs.insert(input.file.to_owned(), output);
    }
    (manifest, outputs)
}

/// The key that orders chunks like their canonical ids (`file::astPath`).
/// Plain file order is not enough when one path is a prefix of another and
/// the next byte sorts before `:`: `a.ts` < `a.ts.bak.ts`, yet
/// `a.ts.bak.ts::q` < `a.ts::q`.
pub fn chunk_sort_key(file: &str) -> String {
    format!("{file}::")
}

/// The manifest's chunks in canonical-id order: splicing their outputs in
/// this order reproduces the sorted `elements` object.
pub fn chunks_in_id_order(manifest: &ChunkManifest) -> Vec<&Chunk> {
    let mut chunks: Vec<(String, &Chunk)> = manifest
        .chunks
        .values()
        .map(|chunk| (chunk_sort_key(&chunk.file), chunk))
        .collect();
    chunks.sort_by(|a, b| a.0.cmp(&b.0));
    chunks.into_iter().map(|(_, chunk)| chunk).collect()
}

/// Splices chunk outputs (in [`chunks_in_id_order`] order) into the
/// `elements` object `{...}`. Skips empty outputs, which a plain join would
/// turn into `,,`.
pub fn splice_chunk_outputs<'a>(outputs: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![b'{'];
    let mut first = true;
    for output in outputs {
        if output.is_empty() {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(output);
    }
    out.push(b'}');
    out
}

/// How two manifests differ, by file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkManifestDiff {
    pub added: BTreeSet<String>,
    pub changed: BTreeSet<String>,
    pub removed: BTreeSet<String>,
    /// How many chunks are equal in both (not listed: they cost nothing).
    pub unchanged: usize,
}

impl ChunkManifestDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// Chunks whose output must be (re)written.
    pub fn to_emit(&self) -> impl Iterator<Item = &String> {
        self.added.iter().chain(self.changed.iter())
    }
}

/// A chunk is changed when its output_hash, content_hash, imports or
/// definitions differ.
pub fn diff_chunk_manifests(old: &ChunkManifest, new: &ChunkManifest) -> ChunkManifestDiff {
    let mut diff = ChunkManifestDiff::default();
    for (file, chunk) in &new.chunks {
        match old.chunks.get(file) {
            None => {
                diff.added.insert(file.clone());
            }
            Some(previous) if previous != chunk => {
                diff.changed.insert(file.clone());
            }
            Some(_) => diff.unchanged += 1,
        }
    }
    for file in old.chunks.keys() {
        if !new.chunks.contains_key(file) {
            diff.removed.insert(file.clone());
        }
    }
    diff
}

// ---------------------------------------------------------------------------
// IO: the chunk pack.
// ---------------------------------------------------------------------------

/// The file under the cache directory that holds every chunk output: a
/// header, then records. A build appends the records of the chunks it
/// re-emits in one write (the state that points at them is written after,
/// atomically, so a crash leaves unreferenced bytes, never a referenced
/// half record); a cold build, and a pack that has become mostly records
/// nothing points at, is written fresh (temp + rename). One file instead of
/// one per source file: creating and renaming ~300 files cost a first build
/// 25–90 ms of file-system metadata here.
pub const PACK_FILE: &str = "chunks.pack";

/// Where states before format 6 kept one file per chunk; a cold build
/// removes it.
pub const LEGACY_CHUNK_DIR: &str = "chunks";

const PACK_MAGIC: &[u8; 8] = b"SODAPACK";
const PACK_VERSION: u32 = 1;
const PACK_HEADER_LEN: u64 = 12;

/// A record: magic, u64 LE output hash, u32 LE path length, the source
/// path, then the output bytes (to the end of its span).
const RECORD_MAGIC: &[u8; 8] = b"SODACHNK";
const RECORD_HEADER_LEN: usize = RECORD_MAGIC.len() + 8 + 4;

/// Unreferenced bytes a pack may carry before it is written fresh, beyond
/// its live records' size.
const GARBAGE_SLACK: u64 = 1 << 20;

/// Where each chunk's record lies in the pack. Kept in the session state
/// beside the manifest, not in it: a cold build must reproduce the manifest
/// exactly, and its records lie elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackIndex {
    /// File → (offset, length) of its record.
    pub spans: BTreeMap<String, (u64, u64)>,
    /// The pack's length as of this index: a shorter file lost records.
    pub len: u64,
    /// Bytes of the records `spans` names; the rest is left by re-emits.
    pub live: u64,
}

#[derive(Debug, Error)]
pub enum ChunkError {
    #[error("chunk output of {file} is missing from {path}")]
    Missing { path: PathBuf, file: String },
    #[error("chunk output of {file} in {path} is corrupt: {reason}")]
    Corrupt {
        path: PathBuf,
        file: String,
        reason: String,
    },
    #[error("cannot read chunk output {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn pack_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join(PACK_FILE)
}

/// Whether the pack on disk still holds the records of an index written
/// at `len` bytes (one stat: a missing or truncated pack does not).
pub fn pack_holds(cache_dir: &Path, len: u64) -> bool {
    len == 0 || std::fs::metadata(pack_path(cache_dir)).is_ok_and(|m| m.len() >= len)
}

/// A pack write, planned: the index it leaves, and the bytes to append (or
/// to write as a fresh pack).
#[derive(Debug)]
pub struct PackWrite {
    pub index: PackIndex,
    bytes: Vec<u8>,
    /// `None`: a fresh pack.
    append_at: Option<u64>,
    /// Records written.
    pub records: usize,
}

fn record(chunk: &Chunk, output: &[u8]) -> std::io::Result<Vec<u8>> {
    if xxh3_64(output) != chunk.output_hash {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "chunk output of {} does not match its manifest hash",
                chunk.file
            ),
        ));
    }
    let path_len = u32::try_from(chunk.file.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "chunk file path is too long",
        )
    })?;
    let mut bytes = Vec::with_capacity(RECORD_HEADER_LEN + chunk.file.len() + output.len());
    bytes.extend_from_slice(RECORD_MAGIC);
    bytes.extend_from_slice(&chunk.output_hash.to_le_bytes());
    bytes.extend_from_slice(&path_len.to_le_bytes());
    bytes.extend_from_slice(chunk.file.as_bytes());
    bytes.extend_from_slice(output);
    Ok(bytes)
}

/// Plans the write of `outputs` (the chunk outputs re-emitted; each must
/// match its manifest hash, or nothing is planned: InvalidInput) and the
/// removal of `removed`. Appends to the pack `old` indexes, unless `fresh`
/// is asked, the pack lost records, or it would carry more unreferenced
/// bytes than live ones: then every chunk of `manifest` goes into a fresh
/// pack, with the outputs `every_output` renders (nothing is read back
/// from a pack that may be damaged).
pub fn plan_pack_write(
    cache_dir: &Path,
    old: &PackIndex,
    manifest: &ChunkManifest,
    outputs: &BTreeMap<String, Vec<u8>>,
    removed: &BTreeSet<String>,
    fresh: bool,
    every_output: impl FnOnce() -> BTreeMap<String, Vec<u8>>,
) -> std::io::Result<PackWrite> {
    if !fresh && outputs.is_empty() && removed.iter().all(|f| !old.spans.contains_key(f)) {
        // Nothing to write, nothing to forget: not even a look at the pack.
        return Ok(PackWrite {
            index: old.clone(),
            bytes: Vec::new(),
            append_at: Some(old.len),
            records: 0,
        });
    }
    let mut index = old.clone();
    for file in removed.iter().chain(outputs.keys()) {
        if let Some((_, len)) = index.spans.remove(file) {
            index.live -= len;
        }
    }
    let mut appended: Vec<u8> = Vec::new();
    let mut spans: Vec<(String, u64, u64)> = Vec::with_capacity(outputs.len());
    for (file, output) in outputs {
        let chunk = manifest.chunks.get(file).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no planned chunk for the output of {file}"),
            )
        })?;
        let bytes = record(chunk, output)?;
        spans.push((file.clone(), appended.len() as u64, bytes.len() as u64));
        appended.extend_from_slice(&bytes);
    }
    let records = spans.len();
    let live_after = index.live + appended.len() as u64;
    // Appended at the file's end: past any bytes a crashed append left.
    let at = std::fs::metadata(pack_path(cache_dir))
        .map(|m| m.len())
        .ok();
    let fresh_with_every_output = || {
        // A cold build re-emits every chunk already.
        if manifest
            .chunks
            .keys()
            .all(|file| outputs.contains_key(file))
        {
            fresh_pack(manifest, outputs, records)
        } else {
            fresh_pack(manifest, &every_output(), records)
        }
    };
    let append_at = match at {
        Some(at) if !fresh && old.len > 0 && at >= old.len => {
            let garbage = at.saturating_sub(PACK_HEADER_LEN + index.live);
            if garbage > live_after + GARBAGE_SLACK {
                return fresh_with_every_output();
            }
            at
        }
        _ => return fresh_with_every_output(),
    };
    for (file, offset, len) in spans {
        index.spans.insert(file, (append_at + offset, len));
    }
    index.live = live_after;
    index.len = append_at + appended.len() as u64;
    Ok(PackWrite {
        index,
        bytes: appended,
        append_at: Some(append_at),
        records,
    })
}

/// Every chunk of `manifest` in a fresh pack, in file order; `records`
/// counts the re-emitted ones.
fn fresh_pack(
    manifest: &ChunkManifest,
    outputs: &BTreeMap<String, Vec<u8>>,
    records: usize,
) -> std::io::Result<PackWrite> {
    let size: usize = outputs
        .values()
        .map(|o| o.len() + RECORD_HEADER_LEN + 64)
        .sum();
    let mut bytes = Vec::with_capacity(PACK_HEADER_LEN as usize + size);
    bytes.extend_from_slice(PACK_MAGIC);
    bytes.extend_from_slice(&PACK_VERSION.to_le_bytes());
    let mut index = PackIndex::default();
    for (file, chunk) in &manifest.chunks {
        let output = outputs.get(file).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no output for the chunk of {file}"),
            )
        })?;
        let start = bytes.len() as u64;
        bytes.extend_from_slice(&record(chunk, output)?);
        let len = bytes.len() as u64 - start;
        index.spans.insert(file.clone(), (start, len));
        index.live += len;
    }
    index.len = bytes.len() as u64;
    Ok(PackWrite {
        index,
        bytes,
        append_at: None,
        records,
    })
}

impl PackWrite {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.append_at.is_some() && self.bytes.is_empty()
    }
}

/// Carries out a planned pack write: one append, or one atomic write of a
/// fresh pack. Not fsynced: a record is verified by its hash when read.
pub fn write_pack(cache_dir: &Path, write: &PackWrite) -> std::io::Result<()> {
    let path = pack_path(cache_dir);
    match write.append_at {
        None => write_atomic_with(&path, &write.bytes, Durability::Unsynced).map(|_| ()),
        Some(_) if write.bytes.is_empty() => Ok(()),
        Some(_) => {
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)?
                .write_all(&write.bytes)
        }
    }
}

/// Reads and verifies one chunk's output: its record in the pack, the path
/// it names, its hash against the record's and the manifest's. Never panics
/// on a truncated or garbled pack: every problem is a [`ChunkError`].
pub fn read_chunk_output(
    cache_dir: &Path,
    index: &PackIndex,
    chunk: &Chunk,
) -> Result<Vec<u8>, ChunkError> {
    use std::io::{Read as _, Seek as _};
    let path = pack_path(cache_dir);
    let corrupt = |reason: &str| ChunkError::Corrupt {
        path: path.clone(),
        file: chunk.file.clone(),
        reason: reason.to_owned(),
    };
    let Some(&(at, len)) = index.spans.get(&chunk.file) else {
        return Err(ChunkError::Missing {
            path: path.clone(),
            file: chunk.file.clone(),
        });
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(ChunkError::Missing {
                path: path.clone(),
                file: chunk.file.clone(),
            })
        }
        Err(source) => return Err(ChunkError::Io { path, source }),
    };
    let mut header = [0u8; PACK_HEADER_LEN as usize];
    if file.read_exact(&mut header).is_err() || &header[..8] != PACK_MAGIC {
        return Err(corrupt("not a chunk pack"));
    }
    if header[8..] != PACK_VERSION.to_le_bytes() {
        return Err(corrupt("a chunk pack of another version"));
    }
    let mut bytes = Vec::new();
    let read = file
        .seek(std::io::SeekFrom::Start(at))
        .and_then(|_| (&mut file).take(len).read_to_end(&mut bytes));
    match read {
        Ok(n) if n as u64 == len => {}
        Ok(_) => return Err(corrupt("truncated record")),
        Err(source) => return Err(ChunkError::Io { path, source }),
    }
    parse_record(&bytes, chunk)
        .map(<[u8]>::to_vec)
        .map_err(corrupt)
}

/// The output bytes of a record, or why it cannot be trusted.
fn parse_record<'b>(bytes: &'b [u8], chunk: &Chunk) -> Result<&'b [u8], &'static str> {
    let (magic, rest) = bytes.split_first_chunk::<8>().ok_or("truncated header")?;
    if magic != RECORD_MAGIC {
        return Err("bad magic");
    }
    let (hash, rest) = rest.split_first_chunk::<8>().ok_or("truncated header")?;
    let (path_len, rest) = rest.split_first_chunk::<4>().ok_or("truncated header")?;
    let header_hash = u64::from_le_bytes(*hash);
    let path_len = usize::try_from(u32::from_le_bytes(*path_len)).map_err(|_| "bad path length")?;
    if rest.len() < path_len {
        return Err("truncated path");
    }
    let (stored_path, output) = rest.split_at(path_len);
    if stored_path != chunk.file.as_bytes() {
        return Err("belongs to another file");
    }
    if header_hash != chunk.output_hash {
        return Err("header hash differs from the manifest");
    }
    if xxh3_64(output) != header_hash {
        return Err("output does not match its hash");
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct File {
        file: &'static str,
        hash: u64,
        imports: Vec<String>,
        defs: Vec<(String, Option<String>)>,
    }

    fn file(file: &'static str, hash: u64, defs: &[(&str, Option<&str>)]) -> File {
        File {
            file,
            hash,
            imports: Vec::new(),
            defs: defs
                .iter()
                .map(|(ast, el)| (format!("{file}::{ast}"), el.map(str::to_owned)))
                .collect(),
        }
    }

    fn plan(files: &[File]) -> (ChunkManifest, BTreeMap<String, Vec<u8>>) {
        plan_chunks(files.iter().map(|f| {
            ChunkInput {
                file: f.file,
                content_hash: f.hash,
                imports: &f.imports,
                definitions: f
                    .defs
                    .iter()
                    .map(|(id, el)| (id.as_str(), el.as_deref()))
                    .collect(),
            }
        }))
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn files_without_definitions_get_no_chunk() {
        let (manifest, outputs) = plan(&[
            file("empty.ts", 1, &[]),
            file("a.ts", 2, &[("q", Some(r#"{"k":1}"#))]),
        ]);
        assert_eq!(
            manifest.chunks.keys().cloned().collect::<Vec<_>>(),
            vec!["a.ts".to_owned()]
        );
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs["a.ts"], br#""a.ts::q":{"k":1}"#.to_vec());
        assert_eq!(
            manifest.chunks["a.ts"].output_hash,
            xxh3_64(&outputs["a.ts"])
        );
    }

    #[test]
    fn definitions_without_elements_are_listed_but_not_rendered() {
        let (manifest, outputs) = plan(&[file(
            "a.ts",
            1,
            &[("x", None), ("y", Some("2")), ("z", None), ("w", Some("3"))],
        )]);
        // Sorted by id even though the input was not.
        assert_eq!(
            manifest.chunks["a.ts"].definitions,
            vec!["a.ts::w", "a.ts::x", "a.ts::y", "a.ts::z"]
        );
        assert_eq!(outputs["a.ts"], br#""a.ts::w":3,"a.ts::y":2"#.to_vec());
    }

    #[test]
    fn diff_detects_added_changed_removed_and_unchanged() {
        let (old, _) = plan(&[
            file("same.ts", 1, &[("q", Some("1"))]),
            file("element.ts", 1, &[("q", Some("1"))]),
            file("content.ts", 1, &[("q", Some("1"))]),
            file("defs.ts", 1, &[("q", Some("1"))]),
            file("gone.ts", 1, &[("q", Some("1"))]),
        ]);
        assert!(diff_chunk_manifests(&old, &old).is_empty());
        assert_eq!(diff_chunk_manifests(&old, &old).unchanged, 5);

        let mut imports = file("imports.ts", 1, &[("q", Some("1"))]);
        let (old_with_imports, _) = plan(&[imports]);
        imports = file("imports.ts", 1, &[("q", Some("1"))]);
        imports.imports = vec!["same.ts".to_owned()];

        let (new, _) = plan(&[
            file("same.ts", 1, &[("q", Some("1"))]),
            file("element.ts", 1, &[("q", Some("2"))]),
            file("content.ts", 2, &[("q", Some("1"))]),
            file("defs.ts", 1, &[("q", Some("1")), ("r", None)]),
            file("new.ts", 1, &[("q", Some("1"))]),
            imports,
        ]);
        assert_ne!(
            old.chunks["element.ts"].output_hash,
            new.chunks["element.ts"].output_hash
        );
        let mut old_all = old.clone();
        old_all.chunks.extend(old_with_imports.chunks);
        let diff = diff_chunk_manifests(&old_all, &new);
        assert_eq!(diff.added, set(&["new.ts"]));
        assert_eq!(
            diff.changed,
            set(&["content.ts", "defs.ts", "element.ts", "imports.ts"])
        );
        assert_eq!(diff.removed, set(&["gone.ts"]));
        assert_eq!(diff.unchanged, 1);
        assert_eq!(
            diff.to_emit().cloned().collect::<BTreeSet<_>>(),
            set(&[
                "new.ts",
                "content.ts",
                "defs.ts",
                "element.ts",
                "imports.ts"
            ])
        );
    }

    /// Keys of a JSON object in document order (serde_json's Map may sort).
    struct OrderedKeys(Vec<String>);

    impl<'de> Deserialize<'de> for OrderedKeys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = OrderedKeys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<OrderedKeys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, _)) = map.next_entry::<String, serde_json::Value>()? {
                        keys.push(key);
                    }
                    Ok(OrderedKeys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }

    #[test]
    fn spliced_chunks_parse_in_sorted_id_order() {
        let files = [
            file("dir/a.ts", 1, &[("q", Some(r#"{"n":"dir"}"#))]),
            file("a.tsx", 1, &[("q", Some("[1,2]")), ("a", Some("null"))]),
            file("a-b.ts", 1, &[("q", Some(r#""s""#))]),
            file(
                "a.ts",
                1,
                &[("q", Some("1")), ("p", Some("true")), ("z", None)],
            ),
            file("none.ts", 1, &[("q", None)]),
            file("a.ts.bak.ts", 1, &[("q", Some("0"))]),
        ];
        let (manifest, outputs) = plan(&files);
        let ordered = chunks_in_id_order(&manifest);

        let joined = ordered
            .iter()
            .map(|c| outputs[&c.file].as_slice())
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>()
            .join(&b","[..]);
        let mut plain = b"{".to_vec();
        plain.extend_from_slice(&joined);
        plain.push(b'}');
        let spliced = splice_chunk_outputs(ordered.iter().map(|c| outputs[&c.file].as_slice()));
        assert_eq!(plain, spliced);

        let keys: OrderedKeys = serde_json::from_slice(&spliced).unwrap();
        let mut expected: Vec<String> = files
            .iter()
            .flat_map(|f| f.defs.iter())
            .filter(|(_, el)| el.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        expected.sort();
        assert_eq!(keys.0, expected);
        // Plain file order would splice `a.ts` before `a.ts.bak.ts`.
        let file_order: Vec<&str> = manifest.chunks.keys().map(String::as_str).collect();
        let id_order: Vec<&str> = ordered.iter().map(|c| c.file.as_str()).collect();
        assert_ne!(file_order, id_order);

        let whole = format!(
            r#"{{"elements":{}}}"#,
            String::from_utf8(spliced.clone()).unwrap()
        );
        let value: serde_json::Value = serde_json::from_str(&whole).unwrap();
        assert_eq!(value["elements"]["dir/a.ts::q"]["n"], "dir");
        assert_eq!(splice_chunk_outputs(std::iter::empty()), b"{}".to_vec());
    }

    fn write(
        cache: &Path,
        old: &PackIndex,
        manifest: &ChunkManifest,
        outputs: &BTreeMap<String, Vec<u8>>,
        removed: &[&str],
        every: &BTreeMap<String, Vec<u8>>,
    ) -> PackWrite {
        let write = plan_pack_write(cache, old, manifest, outputs, &set(removed), false, || {
            every.clone()
        })
        .unwrap();
        write_pack(cache, &write).unwrap();
        write
    }

    /// The first write of a pack: every chunk of `manifest`.
    fn fresh(
        cache: &Path,
        manifest: &ChunkManifest,
        outputs: &BTreeMap<String, Vec<u8>>,
    ) -> PackWrite {
        write(
            cache,
            &PackIndex::default(),
            manifest,
            outputs,
            &[],
            outputs,
        )
    }

    #[test]
    fn a_pack_round_trips_and_appends_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path();
        let (first, first_outputs) = plan(&[
            file("keep.ts", 1, &[("q", Some("1"))]),
            file("edit.ts", 1, &[("q", Some("1"))]),
            file("drop.ts", 1, &[("q", Some("1"))]),
        ]);
        // No pack yet: a fresh one, every chunk in it.
        let written = fresh(cache, &first, &first_outputs);
        assert!(written.append_at.is_none());
        for chunk in first.chunks.values() {
            assert_eq!(
                read_chunk_output(cache, &written.index, chunk).unwrap(),
                first_outputs[&chunk.file]
            );
        }
        let before = std::fs::read(pack_path(cache)).unwrap();
        assert_eq!(written.index.len, before.len() as u64);

        let (second, second_outputs) = plan(&[
            file("keep.ts", 1, &[("q", Some("1"))]),
            file("edit.ts", 1, &[("q", Some("2"))]),
            file("add.ts", 1, &[("q", Some("1"))]),
        ]);
        let changed: BTreeMap<String, Vec<u8>> = ["edit.ts", "add.ts"]
            .iter()
            .map(|f| (f.to_string(), second_outputs[*f].clone()))
            .collect();
        let appended = write(
            cache,
            &written.index,
            &second,
            &changed,
            &["drop.ts"],
            &second_outputs,
        );
        assert_eq!(appended.append_at, Some(before.len() as u64));
        assert_eq!(appended.records, 2);
        let after = std::fs::read(pack_path(cache)).unwrap();
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "what was there is untouched"
        );
        assert_eq!(appended.index.len, after.len() as u64);
        for chunk in second.chunks.values() {
            assert_eq!(
                read_chunk_output(cache, &appended.index, chunk).unwrap(),
                second_outputs[&chunk.file]
            );
        }
        assert!(matches!(
            read_chunk_output(cache, &appended.index, &first.chunks["drop.ts"]),
            Err(ChunkError::Missing { .. })
        ));
        // The superseded and removed records are no longer live.
        let live: u64 = appended.index.spans.values().map(|(_, len)| len).sum();
        assert_eq!(appended.index.live, live);

        // Nothing to write is no write.
        let none = write(
            cache,
            &appended.index,
            &second,
            &BTreeMap::new(),
            &[],
            &second_outputs,
        );
        assert_eq!(none.index, appended.index);
        assert_eq!(std::fs::read(pack_path(cache)).unwrap(), after);
    }

    #[test]
    fn a_pack_that_lost_records_or_gathered_garbage_is_written_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path();
        let big = format!("\"{}\"", "x".repeat(400_000));
        let (manifest, outputs) = plan(&[
            file("a.ts", 1, &[("q", Some(big.as_str()))]),
            file("b.ts", 1, &[("q", Some("1"))]),
        ]);
        let first = fresh(cache, &manifest, &outputs);
        // Truncated (or deleted): appending after it would point past its end.
        let bytes = std::fs::read(pack_path(cache)).unwrap();
        std::fs::write(pack_path(cache), &bytes[..bytes.len() - 1]).unwrap();
        assert!(!pack_holds(cache, first.index.len));
        let only_b: BTreeMap<String, Vec<u8>> =
            [("b.ts".to_string(), outputs["b.ts"].clone())].into();
        let repaired = write(cache, &first.index, &manifest, &only_b, &[], &outputs);
        assert!(repaired.append_at.is_none());
        for chunk in manifest.chunks.values() {
            assert_eq!(
                read_chunk_output(cache, &repaired.index, chunk).unwrap(),
                outputs[&chunk.file]
            );
        }
        // Re-emitting the big chunk appends until the unreferenced bytes
        // outweigh the live ones by the slack; then the pack starts over.
        let only_a: BTreeMap<String, Vec<u8>> =
            [("a.ts".to_string(), outputs["a.ts"].clone())].into();
        let mut index = repaired.index;
        let mut appends = 0;
        loop {
            let next = write(cache, &index, &manifest, &only_a, &[], &outputs);
            index = next.index;
            if next.append_at.is_none() {
                break;
            }
            appends += 1;
            assert!(appends < 10, "never written fresh");
        }
        assert!(appends >= 2, "appended {appends} times first");
        assert_eq!(
            index.len,
            std::fs::read(pack_path(cache)).unwrap().len() as u64
        );
        assert_eq!(index.len, PACK_HEADER_LEN + index.live);
    }

    #[test]
    fn an_output_that_does_not_match_the_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (manifest, _) = plan(&[file("a.ts", 1, &[("q", Some("1"))])]);
        let wrong: BTreeMap<String, Vec<u8>> = [("a.ts".to_string(), b"other".to_vec())].into();
        let err = plan_pack_write(
            dir.path(),
            &PackIndex::default(),
            &manifest,
            &wrong,
            &BTreeSet::new(),
            true,
            || wrong.clone(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(!pack_path(dir.path()).exists());
    }

    /// Every truncation and every flipped byte of a pack is refused when a
    /// chunk is read, by a length, a magic, its path or its hash: never a
    /// panic, never wrong bytes.
    #[test]
    fn every_truncation_and_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path();
        let (manifest, outputs) = plan(&[
            file("a.ts", 1, &[("q", Some(r#"{"k":"v"}"#))]),
            file("b.ts", 1, &[("q", Some("2"))]),
        ]);
        let written = fresh(cache, &manifest, &outputs);
        let good = std::fs::read(pack_path(cache)).unwrap();
        let chunk = &manifest.chunks["b.ts"];
        let (at, len) = written.index.spans["b.ts"];
        let read = |bytes: &[u8]| {
            std::fs::write(pack_path(cache), bytes).unwrap();
            read_chunk_output(cache, &written.index, chunk)
        };
        assert_eq!(read(&good).unwrap(), outputs["b.ts"]);
        for cut in 0..good.len() {
            let result = read(&good[..cut]);
            assert!(result.is_err(), "truncated to {cut}");
        }
        // The bytes of the header and of b's record: any flip is caught.
        for i in (0..PACK_HEADER_LEN as usize).chain(at as usize..(at + len) as usize) {
            let mut flipped = good.clone();
            flipped[i] ^= 0x41;
            assert!(read(&flipped).is_err(), "byte {i} flipped");
        }
        // A record of an older manifest (its hash is not the one expected now).
        std::fs::write(pack_path(cache), &good).unwrap();
        let newer = Chunk {
            output_hash: chunk.output_hash ^ 1,
            ..chunk.clone()
        };
        match read_chunk_output(cache, &written.index, &newer) {
            Err(ChunkError::Corrupt { reason, .. }) => {
                assert_eq!(reason, "header hash differs from the manifest")
            }
            other => panic!("{other:?}"),
        }
        // Another file's record where this one's should be.
        let elsewhere = PackIndex {
            spans: [("b.ts".to_string(), written.index.spans["a.ts"])].into(),
            ..written.index.clone()
        };
        match read_chunk_output(cache, &elsewhere, chunk) {
            Err(ChunkError::Corrupt { reason, .. }) => {
                assert_eq!(reason, "belongs to another file")
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(pack_path(cache)).unwrap();
        assert!(matches!(
            read_chunk_output(cache, &written.index, chunk),
            Err(ChunkError::Missing { .. })
        ));
    }
}
