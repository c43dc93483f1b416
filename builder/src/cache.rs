//! The persisted session state under the cache directory.
//!
//! Layout: `<cache_dir>/state.bin` (header + postcard payload + checksum),
//! `<cache_dir>/artifact.json` (by default), `<cache_dir>/lock` (held while a
//! build reads and writes the state, so two processes never interleave).
//! Any header mismatch discards the state (a cold build, one info line); a
//! truncated or corrupt file fails its checksum and is discarded with a
//! warning — never a panic.

use std::fs::File;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::analyze::ANALYZER_VERSION;
use crate::artifact::{write_atomic_with, Durability};
use crate::config::Config;
use crate::session::SessionState;

pub const STATE_FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"SODASTAT";
pub const STATE_FILE: &str = "state.bin";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheHeader {
    pub format_version: u32,
    pub analyzer_version: u32,
    pub builder_version: String,
    pub schema_hash: u64,
    pub options_hash: u64,
}

pub struct PersistedState {
    pub header: CacheHeader,
    pub state: SessionState,
}

pub enum CacheLoad {
    Loaded(Box<PersistedState>),
    Missing,
    /// Why the state was not used (version, schema, config, corruption).
    Discarded(String),
}

pub fn state_path(config: &Config) -> PathBuf {
    config.cache_dir.join(STATE_FILE)
}

fn expected_header(config: &Config, schema_hash: u64) -> CacheHeader {
    CacheHeader {
        format_version: STATE_FORMAT_VERSION,
        analyzer_version: ANALYZER_VERSION,
        builder_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_hash,
        options_hash: config.options_hash(),
    }
}

/// Encodes as: magic, u32 header length, header, u64 payload length, payload,
/// u64 xxh3 checksum of everything before it.
pub fn encode(header: &CacheHeader, state: &SessionState) -> Result<Vec<u8>, postcard::Error> {
    let header_bytes = postcard::to_allocvec(header)?;
    let payload = postcard::to_allocvec(state)?;
    let mut out = Vec::with_capacity(payload.len() + header_bytes.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    let checksum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(out)
}

pub fn decode(bytes: &[u8]) -> Result<(CacheHeader, &[u8]), String> {
    if bytes.len() < MAGIC.len() + 4 + 8 + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a state file (bad magic or truncated)".into());
    }
    let (body, checksum) = bytes.split_at(bytes.len() - 8);
    let checksum = u64::from_le_bytes(checksum.try_into().map_err(|_| "truncated")?);
    if xxhash_rust::xxh3::xxh3_64(body) != checksum {
        return Err("checksum mismatch (truncated or corrupt file)".into());
    }
    let mut at = MAGIC.len();
    let header_len =
        u32::from_le_bytes(body[at..at + 4].try_into().map_err(|_| "truncated")?) as usize;
    at += 4;
    let header_bytes = body.get(at..at + header_len).ok_or("truncated header")?;
    let header: CacheHeader =
        postcard::from_bytes(header_bytes).map_err(|e| format!("unreadable header: {e}"))?;
    at += header_len;
    let payload_len = u64::from_le_bytes(
        body.get(at..at + 8)
            .ok_or("truncated")?
            .try_into()
            .map_err(|_| "truncated")?,
    ) as usize;
    at += 8;
    let payload = body.get(at..at + payload_len).ok_or("truncated payload")?;
    Ok((header, payload))
}

pub fn load_state(config: &Config, schema_hash: u64) -> CacheLoad {
    let path = state_path(config);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return CacheLoad::Missing,
        Err(e) => return CacheLoad::Discarded(format!("cannot read {}: {e}", path.display())),
    };
    let (header, payload) = match decode(&bytes) {
        Ok(v) => v,
        Err(reason) => {
            return CacheLoad::Discarded(format!("warning: {}: {reason}", path.display()))
        }
    };
    let expected = expected_header(config, schema_hash);
    if header.format_version != expected.format_version {
        return CacheLoad::Discarded(format!(
            "state format {} (expected {})",
            header.format_version, expected.format_version
        ));
    }
    if header.analyzer_version != expected.analyzer_version
        || header.builder_version != expected.builder_version
    {
        return CacheLoad::Discarded(format!(
            "written by analyzer {} / builder {} (now {} / {})",
            header.analyzer_version,
            header.builder_version,
            expected.analyzer_version,
            expected.builder_version
        ));
    }
    if header.schema_hash != expected.schema_hash {
        return CacheLoad::Discarded("the schema changed".into());
    }
    if header.options_hash != expected.options_hash {
        return CacheLoad::Discarded("the config changed".into());
    }
    match postcard::from_bytes::<SessionState>(payload) {
        Ok(state) => CacheLoad::Loaded(Box::new(PersistedState { header, state })),
        Err(e) => CacheLoad::Discarded(format!(
            "warning: {}: undecodable payload: {e}",
            path.display()
        )),
    }
}

pub fn save_state(config: &Config, schema_hash: u64, state: &SessionState) -> std::io::Result<()> {
    let bytes =
        encode(&expected_header(config, schema_hash), state).map_err(std::io::Error::other)?;
    write_atomic_with(&state_path(config), &bytes, Durability::Unsynced)
}

/// Removes the persisted state (and everything else under the cache directory).
pub fn clear_cache(config: &Config) -> std::io::Result<()> {
    match std::fs::remove_dir_all(&config.cache_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// An exclusive lock on `<cache_dir>/lock`, released on drop. Two builder
/// processes on one project take turns instead of interleaving writes.
pub struct CacheLock {
    _file: File,
}

pub fn lock(config: &Config) -> std::io::Result<CacheLock> {
    std::fs::create_dir_all(&config.cache_dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.cache_dir.join("lock"))?;
    file.lock()?;
    Ok(CacheLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> CacheHeader {
        CacheHeader {
            format_version: STATE_FORMAT_VERSION,
            analyzer_version: ANALYZER_VERSION,
            builder_version: "x".into(),
            schema_hash: 1,
            options_hash: 2,
        }
    }

    #[test]
    fn round_trip_and_corruption_detected() {
        let bytes = encode(&header(), &SessionState::default()).unwrap();
        let (h, payload) = decode(&bytes).unwrap();
        assert_eq!(h, header());
        assert!(postcard::from_bytes::<SessionState>(payload).is_ok());
        // Truncated.
        assert!(decode(&bytes[..bytes.len() - 3]).is_err());
        // One flipped byte.
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(decode(&flipped).unwrap_err().contains("checksum"));
        assert!(decode(b"garbage").is_err());
    }
}
