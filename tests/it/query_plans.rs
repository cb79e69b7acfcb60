//! The statement query must read its page straight off the primary key of
//! `transactions`, in the month partitions of its window only, newest
//! first: no sort of an account's history, and a deep page skips index
//! entries only (index-only scans), never rows.
//! The service's connections force generic plans (`ServingPool`), so each
//! check here is of the generic plan, the one the service runs.

use crate::common;

use chrono::NaiveDate;
use common::db::fresh_pool;
use serde_json::Value;
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::AssertSqlSafe;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A SQL literal (the arguments here are the tests' own values).
fn literal(value: Option<&str>) -> String {
    value.map_or("NULL".to_owned(), |v| {
        format!("'{}'", v.replace('\'', "''"))
    })
}

/// These tests read PostgreSQL's own plans. On Citus the coordinator's plan
/// is a distributed scan whose work runs on a shard, which these shapes do
/// not describe; `citus::every_query_of_the_api_reaches_one_shard` checks
/// the plans there, and the shard's own plan is PostgreSQL's, checked here.
fn on_citus() -> bool {
    common::citus::enabled()
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
    sqlx::raw_sql(AssertSqlSafe(format!("PREPARE {name}({types}) AS {sql}")))
        .execute(&mut *connection)
        .await
        .unwrap();
    let args: Vec<String> = args.iter().map(|a| literal(*a)).collect();
    let plan: Value = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}({})",
        args.join(", ")
    )))
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
    // On Citus each call is planned with its values (`db::Connector`).
    let expected = if on_citus() {
        "force_custom_plan"
    } else {
        "force_generic_plan"
    };
    assert_eq!(mode, expected);
}

/// One node of a plan, as the checks below read it.
#[derive(Debug)]
struct Node {
    kind: String,
    relation: String,
    index: String,
    /// 0: never executed (pruned while running).
    loops: f64,
    rows: f64,
    /// Partitions pruned when the statement started.
    subplans_removed: u64,
}

fn nodes(plan: &Value, out: &mut Vec<Node>) {
    let text = |key: &str| plan[key].as_str().unwrap_or_default().to_owned();
    out.push(Node {
        kind: text("Node Type"),
        relation: text("Relation Name"),
        index: text("Index Name"),
        loops: plan["Actual Loops"].as_f64().unwrap_or(0.0),
        rows: plan["Actual Rows"].as_f64().unwrap_or(0.0),
        subplans_removed: plan["Subplans Removed"].as_u64().unwrap_or(0),
    });
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

/// The month of a partition's name, `transactions_2026_11` → 2026-11-01.
fn month_of(relation: &str) -> NaiveDate {
    NaiveDate::parse_from_str(
        &format!("{}_01", relation.trim_start_matches("transactions_")),
        "%Y_%m_%d",
    )
    .unwrap_or_else(|_| panic!("not a month partition: {relation}"))
}

const ACCOUNT: i64 = 1;

/// Account 1 with two entries a day from 14 months back to 2 months ahead
/// of today, in the months' partitions, vacuumed (index-only scans need the
/// visibility map) and analyzed.
async fn statement_store() -> (sqlx::PgPool, NaiveDate) {
    let pool = fresh_pool().await;
    let today = contas::domain::time::brasilia_date(chrono::Utc::now());
    let (from, to) = (
        today - chrono::Months::new(14),
        today + chrono::Months::new(2),
    );
    sqlx::raw_sql(
        "INSERT INTO brands VALUES ('b', 'Banco', '21128159000166');
         INSERT INTO customers VALUES ('b', '52998224725', 'Maria');
         INSERT INTO accounts (brand_id, legacy_key, legacy_id, type, subtype, compe_code, branch_code,
                               number, check_digit, currency, status)
         VALUES ('b', '[[\"n\",\"1\"]]', '[{\"key\":\"n\",\"value\":\"1\"}]', 'CONTA_DEPOSITO_A_VISTA',
                 'INDIVIDUAL', '001', '0001', '12345678', '1', 'BRL', 'AVAILABLE');",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "SELECT transactions_ensure_month(d::date) FROM generate_series($1::date, $2::date, '1 month') d",
    )
    .bind(from)
    .bind(to)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO transactions (account_id, legacy_key, transaction_id, completed_authorised_payment_type,
                                   credit_debit_type, transaction_name, type, amount, currency,
                                   transaction_date_time, booking_date)
         SELECT $1, '[[\"id\",\"' || n || '\"]]', jsonb_build_array(jsonb_build_object('key', 'id', 'value', n::text)),
                'TRANSACAO_EFETIVADA', CASE WHEN n % 2 = 0 THEN 'CREDITO' ELSE 'DEBITO' END, 'PIX', 'PIX', 1.00, 'BRL',
                d + interval '12 hours' + n * interval '1 second', d::date
           FROM generate_series($2::date, $3::date, '1 day') d, generate_series(1, 2) k,
                LATERAL (SELECT (d::date - $2::date) * 2 + k AS n) x",
    )
    .bind(ACCOUNT)
    .bind(from)
    .bind(to)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("VACUUM ANALYZE transactions")
        .execute(&pool)
        .await
        .unwrap();
    (pool, today)
}

/// A connection whose planner picks what it would for a large table (the
/// test's months hold a few dozen entries: reading all of them would win).
async fn large_table_planner(pool: &sqlx::PgPool) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    let mut connection = pool.acquire().await.unwrap();
    sqlx::raw_sql("SET enable_seqscan = off; SET enable_bitmapscan = off;")
        .execute(&mut *connection)
        .await
        .unwrap();
    connection
}

/// The statement page's generic plan, run for a window and a page.
async fn page_plan(
    connection: &mut sqlx::PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    credit_debit: Option<&str>,
    limit: i64,
    offset: i64,
) -> Vec<Node> {
    let (from, to, limit, offset) = (
        from.to_string(),
        to.to_string(),
        limit.to_string(),
        offset.to_string(),
    );
    let plan = generic_plan(
        connection,
        contas::repo::STATEMENT_PAGE,
        "bigint, date, date, text, bigint, bigint",
        &[
            Some(&ACCOUNT.to_string()),
            Some(&from),
            Some(&to),
            credit_debit,
            Some(&limit),
            Some(&offset),
        ],
    )
    .await;
    let mut out = Vec::new();
    nodes(&plan, &mut out);
    out
}

/// Months a plan's `kind` scans read from (executed at least once).
fn scanned_months(plan: &[Node], kind: &str) -> Vec<NaiveDate> {
    plan.iter()
        .filter(|n| n.kind == kind && n.relation.starts_with("transactions_") && n.loops > 0.0)
        .map(|n| month_of(&n.relation))
        .collect()
}

#[track_caller]
fn assert_no_sort(plan: &[Node]) {
    let sorting: Vec<&Node> = plan
        .iter()
        .filter(|n| n.kind.contains("Sort") || n.kind == "Merge Append")
        .collect();
    assert!(sorting.is_empty(), "a page must not sort: {sorting:?}");
}

/// A 12-month window: the months outside it are pruned when the statement
/// starts; inside it, page 1 reads the newest months' keys backwards, index
/// entries only, and stops at the page's end; the page's rows are then read
/// by key, each in its own month (the other months pruned for that row).
#[tokio::test]
async fn a_page_of_a_12_month_window_reads_only_its_months_newest_first() {
    if on_citus() {
        return;
    }
    let (pool, today) = statement_store().await;
    let mut connection = large_table_planner(&pool).await;
    let from = today - chrono::Months::new(12);
    let existing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'transactions'::regclass",
    )
    .fetch_one(&mut *connection)
    .await
    .unwrap();
    for credit_debit in [None, Some("CREDITO")] {
        let plan = page_plan(&mut connection, from, today, credit_debit, 26, 0).await;
        assert_no_sort(&plan);
        // 13 months reach the window (12 back, this one); the rest of the
        // partitions were pruned at the start, for both of the page's scans.
        let pruned: Vec<u64> = plan
            .iter()
            .map(|n| n.subplans_removed)
            .filter(|&n| n > 0)
            .collect();
        assert_eq!(
            pruned,
            [existing as u64 - 13, existing as u64 - 13],
            "{plan:#?}"
        );
        // Read backwards from the newest month, one month after the other,
        // no more entries than the page (this month may hold fewer).
        let months = scanned_months(&plan, "Index Only Scan");
        let newest = contas::domain::month::Month::of(today);
        let expected: Vec<NaiveDate> = (0..months.len() as i32)
            .map(|n| newest.plus(-n).first_day())
            .collect();
        assert_eq!(months, expected, "{plan:#?}");
        let read: f64 = plan
            .iter()
            .filter(|n| n.kind == "Index Only Scan")
            .map(|n| n.rows)
            .sum();
        assert_eq!(read, 26.0, "{plan:#?}");
        assert!(
            plan.iter()
                .filter(|n| n.kind == "Index Only Scan")
                .all(|n| n.index == format!("{}_pkey", n.relation)),
            "{plan:#?}"
        );
        let fetches: Vec<&Node> = plan
            .iter()
            .filter(|n| n.kind == "Index Scan" && n.loops > 0.0)
            .collect();
        assert!(
            fetches
                .iter()
                .all(|n| n.index == format!("{}_pkey", n.relation)),
            "{fetches:#?}"
        );
        let fetched: f64 = fetches.iter().map(|n| n.rows * n.loops).sum();
        let looked_up: f64 = fetches.iter().map(|n| n.loops).sum();
        assert_eq!(
            (fetched, looked_up),
            (26.0, 26.0),
            "each row read once, in one month"
        );
    }
}

/// A 7-day window (`/transactions-current`) keeps one or two months.
#[tokio::test]
async fn a_7_day_window_keeps_at_most_two_months() {
    if on_citus() {
        return;
    }
    let (pool, today) = statement_store().await;
    let mut connection = large_table_planner(&pool).await;
    let plan = page_plan(
        &mut connection,
        today - chrono::Days::new(6),
        today,
        None,
        26,
        0,
    )
    .await;
    assert_no_sort(&plan);
    let existing: u64 = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'transactions'::regclass",
    )
    .fetch_one(&mut *connection)
    .await
    .unwrap() as u64;
    let kept = existing - plan.iter().map(|n| n.subplans_removed).max().unwrap();
    assert!((1..=2).contains(&kept), "{kept} months kept: {plan:#?}");
}

/// A deep page skips index entries only, newest month first, and reads no
/// month older than the page: the months below it are never executed.
#[tokio::test]
async fn a_deep_page_skips_index_entries_month_by_month_newest_first() {
    if on_citus() {
        return;
    }
    let (pool, today) = statement_store().await;
    let mut connection = large_table_planner(&pool).await;
    let from = today - chrono::Months::new(12);
    // About four months of entries (two a day) before the page.
    let plan = page_plan(&mut connection, from, today, None, 51, 250).await;
    assert_no_sort(&plan);
    let months = scanned_months(&plan, "Index Only Scan");
    let newest = contas::domain::month::Month::of(today);
    let expected: Vec<NaiveDate> = (0..months.len() as i32)
        .map(|n| newest.plus(-n).first_day())
        .collect();
    assert_eq!(months, expected, "newest first, consecutive: {plan:#?}");
    assert!((4..=6).contains(&months.len()), "{months:?}");
    let skipped: f64 = plan
        .iter()
        .filter(|n| n.kind == "Index Only Scan")
        .map(|n| n.rows)
        .sum();
    assert!(skipped >= 250.0 + 51.0, "{skipped}");
    assert!(
        plan.iter()
            .filter(|n| n.kind == "Index Only Scan")
            .all(|n| n.rows == 0.0 || n.index.ends_with("_pkey")),
        "{plan:#?}"
    );
    let fetched: f64 = plan
        .iter()
        .filter(|n| n.kind == "Index Scan")
        .map(|n| n.rows * n.loops)
        .sum();
    assert_eq!(
        fetched, 51.0,
        "only the page's rows are read from the table"
    );
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
    if on_citus() {
        return;
    }
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
             RETURNING *),
         held AS (INSERT INTO account_holders (document, account_id, holders, brand_id, legacy_key,
                                               legacy_id, type, subtype, compe_code, branch_code,
                                               number, check_digit, currency, status)
                  SELECT $2, id, jsonb_build_array(jsonb_build_array($2, 'Varejo Grande SA')),
                         brand_id, legacy_key, legacy_id, type, subtype, compe_code, branch_code,
                         number, check_digit, currency, status
                    FROM new)
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
