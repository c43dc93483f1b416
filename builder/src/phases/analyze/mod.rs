//! Analysis: one TypeScript file in, an owned [`ModuleSummary`] out.
//!
//! Architecture invariant: swc types never leave this module. Everything a
//! later phase needs (imports, exports, gql definitions with their template
//! text and exact source positions) is copied into plain, serialisable data,
//! which is also what the discovery cache persists.

mod extract;
mod forms;
mod lower;
mod nesting;

use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, Location, Snippet};

/// Bumped whenever the summary's shape or the extraction rules change; part of
/// the persisted cache header, so an old cache is discarded.
pub const ANALYZER_VERSION: u32 = 5;

pub use extract::analyze_module;
pub use forms::{
    ArgValue, DefinitionForm, DirectiveCall, FieldCall, FieldItem, MetaElement, MetaExpr, MetaKey,
    MetaProp, MetadataCallback, SpreadCall, SubSelection,
};
pub(crate) use lower::js_number;
pub use nesting::{on_deep_stack, STACK_SIZE};

/// What the analyzer needs besides the file itself.
#[derive(Debug, Clone)]
pub struct AnalyzerContext {
    /// The graphql-system directory, relative to the config dir (`graphql-system`).
    pub outdir_rel: String,
    /// The config directory: an import that leaves it and comes back in
    /// (`../app/graphql-system` from outside `app/`) still names the outdir.
    pub root_dir: std::path::PathBuf,
    /// Non-relative specifiers that also mean the graphql-system module.
    pub aliases: Vec<String>,
}

impl AnalyzerContext {
    /// The context of every file of a project.
    pub fn for_config(config: &crate::config::Config) -> AnalyzerContext {
        AnalyzerContext {
            outdir_rel: config.relative(&config.outdir),
            root_dir: config.root_dir.clone(),
            aliases: config.graphql_system_aliases.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModuleSummary {
    /// Path relative to the config directory, `/`-separated.
    pub path: String,
    pub imports: Vec<ImportDecl>,
    pub exports: Vec<ExportEntry>,
    pub definitions: Vec<Definition>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ModuleSummary {
    /// Every module specifier this file depends on (imports and re-exports),
    /// in source order, without duplicates.
    pub fn dependency_specifiers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        // Barrels re-export hundreds of modules: a set, not a linear search.
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let from_exports = self.exports.iter().filter_map(|e| match e {
            ExportEntry::Named { specifier, .. }
            | ExportEntry::Star { specifier }
            | ExportEntry::Namespace { specifier, .. } => Some(specifier.as_str()),
            ExportEntry::Local { .. } => None,
        });
        for spec in self
            .imports
            .iter()
            .map(|i| i.specifier.as_str())
            .chain(from_exports)
        {
            if seen.insert(spec) {
                out.push(spec);
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportDecl {
    pub specifier: String,
    pub bindings: Vec<ImportBinding>,
    /// Position of the specifier string, for "unresolved import" diagnostics.
    pub location: Location,
    /// The import's line for diagnostics: whole, or for a long one (minified
    /// code, thousands of imports on one line) the part from where the
    /// import starts, [`ImportDecl::LINE_MAX`] characters at most, so a
    /// summary never holds a copy of a long line per import.
    pub line_text: String,
    /// Characters of the line before `line_text`.
    pub line_skipped: u32,
}

impl ImportDecl {
    /// Longest import line kept whole.
    pub const LINE_MAX: usize = 2 * crate::diagnostics::Snippet::EXCERPT;

    /// `line` as an import starting at 1-based `column` keeps it.
    pub fn line_excerpt(line: &str, column: u32) -> (String, u32) {
        if line.len() <= Self::LINE_MAX {
            return (line.to_owned(), 0);
        }
        let skipped = column.saturating_sub(1);
        let text = line
            .chars()
            .skip(skipped as usize)
            .take(Self::LINE_MAX)
            .collect();
        (text, skipped)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportBinding {
    pub imported: ImportedName,
    pub local: String,
    /// Position of the imported name, for "missing export" diagnostics.
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImportedName {
    Named(String),
    Default,
    Namespace,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExportEntry {
    /// `export const x`, `export { a as b }`, `export default x`.
    Local { exported: String, local: String },
    /// `export { a as b } from "m"`.
    Named {
        exported: String,
        imported: String,
        specifier: String,
    },
    /// `export * from "m"`.
    Star { specifier: String },
    /// `export * as ns from "m"`.
    Namespace { exported: String, specifier: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DefinitionKind {
    Query,
    Mutation,
    Subscription,
    Fragment,
}

impl DefinitionKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DefinitionKind::Query => "query",
            DefinitionKind::Mutation => "mutation",
            DefinitionKind::Subscription => "subscription",
            DefinitionKind::Fragment => "fragment",
        }
    }

    pub fn from_keyword(keyword: &str) -> Option<Self> {
        Some(match keyword {
            "query" => DefinitionKind::Query,
            "mutation" => DefinitionKind::Mutation,
            "subscription" => DefinitionKind::Subscription,
            "fragment" => DefinitionKind::Fragment,
            _ => return None,
        })
    }

    pub fn is_operation(self) -> bool {
        self != DefinitionKind::Fragment
    }
}

/// One `gql.<schema>(...)` definition, as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Definition {
    /// Scope path inside the file (`model0`, `arr$1`, `f._arrow_0.x`).
    pub ast_path: String,
    /// The local variable that directly holds the definition, when there is one;
    /// exports and spreads refer to definitions through it.
    pub binding: Option<String>,
    pub schema_label: String,
    pub kind: DefinitionKind,
    pub name: String,
    /// Fragments only.
    pub type_condition: Option<String>,
    /// Template text pieces (raw), one more than `interpolations`.
    pub parts: Vec<TemplatePart>,
    pub interpolations: Vec<Interpolation>,
    /// A static `metadata` object, as JSON text.
    pub metadata_json: Option<String>,
    /// A `metadata: (ctx) => ...` callback, evaluated when the definition is
    /// compiled (it may read spread fragments' metadata).
    pub metadata_callback: Option<MetadataCallback>,
    /// Tagged template or options-object builder.
    pub form: DefinitionForm,
    /// Position of the `gql` call.
    pub location: Location,
    /// Position of the schema label (`default` in `gql.default`).
    pub label_location: Location,
    /// Position of the name string (`"GetUser"`).
    pub name_location: Location,
    /// The source lines the definition spans, for snippets without
    /// re-reading: each as (excerpt, characters skipped before it). Whole
    /// when short; a long first or last line — shared with other
    /// definitions, as in minified code — is kept only around this one
    /// (2,000 definitions on one 70 KB line each kept the whole line).
    pub first_line: u32,
    pub lines: Vec<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TemplatePart {
    pub text: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interpolation {
    /// `["userFields"]` for `${userFields}`, `["fragments", "user"]` for
    /// `${fragments.user}`; empty for any other expression.
    pub path: Vec<String>,
    /// Source text of the expression, for messages.
    pub source: String,
    /// Position of the expression.
    pub line: u32,
    pub column: u32,
}

impl Definition {
    /// The snippet at a 1-based `line` and `column` inside the definition's
    /// span, underlining `underline` characters.
    pub fn snippet(&self, line: u32, column: u32, underline: u32) -> Snippet {
        let (text, skipped) = line
            .checked_sub(self.first_line)
            .and_then(|i| self.lines.get(i as usize))
            .map_or(("", 0), |(text, skipped)| (text.as_str(), *skipped));
        let mut snippet = Snippet::new(text, column.saturating_sub(skipped).max(1), underline);
        snippet.skipped += skipped;
        snippet
    }

    /// Maps a byte offset inside template part `part` to a 1-based line/column.
    pub fn position_in_part(&self, part: usize, offset: usize) -> (u32, u32) {
        let Some(p) = self.parts.get(part) else {
            return (self.location.line, self.location.column);
        };
        let prefix = p.text.get(..offset.min(p.text.len())).unwrap_or(&p.text);
        match prefix.rfind('\n') {
            Some(nl) => (
                p.line + prefix.matches('\n').count() as u32,
                prefix[nl + 1..].chars().count() as u32 + 1,
            ),
            None => (p.line, p.column + prefix.chars().count() as u32),
        }
    }
}
