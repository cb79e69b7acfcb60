use super::documents::{cnpj, cpf, valid_document};
use super::entries::Series;
use super::plan::Bank;
use super::text::{amount_text, millis_text, stamp_text};
use super::{DEMO_BRAND_CNPJ, DEMO_COMPANY_CNPJ, DEMO_CPF, DEMO_SPOUSE_CPF, SeedConfig, records};
use crate::domain::time::{brasilia_date, render_seconds};
use crate::domain::vocabulary::{AccountType, PaymentStatus};
use crate::import::{AccountRecord, BalanceRecord, CustomerRecord, Record, TransactionRecord};
use chrono::{DateTime, Duration, Months, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

#[test]
fn renders_like_the_domain() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::milliseconds(7);
    assert_eq!(millis_text(at), crate::domain::time::render_millis(at));
    assert_eq!(stamp_text(at), "20260102000405");
    assert_eq!(amount_text(Decimal::ZERO), "0.00");
    assert_eq!(amount_text(Decimal::new(-15, 1)), "-1.50");
}

#[test]
fn documents_have_valid_check_digits() {
    assert_eq!(cpf(123_456_789), "12345678909");
    assert_eq!(cnpj(11_222_333), "11222333000181");
    for doc in [
        DEMO_CPF,
        DEMO_SPOUSE_CPF,
        DEMO_COMPANY_CNPJ,
        DEMO_BRAND_CNPJ,
    ] {
        assert!(valid_document(doc), "{doc}");
    }
    assert!(!valid_document("12345678900"));
    assert!(!valid_document("11222333000182"));
}

fn small(months: u32) -> SeedConfig {
    SeedConfig {
        customers: 40,
        accounts: 70,
        transactions: 900,
        months,
        now: Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 7).unwrap(),
        ..SeedConfig::demo()
    }
}

/// Completed transactions by account key, in the order they came.
fn completed_by_account(records: &[Record]) -> HashMap<String, Vec<&TransactionRecord>> {
    let mut out: HashMap<String, Vec<&TransactionRecord>> = HashMap::new();
    for r in records {
        if let Record::Transaction(t) = r {
            let key = t.account_id.as_ref().unwrap().canonical_key();
            out.entry(key).or_default().push(t);
        }
    }
    out
}

fn instant(t: &TransactionRecord) -> DateTime<Utc> {
    let text = t.fields.transaction_date_time.as_deref().unwrap();
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn id(t: &TransactionRecord) -> String {
    t.fields.transaction_id.as_ref().unwrap().canonical_key()
}

#[test]
fn the_history_comes_booking_day_by_booking_day_across_accounts() {
    for months in [13, 1, 0] {
        let config = small(months);
        let bank = Bank::plan(&config);
        let planned: HashMap<String, u64> = bank
            .accounts
            .iter()
            .map(|a| {
                let extra = if a.daily_demo() { 14 } else { 0 };
                (a.legacy_id().canonical_key(), a.transactions + extra)
            })
            .collect();
        let records: Vec<Record> = bank.records().collect();

        // Setup first, then every completed transaction, then the snapshots.
        let kind = |r: &Record| match r {
            Record::Transaction(_) => 1,
            Record::PendingTransactions(_) => 2,
            _ => 0,
        };
        let kinds: Vec<i32> = records.iter().map(kind).collect();
        assert!(kinds.is_sorted(), "months {months}: records out of phase");

        let completed: Vec<&TransactionRecord> = records
            .iter()
            .filter_map(|r| match r {
                Record::Transaction(t) => Some(t),
                _ => None,
            })
            .collect();
        let days: Vec<_> = completed
            .iter()
            .map(|t| brasilia_date(instant(t)))
            .collect();
        assert!(days.is_sorted(), "months {months}: booking days go back");
        let start = config.now.checked_sub_months(Months::new(months)).unwrap();
        for t in &completed {
            assert!(instant(t) >= start && instant(t) <= config.now, "{t:?}");
        }

        // Each account's entries: as many as planned, in time order, with
        // unique ids; and the accounts take turns within days.
        let by_account = completed_by_account(&records);
        for (key, entries) in &by_account {
            assert_eq!(entries.len() as u64, planned[key], "{key}");
            assert!(entries.iter().map(|t| instant(t)).is_sorted(), "{key}");
            let ids: HashSet<String> = entries.iter().map(|t| id(t)).collect();
            assert_eq!(ids.len(), entries.len(), "{key}: an id repeats");
        }
        let total: u64 = planned.values().sum();
        assert_eq!(completed.len() as u64, total);
        let switches = completed
            .windows(2)
            .filter(|w| w[0].account_id != w[1].account_id)
            .count();
        if months > 0 {
            assert!(
                switches > 4 * by_account.len(),
                "months {months}: {switches} switches of account: clustered by account"
            );
        }
    }
}

#[test]
fn a_delta_is_the_next_days_feed_with_ids_of_its_own() {
    let history_config = small(13);
    let history: Vec<Record> = Bank::plan(&history_config).records().collect();
    // Later the same day: the delta's day overlaps the history's last one.
    let next_day = history_config.now + Duration::hours(2);
    let config = SeedConfig {
        now: next_day,
        delta: Some(700),
        ..history_config.clone()
    };
    let delta: Vec<Record> = records(&config).collect();
    assert_eq!(delta, records(&config).collect::<Vec<_>>());
    let other_time = SeedConfig {
        now: next_day + Duration::hours(1),
        ..config.clone()
    };
    assert_ne!(delta, records(&other_time).collect::<Vec<_>>());

    let bank = Bank::plan(&config);
    let today = brasilia_date(next_day);
    let new = completed_by_account(&delta);
    let old = completed_by_account(&history);
    let mut total = 0;
    for (key, entries) in &new {
        total += entries.len();
        let before: HashSet<String> = old.get(key).into_iter().flatten().map(|t| id(t)).collect();
        let ids: HashSet<String> = entries.iter().map(|t| id(t)).collect();
        assert_eq!(ids.len(), entries.len(), "{key}: an id repeats");
        assert!(
            ids.is_disjoint(&before),
            "{key}: a delta id is a history id"
        );
        for t in entries {
            assert_eq!(brasilia_date(instant(t)), today);
            assert!(instant(t) <= next_day);
        }
    }
    // 700 shared out, and the demo's daily two on its three checking accounts.
    assert_eq!(total, 700 + 3 * 2);
    // Busier accounts get more, as in the history.
    let busiest = bank.accounts[4..]
        .iter()
        .max_by_key(|a| a.transactions)
        .unwrap();
    assert!(new[&busiest.legacy_id().canonical_key()].len() >= 700 / 70);

    let snapshots: HashSet<String> = delta
        .iter()
        .filter_map(|r| match r {
            Record::PendingTransactions(p) => Some(p.account_id.as_ref().unwrap().canonical_key()),
            _ => None,
        })
        .collect();
    let with_pending: HashSet<String> = bank
        .accounts
        .iter()
        .filter(|a| a.pending)
        .map(|a| a.legacy_id().canonical_key())
        .collect();
    assert!(!with_pending.is_empty());
    assert_eq!(snapshots, with_pending);

    let balances: Vec<&BalanceRecord> = delta
        .iter()
        .filter_map(|r| match r {
            Record::Balance(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(balances.len(), bank.accounts.len());
    let stated = render_seconds(next_day);
    assert!(
        balances
            .iter()
            .all(|b| b.update_date_time.as_deref() == Some(stated.as_str()))
    );
    assert!(delta.iter().all(|r| matches!(
        r,
        Record::Transaction(_) | Record::PendingTransactions(_) | Record::Balance(_)
    )));
}

#[test]
fn a_delta_id_is_never_a_history_id_whatever_the_entry() {
    let config = small(13);
    let bank = Bank::plan(&config);
    // Whatever the instant and sequence number, of any kind of entry.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for i in 0..2000 {
        let a = &bank.accounts[i % bank.accounts.len()];
        let at = config.now - Duration::milliseconds(rng.random_range(0..86_400_000));
        let seq = rng.random_range(0..2_000_000);
        let entry = |series| {
            bank.entry(
                &mut rng.clone(),
                a,
                at,
                seq,
                series,
                PaymentStatus::Completed,
            )
        };
        let (h, d) = (entry(Series::History), entry(Series::Delta));
        assert_eq!(h.transaction_type, d.transaction_type);
        assert_ne!(h.transaction_id, d.transaction_id);
    }
}

#[test]
fn the_plan_is_deterministic_and_complete() {
    let config = SeedConfig {
        customers: 40,
        accounts: 70,
        transactions: 900,
        ..SeedConfig::demo()
    };
    let a: Vec<Record> = Bank::plan(&config).records().collect();
    let b: Vec<Record> = Bank::plan(&config).records().collect();
    assert_eq!(a, b);
    let completed = a
        .iter()
        .filter(|r| matches!(r, Record::Transaction(_)))
        .count();
    // The demo's three checking accounts get two entries on each of the last 7 days.
    assert_eq!(completed, 900 + 260 + 40 + 120 + 200 + 3 * 14);
    let accounts: Vec<&AccountRecord> = a
        .iter()
        .filter_map(|r| {
            if let Record::Account(x) = r {
                Some(x)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(accounts.len(), 74);
    for kind in [
        AccountType::CheckingAccount.as_str(),
        AccountType::SavingsAccount.as_str(),
        AccountType::PrepaidPaymentAccount.as_str(),
    ] {
        assert!(
            accounts
                .iter()
                .any(|x| x.account_type.as_deref() == Some(kind)),
            "{kind}"
        );
    }
    let customers: Vec<&CustomerRecord> = a
        .iter()
        .filter_map(|r| {
            if let Record::Customer(x) = r {
                Some(x)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(customers.len(), 43);
    for c in &customers {
        assert!(valid_document(c.document.as_deref().unwrap()), "{c:?}");
    }
    let other = SeedConfig { seed: 7, ..config };
    let c: Vec<Record> = Bank::plan(&other).records().collect();
    assert_ne!(a, c);
}
