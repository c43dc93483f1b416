//! Renders one definition to GraphQL text with every `...${fragment}` spread
//! replaced by the fragment's selections, as soda-gql does (a spread merges
//! the fragment's fields into the spread site, whatever its type condition).
//! Each byte keeps a map back to the TypeScript source it came from — the
//! definition's own template or a spread fragment's — so GraphQL diagnostics
//! point at `file:line:col` in the right `.ts` file.

use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic, Location, Snippet};
use crate::phases::analyze::{Definition, DefinitionKind};

use super::ir;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Copied from template part `index` of definition `owner`, starting at
    /// byte `offset` of that part.
    Part {
        owner: Arc<str>,
        index: usize,
        offset: usize,
    },
    /// Generated text (a keyword, a name): maps to one place in `owner`.
    Anchor {
        owner: Arc<str>,
        line: u32,
        column: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
    pub origin: Origin,
}

/// A definition as GraphQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub segments: Vec<Segment>,
    /// Operations: where extra variable definitions can be inserted, and
    /// whether the operation already has a `( ... )` list.
    pub var_insert_at: usize,
    pub has_var_list: bool,
    /// Fragments: the `$a: T = d` list of fragment arguments, without parens.
    pub fragment_vars: Option<String>,
    /// Fragments: those arguments parsed, as (name, `$name: T = d`): every
    /// operation that spreads the fragment declares them, and parsing them
    /// once here beats parsing them once per spreader.
    pub fragment_var_defs: Vec<(String, String)>,
    /// Fragments: byte range of the selections inside the outer braces.
    pub body: Option<(usize, usize)>,
}

impl Rendered {
    /// The TypeScript position of a GraphQL offset in this text.
    pub fn locate<'d>(
        &self,
        lookup: &dyn Fn(&str) -> Option<&'d Definition>,
        fallback: &Definition,
        offset: usize,
        len: usize,
    ) -> (Location, Snippet) {
        let seg = self
            .segments
            .iter()
            .find(|s| offset >= s.start && offset < s.end)
            .or_else(|| self.segments.iter().rev().find(|s| offset >= s.start))
            .or(self.segments.first());
        let (def, line, column) = match seg {
            Some(Segment {
                origin:
                    Origin::Part {
                        owner,
                        index,
                        offset: part_offset,
                    },
                start,
                ..
            }) => {
                let def = lookup(owner).unwrap_or(fallback);
                let (l, c) =
                    def.position_in_part(*index, part_offset + offset.saturating_sub(*start));
                (def, l, c)
            }
            Some(Segment {
                origin:
                    Origin::Anchor {
                        owner,
                        line,
                        column,
                    },
                ..
            }) => (lookup(owner).unwrap_or(fallback), *line, *column),
            None => (fallback, fallback.location.line, fallback.location.column),
        };
        (
            Location {
                file: def.location.file.clone(),
                line,
                column,
            },
            def.snippet(line, column, len as u32),
        )
    }
}

struct TextBuilder {
    owner: Arc<str>,
    text: String,
    segments: Vec<Segment>,
}

impl TextBuilder {
    fn generated(&mut self, s: &str, line: u32, column: u32) {
        let start = self.text.len();
        self.text.push_str(s);
        self.segments.push(Segment {
            start,
            end: self.text.len(),
            origin: Origin::Anchor {
                owner: self.owner.clone(),
                line,
                column,
            },
        });
    }

    /// Appends `text[from..to]` of template part `index`.
    fn part(&mut self, index: usize, text: &str, from: usize, to: usize) {
        let start = self.text.len();
        self.text.push_str(text.get(from..to).unwrap_or(""));
        self.segments.push(Segment {
            start,
            end: self.text.len(),
            origin: Origin::Part {
                owner: self.owner.clone(),
                index,
                offset: from,
            },
        });
    }

    /// Appends `other.text[from..to]` with its segments shifted.
    fn splice(&mut self, other: &Rendered, from: usize, to: usize) {
        let shift = self.text.len() as isize - from as isize;
        self.text.push_str(other.text.get(from..to).unwrap_or(""));
        for s in &other.segments {
            let (start, end) = (s.start.max(from), s.end.min(to));
            if start >= end {
                continue;
            }
            let origin = match &s.origin {
                Origin::Part {
                    owner,
                    index,
                    offset,
                } => Origin::Part {
                    owner: owner.clone(),
                    index: *index,
                    offset: offset + (start - s.start),
                },
                anchor => anchor.clone(),
            };
            self.segments.push(Segment {
                start: (start as isize + shift) as usize,
                end: (end as isize + shift) as usize,
                origin,
            });
        }
    }
}

fn start_of(i: usize, from: usize) -> usize {
    if i == 0 {
        from
    } else {
        0
    }
}

/// Byte range `(open, close)` of a leading `( ... )` in `text`, if any.
fn leading_parens(text: &str) -> Option<(usize, usize)> {
    let open = text.len() - text.trim_start().len();
    if !text[open..].starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((open, open + i));
                }
            }
            _ => {}
        }
    }
    None
}

/// The byte range inside the first top-level `{ ... }` at or after `from`.
fn brace_body(text: &str, from: usize) -> Option<(usize, usize)> {
    let open = from + text.get(from..)?.find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut prev = '\0';
    for (i, c) in text[open..].char_indices() {
        match c {
            '"' if prev != '\\' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some((open + 1, open + i));
                }
            }
            _ => {}
        }
        prev = c;
    }
    None
}

fn located(def: &Definition, line: u32, column: u32, len: usize) -> (Location, Option<Snippet>) {
    (
        Location {
            file: def.location.file.clone(),
            line,
            column,
        },
        Some(def.snippet(line, column, len as u32)),
    )
}

/// Renders `def` (canonical id `id`); `spreads[i]` is the rendered fragment
/// interpolation `i` refers to. One pass over the template parts that
/// writes the text and its segment map together, so they cannot disagree.
pub fn render(
    id: &str,
    def: &Definition,
    spreads: &[Option<Arc<Rendered>>],
) -> Result<Rendered, Diagnostic> {
    let mut b = TextBuilder {
        owner: Arc::from(id),
        text: String::new(),
        segments: Vec::new(),
    };
    let name_at = (def.name_location.line, def.name_location.column);
    let first = def.parts.first().map(|p| p.text.as_str()).unwrap_or("");
    let parens = leading_parens(first);
    let mut fragment_vars = None;
    let mut has_var_list = false;
    let var_insert_at;
    let mut from = 0;
    match def.kind {
        DefinitionKind::Fragment => {
            let type_condition = def.type_condition.as_deref().unwrap_or("");
            b.generated(
                &format!("fragment {} on {type_condition}", def.name),
                name_at.0,
                name_at.1,
            );
            if let Some((open, close)) = parens {
                fragment_vars = Some(first[open + 1..close].trim().to_owned());
                from = close + 1;
            }
            var_insert_at = b.text.len();
        }
        kind => {
            b.generated(
                &format!("{} {}", kind.keyword(), def.name),
                name_at.0,
                name_at.1,
            );
            match parens {
                Some((_, close)) => {
                    has_var_list = true;
                    var_insert_at = b.text.len() + close;
                }
                None => var_insert_at = b.text.len(),
            }
        }
    }
    // An options-object operation's only template is its variable list; its
    // interpolations are `.spread()` references, compiled from the fields.
    let options_object = matches!(def.form, crate::phases::analyze::DefinitionForm::Fields(_));
    for (i, part) in def.parts.iter().enumerate() {
        let text = part.text.as_str();
        if options_object {
            b.part(i, text, start_of(i, from), text.len());
            break;
        }
        let start = if i == 0 { from } else { 0 };
        let Some(interp) = def.interpolations.get(i) else {
            b.part(i, text, start, text.len());
            break;
        };
        let trimmed = text.trim_end();
        let Some(before_dots) = trimmed.strip_suffix("...") else {
            let (loc, snippet) = located(
                def,
                interp.line,
                interp.column,
                interp.source.chars().count(),
            );
            return Err(Diagnostic::error(
                codes::UNRESOLVED_SPREAD,
                format!("`${{{}}}` is interpolated outside a fragment spread; only `...${{fragment}}` is supported", interp.source),
            )
            .at(loc, snippet));
        };
        let next = def
            .parts
            .get(i + 1)
            .map(|p| p.text.trim_start())
            .unwrap_or("");
        if next.starts_with('@') {
            let (loc, snippet) = located(
                def,
                interp.line,
                interp.column,
                interp.source.chars().count(),
            );
            return Err(Diagnostic::error(
                codes::UNRESOLVED_SPREAD,
                format!(
                    "directives on an interpolated spread (`...${{{}}} @...`) are not supported",
                    interp.source
                ),
            )
            .with_help(format!(
                "wrap it: `... @include(if: $flag) {{ ...${{{}}} }}`",
                interp.source
            ))
            .at(loc, snippet));
        }
        b.part(i, text, start.min(before_dots.len()), before_dots.len());
        match spreads.get(i).and_then(|s| s.as_ref()) {
            Some(fragment) => {
                let (body_start, body_end) = fragment.body.unwrap_or((0, 0));
                b.splice(fragment, body_start, body_end);
            }
            None => b.generated("__typename", interp.line, interp.column),
        }
    }
    let body = if def.kind == DefinitionKind::Fragment {
        brace_body(&b.text, var_insert_at)
    } else {
        None
    };
    let fragment_var_defs = fragment_vars
        .as_deref()
        .map(ir::parse_variable_list)
        .unwrap_or_default()
        .iter()
        .map(|v| (v.name.clone(), ir::print_variable_definition(v)))
        .collect();
    Ok(Rendered {
        text: b.text,
        segments: b.segments,
        var_insert_at,
        has_var_list,
        fragment_vars,
        fragment_var_defs,
        body,
    })
}
