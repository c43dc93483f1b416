//! One build as the CLI runs it: lock the cache, build (incrementally from the
//! persisted state unless told not to), write the artifact and the state.
//! Holds no watch state: `watch` drives a long-lived session instead.

use crate::config::Config;
use crate::incremental::persist;
use crate::incremental::session::{BuildError, BuildOutput, BuilderSession, SessionOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Use and update the persisted state (`--no-incremental` turns it off).
    pub incremental: bool,
    /// Write the artifact (and the state when incremental).
    pub write: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            incremental: true,
            write: true,
        }
    }
}

/// A clean build in memory: no persisted state read or written.
pub fn clean_build(config: &Config) -> Result<BuildOutput, BuildError> {
    BuilderSession::new(config.clone(), SessionOptions { incremental: false }).build_initial()
}

/// `soda-builder build`: one build in this process.
pub fn run_build(config: &Config, options: BuildOptions) -> Result<BuildOutput, BuildError> {
    run_build_session(config, options).map(|(_, output)| output)
}

/// [`run_build`], also returning the session (its state backs `--graph-filter`).
pub fn run_build_session(
    config: &Config,
    options: BuildOptions,
) -> Result<(BuilderSession, BuildOutput), BuildError> {
    let lock = if options.incremental {
        Some(persist::lock(config).map_err(|source| BuildError::Write {
            path: config.cache_dir.join("lock"),
            source,
        })?)
    } else {
        None
    };
    let mut session = BuilderSession::new(
        config.clone(),
        SessionOptions {
            incremental: options.incremental,
        },
    );
    let mut output = session.build_initial()?;
    if options.write {
        session.write_outputs()?;
        let warnings = session.take_write_warnings();
        add_repairs(&mut output, &warnings);
    }
    if let Some(lock) = &lock {
        add_repairs(&mut output, &lock.repaired);
    }
    Ok((session, output))
}

/// The cache entries the lock removed, before the session's own note.
pub fn add_repairs(output: &mut BuildOutput, repaired: &[String]) {
    if repaired.is_empty() {
        return;
    }
    let mut notes = repaired.to_vec();
    notes.extend(output.cache_note.take());
    output.cache_note = Some(notes.join("\n"));
}
