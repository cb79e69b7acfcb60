//! A small bank every API test loads, and builders of request bodies.
//!
//! The service's clock is pinned to [`now`] (noon in Brasília), and every
//! date below is relative to it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::io::Write;

pub const BRAND: &str = "cbanco";
pub const OTHER_BRAND: &str = "obanco";
pub const MARIA: &str = "52998224725";
pub const JOAO: &str = "11144477735";
/// A customer with no account.
pub const PEDRO: &str = "39053344705";
/// Maria's company; she is its representative.
pub const COMPANY: &str = "11222333000181";

pub const ALL_ACCOUNT_PERMISSIONS: [&str; 5] = [
    "ACCOUNTS_READ",
    "ACCOUNTS_BALANCES_READ",
    "ACCOUNTS_TRANSACTIONS_READ",
    "ACCOUNTS_OVERDRAFT_LIMITS_READ",
    "RESOURCES_READ",
];

/// 2026-11-20T15:00:00Z, 12:00 in Brasília.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

/// Accounts of the fixture bank, by their number.
pub const MARIA_CHECKING: &str = "10000001";
pub const MARIA_SAVINGS: &str = "10000002";
pub const JOINT: &str = "10000003";
pub const JOAO_CHECKING: &str = "10000004";
pub const COMPANY_CHECKING: &str = "10000005";
pub const MARIA_BLOCKED: &str = "10000006";
pub const MARIA_CLOSED: &str = "10000007";
/// Prepaid: no branch; its legacy id is a single `wallet` pair.
pub const MARIA_PREPAID: &str = "10000008";

/// An account's legacy id as the bank sent it: branch, then number.
pub fn account_id(number: &str) -> Value {
    if number == MARIA_PREPAID {
        return json!([{"key": "wallet", "value": number}]);
    }
    json!([{"key": "branch", "value": "0001"}, {"key": "number", "value": number}])
}

/// The same id with its pairs in the other order.
pub fn account_id_reordered(number: &str) -> Value {
    json!([{"key": "number", "value": number}, {"key": "branch", "value": "0001"}])
}

pub fn resource(number: &str) -> Value {
    json!({"type": "ACCOUNT", "resourceLegacyId": account_id(number)})
}

/// Number of completed transactions on Maria's checking account, one every
/// ten days back from today (the oldest ones fall outside 12 months).
pub const HISTORY_LEN: i64 = 40;

pub fn line(record: Value) -> String {
    format!("{record}\n")
}

/// An account record of the fixture bank's shape, as an import line.
pub fn account(
    number: &str,
    kind: &str,
    subtype: &str,
    holders: &[&str],
    status: &str,
    brand: &str,
) -> String {
    let mut record = json!({
        "record": "account", "brandId": brand, "accountId": account_id(number),
        "type": kind, "subtype": subtype, "compeCode": "001",
        "number": number, "checkDigit": "7", "currency": "BRL", "holders": holders, "status": status,
    });
    if kind != "CONTA_PAGAMENTO_PRE_PAGA" {
        record["branchCode"] = json!("0001");
    }
    if number == MARIA_CHECKING {
        record["displayName"] = json!("Conta Corrente Maria");
    }
    line(record)
}

pub fn transaction(number: &str, id: &str, at: DateTime<Utc>, credit: bool, amount: &str) -> Value {
    json!({
        "record": "transaction", "brandId": BRAND, "accountId": account_id(number),
        "transactionId": [{"key": "id", "value": id}],
        "completedAuthorisedPaymentType": "TRANSACAO_EFETIVADA",
        "creditDebitType": if credit { "CREDITO" } else { "DEBITO" },
        "transactionName": format!("PIX {id}"), "type": "PIX", "amount": amount, "currency": "BRL",
        "transactionDateTime": at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "partieCnpjCpf": JOAO, "partiePersonType": "PESSOA_NATURAL", "partieCompeCode": "001",
        "partieBranchCode": "0001", "partieNumber": JOAO_CHECKING, "partieCheckDigit": "7",
    })
}

/// The fixture bank as an import file.
pub fn bank_ndjson() -> String {
    let mut out = String::new();
    out += &line(
        json!({"record": "brand", "brandId": BRAND, "brandName": "Banco C", "companyCnpj": "21128159000166"}),
    );
    out += &line(
        json!({"record": "brand", "brandId": OTHER_BRAND, "brandName": "Banco O", "companyCnpj": "33000167000101"}),
    );
    for (document, name) in [
        (MARIA, "Maria da Silva"),
        (JOAO, "João Souza"),
        (PEDRO, "Pedro Lima"),
        (COMPANY, "Padaria Pão Quente Ltda"),
    ] {
        out += &line(
            json!({"record": "customer", "brandId": BRAND, "document": document, "name": name}),
        );
    }
    out += &line(
        json!({"record": "customer", "brandId": OTHER_BRAND, "document": MARIA, "name": "Maria da Silva"}),
    );
    let available = "AVAILABLE";
    out += &account(
        MARIA_CHECKING,
        "CONTA_DEPOSITO_A_VISTA",
        "INDIVIDUAL",
        &[MARIA],
        available,
        BRAND,
    );
    out += &account(
        MARIA_SAVINGS,
        "CONTA_POUPANCA",
        "INDIVIDUAL",
        &[MARIA],
        available,
        BRAND,
    );
    out += &account(
        JOINT,
        "CONTA_DEPOSITO_A_VISTA",
        "CONJUNTA_SOLIDARIA",
        &[MARIA, JOAO],
        available,
        BRAND,
    );
    out += &account(
        JOAO_CHECKING,
        "CONTA_DEPOSITO_A_VISTA",
        "INDIVIDUAL",
        &[JOAO],
        available,
        BRAND,
    );
    out += &account(
        COMPANY_CHECKING,
        "CONTA_DEPOSITO_A_VISTA",
        "INDIVIDUAL",
        &[COMPANY],
        available,
        BRAND,
    );
    out += &account(
        MARIA_BLOCKED,
        "CONTA_DEPOSITO_A_VISTA",
        "INDIVIDUAL",
        &[MARIA],
        "TEMPORARILY_UNAVAILABLE",
        BRAND,
    );
    out += &account(
        MARIA_CLOSED,
        "CONTA_POUPANCA",
        "INDIVIDUAL",
        &[MARIA],
        "UNAVAILABLE",
        BRAND,
    );
    out += &account(
        MARIA_PREPAID,
        "CONTA_PAGAMENTO_PRE_PAGA",
        "INDIVIDUAL",
        &[MARIA],
        available,
        BRAND,
    );
    // Same legacy id as Maria's checking account, in another brand.
    out += &line(json!({
        "record": "account", "brandId": OTHER_BRAND, "accountId": account_id(MARIA_CHECKING),
        "type": "CONTA_POUPANCA", "subtype": "INDIVIDUAL", "compeCode": "341", "branchCode": "9999",
        "number": "90000001", "checkDigit": "0", "currency": "BRL", "holders": [MARIA],
    }));
    out += &line(json!({
        "record": "balance", "brandId": BRAND, "accountId": account_id(MARIA_CHECKING),
        "availableAmount": "-150.50", "blockedAmount": "0.00", "automaticallyInvestedAmount": "1000.0450",
        "currency": "BRL", "updateDateTime": "2026-11-20T10:00:00Z",
    }));
    out += &line(json!({
        "record": "balance", "brandId": BRAND, "accountId": account_id(MARIA_SAVINGS),
        "availableAmount": "2500.00", "blockedAmount": "10.00", "automaticallyInvestedAmount": "0.00",
        "currency": "BRL", "updateDateTime": "2026-11-19T23:59:59Z",
    }));
    out += &line(json!({
        "record": "overdraftLimits", "brandId": BRAND, "accountId": account_id(MARIA_CHECKING),
        "overdraftContractedLimit": "1000.00", "overdraftUsedLimit": "150.50", "currency": "BRL",
    }));
    out += &line(json!({
        "record": "balance", "brandId": BRAND, "accountId": account_id(COMPANY_CHECKING),
        "availableAmount": "98000.00", "blockedAmount": "0.00", "automaticallyInvestedAmount": "0.00",
        "currency": "BRL", "updateDateTime": "2026-11-20T11:00:00Z",
    }));
    out += &line(json!({
        "record": "overdraftLimits", "brandId": BRAND, "accountId": account_id(JOINT),
        "overdraftContractedLimit": "500.00", "overdraftUsedLimit": "0.00",
        "unarrangedOverdraftAmount": "12.3456", "currency": "BRL",
    }));
    for i in 0..HISTORY_LEN {
        let at = now() - Duration::days(10 * i) - Duration::minutes(i);
        out += &line(transaction(
            MARIA_CHECKING,
            &format!("H{i:03}"),
            at,
            i % 2 == 0,
            &format!("{i}.25"),
        ));
    }
    // Three entries at the very same instant: the page order must still be total.
    for id in ["T-A", "T-B", "T-C"] {
        out += &line(transaction(
            MARIA_CHECKING,
            id,
            now() - Duration::hours(1),
            false,
            "9.99",
        ));
    }
    out += &line(transaction(JOAO_CHECKING, "J001", now(), true, "1.00"));
    let pending = |kind: &str, at: DateTime<Utc>| {
        let mut entry = transaction(MARIA_CHECKING, "PROVISIONAL", at, false, "50.00");
        let entry = entry.as_object_mut().unwrap();
        entry.remove("record");
        entry.remove("brandId");
        entry.remove("accountId");
        entry.insert("completedAuthorisedPaymentType".into(), json!(kind));
        Value::Object(entry.clone())
    };
    out += &line(json!({
        "record": "pendingTransactions", "brandId": BRAND, "accountId": account_id(MARIA_CHECKING),
        "transactions": [
            pending("TRANSACAO_PROCESSANDO", now() - Duration::minutes(5)),
            pending("LANCAMENTO_FUTURO", Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap()),
        ],
    }));
    out
}

/// Loads the fixture bank through `contas import`.
pub async fn load_bank(pool: &PgPool) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bank_ndjson().as_bytes()).unwrap();
    contas::import::import_path(pool, file.path(), &Default::default())
        .await
        .expect("the fixture bank imports");
}

/// A consent of `cpf` (and `company`, for a business consent).
pub fn consent(
    cpf: &str,
    company: Option<&str>,
    permissions: &[&str],
    resources: Vec<Value>,
) -> Value {
    let mut consent = json!({
        "brandId": BRAND,
        "creationDateTime": "2026-11-20T14:00:00Z",
        "expirationDateTime": "2027-11-20T14:00:00Z",
        "tpp": {"name": "Agregador Exemplo"},
        "externalId": "urn:cbanco:7b2d0b0e-2f43-4c55-9d36-98a4f5c1e3aa",
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "permissions": permissions,
        "resources": resources,
    });
    if let Some(cnpj) = company {
        consent["businessDocumentType"] =
            json!({"document": {"identification": cnpj, "rel": "CNPJ"}});
    }
    consent
}

pub fn request_meta(brand: &str) -> Value {
    json!({"correlationId": "localID:97623ed1-4732-4bf2-8d4b-ae7aced5443b", "brandId": brand})
}

/// A body with Maria's consent to all her account permissions and `resources`.
pub fn maria_body(resources: &[&str]) -> Value {
    json!({
        "consent": consent(MARIA, None, &ALL_ACCOUNT_PERMISSIONS, resources.iter().map(|n| resource(n)).collect()),
        "requestMeta": request_meta(BRAND),
    })
}

/// Maria's consent to `number`, asking for that account.
pub fn maria_account_body(number: &str) -> Value {
    let mut body = maria_body(&[number]);
    body["accountId"] = account_id(number);
    body
}
