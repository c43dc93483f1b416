//! Lowers the options-object field builder and metadata callbacks from swc
//! expressions into the owned forms of [`super::forms`]. The DSL is analysed
//! as the documented builder it is, never executed: anything it cannot state
//! statically (a loop, a condition, a value computed at run time) is a
//! located diagnostic that names the expression and says why.

use std::collections::HashSet;

use swc_common::{Span, Spanned};
use swc_ecma_ast as ast;

use super::extract::{atom, expr_path, single_return, strip_wrappers, SourceText};
use super::forms::{
    ArgValue, DirectiveCall, FieldCall, FieldItem, MetaElement, MetaExpr, MetaKey, MetaProp,
    MetadataCallback, SpreadCall, SubSelection,
};
use super::Interpolation;
use crate::diagnostics::{codes, Diagnostic};

const FIELDS_HELP: &str = "write the selection with the builder's own calls: ...f(\"name\", { arg: $.var })(({ f }) => ({ ... })), ...fragment.spread({ v: $.var }), literals and $.variable references; or use the tagged-template form";

const METADATA_HELP: &str = "a metadata callback is evaluated at build time: return one expression built from literals, objects, arrays, $var.getName($.x), fragmentMetadata, ?., ??, ternaries and array methods; or pass a static object";

/// Nesting depth past which a builder expression is refused: deep enough for
/// any hand-written selection, shallow enough for the analyzer's stack.
const MAX_DEPTH: usize = 64;

fn why(src: &SourceText<'_>, span: Span, message: String, help: &str) -> Diagnostic {
    src.diagnostic(
        Diagnostic::error(codes::UNSUPPORTED_FORM, message).with_help(help),
        span,
    )
}

/// Lowers one options-object definition's `fields` callback.
pub(super) struct FieldsLowering<'a> {
    pub src: &'a SourceText<'a>,
    /// Local names of the gql context's `$colocate` and `$dir`.
    pub colocate: HashSet<String>,
    pub dir: HashSet<String>,
    /// Fragment references of `.spread()` calls, in source order: they become
    /// the definition's interpolations, which the graph resolves.
    pub spreads: Vec<Interpolation>,
    /// Local names of the callback's `$` (operation variables).
    dollar: HashSet<String>,
    depth: usize,
}

/// The names a builder callback binds: `({ f, $ })`, `({ f: taskF })`.
fn destructured(pat: Option<&ast::Pat>, key: &str) -> Vec<String> {
    let Some(ast::Pat::Object(obj)) = pat else {
        return Vec::new();
    };
    obj.props
        .iter()
        .filter_map(|prop| match prop {
            ast::ObjectPatProp::Assign(a) if a.key.sym == key => Some(a.key.sym.to_string()),
            ast::ObjectPatProp::KeyValue(kv) => match (&kv.key, &*kv.value) {
                (ast::PropName::Ident(k), ast::Pat::Ident(local)) if k.sym == key => {
                    Some(local.id.sym.to_string())
                }
                (ast::PropName::Str(k), ast::Pat::Ident(local)) if atom(k) == key => {
                    Some(local.id.sym.to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A callback's first parameter and the expression it returns.
fn callback_parts(expr: &ast::Expr) -> Option<(Option<&ast::Pat>, Option<&ast::Expr>, bool)> {
    match strip_wrappers(expr) {
        ast::Expr::Arrow(arrow) => Some((
            arrow.params.first(),
            match &*arrow.body {
                ast::ArrowFunctionBody::Expr(e) => Some(e),
                ast::ArrowFunctionBody::FunctionBody(b) if b.stmts.len() == 1 => {
                    single_return(&b.stmts)
                }
                ast::ArrowFunctionBody::FunctionBody(_) => None,
            },
            arrow.is_async,
        )),
        ast::Expr::Fn(f) => Some((
            f.function.params.first().map(|p| &p.pat),
            f.function
                .body
                .as_ref()
                .filter(|b| b.stmts.len() == 1)
                .and_then(|b| single_return(&b.stmts)),
            f.function.is_async,
        )),
        _ => None,
    }
}

fn prop_name(key: &ast::PropName) -> Option<String> {
    match key {
        ast::PropName::Ident(i) => Some(i.sym.to_string()),
        ast::PropName::Str(s) => Some(atom(s)),
        ast::PropName::Num(n) => Some(js_number(n.value)),
        _ => None,
    }
}

/// `String(n)` for the numbers source code writes.
pub(crate) fn js_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == n.trunc() && n.abs() < 1e21 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

impl<'a> FieldsLowering<'a> {
    pub fn new(src: &'a SourceText<'a>, colocate: HashSet<String>, dir: HashSet<String>) -> Self {
        FieldsLowering {
            src,
            colocate,
            dir,
            spreads: Vec::new(),
            dollar: HashSet::new(),
            depth: 0,
        }
    }

    fn refuse(&self, span: Span, what: &str) -> Diagnostic {
        why(
            self.src,
            span,
            format!(
                "cannot analyze `{}` statically: {what}",
                short(self.src.slice(span))
            ),
            FIELDS_HELP,
        )
    }

    /// `fields: ({ f, $ }) => ({ ... })`.
    pub fn fields_callback(&mut self, expr: &ast::Expr) -> Result<Vec<FieldItem>, Diagnostic> {
        let Some((param, body, is_async)) = callback_parts(expr) else {
            return Err(self.refuse(
                expr.span(),
                "`fields` must be a callback that returns the selection object",
            ));
        };
        if is_async {
            return Err(self.refuse(expr.span(), "`fields` must not be async"));
        }
        let f_names: Vec<String> = destructured(param, "f");
        self.dollar = destructured(param, "$").into_iter().collect();
        let Some(body) = body else {
            return Err(self.refuse(
                expr.span(),
                "the callback must return the selection object in one expression",
            ));
        };
        match strip_wrappers(body) {
            ast::Expr::Call(call) if self.is_colocate(call) => self.colocate_call(call, &f_names),
            other => self.selection_object(other, &f_names),
        }
    }

    fn is_colocate(&self, call: &ast::CallExpr) -> bool {
        matches!(&call.callee, ast::Callee::Expr(e) if matches!(strip_wrappers(e), ast::Expr::Ident(i) if self.colocate.contains(i.sym.as_str())))
    }

    /// `$colocate({ label: { ...fields } | fragment.spread(...) })`.
    fn colocate_call(
        &mut self,
        call: &ast::CallExpr,
        f_names: &[String],
    ) -> Result<Vec<FieldItem>, Diagnostic> {
        let Some(ast::Expr::Object(obj)) = call.args.first().map(|a| strip_wrappers(&a.expr))
        else {
            return Err(self.refuse(
                call.span,
                "$colocate takes an object literal of { label: fields }",
            ));
        };
        let mut entries = Vec::new();
        for prop in &obj.props {
            let ast::PropOrSpread::Prop(prop) = prop else {
                return Err(self.refuse(prop.span(), "a spread inside $colocate's entries"));
            };
            let ast::Prop::KeyValue(kv) = &**prop else {
                return Err(self.refuse(prop.span(), "$colocate entries must be `label: fields`"));
            };
            let Some(label) = prop_name(&kv.key) else {
                return Err(self.refuse(kv.key.span(), "a computed $colocate label"));
            };
            let items = match strip_wrappers(&kv.value) {
                ast::Expr::Call(c) if self.spread_target(c).is_some() => {
                    vec![self.spread_call(c)?]
                }
                other => self.selection_object(other, f_names)?,
            };
            entries.push((label, items));
        }
        Ok(vec![FieldItem::Colocate(entries)])
    }

    /// `{ ...f("a")(), ...frag.spread(), b: true }`.
    fn selection_object(
        &mut self,
        expr: &ast::Expr,
        f_names: &[String],
    ) -> Result<Vec<FieldItem>, Diagnostic> {
        let ast::Expr::Object(obj) = strip_wrappers(expr) else {
            return Err(self.refuse(
                expr.span(),
                "a selection must be an object literal of ...f(...) and ...fragment.spread(...) entries",
            ));
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self.refuse(obj.span, "selections nested too deeply"));
        }
        let mut items = Vec::new();
        for prop in &obj.props {
            let item = match prop {
                ast::PropOrSpread::Spread(spread) => self.spread_entry(&spread.expr, f_names),
                ast::PropOrSpread::Prop(prop) => match &**prop {
                    ast::Prop::KeyValue(kv) => match (prop_name(&kv.key), strip_wrappers(&kv.value)) {
                        (Some(key), ast::Expr::Lit(ast::Lit::Bool(b))) if b.value => {
                            let loc = self.src.location(kv.key.span().lo);
                            Ok(FieldItem::Shorthand {
                                key,
                                line: loc.line,
                                column: loc.column,
                            })
                        }
                        _ => Err(self.refuse(
                            prop.span(),
                            "a selection entry must be a spread (...f(\"name\")(), ...fragment.spread()) or `field: true`",
                        )),
                    },
                    other => Err(self.refuse(
                        other.span(),
                        "a selection entry must be a spread (...f(\"name\")(), ...fragment.spread()) or `field: true`",
                    )),
                },
            };
            match item {
                Ok(item) => items.push(item),
                Err(d) => {
                    self.depth -= 1;
                    return Err(d);
                }
            }
        }
        self.depth -= 1;
        Ok(items)
    }

    fn spread_entry(
        &mut self,
        expr: &ast::Expr,
        f_names: &[String],
    ) -> Result<FieldItem, Diagnostic> {
        let ast::Expr::Call(call) = strip_wrappers(expr) else {
            return Err(self.refuse(
                strip_wrappers(expr).span(),
                "only ...f(\"name\")(...) and ...fragment.spread(...) can be spread into a selection",
            ));
        };
        if self.spread_target(call).is_some() {
            return self.spread_call(call);
        }
        // f("name", args?, extras?)(nested?, extras?)
        let ast::Callee::Expr(callee) = &call.callee else {
            return Err(self.refuse(call.span, "not a field call"));
        };
        let ast::Expr::Call(field_call) = strip_wrappers(callee) else {
            return Err(self.refuse(
                call.span,
                "expected ...f(\"name\")() or ...fragment.spread()",
            ));
        };
        let is_f = matches!(&field_call.callee, ast::Callee::Expr(e) if matches!(strip_wrappers(e), ast::Expr::Ident(i) if f_names.iter().any(|n| n == i.sym.as_str())));
        if !is_f {
            return Err(self.refuse(
                field_call.span,
                "the field accessor must be the `f` of the enclosing callback",
            ));
        }
        let Some(name_arg) = field_call.args.first() else {
            return Err(self.refuse(field_call.span, "f(...) needs the field name"));
        };
        let (name, name_span) = match strip_wrappers(&name_arg.expr) {
            ast::Expr::Lit(ast::Lit::Str(s)) => (atom(s), s.span),
            ast::Expr::Tpl(t) if t.exprs.is_empty() => (tpl_text(t), t.span),
            other => {
                return Err(self.refuse(other.span(), "the field name must be a string literal"))
            }
        };
        let args = match field_call.args.get(1).map(|a| strip_wrappers(&a.expr)) {
            None => Vec::new(),
            Some(ast::Expr::Lit(ast::Lit::Null(_))) => Vec::new(),
            Some(ast::Expr::Ident(i)) if i.sym == "undefined" => Vec::new(),
            Some(other) => self.arg_object(other)?,
        };
        let mut alias = None;
        let mut directives = Vec::new();
        if let Some(extras) = field_call.args.get(2) {
            self.extras(&extras.expr, &mut alias, &mut directives)?;
        }
        let selection = match call.args.first().map(|a| strip_wrappers(&a.expr)) {
            None => None,
            Some(ast::Expr::Lit(ast::Lit::Null(_))) => None,
            Some(ast::Expr::Ident(i)) if i.sym == "undefined" => None,
            Some(ast::Expr::Object(union)) => Some(self.union_selection(union, f_names)?),
            Some(nested) => Some(SubSelection::Object(self.nested_callback(nested, f_names)?)),
        };
        if let Some(extras) = call.args.get(1) {
            self.extras(&extras.expr, &mut alias, &mut directives)?;
        }
        let loc = self.src.location(name_span.lo);
        Ok(FieldItem::Field(FieldCall {
            name,
            args,
            alias,
            directives,
            selection,
            line: loc.line,
            column: loc.column,
        }))
    }

    /// `({ f }) => ({ ... })` or `() => ({ ... })` (the enclosing `f`).
    fn nested_callback(
        &mut self,
        expr: &ast::Expr,
        f_names: &[String],
    ) -> Result<Vec<FieldItem>, Diagnostic> {
        let Some((param, body, _)) = callback_parts(expr) else {
            return Err(self.refuse(
                expr.span(),
                "a nested selection must be a callback ({ f }) => ({ ... })",
            ));
        };
        let Some(body) = body else {
            return Err(self.refuse(
                expr.span(),
                "the callback must return the selection object in one expression",
            ));
        };
        let own = destructured(param, "f");
        let names: Vec<String> = if own.is_empty() {
            f_names.to_vec()
        } else {
            own
        };
        self.selection_object(body, &names)
    }

    /// `{ Member: ({ f }) => ({ ... }), __typename: true }`.
    fn union_selection(
        &mut self,
        obj: &ast::ObjectLit,
        f_names: &[String],
    ) -> Result<SubSelection, Diagnostic> {
        let mut members = Vec::new();
        let mut typename = false;
        for prop in &obj.props {
            let ast::PropOrSpread::Prop(prop) = prop else {
                return Err(self.refuse(prop.span(), "a spread inside a union selection"));
            };
            let ast::Prop::KeyValue(kv) = &**prop else {
                return Err(self.refuse(
                    prop.span(),
                    "union members must be `Type: ({ f }) => ({ ... })`",
                ));
            };
            let Some(member) = prop_name(&kv.key) else {
                return Err(self.refuse(kv.key.span(), "a computed union member name"));
            };
            if member == "__typename" {
                typename = matches!(strip_wrappers(&kv.value), ast::Expr::Lit(ast::Lit::Bool(b)) if b.value);
                continue;
            }
            match strip_wrappers(&kv.value) {
                ast::Expr::Ident(i) if i.sym == "undefined" => continue,
                value => members.push((member, self.nested_callback(value, f_names)?)),
            }
        }
        Ok(SubSelection::Union { members, typename })
    }

    /// `{ alias: "x", directives: [$dir.skip({ if: $.v })] }`.
    fn extras(
        &mut self,
        expr: &ast::Expr,
        alias: &mut Option<String>,
        directives: &mut Vec<DirectiveCall>,
    ) -> Result<(), Diagnostic> {
        let obj = match strip_wrappers(expr) {
            ast::Expr::Object(o) => o,
            ast::Expr::Ident(i) if i.sym == "undefined" => return Ok(()),
            ast::Expr::Lit(ast::Lit::Null(_)) => return Ok(()),
            other => {
                return Err(self.refuse(
                    other.span(),
                    "field options must be an object literal { alias, directives }",
                ))
            }
        };
        for prop in &obj.props {
            let ast::PropOrSpread::Prop(prop) = prop else {
                return Err(self.refuse(prop.span(), "a spread inside field options"));
            };
            let ast::Prop::KeyValue(kv) = &**prop else {
                return Err(self.refuse(prop.span(), "field options must be `key: value`"));
            };
            match prop_name(&kv.key).as_deref() {
                Some("alias") => match strip_wrappers(&kv.value) {
                    ast::Expr::Lit(ast::Lit::Str(s)) => *alias = Some(atom(s)),
                    ast::Expr::Tpl(t) if t.exprs.is_empty() => *alias = Some(tpl_text(t)),
                    ast::Expr::Ident(i) if i.sym == "undefined" => {}
                    other => {
                        return Err(self.refuse(other.span(), "an alias must be a string literal"))
                    }
                },
                Some("directives") => {
                    let ast::Expr::Array(list) = strip_wrappers(&kv.value) else {
                        return Err(self.refuse(
                            kv.value.span(),
                            "directives must be an array literal of $dir.<name>(...) calls",
                        ));
                    };
                    for elem in list.elems.iter().flatten() {
                        directives.push(self.directive(&elem.expr)?);
                    }
                }
                _ => {
                    return Err(self.refuse(
                        prop.span(),
                        "field options take only `alias` and `directives`",
                    ))
                }
            }
        }
        Ok(())
    }

    /// `$dir.skip({ if: $.flag })`.
    fn directive(&mut self, expr: &ast::Expr) -> Result<DirectiveCall, Diagnostic> {
        let refuse = |this: &Self| {
            this.refuse(
                expr.span(),
                "a directive must be written $dir.<name>({ arg: value })",
            )
        };
        let ast::Expr::Call(call) = strip_wrappers(expr) else {
            return Err(refuse(self));
        };
        let ast::Callee::Expr(callee) = &call.callee else {
            return Err(refuse(self));
        };
        let ast::Expr::Member(member) = strip_wrappers(callee) else {
            return Err(refuse(self));
        };
        let is_dir = matches!(strip_wrappers(&member.obj), ast::Expr::Ident(i) if self.dir.contains(i.sym.as_str()));
        let ast::MemberProp::Ident(name) = &member.prop else {
            return Err(refuse(self));
        };
        if !is_dir {
            return Err(refuse(self));
        }
        let args = match call.args.first() {
            None => Vec::new(),
            Some(a) => self.arg_object(&a.expr)?,
        };
        Ok(DirectiveCall {
            name: name.sym.to_string(),
            args,
        })
    }

    /// The fragment reference of `x.spread(...)` / `ns.x.spread(...)`.
    fn spread_target(&self, call: &ast::CallExpr) -> Option<Vec<String>> {
        let ast::Callee::Expr(callee) = &call.callee else {
            return None;
        };
        let ast::Expr::Member(member) = strip_wrappers(callee) else {
            return None;
        };
        match &member.prop {
            ast::MemberProp::Ident(p) if p.sym == "spread" => expr_path(&member.obj),
            _ => None,
        }
    }

    fn spread_call(&mut self, call: &ast::CallExpr) -> Result<FieldItem, Diagnostic> {
        let path = self.spread_target(call).unwrap_or_default();
        let ast::Callee::Expr(callee) = &call.callee else {
            return Err(self.refuse(call.span, "not a spread call"));
        };
        let ast::Expr::Member(member) = strip_wrappers(callee) else {
            return Err(self.refuse(call.span, "not a spread call"));
        };
        let args = match call.args.first().map(|a| strip_wrappers(&a.expr)) {
            None => None,
            Some(ast::Expr::Ident(i)) if i.sym == "undefined" => None,
            Some(other) => Some(self.arg_object(other)?),
        };
        let loc = self.src.location(member.obj.span().lo);
        self.spreads.push(Interpolation {
            path,
            source: self.src.slice(member.obj.span()).to_owned(),
            line: loc.line,
            column: loc.column,
        });
        Ok(FieldItem::Spread(SpreadCall {
            interpolation: self.spreads.len() - 1,
            args,
        }))
    }

    /// `{ id: $.id, limit: 10 }`: keys in source order.
    fn arg_object(&mut self, expr: &ast::Expr) -> Result<Vec<(String, ArgValue)>, Diagnostic> {
        let ast::Expr::Object(obj) = strip_wrappers(expr) else {
            return Err(self.refuse(expr.span(), "arguments must be an object literal"));
        };
        let mut out: Vec<(String, ArgValue)> = Vec::new();
        for prop in &obj.props {
            let (key, value) = match prop {
                ast::PropOrSpread::Prop(prop) => match &**prop {
                    ast::Prop::KeyValue(kv) => match prop_name(&kv.key) {
                        Some(key) => (key, self.arg_value(&kv.value, 0)?),
                        None => return Err(self.refuse(kv.key.span(), "a computed argument name")),
                    },
                    other => {
                        return Err(self.refuse(other.span(), "arguments must be `name: value`"))
                    }
                },
                ast::PropOrSpread::Spread(s) => {
                    return Err(self.refuse(s.expr.span(), "a spread inside arguments"))
                }
            };
            // A later key replaces an earlier one in place, as in JavaScript.
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => out.push((key, value)),
            }
        }
        Ok(out)
    }

    fn arg_value(&mut self, expr: &ast::Expr, depth: usize) -> Result<ArgValue, Diagnostic> {
        if depth > MAX_DEPTH {
            return Err(self.refuse(expr.span(), "a value nested too deeply"));
        }
        Ok(match strip_wrappers(expr) {
            ast::Expr::Lit(ast::Lit::Str(s)) => ArgValue::String(atom(s)),
            ast::Expr::Lit(ast::Lit::Bool(b)) => ArgValue::Bool(b.value),
            ast::Expr::Lit(ast::Lit::Null(_)) => ArgValue::Null,
            ast::Expr::Lit(ast::Lit::Num(n)) => ArgValue::Number(js_number(n.value)),
            ast::Expr::Unary(u) if u.op == ast::UnaryOp::Minus => match strip_wrappers(&u.arg) {
                ast::Expr::Lit(ast::Lit::Num(n)) => ArgValue::Number(js_number(-n.value)),
                _ => return Err(self.refuse(u.span, "a value computed at run time")),
            },
            ast::Expr::Tpl(t) if t.exprs.is_empty() => ArgValue::String(tpl_text(t)),
            ast::Expr::Ident(i) if i.sym == "undefined" => ArgValue::Undefined,
            ast::Expr::Member(m) => match (strip_wrappers(&m.obj), &m.prop) {
                (ast::Expr::Ident(o), ast::MemberProp::Ident(p))
                    if self.dollar.contains(o.sym.as_str()) =>
                {
                    ArgValue::Var(p.sym.to_string())
                }
                (ast::Expr::Ident(o), ast::MemberProp::Computed(c))
                    if self.dollar.contains(o.sym.as_str()) =>
                {
                    match strip_wrappers(&c.expr) {
                        ast::Expr::Lit(ast::Lit::Str(s)) => ArgValue::Var(atom(s)),
                        _ => return Err(self.refuse(m.span, "a variable chosen at run time")),
                    }
                }
                _ => {
                    return Err(self.refuse(
                        m.span,
                        "a value read at run time (only $.variable references and literals are static)",
                    ))
                }
            },
            ast::Expr::Array(a) => {
                let mut items = Vec::new();
                for elem in &a.elems {
                    match elem {
                        Some(ast::ExprOrSpread { spread: None, expr }) => {
                            items.push(self.arg_value(expr, depth + 1)?)
                        }
                        Some(e) => return Err(self.refuse(e.expr.span(), "a spread inside a list value")),
                        None => items.push(ArgValue::Undefined),
                    }
                }
                ArgValue::List(items)
            }
            ast::Expr::Object(_) => {
                let mut fields = Vec::new();
                let ast::Expr::Object(obj) = strip_wrappers(expr) else {
                    unreachable!("matched above")
                };
                for prop in &obj.props {
                    match prop {
                        ast::PropOrSpread::Prop(prop) => match &**prop {
                            ast::Prop::KeyValue(kv) => {
                                let Some(key) = prop_name(&kv.key) else {
                                    return Err(self.refuse(kv.key.span(), "a computed object key"));
                                };
                                let value = self.arg_value(&kv.value, depth + 1)?;
                                match fields.iter_mut().find(|(k, _): &&mut (String, ArgValue)| *k == key) {
                                    Some(slot) => slot.1 = value,
                                    None => fields.push((key, value)),
                                }
                            }
                            other => {
                                return Err(self.refuse(other.span(), "object values must be `key: value`"))
                            }
                        },
                        ast::PropOrSpread::Spread(s) => {
                            return Err(self.refuse(s.expr.span(), "a spread inside an object value"))
                        }
                    }
                }
                ArgValue::Object(fields)
            }
            other => {
                return Err(self.refuse(
                    other.span(),
                    "a value computed at run time (only literals, lists, objects and $.variable references are static)",
                ))
            }
        })
    }
}

fn tpl_text(t: &ast::Tpl) -> String {
    t.quasis
        .iter()
        .map(|q| {
            q.cooked
                .as_ref()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_else(|| q.raw.to_string())
        })
        .collect()
}

/// At most one line of an expression, for messages.
fn short(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let mut out: String = first.chars().take(60).collect();
    if out.len() < first.len() || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Lowers `metadata: (ctx) => expr`.
pub(super) fn metadata_callback(
    src: &SourceText<'_>,
    expr: &ast::Expr,
) -> Result<MetadataCallback, Diagnostic> {
    let refuse = |span: Span, what: &str| {
        why(
            src,
            span,
            format!(
                "cannot evaluate metadata `{}` at build time: {what}",
                short(src.slice(span))
            ),
            METADATA_HELP,
        )
    };
    let (param, body, is_async) = match strip_wrappers(expr) {
        e @ (ast::Expr::Arrow(_) | ast::Expr::Fn(_)) => {
            callback_parts(e).unwrap_or((None, None, false))
        }
        other => {
            return Err(refuse(
                other.span(),
                "metadata must be an object literal or a callback",
            ))
        }
    };
    if is_async {
        return Err(refuse(expr.span(), "an async callback"));
    }
    let Some(body) = body else {
        return Err(refuse(
            expr.span(),
            "the callback has statements (loops, conditions, declarations); only a callback that returns one expression is evaluated",
        ));
    };
    let mut params = Vec::new();
    match param {
        None => {}
        Some(ast::Pat::Object(obj)) => {
            for prop in &obj.props {
                match prop {
                    ast::ObjectPatProp::Assign(a) if a.value.is_none() => {
                        params.push((a.key.sym.to_string(), a.key.sym.to_string()))
                    }
                    ast::ObjectPatProp::KeyValue(kv) => match (prop_name(&kv.key), &*kv.value) {
                        (Some(key), ast::Pat::Ident(local)) => {
                            params.push((local.id.sym.to_string(), key))
                        }
                        _ => return Err(refuse(prop.span(), "a nested pattern in the parameter")),
                    },
                    other => {
                        return Err(refuse(other.span(), "a default or rest in the parameter"))
                    }
                }
            }
        }
        Some(ast::Pat::Ident(i)) => params.push((i.id.sym.to_string(), String::new())),
        Some(other) => return Err(refuse(other.span(), "an unsupported parameter pattern")),
    }
    let mut lower = MetaLowering {
        src,
        refuse: &refuse,
    };
    let loc = src.location(expr.span().lo);
    Ok(MetadataCallback {
        params,
        body: lower.expr(body, 0)?,
        line: loc.line,
        column: loc.column,
    })
}

struct MetaLowering<'a, 'r> {
    src: &'a SourceText<'a>,
    refuse: &'r dyn Fn(Span, &str) -> Diagnostic,
}

impl MetaLowering<'_, '_> {
    fn key(&mut self, key: &ast::PropName, depth: usize) -> Result<MetaKey, Diagnostic> {
        Ok(match key {
            ast::PropName::Computed(c) => {
                MetaKey::Computed(Box::new(self.expr(&c.expr, depth + 1)?))
            }
            other => match prop_name(other) {
                Some(k) => MetaKey::Static(k),
                None => return Err((self.refuse)(other.span(), "an unsupported property key")),
            },
        })
    }

    fn elements(
        &mut self,
        list: &[ast::ExprOrSpread],
        depth: usize,
    ) -> Result<Vec<MetaElement>, Diagnostic> {
        list.iter()
            .map(|e| {
                Ok(MetaElement {
                    spread: e.spread.is_some(),
                    expr: self.expr(&e.expr, depth + 1)?,
                })
            })
            .collect()
    }

    fn member(
        &mut self,
        m: &ast::MemberExpr,
        optional: bool,
        depth: usize,
    ) -> Result<MetaExpr, Diagnostic> {
        let property = match &m.prop {
            ast::MemberProp::Ident(p) => MetaKey::Static(p.sym.to_string()),
            ast::MemberProp::Computed(c) => {
                MetaKey::Computed(Box::new(self.expr(&c.expr, depth + 1)?))
            }
            ast::MemberProp::PrivateName(_) => return Err((self.refuse)(m.span, "a private name")),
        };
        Ok(MetaExpr::Member {
            object: Box::new(self.expr(&m.obj, depth + 1)?),
            property,
            optional,
        })
    }

    fn call(
        &mut self,
        span: Span,
        callee: &ast::Expr,
        args: &[ast::ExprOrSpread],
        optional: bool,
        depth: usize,
    ) -> Result<MetaExpr, Diagnostic> {
        let loc = self.src.location(span.lo);
        Ok(MetaExpr::Call {
            callee: Box::new(self.expr(callee, depth + 1)?),
            args: self.elements(args, depth)?,
            optional,
            source: short(self.src.slice(span)),
            line: loc.line,
            column: loc.column,
        })
    }

    /// One swc expression lowered to a `MetaExpr`: one `match` arm per
    /// supported form (and a located error for the rest).
    fn expr(&mut self, expr: &ast::Expr, depth: usize) -> Result<MetaExpr, Diagnostic> {
        if depth > MAX_DEPTH {
            return Err((self.refuse)(
                expr.span(),
                "an expression nested too deeply",
            ));
        }
        Ok(match strip_wrappers(expr) {
            ast::Expr::Lit(ast::Lit::Str(s)) => MetaExpr::String(atom(s)),
            ast::Expr::Lit(ast::Lit::Bool(b)) => MetaExpr::Bool(b.value),
            ast::Expr::Lit(ast::Lit::Null(_)) => MetaExpr::Null,
            ast::Expr::Lit(ast::Lit::Num(n)) => MetaExpr::Number(n.value.to_bits()),
            ast::Expr::Ident(i) if i.sym == "undefined" => MetaExpr::Undefined,
            ast::Expr::Ident(i) => MetaExpr::Ident(i.sym.to_string()),
            ast::Expr::Tpl(t) => MetaExpr::Template {
                quasis: t
                    .quasis
                    .iter()
                    .map(|q| {
                        q.cooked
                            .as_ref()
                            .map(|c| c.to_string_lossy().into_owned())
                            .unwrap_or_else(|| q.raw.to_string())
                    })
                    .collect(),
                exprs: t
                    .exprs
                    .iter()
                    .map(|e| self.expr(e, depth + 1))
                    .collect::<Result<_, _>>()?,
            },
            ast::Expr::Array(a) => MetaExpr::Array(
                a.elems
                    .iter()
                    .map(|e| match e {
                        Some(e) => Ok(MetaElement {
                            spread: e.spread.is_some(),
                            expr: self.expr(&e.expr, depth + 1)?,
                        }),
                        None => Ok(MetaElement {
                            spread: false,
                            expr: MetaExpr::Undefined,
                        }),
                    })
                    .collect::<Result<_, Diagnostic>>()?,
            ),
            ast::Expr::Object(o) => {
                let mut props = Vec::new();
                for prop in &o.props {
                    props.push(match prop {
                        ast::PropOrSpread::Spread(s) => {
                            MetaProp::Spread(self.expr(&s.expr, depth + 1)?)
                        }
                        ast::PropOrSpread::Prop(p) => match &**p {
                            ast::Prop::KeyValue(kv) => MetaProp::KeyValue {
                                key: self.key(&kv.key, depth)?,
                                value: self.expr(&kv.value, depth + 1)?,
                            },
                            ast::Prop::Shorthand(i) => MetaProp::KeyValue {
                                key: MetaKey::Static(i.sym.to_string()),
                                value: if i.sym == "undefined" {
                                    MetaExpr::Undefined
                                } else {
                                    MetaExpr::Ident(i.sym.to_string())
                                },
                            },
                            other => {
                                return Err((self.refuse)(
                                    other.span(),
                                    "methods, getters and setters",
                                ))
                            }
                        },
                    });
                }
                MetaExpr::Object(props)
            }
            ast::Expr::Member(m) => self.member(m, false, depth)?,
            ast::Expr::OptChain(chain) => match &*chain.base {
                ast::OptChainBase::Member(m) => self.member(m, chain.optional, depth)?,
                ast::OptChainBase::Call(c) => {
                    self.call(c.span, &c.callee, &c.args, chain.optional, depth)?
                }
            },
            ast::Expr::Call(c) => match &c.callee {
                ast::Callee::Expr(callee) => self.call(c.span, callee, &c.args, false, depth)?,
                _ => return Err((self.refuse)(c.span, "super() and import()")),
            },
            ast::Expr::Unary(u) => {
                if u.op == ast::UnaryOp::Delete {
                    return Err((self.refuse)(u.span, "delete"));
                }
                MetaExpr::Unary {
                    op: u.op.as_str().to_owned(),
                    arg: Box::new(self.expr(&u.arg, depth + 1)?),
                }
            }
            ast::Expr::Bin(b) => {
                if matches!(b.op, ast::BinaryOp::In | ast::BinaryOp::InstanceOf) {
                    return Err((self.refuse)(b.span, "`in` and `instanceof`"));
                }
                MetaExpr::Binary {
                    op: b.op.as_str().to_owned(),
                    left: Box::new(self.expr(&b.left, depth + 1)?),
                    right: Box::new(self.expr(&b.right, depth + 1)?),
                }
            }
            ast::Expr::Cond(c) => MetaExpr::Conditional {
                test: Box::new(self.expr(&c.test, depth + 1)?),
                consequent: Box::new(self.expr(&c.cons, depth + 1)?),
                alternate: Box::new(self.expr(&c.alt, depth + 1)?),
            },
            e @ (ast::Expr::Arrow(_) | ast::Expr::Fn(_)) => {
                let Some((_, Some(body), false)) = callback_parts(e) else {
                    return Err((self.refuse)(
                        e.span(),
                        "a function with statements or async; only `(x) => expression` is evaluated",
                    ));
                };
                let params = match e {
                    ast::Expr::Arrow(a) => a.params.iter().collect::<Vec<_>>(),
                    ast::Expr::Fn(f) => f.function.params.iter().map(|p| &p.pat).collect(),
                    _ => Vec::new(),
                };
                let mut names = Vec::new();
                for p in params {
                    match p {
                        ast::Pat::Ident(i) => names.push(i.id.sym.to_string()),
                        other => {
                            return Err((self.refuse)(other.span(), "a destructuring parameter"))
                        }
                    }
                }
                MetaExpr::Arrow {
                    params: names,
                    body: Box::new(self.expr(body, depth + 1)?),
                }
            }
            other => {
                let what = match other {
                    ast::Expr::Assign(_) | ast::Expr::Update(_) => "an assignment",
                    ast::Expr::New(_) => "`new`",
                    ast::Expr::Await(_) => "`await`",
                    ast::Expr::This(_) => "`this`",
                    ast::Expr::Seq(_) => "a comma sequence",
                    _ => "an expression outside the evaluated subset",
                };
                return Err((self.refuse)(other.span(), what));
            }
        })
    }
}
