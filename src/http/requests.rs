//! Request bodies of the contract, and the checks serde cannot express
//! (patterns, lengths, item counts). Every failure names the field.

use super::error::ApiError;
use crate::domain::consent::{ConsentFacts, Scope};
use crate::domain::legacy_id::LegacyId;
use crate::domain::paging::PageRequest;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

/// `ConsentDataSharing`: the contract forbids unknown fields here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Consent {
    #[serde(default, deserialize_with = "present")]
    pub auth_extra_data: Option<Vec<ExtraData>>,
    #[serde(default, deserialize_with = "present")]
    pub consent_owner: Option<Vec<ExtraData>>,
    pub brand_id: String,
    pub creation_date_time: String,
    pub tpp: Tpp,
    pub external_id: String,
    pub logged_user: LoggedUser,
    #[serde(default, deserialize_with = "present")]
    pub business_document_type: Option<BusinessDocument>,
    #[serde(default, deserialize_with = "present")]
    pub resources: Option<Vec<Resource>>,
    #[serde(default, deserialize_with = "present")]
    pub expiration_date_time: Option<String>,
    pub permissions: Vec<String>,
}

/// Items of `authExtraData` / `consentOwner` (extra fields allowed).
#[derive(Debug, Deserialize)]
pub struct ExtraData {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tpp {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedUser {
    pub document: Document,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessDocument {
    pub document: Document,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub identification: String,
    pub rel: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub resource_legacy_id: LegacyId,
    #[serde(default, deserialize_with = "present")]
    pub authorizers: Option<Vec<Authorizer>>,
    #[serde(default, deserialize_with = "present")]
    pub has_multiple_authorisers: Option<bool>,
    // Added by the contract's revision 3.0.0; accepted, not used.
    #[serde(default, deserialize_with = "present")]
    pub resource_balance_currency: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub resource_balance_amount: Option<serde_json::Number>,
}

#[derive(Debug, Deserialize)]
pub struct Authorizer {
    pub cpf: String,
    #[allow(dead_code)]
    pub name: String,
}

/// `RequestMeta`: unknown fields forbidden.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestMeta {
    #[serde(deserialize_with = "super::telemetry::correlation_id_from_body")]
    pub correlation_id: String,
    pub brand_id: String,
}

/// `/account-discovery`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryRequest {
    pub consent: Consent,
    pub request_meta: RequestMeta,
}

/// `/accounts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountListRequest {
    pub consent: Consent,
    pub request_meta: RequestMeta,
    #[serde(default, deserialize_with = "present")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub page_size: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub account_type: Option<AccountType>,
    #[serde(default, deserialize_with = "present", rename = "pagination-key")]
    pub pagination_key: Option<String>,
}

/// `/find`, `/balances`, `/overdraft-limits`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRequest {
    pub consent: Consent,
    pub request_meta: RequestMeta,
    pub account_id: LegacyId,
}

/// `/transactions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionsRequest {
    pub consent: Consent,
    pub request_meta: RequestMeta,
    pub account_id: LegacyId,
    #[serde(default, deserialize_with = "present")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub page_size: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub from_booking_date: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub to_booking_date: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub credit_debit_indicator: Option<CreditDebit>,
    #[serde(default, deserialize_with = "present", rename = "pagination-key")]
    pub pagination_key: Option<String>,
}

/// `/transactions-current`: revision 2.4.1 names the bounds
/// `…BookingDateMaxLimited`, revision 3.0.0 `…BookingDate`; both are accepted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentTransactionsRequest {
    pub consent: Consent,
    pub request_meta: RequestMeta,
    pub account_id: LegacyId,
    #[serde(default, deserialize_with = "present")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub page_size: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub from_booking_date_max_limited: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub to_booking_date_max_limited: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub from_booking_date: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub to_booking_date: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub credit_debit_indicator: Option<CreditDebit>,
    #[serde(default, deserialize_with = "present", rename = "pagination-key")]
    pub pagination_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountType {
    ContaDepositoAVista,
    ContaPoupanca,
    ContaPagamentoPrePaga,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::ContaDepositoAVista => "CONTA_DEPOSITO_A_VISTA",
            AccountType::ContaPoupanca => "CONTA_POUPANCA",
            AccountType::ContaPagamentoPrePaga => "CONTA_PAGAMENTO_PRE_PAGA",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CreditDebit {
    #[serde(rename = "CREDITO")]
    Credit,
    #[serde(rename = "DEBITO")]
    Debit,
}

impl CreditDebit {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditDebit::Credit => "CREDITO",
            CreditDebit::Debit => "DEBITO",
        }
    }
}

/// The contract's resource types of `consent.resources[].type`.
const RESOURCE_TYPES: [&str; 12] = [
    "ACCOUNT",
    "CREDIT_CARD_ACCOUNT",
    "LOAN",
    "FINANCING",
    "UNARRANGED_ACCOUNT_OVERDRAFT",
    "INVOICE_FINANCING",
    "PAYMENT",
    "BANK_FIXED_INCOME",
    "CREDIT_FIXED_INCOME",
    "VARIABLE_INCOME",
    "TREASURE_TITLE",
    "FUND",
];

/// The contract's permission names (spellings included).
const PERMISSIONS: [&str; 36] = [
    "ACCOUNTS_READ",
    "ACCOUNTS_BALANCES_READ",
    "ACCOUNTS_TRANSACTIONS_READ",
    "ACCOUNTS_OVERDRAFT_LIMITS_READ",
    "CREDIT_CARDS_ACCOUNTS_READ",
    "CREDIT_CARDS_ACCOUNTS_BILLS_READ",
    "CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ",
    "CREDIT_CARDS_ACCOUNTS_LIMITS_READ",
    "CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ",
    "CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ",
    "CUSTOMERS_PERSONAL_ADITTIONALINFO_READ",
    "CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ",
    "CUSTOMERS_BUSINESS_ADITTIONALINFO_READ",
    "FINANCINGS_READ",
    "FINANCINGS_SCHEDULED_INSTALMENTS_READ",
    "FINANCINGS_PAYMENTS_READ",
    "FINANCINGS_WARRANTIES_READ",
    "INVOICE_FINANCINGS_READ",
    "INVOICE_FINANCINGS_SCHEDULED_INSTALMENTS_READ",
    "INVOICE_FINANCINGS_PAYMENTS_READ",
    "INVOICE_FINANCINGS_WARRANTIES_READ",
    "LOANS_READ",
    "LOANS_SCHEDULED_INSTALMENTS_READ",
    "LOANS_PAYMENTS_READ",
    "LOANS_WARRANTIES_READ",
    "UNARRANGED_ACCOUNTS_OVERDRAFT_READ",
    "UNARRANGED_ACCOUNTS_OVERDRAFT_SCHEDULED_INSTALMENTS_READ",
    "UNARRANGED_ACCOUNTS_OVERDRAFT_PAYMENTS_READ",
    "UNARRANGED_ACCOUNTS_OVERDRAFT_WARRANTIES_READ",
    "BANK_FIXED_INCOMES_READ",
    "CREDIT_FIXED_INCOMES_READ",
    "FUNDS_READ",
    "VARIABLE_INCOMES_READ",
    "TREASURE_TITLES_READ",
    "EXCHANGES_READ",
    "RESOURCES_READ",
];

/// For optional fields: absent is `None`, but `null` is not a value the
/// contract allows for any of them, so it is refused like any wrong type.
pub(super) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

fn invalid(field: &str, rule: &str) -> ApiError {
    ApiError::invalid_field(format!("{field}: {rule}"))
}

pub fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_upper_letters(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_uppercase())
}

fn check_max_chars(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(invalid(
            field,
            &format!("must have at most {max} characters"),
        ));
    }
    Ok(())
}

/// `brandId`: 1 to 50 characters. The brand is looked up in PostgreSQL, whose
/// text cannot hold U+0000: a brand id with one is malformed, not unknown (as
/// a query parameter it would fail the query, a 500).
pub fn check_brand_id(field: &str, brand_id: &str) -> Result<(), ApiError> {
    if brand_id.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if brand_id.contains('\0') {
        return Err(invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    check_max_chars(field, brand_id, 50)
}

/// The consent's UTC timestamps: `YYYY-MM-DDTHH:MM:SSZ`, at most 20 characters.
fn check_utc_timestamp(field: &str, text: &str) -> Result<(), ApiError> {
    let valid = text.len() <= 20
        && text.ends_with('Z')
        && NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").is_ok();
    if valid {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be a UTC date-time like 2021-05-21T08:30:00Z",
        ))
    }
}

/// `^(localID:)?<uuid>$`, the contract's correlation id.
pub fn is_correlation_id(text: &str) -> bool {
    let uuid = text.strip_prefix("localID:").unwrap_or(text);
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn check_legacy_id(field: &str, id: &LegacyId) -> Result<(), ApiError> {
    id.validate().map_err(|rule| invalid(field, &rule))
}

impl RequestMeta {
    fn validate(&self) -> Result<(), ApiError> {
        if !is_correlation_id(&self.correlation_id) {
            return Err(invalid(
                "requestMeta.correlationId",
                "must be a UUID, optionally prefixed by localID:",
            ));
        }
        check_brand_id("requestMeta.brandId", &self.brand_id)
    }
}

impl Consent {
    fn validate(&self) -> Result<(), ApiError> {
        check_brand_id("consent.brandId", &self.brand_id)?;
        check_utc_timestamp("consent.creationDateTime", &self.creation_date_time)?;
        if let Some(expiration) = &self.expiration_date_time {
            check_utc_timestamp("consent.expirationDateTime", expiration)?;
        }
        check_max_chars("consent.tpp.name", &self.tpp.name, 100)?;
        check_max_chars("consent.externalId", &self.external_id, 100)?;
        let user = &self.logged_user.document;
        if !is_digits(&user.identification, 11) {
            return Err(invalid(
                "consent.loggedUser.document.identification",
                "must be a CPF of 11 digits",
            ));
        }
        if !is_upper_letters(&user.rel, 3) {
            return Err(invalid(
                "consent.loggedUser.document.rel",
                "must be 3 capital letters, e.g. CPF",
            ));
        }
        if let Some(business) = &self.business_document_type {
            if !is_digits(&business.document.identification, 14) {
                return Err(invalid(
                    "consent.businessDocumentType.document.identification",
                    "must be a CNPJ of 14 digits",
                ));
            }
            if !is_upper_letters(&business.document.rel, 4) {
                return Err(invalid(
                    "consent.businessDocumentType.document.rel",
                    "must be 4 capital letters, e.g. CNPJ",
                ));
            }
        }
        if let Some(resources) = &self.resources {
            if resources.len() > 1000 {
                return Err(invalid("consent.resources", "must have at most 1000 items"));
            }
            for (i, resource) in resources.iter().enumerate() {
                if !RESOURCE_TYPES.contains(&resource.resource_type.as_str()) {
                    return Err(invalid(
                        &format!("consent.resources[{i}].type"),
                        "is not a resource type of the contract",
                    ));
                }
                check_legacy_id(
                    &format!("consent.resources[{i}].resourceLegacyId"),
                    &resource.resource_legacy_id,
                )?;
                if let Some(authorizers) = &resource.authorizers {
                    if authorizers.is_empty() {
                        return Err(invalid(
                            &format!("consent.resources[{i}].authorizers"),
                            "must not be empty",
                        ));
                    }
                    if let Some(j) = authorizers.iter().position(|a| !is_digits(&a.cpf, 11)) {
                        return Err(invalid(
                            &format!("consent.resources[{i}].authorizers[{j}].cpf"),
                            "must be a CPF of 11 digits",
                        ));
                    }
                }
            }
        }
        if !(1..=30).contains(&self.permissions.len()) {
            return Err(invalid("consent.permissions", "must have 1 to 30 items"));
        }
        if let Some(i) = self
            .permissions
            .iter()
            .position(|p| !PERMISSIONS.contains(&p.as_str()))
        {
            return Err(invalid(
                &format!("consent.permissions[{i}]"),
                "is not a permission of the contract",
            ));
        }
        Ok(())
    }
}

/// Validates the consent and request meta, and derives what they reach.
pub fn scope(consent: &Consent, meta: &RequestMeta) -> Result<Scope, ApiError> {
    meta.validate()?;
    consent.validate()?;
    let resources = consent
        .resources
        .iter()
        .flatten()
        .map(|r| {
            (
                r.resource_type.as_str(),
                r.resource_legacy_id.canonical_key(),
            )
        })
        .collect();
    Ok(Scope::new(ConsentFacts {
        request_brand_id: &meta.brand_id,
        consent_brand_id: &consent.brand_id,
        logged_user_cpf: &consent.logged_user.document.identification,
        business_cnpj: consent
            .business_document_type
            .as_ref()
            .map(|b| b.document.identification.as_str()),
        permissions: &consent.permissions,
        resources,
    })?)
}

/// The requested account's canonical key, after the contract's size checks.
pub fn account_key(account_id: &LegacyId) -> Result<String, ApiError> {
    check_legacy_id("accountId", account_id)?;
    Ok(account_id.canonical_key())
}

pub fn page_request(page: Option<i64>, size: Option<i64>) -> Result<PageRequest, ApiError> {
    PageRequest::new(page, size).map_err(|error| match error {
        crate::domain::paging::PageError::Page => {
            invalid("page", "must be an integer from 1 to 2147483647")
        }
        crate::domain::paging::PageError::PageSize => {
            invalid("pageSize", "must be an integer from 1 to 1000")
        }
    })
}

pub fn check_pagination_key(key: Option<&str>) -> Result<(), ApiError> {
    key.map_or(Ok(()), |key| check_max_chars("pagination-key", key, 2048))
}

/// A booking date: `YYYY-MM-DD`.
pub fn booking_date(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|text| {
        if text.len() != 10 {
            return Err(invalid(field, "must be a date like 2021-05-21"));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| invalid(field, "must be a valid date like 2021-05-21"))
    })
    .transpose()
}

impl CurrentTransactionsRequest {
    /// The bounds under either revision's names; the same bound sent under
    /// both names must agree.
    pub fn bounds(&self) -> Result<(Option<&str>, Option<&str>), ApiError> {
        fn either<'a>(
            old: &'a Option<String>,
            new: &'a Option<String>,
            names: &str,
        ) -> Result<Option<&'a str>, ApiError> {
            match (old.as_deref(), new.as_deref()) {
                (Some(a), Some(b)) if a != b => {
                    Err(invalid(names, "were both sent with different dates"))
                }
                (a, b) => Ok(a.or(b)),
            }
        }
        Ok((
            either(
                &self.from_booking_date_max_limited,
                &self.from_booking_date,
                "fromBookingDateMaxLimited and fromBookingDate",
            )?,
            either(
                &self.to_booking_date_max_limited,
                &self.to_booking_date,
                "toBookingDateMaxLimited and toBookingDate",
            )?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids() {
        assert!(is_correlation_id("97623ed1-4732-4bf2-8d4b-ae7aced5443b"));
        assert!(is_correlation_id(
            "localID:97623ED1-4732-4bf2-8d4b-ae7aced5443b"
        ));
        assert!(!is_correlation_id("97623ed1-4732-4bf2-8d4b-ae7aced5443"));
        assert!(!is_correlation_id(
            "localid:97623ed1-4732-4bf2-8d4b-ae7aced5443b"
        ));
        assert!(!is_correlation_id("97623ed147324bf28d4bae7aced5443b"));
        assert!(!is_correlation_id("g7623ed1-4732-4bf2-8d4b-ae7aced5443b"));
    }

    #[test]
    fn brand_ids() {
        assert!(check_brand_id("b", "cbanco").is_ok());
        assert!(check_brand_id("b", &"ç".repeat(50)).is_ok());
        assert!(check_brand_id("b", &"ç".repeat(51)).is_err());
        assert!(check_brand_id("b", "").is_err());
        let nul = check_brand_id("b", "cbanco\0").unwrap_err();
        assert_eq!(nul.detail, "b: must not contain the NUL character (U+0000)");
    }

    #[test]
    fn utc_timestamps() {
        assert!(check_utc_timestamp("f", "2021-05-21T08:30:00Z").is_ok());
        assert!(check_utc_timestamp("f", "2021-05-21T08:30:00").is_err());
        assert!(check_utc_timestamp("f", "2021-05-21T08:30:00.000Z").is_err());
        assert!(check_utc_timestamp("f", "2021-02-30T08:30:00Z").is_err());
    }

    #[test]
    fn booking_dates() {
        assert_eq!(
            booking_date("d", Some("2021-05-21")).unwrap(),
            NaiveDate::from_ymd_opt(2021, 5, 21)
        );
        assert!(booking_date("d", None).unwrap().is_none());
        for bad in [
            "2021-5-21",
            "2021-02-30",
            "21-05-2021",
            "2021-05-21T00:00:00Z",
            "",
        ] {
            assert!(booking_date("d", Some(bad)).is_err(), "{bad}");
        }
    }
}
