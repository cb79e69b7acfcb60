//! A holder row's brand is its account's brand: discovery and the holder
//! check read holder rows alone, so a row tying a customer of one brand to
//! another brand's account would show that account under the wrong brand.
//! On plain PostgreSQL the store refuses such a row (a key to the account
//! and its brand). On Citus holder rows and accounts live on different
//! shards and that key cannot hold: there import, the only writer, writes
//! each holder row from its account record, in the account's brand.

use crate::common;

use common::app::TestApp;
use common::db::fresh_pool;
use common::fixtures::*;
use serde_json::{Value, json};

/// A holder row of `$2` in brand `$1` for the account numbered `$4` of
/// brand `$3`, showing the account as import would.
const TIE: &str =
    "INSERT INTO account_holders (brand_id, document, account_id, holders, legacy_key,
                                                legacy_id, type, subtype, compe_code, branch_code,
                                                number, check_digit, currency, status)
                   SELECT $1, $2, id, jsonb_build_array(jsonb_build_array($2, 'x')), legacy_key,
                          legacy_id, type, subtype, compe_code, branch_code, number, check_digit,
                          currency, status
                     FROM accounts WHERE brand_id = $3 AND number = $4";

async fn bank() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    // João becomes a customer of the other brand too, with no account there.
    sqlx::query("INSERT INTO customers (brand_id, document, name) VALUES ($1, $2, 'João Souza')")
        .bind(OTHER_BRAND)
        .bind(JOAO)
        .execute(&pool)
        .await
        .unwrap();
    TestApp::spawn(pool, now()).await
}

async fn tie(
    app: &TestApp,
    brand: &str,
    document: &str,
    account_number: &str,
) -> sqlx::Result<u64> {
    sqlx::query(TIE)
        .bind(brand)
        .bind(document)
        .bind(BRAND)
        .bind(account_number)
        .execute(&app.pool)
        .await
        .map(|done| done.rows_affected())
}

async fn discovered(app: &TestApp, brand: &str, owner: &str) -> Vec<Value> {
    let mut consent = consent(owner, None, &["ACCOUNTS_READ"], vec![]);
    consent["brandId"] = json!(brand);
    let body = json!({"consent": consent, "requestMeta": request_meta(brand)});
    let response = app.post("/account-discovery", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"]["resources"]
        .as_array()
        .unwrap()
        .clone()
}

async fn holds_an_account(app: &TestApp, brand: &str, document: &str) -> Value {
    let body = json!({"data": {"loggedUserDocument": document}});
    let response = app.check_account_holder(brand, &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"]["isAccountHolder"].clone()
}

#[tokio::test]
async fn the_store_refuses_a_holder_row_of_another_brand() {
    if common::citus::enabled() {
        return; // no key across shards on Citus (see the module's documentation)
    }
    let app = bank().await;
    for (brand, document) in [(OTHER_BRAND, MARIA), (OTHER_BRAND, JOAO)] {
        let error = tie(&app, brand, document, JOAO_CHECKING)
            .await
            .expect_err("a holder row across brands was stored");
        assert_eq!(
            error.as_database_error().and_then(|e| e.code()).as_deref(),
            Some("23503"),
            "{error}"
        );
    }
    // The same customer, account and brand together are still fine.
    assert_eq!(tie(&app, BRAND, MARIA, JOAO_CHECKING).await.unwrap(), 1);
}

#[tokio::test]
async fn import_shows_each_account_in_its_own_brand_only() {
    let app = bank().await;
    let marias = discovered(&app, OTHER_BRAND, MARIA).await;
    assert!(
        !marias.is_empty(),
        "her own account in the other brand is listed"
    );
    assert!(
        marias
            .iter()
            .all(|r| r["resourceLegacyId"] != account_id(JOAO_CHECKING)),
        "{marias:?}"
    );
    // João is the other brand's customer too, with no account there.
    assert_eq!(
        discovered(&app, OTHER_BRAND, JOAO).await,
        Vec::<Value>::new()
    );
    assert_eq!(
        holds_an_account(&app, OTHER_BRAND, JOAO).await,
        json!(false)
    );
    assert_eq!(holds_an_account(&app, BRAND, JOAO).await, json!(true));
}
