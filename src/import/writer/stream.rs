//! Streaming: completed transactions (and first snapshots) of accounts the
//! file created, with ids new to them, go into one open COPY for as long as
//! they keep coming, so the bulk of a large import or seed never waits for
//! a batch to be assembled.

use super::hashing::key_hash;
use super::items::Items;
use super::{State, Writer};
use crate::domain::month::Month;
use crate::import::copy::COPY_TRANSACTIONS;
use crate::import::validate::Item;
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use sqlx::PgConnection;
use std::mem;
use std::sync::atomic::Ordering;

impl State {
    /// The account of `item` if it can go straight into the COPY: a
    /// completed transaction of a usable account the file created, with an
    /// id new to it (then recorded as seen), or the first snapshot of such an
    /// account's pending entries (then taken into account, as [`Self::walk`]
    /// would).
    pub(super) fn streamable(&mut self, line: u64, item: &Item) -> Option<u32> {
        // Entries to skip, or of a month still without its partition, go
        // through the batches.
        let writable =
            |date: NaiveDate| !self.expired(date) && self.months.contains(&Month::of(date));
        let (r, all_writable) = match item {
            Item::Transaction(r, row) => (r, writable(row.booking_date)),
            Item::Pending(p) => (
                &p.account,
                p.entries.iter().all(|e| writable(e.booking_date)),
            ),
            _ => return None,
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
        match item {
            Item::Transaction(_, row) => {
                if !seen.insert(key_hash(&row.key)) {
                    return None;
                }
                state.note_completed(&row.key, line);
            }
            Item::Pending(p) => {
                if state.pending_in_db {
                    return None; // entries to replace: the batch path does it
                }
                state.note_snapshot(line, &p.entries);
                state.pending_in_db = !p.entries.is_empty();
                if let Some(&slot) = self.deferred_slot.get(&a) {
                    self.deferred[slot].1 = None; // superseded by this one
                }
            }
            _ => return None,
        }
        Some(a)
    }
}

impl Writer {
    /// Streams `first` and the streamable items after it; returns the item
    /// that ended the stream.
    pub(super) async fn stream(
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
}
