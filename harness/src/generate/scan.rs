//! Reads a soda-gql project back: per file, its imports, re-exports and
//! tagged-template definitions; across files, which definition each
//! `...${x}` spread refers to. A line-oriented scanner for the shapes the
//! generator and the reference project write (not a TypeScript parser): it
//! is used to pick the targeted edit on any fixture, and by tests to check
//! generated projects.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::GenerateError;

/// Canonical id of a definition: `<path relative to the project root>::<export name>`,
/// as the builder's artifact names elements.
pub(crate) type DefinitionId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefinitionKind {
    Fragment,
    Query,
    Mutation,
    Subscription,
}

impl DefinitionKind {
    const ALL: [(DefinitionKind, &'static str); 4] = [
        (DefinitionKind::Fragment, "fragment"),
        (DefinitionKind::Query, "query"),
        (DefinitionKind::Mutation, "mutation"),
        (DefinitionKind::Subscription, "subscription"),
    ];
}

/// `import { imported as local } from "specifier"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportBinding {
    pub(crate) local: String,
    pub(crate) imported: String,
    pub(crate) specifier: String,
}

/// `export { imported as exported } from "specifier"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReExport {
    pub(crate) exported: String,
    pub(crate) imported: String,
    pub(crate) specifier: String,
}

/// A module specifier as written, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecifierUse {
    pub(crate) specifier: String,
    pub(crate) line: usize,
}

/// One `${expr}` inside a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interpolation {
    pub(crate) expression: String,
    /// Written as `...${expr}`: a fragment spread.
    pub(crate) is_spread: bool,
}

/// `export const <export_name> = gql.<schema>(({ kind }) => kind("Name"[, "Type"])`<template>`())`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScannedDefinition {
    pub(crate) export_name: String,
    pub(crate) kind: DefinitionKind,
    pub(crate) graphql_name: String,
    pub(crate) on_type: Option<String>,
    /// Byte range of the template's contents (between the backticks) in the file.
    pub(crate) template_start: usize,
    pub(crate) template_end: usize,
    pub(crate) interpolations: Vec<Interpolation>,
    pub(crate) line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModuleSummary {
    pub(crate) imports: Vec<ImportBinding>,
    pub(crate) re_exports: Vec<ReExport>,
    pub(crate) star_re_exports: Vec<String>,
    /// Every specifier of an import or re-export, packages included.
    pub(crate) specifiers: Vec<SpecifierUse>,
    pub(crate) definitions: Vec<ScannedDefinition>,
}

/// A problem in one file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanProblem {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// Longest import statement (in lines) the scanner follows before giving up on it.
const MAX_STATEMENT_LINES: usize = 200;

/// Deepest chain of re-exports followed when resolving a name.
const MAX_RE_EXPORT_DEPTH: usize = 32;

/// Scans one file. Definitions whose shape is not the tagged-template one
/// (e.g. the callback builder API) are skipped; a tagged template that is
/// cut short is a problem.
pub(crate) fn scan_module(text: &str) -> Result<ModuleSummary, ScanProblem> {
    let mut summary = ModuleSummary::default();
    let lines: Vec<(usize, &str)> = line_offsets(text);
    let mut index = 0;
    while index < lines.len() {
        let (offset, line) = lines[index];
        let trimmed = line.trim_start();
        let is_module_statement = trimmed.starts_with("import ")
            || trimmed.starts_with("import{")
            || trimmed.starts_with("export {")
            || trimmed.starts_with("export type {")
            || trimmed.starts_with("export *");
        if is_module_statement {
            // Follow the statement over lines until it names its module.
            let mut statement = String::new();
            let mut end = index;
            while end < lines.len() && end < index + MAX_STATEMENT_LINES {
                statement.push_str(lines[end].1);
                statement.push(' ');
                if statement_complete(&statement) {
                    break;
                }
                end += 1;
            }
            parse_module_statement(&statement, index + 1, &mut summary);
            index = end + 1;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("export const ") {
            if let Some(definition) =
                scan_definition(text, offset + (line.len() - trimmed.len()), index + 1, rest)?
            {
                summary.definitions.push(definition);
            }
        }
        index += 1;
    }
    Ok(summary)
}

fn line_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    text.split('\n')
        .map(|line| {
            let start = offset;
            offset += line.len() + 1;
            (start, line)
        })
        .collect()
}

/// A statement is complete once it has a quoted module name (`from "x"` or
/// `import "x"`), or ends without one (`export { a };`).
fn statement_complete(statement: &str) -> bool {
    quoted_specifier(statement).is_some() || statement.trim_end().ends_with(';')
}

/// The last quoted string of a statement: its module specifier.
fn quoted_specifier(statement: &str) -> Option<String> {
    let end_quote = statement.rfind(['"', '\''])?;
    let quote = statement[end_quote..].chars().next()?;
    let start_quote = statement[..end_quote].rfind(quote)?;
    let before = statement[..start_quote].trim_end();
    if before.ends_with("from") || before.ends_with("import") {
        Some(statement[start_quote + 1..end_quote].to_string())
    } else {
        None
    }
}

/// `a, b as c, type d` -> [(a, a), (b, c), (d, d)].
fn named_list(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|item| {
            let item = item.trim();
            let item = item.strip_prefix("type ").unwrap_or(item).trim();
            if item.is_empty() {
                return None;
            }
            let mut parts = item.split_whitespace();
            let first = parts.next()?.to_string();
            match (parts.next(), parts.next()) {
                (Some("as"), Some(second)) => Some((first, second.to_string())),
                _ => Some((first.clone(), first)),
            }
        })
        .collect()
}

fn braces(statement: &str) -> Option<&str> {
    let open = statement.find('{')?;
    let close = statement[open..].find('}')? + open;
    Some(&statement[open + 1..close])
}

fn parse_module_statement(statement: &str, line: usize, summary: &mut ModuleSummary) {
    let Some(specifier) = quoted_specifier(statement) else {
        return; // `export { a };` without a module: nothing to resolve.
    };
    summary.specifiers.push(SpecifierUse {
        specifier: specifier.clone(),
        line,
    });
    let trimmed = statement.trim_start();
    if trimmed.starts_with("import") {
        if let Some(list) = braces(statement) {
            for (imported, local) in named_list(list) {
                summary.imports.push(ImportBinding {
                    local,
                    imported,
                    specifier: specifier.clone(),
                });
            }
        }
    } else if let Some(rest) = trimmed.strip_prefix("export *") {
        // `export * as ns from` binds one name, not a star re-export.
        if !rest.trim_start().starts_with("as ") {
            summary.star_re_exports.push(specifier);
        }
    } else if let Some(list) = braces(statement) {
        for (imported, exported) in named_list(list) {
            summary.re_exports.push(ReExport {
                exported,
                imported,
                specifier: specifier.clone(),
            });
        }
    }
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Reads a `"..."` literal at the start of `text` (after whitespace):
/// its value and the length consumed.
fn string_literal(text: &str) -> Option<(String, usize)> {
    let skipped = text.len() - text.trim_start().len();
    let rest = &text[skipped..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let close = rest[1..].find(quote)? + 1;
    Some((rest[1..close].to_string(), skipped + close + 1))
}

fn scan_definition(
    text: &str,
    statement_start: usize,
    line: usize,
    rest: &str,
) -> Result<Option<ScannedDefinition>, ScanProblem> {
    let Some(eq) = rest.find('=') else {
        return Ok(None);
    };
    let export_name = rest[..eq].trim().to_string();
    let after_eq = rest[eq + 1..].trim_start();
    if !is_identifier(&export_name) || !after_eq.starts_with("gql.") {
        return Ok(None);
    }
    // The builder call is the earliest `kind(` followed by a string literal.
    let search_from = statement_start + (rest.len() - after_eq.len()) + "export const ".len();
    // Stay inside this statement: a later definition's call is not ours.
    let body = &text[search_from..];
    let body = body.find("\nexport ").map_or(body, |end| &body[..end]);
    let call = DefinitionKind::ALL
        .iter()
        .filter_map(|(kind, word)| {
            let needle = format!("{word}(");
            let mut from = 0;
            while let Some(found) = body[from..].find(&needle) {
                let at = from + found;
                let preceded_by_identifier = body[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
                let args = &body[at + needle.len()..];
                if !preceded_by_identifier && args.trim_start().starts_with(['"', '\'']) {
                    return Some((at, at + needle.len(), *kind));
                }
                from = at + needle.len();
            }
            None
        })
        .min_by_key(|(at, _, _)| *at);
    let Some((_, args_start, kind)) = call else {
        return Ok(None); // Not a tagged-template definition.
    };
    let problem = |message: &str| ScanProblem {
        line,
        message: format!("definition `{export_name}`: {message}"),
    };
    let mut cursor = args_start;
    let (graphql_name, used) = string_literal(&body[cursor..])
        .ok_or_else(|| problem("expected the name as a string literal"))?;
    cursor += used;
    let mut on_type = None;
    if kind == DefinitionKind::Fragment {
        let after_name = body[cursor..].trim_start();
        let comma = after_name
            .strip_prefix(',')
            .ok_or_else(|| problem("expected `, \"TypeName\"` after the fragment name"))?;
        cursor += body[cursor..].len() - comma.len();
        let (type_name, used) = string_literal(&body[cursor..])
            .ok_or_else(|| problem("expected the type name as a string literal"))?;
        cursor += used;
        on_type = Some(type_name);
    }
    let after_args = body[cursor..].trim_start();
    let template_open = after_args
        .strip_prefix(')')
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix('`'))
        .ok_or_else(|| problem("expected `)` and a template literal after the arguments"))?;
    let template_start = search_from + (body.len() - template_open.len());
    let (template_end, interpolations) = scan_template(text, template_start)
        .ok_or_else(|| problem("unterminated template literal"))?;
    Ok(Some(ScannedDefinition {
        export_name,
        kind,
        graphql_name,
        on_type,
        template_start,
        template_end,
        interpolations,
        line,
    }))
}

/// From just after an opening backtick: the offset of the closing backtick
/// and the `${...}` expressions met on the way.
fn scan_template(text: &str, start: usize) -> Option<(usize, Vec<Interpolation>)> {
    let bytes = text.as_bytes();
    let mut interpolations = Vec::new();
    let mut at = start;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'`' => return Some((at, interpolations)),
            b'$' if bytes.get(at + 1) == Some(&b'{') => {
                let expression_start = at + 2;
                let mut depth = 1;
                let mut end = expression_start;
                while end < bytes.len() && depth > 0 {
                    match bytes[end] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    end += 1;
                }
                if depth != 0 {
                    return None;
                }
                let is_spread = text[start..at].trim_end().ends_with("...");
                interpolations.push(Interpolation {
                    expression: text[expression_start..end - 1].trim().to_string(),
                    is_spread,
                });
                at = end;
            }
            _ => at += 1,
        }
    }
    None
}

/// Every scanned module of a project, by path relative to its root.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProjectIndex {
    pub(crate) modules: BTreeMap<String, ModuleSummary>,
}

/// A spread that names no definition the scanner could find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnresolvedSpread {
    pub(crate) from: DefinitionId,
    pub(crate) expression: String,
}

/// Who spreads whom, by canonical id.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpreadGraph {
    pub(crate) kinds: BTreeMap<DefinitionId, DefinitionKind>,
    pub(crate) spreads: BTreeMap<DefinitionId, Vec<DefinitionId>>,
    pub(crate) unresolved: Vec<UnresolvedSpread>,
}

impl SpreadGraph {
    /// How many operations reach each fragment through spreads, directly or
    /// through other fragments (cycles are tolerated: each fragment counted
    /// once per operation).
    pub(crate) fn dependent_operations(&self) -> BTreeMap<DefinitionId, usize> {
        let mut counts: BTreeMap<DefinitionId, usize> = self
            .kinds
            .iter()
            .filter(|(_, kind)| **kind == DefinitionKind::Fragment)
            .map(|(id, _)| (id.clone(), 0))
            .collect();
        for (id, kind) in &self.kinds {
            if *kind == DefinitionKind::Fragment {
                continue;
            }
            for fragment in self.reachable(id) {
                if let Some(count) = counts.get_mut(&fragment) {
                    *count += 1;
                }
            }
        }
        counts
    }

    /// Definitions reachable from `start` through spreads, `start` excluded.
    pub(crate) fn reachable(&self, start: &str) -> BTreeSet<DefinitionId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = vec![start];
        while let Some(current) = stack.pop() {
            for next in self.spreads.get(current).into_iter().flatten() {
                if next != start && seen.insert(next.clone()) {
                    stack.push(next);
                }
            }
        }
        seen
    }
}

impl ProjectIndex {
    /// Scans every `.ts` file under `root`, skipping hidden directories,
    /// `node_modules`, and test/spec files (as the generated config does).
    pub(crate) fn read(root: &Path) -> Result<ProjectIndex, GenerateError> {
        let mut paths = Vec::new();
        collect_ts_files(root, root, &mut paths)?;
        let mut index = ProjectIndex::default();
        for (relative, absolute) in paths {
            let text = fs::read_to_string(&absolute)
                .map_err(|e| GenerateError::io("read", &absolute, e))?;
            let summary = scan_module(&text).map_err(|problem| GenerateError::Scan {
                path: absolute.clone(),
                line: problem.line,
                message: problem.message,
            })?;
            index.modules.insert(relative, summary);
        }
        Ok(index)
    }

    /// Scans in-memory sources (path relative to the root, contents).
    #[cfg(test)]
    pub(crate) fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ProjectIndex, (String, ScanProblem)> {
        let mut index = ProjectIndex::default();
        for (path, text) in sources {
            if !path.ends_with(".ts") {
                continue;
            }
            let summary = scan_module(text).map_err(|problem| (path.to_string(), problem))?;
            index.modules.insert(path.to_string(), summary);
        }
        Ok(index)
    }

    /// The module a relative specifier names, `None` for packages and for
    /// relative specifiers that match no scanned file.
    pub(crate) fn resolve_module(&self, from: &str, specifier: &str) -> Option<&str> {
        let base = resolve_relative(from, specifier)?;
        let candidates = [
            base.clone(),
            format!("{base}.ts"),
            format!("{base}.tsx"),
            format!("{base}/index.ts"),
            format!("{base}/index.tsx"),
        ];
        candidates.iter().find_map(|candidate| {
            self.modules
                .get_key_value(candidate.as_str())
                .map(|(k, _)| k.as_str())
        })
    }

    /// The definition that `name` exported by `module` is, through re-exports.
    pub(crate) fn resolve_export(&self, module: &str, name: &str) -> Option<DefinitionId> {
        self.resolve_export_at(module, name, 0)
    }

    fn resolve_export_at(&self, module: &str, name: &str, depth: usize) -> Option<DefinitionId> {
        if depth > MAX_RE_EXPORT_DEPTH {
            return None;
        }
        let summary = self.modules.get(module)?;
        if summary.definitions.iter().any(|d| d.export_name == name) {
            return Some(format!("{module}::{name}"));
        }
        for re_export in summary.re_exports.iter().filter(|r| r.exported == name) {
            if let Some(target) = self.resolve_module(module, &re_export.specifier) {
                if let Some(found) = self.resolve_export_at(target, &re_export.imported, depth + 1)
                {
                    return Some(found);
                }
            }
        }
        summary.star_re_exports.iter().find_map(|specifier| {
            let target = self.resolve_module(module, specifier)?;
            self.resolve_export_at(target, name, depth + 1)
        })
    }

    /// The definition a local name in `module` refers to.
    pub(crate) fn resolve_local(&self, module: &str, local: &str) -> Option<DefinitionId> {
        let summary = self.modules.get(module)?;
        if summary.definitions.iter().any(|d| d.export_name == local) {
            return Some(format!("{module}::{local}"));
        }
        summary
            .imports
            .iter()
            .filter(|import| import.local == local)
            .find_map(|import| {
                let target = self.resolve_module(module, &import.specifier)?;
                self.resolve_export(target, &import.imported)
            })
    }

    pub(crate) fn definitions(
        &self,
    ) -> impl Iterator<Item = (DefinitionId, &str, &ScannedDefinition)> {
        self.modules.iter().flat_map(|(module, summary)| {
            summary.definitions.iter().map(move |definition| {
                (
                    format!("{module}::{}", definition.export_name),
                    module.as_str(),
                    definition,
                )
            })
        })
    }

    pub(crate) fn spread_graph(&self) -> SpreadGraph {
        let mut graph = SpreadGraph::default();
        for (id, module, definition) in self.definitions() {
            graph.kinds.insert(id.clone(), definition.kind);
            let mut targets = Vec::new();
            for interpolation in definition.interpolations.iter().filter(|i| i.is_spread) {
                match self.resolve_local(module, &interpolation.expression) {
                    Some(target) => targets.push(target),
                    None => graph.unresolved.push(UnresolvedSpread {
                        from: id.clone(),
                        expression: interpolation.expression.clone(),
                    }),
                }
            }
            graph.spreads.insert(id, targets);
        }
        graph
    }
}

/// `from` = "src/pages/a.ts", specifier "../entities/b" -> "src/entities/b".
/// `None` for package specifiers and paths escaping the root.
fn resolve_relative(from: &str, specifier: &str) -> Option<String> {
    if !specifier.starts_with("./")
        && !specifier.starts_with("../")
        && specifier != "."
        && specifier != ".."
    {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop(); // The file name.
    for segment in specifier.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn collect_ts_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), GenerateError> {
    let entries = fs::read_dir(dir).map_err(|e| GenerateError::io("list", dir, e))?;
    let mut entries: Vec<(String, PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path();
            let is_dir = path.is_dir();
            (
                entry.file_name().to_string_lossy().into_owned(),
                path,
                is_dir,
            )
        })
        .collect();
    entries.sort();
    for (name, path, is_dir) in entries {
        if is_dir {
            if !name.starts_with('.') && name != "node_modules" {
                collect_ts_files(root, &path, out)?;
            }
        } else if name.ends_with(".ts")
            && !name.ends_with(".test.ts")
            && !name.ends_with(".spec.ts")
        {
            if let Ok(relative) = path.strip_prefix(root) {
                let relative = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((relative, path));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    const FRAGMENT_FILE: &str = r#"import { gql } from "../../graphql-system";
import { model0 } from "./model0";
import {
  model1 as first,
  type Other,
} from "./model1";

export const model3 = gql.default(({ fragment }) =>
  fragment("Model3Fields", "Entity3")`($limit: Int = 5) {
    id
    related {
      ...${model0}
    }
    ...${ first }
  }`(),
);
"#;

    #[test]
    fn scans_imports_and_a_fragment() {
        let summary = scan_module(FRAGMENT_FILE).unwrap();
        assert_eq!(summary.specifiers.len(), 3);
        assert_eq!(summary.specifiers[2].line, 3);
        assert_eq!(
            summary.imports[2],
            ImportBinding {
                local: "first".into(),
                imported: "model1".into(),
                specifier: "./model1".into()
            }
        );
        assert_eq!(summary.imports.len(), 4);
        let definition = &summary.definitions[0];
        assert_eq!(definition.export_name, "model3");
        assert_eq!(definition.kind, DefinitionKind::Fragment);
        assert_eq!(definition.graphql_name, "Model3Fields");
        assert_eq!(definition.on_type.as_deref(), Some("Entity3"));
        assert_eq!(definition.line, 8);
        let template = &FRAGMENT_FILE[definition.template_start..definition.template_end];
        assert!(template.starts_with("($limit: Int = 5) {"));
        assert!(template.ends_with("  }"));
        let spreads: Vec<&str> = definition
            .interpolations
            .iter()
            .map(|i| i.expression.as_str())
            .collect();
        assert_eq!(spreads, vec!["model0", "first"]);
        assert!(definition.interpolations.iter().all(|i| i.is_spread));
    }

    #[test]
    fn scans_re_exports_and_operations() {
        let barrel = "export { a, b as c } from \"./x\";\nexport * from \"./y\";\nexport * as ns from \"./z\";\n";
        let summary = scan_module(barrel).unwrap();
        assert_eq!(summary.re_exports.len(), 2);
        assert_eq!(summary.re_exports[1].exported, "c");
        assert_eq!(summary.star_re_exports, vec!["./y".to_string()]);

        let op = "export const op = gql.default(({ mutation }) =>\n  mutation(\"Op\")`($id: ID!) { a(id: $id) { id } }`(),\n);\n";
        let summary = scan_module(op).unwrap();
        assert_eq!(summary.definitions[0].kind, DefinitionKind::Mutation);
        assert_eq!(summary.definitions[0].on_type, None);
    }

    #[test]
    fn skips_non_template_definitions_and_reports_broken_templates() {
        let callback = "export const f = gql.default(({ fragment }) => fragment.User({ fields: () => ({}) }));\n";
        assert!(scan_module(callback).unwrap().definitions.is_empty());
        let broken = "export const f = gql.default(({ query }) =>\n  query(\"Q\")`{ a ";
        let problem = scan_module(broken).unwrap_err();
        assert_eq!(problem.line, 1);
        assert!(
            problem.message.contains("unterminated"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn resolves_through_named_and_star_barrels() {
        let index = ProjectIndex::from_sources([
            ("src/entities/model0.ts", "export const model0 = gql.default(({ fragment }) =>\n  fragment(\"M0\", \"E0\")`{ id }`(),\n);\n"),
            ("src/entities/models.ts", "export { model0 as renamed } from \"./model0\";\n"),
            ("src/entities/index.ts", "export * from \"./models\";\n"),
            (
                "src/pages/p.ts",
                "import { renamed as local } from \"../entities\";\nexport const p = gql.default(({ query }) =>\n  query(\"P\")`{ e0(id: 1) { ...${local} } }`(),\n);\n",
            ),
        ])
        .unwrap();
        assert_eq!(
            index.resolve_module("src/pages/p.ts", "../entities"),
            Some("src/entities/index.ts")
        );
        assert_eq!(index.resolve_module("src/pages/p.ts", "react"), None);
        let graph = index.spread_graph();
        assert!(graph.unresolved.is_empty());
        assert_eq!(
            graph.spreads["src/pages/p.ts::p"],
            vec!["src/entities/model0.ts::model0".to_string()]
        );
        assert_eq!(
            graph.dependent_operations()["src/entities/model0.ts::model0"],
            1
        );
    }

    #[test]
    fn relative_resolution() {
        assert_eq!(
            resolve_relative("src/a/b.ts", "../c/d").as_deref(),
            Some("src/c/d")
        );
        assert_eq!(
            resolve_relative("src/a/b.ts", "./d").as_deref(),
            Some("src/a/d")
        );
        assert_eq!(resolve_relative("b.ts", "../x"), None);
        assert_eq!(resolve_relative("src/b.ts", "lodash-es"), None);
    }
}
