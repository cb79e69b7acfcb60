//! Connecting to the store and keeping its schema current.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::time::Duration;

/// The schema, embedded from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Opens a pool. Waiting for a connection is bounded so a saturated or
/// unreachable database fails a request instead of hanging it.
pub async fn connect(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// How the serving pool bounds the work it does for requests.
#[derive(Debug, Clone)]
pub struct ServingPool {
    pub max_connections: u32,
    /// Longest a request waits for a connection, whether the pool is busy or
    /// the server cannot be reached.
    pub acquire_timeout: Duration,
    /// PostgreSQL cancels any statement running longer, so a query whose
    /// request was abandoned at its deadline does not run on.
    pub statement_timeout: Duration,
}

impl ServingPool {
    /// A pool that opens connections on demand: after an outage it heals by
    /// itself, since every connection is pinged before it is handed out and a
    /// broken one is replaced by a new one.
    pub fn open(&self, options: PgConnectOptions) -> PgPool {
        let statement_timeout = format!("{}ms", self.statement_timeout.as_millis());
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(true)
            .connect_lazy_with(options.options([("statement_timeout", statement_timeout)]))
    }
}
