//! Request bodies of the contract, and the checks serde cannot express
//! (patterns, lengths, item counts). Every failure names the field.

use super::correlation::is_correlation_id;
use super::error::ApiError;
use crate::domain::consent::{ConsentFacts, Scope};
use crate::domain::identity::{BrandId, Cnpj, Cpf};
use crate::domain::legacy_id::LegacyId;
use crate::domain::paging::PageRequest;
use crate::domain::vocabulary::{AccountType, CreditDebit, Permission, ResourceType};
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
    pub brand_id: BrandId,
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
    pub permissions: Vec<Permission>,
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
    pub document: PersonDocument,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessDocument {
    pub document: CompanyDocument,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonDocument {
    pub identification: Cpf,
    pub rel: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyDocument {
    pub identification: Cnpj,
    pub rel: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource {
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
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
    pub cpf: Cpf,
    #[allow(dead_code)]
    pub name: String,
}

/// `RequestMeta`: unknown fields forbidden.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestMeta {
    #[serde(deserialize_with = "super::correlation::correlation_id_from_body")]
    pub correlation_id: String,
    pub brand_id: BrandId,
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
        Ok(())
    }
}

impl Consent {
    fn validate(&self) -> Result<(), ApiError> {
        check_utc_timestamp("consent.creationDateTime", &self.creation_date_time)?;
        if let Some(expiration) = &self.expiration_date_time {
            check_utc_timestamp("consent.expirationDateTime", expiration)?;
        }
        check_max_chars("consent.tpp.name", &self.tpp.name, 100)?;
        check_max_chars("consent.externalId", &self.external_id, 100)?;
        if !is_upper_letters(&self.logged_user.document.rel, 3) {
            return Err(invalid(
                "consent.loggedUser.document.rel",
                "must be 3 capital letters, e.g. CPF",
            ));
        }
        if let Some(business) = &self.business_document_type
            && !is_upper_letters(&business.document.rel, 4)
        {
            return Err(invalid(
                "consent.businessDocumentType.document.rel",
                "must be 4 capital letters, e.g. CNPJ",
            ));
        }
        if let Some(resources) = &self.resources {
            if resources.len() > 1000 {
                return Err(invalid("consent.resources", "must have at most 1000 items"));
            }
            for (i, resource) in resources.iter().enumerate() {
                check_legacy_id(
                    &format!("consent.resources[{i}].resourceLegacyId"),
                    &resource.resource_legacy_id,
                )?;
                if resource.authorizers.as_ref().is_some_and(Vec::is_empty) {
                    return Err(invalid(
                        &format!("consent.resources[{i}].authorizers"),
                        "must not be empty",
                    ));
                }
            }
        }
        if !(1..=30).contains(&self.permissions.len()) {
            return Err(invalid("consent.permissions", "must have 1 to 30 items"));
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
        .map(|r| (r.resource_type, r.resource_legacy_id.canonical_key()))
        .collect();
    Ok(Scope::new(ConsentFacts {
        request_brand_id: &meta.brand_id,
        consent_brand_id: &consent.brand_id,
        logged_user_cpf: &consent.logged_user.document.identification,
        business_cnpj: consent
            .business_document_type
            .as_ref()
            .map(|b| &b.document.identification),
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

/// What a statement request asks for, each field checked and typed; the
/// window itself is checked against today by `domain::window`.
pub struct StatementAsk {
    pub page: PageRequest,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub credit_debit: Option<CreditDebit>,
}

/// The checks both statement requests share, with their fields' names.
fn statement_ask(
    page: Option<i64>,
    page_size: Option<i64>,
    pagination_key: Option<&str>,
    (from_field, from): (&str, Option<&str>),
    (to_field, to): (&str, Option<&str>),
    credit_debit: Option<CreditDebit>,
) -> Result<StatementAsk, ApiError> {
    let page = page_request(page, page_size)?;
    check_pagination_key(pagination_key)?;
    Ok(StatementAsk {
        page,
        from: booking_date(from_field, from)?,
        to: booking_date(to_field, to)?,
        credit_debit,
    })
}

/// What the two statement operations' bodies have in common.
pub trait StatementRequest {
    /// The consent, request meta and account, which scope the request.
    fn scope_parts(&self) -> (&Consent, &RequestMeta, &LegacyId);
    /// The page, window and filter asked for, checked.
    fn ask(&self) -> Result<StatementAsk, ApiError>;
}

impl StatementRequest for TransactionsRequest {
    fn scope_parts(&self) -> (&Consent, &RequestMeta, &LegacyId) {
        (&self.consent, &self.request_meta, &self.account_id)
    }

    fn ask(&self) -> Result<StatementAsk, ApiError> {
        statement_ask(
            self.page,
            self.page_size,
            self.pagination_key.as_deref(),
            ("fromBookingDate", self.from_booking_date.as_deref()),
            ("toBookingDate", self.to_booking_date.as_deref()),
            self.credit_debit_indicator,
        )
    }
}

impl StatementRequest for CurrentTransactionsRequest {
    fn scope_parts(&self) -> (&Consent, &RequestMeta, &LegacyId) {
        (&self.consent, &self.request_meta, &self.account_id)
    }

    fn ask(&self) -> Result<StatementAsk, ApiError> {
        let (from, to) = self.bounds()?;
        statement_ask(
            self.page,
            self.page_size,
            self.pagination_key.as_deref(),
            ("fromBookingDateMaxLimited", from),
            ("toBookingDateMaxLimited", to),
            self.credit_debit_indicator,
        )
    }
}

impl CurrentTransactionsRequest {
    /// The bounds under either revision's names; the same bound sent under
    /// both names must agree.
    fn bounds(&self) -> Result<(Option<&str>, Option<&str>), ApiError> {
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
