//! `/check-account-holder` in both commons revisions.

use crate::common;

use common::app::TestApp;
use common::db::fresh_pool;
use common::fixtures::*;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

async fn bank() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    TestApp::spawn(pool, now()).await
}

const CORRELATION: &str = "97623ed1-4732-4bf2-8d4b-ae7aced5443b";

fn headers(brand: Option<&str>, correlation: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(brand) = brand {
        headers.insert("x-brand-id", brand.parse().unwrap());
    }
    if let Some(correlation) = correlation {
        headers.insert("x-correlation-id", correlation.parse().unwrap());
    }
    headers
}

async fn check(app: &TestApp, headers: HeaderMap, body: Value) -> common::app::TestResponse {
    app.check_account_holder_with(headers, &body).await
}

#[tokio::test]
async fn revision_1_answers_for_the_cpf_or_the_cnpj() {
    let app = bank().await;
    let cases = [
        (json!({"data": {"loggedUserDocument": MARIA}}), BRAND, true),
        (json!({"data": {"loggedUserDocument": PEDRO}}), BRAND, false),
        (
            json!({"data": {"loggedUserDocument": "00000000000"}}),
            BRAND,
            false,
        ),
        // With a CNPJ the company is asked about, not the person.
        (
            json!({"data": {"loggedUserDocument": PEDRO, "businessEntityDocument": COMPANY}}),
            BRAND,
            true,
        ),
        (
            json!({"data": {"loggedUserDocument": MARIA, "businessEntityDocument": "99999999000199"}}),
            BRAND,
            false,
        ),
        // João holds accounts only in this brand.
        (
            json!({"data": {"loggedUserDocument": JOAO}}),
            OTHER_BRAND,
            false,
        ),
        (
            json!({"data": {"loggedUserDocument": MARIA}}),
            OTHER_BRAND,
            true,
        ),
    ];
    for (body, brand, expected) in cases {
        let response = check(&app, headers(Some(brand), Some(CORRELATION)), body.clone()).await;
        assert_eq!(response.status, 200, "{body}: {}", response.body);
        assert_eq!(
            response.body,
            json!({"data": {"isAccountHolder": expected}}),
            "{brand} {body}"
        );
    }
}

/// Imports the fixture bank's checking account `number` again, with
/// `holders` and `status`.
async fn restate(app: &TestApp, number: &str, holders: &[&str], status: &str) {
    let subtype = if holders.len() > 1 {
        "CONJUNTA_SOLIDARIA"
    } else {
        "INDIVIDUAL"
    };
    let record = account(
        number,
        "CONTA_DEPOSITO_A_VISTA",
        subtype,
        holders,
        status,
        BRAND,
    );
    contas::import::import_reader(&app.pool, record.as_bytes(), false)
        .await
        .expect("the account's new status imports");
}

#[tokio::test]
async fn customers_whose_accounts_are_all_closed_long_ago_hold_none() {
    let app = bank().await;
    restate(&app, JOAO_CHECKING, &[JOAO], "UNAVAILABLE").await;
    restate(&app, JOINT, &[MARIA, JOAO], "TEMPORARILY_UNAVAILABLE").await;
    let response = check(
        &app,
        headers(Some(BRAND), Some(CORRELATION)),
        json!({"data": {"loggedUserDocument": JOAO}}),
    )
    .await;
    // The blocked joint account still counts; the closed one alone would not.
    assert_eq!(response.body["data"]["isAccountHolder"], true);
    restate(&app, JOINT, &[MARIA, JOAO], "UNAVAILABLE").await;
    let response = check(
        &app,
        headers(Some(BRAND), Some(CORRELATION)),
        json!({"data": {"loggedUserDocument": JOAO}}),
    )
    .await;
    assert_eq!(response.body["data"]["isAccountHolder"], false);
}

#[tokio::test]
async fn revision_4_takes_brand_and_correlation_from_the_body() {
    let app = bank().await;
    let body = json!({
        "requestBody": {"data": {"loggedUserDocument": PEDRO, "businessEntityDocument": COMPANY}},
        "requestMeta": {"correlationId": CORRELATION, "brandId": BRAND},
    });
    let response = check(&app, HeaderMap::new(), body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["data"]["isAccountHolder"], true);

    let body = json!({
        "requestBody": {"data": {"loggedUserDocument": MARIA}},
        "requestMeta": {"correlationId": CORRELATION, "brandId": BRAND, "extra": 1},
    });
    assert_eq!(check(&app, HeaderMap::new(), body).await.status, 400);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let app = bank().await;
    let valid = json!({"data": {"loggedUserDocument": MARIA}});
    let cases = [
        (headers(None, Some(CORRELATION)), valid.clone()),
        (headers(Some(BRAND), None), valid.clone()),
        (headers(Some(BRAND), Some("not-a-uuid")), valid.clone()),
        (headers(Some(""), Some(CORRELATION)), valid.clone()),
        (
            headers(Some(BRAND), Some(CORRELATION)),
            json!({"data": {"loggedUserDocument": "5299822472"}}),
        ),
        (
            headers(Some(BRAND), Some(CORRELATION)),
            json!({"data": {"loggedUserDocument": MARIA, "businessEntityDocument": "123"}}),
        ),
        // Revision 4's brand, with a character PostgreSQL text cannot hold
        // (found by contract-tests/: it used to answer 500).
        (
            HeaderMap::new(),
            json!({
                "requestBody": {"data": {"loggedUserDocument": MARIA}},
                "requestMeta": {"correlationId": CORRELATION, "brandId": format!("{BRAND}\u{0}")},
            }),
        ),
        (headers(Some(BRAND), Some(CORRELATION)), json!({"data": {}})),
        (headers(Some(BRAND), Some(CORRELATION)), json!({})),
        (headers(Some(BRAND), Some(CORRELATION)), json!([1, 2])),
    ];
    for (headers, body) in cases {
        let response = check(&app, headers.clone(), body.clone()).await;
        assert_eq!(
            response.status, 400,
            "{headers:?} {body}: {}",
            response.body
        );
    }
}
