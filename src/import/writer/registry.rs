//! The registry of what the file names: each brand, customer and account a
//! line mentions gets a small index and what the file and the store say of
//! it. Names met for the first time are listed for
//! [`Writer::resolve`](super::Writer) to look up in the store.

use super::hashing::{FxMap, KeyHashes};
use crate::import::validate::{AccountRef, Definition, Item, TxRow};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// No account: brands and customers.
pub(super) const NONE: u32 = u32::MAX;

/// What the file (so far) and the store say about a brand or a customer.
#[derive(Default)]
pub(super) struct Entity {
    /// Line of its first definition in the file.
    pub(super) defined: Option<u64>,
    /// Whether it was in the store before the file; `None` when it was first
    /// met as a definition, where this never matters.
    pub(super) in_store: Option<bool>,
    /// Its definition was refused: what depends on it is skipped silently
    /// (the file is rejected anyway) instead of being reported again.
    pub(super) broken: bool,
}

impl Entity {
    pub(super) fn known_at(&self, line: u64) -> bool {
        self.in_store == Some(true) || self.defined.is_some_and(|d| d < line)
    }
}

pub(super) struct BrandState {
    pub(super) id: String,
    pub(super) entity: Entity,
    pub(super) customers: FxMap<String, Entity>,
    pub(super) accounts: FxMap<String, u32>,
    /// The newest balance time of the brand's balance lines.
    pub(super) newest_balance: Option<DateTime<Utc>>,
}

pub(super) struct AccountState {
    pub(super) brand: u32,
    pub(super) entity: Entity,
    pub(super) id: Option<i64>,
    /// Whether the store may hold holder rows for it.
    pub(super) holders_in_db: bool,
    /// `updateDateTime` of its current balance.
    pub(super) balance_time: Option<DateTime<Utc>>,
    /// Ids of its current pending entries.
    pub(super) pending: HashSet<String>,
    /// Whether the store holds pending entries for it.
    pub(super) pending_in_db: bool,
    /// The file's last snapshot of it: line, and first entry index per id.
    pub(super) snapshot: Option<(u64, HashMap<String, usize>)>,
    /// Completed transactions of the file (id, line) added while a pending
    /// entry had the same id.
    pub(super) conflicts: Vec<(String, u64)>,
    /// For an account the store did not have before the file: hashes of the
    /// completed ids the file gave it. An id not in the set cannot conflict,
    /// so its row goes in by COPY.
    pub(super) fresh: Option<KeyHashes>,
}

impl AccountState {
    fn new(brand: u32) -> Self {
        AccountState {
            brand,
            entity: Entity::default(),
            id: None,
            holders_in_db: false,
            balance_time: None,
            pending: HashSet::new(),
            pending_in_db: false,
            snapshot: None,
            conflicts: Vec::new(),
            fresh: None,
        }
    }

    /// A completed transaction of line `line` was added: it clashes with a
    /// current pending entry of the same id.
    pub(super) fn note_completed(&mut self, key: &str, line: u64) {
        if !self.pending.is_empty() && self.pending.contains(key) {
            self.conflicts.push((key.to_owned(), line));
        }
    }

    /// The snapshot of line `line` replaces the account's pending entries,
    /// and with them the clashes of the ones before.
    pub(super) fn note_snapshot(&mut self, line: u64, entries: &[TxRow]) {
        let mut first = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            first.entry(e.key.clone()).or_insert(i);
        }
        self.pending = first.keys().cloned().collect();
        self.snapshot = Some((line, first));
        self.conflicts.clear();
    }
}

/// Every brand, customer and account the file names, by index.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) brands: Vec<BrandState>,
    pub(super) brand_index: FxMap<String, u32>,
    /// The account of the previous line, by its shared key.
    last_account: Option<(AccountRef, u32, u32)>,
    pub(super) accounts: Vec<AccountState>,
    /// Named for the first time, to look up in the store.
    pub(super) resolve_brands: Vec<u32>,
    pub(super) resolve_customers: Vec<(u32, String)>,
    pub(super) resolve_accounts: Vec<(u32, String)>,
}

impl Registry {
    /// Whether every name met so far has been looked up in the store.
    pub(super) fn resolved(&self) -> bool {
        self.resolve_brands.is_empty()
            && self.resolve_customers.is_empty()
            && self.resolve_accounts.is_empty()
    }

    /// The brand and account (or [`NONE`]) a line names, registering them;
    /// `None` for a refused definition, which only marks what it defines as
    /// broken.
    pub(super) fn register(&mut self, line: u64, item: &Item) -> Option<(u32, u32)> {
        Some(match item {
            Item::Defines(d) => {
                self.register_broken(line, d);
                return None;
            }
            Item::Brand(b) => (self.brand(b.brand_id.as_str(), Some(line)), NONE),
            Item::Customer(c) => {
                let b = self.brand(c.brand_id.as_str(), None);
                self.customer(b, c.document.as_str(), Some(line));
                (b, NONE)
            }
            Item::Account(a) => {
                let b = self.brand(&a.account.brand, None);
                for holder in &a.holders {
                    self.customer(b, holder, None);
                }
                (b, self.account(b, &a.account.key, Some(line)))
            }
            Item::Balance(x) => self.account_of(&x.account),
            Item::Limits(x) => self.account_of(&x.account),
            Item::Transaction(r, _) => self.account_of(r),
            Item::Pending(p) => self.account_of(&p.account),
            Item::Removal(x) => self.account_of(&x.account),
        })
    }

    fn register_broken(&mut self, line: u64, definition: &Definition) {
        match definition {
            Definition::Brand(id) => {
                let b = self.brand(id, Some(line));
                self.brands[b as usize].entity.broken = true;
            }
            Definition::Customer { brand_id, document } => {
                let b = self.brand(brand_id, None);
                self.customer(b, document, Some(line)).broken = true;
            }
            Definition::Account(r) => {
                let b = self.brand(&r.brand, None);
                let a = self.account(b, &r.key, Some(line));
                self.accounts[a as usize].entity.broken = true;
            }
        }
    }

    pub(super) fn brand(&mut self, id: &str, define: Option<u64>) -> u32 {
        if let Some(&b) = self.brand_index.get(id) {
            if let Some(line) = define {
                self.brands[b as usize].entity.defined.get_or_insert(line);
            }
            return b;
        }
        let b = self.brands.len() as u32;
        self.brands.push(BrandState {
            id: id.to_owned(),
            entity: Entity {
                defined: define,
                ..Entity::default()
            },
            customers: FxMap::default(),
            accounts: FxMap::default(),
            newest_balance: None,
        });
        self.brand_index.insert(id.to_owned(), b);
        if define.is_none() {
            self.resolve_brands.push(b);
        }
        b
    }

    pub(super) fn customer(
        &mut self,
        brand: u32,
        document: &str,
        define: Option<u64>,
    ) -> &mut Entity {
        let customers = &mut self.brands[brand as usize].customers;
        if !customers.contains_key(document) {
            customers.insert(
                document.to_owned(),
                Entity {
                    defined: define,
                    ..Entity::default()
                },
            );
            if define.is_none() {
                self.resolve_customers.push((brand, document.to_owned()));
            }
        }
        let entity = customers.get_mut(document).expect("just inserted");
        if let Some(line) = define {
            entity.defined.get_or_insert(line);
        }
        entity
    }

    fn account(&mut self, brand: u32, key: &str, define: Option<u64>) -> u32 {
        let accounts = &mut self.brands[brand as usize].accounts;
        let a = match accounts.get(key) {
            Some(&a) => a,
            None => {
                let a = self.accounts.len() as u32;
                accounts.insert(key.to_owned(), a);
                self.accounts.push(AccountState::new(brand));
                // Accounts are always looked up: their id is needed.
                self.resolve_accounts.push((a, key.to_owned()));
                a
            }
        };
        if let Some(line) = define {
            self.accounts[a as usize].entity.defined.get_or_insert(line);
        }
        a
    }

    pub(super) fn account_of(&mut self, r: &AccountRef) -> (u32, u32) {
        if let Some((last, b, a)) = &self.last_account
            && Arc::ptr_eq(&last.key, &r.key)
            && Arc::ptr_eq(&last.brand, &r.brand)
        {
            return (*b, *a);
        }
        let b = self.brand(&r.brand, None);
        let a = self.account(b, &r.key, None);
        self.last_account = Some((r.clone(), b, a));
        (b, a)
    }

    pub(super) fn id_of(&self, account: u32) -> Option<i64> {
        self.accounts[account as usize].id
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::{Entity, NONE, Registry};
    use crate::import::validate::{Definition, Item};

    #[test]
    fn a_name_is_registered_once_and_looked_up_once() {
        let mut registry = Registry::default();
        let b = registry.register(1, &balance(acct("A"), "2026-11-20T10:00:00Z"));
        let again = registry.register(2, &completed("A", entry("T1")));
        assert_eq!(b, Some((0, 0)));
        assert_eq!(again, b);
        assert_eq!(registry.resolve_brands, [0]);
        assert_eq!(registry.resolve_accounts, [(0, "A".to_owned())]);
        assert!(!registry.resolved());
    }

    #[test]
    fn a_definition_is_not_looked_up_but_an_account_always_is() {
        let mut registry = Registry::default();
        assert_eq!(registry.register(1, &brand(BRAND)), Some((0, NONE)));
        assert_eq!(
            registry.register(2, &customer("11111111111")),
            Some((0, NONE))
        );
        assert_eq!(
            registry.register(3, &account("B", &["11111111111", "22222222222"])),
            Some((0, 0))
        );
        assert!(registry.resolve_brands.is_empty());
        assert_eq!(registry.resolve_customers, [(0, "22222222222".to_owned())]);
        assert_eq!(
            registry.resolve_accounts,
            [(0, "B".to_owned())],
            "for its id"
        );
        let brand = &registry.brands[0];
        assert_eq!(brand.entity.defined, Some(1));
        assert_eq!(brand.customers["11111111111"].defined, Some(2));
        assert_eq!(registry.accounts[0].entity.defined, Some(3));
    }

    #[test]
    fn a_refused_definition_marks_what_it_defines_broken() {
        let mut registry = Registry::default();
        let refused = Item::Defines(Definition::Account(acct("B")));
        assert_eq!(registry.register(4, &refused), None);
        assert!(registry.accounts[0].entity.broken);
        assert_eq!(registry.accounts[0].entity.defined, Some(4));
    }

    #[test]
    fn a_name_is_known_in_the_store_or_after_the_line_defining_it() {
        let defined = Entity {
            defined: Some(5),
            ..Entity::default()
        };
        assert!(!defined.known_at(5) && defined.known_at(6));
        let stored = Entity {
            in_store: Some(true),
            ..Entity::default()
        };
        assert!(stored.known_at(1));
        assert!(!Entity::default().known_at(u64::MAX));
    }
}
