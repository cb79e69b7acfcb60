//! SIGTERM on the real binary: readiness goes 503 at once and responses say
//! `Connection: close` for the shutdown delay; then new connections are
//! refused, the requests in progress finish, the process exits 0; a request
//! that will not finish cannot hold the process past the grace period; and
//! twenty restarts under keep-alive load fail no request.

use crate::common;

use common::contract::assert_conforms;
use common::db::fresh_database;
use common::fixtures::*;
use common::stall::TableLock;
use serde_json::Value;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Service {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Service {
    /// `contas serve` on a fresh database holding the fixture bank.
    async fn start(env: &[(&str, &str)]) -> (Self, PgConnectOptions) {
        let options = fresh_database().await;
        let pool = contas::db::connect(options.clone(), 2).await.unwrap();
        load_bank(&pool).await;
        pool.close().await;
        let addr: SocketAddr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_contas"))
            .arg("serve")
            .env("DATABASE_URL", options.to_url_lossy().to_string())
            .env("CONTAS_BIND", addr.to_string())
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let service = Self {
            child,
            addr,
            stderr,
        };
        service.wait_until_ready().await;
        (service, options)
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = client
                .get(format!("http://{}/health/ready", self.addr))
                .send()
                .await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not ready within a minute:\n{}", self.log());
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    fn terminate(&self) {
        // SAFETY: kill has no memory-safety preconditions.
        let sent = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(sent, 0, "sending SIGTERM");
    }

    /// The exit status, once the process has exited within `limit`.
    async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                self.child.kill().ok();
                panic!("still running after {limit:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until connecting is refused: the listener is closed.
    async fn wait_until_refusing(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::net::TcpStream::connect(self.addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                // A connection caught in the backlog as the listener closes is
                // reset; the next attempt tells.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("connecting failed otherwise: {e}"),
                Ok(_) => {
                    assert!(
                        Instant::now() < deadline,
                        "still accepting connections 5 s after SIGTERM"
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

/// POSTs `/accounts` with Maria's consent; the answer must conform.
async fn list_accounts(client: &reqwest::Client, addr: SocketAddr) -> reqwest::Result<u16> {
    let response = client
        .post(format!("http://{addr}/accounts"))
        .json(&maria_body(&[MARIA_CHECKING]))
        .send()
        .await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await?;
    assert_conforms("/accounts", status, content_type.as_deref(), &body);
    Ok(status)
}

/// What one client saw: statuses of the requests it sent before the signal,
/// and the outcome of its first attempt after it.
#[derive(Debug)]
struct ClientRecord {
    before_signal: Vec<reqwest::Result<u16>>,
    after_signal: reqwest::Result<u16>,
}

#[tokio::test]
async fn sigterm_lets_requests_in_progress_finish_then_exits_0() {
    const CLIENTS: i64 = 4;
    let (mut service, options) = Service::start(&[("CONTAS_SHUTDOWN_GRACE", "20s")]).await;
    let addr = service.addr;
    let signalled = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let signalled = signalled.clone();
            tokio::spawn(async move {
                // Each client keeps one connection alive and sends request
                // after request until it has seen the signal.
                let client = reqwest::Client::new();
                let mut before_signal = Vec::new();
                while !signalled.load(Ordering::SeqCst) {
                    before_signal.push(list_accounts(&client, addr).await);
                }
                let after_signal = list_accounts(&reqwest::Client::new(), addr).await;
                ClientRecord {
                    before_signal,
                    after_signal,
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Every client's next request now waits inside the service.
    let mut lock = TableLock::take(&options, "account_holders").await;
    lock.wait_for_waiters(CLIENTS).await;

    service.terminate();
    signalled.store(true, Ordering::SeqCst);
    service.wait_until_refusing().await;
    assert!(
        service.child.try_wait().unwrap().is_none(),
        "exited with requests in progress"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;

    let status = service.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}\n{}", service.log());
    for client in clients {
        let record = client.await.unwrap();
        assert!(record.before_signal.len() > 1, "{record:?}");
        for outcome in &record.before_signal {
            assert!(matches!(outcome, Ok(200)), "{record:?}");
        }
        let refused = record.after_signal.as_ref().unwrap_err();
        assert!(refused.is_connect(), "{refused:?}");
    }
    assert!(
        service.log().contains("database pool closed"),
        "{}",
        service.log()
    );
}

#[tokio::test]
async fn a_request_that_never_finishes_cannot_hold_the_process_past_the_grace_period() {
    let grace = Duration::from_secs(1);
    let (mut service, options) = Service::start(&[
        ("CONTAS_SHUTDOWN_GRACE", "1s"),
        ("CONTAS_REQUEST_TIMEOUT", "60s"),
    ])
    .await;
    let mut lock = TableLock::take(&options, "account_holders").await;
    let addr = service.addr;
    let stuck = tokio::spawn(async move { list_accounts(&reqwest::Client::new(), addr).await });
    lock.wait_for_waiters(1).await;

    let signalled_at = Instant::now();
    service.terminate();
    let status = service.exit_within(Duration::from_secs(10)).await;
    let took = signalled_at.elapsed();
    assert_eq!(status.code(), Some(1), "{}", service.log());
    assert!(
        took >= grace && took < grace + Duration::from_secs(3),
        "exited {took:?} after SIGTERM"
    );
    assert!(service.log().contains("grace period"), "{}", service.log());
    assert!(
        stuck.await.unwrap().is_err(),
        "the stuck request is cut off"
    );
    lock.release().await;
}

#[tokio::test]
async fn draining_is_not_ready_at_once_and_tells_keep_alive_clients_to_leave() {
    let (mut service, _) = Service::start(&[("CONTAS_SHUTDOWN_DELAY", "1500ms")]).await;
    let addr = service.addr;
    let keep_alive = reqwest::Client::new();
    let before = keep_alive
        .post(format!("http://{addr}/accounts"))
        .json(&maria_body(&[MARIA_CHECKING]))
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 200);
    assert!(before.headers().get("connection").is_none());
    before.bytes().await.unwrap();

    let signalled_at = Instant::now();
    service.terminate();
    let probe = reqwest::Client::new();
    loop {
        let ready = probe
            .get(format!("http://{addr}/health/ready"))
            .send()
            .await
            .expect("still accepting while draining");
        if ready.status() == 503 {
            let body: Value = ready.json().await.unwrap();
            assert_eq!(body["reason"], "shutting down");
            break;
        }
        assert!(
            signalled_at.elapsed() < Duration::from_millis(500),
            "ready {:?} after SIGTERM",
            signalled_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Still served, on the kept-alive connection and on a new one, each
    // told to close.
    for client in [&keep_alive, &reqwest::Client::new()] {
        let response = client
            .post(format!("http://{addr}/accounts"))
            .json(&maria_body(&[MARIA_CHECKING]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["connection"], "close");
    }
    assert!(signalled_at.elapsed() < Duration::from_millis(1500));

    service.wait_until_refusing().await;
    let stopped = signalled_at.elapsed();
    assert!(
        stopped >= Duration::from_millis(1400),
        "stopped accepting {stopped:?} after SIGTERM, before the delay"
    );
    let status = service.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}\n{}", service.log());
}

/// A keep-alive client on raw HTTP/1.1, so that the test knows whether a
/// request failed on a connection it reused (what restarts used to do) or on
/// a fresh one the kernel had accepted as the listener closed (a refusal).
struct KeepAliveClient {
    addr: SocketAddr,
    connection: Option<tokio::io::BufReader<tokio::net::TcpStream>>,
}

enum Outcome {
    Answered(u16),
    /// Connecting was refused: the listener is closed.
    Refused,
    /// A fresh connection failed before any answer.
    FreshConnectionLost(String),
    /// A reused connection failed before its answer.
    ReusedConnectionLost(String),
}

impl KeepAliveClient {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            connection: None,
        }
    }

    async fn list_accounts(&mut self) -> Outcome {
        let fresh = self.connection.is_none();
        if fresh {
            match tokio::net::TcpStream::connect(self.addr).await {
                Ok(stream) => self.connection = Some(tokio::io::BufReader::new(stream)),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Outcome::Refused;
                }
                Err(e) => return Outcome::FreshConnectionLost(format!("connecting: {e}")),
            }
        }
        let connection = self.connection.as_mut().unwrap();
        match exchange(connection, self.addr).await {
            Ok((status, close)) => {
                if close {
                    self.connection = None;
                }
                Outcome::Answered(status)
            }
            Err(error) => {
                self.connection = None;
                if fresh {
                    Outcome::FreshConnectionLost(error)
                } else {
                    Outcome::ReusedConnectionLost(error)
                }
            }
        }
    }
}

/// One request and its whole response: the status and whether the server
/// said `Connection: close`.
async fn exchange(
    connection: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    addr: SocketAddr,
) -> Result<(u16, bool), String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let body = maria_body(&[MARIA_CHECKING]).to_string();
    let request = format!(
        "POST /accounts HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let error = |e: std::io::Error| e.to_string();
    connection
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .map_err(error)?;
    let mut line = String::new();
    let (mut status, mut length, mut close) = (0, 0, false);
    loop {
        line.clear();
        if connection.read_line(&mut line).await.map_err(error)? == 0 {
            return Err("closed before the response ended".into());
        }
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        } else if let Some(rest) = header.strip_prefix("http/1.1 ") {
            status = rest[..3].parse().map_err(|_| line.clone())?;
        } else if let Some(value) = header.strip_prefix("content-length:") {
            length = value.trim().parse().map_err(|_| line.clone())?;
        } else if header == "connection: close" {
            close = true;
        }
    }
    let mut body = vec![0; length];
    connection.read_exact(&mut body).await.map_err(error)?;
    Ok((status, close))
}

/// What one keep-alive client saw across a restart: requests answered 200,
/// and every failure other than a refused connection.
#[derive(Debug, Default)]
struct RestartRecord {
    answered: usize,
    failures: Vec<String>,
}

#[tokio::test]
async fn twenty_sigterms_under_keep_alive_load_fail_no_request() {
    for restart in 0..20 {
        let (mut service, _) = Service::start(&[("CONTAS_SHUTDOWN_DELAY", "1s")]).await;
        let addr = service.addr;
        let clients: Vec<_> = (0..4)
            .map(|_| {
                tokio::spawn(async move {
                    // Request after request on one kept-alive connection (a
                    // new one when told to close) until the service refuses.
                    let mut client = KeepAliveClient::new(addr);
                    let mut record = RestartRecord::default();
                    // A fresh connection lost as the listener closed is a
                    // refusal: the next attempt must then be refused.
                    let mut lost_fresh = None;
                    loop {
                        match client.list_accounts().await {
                            Outcome::Answered(200) => record.answered += 1,
                            Outcome::Answered(status) => {
                                record.failures.push(format!("status {status}"))
                            }
                            Outcome::Refused => return record,
                            Outcome::FreshConnectionLost(error) => {
                                if let Some(earlier) = lost_fresh.replace(error) {
                                    record.failures.push(format!(
                                        "a fresh connection lost while still accepting: {earlier}"
                                    ));
                                }
                                continue;
                            }
                            Outcome::ReusedConnectionLost(error) => {
                                record.failures.push(format!("reused connection: {error}"))
                            }
                        }
                        if let Some(error) = lost_fresh.take() {
                            record.failures.push(format!(
                                "a fresh connection lost while still accepting: {error}"
                            ));
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        service.terminate();
        let status = service.exit_within(Duration::from_secs(20)).await;
        assert!(
            status.success(),
            "restart {restart}: {status:?}\n{}",
            service.log()
        );
        for client in clients {
            let record = tokio::time::timeout(Duration::from_secs(10), client)
                .await
                .expect("the client saw the refusal")
                .unwrap();
            assert!(record.answered > 0, "restart {restart}: {record:?}");
            assert!(record.failures.is_empty(), "restart {restart}: {record:?}");
        }
    }
}
