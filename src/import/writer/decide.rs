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
            let key = (brand, c.document.as_str().to_owned());
            last_wins(&mut st.customers, &mut st.customer_slot, key, c);
        } else {
            self.registry
                .customer(brand, c.document.as_str(), None)
                .broken = true;
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

#[cfg(test)]
mod tests {
    use super::super::State;
    use super::super::testing::*;
    use crate::import::validate::{Definition, Item};
    use std::collections::HashSet;

    fn stored(key: &'static str, id: i64) -> StoredAccount {
        StoredAccount {
            key,
            id,
            balance_time: None,
            pending: Vec::new(),
        }
    }

    #[test]
    fn a_balance_older_than_the_current_one_is_stale() {
        let store = Store::with_accounts(vec![StoredAccount {
            balance_time: Some("2026-11-20T10:00:00Z"),
            ..stored("A", 1)
        }]);
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                balance(acct("A"), "2026-11-20T09:59:59Z"),
                balance(acct("A"), "2026-11-20T11:00:00Z"),
                balance(acct("A"), "2026-11-20T10:30:00Z"),
                balance(acct("A"), "2026-11-20T11:00:00Z"),
            ]),
        );
        assert_eq!(state.stats.stale_balances, 2);
        let staged: Vec<_> = staging.balances.iter().map(|(_, b)| b.updated).collect();
        assert_eq!(staged, [at("2026-11-20T11:00:00Z")], "one per account");
        assert!(errors(&mut state).is_empty());
    }

    #[test]
    fn a_line_naming_an_unknown_brand_or_account_is_refused() {
        let store = Store::with_accounts(vec![stored("A", 1)]);
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                balance(account_of("other", "A"), "2026-11-20T10:00:00Z"),
                balance(acct("B"), "2026-11-20T10:00:00Z"),
                balance(acct("A"), "2026-11-20T10:00:00Z"),
            ]),
        );
        let unknown = "not defined earlier in this file nor in the store";
        assert_eq!(
            errors(&mut state),
            [
                (
                    1,
                    "brandId".to_owned(),
                    format!("unknown brand \"other\": {unknown}")
                ),
                (
                    2,
                    "accountId".to_owned(),
                    format!("unknown account of brand \"cbanco\": {unknown}")
                ),
            ]
        );
        assert_eq!(staging.balances.len(), 1);
    }

    #[test]
    fn an_account_is_known_from_the_line_after_its_definition() {
        let store = Store {
            customers: vec!["11111111111"],
            ..Store::with_accounts(Vec::new())
        };
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                balance(acct("B"), "2026-11-20T10:00:00Z"),
                account("B", &["11111111111"]),
                balance(acct("B"), "2026-11-20T11:00:00Z"),
            ]),
        );
        let fields: Vec<_> = errors(&mut state)
            .into_iter()
            .map(|(line, field, _)| (line, field))
            .collect();
        assert_eq!(fields, [(1, "accountId".to_owned())]);
        assert_eq!(staging.accounts.len(), 1);
        assert_eq!(staging.balances.len(), 1);
    }

    #[test]
    fn an_account_with_an_unknown_holder_is_refused_and_its_lines_skipped_silently() {
        let store = Store {
            customers: vec!["11111111111"],
            ..Store::with_accounts(Vec::new())
        };
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                account("B", &["11111111111", "22222222222"]),
                balance(acct("B"), "2026-11-20T10:00:00Z"),
            ]),
        );
        assert_eq!(
            errors(&mut state),
            [(
                1,
                "holders[1]".to_owned(),
                "unknown customer 22222222222 of brand \"cbanco\": not defined earlier in this \
                 file nor in the store"
                    .to_owned()
            )]
        );
        assert!(staging.accounts.is_empty() && staging.balances.is_empty());
    }

    #[test]
    fn what_depends_on_a_refused_definition_is_skipped_silently() {
        let store = Store::with_accounts(Vec::new());
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                Item::Defines(Definition::Customer {
                    brand_id: BRAND.to_owned(),
                    document: "11111111111".to_owned(),
                }),
                account("B", &["11111111111"]),
                Item::Defines(Definition::Account(acct("C"))),
                balance(acct("B"), "2026-11-20T10:00:00Z"),
                completed("C", entry("T1")),
            ]),
        );
        assert!(errors(&mut state).is_empty());
        assert!(staging.accounts.is_empty() && staging.balances.is_empty());
        assert!(staging.completed.is_empty());
    }

    #[test]
    fn entries_booked_before_the_retention_horizon_are_skipped() {
        let store = Store::with_accounts(vec![stored("A", 1)]);
        let mut state = State {
            horizon: Some(day("2026-11-21")),
            ..State::default()
        };
        let kept = entry_on("T2", "2026-11-21");
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                completed("A", entry("T1")),
                completed("A", kept.clone()),
                snapshot("A", vec![pending_entry("P1"), pending_entry("P2")]),
            ]),
        );
        assert_eq!(state.stats.expired_entries, 3);
        let written: Vec<_> = staging.completed.iter().map(|(_, _, r)| r).collect();
        assert_eq!(written, [&kept]);
        assert_eq!(state.deferred, [(index_of(&state, "A"), Some(Vec::new()))]);
    }

    #[test]
    fn the_last_snapshot_of_an_account_is_the_one_written() {
        let store = Store::with_accounts(vec![stored("A", 1), stored("B", 2)]);
        let mut state = State::default();
        flush(
            &mut state,
            &store,
            numbered(vec![
                snapshot("A", vec![pending_entry("P1")]),
                snapshot("B", vec![pending_entry("P9")]),
                snapshot("A", vec![pending_entry("P2"), pending_entry("P2")]),
            ]),
        );
        flush(
            &mut state,
            &store,
            vec![(4, snapshot("A", vec![pending_entry("P3")]))],
        );
        let (a, b) = (index_of(&state, "A"), index_of(&state, "B"));
        assert_eq!(
            state.deferred,
            [
                (a, Some(vec![pending_entry("P3")])),
                (b, Some(vec![pending_entry("P9")]))
            ]
        );
        let account = &state.registry.accounts[a as usize];
        assert_eq!(account.snapshot.as_ref().map(|(line, _)| *line), Some(4));
        assert_eq!(account.pending, HashSet::from([entry("P3").key]));
    }

    #[test]
    fn a_completed_transaction_with_the_id_of_a_pending_entry_is_a_clash() {
        let store = Store::with_accounts(vec![StoredAccount {
            pending: vec!["P1", "P2", "P3"],
            ..stored("A", 1)
        }]);
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &store,
            numbered(vec![
                completed("A", entry("P1")),
                completed("A", entry("P2")),
                completed("A", entry("T1")),
                removal("A", "P2"),
            ]),
        );
        assert_eq!(staging.completed.len(), 3, "written, and blamed at the end");
        let a = index_of(&state, "A");
        let conflicts = &state.registry.accounts[a as usize].conflicts;
        assert_eq!(conflicts, &[(entry("P1").key, 1)], "P2 was removed again");

        // A later snapshot replaces the pending entries: no clash left.
        flush(&mut state, &store, vec![(5, snapshot("A", Vec::new()))]);
        flush(&mut state, &store, vec![(6, completed("A", entry("P3")))]);
        assert!(state.registry.accounts[a as usize].conflicts.is_empty());
    }

    #[test]
    fn a_brand_is_known_from_the_line_after_its_definition() {
        let mut state = State::default();
        let staging = flush(
            &mut state,
            &Store::default(),
            numbered(vec![
                customer("11111111111"),
                brand(BRAND),
                customer("22222222222"),
                account("B", &["11111111111"]),
                account("C", &["22222222222"]),
            ]),
        );
        let fields: Vec<_> = errors(&mut state)
            .into_iter()
            .map(|(line, field, _)| (line, field))
            .collect();
        assert_eq!(fields, [(1, "brandId".to_owned())], "B is skipped silently");
        assert_eq!(staging.brands.len(), 1);
        let documents: Vec<_> = staging
            .customers
            .iter()
            .map(|c| c.document.as_str())
            .collect();
        assert_eq!(documents, ["22222222222"]);
        let accounts: Vec<_> = staging
            .accounts
            .iter()
            .map(|(_, a)| &*a.account.key)
            .collect();
        assert_eq!(accounts, ["C"]);
    }
}
