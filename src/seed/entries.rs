//! Statement entries: an account's completed transactions and pending
//! snapshots, each entry of a scenario drawn from the account's table.

use super::COMPE;
use super::parties::Party;
use super::plan::{Bank, PlannedAccount};
use super::scenarios::{self, Counterparty, Direction, Scenario};
use super::text::{Stamp, amount_text, millis_text, stamp_text};
use crate::domain::legacy_id::{KeyValue, LegacyId};
use crate::domain::vocabulary::{CreditDebit, PaymentStatus, PersonType, TransactionType};
use crate::import::{PendingTransactionsRecord, Record, TransactionFields, TransactionRecord};
use chrono::{DateTime, Duration, Timelike, Utc};
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// Which feed an entry belongs to; it shapes the entry's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Series {
    History,
    Delta,
}

impl Series {
    /// What follows the timestamp in the id before the sequence number. A
    /// delta's `N` is never there in the history's ids (decimal digits, hex
    /// digits for PIX), so a delta's ids never collide with them.
    fn mark(self) -> &'static str {
        match self {
            Series::History => "",
            Series::Delta => "N",
        }
    }
}

impl Bank {
    /// A completed transaction of account `index` at `at` (ms since the epoch).
    pub(super) fn completed(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        index: usize,
        at: i64,
        seq: usize,
        series: Series,
    ) -> Record {
        let a = &self.accounts[index];
        let at = DateTime::from_timestamp_millis(at).expect("instants of the history are valid");
        let (brand_id, account_id) = self.account_ref(a);
        Record::Transaction(TransactionRecord {
            brand_id,
            account_id,
            fields: self.entry(rng, a, at, seq, series, PaymentStatus::Completed),
        })
    }

    /// The pending snapshot of account `index`, if it has pending entries.
    pub(super) fn pending_record(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        index: usize,
    ) -> Option<Record> {
        let a = &self.accounts[index];
        if !a.pending {
            return None;
        }
        let (brand_id, account_id) = self.account_ref(a);
        Some(Record::PendingTransactions(PendingTransactionsRecord {
            brand_id,
            account_id,
            transactions: Some(self.pending_snapshot(rng, a)),
        }))
    }

    /// Pending entries of account `a` around `now`.
    fn pending_snapshot(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        a: &PlannedAccount,
    ) -> Vec<TransactionFields> {
        let mut entries = Vec::new();
        let n = if a.demo { 2 } else { rng.random_range(1..=3) };
        for k in 0..n {
            let future = k % 2 == 0;
            let at = if future {
                let days = rng.random_range(1..30);
                (self.now + Duration::days(days))
                    .with_hour(15)
                    .and_then(|t| t.with_minute(0))
                    .unwrap_or(self.now)
            } else {
                self.now - Duration::seconds(rng.random_range(30..1800))
            };
            let kind = if future {
                PaymentStatus::Future
            } else {
                PaymentStatus::Processing
            };
            let mut fields = self.entry(rng, a, at, k, Series::History, kind);
            let stamp = stamp_text(at);
            fields.transaction_id = Some(LegacyId(vec![KeyValue {
                key: "id".into(),
                value: format!("PEND{stamp}{k:02}"),
            }]));
            if future {
                // A scheduled bill payment.
                let (name, doc) = self
                    .parties
                    .utilities
                    .choose(rng)
                    .expect("utilities")
                    .clone();
                fields.credit_debit_type = Some(CreditDebit::Debit.as_str().into());
                fields.transaction_type =
                    Some(TransactionType::CollectionAgreement.as_str().into());
                fields.transaction_name = Some(format!("AGENDAMENTO PAGTO {name}"));
                fields.partie_cnpj_cpf = Some(doc);
                fields.partie_person_type = Some(PersonType::Legal.as_str().into());
                fields.partie_compe_code = None;
                fields.partie_branch_code = None;
                fields.partie_number = None;
                fields.partie_check_digit = None;
            }
            entries.push(fields);
        }
        entries
    }

    /// One statement entry of account `a` at `at`, the `seq`-th of its
    /// series. What is drawn, and in which order (the scenario, a person and
    /// a company, the scenario's own counterparty, its direction, its
    /// amount, the rest of a PIX id), is what a seed's bank is made of.
    pub(super) fn entry(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        a: &PlannedAccount,
        at: DateTime<Utc>,
        seq: usize,
        series: Series,
        kind: PaymentStatus,
    ) -> TransactionFields {
        let Scenario(transaction_type, direction, counterparty, name, amount) =
            scenarios::draw(scenarios::of(a.kind, a.owner), rng);
        let person = self.parties.people.choose(rng).expect("people");
        let company = self.parties.companies.choose(rng).expect("companies");
        let mut f = TransactionFields {
            completed_authorised_payment_type: Some(kind.as_str().into()),
            currency: Some("BRL".into()),
            transaction_date_time: Some(millis_text(at)),
            ..TransactionFields::default()
        };
        let party = match counterparty {
            Counterparty::Nobody => None,
            Counterparty::Person => Some(set_party(&mut f, person, person.compe)),
            Counterparty::Company => Some(set_party(&mut f, company, company.compe)),
            Counterparty::Employer => {
                let employer = self.parties.employers.choose(rng).expect("employers");
                Some(set_party(&mut f, employer, employer.compe))
            }
            Counterparty::PersonHere => {
                let person = self.parties.people.choose(rng).expect("people");
                Some(set_party(&mut f, person, COMPE))
            }
            Counterparty::Merchant => {
                let merchant = self.parties.merchants.choose(rng).expect("merchants");
                Some(set_business(&mut f, merchant))
            }
            Counterparty::Utility => {
                let utility = self.parties.utilities.choose(rng).expect("utilities");
                Some(set_business(&mut f, utility))
            }
        };
        let credit = match direction {
            Direction::Credit => true,
            Direction::Debit => false,
            Direction::Drawn(chance) => rng.random_bool(chance),
        };
        let amount = amount.draw(rng, credit);
        let name = name.text(credit, party);
        f.transaction_id = Some(LegacyId(vec![KeyValue {
            key: "id".into(),
            value: transaction_id(rng, transaction_type, Stamp(at), series, seq),
        }]));
        let credit_debit = if credit {
            CreditDebit::Credit
        } else {
            CreditDebit::Debit
        };
        f.credit_debit_type = Some(credit_debit.as_str().into());
        f.transaction_name = Some(if name.len() > 200 {
            name.chars().take(200).collect()
        } else {
            name
        });
        f.transaction_type = Some(transaction_type.as_str().into());
        f.amount = Some(amount_text(amount.max(Decimal::new(1, 2))));
        f
    }
}

/// The id of the `seq`-th entry of `series`, stamped with its instant.
fn transaction_id(
    rng: &mut Xoshiro256PlusPlus,
    transaction_type: TransactionType,
    stamp: Stamp,
    series: Series,
    seq: usize,
) -> String {
    let mut id = String::with_capacity(40);
    let mark = series.mark();
    if transaction_type == TransactionType::Pix {
        // Shaped like an end-to-end id: E + ISPB + timestamp + unique tail.
        let _ = write!(id, "E{:08}{stamp}{mark}{seq:05X}", 31_872_495);
        for _ in 0..6 {
            id.push(char::from(
                b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[rng.random_range(0..34)],
            ));
        }
    } else {
        let _ = write!(
            id,
            "{}{stamp}{mark}{seq:06}",
            &transaction_type.as_str()[..3]
        );
    }
    id
}

/// Names `p`, with its account at the bank `compe`, as the counterparty;
/// what the statement calls it.
fn set_party<'p>(f: &mut TransactionFields, p: &'p Party, compe: &'static str) -> &'p str {
    f.partie_person_type = Some(
        if p.document.len() == 11 {
            PersonType::Natural.as_str()
        } else {
            PersonType::Legal.as_str()
        }
        .into(),
    );
    f.partie_cnpj_cpf = Some(p.document.clone());
    f.partie_compe_code = Some(compe.into());
    f.partie_branch_code = Some(p.branch.clone());
    f.partie_number = Some(p.number.clone());
    f.partie_check_digit = Some(p.check.clone());
    &p.short
}

/// Names a shop or utility (name, CNPJ) as the counterparty, without an
/// account; what the statement calls it.
fn set_business<'b>(f: &mut TransactionFields, (name, document): &'b (String, String)) -> &'b str {
    f.partie_cnpj_cpf = Some(document.clone());
    f.partie_person_type = Some(PersonType::Legal.as_str().into());
    name
}
