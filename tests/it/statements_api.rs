//! `/transactions` and `/transactions-current`: windows, order, pages.

use crate::common;

use common::app::{TestApp, TestResponse};
use common::db::fresh_pool;
use common::fixtures::*;
use serde_json::{Value, json};

async fn bank() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    TestApp::spawn(pool, now()).await
}

fn ids(response: &TestResponse) -> Vec<String> {
    response.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {}", response.body))
        .iter()
        .map(|t| t["transactionId"][0]["value"].as_str().unwrap().to_owned())
        .collect()
}

fn statement_body(from: Option<&str>, to: Option<&str>) -> Value {
    let mut body = maria_account_body(MARIA_CHECKING);
    if let Some(from) = from {
        body["fromBookingDate"] = json!(from);
    }
    if let Some(to) = to {
        body["toBookingDate"] = json!(to);
    }
    body
}

/// The whole 12-months-each-way window of the pinned today (2026-11-20).
const FULL: (&str, &str) = ("2025-11-20", "2027-11-20");

#[tokio::test]
async fn without_dates_the_statement_is_todays() {
    let app = bank().await;
    for path in ["/transactions", "/transactions-current"] {
        let response = app.post(path, &statement_body(None, None)).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        let mut today = ids(&response);
        assert_eq!(today[..2], ["H000", "PROVISIONAL"], "{path}");
        today[2..].sort();
        assert_eq!(today[2..], ["T-A", "T-B", "T-C"], "{path}");
        assert_eq!(response.body["meta"]["hasMoreRecords"], false);
    }
}

#[tokio::test]
async fn entries_render_the_contract_way() {
    let app = bank().await;
    let response = app.post("/transactions", &statement_body(None, None)).await;
    assert_eq!(
        response.body["data"][0],
        json!({
            "transactionId": [{"key": "id", "value": "H000"}],
            "completedAuthorisedPaymentType": "TRANSACAO_EFETIVADA",
            "creditDebitType": "CREDITO",
            "transactionName": "PIX H000",
            "type": "PIX",
            "transactionAmount": {"amount": "0.25", "currency": "BRL"},
            "transactionDateTime": "2026-11-20T15:00:00.000Z",
            "partieCnpjCpf": JOAO,
            "partiePersonType": "PESSOA_NATURAL",
            "partieCompeCode": "001",
            "partieBranchCode": "0001",
            "partieNumber": JOAO_CHECKING,
            "partieCheckDigit": "7",
        })
    );
    assert_eq!(
        response.body["data"][1]["completedAuthorisedPaymentType"],
        "TRANSACAO_PROCESSANDO"
    );
}

#[tokio::test]
async fn the_full_window_serves_completed_processing_and_future_entries_newest_first() {
    let app = bank().await;
    let mut body = statement_body(Some(FULL.0), Some(FULL.1));
    body["pageSize"] = json!(1000);
    let response = app.post("/transactions", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let all = ids(&response);
    // 37 completed within 12 months, 3 at the same instant, 2 pending.
    assert_eq!(all.len(), 42, "{all:?}");
    assert_eq!(all[0], "PROVISIONAL", "the future entry comes first");
    assert_eq!(
        response.body["data"][0]["completedAuthorisedPaymentType"],
        "LANCAMENTO_FUTURO"
    );
    assert_eq!(
        response.body["data"][0]["transactionDateTime"],
        "2026-11-25T03:00:00.000Z"
    );
    assert!(all.contains(&"H036".to_string()) && !all.contains(&"H037".to_string()));
    let times: Vec<&str> = response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transactionDateTime"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
}

#[tokio::test]
async fn pages_never_overlap_or_skip() {
    let app = bank().await;
    let mut body = statement_body(Some(FULL.0), Some(FULL.1));
    body["pageSize"] = json!(1000);
    let everything = ids(&app.post("/transactions", &body).await);

    body["pageSize"] = json!(5);
    let mut paged = Vec::new();
    for page in 1..=9 {
        body["page"] = json!(page);
        let response = app.post("/transactions", &body).await;
        assert_eq!(response.status, 200, "page {page}");
        assert_eq!(
            response.body["meta"]["hasMoreRecords"],
            page < 9,
            "page {page}"
        );
        paged.extend(ids(&response));
    }
    assert_eq!(paged, everything);

    body["page"] = json!(10);
    let response = app.post("/transactions", &body).await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error_code(), "PAGE_NOT_FOUND");
}

#[tokio::test]
async fn credit_debit_filter() {
    let app = bank().await;
    let mut body = statement_body(Some(FULL.0), Some(FULL.1));
    body["pageSize"] = json!(1000);
    body["creditDebitIndicator"] = json!("CREDITO");
    let response = app.post("/transactions", &body).await;
    let data = response.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 19);
    assert!(data.iter().all(|t| t["creditDebitType"] == "CREDITO"));

    body["creditDebitIndicator"] = json!("CREDIT");
    assert_eq!(app.post("/transactions", &body).await.status, 400);
}

#[tokio::test]
async fn transactions_windows_reach_twelve_months_each_way() {
    let app = bank().await;
    for (from, to, status) in [
        (Some(FULL.0), Some(FULL.1), 200),
        (Some("2025-11-19"), Some("2026-11-20"), 422),
        (Some("2026-11-20"), Some("2027-11-21"), 422),
        (Some("2026-11-20"), Some("2026-11-19"), 422),
        (Some("2026-11-20"), None, 422),
        (None, Some("2026-11-20"), 422),
        (Some("2026-13-01"), Some("2026-11-20"), 400),
        (Some("20-11-2026"), Some("2026-11-20"), 400),
    ] {
        let response = app.post("/transactions", &statement_body(from, to)).await;
        assert_eq!(
            response.status, status,
            "{from:?}..{to:?}: {}",
            response.body
        );
    }
}

#[tokio::test]
async fn current_transactions_reach_seven_days_back() {
    let app = bank().await;
    let current = |from: &str, to: &str| {
        let mut body = maria_account_body(MARIA_CHECKING);
        body["fromBookingDateMaxLimited"] = json!(from);
        body["toBookingDateMaxLimited"] = json!(to);
        body
    };
    let response = app
        .post(
            "/transactions-current",
            &current("2026-11-14", "2026-11-25"),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(ids(&response).len(), 6);

    let response = app
        .post(
            "/transactions-current",
            &current("2026-11-13", "2026-11-20"),
        )
        .await;
    assert_eq!(response.status, 422);
    let response = app
        .post(
            "/transactions-current",
            &current("2026-11-20", "2027-11-21"),
        )
        .await;
    assert_eq!(response.status, 422);
}

#[tokio::test]
async fn current_transactions_accept_both_revisions_field_names() {
    let app = bank().await;
    let response = app
        .post(
            "/transactions-current",
            &statement_body(Some("2026-11-14"), Some("2026-11-25")),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(ids(&response).len(), 6);

    let response = app
        .post(
            "/transactions-current",
            &statement_body(Some("2026-11-13"), Some("2026-11-20")),
        )
        .await;
    assert_eq!(response.status, 422);

    // The same bound under both names must agree.
    let mut body = statement_body(Some("2026-11-14"), Some("2026-11-20"));
    body["fromBookingDateMaxLimited"] = json!("2026-11-15");
    assert_eq!(app.post("/transactions-current", &body).await.status, 400);
    body["fromBookingDateMaxLimited"] = json!("2026-11-14");
    assert_eq!(app.post("/transactions-current", &body).await.status, 200);
}
