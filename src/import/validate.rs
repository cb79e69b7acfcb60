//! Field validation: a [`Record`] as read becomes an [`Item`] whose every
//! field holds to the Accounts contract, or the list of its bad fields.

use super::FieldError;
use super::record::*;
use crate::domain::legacy_id::LegacyId;
use crate::domain::{money, time};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;

pub(crate) const ACCOUNT_TYPES: [&str; 3] = [
    "CONTA_DEPOSITO_A_VISTA",
    "CONTA_POUPANCA",
    "CONTA_PAGAMENTO_PRE_PAGA",
];
pub(crate) const PREPAID: &str = "CONTA_PAGAMENTO_PRE_PAGA";
pub(crate) const ACCOUNT_SUBTYPES: [&str; 3] =
    ["INDIVIDUAL", "CONJUNTA_SIMPLES", "CONJUNTA_SOLIDARIA"];
pub(crate) const ACCOUNT_STATUSES: [&str; 3] =
    ["AVAILABLE", "TEMPORARILY_UNAVAILABLE", "UNAVAILABLE"];
pub(crate) const COMPLETED: &str = "TRANSACAO_EFETIVADA";
pub(crate) const PENDING_KINDS: [&str; 2] = ["TRANSACAO_PROCESSANDO", "LANCAMENTO_FUTURO"];
pub(crate) const CREDIT_DEBIT: [&str; 2] = ["CREDITO", "DEBITO"];
pub(crate) const PERSON_TYPES: [&str; 2] = ["PESSOA_NATURAL", "PESSOA_JURIDICA"];
pub(crate) const TRANSACTION_TYPES: [&str; 18] = [
    "TED",
    "DOC",
    "PIX",
    "TRANSFERENCIA_MESMA_INSTITUICAO",
    "BOLETO",
    "CONVENIO_ARRECADACAO",
    "PACOTE_TARIFA_SERVICOS",
    "TARIFA_SERVICOS_AVULSOS",
    "FOLHA_PAGAMENTO",
    "DEPOSITO",
    "SAQUE",
    "CARTAO",
    "ENCARGOS_JUROS_CHEQUE_ESPECIAL",
    "RENDIMENTO_APLIC_FINANCEIRA",
    "PORTABILIDADE_SALARIO",
    "RESGATE_APLIC_FINANCEIRA",
    "OPERACAO_CREDITO",
    "OUTROS",
];

/// An account as records name it: its brand and the canonical key of its
/// `accountId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AccountRef {
    pub brand: Arc<str>,
    pub key: Arc<str>,
}

#[derive(Debug)]
pub(crate) struct Brand {
    pub brand_id: String,
    pub brand_name: String,
    pub company_cnpj: String,
}

#[derive(Debug)]
pub(crate) struct Customer {
    pub brand_id: String,
    pub document: String,
    pub name: String,
}

#[derive(Debug)]
pub(crate) struct Account {
    pub account: AccountRef,
    pub legacy_json: String,
    pub account_type: &'static str,
    pub subtype: &'static str,
    pub compe_code: String,
    pub branch_code: Option<String>,
    pub number: String,
    pub check_digit: String,
    pub currency: String,
    pub holders: Vec<String>,
    pub display_name: Option<String>,
    pub status: &'static str,
}

#[derive(Debug)]
pub(crate) struct Balance {
    pub account: AccountRef,
    pub available: Decimal,
    pub blocked: Decimal,
    pub invested: Decimal,
    pub currency: String,
    pub updated: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) struct Limits {
    pub account: AccountRef,
    pub contracted: Option<Decimal>,
    pub used: Option<Decimal>,
    pub unarranged: Option<Decimal>,
    pub currency: String,
}

/// One statement entry, ready for the `transactions` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxRow {
    pub key: String,
    pub id_json: String,
    pub kind: &'static str,
    pub credit_debit: &'static str,
    pub name: String,
    pub tx_type: &'static str,
    pub amount: Decimal,
    pub currency: String,
    pub date_time: DateTime<Utc>,
    pub booking_date: NaiveDate,
    pub partie_cnpj_cpf: Option<String>,
    pub partie_person_type: Option<&'static str>,
    pub partie_compe_code: Option<String>,
    pub partie_branch_code: Option<String>,
    pub partie_number: Option<String>,
    pub partie_check_digit: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub account: AccountRef,
    pub entries: Vec<TxRow>,
}

#[derive(Debug)]
pub(crate) struct Removal {
    pub account: AccountRef,
    pub key: String,
    pub reason: Option<String>,
}

/// What a definition record defines, even when its other fields are bad:
/// later lines that refer to it are then not reported again.
#[derive(Debug)]
pub(crate) enum Definition {
    Brand(String),
    Customer { brand_id: String, document: String },
    Account(AccountRef),
}

#[derive(Debug)]
pub(crate) enum Item {
    Brand(Brand),
    Customer(Customer),
    Account(Account),
    Balance(Balance),
    Limits(Limits),
    Transaction(AccountRef, TxRow),
    Pending(Pending),
    Removal(Removal),
    /// The identity of an invalid definition record.
    Defines(Definition),
}

/// A bad record: its bad fields, and what it would have defined.
pub(crate) type Invalid = (Vec<FieldError>, Option<Definition>);

/// Collects the errors of one record.
#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
    /// Prepended to field names (`transactions[3].` inside a snapshot).
    prefix: String,
}

type Rule = fn(&str) -> Result<(), String>;

impl Check {
    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        let field = if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}{field}", self.prefix)
        };
        self.errors.push(FieldError::new(field, reason));
    }

    fn required<T>(&mut self, value: Option<T>, field: &str) -> Option<T> {
        if value.is_none() {
            self.fail(field, "is required");
        }
        value
    }

    /// A required text checked by `rule`.
    fn text(&mut self, value: Option<String>, field: &str, rule: Rule) -> Option<String> {
        let v = self.required(value, field)?;
        self.rule(v, field, rule)
    }

    /// An optional text checked by `rule` when present.
    fn optional(
        &mut self,
        value: Option<String>,
        field: &str,
        rule: Rule,
    ) -> Option<Option<String>> {
        match value {
            None => Some(None),
            Some(v) => self.rule(v, field, rule).map(Some),
        }
    }

    fn rule(&mut self, v: String, field: &str, rule: Rule) -> Option<String> {
        match no_control_characters(&v).and_then(|()| rule(&v)) {
            Ok(()) => Some(v),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    fn choice(
        &mut self,
        value: &Option<String>,
        field: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let v = self.required(value.as_deref(), field)?;
        self.one_of(v, field, allowed)
    }

    fn one_of(&mut self, v: &str, field: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let found = allowed.iter().copied().find(|a| *a == v);
        if found.is_none() {
            self.fail(field, format!("must be one of {}", allowed.join(", ")));
        }
        found
    }

    fn money(
        &mut self,
        value: &Option<String>,
        field: &str,
        allow_negative: bool,
    ) -> Option<Decimal> {
        let v = self.required(value.as_deref(), field)?;
        self.amount(v, field, allow_negative)
    }

    fn amount(&mut self, v: &str, field: &str, allow_negative: bool) -> Option<Decimal> {
        match money::parse(v, allow_negative) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(field, e.to_string());
                None
            }
        }
    }

    /// A legacy id's canonical key and its JSON as sent.
    fn legacy(&mut self, value: &Option<LegacyId>, field: &str) -> Option<(String, String)> {
        let id = self.required(value.as_ref(), field)?;
        if let Err(reason) = id.validate() {
            self.fail(field, reason);
            return None;
        }
        Some(legacy_texts(id))
    }

    fn date_time(
        &mut self,
        value: &Option<String>,
        field: &str,
        parse: fn(&str) -> Result<DateTime<Utc>, String>,
    ) -> Option<DateTime<Utc>> {
        let v = self.required(value.as_deref(), field)?;
        match parse(v) {
            Ok(at) => Some(at),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    fn finish<T>(self, value: Option<T>, defines: Option<Definition>) -> Result<T, Invalid> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err((self.errors, defines)),
        }
    }
}

/// A legacy id's canonical key and its JSON as sent, the JSON written
/// directly when no character needs escaping (import does this every line).
pub(crate) fn legacy_texts(id: &LegacyId) -> (String, String) {
    fn plain(s: &str) -> bool {
        s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
    }
    if !id.0.iter().all(|kv| plain(&kv.key) && plain(&kv.value)) {
        return (
            id.canonical_key(),
            serde_json::to_string(id).expect("legacy ids always serialize"),
        );
    }
    let size: usize =
        id.0.iter()
            .map(|kv| kv.key.len() + kv.value.len() + 24)
            .sum();
    let mut json = String::with_capacity(size + 2);
    json.push('[');
    for (i, kv) in id.0.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"key\":\"");
        json.push_str(&kv.key);
        json.push_str("\",\"value\":\"");
        json.push_str(&kv.value);
        json.push_str("\"}");
    }
    json.push(']');
    (id.canonical_key(), json)
}

/// The format refuses U+0000 to U+001F in every text: no field of the
/// contract means one, and PostgreSQL's text cannot store U+0000.
pub(crate) fn no_control_characters(v: &str) -> Result<(), String> {
    match v.chars().find(|c| *c < ' ') {
        None => Ok(()),
        Some(c) => Err(format!(
            "must not contain control characters (U+0000 to U+001F): holds U+{:04X}",
            c as u32
        )),
    }
}

fn digits(v: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn brand_id(v: &str) -> Result<(), String> {
    match v.chars().count() {
        1..=50 => Ok(()),
        _ => Err("must be 1 to 50 characters long".into()),
    }
}

pub(crate) fn brand_name(v: &str) -> Result<(), String> {
    if v.chars().count() <= 80 {
        Ok(())
    } else {
        Err("must be at most 80 characters long".into())
    }
}

pub(crate) fn cnpj(v: &str) -> Result<(), String> {
    if digits(v, 14, 14) {
        Ok(())
    } else {
        Err("must be a CNPJ of 14 digits".into())
    }
}

pub(crate) fn document(v: &str) -> Result<(), String> {
    if digits(v, 11, 11) || digits(v, 14, 14) {
        Ok(())
    } else {
        Err("must be a CPF of 11 digits or a CNPJ of 14 digits".into())
    }
}

pub(crate) fn compe_code(v: &str) -> Result<(), String> {
    if digits(v, 3, 3) {
        Ok(())
    } else {
        Err("must be 3 digits".into())
    }
}

pub(crate) fn branch_code(v: &str) -> Result<(), String> {
    if digits(v, 4, 4) {
        Ok(())
    } else {
        Err("must be 4 digits".into())
    }
}

pub(crate) fn account_number(v: &str) -> Result<(), String> {
    if digits(v, 8, 20) {
        Ok(())
    } else {
        Err("must be 8 to 20 digits".into())
    }
}

pub(crate) fn check_digit(v: &str) -> Result<(), String> {
    if v.chars().count() == 1 {
        Ok(())
    } else {
        Err("must be exactly one character".into())
    }
}

pub(crate) fn currency(v: &str) -> Result<(), String> {
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err("must be an ISO 4217 code of 3 capital letters".into())
    }
}

pub(crate) fn transaction_name(v: &str) -> Result<(), String> {
    // Fewer bytes than the limit means fewer characters too.
    if v.len() <= 200 || v.chars().count() <= 200 {
        Ok(())
    } else {
        Err("must be at most 200 characters long".into())
    }
}

fn any(_: &str) -> Result<(), String> {
    Ok(())
}

/// An RFC 3339 date-time, kept to the microsecond (what PostgreSQL stores).
pub(crate) fn date_time(v: &str) -> Result<DateTime<Utc>, String> {
    let parsed = DateTime::parse_from_rfc3339(v)
        .map_err(|_| "must be an RFC 3339 date-time, e.g. 2026-11-20T14:30:00.000Z".to_owned())?;
    let at = parsed.with_timezone(&Utc);
    if at.timestamp_subsec_nanos() % 1000 != 0 {
        return Err("must not be more precise than microseconds".into());
    }
    if at.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err("must not be a leap second".into());
    }
    Ok(at)
}

/// An RFC 3339 instant written in UTC (`Z` or `+00:00`).
pub(crate) fn utc_date_time(v: &str) -> Result<DateTime<Utc>, String> {
    let at = date_time(v)?;
    if !(v.ends_with('Z') || v.ends_with('z') || v.ends_with("+00:00")) {
        return Err("must be in UTC (end with Z), e.g. 2026-11-20T14:30:00.000Z".into());
    }
    Ok(at)
}

/// `YYYY-MM-DD`.
pub(crate) fn date(v: &str) -> Result<NaiveDate, String> {
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err("must be a date YYYY-MM-DD".into());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "is not a valid calendar date".to_owned())
}

/// Validates records. Consecutive records of one account share its
/// [`AccountRef`] instead of working it out again.
#[derive(Default)]
pub(crate) struct Validator {
    last_account: Option<(String, LegacyId, AccountRef)>,
}

impl Validator {
    /// Validates one record.
    pub(crate) fn validate(&mut self, record: Record) -> Result<Item, Invalid> {
        match record {
            Record::Brand(r) => brand(r),
            Record::Customer(r) => customer(r),
            Record::Account(r) => account(r),
            Record::Balance(r) => self.balance(r),
            Record::OverdraftLimits(r) => self.limits(r),
            Record::Transaction(r) => self.transaction(r),
            Record::PendingTransactions(r) => self.pending(r),
            Record::TransactionRemoval(r) => self.removal(r),
        }
    }

    fn account_ref(
        &mut self,
        c: &mut Check,
        brand: Option<String>,
        account_id: Option<LegacyId>,
    ) -> Option<AccountRef> {
        if let (Some(b), Some(id), Some((last_b, last_id, r))) =
            (&brand, &account_id, &self.last_account)
            && b == last_b
            && id == last_id
        {
            return Some(r.clone());
        }
        let brand = c.text(brand, "brandId", brand_id);
        let key = c.legacy(&account_id, "accountId");
        let (brand, (key, _)) = (brand?, key?);
        let r = AccountRef {
            brand: Arc::from(brand.as_str()),
            key: Arc::from(key),
        };
        self.last_account = Some((brand, account_id.expect("validated above"), r.clone()));
        Some(r)
    }

    fn balance(&mut self, r: BalanceRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let available = c.money(&r.available_amount, "availableAmount", true);
        let blocked = c.money(&r.blocked_amount, "blockedAmount", false);
        let invested = c.money(
            &r.automatically_invested_amount,
            "automaticallyInvestedAmount",
            false,
        );
        let cur = c.text(r.currency, "currency", currency);
        let updated = c.date_time(&r.update_date_time, "updateDateTime", date_time);
        let value = (|| {
            Some(Item::Balance(Balance {
                account: account?,
                available: available?,
                blocked: blocked?,
                invested: invested?,
                currency: cur?,
                updated: updated?,
            }))
        })();
        c.finish(value, None)
    }

    fn limits(&mut self, r: OverdraftLimitsRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let mut amount = |value: &Option<String>, field: &str| match value {
            None => Some(None),
            Some(v) => c.amount(v, field, false).map(Some),
        };
        let contracted = amount(&r.overdraft_contracted_limit, "overdraftContractedLimit");
        let used = amount(&r.overdraft_used_limit, "overdraftUsedLimit");
        let unarranged = amount(&r.unarranged_overdraft_amount, "unarrangedOverdraftAmount");
        let cur = c.text(r.currency, "currency", currency);
        let value = (|| {
            Some(Item::Limits(Limits {
                account: account?,
                contracted: contracted?,
                used: used?,
                unarranged: unarranged?,
                currency: cur?,
            }))
        })();
        c.finish(value, None)
    }

    fn transaction(&mut self, r: TransactionRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let row = entry(&mut c, r.fields, false);
        let value = (|| Some(Item::Transaction(account?, row?)))();
        c.finish(value, None)
    }

    fn pending(&mut self, r: PendingTransactionsRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let entries = match r.transactions {
            None => {
                c.fail(
                    "transactions",
                    "is required (an empty array clears the pending entries)",
                );
                None
            }
            Some(list) => {
                let mut rows = Vec::with_capacity(list.len());
                for (i, f) in list.into_iter().enumerate() {
                    c.prefix = format!("transactions[{i}].");
                    rows.push(entry(&mut c, f, true));
                }
                c.prefix.clear();
                rows.into_iter().collect::<Option<Vec<_>>>()
            }
        };
        let value = (|| {
            Some(Item::Pending(Pending {
                account: account?,
                entries: entries?,
            }))
        })();
        c.finish(value, None)
    }

    fn removal(&mut self, r: TransactionRemovalRecord) -> Result<Item, Invalid> {
        let mut c = Check::default();
        let account = self.account_ref(&mut c, r.brand_id, r.account_id);
        let id = c.legacy(&r.transaction_id, "transactionId");
        let reason = c.optional(r.reason, "reason", any);
        let value = (|| {
            Some(Item::Removal(Removal {
                account: account?,
                key: id?.0,
                reason: reason?,
            }))
        })();
        c.finish(value, None)
    }
}

fn brand(r: BrandRecord) -> Result<Item, Invalid> {
    let mut c = Check::default();
    let id = c.text(r.brand_id, "brandId", brand_id);
    let name = c.text(r.brand_name, "brandName", brand_name);
    let company_cnpj = c.text(r.company_cnpj, "companyCnpj", cnpj);
    let defines = if c.errors.is_empty() {
        None
    } else {
        id.clone().map(Definition::Brand)
    };
    let value = (|| {
        Some(Item::Brand(Brand {
            brand_id: id?,
            brand_name: name?,
            company_cnpj: company_cnpj?,
        }))
    })();
    c.finish(value, defines)
}

fn customer(r: CustomerRecord) -> Result<Item, Invalid> {
    let mut c = Check::default();
    let brand = c.text(r.brand_id, "brandId", brand_id);
    let doc = c.text(r.document, "document", document);
    let name = c.text(r.name, "name", any);
    let defines = match (&brand, &doc) {
        (Some(b), Some(d)) if !c.errors.is_empty() => Some(Definition::Customer {
            brand_id: b.clone(),
            document: d.clone(),
        }),
        _ => None,
    };
    let value = (|| {
        Some(Item::Customer(Customer {
            brand_id: brand?,
            document: doc?,
            name: name?,
        }))
    })();
    c.finish(value, defines)
}

fn account(r: AccountRecord) -> Result<Item, Invalid> {
    let mut c = Check::default();
    let needs_branch = r.branch_code.is_none() && r.account_type.as_deref() != Some(PREPAID);
    let brand = c.text(r.brand_id, "brandId", brand_id);
    let id = c.legacy(&r.account_id, "accountId");
    let account_type = c.choice(&r.account_type, "type", &ACCOUNT_TYPES);
    let subtype = c.choice(&r.subtype, "subtype", &ACCOUNT_SUBTYPES);
    let compe = c.text(r.compe_code, "compeCode", compe_code);
    let branch = c.optional(r.branch_code, "branchCode", branch_code);
    if needs_branch {
        c.fail(
            "branchCode",
            format!("is required unless type is {PREPAID}"),
        );
    }
    let number = c.text(r.number, "number", account_number);
    let check = c.text(r.check_digit, "checkDigit", check_digit);
    let display_name = c.optional(r.display_name, "displayName", any);
    let cur = c.text(r.currency, "currency", currency);
    let status = match &r.status {
        None => Some("AVAILABLE"),
        Some(s) => c.one_of(s, "status", &ACCOUNT_STATUSES),
    };
    let holders = match r.holders {
        None => {
            c.fail("holders", "is required");
            None
        }
        Some(list) if list.is_empty() => {
            c.fail("holders", "must list at least one customer document");
            None
        }
        Some(list) => {
            let mut ok = true;
            for (i, h) in list.iter().enumerate() {
                if let Err(reason) = document(h) {
                    c.fail(&format!("holders[{i}]"), reason);
                    ok = false;
                } else if list[..i].contains(h) {
                    c.fail(&format!("holders[{i}]"), "is listed twice");
                    ok = false;
                }
            }
            ok.then_some(list)
        }
    };
    let defines = match (&brand, &id) {
        (Some(b), Some((key, _))) if !c.errors.is_empty() => {
            Some(Definition::Account(AccountRef {
                brand: Arc::from(b.as_str()),
                key: Arc::from(key.as_str()),
            }))
        }
        _ => None,
    };
    let value = (|| {
        let (key, legacy_json) = id?;
        Some(Item::Account(Account {
            account: AccountRef {
                brand: Arc::from(brand?.as_str()),
                key: Arc::from(key),
            },
            legacy_json,
            account_type: account_type?,
            subtype: subtype?,
            compe_code: compe?,
            branch_code: branch?,
            number: number?,
            check_digit: check?,
            currency: cur?,
            holders: holders?,
            display_name: display_name?,
            status: status?,
        }))
    })();
    c.finish(value, defines)
}

/// Checks the fields of a statement entry.
fn entry(c: &mut Check, f: TransactionFields, pending: bool) -> Option<TxRow> {
    let id = c.legacy(&f.transaction_id, "transactionId");
    let kind_field = "completedAuthorisedPaymentType";
    let kind = match c.required(f.completed_authorised_payment_type.as_deref(), kind_field) {
        None => None,
        Some(v) if pending => {
            let found = PENDING_KINDS.iter().copied().find(|k| *k == v);
            if found.is_none() {
                c.fail(
                    kind_field,
                    format!(
                        "must be TRANSACAO_PROCESSANDO or LANCAMENTO_FUTURO in a pendingTransactions snapshot{}",
                        if v == COMPLETED { " (completed transactions are sent as transaction records)" } else { "" }
                    ),
                );
            }
            found
        }
        Some(COMPLETED) => Some(COMPLETED),
        Some(v) => {
            c.fail(
                kind_field,
                format!(
                    "must be {COMPLETED} in a transaction record{}",
                    if PENDING_KINDS.contains(&v) {
                        " (pending entries are sent in a pendingTransactions snapshot)"
                    } else {
                        ""
                    }
                ),
            );
            None
        }
    };
    let credit_debit = c.choice(&f.credit_debit_type, "creditDebitType", &CREDIT_DEBIT);
    let name = c.text(f.transaction_name, "transactionName", transaction_name);
    let tx_type = c.choice(&f.transaction_type, "type", &TRANSACTION_TYPES);
    let amount = c.money(&f.amount, "amount", false);
    let cur = c.text(f.currency, "currency", currency);
    let date_time = c.date_time(
        &f.transaction_date_time,
        "transactionDateTime",
        utc_date_time,
    );
    let booking = match &f.booking_date {
        None => Some(None),
        Some(v) => match date(v) {
            Ok(d) => Some(Some(d)),
            Err(reason) => {
                c.fail("bookingDate", reason);
                None
            }
        },
    };
    let partie_doc = c.optional(f.partie_cnpj_cpf, "partieCnpjCpf", document);
    let person = match &f.partie_person_type {
        None => Some(None),
        Some(v) => c.one_of(v, "partiePersonType", &PERSON_TYPES).map(Some),
    };
    if let (Some(Some(doc)), Some(Some(person))) = (&partie_doc, &person) {
        let expected = if doc.len() == 11 {
            "PESSOA_NATURAL"
        } else {
            "PESSOA_JURIDICA"
        };
        if *person != expected {
            c.fail(
                "partiePersonType",
                format!(
                    "must be {expected} for a partieCnpjCpf of {} digits",
                    doc.len()
                ),
            );
        }
    }
    let partie_compe = c.optional(f.partie_compe_code, "partieCompeCode", compe_code);
    let partie_branch = c.optional(f.partie_branch_code, "partieBranchCode", branch_code);
    let partie_number = c.optional(f.partie_number, "partieNumber", account_number);
    let partie_check = c.optional(f.partie_check_digit, "partieCheckDigit", check_digit);
    let (key, id_json) = id?;
    let date_time = date_time?;
    Some(TxRow {
        key,
        id_json,
        kind: kind?,
        credit_debit: credit_debit?,
        name: name?,
        tx_type: tx_type?,
        amount: amount?,
        currency: cur?,
        date_time,
        booking_date: booking?.unwrap_or_else(|| time::brasilia_date(date_time)),
        partie_cnpj_cpf: partie_doc?,
        partie_person_type: person?,
        partie_compe_code: partie_compe?,
        partie_branch_code: partie_branch?,
        partie_number: partie_number?,
        partie_check_digit: partie_check?,
    })
}

/// For a line serde refused: what it would have defined, read leniently.
pub(crate) fn definition_hint(line: &[u8]) -> Option<Definition> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let text = |name: &str| value.get(name)?.as_str().map(str::to_owned);
    let brand = text("brandId").filter(|b| brand_id(b).is_ok())?;
    match value.get("record")?.as_str()? {
        "brand" => Some(Definition::Brand(brand)),
        "customer" => {
            let document = text("document").filter(|d| document(d).is_ok())?;
            Some(Definition::Customer {
                brand_id: brand,
                document,
            })
        }
        "account" => {
            let id: LegacyId = serde_json::from_value(value.get("accountId")?.clone()).ok()?;
            id.validate().ok()?;
            Some(Definition::Account(AccountRef {
                brand: Arc::from(brand),
                key: Arc::from(id.canonical_key()),
            }))
        }
        _ => None,
    }
}

/// Validates one record on its own (tests).
#[cfg(test)]
pub(crate) fn validate(record: Record) -> Result<Item, Invalid> {
    Validator::default().validate(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::legacy_id::KeyValue;

    fn lid(pairs: &[(&str, &str)]) -> LegacyId {
        LegacyId(
            pairs
                .iter()
                .map(|(k, v)| KeyValue {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
        )
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    fn account_record() -> AccountRecord {
        AccountRecord {
            brand_id: s("cbanco"),
            account_id: Some(lid(&[("branch", "0001"), ("number", "12345678")])),
            account_type: s("CONTA_DEPOSITO_A_VISTA"),
            subtype: s("INDIVIDUAL"),
            compe_code: s("001"),
            branch_code: s("0001"),
            number: s("12345678"),
            check_digit: s("9"),
            currency: s("BRL"),
            holders: Some(vec!["11111111111".into()]),
            display_name: None,
            status: None,
        }
    }

    fn tx_fields() -> TransactionFields {
        TransactionFields {
            transaction_id: Some(lid(&[("id", "TX-1")])),
            completed_authorised_payment_type: s("TRANSACAO_EFETIVADA"),
            credit_debit_type: s("CREDITO"),
            transaction_name: s("PIX RECEBIDO"),
            transaction_type: s("PIX"),
            amount: s("1500.00"),
            currency: s("BRL"),
            transaction_date_time: s("2026-11-20T14:30:00.000Z"),
            booking_date: None,
            partie_cnpj_cpf: s("43908445778"),
            partie_person_type: s("PESSOA_NATURAL"),
            partie_compe_code: s("001"),
            partie_branch_code: s("6272"),
            partie_number: s("67890854360"),
            partie_check_digit: s("4"),
        }
    }

    fn tx(fields: TransactionFields) -> Result<Item, Invalid> {
        validate(Record::Transaction(TransactionRecord {
            brand_id: s("cbanco"),
            account_id: Some(lid(&[("number", "1")])),
            fields,
        }))
    }

    fn errors(result: Result<Item, Invalid>) -> Vec<(String, String)> {
        match result {
            Ok(item) => panic!("expected errors, got {item:?}"),
            Err((errors, _)) => errors.into_iter().map(|e| (e.field, e.reason)).collect(),
        }
    }

    fn fields(result: Result<Item, Invalid>) -> Vec<String> {
        errors(result).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn patterns() {
        assert!(document("12345678901").is_ok());
        assert!(document("12345678901234").is_ok());
        for bad in [
            "1234567890",
            "123456789012",
            "1234567890123",
            "123456789012345",
            "1234567890a",
            "",
        ] {
            assert!(document(bad).is_err(), "{bad}");
        }
        assert!(cnpj("21128159000166").is_ok());
        assert!(cnpj("11111111111").is_err());
        assert!(compe_code("001").is_ok());
        assert!(
            compe_code("01").is_err() && compe_code("0011").is_err() && compe_code("0a1").is_err()
        );
        assert!(branch_code("0001").is_ok());
        assert!(branch_code("001").is_err() && branch_code("00011").is_err());
        assert!(
            account_number("12345678").is_ok() && account_number("12345678901234567890").is_ok()
        );
        assert!(
            account_number("1234567").is_err() && account_number("123456789012345678901").is_err()
        );
        assert!(account_number("1234567x").is_err());
        assert!(check_digit("X").is_ok() && check_digit("ç").is_ok());
        assert!(check_digit("").is_err() && check_digit("12").is_err());
        assert!(currency("BRL").is_ok());
        assert!(currency("brl").is_err() && currency("BR").is_err() && currency("BRLL").is_err());
        assert!(brand_id("a").is_ok() && brand_id(&"a".repeat(50)).is_ok());
        assert!(brand_id("").is_err() && brand_id(&"a".repeat(51)).is_err());
        assert!(brand_name(&"ã".repeat(80)).is_ok() && brand_name(&"a".repeat(81)).is_err());
        assert!(
            transaction_name(&"ã".repeat(200)).is_ok()
                && transaction_name(&"a".repeat(201)).is_err()
        );
    }

    #[test]
    fn date_times() {
        let at = utc_date_time("2026-11-21T02:30:00.000Z").unwrap();
        assert_eq!(
            time::brasilia_date(at),
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        assert!(utc_date_time("2026-11-21T02:30:00Z").is_ok());
        assert!(utc_date_time("2026-11-21T02:30:00.123456Z").is_ok());
        assert!(utc_date_time("2026-11-21T02:30:00+00:00").is_ok());
        assert!(utc_date_time("2026-11-21T02:30:00.1234567Z").is_err());
        assert!(utc_date_time("2026-11-21T02:30:00-03:00").is_err());
        assert!(utc_date_time("2026-11-21T02:30:00").is_err());
        assert!(utc_date_time("2026-02-30T02:30:00Z").is_err());
        // Balances' updateDateTime may carry any offset.
        assert_eq!(
            date_time("2026-11-20T07:00:00-03:00").unwrap(),
            utc_date_time("2026-11-20T10:00:00Z").unwrap()
        );
        assert!(date("2026-11-20").is_ok());
        assert!(
            date("2026-2-01").is_err() && date("2026-02-30").is_err() && date("20261120").is_err()
        );
    }

    #[test]
    fn valid_account_and_defaults() {
        let Ok(Item::Account(a)) = validate(Record::Account(account_record())) else {
            panic!()
        };
        assert_eq!(a.status, "AVAILABLE");
        assert_eq!(
            &*a.account.key,
            r#"[["branch","0001"],["number","12345678"]]"#
        );
        assert_eq!(
            a.legacy_json,
            r#"[{"key":"branch","value":"0001"},{"key":"number","value":"12345678"}]"#
        );
    }

    #[test]
    fn account_fields() {
        let mut r = account_record();
        r.branch_code = None;
        assert_eq!(fields(validate(Record::Account(r.clone()))), ["branchCode"]);
        r.account_type = s("CONTA_PAGAMENTO_PRE_PAGA");
        assert!(
            validate(Record::Account(r)).is_ok(),
            "prepaid accounts need no branch"
        );

        let mut r = account_record();
        r.account_type = s("CONTA_SALARIO");
        r.subtype = s("CONJUNTA");
        r.compe_code = s("1");
        r.number = s("123");
        r.check_digit = s("");
        r.currency = s("real");
        r.status = s("CLOSED");
        r.holders = Some(vec![
            "11111111111".into(),
            "123".into(),
            "11111111111".into(),
        ]);
        assert_eq!(
            fields(validate(Record::Account(r))),
            [
                "type",
                "subtype",
                "compeCode",
                "number",
                "checkDigit",
                "currency",
                "status",
                "holders[1]",
                "holders[2]"
            ]
        );

        let mut r = account_record();
        r.holders = Some(vec![]);
        r.account_id = Some(lid(&[]));
        let (errs, defines) = validate(Record::Account(r)).unwrap_err();
        assert_eq!(
            errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["accountId", "holders"]
        );
        assert!(defines.is_none());

        let r = AccountRecord::default();
        assert_eq!(
            fields(validate(Record::Account(r))),
            [
                "brandId",
                "accountId",
                "type",
                "subtype",
                "compeCode",
                "branchCode",
                "number",
                "checkDigit",
                "currency",
                "holders"
            ]
        );
    }

    #[test]
    fn a_bad_definition_still_defines_its_identity() {
        let mut r = account_record();
        r.compe_code = s("1");
        let (_, defines) = validate(Record::Account(r)).unwrap_err();
        assert!(matches!(defines, Some(Definition::Account(_))));
        let (_, defines) = validate(Record::Customer(CustomerRecord {
            brand_id: s("b"),
            document: s("11111111111"),
            name: None,
        }))
        .unwrap_err();
        assert!(matches!(defines, Some(Definition::Customer { .. })));
        assert!(matches!(
            definition_hint(br#"{"record":"account","brandId":"b","accountId":[{"key":"n","value":"1"}],"x":1}"#),
            Some(Definition::Account(_))
        ));
    }

    #[test]
    fn brand_and_customer_fields() {
        let r = BrandRecord {
            brand_id: s(""),
            brand_name: s(&"n".repeat(81)),
            company_cnpj: s("123"),
        };
        assert_eq!(
            fields(validate(Record::Brand(r))),
            ["brandId", "brandName", "companyCnpj"]
        );
        let r = CustomerRecord {
            brand_id: s("b"),
            document: s("123.456.789-01"),
            name: None,
        };
        assert_eq!(fields(validate(Record::Customer(r))), ["document", "name"]);
    }

    #[test]
    fn money_fields() {
        let r = BalanceRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            available_amount: s("-10.00"),
            blocked_amount: s("-1.00"),
            automatically_invested_amount: s("1"),
            currency: s("BRL"),
            update_date_time: s("yesterday"),
        };
        assert_eq!(
            fields(validate(Record::Balance(r))),
            [
                "blockedAmount",
                "automaticallyInvestedAmount",
                "updateDateTime"
            ]
        );
        let r = OverdraftLimitsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            overdraft_contracted_limit: None,
            overdraft_used_limit: s("-5.00"),
            unarranged_overdraft_amount: None,
            currency: s("BRL"),
        };
        assert_eq!(
            fields(validate(Record::OverdraftLimits(r))),
            ["overdraftUsedLimit"]
        );
        let r = OverdraftLimitsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            currency: s("BRL"),
            ..Default::default()
        };
        let Ok(Item::Limits(l)) = validate(Record::OverdraftLimits(r)) else {
            panic!()
        };
        assert_eq!((l.contracted, l.used, l.unarranged), (None, None, None));
    }

    #[test]
    fn transaction_fields() {
        let Ok(Item::Transaction(_, row)) = tx(tx_fields()) else {
            panic!()
        };
        assert_eq!(
            row.booking_date,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        assert_eq!(row.key, r#"[["id","TX-1"]]"#);

        let mut f = tx_fields();
        f.transaction_date_time = s("2026-11-21T02:30:00.000Z");
        let Ok(Item::Transaction(_, row)) = tx(f) else {
            panic!()
        };
        assert_eq!(
            row.booking_date,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            "Brasília date"
        );

        let mut f = tx_fields();
        f.booking_date = s("2026-11-22");
        let Ok(Item::Transaction(_, row)) = tx(f) else {
            panic!()
        };
        assert_eq!(
            row.booking_date,
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
        );

        let mut f = tx_fields();
        f.completed_authorised_payment_type = s("LANCAMENTO_FUTURO");
        f.credit_debit_type = s("CREDIT");
        f.transaction_name = s(&"x".repeat(201));
        f.transaction_type = s("BOLETOS");
        f.amount = s("-1.00");
        f.currency = s("R$");
        f.transaction_date_time = s("2026-11-20T11:30:00.000-03:00");
        f.booking_date = s("20/11/2026");
        f.partie_cnpj_cpf = s("123");
        f.partie_person_type = s("PESSOA");
        f.partie_compe_code = s("1");
        f.partie_branch_code = s("1");
        f.partie_number = s("1");
        f.partie_check_digit = s("12");
        assert_eq!(
            fields(tx(f)),
            [
                "completedAuthorisedPaymentType",
                "creditDebitType",
                "transactionName",
                "type",
                "amount",
                "currency",
                "transactionDateTime",
                "bookingDate",
                "partieCnpjCpf",
                "partiePersonType",
                "partieCompeCode",
                "partieBranchCode",
                "partieNumber",
                "partieCheckDigit"
            ]
        );

        let mut f = tx_fields();
        f.partie_person_type = s("PESSOA_JURIDICA");
        assert_eq!(fields(tx(f)), ["partiePersonType"]);

        // Counterparty fields are all optional.
        let f = TransactionFields {
            partie_cnpj_cpf: None,
            partie_person_type: None,
            partie_compe_code: None,
            partie_branch_code: None,
            partie_number: None,
            partie_check_digit: None,
            ..tx_fields()
        };
        assert!(tx(f).is_ok());

        assert_eq!(
            fields(tx(TransactionFields::default())),
            [
                "transactionId",
                "completedAuthorisedPaymentType",
                "creditDebitType",
                "transactionName",
                "type",
                "amount",
                "currency",
                "transactionDateTime"
            ]
        );
    }

    #[test]
    fn pending_snapshot_fields() {
        let mut entry = tx_fields();
        entry.completed_authorised_payment_type = s("TRANSACAO_PROCESSANDO");
        let mut completed = tx_fields();
        completed.amount = s("1,00");
        let r = PendingTransactionsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            transactions: Some(vec![entry.clone(), completed]),
        };
        let errs = errors(validate(Record::PendingTransactions(r)));
        assert_eq!(
            errs.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            [
                "transactions[1].completedAuthorisedPaymentType",
                "transactions[1].amount"
            ]
        );
        let r = PendingTransactionsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            transactions: Some(vec![entry.clone(), entry]),
        };
        let Ok(Item::Pending(p)) = validate(Record::PendingTransactions(r)) else {
            panic!()
        };
        assert_eq!(p.entries.len(), 2, "ids may repeat among pending entries");
        let r = PendingTransactionsRecord {
            brand_id: s("b"),
            account_id: Some(lid(&[("n", "1")])),
            transactions: None,
        };
        assert_eq!(
            fields(validate(Record::PendingTransactions(r))),
            ["transactions"]
        );
    }

    #[test]
    fn legacy_texts_match_the_domain_and_serde() {
        for id in [
            lid(&[("id", "TX-1")]),
            lid(&[("number", "1"), ("branch", "0001")]),
            lid(&[("b", "2"), ("a", "1"), ("b", "2"), ("a", "0")]),
            lid(&[("ação", "ç"), ("k", "")]),
            lid(&[("q", "a\"b"), ("t", "tab\there"), ("s", "back\\slash")]),
        ] {
            let (key, json) = legacy_texts(&id);
            assert_eq!(key, id.canonical_key());
            assert_eq!(json, serde_json::to_string(&id).unwrap());
        }
    }

    #[test]
    fn legacy_id_sizes() {
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        let eleven: Vec<(&str, &str)> = eleven
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = TransactionRemovalRecord {
            brand_id: s("b"),
            account_id: Some(lid(&eleven)),
            transaction_id: Some(lid(&[])),
            reason: None,
        };
        assert_eq!(
            fields(validate(Record::TransactionRemoval(r))),
            ["accountId", "transactionId"]
        );
    }
}
