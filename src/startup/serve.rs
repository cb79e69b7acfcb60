//! `contas serve`: the service wired from its arguments, on `DATABASE_URL`
//! or on the embedded PostgreSQL with the demo bank.

use super::cli::ServeArgs;
use super::connect::{Store, connect, parse_url};
use super::embedded::{self, KEEPS_RUNNING};
use crate::http::auth::{self, ApiToken, Exposure};
use crate::http::limits::RequestLimits;
use crate::http::server::shutdown_signal;
use crate::http::tls::TlsFiles;
use crate::http::{self, AppState, ConnectionTimeouts, ServerSettings};
use crate::store::months;
use crate::{db, seed};
use anyhow::{Context, Result, bail, ensure};
use sqlx::postgres::PgConnectOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

impl ServeArgs {
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

pub(super) async fn serve(store: Store, args: ServeArgs) -> Result<()> {
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
        .as_deref()
        .map(|url| {
            PgConnectOptions::from_str(url)
                .context("DATABASE_READ_URL is not a valid PostgreSQL URL")
        })
        .transpose()?;
    if read_options.is_some() && store.database_url.is_none() {
        bail!("DATABASE_READ_URL needs DATABASE_URL: migrations are applied on the primary");
    }
    let primary = migrated_primary(store, args.bind).await?;
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

/// The store, its migrations applied: `DATABASE_URL`, or the embedded
/// cluster with the demo bank.
async fn migrated_primary(store: Store, bind: SocketAddr) -> Result<PgConnectOptions> {
    let Some(url) = store.database_url else {
        return start_embedded(store.data_dir, bind).await;
    };
    let options = parse_url(&url)?;
    // Migrations run on a pool of their own: the serving pool's statement
    // timeout would cut a long one short.
    let pool = connect(options.clone()).await?;
    db::migrate(&pool).await.context("applying migrations")?;
    pool.close().await;
    Ok(options)
}

/// No DATABASE_URL: run a private cluster, load the demo bank into it once,
/// and show how to call it. Returns how to connect to it.
async fn start_embedded(dir: PathBuf, bind: SocketAddr) -> Result<PgConnectOptions> {
    eprintln!(
        "DATABASE_URL is not set: starting an embedded PostgreSQL under {}",
        dir.display()
    );
    let cluster = embedded::open(&dir).await?;
    let options = embedded::database_options(&cluster);
    let pool = connect(options.clone()).await?;
    db::migrate(&pool).await.context("applying migrations")?;
    if seed::is_empty(&pool).await? {
        eprintln!("loading the demo bank…");
        let summary = seed::seed(&pool, &seed::SeedConfig::demo()).await?;
        eprintln!("{summary}");
    }
    pool.close().await;
    eprintln!("embedded database: {}", embedded::database_url(&cluster));
    eprintln!("the embedded PostgreSQL {KEEPS_RUNNING}");
    eprintln!("try:\n{}", seed::demo_curl(bind));
    Ok(options)
}
