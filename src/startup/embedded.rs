//! `contas embedded status|stop`: the embedded PostgreSQL keeps running
//! after `contas` exits, so the next start is instant; these show it and
//! stop it.

use crate::embedded_pg::{self, ClusterState, EmbeddedPostgres};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The database the commands use on the embedded cluster.
const DATABASE: &str = "contas";

/// Exit status of `contas embedded status` when the cluster does not run
/// (as `pg_ctl status`'s).
pub const EXIT_NOT_RUNNING: u8 = 3;

/// `CONTAS_DATA_DIR`, or the default for this user.
pub(super) fn data_dir(configured: Option<PathBuf>) -> PathBuf {
    configured.unwrap_or_else(embedded_pg::default_data_dir)
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
