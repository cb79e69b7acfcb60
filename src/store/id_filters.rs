//! The Bloom filters of closed months' completed ids (`month_id_filters`,
//! see its migration): built by retention, read and kept whole by import.

use super::bloom::{Bloom, IdHash};
use crate::domain::month::Month;
use anyhow::{Context, Result};
use futures_util::TryStreamExt;
// Dynamic SQL here (`AssertSqlSafe`) names only a month partition
// (`Month::partition`: `transactions_YYYY_MM`, from a date).
use sqlx::{AssertSqlSafe, PgConnection};
use std::collections::HashMap;

/// Every month's filter (a filter that cannot be read is left out: its
/// month is then looked into, as if it had none).
pub async fn load(connection: &mut PgConnection) -> Result<HashMap<Month, Bloom>> {
    let rows: Vec<(chrono::NaiveDate, Vec<u8>)> =
        sqlx::query_as("SELECT month, filter FROM month_id_filters")
            .fetch_all(connection)
            .await
            .context("reading the months' id filters")?;
    Ok(rows
        .into_iter()
        .filter_map(|(month, bytes)| Some((Month::of(month), Bloom::from_bytes(&bytes)?)))
        .collect())
}

/// Stores a filter an import added `added` ids to.
pub async fn save(
    connection: &mut PgConnection,
    month: Month,
    bloom: &Bloom,
    added: u64,
) -> Result<()> {
    sqlx::query("UPDATE month_id_filters SET filter = $2, ids = ids + $3 WHERE month = $1")
        .bind(month.first_day())
        .bind(bloom.to_bytes())
        .bind(added as i64)
        .execute(connection)
        .await
        .with_context(|| format!("updating the id filter of {month}"))?;
    Ok(())
}

/// Builds and stores `month`'s filter from its completed ids, with room for
/// `capacity(ids it holds)` ids; returns how many it holds. The caller holds
/// the writer lock (no import adds ids meanwhile).
pub async fn build(
    connection: &mut PgConnection,
    month: Month,
    capacity: impl FnOnce(u64) -> u64,
) -> Result<u64> {
    let partition = month.partition();
    const COMPLETED: &str = "completed_authorised_payment_type = 'TRANSACAO_EFETIVADA'";
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {partition} WHERE {COMPLETED}"
    )))
    .fetch_one(&mut *connection)
    .await?;
    let mut bloom = Bloom::for_ids(capacity(count as u64));
    let mut ids = 0u64;
    {
        let query = format!("SELECT account_id, legacy_key FROM {partition} WHERE {COMPLETED}");
        let mut rows =
            sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(query)).fetch(&mut *connection);
        while let Some((account, key)) = rows.try_next().await? {
            bloom.insert(IdHash::of(account, &key));
            ids += 1;
        }
    }
    sqlx::query(
        "INSERT INTO month_id_filters (month, ids, filter) VALUES ($1, $2, $3)
         ON CONFLICT (month) DO UPDATE SET ids = EXCLUDED.ids, filter = EXCLUDED.filter, built_at = EXCLUDED.built_at",
    )
    .bind(month.first_day())
    .bind(ids as i64)
    .bind(bloom.to_bytes())
    .execute(&mut *connection)
    .await
    .with_context(|| format!("storing the id filter of {month}"))?;
    Ok(ids)
}

/// The months that have a filter.
pub async fn filtered(connection: &mut PgConnection) -> Result<Vec<Month>> {
    let months: Vec<chrono::NaiveDate> = sqlx::query_scalar("SELECT month FROM month_id_filters")
        .fetch_all(connection)
        .await?;
    Ok(months.into_iter().map(Month::of).collect())
}
