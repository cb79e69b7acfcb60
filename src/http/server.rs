//! The listener: how many connections are open at once, how many TLS
//! handshakes run at once, TCP keepalive, and shutting down without failing
//! a request.
//!
//! On the shutdown signal the service first *drains*: readiness answers 503
//! (the orchestrator stops sending it new clients), every response carries
//! `Connection: close` (keep-alive clients open a new connection, which a
//! load balancer sends elsewhere), and the listener keeps accepting, for the
//! shutdown delay. Then it *stops*: the listener closes, connections idle
//! since before the delay close, requests in progress finish within the
//! grace period, the database pool closes.
//!
//! Idle keep-alive connections are not closed when draining starts: one
//! closed just as its client writes a request fails that request (HTTP/1.1
//! cannot say "not on this connection"), which is how restarts used to fail
//! requests. During the delay every client that sends anything is told to
//! leave; only connections unused for the whole delay are closed under it.

use super::AppState;
use super::connection::{self, ConnectionTimeouts};
use crate::metrics::Metrics;
use axum::Router;
use futures_util::FutureExt;
use rustls::ServerConfig;
use socket2::{SockRef, TcpKeepalive};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// After this long without traffic the kernel probes a connection, so a
/// peer that vanished (a crashed client, a dropped NAT entry) does not hold
/// a place under the connection cap until the idle timeout.
const TCP_KEEPALIVE_TIME: Duration = Duration::from_secs(30);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const TCP_KEEPALIVE_RETRIES: u32 = 3;

/// How the listener treats connections (see `contas serve --help`).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub timeouts: ConnectionTimeouts,
    /// Connections open at once; at the cap the listener stops accepting
    /// (new clients wait in the kernel's backlog) until one closes.
    pub max_connections: usize,
    /// TLS handshakes in progress at once; at the cap the listener stops
    /// accepting until one finishes.
    pub max_tls_handshakes: usize,
    /// A client that has not finished its TLS handshake by then is dropped.
    pub tls_handshake_timeout: Duration,
    /// After the shutdown signal, how long to keep serving while draining.
    pub shutdown_delay: Duration,
    /// After the delay, how long requests in progress may take.
    pub shutdown_grace: Duration,
}

impl Default for ServerSettings {
    /// The service's defaults on loopback (see `contas serve --help`).
    fn default() -> Self {
        Self {
            timeouts: ConnectionTimeouts {
                header: Duration::from_secs(5),
                idle: Duration::from_secs(75),
            },
            max_connections: 1024,
            max_tls_handshakes: 64,
            tls_handshake_timeout: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Whether the service is draining; the routes read it (readiness,
/// `Connection: close`).
#[derive(Debug, Clone, Default)]
pub struct Lifecycle(Arc<AtomicBool>);

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn start_draining(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Where the server is in its shutdown; connections watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Serving,
    Draining,
    Stopping,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "requests were still in progress when the shutdown grace period of {0:?} ended; \
         they were abandoned"
    )]
    GraceExpired(Duration),
}

/// Serves `app` (the router built on `state`) on `listener`, over mutual
/// TLS with `tls`, until `shutdown` completes, then drains and stops as the
/// module says. `Ok` means every request in progress was answered and the
/// pool was closed.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: Router,
    state: &AppState,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let repo = state.repo.clone();
    let metrics = state.metrics.clone();
    let lifecycle = state.lifecycle.clone();
    let (phase, watching) = watch::channel(Phase::Serving);
    // Every open connection holds one permit: all of them back means every
    // connection has closed.
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let listening = Listening {
        app,
        tls: tls.map(TlsAcceptor::from),
        handshakes: Arc::new(Semaphore::new(settings.max_tls_handshakes)),
        connections: connections.clone(),
        settings: settings.clone(),
        phase: watching,
        metrics,
    };
    let draining = async {
        shutdown.await;
        lifecycle.start_draining();
        phase.send_replace(Phase::Draining);
        tracing::info!(
            delay = ?settings.shutdown_delay,
            "shutting down: not ready, Connection: close on every response, still accepting"
        );
        tokio::time::sleep(settings.shutdown_delay).await;
    };
    tokio::select! {
        never = listening.accept_until_stopped(&listener) => match never {},
        () = draining => {}
    }
    listening.take_waiting(&listener);
    drop(listener);
    phase.send_replace(Phase::Stopping);
    tracing::info!(grace = ?settings.shutdown_grace, "stopped accepting; draining requests in progress");
    let every_permit = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    match tokio::time::timeout(
        settings.shutdown_grace,
        connections.acquire_many(every_permit),
    )
    .await
    {
        Ok(_) => {
            repo.close_pool();
            tracing::info!("every request answered; database pool closed");
            Ok(())
        }
        Err(_) => Err(ServeError::GraceExpired(settings.shutdown_grace)),
    }
}

/// What the accept loop hands each connection.
struct Listening {
    app: Router,
    tls: Option<TlsAcceptor>,
    handshakes: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    settings: ServerSettings,
    phase: watch::Receiver<Phase>,
    metrics: Arc<Metrics>,
}

impl Listening {
    async fn accept_until_stopped(&self, listener: &TcpListener) -> std::convert::Infallible {
        loop {
            let (stream, permit, handshake) = self.next_connection(listener).await;
            self.spawn_connection(stream, permit, handshake);
        }
    }

    /// Takes the connections the kernel has already completed, so that
    /// closing the listener resets none of them: they are served (and told
    /// to close) like any other. Stops at the first step that would wait:
    /// no place free, or no connection waiting.
    fn take_waiting(&self, listener: &TcpListener) {
        while let Some((stream, permit, handshake)) = self.next_connection(listener).now_or_never()
        {
            self.spawn_connection(stream, permit, handshake);
        }
    }

    /// The next connection with its place under the connection cap and, over
    /// TLS, under the handshake cap. Both places are taken before accepting,
    /// so at a cap new clients wait in the backlog, not half-connected.
    async fn next_connection(
        &self,
        listener: &TcpListener,
    ) -> (
        TcpStream,
        OwnedSemaphorePermit,
        Option<OwnedSemaphorePermit>,
    ) {
        let permit = match self.connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.metrics.edge.connection_cap_reached();
                tracing::warn!(
                    cap = self.settings.max_connections,
                    "connection cap reached: accepting again when a connection closes"
                );
                self.connections
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the connection semaphore is never closed")
            }
        };
        let handshake = match &self.tls {
            Some(_) => Some(
                self.handshakes
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the handshake semaphore is never closed"),
            ),
            None => None,
        };
        (accept(listener).await, permit, handshake)
    }

    fn spawn_connection(
        &self,
        stream: TcpStream,
        permit: OwnedSemaphorePermit,
        handshake: Option<OwnedSemaphorePermit>,
    ) {
        let (app, phase, metrics) = (self.app.clone(), self.phase.clone(), self.metrics.clone());
        let timeouts = self.settings.timeouts;
        let (Some(acceptor), Some(handshake)) = (self.tls.clone(), handshake) else {
            tokio::spawn(connection::drive(
                stream, app, timeouts, phase, metrics, permit,
            ));
            return;
        };
        let handshake_timeout = self.settings.tls_handshake_timeout;
        tokio::spawn(async move {
            let handshaken = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await;
            drop(handshake);
            match handshaken {
                Ok(Ok(tls)) => connection::drive(tls, app, timeouts, phase, metrics, permit).await,
                Ok(Err(error)) => {
                    metrics.edge.tls_handshake_refused();
                    tracing::warn!(%error, "TLS handshake refused");
                }
                Err(_) => {
                    metrics.edge.tls_handshake_timed_out();
                    tracing::warn!("TLS handshake timed out");
                }
            }
        });
    }
}

/// The next connection, set up: no Nagle delay (responses are one write),
/// and TCP keepalive. Errors of one connection (reset before accept) are
/// skipped; running out of descriptors pauses accepting for a moment rather
/// than spinning.
async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if configure(&stream).is_ok() {
                    return stream;
                }
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                tracing::error!(%error, "accepting connections failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Fails only for a connection already gone.
fn configure(stream: &TcpStream) -> std::io::Result<()> {
    let keepalive = TcpKeepalive::new()
        .with_time(TCP_KEEPALIVE_TIME)
        .with_interval(TCP_KEEPALIVE_INTERVAL)
        .with_retries(TCP_KEEPALIVE_RETRIES);
    stream
        .set_nodelay(true)
        .and_then(|()| SockRef::from(stream).set_tcp_keepalive(&keepalive))
        .inspect_err(|error| tracing::debug!(%error, "configuring an accepted connection failed"))
}

fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
}
