//! `--watch`: turns file events into change sets and feeds them to one
//! long-lived session. Real file watching (notify) with a debouncer that
//! coalesces an editor's burst of events (write temp + rename) into one
//! change set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use crate::config::Config;
use crate::incremental::change::ChangeSet;
use crate::incremental::session::{BuildError, BuildOutput, BuilderSession};
use crate::phases::discover::is_ts_file;

pub enum WatchMessage {
    Events(DebounceEventResult),
    Stop,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {source}")]
    Notify {
        path: PathBuf,
        source: notify::Error,
    },
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Whether a path is worth a rebuild: sources and schema files, not our own
/// outputs or dependency folders.
pub fn is_relevant(config: &Config, path: &Path) -> bool {
    if path.starts_with(&config.cache_dir)
        || path == config.artifact_path
        || path.starts_with(&config.outdir)
    {
        return false;
    }
    let rel = PathBuf::from(config.relative(path));
    if rel.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("node_modules" | ".git" | ".cache" | "target")
        )
    }) {
        return false;
    }
    let schema = config
        .schemas
        .values()
        .any(|s| s.paths.iter().any(|p| p == path));
    schema || is_ts_file(&rel.to_string_lossy())
}

/// Whether an event can change what a build reads: content written, a path
/// created, removed or renamed. Reads (`Access`: opening, closing — the
/// builder's own reads among them) and metadata changes are not: taking them
/// made the watcher rebuild after every rebuild and never go idle.
pub fn is_content_event(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Folds debounced events into one change set by looking at the file system
/// now: a path that exists is added or updated, one that does not is removed.
/// A directory that exists is walked (moved in, or created with files
/// already in it); one that is gone removes every known file under it
/// (`rm -rf`, a rename away), whatever events its files got. `known` holds
/// the session's files, relative to the config directory.
pub fn change_set_from_paths(
    config: &Config,
    known: &BTreeSet<String>,
    paths: &BTreeSet<PathBuf>,
) -> ChangeSet {
    let rel_of = |p: &Path| crate::phases::discover::relative_in_root(config, p);
    let mut changes = ChangeSet::default();
    let mut expanded: BTreeSet<PathBuf> = BTreeSet::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path)
                .into_iter()
                .filter_map(Result::ok)
            {
                if entry.file_type().is_file() {
                    expanded.insert(entry.into_path());
                }
            }
            continue;
        }
        expanded.insert(path.clone());
        // A file renamed and then removed inside one debounce window can
        // be reported by its last name only: every known file of the
        // directory an event names is looked at, and a missing one removed.
        if let Some(dir_rel) = path.parent().and_then(rel_of) {
            let prefix = if dir_rel.is_empty() {
                String::new()
            } else {
                format!("{dir_rel}/")
            };
            for file in known.range(prefix.clone()..) {
                if !file.starts_with(&prefix) {
                    break;
                }
                if !file[prefix.len()..].contains('/') {
                    let abs = config.root_dir.join(file);
                    if !abs.exists() {
                        expanded.insert(abs);
                    }
                }
            }
        }
        if !path.exists() {
            if let Some(rel) = rel_of(path) {
                let prefix = format!("{rel}/");
                for file in known.range(prefix.clone()..) {
                    if !file.starts_with(&prefix) {
                        break;
                    }
                    expanded.insert(config.root_dir.join(file));
                }
            }
        }
    }
    for path in expanded {
        if !is_relevant(config, &path) {
            continue;
        }
        if path.is_file() {
            if rel_of(&path).is_some_and(|r| known.contains(&r)) {
                changes.updated.push(path);
            } else {
                changes.added.push(path);
            }
        } else {
            changes.removed.push(path);
        }
    }
    changes
}

/// The cache directory and the artifact: written by every build, never a
/// reason for one.
fn is_own_output(config: &Config, path: &Path) -> bool {
    path.starts_with(&config.cache_dir) || path == config.artifact_path
}

/// A rebuild that analyzed nothing (every file it read had the content it
/// had) and changed no element.
fn is_no_op(output: &BuildOutput) -> bool {
    output.report().files.analyzed == 0 && output.delta.is_empty()
}

/// One line per rebuild: what changed, what was recomputed, time, cache.
pub fn summary_line(changes: &ChangeSet, output: &BuildOutput) -> String {
    let report = output.report();
    let errors = output.diagnostics.iter().filter(|d| d.is_error()).count();
    format!(
        "rebuilt: +{} ~{} -{} files | {} definitions affected, {} recompiled | {:.1} ms | hits {} misses {} skips {}{}",
        changes.added.len(),
        changes.updated.len(),
        changes.removed.len(),
        report.recomputed.definitions,
        report.recomputed.compiled,
        report.duration_ms,
        report.stats.hits,
        report.stats.misses,
        report.stats.skips,
        if errors > 0 { format!(" | {errors} error(s)") } else { String::new() }
    )
}

/// Watches the config directory until a `Stop` message arrives on `rx`'s
/// sender (Ctrl-C). `on_ready` is called once every watch is in place (an
/// edit before it may be missed: saying "watching" earlier was a race),
/// `on_build` after every rebuild. One loop over events, debounce and
/// rebuild: its state (the pending change set, the watched roots) is what
/// makes a quiet point equal a clean build, so it stays in one place.
pub fn watch(
    session: &mut BuilderSession,
    debounce: Duration,
    tx: mpsc::Sender<WatchMessage>,
    rx: mpsc::Receiver<WatchMessage>,
    on_ready: impl FnOnce(),
    mut on_build: impl FnMut(&ChangeSet, &Result<BuildOutput, BuildError>, &mut BuilderSession),
) -> Result<(), WatchError> {
    let root = session.config().root_dir.clone();
    let handler_tx = tx.clone();
    let mut debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| {
        let _ = handler_tx.send(WatchMessage::Events(result));
    })
    .map_err(|source| WatchError::Notify {
        path: root.clone(),
        source,
    })?;
    debouncer
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|source| WatchError::Notify {
            path: root.clone(),
            source,
        })?;
    // Includes may reach out of the config directory (`../shared/**`).
    for (_, dir) in session.config().outside_roots() {
        if let Err(e) = debouncer.watch(&dir, RecursiveMode::Recursive) {
            eprintln!("watch: cannot watch {}: {e}", dir.display());
        }
    }
    // Schema files may live outside the config directory.
    let schema_paths: Vec<PathBuf> = session
        .config()
        .schemas
        .values()
        .flat_map(|s| s.paths.clone())
        .collect();
    for path in schema_paths.iter().filter(|p| !p.starts_with(&root)) {
        if let Some(parent) = path.parent() {
            let _ = debouncer.watch(parent, RecursiveMode::NonRecursive);
        }
    }
    on_ready();
    // Directories created since the last look, looked at once more a little
    // later: a file written into a new directory before the watcher had
    // added its watch sends no event of its own (the walk at the directory's
    // event finds it only if it was already there).
    let mut recheck: Vec<PathBuf> = Vec::new();
    let mut recheck_at: Option<Instant> = None;
    let recheck_after = debounce * 2 + Duration::from_millis(100);
    loop {
        let message = match recheck_at {
            None => match rx.recv() {
                Ok(message) => message,
                Err(_) => break,
            },
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(message) => message,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    recheck_at = None;
                    let dirs: BTreeSet<PathBuf> =
                        recheck.drain(..).filter(|d| d.is_dir()).collect();
                    let known: BTreeSet<String> = session.state().files.keys().cloned().collect();
                    let config = session.config().clone();
                    let mut changes = change_set_from_paths(&config, &known, &dirs);
                    // Known files there were seen by their own events.
                    changes.updated.clear();
                    if !changes.is_empty() {
                        let result = session.update(&changes);
                        // Files the build does not read: nothing to say.
                        if !matches!(&result, Ok(output) if is_no_op(output)) {
                            on_build(&changes, &result, session);
                        }
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
        };
        let events = match message {
            WatchMessage::Stop => break,
            WatchMessage::Events(Ok(events)) => events,
            WatchMessage::Events(Err(errors)) => {
                for e in errors {
                    eprintln!("watch: {e}");
                }
                continue;
            }
        };
        for event in &events {
            if matches!(event.kind, EventKind::Create(_)) {
                recheck.extend(event.paths.iter().filter(|p| p.is_dir()).cloned());
            }
        }
        if !recheck.is_empty() && recheck_at.is_none() {
            recheck_at = Some(Instant::now() + recheck_after);
        }
        if let Some(trace) = std::env::var_os("SODA_WATCH_TRACE") {
            use std::io::Write as _;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(trace)
            {
                for e in &events {
                    let _ = writeln!(f, "watch event: {:?} {:?}", e.kind, e.paths);
                }
            }
        }
        let config = session.config().clone();
        let paths: BTreeSet<PathBuf> = events
            .iter()
            .filter(|e| is_content_event(&e.kind))
            .flat_map(|e| e.paths.iter().cloned())
            .filter(|p| !is_own_output(&config, p))
            .collect();
        if paths.is_empty() {
            continue;
        }
        let known: BTreeSet<String> = session.state().files.keys().cloned().collect();
        let changes = change_set_from_paths(&config, &known, &paths);
        if changes.is_empty() {
            continue;
        }
        let result = session.update(&changes);
        // A file saved with the same content rebuilds nothing: no line.
        let same_files = changes.added.is_empty() && changes.removed.is_empty();
        if same_files && matches!(&result, Ok(output) if is_no_op(output)) {
            continue;
        }
        on_build(&changes, &result, session);
    }
    drop(debouncer);
    Ok(())
}
