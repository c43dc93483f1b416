//! Atomic writes: a temp file beside the target, renamed over it, so a
//! reader never sees half a file; and the clean-up of temp files a killed
//! process left behind.

use std::io::Write as _;
use std::path::Path;

use crate::io::fingerprint::StatKey;

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
    write_via_temp(
        path,
        bytes.len(),
        |file| file.write_all(bytes),
        durability,
        |file| Ok(StatKey::from_metadata(&file.metadata()?)),
    )
}

/// [`write_atomic_with`] for a file too large to build in memory first:
/// `write` streams its `len` bytes into the temp file.
pub fn write_atomic_streamed(
    path: &Path,
    durability: Durability,
    len: usize,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<StatKey> {
    write_via_temp(path, len, write, durability, |file| {
        Ok(StatKey::from_metadata(&file.metadata()?))
    })
}

/// Writes a temp file of `len` bytes (preallocated) beside `path` with
/// `write`, hands it to `finish`, and renames it over `path`.
fn write_via_temp<T>(
    path: &Path,
    len: usize,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    durability: Durability,
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
        preallocate(&file, len);
        write(&mut file)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

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
