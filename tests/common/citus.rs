//! The suite on Citus: with `CONTAS_TEST_CITUS` set, every test database is
//! made on a private Citus cluster (a coordinator and two workers, each a
//! private PostgreSQL from the installed binaries with Citus preloaded, on
//! sockets in their own directories) and `contas migrate` distributes its
//! schema there. `.ci/run` runs the suite this way after the plain run.

use contas::embedded_pg::EmbeddedPostgres;
use sqlx::postgres::PgConnectOptions;
// The harness's dynamic SQL (`AssertSqlSafe`) names its own test databases.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};
use std::path::Path;

/// Whether the suite runs on a Citus cluster.
pub fn enabled() -> bool {
    std::env::var("CONTAS_TEST_CITUS").is_ok_and(|v| !v.is_empty() && v != "0")
}

pub struct CitusCluster {
    base: std::path::PathBuf,
    coordinator: EmbeddedPostgres,
    workers: [EmbeddedPostgres; 2],
}

/// Every node: Citus preloaded; prepared transactions for its two-phase
/// commits across nodes; room for the connections and workers it starts.
const NODE_SETTINGS: [(&str, &str); 6] = [
    ("shared_preload_libraries", "citus"),
    // Citus runs a maintenance worker per database on every node, and each
    // running test has one (`db::start_dropping`).
    ("max_worker_processes", "256"),
    // As root, libpq would read root's ~/.postgresql for TLS files.
    ("citus.node_conninfo", "sslmode=disable"),
    ("max_prepared_transactions", "200"),
    // Each test's database keeps Citus's connections between nodes until
    // the run ends.
    ("max_connections", "1000"),
    ("fsync", "off"),
];

/// The coordinator makes few shards per table (tests hold little data;
/// Citus's default is 32) and counts shards per query.
const COORDINATOR_SETTINGS: [(&str, &str); 2] = [
    ("citus.shard_count", "4"),
    // Counts the queries that reach one shard and those that reach several.
    ("citus.enable_stat_counters", "on"),
];

impl CitusCluster {
    /// Starts (making, if new) the cluster kept under `base`, or attaches
    /// to it when it runs.
    pub async fn ensure_running(base: &Path) -> Self {
        let base = base.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let coordinator_settings: Vec<(&str, &str)> = NODE_SETTINGS
                .iter()
                .chain(&COORDINATOR_SETTINGS)
                .copied()
                .collect();
            CitusCluster {
                coordinator: start_node(&base, "coordinator", &coordinator_settings),
                workers: [
                    start_node(&base, "worker-1", &NODE_SETTINGS),
                    start_node(&base, "worker-2", &NODE_SETTINGS),
                ],
                base,
            }
        })
        .await
        .unwrap()
    }

    /// Adds a third worker, with no shards yet, to `database`'s cluster
    /// only (the other tests' databases keep two): starts it if need be
    /// (under `worker-3`), makes the database there, and adds it to the
    /// database's metadata. Returns its host, as `pg_dist_node` names it.
    pub async fn add_spare_worker(&self, database: &str) -> String {
        let base = self.base.clone();
        let spare =
            tokio::task::spawn_blocking(move || start_node(&base, "worker-3", &NODE_SETTINGS))
                .await
                .unwrap();
        let mut admin = connect(&spare, "postgres").await;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .expect("making the database on the spare worker");
        admin.close().await.ok();
        let mut c = connect(&spare, database).await;
        sqlx::query("CREATE EXTENSION citus")
            .execute(&mut c)
            .await
            .expect("creating the citus extension on the spare worker");
        c.close().await.ok();
        let lock = self.joining().await;
        let mut c = connect(&self.coordinator, database).await;
        add_node(&mut c, &spare).await;
        c.close().await.ok();
        lock.close().await.ok();
        host(&spare)
    }

    /// Drops `database` from the spare worker (no other node propagates
    /// that to it).
    pub async fn drop_from_spare_worker(&self, database: &str) {
        let spare = EmbeddedPostgres::at(&self.base.join("worker-3"));
        let mut admin = connect(&spare, "postgres").await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("dropping the database on the spare worker");
    }

    /// A session holding the lock that makes databases join the cluster one
    /// at a time: adding a node copies the cluster's roles to it, and those
    /// live in catalogs every database of a node shares, so two databases
    /// joining at once fail on the worker with "tuple concurrently
    /// updated". Serial across test processes too. Closing it releases it.
    async fn joining(&self) -> PgConnection {
        let mut lock = connect(&self.coordinator, "postgres").await;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(JOINING_NODES)
            .execute(&mut lock)
            .await
            .expect("waiting for other databases to join the cluster");
        lock
    }

    /// The coordinator's maintenance database.
    pub fn coordinator(&self) -> PgConnectOptions {
        self.coordinator.connect_options("postgres")
    }

    /// Readies `database` to be copied as a template: Citus's metadata on
    /// every node lists the database itself among its distributed objects
    /// by OID, and in a copy that OID is the template's (adding a node to
    /// a copy would then try to alter the template there). Copies are made
    /// on every node by the harness, so they need no entry.
    pub async fn prepare_template(&self, database: &str) {
        self.on_every_node(
            database,
            "DELETE FROM pg_dist_object WHERE classid = 'pg_database'::regclass",
        )
        .await;
    }

    /// The coordinator, then the workers.
    fn every_node(&self) -> impl Iterator<Item = &EmbeddedPostgres> {
        std::iter::once(&self.coordinator).chain(&self.workers)
    }

    /// Runs `sql` in `database` on every node.
    async fn on_every_node(&self, database: &str, sql: &'static str) {
        for node in self.every_node() {
            let mut c = connect(node, database).await;
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql} in {database}: {e}"));
            c.close().await.ok();
        }
    }

    /// Every node's maintenance database, the coordinator's first.
    pub fn nodes(&self) -> Vec<PgConnectOptions> {
        self.every_node()
            .map(|node| node.connect_options("postgres"))
            .collect()
    }

    /// Makes `database`, just created on every node, a Citus database of
    /// this cluster: the extension on each node, and the workers added to
    /// its metadata.
    pub async fn join_nodes(&self, database: &str) {
        let lock = self.joining().await;
        self.on_every_node(database, "CREATE EXTENSION IF NOT EXISTS citus")
            .await;
        let mut c = connect(&self.coordinator, database).await;
        sqlx::query("SELECT citus_set_coordinator_host($1, $2)")
            .bind(host(&self.coordinator))
            .bind(i32::from(self.coordinator.port()))
            .execute(&mut c)
            .await
            .expect("naming the coordinator");
        for worker in &self.workers {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2)",
            )
            .bind(host(worker))
            .bind(i32::from(worker.port()))
            .fetch_one(&mut c)
            .await
            .unwrap();
            if !known {
                add_node(&mut c, worker).await;
            }
        }
        c.close().await.ok();
        lock.close().await.ok();
    }
}

/// The advisory lock that makes databases join the cluster one at a time.
const JOINING_NODES: i64 = 0x636f_6e74_6173_4a4e;

/// How the cluster names `node`: its socket directory.
fn host(node: &EmbeddedPostgres) -> String {
    node.socket_dir().display().to_string()
}

/// Adds `node` as a worker to the metadata of the database `coordinator`
/// is connected to (the caller holds the joining lock).
async fn add_node(coordinator: &mut PgConnection, node: &EmbeddedPostgres) {
    sqlx::query("SELECT citus_add_node($1, $2)")
        .bind(host(node))
        .bind(i32::from(node.port()))
        .execute(coordinator)
        .await
        .expect("adding a worker");
}

/// Starts (making, if new) the node kept under `base/name`, or attaches to
/// it when it runs.
fn start_node(base: &Path, name: &str, settings: &[(&str, &str)]) -> EmbeddedPostgres {
    let dir = base.join(name);
    // How a node reaches itself: its own socket, not the default
    // `localhost`, which is another server on this machine.
    let own_host = dir.display().to_string();
    let mut settings = settings.to_vec();
    settings.push(("citus.local_hostname", &own_host));
    EmbeddedPostgres::ensure_running_with(&dir, &settings)
        .unwrap_or_else(|e| panic!("starting the Citus {name}: {e:#}"))
}

async fn connect(node: &EmbeddedPostgres, database: &str) -> PgConnection {
    node.connect_options(database)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connecting to {database} on a Citus node: {e}"))
}
