//! `contas retention` against a real PostgreSQL: what it drops, what it
//! must never drop, what it rewrites, and that it is safe while the store
//! is read and written.

use crate::common;

use chrono::{Days, Months, NaiveDate};
use common::citus;
use common::db::{dump, fresh_pool};
use contas::domain::month::Month;
use contas::domain::window::Statement;
use contas::store::lock::{self, LockError, LockWait, Scope};
use contas::store::retention::{self, RetentionOptions, RetentionReport};
use serde_json::{Value, json};
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::{AssertSqlSafe, PgPool};
use std::time::Duration;

const BRAND: &str = "cbanco";
const MARIA: &str = "52998224725";
const ACCOUNTS: [&str; 2] = ["10000001", "10000002"];

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn account_id(number: &str) -> Value {
    json!([{"key": "number", "value": number}])
}

fn transaction(number: &str, id: &str, booked: NaiveDate) -> Value {
    json!({
        "record": "transaction", "brandId": BRAND, "accountId": account_id(number),
        "transactionId": [{"key": "id", "value": id}],
        "completedAuthorisedPaymentType": "TRANSACAO_EFETIVADA", "creditDebitType": "DEBITO",
        "transactionName": format!("PAGAMENTO {id}"), "type": "PIX", "amount": "10.00", "currency": "BRL",
        "transactionDateTime": format!("{booked}T15:00:00.000Z"), "bookingDate": booked.to_string(),
    })
}

/// The bank's accounts, then entries on every day of `[from, to]` for both
/// accounts (interleaved day by day, as a real feed writes them).
fn history(from: NaiveDate, to: NaiveDate) -> Vec<Value> {
    let mut file = vec![
        json!({"record": "brand", "brandId": BRAND, "brandName": "Banco C", "companyCnpj": "21128159000166"}),
        json!({"record": "customer", "brandId": BRAND, "document": MARIA, "name": "Maria"}),
    ];
    for number in ACCOUNTS {
        file.push(json!({
            "record": "account", "brandId": BRAND, "accountId": account_id(number),
            "type": "CONTA_DEPOSITO_A_VISTA", "subtype": "INDIVIDUAL", "compeCode": "336",
            "branchCode": "0001", "number": number, "checkDigit": "1", "currency": "BRL", "holders": [MARIA],
        }));
    }
    let mut booked = from;
    while booked <= to {
        for number in ACCOUNTS {
            file.push(transaction(number, &format!("{number}-{booked}"), booked));
        }
        booked = booked + Days::new(1);
    }
    file
}

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

async fn load(pool: &PgPool, records: &[Value]) -> contas::import::ImportSummary {
    contas::import::import_reader(pool, ndjson(records).as_bytes(), false)
        .await
        .unwrap_or_else(|e| panic!("import failed: {e:#}"))
}

fn options(today: NaiveDate) -> RetentionOptions {
    RetentionOptions {
        today,
        keep_months: 12,
        dry_run: false,
        compact: false,
        lock: LockWait::NoWait,
    }
}

async fn retention(pool: &PgPool, options: &RetentionOptions) -> anyhow::Result<RetentionReport> {
    let mut connection = pool.acquire().await.unwrap();
    retention::run(&mut connection, options).await
}

async fn entries_booked(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM transactions WHERE booking_date BETWEEN $1 AND $2")
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Today on the first and on the last day of a month: every day a
/// statement can still reach keeps its entries, and every month wholly
/// before it is dropped, with its row count printed.
#[tokio::test]
async fn retention_drops_whole_months_and_never_a_day_the_api_serves() {
    for today in [
        "2026-03-01",
        "2026-03-31",
        "2026-12-01",
        "2026-12-31",
        "2028-02-29",
    ] {
        let today = day(today);
        let pool = fresh_pool().await;
        let start = today - Months::new(15);
        load(&pool, &history(start, today)).await;
        let earliest = Statement::Full.earliest(today);
        let oldest_kept = Month::of(earliest);
        let mut connection = pool.acquire().await.unwrap();
        let expected: Vec<Month> = contas::store::months::existing(&mut connection)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| *m < oldest_kept)
            .collect();
        drop(connection);
        assert!(expected.contains(&Month::of(start)));
        if citus::enabled() {
            assert!(shards_left_on_workers(&pool, &expected).await > 0);
        }

        let report = retention(&pool, &options(today)).await.unwrap();

        assert_eq!(report.oldest_kept, oldest_kept, "{today}");
        let dropped: Vec<Month> = report.dropped.iter().map(|d| d.month).collect();
        assert_eq!(dropped, expected, "{today}");
        for d in &report.dropped {
            let (first, end) = (
                d.month.first_day().max(start),
                d.month.end().min(today + Days::new(1)),
            );
            let days = (end - first).num_days().max(0);
            assert_eq!(d.entries, 2 * days as u64, "{today}: {}", d.month);
        }
        // Every day a statement reaches, and the rest of its first month.
        let mut booked = oldest_kept.first_day();
        while booked <= today {
            assert_eq!(
                entries_booked(&pool, booked, booked).await,
                2,
                "{today}: {booked}"
            );
            booked = booked + Days::new(1);
        }
        assert_eq!(
            entries_booked(
                &pool,
                day("2000-01-01"),
                oldest_kept.first_day().pred_opt().unwrap()
            )
            .await,
            0,
            "{today}"
        );
        let text = report.to_string();
        assert!(
            text.contains(&format!("dropped {}: ", Month::of(start)))
                && text.contains(" entries, "),
            "{text}"
        );
        let horizon: NaiveDate =
            sqlx::query_scalar("SELECT oldest_booking_date FROM retention_horizon")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(horizon, oldest_kept.first_day());
        if citus::enabled() {
            assert_eq!(shards_left_on_workers(&pool, &expected).await, 0, "{today}");
        }
    }
}

/// On Citus: how many tables of `months` (their shards) the workers still
/// hold.
async fn shards_left_on_workers(pool: &PgPool, months: &[Month]) -> i64 {
    let pattern = months
        .iter()
        .map(|m| m.partition())
        .collect::<Vec<_>>()
        .join("|");
    let per_worker: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT result FROM run_command_on_workers(\
           $$SELECT count(*) FROM pg_class WHERE relname ~ '^({pattern})_\\d+$'$$)"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(per_worker.len(), 2);
    per_worker.iter().map(|n| n.parse::<i64>().unwrap()).sum()
}

/// The API's own answer at the boundary: the earliest day it serves.
#[tokio::test]
async fn the_earliest_day_a_statement_reaches_is_still_served_after_retention() {
    use common::app::TestApp;
    let today = day("2026-12-01");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(14), today)).await;
    retention(&pool, &options(today)).await.unwrap();
    let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 15, 0, 0).unwrap();
    let app = TestApp::spawn(pool, now).await;
    let earliest = Statement::Full.earliest(today).to_string();
    let body = json!({
        "consent": {
            "brandId": BRAND, "creationDateTime": "2026-12-01T14:00:00Z",
            "expirationDateTime": "2027-12-01T14:00:00Z", "tpp": {"name": "Agregador"},
            "externalId": "urn:cbanco:1",
            "loggedUser": {"document": {"identification": MARIA, "rel": "CPF"}},
            "permissions": ["ACCOUNTS_READ", "ACCOUNTS_TRANSACTIONS_READ", "RESOURCES_READ"],
            "resources": [{"type": "ACCOUNT", "resourceLegacyId": account_id(ACCOUNTS[0])}],
        },
        "requestMeta": {"correlationId": "localID:4f1c0f2e-3d7b-4e9a-8a51-2b0c6d9e7f10", "brandId": BRAND},
        "accountId": account_id(ACCOUNTS[0]),
        "fromBookingDate": earliest, "toBookingDate": earliest,
    });
    let response = app.post("/transactions", &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        response.body
    );
}

#[tokio::test]
async fn keeping_fewer_than_12_months_is_refused() {
    let pool = fresh_pool().await;
    let e = retention(
        &pool,
        &RetentionOptions {
            keep_months: 11,
            ..options(day("2026-12-01"))
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("keep at least 12"), "{e}");
}

#[tokio::test]
async fn a_dry_run_says_what_it_would_do_and_changes_nothing() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(14), today)).await;
    let before = dump(&pool).await;
    let report = retention(
        &pool,
        &RetentionOptions {
            dry_run: true,
            compact: true,
            ..options(today)
        },
    )
    .await
    .unwrap();
    assert_eq!(dump(&pool).await, before);
    let text = report.to_string();
    assert!(text.contains("(dry run)"), "{text}");
    assert!(text.contains("would drop 2025-10: 44 entries"), "{text}");
    assert!(text.contains("would drop 2025-11: 60 entries"), "{text}");
    let rewrite = if citus::enabled() {
        "closed months are not rewritten in statement order on Citus"
    } else {
        "would rewrite 2026-11 in statement order"
    };
    assert!(text.contains(rewrite), "{text}");
    assert!(
        !text.contains("would rewrite 2026-12"),
        "not closed: {text}"
    );
}

/// Tombstones go with their month; the horizon keeps a replayed old file
/// from bringing anything back.
#[tokio::test]
async fn dropped_months_take_their_tombstones_and_replays_stay_out() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    let file = history(today - Months::new(14), today);
    load(&pool, &file).await;
    let old = day("2025-10-15");
    let recent = day("2026-11-15");
    let removals: Vec<Value> = [old, recent]
        .iter()
        .map(|booked| {
            json!({"record": "transactionRemoval", "brandId": BRAND, "accountId": account_id(ACCOUNTS[0]),
                   "transactionId": [{"key": "id", "value": format!("{}-{booked}", ACCOUNTS[0])}],
                   "reason": "reversed"})
        })
        .collect();
    load(&pool, &removals).await;

    let report = retention(&pool, &options(today)).await.unwrap();
    assert_eq!(report.dropped[0].month, Month::of(old));
    assert_eq!(report.dropped[0].tombstones, 1);
    let tombstones: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT booking_date FROM transaction_tombstones")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(tombstones, [recent]);

    // The whole original file again: what is older than the horizon is
    // skipped, the rest is unchanged, the recent removal holds.
    let before = dump(&pool).await;
    let summary = load(&pool, &file).await;
    assert_eq!(dump(&pool).await, before);
    let dropped_days =
        (Month::of(today).plus(-12).first_day() - (today - Months::new(14))).num_days();
    assert_eq!(
        summary.expired_entries,
        2 * dropped_days as u64,
        "{summary}"
    );
    assert_eq!(summary.removed_transactions, 1, "{summary}");
}

/// A dump without what retention keeps of its own runs (the horizon, and
/// which months it rewrote).
fn without_compactions(dump: &str) -> &str {
    &dump[..dump.find("== retention_horizon").unwrap()]
}

/// The physical order of a partition's rows against statement order.
async fn in_statement_order(pool: &PgPool, month: Month) -> bool {
    let physical: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM {} ORDER BY ctid",
        month.partition()
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let statement: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM {} ORDER BY account_id, booking_date, transaction_date_time, id",
        month.partition()
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    physical == statement
}

/// A partition's indexes and constraints, its own name taken out.
async fn schema_of(pool: &PgPool, month: Month) -> Vec<String> {
    let partition = month.partition();
    let mut definitions: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = $1::regclass
          UNION ALL
         SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass",
    )
    .bind(&partition)
    .fetch_all(pool)
    .await
    .unwrap();
    for d in &mut definitions {
        *d = d.replace(&partition, "PARTITION");
    }
    definitions.sort();
    definitions
}

#[tokio::test]
async fn closed_months_are_rewritten_in_statement_order_once() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(3), today)).await;
    let closed = Month::of(day("2026-10-01"));
    let open = Month::of(today);
    assert!(
        !in_statement_order(&pool, closed).await,
        "loaded day by day"
    );
    let before = dump(&pool).await;
    let sibling = schema_of(&pool, closed.plus(-1)).await;

    let report = retention(
        &pool,
        &RetentionOptions {
            compact: true,
            ..options(today)
        },
    )
    .await
    .unwrap();
    if citus::enabled() {
        // The swap renames constraints, which Citus cannot do to a
        // distributed table: months stay as loaded, and the report says so.
        assert!(report.compacted.is_empty(), "{report}");
        assert!(report.not_rewritten_on_citus, "{report}");
        assert!(!in_statement_order(&pool, closed).await);
        return;
    }
    let rewritten: Vec<Month> = report.compacted.iter().map(|c| c.month).collect();
    assert_eq!(
        rewritten,
        [closed.plus(-1), closed, closed.plus(1)],
        "every closed month holding entries; not {open}, still open"
    );
    assert!(report.compacted.iter().all(|c| c.entries > 0));
    assert!(
        report
            .compacted
            .iter()
            .all(|c| c.lock_held < Duration::from_secs(1)),
        "{report}"
    );
    assert!(report.to_string().contains("lock held"), "{report}");
    // Each new month's primary key was read whole after its swap, so the
    // first statement pages after a rewrite do not wait for the disk.
    for c in &report.compacted {
        let index_bytes: i64 = sqlx::query_scalar(
            "SELECT pg_relation_size(i.indexrelid) FROM pg_index i \
              WHERE i.indrelid = $1::regclass AND i.indisprimary",
        )
        .bind(c.month.partition())
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(
            c.warmed_bytes >= index_bytes as u64,
            "{}: {report}",
            c.month
        );
    }
    assert!(
        report.to_string().contains("primary key warmed"),
        "{report}"
    );

    assert_eq!(
        without_compactions(&dump(&pool).await),
        without_compactions(&before),
        "the same rows, ids included"
    );
    for month in &rewritten {
        assert!(in_statement_order(&pool, *month).await, "{month}");
    }
    assert_eq!(
        schema_of(&pool, closed).await,
        sibling,
        "the same keys and indexes"
    );
    // Frozen and all-visible: pages are read off the index alone.
    let (pages, visible): (i32, i32) =
        sqlx::query_as("SELECT relpages, relallvisible FROM pg_class WHERE oid = $1::regclass")
            .bind(closed.partition())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(pages > 0 && visible == pages, "{visible} of {pages}");
    let again = retention(
        &pool,
        &RetentionOptions {
            compact: true,
            ..options(today)
        },
    )
    .await
    .unwrap();
    assert!(again.compacted.is_empty(), "{again}");
}

#[tokio::test]
async fn retention_waits_for_another_writer_or_gives_up() {
    let pool = fresh_pool().await;
    let mut import = pool.acquire().await.unwrap();
    lock::acquire(&mut import, Scope::Session, LockWait::NoWait)
        .await
        .unwrap();
    let e = retention(&pool, &options(day("2026-12-10")))
        .await
        .unwrap_err();
    assert!(
        matches!(e.downcast_ref(), Some(LockError::Busy { .. })),
        "{e}"
    );
    let e = retention(
        &pool,
        &RetentionOptions {
            lock: LockWait::UpTo(Duration::from_millis(300)),
            ..options(day("2026-12-10"))
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e.downcast_ref(), Some(LockError::TimedOut { .. })),
        "{e}"
    );
    lock::release_session(&mut import).await.unwrap();
    retention(&pool, &options(day("2026-12-10"))).await.unwrap();
}

/// Readers never wait long for a month being dropped: retention waits for
/// them.
#[tokio::test]
async fn dropping_a_month_waits_for_readers_and_never_blocks_them() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(14), today)).await;
    // A reader in the middle of a transaction over the whole table.
    let mut reader = pool.begin().await.unwrap();
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *reader)
        .await
        .unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM transactions")
        .fetch_one(&mut *reader)
        .await
        .unwrap();
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { retention(&pool, &options(today)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!running.is_finished(), "the drop waits for the reader");
    // A request that comes meanwhile is answered, while the reader still
    // holds the drop back: on PostgreSQL the detach is concurrent; on Citus
    // it queues a request for one short wait of its lock at most.
    let _: i64 = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar("SELECT count(*) FROM transactions").fetch_one(&pool),
    )
    .await
    .expect("a new reader was blocked")
    .unwrap();
    // The reader goes on, unblocked, in its own snapshot.
    let again: i64 = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar("SELECT count(*) FROM transactions").fetch_one(&mut *reader),
    )
    .await
    .expect("the reader was blocked")
    .unwrap();
    assert_eq!(again, seen);
    reader.commit().await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.dropped.len(), 2, "{report}");
}

/// Account 1's statement from June to November 2026, in one page.
async fn june_to_november(pool: PgPool) -> sqlx::Result<Vec<Value>> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT x.transaction_id FROM ({}) x",
        contas::repo::STATEMENT_PAGE
    )))
    .bind(1i64)
    .bind(day("2026-06-01"))
    .bind(day("2026-11-30"))
    .bind(None::<String>)
    .bind(1000i64)
    .bind(0i64)
    .fetch_all(&pool)
    .await
}

/// While closed months are rewritten, statement pages of those months keep
/// their exact answer: never a missing month, never an error.
#[tokio::test]
async fn pages_read_during_a_rewrite_never_miss_a_month() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(6), today)).await;
    let expected = june_to_november(pool.clone()).await.unwrap();
    assert_eq!(expected.len(), 174);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (pool, stop, expected) = (pool.clone(), stop.clone(), expected.clone());
            tokio::spawn(async move {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let got = june_to_november(pool.clone())
                        .await
                        .expect("a page read during the rewrite");
                    assert_eq!(got, expected, "a page read during the rewrite differs");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let report = retention(
        &pool,
        &RetentionOptions {
            compact: true,
            ..options(today)
        },
    )
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // On Citus months are not rewritten (see the test above); the pages
    // read while retention ran must still be whole.
    let rewritten = if citus::enabled() { 0 } else { 6 };
    assert_eq!(report.compacted.len(), rewritten, "{report}");
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
}

/// A run killed while it detached a month leaves it half detached; the next
/// run finishes and drops it.
#[tokio::test]
async fn a_run_killed_while_detaching_is_finished_by_the_next() {
    if citus::enabled() {
        eprintln!(
            "on Citus a month is detached in one transaction, never concurrently: \
             no run leaves one half detached"
        );
        return;
    }
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(14), today)).await;
    let victim = Month::of(day("2025-10-01"));
    // A reader holds the detach in its second phase...
    let mut reader = pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM transactions")
        .execute(&mut *reader)
        .await
        .unwrap();
    let mut detacher = pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *detacher)
        .await
        .unwrap();
    let detaching = tokio::spawn(async move {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE transactions DETACH PARTITION {} CONCURRENTLY",
            victim.partition()
        )))
        .execute(&mut *detacher)
        .await
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pending: bool = sqlx::query_scalar(
            "SELECT coalesce(bool_or(inhdetachpending), false) FROM pg_inherits
              WHERE inhparent = 'transactions'::regclass",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if pending {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the detach never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...when its process dies.
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&pool)
        .await
        .unwrap();
    assert!(detaching.await.unwrap().is_err());
    reader.commit().await.unwrap();

    let report = retention(&pool, &options(today)).await.unwrap();
    assert_eq!(report.finished, [victim], "{report}");
    assert!(
        report.to_string().contains("finished dropping 2025-10"),
        "{report}"
    );
    let left: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(victim.partition())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, None);
}

/// Months get a filter of their completed ids; imports still find every id
/// of those months, identical or changed, in its month or moved to another,
/// and the ids they add to a filtered month join its filter.
#[tokio::test]
async fn imports_find_every_id_of_a_filtered_month() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    let file = history(today - Months::new(3), today);
    load(&pool, &file).await;
    let report = retention(&pool, &options(today)).await.unwrap();
    let filtered: Vec<Month> = report.filtered.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        filtered,
        [
            Month::of(day("2026-09-01")),
            Month::of(day("2026-10-01")),
            Month::of(day("2026-11-01")),
            Month::of(today)
        ]
    );
    assert_eq!(report.filtered[1].1, 62, "{report}");

    // A replay: every id found, nothing written.
    let before = dump(&pool).await;
    let summary = load(&pool, &file).await;
    assert_eq!(summary.duplicate_transactions, file.len() as u64 - 4);
    assert_eq!(dump(&pool).await, before);

    // An id of a filtered month with other content, or moved to today.
    let mut changed = transaction(
        ACCOUNTS[0],
        &format!("{}-2026-10-15", ACCOUNTS[0]),
        day("2026-10-15"),
    );
    changed["amount"] = json!("99.00");
    let moved = transaction(ACCOUNTS[0], &format!("{}-2026-10-15", ACCOUNTS[0]), today);
    for record in [changed, moved] {
        let e = contas::import::import_reader(&pool, ndjson(&[record]).as_bytes(), false)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("immutable") || format!("{e:#}").contains("immutable"),
            "{e:#}"
        );
    }

    // A late entry into a filtered month joins its filter: the same id
    // booked elsewhere later is found.
    load(
        &pool,
        &[transaction(ACCOUNTS[1], "LATE-1", day("2026-10-20"))],
    )
    .await;
    let ids: i64 =
        sqlx::query_scalar("SELECT ids FROM month_id_filters WHERE month = '2026-10-01'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(ids, 63);
    let e = contas::import::import_reader(
        &pool,
        ndjson(&[transaction(ACCOUNTS[1], "LATE-1", today)]).as_bytes(),
        false,
    )
    .await
    .unwrap_err();
    assert!(format!("{e:#}").contains("bookingDate"), "{e:#}");
}

/// A rewrite killed midway leaves a copy not swapped in, or a replaced
/// month not dropped yet; the next run drops them, and nothing else.
#[tokio::test]
async fn a_rewrite_cut_short_leaves_nothing_behind_the_next_run() {
    let today = day("2026-12-10");
    let pool = fresh_pool().await;
    load(&pool, &history(today - Months::new(2), today)).await;
    for leftover in [
        "transactions_2026_10_compacting",
        "transactions_2026_09_replaced",
    ] {
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE {leftover} (LIKE transactions INCLUDING DEFAULTS)"
        )))
        .execute(&pool)
        .await
        .unwrap();
    }
    let before = dump(&pool).await;
    retention(&pool, &options(today)).await.unwrap();
    for leftover in [
        "transactions_2026_10_compacting",
        "transactions_2026_09_replaced",
    ] {
        let left: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(leftover)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(left, None, "{leftover}");
    }
    assert_eq!(
        without_compactions(&dump(&pool).await),
        without_compactions(&before)
    );
}
