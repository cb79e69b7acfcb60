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

#[cfg(test)]
mod tests {
    use super::super::State;
    use super::super::testing::*;
    use crate::domain::month::Month;

    /// A state where the file created account `B` (line 1, now written
    /// with id 2) beside `A` of the store, and the month of [`BOOKED`] has
    /// its partition.
    fn created_b() -> State {
        let store = Store {
            customers: vec!["11111111111"],
            ..Store::with_accounts(vec![StoredAccount {
                key: "A",
                id: 1,
                balance_time: None,
                pending: Vec::new(),
            }])
        };
        let mut state = State::default();
        state.months.insert(Month::of(day(BOOKED)));
        flush(
            &mut state,
            &store,
            numbered(vec![
                account("B", &["11111111111"]),
                balance(acct("A"), "2026-11-20T10:00:00Z"),
            ]),
        );
        let b = index_of(&state, "B");
        state.registry.accounts[b as usize].id = Some(2);
        state
    }

    #[test]
    fn only_ids_new_to_an_account_the_file_created_stream() {
        let mut state = created_b();
        let b = Some(index_of(&state, "B"));
        assert_eq!(state.streamable(3, &completed("B", entry("T1"))), b);
        assert_eq!(state.streamable(4, &completed("B", entry("T2"))), b);
        // Seen already: the batches compare it with the first.
        assert_eq!(state.streamable(5, &completed("B", entry("T1"))), None);
        // The store's accounts may hold any id.
        assert_eq!(state.streamable(6, &completed("A", entry("T3"))), None);
        // A month without its partition yet.
        let next_month = entry_on("T4", "2026-12-01");
        assert_eq!(state.streamable(7, &completed("B", next_month)), None);
        // Balances, limits and definitions never stream.
        assert_eq!(
            state.streamable(8, &balance(acct("B"), "2026-11-20T10:00:00Z")),
            None
        );
    }

    #[test]
    fn entries_to_skip_do_not_stream() {
        let mut state = State {
            horizon: Some(day("2026-11-21")),
            ..created_b()
        };
        assert_eq!(state.streamable(3, &completed("B", entry("T1"))), None);
        let kept = entry_on("T2", "2026-11-21");
        state.months.insert(Month::of(kept.booking_date));
        assert!(state.streamable(4, &completed("B", kept)).is_some());
    }

    #[test]
    fn only_the_first_snapshot_of_an_account_the_file_created_streams() {
        let mut state = created_b();
        let b = index_of(&state, "B");
        let first = snapshot("B", vec![pending_entry("P1")]);
        assert_eq!(state.streamable(3, &first), Some(b));
        let account = &state.registry.accounts[b as usize];
        assert!(account.pending_in_db && account.pending.contains(&entry("P1").key));
        // Its entries are stored now: a later snapshot replaces them.
        let second = snapshot("B", vec![pending_entry("P2")]);
        assert_eq!(state.streamable(4, &second), None);
        // A completed transaction with a pending id still streams, noted.
        assert_eq!(state.streamable(5, &completed("B", entry("P1"))), Some(b));
        let conflicts = &state.registry.accounts[b as usize].conflicts;
        assert_eq!(conflicts, &[(entry("P1").key, 5)]);
    }

    #[test]
    fn a_streamed_snapshot_supersedes_the_deferred_one() {
        let mut state = created_b();
        let b = index_of(&state, "B");
        let store = Store::default();
        flush(&mut state, &store, vec![(3, snapshot("B", Vec::new()))]);
        assert_eq!(state.deferred, [(b, Some(Vec::new()))]);
        let streamed = snapshot("B", vec![pending_entry("P1")]);
        assert_eq!(state.streamable(4, &streamed), Some(b));
        assert_eq!(state.deferred, [(b, None)]);
    }
}
