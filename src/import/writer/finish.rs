//! Once the whole file is applied: the last batch, the last snapshot of
//! each account, and the rule no batch can check alone: pending entries and
//! completed transactions of an account never share an id in the
//! resulting store.

use super::Writer;
use super::hashing::key_hash;
use super::registry::Registry;
use crate::import::validate::TxRow;
use anyhow::Result;
use std::mem;

/// A final pending entry to look for among the completed transactions:
/// line of its snapshot, index in it, account, id.
pub(super) type PendingProbe<'a> = (u64, usize, u32, &'a str);

/// An error to report: line, field, reason.
type Blame = (u64, String, String);

impl Writer {
    pub(super) async fn finish(&mut self) -> Result<()> {
        self.flush().await?;
        let deferred = mem::take(&mut self.state.deferred);
        let mut snapshots: Vec<(u32, Vec<TxRow>)> = deferred
            .into_iter()
            .filter_map(|(a, entries)| Some((a, entries?)))
            .collect();
        while !snapshots.is_empty() {
            let rest = snapshots.split_off(snapshots.len().min(5_000));
            self.write_snapshots(snapshots).await?;
            snapshots = rest;
        }
        self.final_checks().await?;
        self.completed.save(db!(self)).await
    }

    /// Each clash of a pending entry with a completed transaction is blamed
    /// on the line that made it.
    async fn final_checks(&mut self) -> Result<()> {
        let registry = &self.state.registry;
        let probes = registry.final_pending_ids();
        let mut reused = Vec::new();
        for chunk in probes.chunks(10_000) {
            let ids: Vec<(i64, &str)> = chunk
                .iter()
                .map(|(_, _, a, key)| (registry.accounts[*a as usize].id.unwrap_or(0), *key))
                .collect();
            let found = self.completed.find(db!(self), &ids).await?;
            let hits = chunk.iter().zip(&found).filter(|(_, f)| f.is_some());
            reused.extend(hits.map(|(probe, _)| *probe));
        }
        for (line, field, reason) in registry.clashes(&reused) {
            self.state.errors.push(line, field, reason);
        }
        Ok(())
    }
}

impl Registry {
    /// The ids of the final pending entries that a completed transaction
    /// may hold, in line order.
    pub(super) fn final_pending_ids(&self) -> Vec<PendingProbe<'_>> {
        let mut probes = Vec::new();
        for (a, state) in self.accounts.iter().enumerate() {
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
                    probes.push((*line, *i, a as u32, key.as_str()));
                }
            }
        }
        probes.sort_unstable();
        probes
    }

    /// The clashes to report: the final pending entries whose id a
    /// completed transaction holds (`reused`), blamed on their snapshot
    /// unless a completed line came after it, and the completed lines
    /// added while a pending entry had their id.
    pub(super) fn clashes(&self, reused: &[PendingProbe<'_>]) -> Vec<Blame> {
        let mut blamed = Vec::new();
        for &(line, entry, a, key) in reused {
            if self.accounts[a as usize]
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
        for state in &self.accounts {
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
        blamed
    }
}

#[cfg(test)]
mod tests {
    use super::super::State;
    use super::super::testing::*;
    use crate::domain::month::Month;

    fn key(id: &str) -> String {
        entry(id).key
    }

    fn reuses(line: u64, index: usize) -> (u64, String, String) {
        (
            line,
            format!("transactions[{index}].transactionId"),
            "reuses the id of a completed transaction of this account".to_owned(),
        )
    }

    #[test]
    fn a_snapshot_entry_with_a_completed_id_is_blamed_on_the_snapshot() {
        let store = Store::with_accounts(vec![StoredAccount {
            key: "A",
            id: 1,
            balance_time: None,
            pending: Vec::new(),
        }]);
        let mut state = State::default();
        flush(
            &mut state,
            &store,
            numbered(vec![
                snapshot("A", vec![pending_entry("P1")]),
                snapshot("A", vec![pending_entry("T1"), pending_entry("T2")]),
                completed("A", entry("T2")),
            ]),
        );
        let registry = &state.registry;
        let a = index_of(&state, "A");
        let probes = registry.final_pending_ids();
        let (k1, k2) = (key("T1"), key("T2"));
        assert_eq!(probes, [(2, 0, a, k1.as_str()), (2, 1, a, k2.as_str())]);
        // The store holds completed transactions T1 and T2 (the file's
        // line 3 added the second).
        let blamed = registry.clashes(&probes);
        let clash = "a pending entry of this account has the same id; a completed transaction must \
                     not share its id with a pending one (send a pendingTransactions snapshot without it)";
        assert_eq!(
            blamed,
            [
                reuses(2, 0),
                (3, "transactionId".to_owned(), clash.to_owned())
            ],
            "T2 is blamed on the completed line that came after the snapshot"
        );
    }

    #[test]
    fn an_account_the_file_created_is_probed_only_for_the_ids_it_gave() {
        let store = Store {
            customers: vec!["11111111111"],
            ..Store::with_accounts(Vec::new())
        };
        let mut state = State::default();
        state.months.insert(Month::of(day(BOOKED)));
        flush(
            &mut state,
            &store,
            numbered(vec![account("B", &["11111111111"])]),
        );
        let b = index_of(&state, "B");
        state.registry.accounts[b as usize].id = Some(2);
        assert!(state.streamable(2, &completed("B", entry("T1"))).is_some());
        let snapshot = snapshot("B", vec![pending_entry("P1"), pending_entry("T1")]);
        assert!(state.streamable(3, &snapshot).is_some());
        let t1 = key("T1");
        assert_eq!(state.registry.final_pending_ids(), [(3, 1, b, t1.as_str())]);
        assert_eq!(
            state.registry.clashes(&[(3, 1, b, t1.as_str())]),
            [reuses(3, 1)]
        );
    }

    #[test]
    fn an_account_without_an_id_is_not_probed() {
        let store = Store {
            customers: vec!["11111111111"],
            ..Store::with_accounts(Vec::new())
        };
        let mut state = State::default();
        flush(
            &mut state,
            &store,
            numbered(vec![
                account("B", &["11111111111"]),
                snapshot("B", vec![pending_entry("P1")]),
            ]),
        );
        assert!(state.registry.final_pending_ids().is_empty(), "B has no id");
        assert!(state.registry.clashes(&[]).is_empty());
    }
}
