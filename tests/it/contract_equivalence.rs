//! `openapi/` is ours, written in our words, but must stay structurally equal
//! to the platform's published contract in `../shared/reference/opus/`:
//! paths, methods, bodies, statuses, schemas, properties, types, formats,
//! patterns, enums, required lists, limits and `additionalProperties`. Only
//! prose (descriptions, summaries, titles, examples, `info`) may differ, plus
//! the deliberate deviations allowed below.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Keys that hold prose, not structure.
const PROSE: [&str; 5] = ["description", "summary", "title", "example", "examples"];

/// Maps whose keys are names chosen by the contract (a property may well be
/// called `title`), so prose stripping must not touch their keys.
const NAME_MAPS: [&str; 8] = [
    "properties",
    "schemas",
    "responses",
    "parameters",
    "paths",
    "content",
    "headers",
    "requestBodies",
];

fn strip_prose(node: &Value, keys_are_names: bool) -> Value {
    match node {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| keys_are_names || !PROSE.contains(&key.as_str()))
                .map(|(key, value)| {
                    let child_names = !keys_are_names && NAME_MAPS.contains(&key.as_str());
                    (key.clone(), strip_prose(value, child_names))
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| strip_prose(item, false)).collect())
        }
        other => other.clone(),
    }
}

/// Every structural difference, as JSON-pointer-like paths.
fn differences(ours: &Value, reference: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match (ours, reference) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differences(x, y, &child, out),
                    (Some(_), None) => out.push((child, "only in ours".into())),
                    (None, Some(_)) => out.push((child, "missing from ours".into())),
                    (None, None) => unreachable!(),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}/{i}"), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push((path.to_owned(), format!("ours {a} ≠ reference {b}"))),
    }
}

fn load(path: &PathBuf) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut document: Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    document.as_object_mut().unwrap().remove("info");
    strip_prose(&document, false)
}

fn reference_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CONTAS_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/opus")
        });
    dir.is_dir().then_some(dir)
}

fn unexpected_differences(ours: &str, reference: &str, allowed: &[&str]) -> Option<Vec<String>> {
    let Some(dir) = reference_dir() else {
        println!(
            "skipped: the reference contract directory (../shared/reference/opus) is not here"
        );
        return None;
    };
    let ours = load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("openapi")
            .join(ours),
    );
    let reference = load(&dir.join(reference));
    let mut found = Vec::new();
    differences(&ours, &reference, "", &mut found);
    for allowance in allowed {
        assert!(
            found.iter().any(|(path, _)| path == allowance),
            "allow-list entry {allowance} no longer matches a difference: remove it"
        );
    }
    Some(
        found
            .into_iter()
            .filter(|(path, _)| !allowed.contains(&path.as_str()))
            .map(|(path, what)| format!("{path}: {what}"))
            .collect(),
    )
}

#[test]
fn accounts_contract_equals_the_reference() {
    let allowed = [
        // The reference's consent timestamp patterns end in a newline (a YAML
        // block scalar), which no value can match; ours end at `Z$`.
        "/components/schemas/ConsentDataSharing/properties/creationDateTime/pattern",
        "/components/schemas/ConsentDataSharing/properties/expirationDateTime/pattern",
        // `/transactions-current` also accepts revision 3.0.0's names for its bounds.
        "/components/schemas/RequestTransactionsCurrent/properties/fromBookingDate",
        "/components/schemas/RequestTransactionsCurrent/properties/toBookingDate",
    ];
    if let Some(unexpected) =
        unexpected_differences("accounts.yaml", "en-accounts-2-4-1.yml", &allowed)
    {
        assert!(
            unexpected.is_empty(),
            "openapi/accounts.yaml differs from the reference:\n{}",
            unexpected.join("\n")
        );
    }
}

#[test]
fn commons_contract_equals_the_reference() {
    if let Some(unexpected) =
        unexpected_differences("commons.yaml", "en-opus-commons-1-0-0.yml", &[])
    {
        assert!(
            unexpected.is_empty(),
            "openapi/commons.yaml differs from the reference:\n{}",
            unexpected.join("\n")
        );
    }
}

#[test]
fn accounts_rev3_contract_equals_the_reference() {
    let allowed = [
        // The reference's consent timestamp patterns end in a space after
        // `Z$`, which no value can match; ours end at `Z$`.
        "/components/schemas/ConsentDataSharing/properties/creationDateTime/pattern",
        "/components/schemas/ConsentDataSharing/properties/expirationDateTime/pattern",
        // `/transactions-current` also accepts revision 2.4.1's names for its bounds.
        "/components/schemas/RequestTransactionsCurrent/properties/fromBookingDateMaxLimited",
        "/components/schemas/RequestTransactionsCurrent/properties/toBookingDateMaxLimited",
    ];
    if let Some(unexpected) = unexpected_differences(
        "accounts-rev3.yaml",
        "en-accounts-2-4-1.rev-3.0.0.yml",
        &allowed,
    ) {
        assert!(
            unexpected.is_empty(),
            "openapi/accounts-rev3.yaml differs from the reference:\n{}",
            unexpected.join("\n")
        );
    }
}

#[test]
fn commons_rev4_contract_equals_the_reference() {
    // No deliberate deviations.
    if let Some(unexpected) = unexpected_differences(
        "commons-rev4.yaml",
        "en-opusCommons-1-0-0.rev-4.0.0-rc.3.yml",
        &[],
    ) {
        assert!(
            unexpected.is_empty(),
            "openapi/commons-rev4.yaml differs from the reference:\n{}",
            unexpected.join("\n")
        );
    }
}

#[test]
fn the_comparison_sees_structural_changes_and_ignores_prose() {
    let reference: Value = serde_json::json!({
        "components": {"schemas": {"Error": {
            "type": "object", "description": "x", "required": ["code", "title"],
            "properties": {"title": {"type": "string", "maxLength": 255, "example": "t"}}
        }}}
    });
    let mut ours = reference.clone();
    ours["components"]["schemas"]["Error"]["description"] = "other words".into();
    ours["components"]["schemas"]["Error"]["properties"]["title"]["example"] = "u".into();
    let mut found = Vec::new();
    differences(
        &strip_prose(&ours, false),
        &strip_prose(&reference, false),
        "",
        &mut found,
    );
    assert!(found.is_empty(), "{found:?}");

    // A property named `title` is structure, not prose.
    ours["components"]["schemas"]["Error"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("title");
    ours["components"]["schemas"]["Error"]["required"] = serde_json::json!(["code"]);
    let mut found = Vec::new();
    differences(
        &strip_prose(&ours, false),
        &strip_prose(&reference, false),
        "",
        &mut found,
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/components/schemas/Error/properties/title",
            "/components/schemas/Error/required"
        ]
    );
}
