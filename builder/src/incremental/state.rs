//! What the session knows between builds, as plain data: the file table,
//! resolutions, compiled documents, the dependency graph. `persist` encodes
//! it; `session` changes it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::incremental::graph_patch::DependencyGraph;
use crate::phases::discover::{self, FileTable};
use crate::phases::link::ResolvedDefinition;

/// A compiled definition, keyed by everything its compilation read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledEntry {
    pub key: u64,
    pub element: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Everything the session knows; the persisted part is plain data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    #[serde(deserialize_with = "discover::deserialize_sorted_map")]
    pub files: FileTable,
    #[serde(deserialize_with = "discover::deserialize_sorted_set")]
    pub entries: BTreeSet<String>,
    #[serde(deserialize_with = "discover::deserialize_sorted_map")]
    pub resolved: BTreeMap<String, ResolvedDefinition>,
    #[serde(deserialize_with = "discover::deserialize_sorted_map")]
    pub compiled: BTreeMap<String, CompiledEntry>,
    /// Shared with the last artifact: an update copies the map only when
    /// something still holds the previous one. Persisted in the state's head
    /// (`persist::StateHead`), not twice.
    #[serde(skip)]
    pub elements: Arc<BTreeMap<String, String>>,
    pub global_diagnostics: Vec<Diagnostic>,
    /// Ids the whole-graph checks found broken (cycles, unknown schemas).
    pub global_broken: BTreeSet<String>,
    /// Definitions and their spread edges, patched by every build.
    pub graph: DependencyGraph,
    /// When the last discovery started (ns since the epoch), minus a margin for
    /// coarse file-system timestamps: newer mtimes are re-hashed next time.
    pub racy_after_ns: u128,
}

impl SessionState {
    /// Files defining a fragment that something spreads, with how many
    /// definitions spread it directly: fewest first, ties by path. What the
    /// benchmarks edit ("a fragment used by a few operations", and the most
    /// spread one).
    pub fn spread_fragment_files(&self) -> Vec<(usize, String)> {
        let mut spreaders: BTreeMap<&str, usize> = BTreeMap::new();
        for r in self.resolved.values() {
            for dep in r.deps() {
                *spreaders.entry(dep).or_default() += 1;
            }
        }
        let mut files: Vec<(usize, String)> = self
            .resolved
            .values()
            .filter(|r| {
                self.files.get(&r.file).is_some_and(|f| {
                    f.summary
                        .definitions
                        .get(r.index)
                        .is_some_and(|d| d.type_condition.is_some())
                })
            })
            .filter_map(|r| Some((*spreaders.get(r.id.as_str())?, r.file.clone())))
            .collect();
        files.sort();
        files
    }
}
