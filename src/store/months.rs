//! The monthly partitions of `transactions`: which exist, and making those
//! needed (with `transactions_ensure_month`, defined by the migrations, which
//! never blocks readers or writers).

use crate::domain::month::{Month, months_ahead};
use chrono::NaiveDate;
use sqlx::postgres::PgConnectOptions;
// Dynamic SQL here (`AssertSqlSafe`) names only a month partition
// (`Month::partition`: `transactions_YYYY_MM`, from a date).
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::time::Duration;

/// The months with a partition, oldest first. A partition being detached
/// (by a retention run that was interrupted) no longer counts.
pub async fn existing(connection: &mut PgConnection) -> sqlx::Result<Vec<Month>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'transactions'::regclass AND NOT i.inhdetachpending",
    )
    .fetch_all(connection)
    .await?;
    let mut months: Vec<Month> = names
        .iter()
        .filter_map(|n| Month::of_partition(n))
        .collect();
    months.sort();
    Ok(months)
}

/// Those of `months` holding at least one completed transaction (a probe
/// of each one's index of completed ids).
pub async fn holding_completed(
    connection: &mut PgConnection,
    months: &[Month],
) -> sqlx::Result<Vec<Month>> {
    let mut holding = Vec::new();
    for month in months {
        let any: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE completed_authorised_payment_type = 'TRANSACAO_EFETIVADA')",
            month.partition()
        )))
        .fetch_one(&mut *connection)
        .await?;
        if any {
            holding.push(*month);
        }
    }
    Ok(holding)
}

/// Makes `month`'s partition if it is missing; says whether it did.
pub async fn ensure(connection: &mut PgConnection, month: Month) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT transactions_ensure_month($1)")
        .bind(month.first_day())
        .fetch_one(connection)
        .await
}

/// Makes the months entries may be booked in from `today` on (this one and
/// the next 12); returns those it created.
pub async fn ensure_ahead(
    connection: &mut PgConnection,
    today: NaiveDate,
) -> sqlx::Result<Vec<Month>> {
    let mut created = Vec::new();
    for month in months_ahead(today) {
        if ensure(connection, month).await? {
            created.push(month);
        }
    }
    Ok(created)
}

/// While the service runs, keeps this month and the next 12 ready (on each
/// first of a month, the month a year ahead is due): checks every `every`
/// on a connection of its own to the primary. Failures are logged and tried
/// again at the next check; the months are made a year ahead, so there is
/// time.
pub async fn keep_ready(options: PgConnectOptions, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let today = crate::domain::time::brasilia_date(chrono::Utc::now());
        let outcome = async {
            let mut connection = PgConnection::connect_with(&options).await?;
            let created = ensure_ahead(&mut connection, today).await;
            connection.close().await.ok();
            created
        }
        .await;
        match outcome {
            Ok(created) if created.is_empty() => {}
            Ok(created) => {
                let months: Vec<String> = created.iter().map(Month::to_string).collect();
                tracing::info!(
                    months = months.join(","),
                    "made the partitions of months ahead"
                );
            }
            Err(e) => tracing::warn!(error = %e, "could not check the partitions of months ahead"),
        }
    }
}
