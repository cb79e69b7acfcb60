//! The Accounts operations end to end: real PostgreSQL, real HTTP, every
//! response validated against `openapi/`.

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

fn numbers(response: &TestResponse) -> Vec<String> {
    response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap().to_owned())
        .collect()
}

// ---- discovery -------------------------------------------------------------

#[tokio::test]
async fn discovery_lists_the_owners_available_accounts_in_the_brand() {
    let app = bank().await;
    let body = json!({"consent": consent(MARIA, None, &["ACCOUNTS_READ"], vec![]), "requestMeta": request_meta(BRAND)});
    let response = app.post("/account-discovery", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let resources = response.body["data"]["resources"].as_array().unwrap();
    let ids: Vec<&Value> = resources.iter().map(|r| &r["resourceLegacyId"]).collect();
    // Her own and the joint account; not João's, the company's, the
    // unavailable ones, nor her account in the other brand.
    assert_eq!(
        ids,
        [
            account_id(MARIA_CHECKING),
            account_id(MARIA_SAVINGS),
            account_id(JOINT),
            account_id(MARIA_PREPAID)
        ]
        .iter()
        .collect::<Vec<_>>()
    );
    let checking = &resources[0];
    let caption = |key: &str| {
        checking["resourceName"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map(|c| c["value"].clone())
    };
    assert_eq!(caption("name"), Some(json!("Conta Corrente Maria")));
    assert_eq!(caption("number"), Some(json!("10000001-7")));
    assert_eq!(
        checking["authorizers"],
        json!([{"cpf": MARIA, "name": "Maria da Silva"}])
    );
    assert_eq!(checking["defaultSelected"], json!(false));
    let joint = &resources[2];
    assert_eq!(
        joint["authorizers"],
        json!([{"cpf": JOAO, "name": "João Souza"}, {"cpf": MARIA, "name": "Maria da Silva"}])
    );
}

/// Holder rows show their accounts (discovery and the holder check read
/// nothing else): a later import that renames a holder, closes an account
/// or changes who holds one is what they show next.
#[tokio::test]
async fn discovery_shows_what_the_latest_import_says() {
    let app = bank().await;
    let update = line(
        json!({"record": "customer", "brandId": BRAND, "document": JOAO, "name": "João Souza Filho"}),
    ) + &account(
        MARIA_SAVINGS,
        "CONTA_POUPANCA",
        "INDIVIDUAL",
        &[MARIA],
        "UNAVAILABLE",
        BRAND,
    ) + &account(
        JOAO_CHECKING,
        "CONTA_DEPOSITO_A_VISTA",
        "INDIVIDUAL",
        &[PEDRO],
        "AVAILABLE",
        BRAND,
    );
    contas::import::import_reader(&app.pool, update.as_bytes(), false)
        .await
        .expect("the update imports");
    let discover = async |owner: &str| {
        let body = json!({"consent": consent(owner, None, &["ACCOUNTS_READ"], vec![]), "requestMeta": request_meta(BRAND)});
        let response = app.post("/account-discovery", &body).await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.body["data"]["resources"]
            .as_array()
            .unwrap()
            .clone()
    };
    let marias = discover(MARIA).await;
    let ids: Vec<&Value> = marias.iter().map(|r| &r["resourceLegacyId"]).collect();
    assert_eq!(
        ids,
        [
            &account_id(MARIA_CHECKING),
            &account_id(JOINT),
            &account_id(MARIA_PREPAID)
        ],
        "the closed savings account is gone"
    );
    assert_eq!(
        marias[1]["authorizers"],
        json!([{"cpf": JOAO, "name": "João Souza Filho"}, {"cpf": MARIA, "name": "Maria da Silva"}])
    );
    let joaos = discover(JOAO).await;
    assert_eq!(
        joaos.len(),
        1,
        "João holds the joint account only: {joaos:?}"
    );
    assert_eq!(joaos[0]["resourceLegacyId"], account_id(JOINT));
    let pedros = discover(PEDRO).await;
    assert_eq!(pedros.len(), 1, "{pedros:?}");
    assert_eq!(
        pedros[0]["authorizers"],
        json!([{"cpf": PEDRO, "name": "Pedro Lima"}])
    );
    let holder = json!({"data": {"loggedUserDocument": PEDRO}});
    let response = app.check_account_holder(BRAND, &holder).await;
    assert_eq!(response.body["data"]["isAccountHolder"], json!(true));
}

#[tokio::test]
async fn discovery_for_a_company_shows_the_companys_accounts_only() {
    let app = bank().await;
    let body = json!({
        "consent": consent(MARIA, Some(COMPANY), &["ACCOUNTS_READ"], vec![]),
        "requestMeta": request_meta(BRAND),
    });
    let response = app.post("/account-discovery", &body).await;
    assert_eq!(response.status, 200);
    let resources = response.body["data"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(
        resources[0]["resourceLegacyId"],
        account_id(COMPANY_CHECKING)
    );
    // The representative authorizes for the company.
    assert_eq!(
        resources[0]["authorizers"],
        json!([{"cpf": MARIA, "name": "Maria da Silva"}])
    );
    assert_eq!(resources[0]["defaultSelected"], json!(true));
}

#[tokio::test]
async fn discovery_of_a_stranger_is_empty() {
    let app = bank().await;
    let body = json!({"consent": consent(PEDRO, None, &["ACCOUNTS_READ"], vec![]), "requestMeta": request_meta(BRAND)});
    let response = app.post("/account-discovery", &body).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["data"]["resources"], json!([]));
}

// ---- /accounts ------------------------------------------------------------

#[tokio::test]
async fn accounts_lists_only_consented_available_accounts_of_the_owner() {
    let app = bank().await;
    let mut body = maria_body(&[
        MARIA_CHECKING,
        JOAO_CHECKING,
        MARIA_BLOCKED,
        COMPANY_CHECKING,
        MARIA_PREPAID,
    ]);
    // The joint account is consented with its id's pairs in another order.
    body["consent"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "ACCOUNT", "resourceLegacyId": account_id_reordered(JOINT)}));
    // A resource of another type with an account's id does not consent to it.
    body["consent"]["resources"].as_array_mut().unwrap().push(
        json!({"type": "CREDIT_CARD_ACCOUNT", "resourceLegacyId": account_id(MARIA_SAVINGS)}),
    );
    let response = app.post("/accounts", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(numbers(&response), [MARIA_CHECKING, JOINT, MARIA_PREPAID]);
    assert_eq!(response.body["meta"]["totalRecords"], 3);
    assert_eq!(response.body["meta"]["totalPages"], 1);
    let first = &response.body["data"][0];
    assert_eq!(first["brandName"], "Banco C");
    assert_eq!(first["companyCnpj"], "21128159000166");
    assert_eq!(first["accountId"], account_id(MARIA_CHECKING));
    assert_eq!(first["branchCode"], "0001");
    let prepaid = &response.body["data"][2];
    assert!(
        prepaid.get("branchCode").is_none(),
        "prepaid accounts have no branch: {prepaid}"
    );
}

#[tokio::test]
async fn accounts_pages_and_filters() {
    let app = bank().await;
    let mut body = maria_body(&[MARIA_CHECKING, MARIA_SAVINGS, JOINT]);
    body["pageSize"] = json!(2);
    body["page"] = json!(2);
    let response = app.post("/accounts", &body).await;
    assert_eq!(response.status, 200);
    assert_eq!(numbers(&response), [JOINT]);
    assert_eq!(response.body["meta"]["totalRecords"], 3);
    assert_eq!(response.body["meta"]["totalPages"], 2);

    body["page"] = json!(3);
    let response = app.post("/accounts", &body).await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error_code(), "PAGE_NOT_FOUND");

    body["page"] = json!(1);
    body["pageSize"] = json!(25);
    body["accountType"] = json!("CONTA_POUPANCA");
    let response = app.post("/accounts", &body).await;
    assert_eq!(numbers(&response), [MARIA_SAVINGS]);
}

#[tokio::test]
async fn accounts_without_consented_accounts_is_an_empty_first_page() {
    let app = bank().await;
    let response = app.post("/accounts", &maria_body(&[])).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["data"], json!([]));
    assert_eq!(response.body["meta"]["totalRecords"], 0);
}

#[tokio::test]
async fn accounts_needs_accounts_read() {
    let app = bank().await;
    let mut body = maria_body(&[MARIA_CHECKING]);
    body["consent"]["permissions"] = json!(["ACCOUNTS_BALANCES_READ"]);
    let response = app.post("/accounts", &body).await;
    assert_eq!(response.status, 403);
    assert_eq!(response.error_code(), "PERMISSION_NOT_GRANTED");
}

#[tokio::test]
async fn page_and_page_size_limits_are_enforced() {
    let app = bank().await;
    for (field, value) in [
        ("page", json!(0)),
        ("pageSize", json!(0)),
        ("pageSize", json!(1001)),
        ("page", json!("1")),
    ] {
        let mut body = maria_body(&[MARIA_CHECKING]);
        body[field] = value.clone();
        let response = app.post("/accounts", &body).await;
        assert_eq!(response.status, 400, "{field}={value}: {}", response.body);
    }
}

// ---- per-account scope -----------------------------------------------------

#[tokio::test]
async fn find_identifies_a_consented_account() {
    let app = bank().await;
    let response = app.post("/find", &maria_account_body(MARIA_CHECKING)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.body["data"],
        json!({"compeCode": "001", "branchCode": "0001", "number": MARIA_CHECKING, "checkDigit": "7",
               "type": "CONTA_DEPOSITO_A_VISTA", "subtype": "INDIVIDUAL", "currency": "BRL"})
    );
    assert_eq!(response.body["meta"]["totalRecords"], 1);
}

#[tokio::test]
async fn legacy_ids_match_in_any_order() {
    let app = bank().await;
    let mut body = maria_account_body(JOINT);
    body["accountId"] = account_id_reordered(JOINT);
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["data"]["subtype"], "CONJUNTA_SOLIDARIA");
}

#[tokio::test]
async fn joint_accounts_are_reached_by_each_holder() {
    let app = bank().await;
    let mut body = maria_account_body(JOINT);
    body["consent"]["loggedUser"]["document"]["identification"] = json!(JOAO);
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn another_customers_account_is_not_found_even_if_consented() {
    let app = bank().await;
    for number in [JOAO_CHECKING, COMPANY_CHECKING] {
        for path in [
            "/find",
            "/balances",
            "/transactions",
            "/transactions-current",
            "/overdraft-limits",
        ] {
            let response = app.post(path, &maria_account_body(number)).await;
            assert_eq!(response.status, 404, "{path} {number}: {}", response.body);
            assert!(response.body.get("data").is_none());
        }
    }
}

#[tokio::test]
async fn an_account_outside_the_consent_is_forbidden() {
    let app = bank().await;
    let mut body = maria_account_body(MARIA_SAVINGS);
    body["accountId"] = account_id(MARIA_CHECKING);
    for path in [
        "/find",
        "/balances",
        "/transactions",
        "/transactions-current",
        "/overdraft-limits",
    ] {
        let response = app.post(path, &body).await;
        assert_eq!(response.status, 403, "{path}: {}", response.body);
        assert_eq!(response.error_code(), "RESOURCE_NOT_CONSENTED");
    }
}

#[tokio::test]
async fn a_company_consent_does_not_reach_the_representatives_own_accounts() {
    let app = bank().await;
    let mut body = maria_account_body(MARIA_CHECKING);
    body["consent"]["businessDocumentType"] =
        json!({"document": {"identification": COMPANY, "rel": "CNPJ"}});
    assert_eq!(app.post("/balances", &body).await.status, 404);

    let mut body = maria_account_body(COMPANY_CHECKING);
    body["consent"]["businessDocumentType"] =
        json!({"document": {"identification": COMPANY, "rel": "CNPJ"}});
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["data"]["number"], COMPANY_CHECKING);
}

#[tokio::test]
async fn the_brand_of_the_request_scopes_every_answer() {
    let app = bank().await;
    // The same legacy id names another account in the other brand.
    let mut body = maria_account_body(MARIA_CHECKING);
    body["consent"]["brandId"] = json!(OTHER_BRAND);
    body["requestMeta"]["brandId"] = json!(OTHER_BRAND);
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["data"]["number"], "90000001");

    // A consent of one brand cannot be used through another.
    let mut body = maria_account_body(MARIA_CHECKING);
    body["requestMeta"]["brandId"] = json!(OTHER_BRAND);
    let response = app.post("/find", &body).await;
    assert_eq!(response.status, 403);
    assert_eq!(response.error_code(), "BRAND_MISMATCH");

    // An unknown brand has nothing.
    let mut body = maria_account_body(MARIA_CHECKING);
    body["consent"]["brandId"] = json!("nobank");
    body["requestMeta"]["brandId"] = json!("nobank");
    assert_eq!(app.post("/find", &body).await.status, 404);
}

#[tokio::test]
async fn a_brand_id_with_a_nul_character_is_refused_naming_the_field() {
    // Found by the contract tests (contract-tests/): the brand reached
    // PostgreSQL, which cannot hold U+0000 in text, and the query failed (500).
    let app = bank().await;
    let nul_brand = format!("{BRAND}\u{0}");
    for path in [
        "/account-discovery",
        "/accounts",
        "/find",
        "/balances",
        "/transactions",
        "/transactions-current",
        "/overdraft-limits",
    ] {
        // Bodies are parsed in document order: with both brands bad, the
        // first one the body holds is named.
        let either: &[&str] = &["consent.brandId", "requestMeta.brandId"];
        for (consent_brand, meta_brand, fields) in [
            (nul_brand.as_str(), nul_brand.as_str(), either),
            (nul_brand.as_str(), BRAND, &["consent.brandId"][..]),
            (BRAND, nul_brand.as_str(), &["requestMeta.brandId"][..]),
            ("\u{0}", "\u{0}", either),
        ] {
            let mut body = maria_account_body(MARIA_CHECKING);
            body["consent"]["brandId"] = json!(consent_brand);
            body["requestMeta"]["brandId"] = json!(meta_brand);
            let response = app.post(path, &body).await;
            assert_eq!(response.status, 400, "{path}: {}", response.body);
            assert_eq!(response.error_code(), "INVALID_PARAMETER");
            let detail = response.body["errors"][0]["detail"].as_str().unwrap();
            assert!(
                fields.iter().any(|field| detail.starts_with(field)),
                "{path}: {detail:?} should name one of {fields:?}"
            );
        }
    }
}

#[tokio::test]
async fn each_operation_checks_its_permission() {
    let app = bank().await;
    for (path, permission) in [
        ("/find", "ACCOUNTS_READ"),
        ("/balances", "ACCOUNTS_BALANCES_READ"),
        ("/transactions", "ACCOUNTS_TRANSACTIONS_READ"),
        ("/transactions-current", "ACCOUNTS_TRANSACTIONS_READ"),
        ("/overdraft-limits", "ACCOUNTS_OVERDRAFT_LIMITS_READ"),
    ] {
        let mut body = maria_account_body(MARIA_CHECKING);
        let others: Vec<&str> = ALL_ACCOUNT_PERMISSIONS
            .iter()
            .copied()
            .filter(|p| *p != permission)
            .collect();
        body["consent"]["permissions"] = json!(others);
        let response = app.post(path, &body).await;
        assert_eq!(response.status, 403, "{path}: {}", response.body);
        assert_eq!(response.error_code(), "PERMISSION_NOT_GRANTED");
        assert!(
            response.body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(permission)
        );

        body["consent"]["permissions"] = json!([permission]);
        assert_eq!(
            app.post(path, &body).await.status,
            200,
            "{path} with only {permission}"
        );
    }
}

#[tokio::test]
async fn unavailable_accounts_answer_their_status() {
    let app = bank().await;
    for (number, code) in [
        (MARIA_BLOCKED, "STATUS_RESOURCE_TEMPORARY_UNAVAILABLE"),
        (MARIA_CLOSED, "STATUS_RESOURCE_UNAVAILABLE"),
    ] {
        for path in [
            "/find",
            "/balances",
            "/transactions",
            "/transactions-current",
            "/overdraft-limits",
        ] {
            let response = app.post(path, &maria_account_body(number)).await;
            assert_eq!(response.status, 403, "{path} {number}");
            assert_eq!(response.error_code(), code, "{path} {number}");
        }
        // And they are neither discovered nor listed.
        let response = app.post("/accounts", &maria_body(&[number])).await;
        assert_eq!(response.body["data"], json!([]));
    }
}

// ---- balances and limits ---------------------------------------------------

#[tokio::test]
async fn balances_render_money_and_time_the_contract_way() {
    let app = bank().await;
    let response = app
        .post("/balances", &maria_account_body(MARIA_CHECKING))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.body["data"],
        json!({
            "availableAmount": {"amount": "-150.50", "currency": "BRL"},
            "blockedAmount": {"amount": "0.00", "currency": "BRL"},
            "automaticallyInvestedAmount": {"amount": "1000.045", "currency": "BRL"},
            "updateDateTime": "2026-11-20T10:00:00Z",
        })
    );
    assert_eq!(
        response.body["meta"]["requestDateTime"],
        "2026-11-20T15:00:00Z"
    );
}

#[tokio::test]
async fn an_account_without_loaded_balances_is_not_found() {
    let app = bank().await;
    let response = app
        .post("/balances", &maria_account_body(MARIA_PREPAID))
        .await;
    assert_eq!(response.status, 404);
}

#[tokio::test]
async fn overdraft_limits_show_what_is_known() {
    let app = bank().await;
    let response = app
        .post("/overdraft-limits", &maria_account_body(MARIA_CHECKING))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body["data"],
        json!({
            "overdraftContractedLimit": {"amount": "1000.00", "currency": "BRL"},
            "overdraftUsedLimit": {"amount": "150.50", "currency": "BRL"},
        })
    );
    // No limits: an empty data object.
    let response = app
        .post("/overdraft-limits", &maria_account_body(MARIA_SAVINGS))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["data"], json!({}));
}
