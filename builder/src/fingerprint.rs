//! File fingerprints: stat metadata for the no-read fast path, plus an xxh3-64
//! content hash that decides whether a changed stat means a changed file.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What `stat` says about a file. Equal stats mean the file is not read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatKey {
    pub size: u64,
    pub mtime_ns: u128,
    /// 0 where the OS has no inode numbers.
    pub inode: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    pub stat: StatKey,
    pub hash: u64,
}

pub fn stat(path: &Path) -> std::io::Result<StatKey> {
    std::fs::metadata(path).map(|meta| StatKey::from_metadata(&meta))
}

impl StatKey {
    pub fn from_metadata(meta: &std::fs::Metadata) -> StatKey {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        StatKey {
            size: meta.len(),
            mtime_ns,
            inode,
        }
    }
}

/// Reads a file and stats the open handle (what `fs::read` does for its size
/// hint anyway): the stat costs no extra path lookup.
pub fn read_with_stat(path: &Path) -> std::io::Result<(Vec<u8>, StatKey)> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    file.read_to_end(&mut bytes)?;
    Ok((bytes, StatKey::from_metadata(&meta)))
}

pub fn hash_bytes(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}
