//! The subcommands a container runs besides `serve`: `healthcheck` (the
//! image's HEALTHCHECK) and `seed --if-empty` (docker-compose's seed step,
//! rerun on every `docker compose up`).

use crate::common;

use common::app::TestApp;
use common::db::{fresh_database, fresh_pool, take_database_away};
use common::fixtures::now;
use sqlx::{ConnectOptions, PgPool};
use std::net::SocketAddr;
use std::process::Output;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Runs `contas ARGS` without blocking the runtime the served router is on.
async fn contas(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contas"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("CONTAS_BIND")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn port(app: &TestApp) -> u16 {
    app.base
        .strip_prefix("http://")
        .unwrap()
        .parse::<SocketAddr>()
        .unwrap()
        .port()
}

#[tokio::test]
async fn healthcheck_passes_on_a_ready_server_bound_to_every_address() {
    let app = TestApp::spawn(fresh_pool().await, now()).await;
    // The image sets CONTAS_BIND=0.0.0.0:8080; the probe goes to loopback.
    let bind = format!("0.0.0.0:{}", port(&app));
    let output = contas(&["healthcheck"], &[("CONTAS_BIND", &bind)]).await;
    assert!(output.status.success(), "{}", stderr(&output));
}

#[tokio::test]
async fn healthcheck_fails_when_nothing_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = listener.local_addr().unwrap().to_string();
    drop(listener);
    let output = contas(&["healthcheck", "--bind", &bind], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("connecting to"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn healthcheck_fails_while_the_server_is_not_ready() {
    let app = TestApp::spawn(fresh_pool().await, now()).await;
    take_database_away(&app.pool).await;
    let bind = format!("127.0.0.1:{}", port(&app));
    let output = contas(&["healthcheck", "--bind", &bind], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert!(stderr.contains("/health/ready answered 503"), "{stderr}");
    assert!(stderr.contains("database unavailable"), "{stderr}");
}

#[tokio::test]
async fn healthcheck_gives_up_on_a_server_that_never_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bind = listener.local_addr().unwrap().to_string();
    // Accepts and holds connections without ever answering.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let output = contas(&["healthcheck", "--bind", &bind, "--timeout", "1"], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr(&output).contains("did not answer"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn healthcheck_refuses_an_answer_that_is_not_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bind = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        // Read the whole request before answering: closing a socket with
        // unread input sends a reset, which can reach the probe before the
        // banner does and make it fail for another reason.
        let mut request = Vec::new();
        while !request.ends_with(b"\r\n\r\n") {
            let mut byte = [0; 1];
            if stream.read(&mut byte).await.unwrap() == 0 {
                break;
            }
            request.push(byte[0]);
        }
        stream.write_all(b"SSH-2.0-OpenSSH\r\n").await.unwrap();
        stream.shutdown().await.unwrap();
    });
    let output = contas(&["healthcheck", "--bind", &bind], &[]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("not an HTTP/1.1 answer"),
        "{}",
        stderr(&output)
    );
}

async fn brands_and_accounts(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM brands), (SELECT count(*) FROM accounts)")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn seed_if_empty_seeds_once_and_then_leaves_the_store_alone() {
    let options = fresh_database().await;
    let url = options.to_url_lossy().to_string();
    let seed = [
        "seed",
        "--if-empty",
        "--customers",
        "5",
        "--accounts",
        "8",
        "--transactions",
        "40",
        "--months",
        "2",
    ];

    let first = contas(&seed, &[("DATABASE_URL", &url)]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let pool = PgPool::connect_with(options).await.unwrap();
    let seeded = brands_and_accounts(&pool).await;
    assert_eq!(seeded.0, 1);

    // A later seed (with other sizes, so it would add accounts) is skipped.
    let mut bigger = seed;
    bigger[5] = "20";
    let second = contas(&bigger, &[("DATABASE_URL", &url)]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("not seeding"),
        "{second:?}"
    );
    assert_eq!(brands_and_accounts(&pool).await, seeded);
}
