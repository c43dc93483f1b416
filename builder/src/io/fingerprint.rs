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
    /// Status change time: moved by `chmod` (and every write), which leaves
    /// `mtime` alone. Without it an incremental build kept the old content
    /// of a file made unreadable, where a clean build failed (git's index
    /// keys on ctime for the same reason). 0 where the OS has none.
    pub ctime_ns: u128,
    /// Permission bits and file type; 0 where the OS has none.
    pub mode: u32,
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
    /// Equal but for ctime: what a file we wrote through a temp file and a
    /// rename still shows (the rename moves the inode's ctime, not the
    /// rest).
    pub fn same_as_written(&self, written: &StatKey) -> bool {
        StatKey {
            ctime_ns: written.ctime_ns,
            ..*self
        } == *written
    }

    pub fn from_metadata(meta: &std::fs::Metadata) -> StatKey {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        #[cfg(unix)]
        let (inode, ctime_ns, mode) = {
            use std::os::unix::fs::MetadataExt as _;
            let ctime_ns = u128::try_from(meta.ctime()).map_or(0, |secs| {
                secs * 1_000_000_000 + u128::try_from(meta.ctime_nsec()).unwrap_or(0)
            });
            (meta.ino(), ctime_ns, meta.mode())
        };
        #[cfg(not(unix))]
        let (inode, ctime_ns, mode) = (0, 0, 0);
        StatKey {
            size: meta.len(),
            mtime_ns,
            inode,
            ctime_ns,
            mode,
        }
    }
}

/// Reads a file and stats the open handle (what `fs::read` does for its size
/// hint anyway): the stat costs no extra path lookup. The read is sized by
/// that stat: `File::read_to_end` would stat and seek the handle again for
/// its own size hint, two more system calls per file of a clean build.
pub fn read_with_stat(path: &Path) -> std::io::Result<(Vec<u8>, StatKey)> {
    read_open_with_stat(std::fs::File::open(path)?)
}

/// [`read_with_stat`] of a file already open (by its directory's handle).
pub fn read_open_with_stat(mut file: std::fs::File) -> std::io::Result<(Vec<u8>, StatKey)> {
    use std::io::Read as _;
    let meta = file.metadata()?;
    let expected = usize::try_from(meta.len()).unwrap_or(0);
    // One byte more than the stat says: a regular file's read comes back
    // short only at its end, so one short read is the whole file without a
    // second read to see 0 (a file that grew meanwhile keeps being read).
    let mut bytes = vec![0; expected + 1];
    let mut filled = 0;
    loop {
        if filled == bytes.len() {
            bytes.resize(filled * 2 + 64, 0);
        }
        let wanted = bytes.len() - filled;
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) if n < wanted && meta.is_file() => {
                filled += n;
                break;
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok((bytes, StatKey::from_metadata(&meta)))
}

pub fn hash_bytes(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_with_stat_returns_every_byte_and_the_handle_stat() {
        let dir = tempfile::tempdir().expect("tempdir");
        for len in [0usize, 1, 4095, 4096, 65_537, 1 << 20] {
            let path = dir.path().join(format!("f{len}.ts"));
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &content).expect("write");
            let (bytes, stat) = read_with_stat(&path).expect("read");
            assert_eq!(bytes, content, "length {len}");
            assert_eq!(stat, stat_of(&path), "length {len}");
        }
    }

    fn stat_of(path: &Path) -> StatKey {
        StatKey::from_metadata(&std::fs::metadata(path).expect("metadata"))
    }
}
