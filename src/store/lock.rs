//! One writer at a time. `contas import` (and `seed`, which loads through
//! it) and `contas retention` change the store only while they hold this
//! PostgreSQL advisory lock, taken before they read anything. Runs that
//! overlap (a scheduler, a retry, a second feed) therefore end exactly as if
//! they had run one after the other: the second one reads what the first
//! committed, never a snapshot from before it.
//!
//! An import holds it for its transaction (released by the commit or the
//! rollback, or when its connection dies); retention, whose steps cannot all
//! run in one transaction, holds it for its session.

// Dynamic SQL here (`AssertSqlSafe`) names one of the fixed advisory lock
// functions of `Scope::functions`.
use sqlx::{AssertSqlSafe, PgConnection};
use std::fmt;
use std::time::Duration;

/// The lock's key: `contas` in ASCII, then 1.
const KEY: i64 = 0x636f_6e74_6173_0001;

/// What a writer does when another one holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait for it at most this long.
    UpTo(Duration),
    /// Give up at once.
    NoWait,
}

impl Default for LockWait {
    /// Long enough for a daily import to finish; short enough that a stuck
    /// run is noticed the same day.
    fn default() -> Self {
        LockWait::UpTo(Duration::from_secs(300))
    }
}

/// Another writer kept the lock.
#[derive(Debug)]
pub enum LockError {
    Busy { holder: String },
    TimedOut { holder: String, waited: Duration },
    Database(sqlx::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Busy { holder } => write!(
                f,
                "the store is busy: {holder} holds its writer lock; not waiting (--no-wait), \
                 nothing was changed"
            ),
            LockError::TimedOut { holder, waited } => write!(
                f,
                "the store is busy: {holder} held its writer lock for the whole {} waited \
                 (--lock-timeout), nothing was changed",
                crate::duration::render(*waited)
            ),
            LockError::Database(e) => write!(f, "taking the store's writer lock: {e}"),
        }
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockError::Database(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for LockError {
    fn from(e: sqlx::Error) -> Self {
        LockError::Database(e)
    }
}

/// How long the lock is held: by the caller's transaction or its session.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Transaction,
    Session,
}

impl Scope {
    fn functions(self) -> (&'static str, &'static str) {
        match self {
            Scope::Transaction => ("pg_try_advisory_xact_lock", "pg_advisory_xact_lock"),
            Scope::Session => ("pg_try_advisory_lock", "pg_advisory_lock"),
        }
    }
}

/// Takes the writer lock on `connection` (inside its transaction for
/// [`Scope::Transaction`]).
pub async fn acquire(
    connection: &mut PgConnection,
    scope: Scope,
    wait: LockWait,
) -> Result<(), LockError> {
    let (try_lock, lock) = scope.functions();
    let taken: bool = sqlx::query_scalar(AssertSqlSafe(format!("SELECT {try_lock}($1)")))
        .bind(KEY)
        .fetch_one(&mut *connection)
        .await?;
    if taken {
        return Ok(());
    }
    let holder = holder(connection).await?;
    let limit = match wait {
        LockWait::NoWait => return Err(LockError::Busy { holder }),
        LockWait::UpTo(limit) => limit,
    };
    tracing::warn!(
        holder,
        "another writer holds the store's writer lock; waiting for it up to {}",
        crate::duration::render(limit)
    );
    // lock_timeout bounds the wait; the caller's own setting comes back after.
    let previous: String = sqlx::query_scalar("SELECT current_setting('lock_timeout')")
        .fetch_one(&mut *connection)
        .await?;
    let local = matches!(scope, Scope::Transaction);
    set_lock_timeout(connection, &format!("{}ms", limit.as_millis()), local).await?;
    let waited = sqlx::query(AssertSqlSafe(format!("SELECT {lock}($1)")))
        .bind(KEY)
        .execute(&mut *connection)
        .await;
    const LOCK_NOT_AVAILABLE: &str = "55P03";
    match waited {
        Ok(_) => {
            set_lock_timeout(connection, &previous, local).await?;
            Ok(())
        }
        // In a transaction, the failed statement aborted it (and with it the
        // local setting): the caller rolls back.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
            if !local {
                set_lock_timeout(connection, &previous, local).await?;
            }
            Err(LockError::TimedOut {
                holder,
                waited: limit,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Releases a [`Scope::Session`] lock (a transaction's goes with it).
pub async fn release_session(connection: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(KEY)
        .execute(connection)
        .await
        .map(drop)
}

async fn set_lock_timeout(
    connection: &mut PgConnection,
    value: &str,
    local: bool,
) -> sqlx::Result<()> {
    sqlx::query("SELECT set_config('lock_timeout', $1, $2)")
        .bind(value)
        .bind(local)
        .execute(connection)
        .await
        .map(drop)
}

/// Who holds the lock, as operators can find it in `pg_stat_activity`
/// (advisory locks are per database: another database's writer is not it).
async fn holder(connection: &mut PgConnection) -> sqlx::Result<String> {
    let found: Option<(String, i32, Option<f64>)> = sqlx::query_as(
        "SELECT a.application_name, a.pid,
                extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.backend_start))::float8
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid::bigint = ($1 >> 32) AND l.objid::bigint = ($1 & 4294967295) AND l.objsubid = 1
          LIMIT 1",
    )
    .bind(KEY)
    .fetch_optional(connection)
    .await?;
    Ok(match found {
        Some((name, pid, seconds)) => {
            let name = if name.is_empty() {
                "another session".to_owned()
            } else {
                format!("`{name}`")
            };
            match seconds {
                Some(s) => format!("{name} (pid {pid}, for {s:.0} s)"),
                None => format!("{name} (pid {pid})"),
            }
        }
        None => "another writer".to_owned(),
    })
}
