//! The bounds on what a request body may be: its size and how deeply its
//! JSON nests. Every refusal has the contract's 400/413 shape.

use crate::common;

use common::app::TestApp;
use common::contract::{Body, declared_paths};
use common::db::fresh_pool;
use common::fixtures::*;
use contas::http::extract::{MAX_BODY_BYTES, MAX_JSON_DEPTH};
use serde_json::json;

async fn app() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    TestApp::spawn(pool, now()).await
}

const OPERATIONS: [(&str, &str); 8] = [
    ("accounts.yaml", "/account-discovery"),
    ("accounts.yaml", "/accounts"),
    ("accounts.yaml", "/find"),
    ("accounts.yaml", "/balances"),
    ("accounts.yaml", "/transactions"),
    ("accounts.yaml", "/transactions-current"),
    ("accounts.yaml", "/overdraft-limits"),
    ("commons.yaml", "/check-account-holder"),
];

/// `depth` nested arrays around a number.
fn nested_arrays(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// `depth` nested objects, each holding the next under `"a"`.
fn nested_objects(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

async fn post_raw(app: &TestApp, path: &str, body: String) -> common::app::TestResponse {
    app.send(
        reqwest::Method::POST,
        path,
        Default::default(),
        Some(body.into_bytes()),
        "application/json",
    )
    .await
}

/// Measures the bound against the contract: every request body any revision
/// declares nests well inside it. A property path such as
/// `consent.resources[].resourceLegacyId[].key` has one segment per level.
#[test]
fn the_contracts_deepest_request_fits_the_depth_bound() {
    let deepest = ["accounts.yaml", "accounts-rev3.yaml"]
        .into_iter()
        .flat_map(|file| OPERATIONS[..7].iter().map(move |(_, path)| (file, *path)))
        .chain(
            ["commons.yaml", "commons-rev4.yaml"]
                .into_iter()
                .map(|file| (file, "/check-account-holder")),
        )
        .flat_map(|(file, path)| declared_paths(file, path, Body::Request))
        .map(|path| path.split('.').count() + path.matches("[]").count())
        .max()
        .unwrap();
    assert_eq!(deepest, 6, "the contract's deepest request changed");
    assert!(
        deepest * 4 < MAX_JSON_DEPTH,
        "{deepest} vs {MAX_JSON_DEPTH}"
    );
}

#[tokio::test]
async fn bodies_nested_past_the_bound_answer_400() {
    let app = app().await;
    for (_, path) in OPERATIONS {
        for body in [
            nested_arrays(MAX_JSON_DEPTH + 1),
            nested_objects(MAX_JSON_DEPTH + 1),
            // Far past serde_json's own recursion limit of 128.
            nested_arrays(100_000),
        ] {
            let response = post_raw(&app, path, body).await;
            assert_eq!(response.status, 400, "{path}");
            assert_eq!(response.error_code(), "MALFORMED_BODY", "{path}");
            let detail = response.body["errors"][0]["detail"].as_str().unwrap();
            assert!(detail.contains("deeper than 32 levels"), "{detail}");
        }
    }
}

#[tokio::test]
async fn bodies_at_the_bound_reach_the_schema_check() {
    let app = app().await;
    for (_, path) in OPERATIONS {
        for body in [
            nested_arrays(MAX_JSON_DEPTH),
            nested_objects(MAX_JSON_DEPTH),
        ] {
            let response = post_raw(&app, path, body).await;
            assert_eq!(response.status, 400, "{path}");
            assert_eq!(
                response.error_code(),
                "INVALID_PARAMETER",
                "{path}: parsed, then refused by the schema: {}",
                response.body
            );
        }
    }
    // Brackets inside strings are text, not nesting.
    let mut body = maria_account_body(MARIA_CHECKING);
    body["consent"]["tpp"]["name"] = json!("[{".repeat(MAX_JSON_DEPTH));
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn bodies_just_under_the_size_limit_are_read() {
    let app = app().await;
    let body = maria_account_body(MARIA_CHECKING).to_string();
    // Trailing whitespace is valid JSON: it fills the body to the byte.
    let padded = |len: usize| format!("{body}{}", " ".repeat(len - body.len()));
    let response = post_raw(&app, "/find", padded(MAX_BODY_BYTES)).await;
    assert_eq!(response.status, 200, "{}", response.body);

    let response = post_raw(&app, "/find", padded(MAX_BODY_BYTES + 1)).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");
}
