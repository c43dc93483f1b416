//! Chunks: the artifact's `elements` split by source file, so a rebuild only
//! re-renders and rewrites the files that changed and the artifact is a splice
//! of persisted pieces.
//!
//! Planning and diffing are pure; the IO (persisting chunk outputs under the
//! cache directory) is kept together at the bottom of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use xxhash_rust::xxh3::xxh3_64;

use crate::artifact::{write_atomic_with, Durability};

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
// IO: persisted chunk outputs.
// ---------------------------------------------------------------------------

/// Subdirectory of the cache directory holding chunk outputs.
pub const CHUNK_DIR: &str = "chunks";

const MAGIC: &[u8; 8] = b"SODACHNK";
const HEADER_LEN: usize = MAGIC.len() + 8 + 4;

#[derive(Debug, Error)]
pub enum ChunkError {
    #[error("chunk output {path} is missing")]
    Missing { path: PathBuf },
    #[error("chunk output {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot read chunk output {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Named by a hash of the file path, so any path maps to one flat, safe name.
pub fn chunk_output_path(cache_dir: &Path, file: &str) -> PathBuf {
    cache_dir
        .join(CHUNK_DIR)
        .join(format!("{:016x}.chunk", xxh3_64(file.as_bytes())))
}

/// File format: magic b"SODACHNK", u64 LE output_hash, u32 LE len of file
/// path, path bytes, then the output bytes. Written atomically (no fsync: a damaged chunk fails its hash and is re-emitted).
///
/// The path is stored because two files could share a name hash; the read
/// side checks it. Refuses (InvalidInput) an output whose hash is not
/// `chunk.output_hash`, as such a file could never be read back.
pub fn write_chunk_output(cache_dir: &Path, chunk: &Chunk, output: &[u8]) -> std::io::Result<()> {
    let hash = xxh3_64(output);
    if hash != chunk.output_hash {
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
    let mut bytes = Vec::with_capacity(HEADER_LEN + chunk.file.len() + output.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&hash.to_le_bytes());
    bytes.extend_from_slice(&path_len.to_le_bytes());
    bytes.extend_from_slice(chunk.file.as_bytes());
    bytes.extend_from_slice(output);
    write_atomic_with(
        &chunk_output_path(cache_dir, &chunk.file),
        &bytes,
        Durability::Unsynced,
    )
    .map(|_| ())
}

/// Reads and verifies: magic, path equals chunk.file, xxh3 of the output
/// bytes equals chunk.output_hash and the header's hash. Never panics on
/// truncated or garbage files: every problem is a [`ChunkError`].
pub fn read_chunk_output(cache_dir: &Path, chunk: &Chunk) -> Result<Vec<u8>, ChunkError> {
    let path = chunk_output_path(cache_dir, &chunk.file);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(ChunkError::Missing { path });
        }
        Err(source) => return Err(ChunkError::Io { path, source }),
    };
    match parse_chunk_file(&bytes, chunk) {
        Ok(output) => Ok(output.to_vec()),
        Err(reason) => Err(ChunkError::Corrupt {
            path,
            reason: reason.to_owned(),
        }),
    }
}

/// The output bytes of a chunk file, or why it cannot be trusted.
fn parse_chunk_file<'b>(bytes: &'b [u8], chunk: &Chunk) -> Result<&'b [u8], &'static str> {
    let (magic, rest) = bytes.split_first_chunk::<8>().ok_or("truncated header")?;
    if magic != MAGIC {
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

/// Writes every chunk in `diff.to_emit()` (from `outputs`) and deletes the
/// files of `diff.removed`; returns how many were written. Unchanged chunks
/// are not touched: their files are already right.
///
/// A chunk to emit that is missing from `manifest` or `outputs` is an
/// InvalidInput error (nothing is written then). A missing file on delete is
/// fine.
/// Files of the manifest whose chunk output file is gone (someone cleaned
/// part of the cache directory): one listing of the chunk directory.
pub fn missing_outputs<F: std::ops::Deref<Target = str>>(
    cache_dir: &Path,
    files: &[F],
) -> Vec<String> {
    if files.is_empty() {
        return Vec::new();
    }
    let dir = cache_dir.join(CHUNK_DIR);
    let present: std::collections::HashSet<std::ffi::OsString> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    files
        .iter()
        .filter(|file| {
            chunk_output_path(cache_dir, file)
                .file_name()
                .is_none_or(|name| !present.contains(name))
        })
        .map(|file| file.to_string())
        .collect()
}

pub fn emit_chunks(
    cache_dir: &Path,
    manifest: &ChunkManifest,
    diff: &ChunkManifestDiff,
    outputs: &BTreeMap<String, Vec<u8>>,
) -> std::io::Result<usize> {
    let mut work: Vec<(&Chunk, &[u8])> = Vec::new();
    for file in diff.to_emit() {
        let (Some(chunk), Some(output)) = (manifest.chunks.get(file), outputs.get(file)) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no planned chunk output for {file}"),
            ));
        };
        work.push((chunk, output));
    }
    work.par_iter()
        .with_max_len(4)
        .try_for_each(|(chunk, output)| write_chunk_output(cache_dir, chunk, output))?;
    for file in &diff.removed {
        match std::fs::remove_file(chunk_output_path(cache_dir, file)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(work.len())
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

    fn one_chunk(name: &'static str) -> (Chunk, Vec<u8>) {
        let (manifest, mut outputs) = plan(&[file(name, 1, &[("q", Some(r#"{"k":"v"}"#))])]);
        let chunk = manifest.chunks[name].clone();
        let output = outputs.remove(name).unwrap();
        (chunk, output)
    }

    #[test]
    fn write_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (chunk, output) = one_chunk("src/a.ts");
        write_chunk_output(dir.path(), &chunk, &output).unwrap();
        let path = chunk_output_path(dir.path(), "src/a.ts");
        assert!(path.starts_with(dir.path().join(CHUNK_DIR)));
        assert_eq!(path.file_name().unwrap().len(), 16 + ".chunk".len());
        assert_eq!(read_chunk_output(dir.path(), &chunk).unwrap(), output);
    }

    #[test]
    fn write_refuses_output_that_does_not_match_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let (chunk, _) = one_chunk("a.ts");
        let err = write_chunk_output(dir.path(), &chunk, b"other").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(!chunk_output_path(dir.path(), "a.ts").exists());
    }

    fn corrupt_reason(result: Result<Vec<u8>, ChunkError>) -> String {
        match result {
            Err(ChunkError::Corrupt { reason, .. }) => reason,
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn damaged_files_give_the_right_error() {
        let dir = tempfile::tempdir().unwrap();
        let (chunk, output) = one_chunk("a.ts");
        let path = chunk_output_path(dir.path(), "a.ts");

        assert!(matches!(
            read_chunk_output(dir.path(), &chunk),
            Err(ChunkError::Missing { .. })
        ));

        write_chunk_output(dir.path(), &chunk, &output).unwrap();
        let good = std::fs::read(&path).unwrap();

        // Every truncation, including inside the header, is Corrupt.
        for len in 0..good.len() {
            std::fs::write(&path, &good[..len]).unwrap();
            corrupt_reason(read_chunk_output(dir.path(), &chunk));
        }

        // Every single flipped byte is caught.
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            corrupt_reason(read_chunk_output(dir.path(), &chunk));
        }

        // A huge declared path length does not panic.
        let mut bad = good.clone();
        bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(
            corrupt_reason(read_chunk_output(dir.path(), &chunk)),
            "truncated path"
        );

        // A file written for another chunk (e.g. a name-hash collision).
        std::fs::write(&path, &good).unwrap();
        let mut other = chunk.clone();
        other.file = "b.ts".to_owned();
        std::fs::copy(&path, chunk_output_path(dir.path(), "b.ts")).unwrap();
        assert_eq!(
            corrupt_reason(read_chunk_output(dir.path(), &other)),
            "belongs to another file"
        );

        // A stale file from an older manifest.
        let mut newer = chunk.clone();
        newer.output_hash ^= 1;
        assert_eq!(
            corrupt_reason(read_chunk_output(dir.path(), &newer)),
            "header hash differs from the manifest"
        );

        std::fs::write(&path, b"garbage").unwrap();
        assert_eq!(
            corrupt_reason(read_chunk_output(dir.path(), &chunk)),
            "truncated header"
        );
        std::fs::write(&path, b"NOTACHNK and then some more bytes").unwrap();
        assert_eq!(
            corrupt_reason(read_chunk_output(dir.path(), &chunk)),
            "bad magic"
        );
    }

    #[test]
    fn emit_writes_only_changed_chunks_and_deletes_removed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path();
        let (first, first_outputs) = plan(&[
            file("keep.ts", 1, &[("q", Some("1"))]),
            file("edit.ts", 1, &[("q", Some("1"))]),
            file("drop.ts", 1, &[("q", Some("1"))]),
        ]);
        let diff = diff_chunk_manifests(&ChunkManifest::default(), &first);
        assert_eq!(
            emit_chunks(cache, &first, &diff, &first_outputs).unwrap(),
            3
        );
        for chunk in first.chunks.values() {
            assert_eq!(
                read_chunk_output(cache, chunk).unwrap(),
                first_outputs[&chunk.file]
            );
        }

        // A sentinel in the unchanged chunk's file shows whether it is rewritten.
        let keep_path = chunk_output_path(cache, "keep.ts");
        std::fs::write(&keep_path, b"sentinel").unwrap();

        let (second, second_outputs) = plan(&[
            file("keep.ts", 1, &[("q", Some("1"))]),
            file("edit.ts", 1, &[("q", Some("2"))]),
            file("add.ts", 1, &[("q", Some("1"))]),
        ]);
        let diff = diff_chunk_manifests(&first, &second);
        assert_eq!(
            emit_chunks(cache, &second, &diff, &second_outputs).unwrap(),
            2
        );
        assert_eq!(std::fs::read(&keep_path).unwrap(), b"sentinel".to_vec());
        assert!(!chunk_output_path(cache, "drop.ts").exists());
        for name in ["edit.ts", "add.ts"] {
            assert_eq!(
                read_chunk_output(cache, &second.chunks[name]).unwrap(),
                second_outputs[name]
            );
        }

        // Deleting an already missing file is fine; nothing to write is 0.
        let diff = ChunkManifestDiff {
            removed: set(&["drop.ts", "never.ts"]),
            ..ChunkManifestDiff::default()
        };
        assert_eq!(
            emit_chunks(cache, &second, &diff, &second_outputs).unwrap(),
            0
        );

        // An emit without its planned output is refused.
        let diff = ChunkManifestDiff {
            added: set(&["ghost.ts"]),
            ..ChunkManifestDiff::default()
        };
        assert_eq!(
            emit_chunks(cache, &second, &diff, &second_outputs)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}
