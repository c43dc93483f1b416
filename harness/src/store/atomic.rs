//! Durable file writes: atomic replace (temp file + fsync + rename) for
//! baselines, reports and metrics, and fsync'd appends for history.
//!
//! A reader never sees a half-written file: either the old content or the new.
//! An append that was cut short (killed run) leaves a partial last line, which
//! the next append fences off with a newline so that only the partial line is
//! lost, never the next record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temp files of concurrent writers inside one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: parent directories are created, the
/// bytes go to a temp file in the same directory (same filesystem, so the
/// rename is atomic), the temp file is fsync'd, renamed over `path`, and the
/// directory is fsync'd so the rename itself survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )
    })?;
    let dir = parent_dir(path);
    fs::create_dir_all(&dir)?;

    let temp_path = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_and_sync(&temp_path, bytes).and_then(|()| fs::rename(&temp_path, path));
    if let Err(err) = written {
        // Best effort: a leftover temp file is harmless but untidy.
        let _ = fs::remove_file(&temp_path);
        return Err(err);
    }
    sync_dir(&dir)
}

/// An exclusive advisory lock on `<path>.lock`, held until dropped: two
/// `soda-perf` processes appending to one history file or writing one
/// baseline take turns instead of interleaving. The lock file stays (empty);
/// the lock itself dies with the process, so a killed writer never leaves
/// a stale lock behind.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock on `<path>.lock` is ours (parents created).
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock_path = PathBuf::from(name);
        fs::create_dir_all(parent_dir(&lock_path))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok(FileLock { _file: file })
    }
}

/// Appends `line` plus a newline to `path` (created with its parent
/// directories if missing) in a single write, then fsyncs the file.
///
/// If the file does not end with a newline (a previous writer was killed
/// mid-line), a newline is written first so the new line stays intact.
pub fn append_line_durable(path: &Path, line: &str) -> io::Result<()> {
    if line.contains('\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "append_line_durable: the line must not contain a newline",
        ));
    }
    let dir = parent_dir(path);
    fs::create_dir_all(&dir)?;
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;

    let mut buffer = String::with_capacity(line.len() + 2);
    if !ends_with_newline_or_empty(&mut file)? {
        buffer.push('\n');
    }
    buffer.push_str(line);
    buffer.push('\n');
    // One write call: O_APPEND makes it land at the end even with other writers.
    file.write_all(buffer.as_bytes())?;
    file.sync_all()?;
    if !existed {
        sync_dir(&dir)?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_and_sync(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn ends_with_newline_or_empty(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Makes a rename or a file creation in `dir` durable. Directories cannot be
/// opened for syncing on every platform; there it is a no-op.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    #[test]
    fn a_file_lock_excludes_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let first = FileLock::acquire(&path).unwrap();
        let second = OpenOptions::new()
            .write(true)
            .open(dir.path().join("history.jsonl.lock"))
            .unwrap();
        assert!(second.try_lock().is_err(), "the lock is held");
        drop(first);
        assert!(second.try_lock().is_ok(), "released on drop");
    }

    #[test]
    fn write_atomic_creates_parents_and_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.json");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second, longer content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer content");
    }

    #[test]
    fn write_atomic_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.html");
        for i in 0..5 {
            write_atomic(&path, format!("v{i}").as_bytes()).unwrap();
        }
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["out.html".to_string()]);
    }

    #[test]
    fn write_atomic_rejects_a_directory_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // Renaming a file over an existing directory fails and cleans up.
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        assert!(write_atomic(&target, b"x").is_err());
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the directory itself remains");
    }

    #[test]
    fn append_line_durable_appends_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history/m.jsonl");
        append_line_durable(&path, "one").unwrap();
        append_line_durable(&path, "two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "one\ntwo\n");
    }

    #[test]
    fn append_line_durable_fences_off_a_truncated_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        fs::write(&path, "complete\n{\"partial").unwrap();
        append_line_durable(&path, "next").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "complete\n{\"partial\nnext\n"
        );
    }

    #[test]
    fn append_line_durable_rejects_embedded_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let err = append_line_durable(&path, "a\nb").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(!path.exists());
    }
}
