//! Content negotiation: every operation answers JSON, so a client that
//! accepts no JSON gets 406 before any work is done.

use super::error::ApiError;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::ACCEPT;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// 406 unless the client accepts JSON (no Accept header accepts anything).
pub(super) async fn require_acceptable(request: Request, next: Next) -> Response {
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
