//! The walk's file-system primitives: a directory is opened once, listed
//! into one reused buffer (one `getdents64` per buffer on Linux, no
//! allocation per entry), and its files are stat'ed relative to its handle
//! (one path component to look up, no path to build). Elsewhere `std::fs`
//! does the same with paths.

use crate::io::fingerprint::StatKey;

/// What a directory entry is, as the listing says (`Unknown` on file
/// systems that do not fill `d_type`: ask [`DirHandle::stat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
    Unknown,
}

/// A listed entry whose name is UTF-8 (others cannot be read back by a
/// relative path, so the walk skips them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
}

/// A stat and the kind of file it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStat {
    pub stat: StatKey,
    pub kind: EntryKind,
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::Path;

    use rustix::fd::OwnedFd;
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};

    use super::{Entry, EntryKind, EntryStat};
    use crate::io::fingerprint::StatKey;

    #[derive(Debug)]
    pub struct DirHandle {
        fd: OwnedFd,
    }

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::CLOEXEC)
        .union(OFlags::NOFOLLOW);

    fn kind(file_type: FileType) -> EntryKind {
        match file_type {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::Unknown => EntryKind::Unknown,
            _ => EntryKind::Other,
        }
    }

    impl DirHandle {
        pub fn open(path: &Path) -> std::io::Result<DirHandle> {
            let fd = rustix::fs::open(path, DIR_FLAGS, Mode::empty())?;
            Ok(DirHandle { fd })
        }

        pub fn open_child(&self, name: &str, _path: &Path) -> std::io::Result<DirHandle> {
            let fd = rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty())?;
            Ok(DirHandle { fd })
        }

        pub fn entries(&self) -> std::io::Result<Vec<Entry>> {
            // 32 KiB holds ~700 entries of a source tree: big directories
            // take a few calls, small ones one.
            let mut buf: Vec<u8> = Vec::with_capacity(32 * 1024);
            let mut raw = RawDir::new(&self.fd, buf.spare_capacity_mut());
            let mut out = Vec::new();
            while let Some(entry) = raw.next() {
                let entry = entry?;
                let Ok(name) = entry.file_name().to_str() else {
                    continue;
                };
                if name == "." || name == ".." {
                    continue;
                }
                out.push(Entry {
                    name: name.to_owned(),
                    kind: kind(entry.file_type()),
                });
            }
            Ok(out)
        }

        pub fn stat(&self, name: &str, follow: bool) -> std::io::Result<EntryStat> {
            let flags = if follow {
                AtFlags::empty()
            } else {
                AtFlags::SYMLINK_NOFOLLOW
            };
            Ok(entry_stat(&rustix::fs::statat(&self.fd, name, flags)?))
        }

        /// The directory's own stat, from its handle.
        pub fn stat_self(&self) -> std::io::Result<StatKey> {
            Ok(entry_stat(&rustix::fs::fstat(&self.fd)?).stat)
        }

        /// Opens `name` in this directory for reading.
        pub fn open_file(&self, name: &str) -> std::io::Result<std::fs::File> {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())?;
            Ok(std::fs::File::from(fd))
        }
    }

    /// The same numbers `std::fs::Metadata` gives (`StatKey::from_metadata`).
    // The fields' integer types differ between targets.
    #[allow(clippy::unnecessary_fallible_conversions, clippy::useless_conversion)]
    fn entry_stat(st: &rustix::fs::Stat) -> EntryStat {
        let mtime_ns = u128::try_from(st.st_mtime).map_or(0, |secs| {
            secs * 1_000_000_000 + u128::try_from(st.st_mtime_nsec).unwrap_or(0)
        });
        let ctime_ns = u128::try_from(st.st_ctime).map_or(0, |secs| {
            secs * 1_000_000_000 + u128::try_from(st.st_ctime_nsec).unwrap_or(0)
        });
        EntryStat {
            stat: StatKey {
                size: u64::try_from(st.st_size).unwrap_or(0),
                mtime_ns,
                inode: u64::from(st.st_ino),
                ctime_ns,
                mode: u32::from(st.st_mode),
            },
            kind: kind(FileType::from_raw_mode(st.st_mode)),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::path::{Path, PathBuf};

    use super::{Entry, EntryKind, EntryStat};
    use crate::io::fingerprint::StatKey;

    #[derive(Debug)]
    pub struct DirHandle {
        path: PathBuf,
    }

    fn kind(file_type: std::fs::FileType) -> EntryKind {
        if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        }
    }

    impl DirHandle {
        pub fn open(path: &Path) -> std::io::Result<DirHandle> {
            Ok(DirHandle {
                path: path.to_path_buf(),
            })
        }

        pub fn open_child(&self, _name: &str, path: &Path) -> std::io::Result<DirHandle> {
            DirHandle::open(path)
        }

        pub fn entries(&self) -> std::io::Result<Vec<Entry>> {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&self.path)? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let kind = entry.file_type().map_or(EntryKind::Unknown, kind);
                out.push(Entry { name, kind });
            }
            Ok(out)
        }

        pub fn stat(&self, name: &str, follow: bool) -> std::io::Result<EntryStat> {
            let path = self.path.join(name);
            let meta = if follow {
                std::fs::metadata(path)?
            } else {
                std::fs::symlink_metadata(path)?
            };
            Ok(EntryStat {
                stat: StatKey::from_metadata(&meta),
                kind: kind(meta.file_type()),
            })
        }

        /// The directory's own stat.
        pub fn stat_self(&self) -> std::io::Result<StatKey> {
            Ok(StatKey::from_metadata(&std::fs::metadata(&self.path)?))
        }

        /// Opens `name` in this directory for reading.
        pub fn open_file(&self, name: &str) -> std::io::Result<std::fs::File> {
            std::fs::File::open(self.path.join(name))
        }
    }
}

pub use imp::DirHandle;

/// The kind of `name` in `dir`: the listing's, or a stat's when the listing
/// did not say.
pub fn resolve_kind(dir: &DirHandle, entry: &Entry) -> EntryKind {
    match entry.kind {
        EntryKind::Unknown => dir
            .stat(&entry.name, false)
            .map_or(EntryKind::Other, |s| s.kind),
        kind => kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handle's listing and stats agree with `std::fs`: the stats a warm
    /// build compares were taken by other code paths before.
    #[test]
    fn listing_and_stats_agree_with_std() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join("a.ts"), "export {};").expect("write");
        std::fs::create_dir(root.join("sub")).expect("mkdir");
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a.ts"), root.join("link.ts")).expect("symlink");
        let handle = DirHandle::open(root).expect("open");
        let mut names: Vec<(String, EntryKind)> = handle
            .entries()
            .expect("entries")
            .into_iter()
            .map(|e| {
                let kind = resolve_kind(&handle, &e);
                (e.name, kind)
            })
            .collect();
        names.sort();
        let mut expected = vec![
            ("a.ts".to_owned(), EntryKind::File),
            ("sub".to_owned(), EntryKind::Dir),
        ];
        #[cfg(unix)]
        expected.push(("link.ts".to_owned(), EntryKind::Symlink));
        expected.sort();
        assert_eq!(names, expected);
        let stat = handle.stat("a.ts", false).expect("stat");
        assert_eq!(
            stat.stat,
            StatKey::from_metadata(&std::fs::metadata(root.join("a.ts")).expect("meta"))
        );
        #[cfg(unix)]
        assert_eq!(
            handle.stat("link.ts", true).expect("follow").stat,
            stat.stat
        );
        let sub = handle.open_child("sub", &root.join("sub")).expect("child");
        assert!(sub.entries().expect("empty").is_empty());
        assert_eq!(
            sub.stat_self().expect("dir stat"),
            StatKey::from_metadata(&std::fs::metadata(root.join("sub")).expect("meta"))
        );
        assert!(handle.stat("missing.ts", false).is_err());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut handle.open_file("a.ts").expect("open"), &mut text)
            .expect("read");
        assert_eq!(text, "export {};");
    }
}
