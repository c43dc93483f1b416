//! Evaluates metadata callbacks (`metadata: ({ $, $var, fragmentMetadata }) =>
//! ({ ... })`) at build time, over the lowered expression of
//! [`crate::phases::analyze::MetaExpr`]: literals, objects, arrays, member access and
//! optional chaining, `??` `||` `&&`, ternaries, arithmetic and comparison,
//! template literals, arrow functions passed to array methods, `Math`, and
//! soda-gql's `$var` tools. There are no statements, so no loop can hang; a
//! step budget bounds what array methods can do. No IO.

use std::rc::Rc;

use serde_json::{Map, Number, Value as Json};

use crate::phases::analyze::{
    ArgValue, MetaElement, MetaExpr, MetaKey, MetaProp, MetadataCallback,
};

/// Evaluation steps per callback: far above any real callback (the
/// playgrounds' take under 200), far below a noticeable pause.
pub const STEP_BUDGET: u64 = 200_000;
/// The longest string or array a callback may build.
const MAX_LEN: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub message: String,
    /// The call being evaluated when it failed, if any.
    pub at: Option<(u32, u32)>,
}

/// A `VarRef`: an operation variable, or a value a fragment spread bound.
#[derive(Debug, Clone, PartialEq)]
pub enum VarRef {
    Variable(String),
    Nested(ArgValue),
}

#[derive(Debug, Clone)]
pub enum JsValue {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(Rc<str>),
    Array(Rc<Vec<JsValue>>),
    Object(Rc<Vec<(String, JsValue)>>),
    VarRef(Rc<VarRef>),
    Function(Rc<Function>),
}

#[derive(Debug)]
pub enum Function {
    Arrow {
        params: Vec<String>,
        body: MetaExpr,
        scope: Vec<(String, JsValue)>,
    },
    /// `Math.max`, `$var.getName`, ...
    Builtin(&'static str),
    /// `receiver.method`, called with `receiver` bound.
    Method(JsValue, String),
}

/// What a callback's context object holds.
pub struct Context {
    /// `$`: variable name → its reference.
    pub vars: Vec<(String, VarRef)>,
    /// `fragmentMetadata` (operations only).
    pub fragment_metadata: Option<Vec<JsValue>>,
}

pub fn from_json(v: &Json) -> JsValue {
    match v {
        Json::Null => JsValue::Null,
        Json::Bool(b) => JsValue::Bool(*b),
        Json::Number(n) => JsValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => JsValue::String(s.as_str().into()),
        Json::Array(a) => JsValue::Array(Rc::new(a.iter().map(from_json).collect())),
        Json::Object(o) => JsValue::Object(Rc::new(
            o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect(),
        )),
    }
}

/// `JSON.stringify` semantics: `undefined` and functions leave an object
/// key out (and are `null` in an array); a `VarRef` has no enumerable data
/// and writes `{}`. `None`: the value itself is `undefined`.
pub fn to_json(v: &JsValue) -> Option<Json> {
    Some(match v {
        JsValue::Undefined | JsValue::Function(_) => return None,
        JsValue::Null => Json::Null,
        JsValue::Bool(b) => Json::Bool(*b),
        JsValue::Number(n) => number_json(*n),
        JsValue::String(s) => Json::String(s.to_string()),
        JsValue::Array(a) => {
            Json::Array(a.iter().map(|i| to_json(i).unwrap_or(Json::Null)).collect())
        }
        JsValue::Object(o) => {
            let mut map = Map::new();
            for (k, v) in o.iter() {
                if let Some(v) = to_json(v) {
                    map.insert(k.clone(), v);
                }
            }
            Json::Object(map)
        }
        JsValue::VarRef(_) => Json::Object(Map::new()),
    })
}

fn number_json(n: f64) -> Json {
    if !n.is_finite() {
        return Json::Null;
    }
    if n == n.trunc() && n.abs() < 9.007_199_254_740_992e15 {
        return Json::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Json::Null, Json::Number)
}

/// Runs `callback` with `context`; the result as the JSON the artifact holds
/// (`None` when the callback returns `undefined`).
pub fn evaluate(callback: &MetadataCallback, context: &Context) -> Result<Option<Json>, EvalError> {
    let mut eval = Evaluator {
        steps: 0,
        at: Some((callback.line, callback.column)),
    };
    let ctx_object = context_object(context);
    let mut scope: Vec<(String, JsValue)> = Vec::new();
    for (local, key) in &callback.params {
        let value = if key.is_empty() {
            ctx_object.clone()
        } else {
            get(&ctx_object, key)
        };
        scope.push((local.clone(), value));
    }
    let value = eval.expr(&callback.body, &scope)?;
    Ok(to_json(&value))
}

fn context_object(context: &Context) -> JsValue {
    let dollar = JsValue::Object(Rc::new(
        context
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), JsValue::VarRef(Rc::new(v.clone()))))
            .collect(),
    ));
    let var_tools = JsValue::Object(Rc::new(
        ["getName", "getValue", "getNameAt", "getValueAt", "getPath"]
            .iter()
            .map(|m| {
                (
                    (*m).to_owned(),
                    JsValue::Function(Rc::new(Function::Builtin(match *m {
                        "getName" => "$var.getName",
                        "getValue" => "$var.getValue",
                        "getNameAt" => "$var.getNameAt",
                        "getValueAt" => "$var.getValueAt",
                        _ => "$var.getPath",
                    }))),
                )
            })
            .collect(),
    ));
    let mut entries = vec![("$".to_owned(), dollar), ("$var".to_owned(), var_tools)];
    if let Some(meta) = &context.fragment_metadata {
        entries.push((
            "fragmentMetadata".to_owned(),
            JsValue::Array(Rc::new(meta.clone())),
        ));
    }
    JsValue::Object(Rc::new(entries))
}

/// The JSON-like value a nested VarRef holds.
fn arg_to_js(v: &ArgValue) -> JsValue {
    match v {
        ArgValue::Var(name) => JsValue::VarRef(Rc::new(VarRef::Variable(name.clone()))),
        ArgValue::Undefined => JsValue::Undefined,
        ArgValue::Null => JsValue::Null,
        ArgValue::Bool(b) => JsValue::Bool(*b),
        ArgValue::Number(n) => JsValue::Number(n.parse().unwrap_or(f64::NAN)),
        ArgValue::String(s) => JsValue::String(s.as_str().into()),
        ArgValue::List(items) => JsValue::Array(Rc::new(items.iter().map(arg_to_js).collect())),
        ArgValue::Object(fields) => JsValue::Object(Rc::new(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), arg_to_js(v)))
                .collect(),
        )),
    }
}

fn get(object: &JsValue, key: &str) -> JsValue {
    match object {
        JsValue::Object(o) => o
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map_or(JsValue::Undefined, |(_, v)| v.clone()),
        JsValue::Array(a) => match key {
            "length" => JsValue::Number(a.len() as f64),
            _ => match key.parse::<usize>() {
                Ok(i) => a.get(i).cloned().unwrap_or(JsValue::Undefined),
                Err(_) => method(object, key),
            },
        },
        JsValue::String(s) => match key {
            "length" => JsValue::Number(s.encode_utf16().count() as f64),
            _ => match key.parse::<usize>() {
                Ok(i) => s.chars().nth(i).map_or(JsValue::Undefined, |c| {
                    JsValue::String(c.to_string().into())
                }),
                Err(_) => method(object, key),
            },
        },
        JsValue::Number(_) => method(object, key),
        _ => JsValue::Undefined,
    }
}

const ARRAY_METHODS: &[&str] = &[
    "map",
    "filter",
    "some",
    "every",
    "find",
    "findIndex",
    "includes",
    "indexOf",
    "join",
    "concat",
    "slice",
    "reduce",
    "flat",
    "flatMap",
    "at",
];
const STRING_METHODS: &[&str] = &[
    "toUpperCase",
    "toLowerCase",
    "trim",
    "startsWith",
    "endsWith",
    "includes",
    "indexOf",
    "slice",
    "substring",
    "split",
    "padStart",
    "padEnd",
    "at",
    "concat",
    "replace",
    "repeat",
];

fn method(receiver: &JsValue, name: &str) -> JsValue {
    let known = match receiver {
        JsValue::Array(_) => ARRAY_METHODS.contains(&name),
        JsValue::String(_) => STRING_METHODS.contains(&name),
        JsValue::Number(_) => matches!(name, "toFixed" | "toString"),
        _ => false,
    };
    if known {
        JsValue::Function(Rc::new(Function::Method(receiver.clone(), name.to_owned())))
    } else {
        JsValue::Undefined
    }
}

fn truthy(v: &JsValue) -> bool {
    match v {
        JsValue::Undefined | JsValue::Null => false,
        JsValue::Bool(b) => *b,
        JsValue::Number(n) => *n != 0.0 && !n.is_nan(),
        JsValue::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn nullish(v: &JsValue) -> bool {
    matches!(v, JsValue::Undefined | JsValue::Null)
}

fn to_number(v: &JsValue) -> f64 {
    match v {
        JsValue::Undefined => f64::NAN,
        JsValue::Null => 0.0,
        JsValue::Bool(b) => f64::from(u8::from(*b)),
        JsValue::Number(n) => *n,
        JsValue::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                0.0
            } else {
                t.parse().unwrap_or(f64::NAN)
            }
        }
        JsValue::Array(a) if a.is_empty() => 0.0,
        JsValue::Array(a) if a.len() == 1 => to_number(&a[0]),
        _ => f64::NAN,
    }
}

pub fn to_js_string(v: &JsValue) -> String {
    match v {
        JsValue::Undefined => "undefined".into(),
        JsValue::Null => "null".into(),
        JsValue::Bool(b) => b.to_string(),
        JsValue::Number(n) => crate::phases::analyze::js_number(*n),
        JsValue::String(s) => s.to_string(),
        JsValue::Array(a) => a
            .iter()
            .map(|i| {
                if nullish(i) {
                    String::new()
                } else {
                    to_js_string(i)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        JsValue::Object(_) | JsValue::VarRef(_) => "[object Object]".into(),
        JsValue::Function(_) => "function".into(),
    }
}

fn type_of(v: &JsValue) -> &'static str {
    match v {
        JsValue::Undefined => "undefined",
        JsValue::Null | JsValue::Array(_) | JsValue::Object(_) | JsValue::VarRef(_) => "object",
        JsValue::Bool(_) => "boolean",
        JsValue::Number(_) => "number",
        JsValue::String(_) => "string",
        JsValue::Function(_) => "function",
    }
}

fn strict_equals(a: &JsValue, b: &JsValue) -> bool {
    match (a, b) {
        (JsValue::Undefined, JsValue::Undefined) | (JsValue::Null, JsValue::Null) => true,
        (JsValue::Bool(x), JsValue::Bool(y)) => x == y,
        (JsValue::Number(x), JsValue::Number(y)) => x == y,
        (JsValue::String(x), JsValue::String(y)) => x == y,
        (JsValue::Array(x), JsValue::Array(y)) => Rc::ptr_eq(x, y),
        (JsValue::Object(x), JsValue::Object(y)) => Rc::ptr_eq(x, y),
        (JsValue::VarRef(x), JsValue::VarRef(y)) => Rc::ptr_eq(x, y),
        (JsValue::Function(x), JsValue::Function(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

fn loose_equals(a: &JsValue, b: &JsValue) -> bool {
    match (a, b) {
        (x, y) if nullish(x) && nullish(y) => true,
        (x, y) if nullish(x) || nullish(y) => false,
        (JsValue::Number(_), JsValue::String(_))
        | (JsValue::String(_), JsValue::Number(_))
        | (JsValue::Bool(_), _)
        | (_, JsValue::Bool(_)) => to_number(a) == to_number(b),
        _ => strict_equals(a, b),
    }
}

struct Evaluator {
    steps: u64,
    at: Option<(u32, u32)>,
}

impl Evaluator {
    fn fail(&self, message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
            at: self.at,
        }
    }

    fn step(&mut self) -> Result<(), EvalError> {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Err(self.fail(format!(
                "metadata evaluation stopped after {STEP_BUDGET} steps (a runaway computation?)"
            )));
        }
        Ok(())
    }

    fn lookup(&self, name: &str, scope: &[(String, JsValue)]) -> Result<JsValue, EvalError> {
        if let Some((_, v)) = scope.iter().rev().find(|(k, _)| k == name) {
            return Ok(v.clone());
        }
        Ok(match name {
            "Math" | "Object" | "Array" | "JSON" | "Number" | "String" | "Boolean" => {
                JsValue::Function(Rc::new(Function::Builtin(match name {
                    "Math" => "Math",
                    "Object" => "Object",
                    "Array" => "Array",
                    "JSON" => "JSON",
                    "Number" => "Number",
                    "String" => "String",
                    _ => "Boolean",
                })))
            }
            "NaN" => JsValue::Number(f64::NAN),
            "Infinity" => JsValue::Number(f64::INFINITY),
            "parseInt" => JsValue::Function(Rc::new(Function::Builtin("parseInt"))),
            "parseFloat" => JsValue::Function(Rc::new(Function::Builtin("parseFloat"))),
            _ => {
                return Err(self.fail(format!(
                    "`{name}` is not known at build time (only the callback's parameters and JavaScript built-ins are)"
                )))
            }
        })
    }

    fn member(&mut self, object: &JsValue, key: &str) -> Result<JsValue, EvalError> {
        if let JsValue::Function(f) = object {
            if let Function::Builtin(ns) = &**f {
                let full = format!("{ns}.{key}");
                let known = matches!(
                    full.as_str(),
                    "Math.max"
                        | "Math.min"
                        | "Math.abs"
                        | "Math.floor"
                        | "Math.ceil"
                        | "Math.round"
                        | "Math.trunc"
                        | "Math.sign"
                        | "Math.pow"
                        | "Math.sqrt"
                        | "Object.keys"
                        | "Object.values"
                        | "Object.entries"
                        | "Object.fromEntries"
                        | "Object.assign"
                        | "Array.isArray"
                        | "JSON.stringify"
                        | "JSON.parse"
                        | "Number.isInteger"
                        | "Number.isFinite"
                        | "Number.isNaN"
                );
                if known {
                    return Ok(JsValue::Function(Rc::new(Function::Builtin(leak(full)))));
                }
                return Ok(match full.as_str() {
                    "Math.PI" => JsValue::Number(std::f64::consts::PI),
                    _ => JsValue::Undefined,
                });
            }
        }
        match object {
            JsValue::Undefined | JsValue::Null => Err(self.fail(format!(
                "cannot read property `{key}` of {}",
                to_js_string(object)
            ))),
            other => Ok(get(other, key)),
        }
    }

    fn key(&mut self, key: &MetaKey, scope: &[(String, JsValue)]) -> Result<String, EvalError> {
        Ok(match key {
            MetaKey::Static(k) => k.clone(),
            MetaKey::Computed(e) => to_js_string(&self.expr(e, scope)?),
        })
    }

    fn elements(
        &mut self,
        list: &[MetaElement],
        scope: &[(String, JsValue)],
    ) -> Result<Vec<JsValue>, EvalError> {
        let mut out = Vec::with_capacity(list.len());
        for e in list {
            let v = self.expr(&e.expr, scope)?;
            if e.spread {
                match v {
                    JsValue::Array(a) => out.extend(a.iter().cloned()),
                    JsValue::String(s) => {
                        out.extend(s.chars().map(|c| JsValue::String(c.to_string().into())))
                    }
                    other => {
                        return Err(self.fail(format!(
                            "cannot spread {} (not iterable)",
                            to_js_string(&other)
                        )))
                    }
                }
            } else {
                out.push(v);
            }
            if out.len() > MAX_LEN {
                return Err(self.fail("an array longer than the build-time limit"));
            }
        }
        Ok(out)
    }

    /// One expression's value. Long because it is one `match` over every
    /// expression form the evaluator supports; each arm is short.
    fn expr(&mut self, e: &MetaExpr, scope: &[(String, JsValue)]) -> Result<JsValue, EvalError> {
        self.step()?;
        Ok(match e {
            MetaExpr::Undefined => JsValue::Undefined,
            MetaExpr::Null => JsValue::Null,
            MetaExpr::Bool(b) => JsValue::Bool(*b),
            MetaExpr::Number(bits) => JsValue::Number(f64::from_bits(*bits)),
            MetaExpr::String(s) => JsValue::String(s.as_str().into()),
            MetaExpr::Template { quasis, exprs } => {
                let mut out = String::new();
                for (i, q) in quasis.iter().enumerate() {
                    out.push_str(q);
                    if let Some(e) = exprs.get(i) {
                        out.push_str(&to_js_string(&self.expr(e, scope)?));
                    }
                    if out.len() > MAX_LEN {
                        return Err(self.fail("a string longer than the build-time limit"));
                    }
                }
                JsValue::String(out.into())
            }
            MetaExpr::Array(items) => JsValue::Array(Rc::new(self.elements(items, scope)?)),
            MetaExpr::Object(props) => {
                let mut out: Vec<(String, JsValue)> = Vec::new();
                let put = |out: &mut Vec<(String, JsValue)>, k: String, v: JsValue| match out
                    .iter_mut()
                    .find(|(key, _)| *key == k)
                {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                };
                for p in props {
                    match p {
                        MetaProp::KeyValue { key, value } => {
                            let k = self.key(key, scope)?;
                            let v = self.expr(value, scope)?;
                            put(&mut out, k, v);
                        }
                        MetaProp::Spread(e) => match self.expr(e, scope)? {
                            JsValue::Object(o) => {
                                for (k, v) in o.iter() {
                                    put(&mut out, k.clone(), v.clone());
                                }
                            }
                            JsValue::Array(a) => {
                                for (i, v) in a.iter().enumerate() {
                                    put(&mut out, i.to_string(), v.clone());
                                }
                            }
                            _ => {}
                        },
                    }
                }
                JsValue::Object(Rc::new(out))
            }
            MetaExpr::Ident(name) => self.lookup(name, scope)?,
            MetaExpr::Member {
                object,
                property,
                optional,
            } => {
                let obj = self.expr(object, scope)?;
                if *optional && nullish(&obj) {
                    return Ok(JsValue::Undefined);
                }
                let key = self.key(property, scope)?;
                self.member(&obj, &key)?
            }
            MetaExpr::Call {
                callee,
                args,
                optional,
                source,
                line,
                column,
            } => {
                let outer = self.at;
                self.at = Some((*line, *column));
                let f = self.expr(callee, scope)?;
                if *optional && nullish(&f) {
                    self.at = outer;
                    return Ok(JsValue::Undefined);
                }
                let args = self.elements(args, scope)?;
                let JsValue::Function(f) = f else {
                    return Err(self.fail(format!("`{source}`: not a function")));
                };
                let result = self.call(&f, args, source)?;
                self.at = outer;
                result
            }
            MetaExpr::Unary { op, arg } => {
                let v = self.expr(arg, scope)?;
                match op.as_str() {
                    "!" => JsValue::Bool(!truthy(&v)),
                    "-" => JsValue::Number(-to_number(&v)),
                    "+" => JsValue::Number(to_number(&v)),
                    "typeof" => JsValue::String(type_of(&v).into()),
                    "void" => JsValue::Undefined,
                    "~" => JsValue::Number(f64::from(!(to_number(&v) as i64 as i32))),
                    other => return Err(self.fail(format!("operator `{other}`"))),
                }
            }
            MetaExpr::Binary { op, left, right } => {
                let l = self.expr(left, scope)?;
                match op.as_str() {
                    "&&" => {
                        return if truthy(&l) {
                            self.expr(right, scope)
                        } else {
                            Ok(l)
                        }
                    }
                    "||" => {
                        return if truthy(&l) {
                            Ok(l)
                        } else {
                            self.expr(right, scope)
                        }
                    }
                    "??" => {
                        return if nullish(&l) {
                            self.expr(right, scope)
                        } else {
                            Ok(l)
                        }
                    }
                    _ => {}
                }
                let r = self.expr(right, scope)?;
                self.binary(op, &l, &r)?
            }
            MetaExpr::Conditional {
                test,
                consequent,
                alternate,
            } => {
                if truthy(&self.expr(test, scope)?) {
                    self.expr(consequent, scope)?
                } else {
                    self.expr(alternate, scope)?
                }
            }
            MetaExpr::Arrow { params, body } => JsValue::Function(Rc::new(Function::Arrow {
                params: params.clone(),
                body: (**body).clone(),
                scope: scope.to_vec(),
            })),
        })
    }

    fn binary(&mut self, op: &str, l: &JsValue, r: &JsValue) -> Result<JsValue, EvalError> {
        let num = |f: fn(f64, f64) -> f64| JsValue::Number(f(to_number(l), to_number(r)));
        Ok(match op {
            "+" => {
                let stringy = |v: &JsValue| {
                    matches!(
                        v,
                        JsValue::String(_)
                            | JsValue::Array(_)
                            | JsValue::Object(_)
                            | JsValue::VarRef(_)
                    )
                };
                if stringy(l) || stringy(r) {
                    let s = to_js_string(l) + &to_js_string(r);
                    if s.len() > MAX_LEN {
                        return Err(self.fail("a string longer than the build-time limit"));
                    }
                    JsValue::String(s.into())
                } else {
                    num(|a, b| a + b)
                }
            }
            "-" => num(|a, b| a - b),
            "*" => num(|a, b| a * b),
            "/" => num(|a, b| a / b),
            "%" => num(|a, b| a % b),
            "**" => num(f64::powf),
            "===" => JsValue::Bool(strict_equals(l, r)),
            "!==" => JsValue::Bool(!strict_equals(l, r)),
            "==" => JsValue::Bool(loose_equals(l, r)),
            "!=" => JsValue::Bool(!loose_equals(l, r)),
            "<" | ">" | "<=" | ">=" => {
                let ord = match (l, r) {
                    (JsValue::String(a), JsValue::String(b)) => Some(a.cmp(b)),
                    _ => to_number(l).partial_cmp(&to_number(r)),
                };
                JsValue::Bool(match (op, ord) {
                    (_, None) => false,
                    ("<", Some(o)) => o.is_lt(),
                    (">", Some(o)) => o.is_gt(),
                    ("<=", Some(o)) => o.is_le(),
                    (_, Some(o)) => o.is_ge(),
                })
            }
            other => {
                return Err(self.fail(format!("operator `{other}` is not evaluated at build time")))
            }
        })
    }

    fn apply(
        &mut self,
        f: &JsValue,
        args: Vec<JsValue>,
        source: &str,
    ) -> Result<JsValue, EvalError> {
        match f {
            JsValue::Function(f) => self.call(f, args, source),
            _ => Err(self.fail(format!("`{source}`: the callback is not a function"))),
        }
    }

    fn call(
        &mut self,
        f: &Function,
        args: Vec<JsValue>,
        source: &str,
    ) -> Result<JsValue, EvalError> {
        self.step()?;
        let arg = |i: usize| args.get(i).cloned().unwrap_or(JsValue::Undefined);
        match f {
            Function::Arrow {
                params,
                body,
                scope,
            } => {
                let mut inner = scope.clone();
                for (i, p) in params.iter().enumerate() {
                    inner.push((p.clone(), arg(i)));
                }
                self.expr(body, &inner)
            }
            Function::Builtin(name) => self.builtin(name, &args, source),
            Function::Method(receiver, name) => self.call_method(receiver, name, args, source),
        }
    }

    /// A global function (`String`, `Number`, `Object.keys`, `JSON.*` …):
    /// one `match` arm per supported builtin, which keeps the list in one place.
    fn builtin(
        &mut self,
        name: &str,
        args: &[JsValue],
        source: &str,
    ) -> Result<JsValue, EvalError> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(JsValue::Undefined);
        let n = |i: usize| to_number(&arg(i));
        Ok(match name {
            "$var.getName" => match arg(0) {
                JsValue::VarRef(r) => match &*r {
                    VarRef::Variable(name) => JsValue::String(name.as_str().into()),
                    VarRef::Nested(_) => {
                        return Err(self.fail(format!(
                            "`{source}`: the value is not a variable reference (the spread bound a literal); soda-gql throws \"Expected variable reference, got nested-value\""
                        )))
                    }
                },
                _ => return Err(self.fail(format!("`{source}`: $var.getName expects a `$.variable`"))),
            },
            "$var.getValue" => match arg(0) {
                JsValue::VarRef(r) => match &*r {
                    VarRef::Nested(v) => arg_to_js(v),
                    VarRef::Variable(_) => {
                        return Err(self.fail(format!(
                            "`{source}`: the value is a variable reference, known only at run time"
                        )))
                    }
                },
                _ => return Err(self.fail(format!("`{source}`: $var.getValue expects a `$.variable`"))),
            },
            "$var.getNameAt" | "$var.getValueAt" | "$var.getPath" => {
                return Err(self.fail(format!("`{source}`: {name} is not evaluated at build time")))
            }
            "Math.max" => JsValue::Number(args.iter().map(to_number).fold(f64::NEG_INFINITY, |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) })),
            "Math.min" => JsValue::Number(args.iter().map(to_number).fold(f64::INFINITY, |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) })),
            "Math.abs" => JsValue::Number(n(0).abs()),
            "Math.floor" => JsValue::Number(n(0).floor()),
            "Math.ceil" => JsValue::Number(n(0).ceil()),
            "Math.round" => JsValue::Number((n(0) + 0.5).floor()),
            "Math.trunc" => JsValue::Number(n(0).trunc()),
            "Math.sign" => JsValue::Number(if n(0) == 0.0 { 0.0 } else { n(0).signum() }),
            "Math.pow" => JsValue::Number(n(0).powf(n(1))),
            "Math.sqrt" => JsValue::Number(n(0).sqrt()),
            "Number" => JsValue::Number(if args.is_empty() { 0.0 } else { n(0) }),
            "String" => JsValue::String(if args.is_empty() { String::new() } else { to_js_string(&arg(0)) }.into()),
            "Boolean" => JsValue::Bool(truthy(&arg(0))),
            "Number.isInteger" => JsValue::Bool(matches!(arg(0), JsValue::Number(x) if x.is_finite() && x == x.trunc())),
            "Number.isFinite" => JsValue::Bool(matches!(arg(0), JsValue::Number(x) if x.is_finite())),
            "Number.isNaN" => JsValue::Bool(matches!(arg(0), JsValue::Number(x) if x.is_nan())),
            "parseInt" => {
                let s = to_js_string(&arg(0));
                let t = s.trim_start();
                let digits: String = t
                    .char_indices()
                    .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
                    .map(|(_, c)| c)
                    .collect();
                JsValue::Number(digits.parse::<f64>().unwrap_or(f64::NAN))
            }
            "parseFloat" => JsValue::Number(to_js_string(&arg(0)).trim().parse().unwrap_or(f64::NAN)),
            "Array.isArray" => JsValue::Bool(matches!(arg(0), JsValue::Array(_))),
            "Object.keys" | "Object.values" | "Object.entries" => match arg(0) {
                JsValue::Object(o) => JsValue::Array(Rc::new(
                    o.iter()
                        .map(|(k, v)| match name {
                            "Object.keys" => JsValue::String(k.as_str().into()),
                            "Object.values" => v.clone(),
                            _ => JsValue::Array(Rc::new(vec![JsValue::String(k.as_str().into()), v.clone()])),
                        })
                        .collect(),
                )),
                JsValue::Array(a) => JsValue::Array(Rc::new(
                    a.iter()
                        .enumerate()
                        .map(|(i, v)| match name {
                            "Object.keys" => JsValue::String(i.to_string().into()),
                            "Object.values" => v.clone(),
                            _ => JsValue::Array(Rc::new(vec![JsValue::String(i.to_string().into()), v.clone()])),
                        })
                        .collect(),
                )),
                _ => JsValue::Array(Rc::new(Vec::new())),
            },
            "Object.fromEntries" => match arg(0) {
                JsValue::Array(a) => JsValue::Object(Rc::new(
                    a.iter()
                        .filter_map(|e| match e {
                            JsValue::Array(pair) => Some((
                                to_js_string(pair.first().unwrap_or(&JsValue::Undefined)),
                                pair.get(1).cloned().unwrap_or(JsValue::Undefined),
                            )),
                            _ => None,
                        })
                        .collect(),
                )),
                _ => return Err(self.fail(format!("`{source}`: Object.fromEntries expects an array"))),
            },
            "Object.assign" => {
                let mut out: Vec<(String, JsValue)> = Vec::new();
                for a in args {
                    if let JsValue::Object(o) = a {
                        for (k, v) in o.iter() {
                            match out.iter_mut().find(|(key, _)| key == k) {
                                Some(slot) => slot.1 = v.clone(),
                                None => out.push((k.clone(), v.clone())),
                            }
                        }
                    }
                }
                JsValue::Object(Rc::new(out))
            }
            "JSON.stringify" => match to_json(&arg(0)) {
                Some(j) => JsValue::String(j.to_string().into()),
                None => JsValue::Undefined,
            },
            "JSON.parse" => match serde_json::from_str::<Json>(&to_js_string(&arg(0))) {
                Ok(j) => from_json(&j),
                Err(e) => return Err(self.fail(format!("`{source}`: JSON.parse: {e}"))),
            },
            other => return Err(self.fail(format!("`{source}`: `{other}` is not callable at build time"))),
        })
    }

    /// A method on a string, number or object value: one `match` arm per
    /// supported method, so the supported surface reads as one list.
    fn call_method(
        &mut self,
        receiver: &JsValue,
        name: &str,
        args: Vec<JsValue>,
        source: &str,
    ) -> Result<JsValue, EvalError> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(JsValue::Undefined);
        match receiver {
            JsValue::Array(items) => self.array_method(items, name, &args, source),
            JsValue::String(s) => {
                let a0 = to_js_string(&arg(0));
                let out = match name {
                    "toUpperCase" => JsValue::String(s.to_uppercase().into()),
                    "toLowerCase" => JsValue::String(s.to_lowercase().into()),
                    "trim" => JsValue::String(s.trim().into()),
                    "startsWith" => JsValue::Bool(s.starts_with(a0.as_str())),
                    "endsWith" => JsValue::Bool(s.ends_with(a0.as_str())),
                    "includes" => JsValue::Bool(s.contains(a0.as_str())),
                    "indexOf" => JsValue::Number(
                        s.find(a0.as_str())
                            .map_or(-1.0, |i| s[..i].chars().count() as f64),
                    ),
                    "concat" => JsValue::String(
                        format!("{s}{}", args.iter().map(to_js_string).collect::<String>()).into(),
                    ),
                    "replace" => {
                        JsValue::String(s.replacen(a0.as_str(), &to_js_string(&arg(1)), 1).into())
                    }
                    "split" => JsValue::Array(Rc::new(if a0.is_empty() {
                        s.chars()
                            .map(|c| JsValue::String(c.to_string().into()))
                            .collect()
                    } else {
                        s.split(a0.as_str())
                            .map(|p| JsValue::String(p.into()))
                            .collect()
                    })),
                    "slice" | "substring" | "at" => {
                        let chars: Vec<char> = s.chars().collect();
                        let len = chars.len() as f64;
                        let idx = |v: f64| -> usize {
                            let v = if v.is_nan() { 0.0 } else { v.trunc() };
                            (if v < 0.0 {
                                (len + v).max(0.0)
                            } else {
                                v.min(len)
                            }) as usize
                        };
                        if name == "at" {
                            let i = idx(to_number(&arg(0)));
                            return Ok(chars.get(i).map_or(JsValue::Undefined, |c| {
                                JsValue::String(c.to_string().into())
                            }));
                        }
                        let start = idx(to_number(&arg(0)));
                        let end = if matches!(arg(1), JsValue::Undefined) {
                            chars.len()
                        } else {
                            idx(to_number(&arg(1)))
                        };
                        let (start, end) = if name == "substring" && start > end {
                            (end, start)
                        } else {
                            (start, end)
                        };
                        JsValue::String(
                            chars
                                .get(start..end.max(start))
                                .unwrap_or(&[])
                                .iter()
                                .collect::<String>()
                                .into(),
                        )
                    }
                    "repeat" | "padStart" | "padEnd" => {
                        let count = to_number(&arg(0));
                        if !(0.0..=MAX_LEN as f64).contains(&count)
                            || (name == "repeat" && count * s.len() as f64 > MAX_LEN as f64)
                        {
                            return Err(self.fail(format!(
                                "`{source}`: a string longer than the build-time limit"
                            )));
                        }
                        let count = count as usize;
                        match name {
                            "repeat" => JsValue::String(s.repeat(count).into()),
                            _ => {
                                let fill = if matches!(arg(1), JsValue::Undefined) {
                                    " ".to_owned()
                                } else {
                                    to_js_string(&arg(1))
                                };
                                let have = s.chars().count();
                                let pad: String = fill
                                    .chars()
                                    .cycle()
                                    .take(count.saturating_sub(have))
                                    .collect();
                                JsValue::String(
                                    if name == "padStart" {
                                        format!("{pad}{s}")
                                    } else {
                                        format!("{s}{pad}")
                                    }
                                    .into(),
                                )
                            }
                        }
                    }
                    other => return Err(self.fail(format!("`{source}`: string method `{other}`"))),
                };
                Ok(out)
            }
            JsValue::Number(x) => Ok(match name {
                "toFixed" => {
                    let digits = to_number(&arg(0));
                    let digits = if digits.is_nan() {
                        0
                    } else {
                        digits.clamp(0.0, 100.0) as usize
                    };
                    JsValue::String(format!("{x:.digits$}").into())
                }
                _ => JsValue::String(to_js_string(receiver).into()),
            }),
            _ => Err(self.fail(format!("`{source}`: not a function"))),
        }
    }

    /// An array method (`map`, `filter`, `reduce` …): one arm per method, as
    /// `call_method`.
    fn array_method(
        &mut self,
        items: &Rc<Vec<JsValue>>,
        name: &str,
        args: &[JsValue],
        source: &str,
    ) -> Result<JsValue, EvalError> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(JsValue::Undefined);
        let f = arg(0);
        let each = |this: &mut Self, i: usize, v: &JsValue| -> Result<JsValue, EvalError> {
            this.apply(
                &f,
                vec![
                    v.clone(),
                    JsValue::Number(i as f64),
                    JsValue::Array(items.clone()),
                ],
                source,
            )
        };
        let len = items.len() as f64;
        let idx = |v: f64, default: usize| -> usize {
            if v.is_nan() {
                return default;
            }
            let v = v.trunc();
            (if v < 0.0 {
                (len + v).max(0.0)
            } else {
                v.min(len)
            }) as usize
        };
        Ok(match name {
            "map" => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    out.push(each(self, i, v)?);
                }
                JsValue::Array(Rc::new(out))
            }
            "filter" => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    if truthy(&each(self, i, v)?) {
                        out.push(v.clone());
                    }
                }
                JsValue::Array(Rc::new(out))
            }
            "some" | "every" | "find" | "findIndex" => {
                for (i, v) in items.iter().enumerate() {
                    let hit = truthy(&each(self, i, v)?);
                    match (name, hit) {
                        ("some", true) => return Ok(JsValue::Bool(true)),
                        ("every", false) => return Ok(JsValue::Bool(false)),
                        ("find", true) => return Ok(v.clone()),
                        ("findIndex", true) => return Ok(JsValue::Number(i as f64)),
                        _ => {}
                    }
                }
                match name {
                    "some" => JsValue::Bool(false),
                    "every" => JsValue::Bool(true),
                    "find" => JsValue::Undefined,
                    _ => JsValue::Number(-1.0),
                }
            }
            "flatMap" => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match each(self, i, v)? {
                        JsValue::Array(a) => out.extend(a.iter().cloned()),
                        other => out.push(other),
                    }
                    if out.len() > MAX_LEN {
                        return Err(self.fail("an array longer than the build-time limit"));
                    }
                }
                JsValue::Array(Rc::new(out))
            }
            "reduce" => {
                let mut iter = items.iter().enumerate();
                let mut acc = if args.len() > 1 {
                    arg(1)
                } else {
                    match iter.next() {
                        Some((_, v)) => v.clone(),
                        None => return Err(self.fail(format!("`{source}`: reduce of an empty array with no initial value"))),
                    }
                };
                for (i, v) in iter {
                    acc = self.apply(&f, vec![acc, v.clone(), JsValue::Number(i as f64)], source)?;
                }
                acc
            }
            "includes" => JsValue::Bool(items.iter().any(|v| strict_equals(v, &f) || matches!((v, &f), (JsValue::Number(a), JsValue::Number(b)) if a.is_nan() && b.is_nan()))),
            "indexOf" => JsValue::Number(items.iter().position(|v| strict_equals(v, &f)).map_or(-1.0, |i| i as f64)),
            "join" => {
                let sep = if matches!(f, JsValue::Undefined) { ",".to_owned() } else { to_js_string(&f) };
                JsValue::String(
                    items
                        .iter()
                        .map(|i| if nullish(i) { String::new() } else { to_js_string(i) })
                        .collect::<Vec<_>>()
                        .join(&sep)
                        .into(),
                )
            }
            "concat" => {
                let mut out: Vec<JsValue> = items.to_vec();
                for a in args {
                    match a {
                        JsValue::Array(more) => out.extend(more.iter().cloned()),
                        other => out.push(other.clone()),
                    }
                }
                if out.len() > MAX_LEN {
                    return Err(self.fail("an array longer than the build-time limit"));
                }
                JsValue::Array(Rc::new(out))
            }
            "slice" => {
                let start = idx(to_number(&arg(0)), 0);
                let end = if matches!(arg(1), JsValue::Undefined) { items.len() } else { idx(to_number(&arg(1)), items.len()) };
                JsValue::Array(Rc::new(items.get(start..end.max(start)).unwrap_or(&[]).to_vec()))
            }
            "at" => {
                let i = to_number(&f);
                let i = if i < 0.0 { len + i.trunc() } else { i.trunc() };
                if i < 0.0 { JsValue::Undefined } else { items.get(i as usize).cloned().unwrap_or(JsValue::Undefined) }
            }
            "flat" => {
                let mut out = Vec::new();
                for v in items.iter() {
                    match v {
                        JsValue::Array(a) => out.extend(a.iter().cloned()),
                        other => out.push(other.clone()),
                    }
                }
                JsValue::Array(Rc::new(out))
            }
            other => return Err(self.fail(format!("`{source}`: array method `{other}`"))),
        })
    }
}

/// Builtin names are a small closed set; interning them as `'static`
/// keeps `Function` free of lifetimes.
fn leak(name: String) -> &'static str {
    const NAMES: &[&str] = &[
        "Math.max",
        "Math.min",
        "Math.abs",
        "Math.floor",
        "Math.ceil",
        "Math.round",
        "Math.trunc",
        "Math.sign",
        "Math.pow",
        "Math.sqrt",
        "Object.keys",
        "Object.values",
        "Object.entries",
        "Object.fromEntries",
        "Object.assign",
        "Array.isArray",
        "JSON.stringify",
        "JSON.parse",
        "Number.isInteger",
        "Number.isFinite",
        "Number.isNaN",
    ];
    NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::analyze::{analyze_module, AnalyzerContext};

    fn eval(
        src: &str,
        vars: &[(&str, VarRef)],
        fragments: Option<Vec<JsValue>>,
    ) -> Result<Option<Json>, EvalError> {
        let text = format!(
            "import {{ gql }} from \"./graphql-system\";\nexport const q = gql.default(({{ query }}) => query(\"Q\")`{{ id }}`({{ metadata: {src} }}));\n"
        );
        let ctx = AnalyzerContext {
            outdir_rel: "graphql-system".into(),
            root_dir: std::path::PathBuf::new(),
            aliases: Vec::new(),
        };
        let summary = analyze_module("a.ts", &text, &ctx);
        assert!(summary.diagnostics.is_empty(), "{:?}", summary.diagnostics);
        let callback = summary.definitions[0]
            .metadata_callback
            .clone()
            .expect("callback");
        evaluate(
            &callback,
            &Context {
                vars: vars
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
                fragment_metadata: fragments,
            },
        )
    }

    #[test]
    fn evaluates_the_playground_patterns() {
        let vars = [
            ("projectId", VarRef::Variable("projectId".into())),
            ("priority", VarRef::Variable("priority".into())),
        ];
        let out = eval(
            "({ $, $var }) => ({ kind: \"read\", id: $var.getName($.projectId), labels: { [$var.getName($.priority)]: { role: \"filter\" } } })",
            &vars,
            None,
        )
        .expect("evaluates")
        .expect("a value");
        assert_eq!(
            out,
            serde_json::json!({"kind": "read", "id": "projectId", "labels": {"priority": {"role": "filter"}}})
        );
        let fragments = vec![
            from_json(&serde_json::json!({"tags": ["a", "b"], "cacheTTL": 300})),
            JsValue::Undefined,
        ];
        let out = eval(
            "({ fragmentMetadata }) => ({ n: fragmentMetadata?.length ?? 0, has: fragmentMetadata !== undefined && fragmentMetadata.length > 0, tags: (fragmentMetadata?.[0] as { tags?: string[] })?.tags ?? [], ttl: Math.max(0, ...(fragmentMetadata?.map((m: unknown) => (m as { cacheTTL?: number })?.cacheTTL ?? 0) ?? [])), missing: fragmentMetadata?.[1]?.x })",
            &[],
            Some(fragments),
        )
        .expect("evaluates")
        .expect("a value");
        assert_eq!(
            out,
            serde_json::json!({"n": 2, "has": true, "tags": ["a", "b"], "ttl": 300})
        );
    }

    #[test]
    fn a_literal_bound_by_a_spread_is_not_a_variable_name() {
        let vars = [("id", VarRef::Nested(ArgValue::String("x".into())))];
        let err =
            eval("({ $, $var }) => ({ id: $var.getName($.id) })", &vars, None).expect_err("throws");
        assert!(
            err.message.contains("not a variable reference"),
            "{}",
            err.message
        );
        assert!(err.at.is_some());
        let out = eval(
            "({ $, $var }) => ({ v: $var.getValue($.id), raw: $.id })",
            &vars,
            None,
        )
        .expect("ok");
        assert_eq!(out, Some(serde_json::json!({"v": "x", "raw": {}})));
    }

    #[test]
    fn runaway_work_stops_at_the_budget() {
        let err = eval(
            "() => ({ x: [1,2,3,4,5,6,7,8,9,10].flatMap(a => [1,2,3,4,5,6,7,8,9,10].flatMap(b => [1,2,3,4,5,6,7,8,9,10].flatMap(c => [1,2,3,4,5,6,7,8,9,10].flatMap(d => [1,2,3,4,5,6,7,8,9,10].map(e => a+b+c+d+e))))) })",
            &[],
            None,
        )
        .expect_err("stops");
        assert!(err.message.contains("steps"), "{}", err.message);
        let err = eval("() => ({ x: \"ab\".repeat(100000000) })", &[], None).expect_err("stops");
        assert!(err.message.contains("limit"), "{}", err.message);
    }

    #[test]
    fn undefined_results_and_properties_are_left_out() {
        assert_eq!(eval("() => undefined", &[], None).expect("ok"), None);
        assert_eq!(
            eval(
                "() => ({ a: undefined, b: [undefined, 1.5, 2], c: `x${1 + 1}` })",
                &[],
                None
            )
            .expect("ok"),
            Some(serde_json::json!({"b": [null, 1.5, 2], "c": "x2"}))
        );
    }
}
