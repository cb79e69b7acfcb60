//! Applies validated items to the store inside the file's one transaction.
//!
//! Items are gathered in batches. A flush first resolves, in a few bulk
//! queries, every brand, customer and account the batch names for the first
//! time (so the store is read as it was before the batch's lines), then walks
//! the batch in line order deciding what each line does (reference checks,
//! stale balances, pending/completed id clashes) and finally writes each
//! kind of record with one multi-row statement (upserts from `unnest`
//! arrays; completed transactions by binary COPY, after looking up the ids
//! that may exist already).
//!
//! Between batches, completed transactions (and first snapshots) of
//! accounts the file created, with ids new to them, stream into one open
//! COPY for as long as they keep coming: the bulk of a large import or
//! seed never waits for a batch to be assembled.
//!
//! Rules that depend on order beyond one batch are kept in memory per
//! account: the current pending ids (from the store or the last snapshot of
//! the file), the time of the current balance, the completed lines whose id
//! is also a pending id (checked once the whole file is applied), and for
//! accounts the file created, hashes of the ids it gave them. The last
//! snapshot of each account is written at the end of the file.
//!
//! What the decisions read and change is a [`State`] apart from the
//! connection, so they are unit-tested on a state built in memory
//! (`testing`). One idea a file: `registry` (what the file names), `batch`
//! (gathering and flushing), `resolve` (reading the store), `decide` (what
//! a line does), `compare` (sent against stored rows), `stream` (the open
//! COPY), `write` and `transactions` (the SQL writes), `finish` (the end of
//! the file), `hashing` (the hashers) and `items` (the producer's items).

/// The connection of the file's transaction (a macro, so that the borrow
/// stays on the one field).
macro_rules! db {
    ($w:expr) => {
        $w.tx
            .as_deref_mut()
            .expect("the transaction is held by a COPY")
    };
}

mod accounts;
mod batch;
mod compare;
mod decide;
mod finish;
mod hashing;
mod items;
mod registry;
mod resolve;
mod stream;
#[cfg(test)]
mod testing;
mod transactions;
mod write;

use super::ErrorSink;
use super::completed_ids::CompletedIds;
use super::copy::CopyRows;
use super::validate::{Item, TxRow};
use crate::store::distribution::Engine;
use anyhow::{Context, Result};
use batch::Staged;
use chrono::NaiveDate;
use hashing::{Fx, FxMap};
use items::Items;
use registry::Registry;
use sqlx::{Postgres, Transaction};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::mpsc::Receiver;

use crate::domain::month::Month;
use crate::store::feeds::BrandFeed;
use crate::store::months;

/// Counters of what the writer decided.
#[derive(Debug, Default, Clone)]
pub(crate) struct WriterStats {
    pub stale_balances: u64,
    pub duplicate_transactions: u64,
    pub unchanged_snapshots: u64,
    /// Entries booked before the retention horizon, skipped.
    pub expired_entries: u64,
    /// Completed transactions skipped because their removal's tombstone
    /// holds the same content (a replayed file).
    pub removed_transactions: u64,
    /// Removals of transactions removed already (a replayed file).
    pub replayed_removals: u64,
}

pub(crate) struct Outcome {
    pub tx: Transaction<'static, Postgres>,
    pub errors: ErrorSink,
    pub stats: WriterStats,
    /// Every brand the file named, with the newest balance time it gave.
    pub feeds: Vec<BrandFeed>,
}

/// Receives the producer's items until it is done, then finishes the file.
///
/// Completed transactions of accounts the file created, with ids new to
/// them, are streamed into one long COPY while they keep coming (the bulk
/// of a large import or of a seed): the database works without pause while
/// the next rows are prepared. Anything else ends the COPY and goes through
/// the batches.
pub(crate) async fn run(
    tx: Transaction<'static, Postgres>,
    engine: Engine,
    chunks: Receiver<Vec<(u64, Item)>>,
    recycle: std::sync::mpsc::Sender<Vec<(u64, Item)>>,
    batch_rows: usize,
    applied: Arc<AtomicU64>,
    cancelled: Arc<AtomicBool>,
) -> Result<Outcome> {
    let mut w = Writer::new(tx, batch_rows, applied);
    w.read_store_state(engine).await?;
    let mut items = Items::new(chunks, recycle);
    let mut next = items.next().await;
    while let Some((line, item)) = next {
        let ready = w.batch.is_empty() && w.state.registry.resolved();
        match ready.then(|| w.state.streamable(line, &item)).flatten() {
            Some(account) => next = w.stream(account, item, &mut items).await?,
            None => {
                w.push(line, item).await?;
                next = items.next().await;
            }
        }
    }
    if !cancelled.load(Ordering::Relaxed) {
        w.finish().await?;
    }
    let tx = w.tx.take().expect("the transaction is back");
    let feeds = w
        .state
        .registry
        .brands
        .iter()
        .map(|b| BrandFeed {
            brand_id: b.id.clone(),
            newest_balance: b.newest_balance,
        })
        .collect();
    Ok(Outcome {
        tx,
        errors: w.state.errors,
        stats: w.state.stats,
        feeds,
    })
}

/// What the writer knows of the file and the store, and what it decided,
/// apart from the connection: the decisions read and change only this, so
/// they are tested on a state built in memory.
#[derive(Default)]
struct State {
    registry: Registry,
    errors: ErrorSink,
    stats: WriterStats,
    /// The last snapshot of each account, written at the end of the file:
    /// only the final set of pending entries is compared with the store, so
    /// that importing a file again leaves them untouched (same rows, same
    /// ids) even when it holds several snapshots of one account. `None` when
    /// a later snapshot went straight into a COPY.
    deferred: Vec<(u32, Option<Vec<TxRow>>)>,
    deferred_slot: FxMap<u32, usize>,
    /// Months with a partition (rows of any other month need one first).
    months: HashSet<Month, Fx>,
    /// Entries booked before this date are skipped (see `retention_horizon`).
    horizon: Option<NaiveDate>,
}

struct Writer {
    /// Taken while a COPY streams.
    tx: Option<Transaction<'static, Postgres>>,
    state: State,
    copy: CopyRows,
    batch: Vec<Staged>,
    batch_rows: usize,
    batch_limit: usize,
    /// Removals of the batch, by (account, transaction key), with their line.
    batch_removals: FxMap<(u32, String), u64>,
    applied: Arc<AtomicU64>,
    /// Accounts with tombstones: only their new ids are looked up there.
    tombstoned: HashSet<i64, Fx>,
    /// Where completed ids are looked up.
    completed: CompletedIds,
}

impl Writer {
    fn new(
        tx: Transaction<'static, Postgres>,
        batch_limit: usize,
        applied: Arc<AtomicU64>,
    ) -> Self {
        Self {
            tx: Some(tx),
            state: State::default(),
            copy: CopyRows::default(),
            batch: Vec::new(),
            batch_rows: 0,
            batch_limit: batch_limit.max(1),
            batch_removals: FxMap::default(),
            applied,
            tombstoned: HashSet::default(),
            completed: CompletedIds::default(),
        }
    }

    /// What the writer needs to know of the store before the first line.
    async fn read_store_state(&mut self, engine: Engine) -> Result<()> {
        let existing = months::existing(db!(self))
            .await
            .context("listing the months of transactions")?;
        self.completed = CompletedIds::read(db!(self), &existing, engine).await?;
        self.state.months = existing.into_iter().collect();
        self.state.horizon =
            sqlx::query_scalar("SELECT oldest_booking_date FROM retention_horizon")
                .fetch_optional(db!(self))
                .await
                .context("reading the retention horizon")?;
        self.tombstoned =
            sqlx::query_scalar::<_, i64>("SELECT DISTINCT account_id FROM transaction_tombstones")
                .fetch_all(db!(self))
                .await
                .context("reading tombstones")?
                .into_iter()
                .collect();
        Ok(())
    }

    /// Makes these months' partitions (inside the file's transaction: a
    /// refused file leaves none behind).
    async fn create_months(&mut self, missing: Vec<Month>) -> Result<()> {
        for month in missing {
            months::ensure(db!(self), month)
                .await
                .with_context(|| format!("creating the partition of {month}"))?;
            self.state.months.insert(month);
        }
        Ok(())
    }
}

impl State {
    /// Whether an entry booked on `date` may not be stored any more.
    fn expired(&self, date: NaiveDate) -> bool {
        self.horizon.is_some_and(|h| date < h)
    }

    /// The months of these booking dates still without a partition.
    fn missing_months(&self, dates: impl IntoIterator<Item = NaiveDate>) -> Vec<Month> {
        let mut missing: Vec<Month> = dates
            .into_iter()
            .map(Month::of)
            .filter(|m| !self.months.contains(m))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        missing
    }
}
