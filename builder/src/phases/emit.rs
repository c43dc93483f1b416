//! Emission: one artifact element per valid definition, as JSON text with
//! sorted keys (the shape soda-gql's pre-built mode loads).

use serde_json::json;
use sha1::{Digest, Sha1};

use crate::phases::analyze::Definition;
use crate::phases::graphql::compile::CompiledOperation;

fn sha1_hex(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The element of a valid operation. Written field by field, keys in the
/// sorted order a `serde_json` map gives them, so the operation's document
/// JSON (already text) is copied in, not rebuilt as a value and re-encoded.
pub fn operation_element(id: &str, def: &Definition, op: &CompiledOperation) -> String {
    let metadata = op
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok());
    let mut out = String::with_capacity(op.document.len() + 2 * op.text.len() + 256);
    out.push_str(r#"{"id":"#);
    push_json(&mut out, id);
    out.push_str(r#","metadata":{"contentHash":"#);
    push_json(&mut out, &sha1_hex(&op.text));
    out.push_str(r#","sourcePath":"#);
    push_json(&mut out, &def.location.file);
    out.push_str(r#"},"prebuild":{"document":"#);
    out.push_str(&op.document);
    out.push_str(r#","documentText":"#);
    push_json(&mut out, &op.text);
    if let Some(metadata) = &metadata {
        out.push_str(r#","metadata":"#);
        push_json(&mut out, metadata);
    }
    out.push_str(r#","operationName":"#);
    push_json(&mut out, &op.name);
    out.push_str(r#","operationType":"#);
    push_json(&mut out, op.operation_type);
    out.push_str(r#","schemaLabel":"#);
    push_json(&mut out, &def.schema_label);
    out.push_str(r#","variableNames":"#);
    push_json(&mut out, &op.variable_names);
    out.push_str(r#"},"type":"operation"}"#);
    out
}

/// Whether an element is an operation's. Its keys are sorted, so `type`
/// comes last: one look at the end, not a search through the document.
pub fn is_operation_element(element: &str) -> bool {
    element.ends_with(r#","type":"operation"}"#)
}

fn push_json<T: serde::Serialize + ?Sized>(out: &mut String, value: &T) {
    // Strings, string lists and parsed JSON values always serialize.
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Location;
    use crate::phases::analyze::DefinitionKind;

    // The `json!` builder `operation_element` replaced: the oracle its bytes
    // are checked against.
    fn oracle_operation_element(id: &str, def: &Definition, op: &CompiledOperation) -> String {
        let mut prebuild = json!({
            "operationType": op.operation_type,
            "operationName": op.name,
            "schemaLabel": def.schema_label,
            "variableNames": op.variable_names,
            "document": serde_json::from_str::<serde_json::Value>(&op.document).expect("document json"),
            "documentText": op.text,
        });
        if let Some(metadata) = op
            .metadata
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

    #[test]
    fn operation_element_matches_the_serde_json_builder() {
        let op = CompiledOperation {
            operation_type: "query",
            name: "GetUser".into(),
            variable_names: vec!["id".into(), "q\"uote".into()],
            document: r#"{"definitions":[],"kind":"Document"}"#.into(),
            text: "query GetUser($id: ID!) {\n  user(id: $id) { name(x: \"a\\\\b\") }\n}".into(),
            metadata: None,
        };
        for metadata in [
            None,
            Some(r#"{"b":1,"a":[true,null,"x"]}"#),
            Some("not json"),
        ] {
            let op = CompiledOperation {
                metadata: metadata.map(str::to_owned),
                ..op.clone()
            };
            let location = Location {
                file: "src/a \"b\".ts".into(),
                line: 1,
                column: 1,
            };
            let def = Definition {
                ast_path: "getUser".into(),
                binding: Some("getUser".into()),
                schema_label: "default".into(),
                kind: DefinitionKind::Query,
                name: "GetUser".into(),
                type_condition: None,
                parts: Vec::new(),
                interpolations: Vec::new(),
                metadata_json: metadata.map(str::to_owned),
                metadata_callback: None,
                form: Default::default(),
                location: location.clone(),
                label_location: location.clone(),
                name_location: location,
                first_line: 1,
                lines: Vec::new(),
            };
            assert_eq!(
                operation_element("src/a.ts::GetUser", &def, &op),
                oracle_operation_element("src/a.ts::GetUser", &def, &op)
            );
            assert!(is_operation_element(&operation_element("x", &def, &op)));
            let fragment = Definition {
                kind: DefinitionKind::Fragment,
                type_condition: Some("User".into()),
                ..def
            };
            // A fragment whose text mentions an operation's type key is still a fragment.
            assert!(!is_operation_element(&fragment_element(
                "x",
                &fragment,
                r#"{ "type":"operation" }"#
            )));
        }
    }
}
