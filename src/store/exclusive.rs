//! Taking `transactions` exclusively without stalling its readers.
//!
//! Swapping a rewritten month in, or detaching a month on Citus (which
//! cannot detach concurrently), needs `transactions` to itself for a moment.
//! While such a lock request waits for a reader, every reader after it
//! queues too: so it waits at most [`LOCK_WAIT`] at a time, gives the
//! queue a pause to drain, and tries again. Readers wait at most
//! `LOCK_WAIT` at each try, and then for the short transaction that holds
//! the lock.

use anyhow::{Context, Result, bail};
// Dynamic SQL here (`AssertSqlSafe`): the callers' own statements.
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::time::{Duration, Instant};

/// How long one try waits for readers to let go of `transactions`.
pub const LOCK_WAIT: Duration = Duration::from_millis(200);
/// Between tries: long enough for the requests that queued to run.
const PAUSE: Duration = Duration::from_millis(100);
const ATTEMPTS: u32 = 50;

/// Runs `statements` in one transaction that holds `transactions`
/// exclusively (ACCESS EXCLUSIVE, what a detach takes), trying again while
/// readers keep it busy; returns how long the lock was held. `what` names
/// the work in the log and in the errors.
pub async fn run_locked(
    connection: &mut PgConnection,
    what: &str,
    statements: &[String],
) -> Result<Duration> {
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(PAUSE).await;
        }
        let mut tx = connection.begin().await?;
        sqlx::query("SELECT set_config('lock_timeout', $1, true)")
            .bind(format!("{}ms", LOCK_WAIT.as_millis()))
            .execute(&mut *tx)
            .await?;
        let locked = sqlx::query("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await;
        match locked {
            Ok(_) => {
                let since = Instant::now();
                for statement in statements {
                    sqlx::query(AssertSqlSafe(statement.as_str()))
                        .execute(&mut *tx)
                        .await
                        .with_context(|| format!("{what}: {statement}"))?;
                }
                tx.commit().await?;
                return Ok(since.elapsed());
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                tx.rollback().await?;
                tracing::info!(
                    what,
                    attempt,
                    "readers kept transactions busy; trying again"
                );
            }
            Err(e) => return Err(e).context(what.to_owned()),
        }
    }
    bail!(
        "{what}: readers kept transactions busy through {ATTEMPTS} tries of {} ms",
        LOCK_WAIT.as_millis()
    )
}
