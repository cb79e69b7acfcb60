//! Writing statement entries: completed transactions by binary COPY (after
//! looking up the ids that may exist already), removals with their
//! tombstones, and the last snapshot of each account's pending entries.

use super::Writer;
use super::compare::{Tombstone, same_entries};
use super::hashing::{FxMap, key_hash};
use crate::import::copy::{COPY_TRANSACTIONS, CopyRows};
use crate::import::stored::{STORED_COLUMNS, StoredRow};
// Dynamic SQL here (`AssertSqlSafe`) is fixed text and `STORED_COLUMNS`.
use crate::import::validate::{Removal, TxRow};
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use sqlx::AssertSqlSafe;
use std::collections::{HashMap, HashSet};
use std::mem;

/// Removals to apply, as the columns of one `unnest`, with their lines.
struct RemovalRows<'a> {
    ids: Vec<i64>,
    keys: Vec<&'a str>,
    lines: Vec<u64>,
    reasons: Vec<Option<&'a str>>,
}

impl RemovalRows<'_> {
    fn with_capacity(n: usize) -> Self {
        RemovalRows {
            ids: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            lines: Vec::with_capacity(n),
            reasons: Vec::with_capacity(n),
        }
    }
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

impl Writer {
    pub(super) async fn write_completed(&mut self, rows: Vec<(u64, u32, TxRow)>) -> Result<()> {
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
        for i in self.state.judge_completed(rows, &existing, &removed) {
            let (_, id, row) = &rows[i];
            copy.push(*id, row);
            self.completed.note(*id, &row.key, row.booking_date);
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
    pub(super) async fn write_removals(
        &mut self,
        removals: Vec<(u64, u32, Removal)>,
    ) -> Result<()> {
        let mut rows = RemovalRows::with_capacity(removals.len());
        for (line, a, removal) in &removals {
            let Some(id) = self.state.registry.id_of(*a) else {
                continue;
            };
            rows.ids.push(id);
            rows.keys.push(removal.key.as_str());
            rows.lines.push(*line);
            rows.reasons.push(removal.reason.as_deref());
        }
        let removed = self.remove_with_tombstones(&rows).await?;
        self.check_replays(&rows, &removed).await
    }

    /// Removes the completed transactions named, leaving a tombstone of
    /// each; returns the rows removed.
    async fn remove_with_tombstones(&mut self, rows: &RemovalRows<'_>) -> Result<Vec<StoredRow>> {
        let (from, to) = self.completed.bounds();
        let removed: Vec<StoredRow> = sqlx::query_as(AssertSqlSafe(format!(
            "DELETE FROM transactions t USING unnest($1::int8[], $2::text[]) AS u(a, k) \
             WHERE t.account_id = u.a AND t.legacy_key = u.k \
               AND t.completed_authorised_payment_type = 'TRANSACAO_EFETIVADA' \
               AND t.booking_date >= $3 AND t.booking_date < $4 \
             RETURNING t.account_id AS tag, {STORED_COLUMNS}"
        )))
        .bind(&rows.ids)
        .bind(&rows.keys)
        .bind(from)
        .bind(to)
        .fetch_all(db!(self))
        .await
        .context("removing transactions")?;
        // The reason a tombstone keeps is its first removal's.
        let mut reason_of: FxMap<(i64, &str), Option<&str>> = FxMap::default();
        for ((id, key), reason) in rows.ids.iter().zip(&rows.keys).zip(&rows.reasons) {
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
        Ok(removed)
    }

    /// The removals that removed nothing are replays if a tombstone says
    /// so, and errors otherwise.
    async fn check_replays(&mut self, rows: &RemovalRows<'_>, removed: &[StoredRow]) -> Result<()> {
        let removed: HashSet<(i64, &str)> = removed
            .iter()
            .map(|r| (r.tag, r.legacy_key.as_str()))
            .collect();
        let mut once: HashSet<(i64, &str)> = HashSet::new();
        let (mut probe_ids, mut probe_keys, mut probe_lines) = (Vec::new(), Vec::new(), Vec::new());
        for ((id, key), line) in rows.ids.iter().zip(&rows.keys).zip(&rows.lines) {
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
             JOIN transaction_tombstones tb ON tb.account_id = u.a AND tb.legacy_key = u.k",
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

    pub(super) async fn write_snapshots(
        &mut self,
        snapshots: Vec<(u32, Vec<TxRow>)>,
    ) -> Result<()> {
        // The store's current entries of the accounts that have some, to
        // leave identical snapshots untouched (same rows, same ids).
        let with_stored: Vec<i64> = snapshots
            .iter()
            .filter(|(a, _)| self.state.registry.accounts[*a as usize].pending_in_db)
            .filter_map(|(a, _)| self.state.registry.id_of(*a))
            .collect();
        let mut stored: HashMap<i64, Vec<StoredRow>> = HashMap::new();
        if !with_stored.is_empty() {
            let rows: Vec<StoredRow> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT t.account_id AS tag, {STORED_COLUMNS} FROM transactions t \
                 WHERE t.account_id = ANY($1) AND t.completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA' \
                 ORDER BY t.account_id, t.id"
            )))
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
                if same_entries(old, &entries) {
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
}
