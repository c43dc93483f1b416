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
use super::metadata::{self, JsValue, VarRef};
use super::render::Rendered;
use super::schema::LoadedSchema;
use super::selection::{Builder, FragmentUsage, SpreadSource};
use crate::diagnostics::{codes, truncate_with_count, Diagnostic, Location, MAX_PER_DEFINITION};
use crate::phases::analyze::{ArgValue, Definition, DefinitionForm, DefinitionKind, FieldItem};

pub struct CompileUnit<'a> {
    pub def: &'a Definition,
    pub rendered: &'a Rendered,
    /// Every fragment the definition spreads, directly or not: (id, definition, rendered).
    pub closure: Vec<(&'a str, &'a Definition, &'a Rendered)>,
    /// The definition's own spread targets, by interpolation.
    pub spread_targets: &'a [Option<String>],
    /// Each closure fragment's spread targets, by interpolation (aligned with
    /// `closure`): nested spreads count as fragment usages for metadata.
    pub closure_targets: Vec<&'a [Option<String>]>,
}

impl<'a> CompileUnit<'a> {
    fn fragment(&self, id: &str) -> Option<(usize, &'a Definition, &'a Rendered)> {
        self.closure
            .iter()
            .position(|(c, _, _)| *c == id)
            .map(|i| (i, self.closure[i].1, self.closure[i].2))
    }

    /// A fragment and every fragment it spreads, depth first in template
    /// order: the order soda-gql records their usages in.
    fn usage_plan(&self, id: &str, out: &mut Vec<String>, depth: usize) {
        // Cycles are rejected before compiling; the bound only guards a bad state.
        if depth > 64 {
            return;
        }
        out.push(id.to_owned());
        if let Some((i, _, _)) = self.fragment(id) {
            for target in self
                .closure_targets
                .get(i)
                .copied()
                .unwrap_or(&[])
                .iter()
                .flatten()
            {
                self.usage_plan(target, out, depth + 1);
            }
        }
    }

    /// Every variable a fragment declares, its spreads' included (soda-gql
    /// merges them into the fragment's own).
    fn fragment_variables(&self, id: &str) -> Vec<String> {
        let mut plan = Vec::new();
        self.usage_plan(id, &mut plan, 0);
        let mut out: Vec<String> = Vec::new();
        for f in plan {
            if let Some((_, _, rendered)) = self.fragment(&f) {
                for (name, _) in &rendered.fragment_var_defs {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
            }
        }
        out
    }
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
    /// `prebuild.metadata` as JSON text: the static object, or what the
    /// metadata callback returned.
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// `None` when the definition has errors (it is left out of the artifact).
    pub valid: bool,
    pub operation: Option<CompiledOperation>,
    pub diagnostics: Vec<Diagnostic>,
    /// Fragment usages found while building an options-object operation.
    usages: Vec<FragmentUsage>,
}

/// Which part of the rendered text a byte range of the assembled document
/// came from (`None`: generated variable definitions).
struct Piece {
    doc_start: usize,
    doc_end: usize,
    rendered_start: Option<usize>,
}

pub fn compile(unit: &CompileUnit<'_>, schema: &LoadedSchema) -> Compiled {
    if let Some(d) = invalid_name(unit.def) {
        return Compiled {
            valid: false,
            operation: None,
            diagnostics: vec![d],
            usages: Vec::new(),
        };
    }
    let mut compiled = match &unit.def.form {
        DefinitionForm::Fields(items) => compile_fields(unit, schema, items),
        DefinitionForm::Template => compile_template(unit, schema),
    };
    if compiled.valid {
        if let Some(op) = compiled.operation.as_mut() {
            if let Some(callback) = &unit.def.metadata_callback {
                let usages = match &unit.def.form {
                    DefinitionForm::Fields(_) => std::mem::take(&mut compiled.usages),
                    DefinitionForm::Template => template_usages(unit),
                };
                match operation_metadata(unit, callback, &op.variable_names, &usages) {
                    Ok(value) => op.metadata = value.map(|v| v.to_string()),
                    Err(d) => {
                        compiled.diagnostics.extend(d);
                        compiled.valid = false;
                        compiled.operation = None;
                    }
                }
            } else {
                op.metadata = unit.def.metadata_json.clone();
            }
        }
    }
    compiled
}

/// A tagged-template definition: assemble the document (its own text, the
/// spread fragments' variables, the closure's fragments), validate it, map
/// each diagnostic back to its `.ts` position, and build the document. One
/// function because the `pieces` (document → rendered positions) are built
/// by the first step and read by the others.
fn compile_template(unit: &CompileUnit<'_>, schema: &LoadedSchema) -> Compiled {
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
                usages: Vec::new(),
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
                let lenient = is_lenient(diagnostic.error.unstable_error_name());
                let code = if message.starts_with("syntax error") {
                    codes::GRAPHQL_PARSE
                } else if lenient {
                    codes::LENIENT
                } else {
                    codes::GRAPHQL_VALIDATION
                };
                let message = format!(
                    "{message} (in {} `{}`)",
                    unit.def.kind.keyword(),
                    unit.def.name
                );
                let mut d = if lenient {
                    Diagnostic::warning(code, message).with_help(LENIENT_HELP)
                } else {
                    Diagnostic::error(code, message)
                };
                // Past the cap only the first left out needs a location
                // (the count points there): locating is linear in the line.
                let locate = diagnostics.len() <= MAX_PER_DEFINITION;
                if let Some(span) = diagnostic.error.location().filter(|_| locate) {
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
            let scope = format!("{} `{}`", unit.def.kind.keyword(), unit.def.name);
            truncate_with_count(&mut diagnostics, MAX_PER_DEFINITION, &scope);
            if diagnostics.iter().any(Diagnostic::is_error) {
                return Compiled {
                    valid: false,
                    operation: None,
                    diagnostics,
                    usages: Vec::new(),
                };
            }
            // Only "unused fragment" complaints and what soda-gql accepts
            // (warnings): a fragment on its own is fine.
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
                    metadata: None,
                }
            }),
    };
    if unit.def.kind.is_operation() && operation.is_none() {
        // A valid document without the named operation: nothing to emit,
        // which must never be a silence (it was: exit 0, no element).
        diagnostics.push(not_emitted(unit.def));
        return Compiled {
            valid: false,
            operation: None,
            diagnostics,
            usages: Vec::new(),
        };
    }
    Compiled {
        valid: true,
        operation,
        diagnostics,
        usages: Vec::new(),
    }
}

/// A name that is not a GraphQL name (`/[_A-Za-z][_0-9A-Za-z]*/`): one
/// diagnostic at the offending character (columns in characters, as every
/// diagnostic counts them), where the rendered `query Ünïcödé` gave a parse
/// error per character, all at the name's first column.
fn invalid_name(def: &Definition) -> Option<Diagnostic> {
    let name = def.name.as_str();
    if name.is_empty() {
        return None; // not_emitted says it with its own help
    }
    let bad = name
        .chars()
        .enumerate()
        .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))?;
    let kind = def.kind.keyword();
    let (line, column) = (def.name_location.line, def.name_location.column);
    // The name location is the string's opening quote.
    let at = (line, column + 1 + bad.0 as u32);
    let d = Diagnostic::error(
        codes::INVALID_DEFINITION,
        format!(
            "`{name}` is not a GraphQL name: {:?} cannot appear in a {kind} name",
            bad.1
        ),
    )
    .with_help("GraphQL names are ASCII letters, digits and `_`, not starting with a digit");
    Some(at_position(def, d, Some(at)))
}

/// Why a definition whose document is valid yields no operation to emit.
fn not_emitted(def: &Definition) -> Diagnostic {
    let keyword = def.kind.keyword();
    let body = def.parts.first().map_or("", |p| p.text.trim_start());
    let starts_with_keyword = ["query", "mutation", "subscription", "fragment"]
        .iter()
        .any(|k| {
            body.strip_prefix(k)
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        });
    let (message, help) = if def.name.trim().is_empty() {
        (
            format!("this {keyword} has an empty name: nothing is emitted"),
            format!("name it: {keyword}(\"GetUser\")`...`()"),
        )
    } else if starts_with_keyword {
        (
            format!("the template of {keyword} `{}` starts with a keyword: it defines a second operation, and `{}` has no body", def.name, def.name),
            format!("write only the variables and the selection set: {keyword}(\"{}\")`($id: ID!) {{ ... }}`(); the builder adds `{keyword} {}`", def.name, def.name),
        )
    } else {
        (
            format!(
                "{keyword} `{}` defines no operation of that name: nothing is emitted",
                def.name
            ),
            "write the variables and the selection set of this one operation".to_owned(),
        )
    };
    at_position(
        def,
        Diagnostic::error(codes::INVALID_DEFINITION, message),
        None,
    )
    .with_help(help)
}

const LENIENT_HELP: &str = "soda-gql's builder writes this document as it is, and so does this one, but a spec-compliant server rejects it: fix it to make the document valid";

/// Validation rules soda-gql's own builder does not apply: the document is
/// written as the TypeScript builder writes it, with a warning. An unknown
/// argument soda-gql also writes as written, but it stays an error here
/// (`fixtures/invalid/unknown-argument` is the contract): a typo in an
/// argument name is the mistake a build should stop.
fn is_lenient(rule: Option<&str>) -> bool {
    matches!(
        rule,
        Some("ConflictingFieldType" | "UnusedVariable" | "DisallowedVariableUsage")
    )
}

/// A diagnostic at `(line, column)` of the definition's file.
fn at_position(def: &Definition, d: Diagnostic, at: Option<(u32, u32)>) -> Diagnostic {
    let (line, column) = at.unwrap_or((def.name_location.line, def.name_location.column));
    d.at(
        Location {
            file: def.location.file.clone(),
            line,
            column,
        },
        Some(def.snippet(line, column, 1)),
    )
}

/// An options-object operation: the selection built as soda-gql's builder
/// builds it, then the printed document validated against the schema.
/// Long because it is one sequence — build, print, validate, map back —
/// over the selection it builds.
fn compile_fields(unit: &CompileUnit<'_>, schema: &LoadedSchema, items: &[FieldItem]) -> Compiled {
    let def = unit.def;
    let fail = |diagnostics: Vec<Diagnostic>| Compiled {
        valid: false,
        operation: None,
        diagnostics,
        usages: Vec::new(),
    };
    let schema = match schema.schema() {
        Ok(s) => s,
        Err(e) => {
            return fail(vec![Diagnostic::error(
                codes::GRAPHQL_VALIDATION,
                e.to_string(),
            )])
        }
    };
    let vars_part = def.parts.first();
    let vars_text = vars_part.map_or("", |p| p.text.trim());
    let inner = vars_text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(vars_text);
    let variables = ir::parse_variable_list(inner);
    if variables.is_empty() && !inner.trim().is_empty() {
        let at = vars_part.map(|p| (p.line, p.column));
        return fail(vec![at_position(
            def,
            Diagnostic::error(
                codes::GRAPHQL_PARSE,
                format!(
                    "`variables` of {} `{}` is not a GraphQL variable list: `{vars_text}`",
                    def.kind.keyword(),
                    def.name
                ),
            )
            .with_help("write it as `($id: ID!, $limit: Int = 10)`"),
            at,
        )]);
    }
    let declared: Vec<String> = variables.iter().map(|v| v.name.clone()).collect();
    let spreads: Vec<Option<SpreadSource<'_>>> = unit
        .spread_targets
        .iter()
        .map(|t| {
            let id = t.as_deref()?;
            let (_, fdef, rendered) = unit.fragment(id)?;
            let mut plan = Vec::new();
            unit.usage_plan(id, &mut plan, 0);
            Some(SpreadSource {
                id,
                name: &fdef.name,
                text: &rendered.text,
                variables: unit.fragment_variables(id),
                nested: plan
                    .into_iter()
                    .skip(1)
                    .map(|n| {
                        let vars = unit.fragment_variables(&n);
                        (n, vars)
                    })
                    .collect(),
            })
        })
        .collect();
    let mut builder = Builder::new(schema, &declared, &spreads);
    let map = builder.fields(items);
    let op_type = match def.kind {
        DefinitionKind::Mutation => apollo_compiler::ast::OperationType::Mutation,
        DefinitionKind::Subscription => apollo_compiler::ast::OperationType::Subscription,
        _ => apollo_compiler::ast::OperationType::Query,
    };
    let Some(root) = schema.root_operation(op_type).map(|n| n.to_string()) else {
        return fail(vec![at_position(
            def,
            Diagnostic::error(
                codes::GRAPHQL_VALIDATION,
                format!("the schema has no {} root type", def.kind.keyword()),
            ),
            None,
        )]);
    };
    let selections = builder.to_ir(&map, &root);
    let mut diagnostics: Vec<Diagnostic> = builder
        .errors
        .iter()
        .map(|e| {
            let message = format!("{} (in {} `{}`)", e.message, def.kind.keyword(), def.name);
            let d = if e.warning {
                Diagnostic::warning(codes::LENIENT, message)
            } else {
                Diagnostic::error(codes::GRAPHQL_VALIDATION, message)
            };
            at_position(def, d, e.at)
        })
        .collect();
    let usages = std::mem::take(&mut builder.usages);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return fail(diagnostics);
    }
    let operation = Operation {
        operation_type: def.kind.keyword(),
        name: def.name.clone(),
        variables,
        directives: Vec::new(),
        selections,
    };
    let text = operation.print();
    if let Err(with_errors) =
        ExecutableDocument::parse_and_validate(schema, text.as_str(), "definition.graphql")
    {
        for e in with_errors.errors.iter() {
            let message = e
                .error
                .unstable_compat_message()
                .unwrap_or_else(|| e.error.to_string());
            let message = format!(
                "{message} (in {} `{}`, as built)",
                def.kind.keyword(),
                def.name
            );
            let d = if is_lenient(e.error.unstable_error_name()) {
                Diagnostic::warning(codes::LENIENT, message).with_help(LENIENT_HELP)
            } else {
                Diagnostic::error(codes::GRAPHQL_VALIDATION, message)
            };
            diagnostics.push(at_position(def, d, None));
        }
        if diagnostics.iter().any(Diagnostic::is_error) {
            return fail(diagnostics);
        }
    }
    Compiled {
        valid: true,
        operation: Some(CompiledOperation {
            operation_type: def.kind.keyword(),
            name: def.name.clone(),
            variable_names: declared,
            document: operation.document_json(),
            text,
            metadata: None,
        }),
        diagnostics,
        usages,
    }
}

/// A tagged template's `...${fragment}` spreads, as usages: the operation
/// declares every fragment variable, so each is bound to its namesake.
fn template_usages(unit: &CompileUnit<'_>) -> Vec<FragmentUsage> {
    let mut out = Vec::new();
    for target in unit.spread_targets.iter().flatten() {
        let mut plan = Vec::new();
        unit.usage_plan(target, &mut plan, 0);
        for id in plan {
            let assignments = unit
                .fragment_variables(&id)
                .into_iter()
                .map(|v| (v.clone(), ArgValue::Var(v)))
                .collect();
            out.push(FragmentUsage { id, assignments });
        }
    }
    out
}

fn var_ref(v: &ArgValue) -> VarRef {
    match v {
        ArgValue::Var(name) => VarRef::Variable(name.clone()),
        other => VarRef::Nested(other.clone()),
    }
}

/// Evaluates the operation's metadata callback: `$` holds its variables,
/// `fragmentMetadata` each spread fragment's metadata in usage order (the
/// default adapter's aggregate: `fragments.map((m) => m.metadata)`).
fn operation_metadata(
    unit: &CompileUnit<'_>,
    callback: &crate::phases::analyze::MetadataCallback,
    variable_names: &[String],
    usages: &[FragmentUsage],
) -> Result<Option<serde_json::Value>, Vec<Diagnostic>> {
    let mut fragment_metadata = Vec::with_capacity(usages.len());
    let mut errors = Vec::new();
    for usage in usages {
        let Some((_, fdef, _)) = unit.fragment(&usage.id) else {
            fragment_metadata.push(JsValue::Undefined);
            continue;
        };
        let value = if let Some(json) = &fdef.metadata_json {
            serde_json::from_str::<serde_json::Value>(json)
                .map(|v| metadata::from_json(&v))
                .unwrap_or(JsValue::Undefined)
        } else if let Some(cb) = &fdef.metadata_callback {
            let context = metadata::Context {
                vars: usage
                    .assignments
                    .iter()
                    .map(|(k, v)| (k.clone(), var_ref(v)))
                    .collect(),
                fragment_metadata: None,
            };
            match metadata::evaluate(cb, &context) {
                Ok(v) => v.map_or(JsValue::Undefined, |j| metadata::from_json(&j)),
                Err(e) => {
                    errors.push(at_position(
                        fdef,
                        Diagnostic::error(
                            codes::METADATA,
                            format!(
                                "metadata of fragment `{}` (spread by {} `{}`): {}",
                                fdef.name,
                                unit.def.kind.keyword(),
                                unit.def.name,
                                e.message
                            ),
                        ),
                        e.at,
                    ));
                    JsValue::Undefined
                }
            }
        } else {
            JsValue::Undefined
        };
        fragment_metadata.push(value);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let context = metadata::Context {
        vars: variable_names
            .iter()
            .map(|v| (v.clone(), VarRef::Variable(v.clone())))
            .collect(),
        fragment_metadata: Some(fragment_metadata),
    };
    metadata::evaluate(callback, &context).map_err(|e| {
        vec![at_position(
            unit.def,
            Diagnostic::error(
                codes::METADATA,
                format!(
                    "metadata of {} `{}`: {}",
                    unit.def.kind.keyword(),
                    unit.def.name,
                    e.message
                ),
            )
            .with_help("metadata callbacks are evaluated at build time; keep them to one expression of literals, $var.getName($.x), fragmentMetadata and array methods"),
            e.at,
        )]
    })
}
