//! Private PostgreSQL clusters a test may stop or replicate, unlike the
//! shared test server. Each lives in its own temporary directory, listens
//! only on a socket there, and is stopped and removed on drop.

use contas::embedded_pg::EmbeddedPostgres;
use sqlx::PgPool;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

pub struct TempCluster {
    pub cluster: EmbeddedPostgres,
    // Dropped after the cluster is stopped (fields drop in order).
    dir: tempfile::TempDir,
}

impl TempCluster {
    /// A new, empty cluster.
    pub async fn primary() -> Self {
        Self::start(EmbeddedPostgres::ensure_running).await
    }

    /// A hot standby streaming from `primary`, made with `pg_basebackup`.
    pub async fn standby_of(primary: &TempCluster) -> Self {
        let primary = primary.cluster.clone();
        Self::start(move |dir| primary.start_standby(dir)).await
    }

    async fn start(
        start: impl FnOnce(&std::path::Path) -> anyhow::Result<EmbeddedPostgres> + Send + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // As root the server runs as `postgres`, which must reach the directory.
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let data = dir.path().join("pg");
        let cluster = tokio::task::spawn_blocking(move || start(&data))
            .await
            .unwrap()
            .expect("starting a private PostgreSQL cluster");
        Self { cluster, dir }
    }

    pub fn url(&self, database: &str) -> String {
        self.cluster.url(database)
    }

    pub async fn pool(&self, database: &str) -> PgPool {
        contas::db::connect(self.cluster.connect_options(database), 2)
            .await
            .expect("connecting to a private cluster")
    }

    pub fn stop(&self) {
        self.cluster.stop().expect("stopping a private cluster");
    }

    /// Stops the cluster the way a crash would: SIGQUIT to the postmaster
    /// (PostgreSQL's immediate shutdown), so every session ends where it is
    /// and none releases its locks first. In a fast shutdown a session that
    /// ends early can release a lock and let a waiting query finish before
    /// its own session is ended.
    pub async fn crash(&self) {
        let pid_file = self.dir.path().join("pg/pgdata/postmaster.pid");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("a running cluster has a postmaster.pid")
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .expect("postmaster.pid starts with the postmaster's pid");
        // SAFETY: kill(2) with a pid read from a cluster this test started.
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGQUIT) },
            0,
            "signalling {pid}"
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        // SAFETY: signal 0 only checks that the process still exists.
        while unsafe { libc::kill(pid, 0) } == 0 {
            assert!(
                Instant::now() < deadline,
                "the postmaster outlived SIGQUIT by 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts a stopped primary again on its data.
    pub async fn restart(&self) {
        let data = self.dir.path().join("pg");
        tokio::task::spawn_blocking(move || EmbeddedPostgres::ensure_running(&data))
            .await
            .unwrap()
            .expect("restarting a private PostgreSQL cluster");
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        // Already stopped by the test, or stopping now: either is fine.
        let _ = self.cluster.stop();
    }
}

/// Waits until `standby` has replayed everything `primary` has written so far.
pub async fn wait_for_replay(primary: &PgPool, standby: &PgPool) {
    let target: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let caught_up: bool =
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
                .bind(&target)
                .fetch_one(standby)
                .await
                .unwrap();
        if caught_up {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the standby did not replay up to {target} within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
