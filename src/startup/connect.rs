//! Connecting the commands to the store.

use anyhow::{Context, Result};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use std::str::FromStr;

pub(super) fn required_url(url: Option<String>) -> Result<PgConnectOptions> {
    let url = url.context(
        "DATABASE_URL is not set (only `contas serve` can run on an embedded PostgreSQL)",
    )?;
    parse_url(&url)
}

pub(super) fn parse_url(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")
}

pub(super) async fn connect(options: PgConnectOptions) -> Result<PgPool> {
    crate::db::connect(options, 16)
        .await
        .context("connecting to PostgreSQL")
}

/// A pool for a command that writes in bulk: named in `pg_stat_activity`
/// (a busy store names its writer), and without sqlx's statement logs,
/// whose slow-statement warning would fire on every large statement such a
/// command is made of, nor PostgreSQL's notices (the migrations' "already
/// exists, skipping").
pub(super) async fn connect_bulk(url: Option<String>, command: &str) -> Result<PgPool> {
    connect(
        required_url(url)?
            .application_name(command)
            .options([("client_min_messages", "warning")])
            .disable_statement_logging(),
    )
    .await
}
