//! The store on Citus (distributed PostgreSQL). With `CONTAS_TEST_CITUS`
//! set the whole suite runs on a private Citus cluster (`common::citus`);
//! these tests check the layout itself there, and what `--distributed`
//! says on a server without Citus.

use crate::common;

use common::citus;
use common::db::{fresh_database, fresh_pool};
use sqlx::{ConnectOptions, PgPool};
use std::collections::BTreeMap;
use std::process::Command;

/// Each table's Citus kind, distribution column and co-location group.
async fn layout(pool: &PgPool) -> BTreeMap<String, (String, String, i32)> {
    let rows: Vec<(String, String, String, i32)> = sqlx::query_as(
        "SELECT table_name::text, citus_table_type, distribution_column, colocation_id::int
           FROM citus_tables",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(table, kind, column, group)| (table, (kind, column, group)))
        .collect()
}

/// Skips a test of the cluster's layout on plain PostgreSQL, saying so.
fn on_citus() -> bool {
    if !citus::enabled() {
        eprintln!("not on Citus (CONTAS_TEST_CITUS unset): nothing to check");
    }
    citus::enabled()
}

#[tokio::test]
async fn the_schema_is_distributed_by_account_and_by_document() {
    if !on_citus() {
        return;
    }
    let pool = fresh_pool().await;
    let layout = layout(&pool).await;
    let by_account = &layout["accounts"];
    assert_eq!(
        (by_account.0.as_str(), by_account.1.as_str()),
        ("distributed", "id")
    );
    let months: Vec<&String> = layout
        .keys()
        .filter(|t| t.starts_with("transactions_"))
        .collect();
    assert!(
        months.len() >= 25,
        "every month made by migrate: {months:?}"
    );
    for table in [
        "balances",
        "overdraft_limits",
        "transactions",
        "transaction_tombstones",
    ]
    .iter()
    .map(|t| t.to_string())
    .chain(months.into_iter().cloned())
    {
        let (kind, column, group) = &layout[&table];
        assert_eq!(
            (kind.as_str(), column.as_str(), *group),
            ("distributed", "account_id", by_account.2),
            "{table} lives with its account"
        );
    }
    let by_document = &layout["customers"];
    assert_eq!(
        (by_document.0.as_str(), by_document.1.as_str()),
        ("distributed", "document")
    );
    let holders = &layout["account_holders"];
    assert_eq!(
        (holders.0.as_str(), holders.1.as_str(), holders.2),
        ("distributed", "document", by_document.2),
        "a customer's holder rows live with the customer"
    );
    for table in [
        "brands",
        "brand_feeds",
        "retention_horizon",
        "compacted_months",
        "month_id_filters",
    ] {
        assert_eq!(layout[table].0, "reference", "{table}");
    }
    let workers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT nodeid) FROM pg_dist_shard_placement p
           JOIN pg_dist_node n USING (nodename, nodeport) WHERE n.noderole = 'primary' AND n.groupid > 0",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(workers, 2, "shards are on both workers");
}

/// The suite makes its databases side by side; each must come out a whole
/// member of the cluster, with both workers in its metadata, however the
/// joins interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn databases_joining_side_by_side_all_join_the_cluster() {
    let Some(cluster) = common::db::citus_cluster().await else {
        eprintln!("not on Citus (CONTAS_TEST_CITUS unset): nothing to check");
        return;
    };
    let making: Vec<_> = (0..8)
        .map(|_| tokio::spawn(common::db::empty_database()))
        .collect();
    let mut names = Vec::new();
    for made in making {
        let options = made.await.unwrap();
        names.push(options.get_database().unwrap().to_owned());
    }
    for name in &names {
        let mut c = cluster
            .coordinator()
            .database(name)
            .connect()
            .await
            .unwrap();
        let workers: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_dist_node WHERE groupid <> 0 AND isactive")
                .fetch_one(&mut c)
                .await
                .unwrap();
        assert_eq!(workers, 2, "{name}");
    }
}

#[tokio::test]
async fn migrating_again_leaves_the_layout_as_it_is() {
    if !on_citus() {
        return;
    }
    let pool = fresh_pool().await;
    let before = layout(&pool).await;
    contas::db::migrate(&pool).await.unwrap();
    assert!(
        !contas::store::distribution::ensure(&pool).await.unwrap(),
        "distributed once"
    );
    assert_eq!(layout(&pool).await, before);
}

#[tokio::test]
async fn a_month_made_later_lives_with_its_accounts() {
    if !on_citus() {
        return;
    }
    let pool = fresh_pool().await;
    let made: bool = sqlx::query_scalar("SELECT transactions_ensure_month('2041-03-15')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(made);
    let layout = layout(&pool).await;
    assert_eq!(
        layout["transactions_2041_03"],
        (
            "distributed".to_owned(),
            "account_id".to_owned(),
            layout["accounts"].2
        )
    );
}

fn migrate(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_contas"))
        .arg("migrate")
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn migrate_says_whether_the_schema_is_distributed() {
    let url = fresh_database().await.to_url_lossy().to_string();
    let out = migrate(&url, &["--distributed"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if citus::enabled() {
        assert!(out.status.success(), "{stderr}");
        assert_eq!(
            stderr.trim(),
            "migrations applied; the schema is distributed (Citus)"
        );
        return;
    }
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("adding the citus extension (does the server preload Citus?)"),
        "{stderr}"
    );
    let plain = migrate(&url, &[]);
    assert_eq!(
        String::from_utf8_lossy(&plain.stderr).trim(),
        "migrations applied",
        "plain PostgreSQL is migrated as ever"
    );
}

/// The shards (Citus "tasks") each of `plan`'s distributed scans reaches.
fn task_counts(plan: &serde_json::Value, out: &mut Vec<i64>) {
    match plan {
        serde_json::Value::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value.as_i64()) {
                    ("Task Count", Some(count)) => out.push(count),
                    _ => task_counts(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| task_counts(item, out)),
        _ => {}
    }
}

/// Citus's plan of `sql` with `params` (literals, cast by `types`), as the
/// service runs it (a prepared statement).
async fn distributed_plan(
    connection: &mut sqlx::PgConnection,
    sql: &str,
    types: &str,
    params: &[Option<&str>],
) -> serde_json::Value {
    use sqlx::AssertSqlSafe;
    sqlx::query(AssertSqlSafe(format!("PREPARE probe({types}) AS {sql}")))
        .execute(&mut *connection)
        .await
        .unwrap();
    let literals: Vec<String> = params
        .iter()
        .map(|p| {
            p.map_or("NULL".to_owned(), |v| {
                format!("'{}'", v.replace('\'', "''"))
            })
        })
        .collect();
    let plan: serde_json::Value = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (FORMAT JSON) EXECUTE probe({})",
        literals.join(", ")
    )))
    .fetch_one(&mut *connection)
    .await
    .unwrap_or_else(|e| panic!("{e}: {sql}"));
    sqlx::query("DEALLOCATE probe")
        .execute(&mut *connection)
        .await
        .unwrap();
    plan
}

/// In the fixture bank: the id and key of Maria's checking account, and the
/// keys of all her accounts.
async fn marias_accounts(pool: &PgPool) -> (i64, String, Vec<String>) {
    use common::fixtures::{MARIA, MARIA_CHECKING};
    let (account, key): (i64, String) = sqlx::query_as(
        "SELECT account_id, legacy_key FROM account_holders WHERE document = $1 AND number = $2",
    )
    .bind(MARIA)
    .bind(MARIA_CHECKING)
    .fetch_one(pool)
    .await
    .unwrap();
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT legacy_key FROM account_holders WHERE document = $1")
            .bind(MARIA)
            .fetch_all(pool)
            .await
            .unwrap();
    (account, key, keys)
}

/// Every query the API runs reaches one shard: the owner's (discovery, the
/// account list, a per-account operation's first step, the holder check)
/// or the account's (balances, limits, a statement page).
#[tokio::test]
async fn every_query_of_the_api_reaches_one_shard() {
    use common::fixtures::{BRAND, MARIA, load_bank};
    use contas::repo;
    if !on_citus() {
        return;
    }
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    let (account, key, keys) = marias_accounts(&pool).await;
    // The keys as PostgreSQL writes an array, to pass as a literal.
    let keys: String = sqlx::query_scalar("SELECT $1::text[]::text")
        .bind(&keys)
        .fetch_one(&pool)
        .await
        .unwrap();
    let account = account.to_string();
    let today = chrono::Utc::now().date_naive();
    let year_ago = (today - chrono::Days::new(365)).to_string();
    let today = today.to_string();
    let owner = [Some(BRAND), Some(MARIA)];
    let cases: [(&str, &str, &str, Vec<Option<&str>>); 10] = [
        (
            "discovery",
            repo::DISCOVERABLE_ACCOUNTS,
            "text, text",
            owner.to_vec(),
        ),
        ("a brand", repo::BRAND, "text", vec![Some(BRAND)]),
        (
            "customer name",
            repo::CUSTOMER_NAME,
            "text, text",
            owner.to_vec(),
        ),
        (
            "/accounts",
            repo::CONSENTED_ACCOUNTS,
            "text, text, text[], text",
            vec![Some(BRAND), Some(MARIA), Some(&keys), None],
        ),
        (
            "an owned account",
            repo::OWNED_ACCOUNT,
            "text, text, text",
            vec![Some(BRAND), Some(MARIA), Some(&key)],
        ),
        (
            "balances",
            repo::ACCOUNT_BALANCES,
            "int8",
            vec![Some(&account)],
        ),
        ("limits", repo::ACCOUNT_LIMITS, "int8", vec![Some(&account)]),
        (
            "a statement page's keys",
            repo::STATEMENT_PAGE_KEYS,
            "int8, date, date, text, int8, int8",
            vec![
                Some(&account),
                Some(&year_ago),
                Some(&today),
                None,
                Some("26"),
                Some("0"),
            ],
        ),
        (
            "a statement page's rows",
            repo::STATEMENT_PAGE_ROWS,
            "int8, date, date, int8[]",
            vec![
                Some(&account),
                Some(&year_ago),
                Some(&today),
                Some("{1,2,3}"),
            ],
        ),
        (
            "the holder check",
            repo::HOLDS_AN_ACCOUNT,
            "text, text",
            owner.to_vec(),
        ),
    ];
    // Planned for these values (the plan Citus prunes to the values' shard);
    // `the_service_runs_every_operation_on_one_shard` runs them as served.
    let mut connection = pool.acquire().await.unwrap();
    for (name, sql, types, params) in cases {
        let plan = distributed_plan(&mut connection, sql, types, &params).await;
        let mut counts = Vec::new();
        task_counts(&plan, &mut counts);
        assert_eq!(counts, [1], "{name} reaches one shard: {plan:#}");
    }
}

/// What Citus counted of the queries it ran in `pool`'s database: queries
/// that reached one shard, and queries that reached several.
async fn shard_counters(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT query_execution_single_shard, query_execution_multi_shard
           FROM citus_stat_counters((SELECT oid FROM pg_database WHERE datname = current_database()))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Every operation as the service runs it (its pool, generic plans, the
/// repository's own statements): each statement reaches one shard, per
/// Citus's own counters, and none reaches several.
#[tokio::test]
async fn the_service_runs_every_operation_on_one_shard() {
    use common::fixtures::{BRAND, MARIA, load_bank};
    use contas::domain::identity::{BrandId, Cpf, Document};
    use contas::repo::{Repository, StatementQuery};
    if !on_citus() {
        return;
    }
    let options = fresh_database().await;
    let pool = contas::db::connect(options.clone(), 2).await.unwrap();
    load_bank(&pool).await;
    let repo = Repository::new(
        contas::db::ServingPool {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(5),
            statement_timeout: std::time::Duration::from_secs(5),
        }
        .open(options),
    );
    let brand: BrandId = BRAND.parse().unwrap();
    let maria: Document = MARIA.parse().unwrap();
    let cpf: Cpf = MARIA.parse().unwrap();
    let (account, key, keys) = marias_accounts(&pool).await;
    let today = chrono::Utc::now().date_naive();
    let page = StatementQuery {
        account_id: account,
        from: today - chrono::Days::new(365),
        to: today,
        credit_debit: None,
        limit: 26,
        offset: 0,
    };
    // Each operation twice: the second run is on the statement's cached
    // generic plan.
    for round in 0..2 {
        let (single_before, multi_before) = shard_counters(&pool).await;
        assert!(
            !repo
                .discoverable_accounts(&brand, &maria)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(repo.customer_name(&brand, &cpf).await.unwrap().is_some());
        assert_eq!(
            repo.consented_accounts(&brand, &maria, &keys, None)
                .await
                .unwrap()
                .len(),
            4
        );
        assert!(
            repo.owned_account(&brand, &maria, &key)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            repo.owned_balances(&brand, &maria, &key)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            repo.owned_overdraft_limits(&brand, &maria, &key)
                .await
                .unwrap()
                .is_some()
        );
        assert!(!repo.statement(&page).await.unwrap().is_empty());
        assert!(repo.is_account_holder(&brand, &maria).await.unwrap());
        let (single, multi) = shard_counters(&pool).await;
        // discovery 1, name 1, list 2, account 1, balances 2, limits 2,
        // page 2 (its keys, then their rows), holder check 1; the counters'
        // own reads are not counted.
        assert_eq!(
            (single - single_before, multi - multi_before),
            (12, 0),
            "round {round}: statements on one shard, on several"
        );
    }
}

/// Every request of a customer's consent to all their accounts: the list,
/// discovery, the holder check, and each account's identification,
/// balances, limits, statement and current statement.
fn requests_of(
    cpf: &str,
    accounts: &[serde_json::Value],
) -> Vec<(&'static str, serde_json::Value)> {
    use common::fixtures::{ALL_ACCOUNT_PERMISSIONS, BRAND, consent, request_meta};
    use serde_json::json;
    let resources: Vec<_> = accounts
        .iter()
        .map(|id| json!({"type": "ACCOUNT", "resourceLegacyId": id}))
        .collect();
    let body = json!({
        "consent": consent(cpf, None, &ALL_ACCOUNT_PERMISSIONS, resources),
        "requestMeta": request_meta(BRAND),
    });
    let mut requests = vec![
        ("/accounts", body.clone()),
        ("/account-discovery", body.clone()),
        (
            "/check-account-holder",
            json!({"data": {"loggedUserDocument": cpf}}),
        ),
    ];
    for id in accounts {
        let mut one = body.clone();
        one["accountId"] = id.clone();
        for path in [
            "/find",
            "/balances",
            "/overdraft-limits",
            "/transactions",
            "/transactions-current",
        ] {
            requests.push((path, one.clone()));
        }
    }
    requests
}

/// A response as it must stay: its status and body, but for the time it
/// was made (an error's `requestDateTime` is the wall clock's).
fn answer(response: common::app::TestResponse) -> (u16, serde_json::Value) {
    let mut body = response.body;
    if let Some(meta) = body.get_mut("meta").and_then(|m| m.as_object_mut()) {
        meta.remove("requestDateTime");
    }
    (response.status, body)
}

/// Scaling out while serving: a third worker joins a cluster under load
/// and Citus's rebalancer moves shards onto it (`citus_rebalance_start`)
/// while every customer's every request runs in a loop. No request fails,
/// and every answer stays what it was before the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_added_while_serving_takes_shards_and_no_request_notices() {
    use common::app::TestApp;
    use common::fixtures::{BRAND, load_bank, now};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let Some(cluster) = common::db::citus_cluster().await else {
        eprintln!("not on Citus (CONTAS_TEST_CITUS unset): nothing to check");
        return;
    };
    let options = fresh_database().await;
    let database = options.get_database().unwrap().to_owned();
    let pool = contas::db::connect(options, 8).await.unwrap();
    load_bank(&pool).await;
    let app = Arc::new(TestApp::spawn(pool.clone(), now()).await);

    // Every person holding an account in the brand, with all their accounts.
    let holders: Vec<(String, Vec<serde_json::Value>)> = sqlx::query_as(
        "SELECT document, array_agg(legacy_id ORDER BY legacy_key) FROM account_holders
          WHERE brand_id = $1 AND length(document) = 11 GROUP BY document ORDER BY document",
    )
    .bind(BRAND)
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .map(
        |(cpf, ids): (String, Vec<sqlx::types::Json<serde_json::Value>>)| {
            (cpf, ids.into_iter().map(|id| id.0).collect())
        },
    )
    .collect();
    let mut requests = Vec::new();
    for (cpf, accounts) in &holders {
        requests.extend(requests_of(cpf, accounts));
    }
    let mut expected = Vec::new();
    for (path, body) in &requests {
        let response = if *path == "/check-account-holder" {
            app.check_account_holder(BRAND, body).await
        } else {
            app.post(path, body).await
        };
        expected.push(answer(response));
    }
    let work = Arc::new((requests, expected));

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (app, work, stop, served) =
                (app.clone(), work.clone(), stop.clone(), served.clone());
            tokio::spawn(async move {
                let (requests, expected) = &*work;
                let mut i = client;
                while !stop.load(Ordering::Relaxed) {
                    let (path, body) = &requests[i % requests.len()];
                    let response = if *path == "/check-account-holder" {
                        app.check_account_holder(BRAND, body).await
                    } else {
                        app.post(path, body).await
                    };
                    assert_eq!(
                        answer(response),
                        expected[i % requests.len()],
                        "{path} answered otherwise during the move"
                    );
                    served.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();

    let spare = cluster.add_spare_worker(&database).await;
    let before_move = served.load(Ordering::Relaxed);
    // Reads go on while a shard moves; imports would wait for it (Citus's
    // default moves by logical replication, which needs wal_level = logical
    // and lets writes go on too).
    sqlx::query("SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("SELECT citus_rebalance_wait()")
        .execute(&pool)
        .await
        .unwrap();
    let during_move = served.load(Ordering::Relaxed) - before_move;
    // Served a while on the new layout too.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client saw a failure");
    }

    let moved: i64 = sqlx::query_scalar("SELECT count(*) FROM citus_shards WHERE nodename = $1")
        .bind(&spare)
        .fetch_one(&pool)
        .await
        .unwrap();
    let job: String = sqlx::query_scalar(
        "SELECT state::text FROM pg_dist_background_job ORDER BY job_id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(job, "finished");
    // Accounts the clients read now live on the new worker.
    let accounts_moved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_holders h
           JOIN citus_shards s
             ON s.shardid = get_shard_id_for_distribution_column('accounts', h.account_id)
          WHERE h.brand_id = $1 AND length(h.document) = 11 AND s.nodename = $2",
    )
    .bind(BRAND)
    .bind(&spare)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(accounts_moved > 0, "no account the clients read moved");
    assert!(moved > 0, "the rebalancer moved no shard to the new worker");
    assert!(during_move > 0, "no request ran while shards moved");
    eprintln!("{moved} shards moved; {during_move} requests served during the move");
    drop(app);
    pool.close().await;
    cluster.drop_from_spare_worker(&database).await;
}
