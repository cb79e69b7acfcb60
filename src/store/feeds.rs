//! When each brand's feed last arrived (`brand_feeds`, see its migration):
//! written by every successful import, read by `/metrics`.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A brand an import's file named.
#[derive(Debug, Clone)]
pub struct BrandFeed {
    pub brand_id: String,
    /// The newest balance time among the file's balance lines of the brand.
    pub newest_balance: Option<DateTime<Utc>>,
}

/// Records, inside the import's transaction (so only a committed import
/// counts), that these brands' feed arrived now. A brand's newest balance
/// time only moves forward: a file of older balances (which the import
/// keeps out) does not make the store look older than it is.
pub async fn record(connection: &mut PgConnection, feeds: &[BrandFeed]) -> Result<()> {
    let brands: Vec<&str> = feeds.iter().map(|f| f.brand_id.as_str()).collect();
    let balances: Vec<Option<DateTime<Utc>>> = feeds.iter().map(|f| f.newest_balance).collect();
    sqlx::query(
        "INSERT INTO brand_feeds (brand_id, last_import_at, newest_balance_at) \
         SELECT b, clock_timestamp(), n FROM unnest($1::text[], $2::timestamptz[]) AS u(b, n) \
         ON CONFLICT (brand_id) DO UPDATE SET last_import_at = EXCLUDED.last_import_at, \
             newest_balance_at = greatest(brand_feeds.newest_balance_at, EXCLUDED.newest_balance_at)",
    )
    .bind(&brands)
    .bind(&balances)
    .execute(connection)
    .await
    .context("recording the brands' feed times")?;
    Ok(())
}
