//! The second half of every build, `BuilderSession::commit`, as named steps
//! over one discovery: merge the file table, re-resolve what a change
//! reaches, patch the dependency graph, run the whole-graph checks when
//! what they read moved, render and compile the affected definitions, apply
//! the artifact delta, gather the diagnostics. Every step but the first
//! reads the table through `ModuleSource`, borrowed out of the state for the
//! commit and put back at its end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use super::{BuildOutput, BuilderSession, EntriesUpdate};
use crate::diagnostics::{sort_diagnostics, truncate_per_file, Diagnostic, MAX_PER_FILE};
use crate::incremental::graph_patch::{
    apply_graph_patch, diff_dependency_graphs, DependencyGraph, DependencyGraphPatch,
};
use crate::incremental::state::CompiledEntry;
use crate::io::pool;
use crate::phases::analyze::Definition;
use crate::phases::artifact::{self, BuilderArtifactDelta};
use crate::phases::discover::{self, Discovery, FileTable};
use crate::phases::emit;
use crate::phases::graphql::compile::{compile, CompileUnit};
use crate::phases::graphql::render::{render, Rendered};
use crate::phases::graphql::schema::SchemaSet;
use crate::phases::link::{self, ModuleSource, ResolvedDefinition};
use crate::report::{CacheStats, FileCounts, RecomputedCounts, Timer};

/// Fewer definitions than these are resolved, or compiled, on the calling
/// thread (`pool::filter_map_ordered`): resolving one takes microseconds,
/// compiling one tens of them, and waking a parked worker 1–8 ms.
const RESOLVE_INLINE_BELOW: usize = 256;
const COMPILE_INLINE_BELOW: usize = 32;

/// What the commit's caller decided: the schemas, whether they changed,
/// whether the discovery was targeted (only some files looked at) or full.
pub(super) struct CommitInput<'a> {
    pub discovery: Discovery,
    pub entries: EntriesUpdate,
    pub schemas: &'a Arc<SchemaSet>,
    pub schema_changed: bool,
    pub targeted: bool,
    pub timer: Timer,
    pub started: Instant,
}

/// What re-resolution changed in the dependency graph.
struct Resolved {
    /// The graph over the re-resolved ids before the patch (what
    /// `graph_check_needed` compares with).
    before: DependencyGraph,
    patch: DependencyGraphPatch,
    /// How many definitions were resolved again.
    count: u64,
}

/// One affected definition after compilation.
struct Compiled {
    id: String,
    entry: CompiledEntry,
    /// Compiled now, not taken from the previous build (its key matched).
    recompiled: bool,
}

/// What rendering found broken: a definition whose text could not be
/// rendered is not compiled, and neither is anything that spreads it.
type RenderFailures = BTreeMap<String, Diagnostic>;

impl BuilderSession {
    /// The shared second half of every build.
    pub(super) fn commit(&mut self, input: CommitInput<'_>) -> BuildOutput {
        let CommitInput {
            mut discovery,
            entries,
            schemas,
            schema_changed,
            targeted,
            mut timer,
            started,
        } = input;
        let mut changed: BTreeSet<String> = std::mem::take(&mut discovery.changed);
        let mut removed: BTreeSet<String> = std::mem::take(&mut discovery.removed);
        let discovered = std::mem::take(&mut discovery.files);
        let mut deps_changed = self.merge_file_table(discovered, &removed, targeted);
        if self.settle_entries(entries) {
            deps_changed = true;
        }
        // Only an import edit can leave a file unreachable; a full discovery
        // reached every file it returns from the entries.
        if deps_changed && targeted {
            self.drop_unreachable(&mut removed);
        }
        changed.retain(|f| self.state.files.contains_key(f));
        timer.lap("index");
        // Borrowed out of the state for the rest of the commit, put back at the end.
        let files = std::mem::take(&mut self.state.files);
        let modules: &dyn ModuleSource = &files;

        // 1. Re-resolve the definitions of changed files and those whose
        // resolution trail crossed a changed or removed file.
        let touched: BTreeSet<String> = changed.union(&removed).cloned().collect();
        let resolved = self.re_resolve(modules, &changed, &touched);
        let roots: BTreeSet<String> = resolved.patch.touched().cloned().collect();
        timer.lap("resolve");

        // 2. Whole-graph checks (one pass over definitions), only when what
        // they read moved: ids, edges, names, or a definition a previous
        // finding points at. Otherwise the last result stands.
        let global = if schema_changed || self.graph_check_needed(&resolved.patch, &resolved.before)
        {
            let labels: BTreeSet<String> = schemas.schemas.keys().cloned().collect();
            let global = link::check_global(modules, &self.state.resolved, &labels);
            self.state.global_broken = global.broken.clone();
            global
        } else {
            link::GlobalCheck {
                diagnostics: self.state.global_diagnostics.clone(),
                broken: self.state.global_broken.clone(),
            }
        };
        timer.lap("graph");

        // 3. Affected = roots plus everything that spreads them, transitively.
        let affected: BTreeSet<String> = if schema_changed {
            self.state.resolved.keys().cloned().collect()
        } else {
            self.index.graph.affected(&roots)
        };
        for id in &affected {
            self.index.rendered.remove(id);
        }

        // 4. Render, key and (when the key changed) compile each affected definition.
        let render_failures = self.render_affected(modules, &affected, &global.broken);
        timer.lap("render");
        let results = self.compile_affected(
            modules,
            &affected,
            &global.broken,
            &render_failures,
            schemas,
        );
        timer.lap("compile");

        // 5. The new elements are the old ones plus the delta, computed over
        // the touched ids only.
        let (delta, compiled_ids) = self.apply_compiled(results);
        if !delta.is_empty() || self.state.global_diagnostics != global.diagnostics {
            self.dirty = true;
        }
        self.state.global_diagnostics = global.diagnostics;
        self.state.files = files;
        timer.lap("emit");

        // 6. Diagnostics of the whole tree, deduplicated and sorted.
        let diagnostics = self.all_diagnostics(std::mem::take(&mut discovery.diagnostics));
        timer.lap("diagnostics");

        let recomputed = RecomputedCounts {
            definitions: affected.len() as u64,
            resolved: resolved.count,
            compiled: compiled_ids.len() as u64,
        };
        let artifact = self.publish(
            &diagnostics,
            CacheStats { ..discovery.stats },
            FileCounts { ..discovery.counts },
            recomputed,
            timer,
            started,
        );
        BuildOutput {
            artifact,
            diagnostics,
            delta,
            cache_status: discovery.status,
            compiled_ids,
            cache_note: None,
        }
    }

    /// Puts a discovery's entries into the table and re-indexes those that
    /// differ. A targeted discovery holds only the files it looked at (the
    /// rest stay); a full one is the whole table. Returns whether any
    /// file's dependencies changed (or a file came or went).
    fn merge_file_table(
        &mut self,
        discovered: FileTable,
        removed: &BTreeSet<String>,
        targeted: bool,
    ) -> bool {
        let table = &mut self.state.files;
        let index = &mut self.index;
        let mut deps_changed = !removed.is_empty();
        let mut dirty = false;
        let gone: Vec<String> = if targeted {
            removed.iter().cloned().collect()
        } else {
            table
                .keys()
                .filter(|k| !discovered.contains_key(*k))
                .cloned()
                .collect()
        };
        for path in gone {
            if let Some(old) = table.remove(&path) {
                index.set_file(&path, Some(&old), None);
                dirty = true;
                deps_changed = true;
            }
        }
        for (path, entry) in &discovered {
            let previous = table.get(path);
            if previous != Some(entry) {
                deps_changed |= previous.is_none_or(|p| p.deps != entry.deps);
                index.set_file(path, previous, Some(entry));
                dirty = true;
            }
        }
        if targeted {
            table.extend(discovered);
        } else {
            *table = discovered;
        }
        self.dirty |= dirty;
        deps_changed
    }

    /// The include-glob matches after this build; whether they changed.
    fn settle_entries(&mut self, entries: EntriesUpdate) -> bool {
        let changed = match entries {
            EntriesUpdate::Replace(entries) => {
                let changed = self.state.entries != entries;
                self.state.entries = entries;
                changed
            }
            EntriesUpdate::InPlace { changed } => changed,
        };
        if changed {
            self.dirty = true;
            self.unmatched_includes = None;
        }
        changed
    }

    /// Drops the files nothing reaches from the entries any more; they join
    /// `removed`.
    fn drop_unreachable(&mut self, removed: &mut BTreeSet<String>) {
        let keep = discover::reachable(&self.state.files, &self.state.entries);
        let unreachable: Vec<String> = self
            .state
            .files
            .keys()
            .filter(|f| !keep.contains(*f))
            .cloned()
            .collect();
        for f in unreachable {
            let old = self.state.files.remove(&f);
            self.index.set_file(&f, old.as_ref(), None);
            removed.insert(f);
            self.dirty = true;
        }
    }

    /// Re-resolves every definition of `changed` files and every definition
    /// whose trail crossed a `touched` file, and patches the dependency
    /// graph with what came out. Only the patch's ids seed the
    /// recomputation: a re-resolution that found the same node recomputes
    /// nothing.
    fn re_resolve(
        &mut self,
        modules: &dyn ModuleSource,
        changed: &BTreeSet<String>,
        touched: &BTreeSet<String>,
    ) -> Resolved {
        let mut to_resolve: BTreeSet<String> = BTreeSet::new();
        for file in touched {
            if let Some(ids) = self.index.trail.get(file) {
                to_resolve.extend(ids.iter().cloned());
            }
        }
        let stale: Vec<String> = self
            .state
            .resolved
            .values()
            .filter(|r| touched.contains(&r.file))
            .map(|r| r.id.clone())
            .collect();
        // Where each definition to resolve sits: (file, index in the file).
        let mut locations: Vec<(String, usize)> = Vec::new();
        for file in changed {
            if let Some(m) = modules.module(file) {
                locations.extend((0..m.definitions.len()).map(|i| (file.clone(), i)));
            }
        }
        for id in &to_resolve {
            let Some(file) = self
                .state
                .resolved
                .get(id)
                .map(|r| r.file.as_str())
                .or_else(|| link::file_of_id(id))
            else {
                continue;
            };
            if changed.contains(file) {
                continue;
            }
            let Some(m) = modules.module(file) else {
                continue;
            };
            if let Some(i) = m
                .definitions
                .iter()
                .position(|d| link::canonical_id(file, &d.ast_path) == *id)
            {
                locations.push((file.to_owned(), i));
            }
        }
        for id in stale.iter().chain(to_resolve.iter()) {
            if let Some(r) = self.state.resolved.remove(id) {
                self.index.remove(&r);
            }
        }
        let newly: Vec<(ResolvedDefinition, u64, u64)> =
            pool::filter_map_ordered(&locations, RESOLVE_INLINE_BELOW, 8, |(f, i)| {
                let r = link::resolve_definition(modules, &self.config.root_dir, f, *i)?;
                let def = modules.module(f)?.definitions.get(*i)?;
                let content = definition_hash(def, &r);
                Some((r, content, name_hash(def)))
            });
        let count = newly.len() as u64;
        let before = DependencyGraph {
            nodes: stale
                .iter()
                .chain(to_resolve.iter())
                .filter_map(|id| Some((id.clone(), self.state.graph.get(id)?.clone())))
                .collect(),
        };
        let mut after = DependencyGraph::default();
        for (r, hash, name) in newly {
            self.index.add(&r);
            after
                .nodes
                .insert(r.id.clone(), DependencyGraph::node_of(&r, hash, name));
            self.state.resolved.insert(r.id.clone(), r);
        }
        let patch = diff_dependency_graphs(&before, &after);
        apply_graph_patch(&mut self.state.graph, &mut self.index.graph, &patch);
        Resolved {
            before,
            patch,
            count,
        }
    }

    /// Whether a patch can change what `check_global` finds: ids come or go,
    /// edges or names change, or an updated definition is one a previous
    /// finding is about (its place or text would move).
    fn graph_check_needed(&self, patch: &DependencyGraphPatch, before: &DependencyGraph) -> bool {
        if !patch.added.is_empty() || !patch.removed.is_empty() {
            return true;
        }
        patch.updated.iter().any(|(id, new)| {
            let moved = before
                .get(id)
                .is_none_or(|old| old.deps != new.deps || old.name_hash != new.name_hash);
            moved
                || self.state.global_broken.contains(id)
                || self.state.global_diagnostics.iter().any(|d| {
                    d.location.as_ref().is_some_and(|l| l.file == new.file)
                        || d.message.contains(new.file.as_str())
                })
        })
    }

    /// Renders every affected definition and the fragments it spreads that
    /// have no rendered text yet, dependencies first (a spread inlines the
    /// fragment's text). The texts are kept in the runtime index.
    fn render_affected(
        &mut self,
        modules: &dyn ModuleSource,
        affected: &BTreeSet<String>,
        broken: &BTreeSet<String>,
    ) -> RenderFailures {
        let mut render_failures = RenderFailures::new();
        let mut rendered = std::mem::take(&mut self.index.rendered);
        let mut need_render: BTreeSet<String> = BTreeSet::new();
        for id in affected
            .iter()
            .filter(|id| self.state.resolved.contains_key(*id))
        {
            need_render.insert(id.clone());
            need_render.extend(link::fragment_closure(&self.state.resolved, id));
        }
        need_render.retain(|id| !rendered.contains_key(id));
        for id in self.dependencies_first(&need_render) {
            let (Some(r), Some(def)) = (
                self.state.resolved.get(&id),
                definition_of(modules, &self.state.resolved, &id),
            ) else {
                continue;
            };
            if broken.contains(&id) {
                continue;
            }
            let spreads: Vec<Option<Arc<Rendered>>> = r
                .spread_targets
                .iter()
                .map(|t| {
                    t.as_ref()
                        .filter(|t| !broken.contains(*t))
                        .and_then(|t| rendered.get(t).cloned())
                })
                .collect();
            match render(&id, def, &spreads) {
                Ok(result) => {
                    rendered.insert(id, Arc::new(result));
                }
                Err(d) => {
                    render_failures.insert(id, d);
                }
            }
        }
        self.index.rendered = rendered;
        render_failures
    }

    /// `ids` ordered so that every id comes after the ids it spreads
    /// (depth-first, post-order; ids outside the set are not followed).
    fn dependencies_first(&self, ids: &BTreeSet<String>) -> Vec<String> {
        let mut order: Vec<String> = Vec::new();
        let mut mark: HashMap<String, u8> = HashMap::new();
        for id in ids {
            let mut stack: Vec<(String, bool)> = vec![(id.clone(), false)];
            while let Some((node, done)) = stack.pop() {
                if done {
                    mark.insert(node.clone(), 2);
                    order.push(node);
                    continue;
                }
                if mark.contains_key(&node) {
                    continue;
                }
                mark.insert(node.clone(), 1);
                stack.push((node.clone(), true));
                if let Some(r) = self.state.resolved.get(&node) {
                    for dep in r.deps() {
                        if ids.contains(dep) && !mark.contains_key(dep) {
                            stack.push((dep.to_owned(), false));
                        }
                    }
                }
            }
        }
        order
    }

    /// Keys and (when the key changed) compiles each affected definition,
    /// in parallel when there are many, one definition a leaf: documents
    /// differ in size by an order of magnitude.
    fn compile_affected(
        &self,
        modules: &dyn ModuleSource,
        affected: &BTreeSet<String>,
        broken: &BTreeSet<String>,
        render_failures: &RenderFailures,
        schemas: &SchemaSet,
    ) -> Vec<Compiled> {
        let schema_hash = schemas.combined_hash();
        let resolved = &self.state.resolved;
        let rendered = &self.index.rendered;
        let def_of = |id: &str| definition_of(modules, resolved, id);
        let work: Vec<&String> = affected
            .iter()
            .filter(|id| resolved.contains_key(*id))
            .collect();
        pool::filter_map_ordered(&work, COMPILE_INLINE_BELOW, 1, |id| {
            let r = resolved.get(*id)?;
            let def = def_of(id)?;
            let mut diagnostics = Vec::new();
            let blocked = broken.contains(*id) || r.spread_targets.iter().any(Option::is_none);
            if let Some(d) = render_failures.get(*id) {
                diagnostics.push(d.clone());
            }
            let own = rendered.get(*id);
            let closure_ids = link::fragment_closure(resolved, id);
            let closure: Option<Vec<(&str, &Definition, &Rendered)>> = closure_ids
                .iter()
                .map(|c| Some((c.as_str(), def_of(c)?, &**rendered.get(c)?)))
                .collect();
            let blocked = blocked
                || closure_ids
                    .iter()
                    .any(|c| broken.contains(c) || render_failures.contains_key(c));
            let not_compiled = |diagnostics| Compiled {
                id: (*id).clone(),
                entry: CompiledEntry {
                    key: 0,
                    element: None,
                    diagnostics,
                },
                recompiled: false,
            };
            let (Some(own), Some(closure), false) = (own, closure, blocked) else {
                return Some(not_compiled(diagnostics));
            };
            // Positions are not in the rendered text, but diagnostics
            // carry them: the definitions' content hashes key them too.
            let positions: Vec<u64> = std::iter::once(id.as_str())
                .chain(closure_ids.iter().map(String::as_str))
                .map(|c| self.state.graph.get(c).map_or(0, |n| n.content_hash))
                .collect();
            let key = compile_key(
                schema_hash,
                &def.schema_label,
                def.metadata_json.as_deref(),
                own,
                &closure,
                &positions,
            );
            if let Some(previous) = self.state.compiled.get(*id) {
                if previous.key == key {
                    return Some(Compiled {
                        id: (*id).clone(),
                        entry: previous.clone(),
                        recompiled: false,
                    });
                }
            }
            let Some(schema) = schemas.get(&def.schema_label) else {
                return Some(not_compiled(diagnostics));
            };
            let compiled = compile(
                &CompileUnit {
                    def,
                    rendered: own,
                    closure,
                    spread_targets: &r.spread_targets,
                    closure_targets: closure_ids
                        .iter()
                        .map(|c| {
                            resolved
                                .get(c)
                                .map_or(&[][..], |r| r.spread_targets.as_slice())
                        })
                        .collect(),
                },
                schema,
            );
            diagnostics.extend(compiled.diagnostics);
            let element = match (compiled.valid, &compiled.operation) {
                (false, _) => None,
                (true, Some(op)) => Some(emit::operation_element(id, def, op)),
                (true, None) if def.kind.is_operation() => None,
                (true, None) => Some(emit::fragment_element(id, def, &own.text)),
            };
            Some(Compiled {
                id: (*id).clone(),
                entry: CompiledEntry {
                    key,
                    element,
                    diagnostics,
                },
                recompiled: true,
            })
        })
    }

    /// Stores the compiled entries, drops those of definitions that are
    /// gone, and applies the resulting artifact delta to the elements.
    /// Returns the delta and the ids compiled anew.
    fn apply_compiled(&mut self, results: Vec<Compiled>) -> (BuilderArtifactDelta, Vec<String>) {
        let mut compiled_ids = Vec::new();
        let mut before: BTreeMap<String, String> = BTreeMap::new();
        let mut after: BTreeMap<String, String> = BTreeMap::new();
        let removed_ids: Vec<String> = self
            .state
            .compiled
            .keys()
            .filter(|id| !self.state.resolved.contains_key(*id))
            .cloned()
            .collect();
        for id in removed_ids {
            self.state.compiled.remove(&id);
            if let Some(old) = self.state.elements.get(&id) {
                before.insert(id, old.clone());
            }
        }
        for Compiled {
            id,
            entry,
            recompiled,
        } in results
        {
            if recompiled {
                compiled_ids.push(id.clone());
            }
            if let Some(old) = self.state.elements.get(&id) {
                before.insert(id.clone(), old.clone());
            }
            if let Some(e) = &entry.element {
                after.insert(id.clone(), e.clone());
            }
            if self.state.compiled.get(&id) != Some(&entry) {
                self.dirty = true;
            }
            self.state.compiled.insert(id, entry);
        }
        let delta = artifact::compute_artifact_delta(&before, &after);
        if !delta.is_empty() {
            // The session's own snapshot no longer needs the old map.
            self.last = None;
            artifact::apply_artifact_delta(Arc::make_mut(&mut self.state.elements), &delta);
        }
        (delta, compiled_ids)
    }

    /// Every diagnostic of the tree: discovery's, the files', the
    /// resolutions', the whole-graph checks', the compilations' and the
    /// include globs', deduplicated, sorted and capped per file.
    fn all_diagnostics(&mut self, mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        for path in &self.index.with_diagnostics {
            if let Some(entry) = self.state.files.get(path) {
                diagnostics.extend(entry.summary.diagnostics.iter().cloned());
            }
        }
        for r in self.state.resolved.values() {
            diagnostics.extend(r.diagnostics.iter().cloned());
        }
        diagnostics.extend(self.state.global_diagnostics.iter().cloned());
        for c in self.state.compiled.values() {
            diagnostics.extend(c.diagnostics.iter().cloned());
        }
        let (config, entries) = (&self.config, &self.state.entries);
        diagnostics.extend(
            self.unmatched_includes
                .get_or_insert_with(|| discover::unmatched_includes(config, entries))
                .iter()
                .cloned(),
        );
        sort_diagnostics(&mut diagnostics);
        diagnostics.dedup();
        truncate_per_file(diagnostics, MAX_PER_FILE)
    }
}

/// The definition a resolved id stands for.
fn definition_of<'a>(
    modules: &'a dyn ModuleSource,
    resolved: &BTreeMap<String, ResolvedDefinition>,
    id: &str,
) -> Option<&'a Definition> {
    let r = resolved.get(id)?;
    modules.module(&r.file)?.definitions.get(r.index)
}

/// What whole-graph checks read of a definition besides edges and positions.
fn name_hash(def: &Definition) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(def.schema_label.as_bytes());
    hasher.update(&[0, u8::from(def.kind.is_operation())]);
    hasher.update(def.name.as_bytes());
    hasher.digest()
}

/// A definition's own content (text, positions, name, metadata) and where
/// its spreads point: equal hashes mean an equal node of the graph.
fn definition_hash(def: &Definition, resolved: &ResolvedDefinition) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    // postcard cannot fail on plain data; an empty encoding still hashes.
    hasher.update(&postcard::to_allocvec(def).unwrap_or_default());
    for target in &resolved.spread_targets {
        hasher.update(target.as_deref().unwrap_or("\0").as_bytes());
        hasher.update(&[0]);
    }
    hasher.digest()
}

/// Everything a compilation reads: the schema, the definition's rendered text
/// (spreads inlined) and the arguments of the fragments it spreads.
fn compile_key(
    schema_hash: u64,
    label: &str,
    own_metadata: Option<&str>,
    own: &Rendered,
    closure: &[(&str, &Definition, &Rendered)],
    content_hashes: &[u64],
) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for h in content_hashes {
        hasher.update(&h.to_le_bytes());
    }
    hasher.update(&schema_hash.to_le_bytes());
    hasher.update(label.as_bytes());
    hasher.update(&[0]);
    hasher.update(own_metadata.unwrap_or("").as_bytes());
    hasher.update(&[0]);
    hasher.update(own.text.as_bytes());
    hasher.update(&[0]);
    // Spreads are inlined in `own.text`; only fragment arguments come from the closure.
    for (_, _, r) in closure {
        hasher.update(r.fragment_vars.as_deref().unwrap_or("").as_bytes());
        hasher.update(&[3]);
    }
    hasher.digest()
}
