//! Emission: one artifact element per valid definition, as JSON text with
//! sorted keys (the shape soda-gql's pre-built mode loads).

use serde_json::json;
use sha1::{Digest, Sha1};

use crate::analyze::Definition;
use crate::graphql::compile::CompiledOperation;

fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn operation_element(id: &str, def: &Definition, op: &CompiledOperation) -> String {
    let mut prebuild = json!({
        "operationType": op.operation_type,
        "operationName": op.name,
        "schemaLabel": def.schema_label,
        "variableNames": op.variable_names,
        "document": op.document,
        "documentText": op.text,
    });
    if let Some(metadata) = def
        .metadata_json
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
    {
        prebuild["metadata"] = metadata;
    }
    let element = json!({
        "id": id,
        "type": "operation",
        "metadata": { "sourcePath": def.location.file, "contentHash": sha1_hex(&op.text) },
        "prebuild": prebuild,
    });
    element.to_string()
}

/// `fragment_text` is the fragment's rendered GraphQL (for the content hash).
pub fn fragment_element(id: &str, def: &Definition, fragment_text: &str) -> String {
    let element = json!({
        "id": id,
        "type": "fragment",
        "metadata": { "sourcePath": def.location.file, "contentHash": sha1_hex(fragment_text) },
        "prebuild": {
            "typename": def.type_condition,
            "key": def.name,
            "schemaLabel": def.schema_label,
        },
    });
    element.to_string()
}
