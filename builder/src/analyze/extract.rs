//! The swc walk that fills a [`ModuleSummary`]: imports, exports and every
//! `gql.<schema>(...)` definition with its scope path.

use std::collections::{HashMap, HashSet};

use swc_common::{BytePos, Span, Spanned};
use swc_ecma_ast as ast;
use swc_ecma_parser::{Parser, StringInput, Syntax, TsSyntax};
use swc_ecma_visit::{Visit, VisitWith};

use super::{
    AnalyzerContext, Definition, DefinitionKind, ExportEntry, ImportBinding, ImportDecl,
    ImportedName, Interpolation, ModuleSummary, TemplatePart,
};
use crate::config::normalize_path;
use crate::diagnostics::{codes, Diagnostic, LineIndex, Location};

const TAGGED_TEMPLATE_HELP: &str = "use the tagged-template form, e.g. query(\"GetUser\")`($id: ID!) { user(id: $id) { id } }`() or fragment(\"UserFields\", \"User\")`{ id name }`()";

/// Parses and analyses one file. Never fails: a syntax error becomes a
/// diagnostic and an otherwise empty summary.
pub fn analyze_module(path: &str, source: &str, ctx: &AnalyzerContext) -> ModuleSummary {
    let files = SourceText::new(path, source);
    let mut summary = ModuleSummary {
        path: path.to_owned(),
        imports: Vec::new(),
        exports: Vec::new(),
        definitions: Vec::new(),
        diagnostics: Vec::new(),
    };
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
        summary: &mut summary,
    };
    walker.collect_module_items(&module);
    module.visit_with(&mut walker);
    summary
}

struct SourceText<'a> {
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

    fn index(&self) -> &LineIndex {
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

    fn offset(&self, pos: BytePos) -> usize {
        (pos.0.saturating_sub(1) as usize).min(self.text.len())
    }

    fn location(&self, pos: BytePos) -> Location {
        let (line, column) = self.line_col(self.offset(pos));
        Location {
            file: self.path.to_owned(),
            line,
            column,
        }
    }

    fn slice(&self, span: Span) -> &str {
        self.text
            .get(self.offset(span.lo)..self.offset(span.hi))
            .unwrap_or("")
    }

    fn diagnostic(&self, diagnostic: Diagnostic, span: Span) -> Diagnostic {
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
    summary: &'s mut ModuleSummary,
}

fn atom(s: &swc_ecma_ast::Str) -> String {
    s.value.to_string_lossy().into_owned()
}

fn export_name(name: &ast::ModuleExportName) -> String {
    match name {
        ast::ModuleExportName::Ident(i) => i.sym.to_string(),
        ast::ModuleExportName::Str(s) => atom(s),
    }
}

fn strip_wrappers(mut expr: &ast::Expr) -> &ast::Expr {
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
    target == ctx.outdir_rel.trim_end_matches('/')
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
            if is_gql && imported == ImportedName::Named("gql".to_owned()) {
                self.gql_locals.insert(local.clone());
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
        let line_text = self
            .src
            .line_text_at(self.src.offset(import.src.span.lo))
            .to_owned();
        self.summary.imports.push(ImportDecl {
            specifier,
            bindings,
            location,
            line_text,
        });
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
            ast::MemberProp::Computed(c) => match strip_wrappers(&c.expr) {
                ast::Expr::Lit(ast::Lit::Str(s)) => Some(((atom(s), s.span), call)),
                _ => None,
            },
            ast::MemberProp::PrivateName(_) => None,
        }
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
        let ast_path = self.current_path();
        match self.extract_definition(label, call, ast_path, binding) {
            Ok(def) => self.summary.definitions.push(def),
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

    fn extract_definition(
        &self,
        (label, label_span): (String, Span),
        call: &ast::CallExpr,
        ast_path: String,
        binding: Option<String>,
    ) -> Result<Definition, Diagnostic> {
        let Some(arg) = call.args.first() else {
            return Err(self.unsupported(call.span, "gql call without a builder callback"));
        };
        // `({ query, fragment: frag }) => ...`: map local names to kinds.
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
        let mut kind_locals: HashMap<String, DefinitionKind> = HashMap::new();
        if let Some(ast::Pat::Object(obj)) = params.first() {
            for prop in &obj.props {
                match prop {
                    ast::ObjectPatProp::Assign(a) => {
                        if let Some(kind) = DefinitionKind::from_keyword(&a.key.sym) {
                            kind_locals.insert(a.key.sym.to_string(), kind);
                        }
                    }
                    ast::ObjectPatProp::KeyValue(kv) => {
                        if let (ast::PropName::Ident(key), ast::Pat::Ident(local)) =
                            (&kv.key, &*kv.value)
                        {
                            if let Some(kind) = DefinitionKind::from_keyword(&key.sym) {
                                kind_locals.insert(local.id.sym.to_string(), kind);
                            }
                        }
                    }
                    ast::ObjectPatProp::Rest(_) => {}
                }
            }
        }
        let Some(body) = body.map(strip_wrappers) else {
            return Err(self.unsupported(
                arg.span(),
                "the callback must return the definition directly",
            ));
        };
        // body = kind("Name", "Type")`...`(options?)
        let ast::Expr::Call(outer) = body else {
            return Err(self.unsupported(body.span(), "expected kind(\"Name\")`...`()"));
        };
        let tagged = match &outer.callee {
            ast::Callee::Expr(e) => match strip_wrappers(e) {
                ast::Expr::TaggedTpl(t) => t,
                ast::Expr::Member(m) => {
                    let what = format!(
                        "`{}` needs JavaScript evaluation (options-object builder)",
                        self.src.slice(m.span)
                    );
                    return Err(self.unsupported(m.span, &what));
                }
                other => return Err(self.unsupported(other.span(), "expected a tagged template")),
            },
            _ => return Err(self.unsupported(outer.span, "expected a tagged template")),
        };
        let ast::Expr::Call(tag_call) = strip_wrappers(&tagged.tag) else {
            return Err(self.unsupported(
                tagged.tag.span(),
                "the template tag must be query(\"Name\"), mutation, subscription or fragment",
            ));
        };
        let kind = match &tag_call.callee {
            ast::Callee::Expr(e) => match strip_wrappers(e) {
                ast::Expr::Ident(i) => kind_locals
                    .get(i.sym.as_str())
                    .copied()
                    .or_else(|| DefinitionKind::from_keyword(&i.sym)),
                _ => None,
            },
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
        let metadata_json = match outer.args.first() {
            None => None,
            Some(options) => self.read_metadata(&options.expr)?,
        };

        let parts = tagged
            .tpl
            .quasis
            .iter()
            .map(|q| {
                let loc = self.src.location(q.span.lo);
                TemplatePart {
                    text: q.raw.to_string(),
                    line: loc.line,
                    column: loc.column,
                }
            })
            .collect();
        let interpolations = tagged
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
            .collect();
        let location = self.src.location(call.span.lo);
        let end = self.src.location(call.span.hi);
        let lines = (location.line..=end.line)
            .map(|l| self.src.index().line_text(self.src.text, l).to_owned())
            .collect();
        Ok(Definition {
            ast_path,
            binding,
            schema_label: label,
            kind,
            name,
            type_condition,
            parts,
            interpolations,
            metadata_json,
            first_line: location.line,
            location,
            label_location: self.src.location(label_span.lo),
            name_location: self.src.location(name_span.lo),
            lines,
        })
    }

    fn read_metadata(&self, options: &ast::Expr) -> Result<Option<String>, Diagnostic> {
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
            return match static_json(&kv.value) {
                Some(value) => Ok(Some(value.to_string())),
                None => Err(self.unsupported(
                    kv.value.span(),
                    "metadata that needs JavaScript evaluation (a function or a computed value); only a static object literal is kept",
                )),
            };
        }
        Ok(None)
    }
}

fn single_return(stmts: &[ast::Stmt]) -> Option<&ast::Expr> {
    stmts.iter().find_map(|s| match s {
        ast::Stmt::Return(r) => r.arg.as_deref(),
        _ => None,
    })
}

fn expr_path(expr: &ast::Expr) -> Option<Vec<String>> {
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

fn static_json(expr: &ast::Expr) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match strip_wrappers(expr) {
        ast::Expr::Lit(ast::Lit::Str(s)) => Value::String(atom(s)),
        ast::Expr::Lit(ast::Lit::Bool(b)) => Value::Bool(b.value),
        ast::Expr::Lit(ast::Lit::Null(_)) => Value::Null,
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
            .map(strip_wrappers)
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
        if let ast::Expr::Call(call) = strip_wrappers(&export.expr) {
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
        call.visit_children_with(self);
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
        match prop_key(&p.key) {
            Some(name) => self.with_scope(name, |this| p.value.visit_with(this)),
            None => p.value.visit_with(self),
        }
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
        let src = r#"import { gql as g } from "@/graphql-system";
const arr = [g.default(({ fragment }) => fragment("A", "T")`{ id }`()), g.default(({ fragment }) => fragment("B", "T")`{ id }`())];
function make() { const inner = g.default(({ query }) => query("Q")`{ id }`()); return inner; }
const f = () => g.default(({ query }) => query("R")`{ id }`());
register(g.default(({ query }) => query("S")`{ id }`()));
export default g.default(({ query }) => query("D")`{ id }`());
const obj = { key: g.default(({ query }) => query("K")`{ id }`()) };
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
    fn options_object_builder_is_unsupported_with_help() {
        let src = "import { gql } from \"./graphql-system\";\nexport const op = gql.default(({ query }) => query.operation({ name: \"X\" }));\n";
        let s = analyze_module("a.ts", src, &ctx());
        assert_eq!(s.definitions.len(), 0);
        assert_eq!(s.diagnostics[0].code, codes::UNSUPPORTED_FORM);
        assert!(s.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("tagged-template"));
    }

    #[test]
    fn exports_and_reexports() {
        let src = "export { a as b } from \"./a\";\nexport * from \"./c\";\nexport * as ns from \"./d\";\nconst x = 1;\nexport { x as y };\nexport type { T } from \"./t\";\n";
        let s = analyze_module("i.ts", src, &ctx());
        assert_eq!(s.exports.len(), 4);
        assert_eq!(s.dependency_specifiers(), ["./a", "./c", "./d"]);
    }
}
