//! `BuilderService`: holds one session per config and creates it on first
//! use, for long-running hosts (an editor plugin, a dev server).

use crate::config::Config;
use crate::incremental::change::ChangeSet;
use crate::incremental::session::{BuildError, BuildOutput, BuilderSession, SessionOptions};

/// Owns at most one session per config and creates it on first use, so a
/// long-running host (an editor plugin, a dev server) can hold the service
/// and pay for the initial build only when the first build is asked for.
pub struct BuilderService {
    config: Config,
    options: SessionOptions,
    session: Option<BuilderSession>,
}

impl BuilderService {
    pub fn new(config: Config, options: SessionOptions) -> BuilderService {
        BuilderService {
            config,
            options,
            session: None,
        }
    }

    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// Builds: the initial build the first time, an update afterwards.
    pub fn build(&mut self, changes: &ChangeSet) -> Result<BuildOutput, BuildError> {
        match &mut self.session {
            Some(session) => session.update(changes),
            None => {
                let mut session = BuilderSession::new(self.config.clone(), self.options);
                let output = session.build_initial()?;
                self.session = Some(session);
                Ok(output)
            }
        }
    }

    pub fn session(&mut self) -> Option<&mut BuilderSession> {
        self.session.as_mut()
    }

    /// Drops the session (e.g. when the config file itself changed).
    pub fn reset(&mut self, config: Config) {
        self.config = config;
        self.session = None;
    }
}
