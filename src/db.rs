//! Connecting to the store and keeping its schema current.

use crate::store::distribution::Engine;
use deadpool::managed;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
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

/// Applies pending migrations, distributes the schema on a Citus database
/// (once), then makes sure the months entries may be booked in from today
/// on have their partitions (a store migrated long ago, or not served
/// since, gets them here).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    crate::store::distribution::ensure(pool)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    let mut connection = pool.acquire().await?;
    let today = crate::domain::time::brasilia_date(chrono::Utc::now());
    crate::store::months::ensure_ahead(&mut connection, today)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    Ok(())
}

/// After this long unused, a pooled connection is pinged before it serves a
/// query, so one left over from a database restart is replaced instead of
/// failing a request; under load, connections never sit this long.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(1);

/// The pool the API's queries run on.
///
/// Not sqlx's `Pool`: that one pings a connection, one round trip, each time
/// it goes back to the pool (and, by default, again before handing it out),
/// so a one-query request cost three round trips; on `/balances` the release
/// ping alone took a fifth of the service's CPU. Here a connection goes back
/// without a round trip when its exchange completed, and is discarded when it
/// did not (an I/O or protocol error, or a request cancelled mid-query, which
/// can leave replies unread). Waiting for a connection is bounded.
#[derive(Clone)]
pub struct QueryPool {
    pool: managed::Pool<Connector>,
}

/// A pool on the same server, database and credentials as a sqlx pool, as
/// large and as patient (tests and tools hold sqlx pools).
impl From<PgPool> for QueryPool {
    fn from(pool: PgPool) -> Self {
        let options = pool.options();
        Self::new(
            (*pool.connect_options()).clone(),
            options.get_max_connections() as usize,
            options.get_acquire_timeout(),
        )
    }
}

/// Opens the pool's connections.
pub struct Connector {
    options: PgConnectOptions,
    /// The database's engine, as the first connection found it.
    engine: std::sync::OnceLock<Engine>,
}

impl managed::Manager for Connector {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        let mut connection = PgConnection::connect_with(&self.options).await?;
        let engine = Engine::of(&mut connection).await?;
        // Citus prunes a generic plan to one shard only for statements on
        // one table (its fast path), and refuses a generic plan of any other
        // (the statement page, a self-join): there each call is planned
        // with its values, which Citus prunes to one shard.
        let engine = *self.engine.get_or_init(|| engine);
        if engine == Engine::Citus {
            sqlx::query("SET plan_cache_mode = force_custom_plan")
                .execute(&mut connection)
                .await?;
        }
        Ok(connection)
    }

    async fn recycle(
        &self,
        connection: &mut PgConnection,
        metrics: &managed::Metrics,
    ) -> managed::RecycleResult<sqlx::Error> {
        if metrics.last_used() > IDLE_CHECK_AFTER {
            connection.ping().await?;
        }
        Ok(())
    }
}

/// The pool's occupancy.
pub struct PoolStatus {
    pub max_size: usize,
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

impl QueryPool {
    pub fn new(
        options: PgConnectOptions,
        max_connections: usize,
        acquire_timeout: Duration,
    ) -> Self {
        let pool = managed::Pool::builder(Connector {
            options,
            engine: std::sync::OnceLock::new(),
        })
        .max_size(max_connections)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .recycle_timeout(Some(acquire_timeout))
        .build()
        .expect("a pool with a runtime and a non-zero size builds");
        Self { pool }
    }

    pub async fn acquire(&self) -> sqlx::Result<Lease> {
        match self.pool.get().await {
            Ok(object) => Ok(Lease {
                object: Some(object),
            }),
            // Whatever the server said, a connection that cannot be opened
            // means the database is unavailable.
            Err(managed::PoolError::Backend(error)) => {
                Err(sqlx::Error::Io(std::io::Error::other(error)))
            }
            Err(managed::PoolError::Closed) => Err(sqlx::Error::PoolClosed),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// The database's engine, known once the pool has opened a connection
    /// (as it has for anyone holding a lease).
    pub fn engine(&self) -> Option<Engine> {
        self.pool.manager().engine.get().copied()
    }

    pub fn status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            open: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    /// Refuses new leases and drops idle connections.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// A connection on loan from a [`QueryPool`]. Dropped without
/// [`Lease::finish`] (the request was cancelled), the connection is
/// discarded.
pub struct Lease {
    object: Option<managed::Object<Connector>>,
}

impl Lease {
    pub fn connection(&mut self) -> &mut PgConnection {
        self.object
            .as_mut()
            .expect("a lease holds its connection until it ends")
    }

    /// Ends the lease with its query's outcome: the connection goes back to
    /// the pool if the exchange completed (the server answered, even with an
    /// error), and is discarded otherwise.
    pub fn finish<T>(mut self, outcome: sqlx::Result<T>) -> sqlx::Result<T> {
        if matches!(outcome, Ok(_) | Err(sqlx::Error::Database(_))) {
            drop(self.object.take());
        }
        outcome
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            drop(managed::Object::take(object));
        }
    }
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
    /// itself, since a connection that broke is discarded and one idle long
    /// enough to have outlived a restart is pinged before use (see
    /// [`QueryPool`]).
    ///
    /// Its statements run on generic plans from the first call: each is
    /// written for one plan (tests/it/query_plans.rs checks their shapes), and
    /// planning a short query costs more than running it. Left to choose,
    /// PostgreSQL re-planned the `/accounts` list at every call. (Not on
    /// Citus: see [`Connector`]'s `create`.)
    pub fn open(&self, options: PgConnectOptions) -> QueryPool {
        let statement_timeout = format!("{}ms", self.statement_timeout.as_millis());
        QueryPool::new(
            options.options([
                ("statement_timeout", statement_timeout.as_str()),
                ("plan_cache_mode", "force_generic_plan"),
            ]),
            self.max_connections as usize,
            self.acquire_timeout,
        )
    }
}
