//! What changed, as a watcher or a host says it: `ChangeSet`, with optional
//! metadata that vouches for or invalidates the schema and the analyzer.

use std::path::PathBuf;

use crate::phases::analyze::ANALYZER_VERSION;

/// What a watcher or a caller knows changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub added: Vec<PathBuf>,
    pub updated: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    pub metadata: Option<ChangeSetMetadata>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeSetMetadata {
    pub schema_hash: u64,
    pub analyzer_version: u32,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.updated.is_empty()
            && self.removed.is_empty()
            && self.metadata.is_none()
    }

    pub fn should_invalidate_schema(&self, current_schema_hash: u64) -> bool {
        self.metadata
            .is_some_and(|m| m.schema_hash != current_schema_hash)
    }

    pub fn should_invalidate_analyzer(&self) -> bool {
        self.metadata
            .is_some_and(|m| m.analyzer_version != ANALYZER_VERSION)
    }

    pub fn len(&self) -> usize {
        self.added.len() + self.updated.len() + self.removed.len()
    }
}
