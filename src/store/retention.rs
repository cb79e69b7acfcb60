//! `contas retention`: the store keeps only what Open Finance can serve.
//!
//! Open Finance serves a statement 12 months back; LGPD's data-minimisation
//! principle says personal data should not be kept longer than needed. So,
//! daily: every month no statement window can reach any more is dropped
//! whole (no row deletes, so no vacuum and no bloat), with the tombstones
//! of its removed entries; the retention horizon moves to the oldest month
//! kept, so that no import brings older entries back; closed months are
//! rewritten in statement order ([`compaction`]) and given a filter of their
//! completed ids, which spares imports a look into them ([`id_filters`]).
//!
//! It is safe while serving and importing: it holds the writer lock (one
//! writer at a time, [`lock`]), months are detached concurrently (readers
//! and writers never wait for that), and a rewritten month is swapped in
//! one short transaction.
//!
//! On Citus, which detaches partitions only under a lock, a month is
//! detached in a short transaction that waits for readers a moment at a
//! time ([`exclusive`]); months are not rewritten there (Citus cannot
//! rename a distributed table's constraints, which the swap does).

use super::compaction::{self, Compacted};
use super::distribution::Engine;
use super::lock::{self, LockWait, Scope};
use super::{exclusive, id_filters, months};
use crate::domain::month::{Month, filter_capacity, is_closed, retention_plan};
use anyhow::{Context, Result};
use chrono::NaiveDate;
// Dynamic SQL here (`AssertSqlSafe`) names only month partitions
// (`Month::partition`, or a partition of `transactions` that
// `Month::of_partition` read as one) and fixed table names.
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::fmt;
use std::time::{Duration, Instant};

/// How to run retention.
#[derive(Debug, Clone)]
pub struct RetentionOptions {
    /// "Today" in Brasília.
    pub today: NaiveDate,
    /// Months kept before today's (at least 12).
    pub keep_months: u32,
    /// Say what would be done, and do nothing.
    pub dry_run: bool,
    /// Rewrite closed months in statement order.
    pub compact: bool,
    pub lock: LockWait,
}

/// A month dropped (or, in a dry run, to drop).
#[derive(Debug, Clone)]
pub struct Dropped {
    pub month: Month,
    pub entries: u64,
    pub tombstones: u64,
    pub took: Duration,
    /// How long readers of `transactions` were kept out: never, when the
    /// month was detached concurrently (plain PostgreSQL); on Citus, for
    /// the transaction that detached it.
    pub lock_held: Option<Duration>,
}

/// What a run did, or would do.
#[derive(Debug, Clone)]
pub struct RetentionReport {
    pub dry_run: bool,
    pub today: NaiveDate,
    pub oldest_kept: Month,
    /// Months an interrupted run had left half detached, finished now.
    pub finished: Vec<Month>,
    pub dropped: Vec<Dropped>,
    /// Closed months rewritten (in a dry run: to rewrite, with no figures).
    pub compacted: Vec<Compacted>,
    /// Closed months given a filter of their completed ids, with how many
    /// (in a dry run: to filter, with no figures).
    pub filtered: Vec<(Month, u64)>,
    /// Rewrites were asked for on Citus, where months are not rewritten.
    pub not_rewritten_on_citus: bool,
    pub took: Duration,
}

impl fmt::Display for RetentionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (drop, compact) = if self.dry_run {
            ("would drop", "would rewrite")
        } else {
            ("dropped", "rewrote")
        };
        writeln!(
            f,
            "retention{}: today is {} in Brasília; keeping {} on (statements reach back to {})",
            if self.dry_run { " (dry run)" } else { "" },
            self.today,
            self.oldest_kept,
            crate::domain::window::Statement::Full.earliest(self.today),
        )?;
        for month in &self.finished {
            writeln!(
                f,
                "finished dropping {month} (an earlier run was interrupted)"
            )?;
        }
        for d in &self.dropped {
            write!(
                f,
                "{drop} {}: {} entries, {} tombstones",
                d.month, d.entries, d.tombstones
            )?;
            match (self.dry_run, d.lock_held) {
                (true, _) => {}
                (false, None) => write!(
                    f,
                    " in {} ms; lock held 0 ms (detached concurrently: readers and writers never waited)",
                    d.took.as_millis()
                )?,
                (false, Some(held)) => write!(
                    f,
                    " in {} ms; lock held {} ms (Citus detaches under a lock: readers waited at most \
                     {} ms for it, then this long)",
                    d.took.as_millis(),
                    held.as_millis(),
                    exclusive::LOCK_WAIT.as_millis()
                )?,
            }
            writeln!(f)?;
        }
        for c in &self.compacted {
            if self.dry_run {
                writeln!(f, "{compact} {} in statement order", c.month)?;
            } else {
                write!(
                    f,
                    "{compact} {} in statement order: {} entries in {:.1} s; lock held {} ms \
                     (readers waited at most this long)",
                    c.month,
                    c.entries,
                    c.took.as_secs_f64(),
                    c.lock_held.as_millis()
                )?;
                match c.warmed_bytes {
                    0 => writeln!(
                        f,
                        "; primary key not warmed (larger than a quarter of shared buffers)"
                    )?,
                    bytes => writeln!(f, "; primary key warmed ({} MiB)", bytes / 1_048_576)?,
                }
            }
        }
        if self.not_rewritten_on_citus {
            writeln!(
                f,
                "closed months are not rewritten in statement order on Citus (the swap renames \
                 a distributed table's constraints, which Citus does not do)"
            )?;
        }
        for (month, ids) in &self.filtered {
            if self.dry_run {
                writeln!(f, "would filter the completed ids of {month}")?;
            } else {
                writeln!(f, "filtered the completed ids of {month}: {ids} ids")?;
            }
        }
        if self.dropped.is_empty()
            && self.compacted.is_empty()
            && self.finished.is_empty()
            && self.filtered.is_empty()
        {
            writeln!(f, "nothing to do")?;
        }
        write!(f, "took {:.1} s", self.took.as_secs_f64())
    }
}

/// Runs retention on `connection` (a session of its own: dropping a month
/// concurrently cannot run inside a transaction).
pub async fn run(
    connection: &mut PgConnection,
    options: &RetentionOptions,
) -> Result<RetentionReport> {
    let started = Instant::now();
    let existing = months::existing(connection).await?;
    let plan = retention_plan(&existing, options.today, options.keep_months)?;
    let engine = Engine::of(connection).await?;
    let mut report = RetentionReport {
        dry_run: options.dry_run,
        today: options.today,
        oldest_kept: plan.oldest_kept,
        finished: Vec::new(),
        dropped: Vec::new(),
        compacted: Vec::new(),
        filtered: Vec::new(),
        not_rewritten_on_citus: engine == Engine::Citus && options.compact,
        took: Duration::ZERO,
    };
    let to_compact = if options.compact && engine == Engine::PostgreSql {
        months_to_compact(connection, &existing, &plan.drop, options.today).await?
    } else {
        Vec::new()
    };
    let to_filter = months_to_filter(connection, &existing, &plan.drop, options.today).await?;
    if options.dry_run {
        for month in plan.drop {
            let (entries, tombstones) = counts(connection, month).await?;
            report.dropped.push(Dropped {
                month,
                entries,
                tombstones,
                took: Duration::ZERO,
                lock_held: None,
            });
        }
        report.compacted = to_compact
            .into_iter()
            .map(|month| Compacted {
                month,
                entries: 0,
                took: Duration::ZERO,
                lock_held: Duration::ZERO,
                warmed_bytes: 0,
            })
            .collect();
        report.filtered = to_filter.into_iter().map(|m| (m, 0)).collect();
        report.took = started.elapsed();
        return Ok(report);
    }

    lock::acquire(connection, Scope::Session, options.lock).await?;
    let outcome = apply(
        connection,
        &plan.drop,
        engine,
        plan.oldest_kept,
        (&to_compact, &to_filter),
        &mut report,
    )
    .await;
    let released = lock::release_session(connection).await;
    outcome?;
    released.context("releasing the writer lock")?;
    report.took = started.elapsed();
    Ok(report)
}

async fn apply(
    connection: &mut PgConnection,
    drop: &[Month],
    engine: Engine,
    oldest_kept: Month,
    (to_compact, to_filter): (&[Month], &[Month]),
    report: &mut RetentionReport,
) -> Result<()> {
    report.finished = finish_interrupted(connection).await?;
    compaction::drop_leftovers(connection).await?;
    // The horizon first: from now on no import stores what is dropped next.
    // It only moves forward, so a removed entry can never come back.
    sqlx::query(
        "INSERT INTO retention_horizon (oldest_booking_date) VALUES ($1) \
         ON CONFLICT (only_row) DO UPDATE \
         SET oldest_booking_date = greatest(retention_horizon.oldest_booking_date, EXCLUDED.oldest_booking_date), \
             set_at = EXCLUDED.set_at",
    )
    .bind(oldest_kept.first_day())
    .execute(&mut *connection)
    .await
    .context("moving the retention horizon")?;
    for month in drop {
        report
            .dropped
            .push(drop_month(connection, *month, engine).await?);
    }
    for month in to_compact {
        report.compacted.push(
            compaction::compact(connection, *month)
                .await
                .with_context(|| format!("rewriting {month} in statement order"))?,
        );
    }
    for month in to_filter {
        let ids = id_filters::build(connection, *month, |ids| {
            filter_capacity(*month, report.today, ids)
        })
        .await
        .with_context(|| format!("filtering the completed ids of {month}"))?;
        report.filtered.push((*month, ids));
    }
    Ok(())
}

/// Entries of a month, and tombstones of entries removed from it.
async fn counts(connection: &mut PgConnection, month: Month) -> Result<(u64, u64)> {
    let entries: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        month.partition()
    )))
    .fetch_one(&mut *connection)
    .await?;
    let tombstones: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM transaction_tombstones WHERE booking_date >= $1 AND booking_date < $2",
    )
    .bind(month.first_day())
    .bind(month.end())
    .fetch_one(&mut *connection)
    .await?;
    Ok((entries as u64, tombstones as u64))
}

/// Detaches a month, drops it, and forgets its tombstones. On plain
/// PostgreSQL the detach is concurrent (readers and writers go on: it takes
/// no lock they wait for); on Citus, which cannot do that, it is a short
/// transaction that waits for readers a moment at a time.
async fn drop_month(
    connection: &mut PgConnection,
    month: Month,
    engine: Engine,
) -> Result<Dropped> {
    let started = Instant::now();
    let (entries, tombstones) = counts(connection, month).await?;
    let partition = month.partition();
    let detach = format!("ALTER TABLE transactions DETACH PARTITION {partition}");
    let lock_held = if engine == Engine::Citus {
        let what = format!("detaching {month}");
        Some(exclusive::run_locked(connection, &what, &[detach]).await?)
    } else {
        sqlx::query(AssertSqlSafe(format!("{detach} CONCURRENTLY")))
            .execute(&mut *connection)
            .await
            .with_context(|| format!("detaching {month}"))?;
        None
    };
    forget(connection, month).await?;
    Ok(Dropped {
        month,
        entries,
        tombstones,
        took: started.elapsed(),
        lock_held,
    })
}

/// Drops a detached month's table and what depends on it.
async fn forget(connection: &mut PgConnection, month: Month) -> Result<()> {
    let mut tx = connection.begin().await?;
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {}", month.partition())))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("dropping {month}"))?;
    sqlx::query(
        "DELETE FROM transaction_tombstones WHERE booking_date >= $1 AND booking_date < $2",
    )
    .bind(month.first_day())
    .bind(month.end())
    .execute(&mut *tx)
    .await?;
    for table in ["compacted_months", "month_id_filters"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE month = $1"
        )))
        .bind(month.first_day())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A run killed while it detached a month leaves it half detached (no
/// longer read, still attached): finished and dropped here.
async fn finish_interrupted(connection: &mut PgConnection) -> Result<Vec<Month>> {
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'transactions'::regclass AND i.inhdetachpending",
    )
    .fetch_all(&mut *connection)
    .await?;
    let mut finished = Vec::new();
    for name in pending {
        let Some(month) = Month::of_partition(&name) else {
            continue;
        };
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE transactions DETACH PARTITION {name} FINALIZE"
        )))
        .execute(&mut *connection)
        .await
        .with_context(|| format!("finishing the detach of {month}"))?;
        forget(connection, month).await?;
        finished.push(month);
    }
    Ok(finished)
}

/// Months kept, holding completed entries, whose filter is (re)built: a
/// closed month once; a month still open at every run, sized for what it
/// will hold by its end.
async fn months_to_filter(
    connection: &mut PgConnection,
    existing: &[Month],
    dropping: &[Month],
    today: NaiveDate,
) -> Result<Vec<Month>> {
    let filtered = id_filters::filtered(connection).await?;
    let due: Vec<Month> = existing
        .iter()
        .copied()
        .filter(|m| {
            let done = is_closed(*m, today) && filtered.contains(m);
            !dropping.contains(m) && !done
        })
        .collect();
    Ok(months::holding_completed(connection, &due).await?)
}

/// Closed months kept, holding entries, not rewritten yet.
async fn months_to_compact(
    connection: &mut PgConnection,
    existing: &[Month],
    dropping: &[Month],
    today: NaiveDate,
) -> Result<Vec<Month>> {
    let compacted: Vec<NaiveDate> = sqlx::query_scalar("SELECT month FROM compacted_months")
        .fetch_all(&mut *connection)
        .await?;
    let mut candidates = Vec::new();
    for month in existing {
        if dropping.contains(month)
            || !is_closed(*month, today)
            || compacted.contains(&month.first_day())
        {
            continue;
        }
        let any: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {})",
            month.partition()
        )))
        .fetch_one(&mut *connection)
        .await?;
        if any {
            candidates.push(*month);
        }
    }
    Ok(candidates)
}
