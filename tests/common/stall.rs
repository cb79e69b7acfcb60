//! Making real requests slow: a test holds an exclusive lock on a table, so
//! the service's queries on it wait in PostgreSQL until the test lets go.

use sqlx::postgres::{PgConnectOptions, PgConnection};
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use std::time::{Duration, Instant};

pub struct TableLock {
    holder: PgConnection,
    observer: PgConnection,
}

impl TableLock {
    /// Locks `table` of the database at `options` against every reader.
    pub async fn take(options: &PgConnectOptions, table: &str) -> Self {
        let mut holder = options.connect().await.expect("connecting the lock holder");
        sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
        sqlx::query(AssertSqlSafe(format!(
            "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        )))
        .execute(&mut holder)
        .await
        .unwrap();
        let observer = options.connect().await.expect("connecting the observer");
        Self { holder, observer }
    }

    /// Sessions of this database waiting for a lock right now.
    pub async fn waiters(&mut self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut self.observer)
        .await
        .unwrap()
    }

    /// Waits until `count` sessions wait for the lock (the requests are in
    /// progress inside the service).
    pub async fn wait_for_waiters(&mut self, count: i64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting = self.waiters().await;
            if waiting == count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{waiting} sessions wait for the lock, not {count}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn release(mut self) {
        sqlx::query("ROLLBACK")
            .execute(&mut self.holder)
            .await
            .unwrap();
        self.holder.close().await.ok();
        self.observer.close().await.ok();
    }
}
