//! The `contas` binary: its subcommands, and `serve` on an embedded
//! PostgreSQL with no configuration at all.

mod common;

use common::db::fresh_database;
use common::fixtures::bank_ndjson;
use sqlx::ConnectOptions;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn contas() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contas"));
    command.env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    command
}

async fn database_url() -> String {
    fresh_database().await.to_url_lossy().to_string()
}

#[tokio::test]
async fn import_reads_stdin_and_prints_a_summary() {
    let url = database_url().await;
    let mut child = contas()
        .args(["import", "-"])
        .env("DATABASE_URL", &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bank_ndjson().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "one summary line when not on a terminal: {stdout}"
    );
    assert!(stdout.contains("account"), "{stdout}");
}

#[tokio::test]
async fn import_refuses_a_bad_file_listing_every_bad_line() {
    let url = database_url().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        r#"{{"record":"brand","brandId":"cbanco","brandName":"Banco C","companyCnpj":"123"}}"#
    )
    .unwrap();
    writeln!(
        file,
        r#"{{"record":"customer","brandId":"cbanco","document":"52998224725","name":"Maria"}}"#
    )
    .unwrap();
    writeln!(file, "not json").unwrap();
    let output = contas()
        .arg("import")
        .arg(file.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("line 1: companyCnpj"), "{stderr}");
    assert!(stderr.contains("line 3:"), "{stderr}");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(customers, 0, "nothing of a bad file is applied");
}

#[tokio::test]
async fn migrate_and_seed() {
    let url = database_url().await;
    let migrate = contas()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let seed = contas()
        .args([
            "seed",
            "--customers",
            "20",
            "--accounts",
            "30",
            "--transactions",
            "600",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let transactions: i64 = sqlx::query_scalar("SELECT count(*) FROM transactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(transactions >= 600, "{transactions}");
}

#[test]
fn commands_other_than_serve_need_database_url() {
    let output = contas()
        .args(["import", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL is not set"));
}

/// `contas serve` with no DATABASE_URL runs a private PostgreSQL, loads the
/// demo bank, and prints a curl that works.
#[tokio::test]
async fn serve_without_configuration_serves_the_demo_bank() {
    let dir = tempfile::tempdir().unwrap();
    // As root the cluster runs as `postgres`, which must reach the directory.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let data_dir = dir.path().join("pg");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = contas()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("CONTAS_DATA_DIR", &data_dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Collect the printed curl's heredoc body.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut printed = Vec::new();
    let mut body = None;
    while body.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!("no curl printed within 2 minutes:\n{}", printed.join("\n"))
            });
        printed.push(line);
        if printed.last().unwrap() == "EOF" {
            let start = printed
                .iter()
                .rposition(|l| l.ends_with("<<'EOF'"))
                .expect("a heredoc");
            body = Some(printed[start + 1..printed.len() - 1].join("\n"));
        }
    }
    let curl_line = printed
        .iter()
        .find(|l| l.starts_with("curl "))
        .expect("a curl command");
    assert!(
        curl_line.contains(&format!("http://127.0.0.1:{port}/accounts")),
        "{curl_line}"
    );

    let client = reqwest::Client::new();
    let mut answer = None;
    for _ in 0..100 {
        match client
            .post(format!("http://127.0.0.1:{port}/accounts"))
            .header("content-type", "application/json")
            .body(body.clone().unwrap())
            .send()
            .await
        {
            Ok(response) => {
                answer = Some(response);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let response = answer.expect("the service listens");
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    common::contract::assert_conforms("/accounts", 200, Some("application/json"), &json);
    assert_eq!(
        json["data"].as_array().unwrap().len(),
        contas::seed::demo_account_ids().len(),
        "{json}"
    );

    // SIGTERM: a graceful exit.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    contas::embedded_pg::EmbeddedPostgres::ensure_running(&data_dir)
        .unwrap()
        .stop()
        .unwrap();
}
