//! A private PostgreSQL cluster started from the machine's installed
//! binaries, so `contas serve` and the test suite work with no configuration.
//!
//! The cluster listens only on a Unix socket inside its own directory (no TCP
//! port to collide with), trusts local connections, and stays running after
//! the process exits so the next start is instant. PostgreSQL refuses to run
//! as root, so as root every server command runs as the `postgres` user.

use anyhow::{Context, Result, bail};
use sqlx::postgres::PgConnectOptions;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

const SUPERUSER: &str = "postgres";
const PORT: u16 = 5432;

/// What is under a cluster's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    /// No cluster has been made there.
    Absent,
    Stopped,
    Running,
}

#[derive(Debug, Clone)]
pub struct EmbeddedPostgres {
    dir: PathBuf,
}

impl EmbeddedPostgres {
    /// Starts (initialising first, if new) the cluster kept under `dir`, or
    /// attaches to it when it already runs. Safe to call from several
    /// processes at once.
    pub fn ensure_running(dir: &Path) -> Result<Self> {
        Self::ensure_running_with(dir, &[])
    }

    /// [`ensure_running`](Self::ensure_running) with server `settings`
    /// (name, value) given at start; a cluster already running keeps its own.
    pub fn ensure_running_with(dir: &Path, settings: &[(&str, &str)]) -> Result<Self> {
        let bin = find_binaries()?;
        let as_root = is_root();
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if as_root {
            run(Command::new("chown").arg(format!("{SUPERUSER}:")).arg(dir))?;
        }
        let _lock = lock(dir)?;

        let pgdata = dir.join("pgdata");
        if !pgdata.join("PG_VERSION").exists() {
            run(server_command(&bin.join("initdb"), as_root)
                .arg("--pgdata")
                .arg(&pgdata)
                .args([
                    "--auth=trust",
                    "--username",
                    SUPERUSER,
                    "--encoding=UTF8",
                    "--no-locale",
                ]))
            .context("initdb failed")?;
        }
        if !is_running(&bin, &pgdata)? {
            let mut options = format!(
                "-c listen_addresses='' -c unix_socket_directories='{}' -p {PORT}",
                dir.display()
            );
            for (name, value) in settings {
                options += &format!(" -c {name}='{value}'");
            }
            run(server_command(&bin.join("pg_ctl"), as_root)
                .arg("start")
                .arg("--pgdata")
                .arg(&pgdata)
                .arg("--log")
                .arg(dir.join("postgres.log"))
                .args(["--wait", "--timeout", "60", "-o"])
                .arg(options))
            .with_context(|| {
                format!(
                    "starting PostgreSQL; see {}",
                    dir.join("postgres.log").display()
                )
            })?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Makes the cluster under `dir` a streaming replica of this one
    /// (`pg_basebackup --write-recovery-conf`, unless `dir` already holds
    /// one) and starts it: a hot standby that serves reads and follows this
    /// cluster's writes. initdb's `pg_hba.conf` lets local connections
    /// replicate, and PostgreSQL's defaults (`wal_level = replica`,
    /// `max_wal_senders = 10`) stream WAL.
    pub fn start_standby(&self, dir: &Path) -> Result<Self> {
        let bin = find_binaries()?;
        let as_root = is_root();
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if as_root {
            run(Command::new("chown").arg(format!("{SUPERUSER}:")).arg(dir))?;
        }
        let pgdata = dir.join("pgdata");
        if !pgdata.join("PG_VERSION").exists() {
            run(server_command(&bin.join("pg_basebackup"), as_root)
                .arg("--pgdata")
                .arg(&pgdata)
                .arg("--host")
                .arg(&self.dir)
                .args([
                    "--port",
                    &PORT.to_string(),
                    "--username",
                    SUPERUSER,
                    "--no-password",
                    "--wal-method=stream",
                    "--checkpoint=fast",
                    "--write-recovery-conf",
                ]))
            .context("pg_basebackup failed")?;
        }
        Self::ensure_running(dir)
    }

    /// The cluster kept under `dir`, whether or not it exists or runs.
    pub fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The Unix socket the cluster listens on while it runs.
    pub fn socket(&self) -> PathBuf {
        self.dir.join(format!(".s.PGSQL.{PORT}"))
    }

    /// Whether the cluster was ever made, and whether it runs.
    pub fn state(&self) -> Result<ClusterState> {
        let pgdata = self.dir.join("pgdata");
        if !pgdata.join("PG_VERSION").exists() {
            return Ok(ClusterState::Absent);
        }
        Ok(if is_running(&find_binaries()?, &pgdata)? {
            ClusterState::Running
        } else {
            ClusterState::Stopped
        })
    }

    /// Bytes the cluster's files take on disk (their apparent size).
    pub fn size(&self) -> Result<u64> {
        let pgdata = self.dir.join("pgdata");
        tree_size(&pgdata).with_context(|| format!("measuring {}", pgdata.display()))
    }

    /// Stops the cluster if it runs; false when it did not. Waits for a
    /// start in progress in another process, so that start is not undone
    /// half way.
    pub fn stop_if_running(&self) -> Result<bool> {
        if self.state()? == ClusterState::Absent {
            return Ok(false);
        }
        let _lock = lock(&self.dir)?;
        if self.state()? != ClusterState::Running {
            return Ok(false);
        }
        self.stop()?;
        Ok(true)
    }

    /// Stops the cluster (fast shutdown: open sessions are ended).
    pub fn stop(&self) -> Result<()> {
        let bin = find_binaries()?;
        run(server_command(&bin.join("pg_ctl"), is_root())
            .arg("stop")
            .arg("--pgdata")
            .arg(self.dir.join("pgdata"))
            .args(["--mode", "fast", "--wait"]))
    }

    /// The directory of the cluster's socket: its host name for libpq
    /// (and for Citus, which names nodes by host and port).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The port in the socket's name.
    pub fn port(&self) -> u16 {
        PORT
    }

    /// Connection options for `database` on this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// The same as a URL, to print for psql or `DATABASE_URL`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={}",
            self.dir.display()
        )
    }
}

/// Where the service keeps its embedded cluster unless `CONTAS_DATA_DIR` says.
/// As root the directory must be reachable by the `postgres` user, which a
/// home directory usually is not.
pub fn default_data_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/var/lib/contas/embedded-pg");
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("contas/embedded-pg")
}

/// Holds the lock that makes starting (and stopping) the cluster under
/// `dir` one process at a time, until dropped.
fn lock(dir: &Path) -> Result<File> {
    let lock_path = dir.with_extension("lock");
    let lock =
        File::create(&lock_path).with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock().context("locking the embedded cluster")?;
    Ok(lock)
}

/// `pg_ctl status`: whether a postmaster runs on `pgdata`.
fn is_running(bin: &Path, pgdata: &Path) -> Result<bool> {
    Ok(server_command(&bin.join("pg_ctl"), is_root())
        .arg("status")
        .arg("--pgdata")
        .arg(pgdata)
        .output()
        .context("running pg_ctl status")?
        .status
        .success())
}

/// The sum of the sizes of the files under `dir` (symbolic links not
/// followed). A running cluster removes temporary files as it goes: one
/// gone meanwhile counts for nothing.
fn tree_size(dir: &Path) -> std::io::Result<u64> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let entries = match fs::read_dir(dir) {
        Err(e) if gone(&e) => return Ok(0),
        entries => entries?,
    };
    let mut total = 0;
    for entry in entries {
        let entry = entry?;
        total += match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => tree_size(&entry.path())?,
            Ok(metadata) => metadata.len(),
            Err(e) if gone(&e) => 0,
            Err(e) => return Err(e),
        };
    }
    Ok(total)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn server_command(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", SUPERUSER, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Finds `initdb` and `pg_ctl`: `CONTAS_PG_BIN`, then the newest Debian-style
/// `/usr/lib/postgresql/<version>/bin`, then `PATH`.
fn find_binaries() -> Result<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("CONTAS_PG_BIN").map(PathBuf::from) {
        if has_tools(&dir) {
            return Ok(dir);
        }
        bail!("CONTAS_PG_BIN={} has no initdb and pg_ctl", dir.display());
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Ok(bin);
    }
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| has_tools(dir))
    {
        return Ok(dir);
    }
    bail!(
        "no PostgreSQL server binaries (initdb, pg_ctl) found. Either install PostgreSQL \
         (Debian/Ubuntu: `apt-get install postgresql`; the binaries land in \
         /usr/lib/postgresql/<version>/bin), point CONTAS_PG_BIN at their directory, \
         or set DATABASE_URL to an existing server"
    )
}
