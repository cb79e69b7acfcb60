//! Batching: lines are gathered until a batch is worth a round of bulk
//! statements. A flush looks up what the batch names for the first time
//! (so the store is read as it was before the batch's lines), decides what
//! each line does, in line order, and writes the outcome.

use super::Writer;
use crate::import::validate::{Account, Balance, Brand, Customer, Item, Limits, Removal, TxRow};
use anyhow::Result;
use std::collections::HashMap;
use std::mem;
use std::sync::atomic::Ordering;

/// A line of a batch, with the brand and account (indexes in the registry)
/// it names.
pub(super) struct Staged {
    pub(super) line: u64,
    pub(super) brand: u32,
    pub(super) account: u32,
    pub(super) item: Item,
}

/// What one flush writes, each kind deduplicated where the statement needs it.
#[derive(Default)]
pub(super) struct Staging {
    pub(super) brands: Vec<Brand>,
    pub(super) brand_slot: HashMap<u32, usize>,
    pub(super) customers: Vec<Customer>,
    pub(super) customer_slot: HashMap<(u32, String), usize>,
    pub(super) accounts: Vec<(u32, Account)>,
    pub(super) account_slot: HashMap<u32, usize>,
    pub(super) balances: Vec<(u32, Balance)>,
    pub(super) balance_slot: HashMap<u32, usize>,
    pub(super) limits: Vec<(u32, Limits)>,
    pub(super) limits_slot: HashMap<u32, usize>,
    pub(super) completed: Vec<(u64, u32, TxRow)>,
    pub(super) removals: Vec<(u64, u32, Removal)>,
}

/// Keeps the last value per key, in order of first appearance.
pub(super) fn last_wins<K: std::hash::Hash + Eq, T, S: std::hash::BuildHasher>(
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

impl Writer {
    pub(super) async fn push(&mut self, line: u64, item: Item) -> Result<()> {
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

    pub(super) async fn flush(&mut self) -> Result<()> {
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
}

#[cfg(test)]
mod tests {
    use super::last_wins;
    use std::collections::HashMap;

    #[test]
    fn the_last_value_of_a_key_takes_the_place_of_its_first() {
        let (mut list, mut slots) = (Vec::new(), HashMap::new());
        for (key, value) in [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)] {
            last_wins(&mut list, &mut slots, key, value);
        }
        assert_eq!(list, [3, 5, 4]);
    }
}
