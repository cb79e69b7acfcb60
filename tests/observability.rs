//! What operators see: `/metrics` in Prometheus's text format, and the JSON
//! log lines requests leave, with their correlation ids and without the
//! fixture bank's personal data.
//!
//! A test binary of its own, not a module of `tests/it/`: the log tests count
//! the lines captured in their process (a request without an id must leave
//! exactly one line with a generated one), so no other area's requests may
//! log beside them.

mod common;

use common::app::TestApp;
use common::db::{fresh_pool, take_database_away};
use common::fixtures::*;
use common::logs;
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

async fn bank() -> TestApp {
    let pool = fresh_pool().await;
    load_bank(&pool).await;
    TestApp::spawn(pool, now()).await
}

// ---- metrics ----------------------------------------------------------------

/// One sample of the exposition: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text format 0.0.4, checking every sample belongs to a
/// family declared by `# TYPE` (histograms through their suffixes).
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declaration.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.strip_suffix('}').unwrap()),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap();
                let value = value.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
                (key.to_owned(), value.to_owned())
            })
            .collect();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "{name} has no # TYPE");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: value.parse().unwrap_or_else(|_| panic!("value of {line}")),
        });
    }
    samples
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    parse_exposition(&scrape_text(app).await)
}

/// `/metrics` as the service wrote it.
async fn scrape_text(app: &TestApp) -> String {
    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_time_them_and_show_the_pool() {
    let app = bank().await;
    for _ in 0..2 {
        let ok = app
            .post("/balances", &maria_account_body(MARIA_CHECKING))
            .await;
        assert_eq!(ok.status, 200);
    }
    let mut not_consented = maria_account_body(MARIA_CHECKING);
    not_consented["accountId"] = account_id(JOAO_CHECKING);
    assert_eq!(app.post("/balances", &not_consented).await.status, 403);
    assert_eq!(app.post("/no/such/path", &json!({})).await.status, 404);
    assert_eq!(app.post("/other/unknown", &json!({})).await.status, 404);

    let samples = scrape(&app).await;
    let requests = |operation: &str, status: &str| {
        value(
            &samples,
            "contas_http_requests_total",
            &[("operation", operation), ("status", status)],
        )
    };
    assert_eq!(requests("/balances", "200"), Some(2.0));
    assert_eq!(requests("/balances", "403"), Some(1.0));
    // Unknown paths share one label: the label set stays bounded.
    assert_eq!(requests("unmatched", "404"), Some(2.0));
    assert!(
        samples
            .iter()
            .filter(|s| s.name == "contas_http_requests_total")
            .all(|s| !s.labels["operation"].contains("unknown")),
        "raw paths must not become labels"
    );

    let buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| {
            s.name == "contas_http_request_duration_seconds_bucket"
                && s.labels["operation"] == "/balances"
        })
        .map(|s| {
            let le = &s.labels["le"];
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (bound, s.value)
        })
        .collect();
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    );
    assert!(
        buckets.iter().any(|(le, _)| *le == 0.01),
        "a bucket ends at 10 ms"
    );
    assert!(buckets.iter().filter(|(le, _)| *le <= 0.01).count() >= 5);
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 3.0)));
    let count = value(
        &samples,
        "contas_http_request_duration_seconds_count",
        &[("operation", "/balances")],
    );
    assert_eq!(count, Some(3.0));
    let sum = value(
        &samples,
        "contas_http_request_duration_seconds_sum",
        &[("operation", "/balances")],
    )
    .unwrap();
    assert!(sum > 0.0 && sum < 3.0 * 5.0, "{sum}");

    assert_eq!(
        value(&samples, "contas_http_requests_in_flight", &[]),
        Some(1.0)
    );
    let in_use = value(
        &samples,
        "contas_db_pool_connections",
        &[("state", "in_use")],
    )
    .unwrap();
    let idle = value(&samples, "contas_db_pool_connections", &[("state", "idle")]).unwrap();
    assert_eq!(in_use, 0.0, "no request holds a connection now");
    assert!(idle >= 1.0);
    assert_eq!(
        value(&samples, "contas_db_pool_max_connections", &[]),
        Some(5.0)
    );
    assert_eq!(value(&samples, "contas_db_pool_waiting", &[]), Some(0.0));
}

#[tokio::test]
async fn metrics_show_requests_waiting_for_a_connection() {
    let app = bank().await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(app.serving.as_ref().unwrap().acquire().await.unwrap());
    }
    let gauge = |samples: &[Sample], name, state| {
        let labels: &[(&str, &str)] = match state {
            Some(state) => &[("state", state)],
            None => &[],
        };
        value(samples, name, labels).unwrap()
    };
    let waiting = {
        let base = app.base.clone();
        let client = app.client.clone();
        tokio::spawn(async move {
            client
                .post(format!("{base}/balances"))
                .json(&maria_account_body(MARIA_CHECKING))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let mut seen = 0.0;
    for _ in 0..100 {
        let samples = scrape(&app).await;
        seen = gauge(&samples, "contas_db_pool_waiting", None);
        if seen == 1.0 {
            assert_eq!(
                gauge(&samples, "contas_db_pool_connections", Some("in_use")),
                5.0
            );
            assert_eq!(gauge(&samples, "contas_http_requests_in_flight", None), 2.0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 1.0, "the blocked request is counted as waiting");
    drop(held);
    assert_eq!(waiting.await.unwrap(), 200);
    let samples = scrape(&app).await;
    assert_eq!(gauge(&samples, "contas_db_pool_waiting", None), 0.0);
}

// ---- logs -----------------------------------------------------------------

/// A correlation id no other test uses.
fn fresh_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "0b5e7a11-0000-4000-8000-{:012x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A request the log test sends, and what its completion line must say.
struct Sent {
    id: String,
    operation: &'static str,
    status: u16,
}

struct Driver<'a> {
    app: &'a TestApp,
    sent: Vec<Sent>,
}

impl Driver<'_> {
    /// POSTs `body` with a fresh correlation id in `requestMeta`.
    async fn post(&mut self, operation: &'static str, mut body: Value, status: u16) {
        let id = fresh_id();
        body["requestMeta"]["correlationId"] = json!(id);
        let response = self.app.post(operation, &body).await;
        assert_eq!(response.status, status, "{operation}: {}", response.body);
        self.sent.push(Sent {
            id,
            operation,
            status,
        });
    }

    /// Sends anything, with a fresh correlation id in `x-correlation-id`.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        operation: &'static str,
        mut headers: HeaderMap,
        body: Option<&[u8]>,
        status: u16,
    ) {
        let id = fresh_id();
        headers.insert("x-correlation-id", id.parse().unwrap());
        let response = self
            .app
            .send(
                method,
                path,
                headers,
                body.map(<[u8]>::to_vec),
                "application/json",
            )
            .await;
        assert_eq!(response.status, status, "{path}: {}", response.body);
        self.sent.push(Sent {
            id,
            operation,
            status,
        });
    }

    /// GETs a path outside the contract (no response validation).
    async fn get(&mut self, path: &str, operation: &'static str, status: u16) {
        let id = fresh_id();
        let response = self
            .app
            .client
            .get(format!("{}{path}", self.app.base))
            .header("x-correlation-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        self.sent.push(Sent {
            id,
            operation,
            status,
        });
    }
}

fn parsed_lines() -> Vec<Value> {
    logs::lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn completions_of<'a>(lines: &'a [Value], id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["message"] == "request completed" && l["correlation_id"] == id)
        .collect()
}

#[tokio::test]
async fn every_request_logs_one_line_with_its_id_and_no_personal_data() {
    let app = bank().await;
    let mut driver = Driver {
        app: &app,
        sent: Vec::new(),
    };
    let maria_all = || maria_body(&[MARIA_CHECKING, MARIA_SAVINGS, JOINT]);
    let discovery = || json!({"consent": consent(MARIA, None, &["ACCOUNTS_READ"], vec![]), "requestMeta": request_meta(BRAND)});

    // Each Accounts operation, answered and refused.
    driver.post("/account-discovery", discovery(), 200).await;
    let mut other_brand = discovery();
    other_brand["requestMeta"]["brandId"] = json!(OTHER_BRAND);
    driver.post("/account-discovery", other_brand, 403).await;
    driver.post("/accounts", maria_all(), 200).await;
    let mut page_zero = maria_all();
    page_zero["page"] = json!(0);
    driver.post("/accounts", page_zero, 400).await;
    for operation in [
        "/find",
        "/balances",
        "/overdraft-limits",
        "/transactions",
        "/transactions-current",
    ] {
        driver
            .post(operation, maria_account_body(MARIA_CHECKING), 200)
            .await;
        // Another holder's account, outside the consent.
        let mut not_consented = maria_account_body(MARIA_CHECKING);
        not_consented["accountId"] = account_id(JOAO_CHECKING);
        driver.post(operation, not_consented, 403).await;
        // An account the bank does not have, inside the consent.
        let unknown = maria_account_body("99999999");
        driver.post(operation, unknown, 404).await;
    }
    let mut bad_dates = maria_account_body(MARIA_CHECKING);
    bad_dates["fromBookingDate"] = json!("2026-02-30");
    driver.post("/transactions", bad_dates, 400).await;
    // Personal data inside a rejected field: the detail quotes it to the
    // caller, the log must not. The body is refused before its requestMeta
    // is read, so the header's id is the request's.
    let mut quoting = maria_account_body(MARIA_CHECKING);
    quoting["consent"]["permissions"] = json!("Maria da Silva 529.982.247-25 conta 10000001");
    let quoting = quoting.to_string();
    driver
        .send(
            Method::POST,
            "/balances",
            "/balances",
            HeaderMap::new(),
            Some(quoting.as_bytes()),
            400,
        )
        .await;

    // The holder check in both revisions.
    let mut rev1 = HeaderMap::new();
    rev1.insert("x-brand-id", BRAND.parse().unwrap());
    let holder = json!({"data": {"loggedUserDocument": MARIA}}).to_string();
    driver
        .send(
            Method::POST,
            "/check-account-holder",
            "/check-account-holder",
            rev1.clone(),
            Some(holder.as_bytes()),
            200,
        )
        .await;
    let not_a_cpf = json!({"data": {"loggedUserDocument": "Maria da Silva"}}).to_string();
    driver
        .send(
            Method::POST,
            "/check-account-holder",
            "/check-account-holder",
            rev1,
            Some(not_a_cpf.as_bytes()),
            400,
        )
        .await;
    let rev4 = json!({
        "requestBody": {"data": {"loggedUserDocument": JOAO}},
        "requestMeta": {"correlationId": "replaced", "brandId": BRAND},
    });
    driver.post("/check-account-holder", rev4, 200).await;

    // Refusals before any handler runs.
    let body = maria_account_body(MARIA_CHECKING).to_string();
    driver
        .send(
            Method::POST,
            "/balances",
            "/balances",
            HeaderMap::new(),
            Some(b"{\"consent\": 529"),
            400,
        )
        .await;
    let mut html = HeaderMap::new();
    html.insert(ACCEPT, "text/html".parse().unwrap());
    driver
        .send(
            Method::POST,
            "/balances",
            "/balances",
            html,
            Some(body.as_bytes()),
            406,
        )
        .await;
    driver
        .send(
            Method::GET,
            "/balances",
            "/balances",
            HeaderMap::new(),
            None,
            405,
        )
        .await;
    driver
        .send(
            Method::POST,
            "/accounts/52998224725",
            "unmatched",
            HeaderMap::new(),
            Some(body.as_bytes()),
            404,
        )
        .await;

    // Outside the contract.
    driver.get("/health/live", "/health/live", 200).await;
    driver.get("/health/ready", "/health/ready", 200).await;
    driver.get("/metrics", "/metrics", 200).await;
    driver
        .get("/openapi/accounts.yaml", "/openapi/{file}", 200)
        .await;

    // A request that brings no id gets a generated one.
    let response = app
        .client
        .post(format!("{}/find", app.base))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A CPF sent as the id is masked like any other.
    let response = app
        .client
        .get(format!("{}/health/live", app.base))
        .header("x-correlation-id", MARIA)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Last: the store goes away, and the request logs why it failed.
    take_database_away(&app.pool).await;
    driver
        .post("/balances", maria_account_body(MARIA_CHECKING), 503)
        .await;

    let lines = parsed_lines();
    for sent in &driver.sent {
        let completions = completions_of(&lines, &sent.id);
        assert_eq!(
            completions.len(),
            1,
            "{} {}: {completions:?}",
            sent.operation,
            sent.id
        );
        let line = completions[0];
        assert_eq!(line["operation"], sent.operation, "{line}");
        assert_eq!(line["status"], sent.status, "{line}");
        assert!(
            line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
        assert!(line["method"].is_string(), "{line}");
        let expected_level = if sent.status >= 500 { "WARN" } else { "INFO" };
        assert_eq!(line["level"], expected_level, "{line}");
        assert_eq!(line["error_code"].is_string(), sent.status >= 400, "{line}");
    }
    let failed = &driver.sent.last().unwrap().id;
    let caused: Vec<&Value> = lines
        .iter()
        .filter(|l| l["correlation_id"] == *failed)
        .collect();
    assert!(
        caused
            .iter()
            .any(|l| l["level"] == "ERROR" && l["message"] == "database unavailable"),
        "the failure's cause carries the request's id: {caused:?}"
    );
    assert!(caused.iter().all(|l| l["operation"] == "/balances"));

    let generated: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["operation"] == "/find"
                && l["status"] == 400
                && l["correlation_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("contas-"))
        })
        .collect();
    assert_eq!(generated.len(), 1, "{generated:?}");
    assert_eq!(completions_of(&lines, "529******25").len(), 1);

    let personal_data = logs::personal_data();
    assert!(personal_data.contains(&"529.982.247-25".to_owned()));
    assert!(personal_data.contains(&"Maria da Silva".to_owned()));
    assert!(personal_data.contains(&MARIA_CHECKING.to_owned()));
    for line in logs::lines() {
        assert_eq!(logs::problem(&line, &personal_data), None);
    }
}

/// The whole run's captured logs, every test binary's: each line one JSON
/// object free of the fixture bank's personal data. Run it after the full
/// suite: `cargo test --test observability -- --ignored`.
#[test]
#[ignore = "scans the logs a full `cargo test` leaves; run it after one"]
fn captured_logs_of_the_whole_run_are_clean() {
    let personal_data = logs::personal_data();
    let dir = logs::directory();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo test` first)", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert!(!files.is_empty(), "no captured logs in {}", dir.display());
    let mut problems = Vec::new();
    let mut count = 0;
    for file in &files {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            count += 1;
            if let Some(problem) = logs::problem(line, &personal_data) {
                problems.push(format!("{}: {problem}", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!("{count} lines in {} files are clean", files.len());
}

#[test]
fn the_log_check_catches_personal_data_and_broken_lines() {
    let personal_data = logs::personal_data();
    let line = |text: &str| json!({"message": text}).to_string();
    assert_eq!(logs::problem(&line("ok"), &personal_data), None);
    for leak in [
        "Padaria Pão Quente Ltda",
        "11.222.333/0001-81",
        "11144477735",
        "10000008",
    ] {
        assert!(
            logs::problem(&line(leak), &personal_data).is_some(),
            "{leak}"
        );
    }
    // A number's fraction is not an account number (a slow statement's
    // duration once read as account 10000001), but digits run together
    // with a branch still are.
    let duration = json!({"elapsed_secs": 1.3155663610000001}).to_string();
    assert!(duration.contains("10000001"), "{duration}");
    assert_eq!(logs::problem(&duration, &personal_data), None);
    assert!(logs::problem(&line("000110000008"), &personal_data).is_some());
    assert!(logs::problem(&line("conta 10000008."), &personal_data).is_some());
    assert!(logs::problem("plain text", &personal_data).is_some());
    assert!(logs::problem("[1]", &personal_data).is_some());
}

#[tokio::test]
async fn a_request_the_client_gives_up_on_is_logged_and_counted() {
    let app = bank().await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(app.serving.as_ref().unwrap().acquire().await.unwrap());
    }
    let id = fresh_id();
    let mut body = maria_account_body(MARIA_CHECKING);
    body["requestMeta"]["correlationId"] = json!(id);
    let gave_up = app
        .client
        .post(format!("{}/balances", app.base))
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(gave_up.unwrap_err().is_timeout());
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = parsed_lines();
        if lines.iter().any(|l| l["correlation_id"] == *id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);
    let mine: Vec<&Value> = lines
        .iter()
        .filter(|l| l["correlation_id"] == *id)
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["message"], "request cancelled by the client");
    assert_eq!(mine[0]["level"], "WARN");
    assert_eq!(mine[0]["operation"], "/balances");
    assert_eq!(mine[0]["status"], 499);
    assert!(
        mine[0]["latency_ms"].as_f64().unwrap() >= 200.0,
        "{}",
        mine[0]
    );

    let samples = scrape(&app).await;
    let balances = [("operation", "/balances"), ("status", "499")];
    assert_eq!(
        value(&samples, "contas_http_requests_total", &balances),
        Some(1.0)
    );
    let count = value(
        &samples,
        "contas_http_request_duration_seconds_count",
        &[("operation", "/balances")],
    );
    assert_eq!(
        count,
        Some(1.0),
        "a slow request given up on still shows in latency"
    );
    assert_eq!(
        value(&samples, "contas_http_requests_in_flight", &[]),
        Some(1.0)
    );
    assert_eq!(value(&samples, "contas_db_pool_waiting", &[]), Some(0.0));
}

// ---- what the operator kit reads ---------------------------------------------

/// When did the fixture bank's feed arrive, by brand.
fn feed_times(samples: &[Sample], name: &str) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| (s.labels["brand"].clone(), s.value))
        .collect()
}

#[tokio::test]
async fn metrics_show_when_each_brands_feed_arrived() {
    let pool = fresh_pool().await;
    let before = chrono::Utc::now().timestamp() as f64;
    load_bank(&pool).await;
    let app = TestApp::spawn(pool.clone(), now()).await;
    let samples = scrape(&app).await;
    let imported = feed_times(&samples, "contas_import_last_success_timestamp_seconds");
    assert_eq!(
        imported.keys().collect::<Vec<_>>(),
        [BRAND, OTHER_BRAND],
        "every brand the file named"
    );
    let after = chrono::Utc::now().timestamp() as f64 + 1.0;
    assert!(
        imported.values().all(|t| (before..after).contains(t)),
        "{imported:?}"
    );
    // The newest balance line of the brand; the other brand sent none.
    let balances = feed_times(&samples, "contas_balance_last_update_timestamp_seconds");
    let newest = "2026-11-20T11:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp() as f64;
    assert_eq!(balances, BTreeMap::from([(BRAND.to_owned(), newest)]));

    // A refused file is no feed: nothing moves. A later file of older
    // balances moves the import time only.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let refused = format!(
        "{}\n{}\n",
        json!({"record": "balance", "brandId": BRAND, "accountId": account_id(MARIA_CHECKING),
               "availableAmount": "1.00", "blockedAmount": "0.00", "automaticallyInvestedAmount": "0.00",
               "currency": "BRL", "updateDateTime": "2026-11-25T10:00:00Z"}),
        json!({"record": "balance", "brandId": BRAND, "accountId": account_id("99999999"),
               "availableAmount": "1.00", "blockedAmount": "0.00", "automaticallyInvestedAmount": "0.00",
               "currency": "BRL", "updateDateTime": "2026-11-25T10:00:00Z"}),
    );
    contas::import::import_reader(&pool, refused.as_bytes(), false)
        .await
        .expect_err("an unknown account");
    let samples = scrape(&app).await;
    assert_eq!(
        feed_times(&samples, "contas_import_last_success_timestamp_seconds"),
        imported
    );
    let older = format!(
        "{}\n",
        json!({"record": "balance", "brandId": BRAND, "accountId": account_id(MARIA_SAVINGS),
               "availableAmount": "1.00", "blockedAmount": "0.00", "automaticallyInvestedAmount": "0.00",
               "currency": "BRL", "updateDateTime": "2026-11-01T10:00:00Z"}),
    );
    contas::import::import_reader(&pool, older.as_bytes(), false)
        .await
        .unwrap();
    let samples = scrape(&app).await;
    let again = feed_times(&samples, "contas_import_last_success_timestamp_seconds");
    assert!(again[BRAND] > imported[BRAND], "{again:?}");
    assert_eq!(again[OTHER_BRAND], imported[OTHER_BRAND], "not in the file");
    assert_eq!(
        feed_times(&samples, "contas_balance_last_update_timestamp_seconds"),
        balances,
        "never backwards"
    );
}

#[tokio::test]
async fn metrics_show_the_process_and_its_build() {
    let app = bank().await;
    let samples = scrape(&app).await;
    let build = samples
        .iter()
        .find(|s| s.name == "contas_build_info")
        .expect("build info");
    assert_eq!(build.value, 1.0);
    assert_eq!(build.labels["version"], env!("CARGO_PKG_VERSION"));
    assert!(!build.labels["revision"].is_empty());
    let gauge = |name: &str| value(&samples, name, &[]).unwrap_or_else(|| panic!("{name}"));
    let now = chrono::Utc::now().timestamp() as f64;
    let started = gauge("process_start_time_seconds");
    assert!(now - 3600.0 < started && started <= now + 1.0, "{started}");
    assert!(gauge("process_cpu_seconds_total") > 0.0);
    assert!(gauge("process_resident_memory_bytes") > 1e6);
    assert!(gauge("process_virtual_memory_bytes") >= gauge("process_resident_memory_bytes"));
    assert!((1.0..=gauge("process_max_fds")).contains(&gauge("process_open_fds")));
}

/// The metric names a text uses: words starting `contas_` or `process_`
/// (recording rules name theirs `level:metric:operation`, so the colon ends
/// a word).
fn metric_names_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| {
            ["contas_", "process_"]
                .iter()
                .any(|prefix| word.len() > prefix.len() && word.starts_with(prefix))
        })
        .filter(|word| !word.chars().any(|c| c.is_ascii_uppercase()))
        .map(str::to_owned)
        .collect()
}

/// Files under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The alert rules, their tests and the dashboard name metrics; a name the
/// service does not export would be a rule that never fires or a panel that
/// stays empty.
#[tokio::test]
async fn every_metric_the_operator_kit_reads_is_exported() {
    let app = bank().await;
    // One answered request, so the per-operation families have samples.
    app.post("/accounts", &json!({})).await;
    let text = scrape_text(&app).await;
    let samples = parse_exposition(&text);
    let mut exported: std::collections::BTreeSet<String> =
        samples.iter().map(|s| s.name.clone()).collect();
    exported.extend(
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .map(str::to_owned),
    );
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut read = 0;
    let mut missing = Vec::new();
    for dir in ["prometheus", "grafana"] {
        for file in files_under(&deploy.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in metric_names_in(&text) {
                read += 1;
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name);
                if !exported.contains(&name) && !exported.contains(base) {
                    missing.push(format!("{}: {name}", file.display()));
                }
            }
        }
    }
    assert!(read > 50, "only {read} metric names found under {deploy:?}");
    assert!(
        missing.is_empty(),
        "names the service does not export:\n{}",
        missing.join("\n")
    );
}

#[test]
fn metric_names_are_found_in_rules_and_queries() {
    assert_eq!(
        metric_names_in(
            "expr: operation:contas_http_requests_total:ratio_5m > 0.01 and \
             rate(process_cpu_seconds_total[5m]) # CONTAS_API_TOKEN process_* contas_x\"y"
        ),
        [
            "contas_http_requests_total",
            "process_cpu_seconds_total",
            "contas_x"
        ]
    );
}
