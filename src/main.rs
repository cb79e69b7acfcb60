use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use contas::embedded_pg::{self, EmbeddedPostgres};
use contas::http::auth::{self, ApiToken, Exposure};
use contas::http::limits::RequestLimits;
use contas::http::server::shutdown_signal;
use contas::http::tls::TlsFiles;
use contas::http::{self, AppState, ConnectionTimeouts, ServerSettings};
use contas::store::lock::{LockError, LockWait};
use contas::store::{months, retention};
use contas::{db, duration, healthcheck, import, seed};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

/// The Accounts API 2.4.1 integration layer for the Opus Open Finance platform.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// PostgreSQL URL. Unset: `serve` starts an embedded PostgreSQL with demo data.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (default), applying pending migrations first.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations.
    Migrate,
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
}

/// What a writer does while another one (an import, a seed, retention)
/// holds the store: imports run one after the other, never interleaved.
#[derive(clap::Args)]
struct LockArgs {
    /// Longest to wait for another writer to finish (e.g. `30s`, `5m`); past
    /// it, exit with status 75 having changed nothing.
    #[arg(long, default_value = "5m", value_parser = duration::parse)]
    lock_timeout: Duration,
    /// Do not wait: exit with status 75 at once, having changed nothing, if
    /// another writer holds the store.
    #[arg(long, conflicts_with = "lock_timeout")]
    no_wait: bool,
}

impl LockArgs {
    fn wait(&self) -> LockWait {
        if self.no_wait {
            LockWait::NoWait
        } else {
            LockWait::UpTo(self.lock_timeout)
        }
    }
}

/// Exit status of a writer that gave up on the store's lock (sysexits'
/// EX_TEMPFAIL: try again later).
const EXIT_STORE_BUSY: u8 = 75;

/// Exit status of a start refused for its configuration (sysexits'
/// EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CONTAS_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Directory of the embedded PostgreSQL (used only without DATABASE_URL).
    #[arg(long, env = "CONTAS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Longest an API request may take; past it the answer is 504 and its
    /// database statement is cancelled (e.g. `5s`, `500ms`).
    #[arg(long, env = "CONTAS_REQUEST_TIMEOUT", default_value = "5s", value_parser = duration::parse)]
    request_timeout: Duration,
    /// API requests served at once; beyond it requests are refused at once
    /// with 529. Default: 4 × the pool size.
    #[arg(long, env = "CONTAS_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: Option<u32>,
    /// PostgreSQL connections the service opens at most.
    #[arg(long, env = "CONTAS_DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    db_pool_size: u32,
    /// Longest a request waits for a database connection (pool busy or
    /// database unreachable) before 503; less than the request timeout.
    #[arg(long, env = "CONTAS_DB_ACQUIRE_TIMEOUT", default_value = "2s", value_parser = duration::parse)]
    db_acquire_timeout: Duration,
    /// After SIGTERM, how long to keep serving while draining: readiness
    /// answers 503, every response says `Connection: close`, new connections
    /// are still accepted. Default: 0s on a loopback address, else 5s (what
    /// load balancers need to stop sending new clients).
    #[arg(long, env = "CONTAS_SHUTDOWN_DELAY", value_parser = duration::parse_allowing_zero)]
    shutdown_delay: Option<Duration>,
    /// After the shutdown delay, how long requests in progress may take to
    /// finish before the process exits anyway (with status 1).
    #[arg(long, env = "CONTAS_SHUTDOWN_GRACE", default_value = "20s", value_parser = duration::parse)]
    shutdown_grace: Duration,
    /// Longest a client may take to send a request's headers, from
    /// connecting or from the request's first byte; then the connection is
    /// closed.
    #[arg(long, env = "CONTAS_HEADER_TIMEOUT", default_value = "5s", value_parser = duration::parse)]
    header_timeout: Duration,
    /// Longest a request's body may take to arrive after its headers; then
    /// 408. The body is read before the request counts as in flight.
    #[arg(long, env = "CONTAS_BODY_TIMEOUT", default_value = "2s", value_parser = duration::parse)]
    body_timeout: Duration,
    /// Longest a keep-alive connection may sit idle between requests. Keep
    /// it above the clients' and load balancer's own idle timeout, so that
    /// they, not the service, close idle connections.
    #[arg(long, env = "CONTAS_IDLE_TIMEOUT", default_value = "75s", value_parser = duration::parse)]
    idle_timeout: Duration,
    /// Connections open at once; at the cap the service stops accepting
    /// until one closes (accepted connections are never dropped for it).
    #[arg(long, env = "CONTAS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// TLS handshakes in progress at once; at the cap the service stops
    /// accepting until one finishes.
    #[arg(long, env = "CONTAS_MAX_TLS_HANDSHAKES", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    max_tls_handshakes: u32,
    /// PostgreSQL URL of a read replica. Set: every API query goes there and
    /// DATABASE_URL (the primary) is used only to apply migrations.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    database_read_url: Option<String>,
    /// PEM certificate chain of the service. With --tls-key and
    /// --tls-client-ca: HTTPS that admits only clients with a certificate
    /// from that CA.
    #[arg(long, env = "CONTAS_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CONTAS_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) that issue the clients' certificates.
    #[arg(long, env = "CONTAS_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
    /// Bearer token every API call must carry (`Authorization: Bearer …`),
    /// at least 32 characters. Unset: no token is asked for.
    #[arg(long, env = "CONTAS_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Serve an address other machines can reach with neither a token nor
    /// mutual TLS (a warning is logged at every start). Without it such a
    /// start is refused: anyone reaching the port would read every
    /// customer's accounts. Loopback addresses need no opt-out.
    #[arg(long, env = "CONTAS_ALLOW_UNAUTHENTICATED")]
    allow_unauthenticated: bool,
}

/// Every request allocates and frees small buffers on two threads; glibc's
/// malloc spent a sixth of the service's CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve(_)) => contas::logging::init(),
        Some(_) => contas::logging::init_for_people(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Refusals an operator acts on are one line; anything else
            // carries its chain of causes.
            if let Some(busy @ (LockError::Busy { .. } | LockError::TimedOut { .. })) =
                e.downcast_ref::<LockError>()
            {
                eprintln!("Error: {busy}");
                ExitCode::from(EXIT_STORE_BUSY)
            } else if let Some(unprotected) = e.downcast_ref::<auth::Unprotected>() {
                eprintln!("Error: {unprotected}");
                ExitCode::from(EXIT_CONFIG)
            } else {
                eprintln!("Error: {e:?}");
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli
        .command
        .unwrap_or(Command::Serve(Box::new(ServeArgs::parse_defaults())))
    {
        Command::Serve(args) => serve(cli.database_url, *args).await,
        Command::Migrate => {
            let pool = connect(required_url(cli.database_url)?).await?;
            db::migrate(&pool).await.context("applying migrations")?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Import { file, quiet, lock } => {
            let pool = connect_bulk(cli.database_url, "contas import").await?;
            db::migrate(&pool).await.context("applying migrations")?;
            let options = import::ImportOptions {
                progress: !quiet && std::io::stderr().is_terminal(),
                lock: lock.wait(),
                ..import::ImportOptions::default()
            };
            let summary = import::import_path(&pool, &file, &options).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Seed { args, if_empty } => {
            if let Some(path) = &args.output {
                // The records may be on stdout: the summary goes to stderr.
                eprintln!("{}", seed::write_path(&args.config(), path)?);
                return Ok(());
            }
            let pool = connect_bulk(cli.database_url, "contas seed").await?;
            db::migrate(&pool).await.context("applying migrations")?;
            if if_empty && !seed::is_empty(&pool).await? {
                println!("the store holds data already: not seeding");
                return Ok(());
            }
            let summary = seed::seed(&pool, &args.config()).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Retention {
            keep_months,
            dry_run,
            no_compact,
            lock,
        } => {
            let pool = connect_bulk(cli.database_url, "contas retention").await?;
            db::migrate(&pool).await.context("applying migrations")?;
            let mut connection = pool.acquire().await?;
            let options = retention::RetentionOptions {
                today: contas::domain::time::brasilia_date(chrono::Utc::now()),
                keep_months,
                dry_run,
                compact: !no_compact,
                lock: lock.wait(),
            };
            let report = retention::run(&mut connection, &options).await?;
            println!("{report}");
            Ok(())
        }
        Command::Healthcheck(args) => healthcheck::check(&args).await,
    }
}

impl ServeArgs {
    /// `contas` with no subcommand serves with every default (and the env).
    fn parse_defaults() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["contas"]).serve
    }

    fn request_limits(&self) -> RequestLimits {
        let max_in_flight = self
            .max_in_flight
            .unwrap_or(self.db_pool_size.saturating_mul(4));
        RequestLimits {
            body_timeout: self.body_timeout,
            timeout: self.request_timeout,
            max_in_flight: max_in_flight as usize,
        }
    }

    fn server_settings(&self) -> ServerSettings {
        let loopback = auth::is_loopback(self.bind);
        ServerSettings {
            timeouts: ConnectionTimeouts {
                header: self.header_timeout,
                idle: self.idle_timeout,
            },
            max_connections: self.max_connections as usize,
            max_tls_handshakes: self.max_tls_handshakes as usize,
            tls_handshake_timeout: ServerSettings::default().tls_handshake_timeout,
            shutdown_delay: self.shutdown_delay.unwrap_or(if loopback {
                Duration::ZERO
            } else {
                Duration::from_secs(5)
            }),
            shutdown_grace: self.shutdown_grace,
        }
    }

    fn serving_pool(&self) -> Result<db::ServingPool> {
        ensure!(
            self.db_acquire_timeout < self.request_timeout,
            "the database acquire timeout ({:?}) must be shorter than the request timeout ({:?}), \
             or a request waiting for a connection would only ever end in 504",
            self.db_acquire_timeout,
            self.request_timeout
        );
        Ok(db::ServingPool {
            max_connections: self.db_pool_size,
            acquire_timeout: self.db_acquire_timeout,
            statement_timeout: self.request_timeout,
        })
    }
}

fn required_url(url: Option<String>) -> Result<PgConnectOptions> {
    let url = url.context(
        "DATABASE_URL is not set (only `contas serve` can run on an embedded PostgreSQL)",
    )?;
    PgConnectOptions::from_str(&url).context("DATABASE_URL is not a valid PostgreSQL URL")
}

async fn connect(options: PgConnectOptions) -> Result<PgPool> {
    db::connect(options, 16)
        .await
        .context("connecting to PostgreSQL")
}

/// A pool for a command that writes in bulk: named in `pg_stat_activity`
/// (a busy store names its writer), and without sqlx's statement logs,
/// whose slow-statement warning would fire on every large statement such a
/// command is made of, nor PostgreSQL's notices (the migrations' "already
/// exists, skipping").
async fn connect_bulk(url: Option<String>, command: &str) -> Result<PgPool> {
    connect(
        required_url(url)?
            .application_name(command)
            .options([("client_min_messages", "warning")])
            .disable_statement_logging(),
    )
    .await
}

async fn serve(database_url: Option<String>, args: ServeArgs) -> Result<()> {
    // Configuration mistakes end the start before any database work.
    let serving_pool = args.serving_pool()?;
    let limits = args.request_limits();
    let settings = args.server_settings();
    let tls = TlsFiles::from_parts(args.tls_cert, args.tls_key, args.tls_client_ca)?
        .map(|files| files.server_config())
        .transpose()?;
    let api_token = args
        .api_token
        .as_deref()
        .map(ApiToken::new)
        .transpose()
        .context("CONTAS_API_TOKEN is not usable")?;
    match auth::exposure(
        args.bind,
        api_token.is_some() || tls.is_some(),
        args.allow_unauthenticated,
    )? {
        Exposure::Unauthenticated => tracing::warn!(
            address = %args.bind,
            "serving without authentication (CONTAS_ALLOW_UNAUTHENTICATED): anyone who reaches \
             this address reads every customer's accounts"
        ),
        Exposure::Authenticated | Exposure::Loopback => {}
    }
    let read_options = args
        .database_read_url
        .map(|url| {
            PgConnectOptions::from_str(&url)
                .context("DATABASE_READ_URL is not a valid PostgreSQL URL")
        })
        .transpose()?;
    if read_options.is_some() && database_url.is_none() {
        bail!("DATABASE_READ_URL needs DATABASE_URL: migrations are applied on the primary");
    }
    let primary = match database_url {
        Some(url) => {
            let options = PgConnectOptions::from_str(&url)
                .context("DATABASE_URL is not a valid PostgreSQL URL")?;
            // Migrations run on a pool of their own: the serving pool's
            // statement timeout would cut a long one short.
            let pool = connect(options.clone()).await?;
            db::migrate(&pool).await.context("applying migrations")?;
            pool.close().await;
            options
        }
        None => {
            start_embedded(
                args.data_dir.unwrap_or_else(embedded_pg::default_data_dir),
                args.bind,
            )
            .await?
        }
    };
    // Migrating made the months ahead; this keeps them coming.
    tokio::spawn(months::keep_ready(
        primary
            .clone()
            .application_name("contas serve (partitions)"),
        Duration::from_secs(3600),
    ));
    // The API only reads: with a replica, the primary serves no request.
    let options = read_options.unwrap_or(primary);
    let mut state = AppState::new(serving_pool.open(options));
    if let Some(token) = api_token {
        state = state.with_api_token(token);
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    tracing::info!(
        address = %args.bind,
        tls = if tls.is_some() { "mutual" } else { "none" },
        "serving"
    );
    let app = http::router_with_limits(state.clone(), limits);
    http::serve(listener, tls, app, &state, settings, shutdown_signal())
        .await
        .context("serving HTTP")
}

/// No DATABASE_URL: run a private cluster, load the demo bank into it once,
/// and show how to call it. Returns how to connect to it.
async fn start_embedded(dir: PathBuf, bind: SocketAddr) -> Result<PgConnectOptions> {
    eprintln!(
        "DATABASE_URL is not set: starting an embedded PostgreSQL under {}",
        dir.display()
    );
    let cluster =
        tokio::task::spawn_blocking(move || EmbeddedPostgres::ensure_running(&dir)).await??;
    let pool = connect(cluster.connect_options("postgres")).await?;
    sqlx::query("SELECT 1").execute(&pool).await?;
    if sqlx::query_scalar::<_, bool>(
        "SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = 'contas')",
    )
    .fetch_one(&pool)
    .await?
    {
        sqlx::query("CREATE DATABASE contas").execute(&pool).await?;
    }
    pool.close().await;
    let pool = connect(cluster.connect_options("contas")).await?;
    db::migrate(&pool).await.context("applying migrations")?;
    if seed::is_empty(&pool).await? {
        eprintln!("loading the demo bank…");
        let summary = seed::seed(&pool, &seed::SeedConfig::demo()).await?;
        eprintln!("{summary}");
    }
    pool.close().await;
    eprintln!("embedded database: {}", cluster.url("contas"));
    eprintln!("try:\n{}", seed::demo_curl(bind));
    Ok(cluster.connect_options("contas"))
}
