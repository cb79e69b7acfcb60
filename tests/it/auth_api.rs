//! The optional bearer token: with `CONTAS_API_TOKEN` set, every operation
//! needs `Authorization: Bearer <token>`; refusals are the contract's 401.

use crate::common;

use common::app::{TestApp, TestResponse};
use common::db::fresh_pool;
use common::fixtures::*;
use contas::http::auth::ApiToken;
use contas::http::{AppState, router};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use std::process::Command;

const TOKEN: &str = "3f1d0c4bb6a04e2b9f7a1c5d8e2f4a6b";

async fn app() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    let state =
        AppState::with_clock(pool.clone(), now).with_api_token(ApiToken::new(TOKEN).unwrap());
    TestApp::spawn_router(router(state), pool).await
}

/// Every operation, with a body and headers it answers 200 to.
fn operations() -> Vec<(&'static str, Value, HeaderMap)> {
    let mut commons_headers = HeaderMap::new();
    commons_headers.insert("x-brand-id", BRAND.parse().unwrap());
    commons_headers.insert(
        "x-correlation-id",
        "97623ed1-4732-4bf2-8d4b-ae7aced5443b".parse().unwrap(),
    );
    let account = maria_account_body(MARIA_CHECKING);
    let discovery = json!({
        "consent": consent(MARIA, None, &["ACCOUNTS_READ"], vec![]),
        "requestMeta": request_meta(BRAND),
    });
    vec![
        ("/account-discovery", discovery, HeaderMap::new()),
        ("/accounts", maria_body(&[MARIA_CHECKING]), HeaderMap::new()),
        ("/find", account.clone(), HeaderMap::new()),
        ("/balances", account.clone(), HeaderMap::new()),
        ("/transactions", account.clone(), HeaderMap::new()),
        ("/transactions-current", account.clone(), HeaderMap::new()),
        ("/overdraft-limits", account, HeaderMap::new()),
        (
            "/check-account-holder",
            json!({"data": {"loggedUserDocument": MARIA}}),
            commons_headers,
        ),
    ]
}

async fn call(
    app: &TestApp,
    path: &str,
    body: &Value,
    mut headers: HeaderMap,
    authorization: Option<&str>,
) -> TestResponse {
    if let Some(authorization) = authorization {
        headers.insert(AUTHORIZATION, authorization.parse().unwrap());
    }
    app.send(
        Method::POST,
        path,
        headers,
        Some(body.to_string().into_bytes()),
        "application/json",
    )
    .await
}

fn assert_refused(response: &TestResponse, challenge: &str, context: &str) {
    assert_eq!(response.status, 401, "{context}: {}", response.body);
    assert_eq!(response.error_code(), "UNAUTHORIZED", "{context}");
    assert_eq!(
        response
            .headers
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap()),
        Some(challenge),
        "{context}"
    );
}

#[tokio::test]
async fn the_right_token_is_let_through() {
    let app = app().await;
    for (path, body, headers) in operations() {
        for authorization in [format!("Bearer {TOKEN}"), format!("bearer {TOKEN}")] {
            let response = call(&app, path, &body, headers.clone(), Some(&authorization)).await;
            assert_eq!(response.status, 200, "{path}: {}", response.body);
        }
    }
}

#[tokio::test]
async fn a_missing_token_or_another_scheme_is_refused() {
    let app = app().await;
    for (path, body, headers) in operations() {
        let response = call(&app, path, &body, headers.clone(), None).await;
        assert_refused(&response, "Bearer", path);
        for other_scheme in [format!("Basic {TOKEN}"), TOKEN.to_owned(), "Bearer".into()] {
            let response = call(&app, path, &body, headers.clone(), Some(&other_scheme)).await;
            assert_refused(&response, "Bearer", &format!("{path} {other_scheme}"));
        }
    }
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let app = app().await;
    let wrong = [
        format!("{}0", &TOKEN[1..]),
        TOKEN[..TOKEN.len() - 1].to_owned(),
        format!("{TOKEN}0"),
        TOKEN.to_uppercase(),
    ];
    for (path, body, headers) in operations() {
        for token in &wrong {
            let response = call(
                &app,
                path,
                &body,
                headers.clone(),
                Some(&format!("Bearer {token}")),
            )
            .await;
            assert_refused(&response, r#"Bearer error="invalid_token""#, path);
        }
    }
}

/// Orchestrators probe without secrets, and the contract is public.
#[tokio::test]
async fn probes_and_the_published_contract_need_no_token() {
    let app = app().await;
    for path in ["/health/live", "/health/ready", "/openapi/accounts.yaml"] {
        assert_eq!(app.get_outside_contract(path).await.0, 200, "{path}");
    }
}

#[test]
fn serve_refuses_a_short_token_without_echoing_it() {
    let short = "secret-but-short";
    let output = Command::new(env!("CARGO_BIN_EXE_contas"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("CONTAS_API_TOKEN", short)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("CONTAS_API_TOKEN is not usable")
            && stderr.contains("at least 32 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains(short), "{stderr}");
}
