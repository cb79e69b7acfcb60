//! Bounds on the API operations: a request's body must arrive within the
//! body timeout (408 past it) before the request takes a place, each request
//! has a deadline (504 past it), and only so many run at once (529 beyond
//! that, at once, never queued).
//!
//! The body is read first, outside the concurrency limit: otherwise a client
//! trickling its body holds a place for the whole deadline, and a hundred of
//! them refuse everyone else.
//!
//! Health probes and the documentation are outside these limits: an
//! orchestrator must see a saturated process as alive, and readiness has its
//! own bound in the pool's acquire timeout.

use super::error::ApiError;
use super::extract::MAX_BODY_BYTES;
use crate::metrics::Metrics;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Longest a request's body may take to arrive, from its headers.
    pub body_timeout: Duration,
    /// Longest a request may run once its body is in.
    pub timeout: Duration,
    /// Requests served at once; one more is refused with 529.
    pub max_in_flight: usize,
}

impl Default for RequestLimits {
    /// The service's defaults (see `contas serve --help`).
    fn default() -> Self {
        Self {
            body_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_in_flight: 64,
        }
    }
}

impl RequestLimits {
    /// Wraps every route of `api` in the deadline, then in the shedding of
    /// requests beyond `max_in_flight`, then in reading the body (outermost:
    /// a slow body holds no place, and a refused request costs nothing).
    pub fn apply<S: Clone + Send + Sync + 'static>(
        self,
        api: Router<S>,
        metrics: Arc<Metrics>,
    ) -> Router<S> {
        let in_flight = Arc::new(Semaphore::new(self.max_in_flight));
        api.layer(middleware::from_fn_with_state(
            self.timeout,
            enforce_deadline,
        ))
        .layer(middleware::from_fn_with_state(
            (in_flight, metrics.clone()),
            shed_beyond_limit,
        ))
        .layer(middleware::from_fn_with_state(
            (self.body_timeout, metrics),
            read_body_first,
        ))
    }
}

/// Buffers the body within the body timeout (and the size limit), so that
/// what runs next never waits on the client.
async fn read_body_first(
    State((timeout, metrics)): State<(Duration, Arc<Metrics>)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let reading = Limited::new(body, MAX_BODY_BYTES).collect();
    match tokio::time::timeout(timeout, reading).await {
        Ok(Ok(collected)) => {
            next.run(Request::from_parts(parts, Body::from(collected.to_bytes())))
                .await
        }
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            ApiError::body_too_large(MAX_BODY_BYTES).into_response()
        }
        Ok(Err(error)) => {
            ApiError::malformed_body(format!("the request body could not be read: {error}"))
                .into_response()
        }
        Err(_) => {
            metrics.edge.body_timed_out();
            tracing::warn!(
                path = parts.uri.path(),
                ?timeout,
                "request body not received in time"
            );
            // The rest of the body may still come: the connection cannot be
            // reused.
            (
                [(CONNECTION, HeaderValue::from_static("close"))],
                ApiError::request_timeout(timeout),
            )
                .into_response()
        }
    }
}

async fn shed_beyond_limit(
    State((in_flight, metrics)): State<(Arc<Semaphore>, Arc<Metrics>)>,
    request: Request,
    next: Next,
) -> Response {
    // try_acquire, not acquire: waiting here would be the unbounded queue
    // that turns overload into timeouts for everyone.
    let Ok(_permit) = in_flight.try_acquire_owned() else {
        metrics.edge.request_shed();
        tracing::warn!(path = request.uri().path(), "overloaded: request refused");
        return ApiError::overloaded().into_response();
    };
    next.run(request).await
}

async fn enforce_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path, ?timeout, "deadline passed: request abandoned");
            ApiError::gateway_timeout().into_response()
        }
    }
}
