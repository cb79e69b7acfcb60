//! The `contas` binary: its subcommands, and `serve` on an embedded
//! PostgreSQL with no configuration at all.

use crate::common;

use common::db::fresh_database;
use common::fixtures::bank_ndjson;
use contas::embedded_pg::{ClusterState, EmbeddedPostgres};
use sqlx::ConnectOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
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

/// A data directory of its own for the embedded PostgreSQL; whatever
/// cluster a test starts there is stopped when the test ends, passed or
/// failed.
struct EmbeddedDir {
    data: PathBuf,
    // Removed after the cluster is stopped.
    _dir: tempfile::TempDir,
}

impl EmbeddedDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // As root the cluster runs as `postgres`, which must reach the directory.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        Self {
            data: dir.path().join("pg"),
            _dir: dir,
        }
    }

    /// `contas` without DATABASE_URL, on this directory.
    fn contas(&self) -> Command {
        let mut command = contas();
        command.env("CONTAS_DATA_DIR", &self.data);
        command
    }

    fn state(&self) -> ClusterState {
        EmbeddedPostgres::at(&self.data).state().unwrap()
    }
}

impl Drop for EmbeddedDir {
    fn drop(&mut self) {
        if let Err(e) = EmbeddedPostgres::at(&self.data).stop_if_running() {
            eprintln!("stopping the cluster under {}: {e:#}", self.data.display());
        }
    }
}

/// Runs `command`, returning its exit status and stdout; stderr is shown
/// on failure.
fn run(command: &mut Command) -> (Option<i32>, String) {
    let output = command.output().unwrap();
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
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

/// Commands people run print lines for people: no JSON log line (the
/// second import's migration finds its table there, which the database
/// reports as a notice), the summary on stdout.
#[tokio::test]
async fn import_prints_for_people_not_json() {
    let url = database_url().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bank_ndjson().as_bytes()).unwrap();
    for run in 0..2 {
        let output = contas()
            .env_remove("RUST_LOG")
            .arg("import")
            .arg(file.path())
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "run {run}: {stderr}");
        assert!(
            !stderr.lines().any(|l| l.trim_start().starts_with('{')),
            "run {run}: {stderr}"
        );
        assert!(stdout.starts_with("imported "), "run {run}: {stdout}");
    }
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

/// Without DATABASE_URL the commands that need a store use the embedded
/// PostgreSQL `serve` uses, each saying that it outlives them: what
/// `contas import` loads there is what the URL `contas embedded status`
/// prints reaches, and what `seed` and `retention` find.
#[tokio::test]
async fn commands_without_database_url_share_the_embedded_store() {
    let embedded = EmbeddedDir::new();
    let migrate = embedded.contas().arg("migrate").output().unwrap();
    let stderr = String::from_utf8_lossy(&migrate.stderr);
    assert!(migrate.status.success(), "{stderr}");
    let note = stderr
        .lines()
        .find(|l| l.contains("keeps running after contas exits"))
        .unwrap_or_else(|| panic!("no word of the cluster outliving contas: {stderr}"));
    assert!(
        note.contains(&embedded.data.display().to_string())
            && note.contains("`contas embedded stop`"),
        "{note}"
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bank_ndjson().as_bytes()).unwrap();
    let (code, stdout) = run(embedded.contas().arg("import").arg(file.path()));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("imported "), "{stdout}");

    let (code, stdout) = run(embedded.contas().args(["embedded", "status"]));
    assert_eq!(code, Some(0), "{stdout}");
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("url: "))
        .unwrap_or_else(|| panic!("no url: {stdout}"));
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let imported = bank_ndjson()
        .lines()
        .filter(|l| l.contains(r#""record":"customer""#))
        .count();
    assert_eq!(customers, imported as i64);

    let (code, stdout) = run(embedded.contas().args(["seed", "--if-empty"]));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("holds data already"), "{stdout}");
    let (code, stdout) = run(embedded.contas().args(["retention", "--dry-run"]));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("retention"), "{stdout}");

    let (code, stdout) = run(embedded.contas().args(["embedded", "stop"]));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("stopped"), "{stdout}");
    let (code, stdout) = run(embedded.contas().args(["embedded", "status"]));
    assert_eq!(code, Some(3), "{stdout}");
}

/// `contas serve` with no DATABASE_URL runs a private PostgreSQL, loads the
/// demo bank, and prints a curl that works.
#[tokio::test]
async fn serve_without_configuration_serves_the_demo_bank() {
    let embedded = EmbeddedDir::new();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = embedded
        .contas()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
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
    assert_eq!(
        embedded.state(),
        ClusterState::Running,
        "the embedded PostgreSQL outlives serve"
    );
}

/// `contas embedded status` says whether the cluster runs (exit 0) or not
/// (exit 3), and `contas embedded stop` stops it, once or twice.
#[test]
fn embedded_status_and_stop_follow_the_cluster() {
    let embedded = EmbeddedDir::new();
    let (code, stdout) = run(embedded.contas().args(["embedded", "status"]));
    assert_eq!(code, Some(3), "{stdout}");
    assert!(stdout.contains("not running (none made yet)"), "{stdout}");

    EmbeddedPostgres::ensure_running(&embedded.data).unwrap();
    let (code, stdout) = run(embedded.contas().args(["embedded", "status"]));
    assert_eq!(code, Some(0), "{stdout}");
    for expected in [
        "embedded PostgreSQL: running".to_owned(),
        format!("data directory: {}", embedded.data.display()),
        format!("socket: {}", embedded.data.join(".s.PGSQL.5432").display()),
        "url: postgres://".to_owned(),
        "size: ".to_owned(),
    ] {
        assert!(stdout.contains(&expected), "{expected:?} in {stdout}");
    }

    let (code, stdout) = run(embedded.contas().args(["embedded", "stop"]));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("stopped"), "{stdout}");
    assert_eq!(embedded.state(), ClusterState::Stopped);
    let (code, stdout) = run(embedded.contas().args(["embedded", "status"]));
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        stdout.contains("embedded PostgreSQL: not running"),
        "{stdout}"
    );
    assert!(stdout.contains("size: "), "{stdout}");

    let (code, stdout) = run(embedded.contas().args(["embedded", "stop"]));
    assert_eq!(code, Some(0), "stopping a stopped cluster: {stdout}");
    assert!(stdout.contains("not running"), "{stdout}");
}

// ---- overlapping imports -------------------------------------------------------

/// A file of `count` completed transactions of João's account, then a
/// pending snapshot of it with the entries named `pending`, then a balance.
fn joao_file(prefix: &str, count: usize, pending: &[&str], balance_at: &str) -> String {
    use common::fixtures::{BRAND, JOAO_CHECKING, account_id, now, transaction};
    let mut out = String::new();
    for i in 0..count {
        let at = now() - chrono::Duration::minutes(i as i64);
        out += &format!(
            "{}\n",
            transaction(JOAO_CHECKING, &format!("{prefix}-{i}"), at, true, "1.00")
        );
    }
    let entries: Vec<serde_json::Value> = pending
        .iter()
        .map(|id| {
            let mut entry = transaction(JOAO_CHECKING, id, now(), false, "9.99");
            let entry = entry.as_object_mut().unwrap();
            for field in ["record", "brandId", "accountId"] {
                entry.remove(field);
            }
            entry.insert(
                "completedAuthorisedPaymentType".into(),
                "TRANSACAO_PROCESSANDO".into(),
            );
            serde_json::Value::Object(entry.clone())
        })
        .collect();
    out += &format!(
        "{}\n",
        serde_json::json!({"record": "pendingTransactions", "brandId": BRAND,
                           "accountId": account_id(JOAO_CHECKING), "transactions": entries})
    );
    out += &format!(
        "{}\n",
        serde_json::json!({"record": "balance", "brandId": BRAND, "accountId": account_id(JOAO_CHECKING),
                           "availableAmount": "10.00", "blockedAmount": "0.00",
                           "automaticallyInvestedAmount": "0.00", "currency": "BRL",
                           "updateDateTime": balance_at})
    );
    out
}

async fn import_text(pool: &sqlx::PgPool, text: &str) {
    contas::import::import_reader(pool, text.as_bytes(), false)
        .await
        .unwrap_or_else(|e| panic!("import failed: {e:#}"));
}

/// Whether a session of `application` holds (`granted`) or waits for the
/// store's writer lock, or holds a lock on `transactions` (`writing`).
async fn sessions(pool: &sqlx::PgPool, application: &str) -> (bool, bool, bool) {
    sqlx::query_as(
        "SELECT coalesce(bool_or(l.locktype = 'advisory' AND l.granted), false),
                coalesce(bool_or(l.locktype = 'advisory' AND NOT l.granted), false),
                coalesce(bool_or(l.relation = 'transactions'::regclass AND l.mode = 'RowExclusiveLock'), false)
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE a.application_name = $1",
    )
    .bind(application)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `contas import -` into `url`, fed `first_part` of a file through a pipe
/// it keeps open, once it has written rows of it (it holds a lock on
/// `transactions`).
async fn import_writing(
    url: &str,
    pool: &sqlx::PgPool,
    first_part: &str,
) -> (std::process::Child, std::process::ChildStdin) {
    let mut import = contas()
        .args(["import", "-"])
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = import.stdin.take().unwrap();
    input.write_all(first_part.as_bytes()).unwrap();
    input.flush().unwrap();
    wait_until("the import to write its first rows", async || {
        sessions(pool, "contas import").await.2
    })
    .await;
    (import, input)
}

/// The real interleaving: import A, fed through a pipe, has read and
/// written part of its file (its pending snapshot of João's account still to
/// come) when import B of a snapshot of the same account starts. Run
/// together, B must wait for A: the store ends as after A then B (B's
/// snapshot alone), never with both snapshots exposed.
#[tokio::test]
async fn overlapping_imports_end_as_if_run_one_after_the_other() {
    let url = database_url().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    import_text(&pool, &common::fixtures::bank_ndjson()).await;
    // Over one batch of rows, so part of A is written while it still reads.
    let file_a = joao_file("A", 12_000, &["PA-1", "PA-2"], "2026-11-20T10:00:00Z");
    let file_b = joao_file("B", 3, &["PB-1"], "2026-11-20T11:00:00Z");
    let before = &file_a[..file_a.find("\"A-11000\"").unwrap()];
    let first_part = &before[..before.rfind('\n').unwrap() + 1];
    let rest = &file_a[first_part.len()..];
    assert!(!rest.is_empty());

    let (a, mut a_input) = import_writing(&url, &pool, first_part).await;

    let mut b_file = tempfile::NamedTempFile::new().unwrap();
    b_file.write_all(file_b.as_bytes()).unwrap();
    let mut b = contas()
        .arg("import")
        .arg(b_file.path())
        .env("DATABASE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // B waits on the writer lock (or, without one, runs to its end).
    wait_until("import B to wait for A or finish", async || {
        sessions(&pool, "contas import").await.1 || b.try_wait().unwrap().is_some()
    })
    .await;
    a_input.write_all(rest.as_bytes()).unwrap();
    drop(a_input);
    let a = a.wait_with_output().unwrap();
    let b = b.wait_with_output().unwrap();
    for (name, out) in [("A", &a), ("B", &b)] {
        assert!(
            out.status.success(),
            "import {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The same files one after the other.
    let serial = sqlx::PgPool::connect(&database_url().await).await.unwrap();
    import_text(&serial, &common::fixtures::bank_ndjson()).await;
    import_text(&serial, &file_a).await;
    import_text(&serial, &file_b).await;
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT t.legacy_key FROM transactions t JOIN accounts a ON a.id = t.account_id
          WHERE a.number = $1 AND t.completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA'
          ORDER BY 1",
    )
    .bind(common::fixtures::JOAO_CHECKING)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(pending, [r#"[["id","PB-1"]]"#], "B's snapshot only");
    assert_eq!(
        common::db::dump_content(&pool).await,
        common::db::dump_content(&serial).await,
        "the store after the overlap differs from A then B"
    );
    assert!(
        String::from_utf8_lossy(&b.stderr).contains("waiting for it up to 5m"),
        "B says it waits: {}",
        String::from_utf8_lossy(&b.stderr)
    );
}

/// The one `Error:` line a refused command printed.
fn error_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    assert!(
        !stderr.contains("Caused by"),
        "the lock error is one line: {stderr}"
    );
    lines[0].to_owned()
}

#[tokio::test]
async fn an_import_gives_up_on_a_busy_store_at_once_or_after_its_lock_timeout() {
    use contas::store::lock::{self as store_lock, LockWait, Scope};
    use sqlx::Connection;
    let options = fresh_database().await;
    let url = options.to_url_lossy().to_string();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(common::fixtures::bank_ndjson().as_bytes())
        .unwrap();
    // Another writer (say, retention) holds the store.
    let mut holder =
        sqlx::PgConnection::connect_with(&options.application_name("contas retention"))
            .await
            .unwrap();
    store_lock::acquire(&mut holder, Scope::Session, LockWait::NoWait)
        .await
        .unwrap();

    let started = Instant::now();
    let output = contas()
        .args(["import", "--no-wait"])
        .arg(file.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(75));
    assert!(started.elapsed() < Duration::from_secs(10));
    let line = error_line(&output.stderr);
    assert!(
        line.contains("`contas retention`") && line.contains("--no-wait"),
        "{line}"
    );

    let started = Instant::now();
    let output = contas()
        .args(["import", "--lock-timeout", "1s"])
        .arg(file.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(75));
    assert!(started.elapsed() >= Duration::from_secs(1));
    let line = error_line(&output.stderr);
    assert!(
        line.contains("1s") && line.contains("--lock-timeout"),
        "{line}"
    );
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(customers, 0, "nothing was imported");

    // Once the lock is free, the same import goes through.
    store_lock::release_session(&mut holder).await.unwrap();
    let output = contas()
        .args(["import", "--no-wait"])
        .arg(file.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn retention_prints_what_it_does_and_refuses_to_keep_less_than_a_year() {
    let url = database_url().await;
    let output = contas()
        .args(["retention", "--keep-months", "11"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("keep at least 12"), "{stderr}");

    for args in [&["retention", "--dry-run"][..], &["retention"][..]] {
        let output = contas()
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.starts_with("retention"), "{stdout}");
        assert!(stdout.contains("statements reach back to"), "{stdout}");
    }
}

/// `contas seed` of a small bank with `extra` arguments, into `url`.
fn seed(url: &str, extra: &[&str]) -> std::process::Output {
    let out = contas()
        .args(["seed", "--customers", "60", "--accounts", "120"])
        .args(["--transactions", "3000", "--months", "2"])
        .args(extra)
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "contas seed {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One file is one transaction, whatever kills the import: `contas import`
/// killed (SIGKILL, no chance to clean up) after it has written rows of a
/// daily feed spread over every account (so, on Citus, over every worker)
/// leaves the store exactly as it was, the writer lock free, and no
/// transaction half prepared on any node; the same feed then imports whole.
#[tokio::test]
async fn an_import_killed_midway_leaves_the_store_as_it_was() {
    let url = database_url().await;
    seed(&url, &[]);
    let feed =
        String::from_utf8(seed(&url, &["--delta", "30000", "--output", "-"]).stdout).unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let before = common::db::dump_content(&pool).await;
    // Over one batch of rows (10,000), so the import writes while it reads.
    let lines: Vec<&str> = feed.lines().collect();
    assert!(lines.len() > 25_000, "{} lines", lines.len());
    let first_part: String = lines[..20_000].iter().map(|l| format!("{l}\n")).collect();

    let (mut import, input) = import_writing(&url, &pool, &first_part).await;
    import.kill().unwrap();
    import.wait().unwrap();
    drop(input);
    wait_until("the killed import's session to end", async || {
        sessions(&pool, "contas import").await == (false, false, false)
    })
    .await;

    assert_eq!(
        common::db::dump_content(&pool).await,
        before,
        "a killed import left some of its rows"
    );
    if common::citus::enabled() {
        let prepared: Vec<String> = sqlx::query_scalar(
            "SELECT result FROM run_command_on_workers(\
               $$SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()$$)",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            prepared,
            ["0", "0"],
            "transactions left prepared on the workers"
        );
    }
    let mut feed_file = tempfile::NamedTempFile::new().unwrap();
    feed_file.write_all(feed.as_bytes()).unwrap();
    let (status, summary) = run(contas()
        .args(["import", "--lock-timeout", "5s"])
        .arg(feed_file.path())
        .env("DATABASE_URL", &url));
    assert_eq!(status, Some(0), "{summary}");
    assert_ne!(common::db::dump_content(&pool).await, before);
}
