//! The HTTP layer: routes, the checks every request passes (Accept, body
//! size, panics), and the error envelope.

pub mod accounts;
pub mod auth;
pub mod commons;
mod connection;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod limits;
pub mod requests;
pub mod responses;
pub mod server;
pub mod telemetry;
pub mod tls;

use crate::db::QueryPool;
use crate::metrics::Metrics;
use crate::repo::Repository;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use error::{ApiError, ErrorBody, ErrorCode};
use limits::RequestLimits;
use serde_json::json;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;

pub use connection::ConnectionTimeouts;
pub use server::{Lifecycle, ServeError, ServerSettings, serve};

/// What handlers share: the store, the clock that says what "today" is,
/// the metrics, whether the service is shutting down, and the token API
/// calls must carry, if one is configured.
#[derive(Clone)]
pub struct AppState {
    pub repo: Repository,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Lifecycle,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    api_token: Option<auth::ApiToken>,
}

impl AppState {
    pub fn new(pool: impl Into<QueryPool>) -> Self {
        Self::with_clock(pool, Utc::now)
    }

    /// A state whose notion of now is `clock` (tests pin the date with it).
    pub fn with_clock(
        pool: impl Into<QueryPool>,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
    ) -> Self {
        Self {
            repo: Repository::new(pool.into()),
            metrics: Arc::default(),
            lifecycle: Lifecycle::default(),
            clock: Arc::new(clock),
            api_token: None,
        }
    }

    /// Every API operation will require `Authorization: Bearer <token>`.
    pub fn with_api_token(self, token: auth::ApiToken) -> Self {
        Self {
            api_token: Some(token),
            ..self
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// The service with the default [`RequestLimits`].
pub fn router(state: AppState) -> Router {
    router_with_limits(state, RequestLimits::default())
}

pub fn router_with_limits(state: AppState, limits: RequestLimits) -> Router {
    let metrics = state.metrics.clone();
    let lifecycle = state.lifecycle.clone();
    let mut api = Router::new()
        .route("/account-discovery", post(accounts::discover))
        .route("/accounts", post(accounts::list))
        .route("/find", post(accounts::find))
        .route("/balances", post(accounts::balances))
        .route("/transactions", post(accounts::transactions))
        .route(
            "/transactions-current",
            post(accounts::current_transactions),
        )
        .route("/overdraft-limits", post(accounts::overdraft_limits))
        .route("/check-account-holder", post(commons::check_account_holder))
        .layer(middleware::from_fn(require_acceptable));
    // Only the operations: probes and the published contract stay open.
    if let Some(token) = state.api_token.clone() {
        api = api.layer(middleware::from_fn_with_state(token, auth::require_token));
    }
    Router::new()
        .merge(limits.apply(api, metrics.clone()))
        .merge(docs::router())
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(telemetry::metrics))
        // Below every route: a route layer wraps only the routes added before it.
        .route_layer(middleware::from_fn_with_state(
            metrics.clone(),
            telemetry::record_operation,
        ))
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(telemetry::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal(&"handler panicked").into_response()
        }))
        .layer(middleware::from_fn(envelope))
        .layer(middleware::from_fn_with_state(metrics, telemetry::track))
        .layer(middleware::from_fn_with_state(
            lifecycle,
            close_when_draining,
        ))
        .with_state(state)
}

/// While the service drains, every response tells its keep-alive client to
/// open a new connection (which the load balancer sends elsewhere). Read
/// after the handler, so requests already in progress are told too.
async fn close_when_draining(
    State(lifecycle): State<Lifecycle>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if lifecycle.is_draining() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// 406 unless the client accepts JSON (no Accept header accepts anything).
async fn require_acceptable(request: Request, next: Next) -> Response {
    match request.headers().get(ACCEPT) {
        Some(accept) if !accepts_json(accept) => ApiError::not_acceptable().into_response(),
        _ => next.run(request).await,
    }
}

fn accepts_json(accept: &HeaderValue) -> bool {
    let Ok(accept) = accept.to_str() else {
        return false;
    };
    accept.split(',').any(|range| {
        let mut params = range.split(';');
        let media = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let refused = params.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// The `meta` an operation's error schema carries.
#[derive(Clone, Copy)]
enum ErrorMeta {
    /// `ResponseError` of the Accounts API: a full `Meta`.
    Counted,
    /// `ResponseErrorMetaSingle`: `requestDateTime` only.
    RequestDateTime,
    /// The commons `ResponseError`: no meta.
    None,
}

impl ErrorMeta {
    fn of_path(path: &str) -> Self {
        match path {
            // Discovery's error schema is MetaSingle in revision 2.4.1 and the
            // counted one in 3.0.0; the counted meta satisfies both.
            "/accounts" | "/find" | "/balances" | "/overdraft-limits" | "/account-discovery" => {
                ErrorMeta::Counted
            }
            "/check-account-holder" => ErrorMeta::None,
            _ => ErrorMeta::RequestDateTime,
        }
    }
}

/// Limits of the contract's error fields.
const MAX_DETAIL_CHARS: usize = 2048;

/// Writes the contract's error body on every response an [`ApiError`] made.
async fn envelope(request: Request, next: Next) -> Response {
    let meta = ErrorMeta::of_path(request.uri().path());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        let ok = |v: &str| accepts_json(&HeaderValue::from_str(v).unwrap());
        assert!(ok("application/json"));
        assert!(ok("*/*"));
        assert!(ok("text/html, application/*;q=0.5"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(!ok("text/html"));
        assert!(!ok("application/xml"));
        assert!(!ok("application/json;q=0"));
    }
}
