//! Bounds on the API operations: each request has a deadline (504 past it),
//! and only so many run at once (529 beyond that, at once, never queued).
//!
//! Health probes and the documentation are outside these limits: an
//! orchestrator must see a saturated process as alive, and readiness has its
//! own bound in the pool's acquire timeout.

use super::error::ApiError;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Longest a request may run, body reading included.
    pub timeout: Duration,
    /// Requests served at once; one more is refused with 529.
    pub max_in_flight: usize,
}

impl Default for RequestLimits {
    /// The service's defaults (see `contas serve --help`).
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_in_flight: 64,
        }
    }
}

impl RequestLimits {
    /// Wraps every route of `api` in the deadline, then in the shedding of
    /// requests beyond `max_in_flight` (outermost, so a refused request costs
    /// nothing).
    pub fn apply<S: Clone + Send + Sync + 'static>(self, api: Router<S>) -> Router<S> {
        let in_flight = Arc::new(Semaphore::new(self.max_in_flight));
        api.layer(middleware::from_fn_with_state(
            self.timeout,
            enforce_deadline,
        ))
        .layer(middleware::from_fn_with_state(in_flight, shed_beyond_limit))
    }
}

async fn shed_beyond_limit(
    State(in_flight): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    // try_acquire, not acquire: waiting here would be the unbounded queue
    // that turns overload into timeouts for everyone.
    let Ok(_permit) = in_flight.try_acquire_owned() else {
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
