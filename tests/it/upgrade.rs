//! Upgrading a store made with an earlier schema: every migration keeps
//! every row.

use crate::common;

use chrono::{Days, Months};
use common::db::empty_database;
use contas::db::MIGRATOR;
use sqlx::migrate::Migrator;
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::{AssertSqlSafe, PgPool};
use std::borrow::Cow;

/// The last migration of the unpartitioned `transactions` table.
const BEFORE_PARTITIONS: i64 = 20261122000003;

/// A store as the schema up to `version` made it.
async fn store_at(version: i64) -> PgPool {
    let pool = PgPool::connect_with(empty_database().await).await.unwrap();
    let earlier = Migrator {
        migrations: Cow::Owned(
            MIGRATOR
                .iter()
                .filter(|m| m.version <= version)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    earlier.run(&pool).await.unwrap();
    pool
}

/// Every row of `transactions`, ids included, in id order.
async fn transactions(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT to_jsonb(t)::text FROM transactions t ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn partitioning_transactions_keeps_every_row_and_its_id() {
    let pool = store_at(BEFORE_PARTITIONS).await;
    let today = contas::domain::time::brasilia_date(chrono::Utc::now());
    // Entries from 20 months back to 14 ahead (beyond the 12 either side
    // the migration makes anyway), completed and pending, some at the same
    // instant (their ids order them), and a gap in the ids.
    sqlx::raw_sql(
        r#"INSERT INTO brands VALUES ('b', 'Banco', '21128159000166');
           INSERT INTO customers VALUES ('b', '52998224725', 'Maria');
           INSERT INTO accounts (brand_id, legacy_key, legacy_id, type, subtype, compe_code, branch_code,
                                 number, check_digit, currency, status)
           VALUES ('b', '[["n","1"]]', '[{"key":"n","value":"1"}]', 'CONTA_DEPOSITO_A_VISTA', 'INDIVIDUAL',
                   '001', '0001', '12345678', '1', 'BRL', 'AVAILABLE');
           INSERT INTO account_holders VALUES ('b', '52998224725', 1);"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        r#"INSERT INTO transactions (account_id, legacy_key, transaction_id, completed_authorised_payment_type,
                                     credit_debit_type, transaction_name, type, amount, currency,
                                     transaction_date_time, booking_date, partie_cnpj_cpf, partie_person_type)
           SELECT 1, '[["id","' || n || '"]]', jsonb_build_array(jsonb_build_object('key', 'id', 'value', n::text)),
                  CASE WHEN d > $2 THEN 'LANCAMENTO_FUTURO' WHEN n % 7 = 0 THEN 'TRANSACAO_PROCESSANDO'
                       ELSE 'TRANSACAO_EFETIVADA' END,
                  'DEBITO', 'PAGAMENTO ' || n, 'PIX', (n || '.50')::numeric, 'BRL', d + interval '9 hours', d::date,
                  CASE WHEN n % 2 = 0 THEN '52998224725' END, CASE WHEN n % 2 = 0 THEN 'PESSOA_NATURAL' END
             FROM generate_series($1::date, $3::date, '3 days') WITH ORDINALITY AS g(d, n)"#,
    )
    .bind(today - Months::new(20))
    .bind(today)
    .bind(today + Months::new(14))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("SELECT setval('transactions_id_seq', 5000)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO transactions (account_id, legacy_key, transaction_id, completed_authorised_payment_type,
                                   credit_debit_type, transaction_name, type, amount, currency,
                                   transaction_date_time, booking_date)
         SELECT account_id, legacy_key || 'x', transaction_id, completed_authorised_payment_type, credit_debit_type,
                transaction_name, type, amount, currency, transaction_date_time, booking_date
           FROM transactions WHERE id <= 3",
    )
    .execute(&pool)
    .await
    .unwrap();
    let before = transactions(&pool).await;
    assert!(before.len() > 300, "{}", before.len());
    let max_id: i64 = sqlx::query_scalar("SELECT max(id) FROM transactions")
        .fetch_one(&pool)
        .await
        .unwrap();

    contas::db::migrate(&pool).await.unwrap();

    assert_eq!(transactions(&pool).await, before, "every row, as it was");
    let partitioned: bool = sqlx::query_scalar(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = 'transactions'::regclass",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(partitioned);
    // Every row sits in its booking month's partition (on Citus, rows are
    // read on the shards, whose names add the shard's id).
    let misplaced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM transactions
          WHERE regexp_replace(tableoid::regclass::text, '_[0-9]{6,}$', '')
                <> 'transactions_' || to_char(booking_date, 'YYYY_MM')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(misplaced, 0);
    let oldest: String = sqlx::query_scalar(
        "SELECT min(c.relname)::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'transactions'::regclass",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        oldest,
        contas::domain::month::Month::of(today - Months::new(20)).partition()
    );
    // New rows continue the ids, and a statement page reads the upgraded
    // store in the same order as before.
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO transactions (account_id, legacy_key, transaction_id, completed_authorised_payment_type,
                                   credit_debit_type, transaction_name, type, amount, currency,
                                   transaction_date_time, booking_date)
         VALUES (1, '[[\"id\",\"new\"]]', '[]', 'TRANSACAO_EFETIVADA', 'CREDITO', 'NEW', 'PIX', 1, 'BRL', now(), $1)
         RETURNING id",
    )
    .bind(today)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(next > max_id, "{next} after {max_id}");
    let page: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT x.transaction_id::text FROM ({}) x",
        contas::repo::STATEMENT_PAGE
    )))
    .bind(1i64)
    .bind(today - Months::new(12))
    .bind(today + Days::new(40))
    .bind(None::<String>)
    .bind(1000i64)
    .bind(0i64)
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT transaction_id::text FROM transactions
          WHERE account_id = 1 AND booking_date BETWEEN $1 AND $2
          ORDER BY booking_date DESC, transaction_date_time DESC, id DESC",
    )
    .bind(today - Months::new(12))
    .bind(today + Days::new(40))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(expected.len() > 100);
    assert_eq!(page, expected);
}

async fn attached(pool: &PgPool, month: contas::domain::month::Month) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_inherits WHERE inhparent = 'transactions'::regclass
                          AND inhrelid = to_regclass($1))",
    )
    .bind(month.partition())
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A store migrated long ago, or not served since, lacks the months that
/// came due: migrating makes them, and so does a running service, hourly.
#[tokio::test]
async fn migrating_and_serving_keep_this_month_and_the_next_12_ready() {
    use contas::domain::month::Month;
    let options = common::db::fresh_database().await;
    let pool = PgPool::connect_with(options.clone()).await.unwrap();
    let this = Month::of(contas::domain::time::brasilia_date(chrono::Utc::now()));
    let due = [this, this.plus(1), this.plus(12)];
    let drop_them = async || {
        for month in due {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE {}", month.partition())))
                .execute(&pool)
                .await
                .unwrap();
            assert!(!attached(&pool, month).await);
        }
    };
    drop_them().await;
    contas::db::migrate(&pool).await.unwrap();
    for month in due {
        assert!(attached(&pool, month).await, "{month} after migrating");
    }

    drop_them().await;
    let keeper = tokio::spawn(contas::store::months::keep_ready(
        options,
        std::time::Duration::from_millis(50),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for month in due {
        while !attached(&pool, month).await {
            assert!(
                std::time::Instant::now() < deadline,
                "{month} not made by the running service"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    keeper.abort();
}
