//! The embedded PostgreSQL every command uses without `DATABASE_URL`, and
//! `contas embedded status|stop`: it keeps running after `contas` exits, so
//! the next command starts at once; every command on it says so.

use super::connect::connect;
use crate::embedded_pg::{self, ClusterState, EmbeddedPostgres};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What every command on the embedded cluster says once, so nobody is
/// surprised by a PostgreSQL left running.
pub(super) const KEEPS_RUNNING: &str =
    "keeps running after contas exits (`contas embedded stop` stops it)";

/// The database the commands use on the embedded cluster.
const DATABASE: &str = "contas";

/// Exit status of `contas embedded status` when the cluster does not run
/// (as `pg_ctl status`'s).
pub const EXIT_NOT_RUNNING: u8 = 3;

/// `CONTAS_DATA_DIR`, or the default for this user.
pub(super) fn data_dir(configured: Option<PathBuf>) -> PathBuf {
    configured.unwrap_or_else(embedded_pg::default_data_dir)
}

/// The embedded cluster under `dir`, started (and made, the first time)
/// unless it runs, with the commands' database in it.
pub(super) async fn open(dir: &Path) -> Result<EmbeddedPostgres> {
    let dir = dir.to_path_buf();
    let cluster =
        tokio::task::spawn_blocking(move || EmbeddedPostgres::ensure_running(&dir)).await??;
    let pool = connect(cluster.connect_options("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&pool)
            .await?;
    if !exists {
        // DATABASE is our own constant identifier.
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {DATABASE}")))
            .execute(&pool)
            .await;
        // Another command starting at the same time may have made it.
        if let Err(e) = created
            && !is_duplicate_database(&e)
        {
            return Err(e).context("creating the embedded database");
        }
    }
    pool.close().await;
    Ok(cluster)
}

fn is_duplicate_database(error: &sqlx::Error) -> bool {
    // 42P04: duplicate_database; 23505: the race lost on pg_database's
    // unique index.
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "42P04" || code == "23505")
}

/// The connection options of the commands' database on `cluster`.
pub(super) fn database_options(cluster: &EmbeddedPostgres) -> sqlx::postgres::PgConnectOptions {
    cluster.connect_options(DATABASE)
}

/// The URL of the commands' database on `cluster`, for psql or
/// `DATABASE_URL`.
pub(super) fn database_url(cluster: &EmbeddedPostgres) -> String {
    cluster.url(DATABASE)
}

/// `contas embedded status`: prints the cluster's state, where it is and
/// its size; true when it runs.
pub(super) fn status(dir: &Path) -> Result<bool> {
    let cluster = EmbeddedPostgres::at(dir);
    let state = cluster.state()?;
    println!(
        "embedded PostgreSQL: {}",
        match state {
            ClusterState::Running => "running",
            ClusterState::Stopped => "not running",
            ClusterState::Absent => "not running (none made yet)",
        }
    );
    println!("data directory: {}", dir.display());
    if state == ClusterState::Absent {
        return Ok(false);
    }
    if state == ClusterState::Running {
        println!("socket: {}", cluster.socket().display());
        println!("url: {}", database_url(&cluster));
    }
    match cluster.size() {
        Ok(bytes) => println!("size: {}", human_size(bytes)),
        Err(e) => println!("size: unknown ({e:#})"),
    }
    Ok(state == ClusterState::Running)
}

/// `contas embedded stop`: a fast shutdown (open sessions are ended);
/// a cluster that does not run is left as it is.
pub(super) fn stop(dir: &Path) -> Result<()> {
    if EmbeddedPostgres::at(dir).stop_if_running()? {
        println!("embedded PostgreSQL under {} stopped", dir.display());
    } else {
        println!("embedded PostgreSQL under {} not running", dir.display());
    }
    Ok(())
}

/// Bytes in binary units, one decimal: `41.3 MiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(43_306_188), "41.3 MiB");
        assert_eq!(human_size(5 << 40), "5.0 TiB");
    }
}
