//! What every handler shares.

use super::auth::ApiToken;
use super::server::Lifecycle;
use crate::db::QueryPool;
use crate::metrics::Metrics;
use crate::repo::Repository;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What handlers share: the store, the clock that says what "today" is,
/// the metrics, whether the service is shutting down, and the token API
/// calls must carry, if one is configured.
#[derive(Clone)]
pub struct AppState {
    pub repo: Repository,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Lifecycle,
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    pub(super) api_token: Option<ApiToken>,
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
    pub fn with_api_token(self, token: ApiToken) -> Self {
        Self {
            api_token: Some(token),
            ..self
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}
