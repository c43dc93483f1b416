//! The definition dependency graph as a plain value, the diff between two of
//! them and the patch that turns one into the other.
//!
//! Pure: no IO. A build can keep the graph and its reverse index alive across
//! rebuilds and pay only for what changed, instead of rebuilding both from
//! scratch on every edit.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::phases::link::ResolvedDefinition;

/// One definition as the graph sees it: where it lives, what it spreads, and
/// a hash standing for everything else about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionNode {
    pub file: String,
    /// Distinct resolved fragment dependencies (canonical ids), in spread order.
    pub deps: Vec<String>,
    /// Hash of the definition's own content (text, kind, name, positions...): an
    /// edit that keeps the edges but changes the text is still an update.
    pub content_hash: u64,
    /// Hash of what whole-graph checks read besides edges and positions
    /// (schema label, operation or fragment, name): equal ⇒ no new duplicate
    /// or unknown schema can appear.
    #[serde(default)]
    pub name_hash: u64,
}

/// Canonical id → node. Sorted, so two graphs diff in one linear merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyGraph {
    pub nodes: BTreeMap<String, DefinitionNode>,
}

impl DependencyGraph {
    /// The node of a resolved definition; the caller supplies the content hash
    /// because only it knows what the definition's content is.
    pub fn node_of(
        resolved: &ResolvedDefinition,
        content_hash: u64,
        name_hash: u64,
    ) -> DefinitionNode {
        DefinitionNode {
            file: resolved.file.clone(),
            deps: resolved.deps().into_iter().map(str::to_owned).collect(),
            content_hash,
            name_hash,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&DefinitionNode> {
        self.nodes.get(id)
    }
}

/// What turns one graph into another. The three parts are disjoint when the
/// patch comes from [`diff_dependency_graphs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyGraphPatch {
    pub added: BTreeMap<String, DefinitionNode>,
    pub updated: BTreeMap<String, DefinitionNode>,
    pub removed: BTreeSet<String>,
}

impl DependencyGraphPatch {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }

    pub fn len(&self) -> usize {
        self.added.len() + self.updated.len() + self.removed.len()
    }

    /// Every id the patch names: the roots of what a rebuild must revisit.
    pub fn touched(&self) -> impl Iterator<Item = &String> {
        self.added
            .keys()
            .chain(self.updated.keys())
            .chain(self.removed.iter())
    }
}

/// old → new: ids only in old are removed, only in new added, in both with a
/// different node updated; equal nodes are not in the patch.
///
/// One merge over the two sorted maps, so the cost is O(old + new) with no
/// hashing or lookups.
pub fn diff_dependency_graphs(
    old: &DependencyGraph,
    new: &DependencyGraph,
) -> DependencyGraphPatch {
    let mut patch = DependencyGraphPatch::default();
    let mut old_iter = old.nodes.iter().peekable();
    let mut new_iter = new.nodes.iter().peekable();
    loop {
        match (old_iter.peek(), new_iter.peek()) {
            (None, None) => break,
            (Some((old_id, _)), None) => {
                patch.removed.insert((*old_id).clone());
                old_iter.next();
            }
            (None, Some((new_id, new_node))) => {
                patch.added.insert((*new_id).clone(), (*new_node).clone());
                new_iter.next();
            }
            (Some((old_id, old_node)), Some((new_id, new_node))) => match old_id.cmp(new_id) {
                std::cmp::Ordering::Less => {
                    patch.removed.insert((*old_id).clone());
                    old_iter.next();
                }
                std::cmp::Ordering::Greater => {
                    patch.added.insert((*new_id).clone(), (*new_node).clone());
                    new_iter.next();
                }
                std::cmp::Ordering::Equal => {
                    if old_node != new_node {
                        patch.updated.insert((*new_id).clone(), (*new_node).clone());
                    }
                    old_iter.next();
                    new_iter.next();
                }
            },
        }
    }
    patch
}

/// Applies a patch to the graph and keeps the index in step (incremental:
/// cost is O(patch), not O(graph)).
///
/// Forgiving about patches not made against this exact graph: an `added` id
/// that already exists replaces it like an update, an `updated` id that does
/// not exist is inserted, a `removed` id that does not exist is ignored. Either
/// way the index ends up equal to `GraphIndex::build(graph)`.
pub fn apply_graph_patch(
    graph: &mut DependencyGraph,
    index: &mut GraphIndex,
    patch: &DependencyGraphPatch,
) {
    for id in &patch.removed {
        if let Some(old) = graph.nodes.remove(id) {
            index.unindex(id, &old);
        }
    }
    for (id, node) in patch.added.iter().chain(patch.updated.iter()) {
        if let Some(old) = graph.nodes.insert(id.clone(), node.clone()) {
            index.unindex(id, &old);
        }
        index.index(id, node);
    }
}

/// Reverse views of the graph: file → canonical ids defined in it, fragment
/// id → ids that spread it. They answer "what does this edit invalidate"
/// without scanning every node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphIndex {
    by_file: HashMap<String, BTreeSet<String>>,
    spreaders: HashMap<String, BTreeSet<String>>,
}

impl GraphIndex {
    pub fn build(graph: &DependencyGraph) -> GraphIndex {
        let mut index = GraphIndex::default();
        for (id, node) in &graph.nodes {
            index.index(id, node);
        }
        index
    }

    pub fn ids_in_file(&self, file: &str) -> impl Iterator<Item = &String> {
        self.by_file.get(file).into_iter().flatten()
    }

    pub fn spreaders_of(&self, id: &str) -> impl Iterator<Item = &String> {
        self.spreaders.get(id).into_iter().flatten()
    }

    /// `roots` plus every definition that spreads one of them, transitively
    /// (BFS over reverse edges). Cycles terminate: an id is queued once.
    pub fn affected<'a>(&self, roots: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        for root in roots {
            if seen.insert(root.clone()) {
                queue.push_back(root);
            }
        }
        while let Some(id) = queue.pop_front() {
            for spreader in self.spreaders_of(id) {
                if seen.insert(spreader.clone()) {
                    queue.push_back(spreader);
                }
            }
        }
        seen
    }

    fn index(&mut self, id: &str, node: &DefinitionNode) {
        self.by_file
            .entry(node.file.clone())
            .or_default()
            .insert(id.to_owned());
        for dep in &node.deps {
            self.spreaders
                .entry(dep.clone())
                .or_default()
                .insert(id.to_owned());
        }
    }

    /// Drops the entries `index` made for this node; empty sets go too, so an
    /// incrementally kept index stays equal to a freshly built one.
    fn unindex(&mut self, id: &str, node: &DefinitionNode) {
        remove_from(&mut self.by_file, &node.file, id);
        for dep in &node.deps {
            remove_from(&mut self.spreaders, dep, id);
        }
    }
}

fn remove_from(map: &mut HashMap<String, BTreeSet<String>>, key: &str, id: &str) {
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(file: &str, deps: &[&str], content_hash: u64) -> DefinitionNode {
        DefinitionNode {
            file: file.to_owned(),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            content_hash,
            name_hash: 0,
        }
    }

    fn graph(nodes: &[(&str, DefinitionNode)]) -> DependencyGraph {
        DependencyGraph {
            nodes: nodes
                .iter()
                .map(|(id, n)| ((*id).to_owned(), n.clone()))
                .collect(),
        }
    }

    fn ids(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn apply(old: &DependencyGraph, patch: &DependencyGraphPatch) -> (DependencyGraph, GraphIndex) {
        let mut g = old.clone();
        let mut index = GraphIndex::build(&g);
        apply_graph_patch(&mut g, &mut index, patch);
        (g, index)
    }

    #[test]
    fn node_of_takes_file_and_distinct_deps() {
        let resolved = ResolvedDefinition {
            id: "a.ts::q".to_owned(),
            file: "a.ts".to_owned(),
            index: 0,
            spread_targets: vec![
                Some("b.ts::f".to_owned()),
                None,
                Some("c.ts::g".to_owned()),
                Some("b.ts::f".to_owned()),
            ],
            trail: BTreeSet::new(),
            diagnostics: Vec::new(),
        };
        assert_eq!(
            DependencyGraph::node_of(&resolved, 7, 0),
            node("a.ts", &["b.ts::f", "c.ts::g"], 7)
        );
    }

    #[test]
    fn diff_of_equal_graphs_is_empty() {
        let g = graph(&[
            ("a.ts::x", node("a.ts", &["b.ts::f"], 1)),
            ("b.ts::f", node("b.ts", &[], 2)),
        ]);
        let patch = diff_dependency_graphs(&g, &g.clone());
        assert!(patch.is_empty());
        assert_eq!(patch.len(), 0);
        assert!(
            diff_dependency_graphs(&DependencyGraph::default(), &DependencyGraph::default())
                .is_empty()
        );
    }

    #[test]
    fn diff_sees_adds_removes_and_every_kind_of_update() {
        let old = graph(&[
            ("a.ts::deps", node("a.ts", &["b.ts::f"], 1)),
            ("a.ts::text", node("a.ts", &[], 1)),
            ("a.ts::moved", node("a.ts", &[], 1)),
            ("a.ts::same", node("a.ts", &["b.ts::f"], 1)),
            ("b.ts::f", node("b.ts", &[], 2)),
            ("gone.ts::g", node("gone.ts", &[], 3)),
        ]);
        let new = graph(&[
            ("a.ts::deps", node("a.ts", &["b.ts::f", "c.ts::h"], 1)),
            ("a.ts::text", node("a.ts", &[], 9)),
            ("a.ts::moved", node("z.ts", &[], 1)),
            ("a.ts::same", node("a.ts", &["b.ts::f"], 1)),
            ("b.ts::f", node("b.ts", &[], 2)),
            ("c.ts::h", node("c.ts", &[], 4)),
        ]);
        let patch = diff_dependency_graphs(&old, &new);
        assert_eq!(
            patch.added.keys().cloned().collect::<BTreeSet<_>>(),
            ids(&["c.ts::h"])
        );
        assert_eq!(
            patch.updated.keys().cloned().collect::<BTreeSet<_>>(),
            ids(&["a.ts::deps", "a.ts::moved", "a.ts::text"])
        );
        assert_eq!(patch.removed, ids(&["gone.ts::g"]));
        assert_eq!(patch.len(), 5);
        assert_eq!(
            patch.touched().cloned().collect::<BTreeSet<_>>(),
            ids(&[
                "c.ts::h",
                "a.ts::deps",
                "a.ts::moved",
                "a.ts::text",
                "gone.ts::g"
            ])
        );
        assert_eq!(patch.updated["a.ts::moved"].file, "z.ts");

        let (applied, index) = apply(&old, &patch);
        assert_eq!(applied, new);
        assert_eq!(index, GraphIndex::build(&new));
        assert_eq!(index.ids_in_file("gone.ts").count(), 0);
        assert_eq!(
            index.ids_in_file("z.ts").cloned().collect::<Vec<_>>(),
            vec!["a.ts::moved".to_owned()]
        );
    }

    #[test]
    fn index_drops_empty_sets() {
        let old = graph(&[
            ("a.ts::x", node("a.ts", &["b.ts::f"], 1)),
            ("b.ts::f", node("b.ts", &[], 1)),
        ]);
        let new = graph(&[("b.ts::f", node("b.ts", &[], 1))]);
        let (_, index) = apply(&old, &diff_dependency_graphs(&old, &new));
        assert!(!index.by_file.contains_key("a.ts"));
        assert!(!index.spreaders.contains_key("b.ts::f"));
        assert_eq!(index, GraphIndex::build(&new));
    }

    #[test]
    fn apply_tolerates_patches_made_against_another_graph() {
        let base = graph(&[("a.ts::x", node("a.ts", &["b.ts::f"], 1))]);
        let patch = DependencyGraphPatch {
            added: [("a.ts::x".to_owned(), node("a.ts", &[], 2))].into(),
            updated: [("c.ts::y".to_owned(), node("c.ts", &[], 3))].into(),
            removed: ids(&["nope.ts::z"]),
        };
        let (applied, index) = apply(&base, &patch);
        let expected = graph(&[
            ("a.ts::x", node("a.ts", &[], 2)),
            ("c.ts::y", node("c.ts", &[], 3)),
        ]);
        assert_eq!(applied, expected);
        assert_eq!(index, GraphIndex::build(&expected));
    }

    #[test]
    fn affected_closes_over_chains_and_cycles() {
        // Chain: q → f1 → f2 → f3; cycle: c1 → c2 → c1; unrelated u.
        let g = graph(&[
            ("q", node("a.ts", &["f1"], 0)),
            ("f1", node("a.ts", &["f2"], 0)),
            ("f2", node("b.ts", &["f3"], 0)),
            ("f3", node("b.ts", &[], 0)),
            ("c1", node("c.ts", &["c2"], 0)),
            ("c2", node("c.ts", &["c1", "f3"], 0)),
            ("u", node("d.ts", &[], 0)),
        ]);
        let index = GraphIndex::build(&g);
        assert_eq!(
            index.affected(&ids(&["f3"])),
            ids(&["f3", "f2", "f1", "q", "c2", "c1"])
        );
        assert_eq!(index.affected(&ids(&["c1"])), ids(&["c1", "c2"]));
        assert_eq!(index.affected(&ids(&["u"])), ids(&["u"]));
        // A root that is no longer in the graph still reaches its spreaders.
        assert_eq!(index.affected(&ids(&["missing"])), ids(&["missing"]));
        assert_eq!(index.affected(&ids(&[])), ids(&[]));
        assert_eq!(
            index.spreaders_of("f3").cloned().collect::<BTreeSet<_>>(),
            ids(&["f2", "c2"])
        );
        assert_eq!(index.spreaders_of("q").count(), 0);
    }

    const POOL: [&str; 8] = [
        "a.ts::0", "a.ts::1", "a.ts::2", "b.ts::0", "b.ts::1", "c.ts::0", "c.ts::1", "d.ts::0",
    ];

    fn node_strategy() -> impl Strategy<Value = DefinitionNode> {
        (
            prop::sample::select(vec!["a.ts", "b.ts", "c.ts"]),
            prop::collection::vec(prop::sample::select(POOL.to_vec()), 0..4),
            0u64..3,
        )
            .prop_map(|(file, deps, content_hash)| {
                let mut distinct: Vec<String> = Vec::new();
                for dep in deps {
                    if !distinct.iter().any(|d| d == dep) {
                        distinct.push(dep.to_owned());
                    }
                }
                DefinitionNode {
                    file: file.to_owned(),
                    deps: distinct,
                    content_hash,
                    name_hash: content_hash % 3,
                }
            })
    }

    fn graph_strategy() -> impl Strategy<Value = DependencyGraph> {
        prop::collection::btree_map(
            prop::sample::select(POOL.to_vec()).prop_map(str::to_owned),
            node_strategy(),
            0..8,
        )
        .prop_map(|nodes| DependencyGraph { nodes })
    }

    proptest! {
        #[test]
        fn apply_of_diff_yields_new_graph_and_index(old in graph_strategy(), new in graph_strategy()) {
            let patch = diff_dependency_graphs(&old, &new);
            let (applied, index) = apply(&old, &patch);
            prop_assert_eq!(&applied, &new);
            prop_assert_eq!(&index, &GraphIndex::build(&new));
            // Equal nodes never appear in the patch.
            for id in patch.touched() {
                prop_assert_ne!(old.get(id), new.get(id));
            }
        }
    }
}
