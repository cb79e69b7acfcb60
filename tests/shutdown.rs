//! SIGTERM on the real binary: the requests in progress finish, new
//! connections are refused, the process exits 0; and a request that will not
//! finish cannot hold the process past the grace period.

mod common;

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
    let mut lock = TableLock::take(&options, "accounts").await;
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
    let mut lock = TableLock::take(&options, "accounts").await;
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
