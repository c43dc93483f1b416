//! The options-object builder's selections, as soda-gql evaluates them: a
//! selection is an object keyed by response key, where a later entry replaces
//! an earlier one in place (JavaScript object spread), fragments are spread
//! with explicit variable bindings (`fragment.spread({ v: $.x })`, unbound
//! variables leave their argument out), and union fields select per member.
//! The result is the flattened IR written as graphql-js `DocumentNode` JSON,
//! with values typed by the schema (a string argument of an enum type is an
//! `EnumValue`). No IO.

use std::collections::HashMap;

use apollo_compiler::ast::{self as gql, Type};
use apollo_compiler::Schema;

use super::ir::{Directive, Field, InlineFragment, Selection, Value};
use crate::phases::analyze::{ArgValue, DirectiveCall, FieldItem, SubSelection};

/// A selection object: response key → entry, in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldMap(pub Vec<(String, Entry)>);

impl FieldMap {
    /// `Object.assign` semantics: a key already present keeps its place and
    /// takes the new value.
    pub fn insert(&mut self, key: String, entry: Entry) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = entry,
            None => self.0.push((key, entry)),
        }
    }

    pub fn extend(&mut self, other: FieldMap) {
        for (k, e) in other.0 {
            self.insert(k, e);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `__typename: true` (or `__typename` in a template).
    Typename,
    Field(FieldSel),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSel {
    pub field: String,
    pub args: Vec<(String, ArgValue)>,
    pub directives: Vec<(String, Vec<(String, ArgValue)>)>,
    pub sub: Sub,
    /// Where it was written in TypeScript, when it was (not for fields that
    /// came from a spread fragment's template).
    pub at: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sub {
    Leaf,
    Object(FieldMap),
    Union {
        members: Vec<Member>,
        typename: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub type_name: String,
    pub fields: FieldMap,
    pub directives: Vec<(String, Vec<(String, ArgValue)>)>,
}

/// A problem found while building, at a TypeScript position when known.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildError {
    pub message: String,
    pub at: Option<(u32, u32)>,
    /// A warning does not stop the element from being written.
    pub warning: bool,
}

/// A spread fragment as the builder needs it.
pub struct SpreadSource<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// The fragment's GraphQL (`fragment N on T { ... }`, nested spreads inlined).
    pub text: &'a str,
    /// Every variable the fragment declares (its own and its spreads').
    pub variables: Vec<String>,
    /// The fragments its template spreads, depth first, with their
    /// variables: each is a usage too, bound by name to this one's values.
    pub nested: Vec<(String, Vec<String>)>,
}

/// One fragment spread, in evaluation order: what the operation's metadata
/// callback receives as `fragmentMetadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct FragmentUsage {
    pub id: String,
    /// The fragment's `$`: each declared variable's bound value.
    pub assignments: Vec<(String, ArgValue)>,
}

pub struct Builder<'a> {
    pub schema: &'a Schema,
    /// The operation's declared variables: `$.x` of an undeclared `x` is
    /// `undefined` at run time.
    pub declared: &'a [String],
    /// Spread sources by interpolation index.
    pub spreads: &'a [Option<SpreadSource<'a>>],
    pub usages: Vec<FragmentUsage>,
    pub errors: Vec<BuildError>,
    /// Parsed fragment bodies, by fragment id.
    parsed: HashMap<String, Option<gql::Document>>,
}

impl<'a> Builder<'a> {
    pub fn new(
        schema: &'a Schema,
        declared: &'a [String],
        spreads: &'a [Option<SpreadSource<'a>>],
    ) -> Self {
        Builder {
            schema,
            declared,
            spreads,
            usages: Vec::new(),
            errors: Vec::new(),
            parsed: HashMap::new(),
        }
    }

    fn error(&mut self, message: String, at: Option<(u32, u32)>) {
        self.errors.push(BuildError {
            message,
            at,
            warning: false,
        });
    }

    fn op_value(&mut self, v: &ArgValue, at: Option<(u32, u32)>) -> ArgValue {
        match v {
            ArgValue::Var(name) if !self.declared.iter().any(|d| d == name) => {
                self.errors.push(BuildError {
                    message: format!("`$.{name}` is not a declared variable of this operation; soda-gql passes `undefined`, so the value is left out (declare it in `variables`)"),
                    at,
                    warning: true,
                });
                ArgValue::Undefined
            }
            ArgValue::List(items) => {
                ArgValue::List(items.iter().map(|i| self.op_value(i, at)).collect())
            }
            ArgValue::Object(fields) => ArgValue::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.op_value(v, at)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn op_args(
        &mut self,
        args: &[(String, ArgValue)],
        at: Option<(u32, u32)>,
    ) -> Vec<(String, ArgValue)> {
        args.iter()
            .map(|(k, v)| (k.clone(), self.op_value(v, at)))
            .collect()
    }

    /// The selection object an options-object `fields` callback returns.
    pub fn fields(&mut self, items: &[FieldItem]) -> FieldMap {
        let mut map = FieldMap::default();
        for item in items {
            match item {
                FieldItem::Field(call) => {
                    let at = Some((call.line, call.column));
                    let args = self.op_args(&call.args, at);
                    let directives = call
                        .directives
                        .iter()
                        .map(|d: &DirectiveCall| (d.name.clone(), self.op_args(&d.args, at)))
                        .collect();
                    let sub = match &call.selection {
                        None => Sub::Leaf,
                        Some(SubSelection::Object(items)) => Sub::Object(self.fields(items)),
                        Some(SubSelection::Union { members, typename }) => Sub::Union {
                            members: members
                                .iter()
                                .map(|(type_name, items)| Member {
                                    type_name: type_name.clone(),
                                    fields: self.fields(items),
                                    directives: Vec::new(),
                                })
                                .collect(),
                            typename: *typename,
                        },
                    };
                    let key = call.alias.clone().unwrap_or_else(|| call.name.clone());
                    map.insert(
                        key,
                        Entry::Field(FieldSel {
                            field: call.name.clone(),
                            args,
                            directives,
                            sub,
                            at,
                        }),
                    );
                }
                FieldItem::Shorthand { key, line, column } => {
                    let entry = if key == "__typename" {
                        Entry::Typename
                    } else {
                        Entry::Field(FieldSel {
                            field: key.clone(),
                            args: Vec::new(),
                            directives: Vec::new(),
                            sub: Sub::Leaf,
                            at: Some((*line, *column)),
                        })
                    };
                    map.insert(key.clone(), entry);
                }
                FieldItem::Spread(spread) => {
                    let provided = spread
                        .args
                        .as_ref()
                        .map(|a| self.op_args(a, None))
                        .unwrap_or_default();
                    if let Some(fields) = self.spread(spread.interpolation, &provided) {
                        map.extend(fields);
                    }
                }
                FieldItem::Colocate(entries) => {
                    for (label, items) in entries {
                        let fields = self.fields(items);
                        for (key, entry) in fields.0 {
                            map.insert(format!("{label}_{key}"), entry);
                        }
                    }
                }
            }
        }
        map
    }

    /// `fragment.spread(provided)`: the fragment's fields with its variables
    /// bound (`createVarAssignments`: a variable not provided is `undefined`).
    fn spread(&mut self, index: usize, provided: &[(String, ArgValue)]) -> Option<FieldMap> {
        let source = self.spreads.get(index)?.as_ref()?;
        let assignments: Vec<(String, ArgValue)> = source
            .variables
            .iter()
            .map(|v| {
                let value = provided
                    .iter()
                    .find(|(k, _)| k == v)
                    .map(|(_, value)| value.clone())
                    .unwrap_or(ArgValue::Undefined);
                (v.clone(), value)
            })
            .collect();
        for (k, _) in provided {
            if !source.variables.iter().any(|v| v == k) {
                self.errors.push(BuildError {
                    message: format!(
                        "fragment `{}` declares no variable `${k}`; the value passed for it is ignored",
                        source.name
                    ),
                    at: None,
                    warning: true,
                });
            }
        }
        self.usages.push(FragmentUsage {
            id: source.id.to_owned(),
            assignments: assignments.clone(),
        });
        for (nested, variables) in &source.nested {
            let bound = variables
                .iter()
                .map(|v| {
                    let value = assignments
                        .iter()
                        .find(|(k, _)| k == v)
                        .map_or(ArgValue::Undefined, |(_, value)| value.clone());
                    (v.clone(), value)
                })
                .collect();
            self.usages.push(FragmentUsage {
                id: nested.clone(),
                assignments: bound,
            });
        }
        let id = source.id.to_owned();
        let doc = self
            .parsed
            .entry(id.clone())
            .or_insert_with(|| gql::Document::parse(source.text, "fragment.graphql").ok())
            .clone();
        let Some(doc) = doc else {
            self.error(
                format!("fragment `{}` does not parse as GraphQL", source.name),
                None,
            );
            return None;
        };
        let fragment = doc.definitions.iter().find_map(|d| match d {
            gql::Definition::FragmentDefinition(f) => Some(f.clone()),
            _ => None,
        })?;
        let on = fragment.type_condition.to_string();
        Some(self.template_fields(&fragment.selection_set, &on, &assignments))
    }

    /// `buildFieldsFromSelectionSet`: a template's selections as fields, its
    /// `$x` replaced by the bound value.
    fn template_fields(
        &mut self,
        selections: &[gql::Selection],
        parent: &str,
        assignments: &[(String, ArgValue)],
    ) -> FieldMap {
        let mut map = FieldMap::default();
        for selection in selections {
            match selection {
                gql::Selection::Field(f) => {
                    let key = f.alias.as_ref().unwrap_or(&f.name).to_string();
                    if f.name == "__typename" {
                        map.insert(key, Entry::Typename);
                        continue;
                    }
                    let args = f
                        .arguments
                        .iter()
                        .map(|a| (a.name.to_string(), bound(&a.value, assignments)))
                        .collect();
                    let directives = f
                        .directives
                        .iter()
                        .map(|d| {
                            (
                                d.name.to_string(),
                                d.arguments
                                    .iter()
                                    .map(|a| (a.name.to_string(), bound(&a.value, assignments)))
                                    .collect(),
                            )
                        })
                        .collect();
                    let field_type = field_type_name(self.schema, parent, &f.name);
                    let sub = if f.selection_set.is_empty() {
                        Sub::Leaf
                    } else if let Some(union) =
                        field_type.as_deref().and_then(|t| self.schema.get_union(t))
                    {
                        let union_name = union.name.to_string();
                        let mut members: Vec<Member> = Vec::new();
                        let mut typename = false;
                        for sel in &f.selection_set {
                            match sel {
                                gql::Selection::InlineFragment(inline) => {
                                    let Some(member) = &inline.type_condition else {
                                        self.error(format!("an inline fragment without a type condition in union field `{}`", f.name), None);
                                        continue;
                                    };
                                    let fields = self.template_fields(
                                        &inline.selection_set,
                                        member.as_str(),
                                        assignments,
                                    );
                                    members.push(Member {
                                        type_name: member.to_string(),
                                        fields,
                                        directives: inline
                                            .directives
                                            .iter()
                                            .map(|d| {
                                                (
                                                    d.name.to_string(),
                                                    d.arguments
                                                        .iter()
                                                        .map(|a| {
                                                            (
                                                                a.name.to_string(),
                                                                bound(&a.value, assignments),
                                                            )
                                                        })
                                                        .collect(),
                                                )
                                            })
                                            .collect(),
                                    });
                                }
                                gql::Selection::Field(t) if t.name == "__typename" => {
                                    typename = true
                                }
                                _ => self.error(
                                    format!("union field `{}` ({union_name}) selects per member: `... on Member {{ ... }}` and `__typename` only", f.name),
                                    None,
                                ),
                            }
                        }
                        Sub::Union { members, typename }
                    } else {
                        let nested = field_type.unwrap_or_default();
                        Sub::Object(self.template_fields(&f.selection_set, &nested, assignments))
                    };
                    map.insert(
                        key,
                        Entry::Field(FieldSel {
                            field: f.name.to_string(),
                            args,
                            directives,
                            sub,
                            at: None,
                        }),
                    );
                }
                gql::Selection::InlineFragment(_) => self.error(
                    "an inline fragment (`... on Type`) outside a union field is not supported by soda-gql's builder".into(),
                    None,
                ),
                gql::Selection::FragmentSpread(s) => self.error(
                    format!("`...{}`: a named fragment spread must be an interpolation `...${{fragment}}`", s.fragment_name),
                    None,
                ),
            }
        }
        map
    }

    /// `buildField`: the selection object as IR, values typed by the schema.
    pub fn to_ir(&mut self, map: &FieldMap, parent: &str) -> Vec<Selection> {
        let mut out = Vec::with_capacity(map.0.len());
        for (key, entry) in &map.0 {
            match entry {
                Entry::Typename => out.push(Selection::Field(Field {
                    alias: (key != "__typename").then(|| key.clone()),
                    name: "__typename".into(),
                    arguments: Vec::new(),
                    directives: Vec::new(),
                    selections: Vec::new(),
                })),
                Entry::Field(sel) => {
                    let Some(def) = self
                        .schema
                        .type_field(parent, &sel.field)
                        .ok()
                        .map(|d| d.node.clone())
                    else {
                        self.error(
                            format!("Cannot query field \"{}\" on type \"{parent}\".", sel.field),
                            sel.at,
                        );
                        continue;
                    };
                    let mut arguments = Vec::new();
                    for (name, value) in &sel.args {
                        let ty = def
                            .arguments
                            .iter()
                            .find(|a| a.name == name.as_str())
                            .map(|a| (*a.ty).clone());
                        if ty.is_none() {
                            self.error(
                                format!(
                                    "Unknown argument \"{name}\" on field \"{parent}.{}\".",
                                    sel.field
                                ),
                                sel.at,
                            );
                        }
                        if let Some(v) = self.value(value, ty.as_ref()) {
                            arguments.push((name.clone(), v));
                        }
                    }
                    let directives = self.directives(&sel.directives);
                    let field_type = def.ty.inner_named_type().to_string();
                    let selections = match &sel.sub {
                        Sub::Leaf => Vec::new(),
                        Sub::Object(fields) => self.to_ir(fields, &field_type),
                        Sub::Union { members, typename } => {
                            let mut out = Vec::new();
                            if *typename {
                                out.push(Selection::Field(Field {
                                    alias: None,
                                    name: "__typename".into(),
                                    arguments: Vec::new(),
                                    directives: Vec::new(),
                                    selections: Vec::new(),
                                }));
                            }
                            for m in members {
                                let selections = self.to_ir(&m.fields, &m.type_name);
                                let directives = self.directives(&m.directives);
                                out.push(Selection::InlineFragment(InlineFragment {
                                    type_condition: Some(m.type_name.clone()),
                                    directives,
                                    selections,
                                }));
                            }
                            out
                        }
                    };
                    out.push(Selection::Field(Field {
                        alias: (*key != sel.field).then(|| key.clone()),
                        name: sel.field.clone(),
                        arguments,
                        directives,
                        selections,
                    }));
                }
            }
        }
        out
    }

    fn directives(&mut self, list: &[(String, Vec<(String, ArgValue)>)]) -> Vec<Directive> {
        list.iter()
            .map(|(name, args)| {
                let def = self
                    .schema
                    .directive_definitions
                    .get(name.as_str())
                    .cloned();
                let arguments = args
                    .iter()
                    .filter_map(|(arg, value)| {
                        let ty = def.as_ref().and_then(|d| {
                            d.arguments
                                .iter()
                                .find(|a| a.name == arg.as_str())
                                .map(|a| (*a.ty).clone())
                        });
                        self.value(value, ty.as_ref()).map(|v| (arg.clone(), v))
                    })
                    .collect();
                Directive {
                    name: name.clone(),
                    arguments,
                }
            })
            .collect()
    }

    /// `buildArgumentValue`: `undefined` leaves the value out; a string of an
    /// enum type is an enum value; a number with a fraction is a float.
    fn value(&mut self, value: &ArgValue, ty: Option<&Type>) -> Option<Value> {
        let named = ty.map(|t| t.inner_named_type().as_str());
        Some(match value {
            ArgValue::Undefined => return None,
            ArgValue::Null => Value::Null,
            ArgValue::Var(name) => Value::Variable(name.clone()),
            ArgValue::Bool(b) => Value::Boolean(*b),
            ArgValue::Number(n) => {
                let float = n.contains('.') || n == "NaN" || n.contains("Infinity");
                if float {
                    Value::Float(n.clone())
                } else {
                    Value::Int(n.clone())
                }
            }
            ArgValue::String(s) => match named {
                Some(t) if self.schema.get_enum(t).is_some() => Value::Enum(s.clone()),
                _ => Value::String(s.clone()),
            },
            ArgValue::List(items) => Value::List(
                items
                    .iter()
                    .filter_map(|i| self.value(i, ty.map(|t| t.item_type())))
                    .collect(),
            ),
            ArgValue::Object(fields) => {
                let input = named.and_then(|t| self.schema.get_input_object(t)).cloned();
                Value::Object(
                    fields
                        .iter()
                        .filter_map(|(k, v)| {
                            let field_ty = input
                                .as_ref()
                                .and_then(|i| i.fields.get(k.as_str()))
                                .map(|f| (*f.ty).clone());
                            self.value(v, field_ty.as_ref()).map(|v| (k.clone(), v))
                        })
                        .collect(),
                )
            }
        })
    }
}

/// The named type of `parent.field`, if the schema has it.
fn field_type_name(schema: &Schema, parent: &str, field: &str) -> Option<String> {
    schema
        .type_field(parent, field)
        .ok()
        .map(|d| d.ty.inner_named_type().to_string())
}

/// A template value with `$x` replaced by its assignment (a variable the
/// fragment does not declare stays a variable).
fn bound(value: &gql::Value, assignments: &[(String, ArgValue)]) -> ArgValue {
    match value {
        gql::Value::Variable(name) => assignments
            .iter()
            .find(|(k, _)| k == name.as_str())
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| ArgValue::Var(name.to_string())),
        gql::Value::Null => ArgValue::Null,
        gql::Value::Enum(e) => ArgValue::String(e.to_string()),
        gql::Value::String(s) => ArgValue::String(s.clone()),
        gql::Value::Boolean(b) => ArgValue::Bool(*b),
        // parseInt / parseFloat, then String(n): `1.0` becomes 1.
        gql::Value::Int(i) => ArgValue::Number(
            i.as_str()
                .parse::<f64>()
                .map(crate::phases::analyze::js_number)
                .unwrap_or_else(|_| i.as_str().to_owned()),
        ),
        gql::Value::Float(f) => ArgValue::Number(
            f.as_str()
                .parse::<f64>()
                .map(crate::phases::analyze::js_number)
                .unwrap_or_else(|_| f.as_str().to_owned()),
        ),
        gql::Value::List(items) => {
            ArgValue::List(items.iter().map(|i| bound(i, assignments)).collect())
        }
        gql::Value::Object(fields) => ArgValue::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), bound(v, assignments)))
                .collect(),
        ),
    }
}
