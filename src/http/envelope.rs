//! The contract's error body: every response an `ApiError` made becomes
//! `{"errors": [...], "meta": ...}`, with the `meta` the operation's error
//! schema asks for.

use super::error::{ErrorBody, ErrorCode};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The `meta` an operation's error schema carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ErrorMeta {
    /// `ResponseError` of the Accounts API: a full `Meta`.
    Counted,
    /// `ResponseErrorMetaSingle`: `requestDateTime` only.
    RequestDateTime,
    /// The commons `ResponseError`: no meta.
    None,
}

/// Each operation's [`ErrorMeta`], by path, as the routes declare it.
/// Other paths (unknown ones, probes) answer errors with
/// `requestDateTime` only.
#[derive(Default)]
pub(super) struct ErrorMetas(HashMap<&'static str, ErrorMeta>);

impl ErrorMetas {
    pub(super) fn insert(&mut self, path: &'static str, meta: ErrorMeta) {
        self.0.insert(path, meta);
    }

    fn of_path(&self, path: &str) -> ErrorMeta {
        self.0
            .get(path)
            .copied()
            .unwrap_or(ErrorMeta::RequestDateTime)
    }
}

/// Limits of the contract's error fields.
const MAX_DETAIL_CHARS: usize = 2048;

/// Writes the contract's error body on every response an `ApiError` made.
pub(super) async fn envelope(
    State(metas): State<Arc<ErrorMetas>>,
    request: Request,
    next: Next,
) -> Response {
    let meta = metas.of_path(request.uri().path());
    let mut response = next.run(request).await;
    let Some(ErrorBody(error)) = response.extensions_mut().remove::<ErrorBody>() else {
        return response;
    };
    let detail: String = error.detail.chars().take(MAX_DETAIL_CHARS).collect();
    let mut body = json!({
        "errors": [{ "code": error.code, "title": error.title, "detail": detail }],
    });
    let request_date_time = crate::domain::time::render_seconds(Utc::now());
    match meta {
        ErrorMeta::Counted => {
            body["meta"] =
                json!({ "totalRecords": 1, "totalPages": 1, "requestDateTime": request_date_time })
        }
        ErrorMeta::RequestDateTime => {
            body["meta"] = json!({ "requestDateTime": request_date_time })
        }
        ErrorMeta::None => {}
    }
    if response.status().is_success() {
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    // The error's own headers (a `WWW-Authenticate` challenge) and what
    // outer layers learn from the response (its route) stay.
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    parts.extensions.insert(ErrorCode(error.code));
    Response::from_parts(parts, body.to_string().into())
}
