//! The Rust request and response types cannot drift from `openapi/`
//! silently: walking every schema of both contract revisions, each property
//! an operation's request declares is accepted by the service, and each
//! property its 200 response declares is written by it.

use crate::common;

use common::app::TestApp;
use common::contract::{Body, declared_paths, present_paths};
use common::db::fresh_pool;
use common::fixtures::*;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ACCOUNT_OPERATIONS: [&str; 7] = [
    "/account-discovery",
    "/accounts",
    "/find",
    "/balances",
    "/transactions",
    "/transactions-current",
    "/overdraft-limits",
];

/// Properties the service deliberately never writes, and why.
const NEVER_WRITTEN: [&str; 2] = [
    // Optional display aids for *payment* consents, typed as a JSON number:
    // money never travels as a float here.
    "data.resources[].resourceBalanceAmount",
    "data.resources[].resourceBalanceCurrency",
];

fn declared(path: &str, body: Body) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for file in ["accounts.yaml", "accounts-rev3.yaml"] {
        all.extend(declared_paths(file, path, body));
    }
    all
}

/// A request to `path` carrying every property either revision declares:
/// a company consent (so `businessDocumentType` is exercised) with every
/// optional consent field, to the company's account.
fn maximal_request(path: &str) -> Value {
    let mut body = json!({
        "consent": {
            "authExtraData": [{"key": "agencia", "value": "0001"}],
            "consentOwner": [{"key": "cpf", "value": MARIA}],
            "brandId": BRAND,
            "creationDateTime": "2026-11-20T14:00:00Z",
            "tpp": {"name": "Agregador Exemplo"},
            "externalId": "urn:cbanco:1",
            "loggedUser": {"document": {"identification": MARIA, "rel": "CPF"}},
            "businessDocumentType": {"document": {"identification": COMPANY, "rel": "CNPJ"}},
            "resources": [{
                "type": "ACCOUNT",
                "resourceLegacyId": account_id(COMPANY_CHECKING),
                "authorizers": [{"cpf": MARIA, "name": "Maria da Silva"}],
                "hasMultipleAuthorisers": false,
                "resourceBalanceCurrency": "BRL",
                "resourceBalanceAmount": 10.5,
            }],
            "expirationDateTime": "2027-11-20T14:00:00Z",
            "permissions": ALL_ACCOUNT_PERMISSIONS,
        },
        "requestMeta": request_meta(BRAND),
    });
    let extra = match path {
        "/accounts" => {
            json!({"page": 1, "pageSize": 10, "accountType": "CONTA_DEPOSITO_A_VISTA", "pagination-key": "k"})
        }
        "/transactions" => json!({
            "accountId": account_id(COMPANY_CHECKING), "page": 1, "pageSize": 10,
            "fromBookingDate": "2026-11-01", "toBookingDate": "2026-11-20",
            "creditDebitIndicator": "DEBITO", "pagination-key": "k",
        }),
        "/transactions-current" => json!({
            "accountId": account_id(COMPANY_CHECKING), "page": 1, "pageSize": 10,
            "fromBookingDateMaxLimited": "2026-11-14", "toBookingDateMaxLimited": "2026-11-20",
            "fromBookingDate": "2026-11-14", "toBookingDate": "2026-11-20",
            "creditDebitIndicator": "DEBITO", "pagination-key": "k",
        }),
        "/account-discovery" => json!({}),
        _ => json!({"accountId": account_id(COMPANY_CHECKING)}),
    };
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn every_declared_request_property_is_accepted() {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    let app = TestApp::spawn(pool, now()).await;
    for path in ACCOUNT_OPERATIONS {
        let body = maximal_request(path);
        let missing: Vec<_> = declared(path, Body::Request)
            .difference(&present_paths(&body))
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "{path}: the maximal request lacks {missing:?}"
        );
        let response = app.post(path, &body).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
    }

    let mut headers = HeaderMap::new();
    headers.insert("x-brand-id", BRAND.parse().unwrap());
    headers.insert(
        "x-correlation-id",
        "97623ed1-4732-4bf2-8d4b-ae7aced5443b".parse().unwrap(),
    );
    let data = json!({"loggedUserDocument": MARIA, "businessEntityDocument": COMPANY});
    for (file, body, headers) in [
        ("commons.yaml", json!({"data": data}), headers),
        (
            "commons-rev4.yaml",
            json!({"requestBody": {"data": data}, "requestMeta": request_meta(BRAND)}),
            HeaderMap::new(),
        ),
    ] {
        let declared = declared_paths(file, "/check-account-holder", Body::Request);
        let missing: Vec<_> = declared
            .difference(&present_paths(&body))
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "{file}: the maximal request lacks {missing:?}"
        );
        let response = app
            .send(
                Method::POST,
                "/check-account-holder",
                headers,
                Some(body.to_string().into_bytes()),
                "application/json",
            )
            .await;
        assert_eq!(response.status, 200, "{file}: {}", response.body);
    }
}

#[tokio::test]
async fn every_declared_response_property_is_written() {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    let app = TestApp::spawn(pool, now()).await;
    let full_statement = {
        let mut body = maria_account_body(MARIA_CHECKING);
        body["fromBookingDate"] = json!("2025-11-20");
        body["toBookingDate"] = json!("2027-11-20");
        body
    };
    let tour = [
        ("/account-discovery", maria_body(&[])),
        ("/accounts", maria_body(&[MARIA_CHECKING])),
        ("/find", maria_account_body(MARIA_CHECKING)),
        ("/balances", maria_account_body(MARIA_CHECKING)),
        ("/transactions", full_statement.clone()),
        ("/transactions-current", maria_account_body(MARIA_CHECKING)),
        ("/overdraft-limits", maria_account_body(JOINT)),
    ];
    for (path, body) in tour {
        let response = app.post(path, &body).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        let written = present_paths(&response.body);
        let missing: Vec<_> = declared(path, Body::Ok)
            .difference(&written)
            .filter(|p| !NEVER_WRITTEN.contains(&p.as_str()))
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "{path}: the service never writes {missing:?}"
        );
    }
    let mut headers = HeaderMap::new();
    headers.insert("x-brand-id", BRAND.parse().unwrap());
    headers.insert(
        "x-correlation-id",
        "97623ed1-4732-4bf2-8d4b-ae7aced5443b".parse().unwrap(),
    );
    let body = json!({"data": {"loggedUserDocument": MARIA}})
        .to_string()
        .into_bytes();
    let response = app
        .send(
            Method::POST,
            "/check-account-holder",
            headers,
            Some(body),
            "application/json",
        )
        .await;
    assert_eq!(
        declared_paths("commons.yaml", "/check-account-holder", Body::Ok),
        present_paths(&response.body)
    );
}

/// The store's CHECK constraints hold exactly the contract's enums, so the
/// strings the repository hands to the response types are always valid.
#[tokio::test]
async fn stored_enums_are_the_contracts() {
    let pool = fresh_pool().await;
    let spec: Value = serde_norway::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/accounts.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    for (table, column, schema) in [
        ("accounts", "type", "EnumAccountType"),
        ("accounts", "subtype", "EnumAccountSubType"),
        (
            "transactions",
            "completed_authorised_payment_type",
            "EnumCompletedAuthorisedPaymentIndicator",
        ),
        (
            "transactions",
            "credit_debit_type",
            "EnumCreditDebitIndicator",
        ),
    ] {
        let contract: BTreeSet<String> = spec["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let constraint: String = sqlx::query_scalar(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
              WHERE c.conrelid = $1::regclass AND c.contype = 'c'
                AND pg_get_constraintdef(c.oid) LIKE '%(' || $2 || ' = ANY%'",
        )
        .bind(table)
        .bind(column)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{table}.{column}: {e}"));
        let stored: BTreeSet<String> = constraint
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        assert_eq!(
            stored, contract,
            "{table}.{column} vs {schema}: {constraint}"
        );
    }
}
