//! Deciding, in line order, what each line of a batch does to the store,
//! given what the file and the store said before it: reference checks,
//! stale balances, expired entries, pending/completed id clashes. Pure: it
//! reads and changes the [`State`] only and stages what is to be written.

use super::State;
use super::batch::{Staged, Staging, last_wins};
use crate::import::validate::{Account, Balance, Customer, Item, Pending, TxRow};

fn unknown_brand(brand: &str) -> String {
    format!("unknown brand {brand:?}: not defined earlier in this file nor in the store")
}

impl State {
    /// Stages what line `s` writes, or reports why it cannot be applied.
    pub(super) fn walk(&mut self, s: Staged, st: &mut Staging) {
        let Staged {
            line,
            brand,
            account,
            item,
        } = s;
        match item {
            Item::Defines(_) => {}
            Item::Brand(b) => last_wins(&mut st.brands, &mut st.brand_slot, brand, b),
            Item::Customer(c) => self.customer_line(line, brand, c, st),
            Item::Account(a) => self.account_line(line, brand, account, a, st),
            // Every other kind names an account, which must be usable.
            _ if !self.usable(line, brand, account) => {}
            Item::Balance(b) => self.balance_line(account, b, st),
            Item::Limits(l) => {
                last_wins(&mut st.limits, &mut st.limits_slot, account, (account, l))
            }
            Item::Transaction(_, row) => self.completed_line(line, account, row, st),
            Item::Pending(p) => self.snapshot_line(line, account, p),
            Item::Removal(r) => {
                let state = &mut self.registry.accounts[account as usize];
                state.conflicts.retain(|(k, _)| *k != r.key);
                st.removals.push((line, account, r));
            }
        }
    }

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

    fn customer_line(&mut self, line: u64, brand: u32, c: Customer, st: &mut Staging) {
        if self.brand_usable(line, brand) {
            let key = (brand, c.document.clone());
            last_wins(&mut st.customers, &mut st.customer_slot, key, c);
        } else {
            self.registry.customer(brand, &c.document, None).broken = true;
        }
    }

    fn account_line(&mut self, line: u64, brand: u32, account: u32, a: Account, st: &mut Staging) {
        let brand_ok = self.brand_usable(line, brand);
        let holders_ok = self.holders_usable(line, brand, &a.holders);
        if brand_ok && holders_ok {
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

    /// Whether every holder may be used; reports the unknown ones.
    fn holders_usable(&mut self, line: u64, brand: u32, holders: &[String]) -> bool {
        let mut ok = true;
        let b = &self.registry.brands[brand as usize];
        for (i, holder) in holders.iter().enumerate() {
            let c = &b.customers[holder.as_str()];
            if !c.known_at(line) {
                let reason = format!(
                    "unknown customer {holder} of brand {:?}: not defined earlier in this file nor in the store",
                    b.id
                );
                self.errors.push(line, format!("holders[{i}]"), reason);
                ok = false;
            } else if c.broken {
                ok = false;
            }
        }
        ok
    }

    /// A balance older than the account's current one is stale: skipped.
    fn balance_line(&mut self, account: u32, b: Balance, st: &mut Staging) {
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

    fn completed_line(&mut self, line: u64, account: u32, row: TxRow, st: &mut Staging) {
        if self.expired(row.booking_date) {
            self.stats.expired_entries += 1;
            return;
        }
        self.registry.accounts[account as usize].note_completed(&row.key, line);
        st.completed.push((line, account, row));
    }

    fn snapshot_line(&mut self, line: u64, account: u32, mut p: Pending) {
        let before = p.entries.len();
        p.entries.retain(|e| !self.expired(e.booking_date));
        self.stats.expired_entries += (before - p.entries.len()) as u64;
        self.registry.accounts[account as usize].note_snapshot(line, &p.entries);
        // Written once the whole file is read (see `deferred`).
        last_wins(
            &mut self.deferred,
            &mut self.deferred_slot,
            account,
            (account, Some(p.entries)),
        );
    }
}
