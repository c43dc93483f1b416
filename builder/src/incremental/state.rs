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
    /// Persisted as its presence only: the element itself is in the head of
    /// the state (`SessionState::elements`), which holds every one of them;
    /// [`SessionState::restore_elements`] puts it back. Written twice, it
    /// was half of a state's bytes.
    #[serde(with = "element_presence")]
    pub element: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// `CompiledEntry::element` on disk: whether there is one.
mod element_presence {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(element: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(element.is_some())
    }

    /// An empty placeholder until `SessionState::restore_elements`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(bool::deserialize(d)?.then(String::new))
    }
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
    /// Puts back the elements a decoded body leaves to the head: every
    /// compiled entry with an element takes it from `elements`, which must
    /// hold exactly those. Anything else means the body and the head do not
    /// belong together.
    pub fn restore_elements(
        &mut self,
        elements: Arc<BTreeMap<String, String>>,
    ) -> Result<(), String> {
        let mut restored = 0usize;
        for (id, entry) in &mut self.compiled {
            if let Some(element) = &mut entry.element {
                let Some(from_head) = elements.get(id) else {
                    return Err(format!("the element of `{id}` is missing from the head"));
                };
                element.clone_from(from_head);
                restored += 1;
            }
        }
        if restored != elements.len() {
            return Err(format!(
                "the head holds {} elements, the body {restored}",
                elements.len()
            ));
        }
        self.elements = elements;
        Ok(())
    }

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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn entry(element: Option<&str>) -> CompiledEntry {
        CompiledEntry {
            key: 1,
            element: element.map(str::to_string),
            diagnostics: Vec::new(),
        }
    }

    fn state_with(compiled: &[(&str, Option<&str>)]) -> SessionState {
        SessionState {
            compiled: compiled
                .iter()
                .map(|(id, element)| (id.to_string(), entry(*element)))
                .collect(),
            ..SessionState::default()
        }
    }

    fn elements(pairs: &[(&str, &str)]) -> Arc<BTreeMap<String, String>> {
        Arc::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_body_keeps_only_whether_an_entry_has_an_element_and_gets_it_back_from_the_head() {
        let state = state_with(&[("a.ts::a", Some("{\"a\":1}")), ("a.ts::b", None)]);
        let bytes = postcard::to_allocvec(&state).unwrap();
        assert!(
            !bytes.windows(7).any(|w| w == b"{\"a\":1}"),
            "the element is written once, in the head"
        );
        let mut decoded: SessionState = postcard::from_bytes(&bytes).unwrap();
        decoded
            .restore_elements(elements(&[("a.ts::a", "{\"a\":1}")]))
            .unwrap();
        assert_eq!(decoded.compiled, state.compiled);
    }

    #[test]
    fn a_head_and_body_that_disagree_are_refused() {
        let state = state_with(&[("a.ts::a", Some("x"))]);
        let bytes = postcard::to_allocvec(&state).unwrap();
        let mut decoded: SessionState = postcard::from_bytes(&bytes).unwrap();
        let missing = decoded.clone().restore_elements(elements(&[])).unwrap_err();
        assert!(missing.contains("a.ts::a"), "{missing}");
        let extra = decoded
            .restore_elements(elements(&[("a.ts::a", "x"), ("b.ts::b", "y")]))
            .unwrap_err();
        assert!(extra.contains("2 elements"), "{extra}");
    }
}
