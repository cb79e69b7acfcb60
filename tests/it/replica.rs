//! `DATABASE_READ_URL`: `serve` migrates the primary and answers every
//! request from the read replica; `import` writes to the primary. Runs
//! against a real streaming replica made with `pg_basebackup`.

use crate::common;

use common::cluster::{TempCluster, wait_for_replay};
use common::contract::assert_conforms;
use common::fixtures::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn contas() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contas"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_READ_URL")
        .env("RUST_LOG", "warn");
    command
}

/// Kills the server if a test fails before stopping it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn ready(base: &str) -> (u16, Value) {
    match reqwest::get(format!("{base}/health/ready")).await {
        Ok(response) => (
            response.status().as_u16(),
            response.json().await.unwrap_or_default(),
        ),
        Err(_) => (0, Value::Null),
    }
}

/// Waits until readiness answers `status`.
async fn wait_until_ready_is(base: &str, status: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (answered, body) = ready(base).await;
        if answered == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "readiness never answered {status}; last {answered} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn accounts(base: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{base}/accounts"))
        .json(&maria_body(&[MARIA_CHECKING, MARIA_SAVINGS]))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_conforms("/accounts", status, Some(&content_type), &body);
    assert_eq!(status, 200, "{body}");
    body
}

/// Client sessions on `database` other than the asking one.
async fn client_sessions(pool: &sqlx::PgPool, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn reads_go_to_the_replica_and_writes_to_the_primary() {
    let primary = TempCluster::primary().await;
    let admin = primary.pool("postgres").await;
    sqlx::query("CREATE DATABASE contas")
        .execute(&admin)
        .await
        .unwrap();
    let standby = TempCluster::standby_of(&primary).await;
    let replica_admin = standby.pool("postgres").await;
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&replica_admin)
        .await
        .unwrap();
    assert!(in_recovery, "the standby is a read-only replica");
    // Hold the replica back so the service finds it behind the primary.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica_admin)
        .await
        .unwrap();

    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        contas()
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", primary.url("contas"))
            .env("DATABASE_READ_URL", standby.url("contas"))
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );

    // serve migrated the primary, but the replica has not replayed that yet.
    let body = wait_until_ready_is(&base, 503).await;
    assert_eq!(body["reason"], "migrations pending", "{body}");
    let contas_on_primary = primary.pool("contas").await;
    let migrated: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&contas_on_primary)
        .await
        .unwrap();
    assert!(migrated > 0, "serve migrates the primary");
    contas_on_primary.close().await;
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica_admin)
        .await
        .unwrap();
    wait_until_ready_is(&base, 200).await;

    // import, with both URLs set, writes to the primary (the replica would
    // refuse: it is read-only).
    let mut import = contas()
        .args(["import", "--quiet", "-"])
        .env("DATABASE_URL", primary.url("contas"))
        .env("DATABASE_READ_URL", standby.url("contas"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    import
        .stdin
        .take()
        .unwrap()
        .write_all(bank_ndjson().as_bytes())
        .unwrap();
    let output = import.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_for_replay(&admin, &replica_admin).await;

    let body = accounts(&base).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 2, "{body}");
    assert!(client_sessions(&replica_admin, "contas").await > 0);
    // After migrating, serve holds no session on the primary (the import's
    // may take a moment to end).
    let deadline = Instant::now() + Duration::from_secs(10);
    while client_sessions(&admin, "contas").await > 0 {
        assert!(
            Instant::now() < deadline,
            "a session stays open on the primary"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // With the primary gone, the answers can only come from the replica.
    admin.close().await;
    primary.stop();
    let again = accounts(&base).await;
    assert_eq!(again["data"], body["data"]);
    assert_eq!(ready(&base).await.0, 200);
}

#[test]
fn a_read_url_needs_the_primary_url() {
    let output = contas()
        .arg("serve")
        .env("DATABASE_READ_URL", "postgres://replica/contas")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_READ_URL needs DATABASE_URL"),
        "{stderr}"
    );
}
