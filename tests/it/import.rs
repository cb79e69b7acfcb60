//! `contas import` against a real PostgreSQL: every rule of the shared
//! `import-format.md`.

use crate::common;

use chrono::{DateTime, NaiveDate, Utc};
use common::db::{TABLES, dump, dump_content, fresh_pool};
use contas::import::{self, ImportError, ImportOptions, ImportSummary};
use rust_decimal::Decimal;
use serde_json::{Value, json};
// The tests' dynamic SQL (`AssertSqlSafe`) is their own text and names.
use sqlx::{AssertSqlSafe, PgPool};
use std::str::FromStr;

const BRAND: &str = "cbanco";
const ANA: &str = "38519462782";
const BETO: &str = "71426093896";
const FIRMA: &str = "45781923000166";
const CHECKING: &str = "00000001";
const SAVINGS: &str = "00000002";
const JOINT: &str = "00000003";
const COMPANY: &str = "00000004";

// ---- records -------------------------------------------------------------------

fn acc(number: &str) -> Value {
    json!([{"key": "branch", "value": "0001"}, {"key": "number", "value": number}])
}

fn acc_reordered(number: &str) -> Value {
    json!([{"key": "number", "value": number}, {"key": "branch", "value": "0001"}])
}

fn tid(id: &str) -> Value {
    json!([{"key": "id", "value": id}])
}

fn brand() -> Value {
    json!({"record": "brand", "brandId": BRAND, "brandName": "Banco C", "companyCnpj": "21128159000166"})
}

fn customer(document: &str, name: &str) -> Value {
    json!({"record": "customer", "brandId": BRAND, "document": document, "name": name})
}

fn account(number: &str, kind: &str, subtype: &str, holders: &[&str]) -> Value {
    json!({
        "record": "account", "brandId": BRAND, "accountId": acc(number),
        "type": kind, "subtype": subtype, "compeCode": "336", "branchCode": "0001",
        "number": number, "checkDigit": "9", "currency": "BRL", "holders": holders,
        "displayName": format!("Conta {number}"),
    })
}

fn checking(number: &str, holders: &[&str]) -> Value {
    account(number, "CONTA_DEPOSITO_A_VISTA", "INDIVIDUAL", holders)
}

fn balance(number: &str, available: &str, at: &str) -> Value {
    json!({
        "record": "balance", "brandId": BRAND, "accountId": acc(number),
        "availableAmount": available, "blockedAmount": "0.00", "automaticallyInvestedAmount": "0.00",
        "currency": "BRL", "updateDateTime": at,
    })
}

fn limits(number: &str) -> Value {
    json!({
        "record": "overdraftLimits", "brandId": BRAND, "accountId": acc(number),
        "overdraftContractedLimit": "1000.00", "overdraftUsedLimit": "150.50",
        "unarrangedOverdraftAmount": null, "currency": "BRL",
    })
}

fn entry(id: &str, kind: &str, amount: &str, at: &str) -> Value {
    json!({
        "transactionId": tid(id), "completedAuthorisedPaymentType": kind, "creditDebitType": "DEBITO",
        "transactionName": format!("PIX ENVIADO {id}"), "type": "PIX", "amount": amount, "currency": "BRL",
        "transactionDateTime": at, "partieCnpjCpf": BETO, "partiePersonType": "PESSOA_NATURAL",
        "partieCompeCode": "001", "partieBranchCode": "6272", "partieNumber": "67890854360", "partieCheckDigit": "4",
    })
}

fn tx(number: &str, id: &str, amount: &str, at: &str) -> Value {
    let mut v = entry(id, "TRANSACAO_EFETIVADA", amount, at);
    let o = v.as_object_mut().unwrap();
    o.insert("record".into(), json!("transaction"));
    o.insert("brandId".into(), json!(BRAND));
    o.insert("accountId".into(), acc(number));
    v
}

fn pending(number: &str, entries: Vec<Value>) -> Value {
    json!({"record": "pendingTransactions", "brandId": BRAND, "accountId": acc(number), "transactions": entries})
}

fn processing(id: &str, amount: &str) -> Value {
    entry(
        id,
        "TRANSACAO_PROCESSANDO",
        amount,
        "2026-11-20T14:00:00.000Z",
    )
}

fn removal(number: &str, id: &str) -> Value {
    json!({"record": "transactionRemoval", "brandId": BRAND, "accountId": acc(number), "transactionId": tid(id),
           "reason": "consolidated"})
}

/// A brand, three customers (a person, her spouse, her company) and four
/// accounts.
fn setup() -> Vec<Value> {
    vec![
        brand(),
        customer(ANA, "Ana Paula Souza"),
        customer(BETO, "Ricardo Souza Lima"),
        customer(FIRMA, "Souza Design Ltda"),
        checking(CHECKING, &[ANA]),
        account(SAVINGS, "CONTA_POUPANCA", "INDIVIDUAL", &[ANA]),
        account(
            JOINT,
            "CONTA_DEPOSITO_A_VISTA",
            "CONJUNTA_SOLIDARIA",
            &[ANA, BETO],
        ),
        checking(COMPANY, &[FIRMA]),
    ]
}

/// Asserts two dumps are equal, showing only the lines that differ.
#[track_caller]
fn assert_same(left: &str, right: &str, what: &str) {
    if left != right {
        let l: std::collections::BTreeSet<&str> = left.lines().collect();
        let r: std::collections::BTreeSet<&str> = right.lines().collect();
        let only_left: Vec<&&str> = l.difference(&r).take(5).collect();
        let only_right: Vec<&&str> = r.difference(&l).take(5).collect();
        panic!(
            "{what}: the stores differ\nonly before: {only_left:#?}\nonly after: {only_right:#?}"
        );
    }
}

fn with(mut base: Vec<Value>, more: impl IntoIterator<Item = Value>) -> Vec<Value> {
    base.extend(more);
    base
}

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

// ---- running -----------------------------------------------------------------

async fn load(pool: &PgPool, records: &[Value]) -> anyhow::Result<ImportSummary> {
    import::import_reader(pool, ndjson(records).as_bytes(), false).await
}

async fn load_batched(
    pool: &PgPool,
    records: &[Value],
    batch_rows: usize,
) -> anyhow::Result<ImportSummary> {
    let options = ImportOptions {
        batch_rows,
        ..ImportOptions::default()
    };
    import::import_reader_with(pool, ndjson(records).as_bytes(), &options).await
}

async fn load_ok(pool: &PgPool, records: &[Value]) -> ImportSummary {
    match load(pool, records).await {
        Ok(summary) => summary,
        Err(e) => panic!("import failed: {e:#}"),
    }
}

fn rejected(result: anyhow::Result<ImportSummary>) -> ImportError {
    match result {
        Ok(summary) => panic!("expected the import to be rejected, got {summary}"),
        Err(e) => e
            .downcast::<ImportError>()
            .unwrap_or_else(|e| panic!("not an ImportError: {e:#}")),
    }
}

/// (line, field) of every listed error.
fn where_(e: &ImportError) -> Vec<(u64, String)> {
    e.errors.iter().map(|e| (e.line, e.field.clone())).collect()
}

fn at(line: u64, field: &str) -> (u64, String) {
    (line, field.to_owned())
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn is_empty(pool: &PgPool) -> bool {
    for table in TABLES {
        if scalar(pool, &format!("SELECT count(*) FROM {table}")).await != 0 {
            return false;
        }
    }
    true
}

/// Pending entries of an account: (id value, kind), in insertion order.
async fn pendings(pool: &PgPool, number: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT t.transaction_id->0->>'value', t.completed_authorised_payment_type FROM transactions t \
         JOIN accounts a ON a.id = t.account_id WHERE a.number = $1 \
         AND t.completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA' ORDER BY t.id",
    )
    .bind(number)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Completed transaction ids of an account, sorted.
async fn completed(pool: &PgPool, number: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT t.transaction_id->0->>'value' FROM transactions t JOIN accounts a ON a.id = t.account_id \
         WHERE a.number = $1 AND t.completed_authorised_payment_type = 'TRANSACAO_EFETIVADA' ORDER BY 1",
    )
    .bind(number)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A rich file touching every record kind, several times.
fn full_file() -> Vec<Value> {
    with(
        setup(),
        [
            balance(CHECKING, "-150.50", "2026-11-20T10:00:00Z"),
            balance(SAVINGS, "2500.00", "2026-11-20T10:00:00Z"),
            limits(CHECKING),
            tx(CHECKING, "TX-1", "1500.00", "2026-11-20T14:30:00.000Z"),
            tx(CHECKING, "TX-2", "10.25", "2026-11-21T02:30:00.000Z"),
            tx(JOINT, "TX-1", "99.99", "2026-11-19T09:00:00.000Z"),
            tx(COMPANY, "TX-9", "5000.0000", "2026-11-18T12:00:00.123Z"),
            pending(
                CHECKING,
                vec![processing("P-1", "50.00"), processing("P-1", "25.00")],
            ),
            tx(CHECKING, "TX-3", "1.00", "2026-11-20T15:00:00.000Z"),
            removal(CHECKING, "TX-3"),
            balance(CHECKING, "-100.00", "2026-11-20T09:00:00Z"),
        ],
    )
}

// ---- tests -------------------------------------------------------------------

#[tokio::test]
async fn a_full_valid_file_loads_with_counts_in_its_summary() {
    let pool = fresh_pool().await;
    let summary = load_ok(&pool, &full_file()).await;
    assert_eq!(summary.records, 19);
    assert_eq!(
        (
            summary.brands,
            summary.customers,
            summary.accounts,
            summary.balances,
            summary.overdraft_limits
        ),
        (1, 3, 4, 3, 1)
    );
    assert_eq!(
        (
            summary.transactions,
            summary.pending_snapshots,
            summary.pending_entries,
            summary.removals
        ),
        (5, 1, 2, 1)
    );
    assert_eq!(summary.stale_balances, 1);
    let line = summary.to_string();
    assert!(!line.contains('\n'), "{line}");
    for part in [
        "19 records",
        "1 brand,",
        "3 customers",
        "4 accounts",
        "3 balances (1 stale",
        "5 transactions",
        "1 removal",
    ] {
        assert!(line.contains(part), "{part:?} not in {line:?}");
    }

    assert_eq!(scalar(&pool, "SELECT count(*) FROM brands").await, 1);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM customers").await, 3);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM accounts").await, 4);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM account_holders").await,
        5
    );
    assert_eq!(completed(&pool, CHECKING).await, ["TX-1", "TX-2"]);
    assert_eq!(completed(&pool, JOINT).await, ["TX-1"]);
    assert_eq!(pendings(&pool, CHECKING).await.len(), 2);

    let (amount, at, booking): (Decimal, DateTime<Utc>, NaiveDate) = sqlx::query_as(
        "SELECT amount, transaction_date_time, booking_date FROM transactions WHERE legacy_key = '[[\"id\",\"TX-9\"]]'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(amount, Decimal::from_str("5000").unwrap());
    assert_eq!(
        contas::domain::time::render_millis(at),
        "2026-11-18T12:00:00.123Z"
    );
    assert_eq!(booking, NaiveDate::from_ymd_opt(2026, 11, 18).unwrap());

    // The stale balance (09:00, after 10:00 in the file) was skipped.
    let available: Decimal = sqlx::query_scalar(
        "SELECT available_amount FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.number = $1",
    )
    .bind(CHECKING)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(available, Decimal::from_str("-150.50").unwrap());
    let (contracted, unarranged): (Option<Decimal>, Option<Decimal>) = sqlx::query_as(
        "SELECT overdraft_contracted_limit, unarranged_overdraft_amount FROM overdraft_limits",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (contracted, unarranged),
        (Some(Decimal::from_str("1000").unwrap()), None)
    );
    let (legacy, status, display): (Value, String, Option<String>) =
        sqlx::query_as("SELECT legacy_id, status, display_name FROM accounts WHERE number = $1")
            .bind(CHECKING)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(legacy, acc(CHECKING));
    assert_eq!(status, "AVAILABLE", "the default status");
    assert_eq!(display.as_deref(), Some("Conta 00000001"));
}

#[tokio::test]
async fn one_bad_line_rejects_the_whole_file_listing_lines_and_fields() {
    let pool = fresh_pool().await;
    let mut file = full_file();
    let mut bad = tx(CHECKING, "TX-BAD", "12,50", "2026-11-20");
    bad["creditDebitType"] = json!("CREDIT");
    file.insert(10, bad); // line 11
    file.push(json!({"record": "loan", "brandId": BRAND})); // line 21
    file.push(
        json!({"record": "customer", "brandId": BRAND, "document": ANA, "name": "x", "age": 3}),
    ); // 22
    file.push(json!({"brandId": BRAND})); // 23
    let e = rejected(load(&pool, &file).await);
    assert_eq!(
        where_(&e),
        [
            at(11, "creditDebitType"),
            at(11, "amount"),
            at(11, "transactionDateTime"),
            at(21, "record"),
            at(22, "age"),
            at(23, "record")
        ]
    );
    assert_eq!(e.total, 6);
    let text = e.to_string();
    assert!(
        text.contains("\nline 11: creditDebitType: must be one of CREDITO, DEBITO"),
        "{text}"
    );
    assert!(text.contains("\nline 22: age: unknown field"), "{text}");
    assert!(!text.contains("more error"), "{text}");
    assert!(
        is_empty(&pool).await,
        "nothing of a rejected file is applied"
    );

    // Invalid JSON is a line error too, and blank lines do not count.
    let text = format!("{}\n\n{{\"record\":\"brand\",\n", brand());
    let e = rejected(import::import_reader(&pool, text.as_bytes(), false).await);
    assert_eq!(where_(&e), [at(3, "json")]);
    assert!(is_empty(&pool).await);
}

#[tokio::test]
async fn more_than_100_bad_lines_list_100_then_a_count() {
    let pool = fresh_pool().await;
    let mut file = setup();
    for i in 0..150 {
        file.push(tx(
            CHECKING,
            &format!("T{i}"),
            "-1.00",
            "2026-11-20T14:30:00.000Z",
        ));
    }
    let e = rejected(load(&pool, &file).await);
    assert_eq!(e.total, 150);
    assert_eq!(e.errors.len(), 100);
    assert_eq!(e.errors[0].line, 9);
    assert_eq!(e.errors[99].line, 108);
    assert!(e.errors.iter().all(|e| e.field == "amount"));
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 102, "a header, 100 errors, the count");
    assert_eq!(lines[1], "line 9: amount: must not be negative");
    assert_eq!(*lines.last().unwrap(), "… and 50 more errors");
    assert!(is_empty(&pool).await);
}

#[tokio::test]
async fn importing_the_same_file_twice_leaves_the_store_identical() {
    let pool = fresh_pool().await;
    let file = full_file();
    load_ok(&pool, &file).await;
    let first = dump(&pool).await;
    let again = load_ok(&pool, &file).await;
    assert_eq!(dump(&pool).await, first);
    // TX-3 was removed by the file, so it is added and removed again.
    assert_eq!(again.duplicate_transactions, 4);
    assert_eq!(again.unchanged_snapshots, 1);

    // The same with tiny batches, which cross every rule over flushes.
    let content = dump_content(&pool).await;
    let pool2 = fresh_pool().await;
    for batch in [1, 2, 3] {
        load_batched(&pool2, &file, batch).await.unwrap();
        assert_eq!(dump_content(&pool2).await, content, "batch of {batch}");
    }
    let before = dump(&pool2).await;
    load_batched(&pool2, &file, 1).await.unwrap();
    assert_eq!(dump(&pool2).await, before);
}

#[tokio::test]
async fn batch_size_does_not_change_the_result() {
    let file = full_file();
    let mut dumps = Vec::new();
    for batch in [1, 2, 5, 10_000] {
        let pool = fresh_pool().await;
        load_batched(&pool, &file, batch).await.unwrap();
        dumps.push(dump_content(&pool).await);
    }
    assert!(dumps.windows(2).all(|w| w[0] == w[1]));
}

/// A long file: most rows stream into a COPY, while duplicates, snapshots,
/// removals and balances interrupt the stream.
/// Completed transactions of [`long_file`].
const LONG: usize = 6_000;

fn long_file() -> Vec<Value> {
    let at = |i: usize| {
        format!(
            "2026-{:02}-{:02}T{:02}:00:00.000Z",
            1 + i % 11,
            1 + i % 28,
            i % 24
        )
    };
    let mut file = setup();
    for i in 0..LONG {
        let account = if i % 3 == 0 { JOINT } else { CHECKING };
        file.push(tx(
            account,
            &format!("L{i}"),
            &format!("{}.{:02}", i % 5000, i % 100),
            &at(i),
        ));
        match i {
            1_500 => file.push(tx(CHECKING, "L1", "1.01", &at(1))), // identical duplicate
            2_000 => file.push(pending(
                JOINT,
                vec![processing("PJ-1", "5.00"), processing("PJ-1", "6.00")],
            )),
            2_500 => file.push(removal(CHECKING, "L2")),
            3_500 => file.push(pending(JOINT, vec![processing("PJ-2", "7.00")])),
            4_000 => file.push(balance(CHECKING, "10.00", "2026-11-20T10:00:00Z")),
            _ => {}
        }
    }
    file
}

#[tokio::test]
async fn streamed_and_batched_rows_give_the_same_store() {
    let file = long_file();
    let mut dumps = Vec::new();
    for batch in [1_000_000, 2_000, 997, 13] {
        let pool = fresh_pool().await;
        let summary = load_batched(&pool, &file, batch).await.unwrap();
        assert_eq!(
            (summary.transactions, summary.duplicate_transactions),
            (LONG as u64 + 1, 1),
            "batch of {batch}"
        );
        dumps.push(dump_content(&pool).await);
        assert_eq!(
            pendings(&pool, JOINT).await,
            [("PJ-2".to_owned(), "TRANSACAO_PROCESSANDO".to_owned())]
        );
        assert_eq!(
            scalar(&pool, "SELECT count(*) FROM transactions").await,
            LONG as i64 - 1 + 1
        );
        // And a second import of it changes nothing.
        let before = dump(&pool).await;
        let again = load_batched(&pool, &file, batch).await.unwrap();
        assert_same(&before, &dump(&pool).await, &format!("batch of {batch}"));
        assert_eq!(
            again.duplicate_transactions, LONG as u64,
            "batch of {batch}"
        );
    }
    assert!(dumps.windows(2).all(|w| w[0] == w[1]));

    // Errors inside the stream are still found: a changed duplicate, and a
    // completed id that a pending entry holds.
    let mut bad = file.clone();
    let mut changed = tx(CHECKING, "L5", "1.00", "2026-11-20T14:30:00.000Z");
    changed["transactionName"] = json!("CHANGED");
    bad.push(changed);
    bad.push(tx(JOINT, "PJ-2", "7.00", "2026-11-20T14:00:00.000Z"));
    let pool = fresh_pool().await;
    let e = rejected(load(&pool, &bad).await);
    let n = bad.len() as u64;
    assert_eq!(
        where_(&e),
        [at(n - 1, "transactionId"), at(n, "transactionId")]
    );
    assert!(is_empty(&pool).await);
}

#[tokio::test]
async fn values_survive_the_trip_to_the_store_whichever_way_they_go() {
    let amounts = [
        "0.00",
        "0.01",
        "0.1234",
        "0.0005",
        "10000.00",
        "12345.6789",
        "100000000.0001",
        "999999999999999.9999",
    ];
    let times = [
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:00:00Z",
        "2026-11-21T02:30:00.123456Z",
    ];
    // Control characters (U+0000 to U+001F) are refused; anything else
    // must come back as sent.
    let names = [
        "delete\u{7f}here",
        "c1 \u{85} next line",
        "back\\slash",
        "ação “aspas” ✓",
        "quote\" and 💸",
    ];
    let mut rows = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let mut t = tx(CHECKING, &format!("A{i}"), amount, times[i % times.len()]);
        t["transactionName"] = json!(names[i % names.len()]);
        t["transactionId"] = json!([{"key": "id\u{7f}", "value": format!("A{i}\\\"")}]);
        rows.push(t);
    }
    // batch 1: streamed into a COPY; a huge batch: the batch path; then the
    // same rows once more into the store (the insert-and-compare path).
    for batch in [1, 1_000_000] {
        let pool = fresh_pool().await;
        load_batched(&pool, &with(setup(), rows.clone()), batch)
            .await
            .unwrap();
        let again = load_batched(&pool, &rows, batch).await.unwrap();
        assert_eq!(
            again.duplicate_transactions,
            amounts.len() as u64,
            "batch of {batch}"
        );
        let stored: Vec<(String, Decimal, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT transaction_id->0->>'value', amount, transaction_date_time, transaction_name FROM transactions ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(stored.len(), amounts.len());
        for (i, (id, amount, at, name)) in stored.iter().enumerate() {
            assert_eq!(id, &format!("A{i}\\\""));
            assert_eq!(
                *amount,
                Decimal::from_str(amounts[i]).unwrap(),
                "batch of {batch}"
            );
            assert_eq!(
                *at,
                DateTime::parse_from_rfc3339(times[i % times.len()])
                    .unwrap()
                    .with_timezone(&Utc)
            );
            assert_eq!(name, names[i % names.len()]);
        }
    }
}

#[tokio::test]
async fn completed_transactions_are_immutable() {
    let pool = fresh_pool().await;
    let t = tx(CHECKING, "TX-1", "1500.00", "2026-11-20T14:30:00.000Z");
    load_ok(&pool, &with(setup(), [t.clone()])).await;

    // Identical content: a no-op, also twice in one file and with the
    // amount written with more decimals.
    let mut same = t.clone();
    same["amount"] = json!("1500.0000");
    let summary = load_ok(&pool, &[t.clone(), same]).await;
    assert_eq!(
        (summary.transactions, summary.duplicate_transactions),
        (2, 2)
    );
    assert_eq!(completed(&pool, CHECKING).await, ["TX-1"]);

    // Different content: an error for that line.
    let mut changed = t.clone();
    changed["amount"] = json!("1500.01");
    changed["transactionName"] = json!("OTHER");
    let e = rejected(load(&pool, &[t.clone(), changed]).await);
    assert_eq!(where_(&e), [at(2, "transactionId")]);
    assert!(
        e.errors[0].reason.contains("transactionName, amount"),
        "{}",
        e.errors[0].reason
    );
    assert!(e.errors[0].reason.contains("immutable"));

    // Within one file too.
    let pool = fresh_pool().await;
    let mut changed = tx(CHECKING, "TX-7", "1.00", "2026-11-20T14:30:00.000Z");
    let first = changed.clone();
    changed["type"] = json!("TED");
    let e = rejected(load(&pool, &with(setup(), [first, changed])).await);
    assert_eq!(where_(&e), [at(10, "transactionId")]);
    assert!(is_empty(&pool).await);
}

#[tokio::test]
async fn pending_snapshots_replace_and_an_empty_one_clears() {
    let pool = fresh_pool().await;
    let future = entry(
        "F-1",
        "LANCAMENTO_FUTURO",
        "80.00",
        "2026-12-05T15:00:00.000Z",
    );
    load_ok(
        &pool,
        &with(
            setup(),
            [
                tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
                pending(
                    CHECKING,
                    vec![processing("P-1", "1.00"), processing("P-2", "2.00")],
                ),
                pending(JOINT, vec![processing("P-1", "3.00")]),
            ],
        ),
    )
    .await;
    assert_eq!(pendings(&pool, CHECKING).await.len(), 2);

    // A new snapshot replaces all entries of its account only.
    load_ok(
        &pool,
        &[pending(
            CHECKING,
            vec![processing("P-3", "3.00"), future.clone()],
        )],
    )
    .await;
    assert_eq!(
        pendings(&pool, CHECKING).await,
        [
            ("P-3".to_owned(), "TRANSACAO_PROCESSANDO".to_owned()),
            ("F-1".to_owned(), "LANCAMENTO_FUTURO".to_owned())
        ]
    );
    assert_eq!(pendings(&pool, JOINT).await.len(), 1);
    assert_eq!(
        completed(&pool, CHECKING).await,
        ["TX-1"],
        "completed transactions stay"
    );
    let booking: NaiveDate = sqlx::query_scalar(
        "SELECT booking_date FROM transactions WHERE legacy_key = '[[\"id\",\"F-1\"]]'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(booking, NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());

    // The last snapshot of a file wins; then an empty one clears.
    load_ok(
        &pool,
        &[
            pending(CHECKING, vec![processing("P-4", "4.00")]),
            pending(CHECKING, vec![]),
        ],
    )
    .await;
    assert!(pendings(&pool, CHECKING).await.is_empty());
    assert_eq!(pendings(&pool, JOINT).await.len(), 1);

    // Completed transactions are refused in a snapshot, pending ones in a transaction record.
    let mut wrong = tx(CHECKING, "TX-5", "1.00", "2026-11-20T14:30:00.000Z");
    wrong["completedAuthorisedPaymentType"] = json!("LANCAMENTO_FUTURO");
    let e = rejected(
        load(
            &pool,
            &[
                pending(
                    CHECKING,
                    vec![entry(
                        "X",
                        "TRANSACAO_EFETIVADA",
                        "1.00",
                        "2026-11-20T14:30:00.000Z",
                    )],
                ),
                wrong,
            ],
        )
        .await,
    );
    assert_eq!(
        where_(&e),
        [
            at(1, "transactions[0].completedAuthorisedPaymentType"),
            at(2, "completedAuthorisedPaymentType")
        ]
    );
}

#[tokio::test]
async fn a_pending_entry_must_not_reuse_a_completed_id() {
    let pool = fresh_pool().await;
    load_ok(
        &pool,
        &with(
            setup(),
            [tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z")],
        ),
    )
    .await;
    let before = dump(&pool).await;

    // Against the store.
    let e = rejected(
        load(
            &pool,
            &[pending(
                CHECKING,
                vec![processing("P-1", "1.00"), processing("TX-1", "1.00")],
            )],
        )
        .await,
    );
    assert_eq!(where_(&e), [at(1, "transactions[1].transactionId")]);
    // Against a completed transaction earlier in the same file.
    let e = rejected(
        load(
            &pool,
            &[
                tx(CHECKING, "TX-2", "1.00", "2026-11-20T14:30:00.000Z"),
                pending(CHECKING, vec![processing("TX-2", "1.00")]),
            ],
        )
        .await,
    );
    assert_eq!(where_(&e), [at(2, "transactions[0].transactionId")]);
    // A completed transaction after a snapshot holding its id.
    let e = rejected(
        load(
            &pool,
            &[
                pending(CHECKING, vec![processing("TX-3", "1.00")]),
                tx(CHECKING, "TX-3", "1.00", "2026-11-20T14:30:00.000Z"),
            ],
        )
        .await,
    );
    assert_eq!(where_(&e), [at(2, "transactionId")]);
    // The same id in another account is fine.
    load_ok(&pool, &[pending(JOINT, vec![processing("TX-1", "1.00")])]).await;
    assert_ne!(dump(&pool).await, before);

    // A provisional entry completing under the same id: the completed
    // record plus a snapshot without it, in one file.
    load_ok(&pool, &[pending(CHECKING, vec![processing("P-9", "9.00")])]).await;
    let e = rejected(
        load(
            &pool,
            &[tx(CHECKING, "P-9", "9.00", "2026-11-20T14:30:00.000Z")],
        )
        .await,
    );
    assert_eq!(
        where_(&e),
        [at(1, "transactionId")],
        "alone it would expose both"
    );
    load_ok(
        &pool,
        &[
            tx(CHECKING, "P-9", "9.00", "2026-11-20T14:30:00.000Z"),
            pending(CHECKING, vec![]),
        ],
    )
    .await;
    assert_eq!(completed(&pool, CHECKING).await, ["P-9", "TX-1"]);
    assert!(pendings(&pool, CHECKING).await.is_empty());
}

#[tokio::test]
async fn removals_remove_existing_transactions_and_refuse_unknown_ones() {
    let pool = fresh_pool().await;
    load_ok(
        &pool,
        &with(
            setup(),
            [
                tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
                tx(CHECKING, "TX-2", "2.00", "2026-11-20T14:30:00.000Z"),
                tx(JOINT, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
            ],
        ),
    )
    .await;
    let summary = load_ok(&pool, &[removal(CHECKING, "TX-1")]).await;
    assert_eq!(summary.removals, 1);
    assert_eq!(completed(&pool, CHECKING).await, ["TX-2"]);
    assert_eq!(
        completed(&pool, JOINT).await,
        ["TX-1"],
        "only that account's"
    );

    // An id the account never had.
    let before = dump(&pool).await;
    let e = rejected(
        load(
            &pool,
            &[removal(CHECKING, "TX-2"), removal(CHECKING, "NEVER")],
        )
        .await,
    );
    assert_eq!(where_(&e), [at(2, "transactionId")]);
    assert!(
        e.errors[0].reason.contains("none was removed"),
        "{}",
        e.errors[0].reason
    );
    assert_eq!(dump(&pool).await, before);
}

/// The store keeps a tombstone of each removal: account, transactionId,
/// reason, when, and a digest of the removed content, not the content.
#[tokio::test]
async fn a_removal_leaves_a_tombstone_without_the_content() {
    let pool = fresh_pool().await;
    load_ok(
        &pool,
        &with(
            setup(),
            [tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z")],
        ),
    )
    .await;
    let started = Utc::now();
    load_ok(&pool, &[removal(CHECKING, "TX-1")]).await;
    let (key, reason, removed_at, booking, digest): (String, Option<String>, DateTime<Utc>, NaiveDate, Vec<u8>) =
        sqlx::query_as(
            "SELECT t.legacy_key, t.reason, t.removed_at, t.booking_date, t.content_digest \
             FROM transaction_tombstones t JOIN accounts a ON a.id = t.account_id WHERE a.number = $1",
        )
        .bind(CHECKING)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(key, r#"[["id","TX-1"]]"#);
    assert_eq!(reason.as_deref(), Some("consolidated"));
    assert!(removed_at >= started - chrono::Duration::seconds(5));
    assert_eq!(booking, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    assert_eq!(digest.len(), 32);
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_name = 'transaction_tombstones' ORDER BY ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        columns,
        [
            "account_id",
            "legacy_key",
            "reason",
            "removed_at",
            "booking_date",
            "content_digest"
        ],
        "no content of the removed entry is kept"
    );
}

/// Replaying a file that removed an entry succeeds and changes nothing, and
/// so does replaying the file that first loaded it, in one file or two.
#[tokio::test]
async fn replaying_files_with_removals_changes_nothing() {
    let loaded = with(
        setup(),
        [
            tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
            tx(CHECKING, "TX-2", "2.00", "2026-10-31T23:30:00.000Z"),
            // Added and removed in one file.
            tx(CHECKING, "TX-3", "3.00", "2026-11-19T10:00:00.000Z"),
            removal(CHECKING, "TX-3"),
        ],
    );
    let removed = vec![removal(CHECKING, "TX-1"), removal(CHECKING, "TX-2")];
    let pool = fresh_pool().await;
    load_ok(&pool, &loaded).await;
    load_ok(&pool, &removed).await;
    assert!(completed(&pool, CHECKING).await.is_empty());
    let after_first_run = dump(&pool).await;

    let summary = load_ok(&pool, &removed).await;
    assert_eq!((summary.removals, summary.replayed_removals), (2, 2));
    assert_same(&after_first_run, &dump(&pool).await, "removals replayed");

    let summary = load_ok(&pool, &loaded).await;
    assert_eq!(
        (summary.removed_transactions, summary.replayed_removals),
        (3, 1),
        "{summary}"
    );
    assert_same(
        &after_first_run,
        &dump(&pool).await,
        "loading file replayed",
    );

    // Both files, in order, in one run.
    let mut both = loaded.clone();
    both.extend(removed.clone());
    load_ok(&pool, &both).await;
    assert_same(&after_first_run, &dump(&pool).await, "both replayed");
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM transaction_tombstones").await,
        3
    );
}

/// A removed entry never comes back: its id with other content is refused,
/// whether the removal is in the store or earlier in the same file.
#[tokio::test]
async fn a_removed_transaction_never_comes_back() {
    let pool = fresh_pool().await;
    load_ok(
        &pool,
        &with(
            setup(),
            [
                tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
                tx(CHECKING, "TX-2", "2.00", "2026-11-20T14:30:00.000Z"),
                removal(CHECKING, "TX-1"),
            ],
        ),
    )
    .await;
    let before = dump(&pool).await;
    // Re-booked with another amount, another booking date.
    let rebooked = tx(CHECKING, "TX-1", "1.50", "2026-11-20T14:30:00.000Z");
    let mut moved = tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z");
    moved["bookingDate"] = json!("2026-12-01");
    for record in [rebooked, moved] {
        let e = rejected(load(&pool, &[record]).await);
        assert_eq!(where_(&e), [at(1, "transactionId")]);
        assert!(
            e.errors[0].reason.contains("never comes back")
                && e.errors[0].reason.contains("consolidated"),
            "{}",
            e.errors[0].reason
        );
    }
    // Removed and re-sent in one file.
    let e = rejected(
        load(
            &pool,
            &[
                removal(CHECKING, "TX-2"),
                tx(CHECKING, "TX-2", "2.50", "2026-11-20T14:30:00.000Z"),
            ],
        )
        .await,
    );
    assert_eq!(where_(&e), [at(2, "transactionId")]);
    assert_eq!(dump(&pool).await, before);
    // Another account's same id is another transaction.
    load_ok(
        &pool,
        &[tx(JOINT, "TX-1", "1.50", "2026-11-20T14:30:00.000Z")],
    )
    .await;
}

#[tokio::test]
async fn older_balances_are_skipped_as_stale() {
    let pool = fresh_pool().await;
    load_ok(
        &pool,
        &with(
            setup(),
            [balance(CHECKING, "100.00", "2026-11-20T10:00:00Z")],
        ),
    )
    .await;
    let available = || async {
        sqlx::query_scalar::<_, Decimal>(
            "SELECT available_amount FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.number = $1",
        )
        .bind(CHECKING)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let summary = load_ok(&pool, &[balance(CHECKING, "50.00", "2026-11-20T09:59:59Z")]).await;
    assert_eq!(summary.stale_balances, 1);
    assert!(
        summary.to_string().contains("(1 stale, skipped)"),
        "{summary}"
    );
    assert_eq!(available().await, Decimal::from_str("100").unwrap());

    // Same instant written in another offset: not older, so it replaces.
    let summary = load_ok(
        &pool,
        &[balance(CHECKING, "60.00", "2026-11-20T07:00:00-03:00")],
    )
    .await;
    assert_eq!(summary.stale_balances, 0);
    assert_eq!(available().await, Decimal::from_str("60").unwrap());

    // Within a file: each balance against the current one, in line order.
    let summary = load_ok(
        &pool,
        &[
            balance(CHECKING, "1.00", "2026-11-20T09:00:00Z"),
            balance(CHECKING, "2.00", "2026-11-20T12:00:00Z"),
            balance(CHECKING, "3.00", "2026-11-20T11:00:00Z"),
        ],
    )
    .await;
    assert_eq!(summary.stale_balances, 2);
    assert_eq!(available().await, Decimal::from_str("2").unwrap());
}

#[tokio::test]
async fn unknown_references_are_errors_but_earlier_lines_count() {
    let pool = fresh_pool().await;
    let file = vec![
        customer(ANA, "Ana"),                           // 1: brand not yet defined
        brand(),                                        // 2
        checking(CHECKING, &[BETO]),                    // 3: Beto not yet defined
        customer(BETO, "Beto"),                         // 4
        checking(CHECKING, &[BETO, FIRMA]),             // 5: the company is never defined
        checking(SAVINGS, &[BETO]),                     // 6: fine
        balance(JOINT, "1.00", "2026-11-20T10:00:00Z"), // 7: account never defined
        tx(SAVINGS, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"), // 8: fine
        json!({"record": "overdraftLimits", "brandId": "nobank", "accountId": acc(SAVINGS), "currency": "BRL"}),
        removal(COMPANY, "TX-1"), // 10: account never defined
        pending(COMPANY, vec![]), // 11: account never defined
    ];
    let e = rejected(load(&pool, &file).await);
    assert_eq!(
        where_(&e),
        [
            at(1, "brandId"),
            at(3, "holders[0]"),
            at(5, "holders[1]"),
            at(7, "accountId"),
            at(9, "brandId"),
            at(10, "accountId"),
            at(11, "accountId")
        ]
    );
    assert!(e.errors[2].reason.contains(FIRMA), "{}", e.errors[2].reason);
    assert!(is_empty(&pool).await);

    // What the store holds can be referred to by a later file.
    load_ok(&pool, &setup()).await;
    let summary = load_ok(
        &pool,
        &[
            checking("00000099", &[BETO, ANA]),
            balance(JOINT, "1.00", "2026-11-20T10:00:00Z"),
            tx(COMPANY, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
            customer(FIRMA, "Souza Design e Arquitetura Ltda"),
            json!({"record": "brand", "brandId": BRAND, "brandName": "Banco C Digital",
                   "companyCnpj": "11222333000181"}),
        ],
    )
    .await;
    let brand: (String, String) = sqlx::query_as("SELECT brand_name, company_cnpj FROM brands")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        brand,
        ("Banco C Digital".to_owned(), "11222333000181".to_owned()),
        "brands are upserted"
    );
    assert_eq!(
        (
            summary.accounts,
            summary.balances,
            summary.transactions,
            summary.customers
        ),
        (1, 1, 1, 1)
    );
    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE document = $1")
        .bind(FIRMA)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        name, "Souza Design e Arquitetura Ltda",
        "customers are upserted"
    );
}

#[tokio::test]
async fn an_invalid_definition_is_reported_once_not_at_every_use() {
    let pool = fresh_pool().await;
    let mut bad = checking(CHECKING, &[ANA]);
    bad["compeCode"] = json!("1");
    let file = vec![
        brand(),
        customer(ANA, "Ana"),
        bad,
        balance(CHECKING, "1.00", "2026-11-20T10:00:00Z"),
        tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z"),
    ];
    let e = rejected(load(&pool, &file).await);
    assert_eq!(where_(&e), [at(3, "compeCode")]);
    assert!(is_empty(&pool).await);
}

#[tokio::test]
async fn legacy_ids_with_pairs_in_another_order_are_the_same_account() {
    let pool = fresh_pool().await;
    let mut reordered_balance = balance(CHECKING, "7.00", "2026-11-20T10:00:00Z");
    reordered_balance["accountId"] = acc_reordered(CHECKING);
    let mut redefined = checking(CHECKING, &[ANA, BETO]);
    redefined["accountId"] = acc_reordered(CHECKING);
    redefined["subtype"] = json!("CONJUNTA_SIMPLES");
    let mut t = tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z");
    t["transactionId"] = json!([{"key": "b", "value": "2"}, {"key": "a", "value": "1"}]);
    let mut t_again = t.clone();
    t_again["accountId"] = acc_reordered(CHECKING);
    t_again["transactionId"] = json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]);
    let summary = load_ok(
        &pool,
        &with(setup(), [reordered_balance, t, t_again, redefined]),
    )
    .await;
    assert_eq!(summary.duplicate_transactions, 1);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM accounts").await, 4);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM balances").await, 1);
    let (subtype, legacy): (String, Value) =
        sqlx::query_as("SELECT subtype, legacy_id FROM accounts WHERE number = $1")
            .bind(CHECKING)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(subtype, "CONJUNTA_SIMPLES", "the account was upserted");
    assert_eq!(legacy, acc_reordered(CHECKING), "rendered as last sent");
    // Holders were replaced by the record's list.
    let holders = async || -> Vec<String> {
        sqlx::query_scalar("SELECT document FROM account_holders WHERE number = $1 ORDER BY 1")
            .bind(CHECKING)
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    assert_eq!(holders().await, [ANA, BETO]);
    load_ok(&pool, &[checking(CHECKING, &[BETO])]).await;
    assert_eq!(holders().await, [BETO]);
}

#[tokio::test]
async fn the_default_booking_date_is_the_brasilia_date() {
    let pool = fresh_pool().await;
    let mut explicit = tx(CHECKING, "TX-3", "1.00", "2026-11-21T02:30:00.000Z");
    explicit["bookingDate"] = json!("2026-11-23");
    load_ok(
        &pool,
        &with(
            setup(),
            [
                tx(CHECKING, "TX-1", "1.00", "2026-11-21T02:30:00.000Z"),
                tx(CHECKING, "TX-2", "1.00", "2026-11-21T03:00:00.000Z"),
                explicit,
            ],
        ),
    )
    .await;
    let rows: Vec<(String, NaiveDate)> = sqlx::query_as(
        "SELECT transaction_id->0->>'value', booking_date FROM transactions ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let d = |s: &str| NaiveDate::from_str(s).unwrap();
    assert_eq!(
        rows,
        [
            ("TX-1".to_owned(), d("2026-11-20")),
            ("TX-2".to_owned(), d("2026-11-21")),
            ("TX-3".to_owned(), d("2026-11-23"))
        ]
    );
}

#[tokio::test]
async fn reads_from_any_reader_like_stdin_with_blank_lines_and_crlf() {
    let pool = fresh_pool().await;
    let text = ndjson(&setup()).replace('\n', "\r\n\r\n");
    let summary = import::import_reader(&pool, std::io::Cursor::new(text.into_bytes()), false)
        .await
        .unwrap();
    assert_eq!(summary.records, 8);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM accounts").await, 4);

    // A file path.
    let pool = fresh_pool().await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), ndjson(&full_file())).unwrap();
    let summary = import::import_path(&pool, file.path(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.transactions, 5);
    let missing = import::import_path(
        &pool,
        std::path::Path::new("/nonexistent/file.ndjson"),
        &ImportOptions::default(),
    )
    .await;
    assert!(format!("{:#}", missing.unwrap_err()).contains("/nonexistent/file.ndjson"));
}

#[tokio::test]
async fn prepaid_accounts_need_no_branch_and_limits_may_be_empty() {
    let pool = fresh_pool().await;
    let prepaid = json!({
        "record": "account", "brandId": BRAND, "accountId": [{"key": "wallet", "value": "123456789"}],
        "type": "CONTA_PAGAMENTO_PRE_PAGA", "subtype": "INDIVIDUAL", "compeCode": "336",
        "number": "123456789", "checkDigit": "X", "currency": "BRL", "holders": [ANA],
        "status": "TEMPORARILY_UNAVAILABLE",
    });
    let no_amounts = json!({"record": "overdraftLimits", "brandId": BRAND, "accountId": acc(CHECKING), "currency": "BRL",
                            "overdraftUsedLimit": null});
    load_ok(&pool, &with(setup(), [prepaid, no_amounts])).await;
    let (branch, status): (Option<String>, String) =
        sqlx::query_as("SELECT branch_code, status FROM accounts WHERE number = '123456789'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((branch, status.as_str()), (None, "TEMPORARILY_UNAVAILABLE"));
    let all_null: bool = sqlx::query_scalar(
        "SELECT overdraft_contracted_limit IS NULL AND overdraft_used_limit IS NULL AND unarranged_overdraft_amount IS NULL \
         FROM overdraft_limits",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(all_null);
}

// ---- the first load of an empty store ------------------------------------------

/// Indexes and constraints of `transactions` as the catalog prints them,
/// with their validity.
async fn transactions_schema(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT pg_get_indexdef(indexrelid) || CASE WHEN indisvalid THEN '' ELSE ' (invalid)' END
           FROM pg_index WHERE indrelid = 'transactions'::regclass
          UNION ALL
         SELECT conname || ' ' || pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' ELSE ' (not valid)' END
           FROM pg_constraint WHERE conrelid = 'transactions'::regclass
          ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_first_load_gives_the_store_and_schema_a_later_import_gives() {
    // First load: the store is empty, so keys and the statement index are
    // deferred to the end of the file.
    let first = fresh_pool().await;
    let migrated = transactions_schema(&first).await;
    assert!(
        migrated
            .iter()
            .any(|d| d.contains("FOREIGN KEY (account_id)"))
            && migrated.iter().any(|d| {
                d.contains("PRIMARY KEY (account_id, booking_date, transaction_date_time, id)")
            }),
        "{migrated:#?}"
    );
    load_ok(&first, &long_file()).await;
    assert_eq!(transactions_schema(&first).await, migrated);

    // The same rows through an import that keeps every check: the accounts
    // exist already, so nothing is deferred.
    let later = fresh_pool().await;
    load_ok(&later, &setup()).await;
    load_ok(&later, &long_file()).await;
    assert_same(
        &dump_content(&later).await,
        &dump_content(&first).await,
        "first load vs later import",
    );

    // The restored key is enforced.
    let orphan = sqlx::query(
        "INSERT INTO transactions (account_id, legacy_key, transaction_id, completed_authorised_payment_type,
                credit_debit_type, transaction_name, type, amount, currency, transaction_date_time, booking_date)
         SELECT -1, legacy_key, transaction_id, completed_authorised_payment_type, credit_debit_type,
                transaction_name, type, amount, currency, transaction_date_time, booking_date
           FROM transactions LIMIT 1",
    )
    .execute(&first)
    .await
    .expect_err("a transaction without its account");
    if common::citus::enabled() {
        // Citus runs this INSERT ... SELECT through the coordinator and
        // reports the shard's violation as XX000, with PostgreSQL's message.
        assert!(
            orphan
                .to_string()
                .contains("violates foreign key constraint \"transactions_account_id_fkey"),
            "{orphan}"
        );
    } else {
        assert_eq!(
            orphan.as_database_error().and_then(|e| e.code()).as_deref(),
            Some("23503"),
            "{orphan}"
        );
    }
}

#[tokio::test]
async fn a_refused_first_load_leaves_the_schema_as_migrated() {
    let pool = fresh_pool().await;
    let migrated = transactions_schema(&pool).await;
    let mut file = long_file();
    file.push(tx(CHECKING, "BAD", "-1.00", "2026-11-20T10:00:00Z"));
    rejected(load(&pool, &file).await);
    assert!(is_empty(&pool).await);
    assert_eq!(transactions_schema(&pool).await, migrated);
}

#[tokio::test]
async fn an_import_into_a_store_with_data_does_not_wait_for_readers() {
    let pool = fresh_pool().await;
    load_ok(&pool, &setup()).await;
    // A reader in the middle of a transaction over both tables.
    let mut reader = pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM accounts JOIN transactions t ON t.account_id = accounts.id")
        .execute(&mut *reader)
        .await
        .unwrap();
    let file = full_file();
    let summary = tokio::time::timeout(std::time::Duration::from_secs(30), load(&pool, &file))
        .await
        .expect("the import waited for the reader")
        .unwrap();
    assert_eq!(summary.transactions, 5);
    reader.rollback().await.unwrap();
}

// ---- limits ----------------------------------------------------------------------

#[tokio::test]
async fn control_characters_and_over_long_texts_are_errors_of_their_lines() {
    let pool = fresh_pool().await;
    let mut file = setup();
    let first = file.len() as u64 + 1;
    // Today a NUL in a name reaches PostgreSQL, whose text cannot hold it.
    file.push(customer(BETO, "Ricardo\u{0}Souza"));
    let mut tabbed = tx(CHECKING, "TX-1", "1.00", "2026-11-20T14:30:00.000Z");
    tabbed["transactionName"] = json!("PIX\tENVIADO");
    file.push(tabbed);
    let mut account = checking(SAVINGS, &[ANA]);
    account["displayName"] = json!("Conta\nPoupança");
    file.push(account);
    file.push(tx(
        CHECKING,
        "TX\u{1b}2",
        "1.00",
        "2026-11-20T14:30:00.000Z",
    ));
    let mut removed = removal(CHECKING, "TX-1");
    removed["reason"] = json!("bell\u{7}");
    file.push(removed);
    let mut long_name = tx(CHECKING, "TX-3", "1.00", "2026-11-20T14:30:00.000Z");
    long_name["transactionName"] = json!("ç".repeat(201));
    file.push(long_name);
    let mut long_brand = brand();
    long_brand["brandName"] = json!("B".repeat(81));
    file.push(long_brand);
    // Over 1 MiB on one line.
    file.push(customer(BETO, &"R".repeat(import::MAX_LINE_BYTES)));
    file.push(tx(CHECKING, "TX-4", "1.00", "2026-11-20T14:30:00.000Z"));

    let e = rejected(load(&pool, &file).await);
    assert_eq!(
        where_(&e),
        [
            at(first, "name"),
            at(first + 1, "transactionName"),
            at(first + 2, "displayName"),
            // Its name repeats the id.
            at(first + 3, "transactionId"),
            at(first + 3, "transactionName"),
            at(first + 4, "reason"),
            at(first + 5, "transactionName"),
            at(first + 6, "brandName"),
            at(first + 7, "json"),
        ]
    );
    for error in &e.errors[..6] {
        assert!(
            error.reason.contains("control characters"),
            "{}",
            error.reason
        );
    }
    assert!(
        e.errors[8].reason.contains("1 MiB"),
        "{}",
        e.errors[8].reason
    );
    assert!(is_empty(&pool).await);
}

// ---- the format's own page -----------------------------------------------------

/// The `json` examples of `docs/import-format.md`, in order, one record each.
fn examples_of_the_format_page() -> Vec<Value> {
    let page = include_str!("../../docs/import-format.md");
    let mut examples = Vec::new();
    let mut block: Option<String> = None;
    for line in page.lines() {
        match (&mut block, line) {
            (None, "```json") => block = Some(String::new()),
            (Some(text), "```") => {
                examples.push(serde_json::from_str(text).unwrap_or_else(|e| {
                    panic!("an example of docs/import-format.md is not JSON ({e}):\n{text}")
                }));
                block = None;
            }
            (Some(text), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    examples
}

#[tokio::test]
async fn every_example_of_the_format_page_imports_as_written() {
    let examples = examples_of_the_format_page();
    let kinds: Vec<&str> = examples
        .iter()
        .map(|e| e["record"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        import::KINDS,
        "one example per record, in an order that makes a file"
    );
    let pool = fresh_pool().await;
    let summary = load(&pool, &examples)
        .await
        .expect("the page's file imports");
    assert_eq!(
        (
            summary.brands,
            summary.customers,
            summary.accounts,
            summary.balances,
            summary.overdraft_limits,
            summary.transactions,
            summary.pending_entries,
            summary.removals
        ),
        (1, 1, 1, 1, 1, 1, 1, 1),
        "{summary}"
    );
    // As the page says of a replay: the same file again changes nothing.
    let before = dump(&pool).await;
    let again = load(&pool, &examples).await.expect("a replay");
    assert_eq!(
        (again.replayed_removals, again.removed_transactions),
        (1, 1)
    );
    assert_eq!(dump(&pool).await, before);
}
