//! One HTTP/1.1 connection, driven under the timeouts hyper alone does not
//! give: a client must finish a request's headers within the header timeout
//! of sending its first byte (or of connecting), and a keep-alive connection
//! idle longer than the idle timeout is closed.
//!
//! hyper's own `header_read_timeout` starts when a connection goes idle, so
//! it would close idle keep-alive connections after a few seconds, racing
//! clients that reuse them; it is off, and [`Activity`] tracks where each
//! connection is instead: what the socket read and when the service ran.

use super::server::Phase;
use crate::metrics::Metrics;
use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long a client may take to send headers, and to sit idle.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimeouts {
    /// From connecting, or from the first byte of a later request, to the
    /// end of its headers.
    pub header: Duration,
    /// Between a response and the first byte of the next request.
    pub idle: Duration,
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Connected; no request yet.
    Fresh = 0,
    /// Part of a request's headers has arrived.
    Reading = 1,
    /// A request is with the service.
    Busy = 2,
    /// Answered; waiting for the next request.
    Idle = 3,
}

impl State {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => State::Fresh,
            1 => State::Reading,
            2 => State::Busy,
            _ => State::Idle,
        }
    }
}

/// What the connection's driver must do when a deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    /// Headers incomplete in time: close at once (a slow or stalled client).
    Header,
    /// Idle too long: close gracefully.
    Idle,
}

/// The connection's state and when it began. The socket wrapper, the
/// service and the driver all run in the connection's task, so relaxed
/// atomics are only there to make the state shareable.
struct Activity {
    opened: Instant,
    state: AtomicU8,
    /// Milliseconds after `opened` at which `state` began.
    since_ms: AtomicU64,
    /// Wakes the driver when a deadline may have moved earlier or appeared.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            state: AtomicU8::new(State::Fresh as u8),
            since_ms: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> State {
        State::from_u8(self.state.load(Relaxed))
    }

    fn enter(&self, state: State) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.since_ms.store(elapsed, Relaxed);
        self.state.store(state as u8, Relaxed);
    }

    /// The socket delivered bytes. The first byte of a request after an
    /// idle spell starts the header clock; a fresh connection's clock has
    /// run since it connected.
    fn bytes_arrived(&self) {
        match self.state() {
            State::Idle => {
                self.enter(State::Reading);
                self.changed.notify_one();
            }
            State::Fresh => {
                self.state.store(State::Reading as u8, Relaxed);
            }
            State::Reading | State::Busy => {}
        }
    }

    /// The headers are in: the request deadline takes over from here.
    fn request_started(self: &Arc<Self>) -> RequestInService {
        self.enter(State::Busy);
        RequestInService(self.clone())
    }

    fn deadline(&self, timeouts: ConnectionTimeouts) -> Option<(Instant, Expired)> {
        let since = self.opened + Duration::from_millis(self.since_ms.load(Relaxed));
        match self.state() {
            State::Fresh | State::Reading => Some((since + timeouts.header, Expired::Header)),
            State::Idle => Some((since + timeouts.idle, Expired::Idle)),
            State::Busy => None,
        }
    }
}

/// Marks the connection idle when the service has answered (or the request
/// was abandoned).
struct RequestInService(Arc<Activity>);

impl Drop for RequestInService {
    fn drop(&mut self) {
        self.0.enter(State::Idle);
        self.0.changed.notify_one();
    }
}

/// The socket, reporting to [`Activity`] whenever bytes arrive.
struct Watched<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves `app` on one accepted connection until it closes. `permit` is
/// the connection's place under the connection cap, given back on return.
pub(super) async fn drive<IO>(
    io: IO,
    app: Router,
    timeouts: ConnectionTimeouts,
    mut phase: watch::Receiver<Phase>,
    metrics: Arc<Metrics>,
    _permit: OwnedSemaphorePermit,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _open = metrics.edge.connection_opened();
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        service_fn(move |request: hyper::Request<Incoming>| {
            let in_service = activity.request_started();
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(Body::new)).await;
                drop(in_service);
                response
            }
        })
    };
    let io = TokioIo::new(Watched {
        io,
        activity: activity.clone(),
    });
    let connection = http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    // Once closing, the connection finishes what it has and ends by itself.
    let mut closing = false;
    loop {
        let deadline = if closing {
            None
        } else {
            activity.deadline(timeouts)
        };
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(error) = ended {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = sleep_until(deadline.map(|(at, _)| at)) => {
                // The state may have moved on since the deadline was set.
                match activity.deadline(timeouts) {
                    Some((at, Expired::Header)) if at <= Instant::now() => {
                        metrics.edge.header_timed_out();
                        tracing::debug!(timeout = ?timeouts.header, "request headers not received in time: connection closed");
                        return;
                    }
                    Some((at, Expired::Idle)) if at <= Instant::now() => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ => {}
                }
            }
            () = activity.changed.notified() => {}
            Ok(()) = phase.changed(), if !closing => {
                // Stopping: idle connections close now (their clients had the
                // whole shutdown delay to move on); the others get
                // `Connection: close` on their response.
                if *phase.borrow_and_update() == Phase::Stopping && activity.state() == State::Idle {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: ConnectionTimeouts = ConnectionTimeouts {
        header: Duration::from_secs(5),
        idle: Duration::from_secs(75),
    };

    #[tokio::test(start_paused = true)]
    async fn the_header_clock_runs_from_connecting_then_from_each_requests_first_byte() {
        let activity = Arc::new(Activity::new());
        let opened = activity.opened;
        assert_eq!(
            activity.deadline(TIMEOUTS),
            Some((opened + TIMEOUTS.header, Expired::Header))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        activity.bytes_arrived();
        // Bytes of the first request do not restart the clock.
        assert_eq!(
            activity.deadline(TIMEOUTS),
            Some((opened + TIMEOUTS.header, Expired::Header))
        );
        let in_service = activity.request_started();
        assert_eq!(activity.deadline(TIMEOUTS), None);
        activity.bytes_arrived();
        assert_eq!(activity.deadline(TIMEOUTS), None, "body bytes");
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(in_service);
        let answered = opened + Duration::from_secs(3);
        assert_eq!(
            activity.deadline(TIMEOUTS),
            Some((answered + TIMEOUTS.idle, Expired::Idle))
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        activity.bytes_arrived();
        assert_eq!(
            activity.deadline(TIMEOUTS),
            Some((
                answered + Duration::from_secs(10) + TIMEOUTS.header,
                Expired::Header
            ))
        );
    }
}
