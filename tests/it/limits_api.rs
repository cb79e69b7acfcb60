//! Deadlines, load shedding and the bounded wait for a database connection,
//! on real requests made slow by a real lock. Every response is validated
//! against the contract (504 and 529 are declared by every operation).

use crate::common;

use common::app::TestApp;
use common::db::fresh_database;
use common::fixtures::*;
use common::stall::TableLock;
use contas::db::{QueryPool, ServingPool};
use contas::http::limits::RequestLimits;
use contas::http::{AppState, router_with_limits};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pool_settings(max_connections: u32) -> ServingPool {
    ServingPool {
        max_connections,
        acquire_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(60),
    }
}

/// The fixture bank served with `limits` through a pool made by `settings`
/// (returned too, for tests that take its connections).
async fn bank(
    limits: RequestLimits,
    settings: ServingPool,
) -> (TestApp, PgConnectOptions, QueryPool) {
    let options = fresh_database().await;
    let setup = contas::db::connect(options.clone(), 2).await.unwrap();
    load_bank(&setup).await;
    let serving = settings.open(options.clone());
    let app = router_with_limits(AppState::with_clock(serving.clone(), now), limits);
    (TestApp::spawn_router(app, setup).await, options, serving)
}

async fn check_account_holder(app: &TestApp) -> common::app::TestResponse {
    app.check_account_holder(BRAND, &json!({"data": {"loggedUserDocument": MARIA}}))
        .await
}

/// `future`'s output, or a failure instead of a hang when a limit does not
/// work.
async fn within<T>(limit: Duration, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("no answer within {limit:?}"))
}

fn accounts_body() -> Value {
    maria_body(&[MARIA_CHECKING])
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_504() {
    let limits = RequestLimits {
        timeout: Duration::from_millis(300),
        ..RequestLimits::default()
    };
    // A statement timeout far beyond the deadline: the 504 is the deadline's.
    let (app, options, serving) = bank(limits, pool_settings(4)).await;
    let lock = TableLock::take(&options, "account_holders").await;

    let (list, statement_body) = (accounts_body(), maria_account_body(MARIA_CHECKING));
    let started = Instant::now();
    let (accounts, statement, holder) = within(Duration::from_secs(10), async {
        tokio::join!(
            app.post("/accounts", &list),
            app.post("/transactions", &statement_body),
            check_account_holder(&app),
        )
    })
    .await;
    let elapsed = started.elapsed();
    for response in [&accounts, &statement, &holder] {
        assert_eq!(response.status, 504, "{}", response.body);
        assert_eq!(response.error_code(), "GATEWAY_TIMEOUT");
    }
    assert!(accounts.body["meta"]["totalRecords"].is_number());
    assert!(statement.body["meta"]["requestDateTime"].is_string());
    assert!(
        elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );

    lock.release().await;
    // The abandoned requests' connections were discarded: the next one is
    // opened before the request, whose 300 ms would otherwise include it
    // (on Citus, with the coordinator's own connections to the workers).
    let lease = serving.acquire().await.unwrap();
    lease.finish(Ok(())).unwrap();
    assert_eq!(app.post("/accounts", &accounts_body()).await.status, 200);
}

/// As served: the statement timeout is the request's deadline, so the query
/// of an abandoned request does not run on in PostgreSQL.
#[tokio::test]
async fn the_query_of_a_timed_out_request_is_cancelled_in_the_database() {
    let deadline = Duration::from_millis(300);
    let limits = RequestLimits {
        timeout: deadline,
        ..RequestLimits::default()
    };
    let settings = ServingPool {
        statement_timeout: deadline,
        acquire_timeout: Duration::from_millis(200),
        ..pool_settings(4)
    };
    let (app, options, _) = bank(limits, settings).await;
    let mut lock = TableLock::take(&options, "account_holders").await;

    let started = Instant::now();
    let response = within(
        Duration::from_secs(10),
        app.post("/accounts", &accounts_body()),
    )
    .await;
    assert_eq!(response.status, 504, "{}", response.body);
    assert_eq!(response.error_code(), "GATEWAY_TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(2));
    // PostgreSQL cancels the statement at the same deadline.
    lock.wait_for_waiters(0).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the abandoned query ran on for {:?}",
        started.elapsed()
    );
    lock.release().await;
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_refused_at_once_with_529() {
    let limits = RequestLimits {
        timeout: Duration::from_secs(20),
        max_in_flight: 2,
        ..RequestLimits::default()
    };
    let (app, options, _) = bank(limits, pool_settings(4)).await;
    let app = Arc::new(app);
    let mut lock = TableLock::take(&options, "account_holders").await;

    let in_flight: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.post("/accounts", &accounts_body()).await.status })
        })
        .collect();
    lock.wait_for_waiters(2).await;

    let started = Instant::now();
    let refused = within(
        Duration::from_secs(10),
        app.post("/accounts", &accounts_body()),
    )
    .await;
    let holder = within(Duration::from_secs(10), check_account_holder(&app)).await;
    let elapsed = started.elapsed();
    for response in [&refused, &holder] {
        assert_eq!(response.status, 529, "{}", response.body);
        assert_eq!(response.error_code(), "SITE_IS_OVERLOADED");
    }
    assert!(
        elapsed < Duration::from_millis(500),
        "refusing took {elapsed:?}"
    );
    let live = app
        .client
        .get(format!("{}/health/live", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "probes are not shed");

    lock.release().await;
    for request in in_flight {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(app.post("/accounts", &accounts_body()).await.status, 200);
}

#[tokio::test]
async fn waiting_for_a_database_connection_is_bounded() {
    let acquire_timeout = Duration::from_millis(300);
    let settings = ServingPool {
        acquire_timeout,
        ..pool_settings(1)
    };
    let (app, _, serving) = bank(RequestLimits::default(), settings).await;
    let held = serving.acquire().await.unwrap();

    let started = Instant::now();
    let response = within(
        Duration::from_secs(10),
        app.post("/accounts", &accounts_body()),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.error_code(), "SERVICE_UNAVAILABLE");
    assert!(
        elapsed >= acquire_timeout && elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );

    drop(held);
    assert_eq!(app.post("/accounts", &accounts_body()).await.status, 200);
}

/// A server that refuses connections (TCP, nothing listening): requests and
/// readiness fail within the acquire timeout, with the contract's 503.
#[tokio::test]
async fn an_unreachable_database_fails_requests_within_the_acquire_timeout() {
    let closed_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let settings = ServingPool {
        acquire_timeout: Duration::from_millis(500),
        ..pool_settings(4)
    };
    let pool = settings.open(
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(closed_port)
            .username("postgres")
            .database("contas"),
    );
    let app = router_with_limits(
        AppState::with_clock(pool.clone(), now),
        RequestLimits::default(),
    );
    let unreachable = sqlx::PgPool::connect_lazy_with(
        PgConnectOptions::new().host("127.0.0.1").port(closed_port),
    );
    let app = TestApp::spawn_router(app, unreachable).await;

    let started = Instant::now();
    let response = app.post("/accounts", &accounts_body()).await;
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.error_code(), "SERVICE_UNAVAILABLE");
    let ready = app
        .client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "two answers took {:?}",
        started.elapsed()
    );
}
