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

mod hashing;
mod registry;

use super::ErrorSink;
use super::completed_ids::CompletedIds;
use super::copy::{COPY_TRANSACTIONS, CopyRows};
use super::stored::{STORED_COLUMNS, StoredRow};
use super::tombstone::Content;
use super::validate::{
    Account, Balance, Brand, Customer, Definition, Item, Limits, Removal, TxRow,
};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use hashing::{Fx, FxMap, KeyHashes, key_hash};
use registry::Registry;
use rust_decimal::Decimal;
use sqlx::{PgConnection, Postgres, Transaction};
use std::collections::{HashMap, HashSet};
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::mpsc::Receiver;

use crate::domain::month::Month;
use crate::store::feeds::BrandFeed;
use crate::store::months;

struct Staged {
    line: u64,
    brand: u32,
    account: u32,
    item: Item,
}

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

/// The connection of the file's transaction (a macro, so that the borrow
/// stays on the one field).
macro_rules! db {
    ($w:expr) => {
        $w.tx
            .as_deref_mut()
            .expect("the transaction is held by a COPY")
    };
}

/// The producer's items, one at a time. Chunks go back to the producer once
/// read, with the items the writer gave back in them: the producer frees
/// what it allocated and reuses the buffers (freeing on another thread than
/// the allocating one costs the allocator dearly).
struct Items {
    rx: Receiver<Vec<(u64, Item)>>,
    current: Vec<(u64, Item)>,
    /// Index of the next item of `current`.
    pos: usize,
    recycle: std::sync::mpsc::Sender<Vec<(u64, Item)>>,
}

/// What a taken item leaves in its slot (allocates nothing).
fn taken() -> Item {
    Item::Defines(Definition::Brand(String::new()))
}

impl Items {
    async fn next(&mut self) -> Option<(u64, Item)> {
        loop {
            if let Some((line, item)) = self.current.get_mut(self.pos) {
                self.pos += 1;
                return Some((*line, mem::replace(item, taken())));
            }
            let chunk = self.rx.recv().await?;
            let used = mem::replace(&mut self.current, chunk);
            self.pos = 0;
            if used.capacity() > 0 {
                let _ = self.recycle.send(used);
            }
        }
    }

    /// Puts the last item taken back, for the producer to drop.
    fn give_back(&mut self, item: Item) {
        if let Some(slot) = self
            .pos
            .checked_sub(1)
            .and_then(|i| self.current.get_mut(i))
        {
            slot.1 = item;
        }
    }
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
    chunks: Receiver<Vec<(u64, Item)>>,
    recycle: std::sync::mpsc::Sender<Vec<(u64, Item)>>,
    batch_rows: usize,
    applied: Arc<AtomicU64>,
    cancelled: Arc<AtomicBool>,
) -> Result<Outcome> {
    let mut w = Writer::new(tx, batch_rows, applied);
    w.read_store_state().await?;
    let mut items = Items {
        rx: chunks,
        current: Vec::new(),
        pos: 0,
        recycle,
    };
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
        w.flush().await?;
        let deferred = mem::take(&mut w.state.deferred);
        let mut snapshots: Vec<(u32, Vec<TxRow>)> = deferred
            .into_iter()
            .filter_map(|(a, entries)| Some((a, entries?)))
            .collect();
        while !snapshots.is_empty() {
            let rest = snapshots.split_off(snapshots.len().min(5_000));
            w.write_snapshots(snapshots).await?;
            snapshots = rest;
        }
        w.final_checks().await?;
        w.completed.save(db!(w)).await?;
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

/// What one flush writes, each kind deduplicated where the statement needs it.
#[derive(Default)]
struct Staging {
    brands: Vec<Brand>,
    brand_slot: HashMap<u32, usize>,
    customers: Vec<Customer>,
    customer_slot: HashMap<(u32, String), usize>,
    accounts: Vec<(u32, Account)>,
    account_slot: HashMap<u32, usize>,
    balances: Vec<(u32, Balance)>,
    balance_slot: HashMap<u32, usize>,
    limits: Vec<(u32, Limits)>,
    limits_slot: HashMap<u32, usize>,
    completed: Vec<(u64, u32, TxRow)>,
    removals: Vec<(u64, u32, Removal)>,
}

/// Keeps the last value per key, in order of first appearance.
fn last_wins<K: std::hash::Hash + Eq, T, S: std::hash::BuildHasher>(
    list: &mut Vec<T>,
    slots: &mut HashMap<K, usize, S>,
    key: K,
    value: T,
) {
    match slots.get(&key) {
        Some(&i) => list[i] = value,
        None => {
            slots.insert(key, list.len());
            list.push(value);
        }
    }
}

fn unknown_brand(brand: &str) -> String {
    format!("unknown brand {brand:?}: not defined earlier in this file nor in the store")
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
    async fn read_store_state(&mut self) -> Result<()> {
        let existing = months::existing(db!(self))
            .await
            .context("listing the months of transactions")?;
        self.completed = CompletedIds::read(db!(self), &existing).await?;
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

    // ---- batching ----------------------------------------------------------

    async fn push(&mut self, line: u64, item: Item) -> Result<()> {
        let Some((brand, account)) = self.state.registry.register(line, &item) else {
            return Ok(());
        };
        let rows = match &item {
            Item::Transaction(_, row) => {
                // Removed earlier in this batch, now added again: the removal
                // must reach the store first.
                if !self.batch_removals.is_empty()
                    && self
                        .batch_removals
                        .contains_key(&(account, row.key.clone()))
                {
                    self.flush().await?;
                }
                1
            }
            Item::Pending(p) => 1 + p.entries.len(),
            Item::Removal(x) => {
                self.batch_removals
                    .entry((account, x.key.clone()))
                    .or_insert(line);
                1
            }
            _ => 1,
        };
        self.batch.push(Staged {
            line,
            brand,
            account,
            item,
        });
        self.batch_rows += rows;
        if self.batch_rows >= self.batch_limit {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.resolve().await?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = mem::take(&mut self.batch);
        let count = batch.len() as u64;
        self.batch_rows = 0;
        self.batch_removals.clear();
        let mut staging = Staging::default();
        for staged in batch {
            self.state.walk(staged, &mut staging);
        }
        self.write(staging).await?;
        self.applied.fetch_add(count, Ordering::Relaxed);
        Ok(())
    }

    // ---- streaming ---------------------------------------------------------

    /// Streams `first` and the streamable items after it; returns the item
    /// that ended the stream.
    async fn stream(
        &mut self,
        account: u32,
        first: Item,
        items: &mut Items,
    ) -> Result<Option<(u64, Item)>> {
        let mut tx = self.tx.take().expect("the transaction is free");
        let result = self.stream_into(&mut tx, account, first, items).await;
        self.tx = Some(tx);
        result.context("writing transactions")
    }

    async fn stream_into(
        &mut self,
        tx: &mut PgConnection,
        account: u32,
        first: Item,
        items: &mut Items,
    ) -> Result<Option<(u64, Item)>> {
        const SEND_BYTES: usize = 1 << 18;
        let mut buf = mem::take(&mut self.copy);
        buf.clear();
        buf.begin();
        let mut sink = tx.copy_in_raw(COPY_TRANSACTIONS).await?;
        let mut total = 0u64;
        let mut next = Some((account, first));
        let leftover = loop {
            if let Some((a, item)) = &next {
                let id = self.state.registry.accounts[*a as usize]
                    .id
                    .expect("streamable accounts have an id");
                match item {
                    Item::Transaction(_, row) => {
                        buf.push(id, row);
                        self.completed.note(id, &row.key, row.booking_date);
                    }
                    Item::Pending(p) => p.entries.iter().for_each(|e| buf.push(id, e)),
                    _ => unreachable!("only streamable items"),
                }
                if let Some((_, item)) = next.take() {
                    items.give_back(item);
                }
                if buf.buf.len() >= SEND_BYTES {
                    sink.send(buf.buf.as_slice()).await?;
                    total += buf.rows;
                    self.applied.fetch_add(buf.rows, Ordering::Relaxed);
                    buf.clear();
                }
            }
            match items.next().await {
                None => break None,
                Some((line, item)) => match self.state.streamable(line, &item) {
                    Some(a) => next = Some((a, item)),
                    None => break Some((line, item)),
                },
            }
        };
        buf.end();
        sink.send(buf.buf.as_slice()).await?;
        total += buf.rows;
        self.applied.fetch_add(buf.rows, Ordering::Relaxed);
        let written = sink.finish().await?;
        if written != total {
            bail!("COPY wrote {written} rows instead of {total}");
        }
        buf.clear();
        self.copy = buf;
        Ok(leftover)
    }

    // ---- reading the store -------------------------------------------------

    async fn resolve(&mut self) -> Result<()> {
        if !self.state.registry.resolve_brands.is_empty() {
            let list = mem::take(&mut self.state.registry.resolve_brands);
            let ids: Vec<&str> = list
                .iter()
                .map(|&b| self.state.registry.brands[b as usize].id.as_str())
                .collect();
            let found: Vec<String> =
                sqlx::query_scalar("SELECT brand_id FROM brands WHERE brand_id = ANY($1)")
                    .bind(&ids)
                    .fetch_all(db!(self))
                    .await
                    .context("looking up brands")?;
            let found: HashSet<String> = found.into_iter().collect();
            for b in list {
                let brand = &mut self.state.registry.brands[b as usize];
                brand.entity.in_store = Some(found.contains(&brand.id));
            }
        }
        if !self.state.registry.resolve_customers.is_empty() {
            let list = mem::take(&mut self.state.registry.resolve_customers);
            let brand_ids: Vec<&str> = list
                .iter()
                .map(|(b, _)| self.state.registry.brands[*b as usize].id.as_str())
                .collect();
            let documents: Vec<&str> = list.iter().map(|(_, d)| d.as_str()).collect();
            let found: Vec<i64> = sqlx::query_scalar(
                "SELECT u.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(b, d, i) \
                 WHERE EXISTS (SELECT FROM customers c WHERE c.brand_id = u.b AND c.document = u.d)",
            )
            .bind(&brand_ids)
            .bind(&documents)
            .fetch_all(db!(self))
            .await
            .context("looking up customers")?;
            let found: HashSet<i64> = found.into_iter().collect();
            for (i, (b, document)) in list.iter().enumerate() {
                if let Some(c) = self.state.registry.brands[*b as usize]
                    .customers
                    .get_mut(document)
                {
                    c.in_store = Some(found.contains(&(i as i64 + 1)));
                }
            }
        }
        if !self.state.registry.resolve_accounts.is_empty() {
            let list = mem::take(&mut self.state.registry.resolve_accounts);
            let brand_ids: Vec<&str> = list
                .iter()
                .map(|(a, _)| {
                    self.state.registry.brands
                        [self.state.registry.accounts[*a as usize].brand as usize]
                        .id
                        .as_str()
                })
                .collect();
            let keys: Vec<&str> = list.iter().map(|(_, k)| k.as_str()).collect();
            let found: Vec<(i64, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT u.i, a.id, b.update_date_time \
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(b, k, i) \
                 JOIN accounts a ON a.brand_id = u.b AND a.legacy_key = u.k \
                 LEFT JOIN balances b ON b.account_id = a.id",
            )
            .bind(&brand_ids)
            .bind(&keys)
            .fetch_all(db!(self))
            .await
            .context("looking up accounts")?;
            for (a, _) in &list {
                let a = &mut self.state.registry.accounts[*a as usize];
                a.entity.in_store = Some(false);
                a.fresh = Some(KeyHashes::default());
            }
            let mut by_id: FxMap<i64, u32> = FxMap::default();
            for (i, id, balance_time) in found {
                let index = list[(i - 1) as usize].0;
                by_id.insert(id, index);
                let a = &mut self.state.registry.accounts[index as usize];
                a.entity.in_store = Some(true);
                a.fresh = None;
                a.id = Some(id);
                a.holders_in_db = true;
                a.balance_time = balance_time;
            }
            // Their pending entries: one scan of each month's small index
            // of pending entries for all of them.
            let ids: Vec<i64> = by_id.keys().copied().collect();
            let pending: Vec<(i64, String)> = sqlx::query_as(
                "SELECT account_id, legacy_key FROM transactions \
                 WHERE account_id = ANY($1) AND completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA'",
            )
            .bind(&ids)
            .fetch_all(db!(self))
            .await
            .context("looking up pending entries")?;
            for (id, key) in pending {
                let a = &mut self.state.registry.accounts[by_id[&id] as usize];
                a.pending_in_db = true;
                a.pending.insert(key);
            }
        }
        Ok(())
    }

    // ---- writing -----------------------------------------------------------

    async fn write(&mut self, st: Staging) -> Result<()> {
        if !st.brands.is_empty() {
            self.write_brands(&st.brands).await?;
        }
        if !st.customers.is_empty() {
            self.write_customers(&st.customers).await?;
        }
        if !st.accounts.is_empty() {
            self.write_accounts(&st.accounts).await?;
        }
        if !st.balances.is_empty() {
            self.write_balances(&st.balances).await?;
        }
        if !st.limits.is_empty() {
            self.write_limits(&st.limits).await?;
        }
        if !st.completed.is_empty() {
            self.write_completed(st.completed).await?;
        }
        if !st.removals.is_empty() {
            self.write_removals(st.removals).await?;
        }
        Ok(())
    }

    async fn write_brands(&mut self, brands: &[Brand]) -> Result<()> {
        let ids: Vec<&str> = brands.iter().map(|b| b.brand_id.as_str()).collect();
        let names: Vec<&str> = brands.iter().map(|b| b.brand_name.as_str()).collect();
        let cnpjs: Vec<&str> = brands.iter().map(|b| b.company_cnpj.as_str()).collect();
        sqlx::query(
            "INSERT INTO brands (brand_id, brand_name, company_cnpj) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (brand_id) DO UPDATE SET brand_name = EXCLUDED.brand_name, company_cnpj = EXCLUDED.company_cnpj \
             WHERE (brands.brand_name, brands.company_cnpj) IS DISTINCT FROM (EXCLUDED.brand_name, EXCLUDED.company_cnpj)",
        )
        .bind(&ids)
        .bind(&names)
        .bind(&cnpjs)
        .execute(db!(self))
        .await
        .context("writing brands")?;
        Ok(())
    }

    async fn write_customers(&mut self, customers: &[Customer]) -> Result<()> {
        let brands: Vec<&str> = customers.iter().map(|c| c.brand_id.as_str()).collect();
        let documents: Vec<&str> = customers.iter().map(|c| c.document.as_str()).collect();
        let names: Vec<&str> = customers.iter().map(|c| c.name.as_str()).collect();
        sqlx::query(
            "INSERT INTO customers (brand_id, document, name) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (brand_id, document) DO UPDATE SET name = EXCLUDED.name \
             WHERE customers.name IS DISTINCT FROM EXCLUDED.name",
        )
        .bind(&brands)
        .bind(&documents)
        .bind(&names)
        .execute(db!(self))
        .await
        .context("writing customers")?;
        Ok(())
    }

    async fn write_accounts(&mut self, accounts: &[(u32, Account)]) -> Result<()> {
        let brands: Vec<&str> = accounts.iter().map(|(_, a)| &*a.account.brand).collect();
        let keys: Vec<&str> = accounts.iter().map(|(_, a)| &*a.account.key).collect();
        let json: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.legacy_json.as_str())
            .collect();
        let types: Vec<&str> = accounts.iter().map(|(_, a)| a.account_type).collect();
        let subtypes: Vec<&str> = accounts.iter().map(|(_, a)| a.subtype).collect();
        let compe: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.compe_code.as_str())
            .collect();
        let branch: Vec<Option<&str>> = accounts
            .iter()
            .map(|(_, a)| a.branch_code.as_deref())
            .collect();
        let number: Vec<&str> = accounts.iter().map(|(_, a)| a.number.as_str()).collect();
        let check: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.check_digit.as_str())
            .collect();
        let currency: Vec<&str> = accounts.iter().map(|(_, a)| a.currency.as_str()).collect();
        let display: Vec<Option<&str>> = accounts
            .iter()
            .map(|(_, a)| a.display_name.as_deref())
            .collect();
        let status: Vec<&str> = accounts.iter().map(|(_, a)| a.status).collect();
        let written: Vec<(i64, String, String)> = sqlx::query_as(
            "INSERT INTO accounts (brand_id, legacy_key, legacy_id, type, subtype, compe_code, branch_code, \
                                   number, check_digit, currency, display_name, status) \
             SELECT b, k, j::jsonb, t, s, cc, bc, n, cd, cur, dn, st \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
                  AS u(b, k, j, t, s, cc, bc, n, cd, cur, dn, st) \
             ON CONFLICT (brand_id, legacy_key) DO UPDATE SET \
                 legacy_id = EXCLUDED.legacy_id, type = EXCLUDED.type, subtype = EXCLUDED.subtype, \
                 compe_code = EXCLUDED.compe_code, branch_code = EXCLUDED.branch_code, number = EXCLUDED.number, \
                 check_digit = EXCLUDED.check_digit, currency = EXCLUDED.currency, \
                 display_name = EXCLUDED.display_name, status = EXCLUDED.status \
             WHERE (accounts.legacy_id, accounts.type, accounts.subtype, accounts.compe_code, accounts.branch_code, \
                    accounts.number, accounts.check_digit, accounts.currency, accounts.display_name, accounts.status) \
                IS DISTINCT FROM \
                   (EXCLUDED.legacy_id, EXCLUDED.type, EXCLUDED.subtype, EXCLUDED.compe_code, EXCLUDED.branch_code, \
                    EXCLUDED.number, EXCLUDED.check_digit, EXCLUDED.currency, EXCLUDED.display_name, EXCLUDED.status) \
             RETURNING id, brand_id, legacy_key",
        )
        .bind(&brands)
        .bind(&keys)
        .bind(&json)
        .bind(&types)
        .bind(&subtypes)
        .bind(&compe)
        .bind(&branch)
        .bind(&number)
        .bind(&check)
        .bind(&currency)
        .bind(&display)
        .bind(&status)
        .fetch_all(db!(self))
        .await
        .context("writing accounts")?;
        for (id, brand, key) in written {
            let b = self.state.registry.brand_index[&brand];
            let a = self.state.registry.brands[b as usize].accounts[&key];
            self.state.registry.accounts[a as usize].id = Some(id);
        }

        // Holders: the record's list replaces the stored one.
        let mut replace: Vec<i64> = Vec::new();
        let (mut h_brand, mut h_document, mut h_account) = (Vec::new(), Vec::new(), Vec::new());
        for (a, account) in accounts {
            let state = &mut self.state.registry.accounts[*a as usize];
            let Some(id) = state.id else {
                bail!("internal error: account of line without an id after writing")
            };
            if state.holders_in_db {
                replace.push(id);
            }
            state.holders_in_db = true;
            for holder in &account.holders {
                h_brand.push(&*account.account.brand);
                h_document.push(holder.as_str());
                h_account.push(id);
            }
        }
        if !replace.is_empty() {
            sqlx::query("DELETE FROM account_holders WHERE account_id = ANY($1)")
                .bind(&replace)
                .execute(db!(self))
                .await
                .context("replacing account holders")?;
        }
        sqlx::query(
            "INSERT INTO account_holders (brand_id, document, account_id) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])",
        )
        .bind(&h_brand)
        .bind(&h_document)
        .bind(&h_account)
        .execute(db!(self))
        .await
        .context("writing account holders")?;
        Ok(())
    }

    async fn write_balances(&mut self, balances: &[(u32, Balance)]) -> Result<()> {
        let mut ids = Vec::with_capacity(balances.len());
        let (mut available, mut blocked, mut invested, mut currency, mut updated) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (a, b) in balances {
            let Some(id) = self.state.registry.id_of(*a) else {
                continue;
            };
            let brand = &mut self.state.registry.brands
                [self.state.registry.accounts[*a as usize].brand as usize];
            brand.newest_balance = brand.newest_balance.max(Some(b.updated));
            ids.push(id);
            available.push(b.available);
            blocked.push(b.blocked);
            invested.push(b.invested);
            currency.push(b.currency.as_str());
            updated.push(b.updated);
        }
        sqlx::query(
            "INSERT INTO balances (account_id, available_amount, blocked_amount, automatically_invested_amount, \
                                   currency, update_date_time) \
             SELECT * FROM unnest($1::int8[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::timestamptz[]) \
             ON CONFLICT (account_id) DO UPDATE SET \
                 available_amount = EXCLUDED.available_amount, blocked_amount = EXCLUDED.blocked_amount, \
                 automatically_invested_amount = EXCLUDED.automatically_invested_amount, \
                 currency = EXCLUDED.currency, update_date_time = EXCLUDED.update_date_time \
             WHERE balances.update_date_time <= EXCLUDED.update_date_time",
        )
        .bind(&ids)
        .bind(&available)
        .bind(&blocked)
        .bind(&invested)
        .bind(&currency)
        .bind(&updated)
        .execute(db!(self))
        .await
        .context("writing balances")?;
        Ok(())
    }

    async fn write_limits(&mut self, limits: &[(u32, Limits)]) -> Result<()> {
        let mut ids = Vec::with_capacity(limits.len());
        let (mut contracted, mut used, mut unarranged, mut currency) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (a, l) in limits {
            let Some(id) = self.state.registry.id_of(*a) else {
                continue;
            };
            ids.push(id);
            contracted.push(l.contracted);
            used.push(l.used);
            unarranged.push(l.unarranged);
            currency.push(l.currency.as_str());
        }
        sqlx::query(
            "INSERT INTO overdraft_limits (account_id, overdraft_contracted_limit, overdraft_used_limit, \
                                           unarranged_overdraft_amount, currency) \
             SELECT * FROM unnest($1::int8[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[]) \
             ON CONFLICT (account_id) DO UPDATE SET \
                 overdraft_contracted_limit = EXCLUDED.overdraft_contracted_limit, \
                 overdraft_used_limit = EXCLUDED.overdraft_used_limit, \
                 unarranged_overdraft_amount = EXCLUDED.unarranged_overdraft_amount, currency = EXCLUDED.currency",
        )
        .bind(&ids)
        .bind(&contracted)
        .bind(&used)
        .bind(&unarranged)
        .bind(&currency)
        .execute(db!(self))
        .await
        .context("writing overdraft limits")?;
        Ok(())
    }

    async fn write_completed(&mut self, rows: Vec<(u64, u32, TxRow)>) -> Result<()> {
        // Ids new to an account the file created go straight in by COPY.
        // The others may be there already (in the store, or earlier in the
        // file): they are looked up, compared when found (identical content
        // is a no-op, anything else breaks immutability) and the new ones
        // go in by COPY too.
        let missing = self
            .state
            .missing_months(rows.iter().map(|(_, _, row)| row.booking_date));
        self.create_months(missing).await?;
        let mut copy = mem::take(&mut self.copy);
        copy.clear();
        copy.begin();
        let mut others: Vec<(u64, i64, TxRow)> = Vec::new();
        for (line, a, row) in rows {
            let state = &mut self.state.registry.accounts[a as usize];
            let Some(id) = state.id else { continue };
            let new_id = state
                .fresh
                .as_mut()
                .is_some_and(|seen| seen.insert(key_hash(&row.key)));
            if new_id {
                copy.push(id, &row);
                self.completed.note(id, &row.key, row.booking_date);
            } else {
                others.push((line, id, row));
            }
        }
        if !copy.is_empty() {
            copy.end();
            self.copy_in(&copy).await.context("writing transactions")?;
        }
        if !others.is_empty() {
            copy.clear();
            copy.begin();
            let result = self.write_others(&others, &mut copy).await;
            self.copy = copy;
            return result;
        }
        self.copy = copy;
        Ok(())
    }

    /// Completed rows whose id may exist already; see [`Self::write_completed`].
    async fn write_others(
        &mut self,
        rows: &[(u64, i64, TxRow)],
        copy: &mut CopyRows,
    ) -> Result<()> {
        let probes: Vec<(i64, &str)> = rows
            .iter()
            .map(|(_, id, row)| (*id, row.key.as_str()))
            .collect();
        let existing = self.completed.find(db!(self), &probes).await?;
        let removed = self.tombstones_of(rows, &existing).await?;
        // First occurrence in this batch of each new (account, id).
        let mut first: FxMap<(i64, &str), usize> = FxMap::default();
        for (i, (line, id, row)) in rows.iter().enumerate() {
            if let Some(tombstone) = removed.get(&i) {
                if tombstone.digest[..] == content(row).digest()[..] {
                    self.state.stats.removed_transactions += 1;
                } else {
                    self.state.errors.push(
                        *line,
                        "transactionId",
                        format!(
                            "this transaction was removed from this account on {} ({}); a removed \
                             transaction never comes back, and this content differs from the removed one",
                            tombstone.removed_at.format("%Y-%m-%d"),
                            tombstone.reason.as_deref().unwrap_or("no reason given"),
                        ),
                    );
                }
                continue;
            }
            let differ = match &existing[i] {
                Some(s) => differences(&RowRef::from(row), s, false),
                None => match first.entry((*id, row.key.as_str())) {
                    std::collections::hash_map::Entry::Occupied(e) => {
                        let earlier = StoredRow::from_row(&rows[*e.get()].2);
                        differences(&RowRef::from(row), &earlier, false)
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(i);
                        copy.push(*id, row);
                        self.completed.note(*id, &row.key, row.booking_date);
                        continue;
                    }
                },
            };
            if differ.is_empty() {
                self.state.stats.duplicate_transactions += 1;
            } else {
                self.state.errors.push(
                    *line,
                    "transactionId",
                    format!(
                        "a completed transaction with this id already exists in this account with a \
                         different {}; completed transactions are immutable",
                        differ.join(", ")
                    ),
                );
            }
        }
        if !copy.is_empty() {
            copy.end();
            self.copy_in(copy).await.context("writing transactions")?;
        }
        Ok(())
    }

    /// The tombstones of the rows not in the store, by row index.
    async fn tombstones_of(
        &mut self,
        rows: &[(u64, i64, TxRow)],
        existing: &[Option<StoredRow>],
    ) -> Result<HashMap<usize, Tombstone>> {
        let (mut index, mut ids, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (_, id, row)) in rows.iter().enumerate() {
            if existing[i].is_none() && self.tombstoned.contains(id) {
                index.push(i);
                ids.push(*id);
                keys.push(row.key.as_str());
            }
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Vec<Tombstone> = sqlx::query_as(
            "SELECT u.i AS tag, tb.content_digest AS digest, tb.reason, tb.removed_at \
             FROM unnest($1::int8[], $2::text[]) WITH ORDINALITY AS u(a, k, i) \
             JOIN transaction_tombstones tb ON tb.account_id = u.a AND tb.legacy_key = u.k",
        )
        .bind(&ids)
        .bind(&keys)
        .fetch_all(db!(self))
        .await
        .context("looking up tombstones")?;
        Ok(found
            .into_iter()
            .map(|t| (index[(t.tag - 1) as usize], t))
            .collect())
    }

    /// Removes completed transactions, leaving a tombstone of each; a
    /// removal whose tombstone exists already is a replay, a no-op.
    async fn write_removals(&mut self, removals: Vec<(u64, u32, Removal)>) -> Result<()> {
        let mut ids = Vec::with_capacity(removals.len());
        let mut keys = Vec::with_capacity(removals.len());
        let mut lines = Vec::with_capacity(removals.len());
        let mut reasons = Vec::with_capacity(removals.len());
        for (line, a, removal) in &removals {
            let Some(id) = self.state.registry.id_of(*a) else {
                continue;
            };
            ids.push(id);
            keys.push(removal.key.as_str());
            lines.push(*line);
            reasons.push(removal.reason.as_deref());
        }
        let (from, to) = self.completed.bounds();
        let removed: Vec<StoredRow> = sqlx::query_as(&format!(
            "DELETE FROM transactions t USING unnest($1::int8[], $2::text[]) AS u(a, k) \
             WHERE t.account_id = u.a AND t.legacy_key = u.k \
               AND t.completed_authorised_payment_type = 'TRANSACAO_EFETIVADA' \
               AND t.booking_date >= $3 AND t.booking_date < $4 \
             RETURNING t.account_id AS tag, {STORED_COLUMNS}"
        ))
        .bind(&ids)
        .bind(&keys)
        .bind(from)
        .bind(to)
        .fetch_all(db!(self))
        .await
        .context("removing transactions")?;
        // The reason a tombstone keeps is its first removal's.
        let mut reason_of: FxMap<(i64, &str), Option<&str>> = FxMap::default();
        for ((id, key), reason) in ids.iter().zip(&keys).zip(&reasons) {
            reason_of.entry((*id, key)).or_insert(*reason);
        }
        let mut tombstones = TombstoneRows::default();
        for row in &removed {
            tombstones.account.push(row.tag);
            tombstones.key.push(row.legacy_key.as_str());
            tombstones.reason.push(
                reason_of
                    .get(&(row.tag, row.legacy_key.as_str()))
                    .copied()
                    .flatten(),
            );
            tombstones.booking_date.push(row.booking_date);
            tombstones.digest.push(row.content().digest().to_vec());
        }
        if !removed.is_empty() {
            sqlx::query(
                "INSERT INTO transaction_tombstones (account_id, legacy_key, reason, booking_date, content_digest) \
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::date[], $5::bytea[])",
            )
            .bind(&tombstones.account)
            .bind(&tombstones.key)
            .bind(&tombstones.reason)
            .bind(&tombstones.booking_date)
            .bind(&tombstones.digest)
            .execute(db!(self))
            .await
            .context("writing tombstones")?;
            self.tombstoned.extend(&tombstones.account);
        }
        // The others are replays if a tombstone says so.
        let removed: HashSet<(i64, &str)> = removed
            .iter()
            .map(|r| (r.tag, r.legacy_key.as_str()))
            .collect();
        let mut once: HashSet<(i64, &str)> = HashSet::new();
        let (mut probe_ids, mut probe_keys, mut probe_lines) = (Vec::new(), Vec::new(), Vec::new());
        for ((id, key), line) in ids.iter().zip(&keys).zip(&lines) {
            // The first removal of an id in this batch removed it; a later
            // one of the same id is a replay.
            if removed.contains(&(*id, *key)) && once.insert((*id, *key)) {
                continue;
            }
            probe_ids.push(*id);
            probe_keys.push(*key);
            probe_lines.push(*line);
        }
        if probe_ids.is_empty() {
            return Ok(());
        }
        let replays: Vec<i64> = sqlx::query_scalar(
            "SELECT u.i FROM unnest($1::int8[], $2::text[]) WITH ORDINALITY AS u(a, k, i) \
             WHERE EXISTS (SELECT FROM transaction_tombstones tb WHERE tb.account_id = u.a AND tb.legacy_key = u.k)",
        )
        .bind(&probe_ids)
        .bind(&probe_keys)
        .fetch_all(db!(self))
        .await
        .context("looking up tombstones")?;
        self.state.stats.replayed_removals += replays.len() as u64;
        let replays: HashSet<i64> = replays.into_iter().collect();
        for (i, line) in probe_lines.iter().enumerate() {
            if !replays.contains(&(i as i64 + 1)) {
                self.state.errors.push(
                    *line,
                    "transactionId",
                    "no completed transaction with this id in this account, and none was removed",
                );
            }
        }
        Ok(())
    }

    async fn write_snapshots(&mut self, snapshots: Vec<(u32, Vec<TxRow>)>) -> Result<()> {
        // The store's current entries of the accounts that have some, to
        // leave identical snapshots untouched (same rows, same ids).
        let with_stored: Vec<i64> = snapshots
            .iter()
            .filter(|(a, _)| self.state.registry.accounts[*a as usize].pending_in_db)
            .filter_map(|(a, _)| self.state.registry.id_of(*a))
            .collect();
        let mut stored: HashMap<i64, Vec<StoredRow>> = HashMap::new();
        if !with_stored.is_empty() {
            let rows: Vec<StoredRow> = sqlx::query_as(&format!(
                "SELECT t.account_id AS tag, {STORED_COLUMNS} FROM transactions t \
                 WHERE t.account_id = ANY($1) AND t.completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA' \
                 ORDER BY t.account_id, t.id"
            ))
            .bind(&with_stored)
            .fetch_all(db!(self))
            .await
            .context("reading pending entries")?;
            for row in rows {
                stored.entry(row.tag).or_default().push(row);
            }
        }
        let missing = self.state.missing_months(
            snapshots
                .iter()
                .flat_map(|(_, entries)| entries.iter().map(|e| e.booking_date)),
        );
        self.create_months(missing).await?;
        let mut clear: Vec<i64> = Vec::new();
        let mut copy = mem::take(&mut self.copy);
        copy.clear();
        copy.begin();
        for (a, entries) in snapshots {
            let Some(id) = self.state.registry.id_of(a) else {
                continue;
            };
            let state = &mut self.state.registry.accounts[a as usize];
            if state.pending_in_db {
                let old = stored.get(&id).map(Vec::as_slice).unwrap_or_default();
                let same = old.len() == entries.len()
                    && old
                        .iter()
                        .zip(&entries)
                        .all(|(s, e)| differences(&RowRef::from(e), s, true).is_empty());
                if same {
                    self.state.stats.unchanged_snapshots += 1;
                    continue;
                }
                clear.push(id);
            }
            state.pending_in_db = !entries.is_empty();
            for e in &entries {
                copy.push(id, e);
            }
        }
        if !clear.is_empty() {
            sqlx::query(
                "DELETE FROM transactions WHERE account_id = ANY($1) \
                 AND completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA'",
            )
            .bind(&clear)
            .execute(db!(self))
            .await
            .context("replacing pending entries")?;
        }
        if !copy.is_empty() {
            copy.end();
            self.copy_in(&copy)
                .await
                .context("writing pending entries")?;
        }
        self.copy = copy;
        Ok(())
    }

    /// Sends rows that cannot conflict with COPY.
    async fn copy_in(&mut self, rows: &CopyRows) -> Result<()> {
        let db = db!(self);
        let mut copy = db.copy_in_raw(COPY_TRANSACTIONS).await?;
        for chunk in rows.buf.chunks(1 << 20) {
            copy.send(chunk).await?;
        }
        let written = copy.finish().await?;
        if written != rows.rows {
            bail!("COPY wrote {written} rows instead of {}", rows.rows);
        }
        Ok(())
    }

    // ---- once the whole file is applied ------------------------------------

    /// Pending entries and completed transactions of an account never share
    /// an id in the resulting store; each clash is blamed on the line that
    /// made it.
    async fn final_checks(&mut self) -> Result<()> {
        let mut probe: Vec<(u64, usize, u32, &str)> = Vec::new();
        for (a, state) in self.state.registry.accounts.iter().enumerate() {
            if let (Some((line, first)), Some(_)) = (&state.snapshot, state.id) {
                for (key, i) in first {
                    // An account the file created has only the ids it recorded.
                    if state
                        .fresh
                        .as_ref()
                        .is_some_and(|seen| !seen.contains(&key_hash(key)))
                    {
                        continue;
                    }
                    probe.push((*line, *i, a as u32, key.as_str()));
                }
            }
        }
        probe.sort_unstable();
        let mut blamed: Vec<(u64, String, String)> = Vec::new();
        for chunk in probe.chunks(10_000) {
            let ids: Vec<(i64, &str)> = chunk
                .iter()
                .map(|(_, _, a, key)| {
                    (
                        self.state.registry.accounts[*a as usize].id.unwrap_or(0),
                        *key,
                    )
                })
                .collect();
            let found = self.completed.find(db!(self), &ids).await?;
            let hits = found.iter().enumerate().filter(|(_, f)| f.is_some());
            for (i, _) in hits {
                let (line, entry, a, key) = chunk[i];
                if self.state.registry.accounts[a as usize]
                    .conflicts
                    .iter()
                    .any(|(k, _)| k == key)
                {
                    continue; // blamed on the completed line that came after
                }
                blamed.push((
                    line,
                    format!("transactions[{entry}].transactionId"),
                    "reuses the id of a completed transaction of this account".to_owned(),
                ));
            }
        }
        for state in &self.state.registry.accounts {
            for (_, line) in &state.conflicts {
                blamed.push((
                    *line,
                    "transactionId".to_owned(),
                    "a pending entry of this account has the same id; a completed transaction must not share \
                     its id with a pending one (send a pendingTransactions snapshot without it)"
                        .to_owned(),
                ));
            }
        }
        for (line, field, reason) in blamed {
            self.state.errors.push(line, field, reason);
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

    /// The account of `item` if it can go straight into the COPY: a
    /// completed transaction of a usable account the file created, with an
    /// id new to it (then recorded as seen), or the first snapshot of such an
    /// account's pending entries (then taken into account, as [`Self::walk`]
    /// would).
    fn streamable(&mut self, line: u64, item: &Item) -> Option<u32> {
        let (r, row) = match item {
            Item::Transaction(r, row) => (r, Some(row)),
            Item::Pending(p) => (&p.account, None),
            _ => return None,
        };
        // Entries to skip, or of a month still without its partition, go
        // through the batches.
        let writable =
            |date: NaiveDate| !self.expired(date) && self.months.contains(&Month::of(date));
        let all_writable = match item {
            Item::Transaction(_, row) => writable(row.booking_date),
            Item::Pending(p) => p.entries.iter().all(|e| writable(e.booking_date)),
            _ => false,
        };
        if !all_writable {
            return None;
        }
        let (_, a) = self.registry.account_of(r);
        let state = &mut self.registry.accounts[a as usize];
        if state.id.is_none() || !state.entity.known_at(line) {
            return None;
        }
        let seen = state.fresh.as_mut()?;
        match (row, item) {
            (Some(row), _) => {
                if !seen.insert(key_hash(&row.key)) {
                    return None;
                }
                state.note_completed(&row.key, line);
            }
            (None, Item::Pending(p)) => {
                if state.pending_in_db {
                    return None; // entries to replace: the batch path does it
                }
                state.note_snapshot(line, &p.entries);
                state.pending_in_db = !p.entries.is_empty();
                if let Some(&slot) = self.deferred_slot.get(&a) {
                    self.deferred[slot].1 = None; // superseded by this one
                }
            }
            _ => unreachable!("matched above"),
        }
        Some(a)
    }

    // ---- deciding, in line order -------------------------------------------

    /// Whether the line's account may be used; reports unknown ones.
    fn usable(&mut self, line: u64, brand: u32, account: u32) -> bool {
        let a = &self.registry.accounts[account as usize];
        if !a.entity.known_at(line) {
            let b = &self.registry.brands[brand as usize];
            if !b.entity.known_at(line) {
                let reason = unknown_brand(&b.id);
                self.errors.push(line, "brandId", reason);
            } else {
                let reason = format!(
                    "unknown account of brand {:?}: not defined earlier in this file nor in the store",
                    b.id
                );
                self.errors.push(line, "accountId", reason);
            }
            return false;
        }
        !(a.entity.broken && a.id.is_none())
    }

    /// Whether the line's brand may be used; reports an unknown one.
    fn brand_usable(&mut self, line: u64, brand: u32) -> bool {
        let b = &self.registry.brands[brand as usize];
        if !b.entity.known_at(line) {
            let reason = unknown_brand(&b.id);
            self.errors.push(line, "brandId", reason);
            return false;
        }
        !b.entity.broken
    }

    fn walk(&mut self, s: Staged, st: &mut Staging) {
        let Staged {
            line,
            brand,
            account,
            item,
        } = s;
        match item {
            Item::Defines(_) => {}
            Item::Brand(b) => last_wins(&mut st.brands, &mut st.brand_slot, brand, b),
            Item::Customer(c) => {
                if self.brand_usable(line, brand) {
                    let key = (brand, c.document.clone());
                    last_wins(&mut st.customers, &mut st.customer_slot, key, c);
                } else {
                    self.registry.customer(brand, &c.document, None).broken = true;
                }
            }
            Item::Account(a) => {
                let mut ok = self.brand_usable(line, brand);
                for (i, holder) in a.holders.iter().enumerate() {
                    let c = &self.registry.brands[brand as usize].customers[holder.as_str()];
                    if !c.known_at(line) {
                        let reason = format!(
                            "unknown customer {holder} of brand {:?}: not defined earlier in this file nor in the store",
                            self.registry.brands[brand as usize].id
                        );
                        self.errors.push(line, format!("holders[{i}]"), reason);
                        ok = false;
                    } else if c.broken {
                        ok = false;
                    }
                }
                if ok {
                    last_wins(
                        &mut st.accounts,
                        &mut st.account_slot,
                        account,
                        (account, a),
                    );
                } else {
                    self.registry.accounts[account as usize].entity.broken = true;
                }
            }
            Item::Balance(b) => {
                if self.usable(line, brand, account) {
                    let state = &mut self.registry.accounts[account as usize];
                    if state.balance_time.is_some_and(|t| b.updated < t) {
                        self.stats.stale_balances += 1;
                    } else {
                        state.balance_time = Some(b.updated);
                        last_wins(
                            &mut st.balances,
                            &mut st.balance_slot,
                            account,
                            (account, b),
                        );
                    }
                }
            }
            Item::Limits(l) => {
                if self.usable(line, brand, account) {
                    last_wins(&mut st.limits, &mut st.limits_slot, account, (account, l));
                }
            }
            Item::Transaction(_, row) => {
                if self.usable(line, brand, account) {
                    if self.expired(row.booking_date) {
                        self.stats.expired_entries += 1;
                        return;
                    }
                    let state = &mut self.registry.accounts[account as usize];
                    state.note_completed(&row.key, line);
                    st.completed.push((line, account, row));
                }
            }
            Item::Pending(mut p) => {
                if self.usable(line, brand, account) {
                    let before = p.entries.len();
                    p.entries.retain(|e| !self.expired(e.booking_date));
                    self.stats.expired_entries += (before - p.entries.len()) as u64;
                    let state = &mut self.registry.accounts[account as usize];
                    state.note_snapshot(line, &p.entries);
                    // Written once the whole file is read (see `deferred`).
                    last_wins(
                        &mut self.deferred,
                        &mut self.deferred_slot,
                        account,
                        (account, Some(p.entries)),
                    );
                }
            }
            Item::Removal(r) => {
                if self.usable(line, brand, account) {
                    let state = &mut self.registry.accounts[account as usize];
                    state.conflicts.retain(|(k, _)| *k != r.key);
                    st.removals.push((line, account, r));
                }
            }
        }
    }
}

/// A removed transaction's tombstone; `tag` says which probe it answers.
#[derive(sqlx::FromRow)]
struct Tombstone {
    tag: i64,
    digest: Vec<u8>,
    reason: Option<String>,
    removed_at: DateTime<Utc>,
}

/// Tombstones to write, as the columns of one `unnest`.
#[derive(Default)]
struct TombstoneRows<'a> {
    account: Vec<i64>,
    key: Vec<&'a str>,
    reason: Vec<Option<&'a str>>,
    booking_date: Vec<NaiveDate>,
    digest: Vec<Vec<u8>>,
}

/// The content a tombstone's digest is taken of.
fn content(r: &TxRow) -> Content<'_> {
    Content {
        key: &r.key,
        credit_debit: r.credit_debit,
        name: &r.name,
        transaction_type: r.tx_type,
        amount: r.amount,
        currency: &r.currency,
        date_time: r.date_time,
        booking_date: r.booking_date,
        counterparty: [
            r.partie_cnpj_cpf.as_deref(),
            r.partie_person_type,
            r.partie_compe_code.as_deref(),
            r.partie_branch_code.as_deref(),
            r.partie_number.as_deref(),
            r.partie_check_digit.as_deref(),
        ],
    }
}

/// One statement entry as the file has it.
struct RowRef<'a> {
    key: &'a str,
    json: &'a str,
    kind: &'static str,
    credit_debit: &'static str,
    name: &'a str,
    tx_type: &'static str,
    amount: Decimal,
    currency: &'a str,
    date_time: DateTime<Utc>,
    booking: NaiveDate,
    partie_doc: Option<&'a str>,
    partie_person: Option<&'static str>,
    partie_compe: Option<&'a str>,
    partie_branch: Option<&'a str>,
    partie_number: Option<&'a str>,
    partie_check: Option<&'a str>,
}

impl<'a> From<&'a TxRow> for RowRef<'a> {
    fn from(r: &'a TxRow) -> Self {
        RowRef {
            key: &r.key,
            json: &r.id_json,
            kind: r.kind,
            credit_debit: r.credit_debit,
            name: &r.name,
            tx_type: r.tx_type,
            amount: r.amount,
            currency: &r.currency,
            date_time: r.date_time,
            booking: r.booking_date,
            partie_doc: r.partie_cnpj_cpf.as_deref(),
            partie_person: r.partie_person_type,
            partie_compe: r.partie_compe_code.as_deref(),
            partie_branch: r.partie_branch_code.as_deref(),
            partie_number: r.partie_number.as_deref(),
            partie_check: r.partie_check_digit.as_deref(),
        }
    }
}

/// Names of the fields in which a line differs from a stored row. The id's
/// pairs count only when `exact_id` (pending entries, which are matched by
/// position); a completed transaction is matched by its id's identity.
fn differences(r: &RowRef<'_>, s: &StoredRow, exact_id: bool) -> Vec<&'static str> {
    let mut d = Vec::new();
    if r.key != s.legacy_key
        || (exact_id && serde_json::to_string(&s.transaction_id.0).ok().as_deref() != Some(r.json))
    {
        d.push("transactionId");
    }
    if r.kind != s.completed_authorised_payment_type {
        d.push("completedAuthorisedPaymentType");
    }
    if r.credit_debit != s.credit_debit_type {
        d.push("creditDebitType");
    }
    if r.name != s.transaction_name {
        d.push("transactionName");
    }
    if r.tx_type != s.tx_type {
        d.push("type");
    }
    if r.amount != s.amount {
        d.push("amount");
    }
    if r.currency != s.currency {
        d.push("currency");
    }
    if r.date_time != s.transaction_date_time {
        d.push("transactionDateTime");
    }
    if r.booking != s.booking_date {
        d.push("bookingDate");
    }
    if r.partie_doc != s.partie_cnpj_cpf.as_deref() {
        d.push("partieCnpjCpf");
    }
    if r.partie_person != s.partie_person_type.as_deref() {
        d.push("partiePersonType");
    }
    if r.partie_compe != s.partie_compe_code.as_deref() {
        d.push("partieCompeCode");
    }
    if r.partie_branch != s.partie_branch_code.as_deref() {
        d.push("partieBranchCode");
    }
    if r.partie_number != s.partie_number.as_deref() {
        d.push("partieNumber");
    }
    if r.partie_check != s.partie_check_digit.as_deref() {
        d.push("partieCheckDigit");
    }
    d
}
