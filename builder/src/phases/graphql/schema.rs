//! Loads every configured schema once per build.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apollo_compiler::validation::Valid;
use apollo_compiler::Schema;
use thiserror::Error;

use crate::config::Config;

#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("schema `{label}`: cannot read {path} (fix `schemas.{label}.schema` in the config)")]
    Missing {
        label: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("schema `{label}` is invalid:\n{message}")]
    Invalid { label: String, message: String },
}

/// One schema: its sources are read and hashed at load; parsing and
/// validation happen once, on first use (a warm build that compiles nothing
/// never pays for them — its state was built from a schema with this hash,
/// which was valid then).
pub struct LoadedSchema {
    label: String,
    sources: Vec<(String, String)>,
    parsed: std::sync::OnceLock<Result<Valid<Schema>, String>>,
    /// xxh3 of the schema sources; part of every compile cache key.
    pub hash: u64,
}

impl LoadedSchema {
    /// The parsed and validated schema.
    pub fn schema(&self) -> Result<&Valid<Schema>, SchemaError> {
        self.parsed
            .get_or_init(|| {
                let mut builder = Schema::builder();
                for (path, text) in &self.sources {
                    builder = builder.parse(text.as_str(), path.as_str());
                }
                builder
                    .build()
                    .and_then(|s| s.validate())
                    .map_err(|e| summarize(&e.errors))
            })
            .as_ref()
            .map_err(|message| SchemaError::Invalid {
                label: self.label.clone(),
                message: message.clone(),
            })
    }
}

/// Schema errors printed in full; the rest are counted.
const SCHEMA_ERRORS_SHOWN: usize = 10;

/// The first [`SCHEMA_ERRORS_SHOWN`] errors, one line each
/// (`file:line:col: message`), then a count of the rest. apollo's own
/// rendering prints a source excerpt per error: an invalid 76 KB schema
/// printed 127,248 lines (194 MB) in 8–11 s.
fn summarize(errors: &apollo_compiler::validation::DiagnosticList) -> String {
    use apollo_compiler::diagnostic::ToCliReport as _;
    let mut lines: Vec<String> = errors
        .iter()
        .take(SCHEMA_ERRORS_SHOWN)
        .map(|d| {
            let file = d
                .error
                .location()
                .and_then(|l| d.sources.get(&l.file_id()))
                .map(|f| f.path().display().to_string())
                .unwrap_or_else(|| "schema".into());
            let at = d
                .line_column_range()
                .map(|r| format!("{}:{}", r.start.line, r.start.column))
                .unwrap_or_else(|| "1:1".into());
            let message: String = d.error.to_string().chars().take(300).collect();
            format!("  {file}:{at}: {message}")
        })
        .collect();
    let rest = errors.len().saturating_sub(SCHEMA_ERRORS_SHOWN);
    if rest > 0 {
        lines.push(format!(
            "  ... and {rest} more error(s); fix the first ones, the rest often follow"
        ));
    }
    lines.join("\n")
}

pub struct SchemaSet {
    pub schemas: BTreeMap<String, LoadedSchema>,
}

impl SchemaSet {
    pub fn get(&self, label: &str) -> Option<&LoadedSchema> {
        self.schemas.get(label)
    }

    /// Parses and validates every schema now (a cold build reports a broken
    /// schema up front, as a setup error).
    pub fn validate_all(&self) -> Result<(), SchemaError> {
        for schema in self.schemas.values() {
            schema.schema()?;
        }
        Ok(())
    }

    /// One hash over every schema, for the persisted cache header.
    pub fn combined_hash(&self) -> u64 {
        let mut text = String::new();
        for (label, s) in &self.schemas {
            text.push_str(&format!("{label}:{:016x};", s.hash));
        }
        xxhash_rust::xxh3::xxh3_64(text.as_bytes())
    }
}

pub fn load_schemas(config: &Config) -> Result<SchemaSet, SchemaError> {
    let mut schemas = BTreeMap::new();
    for (label, schema_config) in &config.schemas {
        let mut sources = Vec::new();
        let mut all_text = String::new();
        for path in &schema_config.paths {
            let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Missing {
                label: label.clone(),
                path: path.clone(),
                source,
            })?;
            all_text.push_str(&text);
            all_text.push('\u{0}');
            sources.push((config.relative(path), text));
        }
        schemas.insert(
            label.clone(),
            LoadedSchema {
                label: label.clone(),
                sources,
                parsed: std::sync::OnceLock::new(),
                hash: xxhash_rust::xxh3::xxh3_64(all_text.as_bytes()),
            },
        );
    }
    Ok(SchemaSet { schemas })
}
