//! The command line: every subcommand, flag and environment variable
//! `contas` reads, as `--help` lists them.

use crate::store::lock::LockWait;
use crate::{duration, healthcheck, seed};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The Accounts API 2.4.1 integration layer for the Opus Open Finance platform.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// PostgreSQL URL. Unset: every command uses an embedded PostgreSQL
    /// under --data-dir, started if need be (`serve` loads demo data into it
    /// the first time); it keeps running after contas exits.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory of the embedded PostgreSQL (the store without DATABASE_URL).
    #[arg(long, env = "CONTAS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (default), applying pending migrations first.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations (on Citus, distributing the schema).
    Migrate {
        /// Add the `citus` extension first, so the schema is laid out on the
        /// cluster's nodes (the server must preload Citus).
        #[arg(long)]
        distributed: bool,
    },
    /// Load NDJSON account data (docs/import-format.md) from FILE, or `-` for stdin.
    Import {
        file: PathBuf,
        /// No progress bar; one summary line at the end.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Generate and load a synthetic bank for demos and benchmarks.
    Seed {
        #[command(flatten)]
        args: seed::SeedArgs,
        /// Do nothing when the store holds a brand already, so a container
        /// that seeds on every start leaves existing data alone.
        #[arg(long)]
        if_empty: bool,
    },
    /// Drop the months no statement can reach any more (with what depends
    /// on them) and rewrite closed months in statement order. Run it daily.
    Retention {
        /// Months kept before the current one; at least 12, since
        /// `/transactions` reaches 12 months back.
        #[arg(long, default_value_t = 12)]
        keep_months: u32,
        /// Print what would be done and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not rewrite closed months.
        #[arg(long)]
        no_compact: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Exit 0 when the local `contas serve` is ready, 1 otherwise (for
    /// container health checks).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// The embedded PostgreSQL under --data-dir, which the commands start
    /// without DATABASE_URL and which keeps running after they exit.
    Embedded {
        #[command(subcommand)]
        command: EmbeddedCommand,
    },
}

#[derive(Subcommand)]
pub enum EmbeddedCommand {
    /// Say whether the embedded PostgreSQL runs, its directory, socket, URL
    /// and size. Exit 0 when it runs, 3 when it does not.
    Status,
    /// Stop the embedded PostgreSQL (fast shutdown: open sessions are
    /// ended). Stopping one that does not run is not an error.
    Stop,
}

/// What a writer does while another one (an import, a seed, retention)
/// holds the store: imports run one after the other, never interleaved.
#[derive(clap::Args)]
pub struct LockArgs {
    /// Longest to wait for another writer to finish (e.g. `30s`, `5m`); past
    /// it, exit with status 75 having changed nothing.
    #[arg(long, default_value = "5m", value_parser = duration::parse)]
    pub lock_timeout: Duration,
    /// Do not wait: exit with status 75 at once, having changed nothing, if
    /// another writer holds the store.
    #[arg(long, conflicts_with = "lock_timeout")]
    pub no_wait: bool,
}

impl LockArgs {
    pub fn wait(&self) -> LockWait {
        if self.no_wait {
            LockWait::NoWait
        } else {
            LockWait::UpTo(self.lock_timeout)
        }
    }
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CONTAS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Longest an API request may take; past it the answer is 504 and its
    /// database statement is cancelled (e.g. `5s`, `500ms`).
    #[arg(long, env = "CONTAS_REQUEST_TIMEOUT", default_value = "5s", value_parser = duration::parse)]
    pub request_timeout: Duration,
    /// API requests served at once; beyond it requests are refused at once
    /// with 529. Default: 4 × the pool size.
    #[arg(long, env = "CONTAS_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: Option<u32>,
    /// PostgreSQL connections the service opens at most.
    #[arg(long, env = "CONTAS_DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_pool_size: u32,
    /// Longest a request waits for a database connection (pool busy or
    /// database unreachable) before 503; less than the request timeout.
    #[arg(long, env = "CONTAS_DB_ACQUIRE_TIMEOUT", default_value = "2s", value_parser = duration::parse)]
    pub db_acquire_timeout: Duration,
    /// After SIGTERM, how long to keep serving while draining: readiness
    /// answers 503, every response says `Connection: close`, new connections
    /// are still accepted. Default: 0s on a loopback address, else 5s (what
    /// load balancers need to stop sending new clients).
    #[arg(long, env = "CONTAS_SHUTDOWN_DELAY", value_parser = duration::parse_allowing_zero)]
    pub shutdown_delay: Option<Duration>,
    /// After the shutdown delay, how long requests in progress may take to
    /// finish before the process exits anyway (with status 1).
    #[arg(long, env = "CONTAS_SHUTDOWN_GRACE", default_value = "20s", value_parser = duration::parse)]
    pub shutdown_grace: Duration,
    /// Longest a client may take to send a request's headers, from
    /// connecting or from the request's first byte; then the connection is
    /// closed.
    #[arg(long, env = "CONTAS_HEADER_TIMEOUT", default_value = "5s", value_parser = duration::parse)]
    pub header_timeout: Duration,
    /// Longest a request's body may take to arrive after its headers; then
    /// 408. The body is read before the request counts as in flight.
    #[arg(long, env = "CONTAS_BODY_TIMEOUT", default_value = "2s", value_parser = duration::parse)]
    pub body_timeout: Duration,
    /// Longest a keep-alive connection may sit idle between requests. Keep
    /// it above the clients' and load balancer's own idle timeout, so that
    /// they, not the service, close idle connections.
    #[arg(long, env = "CONTAS_IDLE_TIMEOUT", default_value = "75s", value_parser = duration::parse)]
    pub idle_timeout: Duration,
    /// Connections open at once; at the cap the service stops accepting
    /// until one closes (accepted connections are never dropped for it).
    #[arg(long, env = "CONTAS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// TLS handshakes in progress at once; at the cap the service stops
    /// accepting until one finishes.
    #[arg(long, env = "CONTAS_MAX_TLS_HANDSHAKES", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tls_handshakes: u32,
    /// PostgreSQL URL of a read replica. Set: every API query goes there and
    /// DATABASE_URL (the primary) is used only to apply migrations.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,
    /// PEM certificate chain of the service. With --tls-key and
    /// --tls-client-ca: HTTPS that admits only clients with a certificate
    /// from that CA.
    #[arg(long, env = "CONTAS_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CONTAS_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) that issue the clients' certificates.
    #[arg(long, env = "CONTAS_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Bearer token every API call must carry (`Authorization: Bearer …`),
    /// at least 32 characters. Unset: no token is asked for.
    #[arg(long, env = "CONTAS_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Serve an address other machines can reach with neither a token nor
    /// mutual TLS (a warning is logged at every start). Without it such a
    /// start is refused: anyone reaching the port would read every
    /// customer's accounts. Loopback addresses need no opt-out.
    #[arg(long, env = "CONTAS_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,
}

impl Cli {
    /// `serve` logs JSON lines for machines; every other command prints
    /// plain lines for the person who ran it.
    pub fn init_logging(&self) {
        match self.command {
            None | Some(Command::Serve(_)) => crate::logging::init(),
            Some(_) => crate::logging::init_for_people(),
        }
    }
}

impl ServeArgs {
    /// `contas` with no subcommand serves with every default (and the env).
    pub fn parse_defaults() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["contas"]).serve
    }
}
