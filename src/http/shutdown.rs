//! Serving until SIGTERM or SIGINT, then shutting down within a bound: stop
//! accepting connections, let the requests in progress finish, close the
//! database pool, and give up on stragglers when the grace period ends.

use super::limits::RequestLimits;
use super::{AppState, router_with_limits};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(
        "requests were still in progress when the shutdown grace period of {0:?} ended; \
         they were abandoned"
    )]
    GraceExpired(Duration),
}

/// Serves `state` on `listener` (plain TCP or a [`super::tls::TlsListener`])
/// until a shutdown signal. `Ok` means every request in progress at the
/// signal was answered and the pool was closed.
pub async fn serve<L>(
    listener: L,
    state: AppState,
    limits: RequestLimits,
    grace: Duration,
) -> Result<(), ServeError>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let repo = state.repo.clone();
    let app = router_with_limits(state, limits);
    let signalled = Arc::new(Notify::new());
    let server = axum::serve(listener, app).with_graceful_shutdown({
        let signalled = signalled.clone();
        async move {
            shutdown_signal().await;
            tracing::info!(
                ?grace,
                "shutting down: refusing new connections, draining requests"
            );
            signalled.notify_one();
        }
    });
    let drained = async {
        server.await?;
        repo.close_pool();
        tracing::info!("every request answered; database pool closed");
        Ok(())
    };
    let grace_over = async {
        signalled.notified().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = drained => result,
        () = grace_over => Err(ServeError::GraceExpired(grace)),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
}
