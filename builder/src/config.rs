//! Config loading: `soda-gql.config.json`, or `soda-gql.config.ts` read statically.
//!
//! The TypeScript config is never executed: the object literal passed to
//! `defineConfig({...})` is read with swc. Properties the builder does not use
//! may hold any expression; a dynamic value in one it needs is an error that
//! names the property and suggests the JSON form.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use swc_common::{BytePos, Spanned};
use swc_ecma_ast as ast;
use swc_ecma_parser::{Parser, StringInput, Syntax, TsSyntax};
use thiserror::Error;

use crate::diagnostics::LineIndex;

pub const CONFIG_FILE_NAMES: [&str; 2] = ["soda-gql.config.ts", "soda-gql.config.json"];
pub const DEFAULT_ALIASES: [&str; 1] = ["@/graphql-system"];

/// The validated, absolute-path config every phase reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub config_path: PathBuf,
    /// Directory of the config file: every relative path resolves against it,
    /// and canonical ids are relative to it.
    pub root_dir: PathBuf,
    /// The generated graphql-system module whose `gql` export marks definitions.
    pub outdir: PathBuf,
    pub include: Vec<String>,
    /// Where each include glob is written in the config file (1-based line
    /// and column), for the warning about a glob that matches nothing.
    #[serde(skip)]
    pub include_positions: Vec<Option<(u32, u32)>>,
    pub exclude: Vec<String>,
    pub schemas: BTreeMap<String, SchemaConfig>,
    pub artifact_path: PathBuf,
    pub cache_dir: PathBuf,
    /// Import specifiers that also mean the graphql-system module.
    pub graphql_system_aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaConfig {
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no soda-gql.config.ts or soda-gql.config.json found in {searched_from} or any parent directory; create one or pass --config PATH")]
    NotFound { searched_from: PathBuf },
    #[error("cannot read config {path} (check the path passed to --config)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: cannot parse config: {message}")]
    Parse {
        path: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{path}:{line}:{column}: config property `{property}` is a dynamic expression (`{snippet}`) that the builder cannot evaluate; write a literal value, or use soda-gql.config.json")]
    Dynamic {
        path: PathBuf,
        property: String,
        line: u32,
        column: u32,
        snippet: String,
    },
    #[error("{path}: config property `{property}` {message}")]
    Invalid {
        path: PathBuf,
        property: String,
        message: String,
    },
}

/// A config value read statically: literals, or a marker for anything that
/// would need evaluation.
#[derive(Debug, Clone, PartialEq)]
enum ConfigValue {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<ConfigValue>),
    Object(Vec<(String, ConfigValue)>),
    Dynamic {
        line: u32,
        column: u32,
        snippet: String,
    },
}

impl ConfigValue {
    fn get(&self, key: &str) -> Option<&ConfigValue> {
        match self {
            ConfigValue::Object(props) => {
                props.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }
}

/// Searches `start` and its parents for a config file (`.ts` preferred).
pub fn find_config(start: &Path) -> Result<PathBuf, ConfigError> {
    for dir in start.ancestors() {
        for name in CONFIG_FILE_NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(ConfigError::NotFound {
        searched_from: start.to_path_buf(),
    })
}

pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let absolute = normalize_path(&absolute);
    let value = if path.extension().is_some_and(|e| e == "json") {
        parse_json_config(&absolute, &text)?
    } else {
        parse_ts_config(&absolute, &text)?
    };
    config_from_value(&absolute, &value, &text)
}

fn parse_json_config(path: &Path, text: &str) -> Result<ConfigValue, ConfigError> {
    // A UTF-8 byte order mark (Windows editors write one) is not JSON,
    // but a .ts config with one was accepted.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        line: e.line() as u32,
        column: e.column() as u32,
        message: e.to_string(),
    })?;
    Ok(from_json(&json))
}

fn from_json(value: &serde_json::Value) -> ConfigValue {
    match value {
        serde_json::Value::Null => ConfigValue::Null,
        serde_json::Value::Bool(b) => ConfigValue::Bool(*b),
        serde_json::Value::Number(n) => ConfigValue::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => ConfigValue::String(s.clone()),
        serde_json::Value::Array(a) => ConfigValue::Array(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            ConfigValue::Object(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

fn parse_ts_config(path: &Path, text: &str) -> Result<ConfigValue, ConfigError> {
    let index = LineIndex::new(text);
    let start = BytePos(1);
    let end = BytePos(1 + text.len() as u32);
    let syntax = Syntax::Typescript(TsSyntax::default());
    let mut parser = Parser::new(syntax, StringInput::new(text, start, end), None);
    let parse_error = |offset: usize, message: String| {
        let (line, column) = index.line_col(text, offset);
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let module = parser
        .parse_module()
        .map_err(|e| parse_error(offset_of(e.span().lo), e.kind().msg().into_owned()))?;
    if let Some(e) = parser.take_errors().into_iter().next() {
        return Err(parse_error(
            offset_of(e.span().lo),
            e.kind().msg().into_owned(),
        ));
    }
    let reader = StaticReader {
        text,
        index: &index,
    };
    for item in &module.body {
        let expr = match item {
            ast::ModuleItem::ModuleDecl(ast::ModuleDecl::ExportDefaultExpr(e)) => &*e.expr,
            _ => continue,
        };
        let object = unwrap_define_config(expr).ok_or_else(|| {
            parse_error(
                offset_of(expr.span().lo),
                "`export default` must be `defineConfig({ ... })` or an object literal".into(),
            )
        })?;
        return Ok(reader.read(object));
    }
    Err(parse_error(
        0,
        "no `export default defineConfig({ ... })` found".into(),
    ))
}

fn offset_of(pos: BytePos) -> usize {
    pos.0.saturating_sub(1) as usize
}

fn strip_ts_wrappers(mut expr: &ast::Expr) -> &ast::Expr {
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

fn unwrap_define_config(expr: &ast::Expr) -> Option<&ast::Expr> {
    let expr = strip_ts_wrappers(expr);
    match expr {
        ast::Expr::Object(_) => Some(expr),
        ast::Expr::Call(call) => {
            let arg = call.args.first()?;
            let inner = strip_ts_wrappers(&arg.expr);
            matches!(inner, ast::Expr::Object(_)).then_some(inner)
        }
        _ => None,
    }
}

struct StaticReader<'a> {
    text: &'a str,
    index: &'a LineIndex,
}

impl StaticReader<'_> {
    fn dynamic(&self, expr: &ast::Expr) -> ConfigValue {
        let span = expr.span();
        let (lo, hi) = (offset_of(span.lo), offset_of(span.hi));
        let (line, column) = self.index.line_col(self.text, lo);
        let snippet: String = self
            .text
            .get(lo..hi)
            .unwrap_or("")
            .chars()
            .take(60)
            .collect();
        ConfigValue::Dynamic {
            line,
            column,
            snippet,
        }
    }

    fn read(&self, expr: &ast::Expr) -> ConfigValue {
        let expr = strip_ts_wrappers(expr);
        match expr {
            ast::Expr::Lit(ast::Lit::Str(s)) => {
                ConfigValue::String(s.value.to_string_lossy().into_owned())
            }
            ast::Expr::Lit(ast::Lit::Bool(b)) => ConfigValue::Bool(b.value),
            ast::Expr::Lit(ast::Lit::Null(_)) => ConfigValue::Null,
            ast::Expr::Lit(ast::Lit::Num(n)) => ConfigValue::Number(n.value),
            ast::Expr::Tpl(tpl) if tpl.exprs.is_empty() => ConfigValue::String(
                tpl.quasis
                    .iter()
                    .map(|q| {
                        q.cooked
                            .as_ref()
                            .map(|c| c.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    })
                    .collect(),
            ),
            ast::Expr::Array(array) => ConfigValue::Array(
                array
                    .elems
                    .iter()
                    .map(|elem| match elem {
                        Some(ast::ExprOrSpread { spread: None, expr }) => self.read(expr),
                        Some(other) => self.dynamic(&other.expr),
                        None => ConfigValue::Null,
                    })
                    .collect(),
            ),
            ast::Expr::Object(object) => {
                let mut props = Vec::new();
                for prop in &object.props {
                    let ast::PropOrSpread::Prop(prop) = prop else {
                        continue;
                    };
                    match &**prop {
                        ast::Prop::KeyValue(kv) => {
                            if let Some(key) = prop_name(&kv.key) {
                                props.push((key, self.read(&kv.value)));
                            }
                        }
                        ast::Prop::Shorthand(ident) => {
                            let expr = ast::Expr::Ident(ident.clone());
                            props.push((ident.sym.to_string(), self.dynamic(&expr)));
                        }
                        _ => {}
                    }
                }
                ConfigValue::Object(props)
            }
            other => self.dynamic(other),
        }
    }
}

fn prop_name(key: &ast::PropName) -> Option<String> {
    match key {
        ast::PropName::Ident(i) => Some(i.sym.to_string()),
        ast::PropName::Str(s) => Some(s.value.to_string_lossy().into_owned()),
        ast::PropName::Num(n) => Some(n.value.to_string()),
        _ => None,
    }
}

/// Reads the fields the builder needs; every error names the property.
struct FieldReader<'a> {
    path: &'a Path,
}

impl FieldReader<'_> {
    fn invalid(&self, property: &str, message: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            property: property.to_owned(),
            message: message.to_owned(),
        }
    }

    fn check_static<'v>(
        &self,
        property: &str,
        value: &'v ConfigValue,
    ) -> Result<&'v ConfigValue, ConfigError> {
        match value {
            ConfigValue::Dynamic {
                line,
                column,
                snippet,
            } => Err(ConfigError::Dynamic {
                path: self.path.to_path_buf(),
                property: property.to_owned(),
                line: *line,
                column: *column,
                snippet: snippet.clone(),
            }),
            other => Ok(other),
        }
    }

    fn string(&self, property: &str, value: &ConfigValue) -> Result<String, ConfigError> {
        match self.check_static(property, value)? {
            ConfigValue::String(s) => Ok(s.clone()),
            _ => Err(self.invalid(property, "must be a string")),
        }
    }

    fn strings(&self, property: &str, value: &ConfigValue) -> Result<Vec<String>, ConfigError> {
        match self.check_static(property, value)? {
            ConfigValue::String(s) => Ok(vec![s.clone()]),
            ConfigValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.string(&format!("{property}[{i}]"), item))
                .collect(),
            _ => Err(self.invalid(property, "must be a string or an array of strings")),
        }
    }
}

fn config_from_value(path: &Path, value: &ConfigValue, text: &str) -> Result<Config, ConfigError> {
    let reader = FieldReader { path };
    let root_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve = |p: &str| normalize_path(&root_dir.join(p));

    if !matches!(value, ConfigValue::Object(_)) {
        return Err(reader.invalid("(root)", "must be an object"));
    }
    let outdir = match value.get("outdir") {
        Some(v) => resolve(&reader.string("outdir", v)?),
        None => {
            return Err(reader.invalid(
                "outdir",
                "is required (the graphql-system directory, e.g. \"./graphql-system\")",
            ))
        }
    };
    let include = match value.get("include") {
        Some(v) => reader.strings("include", v)?,
        None => vec!["./src/**/*.{ts,tsx}".to_owned()],
    };
    let mut exclude = match value.get("exclude") {
        Some(v) => reader.strings("exclude", v)?,
        None => Vec::new(),
    };
    // `!glob` among the includes excludes, as soda-gql's glob library reads it.
    let (negated, include): (Vec<String>, Vec<String>) =
        include.into_iter().partition(|g| g.starts_with('!'));
    exclude.extend(
        negated
            .iter()
            .filter_map(|g| g.strip_prefix('!'))
            .map(str::to_owned),
    );
    let mut schemas = BTreeMap::new();
    match value
        .get("schemas")
        .map(|v| reader.check_static("schemas", v))
    {
        Some(Ok(ConfigValue::Object(entries))) => {
            for (name, entry) in entries {
                let property = format!("schemas.{name}.schema");
                let schema = reader
                    .check_static(&format!("schemas.{name}"), entry)?
                    .get("schema")
                    .ok_or_else(|| {
                        reader.invalid(
                            &property,
                            "is required (path or array of paths to .graphql files)",
                        )
                    })?;
                let paths = reader
                    .strings(&property, schema)?
                    .iter()
                    .map(|p| resolve(p))
                    .collect();
                schemas.insert(name.clone(), SchemaConfig { paths });
            }
        }
        Some(Err(e)) => return Err(e),
        Some(Ok(_)) => {
            return Err(reader.invalid("schemas", "must be an object of { <name>: { schema } }"))
        }
        None => {
            return Err(reader.invalid(
                "schemas",
                "is required: { default: { schema: \"./schema.graphql\" } }",
            ))
        }
    }
    if schemas.is_empty() {
        return Err(reader.invalid("schemas", "must name at least one schema"));
    }
    let cache_dir = match value.get("cacheDir") {
        Some(v) => resolve(&reader.string("cacheDir", v)?),
        None => root_dir.join(".cache/soda-gql/builder"),
    };
    // `artifact: 5` was ignored silently (the default path used).
    let artifact_path = match value.get("artifact") {
        None => cache_dir.join("artifact.json"),
        Some(artifact) => match (
            reader.check_static("artifact", artifact)?,
            artifact.get("path"),
        ) {
            (_, Some(v)) => resolve(&reader.string("artifact.path", v)?),
            (ConfigValue::Object(_), None) => cache_dir.join("artifact.json"),
            _ => {
                return Err(reader.invalid(
                    "artifact",
                    "must be an object: { path: \"./artifact.json\" }",
                ))
            }
        },
    };
    let graphql_system_aliases = match value.get("graphqlSystemAliases") {
        Some(v) => reader.strings("graphqlSystemAliases", v)?,
        None => DEFAULT_ALIASES.iter().map(|s| (*s).to_owned()).collect(),
    };
    let include_positions = include.iter().map(|g| written_at(text, g)).collect();
    let include = include.iter().map(|g| project_glob(&root_dir, g)).collect();
    let exclude = exclude.iter().map(|g| project_glob(&root_dir, g)).collect();
    Ok(Config {
        config_path: path.to_path_buf(),
        root_dir,
        outdir,
        include,
        include_positions,
        exclude,
        schemas,
        artifact_path,
        cache_dir,
        graphql_system_aliases,
    })
}

/// A config glob as the walk matches it: relative to the config directory,
/// `/`-separated, no leading `./`. A glob that reaches out of the directory
/// (`../shared/**/*.ts`, or an absolute path, as monorepos write them) keeps
/// the fewest `../` that name its literal base, so it matches the ids of the
/// files it finds (`../shared/a.ts`), as soda-gql writes them.
fn project_glob(root_dir: &Path, glob: &str) -> String {
    let glob = glob.replace('\\', "/");
    let trimmed = glob.trim_start_matches("./");
    if !(trimmed.starts_with("../") || trimmed.starts_with('/')) {
        return trimmed.to_owned();
    }
    let (base, pattern) = split_glob_base(trimmed);
    let base = normalize_path(&root_dir.join(base));
    let rel = relative_to(&normalize_path(root_dir), &base);
    match (rel.is_empty(), pattern.is_empty()) {
        (true, _) => pattern.to_owned(),
        (false, true) => rel,
        (false, false) => format!("{rel}/{pattern}"),
    }
}

/// The 1-based line and column (in characters) of `literal`'s first quoted
/// occurrence in the config text.
fn written_at(text: &str, literal: &str) -> Option<(u32, u32)> {
    let at = ['"', '\'', '`']
        .iter()
        .find_map(|q| text.find(&format!("{q}{literal}{q}")))?;
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..at].chars().count() as u32 + 1;
    Some((line, column))
}

/// A glob's literal leading directories and the rest:
/// `../shared/**/*.ts` → (`../shared`, `**/*.ts`).
pub fn split_glob_base(glob: &str) -> (&str, &str) {
    let is_pattern = |c: &str| c.contains(['*', '?', '[', '{']);
    let mut end = 0;
    let mut rest = glob;
    while let Some(at) = rest.find('/') {
        let component = &rest[..at];
        if is_pattern(component) {
            break;
        }
        end += at + 1;
        rest = &rest[at + 1..];
    }
    if end == 0 {
        // `/…` (absolute) keeps its root as the base.
        return match glob.strip_prefix('/') {
            Some(rest) => ("/", rest),
            None => ("", glob),
        };
    }
    (glob[..end].trim_end_matches('/'), &glob[end..])
}

/// `path` relative to `from` (both normalised, absolute or both relative),
/// `/`-separated, with `../` where it lies outside `from`.
fn relative_to(from: &Path, path: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = path.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// Lexically normalises `.` and `..` components (no file system access).
pub fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            // `..` cancels a name; above a relative start it stays, at the
            // root it is the root.
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Config {
    /// A stable hash of every option that changes analysis output; part of the
    /// persisted cache header.
    /// What the persisted state depends on: everything but where the
    /// artifact goes (a changed `--out` discarded the whole state; the
    /// artifact stamp names the path it vouches for, so a new path is
    /// written anyway).
    pub fn options_hash(&self) -> u64 {
        let analysis = Config {
            artifact_path: PathBuf::new(),
            ..self.clone()
        };
        let json = serde_json::to_string(&analysis).unwrap_or_default();
        xxhash_rust::xxh3::xxh3_64(json.as_bytes())
    }

    /// Path relative to the config directory with `/` separators (`../…`
    /// outside it).
    pub fn relative(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root_dir) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) if path.is_absolute() == self.root_dir.is_absolute() => {
                relative_to(&normalize_path(&self.root_dir), &normalize_path(path))
            }
            Err(_) => path.to_string_lossy().replace('\\', "/"),
        }
    }

    /// The directories outside the config directory that include globs
    /// reach into (`../shared` for `../shared/**/*.ts`), relative and
    /// absolute, outermost only: the walk lists them besides the config
    /// directory, the watcher watches them.
    pub fn outside_roots(&self) -> Vec<(String, PathBuf)> {
        let mut bases: Vec<&str> = self
            .include
            .iter()
            .filter(|g| g.starts_with("../"))
            .map(|g| split_glob_base(g).0)
            .collect();
        bases.sort_unstable();
        bases.dedup();
        let mut roots: Vec<(String, PathBuf)> = Vec::new();
        for base in bases {
            let nested = roots.iter().any(|(outer, _)| {
                base.strip_prefix(outer.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            });
            if !nested {
                roots.push((base.to_owned(), normalize_path(&self.root_dir.join(base))));
            }
        }
        roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_json_config_with_a_bom_is_read_and_a_non_object_artifact_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "soda-gql.config.json",
            "\u{feff}{\"outdir\": \"./gs\", \"schemas\": {\"default\": {\"schema\": \"./s.graphql\"}}}",
        );
        load_config(&path).expect("a BOM is accepted");
        let path = write(
            dir.path(),
            "soda-gql.config.json",
            "{\"outdir\": \"./gs\", \"schemas\": {\"default\": {\"schema\": \"./s.graphql\"}}, \"artifact\": 5}",
        );
        let err = load_config(&path).unwrap_err().to_string();
        assert!(err.contains("artifact"), "{err}");
    }

    #[test]
    fn reads_ts_config_ignoring_unused_dynamic_properties() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "soda-gql.config.ts",
            r#"import { defineConfig } from "@soda-gql/config";
export default defineConfig({
  outdir: "./graphql-system",
  include: ["./src/**/*.ts"],
  exclude: [`./src/**/*.test.ts`],
  plugins: [somePlugin()],
  schemas: { default: { schema: "./schema.graphql", inject: { scalars: path.join("x") } } },
} as const);
"#,
        );
        let config = load_config(&path).unwrap();
        assert_eq!(config.include, vec!["src/**/*.ts"]);
        assert_eq!(config.exclude, vec!["src/**/*.test.ts"]);
        assert_eq!(config.outdir, dir.path().join("graphql-system"));
        assert_eq!(
            config.schemas["default"].paths,
            vec![dir.path().join("schema.graphql")]
        );
        assert_eq!(
            config.artifact_path,
            dir.path().join(".cache/soda-gql/builder/artifact.json")
        );
        assert_eq!(config.graphql_system_aliases, vec!["@/graphql-system"]);
    }

    #[test]
    fn dynamic_needed_property_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "soda-gql.config.ts",
            "export default defineConfig({\n  outdir: process.env.OUT,\n  schemas: { default: { schema: \"./s.graphql\" } },\n});\n",
        );
        let err = load_config(&path).unwrap_err().to_string();
        assert!(err.contains("`outdir`"), "{err}");
        assert!(err.contains(":2:11"), "{err}");
        assert!(err.contains("soda-gql.config.json"), "{err}");
    }

    #[test]
    fn reads_json_config_with_schema_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "soda-gql.config.json",
            r#"{"outdir": "./gs", "schemas": {"default": {"schema": ["./a.graphql", "./b.graphql"]}}, "artifact": {"path": "out/artifact.json"}}"#,
        );
        let config = load_config(&path).unwrap();
        assert_eq!(config.schemas["default"].paths.len(), 2);
        assert_eq!(config.artifact_path, dir.path().join("out/artifact.json"));
    }

    #[test]
    fn missing_schemas_is_an_error_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "soda-gql.config.json", r#"{"outdir": "./gs"}"#);
        let err = load_config(&path).unwrap_err().to_string();
        assert!(err.contains("schemas"), "{err}");
    }

    #[test]
    fn find_config_searches_upward() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "soda-gql.config.json", "{}");
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(
            find_config(&nested).unwrap(),
            dir.path().join("soda-gql.config.json")
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            find_config(empty.path()),
            Err(ConfigError::NotFound { .. })
        ));
    }

    #[test]
    fn globs_outside_the_config_directory_keep_the_fewest_dot_dots() {
        let root = Path::new("/repo/packages/app");
        assert_eq!(project_glob(root, "./src/**/*.ts"), "src/**/*.ts");
        assert_eq!(project_glob(root, "../shared/**/*.ts"), "../shared/**/*.ts");
        assert_eq!(
            project_glob(root, "./../shared/x/../y/*.ts"),
            "../shared/y/*.ts"
        );
        assert_eq!(
            project_glob(root, "/repo/packages/shared/**/*.ts"),
            "../shared/**/*.ts"
        );
        assert_eq!(
            project_glob(root, "/repo/packages/app/src/*.ts"),
            "src/*.ts"
        );
        assert_eq!(project_glob(root, "../app/src/**"), "src/**");
        assert_eq!(
            project_glob(root, "/elsewhere/*.ts"),
            "../../../elsewhere/*.ts"
        );
        assert_eq!(split_glob_base("../a/b/**/c/*.ts"), ("../a/b", "**/c/*.ts"));
        assert_eq!(split_glob_base("**/*.ts"), ("", "**/*.ts"));
        assert_eq!(split_glob_base("src/{a,b}/*.ts"), ("src", "{a,b}/*.ts"));
    }

    #[test]
    fn negated_includes_exclude_and_outside_roots_are_outermost() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"export default {
  outdir: "./gs",
  include: ["./src/**/*.ts", "../shared/**/*.ts", "../shared/deep/*.ts", "../other/*.ts", "!./src/**/*.spec.ts"],
  schemas: { default: { schema: "./schema.graphql" } },
};"#;
        let path = write(dir.path(), "soda-gql.config.ts", text);
        let config = load_config(&path).unwrap();
        assert_eq!(
            config.include,
            vec![
                "src/**/*.ts",
                "../shared/**/*.ts",
                "../shared/deep/*.ts",
                "../other/*.ts"
            ]
        );
        assert_eq!(config.exclude, vec!["src/**/*.spec.ts"]);
        assert_eq!(config.include_positions[1], Some((3, 30)));
        let roots: Vec<String> = config.outside_roots().into_iter().map(|(r, _)| r).collect();
        assert_eq!(roots, vec!["../other", "../shared"]);
        let outside = dir.path().parent().unwrap().join("shared/a.ts");
        assert_eq!(config.relative(&outside), "../shared/a.ts");
    }
}
