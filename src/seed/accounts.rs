//! The accounts' own records: the account, its balance and its limits, in
//! the position the history leaves them.

use super::COMPE;
use super::documents::account_check_digit;
use super::plan::{Bank, Kind, Owner, PlannedAccount, stream};
use super::text::amount_text;
use crate::domain::legacy_id::LegacyId;
use crate::domain::time::render_seconds;
use crate::domain::vocabulary::{AccountSubtype, AccountType};
use crate::import::{AccountRecord, BalanceRecord, OverdraftLimitsRecord, Record};
use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rust_decimal::Decimal;

/// An account's balance and limit.
pub(super) struct Position {
    limit: Option<Decimal>,
    available: Decimal,
    blocked: Decimal,
    invested: Decimal,
    updated: DateTime<Utc>,
}

impl Position {
    pub(super) fn balance(
        &self,
        brand_id: Option<String>,
        account_id: Option<LegacyId>,
        at: DateTime<Utc>,
    ) -> Record {
        Record::Balance(BalanceRecord {
            brand_id,
            account_id,
            available_amount: Some(amount_text(self.available)),
            blocked_amount: Some(amount_text(self.blocked)),
            automatically_invested_amount: Some(amount_text(self.invested)),
            currency: Some("BRL".into()),
            update_date_time: Some(render_seconds(at)),
        })
    }
}

impl Bank {
    /// How records name account `a`: its brand and its legacy id.
    pub(super) fn account_ref(&self, a: &PlannedAccount) -> (Option<String>, Option<LegacyId>) {
        (Some(self.brand_id.clone()), Some(a.legacy_id()))
    }

    /// The account's subtype and the position the history leaves it in.
    pub(super) fn account_facts(&self, index: usize) -> (&'static str, Position) {
        let a = &self.accounts[index];
        let mut rng = stream(self.seed, 3, index as u64);
        let subtype = match a.owner {
            Owner::Joint if a.demo || rng.random_bool(0.7) => {
                AccountSubtype::JointSolidary.as_str()
            }
            Owner::Joint => AccountSubtype::JointSimple.as_str(),
            _ => AccountSubtype::Individual.as_str(),
        };
        // Limits on most checking accounts; a few run into them.
        let limit = (a.kind == Kind::Checking && (a.demo || rng.random_bool(0.6)))
            .then(|| Decimal::new(rng.random_range(5..=200) * 10_000, 2));
        let cents = |rng: &mut Xoshiro256PlusPlus, lo: i64, hi: i64| {
            Decimal::new(rng.random_range(lo..hi), 2)
        };
        let available = match (a.kind, limit) {
            (Kind::Checking, Some(limit)) if !a.demo && rng.random_bool(0.15) => {
                -(limit * Decimal::new(rng.random_range(5..=110), 2)).round_dp(2)
            }
            (Kind::Checking, _) => cents(
                &mut rng,
                5_000,
                if a.owner == Owner::Company {
                    50_000_000
                } else {
                    2_500_000
                },
            ),
            (Kind::Savings, _) => cents(&mut rng, 10_000, 15_000_000),
            (Kind::Prepaid, _) => cents(&mut rng, 0, 300_000),
        };
        let blocked = if rng.random_bool(0.05) {
            cents(&mut rng, 1_000, 200_000)
        } else {
            Decimal::new(0, 2)
        };
        let invested = if a.kind == Kind::Checking && rng.random_bool(0.2) {
            cents(&mut rng, 10_000, 1_000_000)
        } else {
            Decimal::new(0, 2)
        };
        let updated = self.now - Duration::seconds(rng.random_range(0..3600));
        let position = Position {
            limit,
            available,
            blocked,
            invested,
            updated,
        };
        (subtype, position)
    }

    /// The account, its balance and its limits.
    pub(super) fn account_records(&self, index: usize) -> Vec<Record> {
        let a = &self.accounts[index];
        let (brand_id, account_id) = self.account_ref(a);
        let (subtype, position) = self.account_facts(index);
        let type_name = match a.kind {
            Kind::Checking => AccountType::CheckingAccount.as_str(),
            Kind::Savings => AccountType::SavingsAccount.as_str(),
            Kind::Prepaid => AccountType::PrepaidPaymentAccount.as_str(),
        };
        let label = match a.kind {
            Kind::Checking => "Conta Corrente",
            Kind::Savings => "Poupança",
            Kind::Prepaid => "Conta Digital",
        };
        let check = account_check_digit(&a.number);
        let mut out = vec![Record::Account(AccountRecord {
            brand_id: brand_id.clone(),
            account_id: account_id.clone(),
            account_type: Some(type_name.into()),
            subtype: Some(subtype.into()),
            compe_code: Some(COMPE.into()),
            branch_code: a.branch.clone(),
            number: Some(a.number.clone()),
            check_digit: Some(check.clone()),
            currency: Some("BRL".into()),
            holders: Some(a.holders.clone()),
            display_name: Some(format!("{label} {}-{check}", a.number)),
            status: Some(a.status.into()),
        })];
        out.push(position.balance(brand_id.clone(), account_id.clone(), position.updated));
        if let Some(limit) = position.limit {
            let overdrawn = (-position.available).max(Decimal::ZERO);
            let used = overdrawn.min(limit);
            let unarranged = overdrawn - used;
            out.push(Record::OverdraftLimits(OverdraftLimitsRecord {
                brand_id,
                account_id,
                overdraft_contracted_limit: Some(amount_text(limit)),
                overdraft_used_limit: Some(amount_text(used)),
                unarranged_overdraft_amount: Some(amount_text(unarranged)),
                currency: Some("BRL".into()),
            }));
        }
        out
    }
}
