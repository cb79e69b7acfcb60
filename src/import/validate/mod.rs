//! Field validation: a [`Record`] as read becomes an [`Item`] whose every
//! field holds to the Accounts contract, or the list of its bad fields.
//!
//! One idea a file: `fields` (the field rules and the vocabularies of the
//! contract), `check` (the collector of a record's errors), `records` (the
//! records that define or describe an account) and `entries` (statement
//! entries).

mod check;
mod entries;
mod fields;
mod records;
#[cfg(test)]
mod testing;

pub(crate) use records::definition_hint;

use super::FieldError;
use super::record::Record;
use crate::domain::account_number::AccountNumber;
use crate::domain::counterparty::Counterparty;
use crate::domain::identity::{BrandId, Cnpj, Document};
use crate::domain::legacy_id::LegacyId;
use crate::domain::vocabulary::{
    AccountStatus, AccountSubtype, AccountType, CreditDebit, PaymentStatus, TransactionType,
};
use check::Check;
use chrono::{DateTime, NaiveDate, Utc};
use fields::brand_id;
use rust_decimal::Decimal;
use std::sync::Arc;

/// An account as records name it: its brand and the canonical key of its
/// `accountId`, both checked, kept as shared text: every entry of the
/// account carries a copy, and the writer's registry keys on them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AccountRef {
    pub brand: Arc<str>,
    pub key: Arc<str>,
}

#[derive(Debug)]
pub(crate) struct Brand {
    pub brand_id: BrandId,
    pub brand_name: String,
    pub company_cnpj: Cnpj,
}

#[derive(Debug)]
pub(crate) struct Customer {
    pub brand_id: BrandId,
    pub document: Document,
    pub name: String,
}

#[derive(Debug)]
pub(crate) struct Account {
    pub account: AccountRef,
    pub legacy_json: String,
    pub account_type: AccountType,
    pub subtype: AccountSubtype,
    pub number: AccountNumber,
    pub currency: String,
    pub holders: Vec<String>,
    pub display_name: Option<String>,
    pub status: AccountStatus,
}

#[derive(Debug)]
pub(crate) struct Balance {
    pub account: AccountRef,
    pub available: Decimal,
    pub blocked: Decimal,
    pub invested: Decimal,
    pub currency: String,
    pub updated: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) struct Limits {
    pub account: AccountRef,
    pub contracted: Option<Decimal>,
    pub used: Option<Decimal>,
    pub unarranged: Option<Decimal>,
    pub currency: String,
}

/// One statement entry, ready for the `transactions` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxRow {
    pub key: String,
    pub id_json: String,
    pub kind: PaymentStatus,
    pub credit_debit: CreditDebit,
    pub name: String,
    pub tx_type: TransactionType,
    pub amount: Decimal,
    pub currency: String,
    pub date_time: DateTime<Utc>,
    pub booking_date: NaiveDate,
    pub counterparty: Counterparty,
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub account: AccountRef,
    pub entries: Vec<TxRow>,
}

#[derive(Debug)]
pub(crate) struct Removal {
    pub account: AccountRef,
    pub key: String,
    pub reason: Option<String>,
}

/// What a definition record defines, even when its other fields are bad:
/// later lines that refer to it are then not reported again.
#[derive(Debug)]
pub(crate) enum Definition {
    Brand(String),
    Customer { brand_id: String, document: String },
    Account(AccountRef),
}

#[derive(Debug)]
pub(crate) enum Item {
    Brand(Brand),
    Customer(Customer),
    Account(Account),
    Balance(Balance),
    Limits(Limits),
    Transaction(AccountRef, TxRow),
    Pending(Pending),
    Removal(Removal),
    /// The identity of an invalid definition record.
    Defines(Definition),
}

/// A bad record: its bad fields, and what it would have defined.
pub(crate) type Invalid = (Vec<FieldError>, Option<Definition>);

/// Validates records. Consecutive records of one account share its
/// [`AccountRef`] instead of working it out again.
#[derive(Default)]
pub(crate) struct Validator {
    last_account: Option<(String, LegacyId, AccountRef)>,
}

impl Validator {
    /// Validates one record.
    pub(crate) fn validate(&mut self, record: Record) -> Result<Item, Invalid> {
        match record {
            Record::Brand(r) => records::brand(r),
            Record::Customer(r) => records::customer(r),
            Record::Account(r) => records::account(r),
            Record::Balance(r) => self.balance(r),
            Record::OverdraftLimits(r) => self.limits(r),
            Record::Transaction(r) => self.transaction(r),
            Record::PendingTransactions(r) => self.pending(r),
            Record::TransactionRemoval(r) => self.removal(r),
        }
    }

    fn account_ref(
        &mut self,
        c: &mut Check,
        brand: Option<String>,
        account_id: Option<LegacyId>,
    ) -> Option<AccountRef> {
        if let (Some(b), Some(id), Some((last_b, last_id, r))) =
            (&brand, &account_id, &self.last_account)
            && b == last_b
            && id == last_id
        {
            return Some(r.clone());
        }
        let brand = c.text(brand, "brandId", brand_id);
        let key = c.legacy(&account_id, "accountId");
        let (brand, (key, _)) = (brand?, key?);
        let r = AccountRef {
            brand: Arc::from(brand.as_str()),
            key: Arc::from(key),
        };
        self.last_account = Some((brand, account_id.expect("validated above"), r.clone()));
        Some(r)
    }
}

/// Validates one record on its own (tests).
#[cfg(test)]
pub(crate) fn validate(record: Record) -> Result<Item, Invalid> {
    Validator::default().validate(record)
}
