//! Rewriting a closed month in statement order.
//!
//! Entries arrive day by day for every account, so a month of one account's
//! entries is scattered over its whole partition: once the store is larger
//! than memory, a page of 25 entries can cost 25 random reads. A month that
//! has closed (see [`crate::domain::month::is_closed`]) no longer changes,
//! so it is copied once into a new table in statement order (each account's
//! entries together, as a page reads them), indexed, frozen and swapped for
//! the old partition. Readers never see a half-written month: the swap is
//! one short transaction (the only moment they wait), and the writer lock
//! keeps imports out for the whole rewrite.

use super::exclusive;
use crate::domain::month::Month;
use anyhow::{Context, Result, bail, ensure};
// Dynamic SQL here (`AssertSqlSafe`) names only month partitions
// (`Month::partition`: `transactions_YYYY_MM`, from a date), names made from
// them, index and constraint definitions PostgreSQL printed itself, and a
// row count.
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::time::{Duration, Instant};

/// What rewriting one month did.
#[derive(Debug, Clone)]
pub struct Compacted {
    pub month: Month,
    pub entries: u64,
    pub took: Duration,
    /// How long the swap held `transactions` exclusively (readers waited).
    pub lock_held: Duration,
    /// Bytes of the new month's primary key read into shared buffers after
    /// the swap (none when it is larger than a quarter of them).
    pub warmed_bytes: u64,
}

/// Rewrites `month`'s partition in statement order. The caller holds the
/// writer lock (no import changes the month meanwhile).
pub async fn compact(connection: &mut PgConnection, month: Month) -> Result<Compacted> {
    let started = Instant::now();
    let partition = month.partition();
    let staging = format!("{partition}_compacting");
    let indexes = Indexes::of(connection, &partition, &staging).await?;

    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE {staging} (LIKE transactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )))
    .execute(&mut *connection)
    .await?;
    // Sorting a month is maintenance: it gets the memory the operator gave
    // maintenance (CREATE INDEX's), not a figure of ours a small server
    // cannot afford.
    sqlx::query("SELECT set_config('work_mem', current_setting('maintenance_work_mem'), false)")
        .execute(&mut *connection)
        .await?;
    let copied = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {staging} SELECT * FROM {partition} \
         ORDER BY account_id, booking_date, transaction_date_time, id"
    )))
    .execute(&mut *connection)
    .await
    .with_context(|| format!("copying {month} in statement order"))?
    .rows_affected();
    sqlx::query("RESET work_mem")
        .execute(&mut *connection)
        .await?;
    let entries: i64 =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {partition}")))
            .fetch_one(&mut *connection)
            .await?;
    ensure!(
        copied == entries as u64,
        "{month} changed while it was copied ({entries} entries, {copied} copied): is another \
         writer running without the writer lock?"
    );
    // The month's bound, so that attaching the copy need not scan it.
    sqlx::query(AssertSqlSafe(format!(
        "ALTER TABLE {staging} ADD CONSTRAINT {staging}_bound \
         CHECK (booking_date >= '{}' AND booking_date < '{}')",
        month.first_day(),
        month.end()
    )))
    .execute(&mut *connection)
    .await?;
    for create in &indexes.create {
        sqlx::query(AssertSqlSafe(create.as_str()))
            .execute(&mut *connection)
            .await?;
    }
    // Validated here, so that attaching the copy takes it as is.
    for add in &indexes.constraints {
        sqlx::query(AssertSqlSafe(add.as_str()))
            .execute(&mut *connection)
            .await?;
    }
    // Closed months do not change: frozen now, they never need vacuuming
    // again, and their visibility map lets pages be read off the index.
    sqlx::query(AssertSqlSafe(format!("VACUUM (FREEZE, ANALYZE) {staging}")))
        .execute(&mut *connection)
        .await?;

    let lock_held = swap(connection, month, &staging, &indexes, copied).await?;
    // Dropping a month's files takes a while (0.6-1 s at 100M): outside
    // the swap, where nobody waits for it.
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {partition}_replaced")))
        .execute(&mut *connection)
        .await?;
    let warmed_bytes = warm(connection, &partition).await?;
    Ok(Compacted {
        month,
        entries: copied,
        took: started.elapsed(),
        lock_held,
        warmed_bytes,
    })
}

/// Reads the new month's primary key into shared buffers; returns how many
/// bytes of it were read (0 when it is larger than a quarter of them).
///
/// The copy's files are new: none of their pages is cached, while the
/// replaced month's were, warmed by readers. A statement page descends the
/// primary key (an index-only scan, then one probe per row), so the first
/// pages read after a rewrite would each wait for the disk (measured at
/// 100M under a memory cap: blocks read per page 0.2 -> 2.4 in the minute
/// after a retention run). Reading the index whole is sequential, takes
/// about a second per 500 MB, and an index scan (unlike a sequential one)
/// keeps what it reads in shared buffers. The bound keeps one month from
/// pushing the rest of the working set out.
async fn warm(connection: &mut PgConnection, partition: &str) -> Result<u64> {
    let (index_bytes, buffer_bytes, page_bytes): (i64, i64, i64) = sqlx::query_as(
        "SELECT pg_relation_size(i.indexrelid), pg_size_bytes(current_setting('shared_buffers')), \
                current_setting('block_size')::int8 \
           FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisprimary",
    )
    .bind(partition)
    .fetch_one(&mut *connection)
    .await
    .context("sizing the month's primary key")?;
    if index_bytes > buffer_bytes / 4 {
        return Ok(0);
    }
    let mut tx = connection.begin().await?;
    // The primary key's order, read off the index alone (the month was just
    // frozen: its visibility map says every page is all-visible).
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL enable_bitmapscan = off")
        .execute(&mut *tx)
        .await?;
    let plan: serde_json::Value = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) \
         SELECT count(*) FROM (SELECT 1 FROM {partition} \
          ORDER BY account_id, booking_date, transaction_date_time, id) keys"
    )))
    .fetch_one(&mut *tx)
    .await
    .with_context(|| format!("reading the primary key of {partition}"))?;
    tx.commit().await?;
    let scan = index_only_scan(&plan[0]["Plan"])
        .with_context(|| format!("warming {partition} did not read its primary key: {plan}"))?;
    let pages = |key: &str| scan[key].as_u64().unwrap_or(0);
    Ok((pages("Shared Hit Blocks") + pages("Shared Read Blocks")) * page_bytes as u64)
}

/// The index-only scan in an `EXPLAIN (FORMAT JSON)` plan, at any depth.
fn index_only_scan(node: &serde_json::Value) -> Option<&serde_json::Value> {
    if node["Node Type"] == "Index Only Scan" {
        return Some(node);
    }
    node["Plans"].as_array()?.iter().find_map(index_only_scan)
}

/// Replaces the partition by its copy in one transaction: detach the old
/// one and put it aside, give the copy its names, attach it. Readers of
/// `transactions` wait for this transaction only, so it does nothing that
/// reads or removes the month's data: at 100M a count of it held readers
/// 1.5 s, dropping its files 0.6 to 1 s.
async fn swap(
    connection: &mut PgConnection,
    month: Month,
    staging: &str,
    indexes: &Indexes,
    entries: u64,
) -> Result<Duration> {
    let partition = month.partition();
    let mut statements = vec![
        format!("ALTER TABLE transactions DETACH PARTITION {partition}"),
        format!("ALTER TABLE {partition} RENAME TO {partition}_replaced"),
    ];
    statements.extend(indexes.retire.iter().cloned());
    statements.push(format!("ALTER TABLE {staging} RENAME TO {partition}"));
    statements.extend(indexes.rename.iter().cloned());
    statements.push(format!(
        "ALTER TABLE transactions ATTACH PARTITION {partition} FOR VALUES FROM ('{}') TO ('{}')",
        month.first_day(),
        month.end()
    ));
    statements.push(format!(
        "ALTER TABLE {partition} DROP CONSTRAINT {staging}_bound"
    ));
    statements.push(format!(
        "INSERT INTO compacted_months (month, rows) VALUES ('{}', {entries}) \
         ON CONFLICT (month) DO UPDATE \
         SET rows = EXCLUDED.rows, compacted_at = EXCLUDED.compacted_at",
        month.first_day()
    ));
    exclusive::run_locked(connection, &format!("swapping {month}"), &statements)
        .await
        .with_context(|| format!("the copy was left as {staging} and is dropped by the next run"))
}

/// Drops what a rewrite cut short left behind: a copy not swapped in yet,
/// or a replaced month not dropped yet (neither is a partition).
pub async fn drop_leftovers(connection: &mut PgConnection) -> Result<Vec<String>> {
    let leftovers: Vec<String> = sqlx::query_scalar(
        r"SELECT c.relname::text FROM pg_class c
           WHERE c.relkind = 'r' AND c.relname ~ '^transactions_\d{4}_\d{2}_(compacting|replaced)$'
             AND c.relnamespace = current_schema()::regnamespace
             AND NOT EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = c.oid)",
    )
    .fetch_all(&mut *connection)
    .await?;
    for table in &leftovers {
        sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(&mut *connection)
            .await?;
    }
    Ok(leftovers)
}

/// The old partition's indexes and constraints, made again on the copy.
struct Indexes {
    /// `CREATE INDEX` of each, under a temporary name.
    create: Vec<String>,
    /// The primary key and foreign keys on the copy, under temporary names.
    constraints: Vec<String>,
    /// Renames giving the old partition's indexes other names, once it is
    /// put aside (its names go to the copy's).
    retire: Vec<String>,
    /// Renames giving the copy's indexes and constraints the old names.
    rename: Vec<String>,
}

impl Indexes {
    async fn of(connection: &mut PgConnection, partition: &str, staging: &str) -> Result<Self> {
        let indexes: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT c.relname::text, pg_get_indexdef(i.indexrelid), k.conname::text
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
              WHERE i.indrelid = $1::regclass
              ORDER BY 1",
        )
        .bind(partition)
        .fetch_all(&mut *connection)
        .await?;
        let foreign_keys: Vec<(String, String)> = sqlx::query_as(
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
              WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY 1",
        )
        .bind(partition)
        .fetch_all(&mut *connection)
        .await?;
        let mut this = Indexes {
            create: Vec::new(),
            constraints: Vec::new(),
            retire: Vec::new(),
            rename: Vec::new(),
        };
        let replaced = format!("{partition}_replaced");
        for (n, (name, definition, constraint)) in indexes.into_iter().enumerate() {
            let temporary = format!("{staging}_{n}");
            this.retire.push(match &constraint {
                Some(constraint) => format!(
                    "ALTER TABLE {replaced} RENAME CONSTRAINT {constraint} TO {replaced}_{n}"
                ),
                None => format!("ALTER INDEX {name} RENAME TO {replaced}_{n}"),
            });
            let Some((head, using)) = definition.split_once(" USING ") else {
                bail!("unexpected index definition: {definition}");
            };
            let unique = if head.starts_with("CREATE UNIQUE INDEX ") {
                "UNIQUE "
            } else {
                ""
            };
            this.create.push(format!(
                "CREATE {unique}INDEX {temporary} ON {staging} USING {using}"
            ));
            match constraint {
                // A primary key takes its index's name with it.
                Some(constraint) => {
                    this.constraints.push(format!(
                        "ALTER TABLE {staging} ADD CONSTRAINT {temporary} PRIMARY KEY USING INDEX {temporary}"
                    ));
                    this.rename.push(format!(
                        "ALTER TABLE {partition} RENAME CONSTRAINT {temporary} TO {constraint}"
                    ));
                }
                None => this
                    .rename
                    .push(format!("ALTER INDEX {temporary} RENAME TO {name}")),
            }
        }
        for (name, definition) in foreign_keys {
            this.constraints.push(format!(
                "ALTER TABLE {staging} ADD CONSTRAINT {name} {definition}"
            ));
        }
        Ok(this)
    }
}
