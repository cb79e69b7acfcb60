//! The store on Citus: with the `citus` extension in the database,
//! `contas migrate` lays the schema out across the cluster's nodes
//! (`distribute.sql` says how, and why so).

use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// The engine under the store. What differs on Citus is decided by it,
/// asked once per command (and per connection the service opens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    #[default]
    PostgreSql,
    /// The database has the `citus` extension.
    Citus,
}

impl Engine {
    /// The engine of `connection`'s database.
    pub async fn of(connection: &mut PgConnection) -> sqlx::Result<Self> {
        let citus: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
                .fetch_one(connection)
                .await?;
        Ok(if citus {
            Engine::Citus
        } else {
            Engine::PostgreSql
        })
    }
}

/// Adds the `citus` extension (`contas migrate --distributed`): the server
/// must preload it (`shared_preload_libraries = 'citus'`), and the
/// cluster's workers are added by the operator.
pub async fn create_extension(connection: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS citus")
        .execute(connection)
        .await
        .map(drop)
}

/// Readies a writer's transaction: on Citus, one connection per node for
/// the whole transaction. A writer makes month partitions (DDL) after it
/// has written to distributed tables, which Citus allows only over the
/// connections those writes used. On plain PostgreSQL, nothing.
pub async fn prepare_writer(tx: &mut PgConnection, engine: Engine) -> sqlx::Result<()> {
    if engine == Engine::Citus {
        sqlx::query("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// On Citus, distributes the schema unless that is done; on plain
/// PostgreSQL, does nothing. Returns whether it distributed it now.
/// Concurrent callers wait for each other; the second finds it done.
pub async fn ensure(pool: &PgPool) -> sqlx::Result<bool> {
    if Engine::of(&mut *pool.acquire().await?).await? == Engine::PostgreSql {
        return Ok(false);
    }
    // Laying the schema out takes seconds, once: not a slow statement to
    // report (with the whole script) in the command's output.
    let mut connection = (*pool.connect_options())
        .clone()
        .disable_statement_logging()
        .connect()
        .await?;
    let distributed = distribute(&mut connection).await;
    connection.close().await.ok();
    distributed
}

async fn distribute(connection: &mut PgConnection) -> sqlx::Result<bool> {
    let mut tx = connection.begin().await?;
    // 'contas' in ASCII, then 3: whoever lays the schema out.
    sqlx::query("SELECT pg_advisory_xact_lock(7165066978299936771)")
        .execute(&mut *tx)
        .await?;
    let done: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'accounts'::regclass)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if done {
        return Ok(false);
    }
    sqlx::raw_sql(include_str!("distribute.sql"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
