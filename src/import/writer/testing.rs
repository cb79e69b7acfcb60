//! Lines, and a store answering the writer's lookups, built in memory: the
//! decisions run on them the way [`Writer::flush`](super::Writer) runs them
//! on a batch, without a database.

use super::State;
use super::batch::{Staged, Staging};
use super::resolve::FoundAccount;
use crate::domain::account_number::AccountNumber;
use crate::domain::counterparty::Counterparty;
use crate::domain::vocabulary::{
    AccountStatus, AccountSubtype, AccountType, CreditDebit, PaymentStatus, TransactionType,
};
use crate::import::validate::{
    Account, AccountRef, Balance, Brand, Customer, Item, Pending, Removal, TxRow,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::mem;
use std::sync::Arc;

pub(super) const BRAND: &str = "cbanco";
/// The booking date of [`entry`]'s rows.
pub(super) const BOOKED: &str = "2026-11-20";

pub(super) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .with_timezone(&Utc)
}

pub(super) fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// An account of `brand` by its key.
pub(super) fn account_of(brand: &str, key: &str) -> AccountRef {
    AccountRef {
        brand: Arc::from(brand),
        key: Arc::from(key),
    }
}

/// An account of [`BRAND`] by its key.
pub(super) fn acct(key: &str) -> AccountRef {
    account_of(BRAND, key)
}

pub(super) fn brand(id: &str) -> Item {
    Item::Brand(Brand {
        brand_id: id.parse().expect("a brand id"),
        brand_name: "Banco".to_owned(),
        company_cnpj: "21128159000166".parse().expect("a CNPJ"),
    })
}

pub(super) fn customer(document: &str) -> Item {
    Item::Customer(Customer {
        brand_id: BRAND.parse().expect("a brand id"),
        document: document.parse().expect("a document"),
        name: "Maria".to_owned(),
    })
}

pub(super) fn account(key: &str, holders: &[&str]) -> Item {
    Item::Account(Account {
        account: acct(key),
        legacy_json: "[]".to_owned(),
        account_type: AccountType::CheckingAccount,
        subtype: AccountSubtype::Individual,
        number: AccountNumber {
            compe_code: "001".to_owned(),
            branch_code: Some("0001".to_owned()),
            number: "12345678".to_owned(),
            check_digit: "9".to_owned(),
        },
        currency: "BRL".to_owned(),
        holders: holders.iter().map(|h| (*h).to_owned()).collect(),
        display_name: None,
        status: AccountStatus::Available,
    })
}

pub(super) fn balance(account: AccountRef, updated: &str) -> Item {
    Item::Balance(Balance {
        account,
        available: Decimal::new(10_000, 2),
        blocked: Decimal::ZERO,
        invested: Decimal::ZERO,
        currency: "BRL".to_owned(),
        updated: at(updated),
    })
}

/// A completed statement entry of id `id`, booked on [`BOOKED`].
pub(super) fn entry(id: &str) -> TxRow {
    TxRow {
        key: format!(r#"[["id","{id}"]]"#),
        id_json: format!(r#"[{{"key":"id","value":"{id}"}}]"#),
        kind: PaymentStatus::Completed,
        credit_debit: CreditDebit::Credit,
        name: "PIX RECEBIDO".to_owned(),
        tx_type: TransactionType::Pix,
        amount: Decimal::new(150_000, 2),
        currency: "BRL".to_owned(),
        date_time: at("2026-11-20T14:30:00Z"),
        booking_date: day(BOOKED),
        counterparty: Counterparty::default(),
    }
}

/// A completed statement entry of id `id` booked on `booked`.
pub(super) fn entry_on(id: &str, booked: &str) -> TxRow {
    TxRow {
        booking_date: day(booked),
        ..entry(id)
    }
}

/// A pending statement entry of id `id`.
pub(super) fn pending_entry(id: &str) -> TxRow {
    TxRow {
        kind: PaymentStatus::Processing,
        ..entry(id)
    }
}

pub(super) fn completed(account: &str, row: TxRow) -> Item {
    Item::Transaction(acct(account), row)
}

pub(super) fn snapshot(account: &str, entries: Vec<TxRow>) -> Item {
    Item::Pending(Pending {
        account: acct(account),
        entries,
    })
}

pub(super) fn removal(account: &str, id: &str) -> Item {
    Item::Removal(Removal {
        account: acct(account),
        key: entry(id).key,
        reason: None,
    })
}

/// What the store holds before the file, of [`BRAND`].
#[derive(Default)]
pub(super) struct Store {
    pub(super) brands: Vec<&'static str>,
    pub(super) customers: Vec<&'static str>,
    pub(super) accounts: Vec<StoredAccount>,
}

pub(super) struct StoredAccount {
    pub(super) key: &'static str,
    pub(super) id: i64,
    pub(super) balance_time: Option<&'static str>,
    /// Ids of its pending entries.
    pub(super) pending: Vec<&'static str>,
}

impl Store {
    /// The store with [`BRAND`] and these accounts.
    pub(super) fn with_accounts(accounts: Vec<StoredAccount>) -> Self {
        Store {
            brands: vec![BRAND],
            customers: Vec::new(),
            accounts,
        }
    }

    /// Answers the lookups `Writer::resolve` makes, through the same
    /// functions that take the database's answers.
    fn resolve(&self, state: &mut State) {
        let registry = &mut state.registry;
        let brands = mem::take(&mut registry.resolve_brands);
        let found: HashSet<String> = brands
            .iter()
            .map(|&b| registry.brands[b as usize].id.clone())
            .filter(|id| self.brands.contains(&id.as_str()))
            .collect();
        registry.brands_found(&brands, &found);

        let customers = mem::take(&mut registry.resolve_customers);
        let found: HashSet<i64> = (1..)
            .zip(&customers)
            .filter(|(_, (b, document))| {
                registry.brands[*b as usize].id == BRAND
                    && self.customers.contains(&document.as_str())
            })
            .map(|(i, _)| i)
            .collect();
        registry.customers_found(&customers, &found);

        let accounts = mem::take(&mut registry.resolve_accounts);
        let mut found: Vec<FoundAccount> = Vec::new();
        let mut pending = Vec::new();
        for (i, (a, key)) in (1..).zip(&accounts) {
            let brand = &registry.brands[registry.accounts[*a as usize].brand as usize].id;
            let stored = self.accounts.iter().find(|s| s.key == key.as_str());
            if let (true, Some(s)) = (brand == BRAND, stored) {
                found.push((i, s.id, s.balance_time.map(at)));
                pending.extend(s.pending.iter().map(|id| (s.id, entry(id).key)));
            }
        }
        let by_id = registry.accounts_found(&accounts, found);
        registry.pending_found(&by_id, pending);
    }
}

/// The first line is 1, and so on.
pub(super) fn numbered(items: Vec<Item>) -> Vec<(u64, Item)> {
    (1..).zip(items).collect()
}

/// Applies `lines` as one batch, the way `Writer::flush` does: registers
/// what they name, looks that up in `store`, then walks them in line order.
pub(super) fn flush(state: &mut State, store: &Store, lines: Vec<(u64, Item)>) -> Staging {
    let mut batch = Vec::new();
    for (line, item) in lines {
        if let Some((brand, account)) = state.registry.register(line, &item) {
            batch.push(Staged {
                line,
                brand,
                account,
                item,
            });
        }
    }
    store.resolve(state);
    let mut staging = Staging::default();
    for staged in batch {
        state.walk(staged, &mut staging);
    }
    staging
}

/// The errors reported so far: line, field, reason.
pub(super) fn errors(state: &mut State) -> Vec<(u64, String, String)> {
    mem::take(&mut state.errors)
        .into_error()
        .errors
        .into_iter()
        .map(|e| (e.line, e.field, e.reason))
        .collect()
}

/// The index of the account `key` of [`BRAND`] in the registry.
pub(super) fn index_of(state: &State, key: &str) -> u32 {
    let b = state.registry.brand_index[BRAND];
    state.registry.brands[b as usize].accounts[key]
}
