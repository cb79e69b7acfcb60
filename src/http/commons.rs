//! The common account-holder check (`/check-account-holder`), in both of
//! the commons contract's revisions: 1.0.0 sends `{"data": …}` with the brand
//! and correlation id in headers; 4.0.0-rc.3 sends
//! `{"requestBody": {"data": …}, "requestMeta": …}` and no headers.

use super::AppState;
use super::error::ApiError;
use super::extract::{ContractJson, parse_value};
use super::requests::RequestMeta;
use super::responses::{CheckAccountHolderData, CheckAccountHolderResponse};
use crate::domain::identity::{BrandId, Cnpj, Cpf, Document};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HolderQuery {
    logged_user_document: Cpf,
    #[serde(default, deserialize_with = "super::requests::present")]
    business_entity_document: Option<Cnpj>,
}

#[derive(Debug, Deserialize)]
struct Revision1Body {
    data: HolderQuery,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Revision4Body {
    request_body: Revision1Body,
    request_meta: RequestMeta,
}

pub const BRAND_HEADER: &str = "x-brand-id";
pub const CORRELATION_HEADER: &str = "x-correlation-id";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ApiError::invalid_field(format!("{name}: must be visible ASCII")))
        })
        .transpose()
}

fn is_uuid(text: &str) -> bool {
    !text.starts_with("localID:") && super::correlation::is_correlation_id(text)
}

pub async fn check_account_holder(
    State(state): State<AppState>,
    headers: HeaderMap,
    ContractJson(body): ContractJson<serde_json::Value>,
) -> Result<Json<CheckAccountHolderResponse>, ApiError> {
    let brand_header = header(&headers, BRAND_HEADER)?;
    let correlation_header = header(&headers, CORRELATION_HEADER)?;
    if correlation_header.is_some_and(|correlation| !is_uuid(correlation)) {
        return Err(ApiError::invalid_field(format!(
            "{CORRELATION_HEADER}: must be a UUID"
        )));
    }
    let is_revision_4 = body.get("requestBody").is_some();
    let (query, brand_id) = if is_revision_4 {
        let body: Revision4Body = parse_value(body)?;
        if !super::correlation::is_correlation_id(&body.request_meta.correlation_id) {
            return Err(ApiError::invalid_field(
                "requestMeta.correlationId: must be a UUID, optionally prefixed by localID:",
            ));
        }
        if brand_header.is_some_and(|brand| brand != body.request_meta.brand_id.as_str()) {
            return Err(ApiError::invalid_field(format!(
                "{BRAND_HEADER}: differs from requestMeta.brandId"
            )));
        }
        (body.request_body.data, body.request_meta.brand_id)
    } else {
        let body: Revision1Body = parse_value(body)?;
        let brand = brand_header
            .ok_or_else(|| ApiError::missing_header(format!("{BRAND_HEADER} is required")))?;
        let brand = BrandId::parse(brand)
            .map_err(|rule| ApiError::invalid_field(format!("{BRAND_HEADER}: {rule}")))?;
        if correlation_header.is_none() {
            return Err(ApiError::missing_header(format!(
                "{CORRELATION_HEADER} is required"
            )));
        }
        (body.data, brand)
    };
    // A company's accounts are the company's, not its representative's.
    let document: Document = match query.business_entity_document {
        Some(cnpj) => cnpj.into(),
        None => query.logged_user_document.into(),
    };
    let is_account_holder = state.repo.is_account_holder(&brand_id, &document).await?;
    Ok(Json(CheckAccountHolderResponse {
        data: CheckAccountHolderData { is_account_holder },
    }))
}
