//! Compiles one definition: assembles its GraphQL document (its rendered text,
//! in which spreads are already inlined, plus the arguments of the fragments
//! it spreads as operation variables), validates it with apollo-compiler,
//! maps diagnostics back to the TypeScript source, and flattens operations
//! into their final document (fields merged by response key).
//!
//! A pure function of its inputs, so its result can be cached under a key
//! made of the texts it read (see `session`).

use apollo_compiler::diagnostic::ToCliReport;
use apollo_compiler::ExecutableDocument;

use super::ir::{self, Flattener, Operation};
use super::render::Rendered;
use super::schema::LoadedSchema;
use crate::analyze::{Definition, DefinitionKind};
use crate::diagnostics::{codes, Diagnostic};

pub struct CompileUnit<'a> {
    pub def: &'a Definition,
    pub rendered: &'a Rendered,
    /// Every fragment the definition spreads, directly or not: (id, definition, rendered).
    pub closure: Vec<(&'a str, &'a Definition, &'a Rendered)>,
}

/// The final document of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledOperation {
    pub operation_type: &'static str,
    pub name: String,
    pub variable_names: Vec<String>,
    /// graphql-js `DocumentNode` JSON text.
    pub document: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// `None` when the definition has errors (it is left out of the artifact).
    pub valid: bool,
    pub operation: Option<CompiledOperation>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Which part of the rendered text a byte range of the assembled document
/// came from (`None`: generated variable definitions).
struct Piece {
    doc_start: usize,
    doc_end: usize,
    rendered_start: Option<usize>,
}

pub fn compile(unit: &CompileUnit<'_>, schema: &LoadedSchema) -> Compiled {
    let own = unit.rendered;
    let mut text = String::with_capacity(own.text.len() * 2);
    let mut pieces = Vec::new();
    let mut push = |text: &mut String, s: &str, rendered_start: Option<usize>| {
        let doc_start = text.len();
        text.push_str(s);
        pieces.push(Piece {
            doc_start,
            doc_end: text.len(),
            rendered_start,
        });
    };

    push(&mut text, &own.text[..own.var_insert_at], Some(0));
    if unit.def.kind.is_operation() {
        // A spread fragment's arguments become the operation's variables.
        let declared_in_own: Vec<String> = if own.has_var_list {
            let list = &own.text[..own.var_insert_at];
            let open = list.find('(').map(|i| i + 1).unwrap_or(list.len());
            ir::parse_variable_list(&list[open..])
                .into_iter()
                .map(|v| v.name)
                .collect()
        } else {
            Vec::new()
        };
        let mut extra: Vec<String> = Vec::new();
        let mut names = declared_in_own;
        for (_, _, rendered) in &unit.closure {
            for (name, printed) in &rendered.fragment_var_defs {
                if !names.contains(name) {
                    names.push(name.clone());
                    extra.push(printed.clone());
                }
            }
        }
        if !extra.is_empty() {
            let inserted = if own.has_var_list {
                format!(", {}", extra.join(", "))
            } else {
                format!("({})", extra.join(", "))
            };
            push(&mut text, &inserted, None);
        }
    }
    push(
        &mut text,
        &own.text[own.var_insert_at..],
        Some(own.var_insert_at),
    );
    let lookup = |id: &str| {
        unit.closure
            .iter()
            .find(|(c, _, _)| *c == id)
            .map(|(_, d, _)| *d)
    };

    let mut diagnostics = Vec::new();
    let schema = match schema.schema() {
        Ok(s) => s,
        Err(e) => {
            return Compiled {
                valid: false,
                operation: None,
                diagnostics: vec![Diagnostic::error(codes::GRAPHQL_VALIDATION, e.to_string())],
            }
        }
    };
    let result = ExecutableDocument::parse_and_validate(schema, text, "definition.graphql");
    let doc = match result {
        Ok(doc) => doc.into_inner(),
        Err(with_errors) => {
            for diagnostic in with_errors.errors.iter() {
                if diagnostic.error.unstable_error_name() == Some("UnusedFragment") {
                    continue;
                }
                let message = diagnostic
                    .error
                    .unstable_compat_message()
                    .unwrap_or_else(|| diagnostic.error.to_string());
                let code = if message.starts_with("syntax error") {
                    codes::GRAPHQL_PARSE
                } else {
                    codes::GRAPHQL_VALIDATION
                };
                let mut d = Diagnostic::error(
                    code,
                    format!(
                        "{message} (in {} `{}`)",
                        unit.def.kind.keyword(),
                        unit.def.name
                    ),
                );
                if let Some(span) = diagnostic.error.location() {
                    let offset = span.offset();
                    if let Some(piece) = pieces
                        .iter()
                        .find(|p| offset >= p.doc_start && offset < p.doc_end.max(p.doc_start + 1))
                        .or(pieces.last())
                    {
                        let local = match piece.rendered_start {
                            Some(start) => start + offset.saturating_sub(piece.doc_start),
                            None => 0,
                        };
                        let (loc, snippet) = own.locate(&lookup, unit.def, local, span.node_len());
                        d = d.at(loc, Some(snippet));
                    }
                }
                diagnostics.push(d);
            }
            if !diagnostics.is_empty() {
                return Compiled {
                    valid: false,
                    operation: None,
                    diagnostics,
                };
            }
            // Only "unused fragment" complaints: a fragment on its own is fine.
            with_errors.partial
        }
    };

    let operation = match unit.def.kind {
        DefinitionKind::Fragment => None,
        kind => doc
            .operations
            .get(Some(unit.def.name.as_str()))
            .ok()
            .map(|op| {
                let flattener = Flattener { doc: &doc };
                let operation = Operation {
                    operation_type: kind.keyword(),
                    name: unit.def.name.clone(),
                    variables: ir::variable_definitions(&op.variables),
                    directives: Vec::new(),
                    selections: flattener.selection_set(&op.selection_set),
                };
                CompiledOperation {
                    operation_type: kind.keyword(),
                    name: unit.def.name.clone(),
                    variable_names: operation.variables.iter().map(|v| v.name.clone()).collect(),
                    document: operation.document_json(),
                    text: operation.print(),
                }
            }),
    };
    Compiled {
        valid: true,
        operation,
        diagnostics,
    }
}
