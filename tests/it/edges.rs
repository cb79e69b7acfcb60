//! The service's edges, tried the way careless or hostile clients would:
//! half-sent headers held open, idle keep-alive connections, more
//! connections than the cap, and bodies trickled a byte at a time. Each
//! refusal is seen on `/metrics` too.

use crate::common;

use common::app::TestApp;
use common::contract::assert_conforms;
use common::db::fresh_pool;
use common::fixtures::*;
use common::stall::TableLock;
use contas::http::limits::RequestLimits;
use contas::http::{ConnectionTimeouts, ServerSettings};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn bank(limits: RequestLimits, settings: ServerSettings) -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    TestApp::spawn_with(pool, now(), limits, settings).await
}

fn settings(header: Duration, idle: Duration) -> ServerSettings {
    ServerSettings {
        timeouts: ConnectionTimeouts { header, idle },
        ..ServerSettings::default()
    }
}

/// Waits until the server closes `stream` (EOF or reset), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // An answer (e.g. 408) before the close.
            Ok(Ok(_)) => {}
        }
    }
}

/// A full request on a raw connection; the status line's code.
async fn raw_request(stream: &mut TcpStream, path: &str, body: &str) -> u16 {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: contas\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before answering");
        response.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&response[9..12]).parse().unwrap()
}

#[tokio::test]
async fn half_sent_headers_are_closed_in_time_and_starve_no_one() {
    let header = Duration::from_secs(1);
    let app = bank(
        RequestLimits::default(),
        settings(header, Duration::from_secs(60)),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(app.addr()).await.unwrap();
        stream
            .write_all(b"POST /accounts HTTP/1.1\r\nHost: contas\r\nContent-Ty")
            .await
            .unwrap();
        held.push(stream);
    }
    let opened = Instant::now();

    let started = Instant::now();
    let response = app.post("/accounts", &maria_body(&[MARIA_CHECKING])).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "answered after {:?} beside 300 half-sent requests",
        started.elapsed()
    );

    for stream in &mut held {
        let left = (header + Duration::from_secs(2)).saturating_sub(opened.elapsed());
        assert!(
            closed_within(stream, left).await,
            "a half-sent request was still open {:?} after it started",
            opened.elapsed()
        );
    }
    assert_eq!(app.metric("contas_header_timeouts_total").await, 300.0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_then_closes() {
    let (header, idle) = (Duration::from_millis(300), Duration::from_millis(1500));
    let app = bank(RequestLimits::default(), settings(header, idle)).await;
    let mut stream = TcpStream::connect(app.addr()).await.unwrap();
    let body = maria_body(&[MARIA_CHECKING]).to_string();
    assert_eq!(raw_request(&mut stream, "/accounts", &body).await, 200);
    let answered = Instant::now();

    // Idle for over twice the header timeout: still usable.
    tokio::time::sleep(header * 3).await;
    assert_eq!(raw_request(&mut stream, "/accounts", &body).await, 200);
    let answered_again = Instant::now();
    assert!(answered.elapsed() < idle);

    assert!(closed_within(&mut stream, idle + Duration::from_secs(1)).await);
    let idled = answered_again.elapsed();
    assert!(
        idled >= idle - Duration::from_millis(50),
        "closed after {idled:?} idle"
    );
    assert_eq!(app.metric("contas_header_timeouts_total").await, 0.0);
}

#[tokio::test]
async fn at_the_connection_cap_accepting_pauses_and_no_accepted_connection_is_dropped() {
    let cap = ServerSettings {
        max_connections: 4,
        ..settings(Duration::from_secs(30), Duration::from_secs(60))
    };
    let app = bank(RequestLimits::default(), cap).await;
    let body = maria_body(&[MARIA_CHECKING]).to_string();
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(app.addr()).await.unwrap();
        assert_eq!(raw_request(&mut stream, "/accounts", &body).await, 200);
        open.push(stream);
    }
    // A fifth connects (the kernel's backlog takes it) but is not served.
    let mut fifth = TcpStream::connect(app.addr()).await.unwrap();
    let fifth_body = body.clone();
    let waiting = tokio::spawn(async move {
        let status = raw_request(&mut fifth, "/accounts", &fifth_body).await;
        (status, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served beyond the cap");

    // Every accepted connection still works.
    for stream in &mut open {
        assert_eq!(raw_request(stream, "/accounts", &body).await, 200);
    }
    let closed_at = Instant::now();
    drop(open.pop());
    let (status, served_at) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert_eq!(status, 200);
    assert!(served_at >= closed_at);
    assert!(app.metric("contas_connection_cap_reached_total").await >= 1.0);
}

/// Sends the headers of a request whose body never completes.
async fn trickle(app: &TestApp) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr()).await.unwrap();
    stream
        .write_all(
            b"POST /accounts HTTP/1.1\r\nHost: contas\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"data\"",
        )
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn slow_bodies_hold_no_place_and_are_answered_408() {
    let limits = RequestLimits {
        body_timeout: Duration::from_millis(800),
        max_in_flight: 4,
        ..RequestLimits::default()
    };
    let app = bank(limits, ServerSettings::default()).await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        slow.push(trickle(&app).await);
    }
    // Ten times the concurrency limit is trickling: a fast client still
    // gets a place.
    for _ in 0..8 {
        let response = app.post("/accounts", &maria_body(&[MARIA_CHECKING])).await;
        assert_eq!(response.status, 200, "{}", response.body);
    }

    for stream in &mut slow {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("answered and closed within the body timeout")
            .unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 408"), "{head}");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_conforms(
            "/accounts",
            408,
            Some("application/json; charset=utf-8"),
            &body,
        );
        assert_eq!(body["errors"][0]["code"], "REQUEST_TIMEOUT");
    }
    assert_eq!(app.metric("contas_body_timeouts_total").await, 40.0);
    assert_eq!(app.metric("contas_requests_shed_total").await, 0.0);
}

#[tokio::test]
async fn shed_requests_are_counted() {
    let limits = RequestLimits {
        max_in_flight: 1,
        ..RequestLimits::default()
    };
    let app = bank(limits, ServerSettings::default()).await;
    let mut lock = TableLock::take(&app.pool.connect_options(), "account_holders").await;
    let body = maria_body(&[MARIA_CHECKING]);
    let held = {
        let (client, url, body) = (
            app.client.clone(),
            format!("{}/accounts", app.base),
            body.clone(),
        );
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
    };
    lock.wait_for_waiters(1).await;
    let refused = app.post("/accounts", &body).await;
    assert_eq!(refused.status, 529, "{}", refused.body);
    assert_eq!(app.metric("contas_requests_shed_total").await, 1.0);
    lock.release().await;
    assert_eq!(held.await.unwrap(), 200);
}

/// The timer field of a socket in /proc/net/tcp: `02` is the keepalive
/// timer, armed only on a socket with SO_KEEPALIVE.
fn timer_of(local: std::net::SocketAddr, remote: std::net::SocketAddr) -> Option<String> {
    let hex = |addr: std::net::SocketAddr| match addr {
        std::net::SocketAddr::V4(v4) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        ),
        std::net::SocketAddr::V6(_) => unreachable!("the test binds IPv4"),
    };
    let (local, remote) = (hex(local), hex(remote));
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields[1] == local && fields[2] == remote)
        .map(|fields| fields[5].split(':').next().unwrap().to_owned())
}

#[tokio::test]
async fn accepted_connections_have_tcp_keepalive() {
    let app = bank(RequestLimits::default(), ServerSettings::default()).await;
    let mut stream = TcpStream::connect(app.addr()).await.unwrap();
    let body = maria_body(&[MARIA_CHECKING]).to_string();
    assert_eq!(raw_request(&mut stream, "/accounts", &body).await, 200);
    // The server's end of this connection: its local address is the
    // service's, its peer is this client.
    assert_eq!(
        timer_of(app.addr(), stream.local_addr().unwrap()).as_deref(),
        Some("02"),
        "no keepalive timer on the server's socket"
    );
    // The client's end, made without keepalive, shows no timer: the field
    // tells the two apart.
    assert_eq!(
        timer_of(stream.local_addr().unwrap(), app.addr()).as_deref(),
        Some("00")
    );
}
