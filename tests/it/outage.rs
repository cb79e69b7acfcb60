//! PostgreSQL stops under load and comes back: requests fail fast with the
//! contract's 503, readiness turns false, and the service recovers by itself.
//! The test runs a private cluster (`common::cluster`), the only one it may
//! stop.

use crate::common;

use common::app::TestApp;
use common::cluster::TempCluster;
use common::fixtures::*;
use common::stall::TableLock;
use contas::db::ServingPool;
use contas::http::limits::RequestLimits;
use contas::http::{AppState, router_with_limits};
use sqlx::{ConnectOptions, Connection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// One answer seen by the load: when it was asked, how long it took, status.
struct Answer {
    sent: Instant,
    took: Duration,
    status: u16,
}

async fn ready_status(app: &TestApp) -> u16 {
    app.client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_database_outage_fails_fast_and_heals_without_a_restart() {
    let private = TempCluster::primary().await;
    let pg = &private.cluster;
    let mut admin = pg.connect_options("postgres").connect().await.unwrap();
    sqlx::query("CREATE DATABASE contas")
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let setup = contas::db::connect(pg.connect_options("contas"), 2)
        .await
        .unwrap();
    contas::db::migrate(&setup).await.unwrap();
    load_bank(&setup).await;
    setup.close().await;

    let pool = ServingPool {
        max_connections: 4,
        acquire_timeout: ACQUIRE_TIMEOUT,
        statement_timeout: DEADLINE,
    }
    .open(pg.connect_options("contas"));
    let limits = RequestLimits {
        timeout: DEADLINE,
        ..RequestLimits::default()
    };
    let app = router_with_limits(AppState::with_clock(pool.clone(), now), limits);
    let setup = sqlx::PgPool::connect_lazy_with(pg.connect_options("contas"));
    let app = Arc::new(TestApp::spawn_router(app, setup).await);

    // Steady load from four clients for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    let status = app
                        .post("/accounts", &maria_body(&[MARIA_CHECKING]))
                        .await
                        .status;
                    answers.push(Answer {
                        sent,
                        took: sent.elapsed(),
                        status,
                    });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ready_status(&app).await, 200);
    // Queries in progress when the server goes down: every client waits on
    // a lock when the server crashes (which ends the lock's session too).
    let mut lock = TableLock::take(&pg.connect_options("contas"), "account_holders").await;
    lock.wait_for_waiters(4).await;

    let stopping = Instant::now();
    private.crash().await;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probed = Instant::now();
    assert_eq!(
        ready_status(&app).await,
        503,
        "ready while the store is down"
    );
    assert!(probed.elapsed() < ACQUIRE_TIMEOUT + Duration::from_millis(500));

    let restarting = Instant::now();
    private.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready_status(&app).await != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready 10 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let healed = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);

    let mut answers = Vec::new();
    for client in load {
        answers.extend(client.await.unwrap());
    }
    let during = |from: Instant, to: Instant| {
        answers
            .iter()
            .filter(move |a| a.sent >= from && a.sent + a.took <= to)
    };
    assert!(
        during(down, restarting).count() > 10,
        "too little load during the outage"
    );
    for answer in during(down, restarting) {
        assert_eq!(answer.status, 503, "answered while the store was down");
        assert!(
            answer.took < ACQUIRE_TIMEOUT + Duration::from_millis(500),
            "a request took {:?} to fail while the store was down",
            answer.took
        );
    }
    let cut_off: Vec<_> = answers
        .iter()
        .filter(|a| a.sent < stopping && a.sent + a.took > stopping)
        .collect();
    assert_eq!(cut_off.len(), 4, "the requests waiting on the lock");
    assert!(
        cut_off.iter().all(|a| a.status == 503),
        "{:?}",
        cut_off.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for answer in &answers {
        assert!(
            matches!(answer.status, 200 | 503),
            "status {} (never a 500 nor a 504)",
            answer.status
        );
        assert!(answer.took < DEADLINE, "a request took {:?}", answer.took);
    }
    drop(lock);
    let before: Vec<_> = answers
        .iter()
        .filter(|a| a.sent + a.took < stopping)
        .collect();
    let after: Vec<_> = answers.iter().filter(|a| a.sent > healed).collect();
    assert!(!before.is_empty() && !after.is_empty());
    assert!(before.iter().chain(&after).all(|a| a.status == 200));
}
