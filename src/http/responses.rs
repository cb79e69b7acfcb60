//! Response bodies of the contract. Money is rendered by
//! `domain::money::render`, date-times by `domain::time`.

use crate::domain::account_number::AccountNumber;
use crate::domain::counterparty::Counterparty;
use crate::domain::identity::Cpf;
use crate::domain::legacy_id::LegacyId;
use crate::domain::vocabulary::{
    AccountSubtype, AccountType, CreditDebit, PaymentStatus, TransactionType,
};
use serde::Serialize;

/// `Meta`: counts of a list, or of a single resource.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub total_records: i64,
    pub total_pages: i64,
    pub request_date_time: String,
}

/// `MetaOnlyRequestDateTimeAndHasMoreRecords`, of the statements.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementMeta {
    pub request_date_time: String,
    pub has_more_records: bool,
}

#[derive(Debug, Serialize)]
pub struct Envelope<D, M> {
    pub data: D,
    pub meta: M,
}

#[derive(Debug, Serialize)]
pub struct DiscoveryResponse {
    pub data: DiscoveryData,
}

#[derive(Debug, Serialize)]
pub struct DiscoveryData {
    pub resources: Vec<DiscoveredResource>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredResource {
    pub resource_name: Vec<Caption>,
    pub resource_legacy_id: LegacyId,
    pub authorizers: Vec<Authorizer>,
    pub default_selected: bool,
}

#[derive(Debug, Serialize)]
pub struct Caption {
    pub key: &'static str,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct Authorizer {
    pub cpf: Cpf,
    pub name: String,
}

/// `AccountData`, an item of `/accounts`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountData {
    pub brand_name: String,
    pub company_cnpj: String,
    #[serde(rename = "type")]
    pub account_type: AccountType,
    #[serde(flatten)]
    pub number: AccountNumber,
    pub account_id: LegacyId,
}

/// `AccountIdentificationData`, of `/find`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountIdentificationData {
    #[serde(flatten)]
    pub number: AccountNumber,
    #[serde(rename = "type")]
    pub account_type: AccountType,
    pub subtype: AccountSubtype,
    pub currency: String,
}

/// An amount with its currency, the shape of every money field.
#[derive(Debug, Serialize)]
pub struct Amount {
    pub amount: String,
    pub currency: String,
}

/// `AccountBalancesData`, of `/balances`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountBalancesData {
    pub available_amount: Amount,
    pub blocked_amount: Amount,
    pub automatically_invested_amount: Amount,
    pub update_date_time: String,
}

/// `AccountOverdraftLimitsData`, of `/overdraft-limits`: empty when the
/// account has no limits.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountOverdraftLimitsData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdraft_contracted_limit: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdraft_used_limit: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unarranged_overdraft_amount: Option<Amount>,
}

/// `AccountTransactionsData`, an entry of the statements.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountTransactionsData {
    pub transaction_id: LegacyId,
    pub completed_authorised_payment_type: PaymentStatus,
    pub credit_debit_type: CreditDebit,
    pub transaction_name: String,
    #[serde(rename = "type")]
    pub transaction_type: TransactionType,
    pub transaction_amount: Amount,
    pub transaction_date_time: String,
    #[serde(flatten)]
    pub counterparty: Counterparty,
}

/// `CheckAccountHolderResponse`.
#[derive(Debug, Serialize)]
pub struct CheckAccountHolderResponse {
    pub data: CheckAccountHolderData,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckAccountHolderData {
    pub is_account_holder: bool,
}
