//! The routes: every operation with its handler and the `meta` of its
//! error schema, written once; and the layers every request passes
//! (Accept, body size, panics, the error envelope, telemetry, draining).

use super::envelope::{ErrorMeta, ErrorMetas, envelope};
use super::error::ApiError;
use super::limits::RequestLimits;
use super::negotiation::require_acceptable;
use super::server::Lifecycle;
use super::state::AppState;
use super::{accounts, auth, commons, docs, extract, health, telemetry};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;

/// The API's operations: path, handler, and the `meta` its error schema
/// carries (`ResponseError` of the Accounts API: a counted `Meta`;
/// `ResponseErrorMetaSingle`: `requestDateTime` only; the commons
/// `ResponseError`: none).
fn operations() -> [(&'static str, MethodRouter<AppState>, ErrorMeta); 8] {
    use ErrorMeta::{Counted, None, RequestDateTime};
    [
        // Discovery's error schema is MetaSingle in revision 2.4.1 and the
        // counted one in 3.0.0; the counted meta satisfies both.
        ("/account-discovery", post(accounts::discover), Counted),
        ("/accounts", post(accounts::list), Counted),
        ("/find", post(accounts::find), Counted),
        ("/balances", post(accounts::balances), Counted),
        (
            "/transactions",
            post(accounts::transactions),
            RequestDateTime,
        ),
        (
            "/transactions-current",
            post(accounts::current_transactions),
            RequestDateTime,
        ),
        (
            "/overdraft-limits",
            post(accounts::overdraft_limits),
            Counted,
        ),
        (
            "/check-account-holder",
            post(commons::check_account_holder),
            None,
        ),
    ]
}

/// The service with the default [`RequestLimits`].
pub fn router(state: AppState) -> Router {
    router_with_limits(state, RequestLimits::default())
}

pub fn router_with_limits(state: AppState, limits: RequestLimits) -> Router {
    let metrics = state.metrics.clone();
    let lifecycle = state.lifecycle.clone();
    let mut api = Router::new();
    let mut error_metas = ErrorMetas::default();
    for (path, handler, meta) in operations() {
        api = api.route(path, handler);
        error_metas.insert(path, meta);
    }
    api = api.layer(middleware::from_fn(require_acceptable));
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
        .layer(middleware::from_fn_with_state(
            Arc::new(error_metas),
            envelope,
        ))
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
