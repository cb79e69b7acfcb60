//! Each test gets its own freshly migrated database: a copy of a database
//! the test process migrates once (its template), which is far quicker than
//! migrating each one (on Citus, where each copy is made on every node, it
//! is the difference between two seconds a test and a fraction of one).
//! With `DATABASE_URL` set, databases are created on that server; with
//! `CONTAS_TEST_CITUS`, on a private Citus cluster ([`super::citus`]);
//! otherwise on a private cluster the suite starts from the machine's
//! PostgreSQL binaries.

use super::citus::{self, CitusCluster};
use contas::embedded_pg::EmbeddedPostgres;
use sqlx::postgres::{PgConnectOptions, PgPool};
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
static CITUS: OnceCell<CitusCluster> = OnceCell::const_new();
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

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

/// Options for the server's maintenance database (on Citus, the
/// coordinator's).
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
            start_dropping(nodes_of(&server).await);
            server
        })
        .await
}

/// The maintenance databases of every server a test database lives on:
/// the one server, or each node of the Citus cluster, coordinator first.
async fn nodes_of(server: &PgConnectOptions) -> Vec<PgConnectOptions> {
    match citus_cluster().await {
        Some(cluster) => cluster.nodes(),
        None => vec![server.clone().database("postgres")],
    }
}

async fn nodes() -> Vec<PgConnectOptions> {
    nodes_of(server().await).await
}

/// A session on a node's maintenance database for CREATE, ALTER and DROP
/// DATABASE. On Citus those stay on the node they run on: the harness makes
/// each database on every node itself (Citus propagates CREATE DATABASE only
/// from `template1`).
async fn admin(node: &PgConnectOptions) -> sqlx::Result<PgConnection> {
    let mut admin = node.connect().await?;
    if citus::enabled() {
        sqlx::raw_sql(
            "SET citus.enable_ddl_propagation = off;
             SET citus.enable_create_database_propagation = off",
        )
        .execute(&mut admin)
        .await?;
    }
    Ok(admin)
}

/// Test databases are dropped once their test has passed: a failed test's
/// is kept for a look, until a later run finds its process ended. On Citus
/// this is what keeps the nodes light: every database there has Citus's
/// maintenance daemon on each node, and a drop waits for every process of
/// the node to acknowledge it, so a run that kept all its databases would
/// slow the next run's every drop (and its own statements) to seconds.
///
/// Drops run on a thread of their own, fed by the tests' threads as they
/// end: its first job is the databases of ended processes.
fn start_dropping(nodes: Vec<PgConnectOptions>) {
    let (sender, passed) = std::sync::mpsc::channel::<Vec<String>>();
    DROPPER
        .set(std::sync::Mutex::new(sender))
        .expect("one dropper per process");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for dropping test databases");
        runtime.block_on(async {
            let mut leftovers = Vec::new();
            for node in &nodes {
                leftovers.extend(of_ended_processes(node).await);
            }
            leftovers.sort();
            leftovers.dedup();
            drop_databases(&nodes, &leftovers).await;
            while let Ok(names) = passed.recv() {
                drop_databases(&nodes, &names).await;
            }
        });
    });
}

static DROPPER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Vec<String>>>> =
    std::sync::OnceLock::new();

/// The databases a test thread made, and whether it failed: at the end of
/// the thread (the test), they are handed to the dropper if it did not.
#[derive(Default)]
struct MadeByThisTest {
    names: Vec<String>,
    failed: bool,
}

impl Drop for MadeByThisTest {
    fn drop(&mut self) {
        if self.failed || self.names.is_empty() {
            return;
        }
        if let Some(dropper) = DROPPER.get() {
            let names = std::mem::take(&mut self.names);
            let _ = dropper.lock().map(|dropper| dropper.send(names));
        }
    }
}

thread_local! {
    static MADE_BY_THIS_TEST: std::cell::RefCell<MadeByThisTest> =
        std::cell::RefCell::default();
}

/// Counts `name` as made by the running test, to drop if it passes.
fn made_by_this_test(name: &str) {
    static MARKS_FAILURES: std::sync::Once = std::sync::Once::new();
    MARKS_FAILURES.call_once(|| {
        // A test fails by panicking on its own thread (a panic in a task it
        // spawned reaches it as a failed join).
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = MADE_BY_THIS_TEST.try_with(|made| made.borrow_mut().failed = true);
            report(info);
        }));
    });
    MADE_BY_THIS_TEST.with(|made| made.borrow_mut().names.push(name.to_owned()));
}

/// The test databases on `node` whose process has ended.
async fn of_ended_processes(node: &PgConnectOptions) -> Vec<String> {
    let Ok(mut admin) = admin(node).await else {
        return Vec::new();
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'contas_test_%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap_or_default();
    admin.close().await.ok();
    names
        .into_iter()
        .filter(|name| {
            let pid = name
                .split('_')
                .nth(2)
                .and_then(|pid| pid.parse::<u32>().ok());
            pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        })
        .collect()
}

/// Drops `names` on every node. Each is first closed to new sessions and
/// its sessions ended on every node, so that no node's Citus daemon connects
/// to it again from another node while it is being dropped (a drop then
/// waits for that session to end). Another run may be dropping the same
/// databases: failures are ignored, and a later run retries.
async fn drop_databases(nodes: &[PgConnectOptions], names: &[String]) {
    let mut admins = Vec::new();
    for node in nodes {
        if let Ok(admin) = admin(node).await {
            admins.push(admin);
        }
    }
    for admin in &mut admins {
        for name in names {
            let _ = sqlx::query(AssertSqlSafe(format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
    for admin in &mut admins {
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1)",
        )
        .bind(names)
        .execute(&mut *admin)
        .await;
    }
    for admin in &mut admins {
        for name in names {
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
    for admin in admins {
        admin.close().await.ok();
    }
}

/// A new test database's name: its process's id comes first, for
/// [`of_ended_processes`].
pub fn new_name(what: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "contas_test_{}_{what}{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros()
    )
}

/// Makes the database `name` on every node, as a copy of `template` if any.
async fn create_database(name: &str, template: Option<&str>) {
    let template = template.map_or(String::new(), |t| format!(" TEMPLATE {t}"));
    for node in nodes().await {
        let mut admin = admin(&node).await.expect("connecting to the test server");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}{template}")))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        admin.close().await.ok();
    }
}

/// The process's migrated database, which each test's database copies. A
/// copy's source must have no sessions: once migrated it takes none (on
/// Citus its maintenance daemon and the nodes' connections to each other
/// are ended too).
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = new_name("template");
            let options = empty_database_named(&name).await;
            let pool = PgPool::connect_with(options)
                .await
                .expect("connecting to the template database");
            contas::db::migrate(&pool)
                .await
                .expect("migrating the template database");
            pool.close().await;
            if let Some(cluster) = citus_cluster().await {
                cluster.prepare_template(&name).await;
            }
            for node in nodes().await {
                let mut admin = admin(&node).await.expect("connecting to the test server");
                sqlx::query(AssertSqlSafe(format!(
                    "ALTER DATABASE {name} ALLOW_CONNECTIONS false"
                )))
                .execute(&mut admin)
                .await
                .expect("closing the template database");
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                )
                .bind(&name)
                .execute(&mut admin)
                .await
                .expect("ending the template database's sessions");
                admin.close().await.ok();
            }
            name
        })
        .await
}

/// Creates an empty, migrated database and returns its connection options.
pub async fn fresh_database() -> PgConnectOptions {
    super::logs::capture();
    let template = template().await;
    let name = new_name("");
    create_database(&name, Some(template)).await;
    made_by_this_test(&name);
    server().await.clone().database(&name)
}

/// Creates a database with no schema at all (on Citus, a member of the
/// cluster with the extension on every node).
pub async fn empty_database() -> PgConnectOptions {
    let name = new_name("");
    let options = empty_database_named(&name).await;
    made_by_this_test(&name);
    options
}

async fn empty_database_named(name: &str) -> PgConnectOptions {
    super::logs::capture();
    create_database(name, None).await;
    if let Some(cluster) = citus_cluster().await {
        cluster.join_nodes(name).await;
    }
    server().await.clone().database(name)
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
