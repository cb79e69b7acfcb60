//! What every request leaves behind: a span carrying its operation and
//! correlation id (so each line it causes carries them too; see
//! [`super::correlation`]), one completion line, and its count and latency
//! in [`Metrics`]; and `/metrics`. The body is parsed before any line is
//! written, so a request's lines agree.

use super::AppState;
use super::commons::CORRELATION_HEADER;
use super::correlation::{GeneratedId, sanitize_correlation_id};
use super::error::{ApiError, ErrorCode};
use crate::metrics::{Metrics, UNMATCHED};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{Instrument, Span, field};

/// The span, count and completion line of a request (outermost layer, so
/// its latency covers the whole answer, errors and panics included).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = metrics.in_flight();
    // ERROR, the highest level: the span is kept whatever RUST_LOG lets
    // through, so every line a request causes carries its fields.
    let span = tracing::error_span!(
        "request",
        operation = field::Empty,
        correlation_id = field::Empty
    );
    match request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(id) => span.record("correlation_id", sanitize_correlation_id(id).as_ref()),
        None => span.record("correlation_id", field::display(GeneratedId::next())),
    };
    let method = request.method().clone();
    let mut unanswered = Unanswered {
        span: &span,
        method: &method,
        started,
        answered: false,
    };
    let response = next.run(request).instrument(span.clone()).await;
    unanswered.answered = true;

    let operation = match response.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str(),
        None => {
            span.record("operation", UNMATCHED);
            UNMATCHED
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics.observe(operation, status, elapsed);
    let latency_ms = (elapsed.as_micros() as f64) / 1000.0;
    let error_code = response.extensions().get::<ErrorCode>().map(|code| code.0);
    let method = method.as_str();
    if status >= 500 {
        tracing::warn!(parent: &span, method, status, latency_ms, error_code, "request completed");
    } else {
        tracing::info!(parent: &span, method, status, latency_ms, error_code, "request completed");
    }
    response
}

/// Status logged and counted for a request whose client went away before
/// the answer (hyper then drops the request's future): nginx's "client
/// closed request".
pub const CANCELLED_STATUS: u16 = 499;

/// Logs the request's line if it is dropped unanswered.
struct Unanswered<'a> {
    span: &'a Span,
    method: &'a axum::http::Method,
    started: Instant,
    answered: bool,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if !self.answered {
            let latency_ms = (self.started.elapsed().as_micros() as f64) / 1000.0;
            let method = self.method.as_str();
            tracing::warn!(
                parent: self.span,
                method,
                status = CANCELLED_STATUS,
                latency_ms,
                "request cancelled by the client"
            );
        }
    }
}

/// Names the request's operation after the route that matched it (a route
/// layer: only routing knows the match). The path travels back to
/// [`track`] on the response; a request cancelled before its answer is
/// counted here, where its operation is known.
pub async fn record_operation(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(matched) = request.extensions().get::<MatchedPath>().cloned() else {
        return next.run(request).await;
    };
    Span::current().record("operation", matched.as_str());
    let mut uncounted = Uncounted {
        metrics: &metrics,
        operation: &matched,
        started: Instant::now(),
        answered: false,
    };
    let mut response = next.run(request).await;
    uncounted.answered = true;
    drop(uncounted);
    response.extensions_mut().insert(matched);
    response
}

/// Counts the request as cancelled if it is dropped unanswered.
struct Uncounted<'a> {
    metrics: &'a Metrics,
    operation: &'a MatchedPath,
    started: Instant,
    answered: bool,
}

impl Drop for Uncounted<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.metrics.observe(
                self.operation.as_str(),
                CANCELLED_STATUS,
                self.started.elapsed(),
            );
        }
    }
}

/// 405 for a known path: route layers do not wrap this fallback, so it
/// names the operation itself.
pub async fn method_not_allowed(matched: Option<MatchedPath>) -> Response {
    let mut response = ApiError::method_not_allowed().into_response();
    if let Some(matched) = matched {
        Span::current().record("operation", matched.as_str());
        response.extensions_mut().insert(matched);
    }
    response
}

/// `GET /metrics`: Prometheus text format 0.0.4.
/// How long a scrape waits for the brands' feed times.
const FEED_TIMES_WAIT: Duration = Duration::from_millis(250);

pub async fn metrics(State(state): State<AppState>) -> Response {
    // The feed times come from the store, which a scrape must not queue
    // for: past a short wait (a saturated pool, a store down) the last
    // times read are shown. The pool's state is read after the attempt, so
    // the scrape never counts itself as waiting.
    let feeds = match tokio::time::timeout(FEED_TIMES_WAIT, state.repo.brand_feeds()).await {
        Ok(Ok(feeds)) => Some(feeds),
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not read the brands' feed times");
            None
        }
        Err(_) => None,
    };
    let text = state.metrics.render(&state.repo.pool_status(), feeds);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}
