//! The swc walk that fills a [`ModuleSummary`]: imports, exports and every
//! `gql.<schema>(...)` definition with its scope path.

use std::collections::{HashMap, HashSet};

use swc_common::{BytePos, Span, Spanned};
use swc_ecma_ast as ast;
use swc_ecma_parser::{Parser, StringInput, Syntax, TsSyntax};
use swc_ecma_visit::{Visit, VisitWith};

use super::lower::{self, FieldsLowering};
use super::{
    AnalyzerContext, Definition, DefinitionForm, DefinitionKind, ExportEntry, ImportBinding,
    ImportDecl, ImportedName, Interpolation, MetadataCallback, ModuleSummary, TemplatePart,
};

/// The two ways a definition's body is written.
enum Form<'a> {
    Template(&'a ast::TaggedTpl),
    Options(&'a ast::CallExpr),
}
use crate::config::normalize_path;
use crate::diagnostics::{codes, Diagnostic, LineIndex, Location};

const TAGGED_TEMPLATE_HELP: &str = "write a tagged template, e.g. query(\"GetUser\")`($id: ID!) { user(id: $id) { id } }`() or fragment(\"UserFields\", \"User\")`{ id name }`(), or the options-object builder query(\"GetUser\")({ variables: `($id: ID!)`, fields: ({ f, $ }) => ({ ...f(\"user\", { id: $.id })(({ f }) => ({ ...f(\"id\")() })) }) })()";

/// Parses and analyses one file. Never fails: a syntax error becomes a
/// diagnostic and an otherwise empty summary.
///
/// swc and the walk recurse once per level of nesting: the work runs with a
/// stack sized for [`super::nesting::MAX_NESTING`] levels, and a file nested
/// deeper is a located diagnostic, never parsed.
pub fn analyze_module(path: &str, source: &str, ctx: &AnalyzerContext) -> ModuleSummary {
    let nesting = super::nesting::nesting_bound(source, super::nesting::MAX_NESTING);
    super::nesting::on_deep_stack(nesting.deepest, || {
        analyze_on_this_stack(path, source, ctx, nesting.too_deep_at)
    })
}

fn analyze_on_this_stack(
    path: &str,
    source: &str,
    ctx: &AnalyzerContext,
    too_deep_at: Option<usize>,
) -> ModuleSummary {
    let files = SourceText::new(path, source);
    let mut summary = ModuleSummary {
        path: path.to_owned(),
        imports: Vec::new(),
        exports: Vec::new(),
        definitions: Vec::new(),
        diagnostics: Vec::new(),
    };
    let limit = super::nesting::MAX_NESTING;
    if let Some(offset) = too_deep_at {
        let at = BytePos(1 + offset as u32);
        summary.diagnostics.push(files.diagnostic(
            Diagnostic::error(
                codes::TOO_DEEP,
                format!("this expression nests more than {limit} levels deep: the file is not analyzed"),
            )
            .with_help("split the expression into named parts; the other files are still built"),
            Span::new(at, at),
        ));
        return summary;
    }
    let syntax = Syntax::Typescript(TsSyntax {
        tsx: path.ends_with(".tsx"),
        decorators: true,
        ..Default::default()
    });
    let end = BytePos(1 + source.len() as u32);
    let mut parser = Parser::new(syntax, StringInput::new(source, BytePos(1), end), None);
    let parsed = parser.parse_module();
    let recovered = parser.take_errors();
    let module = match parsed {
        Ok(module) if recovered.is_empty() => module,
        Ok(_) | Err(_) => {
            let mut errors: Vec<_> = recovered;
            if let Err(fatal) = parsed {
                errors.push(fatal);
            }
            for error in errors {
                if summary.diagnostics.len() > crate::diagnostics::MAX_PER_FILE {
                    // Counted below; locating it would cost a line scan.
                    summary
                        .diagnostics
                        .push(Diagnostic::error(codes::SYNTAX_ERROR, ""));
                    continue;
                }
                let message = error.kind().msg().into_owned();
                summary.diagnostics.push(
                    files.diagnostic(
                        Diagnostic::error(codes::SYNTAX_ERROR, format!("syntax error: {message}"))
                            .with_help(
                                "fix the TypeScript syntax; the other files are still built",
                            ),
                        error.span(),
                    ),
                );
            }
            crate::diagnostics::truncate_with_count(
                &mut summary.diagnostics,
                crate::diagnostics::MAX_PER_FILE,
                "this file",
            );
            return summary;
        }
    };

    let mut walker = Walker {
        src: &files,
        ctx,
        gql_locals: HashSet::new(),
        scope: Vec::new(),
        counters: HashMap::new(),
        seen_paths: HashMap::new(),
        compat: std::cell::RefCell::new(HashMap::new()),
        in_class_property: 0,
        summary: &mut summary,
    };
    walker.collect_module_items(&module);
    module.visit_with(&mut walker);
    summary
}

pub(super) struct SourceText<'a> {
    path: &'a str,
    text: &'a str,
    /// Built only when a location is asked for out of order (most files ask
    /// only for their imports', at the top, in order).
    index: std::cell::OnceCell<LineIndex>,
    /// How far the in-order line count got: (offset, 1-based line, line start).
    cursor: std::cell::Cell<(usize, u32, usize)>,
}

impl SourceText<'_> {
    fn new<'a>(path: &'a str, text: &'a str) -> SourceText<'a> {
        SourceText {
            path,
            text,
            index: std::cell::OnceCell::new(),
            cursor: std::cell::Cell::new((0, 1, 0)),
        }
    }

    pub(super) fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(self.text))
    }

    /// 1-based (line, column), as [`LineIndex::line_col`]: counted on from
    /// the previous call while offsets grow, from the full index otherwise.
    fn line_col(&self, offset: usize) -> (u32, u32) {
        let (from, mut line, mut line_start) = self.cursor.get();
        if self.index.get().is_some() || offset < from {
            return self.index().line_col(self.text, offset);
        }
        let skipped = &self.text.as_bytes()[from..offset];
        if let Some(last) = skipped.iter().rposition(|&b| b == b'\n') {
            line += skipped.iter().filter(|&&b| b == b'\n').count() as u32;
            line_start = from + last + 1;
        }
        self.cursor.set((offset, line, line_start));
        let column = self
            .text
            .get(line_start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - line_start);
        (line, column as u32 + 1)
    }

    /// The text of the line `offset` is on, without its line break.
    fn line_text_at(&self, offset: usize) -> &str {
        let bytes = self.text.as_bytes();
        let offset = offset.min(bytes.len());
        let start = bytes[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let end = bytes[offset..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| offset + i);
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// The lines a definition at `span` spans, for its snippets: each as
    /// (excerpt, characters skipped before it). A line up to
    /// `DEFINITION_LINE_MAX` bytes is kept whole; a longer first or last
    /// line only from `EXCERPT_MARGIN` bytes before the definition to as
    /// far after it (a middle line is the definition's alone).
    pub(super) fn definition_lines(
        &self,
        span: Span,
        start: &Location,
        end: &Location,
    ) -> Vec<(String, u32)> {
        const DEFINITION_LINE_MAX: usize = 1024;
        const EXCERPT_MARGIN: usize = 240;
        let (lo, hi) = (self.offset(span.lo), self.offset(span.hi));
        let floor = |mut at: usize| {
            while !self.text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        (start.line..=end.line)
            .map(|line| {
                let (line_start, line_end) = self.index().line_range(self.text, line);
                let whole = || {
                    let text = self.text.get(line_start..line_end).unwrap_or("");
                    (text.trim_end_matches('\r').to_owned(), 0)
                };
                let first = line == start.line;
                let last = line == end.line;
                if line_end - line_start <= DEFINITION_LINE_MAX || !(first || last) {
                    return whole();
                }
                let from = if first {
                    floor(lo.saturating_sub(EXCERPT_MARGIN).max(line_start))
                } else {
                    line_start
                };
                let to = if last {
                    floor((hi + EXCERPT_MARGIN).min(line_end))
                } else {
                    line_end
                };
                let text = self.text.get(from..to).unwrap_or("");
                // Characters before the excerpt: the definition's column
                // less what the margin holds (no count over the long prefix).
                let skipped = if first {
                    let margin = self.text.get(from..lo).map_or(0, |m| m.chars().count());
                    (start.column as usize - 1).saturating_sub(margin) as u32
                } else {
                    0
                };
                (text.trim_end_matches('\r').to_owned(), skipped)
            })
            .collect()
    }

    pub(super) fn offset(&self, pos: BytePos) -> usize {
        (pos.0.saturating_sub(1) as usize).min(self.text.len())
    }

    pub(super) fn location(&self, pos: BytePos) -> Location {
        let (line, column) = self.line_col(self.offset(pos));
        Location {
            file: self.path.to_owned(),
            line,
            column,
        }
    }

    pub(super) fn slice(&self, span: Span) -> &str {
        self.text
            .get(self.offset(span.lo)..self.offset(span.hi))
            .unwrap_or("")
    }

    pub(super) fn diagnostic(&self, diagnostic: Diagnostic, span: Span) -> Diagnostic {
        let (location, snippet) = self.index().locate(
            self.path,
            self.text,
            self.offset(span.lo),
            self.offset(span.hi).saturating_sub(self.offset(span.lo)),
        );
        diagnostic.at(location, Some(snippet))
    }
}

struct Walker<'a, 's> {
    src: &'a SourceText<'a>,
    ctx: &'a AnalyzerContext,
    /// Local names bound to the graphql-system `gql` export.
    gql_locals: HashSet<String>,
    scope: Vec<String>,
    counters: HashMap<&'static str, usize>,
    seen_paths: HashMap<String, usize>,
    /// `query.compat` templates of this file by binding, for `extend(...)`.
    compat: std::cell::RefCell<HashMap<String, CompatTemplate>>,
    /// Inside a class property's value: soda-gql's analyzer makes no
    /// definition there (its scope tracking differs between its adapters).
    in_class_property: usize,
    summary: &'s mut ModuleSummary,
}

/// A `query.compat("N")`...`` template: no element of its own, the body of
/// an `extend(...)` operation.
#[derive(Clone)]
struct CompatTemplate {
    kind: DefinitionKind,
    name: String,
    name_location: Location,
    parts: Vec<TemplatePart>,
}

pub(super) fn atom(s: &swc_ecma_ast::Str) -> String {
    s.value.to_string_lossy().into_owned()
}

fn export_name(name: &ast::ModuleExportName) -> String {
    match name {
        ast::ModuleExportName::Ident(i) => i.sym.to_string(),
        ast::ModuleExportName::Str(s) => atom(s),
    }
}

pub(super) fn strip_wrappers(mut expr: &ast::Expr) -> &ast::Expr {
    loop {
        expr = match expr {
            ast::Expr::Paren(p) => &p.expr,
            ast::Expr::TsAs(e) => &e.expr,
            ast::Expr::TsConstAssertion(e) => &e.expr,
            ast::Expr::TsSatisfies(e) => &e.expr,
            ast::Expr::TsNonNull(e) => &e.expr,
            _ => return expr,
        };
    }
}

/// `gql.x(...).attach(...)` returns the element itself, with an attachment:
/// the binding still holds the definition.
fn strip_attach(expr: &ast::Expr) -> &ast::Expr {
    let mut expr = strip_wrappers(expr);
    while let ast::Expr::Call(call) = expr {
        let ast::Callee::Expr(callee) = &call.callee else {
            break;
        };
        match strip_wrappers(callee) {
            ast::Expr::Member(m) if matches!(&m.prop, ast::MemberProp::Ident(p) if p.sym == "attach") =>
            {
                expr = strip_wrappers(&m.obj);
            }
            _ => break,
        }
    }
    expr
}

/// Whether an import specifier names the graphql-system module.
fn is_graphql_system(specifier: &str, file: &str, ctx: &AnalyzerContext) -> bool {
    if ctx.aliases.iter().any(|a| a == specifier) {
        return true;
    }
    if !specifier.starts_with('.') {
        return false;
    }
    let dir = std::path::Path::new(file)
        .parent()
        .unwrap_or(std::path::Path::new(""));
    let joined = normalize_path(&dir.join(specifier));
    let mut target = joined.to_string_lossy().replace('\\', "/");
    for ext in [".ts", ".tsx", ".js", ".mts", ".cts", ".mjs"] {
        if let Some(stripped) = target.strip_suffix(ext) {
            target = stripped.to_owned();
            break;
        }
    }
    let target = target.strip_suffix("/index").unwrap_or(&target);
    crate::phases::resolve::fold_detour(&ctx.root_dir, target)
        == ctx.outdir_rel.trim_end_matches('/')
}

impl Walker<'_, '_> {
    fn next_counter(&mut self, kind: &'static str) -> usize {
        let counter = self.counters.entry(kind).or_insert(0);
        let n = *counter;
        *counter += 1;
        n
    }

    fn with_scope(&mut self, name: String, f: impl FnOnce(&mut Self)) {
        self.scope.push(name);
        f(self);
        self.scope.pop();
    }

    /// Imports and exports, read before the walk so `gql` is known everywhere.
    fn collect_module_items(&mut self, module: &ast::Module) {
        for item in &module.body {
            let ast::ModuleItem::ModuleDecl(decl) = item else {
                continue;
            };
            match decl {
                ast::ModuleDecl::Import(import) => self.collect_import(import),
                ast::ModuleDecl::ExportDecl(export) => {
                    for name in declared_names(&export.decl) {
                        self.summary.exports.push(ExportEntry::Local {
                            exported: name.clone(),
                            local: name,
                        });
                    }
                }
                ast::ModuleDecl::ExportNamed(named) if !named.type_only => {
                    for spec in &named.specifiers {
                        let entry = match (spec, &named.src) {
                            (ast::ExportSpecifier::Named(n), _) if n.is_type_only => continue,
                            (ast::ExportSpecifier::Named(n), Some(src)) => {
                                let imported = export_name(&n.orig);
                                ExportEntry::Named {
                                    exported: n
                                        .exported
                                        .as_ref()
                                        .map(export_name)
                                        .unwrap_or_else(|| imported.clone()),
                                    imported,
                                    specifier: atom(src),
                                }
                            }
                            (ast::ExportSpecifier::Named(n), None) => {
                                let local = export_name(&n.orig);
                                ExportEntry::Local {
                                    exported: n
                                        .exported
                                        .as_ref()
                                        .map(export_name)
                                        .unwrap_or_else(|| local.clone()),
                                    local,
                                }
                            }
                            (ast::ExportSpecifier::Namespace(ns), Some(src)) => {
                                ExportEntry::Namespace {
                                    exported: export_name(&ns.name),
                                    specifier: atom(src),
                                }
                            }
                            (ast::ExportSpecifier::Default(d), Some(src)) => ExportEntry::Named {
                                exported: d.exported.sym.to_string(),
                                imported: "default".to_owned(),
                                specifier: atom(src),
                            },
                            _ => continue,
                        };
                        self.summary.exports.push(entry);
                    }
                }
                ast::ModuleDecl::ExportAll(all) if !all.type_only => {
                    self.summary.exports.push(ExportEntry::Star {
                        specifier: atom(&all.src),
                    });
                }
                ast::ModuleDecl::ExportDefaultDecl(decl) => {
                    let local = match &decl.decl {
                        ast::DefaultDecl::Fn(f) => f.ident.as_ref().map(|i| i.sym.to_string()),
                        ast::DefaultDecl::Class(c) => c.ident.as_ref().map(|i| i.sym.to_string()),
                        ast::DefaultDecl::TsInterfaceDecl(_) => None,
                    };
                    self.summary.exports.push(ExportEntry::Local {
                        exported: "default".to_owned(),
                        local: local.unwrap_or_else(|| "default".to_owned()),
                    });
                }
                ast::ModuleDecl::ExportDefaultExpr(e) => {
                    let local = match strip_wrappers(&e.expr) {
                        ast::Expr::Ident(i) => i.sym.to_string(),
                        _ => "default".to_owned(),
                    };
                    self.summary.exports.push(ExportEntry::Local {
                        exported: "default".to_owned(),
                        local,
                    });
                }
                _ => {}
            }
        }
    }

    fn collect_import(&mut self, import: &ast::ImportDecl) {
        if import.type_only {
            return;
        }
        let specifier = atom(&import.src);
        let is_gql = is_graphql_system(&specifier, &self.summary.path, self.ctx);
        let mut bindings = Vec::new();
        for spec in &import.specifiers {
            let (imported, local, span) = match spec {
                ast::ImportSpecifier::Named(n) if n.is_type_only => continue,
                ast::ImportSpecifier::Named(n) => (
                    ImportedName::Named(
                        n.imported
                            .as_ref()
                            .map(export_name)
                            .unwrap_or_else(|| n.local.sym.to_string()),
                    ),
                    n.local.sym.to_string(),
                    n.span,
                ),
                ast::ImportSpecifier::Default(d) => {
                    (ImportedName::Default, d.local.sym.to_string(), d.span)
                }
                ast::ImportSpecifier::Namespace(ns) => {
                    (ImportedName::Namespace, ns.local.sym.to_string(), ns.span)
                }
            };
            if is_gql {
                self.check_graphql_system_import(spec, &imported, &local);
            }
            let loc = self.src.location(span.lo);
            bindings.push(ImportBinding {
                imported,
                local,
                line: loc.line,
                column: loc.column,
            });
        }
        if is_gql {
            // The graphql-system module is generated code: never followed.
            return;
        }
        let location = self.src.location(import.src.span.lo);
        let (line_text, line_skipped) = ImportDecl::line_excerpt(
            self.src.line_text_at(self.src.offset(import.src.span.lo)),
            self.src.location(import.span.lo).column,
        );
        self.summary.imports.push(ImportDecl {
            specifier,
            bindings,
            location,
            line_text,
            line_skipped,
        });
    }

    /// A `gql` import soda-gql's analyzer recognizes (`import { gql }`) binds
    /// a local; the others (`gql as g`, a default or namespace import) make
    /// no definition there, and say so, as soda-gql's analyzer does.
    fn check_graphql_system_import(
        &mut self,
        spec: &ast::ImportSpecifier,
        imported: &ImportedName,
        local: &str,
    ) {
        let renamed = matches!(spec, ast::ImportSpecifier::Named(n) if n.imported.is_some());
        let what = match imported {
            ImportedName::Named(name) if name == "gql" && !renamed => {
                self.gql_locals.insert(local.to_owned());
                return;
            }
            ImportedName::Named(name) if name == "gql" => {
                format!("`gql` imported as `{local}`: use `import {{ gql }} from ...`")
            }
            ImportedName::Default => {
                "a default import of the graphql-system module: use `import { gql } from ...`"
                    .to_owned()
            }
            ImportedName::Namespace => format!(
                "a namespace import (`* as {local}`) of the graphql-system module: use `import {{ gql }} from ...`"
            ),
            ImportedName::Named(_) => return,
        };
        let warning = self.unrecognized(spec.span(), &what);
        self.summary.diagnostics.push(warning);
    }

    /// An error: a call of `gql` that cannot define anything.
    fn misused(&self, span: Span, what: &str) -> Diagnostic {
        self.src.diagnostic(
            Diagnostic::error(
                codes::UNSUPPORTED_FORM,
                format!("unsupported gql form: {what}"),
            )
            .with_help(GQL_CALL_HELP),
            span,
        )
    }

    /// A warning: soda-gql's analyzer does not recognize this form, so no
    /// element is written for it.
    fn unrecognized(&self, span: Span, what: &str) -> Diagnostic {
        self.src.diagnostic(
            Diagnostic::warning(
                codes::UNRECOGNIZED_FORM,
                format!("not a gql definition for soda-gql: {what}"),
            )
            .with_help(GQL_CALL_HELP),
            span,
        )
    }

    /// A call that uses `gql` in a way soda-gql's analyzer reports (as its
    /// `checkCallExpression` does): an error for what cannot work, a warning
    /// for what it does not recognize. `None` for every other call.
    fn gql_misuse(&self, call: &ast::CallExpr) -> Option<Diagnostic> {
        // Most files import no `gql`: none of their calls can misuse it.
        if self.gql_locals.is_empty() {
            return None;
        }
        let ast::Callee::Expr(callee) = &call.callee else {
            return None;
        };
        let is_gql = |e: &ast::Expr| matches!(e, ast::Expr::Ident(i) if self.gql_locals.contains(i.sym.as_str()));
        match &**callee {
            ast::Expr::Ident(_) if is_gql(callee) => Some(self.misused(
                call.span,
                "`gql(...)` called directly: call `gql.<schema>(...)`",
            )),
            ast::Expr::Member(m) => {
                if is_gql(&m.obj) {
                    return matches!(m.prop, ast::MemberProp::Computed(_)).then(|| {
                        self.unrecognized(call.span, "a computed schema name (`gql[...]`)")
                    });
                }
                let mut finder = IdentFinder {
                    names: &self.gql_locals,
                    found: false,
                };
                m.obj.visit_with(&mut finder);
                finder.found.then(|| {
                    self.unrecognized(call.span, "`gql` inside a dynamic callee expression")
                })
            }
            _ => None,
        }
    }

    /// `gql.<label>(...)` with `gql` imported from the graphql-system module.
    fn gql_call_label<'c>(
        &self,
        call: &'c ast::CallExpr,
    ) -> Option<((String, Span), &'c ast::CallExpr)> {
        let ast::Callee::Expr(callee) = &call.callee else {
            return None;
        };
        let ast::Expr::Member(member) = strip_wrappers(callee) else {
            return None;
        };
        let ast::Expr::Ident(obj) = strip_wrappers(&member.obj) else {
            return None;
        };
        if !self.gql_locals.contains(obj.sym.as_str()) {
            return None;
        }
        match &member.prop {
            ast::MemberProp::Ident(label) => Some(((label.sym.to_string(), label.span), call)),
            // `gql["default"]`: soda-gql's analyzer makes no definition of it.
            ast::MemberProp::Computed(_) | ast::MemberProp::PrivateName(_) => None,
        }
    }

    /// A template's text pieces, each where it starts in the file.
    fn template_parts(&self, tpl: &ast::Tpl) -> Vec<TemplatePart> {
        tpl.quasis
            .iter()
            .map(|q| {
                let loc = self.src.location(q.span.lo);
                TemplatePart {
                    text: q.raw.to_string(),
                    line: loc.line,
                    column: loc.column,
                }
            })
            .collect()
    }

    fn current_path(&mut self) -> String {
        let base = if self.scope.is_empty() {
            let n = self.next_counter("_anonymous");
            format!("_anonymous_{n}")
        } else {
            self.scope.join(".")
        };
        let seen = self.seen_paths.entry(base.clone()).or_insert(0);
        let path = if *seen == 0 {
            base
        } else {
            format!("{base}${seen}")
        };
        *seen += 1;
        path
    }

    fn record_definition(
        &mut self,
        label: (String, Span),
        call: &ast::CallExpr,
        binding: Option<String>,
    ) {
        if self.in_class_property > 0 {
            // Said once, by `visit_class_prop`.
            return;
        }
        if call.args.len() > 1 {
            let extra = call.args.len() - 1;
            let warning = self.src.diagnostic(
                Diagnostic::warning(
                    codes::UNRECOGNIZED_FORM,
                    format!("gql.<schema>(...) takes one argument: {extra} more ignored"),
                )
                .with_help("soda-gql's analyzer ignores them too; remove them"),
                call.span,
            );
            self.summary.diagnostics.push(warning);
        }
        let ast_path = self.current_path();
        match self.extract_definition(label, call, ast_path, binding) {
            Ok(Some(def)) => self.summary.definitions.push(def),
            Ok(None) => {}
            Err(diagnostic) => self.summary.diagnostics.push(diagnostic),
        }
    }

    fn unsupported(&self, span: Span, what: &str) -> Diagnostic {
        self.src.diagnostic(
            Diagnostic::error(
                codes::UNSUPPORTED_FORM,
                format!("unsupported gql form: {what}"),
            )
            .with_help(TAGGED_TEMPLATE_HELP),
            span,
        )
    }

    /// One `gql.<label>(callback)` call. `Ok(None)`: a form that defines no
    /// element (`query.compat`, `define`), as the TypeScript builder emits none.
    /// Long because it walks the callback's forms in source order (tagged
    /// template, options object, `.attach`), each reporting at its own span.
    fn extract_definition(
        &self,
        (label, label_span): (String, Span),
        call: &ast::CallExpr,
        ast_path: String,
        binding: Option<String>,
    ) -> Result<Option<Definition>, Diagnostic> {
        let Some(arg) = call.args.first() else {
            return Err(self.unsupported(call.span, "gql call without a builder callback"));
        };
        // `({ query, fragment: frag }) => ...`: map local names to context keys.
        let (params, body): (Vec<&ast::Pat>, Option<&ast::Expr>) = match strip_wrappers(&arg.expr) {
            ast::Expr::Arrow(arrow) => (
                arrow.params.iter().collect(),
                match &*arrow.body {
                    ast::ArrowFunctionBody::Expr(e) => Some(e),
                    ast::ArrowFunctionBody::FunctionBody(b) => single_return(&b.stmts),
                },
            ),
            ast::Expr::Fn(f) => (
                f.function.params.iter().map(|p| &p.pat).collect(),
                f.function
                    .body
                    .as_ref()
                    .and_then(|b| single_return(&b.stmts)),
            ),
            other => {
                return Err(self.unsupported(
                    other.span(),
                    "the argument of gql.<schema>(...) must be a callback",
                ))
            }
        };
        let mut context: HashMap<String, String> = HashMap::new();
        if let Some(ast::Pat::Object(obj)) = params.first() {
            for prop in &obj.props {
                match prop {
                    ast::ObjectPatProp::Assign(a) => {
                        context.insert(a.key.sym.to_string(), a.key.sym.to_string());
                    }
                    ast::ObjectPatProp::KeyValue(kv) => {
                        if let (ast::PropName::Ident(key), ast::Pat::Ident(local)) =
                            (&kv.key, &*kv.value)
                        {
                            context.insert(local.id.sym.to_string(), key.sym.to_string());
                        }
                    }
                    ast::ObjectPatProp::Rest(_) => {}
                }
            }
        }
        let kind_of = |callee: &ast::Expr| -> Option<DefinitionKind> {
            match strip_wrappers(callee) {
                ast::Expr::Ident(i) => match context.get(i.sym.as_str()) {
                    Some(key) => DefinitionKind::from_keyword(key),
                    None => DefinitionKind::from_keyword(&i.sym),
                },
                _ => None,
            }
        };
        let context_key = |callee: &ast::Expr| -> Option<&str> {
            match strip_wrappers(callee) {
                ast::Expr::Ident(i) => context.get(i.sym.as_str()).map(String::as_str),
                _ => None,
            }
        };
        let Some(body) = body.map(strip_wrappers) else {
            return Err(self.unsupported(
                arg.span(),
                "the callback must return the definition directly",
            ));
        };
        // query.compat("Name")`...`: a stored template, no element of its own.
        if let ast::Expr::TaggedTpl(tagged) = body {
            if let Some(kind) = self.compat_kind(&tagged.tag, &kind_of) {
                self.check_compat(kind, tagged)?;
                if let (Some(binding), Some(template)) =
                    (&binding, self.compat_template(kind, tagged))
                {
                    self.compat.borrow_mut().insert(binding.clone(), template);
                }
                return Ok(None);
            }
        }
        // body = kind("Name", "Type")`...`(options?) or kind("Name")({ ... })(options?)
        let ast::Expr::Call(outer) = body else {
            return Err(self.unsupported(body.span(), "expected kind(\"Name\")`...`()"));
        };
        let (tag_call, form) = match &outer.callee {
            ast::Callee::Expr(e) => match strip_wrappers(e) {
                ast::Expr::TaggedTpl(t) => match strip_wrappers(&t.tag) {
                    ast::Expr::Call(tag_call) => (tag_call, Form::Template(t)),
                    _ => {
                        return Err(self.unsupported(
                            t.tag.span(),
                            "the template tag must be query(\"Name\"), mutation, subscription or fragment",
                        ))
                    }
                },
                ast::Expr::Call(inner) => match &inner.callee {
                    ast::Callee::Expr(k) => match strip_wrappers(k) {
                        ast::Expr::Call(kind_call) => (kind_call, Form::Options(inner)),
                        _ => {
                            return Err(self.unsupported(
                                inner.span,
                                "expected kind(\"Name\")({ variables, fields })()",
                            ))
                        }
                    },
                    _ => return Err(self.unsupported(inner.span, "expected a tagged template")),
                },
                ast::Expr::Member(m) => {
                    let what = format!(
                        "`{}(...)` is not a definition form of soda-gql 0.15 (write kind(\"Name\")({{ variables, fields }})() or a tagged template)",
                        self.src.slice(m.span)
                    );
                    return Err(self.unsupported(m.span, &what));
                }
                ast::Expr::Ident(i) if context_key(e) == Some("define") => {
                    let _ = i;
                    return Ok(None);
                }
                ast::Expr::Ident(_) if context_key(e) == Some("extend") => {
                    return self
                        .extend(outer, (label, label_span), call, ast_path, binding)
                        .map(Some);
                }
                other => return Err(self.unsupported(other.span(), "expected a tagged template")),
            },
            _ => return Err(self.unsupported(outer.span, "expected a tagged template")),
        };
        let kind = match &tag_call.callee {
            ast::Callee::Expr(e) => kind_of(e),
            _ => None,
        };
        let Some(kind) = kind else {
            return Err(self.unsupported(
                tag_call.span,
                "the template tag must be query, mutation, subscription or fragment",
            ));
        };
        let string_arg = |i: usize| -> Option<(String, Span)> {
            match tag_call.args.get(i).map(|a| strip_wrappers(&a.expr)) {
                Some(ast::Expr::Lit(ast::Lit::Str(s))) => Some((atom(s), s.span)),
                Some(ast::Expr::Tpl(t)) if t.exprs.is_empty() => {
                    Some((t.quasis.iter().map(|q| q.raw.to_string()).collect(), t.span))
                }
                _ => None,
            }
        };
        let Some((name, name_span)) = string_arg(0) else {
            return Err(self.src.diagnostic(
                Diagnostic::error(
                    codes::INVALID_DEFINITION,
                    format!(
                        "{}(...) needs a string literal name as its first argument",
                        kind.keyword()
                    ),
                ),
                tag_call.span,
            ));
        };
        let type_condition = if kind == DefinitionKind::Fragment {
            match string_arg(1) {
                Some((t, _)) => Some(t),
                None => {
                    return Err(self.src.diagnostic(
                        Diagnostic::error(codes::INVALID_DEFINITION, format!("fragment \"{name}\" needs its type condition as a string literal second argument, e.g. fragment(\"{name}\", \"User\")")),
                        tag_call.span,
                    ))
                }
            }
        } else {
            None
        };
        let (metadata_json, metadata_callback) = match outer.args.first() {
            None => (None, None),
            Some(options) => self.read_metadata(&options.expr)?,
        };

        let (parts, interpolations, form) = match form {
            Form::Template(tagged) => (
                self.template_parts(&tagged.tpl),
                tagged
                    .tpl
                    .exprs
                    .iter()
                    .map(|e| {
                        let loc = self.src.location(e.span().lo);
                        Interpolation {
                            path: expr_path(e).unwrap_or_default(),
                            source: self.src.slice(e.span()).to_owned(),
                            line: loc.line,
                            column: loc.column,
                        }
                    })
                    .collect(),
                DefinitionForm::Template,
            ),
            Form::Options(inner) => {
                if kind == DefinitionKind::Fragment {
                    return Err(self.unsupported(
                        inner.span,
                        "a fragment is written as a tagged template: fragment(\"Name\", \"Type\")`{ ... }`()",
                    ));
                }
                self.options_object(inner, &context)?
            }
        };
        let location = self.src.location(call.span.lo);
        let end = self.src.location(call.span.hi);
        let lines = self.src.definition_lines(call.span, &location, &end);
        Ok(Some(Definition {
            ast_path,
            binding,
            schema_label: label,
            kind,
            name,
            type_condition,
            parts,
            interpolations,
            metadata_json,
            metadata_callback,
            form,
            first_line: location.line,
            location,
            label_location: self.src.location(label_span.lo),
            name_location: self.src.location(name_span.lo),
            lines,
        }))
    }

    fn compat_template(
        &self,
        kind: DefinitionKind,
        tagged: &ast::TaggedTpl,
    ) -> Option<CompatTemplate> {
        let ast::Expr::Call(tag_call) = strip_wrappers(&tagged.tag) else {
            return None;
        };
        let (name, span) = match tag_call.args.first().map(|a| strip_wrappers(&a.expr)) {
            Some(ast::Expr::Lit(ast::Lit::Str(s))) => (atom(s), s.span),
            _ => return None,
        };
        Some(CompatTemplate {
            kind,
            name,
            name_location: self.src.location(span.lo),
            parts: self.template_parts(&tagged.tpl),
        })
    }

    /// `extend(compat, { metadata })`: the operation soda-gql builds from a
    /// compat template of this file (`extend.ts`).
    fn extend(
        &self,
        outer: &ast::CallExpr,
        (label, label_span): (String, Span),
        call: &ast::CallExpr,
        ast_path: String,
        binding: Option<String>,
    ) -> Result<Definition, Diagnostic> {
        let Some(first) = outer.args.first() else {
            return Err(self.unsupported(outer.span, "extend(...) needs the compat definition"));
        };
        let template = match strip_wrappers(&first.expr) {
            ast::Expr::Ident(i) => self.compat.borrow().get(i.sym.as_str()).cloned(),
            _ => None,
        };
        let Some(template) = template else {
            return Err(self.unsupported(
                first.expr.span(),
                "extend(...) of a compat definition declared above in the same file is built; this one is imported or not a compat template",
            ));
        };
        let (metadata_json, metadata_callback) = match outer.args.get(1) {
            None => (None, None),
            Some(options) => self.read_metadata(&options.expr)?,
        };
        let location = self.src.location(call.span.lo);
        let end = self.src.location(call.span.hi);
        let lines = self.src.definition_lines(call.span, &location, &end);
        Ok(Definition {
            ast_path,
            binding,
            schema_label: label,
            kind: template.kind,
            name: template.name,
            type_condition: None,
            parts: template.parts,
            interpolations: Vec::new(),
            metadata_json,
            metadata_callback,
            form: DefinitionForm::Template,
            first_line: location.line,
            location,
            label_location: self.src.location(label_span.lo),
            name_location: template.name_location,
            lines,
        })
    }

    /// `query.compat` (or a renamed `query`'s `.compat`) as a template tag.
    fn compat_kind(
        &self,
        tag: &ast::Expr,
        kind_of: &dyn Fn(&ast::Expr) -> Option<DefinitionKind>,
    ) -> Option<DefinitionKind> {
        let ast::Expr::Call(tag_call) = strip_wrappers(tag) else {
            return None;
        };
        let ast::Callee::Expr(callee) = &tag_call.callee else {
            return None;
        };
        let ast::Expr::Member(member) = strip_wrappers(callee) else {
            return None;
        };
        match &member.prop {
            ast::MemberProp::Ident(p) if p.sym == "compat" => {
                kind_of(&member.obj).filter(|k| k.is_operation())
            }
            _ => None,
        }
    }

    /// What the TypeScript builder checks of a compat template when the
    /// module is evaluated: no interpolation, and GraphQL that parses.
    fn check_compat(
        &self,
        kind: DefinitionKind,
        tagged: &ast::TaggedTpl,
    ) -> Result<(), Diagnostic> {
        if let Some(first) = tagged.tpl.exprs.first() {
            return Err(self.src.diagnostic(
                Diagnostic::error(
                    codes::UNSUPPORTED_FORM,
                    format!(
                        "`${{{}}}`: compat templates take no interpolation",
                        self.src.slice(first.span())
                    ),
                ),
                first.span(),
            ));
        }
        let body: String = tagged
            .tpl
            .quasis
            .iter()
            .map(|q| q.raw.to_string())
            .collect();
        let source = format!("{} Compat {}", kind.keyword(), body.trim());
        if let Err(errors) = apollo_compiler::ast::Document::parse(source, "compat.graphql") {
            let message = errors
                .errors
                .iter()
                .next()
                .map(|e| e.error.to_string())
                .unwrap_or_else(|| "invalid GraphQL".into());
            return Err(self.src.diagnostic(
                Diagnostic::error(codes::GRAPHQL_PARSE, format!("compat template: {message}")),
                tagged.tpl.span,
            ));
        }
        Ok(())
    }

    /// `kind("Name")({ variables: `($id: ID!)`, fields: ({ f, $ }) => ({ ... }) })`.
    fn options_object(
        &self,
        inner: &ast::CallExpr,
        context: &HashMap<String, String>,
    ) -> Result<(Vec<TemplatePart>, Vec<Interpolation>, DefinitionForm), Diagnostic> {
        let Some(ast::Expr::Object(obj)) = inner.args.first().map(|a| strip_wrappers(&a.expr))
        else {
            return Err(self.unsupported(
                inner.span,
                "the options-object builder takes { variables, fields }",
            ));
        };
        let locals_of = |key: &str| -> HashSet<String> {
            context
                .iter()
                .filter(|(_, k)| *k == key)
                .map(|(local, _)| local.clone())
                .collect()
        };
        let mut lowering = FieldsLowering::new(self.src, locals_of("$colocate"), locals_of("$dir"));
        let mut variables: Option<TemplatePart> = None;
        let mut fields = None;
        for prop in &obj.props {
            let ast::PropOrSpread::Prop(prop) = prop else {
                return Err(self.unsupported(prop.span(), "a spread in the builder options"));
            };
            let ast::Prop::KeyValue(kv) = &**prop else {
                return Err(self.unsupported(prop.span(), "builder options must be `key: value`"));
            };
            let key = match &kv.key {
                ast::PropName::Ident(i) => i.sym.to_string(),
                ast::PropName::Str(s) => atom(s),
                other => return Err(self.unsupported(other.span(), "a computed option name")),
            };
            match key.as_str() {
                "variables" => {
                    let (text, span) = match strip_wrappers(&kv.value) {
                        ast::Expr::Tpl(t) if t.exprs.is_empty() => (
                            t.quasis.iter().map(|q| q.raw.to_string()).collect::<String>(),
                            t.quasis.first().map_or(t.span, |q| q.span),
                        ),
                        ast::Expr::Lit(ast::Lit::Str(s)) => {
                            (atom(s), Span::new(s.span.lo + swc_common::BytePos(1), s.span.hi))
                        }
                        other => {
                            return Err(self.unsupported(
                                other.span(),
                                "`variables` must be a string of GraphQL variable definitions, e.g. `($id: ID!)`",
                            ))
                        }
                    };
                    let loc = self.src.location(span.lo);
                    variables = Some(TemplatePart {
                        text,
                        line: loc.line,
                        column: loc.column,
                    });
                }
                "fields" => fields = Some(lowering.fields_callback(&kv.value)?),
                _ => {
                    return Err(self.unsupported(
                        kv.key.span(),
                        &format!("unknown builder option `{key}` (expected variables, fields)"),
                    ))
                }
            }
        }
        let Some(fields) = fields else {
            return Err(self.unsupported(inner.span, "the builder options need `fields`"));
        };
        let part = variables.unwrap_or_else(|| {
            let loc = self.src.location(inner.span.lo);
            TemplatePart {
                text: String::new(),
                line: loc.line,
                column: loc.column,
            }
        });
        Ok((vec![part], lowering.spreads, DefinitionForm::Fields(fields)))
    }

    /// The `metadata` option: a static object (as JSON text) or a callback.
    #[allow(clippy::type_complexity)]
    fn read_metadata(
        &self,
        options: &ast::Expr,
    ) -> Result<(Option<String>, Option<MetadataCallback>), Diagnostic> {
        let ast::Expr::Object(obj) = strip_wrappers(options) else {
            return Err(self.unsupported(
                options.span(),
                "the options of the final call must be an object literal",
            ));
        };
        for prop in &obj.props {
            let ast::PropOrSpread::Prop(prop) = prop else {
                continue;
            };
            let ast::Prop::KeyValue(kv) = &**prop else {
                continue;
            };
            let is_metadata = matches!(&kv.key, ast::PropName::Ident(i) if i.sym == "metadata");
            if !is_metadata {
                continue;
            }
            if let Some(value) = static_json(&kv.value) {
                return Ok((Some(value.to_string()), None));
            }
            return lower::metadata_callback(self.src, &kv.value).map(|c| (None, Some(c)));
        }
        Ok((None, None))
    }
}

pub(super) fn single_return(stmts: &[ast::Stmt]) -> Option<&ast::Expr> {
    stmts.iter().find_map(|s| match s {
        ast::Stmt::Return(r) => r.arg.as_deref(),
        _ => None,
    })
}

pub(super) fn expr_path(expr: &ast::Expr) -> Option<Vec<String>> {
    match strip_wrappers(expr) {
        ast::Expr::Ident(i) => Some(vec![i.sym.to_string()]),
        ast::Expr::Member(m) => {
            let mut path = expr_path(&m.obj)?;
            match &m.prop {
                ast::MemberProp::Ident(p) => path.push(p.sym.to_string()),
                _ => return None,
            }
            Some(path)
        }
        _ => None,
    }
}

pub(super) fn static_json(expr: &ast::Expr) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match strip_wrappers(expr) {
        ast::Expr::Lit(ast::Lit::Str(s)) => Value::String(atom(s)),
        ast::Expr::Lit(ast::Lit::Bool(b)) => Value::Bool(b.value),
        ast::Expr::Lit(ast::Lit::Null(_)) => Value::Null,
        // As JSON.stringify writes numbers: an integral value has no `.0`.
        ast::Expr::Lit(ast::Lit::Num(n))
            if n.value == n.value.trunc() && n.value.abs() < 9.007_199_254_740_992e15 =>
        {
            Value::Number(serde_json::Number::from(n.value as i64))
        }
        ast::Expr::Lit(ast::Lit::Num(n)) => {
            serde_json::Number::from_f64(n.value).map(Value::Number)?
        }
        ast::Expr::Tpl(t) if t.exprs.is_empty() => {
            Value::String(t.quasis.iter().map(|q| q.raw.to_string()).collect())
        }
        ast::Expr::Array(a) => Value::Array(
            a.elems
                .iter()
                .map(|e| match e {
                    Some(ast::ExprOrSpread { spread: None, expr }) => static_json(expr),
                    _ => None,
                })
                .collect::<Option<_>>()?,
        ),
        ast::Expr::Object(o) => {
            let mut map = serde_json::Map::new();
            for prop in &o.props {
                let ast::PropOrSpread::Prop(prop) = prop else {
                    return None;
                };
                let ast::Prop::KeyValue(kv) = &**prop else {
                    return None;
                };
                let key = match &kv.key {
                    ast::PropName::Ident(i) => i.sym.to_string(),
                    ast::PropName::Str(s) => atom(s),
                    _ => return None,
                };
                map.insert(key, static_json(&kv.value)?);
            }
            Value::Object(map)
        }
        _ => return None,
    })
}

const GQL_CALL_HELP: &str = "soda-gql recognizes `gql.<schema>(({ query, fragment }) => ...)` with `gql` imported by name (`import { gql } from \"<graphql-system>\"`); no element is written for this";

/// Whether an expression mentions one of `names`.
struct IdentFinder<'n> {
    names: &'n HashSet<String>,
    found: bool,
}

impl Visit for IdentFinder<'_> {
    fn visit_ident(&mut self, ident: &ast::Ident) {
        self.found |= self.names.contains(ident.sym.as_str());
    }
}

/// Whether a subtree holds a `gql.<label>(...)` definition call.
struct GqlCallFinder<'w, 'a, 's> {
    walker: &'w Walker<'a, 's>,
    found: bool,
}

impl Visit for GqlCallFinder<'_, '_, '_> {
    fn visit_call_expr(&mut self, call: &ast::CallExpr) {
        if self.walker.gql_call_label(call).is_some() {
            self.found = true;
            return;
        }
        call.visit_children_with(self);
    }
}

fn declared_names(decl: &ast::Decl) -> Vec<String> {
    match decl {
        ast::Decl::Var(var) => var
            .decls
            .iter()
            .filter_map(|d| match &d.name {
                ast::Pat::Ident(i) => Some(i.id.sym.to_string()),
                _ => None,
            })
            .collect(),
        ast::Decl::Fn(f) => vec![f.ident.sym.to_string()],
        ast::Decl::Class(c) => vec![c.ident.sym.to_string()],
        _ => Vec::new(),
    }
}

fn prop_key(key: &ast::PropName) -> Option<String> {
    match key {
        ast::PropName::Ident(i) => Some(i.sym.to_string()),
        ast::PropName::Str(s) => Some(atom(s)),
        ast::PropName::Num(n) => Some(n.value.to_string()),
        _ => None,
    }
}

impl Visit for Walker<'_, '_> {
    fn visit_var_declarator(&mut self, decl: &ast::VarDeclarator) {
        let name = match &decl.name {
            ast::Pat::Ident(i) => Some(i.id.sym.to_string()),
            _ => None,
        };
        let Some(name) = name else {
            // Destructuring: no scope name.
            decl.init.visit_with(self);
            return;
        };
        let direct = decl
            .init
            .as_deref()
            .map(strip_attach)
            .and_then(|init| match init {
                ast::Expr::Call(call) => self.gql_call_label(call),
                _ => None,
            });
        self.with_scope(name.clone(), |this| match direct {
            Some((label, call)) => this.record_definition(label, call, Some(name)),
            None => decl.init.visit_with(this),
        });
    }

    fn visit_export_default_expr(&mut self, export: &ast::ExportDefaultExpr) {
        if let ast::Expr::Call(call) = strip_attach(&export.expr) {
            if let Some((label, call)) = self.gql_call_label(call) {
                self.record_definition(label, call, Some("default".to_owned()));
                return;
            }
        }
        export.visit_children_with(self);
    }

    fn visit_call_expr(&mut self, call: &ast::CallExpr) {
        if let Some((label, call)) = self.gql_call_label(call) {
            self.record_definition(label, call, None);
            return;
        }
        if let Some(misuse) = self.gql_misuse(call) {
            self.summary.diagnostics.push(misuse);
        }
        call.visit_children_with(self);
    }

    fn visit_opt_chain_expr(&mut self, chain: &ast::OptChainExpr) {
        // `gql?.default(...)`: the call is a link of the optional chain.
        if let (false, ast::OptChainBase::Call(call)) = (self.gql_locals.is_empty(), &*chain.base) {
            let member = match strip_wrappers(&call.callee) {
                ast::Expr::OptChain(inner) => match &*inner.base {
                    ast::OptChainBase::Member(m) => Some(m),
                    ast::OptChainBase::Call(_) => None,
                },
                ast::Expr::Member(m) => Some(m),
                _ => None,
            };
            let on_gql = member.is_some_and(|m| {
                matches!(strip_wrappers(&m.obj), ast::Expr::Ident(i) if self.gql_locals.contains(i.sym.as_str()))
            });
            if on_gql {
                let error = self.misused(
                    call.span,
                    "optional chaining on `gql`: call `gql.<schema>(...)` directly",
                );
                self.summary.diagnostics.push(error);
            }
        }
        chain.visit_children_with(self);
    }

    fn visit_fn_decl(&mut self, f: &ast::FnDecl) {
        self.with_scope(f.ident.sym.to_string(), |this| f.function.visit_with(this));
    }

    fn visit_fn_expr(&mut self, f: &ast::FnExpr) {
        let name = match &f.ident {
            Some(i) => i.sym.to_string(),
            None => format!("_function_{}", self.next_counter("_function")),
        };
        self.with_scope(name, |this| f.function.visit_with(this));
    }

    fn visit_arrow_expr(&mut self, arrow: &ast::ArrowExpr) {
        let name = format!("_arrow_{}", self.next_counter("_arrow"));
        self.with_scope(name, |this| arrow.visit_children_with(this));
    }

    fn visit_class_decl(&mut self, c: &ast::ClassDecl) {
        self.with_scope(c.ident.sym.to_string(), |this| c.class.visit_with(this));
    }

    fn visit_class_expr(&mut self, c: &ast::ClassExpr) {
        let name = match &c.ident {
            Some(i) => i.sym.to_string(),
            None => format!("_class_{}", self.next_counter("_class")),
        };
        self.with_scope(name, |this| c.class.visit_with(this));
    }

    fn visit_class_method(&mut self, m: &ast::ClassMethod) {
        match prop_key(&m.key) {
            Some(name) => self.with_scope(name, |this| m.function.visit_with(this)),
            None => m.function.visit_with(self),
        }
    }

    fn visit_class_prop(&mut self, p: &ast::ClassProp) {
        let mut finder = GqlCallFinder {
            walker: self,
            found: false,
        };
        if !self.gql_locals.is_empty() {
            p.value.visit_with(&mut finder);
        }
        if finder.found {
            let warning = self.unrecognized(p.span, "a gql definition in a class property");
            self.summary.diagnostics.push(warning);
        }
        self.in_class_property += 1;
        p.value.visit_with(self);
        self.in_class_property -= 1;
    }

    fn visit_method_prop(&mut self, m: &ast::MethodProp) {
        match prop_key(&m.key) {
            Some(name) => self.with_scope(name, |this| m.function.visit_with(this)),
            None => m.function.visit_with(self),
        }
    }

    fn visit_key_value_prop(&mut self, kv: &ast::KeyValueProp) {
        match prop_key(&kv.key) {
            Some(name) => self.with_scope(name, |this| kv.value.visit_with(this)),
            None => kv.value.visit_with(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The in-order line count answers as the full index does, whatever
        /// order the offsets come in (CRLF and non-ASCII lines included).
        #[test]
        fn counted_line_col_equals_the_line_index(
            lines in proptest::collection::vec("[a-zé\\r]{0,8}", 1..12),
            picks in proptest::collection::vec(0usize..200, 1..12),
        ) {
            let text = lines.join("\n");
            let boundaries: Vec<usize> =
                (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let src = SourceText::new("a.ts", &text);
            let index = LineIndex::new(&text);
            for pick in picks {
                let offset = boundaries[pick % boundaries.len()];
                proptest::prop_assert_eq!(src.line_col(offset), index.line_col(&text, offset));
                let (line, _) = index.line_col(&text, offset);
                proptest::prop_assert_eq!(src.line_text_at(offset), index.line_text(&text, line));
            }
        }
    }

    fn ctx() -> AnalyzerContext {
        AnalyzerContext {
            outdir_rel: "graphql-system".into(),
            root_dir: std::path::PathBuf::new(),
            aliases: vec!["@/graphql-system".into()],
        }
    }

    #[test]
    fn extracts_fragment_and_operation_with_spreads() {
        let src = r#"import { gql } from "../../graphql-system";
import { model0 as m } from "../entities/model0";
export const op = gql.default(({ query }) =>
  query("Op")`($id: ID!) {
    entity0(id: $id) { ...${m} }
  }`(),
);
"#;
        let s = analyze_module("src/pages/op.ts", src, &ctx());
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
        assert_eq!(s.imports.len(), 1, "gql import is not a dependency");
        assert_eq!(s.definitions.len(), 1);
        let d = &s.definitions[0];
        assert_eq!(d.ast_path, "op");
        assert_eq!(d.binding.as_deref(), Some("op"));
        assert_eq!(d.kind, DefinitionKind::Query);
        assert_eq!(d.name, "Op");
        assert_eq!(d.interpolations[0].path, vec!["m"]);
        assert_eq!(
            (d.interpolations[0].line, d.interpolations[0].column),
            (5, 29)
        );
        assert_eq!(d.parts.len(), 2);
        assert_eq!((d.parts[0].line, d.parts[0].column), (4, 15));
    }

    #[test]
    fn scope_paths_follow_the_canonical_rules() {
        let src = r#"import { gql } from "@/graphql-system";
const arr = [gql.default(({ fragment }) => fragment("A", "T")`{ id }`()), gql.default(({ fragment }) => fragment("B", "T")`{ id }`())];
function make() { const inner = gql.default(({ query }) => query("Q")`{ id }`()); return inner; }
const f = () => gql.default(({ query }) => query("R")`{ id }`());
register(gql.default(({ query }) => query("S")`{ id }`()));
export default gql.default(({ query }) => query("D")`{ id }`());
const obj = { key: gql.default(({ query }) => query("K")`{ id }`()) };
"#;
        let s = analyze_module("a.ts", src, &ctx());
        let paths: Vec<_> = s.definitions.iter().map(|d| d.ast_path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "arr",
                "arr$1",
                "make.inner",
                "f._arrow_0",
                "_anonymous_0",
                "_anonymous_1",
                "obj.key"
            ]
        );
        assert!(s.exports.contains(&ExportEntry::Local {
            exported: "default".into(),
            local: "default".into()
        }));
    }

    #[test]
    fn gql_from_elsewhere_is_not_a_definition() {
        let src = "import { gql } from \"graphql-tag\";\nexport const x = gql.default(({ query }) => query(\"Q\")`{ id }`());\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert!(s.definitions.is_empty());
    }

    #[test]
    fn syntax_error_is_a_located_diagnostic() {
        let s = analyze_module("a.ts", "const x = ;\n", &ctx());
        assert_eq!(s.diagnostics.len(), 1);
        let d = &s.diagnostics[0];
        assert_eq!(d.code, codes::SYNTAX_ERROR);
        let loc = d.location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (1, 11));
    }

    #[test]
    fn a_form_older_than_0_15_is_unsupported_with_help() {
        let src = "import { gql } from \"./graphql-system\";\nexport const op = gql.default(({ query }) => query.operation({ name: \"X\" }));\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert_eq!(s.definitions.len(), 0);
        assert_eq!(s.diagnostics[0].code, codes::UNSUPPORTED_FORM);
        assert!(s.diagnostics[0].message.contains("query.operation"));
        assert!(s.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("options-object builder"));
    }

    #[test]
    fn options_object_operations_are_lowered() {
        let src = "import { gql } from \"./graphql-system\";\nimport { frag } from \"./frag\";\nexport const op = gql.default(({ query, $dir }) => query(\"Op\")({\n  variables: `($id: ID!, $n: Int)`,\n  fields: ({ f, $ }) => ({\n    ...f(\"user\", { id: $.id, tags: [\"a\", -1.5], where: { ok: true, no: undefined } })(({ f: g }) => ({\n      ...g(\"name\", null, { alias: \"title\", directives: [$dir.skip({ if: $.n })] })(),\n      ...frag.spread({ n: $.n }),\n      __typename: true,\n    })),\n  }),\n})());\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
        let def = &s.definitions[0];
        assert_eq!(def.parts[0].text, "($id: ID!, $n: Int)");
        assert_eq!(def.interpolations[0].path, vec!["frag".to_owned()]);
        let super::super::DefinitionForm::Fields(items) = &def.form else {
            panic!("not the options-object form: {:?}", def.form);
        };
        let super::super::FieldItem::Field(user) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(user.name, "user");
        assert_eq!(
            user.args,
            vec![
                ("id".into(), super::super::ArgValue::Var("id".into())),
                (
                    "tags".into(),
                    super::super::ArgValue::List(vec![
                        super::super::ArgValue::String("a".into()),
                        super::super::ArgValue::Number("-1.5".into())
                    ])
                ),
                (
                    "where".into(),
                    super::super::ArgValue::Object(vec![
                        ("ok".into(), super::super::ArgValue::Bool(true)),
                        ("no".into(), super::super::ArgValue::Undefined)
                    ])
                ),
            ]
        );
        let Some(super::super::SubSelection::Object(nested)) = &user.selection else {
            panic!("{:?}", user.selection)
        };
        assert_eq!(nested.len(), 3);
        let super::super::FieldItem::Field(name) = &nested[0] else {
            panic!("{nested:?}")
        };
        assert_eq!(name.alias.as_deref(), Some("title"));
        assert_eq!(name.directives[0].name, "skip");
        assert!(matches!(&nested[1], super::super::FieldItem::Spread(sp) if sp.interpolation == 0));
    }

    #[test]
    fn what_needs_evaluation_is_named_with_its_position() {
        let src = "import { gql } from \"./graphql-system\";\nexport const op = gql.default(({ query }) => query(\"Op\")({\n  fields: ({ f }) => ({\n    ...(flag ? f(\"a\")() : {}),\n  }),\n})());\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert_eq!(s.definitions.len(), 0);
        let d = &s.diagnostics[0];
        assert_eq!(d.code, codes::UNSUPPORTED_FORM);
        assert!(
            d.message.contains("flag ? f(\"a\")() : {}"),
            "{}",
            d.message
        );
        let loc = d.location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (4, 9));

        let src = "import { gql } from \"./graphql-system\";\nexport const op = gql.default(({ query }) => query(\"Op\")`{ a }`({ metadata: () => { while (true) {} } }));\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert_eq!(s.definitions.len(), 0);
        assert_eq!(s.diagnostics[0].code, codes::UNSUPPORTED_FORM);
        assert!(
            s.diagnostics[0].message.contains("statements"),
            "{}",
            s.diagnostics[0].message
        );
    }

    #[test]
    fn compat_and_define_make_no_definition_and_extend_does() {
        let src = "import { gql } from \"./graphql-system\";\nexport const c = gql.default(({ query }) => query.compat(\"C\")`($id: ID!) { a(id: $id) }`);\nexport const d = gql.default(({ define }) => define(() => 1));\nexport const e = gql.default(({ extend }) => extend(c, { metadata: { x: 1 } }));\nexport const bad = gql.default(({ query }) => query.compat(\"B\")`{ a( }`);\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert_eq!(s.definitions.len(), 1, "{:?}", s.definitions);
        assert_eq!(s.definitions[0].name, "C");
        assert_eq!(s.definitions[0].binding.as_deref(), Some("e"));
        assert_eq!(s.definitions[0].metadata_json.as_deref(), Some("{\"x\":1}"));
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].code, codes::GRAPHQL_PARSE);
    }

    #[test]
    fn exports_and_reexports() {
        let src = "export { a as b } from \"./a\";\nexport * from \"./c\";\nexport * as ns from \"./d\";\nconst x = 1;\nexport { x as y };\nexport type { T } from \"./t\";\n";
        let s = analyze_module("i.ts", src, &ctx());
        assert_eq!(s.exports.len(), 4);
        assert_eq!(s.dependency_specifiers(), ["./a", "./c", "./d"]);
    }
}
