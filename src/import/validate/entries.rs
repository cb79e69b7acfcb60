//! Statement entries: completed transactions, snapshots of pending
//! entries, and removals of completed transactions.

use super::check::Check;
use super::fields::{
    account_number, any, branch_code, check_digit, compe_code, currency, date, document,
    transaction_name, utc_date_time,
};
use super::{Invalid, Item, Pending, Removal, TxRow, Validator};
use crate::domain::counterparty::Counterparty;
use crate::domain::time;
use crate::domain::vocabulary::{PaymentStatus, PersonType};
use crate::import::record::{
    PendingTransactionsRecord, TransactionFields, TransactionRecord, TransactionRemovalRecord,
};
use chrono::NaiveDate;

impl Validator {
    pub(super) fn transaction(&mut self, r: TransactionRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let row = entry(&mut c, r.fields, false);
        let value = (|| Some(Item::Transaction(account?, row?)))();
        c.finish(value, None)
    }

    pub(super) fn pending(&mut self, r: PendingTransactionsRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let entries = match r.transactions {
            None => {
                c.fail(
                    "transactions",
                    "is required (an empty array clears the pending entries)",
                );
                None
            }
            Some(list) => {
                let mut rows = Vec::with_capacity(list.len());
                for (i, f) in list.into_iter().enumerate() {
                    c.prefix = format!("transactions[{i}].");
                    rows.push(entry(&mut c, f, true));
                }
                c.prefix.clear();
                rows.into_iter().collect::<Option<Vec<_>>>()
            }
        };
        let value = (|| {
            Some(Item::Pending(Pending {
                account: account?,
                entries: entries?,
            }))
        })();
        c.finish(value, None)
    }

    pub(super) fn removal(&mut self, r: TransactionRemovalRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let id = c.legacy(&r.transaction_id, "transactionId");
        let reason = c.optional(r.reason, "reason", any);
        let value = (|| {
            Some(Item::Removal(Removal {
                account: account?,
                key: id?.0,
                reason: reason?,
            }))
        })();
        c.finish(value, None)
    }
}

/// Checks the fields of a statement entry.
fn entry(c: &mut Check, f: TransactionFields, pending: bool) -> Option<TxRow> {
    let id = c.legacy(&f.transaction_id, "transactionId");
    let kind = entry_kind(c, f.completed_authorised_payment_type.as_deref(), pending);
    let credit_debit = c.choice(&f.credit_debit_type, "creditDebitType");
    let name = c.text(f.transaction_name, "transactionName", transaction_name);
    let tx_type = c.choice(&f.transaction_type, "type");
    let amount = c.money(&f.amount, "amount", false);
    let cur = c.text(f.currency, "currency", currency);
    let date_time = c.date_time(
        &f.transaction_date_time,
        "transactionDateTime",
        utc_date_time,
    );
    let booking = booking_date(c, f.booking_date.as_deref());
    let partie_doc = c.optional(f.partie_cnpj_cpf, "partieCnpjCpf", document);
    let doc = partie_doc.as_ref().and_then(Option::as_deref);
    let person = person_type(c, doc, f.partie_person_type.as_deref());
    let partie_compe = c.optional(f.partie_compe_code, "partieCompeCode", compe_code);
    let partie_branch = c.optional(f.partie_branch_code, "partieBranchCode", branch_code);
    let partie_number = c.optional(f.partie_number, "partieNumber", account_number);
    let partie_check = c.optional(f.partie_check_digit, "partieCheckDigit", check_digit);
    let (key, id_json) = id?;
    let date_time = date_time?;
    Some(TxRow {
        key,
        id_json,
        kind: kind?,
        credit_debit: credit_debit?,
        name: name?,
        tx_type: tx_type?,
        amount: amount?,
        currency: cur?,
        date_time,
        booking_date: booking?.unwrap_or_else(|| time::brasilia_date(date_time)),
        counterparty: Counterparty {
            document: partie_doc?,
            person_type: person?,
            compe_code: partie_compe?,
            branch_code: partie_branch?,
            number: partie_number?,
            check_digit: partie_check?,
        },
    })
}

/// The kind of an entry: completed in a transaction record, pending in a
/// snapshot.
fn entry_kind(c: &mut Check, value: Option<&str>, pending: bool) -> Option<PaymentStatus> {
    let field = "completedAuthorisedPaymentType";
    let v = c.required(value, field)?;
    let kind = v.parse::<PaymentStatus>().ok();
    match kind {
        Some(kind) if kind.is_completed() != pending => Some(kind),
        _ if pending => {
            let [processing, future] = PaymentStatus::PENDING;
            c.fail(
                field,
                format!(
                    "must be {processing} or {future} in a pendingTransactions snapshot{}",
                    if kind.is_some_and(PaymentStatus::is_completed) {
                        " (completed transactions are sent as transaction records)"
                    } else {
                        ""
                    }
                ),
            );
            None
        }
        _ => {
            c.fail(
                field,
                format!(
                    "must be {} in a transaction record{}",
                    PaymentStatus::Completed,
                    if kind.is_some() {
                        " (pending entries are sent in a pendingTransactions snapshot)"
                    } else {
                        ""
                    }
                ),
            );
            None
        }
    }
}

/// An optional booking date (absent: the Brasília date of the entry).
fn booking_date(c: &mut Check, value: Option<&str>) -> Option<Option<NaiveDate>> {
    match value {
        None => Some(None),
        Some(v) => match date(v) {
            Ok(d) => Some(Some(d)),
            Err(reason) => {
                c.fail("bookingDate", reason);
                None
            }
        },
    }
}

/// An optional counterparty person type, which must match the length of
/// the counterparty's document (`doc`) when both are given.
fn person_type(
    c: &mut Check,
    doc: Option<&str>,
    value: Option<&str>,
) -> Option<Option<PersonType>> {
    let person = match value {
        None => Some(None),
        Some(v) => c.one_of(v, "partiePersonType").map(Some),
    };
    if let (Some(doc), Some(Some(person))) = (doc, person) {
        let expected = if doc.len() == 11 {
            PersonType::Natural
        } else {
            PersonType::Legal
        };
        if person != expected {
            c.fail(
                "partiePersonType",
                format!(
                    "must be {expected} for a partieCnpjCpf of {} digits",
                    doc.len()
                ),
            );
        }
    }
    person
}

#[cfg(test)]
mod tests {
    use crate::import::record::*;
    use crate::import::validate::testing::{errors, fields, lid, s};
    use crate::import::validate::{Invalid, Item, validate};
    use chrono::NaiveDate;

    fn tx_fields() -> TransactionFields {
        TransactionFields {
            transaction_id: Some(lid(&[("id", "TX-1")])),
            completed_authorised_payment_type: s("TRANSACAO_EFETIVADA"),
            credit_debit_type: s("CREDITO"),
            transaction_name: s("PIX RECEBIDO"),
            transaction_type: s("PIX"),
            amount: s("1500.00"),
            currency: s("BRL"),
            transaction_date_time: s("2026-11-20T14:30:00.000Z"),
            booking_date: None,
            partie_cnpj_cpf: s("43908445778"),
            partie_person_type: s("PESSOA_NATURAL"),
            partie_compe_code: s("001"),
            partie_branch_code: s("6272"),
            partie_number: s("67890854360"),
            partie_check_digit: s("4"),
        }
    }

    fn tx(fields: TransactionFields) -> Result<Item, Invalid> {
        validate(Record::Transaction(TransactionRecord {
            brand_id: s("cbanco"),
            account_id: Some(lid(&[("number", "1")])),
            fields,
        }))
    }

    #[test]
    fn transaction_fields() {
        let Ok(Item::Transaction(_, row)) = tx(tx_fields()) else {
            panic!()
        };
        assert_eq!(
            row.booking_date,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        assert_eq!(row.key, r#"[["id","TX-1"]]"#);

        let mut f = tx_fields();
        f.transaction_date_time = s("2026-11-21T02:30:00.000Z");
        let Ok(Item::Transaction(_, row)) = tx(f) else {
            panic!()
        };
        assert_eq!(
            row.booking_date,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            "Brasília date"
        );

        let mut f = tx_fields();
        f.booking_date = s("2026-11-22");
        let Ok(Item::Transaction(_, row)) = tx(f) else {
            panic!()
        };
        assert_eq!(
            row.booking_date,
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
        );
    }

    #[test]
    fn bad_transaction_fields() {
        let mut f = tx_fields();
        f.completed_authorised_payment_type = s("LANCAMENTO_FUTURO");
        f.credit_debit_type = s("CREDIT");
        f.transaction_name = s(&"x".repeat(201));
        f.transaction_type = s("BOLETOS");
        f.amount = s("-1.00");
        f.currency = s("R$");
        f.transaction_date_time = s("2026-11-20T11:30:00.000-03:00");
        f.booking_date = s("20/11/2026");
        f.partie_cnpj_cpf = s("123");
        f.partie_person_type = s("PESSOA");
        f.partie_compe_code = s("1");
        f.partie_branch_code = s("1");
        f.partie_number = s("1");
        f.partie_check_digit = s("12");
        assert_eq!(
            fields(tx(f)),
            [
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

        let mut f = tx_fields();
        f.partie_person_type = s("PESSOA_JURIDICA");
        assert_eq!(fields(tx(f)), ["partiePersonType"]);

        // Counterparty fields are all optional.
        let f = TransactionFields {
            partie_cnpj_cpf: None,
            partie_person_type: None,
            partie_compe_code: None,
            partie_branch_code: None,
            partie_number: None,
            partie_check_digit: None,
            ..tx_fields()
        };
        assert!(tx(f).is_ok());

        assert_eq!(
            fields(tx(TransactionFields::default())),
            [
                "transactionId",
                "completedAuthorisedPaymentType",
                "creditDebitType",
                "transactionName",
                "type",
                "amount",
                "currency",
                "transactionDateTime"
            ]
        );
    }

    #[test]
    fn pending_snapshot_fields() {
        let mut entry = tx_fields();
        entry.completed_authorised_payment_type = s("TRANSACAO_PROCESSANDO");
        let mut completed = tx_fields();
        completed.amount = s("1,00");
        let r = PendingTransactionsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            transactions: Some(vec![entry.clone(), completed]),
        };
        let errs = errors(validate(Record::PendingTransactions(r)));
        assert_eq!(
            errs.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            [
                "transactions[1].completedAuthorisedPaymentType",
                "transactions[1].amount"
            ]
        );
        let r = PendingTransactionsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            transactions: Some(vec![entry.clone(), entry]),
        };
        let Ok(Item::Pending(p)) = validate(Record::PendingTransactions(r)) else {
            panic!()
        };
        assert_eq!(p.entries.len(), 2, "ids may repeat among pending entries");
        let r = PendingTransactionsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            transactions: None,
        };
        assert_eq!(
            fields(validate(Record::PendingTransactions(r))),
            ["transactions"]
        );
    }

    #[test]
    fn legacy_id_sizes() {
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let eleven: Vec<(&str, &str)> = eleven
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = TransactionRemovalRecord {
            brand_id: s("b"),
            account_id: Some(lid(&eleven)),
            transaction_id: Some(lid(&[])),
            reason: None,
        };
        assert_eq!(
            fields(validate(Record::TransactionRemoval(r))),
            ["accountId", "transactionId"]
        );
    }
}
