//! Liveness and readiness for orchestrators: `/health/live` answers while the
//! process serves; `/health/ready` only while the store answers and carries
//! every migration this binary knows, and not once shutdown has begun.

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // Shutting down: the orchestrator must stop sending clients at once,
    // while requests are still served.
    if state.lifecycle.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": "shutting down"})),
        );
    }
    let expected = crate::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default();
    match state.repo.applied_migration().await {
        Ok(Some(applied)) if applied >= expected => {
            (StatusCode::OK, Json(json!({"status": "ready"})))
        }
        Ok(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": "migrations pending"})),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not ready", "reason": "database unavailable"})),
            )
        }
    }
}
