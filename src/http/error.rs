//! The one error type of the service and the contract's error body.
//!
//! Handlers return `Result<_, ApiError>` and use `?`. An `ApiError` becomes a
//! response carrying [`ErrorBody`]; the [`super::envelope`] middleware then
//! writes the body in the shape of the operation that was called (its `meta`
//! differs between operations), so every non-2xx answer, including 404, 405
//! and rejected bodies, has the contract's shape.

use crate::domain::consent::ScopeError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: Cow<'static, str>,
}

/// What an error response carries until the envelope middleware renders it.
#[derive(Debug, Clone)]
pub struct ErrorBody(pub ApiError);

/// The code of a rendered error answer, kept on the response for the
/// request's log line (the detail is not logged: it may quote the body).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl ApiError {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
        }
    }

    /// A body or field that breaks the contract's schema.
    pub fn invalid_field(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            "Invalid parameter",
            detail,
        )
    }

    pub fn malformed_body(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MALFORMED_BODY",
            "Malformed request body",
            detail,
        )
    }

    pub fn missing_header(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MISSING_HEADER",
            "Missing header",
            detail,
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Unsupported media type",
            "the request body must be sent as Content-Type: application/json",
        )
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "Request body too large",
            format!("the request body may not exceed {limit} bytes"),
        )
    }

    /// No valid credentials; the caller adds the `WWW-Authenticate` challenge.
    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Unauthorized",
            detail,
        )
    }

    pub fn forbidden(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, "Forbidden", detail)
    }

    pub fn resource_not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "Resource not found",
            detail,
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Not found",
            "no operation is served at this path",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "Method not allowed",
            "this operation is served only with POST",
        )
    }

    pub fn not_acceptable() -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "Not acceptable",
            "responses are application/json; the Accept header must allow it",
        )
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            "Unprocessable entity",
            detail,
        )
    }

    pub fn page_not_found(page: u32) -> Self {
        Self::unprocessable(
            "PAGE_NOT_FOUND",
            format!("page {page} is past the last page"),
        )
    }

    /// An unexpected failure: the cause goes to the log, never to the caller.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Internal server error",
            "the request could not be completed; it may be retried",
        )
    }

    pub fn database_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "Service unavailable",
            "the account store is not reachable right now; retry later",
        )
    }

    /// The request's deadline passed (the contract's 504).
    /// The body did not arrive within `timeout` of the headers.
    pub fn request_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            "Request timeout",
            format!("the request body did not arrive within {timeout:?}"),
        )
    }

    pub fn gateway_timeout() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "GATEWAY_TIMEOUT",
            "Gateway timeout",
            "the request did not complete within the allowed time; it may be retried",
        )
    }

    /// Refused at once because as many requests as allowed are in progress
    /// (the contract's 529).
    pub fn overloaded() -> Self {
        Self::new(
            SITE_IS_OVERLOADED,
            "SITE_IS_OVERLOADED",
            "Site is overloaded",
            "too many requests are in progress; retry shortly",
        )
    }
}

/// 529, which the contract declares for every operation; `http` has no name for it.
const SITE_IS_OVERLOADED: StatusCode = match StatusCode::from_u16(529) {
    Ok(status) => status,
    Err(_) => panic!("529 is a valid status code"),
};

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => {
                tracing::error!(%error, "database unavailable");
                Self::database_unavailable()
            }
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // query_canceled: the statement outran `statement_timeout`,
                // which is the request's deadline.
                Some("57014") => {
                    tracing::warn!(%error, "statement timed out");
                    Self::gateway_timeout()
                }
                // Connection exceptions (class 08) and the server shutting
                // down or starting up (57P01..57P03): an outage, not a bug.
                Some(code) if code.starts_with("08") || code.starts_with("57P") => {
                    tracing::error!(%error, "database unavailable");
                    Self::database_unavailable()
                }
                _ => Self::internal(&error),
            },
            _ => Self::internal(&error),
        }
    }
}

impl From<ScopeError> for ApiError {
    fn from(error: ScopeError) -> Self {
        match error {
            ScopeError::BrandMismatch => Self::forbidden(
                "BRAND_MISMATCH",
                "consent.brandId does not match requestMeta.brandId",
            ),
            ScopeError::MissingPermission(permission) => Self::forbidden(
                "PERMISSION_NOT_GRANTED",
                format!("the consent does not grant {permission}"),
            ),
            ScopeError::NotConsented => Self::forbidden(
                "RESOURCE_NOT_CONSENTED",
                "the account is not among the consent's ACCOUNT resources",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorBody(self));
        response
    }
}
