//! Comparing what a line sends with what is stored: completed transactions
//! are immutable (a replay with the same content is a no-op, other content
//! is refused naming the fields that differ), a removed transaction never
//! comes back, and a snapshot identical to the stored entries leaves them
//! untouched.

use super::State;
use super::hashing::FxMap;
use crate::domain::counterparty::Counterparty;
use crate::domain::vocabulary::{CreditDebit, PaymentStatus, TransactionType};
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
        credit_debit: r.credit_debit.as_str(),
        name: &r.name,
        transaction_type: r.tx_type.as_str(),
        amount: r.amount,
        currency: &r.currency,
        date_time: r.date_time,
        booking_date: r.booking_date,
        counterparty: &r.counterparty,
    }
}

/// One statement entry as the file has it.
struct RowRef<'a> {
    key: &'a str,
    json: &'a str,
    kind: PaymentStatus,
    credit_debit: CreditDebit,
    name: &'a str,
    tx_type: TransactionType,
    amount: Decimal,
    currency: &'a str,
    date_time: DateTime<Utc>,
    booking: NaiveDate,
    counterparty: &'a Counterparty,
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
            counterparty: &r.counterparty,
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
    d.extend(r.counterparty.differences(&s.counterparty));
    d
}

#[cfg(test)]
mod tests {
    use super::super::State;
    use super::super::testing::*;
    use super::{RowRef, Tombstone, content, differences, same_entries};
    use crate::domain::counterparty::Counterparty;
    use crate::domain::vocabulary::{CreditDebit, PaymentStatus, PersonType, TransactionType};
    use crate::import::stored::StoredRow;
    use crate::import::validate::TxRow;
    use rust_decimal::Decimal;
    use std::collections::HashMap;

    fn stored(row: &TxRow) -> Option<StoredRow> {
        Some(StoredRow::from_row(row))
    }

    fn errors_of(state: &mut State) -> Vec<(u64, String)> {
        errors(state)
            .into_iter()
            .map(|(line, _, reason)| (line, reason))
            .collect()
    }

    #[test]
    fn a_replayed_completed_transaction_is_a_duplicate_and_other_content_is_refused() {
        let mut renamed = entry("T2");
        renamed.name = "PIX ENVIADO".to_owned();
        renamed.amount = Decimal::new(1, 2);
        let mut other_amount = entry("T3");
        other_amount.amount += Decimal::ONE;
        let rows = vec![
            (1, 7, entry("T1")),
            (2, 7, entry("T2")),
            (3, 7, entry("T3")),
            (4, 7, entry("T3")),
            (5, 7, other_amount),
            (6, 8, entry("T3")),
        ];
        let existing = vec![
            stored(&entry("T1")),
            stored(&renamed),
            None,
            None,
            None,
            None,
        ];
        let mut state = State::default();
        let new = state.judge_completed(&rows, &existing, &HashMap::new());
        assert_eq!(new, [2, 5], "the first of each new (account, id)");
        assert_eq!(state.stats.duplicate_transactions, 2);
        let immutable = "completed transactions are immutable";
        assert_eq!(
            errors_of(&mut state),
            [
                (
                    2,
                    format!(
                        "a completed transaction with this id already exists in this account with \
                         a different transactionName, amount; {immutable}"
                    )
                ),
                (
                    5,
                    format!(
                        "a completed transaction with this id already exists in this account with \
                         a different amount; {immutable}"
                    )
                ),
            ]
        );
    }

    #[test]
    fn a_removed_transaction_comes_back_only_as_a_replay() {
        let removed = |row: &TxRow| Tombstone {
            tag: 1,
            digest: content(row).digest().to_vec(),
            reason: Some("estorno".to_owned()),
            removed_at: at("2026-11-21T09:00:00Z"),
        };
        let mut changed = entry("T2");
        changed.currency = "USD".to_owned();
        let rows = vec![(1, 7, entry("T1")), (2, 7, changed), (3, 7, entry("T3"))];
        let tombstones = HashMap::from([(0, removed(&entry("T1"))), (1, removed(&entry("T2")))]);
        let mut state = State::default();
        let new = state.judge_completed(&rows, &[None, None, None], &tombstones);
        assert_eq!(new, [2]);
        assert_eq!(state.stats.removed_transactions, 1);
        assert_eq!(
            errors_of(&mut state),
            [(
                2,
                "this transaction was removed from this account on 2026-11-21 (estorno); a \
                 removed transaction never comes back, and this content differs from the removed one"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn differences_name_every_field_that_differs() {
        let sent = entry("T1");
        let mut other = entry("T2");
        other.kind = PaymentStatus::Future;
        other.credit_debit = CreditDebit::Debit;
        other.name = "x".to_owned();
        other.tx_type = TransactionType::Ted;
        other.amount = Decimal::ONE;
        other.currency = "USD".to_owned();
        other.date_time = at("2026-11-20T14:30:00.000001Z");
        other.booking_date = day("2026-11-21");
        other.counterparty = Counterparty {
            document: Some("11111111111".to_owned()),
            person_type: Some(PersonType::Natural),
            compe_code: Some("001".to_owned()),
            branch_code: Some("0001".to_owned()),
            number: Some("12345678".to_owned()),
            check_digit: Some("1".to_owned()),
        };
        let s = StoredRow::from_row(&other);
        assert_eq!(
            differences(&RowRef::from(&sent), &s, false),
            [
                "transactionId",
                "completedAuthorisedPaymentType",
                "creditDebitType",
                "transactionName",
                "type",
                "amount",
                "currency",
                "transactionDateTime",
                "bookingDate",
                "partieCnpjCpf",
                "partiePersonType",
                "partieCompeCode",
                "partieBranchCode",
                "partieNumber",
                "partieCheckDigit"
            ]
        );
        assert!(differences(&RowRef::from(&other), &s, false).is_empty());
    }

    #[test]
    fn an_amount_is_compared_by_value_and_an_id_as_sent_only_when_exact() {
        let mut sent = entry("T1");
        sent.amount = Decimal::new(1_500_000, 3);
        sent.id_json = r#"[{"key":"id","value":"T1"}, {"key":"x","value":"y"}]"#.to_owned();
        let s = StoredRow::from_row(&entry("T1"));
        assert!(differences(&RowRef::from(&sent), &s, false).is_empty());
        assert_eq!(
            differences(&RowRef::from(&sent), &s, true),
            ["transactionId"]
        );
    }

    #[test]
    fn a_snapshot_is_unchanged_only_with_the_same_entries_in_the_same_order() {
        let entries = vec![pending_entry("P1"), pending_entry("P2")];
        let stored: Vec<StoredRow> = entries.iter().map(StoredRow::from_row).collect();
        assert!(same_entries(&stored, &entries));
        assert!(!same_entries(&stored[..1], &entries));
        assert!(!same_entries(&stored, &entries[..1]));
        let swapped = vec![pending_entry("P2"), pending_entry("P1")];
        assert!(!same_entries(&stored, &swapped));
        let mut changed = entries.clone();
        changed[1].amount += Decimal::ONE;
        assert!(!same_entries(&stored, &changed));
    }
}
