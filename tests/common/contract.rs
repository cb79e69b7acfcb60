//! Validates responses against the project's own contract in `openapi/`.
//!
//! OpenAPI 3.0 schemas are (almost) JSON Schema draft 4: the component
//! schemas become `definitions`, `$ref`s are rewritten to point there, and
//! `nullable: true` becomes a `null` alternative of `type`.

use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

struct Document {
    spec: Value,
    definitions: Value,
}

fn load(file: &str) -> Document {
    let path = format!("{}/openapi/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let spec: Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    let mut definitions = spec["components"]["schemas"].clone();
    to_json_schema(&mut definitions);
    Document { spec, definitions }
}

fn to_json_schema(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = reference.replace("#/components/schemas/", "#/definitions/");
            }
            if map.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(kind)) = map.get("type").cloned()
            {
                map.insert("type".into(), json!([kind, "null"]));
            }
            map.values_mut().for_each(to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

static ACCOUNTS: LazyLock<Document> = LazyLock::new(|| load("accounts.yaml"));
static COMMONS: LazyLock<Document> = LazyLock::new(|| load("commons.yaml"));
/// The declared content types of a response, and its compiled schema.
type Declared = (Vec<String>, Arc<jsonschema::Validator>);
static VALIDATORS: LazyLock<Mutex<HashMap<String, Declared>>> = LazyLock::new(Default::default);

fn document_of(path: &str) -> &'static Document {
    if path == "/check-account-holder" {
        &COMMONS
    } else {
        &ACCOUNTS
    }
}

/// The content types and schema the contract declares for `status` of
/// `POST path`. Paths the contract does not have answer with the Accounts
/// API's generic error body.
fn declared(path: &str, status: u16) -> (Vec<String>, Value) {
    let document = document_of(path);
    let Some(operation) = document.spec["paths"].get(path).map(|p| &p["post"]) else {
        return (
            vec!["application/json; charset=utf-8".into()],
            json!({"$ref": "#/definitions/ResponseErrorMetaSingle"}),
        );
    };
    let responses = &operation["responses"];
    let mut response = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| {
            panic!("{path}: the contract declares no response {status} and no default")
        })
        .clone();
    if let Some(Value::String(reference)) = response.get("$ref") {
        let name = reference.trim_start_matches("#/components/responses/");
        response = document.spec["components"]["responses"][name].clone();
    }
    let content = response["content"]
        .as_object()
        .expect("response content")
        .clone();
    let types = content.keys().cloned().collect();
    let mut schema = content.values().next().expect("one content type")["schema"].clone();
    to_json_schema(&mut schema);
    (types, schema)
}

fn validator(path: &str, status: u16) -> Declared {
    let key = format!("{path} {status}");
    let mut cache = VALIDATORS.lock().unwrap();
    cache
        .entry(key)
        .or_insert_with(|| {
            let (types, schema) = declared(path, status);
            let mut root = Map::new();
            root.insert("definitions".into(), document_of(path).definitions.clone());
            root.insert("allOf".into(), json!([schema]));
            let compiled = jsonschema::draft4::options()
                .should_validate_formats(true)
                .build(&Value::Object(root))
                .unwrap_or_else(|e| panic!("compiling the schema of {path} {status}: {e}"));
            (types, Arc::new(compiled))
        })
        .clone()
}

fn normalize_media_type(text: &str) -> String {
    text.split(';')
        .map(|part| part.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(";")
}

/// Panics unless `body`, answered with `status` and `content_type` to
/// `POST path`, is what the contract declares.
pub fn assert_conforms(path: &str, status: u16, content_type: Option<&str>, body: &Value) {
    let (types, validator) = validator(path, status);
    let content_type =
        content_type.unwrap_or_else(|| panic!("{path} {status}: no Content-Type; body {body}"));
    assert!(
        types
            .iter()
            .any(|t| normalize_media_type(t) == normalize_media_type(content_type)),
        "{path} {status}: Content-Type {content_type:?} is not one of {types:?}"
    );
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{path} {status}: response breaks the contract:\n{}\nbody: {body:#}",
        errors.join("\n")
    );
}

/// Which body of an operation to walk.
#[derive(Clone, Copy)]
pub enum Body {
    Request,
    /// The 200 response.
    Ok,
}

/// Every property path an operation's body declares in `file` (e.g.
/// `data[].transactionAmount.amount`), following `$ref`s.
pub fn declared_paths(file: &str, path: &str, body: Body) -> BTreeSet<String> {
    let spec = &load(file).spec;
    let operation = &spec["paths"][path]["post"];
    let mut schema = match body {
        Body::Request => operation["requestBody"]["content"]["application/json"]["schema"].clone(),
        Body::Ok => {
            let mut response = operation["responses"]["200"].clone();
            if let Some(Value::String(reference)) = response.get("$ref") {
                let name = reference.trim_start_matches("#/components/responses/");
                response = spec["components"]["responses"][name].clone();
            }
            response["content"]["application/json"]["schema"].clone()
        }
    };
    let mut out = BTreeSet::new();
    walk_schema(spec, &mut schema, "", &mut out, 0);
    out
}

fn walk_schema(
    spec: &Value,
    schema: &mut Value,
    prefix: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    assert!(depth < 32, "recursive schema at {prefix}");
    if let Some(Value::String(reference)) = schema.get("$ref") {
        let name = reference.trim_start_matches("#/components/schemas/");
        *schema = spec["components"]["schemas"][name].clone();
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object).cloned() {
        for (name, mut property) in properties {
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            out.insert(path.clone());
            walk_schema(spec, &mut property, &path, out, depth + 1);
        }
    }
    if let Some(mut items) = schema.get("items").cloned() {
        walk_schema(spec, &mut items, &format!("{prefix}[]"), out, depth + 1);
    }
}

/// Every property path present in a JSON document, in the same notation.
pub fn present_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (name, child) in map {
                    let path = if prefix.is_empty() {
                        name.clone()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    out.insert(path.clone());
                    walk(child, &path, out);
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|item| walk(item, &format!("{prefix}[]"), out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}
