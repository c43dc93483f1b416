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

pub struct LoadedSchema {
    pub schema: Valid<Schema>,
    /// xxh3 of the schema sources; part of every compile cache key.
    pub hash: u64,
}

pub struct SchemaSet {
    pub schemas: BTreeMap<String, LoadedSchema>,
}

impl SchemaSet {
    pub fn get(&self, label: &str) -> Option<&LoadedSchema> {
        self.schemas.get(label)
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
        let mut builder = Schema::builder();
        let mut all_text = String::new();
        for path in &schema_config.paths {
            let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Missing {
                label: label.clone(),
                path: path.clone(),
                source,
            })?;
            all_text.push_str(&text);
            all_text.push('\u{0}');
            builder = builder.parse(text, config.relative(path));
        }
        let schema =
            builder
                .build()
                .and_then(|s| s.validate())
                .map_err(|e| SchemaError::Invalid {
                    label: label.clone(),
                    message: e.errors.to_string(),
                })?;
        schemas.insert(
            label.clone(),
            LoadedSchema {
                schema,
                hash: xxhash_rust::xxh3::xxh3_64(all_text.as_bytes()),
            },
        );
    }
    Ok(SchemaSet { schemas })
}
