//! Connecting the commands to the store: `DATABASE_URL`, or else the
//! embedded PostgreSQL under `CONTAS_DATA_DIR`.

use super::embedded::{self, KEEPS_RUNNING};
use anyhow::{Context, Result};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use std::path::PathBuf;
use std::str::FromStr;

/// Where a command finds the store.
pub(super) struct Store {
    pub database_url: Option<String>,
    /// The embedded cluster's directory, used without a URL.
    pub data_dir: PathBuf,
}

impl Store {
    /// How to connect to `DATABASE_URL`, or to the embedded cluster,
    /// started if need be (saying so on stderr).
    pub async fn options(self) -> Result<PgConnectOptions> {
        if let Some(url) = self.database_url {
            return parse_url(&url);
        }
        let cluster = embedded::open(&self.data_dir).await?;
        eprintln!(
            "DATABASE_URL is not set: using the embedded PostgreSQL under {}, which {KEEPS_RUNNING}",
            self.data_dir.display()
        );
        Ok(embedded::database_options(&cluster))
    }

    /// A pool for a command that writes in bulk: named in
    /// `pg_stat_activity` (a busy store names its writer), and without
    /// sqlx's statement logs, whose slow-statement warning would fire on
    /// every large statement such a command is made of, nor PostgreSQL's
    /// notices (the migrations' "already exists, skipping").
    pub async fn connect_bulk(self, command: &str) -> Result<PgPool> {
        connect(
            self.options()
                .await?
                .application_name(command)
                .options([("client_min_messages", "warning")])
                .disable_statement_logging(),
        )
        .await
    }
}

pub(super) fn parse_url(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")
}

pub(super) async fn connect(options: PgConnectOptions) -> Result<PgPool> {
    crate::db::connect(options, 16)
        .await
        .context("connecting to PostgreSQL")
}
