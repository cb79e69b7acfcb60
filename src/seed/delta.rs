//! `--delta`: the bank's next daily feed, after its history.

use super::entries::Series;
use super::history::{BRASILIA_OFFSET_MS, DAY_MS};
use super::plan::{Bank, spread, stream};
use crate::import::Record;
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::sync::Arc;

impl Bank {
    /// The next daily feed after the history: `transactions` completed
    /// transactions on the Brasília day of `now`, up to `now`, shared out as
    /// the history's; a fresh pending snapshot of every account that has
    /// pending entries; every account's balance, stated at `now`.
    pub(super) fn delta_records(self, transactions: u64) -> impl Iterator<Item = Record> {
        let bank = Arc::new(self);
        let mut counts: Vec<u64> = bank
            .accounts
            .iter()
            .map(|a| if a.daily_demo() { 2 } else { 0 })
            .collect();
        for (i, n) in spread(&bank.weights, transactions).into_iter().enumerate() {
            counts[4 + i] = n;
        }
        let end = bank.now.timestamp_millis();
        let midnight = end - (end + BRASILIA_OFFSET_MS).rem_euclid(DAY_MS);
        let window = (end - midnight).max(1);
        let count = bank.accounts.len();
        let completed = {
            let bank = Arc::clone(&bank);
            (0..count).flat_map(move |i| {
                let mut rng = bank.delta_stream(11, i);
                let mut times: Vec<i64> = (0..counts[i])
                    .map(|_| midnight + rng.random_range(0..window))
                    .collect();
                times.sort_unstable();
                let records: Vec<Record> = times
                    .into_iter()
                    .enumerate()
                    .map(|(seq, at)| bank.completed(&mut rng, i, at, seq, Series::Delta))
                    .collect();
                records
            })
        };
        let pending = {
            let bank = Arc::clone(&bank);
            (0..count).filter_map(move |i| {
                let mut rng = bank.delta_stream(12, i);
                bank.pending_record(&mut rng, i)
            })
        };
        let balances = (0..count).map(move |i| {
            let (brand_id, account_id) = bank.account_ref(&bank.accounts[i]);
            let position = bank.account_facts(i).1;
            position.balance(brand_id, account_id, bank.now)
        });
        completed.chain(pending).chain(balances)
    }

    /// A random stream of the delta at `now`: another one for every `now`.
    fn delta_stream(&self, part: u64, index: usize) -> Xoshiro256PlusPlus {
        let now = self.now.timestamp() as u64;
        stream(
            self.seed ^ now.wrapping_mul(0xA24B_AED4_963E_E407),
            part,
            index as u64,
        )
    }
}
