//! Liveness and readiness, as an orchestrator probes them.

use crate::common;

use common::app::TestApp;
use common::db::{fresh_pool, take_database_away};
use common::fixtures::now;

async fn get(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = app.get_outside_contract(path).await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn ready_only_while_the_migrated_store_answers() {
    let app = TestApp::spawn(fresh_pool().await, now()).await;
    assert_eq!(get(&app, "/health/live").await.0, 200);
    assert_eq!(
        get(&app, "/health/ready").await,
        (200, serde_json::json!({"status": "ready"}))
    );

    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("migrations pending"))
    );

    take_database_away(&app.pool).await;
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("database unavailable"))
    );
    assert_eq!(
        get(&app, "/health/live").await.0,
        200,
        "a database outage is not a reason to restart"
    );
}
