//! The dependency graph: canonical ids, spread resolution through imports and
//! re-exports, fragment spread cycles, duplicate names, unknown schemas.
//!
//! Pure: it reads module summaries and answers from them, no IO. Resolution of
//! one definition records the *trail* of files it consulted, so an edit to any
//! of them (or the creation of a file at a path it probed) re-resolves it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostics::{codes, Diagnostic, Location, Snippet};
use crate::phases::analyze::{
    Definition, DefinitionKind, ExportEntry, ImportedName, ModuleSummary,
};
use crate::phases::discover::FileTable;
use crate::phases::resolve::{self, Resolution};

/// Module summaries by path, as the graph reads them. The session's file
/// table implements it with summaries decoded on first use.
pub trait ModuleSource: Sync {
    fn module(&self, path: &str) -> Option<&ModuleSummary>;
    /// Whether `path` is a project file (without decoding its summary).
    fn contains(&self, path: &str) -> bool;
}

/// Plain summaries in a map (tests, tools).
pub type Modules = BTreeMap<String, Arc<ModuleSummary>>;

impl ModuleSource for FileTable {
    fn module(&self, path: &str) -> Option<&ModuleSummary> {
        self.get(path).map(|e| e.summary.get())
    }

    fn contains(&self, path: &str) -> bool {
        self.contains_key(path)
    }
}

impl ModuleSource for Modules {
    fn module(&self, path: &str) -> Option<&ModuleSummary> {
        self.get(path).map(|m| &**m)
    }

    fn contains(&self, path: &str) -> bool {
        self.contains_key(path)
    }
}

pub fn canonical_id(file: &str, ast_path: &str) -> String {
    format!("{file}::{ast_path}")
}

/// The file part of a canonical id (`file::astPath`): [`canonical_id`]'s
/// inverse, for ids whose definition is no longer at hand.
pub fn file_of_id(id: &str) -> Option<&str> {
    id.split_once("::").map(|(file, _)| file)
}

/// Where one definition's spreads point, and what was consulted to find out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedDefinition {
    pub id: String,
    pub file: String,
    /// Index into the file's `definitions`.
    pub index: usize,
    /// Per interpolation: the canonical id of the spread fragment, if resolved.
    pub spread_targets: Vec<Option<String>>,
    /// Files (and probed paths) the resolution read.
    pub trail: BTreeSet<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ResolvedDefinition {
    /// Distinct direct fragment dependencies, in spread order.
    pub fn deps(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for target in self.spread_targets.iter().flatten() {
            if !out.contains(&target.as_str()) {
                out.push(target);
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Definition {
        id: String,
        kind: DefinitionKind,
    },
    Namespace(String),
    /// A binding that exists but is not a gql definition.
    Value,
}

#[derive(Debug, Clone)]
enum ResolveError {
    UnresolvedImport {
        file: String,
        specifier: String,
        line: u32,
        column: u32,
        /// The import's line (or its excerpt) and the characters before it.
        line_text: (String, u32),
    },
    MissingExport {
        module: String,
        name: String,
        /// Where the import that asked for it is.
        at: Option<(String, u32, u32, (String, u32))>,
    },
    UnknownBinding,
    TooDeep,
}

struct Resolver<'a> {
    modules: &'a dyn ModuleSource,
    root_dir: &'a std::path::Path,
    trail: BTreeSet<String>,
}

impl<'a> Resolver<'a> {
    fn module(&mut self, path: &str) -> Option<&'a ModuleSummary> {
        self.trail.insert(path.to_owned());
        self.modules.module(path)
    }

    fn resolve_specifier(&mut self, from: &str, specifier: &str) -> Resolution {
        let modules = self.modules;
        let resolution =
            resolve::resolve_in(self.root_dir, from, specifier, |p| modules.contains(p));
        match &resolution {
            Resolution::File(p) => {
                self.trail.insert(p.clone());
            }
            Resolution::NotFound { tried } => self.trail.extend(tried.iter().cloned()),
            Resolution::External | Resolution::Asset => {}
        }
        resolution
    }

    /// A local name in `file`: a definition it holds, or an import followed.
    fn resolve_local(
        &mut self,
        file: &str,
        local: &str,
        depth: usize,
    ) -> Result<Target, ResolveError> {
        if depth > 64 {
            return Err(ResolveError::TooDeep);
        }
        let Some(module) = self.module(file) else {
            return Err(ResolveError::UnknownBinding);
        };
        if let Some(def) = module
            .definitions
            .iter()
            .find(|d| d.binding.as_deref() == Some(local))
        {
            return Ok(Target::Definition {
                id: canonical_id(file, &def.ast_path),
                kind: def.kind,
            });
        }
        let import = module.imports.iter().find_map(|i| {
            i.bindings.iter().find(|b| b.local == local).map(|b| {
                (
                    i.specifier.clone(),
                    i.location.line,
                    b.clone(),
                    (i.line_text.clone(), i.line_skipped),
                    i.location.column,
                )
            })
        });
        let Some((specifier, spec_line, binding, line_text, spec_column)) = import else {
            return Err(ResolveError::UnknownBinding);
        };
        let target = match self.resolve_specifier(file, &specifier) {
            Resolution::File(target) => target,
            Resolution::External | Resolution::Asset => return Ok(Target::Value),
            Resolution::NotFound { .. } => {
                return Err(ResolveError::UnresolvedImport {
                    file: file.to_owned(),
                    specifier,
                    line: spec_line,
                    column: spec_column,
                    line_text,
                })
            }
        };
        let result = match &binding.imported {
            ImportedName::Namespace => return Ok(Target::Namespace(target)),
            ImportedName::Default => self.resolve_export(&target, "default", depth + 1),
            ImportedName::Named(name) => self.resolve_export(&target, name, depth + 1),
        };
        match result {
            Err(ResolveError::MissingExport {
                module,
                name,
                at: None,
            }) => Err(ResolveError::MissingExport {
                module,
                name,
                at: Some((file.to_owned(), binding.line, binding.column, line_text)),
            }),
            other => other,
        }
    }

    fn resolve_export(
        &mut self,
        file: &str,
        name: &str,
        depth: usize,
    ) -> Result<Target, ResolveError> {
        if depth > 64 {
            return Err(ResolveError::TooDeep);
        }
        let Some(module) = self.module(file) else {
            return Err(ResolveError::UnknownBinding);
        };
        let exports = &module.exports;
        for entry in exports {
            match entry {
                ExportEntry::Local { exported, local } if exported == name => {
                    return self.resolve_local(file, local, depth + 1);
                }
                ExportEntry::Named {
                    exported,
                    imported,
                    specifier,
                } if exported == name => {
                    return match self.resolve_specifier(file, specifier) {
                        Resolution::File(target) => {
                            self.resolve_export(&target, imported, depth + 1)
                        }
                        Resolution::External | Resolution::Asset => Ok(Target::Value),
                        Resolution::NotFound { .. } => Err(ResolveError::UnresolvedImport {
                            file: file.to_owned(),
                            specifier: specifier.clone(),
                            line: 0,
                            column: 0,
                            line_text: (String::new(), 0),
                        }),
                    };
                }
                ExportEntry::Namespace {
                    exported,
                    specifier,
                } if exported == name => {
                    return match self.resolve_specifier(file, specifier) {
                        Resolution::File(target) => Ok(Target::Namespace(target)),
                        _ => Ok(Target::Value),
                    };
                }
                _ => {}
            }
        }
        if name != "default" {
            for entry in exports {
                if let ExportEntry::Star { specifier } = entry {
                    if let Resolution::File(target) = self.resolve_specifier(file, specifier) {
                        match self.resolve_export(&target, name, depth + 1) {
                            Err(ResolveError::MissingExport { .. }) => continue,
                            other => return other,
                        }
                    }
                }
            }
        }
        Err(ResolveError::MissingExport {
            module: file.to_owned(),
            name: name.to_owned(),
            at: None,
        })
    }
}

fn at(
    file: &str,
    line: u32,
    column: u32,
    line_text: &str,
    len: usize,
) -> (Location, Option<Snippet>) {
    (
        Location {
            file: file.to_owned(),
            line,
            column,
        },
        Some(Snippet::new(line_text, column, len as u32)),
    )
}

/// [`at`] inside a definition's span, from the lines it keeps.
fn at_definition(
    def: &Definition,
    file: &str,
    line: u32,
    column: u32,
    len: usize,
) -> (Location, Option<Snippet>) {
    (
        Location {
            file: file.to_owned(),
            line,
            column,
        },
        Some(def.snippet(line, column, len as u32)),
    )
}

/// [`at`] in a line kept as an excerpt that skips `skipped` characters.
fn at_excerpt(
    file: &str,
    line: u32,
    column: u32,
    (text, skipped): &(String, u32),
    len: usize,
) -> (Location, Option<Snippet>) {
    let (mut location, snippet) = at(
        file,
        line,
        column.saturating_sub(*skipped).max(1),
        text,
        len,
    );
    location.column = column;
    let snippet = snippet.map(|mut s| {
        s.skipped += skipped;
        s
    });
    (location, snippet)
}

/// Resolves every spread of one definition. One function because each
/// interpolation's trail (every file consulted) must be recorded as it is
/// followed; the invalidation of targeted rebuilds rests on it.
pub fn resolve_definition(
    modules: &dyn ModuleSource,
    root_dir: &std::path::Path,
    file: &str,
    index: usize,
) -> Option<ResolvedDefinition> {
    let def = modules.module(file)?.definitions.get(index)?;
    let mut resolver = Resolver {
        modules,
        root_dir,
        trail: BTreeSet::new(),
    };
    resolver.trail.insert(file.to_owned());
    let mut spread_targets = Vec::new();
    let mut diagnostics = Vec::new();
    for interp in &def.interpolations {
        let (loc, snippet) = at_definition(
            def,
            file,
            interp.line,
            interp.column,
            interp.source.chars().count(),
        );
        let spread_diag = |message: String| {
            Diagnostic::error(codes::UNRESOLVED_SPREAD, message)
                .at(loc.clone(), snippet.clone())
                .with_help("interpolate a fragment defined with gql.<schema>(({ fragment }) => fragment(\"Name\", \"Type\")`{ ... }`())")
        };
        let result = match interp.path.as_slice() {
            [] => {
                diagnostics.push(spread_diag(format!("`${{{}}}` is not a fragment reference: only an identifier (or namespace.member) can be interpolated", interp.source)));
                spread_targets.push(None);
                continue;
            }
            [local] => resolver.resolve_local(file, local, 0),
            [ns, member] => match resolver.resolve_local(file, ns, 0) {
                Ok(Target::Namespace(module)) => resolver.resolve_export(&module, member, 0),
                Ok(_) => Ok(Target::Value),
                Err(e) => Err(e),
            },
            _ => Ok(Target::Value),
        };
        let target = match result {
            Ok(Target::Definition {
                id,
                kind: DefinitionKind::Fragment,
            }) => Some(id),
            Ok(Target::Definition { id, .. }) => {
                diagnostics.push(spread_diag(format!(
                    "`${{{}}}` refers to operation `{id}`; only fragments can be spread",
                    interp.source
                )));
                None
            }
            Ok(Target::Namespace(_)) | Ok(Target::Value) | Err(ResolveError::UnknownBinding) => {
                diagnostics.push(spread_diag(format!(
                    "`${{{}}}` does not refer to a gql fragment",
                    interp.source
                )));
                None
            }
            Err(ResolveError::TooDeep) => {
                diagnostics.push(spread_diag(format!(
                    "`${{{}}}`: re-export chain too deep (a re-export cycle?)",
                    interp.source
                )));
                None
            }
            Err(ResolveError::UnresolvedImport {
                file: ifile,
                specifier,
                line,
                column,
                line_text,
            }) => {
                let mut d = Diagnostic::error(
                    codes::UNRESOLVED_IMPORT,
                    format!("cannot resolve import \"{specifier}\" from {ifile} (needed by `${{{}}}` in {})", interp.source, def.name),
                )
                .with_help("check the path; relative imports resolve to .ts/.tsx files or a directory's index.ts");
                if line > 0 {
                    let (l, s) = at_excerpt(&ifile, line, column, &line_text, specifier.len() + 2);
                    d = d.at(l, s);
                } else {
                    d = d.at(loc.clone(), snippet.clone());
                }
                diagnostics.push(d);
                None
            }
            Err(ResolveError::MissingExport {
                module,
                name,
                at: site,
            }) => {
                let mut d = Diagnostic::error(
                    codes::MISSING_EXPORT,
                    format!(
                        "module {module} has no export named `{name}` (needed by `${{{}}}` in {})",
                        interp.source, def.name
                    ),
                )
                .with_help(format!("export `{name}` from {module}, or fix the import"));
                d = match site {
                    Some((f, l, c, text)) => {
                        let (l, s) = at_excerpt(&f, l, c, &text, name.len());
                        d.at(l, s)
                    }
                    None => d.at(loc.clone(), snippet.clone()),
                };
                diagnostics.push(d);
                None
            }
        };
        spread_targets.push(target);
    }
    Some(ResolvedDefinition {
        id: canonical_id(file, &def.ast_path),
        file: file.to_owned(),
        index,
        spread_targets,
        trail: resolver.trail,
        diagnostics,
    })
}

/// Diagnostics that need every definition at once: cycles, duplicate names,
/// unknown schema labels. Returns the ids that must not be compiled.
#[derive(Debug, Default)]
pub struct GlobalCheck {
    pub diagnostics: Vec<Diagnostic>,
    /// Ids in a spread cycle or with an unknown schema.
    pub broken: BTreeSet<String>,
}

pub fn check_global(
    modules: &dyn ModuleSource,
    resolved: &BTreeMap<String, ResolvedDefinition>,
    schema_labels: &BTreeSet<String>,
) -> GlobalCheck {
    let mut out = GlobalCheck::default();
    let def_of = |r: &ResolvedDefinition| -> Option<&Definition> {
        modules.module(&r.file)?.definitions.get(r.index)
    };

    for (id, r) in resolved {
        let Some(def) = def_of(r) else { continue };
        if !schema_labels.contains(&def.schema_label) {
            let known: Vec<_> = schema_labels.iter().map(String::as_str).collect();
            let (loc, snippet) = at_definition(
                def,
                &r.file,
                def.label_location.line,
                def.label_location.column,
                def.schema_label.len(),
            );
            out.diagnostics.push(
                Diagnostic::error(
                    codes::UNKNOWN_SCHEMA,
                    format!(
                        "unknown schema `{}` in gql.{}(...)",
                        def.schema_label, def.schema_label
                    ),
                )
                .at(loc, snippet)
                .with_help(format!(
                    "configured schemas: {}; add it under `schemas` in the config",
                    known.join(", ")
                )),
            );
            out.broken.insert(id.clone());
        }
    }

    // Cycles: iterative DFS with colours over fragment spread edges.
    let deps: HashMap<&str, Vec<&str>> = resolved
        .iter()
        .map(|(id, r)| (id.as_str(), r.deps()))
        .collect();
    let mut colour: HashMap<&str, u8> = HashMap::with_capacity(resolved.len());
    for start in resolved.keys() {
        if colour.get(start.as_str()).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        colour.insert(start, 1);
        while let Some((node, next)) = stack.pop() {
            let node_deps = deps.get(node).map(Vec::as_slice).unwrap_or_default();
            if next < node_deps.len() {
                stack.push((node, next + 1));
                let dep = node_deps[next];
                match colour.get(dep).copied().unwrap_or(0) {
                    0 if resolved.contains_key(dep) => {
                        colour.insert(dep, 1);
                        stack.push((dep, 0));
                    }
                    1 => {
                        // Back edge node -> dep: the cycle is dep ... node.
                        let pos = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let cycle: Vec<&str> = stack[pos..].iter().map(|(n, _)| *n).collect();
                        report_cycle(modules, resolved, &cycle, &mut out);
                    }
                    _ => {}
                }
            } else {
                colour.insert(node, 2);
            }
        }
    }

    // Duplicate names within a schema: ops are an error, fragments a warning.
    let mut first_seen: HashMap<(&str, DefinitionKind, &str), &Location> =
        HashMap::with_capacity(resolved.len());
    for r in resolved.values() {
        let Some(def) = def_of(r) else { continue };
        let kind_key = if def.kind.is_operation() {
            DefinitionKind::Query
        } else {
            DefinitionKind::Fragment
        };
        let key = (def.schema_label.as_str(), kind_key, def.name.as_str());
        match first_seen.get(&key) {
            None => {
                first_seen.insert(key, &def.name_location);
            }
            Some(first) => {
                let (loc, snippet) = at_definition(
                    def,
                    &r.file,
                    def.name_location.line,
                    def.name_location.column,
                    def.name.len() + 2,
                );
                let place = format!("{}:{}:{}", first.file, first.line, first.column);
                let diagnostic = if def.kind.is_operation() {
                    Diagnostic::error(codes::DUPLICATE_OPERATION, format!("operation name `{}` is already used in schema `{}` (first defined at {place})", def.name, def.schema_label))
                        .with_help("operation names must be unique per schema; rename one")
                } else {
                    Diagnostic::warning(codes::DUPLICATE_FRAGMENT, format!("fragment name `{}` is already used (first defined at {place}); fragments are inlined, so both are kept", def.name))
                };
                out.diagnostics.push(diagnostic.at(loc, snippet));
            }
        }
    }
    out
}

fn report_cycle(
    modules: &dyn ModuleSource,
    resolved: &BTreeMap<String, ResolvedDefinition>,
    cycle: &[&str],
    out: &mut GlobalCheck,
) {
    let names: Vec<String> = cycle
        .iter()
        .filter_map(|id| {
            let r = resolved.get(*id)?;
            Some(
                modules
                    .module(&r.file)?
                    .definitions
                    .get(r.index)?
                    .name
                    .clone(),
            )
        })
        .collect();
    // Report at the spread in the cycle member with the smallest id.
    let Some(pos) = (0..cycle.len()).min_by_key(|&i| cycle[i]) else {
        return;
    };
    let from = cycle[pos];
    let to = cycle[(pos + 1) % cycle.len()];
    let Some(r) = resolved.get(from) else { return };
    let Some(def) = modules
        .module(&r.file)
        .and_then(|m| m.definitions.get(r.index))
    else {
        return;
    };
    let spread = r
        .spread_targets
        .iter()
        .position(|t| t.as_deref() == Some(to))
        .and_then(|i| def.interpolations.get(i));
    let mut chain = names.clone();
    if let Some(first) = names.first() {
        chain.push(first.clone());
    }
    let mut diagnostic = Diagnostic::error(
        codes::FRAGMENT_CYCLE,
        format!("fragment spread cycle: {}", chain.join(" -> ")),
    )
    .with_help(
        "a fragment cannot spread itself, directly or through other fragments; remove one spread",
    );
    if let Some(s) = spread {
        let (loc, snippet) =
            at_definition(def, &r.file, s.line, s.column, s.source.chars().count());
        diagnostic = diagnostic.at(loc, snippet);
    }
    out.diagnostics.push(diagnostic);
    out.broken.extend(cycle.iter().map(|s| (*s).to_owned()));
}

/// Fragments reachable from `id` (excluding itself), in a deterministic order.
pub fn fragment_closure(resolved: &BTreeMap<String, ResolvedDefinition>, id: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<String> = resolved
        .get(id)
        .map(|r| r.deps().into_iter().rev().map(str::to_owned).collect())
        .unwrap_or_default();
    while let Some(next) = stack.pop() {
        if next == id || !seen.insert(next.clone()) {
            continue;
        }
        if let Some(r) = resolved.get(&next) {
            stack.extend(r.deps().into_iter().rev().map(str::to_owned));
        }
        order.push(next);
    }
    order
}
