//! Every refusal has the contract's error body and a JSON content type
//! (the harness validates each one against `openapi/`).

use crate::common;

use common::app::TestApp;
use common::db::{fresh_pool, take_database_away};
use common::fixtures::*;
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap};
use serde_json::{Value, json};

const OPERATIONS: [&str; 8] = [
    "/account-discovery",
    "/accounts",
    "/find",
    "/balances",
    "/transactions",
    "/transactions-current",
    "/overdraft-limits",
    "/check-account-holder",
];

async fn app() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    TestApp::spawn(pool, now()).await
}

fn is_json_error(response: &common::app::TestResponse) {
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert!(
        response.body["errors"][0]["detail"].is_string(),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn unknown_paths_answer_404() {
    let app = app().await;
    let response = app.post("/nope", &json!({})).await;
    assert_eq!(response.status, 404);
    is_json_error(&response);
    assert!(response.body["meta"]["requestDateTime"].is_string());
}

#[tokio::test]
async fn other_methods_answer_405() {
    let app = app().await;
    for path in OPERATIONS {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let response = app
                .send(
                    method.clone(),
                    path,
                    HeaderMap::new(),
                    None,
                    "application/json",
                )
                .await;
            assert_eq!(response.status, 405, "{method} {path}");
            is_json_error(&response);
        }
    }
}

#[tokio::test]
async fn unacceptable_accept_answers_406() {
    let app = app().await;
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, "text/html".parse().unwrap());
    for path in OPERATIONS {
        let body = maria_account_body(MARIA_CHECKING).to_string().into_bytes();
        let response = app
            .send(
                Method::POST,
                path,
                headers.clone(),
                Some(body),
                "application/json",
            )
            .await;
        assert_eq!(response.status, 406, "{path}");
        is_json_error(&response);
    }
}

#[tokio::test]
async fn malformed_bodies_answer_400() {
    let app = app().await;
    for path in OPERATIONS {
        for body in [&b"{"[..], b"", b"not json", b"{\"consent\": }", b"\xff\xfe"] {
            let response = app
                .send(
                    Method::POST,
                    path,
                    HeaderMap::new(),
                    Some(body.to_vec()),
                    "application/json",
                )
                .await;
            assert_eq!(
                response.status,
                400,
                "{path} {:?}",
                String::from_utf8_lossy(body)
            );
            is_json_error(&response);
        }
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_answer_415() {
    let app = app().await;
    for path in OPERATIONS {
        let body = maria_account_body(MARIA_CHECKING).to_string().into_bytes();
        let response = app
            .send(
                Method::POST,
                path,
                HeaderMap::new(),
                Some(body),
                "text/plain",
            )
            .await;
        assert_eq!(response.status, 415, "{path}");
        is_json_error(&response);
    }
}

#[tokio::test]
async fn oversized_bodies_answer_413() {
    let app = app().await;
    let mut body = maria_account_body(MARIA_CHECKING);
    body["padding"] = json!("x".repeat(2 * 1024 * 1024));
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 413);
    is_json_error(&response);
}

/// Bodies that break the contract, each with the field the error must name.
fn invalid_bodies() -> Vec<(Value, &'static str)> {
    let base = maria_account_body(MARIA_CHECKING);
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = base.clone();
        edit(&mut body);
        body
    };
    vec![
        (
            with(&|b| b["consent"]["unknown"] = json!(1)),
            "unknown field `unknown`",
        ),
        (
            with(&|b| b["requestMeta"]["unknown"] = json!(1)),
            "unknown field `unknown`",
        ),
        (
            with(&|b| b["consent"]["tpp"]["extra"] = json!(1)),
            "consent.tpp",
        ),
        (
            with(&|b| b["consent"]["resources"][0]["extra"] = json!(1)),
            "consent.resources[0]",
        ),
        (
            with(&|b| b["accountId"][0]["extra"] = json!(1)),
            "accountId[0]",
        ),
        (with(&|b| b["accountId"] = json!([])), "accountId"),
        (
            with(&|b| b["consent"]["loggedUser"]["document"]["identification"] = json!("1234")),
            "identification",
        ),
        (
            with(&|b| b["consent"]["loggedUser"]["document"]["rel"] = json!("cpf")),
            "rel",
        ),
        (
            with(&|b| {
                b["consent"]["businessDocumentType"] =
                    json!({"document": {"identification": "1", "rel": "CNPJ"}})
            }),
            "businessDocumentType",
        ),
        (
            with(&|b| b["consent"]["permissions"] = json!([])),
            "consent.permissions",
        ),
        (
            with(&|b| b["consent"]["permissions"] = json!(["ACCOUNTS_WRITE"])),
            "consent.permissions[0]",
        ),
        (
            with(&|b| b["consent"]["resources"][0]["type"] = json!("HOUSE")),
            "consent.resources[0].type",
        ),
        (
            with(&|b| b["consent"]["creationDateTime"] = json!("yesterday")),
            "consent.creationDateTime",
        ),
        (
            with(&|b| b["consent"]["brandId"] = json!("")),
            "consent.brandId",
        ),
        (
            with(&|b| b["requestMeta"]["correlationId"] = json!("abc")),
            "requestMeta.correlationId",
        ),
        (
            with(&|b| b["requestMeta"]["brandId"] = json!("b".repeat(51))),
            "requestMeta.brandId",
        ),
        (
            with(&|b| {
                b.as_object_mut()
                    .unwrap()
                    .remove("requestMeta")
                    .map(drop)
                    .unwrap_or(())
            }),
            "requestMeta",
        ),
        (
            with(&|b| {
                b.as_object_mut()
                    .unwrap()
                    .remove("accountId")
                    .map(drop)
                    .unwrap_or(())
            }),
            "accountId",
        ),
        (
            with(&|b| b["consent"]["loggedUser"] = json!(null)),
            "consent.loggedUser",
        ),
    ]
}

#[tokio::test]
async fn contract_violations_answer_400_naming_the_field() {
    let app = app().await;
    for (body, field) in invalid_bodies() {
        for path in [
            "/find",
            "/balances",
            "/transactions",
            "/transactions-current",
            "/overdraft-limits",
        ] {
            let response = app.post(path, &body).await;
            assert_eq!(response.status, 400, "{path} {field}: {}", response.body);
            let detail = response.body["errors"][0]["detail"].as_str().unwrap();
            assert!(
                detail.contains(field),
                "{path}: {detail:?} should name {field}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_top_level_fields_are_allowed_where_the_contract_allows_them() {
    let app = app().await;
    let mut body = maria_account_body(MARIA_CHECKING);
    body["somethingNew"] = json!(true);
    assert_eq!(app.post("/find", &body).await.status, 200);
}

#[tokio::test]
async fn a_database_failure_answers_5xx_without_internals() {
    let app = app().await;
    // Serve once so the service holds open connections, then take the
    // database away: its connections are killed and new ones refused.
    assert_eq!(
        app.post("/find", &maria_account_body(MARIA_CHECKING))
            .await
            .status,
        200
    );
    take_database_away(&app.pool).await;
    for path in [
        "/account-discovery",
        "/accounts",
        "/find",
        "/balances",
        "/transactions",
    ] {
        let response = app.post(path, &maria_account_body(MARIA_CHECKING)).await;
        assert!(response.status >= 500, "{path}: {}", response.status);
        is_json_error(&response);
        let text = response.body.to_string().to_lowercase();
        assert!(
            !text.contains("pool") && !text.contains("sqlx") && !text.contains("postgres"),
            "{text}"
        );
    }
}

/// PostgreSQL's text cannot hold U+0000: a legacy id carrying a control
/// character is a bad request, never a database error.
#[tokio::test]
async fn a_control_character_in_a_legacy_id_answers_400() {
    let app = app().await;
    for path in ["/find", "/balances", "/transactions"] {
        let mut body = maria_account_body(MARIA_CHECKING);
        body["accountId"][1]["value"] = json!("1000\u{0}001");
        let response = app.post(path, &body).await;
        assert_eq!(response.status, 400, "{path}: {}", response.body);
        is_json_error(&response);
        let mut body = maria_body(&[MARIA_CHECKING]);
        body["consent"]["resources"][0]["resourceLegacyId"][0]["key"] = json!("bra\nch");
        body["accountId"] = account_id(MARIA_CHECKING);
        let response = app.post(path, &body).await;
        assert_eq!(response.status, 400, "{path}: {}", response.body);
    }
}
