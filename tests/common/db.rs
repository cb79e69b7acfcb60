//! Each test gets its own freshly migrated database. With `DATABASE_URL`
//! set, databases are created on that server; with `CONTAS_TEST_CITUS`, on
//! a private Citus cluster ([`super::citus`]); otherwise on a private
//! cluster the suite starts from the machine's PostgreSQL binaries.

use super::citus::{self, CitusCluster};
use contas::embedded_pg::EmbeddedPostgres;
use sqlx::postgres::{PgConnectOptions, PgPool};
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
static CITUS: OnceCell<CitusCluster> = OnceCell::const_new();

/// The suite's Citus cluster, when it runs on one.
pub async fn citus_cluster() -> Option<&'static CitusCluster> {
    if !citus::enabled() {
        return None;
    }
    let dir = std::env::temp_dir().join("contas-test-citus");
    Some(
        CITUS
            .get_or_init(|| CitusCluster::ensure_running(&dir))
            .await,
    )
}

/// Options for the server's maintenance database.
async fn server() -> &'static PgConnectOptions {
    SERVER
        .get_or_init(|| async {
            let configured = match citus_cluster().await {
                Some(cluster) => Ok(cluster.coordinator()),
                None => std::env::var("DATABASE_URL").map_err(drop).map(|url| {
                    PgConnectOptions::from_str(&url)
                        .expect("DATABASE_URL is not a valid PostgreSQL URL")
                }),
            };
            let server = match configured {
                Ok(options) => options,
                Err(_) => {
                    let dir = std::env::temp_dir().join("contas-test-pg");
                    let cluster =
                        tokio::task::spawn_blocking(move || EmbeddedPostgres::ensure_running(&dir))
                            .await
                            .unwrap()
                            .expect("starting the test suite's private PostgreSQL");
                    cluster.connect_options("postgres")
                }
            };
            drop_leftovers(&server).await;
            server
        })
        .await
}

/// Drops the databases of test processes that have ended: each test leaves
/// its database behind (for a look after a failure), and a server that
/// outlives many runs, as the machine's own does, would fill its disk.
async fn drop_leftovers(server: &PgConnectOptions) {
    let mut admin = server
        .clone()
        .database("postgres")
        .connect()
        .await
        .expect("connecting to the test server");
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'contas_test_%'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("listing test databases");
    for name in names {
        let pid = name
            .split('_')
            .nth(2)
            .and_then(|pid| pid.parse::<u32>().ok());
        let ended = pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if ended {
            // Another run may be dropping it too.
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
        }
    }
    admin.close().await.ok();
}

/// Creates an empty, migrated database and returns its connection options.
pub async fn fresh_database() -> PgConnectOptions {
    let options = empty_database().await;
    let pool = PgPool::connect_with(options.clone())
        .await
        .expect("connecting to the test database");
    contas::db::migrate(&pool)
        .await
        .expect("migrating the test database");
    pool.close().await;
    options
}

/// Creates a database with no schema at all.
pub async fn empty_database() -> PgConnectOptions {
    super::logs::capture();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "contas_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros()
    );
    let server = server().await;
    let mut admin = server
        .clone()
        .database("postgres")
        .connect()
        .await
        .expect("connecting to the test server");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("creating a test database");
    admin.close().await.ok();
    if let Some(cluster) = citus_cluster().await {
        cluster.join_nodes(&name).await;
    }
    server.clone().database(&name)
}

/// A pool on a fresh database.
pub async fn fresh_pool() -> PgPool {
    contas::db::connect(fresh_database().await, 5)
        .await
        .expect("connecting to the test database")
}

pub const TABLES: [&str; 10] = [
    "brands",
    "customers",
    "accounts",
    "account_holders",
    "balances",
    "overdraft_limits",
    "transactions",
    "transaction_tombstones",
    "retention_horizon",
    "compacted_months",
];

/// Every row of every table, ids included, in a stable order: two dumps are
/// equal only if the store is exactly the same.
pub async fn dump(pool: &PgPool) -> String {
    let mut out = String::new();
    for table in TABLES {
        let rows: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT string_agg(r, E'\\n' ORDER BY r) FROM (SELECT to_jsonb(t)::text AS r FROM {table} t) x"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        out += &format!("== {table}\n{}\n", rows.unwrap_or_default());
    }
    out
}

/// Every row of every table with surrogate ids replaced by what they
/// stand for: comparable across databases.
pub async fn dump_content(pool: &PgPool) -> String {
    let account = "jsonb_build_object('account', a.brand_id || a.legacy_key)";
    let queries = [
        "SELECT to_jsonb(t) FROM brands t".to_owned(),
        "SELECT to_jsonb(t) FROM customers t".to_owned(),
        "SELECT to_jsonb(t) - 'id' FROM accounts t".to_owned(),
        // A holder row names its account by brand and key itself.
        "SELECT to_jsonb(t) - 'account_id' FROM account_holders t".to_owned(),
        format!(
            "SELECT to_jsonb(t) - 'account_id' || {account} FROM balances t JOIN accounts a ON a.id = t.account_id"
        ),
        format!(
            "SELECT to_jsonb(t) - 'account_id' || {account} FROM overdraft_limits t JOIN accounts a ON a.id = t.account_id"
        ),
        format!(
            "SELECT to_jsonb(t) - 'id' - 'account_id' || {account} FROM transactions t JOIN accounts a ON a.id = t.account_id"
        ),
        format!(
            "SELECT to_jsonb(t) - 'account_id' - 'removed_at' || {account} FROM transaction_tombstones t JOIN accounts a ON a.id = t.account_id"
        ),
        "SELECT to_jsonb(t) FROM retention_horizon t".to_owned(),
    ];
    let mut out = String::new();
    for q in queries {
        let rows: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT string_agg(r::text, E'\\n' ORDER BY r::text) FROM ({q}) x(r)"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        out += &format!("{}\n==\n", rows.unwrap_or_default());
    }
    out
}

/// Makes `pool`'s database unavailable: its connections, the service's
/// included, are killed and new ones refused.
pub async fn take_database_away(pool: &PgPool) {
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut admin =
        sqlx::PgConnection::connect_with(&(*pool.connect_options()).clone().database("postgres"))
            .await
            .unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&database)
        .execute(&mut admin)
        .await
        .unwrap();
}
