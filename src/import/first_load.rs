//! The first load of an empty store, done the way PostgreSQL's manual
//! recommends for bulk loads ("Populating a Database"): the checks that cost
//! per row but can be made once, in bulk, are removed for the load and
//! rebuilt before the commit, inside the file's one transaction (so the
//! import stays atomic, and a rolled-back file leaves the schema as it was).
//!
//! What is deferred, and why only that:
//! - the foreign keys of `transactions` (to `accounts`): PostgreSQL checks
//!   each inserted row with a query of its own, nearly half of a seed's
//!   time; adding the constraint back validates every row in one join;
//! - its primary key, the statement order, which the import never reads:
//!   built in bulk at the end, month by month.
//!
//! The partial indexes on completed and pending ids stay: the writer looks
//! ids up through them while it loads (duplicates, snapshots, final checks).
//!
//! Only an empty store qualifies (no account at all): the first load holds
//! `accounts` and `transactions` exclusively until it commits, which on a
//! store with data would stall every request for the whole import. Later
//! imports keep every check in place and block no reader.
//!
//! On Citus nothing is deferred: Citus adds a foreign key to a distributed
//! table's shards as NOT VALID and then validates it, which PostgreSQL 15
//! refuses on a partitioned table; there the per-row checks run on the
//! workers, side by side.

use crate::store::distribution::Engine;
use anyhow::{Context, Result};
// Dynamic SQL here (`AssertSqlSafe`) is what PostgreSQL printed: constraint
// definitions with names quoted by `format(%I)`.
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// How to put back what [`defer_checks`] removed.
#[derive(Debug)]
pub(crate) struct DeferredChecks {
    /// Definitions as the catalog printed them before the load (so they
    /// follow the migrations), in the order they are restored.
    restore: Vec<String>,
}

/// On an empty store, removes the deferred checks (see the module
/// documentation) and says how to restore them; on any other store, changes
/// nothing and returns `None`.
pub(crate) async fn defer_checks(
    tx: &mut PgConnection,
    engine: Engine,
) -> Result<Option<DeferredChecks>> {
    if engine == Engine::Citus || !store_is_empty(tx).await? {
        return Ok(None);
    }
    // A savepoint, so that losing a race with another first load releases
    // the locks instead of holding them for the whole import.
    let mut attempt = tx.begin().await?;
    sqlx::query("LOCK TABLE accounts, transactions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *attempt)
        .await
        .context("locking the empty store for its first load")?;
    if !store_is_empty(&mut attempt).await? {
        attempt.rollback().await?;
        return Ok(None);
    }
    // The primary key comes first: its index is built before the foreign
    // keys are validated.
    let objects: Vec<(String, String)> = sqlx::query_as(
        "SELECT format('ALTER TABLE transactions DROP CONSTRAINT %I', conname),
                format('ALTER TABLE transactions ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid))
           FROM pg_constraint
          WHERE conrelid = 'transactions'::regclass AND contype IN ('p', 'f')
          ORDER BY contype = 'f', conname",
    )
    .fetch_all(&mut *attempt)
    .await
    .context("reading the definitions of the checks a first load defers")?;
    let mut restore = Vec::with_capacity(objects.len());
    for (drop, create) in objects {
        sqlx::query(AssertSqlSafe(drop.as_str()))
            .execute(&mut *attempt)
            .await
            .with_context(|| format!("deferring a check for the first load: {drop}"))?;
        restore.push(create);
    }
    attempt.commit().await?;
    Ok(Some(DeferredChecks { restore }))
}

impl DeferredChecks {
    /// Rebuilds the primary key and adds the foreign keys back, which
    /// validates every loaded row against its account.
    pub(crate) async fn restore(self, tx: &mut PgConnection) -> Result<()> {
        for create in self.restore {
            sqlx::query(AssertSqlSafe(create.as_str()))
                .execute(&mut *tx)
                .await
                .with_context(|| format!("restoring a check after the first load: {create}"))?;
        }
        Ok(())
    }
}

async fn store_is_empty(c: &mut PgConnection) -> Result<bool> {
    sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM accounts)")
        .fetch_one(c)
        .await
        .context("checking whether the store is empty")
}
