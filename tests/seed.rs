//! `contas seed` against a real PostgreSQL.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::db::{dump, fresh_pool};
use contas::domain::time::brasilia_date;
use contas::seed::{self, DEMO_BRAND, DEMO_COMPANY_CNPJ, DEMO_CPF, SeedConfig};
use serde_json::Value;
use sqlx::PgPool;

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

fn small() -> SeedConfig {
    SeedConfig {
        customers: 120,
        accounts: 200,
        transactions: 6000,
        now: Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap(),
        ..SeedConfig::demo()
    }
}

#[tokio::test]
async fn a_small_seed_loads_a_varied_bank() {
    let pool = fresh_pool().await;
    assert!(seed::is_empty(&pool).await.unwrap());
    let summary = seed::seed(&pool, &small()).await.unwrap();
    assert!(!seed::is_empty(&pool).await.unwrap());
    let text = summary.to_string();
    assert!(text.contains("transactions/s"), "{text}");

    // The synthetic population plus the demo customer, her spouse and company.
    assert_eq!(scalar(&pool, "SELECT count(*) FROM customers").await, 123);
    assert_eq!(
        scalar(
            &pool,
            "SELECT count(*) FROM customers WHERE length(document) = 14"
        )
        .await,
        13
    );
    assert_eq!(scalar(&pool, "SELECT count(*) FROM accounts").await, 204);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM balances").await, 204);
    let completed = scalar(&pool, "SELECT count(*) FROM transactions WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA'").await;
    assert_eq!(completed as u64, summary.import.transactions);
    assert!(completed >= 6000);

    for kind in [
        "CONTA_DEPOSITO_A_VISTA",
        "CONTA_POUPANCA",
        "CONTA_PAGAMENTO_PRE_PAGA",
    ] {
        let n = scalar(
            &pool,
            &format!("SELECT count(*) FROM accounts WHERE type = '{kind}'"),
        )
        .await;
        assert!(n > 0, "{kind}");
    }
    for subtype in ["INDIVIDUAL", "CONJUNTA_SIMPLES", "CONJUNTA_SOLIDARIA"] {
        let n = scalar(
            &pool,
            &format!("SELECT count(*) FROM accounts WHERE subtype = '{subtype}'"),
        )
        .await;
        assert!(n > 0, "{subtype}");
    }
    for status in ["AVAILABLE", "TEMPORARILY_UNAVAILABLE", "UNAVAILABLE"] {
        let n = scalar(
            &pool,
            &format!("SELECT count(*) FROM accounts WHERE status = '{status}'"),
        )
        .await;
        assert!(n > 0, "{status}");
    }
    // Joint accounts have two holders; company accounts a CNPJ.
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM accounts a WHERE subtype <> 'INDIVIDUAL' AND (SELECT count(*) FROM account_holders h WHERE h.account_id = a.id) <> 2").await,
        0
    );
    assert!(
        scalar(
            &pool,
            "SELECT count(*) FROM account_holders WHERE length(document) = 14"
        )
        .await
            >= 13
    );
    assert!(
        scalar(
            &pool,
            "SELECT count(*) FROM balances WHERE available_amount < 0"
        )
        .await
            > 0
    );
    assert!(scalar(&pool, "SELECT count(*) FROM overdraft_limits").await > 0);
    assert!(scalar(&pool, "SELECT count(DISTINCT type) FROM transactions").await >= 15);
    assert!(
        scalar(
            &pool,
            "SELECT count(DISTINCT partie_cnpj_cpf) FROM transactions"
        )
        .await
            > 100
    );
    for kind in ["TRANSACAO_PROCESSANDO", "LANCAMENTO_FUTURO"] {
        let n = scalar(&pool, &format!("SELECT count(*) FROM transactions WHERE completed_authorised_payment_type = '{kind}'")).await;
        assert!(n > 0, "{kind}");
    }
    // Spread over the last 13 months, completed ones never in the future.
    let (first, last): (chrono::DateTime<Utc>, chrono::DateTime<Utc>) = sqlx::query_as(
        "SELECT min(transaction_date_time), max(transaction_date_time) FROM transactions \
         WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let now = small().now;
    assert!(
        first >= now - Duration::days(400) && first < now - Duration::days(360),
        "{first}"
    );
    assert!(last <= now && last > now - Duration::days(2), "{last}");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_bank() {
    let a = fresh_pool().await;
    let b = fresh_pool().await;
    seed::seed(&a, &small()).await.unwrap();
    seed::seed(&b, &small()).await.unwrap();
    let first = dump(&a).await;
    assert_eq!(first, dump(&b).await);

    // Seeding again with the same configuration changes nothing.
    seed::seed(&a, &small()).await.unwrap();
    assert_eq!(dump(&a).await, first);

    // Seeding later adds another history: every id moves with the clock.
    let later = SeedConfig {
        now: small().now + Duration::hours(1),
        ..small()
    };
    let before = scalar(&a, "SELECT count(*) FROM transactions WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA'").await;
    seed::seed(&a, &later).await.unwrap();
    let after = scalar(&a, "SELECT count(*) FROM transactions WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA'").await;
    assert!(after > before * 19 / 10, "{before} then {after}");

    let c = fresh_pool().await;
    seed::seed(
        &c,
        &SeedConfig {
            seed: 99,
            ..small()
        },
    )
    .await
    .unwrap();
    assert_ne!(dump(&c).await, first);
}

#[tokio::test]
async fn the_demo_bank_holds_the_demo_customer() {
    let pool = fresh_pool().await;
    let config = SeedConfig::demo();
    let summary = seed::seed(&pool, &config).await.unwrap();
    assert!(summary.import.transactions >= 5000);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM accounts").await, 84);

    let brand: (String, String) = sqlx::query_as("SELECT brand_id, brand_name FROM brands")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(brand, (DEMO_BRAND.to_owned(), "Banco C".to_owned()));

    // Her accounts, by the ids the demo request names.
    let ids = seed::demo_account_ids();
    assert_eq!(ids.len(), 3);
    let mut kinds = Vec::new();
    for id in &ids {
        let (account_id, kind, subtype, status): (i64, String, String, String) = sqlx::query_as(
            "SELECT a.id, a.type, a.subtype, a.status FROM accounts a \
             JOIN account_holders h ON h.account_id = a.id AND h.document = $3 \
             WHERE a.brand_id = $1 AND a.legacy_key = $2",
        )
        .bind(DEMO_BRAND)
        .bind(id.canonical_key())
        .bind(DEMO_CPF)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(status, "AVAILABLE");
        let balances = scalar(
            &pool,
            &format!("SELECT count(*) FROM balances WHERE account_id = {account_id}"),
        )
        .await;
        assert_eq!(balances, 1);
        kinds.push((kind, subtype, account_id));
    }
    assert_eq!(
        (kinds[0].0.as_str(), kinds[0].1.as_str()),
        ("CONTA_DEPOSITO_A_VISTA", "INDIVIDUAL")
    );
    assert_eq!(kinds[1].0, "CONTA_POUPANCA");
    assert!(kinds[2].1.starts_with("CONJUNTA_"));
    let joint_holders = scalar(
        &pool,
        &format!(
            "SELECT count(*) FROM account_holders WHERE account_id = {}",
            kinds[2].2
        ),
    )
    .await;
    assert_eq!(joint_holders, 2);

    let checking = kinds[0].2;
    assert_eq!(
        scalar(
            &pool,
            &format!("SELECT count(*) FROM overdraft_limits WHERE account_id = {checking}")
        )
        .await,
        1
    );
    // Something on each of the last 7 days, today included (Brasília dates).
    let today = brasilia_date(config.now);
    for back in 0..7 {
        let day = today - Duration::days(back);
        let n = scalar(
            &pool,
            &format!(
                "SELECT count(*) FROM transactions WHERE account_id = {checking} AND booking_date = '{day}' \
                 AND completed_authorised_payment_type = 'TRANSACAO_EFETIVADA'"
            ),
        )
        .await;
        assert!(n > 0, "nothing on {day}");
    }
    let pending = scalar(
        &pool,
        &format!("SELECT count(*) FROM transactions WHERE account_id = {checking} AND completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA'"),
    )
    .await;
    assert!(pending > 0);

    // Her company, which she represents, has its own account.
    let company = &seed::demo_company_account_ids()[0];
    let holder: String = sqlx::query_scalar(
        "SELECT h.document FROM accounts a JOIN account_holders h ON h.account_id = a.id WHERE a.legacy_key = $1",
    )
    .bind(company.canonical_key())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(holder, DEMO_COMPANY_CNPJ);
    assert_eq!(scalar(&pool, &format!("SELECT count(*) FROM customers WHERE document IN ('{DEMO_CPF}', '{DEMO_COMPANY_CNPJ}')")).await, 2);
}

#[test]
fn the_demo_curl_posts_a_complete_request_for_the_demo_accounts() {
    let curl = seed::demo_curl("127.0.0.1:8080".parse().unwrap());
    assert!(curl.starts_with("curl "), "{curl}");
    assert!(
        curl.contains("-X POST 'http://127.0.0.1:8080/accounts'"),
        "{curl}"
    );
    let json = curl
        .split_once("<<'EOF'\n")
        .unwrap()
        .1
        .rsplit_once("\nEOF")
        .unwrap()
        .0;
    let body: Value = serde_json::from_str(json).unwrap();
    let consent = &body["consent"];
    assert_eq!(consent["brandId"], DEMO_BRAND);
    assert_eq!(
        consent["loggedUser"]["document"]["identification"],
        DEMO_CPF
    );
    assert_eq!(consent["loggedUser"]["document"]["rel"], "CPF");
    assert!(
        consent["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "ACCOUNTS_READ")
    );
    assert!(consent["tpp"]["name"].is_string() && consent["externalId"].is_string());
    assert!(consent["creationDateTime"].as_str().unwrap().ends_with('Z'));
    let resources = consent["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 3);
    for (r, id) in resources.iter().zip(seed::demo_account_ids()) {
        assert_eq!(r["type"], "ACCOUNT");
        assert_eq!(r["resourceLegacyId"], serde_json::to_value(&id).unwrap());
    }
    assert_eq!(body["requestMeta"]["brandId"], DEMO_BRAND);
    let correlation = body["requestMeta"]["correlationId"].as_str().unwrap();
    let shape: Vec<usize> = correlation.split('-').map(str::len).collect();
    assert_eq!(shape, [8, 4, 4, 4, 12], "{correlation}");
}
