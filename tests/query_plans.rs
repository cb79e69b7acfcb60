//! The statement query must read its page straight off the
//! `transactions_statement` index: no sort of an account's history, and a
//! deep page skips index entries only (an index-only scan), never rows.
//! The service's connections force generic plans (`ServingPool`), so each
//! check here is of the generic plan, the one the service runs.

mod common;

use common::db::fresh_pool;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

fn node_types(plan: &Value, out: &mut Vec<String>) {
    if let Some(kind) = plan["Node Type"].as_str() {
        out.push(
            format!("{kind} {}", plan["Index Name"].as_str().unwrap_or_default())
                .trim()
                .to_owned(),
        );
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        node_types(child, out);
    }
}

/// A SQL literal (the arguments here are the tests' own values).
fn literal(value: Option<&str>) -> String {
    value.map_or("NULL".to_owned(), |v| {
        format!("'{}'", v.replace('\'', "''"))
    })
}

/// EXPLAIN ANALYZE of `sql`'s generic plan, run with `args`.
async fn generic_plan(
    connection: &mut sqlx::PgConnection,
    sql: &str,
    types: &str,
    args: &[Option<&str>],
) -> Value {
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *connection)
        .await
        .unwrap();
    // A name of its own each time: sqlx's cached statements must survive.
    static PREPARED: AtomicUsize = AtomicUsize::new(0);
    let name = format!("checked_{}", PREPARED.fetch_add(1, Ordering::Relaxed));
    sqlx::raw_sql(&format!("PREPARE {name}({types}) AS {sql}"))
        .execute(&mut *connection)
        .await
        .unwrap();
    let args: Vec<String> = args.iter().map(|a| literal(*a)).collect();
    let plan: Value = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}({})",
        args.join(", ")
    ))
    .fetch_one(&mut *connection)
    .await
    .unwrap();
    plan[0]["Plan"].clone()
}

#[tokio::test]
async fn the_service_runs_generic_plans() {
    let options = common::db::fresh_database().await;
    let pool = contas::db::ServingPool {
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(5),
        statement_timeout: std::time::Duration::from_secs(5),
    }
    .open(options);
    let mut lease = pool.acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(lease.connection())
        .await
        .unwrap();
    assert_eq!(mode, "force_generic_plan");
}

#[tokio::test]
async fn a_statement_page_is_an_index_range_scan_then_reads_its_rows_by_id() {
    let pool = fresh_pool().await;
    // Index-only scans need the visibility map a vacuum sets.
    sqlx::query("VACUUM ANALYZE transactions")
        .execute(&pool)
        .await
        .unwrap();
    let mut connection = pool.acquire().await.unwrap();
    // The test tables are tiny; make the planner show the plan it would
    // pick for a large table.
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *connection)
        .await
        .unwrap();
    sqlx::query("SET enable_bitmapscan = off")
        .execute(&mut *connection)
        .await
        .unwrap();
    for credit_debit in [None, Some("CREDITO")] {
        let plan = generic_plan(
            &mut connection,
            contas::repo::STATEMENT_PAGE,
            "bigint, date, date, text, bigint, bigint",
            &[
                Some("1"),
                Some("2025-11-20"),
                Some("2026-11-20"),
                credit_debit,
                Some("51"),
                Some("4950"),
            ],
        )
        .await;
        let mut nodes = Vec::new();
        node_types(&plan, &mut nodes);
        // Every column the page's ids need, the filter's too, is in the
        // index (see STATEMENT_PAGE).
        assert!(
            nodes
                .iter()
                .any(|n| n == "Index Only Scan transactions_statement"),
            "{nodes:?}"
        );
        assert!(
            nodes.iter().any(|n| n == "Index Scan transactions_pkey"),
            "the page's rows are read by id: {nodes:?}"
        );
        assert!(
            !nodes.iter().any(|n| n.contains("Sort")),
            "a page must not sort: {nodes:?}"
        );
    }
}

fn rows_removed_by_join_filters(plan: &Value) -> f64 {
    plan["Rows Removed by Join Filter"].as_f64().unwrap_or(0.0)
        + plan["Plans"]
            .as_array()
            .into_iter()
            .flatten()
            .map(rows_removed_by_join_filters)
            .sum::<f64>()
}

/// A company holding many accounts and consenting to all of them: the list
/// looks each key up on its own, so the work grows with the consent, never
/// with holdings × keys (a join filter comparing every holding with every
/// key took 2 s for 5,000 accounts).
#[tokio::test]
async fn a_consent_of_many_accounts_is_listed_key_by_key() {
    const ACCOUNTS: i64 = 400;
    const COMPANY: &str = "99888777000161";
    let pool = fresh_pool().await;
    let brand = contas::seed::DEMO_BRAND;
    contas::seed::seed(&pool, &contas::seed::SeedConfig::demo())
        .await
        .unwrap();
    sqlx::query("INSERT INTO customers VALUES ($1, $2, 'Varejo Grande SA')")
        .bind(brand)
        .bind(COMPANY)
        .execute(&pool)
        .await
        .unwrap();
    let keys: Vec<String> = sqlx::query_scalar(
        "WITH new AS (
             INSERT INTO accounts (brand_id, legacy_key, legacy_id, type, subtype, compe_code,
                                   branch_code, number, check_digit, currency, status)
             SELECT $1, '[[\"number\",\"' || n || '\"]]', jsonb_build_array(jsonb_build_object('key', 'number', 'value', n)),
                    'CONTA_DEPOSITO_A_VISTA', 'INDIVIDUAL', '336', '0001', n, '1', 'BRL', 'AVAILABLE'
               FROM (SELECT (90000000 + i)::text AS n FROM generate_series(1, $3) i) s
             RETURNING id, legacy_key),
         held AS (INSERT INTO account_holders SELECT $1, $2, id FROM new)
         SELECT legacy_key FROM new",
    )
    .bind(brand)
    .bind(COMPANY)
    .bind(ACCOUNTS)
    .fetch_all(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();

    let mut connection = pool.acquire().await.unwrap();
    // The array as PostgreSQL writes it, to pass as a literal.
    let keys: String = sqlx::query_scalar("SELECT $1::text[]::text")
        .bind(&keys)
        .fetch_one(&mut *connection)
        .await
        .unwrap();
    let root = &generic_plan(
        &mut connection,
        contas::repo::CONSENTED_ACCOUNTS,
        "text, text, text[], text",
        &[Some(brand), Some(COMPANY), Some(&keys), None],
    )
    .await;

    assert_eq!(
        root["Actual Rows"].as_f64(),
        Some(ACCOUNTS as f64),
        "{root:#}"
    );
    let removed = rows_removed_by_join_filters(root);
    assert!(
        removed <= ACCOUNTS as f64,
        "{removed} rows compared and dropped for {ACCOUNTS} keys: {root:#}"
    );
}
