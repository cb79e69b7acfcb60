//! A row of `transactions` as import reads it back.

use super::tombstone::Content;
use super::validate::TxRow;
use crate::domain::counterparty::Counterparty;
use crate::domain::legacy_id::LegacyId;
use crate::domain::vocabulary::{CreditDebit, PaymentStatus, TransactionType};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::types::Json;

pub(super) const STORED_COLUMNS: &str = "t.legacy_key, t.transaction_id, t.completed_authorised_payment_type, \
    t.credit_debit_type, t.transaction_name, t.type, t.amount, t.currency, t.transaction_date_time, t.booking_date, \
    t.partie_cnpj_cpf, t.partie_person_type, t.partie_compe_code, t.partie_branch_code, t.partie_number, \
    t.partie_check_digit";

/// A `transactions` row as stored; `tag` says which probe it answers.
#[derive(sqlx::FromRow)]
pub(super) struct StoredRow {
    pub tag: i64,
    pub legacy_key: String,
    pub transaction_id: Json<LegacyId>,
    pub completed_authorised_payment_type: PaymentStatus,
    pub credit_debit_type: CreditDebit,
    pub transaction_name: String,
    #[sqlx(rename = "type")]
    pub tx_type: TransactionType,
    pub amount: Decimal,
    pub currency: String,
    pub transaction_date_time: DateTime<Utc>,
    pub booking_date: NaiveDate,
    #[sqlx(flatten)]
    pub counterparty: Counterparty,
}

impl StoredRow {
    pub fn content(&self) -> Content<'_> {
        Content {
            key: &self.legacy_key,
            credit_debit: self.credit_debit_type.as_str(),
            name: &self.transaction_name,
            transaction_type: self.tx_type.as_str(),
            amount: self.amount,
            currency: &self.currency,
            date_time: self.transaction_date_time,
            booking_date: self.booking_date,
            counterparty: &self.counterparty,
        }
    }

    /// A line's row as if stored (to compare two lines of one batch).
    pub fn from_row(r: &TxRow) -> Self {
        StoredRow {
            tag: 0,
            legacy_key: r.key.clone(),
            transaction_id: Json(serde_json::from_str(&r.id_json).unwrap_or(LegacyId(Vec::new()))),
            completed_authorised_payment_type: r.kind,
            credit_debit_type: r.credit_debit,
            transaction_name: r.name.clone(),
            tx_type: r.tx_type,
            amount: r.amount,
            currency: r.currency.clone(),
            transaction_date_time: r.date_time,
            booking_date: r.booking_date,
            counterparty: r.counterparty.clone(),
        }
    }
}
