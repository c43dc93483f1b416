//! The artifact: one JSON file shaped after soda-gql's pre-built artifact,
//! with deterministic key order, written atomically (temp file + rename).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::io::atomic::{write_atomic_with, Durability};
use crate::io::fingerprint::StatKey;
use crate::report::BuildReport;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    pub version: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
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
    fn timestamp_shape() {
        let ts = now_rfc3339();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z'));
    }
}
