//! The bank's plan, drawn up front: its customers, its accounts, and how
//! the transactions are shared out among the accounts.

use super::documents::{cnpj, cpf};
use super::names::{company_name, person_name};
use super::parties::Counterparties;
use super::{
    DEMO_BRANCH, DEMO_CHECKING, DEMO_COMPANY_ACCOUNT, DEMO_COMPANY_CNPJ, DEMO_COMPANY_NAME,
    DEMO_CPF, DEMO_JOINT, DEMO_NAME, DEMO_SAVINGS, DEMO_SPOUSE_CPF, DEMO_SPOUSE_NAME, SeedConfig,
    branch_number_id,
};
use crate::domain::legacy_id::{KeyValue, LegacyId};
use crate::domain::vocabulary::AccountStatus;
use chrono::{DateTime, Months, Utc};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashSet;

/// Share of checking accounts with merchant-like traffic, and how much more
/// they move than their peers (see [`traffic_weights`]).
const HEAVY_ACCOUNT_SHARE: f64 = 0.005;
const HEAVY_ACCOUNT_FACTOR: f64 = 20.0;

/// A random stream for one part of the bank, independent of the others.
/// The generator is named, not rand's `SmallRng` (whose algorithm may change
/// with any release, and differs on 32-bit platforms): a seed's bank must not
/// change with the machine or an upgrade (tests/seed.rs pins one).
pub(super) fn stream(seed: u64, part: u64, index: u64) -> Xoshiro256PlusPlus {
    let mut z =
        seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

#[derive(Debug, Clone)]
pub(super) struct Customer {
    pub(super) document: String,
    pub(super) name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Checking,
    Savings,
    Prepaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Person,
    Joint,
    Company,
}

#[derive(Debug, Clone)]
pub(super) struct PlannedAccount {
    pub(super) kind: Kind,
    pub(super) owner: Owner,
    pub(super) branch: Option<String>,
    pub(super) number: String,
    pub(super) holders: Vec<String>,
    pub(super) status: &'static str,
    /// Completed transactions of its history, besides the demo's daily ones.
    pub(super) transactions: u64,
    /// Whether it has pending entries (in the history's last snapshot and in
    /// every delta's).
    pub(super) pending: bool,
    pub(super) demo: bool,
}

impl PlannedAccount {
    /// The demo accounts given entries on each of the last 7 days.
    pub(super) fn daily_demo(&self) -> bool {
        self.demo && self.kind == Kind::Checking
    }

    pub(super) fn legacy_id(&self) -> LegacyId {
        match &self.branch {
            Some(branch) => branch_number_id(branch, &self.number),
            None => LegacyId(vec![KeyValue {
                key: "wallet".into(),
                value: self.number.clone(),
            }]),
        }
    }
}

pub(super) struct Bank {
    pub(super) brand_id: String,
    pub(super) seed: u64,
    pub(super) now: DateTime<Utc>,
    pub(super) start: DateTime<Utc>,
    pub(super) customers: Vec<Customer>,
    pub(super) accounts: Vec<PlannedAccount>,
    /// Share of the traffic of each synthetic account (`accounts[4..]`).
    pub(super) weights: Vec<f64>,
    pub(super) parties: Counterparties,
}

/// `total` transactions shared out by `weights`: each its floor share, the
/// remainder one by one from the first.
pub(super) fn spread(weights: &[f64], total: u64) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let mut counts: Vec<u64> = weights
        .iter()
        .map(|w| (total as f64 * w / sum).floor() as u64)
        .collect();
    let mut assigned: u64 = counts.iter().sum();
    let mut i = 0;
    while assigned < total && !counts.is_empty() {
        let n = counts.len();
        counts[i % n] += 1;
        assigned += 1;
        i += 1;
    }
    counts
}

impl Bank {
    pub(super) fn plan(config: &SeedConfig) -> Bank {
        let now = config.now;
        let start = now
            .checked_sub_months(Months::new(config.months))
            .unwrap_or(now);
        // Customers, accounts and traffic draw one after the other from one
        // stream: reordering them would give another bank.
        let mut rng = stream(config.seed, 1, 0);
        let customers = plan_customers(&mut rng, config.customers);
        let mut accounts = plan_accounts(&mut rng, &customers, config.accounts as usize);
        let weights = traffic_weights(&mut rng, &accounts[4..]);
        for (a, n) in spread(&weights, config.transactions)
            .into_iter()
            .enumerate()
        {
            accounts[4 + a].transactions = n;
        }
        for (a, n) in accounts[..4].iter_mut().zip([260, 40, 120, 200]) {
            a.transactions = n;
        }
        // Pending entries on some available checking accounts, the demo
        // customer's own always.
        for (i, a) in accounts.iter_mut().enumerate() {
            a.pending = a.kind == Kind::Checking
                && a.status == AccountStatus::Available.as_str()
                && (a.demo && a.owner == Owner::Person
                    || stream(config.seed, 9, i as u64).random_bool(0.25));
        }
        Bank {
            brand_id: config.brand_id.clone(),
            seed: config.seed,
            now,
            start,
            customers,
            accounts,
            weights,
            parties: Counterparties::plan(config.seed),
        }
    }
}

/// The demo customers, then `count` synthetic ones: one in ten a company.
/// Documents are drawn at random, never twice and never one of the demo
/// ones.
fn plan_customers(rng: &mut Xoshiro256PlusPlus, count: u32) -> Vec<Customer> {
    let mut customers = vec![
        Customer {
            document: DEMO_CPF.into(),
            name: DEMO_NAME.into(),
        },
        Customer {
            document: DEMO_SPOUSE_CPF.into(),
            name: DEMO_SPOUSE_NAME.into(),
        },
        Customer {
            document: DEMO_COMPANY_CNPJ.into(),
            name: DEMO_COMPANY_NAME.into(),
        },
    ];
    let mut taken: HashSet<String> = customers.iter().map(|c| c.document.clone()).collect();
    for i in 0..count as usize {
        let company = i % 10 == 9;
        let document = loop {
            let doc = if company {
                cnpj(rng.random_range(1_000_000..100_000_000))
            } else {
                cpf(rng.random_range(10_000_000..1_000_000_000))
            };
            if taken.insert(doc.clone()) {
                break doc;
            }
        };
        let name = if company {
            company_name(rng)
        } else {
            person_name(rng)
        };
        customers.push(Customer { document, name });
    }
    customers
}

/// The demo accounts first, then one per synthetic customer, then extra
/// savings, joint and prepaid accounts, up to `wanted` synthetic ones.
fn plan_accounts(
    rng: &mut Xoshiro256PlusPlus,
    customers: &[Customer],
    wanted: usize,
) -> Vec<PlannedAccount> {
    let person_docs: Vec<usize> = (3..customers.len())
        .filter(|&i| customers[i].document.len() == 11)
        .collect();
    let company_docs: Vec<usize> = (3..customers.len())
        .filter(|&i| customers[i].document.len() == 14)
        .collect();
    let mut accounts = demo_accounts();
    let mut opener = Opener {
        customers,
        branches: (0..12).map(|i| format!("{:04}", 1 + i * 37)).collect(),
        next_number: 10_000_000,
    };
    for c in (3..customers.len()).take(wanted) {
        let company = customers[c].document.len() == 14;
        let kind = if company {
            Kind::Checking
        } else {
            match rng.random_range(0..10) {
                0 => Kind::Savings,
                1 => Kind::Prepaid,
                _ => Kind::Checking,
            }
        };
        let owner = if company {
            Owner::Company
        } else {
            Owner::Person
        };
        accounts.push(opener.open(kind, owner, vec![c], rng));
    }
    while accounts.len() - 4 < wanted && !person_docs.is_empty() {
        let roll = rng.random_range(0..100);
        let person = *person_docs.choose(rng).expect("people");
        let account = if roll < 25 && person_docs.len() >= 2 {
            let mut other = person;
            while other == person {
                other = *person_docs.choose(rng).expect("people");
            }
            opener.open(Kind::Checking, Owner::Joint, vec![person, other], rng)
        } else if roll < 65 {
            opener.open(Kind::Savings, Owner::Person, vec![person], rng)
        } else if roll < 80 {
            opener.open(Kind::Prepaid, Owner::Person, vec![person], rng)
        } else if roll < 90 && !company_docs.is_empty() {
            let company = *company_docs.choose(rng).expect("companies");
            opener.open(Kind::Checking, Owner::Company, vec![company], rng)
        } else {
            opener.open(Kind::Checking, Owner::Person, vec![person], rng)
        };
        accounts.push(account);
    }
    accounts
}

/// The demo customer's checking, savings and joint accounts, and her
/// company's.
fn demo_accounts() -> Vec<PlannedAccount> {
    let demo = |kind, owner, number: &str, holders: Vec<&str>| PlannedAccount {
        kind,
        owner,
        branch: Some(DEMO_BRANCH.into()),
        number: number.into(),
        holders: holders.into_iter().map(str::to_owned).collect(),
        status: AccountStatus::Available.as_str(),
        transactions: 0,
        pending: false,
        demo: true,
    };
    vec![
        demo(Kind::Checking, Owner::Person, DEMO_CHECKING, vec![DEMO_CPF]),
        demo(Kind::Savings, Owner::Person, DEMO_SAVINGS, vec![DEMO_CPF]),
        demo(
            Kind::Checking,
            Owner::Joint,
            DEMO_JOINT,
            vec![DEMO_CPF, DEMO_SPOUSE_CPF],
        ),
        demo(
            Kind::Checking,
            Owner::Company,
            DEMO_COMPANY_ACCOUNT,
            vec![DEMO_COMPANY_CNPJ],
        ),
    ]
}

/// Opens the synthetic accounts: numbers rising by a random step, at one of
/// a dozen branches (prepaid accounts have none), a few unavailable.
struct Opener<'a> {
    customers: &'a [Customer],
    branches: Vec<String>,
    next_number: u64,
}

impl Opener<'_> {
    fn open(
        &mut self,
        kind: Kind,
        owner: Owner,
        holders: Vec<usize>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> PlannedAccount {
        self.next_number += rng.random_range(1..60);
        let status = match rng.random_range(0..100) {
            0..3 => AccountStatus::TemporarilyUnavailable.as_str(),
            3..5 => AccountStatus::Unavailable.as_str(),
            _ => AccountStatus::Available.as_str(),
        };
        PlannedAccount {
            kind,
            owner,
            branch: (kind != Kind::Prepaid)
                .then(|| self.branches.choose(rng).expect("branches").clone()),
            number: self.next_number.to_string(),
            holders: holders
                .iter()
                .map(|&h| self.customers[h].document.clone())
                .collect(),
            status,
            transactions: 0,
            pending: false,
            demo: false,
        }
    }
}

/// Each synthetic account's share of the traffic: busy checking accounts,
/// quiet savings, and a heavy tail: one checking account in 200 is a small
/// merchant's or a self-employed person's, with twenty times the usual
/// traffic (the accounts whose statements run to hundreds of pages).
fn traffic_weights(rng: &mut Xoshiro256PlusPlus, synthetic: &[PlannedAccount]) -> Vec<f64> {
    synthetic
        .iter()
        .map(|a| {
            let base = match (a.kind, a.owner) {
                (Kind::Checking, Owner::Company) => 3.0,
                (Kind::Checking, Owner::Joint) => 1.5,
                (Kind::Checking, Owner::Person) => 1.0,
                (Kind::Prepaid, _) => 0.5,
                (Kind::Savings, _) => 0.12,
            };
            let merchant = a.kind == Kind::Checking && rng.random_bool(HEAVY_ACCOUNT_SHARE);
            let tail = if merchant { HEAVY_ACCOUNT_FACTOR } else { 1.0 };
            let status = if a.status == AccountStatus::Unavailable.as_str() {
                0.05
            } else {
                1.0
            };
            base * tail * status * rng.random_range(0.3..1.7)
        })
        .collect()
}
