//! Diagnostics: problems found in user sources, as values that carry a location.
//!
//! A phase never stops at the first problem: it returns its output together
//! with every diagnostic it found. The CLI renders them (human or JSON).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A 1-based position in a source file (column counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the config directory, with `/` separators.
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// The source line a diagnostic points at, kept with the diagnostic so that a
/// cached diagnostic can be rendered without reading the file again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snippet {
    /// The line, or an excerpt of at most [`Snippet::EXCERPT`] characters
    /// around the column when the line is longer.
    pub line_text: String,
    /// Number of characters to underline (at least 1).
    pub underline: u32,
    /// Characters of the line left out before `line_text` (0: it starts the line).
    pub skipped: u32,
}

impl Snippet {
    /// Longest excerpt kept: a diagnostic never copies a whole long line
    /// (one 10,000-character line with 10,000 errors printed 151 MB).
    pub const EXCERPT: usize = 120;

    /// The snippet of `line` for a diagnostic at 1-based `column`,
    /// underlining `underline` characters, bounded to an excerpt.
    pub fn new(line: &str, column: u32, underline: u32) -> Snippet {
        let chars = line.chars().count();
        let col0 = (column.max(1) - 1) as usize;
        if chars <= Self::EXCERPT {
            let remaining = chars.saturating_sub(col0).max(1) as u32;
            return Snippet {
                line_text: line.to_owned(),
                underline: underline.clamp(1, remaining),
                skipped: 0,
            };
        }
        let start = col0
            .saturating_sub(Self::EXCERPT / 3)
            .min(chars - Self::EXCERPT);
        let line_text: String = line.chars().skip(start).take(Self::EXCERPT).collect();
        let remaining = Self::EXCERPT.saturating_sub(col0 - start.min(col0)).max(1) as u32;
        Snippet {
            line_text,
            underline: underline.clamp(1, remaining),
            skipped: start as u32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `SODA0101`.
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub snippet: Option<Snippet>,
    /// What the user can do about it.
    #[serde(default)]
    pub help: Option<String>,
}

/// JSON leaves out the fields a diagnostic does not have; the persisted
/// state (postcard, which reads fields by position) gets every field, or a
/// diagnostic without a location would make the state undecodable.
impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let omit_absent = serializer.is_human_readable();
        let mut out = serializer.serialize_struct("Diagnostic", 6)?;
        out.serialize_field("severity", &self.severity)?;
        out.serialize_field("code", &self.code)?;
        out.serialize_field("message", &self.message)?;
        if omit_absent && self.location.is_none() {
            out.skip_field("location")?;
        } else {
            out.serialize_field("location", &self.location)?;
        }
        if omit_absent && self.snippet.is_none() {
            out.skip_field("snippet")?;
        } else {
            out.serialize_field("snippet", &self.snippet)?;
        }
        if omit_absent && self.help.is_none() {
            out.skip_field("help")?;
        } else {
            out.serialize_field("help", &self.help)?;
        }
        out.end()
    }
}

/// Every diagnostic code the builder emits, in one place so that docs and tests
/// can enumerate them.
pub mod codes {
    pub const SYNTAX_ERROR: &str = "SODA0101";
    pub const READ_ERROR: &str = "SODA0102";
    /// More diagnostics of one definition or file than are printed: the
    /// first ones, then this count of the rest.
    pub const TRUNCATED: &str = "SODA0103";
    /// An expression nested deeper than the builder analyzes.
    pub const TOO_DEEP: &str = "SODA0104";
    pub const UNSUPPORTED_FORM: &str = "SODA0201";
    pub const INVALID_DEFINITION: &str = "SODA0202";
    /// A metadata callback that cannot be evaluated at build time.
    pub const METADATA: &str = "SODA0203";
    /// A use of `gql` soda-gql's analyzer does not recognize as a definition
    /// (a renamed, default or namespace import, `gql[...]`, a class
    /// property, extra arguments): a warning, and no element, as there.
    pub const UNRECOGNIZED_FORM: &str = "SODA0204";
    pub const GRAPHQL_PARSE: &str = "SODA0301";
    pub const GRAPHQL_VALIDATION: &str = "SODA0302";
    pub const UNKNOWN_SCHEMA: &str = "SODA0303";
    /// Accepted as soda-gql accepts it, though a spec-compliant server or
    /// the GraphQL spec would not (a warning; the element is written).
    pub const LENIENT: &str = "SODA0304";
    pub const UNRESOLVED_IMPORT: &str = "SODA0401";
    pub const MISSING_EXPORT: &str = "SODA0402";
    pub const UNRESOLVED_SPREAD: &str = "SODA0403";
    pub const FRAGMENT_CYCLE: &str = "SODA0404";
    pub const DUPLICATE_OPERATION: &str = "SODA0405";
    pub const DUPLICATE_FRAGMENT: &str = "SODA0406";
    pub const SPREAD_TYPE_MISMATCH: &str = "SODA0407";
    pub const CACHE: &str = "SODA0501";
    /// An include glob of the config that matches no TypeScript source.
    pub const INCLUDE_MATCHES_NOTHING: &str = "SODA0601";
}

impl Diagnostic {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.to_owned(),
            message: message.into(),
            location: None,
            snippet: None,
            help: None,
        }
    }

    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, location: Location, snippet: Option<Snippet>) -> Self {
        self.location = Some(location);
        self.snippet = snippet;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Human format: `error[SODA0302]: message` / `  --> file:line:col` / snippet / help.
    pub fn render_human(&self) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}[{}]: {}", self.code, self.message);
        if let Some(loc) = &self.location {
            let _ = writeln!(out, "  --> {}:{}:{}", loc.file, loc.line, loc.column);
            if let Some(snippet) = &self.snippet {
                let gutter = loc.line.to_string().len();
                let pad = " ".repeat(gutter);
                let line_text = snippet.line_text.replace('\t', " ");
                let (ellipsis, shift) = if snippet.skipped > 0 {
                    ("…", 1)
                } else {
                    ("", 0)
                };
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{} | {ellipsis}{}", loc.line, line_text);
                let col =
                    loc.column.saturating_sub(1).saturating_sub(snippet.skipped) as usize + shift;
                let _ = writeln!(
                    out,
                    "{pad} | {}{}",
                    " ".repeat(col),
                    "^".repeat(snippet.underline.max(1) as usize)
                );
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out
    }
}

/// Diagnostics kept for one definition; the rest are counted.
pub const MAX_PER_DEFINITION: usize = 10;
/// Diagnostics printed for one file; the rest are counted.
pub const MAX_PER_FILE: usize = 50;

/// Keeps the first `limit` diagnostics and replaces the rest with one
/// `SODA0103` that counts them, located where the first left out was:
/// one malformed template gave 10,003 diagnostics (151 MB printed, a
/// 202 MB state) where the first few say everything.
pub fn truncate_with_count(diagnostics: &mut Vec<Diagnostic>, limit: usize, scope: &str) {
    if diagnostics.len() <= limit {
        return;
    }
    let rest = diagnostics.split_off(limit);
    let errors = rest.iter().filter(|d| d.is_error()).count();
    let message = format!(
        "{} more diagnostic(s) in {scope} not shown ({errors} error(s)); the first {limit} are",
        rest.len()
    );
    let mut summary = if errors > 0 {
        Diagnostic::error(codes::TRUNCATED, message)
    } else {
        Diagnostic::warning(codes::TRUNCATED, message)
    };
    summary.location = rest.iter().find_map(|d| d.location.clone());
    diagnostics
        .push(summary.with_help("fix the ones shown first: the rest often follow from them"));
}

/// [`truncate_with_count`] for each file of sorted diagnostics.
pub fn truncate_per_file(diagnostics: Vec<Diagnostic>, limit: usize) -> Vec<Diagnostic> {
    let file_of = |d: &Diagnostic| d.location.as_ref().map(|l| l.file.clone());
    let mut out = Vec::with_capacity(diagnostics.len().min(limit * 4));
    let mut group: Vec<Diagnostic> = Vec::new();
    for d in diagnostics {
        if group.first().is_some_and(|g| file_of(g) != file_of(&d)) {
            flush_group(&mut out, &mut group, limit);
        }
        group.push(d);
    }
    flush_group(&mut out, &mut group, limit);
    out
}

fn flush_group(out: &mut Vec<Diagnostic>, group: &mut Vec<Diagnostic>, limit: usize) {
    if let Some(Some(file)) = group
        .first()
        .map(|d| d.location.as_ref().map(|l| l.file.clone()))
    {
        truncate_with_count(group, limit, &file);
    }
    out.append(group);
}

/// Sorts diagnostics by file, position, then code so that output is deterministic
/// whatever order parallel phases produced them in.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        a.location
            .cmp(&b.location)
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// Maps byte offsets of one text to 1-based line/column positions.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { line_starts }
    }

    /// 1-based (line, column); the column counts characters, not bytes.
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line as u32 + 1, column as u32 + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text<'t>(&self, text: &'t str, line: u32) -> &'t str {
        let (start, end) = self.line_range(text, line);
        text.get(start..end).unwrap_or("").trim_end_matches('\r')
    }

    /// Byte offsets of a 1-based line's start and end (before its line
    /// break); an empty range past the last line.
    pub fn line_range(&self, text: &str, line: u32) -> (usize, usize) {
        let i = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(i) else {
            return (text.len(), text.len());
        };
        let end = self
            .line_starts
            .get(i + 1)
            .map(|e| e - 1)
            .unwrap_or(text.len());
        (start, end)
    }

    /// A location plus the snippet of the line it points at.
    pub fn locate(&self, file: &str, text: &str, offset: usize, len: usize) -> (Location, Snippet) {
        let (line, column) = self.line_col(text, offset);
        let snippet = Snippet::new(self.line_text(text, line), column, len as u32);
        (
            Location {
                file: file.to_owned(),
                line,
                column,
            },
            snippet,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Postcard reads fields by position: a diagnostic with absent fields
    /// must come back whole (it once made a whole state undecodable), and
    /// JSON still leaves them out.
    #[test]
    fn diagnostics_without_location_round_trip_in_postcard_and_json() {
        let bare = Diagnostic::error(codes::GRAPHQL_VALIDATION, "bare");
        let full = Diagnostic::error(codes::GRAPHQL_VALIDATION, "located")
            .at(
                Location {
                    file: "src/a.ts".into(),
                    line: 3,
                    column: 7,
                },
                None,
            )
            .with_help("fix it");
        for d in [&bare, &full] {
            let bytes = postcard::to_allocvec(&vec![d.clone(), d.clone()]).expect("encode");
            let back: Vec<Diagnostic> = postcard::from_bytes(&bytes).expect("decode");
            assert_eq!(back, vec![d.clone(), d.clone()]);
            let json = serde_json::to_string(d).expect("json");
            assert_eq!(
                serde_json::from_str::<Diagnostic>(&json).expect("json back"),
                *d
            );
        }
        let json = serde_json::to_string(&bare).expect("json");
        assert!(
            !json.contains("location") && !json.contains("help"),
            "{json}"
        );
    }

    #[test]
    fn line_index_maps_offsets() {
        let text = "ab\ncdé\nf";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), (1, 1));
        assert_eq!(index.line_col(text, 3), (2, 1));
        assert_eq!(index.line_col(text, 7), (2, 4));
        assert_eq!(index.line_col(text, 8), (3, 1));
        assert_eq!(index.line_text(text, 2), "cdé");
    }

    #[test]
    fn renders_human() {
        let text = "const x = 1;\nconst y = ;\n";
        let index = LineIndex::new(text);
        let (loc, snippet) = index.locate("a.ts", text, 23, 1);
        let d = Diagnostic::error(codes::SYNTAX_ERROR, "Expression expected")
            .at(loc, Some(snippet))
            .with_help("fix the syntax");
        let rendered = d.render_human();
        assert!(rendered.contains("error[SODA0101]: Expression expected"));
        assert!(rendered.contains("--> a.ts:2:11"));
        assert!(rendered.contains("2 | const y = ;"));
        assert!(rendered.contains("  |           ^"));
    }

    #[test]
    fn a_long_line_is_an_excerpt_with_the_caret_in_place() {
        let line = format!("{}X{}", "a".repeat(5_000), "b".repeat(5_000));
        let snippet = Snippet::new(&line, 5_001, 3);
        assert!(snippet.line_text.chars().count() <= Snippet::EXCERPT);
        let d = Diagnostic::error(codes::SYNTAX_ERROR, "here").at(
            Location {
                file: "a.ts".into(),
                line: 1,
                column: 5_001,
            },
            Some(snippet),
        );
        let rendered = d.render_human();
        let lines: Vec<&str> = rendered.lines().collect();
        let text_at = lines[3].find('X').expect("X shown");
        let caret_at = lines[4].find('^').expect("caret");
        assert_eq!(
            lines[3][..text_at].chars().count(),
            lines[4][..caret_at].chars().count()
        );
        assert!(rendered.len() < 600, "{}", rendered.len());
    }

    #[test]
    fn diagnostics_past_the_limit_are_one_count_per_file() {
        let at = |file: &str, line| Location {
            file: file.into(),
            line,
            column: 1,
        };
        let mut all: Vec<Diagnostic> = (0..30)
            .map(|i| Diagnostic::error(codes::GRAPHQL_PARSE, "x").at(at("a.ts", i + 1), None))
            .collect();
        all.push(Diagnostic::error(codes::GRAPHQL_PARSE, "y").at(at("b.ts", 1), None));
        let out = truncate_per_file(all, 10);
        assert_eq!(out.len(), 12);
        assert_eq!(out[10].code, codes::TRUNCATED);
        assert!(
            out[10].message.starts_with("20 more"),
            "{}",
            out[10].message
        );
        assert_eq!(out[10].location, Some(at("a.ts", 11)));
        assert_eq!(out[11].location, Some(at("b.ts", 1)));
    }
}
