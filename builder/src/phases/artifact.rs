//! The artifact: one JSON file shaped after soda-gql's pre-built artifact,
//! with deterministic key order, written atomically (temp file + rename).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::io::fingerprint::StatKey;
use crate::phases::discover::{CacheStats, FileCounts};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    pub version: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

/// How the artifact was built. Not part of the incremental == clean invariant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    #[serde(rename = "durationMs")]
    pub duration_ms: f64,
    pub warnings: Vec<String>,
    pub stats: CacheStats,
    pub phases: BTreeMap<String, f64>,
    pub files: FileCounts,
    /// Definitions whose resolution or document was recomputed by this build.
    pub recomputed: RecomputedCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecomputedCounts {
    pub definitions: u64,
    pub resolved: u64,
    pub compiled: u64,
}

/// Elements are kept as their final JSON text (sorted keys), so writing the
/// artifact is concatenation and an incremental build only re-serialises what
/// changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub meta: ArtifactMeta,
    /// Shared with the session that built it (copy-on-write there).
    pub elements: Arc<BTreeMap<String, String>>,
    pub report: BuildReport,
}

/// Elements added, updated and removed between two artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderArtifactDelta {
    pub added: BTreeMap<String, String>,
    pub updated: BTreeMap<String, String>,
    pub removed: Vec<String>,
}

impl BuilderArtifactDelta {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }

    /// The delta as JSON with the element texts embedded as JSON values.
    pub fn to_json(&self) -> String {
        let section = |m: &BTreeMap<String, String>| -> String {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("    {}: {}", json_string(k), v))
                .collect();
            if items.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{\n{}\n  }}", items.join(",\n"))
            }
        };
        let removed: Vec<String> = self.removed.iter().map(|r| json_string(r)).collect();
        format!(
            "{{\n  \"added\": {},\n  \"removed\": [{}],\n  \"updated\": {}\n}}\n",
            section(&self.added),
            removed.join(", "),
            section(&self.updated)
        )
    }
}

pub fn compute_artifact_delta(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> BuilderArtifactDelta {
    let mut delta = BuilderArtifactDelta::default();
    for (id, element) in new {
        match old.get(id) {
            None => {
                delta.added.insert(id.clone(), element.clone());
            }
            Some(previous) if previous != element => {
                delta.updated.insert(id.clone(), element.clone());
            }
            Some(_) => {}
        }
    }
    delta.removed = old
        .keys()
        .filter(|id| !new.contains_key(*id))
        .cloned()
        .collect();
    delta
}

pub fn apply_artifact_delta(elements: &mut BTreeMap<String, String>, delta: &BuilderArtifactDelta) {
    for id in &delta.removed {
        elements.remove(id);
    }
    for (id, element) in delta.added.iter().chain(&delta.updated) {
        elements.insert(id.clone(), element.clone());
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

impl Artifact {
    /// The `elements` object alone: what the incremental == clean invariant compares.
    pub fn elements_json(&self) -> String {
        let mut out = String::with_capacity(self.elements_json_len());
        self.push_elements_json(&mut out);
        out
    }

    /// An upper bound of the `elements` object's length (ids escape to at
    /// most six bytes a character only with control characters; an
    /// undershoot costs one reallocation, not correctness).
    fn elements_json_len(&self) -> usize {
        self.elements
            .iter()
            .map(|(id, element)| id.len() + element.len() + 10)
            .sum::<usize>()
            + 8
    }

    fn push_elements_json(&self, out: &mut String) {
        if self.elements.is_empty() {
            out.push_str("{}");
            return;
        }
        out.push_str("{\n");
        let mut first = true;
        for (id, element) in self.elements.iter() {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            out.push_str("    ");
            out.push_str(&json_string(id));
            out.push_str(": ");
            out.push_str(element);
        }
        out.push_str("\n  }");
    }

    /// The artifact file's text, built in one buffer sized up front: it is
    /// the one large allocation of a build that changes nothing.
    pub fn to_json(&self) -> String {
        let meta = serde_json::to_string(&self.meta).unwrap_or_default();
        let report = serde_json::to_string(&self.report).unwrap_or_default();
        let mut out =
            String::with_capacity(self.elements_json_len() + meta.len() + report.len() + 64);
        out.push_str("{\n  \"elements\": ");
        self.push_elements_json(&mut out);
        out.push_str(",\n  \"meta\": ");
        out.push_str(&meta);
        out.push_str(",\n  \"report\": ");
        out.push_str(&report);
        out.push_str("\n}\n");
        out
    }

    /// Writes the artifact file; returns its stat (a later build that finds
    /// the same stat knows the file is still this one).
    pub fn write(&self, path: &Path) -> std::io::Result<StatKey> {
        write_atomic_with(path, self.to_json().as_bytes(), Durability::Unsynced)
    }
}

impl Artifact {
    /// xxh3 over what the artifact file says about the sources: every
    /// element and every warning. Equal hashes mean equal files but for
    /// `meta.createdAt` and the rest of `report`.
    pub fn content_hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for (id, element) in self.elements.iter() {
            hasher.update(id.as_bytes());
            hasher.update(&[0]);
            hasher.update(element.as_bytes());
            hasher.update(&[0]);
        }
        hasher.update(&[1]);
        for warning in &self.report.warnings {
            hasher.update(warning.as_bytes());
            hasher.update(&[0]);
        }
        hasher.digest()
    }
}

/// Which artifact file a build wrote last, and with what content: kept in
/// the cache directory (`artifact.stamp`) by every build that writes the
/// artifact. A build whose content hash matches, and that finds the file
/// with the stamped stat (a rename makes a new inode), leaves the file
/// alone instead of rewriting the same elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactStamp {
    pub path: std::path::PathBuf,
    pub stat: StatKey,
    pub content_hash: u64,
}

const STAMP_MAGIC: &[u8; 8] = b"SODAART1";
pub const STAMP_FILE: &str = "artifact.stamp";

impl ArtifactStamp {
    /// The stamp at `stamp_path`, or `None` when it is missing, of another
    /// format or corrupt (then the artifact is simply written again).
    pub fn read(stamp_path: &Path) -> Option<ArtifactStamp> {
        let bytes = std::fs::read(stamp_path).ok()?;
        let payload = bytes.strip_prefix(STAMP_MAGIC.as_slice())?;
        let (payload, checksum) = payload.split_at_checked(payload.len().checked_sub(8)?)?;
        if xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes() != checksum {
            return None;
        }
        postcard::from_bytes(payload).ok()
    }

    pub fn write(&self, stamp_path: &Path) -> std::io::Result<()> {
        let payload = postcard::to_allocvec(self).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(STAMP_MAGIC.len() + payload.len() + 8);
        bytes.extend_from_slice(STAMP_MAGIC);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&payload).to_le_bytes());
        write_atomic_with(stamp_path, &bytes, Durability::Unsynced).map(|_| ())
    }

    /// The artifact at `path` holds `content_hash` as this stamp wrote it.
    pub fn vouches_for(&self, path: &Path, content_hash: u64) -> bool {
        self.path == path
            && self.content_hash == content_hash
            && crate::io::fingerprint::stat(path).is_ok_and(|stat| stat.same_as_written(&self.stat))
    }
}

/// Writes `bytes` to a temp file beside `path`, fsyncs it and renames it over
/// `path`, so readers never see a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, bytes, Durability::Synced).map(|_| ())
}

/// Whether a write waits for the data to reach the disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync, then rename: survives a power cut.
    Synced,
    /// Rename without fsync: still never a half-written file for a reader,
    /// but a power cut may lose it. For what every build rewrites or
    /// verifies anyway (the artifact, the checksummed state):
    /// an fsync cost 5–80 ms here, more than a whole warm build.
    Unsynced,
}

/// [`write_atomic`] with a choice of durability. Returns the written file's
/// stat, taken from the temp file's handle (a rename keeps size, mtime and
/// inode).
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> std::io::Result<StatKey> {
    write_via_temp(path, bytes, durability, true, |file| {
        Ok(StatKey::from_metadata(&file.metadata()?))
    })
}

/// [`write_atomic`] for one of many small files: not synced, not
/// preallocated, no stat taken.
pub fn write_atomic_small(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, bytes, Durability::Unsynced, false, |_| Ok(()))
}

/// Writes a temp file beside `path` (preallocated if asked), hands it to
/// `finish`, and renames it over `path`.
fn write_via_temp<T>(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
    preallocated: bool,
    finish: impl FnOnce(&std::fs::File) -> std::io::Result<T>,
) -> std::io::Result<T> {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", PID.get_or_init(std::process::id)));
    // The directory is made only when it is missing (one failed create),
    // not looked up before every file.
    let mut file = match std::fs::File::create(&tmp) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            std::fs::File::create(&tmp)?
        }
        created => created?,
    };
    let result = (|| {
        if preallocated {
            preallocate(&file, bytes.len());
        }
        file.write_all(bytes)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        let finished = finish(&file)?;
        std::fs::rename(&tmp, path)?;
        Ok(finished)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes the temp files (`.<name>.<pid>.tmp`, what [`write_atomic_with`]
/// writes before its rename) in `dir` whose process is no longer running:
/// a `kill -9` mid-write left a 3.5 MB `.state.bin.<pid>.tmp` per kill that
/// no later build removed. A live process's file (a concurrent build) is
/// left alone; so is a file whose process cannot be told apart from a live
/// one (its pid reused). Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let own = std::process::id();
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            name.to_str()
                .and_then(temp_owner)
                .is_some_and(|pid| pid != own && !process_alive(pid))
        })
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

/// The pid in a temp file's name `.<name>.<pid>.tmp`.
fn temp_owner(name: &str) -> Option<u32> {
    let stem = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, pid) = stem.rsplit_once('.')?;
    pid.parse().ok()
}

/// Whether a process with this pid runs (on Linux: `/proc/<pid>` exists;
/// elsewhere every pid counts as running, and nothing is removed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Reserves a new file's blocks before it is written. ext4 then has no
/// delayed allocation to force out when the rename replaces an existing file
/// (`auto_da_alloc`): that flush made the rename cost ~3× as long here.
/// Best effort: a file system without `fallocate` just skips it.
#[cfg(target_os = "linux")]
fn preallocate(file: &std::fs::File, len: usize) {
    if len > 0 {
        let _ = rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len as u64);
    }
}

#[cfg(not(target_os = "linux"))]
fn preallocate(_: &std::fs::File, _: usize) {}

/// RFC 3339 UTC timestamp of now, without a date-time dependency.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_round_trips() {
        let old: BTreeMap<String, String> = [("a", "1"), ("b", "2"), ("c", "3")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let new: BTreeMap<String, String> = [("a", "1"), ("b", "20"), ("d", "4")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let delta = compute_artifact_delta(&old, &new);
        assert_eq!(delta.removed, vec!["c"]);
        assert_eq!(delta.updated.len(), 1);
        assert_eq!(delta.added.len(), 1);
        let mut applied = old.clone();
        apply_artifact_delta(&mut applied, &delta);
        assert_eq!(applied, new);
        let json: serde_json::Value = serde_json::from_str(&delta.to_json()).unwrap();
        assert_eq!(json["updated"]["b"], 20);
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dead = u32::MAX - 1;
        let own = std::process::id();
        let names = [
            format!(".state.bin.{dead}.tmp"),
            format!(".artifact.json.{dead}.tmp"),
            format!(".state.bin.{own}.tmp"),
            "state.bin".to_owned(),
            ".notes.tmp".to_owned(),
        ];
        for name in &names {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        assert_eq!(remove_stale_temps(dir.path()), 2);
        for name in &names[2..] {
            assert!(dir.path().join(name).exists(), "{name} kept");
        }
        assert_eq!(temp_owner(".a.b.12.tmp"), Some(12));
    }

    #[test]
    fn timestamp_shape() {
        let ts = now_rfc3339();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/artifact.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
