//! Owned, serialisable shapes of the definition forms beyond the tagged
//! template: the options-object field builder (`fields: ({ f, $ }) => ...`)
//! and metadata callbacks (`metadata: ({ $, $var }) => ...`). The extractor
//! lowers swc expressions into these; later phases never see swc.

use serde::{Deserialize, Serialize};

/// How a definition's selections are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DefinitionForm {
    /// `query("N")`...``: the selections are the template's GraphQL text.
    #[default]
    Template,
    /// `query("N")({ variables, fields })`: the selections are built by the
    /// `fields` callback. The variables template is the definition's only
    /// template part; each spread's fragment reference is an interpolation.
    Fields(Vec<FieldItem>),
}

/// One entry of a fields object, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldItem {
    /// `...f("name", args, { alias, directives })(nested?)`.
    Field(FieldCall),
    /// `...fragment.spread(args?)`.
    Spread(SpreadCall),
    /// `$colocate({ label: fields, ... })`: every key of `fields` prefixed
    /// with `label_`.
    Colocate(Vec<(String, Vec<FieldItem>)>),
    /// `name: true` shorthand (`__typename: true` included).
    Shorthand { key: String, line: u32, column: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldCall {
    pub name: String,
    pub args: Vec<(String, ArgValue)>,
    pub alias: Option<String>,
    pub directives: Vec<DirectiveCall>,
    pub selection: Option<SubSelection>,
    /// Position of the field name string.
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubSelection {
    /// `({ f }) => ({ ... })`.
    Object(Vec<FieldItem>),
    /// `{ Member: ({ f }) => ({ ... }), __typename: true }`.
    Union {
        members: Vec<(String, Vec<FieldItem>)>,
        typename: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpreadCall {
    /// Index of the fragment reference in the definition's interpolations.
    pub interpolation: usize,
    /// `None`: `.spread()` with no argument.
    pub args: Option<Vec<(String, ArgValue)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DirectiveCall {
    pub name: String,
    pub args: Vec<(String, ArgValue)>,
}

/// An argument value as the builder receives it at run time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArgValue {
    /// `$.name`: the operation variable `name`.
    Var(String),
    /// `undefined`: the argument (or object field) is left out.
    Undefined,
    Null,
    Bool(bool),
    /// A number as JavaScript's `String(n)` writes it.
    Number(String),
    String(String),
    List(Vec<ArgValue>),
    Object(Vec<(String, ArgValue)>),
}

/// `metadata: (ctx) => expr`, lowered for the evaluator in `metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataCallback {
    /// Local name → context key (`$`, `$var`, `fragmentMetadata`, ...), from
    /// the callback's destructured parameter.
    pub params: Vec<(String, String)>,
    pub body: MetaExpr,
    /// Position of the callback.
    pub line: u32,
    pub column: u32,
}

/// A JavaScript expression of the subset metadata callbacks use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetaExpr {
    Undefined,
    Null,
    Bool(bool),
    /// `f64::to_bits` of the value.
    Number(u64),
    String(String),
    Template {
        quasis: Vec<String>,
        exprs: Vec<MetaExpr>,
    },
    Array(Vec<MetaElement>),
    Object(Vec<MetaProp>),
    Ident(String),
    Member {
        object: Box<MetaExpr>,
        property: MetaKey,
        optional: bool,
    },
    Call {
        callee: Box<MetaExpr>,
        args: Vec<MetaElement>,
        optional: bool,
        /// Source text, for messages.
        source: String,
        line: u32,
        column: u32,
    },
    Unary {
        op: String,
        arg: Box<MetaExpr>,
    },
    Binary {
        op: String,
        left: Box<MetaExpr>,
        right: Box<MetaExpr>,
    },
    Conditional {
        test: Box<MetaExpr>,
        consequent: Box<MetaExpr>,
        alternate: Box<MetaExpr>,
    },
    Arrow {
        params: Vec<String>,
        body: Box<MetaExpr>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetaElement {
    pub spread: bool,
    pub expr: MetaExpr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetaKey {
    Static(String),
    Computed(Box<MetaExpr>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetaProp {
    KeyValue { key: MetaKey, value: MetaExpr },
    Spread(MetaExpr),
}
