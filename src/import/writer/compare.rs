//! Comparing what a line sends with what is stored: completed transactions
//! are immutable (a replay with the same content is a no-op, other content
//! is refused naming the fields that differ), a removed transaction never
//! comes back, and a snapshot identical to the stored entries leaves them
//! untouched.

use super::State;
use super::hashing::FxMap;
use crate::import::stored::StoredRow;
use crate::import::tombstone::Content;
use crate::import::validate::TxRow;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// A removed transaction's tombstone; `tag` says which probe it answers.
#[derive(sqlx::FromRow)]
pub(super) struct Tombstone {
    pub(super) tag: i64,
    pub(super) digest: Vec<u8>,
    pub(super) reason: Option<String>,
    pub(super) removed_at: DateTime<Utc>,
}

impl State {
    /// Decides what completed lines whose id may exist already do, given
    /// the stored row of each line's id (`existing`, by index) and the
    /// tombstone of those not stored (`removed`, by index): counts replays,
    /// reports the lines that would change a transaction, and returns the
    /// indexes of the lines to write (the first of each new id).
    pub(super) fn judge_completed(
        &mut self,
        rows: &[(u64, i64, TxRow)],
        existing: &[Option<StoredRow>],
        removed: &HashMap<usize, Tombstone>,
    ) -> Vec<usize> {
        let mut new = Vec::new();
        // First occurrence in this batch of each new (account, id).
        let mut first: FxMap<(i64, &str), usize> = FxMap::default();
        for (i, (line, id, row)) in rows.iter().enumerate() {
            if let Some(tombstone) = removed.get(&i) {
                self.judge_removed(*line, row, tombstone);
                continue;
            }
            let differ = match &existing[i] {
                Some(s) => differences(&RowRef::from(row), s, false),
                None => match first.entry((*id, row.key.as_str())) {
                    Entry::Occupied(e) => {
                        let earlier = StoredRow::from_row(&rows[*e.get()].2);
                        differences(&RowRef::from(row), &earlier, false)
                    }
                    Entry::Vacant(e) => {
                        e.insert(i);
                        new.push(i);
                        continue;
                    }
                },
            };
            if differ.is_empty() {
                self.stats.duplicate_transactions += 1;
            } else {
                self.errors.push(
                    *line,
                    "transactionId",
                    format!(
                        "a completed transaction with this id already exists in this account with a \
                         different {}; completed transactions are immutable",
                        differ.join(", ")
                    ),
                );
            }
        }
        new
    }

    /// A completed line whose id was removed: a replay of the removed
    /// content is skipped, other content refused.
    fn judge_removed(&mut self, line: u64, row: &TxRow, tombstone: &Tombstone) {
        if tombstone.digest[..] == content(row).digest()[..] {
            self.stats.removed_transactions += 1;
        } else {
            self.errors.push(
                line,
                "transactionId",
                format!(
                    "this transaction was removed from this account on {} ({}); a removed \
                     transaction never comes back, and this content differs from the removed one",
                    tombstone.removed_at.format("%Y-%m-%d"),
                    tombstone.reason.as_deref().unwrap_or("no reason given"),
                ),
            );
        }
    }
}

/// Whether a snapshot's entries are the stored ones, in order, ids as sent
/// included (then they are left untouched).
pub(super) fn same_entries(stored: &[StoredRow], entries: &[TxRow]) -> bool {
    stored.len() == entries.len()
        && stored
            .iter()
            .zip(entries)
            .all(|(s, e)| differences(&RowRef::from(e), s, true).is_empty())
}

/// The content a tombstone's digest is taken of.
fn content(r: &TxRow) -> Content<'_> {
    Content {
        key: &r.key,
        credit_debit: r.credit_debit,
        name: &r.name,
        transaction_type: r.tx_type,
        amount: r.amount,
        currency: &r.currency,
        date_time: r.date_time,
        booking_date: r.booking_date,
        counterparty: [
            r.partie_cnpj_cpf.as_deref(),
            r.partie_person_type,
            r.partie_compe_code.as_deref(),
            r.partie_branch_code.as_deref(),
            r.partie_number.as_deref(),
            r.partie_check_digit.as_deref(),
        ],
    }
}

/// One statement entry as the file has it.
struct RowRef<'a> {
    key: &'a str,
    json: &'a str,
    kind: &'static str,
    credit_debit: &'static str,
    name: &'a str,
    tx_type: &'static str,
    amount: Decimal,
    currency: &'a str,
    date_time: DateTime<Utc>,
    booking: NaiveDate,
    partie_doc: Option<&'a str>,
    partie_person: Option<&'static str>,
    partie_compe: Option<&'a str>,
    partie_branch: Option<&'a str>,
    partie_number: Option<&'a str>,
    partie_check: Option<&'a str>,
}

impl<'a> From<&'a TxRow> for RowRef<'a> {
    fn from(r: &'a TxRow) -> Self {
        RowRef {
            key: &r.key,
            json: &r.id_json,
            kind: r.kind,
            credit_debit: r.credit_debit,
            name: &r.name,
            tx_type: r.tx_type,
            amount: r.amount,
            currency: &r.currency,
            date_time: r.date_time,
            booking: r.booking_date,
            partie_doc: r.partie_cnpj_cpf.as_deref(),
            partie_person: r.partie_person_type,
            partie_compe: r.partie_compe_code.as_deref(),
            partie_branch: r.partie_branch_code.as_deref(),
            partie_number: r.partie_number.as_deref(),
            partie_check: r.partie_check_digit.as_deref(),
        }
    }
}

/// Names of the fields in which a line differs from a stored row. The id's
/// pairs count only when `exact_id` (pending entries, which are matched by
/// position); a completed transaction is matched by its id's identity.
fn differences(r: &RowRef<'_>, s: &StoredRow, exact_id: bool) -> Vec<&'static str> {
    let mut d = Vec::new();
    if r.key != s.legacy_key
        || (exact_id && serde_json::to_string(&s.transaction_id.0).ok().as_deref() != Some(r.json))
    {
        d.push("transactionId");
    }
    if r.kind != s.completed_authorised_payment_type {
        d.push("completedAuthorisedPaymentType");
    }
    if r.credit_debit != s.credit_debit_type {
        d.push("creditDebitType");
    }
    if r.name != s.transaction_name {
        d.push("transactionName");
    }
    if r.tx_type != s.tx_type {
        d.push("type");
    }
    if r.amount != s.amount {
        d.push("amount");
    }
    if r.currency != s.currency {
        d.push("currency");
    }
    if r.date_time != s.transaction_date_time {
        d.push("transactionDateTime");
    }
    if r.booking != s.booking_date {
        d.push("bookingDate");
    }
    if r.partie_doc != s.partie_cnpj_cpf.as_deref() {
        d.push("partieCnpjCpf");
    }
    if r.partie_person != s.partie_person_type.as_deref() {
        d.push("partiePersonType");
    }
    if r.partie_compe != s.partie_compe_code.as_deref() {
        d.push("partieCompeCode");
    }
    if r.partie_branch != s.partie_branch_code.as_deref() {
        d.push("partieBranchCode");
    }
    if r.partie_number != s.partie_number.as_deref() {
        d.push("partieNumber");
    }
    if r.partie_check != s.partie_check_digit.as_deref() {
        d.push("partieCheckDigit");
    }
    d
}
