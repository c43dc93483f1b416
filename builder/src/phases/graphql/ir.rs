//! The flattened operation IR: fragment spreads inlined and fields merged by
//! response key, then written as graphql-js `DocumentNode` JSON and as
//! canonical text (graphql-js `print` layout).

use std::collections::HashSet;

use apollo_compiler::ast;
use apollo_compiler::executable::{self, ExecutableDocument};
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Field(Field),
    InlineFragment(InlineFragment),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub alias: Option<String>,
    pub name: String,
    pub arguments: Vec<(String, Value)>,
    pub directives: Vec<Directive>,
    pub selections: Vec<Selection>,
}

impl Field {
    fn response_key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InlineFragment {
    pub type_condition: Option<String>,
    pub directives: Vec<Directive>,
    pub selections: Vec<Selection>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub name: String,
    pub arguments: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Variable(String),
    Int(String),
    Float(String),
    String(String),
    Boolean(bool),
    Null,
    Enum(String),
    List(Vec<Value>),
    Object(Vec<(String, Value)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariableDefinition {
    pub name: String,
    pub ty: TypeRef,
    pub default_value: Option<Value>,
    pub directives: Vec<Directive>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub operation_type: &'static str,
    pub name: String,
    pub variables: Vec<VariableDefinition>,
    pub directives: Vec<Directive>,
    pub selections: Vec<Selection>,
}

fn value(v: &ast::Value) -> Value {
    match v {
        ast::Value::Null => Value::Null,
        ast::Value::Enum(n) => Value::Enum(n.to_string()),
        ast::Value::Variable(n) => Value::Variable(n.to_string()),
        ast::Value::String(s) => Value::String(s.clone()),
        ast::Value::Float(f) => Value::Float(f.as_str().to_owned()),
        ast::Value::Int(i) => Value::Int(i.as_str().to_owned()),
        ast::Value::Boolean(b) => Value::Boolean(*b),
        ast::Value::List(items) => Value::List(items.iter().map(|i| value(i)).collect()),
        ast::Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), value(v)))
                .collect(),
        ),
    }
}

fn type_ref(t: &ast::Type) -> TypeRef {
    match t {
        ast::Type::Named(n) => TypeRef::Named(n.to_string()),
        ast::Type::NonNullNamed(n) => TypeRef::NonNull(Box::new(TypeRef::Named(n.to_string()))),
        ast::Type::List(inner) => TypeRef::List(Box::new(type_ref(inner))),
        ast::Type::NonNullList(inner) => {
            TypeRef::NonNull(Box::new(TypeRef::List(Box::new(type_ref(inner)))))
        }
    }
}

fn arguments(args: &[apollo_compiler::Node<ast::Argument>]) -> Vec<(String, Value)> {
    args.iter()
        .map(|a| (a.name.to_string(), value(&a.value)))
        .collect()
}

fn directives(list: &ast::DirectiveList) -> Vec<Directive> {
    list.iter()
        .map(|d| Directive {
            name: d.name.to_string(),
            arguments: arguments(&d.arguments),
        })
        .collect()
}

pub fn variable_definitions(
    vars: &[apollo_compiler::Node<ast::VariableDefinition>],
) -> Vec<VariableDefinition> {
    vars.iter()
        .map(|v| VariableDefinition {
            name: v.name.to_string(),
            ty: type_ref(&v.ty),
            default_value: v.default_value.as_ref().map(|d| value(d)),
            directives: directives(&v.directives),
        })
        .collect()
}

/// Parses a `$a: T = d, ...` list (without parens), as a fragment's
/// arguments or an operation's variables are written. Unparsable: none.
pub fn parse_variable_list(vars: &str) -> Vec<VariableDefinition> {
    let text = format!("query V({vars}) {{ __typename }}");
    match ast::Document::parse(text, "vars.graphql") {
        Ok(doc) => doc
            .definitions
            .iter()
            .find_map(|d| match d {
                ast::Definition::OperationDefinition(op) => {
                    Some(variable_definitions(&op.variables))
                }
                _ => None,
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// `$name: Type = default`.
pub fn print_variable_definition(v: &VariableDefinition) -> String {
    let mut s = format!("${}: {}", v.name, print_type(&v.ty));
    if let Some(d) = &v.default_value {
        s.push_str(&format!(" = {}", print_value(d)));
    }
    s
}

/// Converts a selection set, inlining every fragment spread from `doc`.
pub struct Flattener<'d> {
    pub doc: &'d ExecutableDocument,
}

impl Flattener<'_> {
    pub fn selection_set(&self, set: &executable::SelectionSet) -> Vec<Selection> {
        let mut out = Vec::new();
        let mut active = HashSet::new();
        self.append(set, &mut out, &mut active);
        out
    }

    fn append(
        &self,
        set: &executable::SelectionSet,
        out: &mut Vec<Selection>,
        active: &mut HashSet<String>,
    ) {
        let parent = set.ty.as_str();
        for selection in &set.selections {
            match selection {
                executable::Selection::Field(f) => {
                    let mut selections = Vec::new();
                    self.append(&f.selection_set, &mut selections, active);
                    merge(
                        out,
                        Selection::Field(Field {
                            alias: f.alias.as_ref().map(|a| a.to_string()),
                            name: f.name.to_string(),
                            arguments: arguments(&f.arguments),
                            directives: directives(&f.directives),
                            selections,
                        }),
                    );
                }
                executable::Selection::InlineFragment(inline) => {
                    let mut selections = Vec::new();
                    self.append(&inline.selection_set, &mut selections, active);
                    merge(
                        out,
                        Selection::InlineFragment(InlineFragment {
                            type_condition: inline.type_condition.as_ref().map(|t| t.to_string()),
                            directives: directives(&inline.directives),
                            selections,
                        }),
                    );
                }
                executable::Selection::FragmentSpread(spread) => {
                    let name = spread.fragment_name.as_str();
                    let Some(fragment) = self.doc.fragments.get(name) else {
                        continue;
                    };
                    // Validation rejects cycles; this guard only keeps a bad
                    // document from recursing forever.
                    if !active.insert(name.to_owned()) {
                        continue;
                    }
                    let type_condition = fragment.selection_set.ty.as_str();
                    let spread_directives = directives(&spread.directives);
                    if type_condition == parent && spread_directives.is_empty() {
                        self.append(&fragment.selection_set, out, active);
                    } else {
                        let mut selections = Vec::new();
                        self.append(&fragment.selection_set, &mut selections, active);
                        merge(
                            out,
                            Selection::InlineFragment(InlineFragment {
                                type_condition: (type_condition != parent)
                                    .then(|| type_condition.to_owned()),
                                directives: spread_directives,
                                selections,
                            }),
                        );
                    }
                    active.remove(name);
                }
            }
        }
    }
}

/// Adds `incoming` to `out`, merging a field into an earlier one with the same
/// response key (and an inline fragment into one with the same condition).
pub fn merge(out: &mut Vec<Selection>, incoming: Selection) {
    match incoming {
        Selection::Field(field) => {
            let existing = out.iter_mut().find_map(|s| match s {
                Selection::Field(f)
                    if f.response_key() == field.response_key()
                        && f.directives == field.directives =>
                {
                    Some(f)
                }
                _ => None,
            });
            match existing {
                Some(f) => {
                    for sub in field.selections {
                        merge(&mut f.selections, sub);
                    }
                }
                None => out.push(Selection::Field(field)),
            }
        }
        Selection::InlineFragment(inline) => {
            let existing = out.iter_mut().find_map(|s| match s {
                Selection::InlineFragment(i)
                    if i.type_condition == inline.type_condition
                        && i.directives == inline.directives =>
                {
                    Some(i)
                }
                _ => None,
            });
            match existing {
                Some(i) => {
                    for sub in inline.selections {
                        merge(&mut i.selections, sub);
                    }
                }
                None => out.push(Selection::InlineFragment(inline)),
            }
        }
    }
}

/// A JSON string as `serde_json` writes it.
fn write_str(out: &mut String, s: &str) {
    let plain = s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
    }
}

fn write_name(out: &mut String, name: &str) {
    out.push_str(r#"{"kind":"Name","value":"#);
    write_str(out, name);
    out.push('}');
}

/// `{"kind":<kind>,"value":<value>}`, the shape of every scalar value node.
fn write_scalar(out: &mut String, kind: &str, value: &str) {
    out.push_str(r#"{"kind":"#);
    write_str(out, kind);
    out.push_str(r#","value":"#);
    write_str(out, value);
    out.push('}');
}

/// `[a,b,…]`: each item written by `write`.
fn write_list<T>(out: &mut String, items: &[T], write: impl Fn(&mut String, &T)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    out.push(']');
}

/// `{"kind":<kind>,"name":<name node>,"value":<value node>}`: an argument or
/// an object field.
fn write_named_value(out: &mut String, kind: &str, (name, value): &(String, Value)) {
    out.push_str(r#"{"kind":"#);
    write_str(out, kind);
    out.push_str(r#","name":"#);
    write_name(out, name);
    out.push_str(r#","value":"#);
    write_value(out, value);
    out.push('}');
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Variable(n) => {
            out.push_str(r#"{"kind":"Variable","name":"#);
            write_name(out, n);
            out.push('}');
        }
        Value::Int(i) => write_scalar(out, "IntValue", i),
        Value::Float(f) => write_scalar(out, "FloatValue", f),
        Value::String(s) => write_scalar(out, "StringValue", s),
        Value::Boolean(b) => {
            out.push_str(r#"{"kind":"BooleanValue","value":"#);
            out.push_str(if *b { "true" } else { "false" });
            out.push('}');
        }
        Value::Null => out.push_str(r#"{"kind":"NullValue"}"#),
        Value::Enum(e) => write_scalar(out, "EnumValue", e),
        Value::List(items) => {
            out.push_str(r#"{"kind":"ListValue","values":"#);
            write_list(out, items, write_value);
            out.push('}');
        }
        Value::Object(fields) => {
            out.push_str(r#"{"fields":"#);
            write_list(out, fields, |out, f| {
                write_named_value(out, "ObjectField", f)
            });
            out.push_str(r#","kind":"ObjectValue"}"#);
        }
    }
}

fn write_arguments(out: &mut String, args: &[(String, Value)]) {
    write_list(out, args, |out, a| write_named_value(out, "Argument", a));
}

fn write_directives(out: &mut String, directives: &[Directive]) {
    write_list(out, directives, |out, d| {
        out.push_str(r#"{"arguments":"#);
        write_arguments(out, &d.arguments);
        out.push_str(r#","kind":"Directive","name":"#);
        write_name(out, &d.name);
        out.push('}');
    });
}

fn write_type(out: &mut String, t: &TypeRef) {
    match t {
        TypeRef::Named(n) => {
            out.push_str(r#"{"kind":"NamedType","name":"#);
            write_name(out, n);
        }
        TypeRef::List(inner) => {
            out.push_str(r#"{"kind":"ListType","type":"#);
            write_type(out, inner);
        }
        TypeRef::NonNull(inner) => {
            out.push_str(r#"{"kind":"NonNullType","type":"#);
            write_type(out, inner);
        }
    }
    out.push('}');
}

fn is_typename_shorthand(f: &Field) -> bool {
    f.name == "__typename" && f.alias.is_none() && f.arguments.is_empty() && f.directives.is_empty()
}

fn write_selection_set(out: &mut String, selections: &[Selection]) {
    out.push_str(r#"{"kind":"SelectionSet","selections":"#);
    write_list(out, selections, write_selection);
    out.push('}');
}

fn write_selection(out: &mut String, s: &Selection) {
    out.push('{');
    match s {
        Selection::Field(f) => {
            if let Some(alias) = &f.alias {
                out.push_str(r#""alias":"#);
                write_name(out, alias);
                out.push(',');
            }
            // soda-gql turns a plain `__typename` into its shorthand, whose
            // node has no `arguments` key.
            if is_typename_shorthand(f) {
                out.push_str(r#""kind":"Field","name":"#);
            } else {
                out.push_str(r#""arguments":"#);
                write_arguments(out, &f.arguments);
                if !f.directives.is_empty() {
                    out.push_str(r#","directives":"#);
                    write_directives(out, &f.directives);
                }
                out.push_str(r#","kind":"Field","name":"#);
            }
            write_name(out, &f.name);
            if !f.selections.is_empty() {
                out.push_str(r#","selectionSet":"#);
                write_selection_set(out, &f.selections);
            }
        }
        Selection::InlineFragment(i) => {
            if !i.directives.is_empty() {
                out.push_str(r#""directives":"#);
                write_directives(out, &i.directives);
                out.push(',');
            }
            out.push_str(r#""kind":"InlineFragment","selectionSet":"#);
            write_selection_set(out, &i.selections);
            if let Some(t) = &i.type_condition {
                out.push_str(r#","typeCondition":{"kind":"NamedType","name":"#);
                write_name(out, t);
                out.push('}');
            }
        }
    }
    out.push('}');
}

impl Operation {
    /// graphql-js `DocumentNode` JSON, without `loc`, written straight into
    /// a string. Keys come in sorted order, as the `serde_json` maps this
    /// replaced wrote them (the artifact's bytes do not change); building
    /// those maps was a third of compiling a definition.
    pub fn document_json(&self) -> String {
        let mut out = String::with_capacity(1024);
        out.push_str(r#"{"definitions":[{"#);
        if !self.directives.is_empty() {
            out.push_str(r#""directives":"#);
            write_directives(&mut out, &self.directives);
            out.push(',');
        }
        out.push_str(r#""kind":"OperationDefinition","name":"#);
        write_name(&mut out, &self.name);
        out.push_str(r#","operation":"#);
        write_str(&mut out, self.operation_type);
        out.push_str(r#","selectionSet":"#);
        write_selection_set(&mut out, &self.selections);
        out.push_str(r#","variableDefinitions":"#);
        write_list(&mut out, &self.variables, |out, v| {
            out.push('{');
            if let Some(d) = &v.default_value {
                out.push_str(r#""defaultValue":"#);
                write_value(out, d);
                out.push(',');
            }
            out.push_str(r#""directives":"#);
            write_directives(out, &v.directives);
            out.push_str(r#","kind":"VariableDefinition","type":"#);
            write_type(out, &v.ty);
            out.push_str(r#","variable":{"kind":"Variable","name":"#);
            write_name(out, &v.name);
            out.push_str("}}");
        });
        out.push_str(r#"}],"kind":"Document"}"#);
        out
    }

    /// Canonical text in graphql-js `print` layout.
    pub fn print(&self) -> String {
        let mut out = format!("{} {}", self.operation_type, self.name);
        if !self.variables.is_empty() {
            let vars: Vec<String> = self
                .variables
                .iter()
                .map(|v| {
                    let mut s = format!("${}: {}", v.name, print_type(&v.ty));
                    if let Some(d) = &v.default_value {
                        s.push_str(&format!(" = {}", print_value(d)));
                    }
                    s.push_str(&print_directives(&v.directives));
                    s
                })
                .collect();
            out.push_str(&format!("({})", vars.join(", ")));
        }
        out.push_str(&print_directives(&self.directives));
        out.push(' ');
        print_selections(&self.selections, 0, &mut out);
        out
    }
}

pub fn print_type(t: &TypeRef) -> String {
    match t {
        TypeRef::Named(n) => n.clone(),
        TypeRef::List(inner) => format!("[{}]", print_type(inner)),
        TypeRef::NonNull(inner) => format!("{}!", print_type(inner)),
    }
}

pub fn print_value(v: &Value) -> String {
    match v {
        Value::Variable(n) => format!("${n}"),
        Value::Int(s) | Value::Float(s) | Value::Enum(s) => s.clone(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Boolean(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(print_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", print_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn print_args(args: &[(String, Value)]) -> String {
    if args.is_empty() {
        return String::new();
    }
    format!(
        "({})",
        args.iter()
            .map(|(k, v)| format!("{k}: {}", print_value(v)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn print_directives(directives: &[Directive]) -> String {
    directives
        .iter()
        .map(|d| format!(" @{}{}", d.name, print_args(&d.arguments)))
        .collect()
}

fn print_selections(selections: &[Selection], depth: usize, out: &mut String) {
    out.push_str("{\n");
    let indent = "  ".repeat(depth + 1);
    for s in selections {
        out.push_str(&indent);
        match s {
            Selection::Field(f) => {
                if let Some(alias) = &f.alias {
                    out.push_str(alias);
                    out.push_str(": ");
                }
                out.push_str(&f.name);
                out.push_str(&print_args(&f.arguments));
                out.push_str(&print_directives(&f.directives));
                if !f.selections.is_empty() {
                    out.push(' ');
                    print_selections(&f.selections, depth + 1, out);
                }
            }
            Selection::InlineFragment(i) => {
                out.push_str("...");
                if let Some(t) = &i.type_condition {
                    out.push_str(" on ");
                    out.push_str(t);
                }
                out.push_str(&print_directives(&i.directives));
                out.push(' ');
                print_selections(&i.selections, depth + 1, out);
            }
        }
        out.push('\n');
    }
    out.push_str(&"  ".repeat(depth));
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value as Json};

    // The `serde_json::Value` builders `document_json` replaced: the oracle
    // its bytes are checked against.
    fn name_json(name: &str) -> Json {
        json!({ "kind": "Name", "value": name })
    }

    fn value_json(v: &Value) -> Json {
        match v {
            Value::Variable(n) => json!({ "kind": "Variable", "name": name_json(n) }),
            Value::Int(i) => json!({ "kind": "IntValue", "value": i }),
            Value::Float(f) => json!({ "kind": "FloatValue", "value": f }),
            Value::String(s) => json!({ "kind": "StringValue", "value": s }),
            Value::Boolean(b) => json!({ "kind": "BooleanValue", "value": b }),
            Value::Null => json!({ "kind": "NullValue" }),
            Value::Enum(e) => json!({ "kind": "EnumValue", "value": e }),
            Value::List(items) => {
                json!({ "kind": "ListValue", "values": items.iter().map(value_json).collect::<Vec<_>>() })
            }
            Value::Object(fields) => json!({
                "kind": "ObjectValue",
                "fields": fields.iter().map(|(k, v)| json!({ "kind": "ObjectField", "name": name_json(k), "value": value_json(v) })).collect::<Vec<_>>(),
            }),
        }
    }

    fn arguments_json(args: &[(String, Value)]) -> Json {
        Json::Array(
            args.iter()
                .map(|(k, v)| json!({ "kind": "Argument", "name": name_json(k), "value": value_json(v) }))
                .collect(),
        )
    }

    fn directives_json(directives: &[Directive]) -> Json {
        Json::Array(
            directives
                .iter()
                .map(|d| json!({ "kind": "Directive", "name": name_json(&d.name), "arguments": arguments_json(&d.arguments) }))
                .collect(),
        )
    }

    fn type_json(t: &TypeRef) -> Json {
        match t {
            TypeRef::Named(n) => json!({ "kind": "NamedType", "name": name_json(n) }),
            TypeRef::List(inner) => json!({ "kind": "ListType", "type": type_json(inner) }),
            TypeRef::NonNull(inner) => json!({ "kind": "NonNullType", "type": type_json(inner) }),
        }
    }

    fn selection_set_json(selections: &[Selection]) -> Json {
        json!({
            "kind": "SelectionSet",
            "selections": selections.iter().map(selection_json).collect::<Vec<_>>(),
        })
    }

    fn selection_json(s: &Selection) -> Json {
        let mut map = Map::new();
        match s {
            Selection::Field(f) => {
                map.insert("kind".into(), json!("Field"));
                if let Some(alias) = &f.alias {
                    map.insert("alias".into(), name_json(alias));
                }
                map.insert("name".into(), name_json(&f.name));
                if !super::is_typename_shorthand(f) {
                    map.insert("arguments".into(), arguments_json(&f.arguments));
                }
                if !f.directives.is_empty() {
                    map.insert("directives".into(), directives_json(&f.directives));
                }
                if !f.selections.is_empty() {
                    map.insert("selectionSet".into(), selection_set_json(&f.selections));
                }
            }
            Selection::InlineFragment(i) => {
                map.insert("kind".into(), json!("InlineFragment"));
                if let Some(t) = &i.type_condition {
                    map.insert(
                        "typeCondition".into(),
                        type_json(&TypeRef::Named(t.clone())),
                    );
                }
                if !i.directives.is_empty() {
                    map.insert("directives".into(), directives_json(&i.directives));
                }
                map.insert("selectionSet".into(), selection_set_json(&i.selections));
            }
        }
        Json::Object(map)
    }

    fn oracle_document(operation: &Operation) -> Json {
        let mut def = Map::new();
        def.insert("kind".into(), json!("OperationDefinition"));
        def.insert("operation".into(), json!(operation.operation_type));
        def.insert("name".into(), name_json(&operation.name));
        def.insert(
            "variableDefinitions".into(),
            Json::Array(
                operation
                    .variables
                    .iter()
                    .map(|v| {
                        let mut m = Map::new();
                        m.insert("kind".into(), json!("VariableDefinition"));
                        m.insert(
                            "variable".into(),
                            json!({ "kind": "Variable", "name": name_json(&v.name) }),
                        );
                        m.insert("type".into(), type_json(&v.ty));
                        if let Some(d) = &v.default_value {
                            m.insert("defaultValue".into(), value_json(d));
                        }
                        m.insert("directives".into(), directives_json(&v.directives));
                        Json::Object(m)
                    })
                    .collect(),
            ),
        );
        if !operation.directives.is_empty() {
            def.insert("directives".into(), directives_json(&operation.directives));
        }
        def.insert(
            "selectionSet".into(),
            selection_set_json(&operation.selections),
        );
        json!({ "kind": "Document", "definitions": [Json::Object(def)] })
    }

    fn field(name: &str, subs: Vec<Selection>) -> Selection {
        Selection::Field(Field {
            alias: None,
            name: name.into(),
            arguments: vec![],
            directives: vec![],
            selections: subs,
        })
    }

    #[test]
    fn merges_by_response_key_in_first_seen_order() {
        let mut out = Vec::new();
        merge(
            &mut out,
            field("user", vec![field("id", vec![]), field("name", vec![])]),
        );
        merge(
            &mut out,
            field("user", vec![field("id", vec![]), field("email", vec![])]),
        );
        let op = Operation {
            operation_type: "query",
            name: "Q".into(),
            variables: vec![],
            directives: vec![],
            selections: out,
        };
        assert_eq!(
            op.print(),
            "query Q {\n  user {\n    id\n    name\n    email\n  }\n}"
        );
    }

    use proptest::prelude::*;

    fn arb_name() -> impl Strategy<Value = String> {
        "[_A-Za-z][_A-Za-z0-9]{0,6}"
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            arb_name().prop_map(Value::Variable),
            "-?[0-9]{1,4}".prop_map(Value::Int),
            "[0-9]{1,3}\\.[0-9]{1,3}".prop_map(Value::Float),
            // Quotes, backslashes, control characters and non-ASCII text.
            "(\\PC|[\"\\\\\n\t\u{1}])*".prop_map(Value::String),
            any::<bool>().prop_map(Value::Boolean),
            Just(Value::Null),
            arb_name().prop_map(Value::Enum),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::List),
                prop::collection::vec((arb_name(), inner), 0..3).prop_map(Value::Object),
            ]
        })
    }

    fn arb_directives() -> impl Strategy<Value = Vec<Directive>> {
        prop::collection::vec(
            (
                arb_name(),
                prop::collection::vec((arb_name(), arb_value()), 0..2),
            )
                .prop_map(|(name, arguments)| Directive { name, arguments }),
            0..2,
        )
    }

    fn arb_type() -> impl Strategy<Value = TypeRef> {
        arb_name()
            .prop_map(TypeRef::Named)
            .prop_recursive(2, 4, 1, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|t| TypeRef::List(Box::new(t))),
                    inner.prop_map(|t| TypeRef::NonNull(Box::new(t))),
                ]
            })
    }

    fn arb_selections() -> impl Strategy<Value = Vec<Selection>> {
        let field = (
            prop::option::of(arb_name()),
            arb_name(),
            prop::collection::vec((arb_name(), arb_value()), 0..2),
            arb_directives(),
        )
            .prop_map(|(alias, name, arguments, directives)| {
                Selection::Field(Field {
                    alias,
                    name,
                    arguments,
                    directives,
                    selections: Vec::new(),
                })
            });
        prop::collection::vec(field, 0..3).prop_recursive(3, 24, 3, |inner| {
            prop::collection::vec(
                prop_oneof![
                    (arb_name(), inner.clone()).prop_map(|(name, selections)| {
                        Selection::Field(Field {
                            alias: None,
                            name,
                            arguments: Vec::new(),
                            directives: Vec::new(),
                            selections,
                        })
                    }),
                    (prop::option::of(arb_name()), arb_directives(), inner).prop_map(
                        |(type_condition, directives, selections)| {
                            Selection::InlineFragment(InlineFragment {
                                type_condition,
                                directives,
                                selections,
                            })
                        }
                    ),
                ],
                0..3,
            )
        })
    }

    proptest! {
        #[test]
        fn document_json_equals_the_serde_json_builder(
            operation_type in prop_oneof![Just("query"), Just("mutation"), Just("subscription")],
            name in arb_name(),
            variables in prop::collection::vec(
                (arb_name(), arb_type(), prop::option::of(arb_value()), arb_directives()),
                0..3,
            ),
            directives in arb_directives(),
            selections in arb_selections(),
        ) {
            let operation = Operation {
                operation_type,
                name,
                variables: variables
                    .into_iter()
                    .map(|(name, ty, default_value, directives)| VariableDefinition {
                        name,
                        ty,
                        default_value,
                        directives,
                    })
                    .collect(),
                directives,
                selections,
            };
            prop_assert_eq!(
                operation.document_json(),
                oracle_document(&operation).to_string()
            );
        }
    }
}
