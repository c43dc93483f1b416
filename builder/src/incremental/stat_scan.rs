//! The stat-only look at the previous build's file table: which files
//! need a read (stat moved, racy, gone) and which are hits — by merging the
//! table with a walk, or, when no directory the last walk listed moved,
//! without listing any directory (`stat_scan_unlisted`).

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::config::Config;
use crate::incremental::persist::{HeadDir, HeadFile, Text};
use crate::io::fingerprint::{self, StatKey};
use crate::io::walk::DirHandle;
use crate::phases::discover::{in_walked_region, split_dir, Globs, KnownFiles};

/// The previous table against the file system, stat only: which files need a
/// look (stat changed, racy, gone, or invalidated) and how many are hits.
pub struct StatScan {
    pub suspects: BTreeSet<String>,
    pub unchanged: u64,
    /// Walked files the table does not have (new, or never part of the build).
    pub unknown: Vec<String>,
    /// Walked include-glob matches the table does not know (they may be
    /// entries already, when they could not be read before).
    pub entries_added: Vec<String>,
    /// Previous entries the walk did not find.
    pub entries_removed: Vec<String>,
    /// Suspects that are gone: their importers resolve those imports afresh.
    pub gone: BTreeSet<String>,
}

pub fn stat_scan(
    config: &Config,
    globs: &Globs,
    previous: &[HeadFile<'_>],
    previous_entries: &[&str],
    known: &KnownFiles,
    racy_after_ns: u128,
) -> StatScan {
    let moved = |before: &StatKey, stat: Option<StatKey>| stat_moved(before, stat, racy_after_ns);
    // Both are sorted by path: one merge, no hashing, no lookups. The
    // globs are the same (the config hash guards the state), so a walked
    // file the table knows is an entry exactly when it was one before; only
    // files new to the table are matched against the globs.
    let mut out = StatScan {
        suspects: BTreeSet::new(),
        unchanged: 0,
        unknown: Vec::new(),
        entries_added: Vec::new(),
        entries_removed: Vec::new(),
        gone: BTreeSet::new(),
    };
    let mut walked = known.stats().iter().peekable();
    let mut unknown = |w: &String| {
        if globs.is_entry_source(w) {
            out.entries_added.push(w.clone());
        }
        out.unknown.push(w.clone());
    };
    for HeadFile {
        path: rel,
        stat: before,
        ..
    } in previous
    {
        let rel: &str = rel;
        while let Some((w, _)) = walked.next_if(|(w, _)| w.as_str() < rel) {
            unknown(w);
        }
        let stat = match walked.next_if(|(w, _)| w == rel) {
            Some((_, Some(stat))) => Some(*stat),
            Some((_, None)) => fingerprint::stat(&config.root_dir.join(rel)).ok(),
            // Outside the walk (above the root, or in a skipped directory).
            None if !known.in_walked_region(rel) => {
                fingerprint::stat(&config.root_dir.join(rel)).ok()
            }
            None => None,
        };
        if stat.is_none() && known.in_walked_region(rel) {
            out.gone.insert(rel.to_owned());
        }
        if moved(before, stat) {
            out.suspects.insert(rel.to_owned());
        } else {
            out.unchanged += 1;
        }
    }
    for (w, _) in walked {
        unknown(w);
    }
    let mut walked = known.stats().iter().map(|(w, _)| w.as_str()).peekable();
    for &entry in previous_entries {
        while walked.next_if(|w| *w < entry).is_some() {}
        if walked.next_if(|w| *w == entry).is_none() {
            out.entries_removed.push(entry.to_owned());
        }
    }
    out
}

/// A stat that differs from `before`, is gone, or is too recent to trust.
fn stat_moved(before: &StatKey, stat: Option<StatKey>, racy_after_ns: u128) -> bool {
    stat.is_none_or(|s| s != *before || s.mtime_ns >= racy_after_ns)
}

/// [`stat_scan`] without listing a directory: when every directory the
/// last walk listed still has the stat it had then (older than the racy
/// window), no entry was added, removed or renamed in any of them, so the
/// table's files are all there is to look at. Each is stat'ed relative to
/// its directory's handle. `None` when a directory moved, or a file's
/// directory was never listed: then the walk must look.
pub fn stat_scan_unlisted(
    config: &Config,
    dirs: &[HeadDir<'_>],
    files: &[HeadFile<'_>],
    unread_entries: &[Text<'_>],
    racy_after_ns: u128,
) -> Option<StatScan> {
    if dirs.is_empty() {
        return None;
    }
    let handles: Vec<DirHandle> = dirs
        .par_iter()
        .map(|dir| {
            let handle = DirHandle::open(&config.root_dir.join(&*dir.path)).ok()?;
            let stat = handle.stat_self().ok();
            (!stat_moved(&dir.stat, stat, racy_after_ns)).then_some(handle)
        })
        .collect::<Option<_>>()?;
    let outdir_rel = config.relative(&config.outdir);
    // Per file: `Some(None)` when unmoved, `Some(Some(gone))` for a suspect,
    // `None` when its directory was never listed. Only suspects are kept.
    let looked: Vec<(usize, bool)> = files
        .par_iter()
        .enumerate()
        .with_min_len(64)
        .with_max_len(256)
        .filter_map(|(i, file)| {
            let (parent, name) = split_dir(&file.path);
            let stat = match dirs.binary_search_by(|d| (*d.path).cmp(parent)) {
                // Followed: a symlink counts by its target, as the walk took it.
                Ok(d) => handles[d].stat(name, true).ok().map(|s| s.stat),
                Err(_) if in_walked_region(&file.path, &outdir_rel) => return Some(None),
                Err(_) => fingerprint::stat(&config.root_dir.join(&*file.path)).ok(),
            };
            stat_moved(&file.stat, stat, racy_after_ns).then_some(Some((i, stat.is_none())))
        })
        .collect::<Option<_>>()?;
    // The unread entries are still there (their directories did not move):
    // they are looked at as a walk would find them.
    let unread: Vec<String> = unread_entries.iter().map(|e| e.to_string()).collect();
    let mut out = StatScan {
        suspects: BTreeSet::new(),
        unchanged: (files.len() - looked.len()) as u64,
        unknown: unread.clone(),
        entries_added: unread,
        entries_removed: Vec::new(),
        gone: BTreeSet::new(),
    };
    for (i, gone) in looked {
        let path = files[i].path.to_string();
        if gone {
            // Vanished since its directory was checked.
            out.gone.insert(path.clone());
        }
        out.suspects.insert(path);
    }
    Some(out)
}
