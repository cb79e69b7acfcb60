//! The statement query must read its page straight off the
//! `transactions_statement` index: no sort of an account's history, and a
//! deep page skips index entries only (an index-only scan), never rows.

mod common;

use common::db::fresh_pool;
use serde_json::Value;

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
        let explain = format!("EXPLAIN (FORMAT JSON) {}", contas::repo::STATEMENT_PAGE);
        let plan: Value = sqlx::query_scalar(&explain)
            .bind(1_i64)
            .bind(chrono::NaiveDate::from_ymd_opt(2025, 11, 20).unwrap())
            .bind(chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
            .bind(credit_debit)
            .bind(51_i64)
            .bind(4950_i64)
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        let mut nodes = Vec::new();
        node_types(&plan[0]["Plan"], &mut nodes);
        // Without a filter every column the page's ids need is in the index;
        // the filter's column is not (see STATEMENT_PAGE).
        let expected = match credit_debit {
            None => "Index Only Scan transactions_statement",
            Some(_) => "Index Scan transactions_statement",
        };
        assert!(nodes.iter().any(|n| n == expected), "{nodes:?}");
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
