//! `contas seed`: a synthetic but realistic bank, generated in memory and
//! loaded through the import path ([`crate::import::import_records`]), or
//! written as NDJSON for `contas import` (`--output`).
//!
//! Customers (people with valid CPFs, companies with valid CNPJs and a
//! person as representative) and accounts are planned up front. The
//! completed transactions then come booking day by booking day across all
//! accounts, as a real bank's daily feeds fill its store ([`History`]);
//! they are drawn a day at a time, so memory stays bounded by the plan and
//! a day's traffic, not by the history. Every part draws from its own
//! random stream derived from `--seed`, so the same seed (and the same
//! "now") always yields the same bank. `--delta` makes the bank's next
//! daily feed instead.
//!
//! Every seed also holds the fixed demo customer ([`DEMO_CPF`]) with the
//! accounts [`demo_curl`] asks for.

use crate::domain::legacy_id::{KeyValue, LegacyId};
use crate::domain::time::{brasilia, render_seconds};
use crate::import::{
    self, AccountRecord, BalanceRecord, BrandRecord, CustomerRecord, ImportOptions, ImportSummary,
    OverdraftLimitsRecord, PendingTransactionsRecord, Record, TransactionFields, TransactionRecord,
};
use anyhow::{Context, Result};
use chrono::{DateTime, Datelike, Duration, Months, NaiveTime, TimeZone, Timelike, Utc};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::{HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The demo brand.
pub const DEMO_BRAND: &str = "cbanco";
pub const DEMO_BRAND_NAME: &str = "Banco C";
/// CNPJ of the institution behind the demo brand.
pub const DEMO_BRAND_CNPJ: &str = "21128159000166";
/// The demo customer, a person.
pub const DEMO_CPF: &str = "38519462782";
pub const DEMO_NAME: &str = "Ana Paula Souza";
/// The demo customer's spouse, co-holder of the joint account.
pub const DEMO_SPOUSE_CPF: &str = "71426093896";
pub const DEMO_SPOUSE_NAME: &str = "Ricardo Souza Lima";
/// The demo customer's company, which she represents.
pub const DEMO_COMPANY_CNPJ: &str = "45781923000166";
pub const DEMO_COMPANY_NAME: &str = "Souza Design Ltda";
/// Default `--seed`.
pub const DEFAULT_SEED: u64 = 20_261_122;

/// Share of checking accounts with merchant-like traffic, and how much more
/// they move than their peers (see `Bank::plan`).
const HEAVY_ACCOUNT_SHARE: f64 = 0.005;
const HEAVY_ACCOUNT_FACTOR: f64 = 20.0;

/// COMPE code of the seeded institution.
const COMPE: &str = "336";

const DEMO_BRANCH: &str = "0001";
const DEMO_CHECKING: &str = "00123456";
const DEMO_SAVINGS: &str = "00654321";
const DEMO_JOINT: &str = "00777888";
const DEMO_COMPANY_ACCOUNT: &str = "00900100";

fn branch_number_id(branch: &str, number: &str) -> LegacyId {
    LegacyId(vec![
        KeyValue {
            key: "branch".into(),
            value: branch.into(),
        },
        KeyValue {
            key: "number".into(),
            value: number.into(),
        },
    ])
}

/// The demo customer's own accounts: checking, savings, and the joint
/// account she holds with her spouse.
pub fn demo_account_ids() -> Vec<LegacyId> {
    [DEMO_CHECKING, DEMO_SAVINGS, DEMO_JOINT]
        .iter()
        .map(|n| branch_number_id(DEMO_BRANCH, n))
        .collect()
}

/// The accounts of the demo customer's company.
pub fn demo_company_account_ids() -> Vec<LegacyId> {
    vec![branch_number_id(DEMO_BRANCH, DEMO_COMPANY_ACCOUNT)]
}

/// `contas seed` options.
#[derive(clap::Args, Debug, Clone)]
pub struct SeedArgs {
    /// Customers to generate (about one in ten is a company).
    #[arg(long, default_value_t = 1000)]
    pub customers: u32,
    /// Accounts to generate.
    #[arg(long, default_value_t = 2000)]
    pub accounts: u32,
    /// Completed transactions to generate.
    #[arg(long, default_value_t = 100_000)]
    pub transactions: u64,
    /// Months of history, up to today.
    #[arg(long, default_value_t = 13)]
    pub months: u32,
    /// Random seed: the same seed gives the same bank.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Brand to create.
    #[arg(long, default_value = DEMO_BRAND)]
    pub brand: String,
    /// Instead of the history, the bank's next daily feed: N completed
    /// transactions dated today (Brasília) up to now, shared out over the
    /// accounts as the history's; a fresh pending snapshot of every account
    /// that has pending entries; every balance stated now. The same
    /// --customers, --accounts, --seed and --brand give the same accounts,
    /// and its transaction ids never collide with the history's, so it
    /// imports into a store seeded earlier today or on any day before.
    #[arg(long, value_name = "N", conflicts_with = "if_empty")]
    pub delta: Option<u64>,
    /// Write the records as NDJSON lines (what `contas import` reads) to
    /// FILE, `-` for standard output, instead of loading them.
    #[arg(long, value_name = "FILE", conflicts_with = "if_empty")]
    pub output: Option<PathBuf>,
}

impl SeedArgs {
    pub fn config(&self) -> SeedConfig {
        SeedConfig {
            brand_id: self.brand.clone(),
            customers: self.customers,
            accounts: self.accounts,
            transactions: self.transactions,
            months: self.months,
            seed: self.seed,
            delta: self.delta,
            ..SeedConfig::demo()
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedConfig {
    pub brand_id: String,
    /// Synthetic customers, besides the demo ones.
    pub customers: u32,
    /// Synthetic accounts, besides the demo ones.
    pub accounts: u32,
    /// Synthetic completed transactions, besides the demo ones.
    pub transactions: u64,
    pub months: u32,
    pub seed: u64,
    /// The moment the history (or the delta) ends at; fixed for
    /// reproducible data.
    pub now: DateTime<Utc>,
    /// `Some(n)`: instead of the history, the next daily feed, with `n`
    /// synthetic completed transactions (see [`SeedArgs::delta`]).
    pub delta: Option<u64>,
    /// Rows per batch of the import path.
    pub batch_rows: usize,
}

impl SeedConfig {
    /// The small bank `contas serve` loads into an empty embedded database.
    pub fn demo() -> Self {
        Self {
            brand_id: DEMO_BRAND.to_owned(),
            customers: 50,
            accounts: 80,
            transactions: 5000,
            months: 13,
            seed: DEFAULT_SEED,
            now: Utc::now().with_nanosecond(0).expect("0 ns is valid"),
            delta: None,
            batch_rows: ImportOptions::default().batch_rows,
        }
    }
}

/// What a seed loaded.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub brand_id: String,
    /// Whether it was a daily delta rather than the history.
    pub delta: bool,
    pub import: ImportSummary,
    pub elapsed: std::time::Duration,
}

impl SeedSummary {
    pub fn transactions_per_second(&self) -> f64 {
        self.import.transactions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.import;
        write!(
            f,
            "seeded brand {}{}: {} customers, {} accounts, {} transactions and {} pending entries in {:.2} s \
             ({:.0} transactions/s)",
            self.brand_id,
            if self.delta { " (daily delta)" } else { "" },
            i.customers,
            i.accounts,
            i.transactions,
            i.pending_entries,
            self.elapsed.as_secs_f64(),
            self.transactions_per_second()
        )
    }
}

/// Whether the store has no brand yet.
pub async fn is_empty(pool: &PgPool) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT NOT EXISTS (SELECT FROM brands)")
        .fetch_one(pool)
        .await?)
}

/// The records of `config`: the bank's history, or its daily delta.
pub fn records(config: &SeedConfig) -> Box<dyn Iterator<Item = Record> + Send> {
    let bank = Bank::plan(config);
    match config.delta {
        None => Box::new(bank.records()),
        Some(n) => Box::new(bank.delta_records(n)),
    }
}

/// Generates the records of `config` and loads them in one transaction.
pub async fn seed(pool: &PgPool, config: &SeedConfig) -> Result<SeedSummary> {
    let started = Instant::now();
    let options = ImportOptions {
        batch_rows: config.batch_rows,
        ..ImportOptions::default()
    };
    let import = import::import_records(pool, records(config), &options).await?;
    Ok(SeedSummary {
        brand_id: config.brand_id.clone(),
        delta: config.delta.is_some(),
        import,
        elapsed: started.elapsed(),
    })
}

/// What `--output` wrote.
#[derive(Debug, Clone)]
pub struct OutputSummary {
    pub records: u64,
    pub transactions: u64,
    pub elapsed: std::time::Duration,
}

impl fmt::Display for OutputSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wrote {} records ({} completed transactions) in {:.2} s ({:.0} transactions/s)",
            self.records,
            self.transactions,
            self.elapsed.as_secs_f64(),
            self.transactions as f64 / self.elapsed.as_secs_f64().max(1e-9)
        )
    }
}

/// Writes the records of `config` to `out` as NDJSON, one record a line.
pub fn write_ndjson(config: &SeedConfig, mut out: impl Write) -> Result<OutputSummary> {
    let started = Instant::now();
    let (mut records_written, mut transactions) = (0, 0);
    for record in records(config) {
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        records_written += 1;
        transactions += u64::from(matches!(record, Record::Transaction(_)));
    }
    out.flush()?;
    Ok(OutputSummary {
        records: records_written,
        transactions,
        elapsed: started.elapsed(),
    })
}

/// [`write_ndjson`] into the file at `path`, or standard output for `-`.
pub fn write_path(config: &SeedConfig, path: &Path) -> Result<OutputSummary> {
    if path == Path::new("-") {
        write_ndjson(
            config,
            BufWriter::with_capacity(1 << 20, io::stdout().lock()),
        )
    } else {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        write_ndjson(config, BufWriter::with_capacity(1 << 20, file))
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// A ready-to-paste `curl` listing the demo customer's accounts.
pub fn demo_curl(bind: SocketAddr) -> String {
    let now = Utc::now();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        now.timestamp_nanos_opt().unwrap_or_default() as u64 ^ u64::from(std::process::id()),
    );
    let resources: Vec<serde_json::Value> = demo_account_ids()
        .into_iter()
        .map(|id| serde_json::json!({"type": "ACCOUNT", "resourceLegacyId": id}))
        .collect();
    let body = serde_json::json!({
        "consent": {
            "brandId": DEMO_BRAND,
            "creationDateTime": render_seconds(now - Duration::minutes(5)),
            "expirationDateTime": render_seconds(now + Duration::days(365)),
            "tpp": {"name": "Fintech Exemplo"},
            "externalId": format!("urn:{DEMO_BRAND}:{}", uuid(&mut rng)),
            "loggedUser": {"document": {"identification": DEMO_CPF, "rel": "CPF"}},
            "permissions": [
                "ACCOUNTS_READ",
                "ACCOUNTS_BALANCES_READ",
                "ACCOUNTS_TRANSACTIONS_READ",
                "ACCOUNTS_OVERDRAFT_LIMITS_READ",
                "RESOURCES_READ"
            ],
            "resources": resources,
        },
        "requestMeta": {"correlationId": uuid(&mut rng), "brandId": DEMO_BRAND},
    });
    let json = serde_json::to_string_pretty(&body).expect("JSON values always serialize");
    format!(
        "curl -sS -X POST 'http://{bind}/accounts' \\\n  -H 'Content-Type: application/json' \\\n  --data-binary @- <<'EOF'\n{json}\nEOF"
    )
}

/// An amount the contract's way, with two decimals.
fn amount_text(value: Decimal) -> String {
    let mut value = value.round_dp(2);
    value.rescale(2);
    value.to_string()
}

/// `2026-11-20T14:30:00.123Z` (as `domain::time::render_millis`, without
/// chrono's format parsing on this hot path).
fn millis_text(at: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.timestamp_subsec_millis()
    )
}

/// `YYYYMMDDhhmmss` in Brasília time, for transaction ids. To the second:
/// seeding again later shifts every instant, and so every id, while seeding
/// again within the same second gives the very same records.
struct Stamp(DateTime<Utc>);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0.with_timezone(&brasilia());
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            l.year(),
            l.month(),
            l.day(),
            l.hour(),
            l.minute(),
            l.second()
        )
    }
}

fn stamp_text(at: DateTime<Utc>) -> String {
    Stamp(at).to_string()
}

/// A random (version 4) UUID.
fn uuid(rng: &mut impl RngExt) -> String {
    let a: u128 = rng.random();
    let a = (a & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

// ---- documents ---------------------------------------------------------------

fn check_digit_mod11(digits: &[u32], weights: &[u32]) -> u32 {
    let r = digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// A CPF with valid check digits from its first nine digits.
pub fn cpf(base: u32) -> String {
    let mut d: Vec<u32> = format!("{:09}", base % 1_000_000_000)
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    d.push(check_digit_mod11(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.push(check_digit_mod11(&d, &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.iter()
        .map(|d| char::from_digit(*d, 10).expect("a digit"))
        .collect()
}

/// A CNPJ (head office, `/0001`) with valid check digits from its root.
pub fn cnpj(root: u32) -> String {
    let mut d: Vec<u32> = format!("{:08}0001", root % 100_000_000)
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    d.push(check_digit_mod11(&d, &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.push(check_digit_mod11(
        &d,
        &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2],
    ));
    d.iter()
        .map(|d| char::from_digit(*d, 10).expect("a digit"))
        .collect()
}

/// Whether a CPF's or CNPJ's check digits are right.
pub fn valid_document(doc: &str) -> bool {
    let d: Vec<u32> = doc
        .bytes()
        .map(|b| u32::from(b.wrapping_sub(b'0')))
        .collect();
    if d.iter().any(|x| *x > 9) {
        return false;
    }
    match d.len() {
        11 => cpf(doc[..9].parse().unwrap_or(0)) == doc,
        14 if &doc[8..12] == "0001" => cnpj(doc[..8].parse().unwrap_or(0)) == doc,
        14 => {
            let w1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
            let w2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
            check_digit_mod11(&d[..12], &w1) == d[12] && check_digit_mod11(&d[..13], &w2) == d[13]
        }
        _ => false,
    }
}

/// Modulo-11 check digit of an account number; 10 is written `X`.
fn account_check_digit(number: &str) -> String {
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (2 + (i as u32 % 8)))
        .sum();
    match 11 - sum % 11 {
        10 => "X".into(),
        11 => "0".into(),
        d => d.to_string(),
    }
}

// ---- names -------------------------------------------------------------------

const FIRST_NAMES: [&str; 64] = [
    "Ana",
    "Maria",
    "Juliana",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Camila",
    "Amanda",
    "Bruna",
    "Letícia",
    "Larissa",
    "Mariana",
    "Gabriela",
    "Beatriz",
    "Vanessa",
    "Luana",
    "Adriana",
    "Simone",
    "Cláudia",
    "Renata",
    "Tatiane",
    "Débora",
    "Raquel",
    "Helena",
    "Alice",
    "Valentina",
    "Sophia",
    "Isabela",
    "Luíza",
    "Sandra",
    "Márcia",
    "Rosângela",
    "José",
    "João",
    "Antônio",
    "Francisco",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Bruno",
    "Eduardo",
    "Felipe",
    "Raimundo",
    "Rodrigo",
    "Manoel",
    "Mateus",
    "André",
    "Fernando",
    "Fábio",
    "Leonardo",
    "Gustavo",
    "Guilherme",
    "Thiago",
    "Diego",
    "Miguel",
    "Arthur",
];

const SURNAMES: [&str; 60] = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Pinto",
    "Correia",
    "Cavalcanti",
    "Monteiro",
    "Moura",
    "Batista",
    "Campos",
    "Barros",
    "Duarte",
    "Castro",
    "Azevedo",
    "Medeiros",
    "Fonseca",
    "Rezende",
    "Brandão",
    "Sampaio",
    "Queiroz",
    "Pires",
    "Macedo",
    "Figueiredo",
    "Farias",
    "Tavares",
    "Bezerra",
    "Xavier",
];

const ACTIVITIES: [&str; 24] = [
    "Comércio de Alimentos",
    "Padaria e Confeitaria",
    "Materiais de Construção",
    "Serviços Contábeis",
    "Transportes",
    "Auto Peças",
    "Tecnologia da Informação",
    "Clínica Odontológica",
    "Restaurante",
    "Papelaria",
    "Moda e Acessórios",
    "Engenharia",
    "Farmácia",
    "Pet Shop",
    "Academia",
    "Consultoria",
    "Móveis Planejados",
    "Distribuidora de Bebidas",
    "Oficina Mecânica",
    "Salão de Beleza",
    "Escola de Idiomas",
    "Hortifruti",
    "Gráfica",
    "Imobiliária",
];

const COMPANY_SUFFIXES: [&str; 4] = ["Ltda", "Ltda", "ME", "EIRELI"];

const MERCHANTS: [&str; 24] = [
    "SUPERMERCADO EXTRA",
    "ASSAI ATACADISTA",
    "CARREFOUR",
    "PAO DE ACUCAR",
    "IFOOD",
    "UBER TRIP",
    "99APP",
    "POSTO IPIRANGA",
    "POSTO SHELL",
    "DROGASIL",
    "DROGA RAIA",
    "AMAZON BR",
    "MERCADOLIVRE",
    "MAGAZINE LUIZA",
    "LOJAS RENNER",
    "NETFLIX.COM",
    "SPOTIFY",
    "CINEMARK",
    "OUTBACK",
    "MC DONALDS",
    "PADARIA REAL",
    "RESTAURANTE SABOR CASEIRO",
    "SMART FIT",
    "PETZ",
];

const UTILITIES: [&str; 10] = [
    "ENEL SP",
    "SABESP",
    "VIVO FIXO",
    "CLARO",
    "COMGAS",
    "CEMIG",
    "LIGHT",
    "TIM",
    "CPFL",
    "NET SERVICOS",
];

const BANKS: [&str; 14] = [
    "001", "033", "104", "237", "341", "260", "077", "290", "323", "756", "748", "212", "208",
    "422",
];

fn plain_upper(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'Á' | 'Â' | 'Ã' => 'A',
            'é' | 'ê' | 'É' | 'Ê' => 'E',
            'í' | 'Í' => 'I',
            'ó' | 'ô' | 'õ' | 'Ó' | 'Ô' | 'Õ' => 'O',
            'ú' | 'Ú' => 'U',
            'ç' | 'Ç' => 'C',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

fn person_name(rng: &mut Xoshiro256PlusPlus) -> String {
    let first = FIRST_NAMES.choose(rng).expect("names");
    let a = SURNAMES.choose(rng).expect("surnames");
    let b = SURNAMES.choose(rng).expect("surnames");
    if a == b || rng.random_bool(0.4) {
        format!("{first} {a}")
    } else {
        format!("{first} {a} {b}")
    }
}

fn company_name(rng: &mut Xoshiro256PlusPlus) -> String {
    let surname = SURNAMES.choose(rng).expect("surnames");
    let activity = ACTIVITIES.choose(rng).expect("activities");
    let suffix = COMPANY_SUFFIXES.choose(rng).expect("suffixes");
    format!("{surname} {activity} {suffix}")
}

/// Short statement form of a name: "MARIA S".
fn short_name(name: &str) -> String {
    let mut parts = name.split_whitespace();
    let first = parts.next().unwrap_or_default();
    match parts.next() {
        Some(second) => plain_upper(&format!(
            "{first} {}",
            &second[..second.chars().next().map_or(0, char::len_utf8)]
        )),
        None => plain_upper(first),
    }
}

// ---- the plan ----------------------------------------------------------------

/// A random stream for one part of the bank, independent of the others.
/// The generator is named, not rand's `SmallRng` (whose algorithm may change
/// with any release, and differs on 32-bit platforms): a seed's bank must not
/// change with the machine or an upgrade (tests/seed.rs pins one).
fn stream(seed: u64, part: u64, index: u64) -> Xoshiro256PlusPlus {
    let mut z =
        seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

#[derive(Debug, Clone)]
struct Customer {
    document: String,
    name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Checking,
    Savings,
    Prepaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Person,
    Joint,
    Company,
}

#[derive(Debug, Clone)]
struct PlannedAccount {
    kind: Kind,
    owner: Owner,
    branch: Option<String>,
    number: String,
    holders: Vec<String>,
    status: &'static str,
    /// Completed transactions of its history, besides the demo's daily ones.
    transactions: u64,
    /// Whether it has pending entries (in the history's last snapshot and in
    /// every delta's).
    pending: bool,
    demo: bool,
}

impl PlannedAccount {
    /// The demo accounts given entries on each of the last 7 days.
    fn daily_demo(&self) -> bool {
        self.demo && self.kind == Kind::Checking
    }

    fn legacy_id(&self) -> LegacyId {
        match &self.branch {
            Some(branch) => branch_number_id(branch, &self.number),
            None => LegacyId(vec![KeyValue {
                key: "wallet".into(),
                value: self.number.clone(),
            }]),
        }
    }
}

/// A counterparty of transactions.
#[derive(Debug, Clone)]
struct Party {
    document: String,
    short: String,
    compe: &'static str,
    branch: String,
    number: String,
    check: String,
}

struct Bank {
    brand_id: String,
    seed: u64,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    customers: Vec<Customer>,
    accounts: Vec<PlannedAccount>,
    /// Share of the traffic of each synthetic account (`accounts[4..]`).
    weights: Vec<f64>,
    people: Vec<Party>,
    companies: Vec<Party>,
    employers: Vec<Party>,
    merchants: Vec<(String, String)>,
    utilities: Vec<(String, String)>,
}

/// `total` transactions shared out by `weights`: each its floor share, the
/// remainder one by one from the first.
fn spread(weights: &[f64], total: u64) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let mut counts: Vec<u64> = weights
        .iter()
        .map(|w| (total as f64 * w / sum).floor() as u64)
        .collect();
    let mut assigned: u64 = counts.iter().sum();
    let mut i = 0;
    while assigned < total && !counts.is_empty() {
        let n = counts.len();
        counts[i % n] += 1;
        assigned += 1;
        i += 1;
    }
    counts
}

fn party(rng: &mut Xoshiro256PlusPlus, document: String, name: &str) -> Party {
    let number = format!(
        "{:0width$}",
        rng.random_range(0..100_000_000u64),
        width = 8 + rng.random_range(0..3)
    );
    Party {
        document,
        short: short_name(name),
        compe: BANKS.choose(rng).expect("banks"),
        branch: format!("{:04}", rng.random_range(1..4000)),
        check: account_check_digit(&number),
        number,
    }
}

impl Bank {
    fn plan(config: &SeedConfig) -> Bank {
        let now = config.now;
        let start = now
            .checked_sub_months(Months::new(config.months))
            .unwrap_or(now);
        let mut rng = stream(config.seed, 1, 0);

        // Customers: one in ten a company. Documents are drawn at random,
        // never twice and never one of the demo ones.
        let mut customers = vec![
            Customer {
                document: DEMO_CPF.into(),
                name: DEMO_NAME.into(),
            },
            Customer {
                document: DEMO_SPOUSE_CPF.into(),
                name: DEMO_SPOUSE_NAME.into(),
            },
            Customer {
                document: DEMO_COMPANY_CNPJ.into(),
                name: DEMO_COMPANY_NAME.into(),
            },
        ];
        let mut taken: HashSet<String> = customers.iter().map(|c| c.document.clone()).collect();
        for i in 0..config.customers as usize {
            let company = i % 10 == 9;
            let document = loop {
                let doc = if company {
                    cnpj(rng.random_range(1_000_000..100_000_000))
                } else {
                    cpf(rng.random_range(10_000_000..1_000_000_000))
                };
                if taken.insert(doc.clone()) {
                    break doc;
                }
            };
            let name = if company {
                company_name(&mut rng)
            } else {
                person_name(&mut rng)
            };
            customers.push(Customer { document, name });
        }
        let person_docs: Vec<usize> = (3..customers.len())
            .filter(|&i| customers[i].document.len() == 11)
            .collect();
        let company_docs: Vec<usize> = (3..customers.len())
            .filter(|&i| customers[i].document.len() == 14)
            .collect();

        // Accounts: the demo ones first, then one per customer, then extra
        // savings, joint and prepaid accounts.
        let mut accounts = Vec::new();
        let demo = |kind, owner, number: &str, holders: Vec<&str>| PlannedAccount {
            kind,
            owner,
            branch: Some(DEMO_BRANCH.into()),
            number: number.into(),
            holders: holders.into_iter().map(str::to_owned).collect(),
            status: "AVAILABLE",
            transactions: 0,
            pending: false,
            demo: true,
        };
        accounts.push(demo(
            Kind::Checking,
            Owner::Person,
            DEMO_CHECKING,
            vec![DEMO_CPF],
        ));
        accounts.push(demo(
            Kind::Savings,
            Owner::Person,
            DEMO_SAVINGS,
            vec![DEMO_CPF],
        ));
        accounts.push(demo(
            Kind::Checking,
            Owner::Joint,
            DEMO_JOINT,
            vec![DEMO_CPF, DEMO_SPOUSE_CPF],
        ));
        accounts.push(demo(
            Kind::Checking,
            Owner::Company,
            DEMO_COMPANY_ACCOUNT,
            vec![DEMO_COMPANY_CNPJ],
        ));
        let branches: Vec<String> = (0..12).map(|i| format!("{:04}", 1 + i * 37)).collect();
        let mut next_number = 10_000_000u64;
        let mut synthetic =
            |kind: Kind, owner: Owner, holders: Vec<usize>, rng: &mut Xoshiro256PlusPlus| {
                next_number += rng.random_range(1..60);
                let status = match rng.random_range(0..100) {
                    0..3 => "TEMPORARILY_UNAVAILABLE",
                    3..5 => "UNAVAILABLE",
                    _ => "AVAILABLE",
                };
                PlannedAccount {
                    kind,
                    owner,
                    branch: (kind != Kind::Prepaid)
                        .then(|| branches.choose(rng).expect("branches").clone()),
                    number: next_number.to_string(),
                    holders: holders
                        .iter()
                        .map(|&h| customers[h].document.clone())
                        .collect(),
                    status,
                    transactions: 0,
                    pending: false,
                    demo: false,
                }
            };
        let wanted = config.accounts as usize;
        for c in (3..customers.len()).take(wanted) {
            let company = customers[c].document.len() == 14;
            let kind = if company {
                Kind::Checking
            } else {
                match rng.random_range(0..10) {
                    0 => Kind::Savings,
                    1 => Kind::Prepaid,
                    _ => Kind::Checking,
                }
            };
            let owner = if company {
                Owner::Company
            } else {
                Owner::Person
            };
            accounts.push(synthetic(kind, owner, vec![c], &mut rng));
        }
        while accounts.len() - 4 < wanted && !person_docs.is_empty() {
            let roll = rng.random_range(0..100);
            let person = *person_docs.choose(&mut rng).expect("people");
            let account = if roll < 25 && person_docs.len() >= 2 {
                let mut other = person;
                while other == person {
                    other = *person_docs.choose(&mut rng).expect("people");
                }
                synthetic(Kind::Checking, Owner::Joint, vec![person, other], &mut rng)
            } else if roll < 65 {
                synthetic(Kind::Savings, Owner::Person, vec![person], &mut rng)
            } else if roll < 80 {
                synthetic(Kind::Prepaid, Owner::Person, vec![person], &mut rng)
            } else if roll < 90 && !company_docs.is_empty() {
                let company = *company_docs.choose(&mut rng).expect("companies");
                synthetic(Kind::Checking, Owner::Company, vec![company], &mut rng)
            } else {
                synthetic(Kind::Checking, Owner::Person, vec![person], &mut rng)
            };
            accounts.push(account);
        }

        // Spread the transactions: busy checking accounts, quiet savings, and
        // a heavy tail: one checking account in 200 is a small merchant's or
        // a self-employed person's, with twenty times the usual traffic (the
        // accounts whose statements run to hundreds of pages).
        let weights: Vec<f64> = accounts[4..]
            .iter()
            .map(|a| {
                let base = match (a.kind, a.owner) {
                    (Kind::Checking, Owner::Company) => 3.0,
                    (Kind::Checking, Owner::Joint) => 1.5,
                    (Kind::Checking, Owner::Person) => 1.0,
                    (Kind::Prepaid, _) => 0.5,
                    (Kind::Savings, _) => 0.12,
                };
                let merchant = a.kind == Kind::Checking && rng.random_bool(HEAVY_ACCOUNT_SHARE);
                let tail = if merchant { HEAVY_ACCOUNT_FACTOR } else { 1.0 };
                let status = if a.status == "UNAVAILABLE" { 0.05 } else { 1.0 };
                base * tail * status * rng.random_range(0.3..1.7)
            })
            .collect();
        for (a, n) in spread(&weights, config.transactions)
            .into_iter()
            .enumerate()
        {
            accounts[4 + a].transactions = n;
        }
        for (a, n) in accounts[..4].iter_mut().zip([260, 40, 120, 200]) {
            a.transactions = n;
        }
        // Pending entries on some available checking accounts, the demo
        // customer's own always.
        for (i, a) in accounts.iter_mut().enumerate() {
            a.pending = a.kind == Kind::Checking
                && a.status == "AVAILABLE"
                && (a.demo && a.owner == Owner::Person
                    || stream(config.seed, 9, i as u64).random_bool(0.25));
        }

        let mut prng = stream(config.seed, 2, 0);
        let people: Vec<Party> = (0..300)
            .map(|i| {
                let name = person_name(&mut prng);
                party(&mut prng, cpf(900_000_000 - i * 3571), &name)
            })
            .collect();
        let companies_pool: Vec<Party> = (0..120)
            .map(|i| {
                let name = company_name(&mut prng);
                party(&mut prng, cnpj(90_000_000 - i * 7717), &name)
            })
            .collect();
        let employers: Vec<Party> = companies_pool.iter().take(30).cloned().collect();
        let merchants = MERCHANTS
            .iter()
            .zip(0u32..)
            .map(|(m, i)| ((*m).to_owned(), cnpj(60_000_000 + i * 1009)))
            .collect();
        let utilities = UTILITIES
            .iter()
            .zip(0u32..)
            .map(|(m, i)| ((*m).to_owned(), cnpj(70_000_000 + i * 2003)))
            .collect();

        Bank {
            brand_id: config.brand_id.clone(),
            seed: config.seed,
            now,
            start,
            customers,
            accounts,
            weights,
            people,
            companies: companies_pool,
            employers,
            merchants,
            utilities,
        }
    }

    /// Every record of the history, in an order the import accepts: the
    /// brand, customers, accounts with their balances and limits, then the
    /// completed transactions booking day by booking day ([`History`]), then
    /// each account's pending snapshot.
    fn records(self) -> impl Iterator<Item = Record> {
        let bank = Arc::new(self);
        let brand = Record::Brand(BrandRecord {
            brand_id: Some(bank.brand_id.clone()),
            brand_name: Some(if bank.brand_id == DEMO_BRAND {
                DEMO_BRAND_NAME.to_owned()
            } else {
                format!("Banco {}", bank.brand_id)
                    .chars()
                    .take(80)
                    .collect()
            }),
            company_cnpj: Some(if bank.brand_id == DEMO_BRAND {
                DEMO_BRAND_CNPJ.to_owned()
            } else {
                cnpj(20_000_000 + (bank.seed % 1_000_000) as u32)
            }),
        });
        let count = bank.accounts.len();
        let customers = {
            let bank = Arc::clone(&bank);
            (0..bank.customers.len()).map(move |i| {
                let c = &bank.customers[i];
                Record::Customer(CustomerRecord {
                    brand_id: Some(bank.brand_id.clone()),
                    document: Some(c.document.clone()),
                    name: Some(c.name.clone()),
                })
            })
        };
        let setup = {
            let bank = Arc::clone(&bank);
            (0..count).flat_map(move |i| bank.account_records(i))
        };
        let history = History::new(Arc::clone(&bank));
        let pending = (0..count).filter_map(move |i| {
            let mut rng = stream(bank.seed, 10, i as u64);
            bank.pending_record(&mut rng, i)
        });
        std::iter::once(brand)
            .chain(customers)
            .chain(setup)
            .chain(history)
            .chain(pending)
    }

    /// The next daily feed after the history: `transactions` completed
    /// transactions on the Brasília day of `now`, up to `now`, shared out as
    /// the history's; a fresh pending snapshot of every account that has
    /// pending entries; every account's balance, stated at `now`.
    fn delta_records(self, transactions: u64) -> impl Iterator<Item = Record> {
        let bank = Arc::new(self);
        let mut counts: Vec<u64> = bank
            .accounts
            .iter()
            .map(|a| if a.daily_demo() { 2 } else { 0 })
            .collect();
        for (i, n) in spread(&bank.weights, transactions).into_iter().enumerate() {
            counts[4 + i] = n;
        }
        let end = bank.now.timestamp_millis();
        let midnight = end - (end + BRASILIA_OFFSET_MS).rem_euclid(DAY_MS);
        let window = (end - midnight).max(1);
        let count = bank.accounts.len();
        let completed = {
            let bank = Arc::clone(&bank);
            (0..count).flat_map(move |i| {
                let mut rng = bank.delta_stream(11, i);
                let mut times: Vec<i64> = (0..counts[i])
                    .map(|_| midnight + rng.random_range(0..window))
                    .collect();
                times.sort_unstable();
                let records: Vec<Record> = times
                    .into_iter()
                    .enumerate()
                    .map(|(seq, at)| bank.completed(&mut rng, i, at, seq, Series::Delta))
                    .collect();
                records
            })
        };
        let pending = {
            let bank = Arc::clone(&bank);
            (0..count).filter_map(move |i| {
                let mut rng = bank.delta_stream(12, i);
                bank.pending_record(&mut rng, i)
            })
        };
        let balances = (0..count).map(move |i| {
            let (brand_id, account_id) = bank.account_ref(&bank.accounts[i]);
            let position = bank.account_facts(i).1;
            position.balance(brand_id, account_id, bank.now)
        });
        completed.chain(pending).chain(balances)
    }

    /// A random stream of the delta at `now`: another one for every `now`.
    fn delta_stream(&self, part: u64, index: usize) -> Xoshiro256PlusPlus {
        let now = self.now.timestamp() as u64;
        stream(
            self.seed ^ now.wrapping_mul(0xA24B_AED4_963E_E407),
            part,
            index as u64,
        )
    }

    fn account_ref(&self, a: &PlannedAccount) -> (Option<String>, Option<LegacyId>) {
        (Some(self.brand_id.clone()), Some(a.legacy_id()))
    }

    /// The account's subtype and the position the history leaves it in.
    fn account_facts(&self, index: usize) -> (&'static str, Position) {
        let a = &self.accounts[index];
        let mut rng = stream(self.seed, 3, index as u64);
        let subtype = match a.owner {
            Owner::Joint if a.demo || rng.random_bool(0.7) => "CONJUNTA_SOLIDARIA",
            Owner::Joint => "CONJUNTA_SIMPLES",
            _ => "INDIVIDUAL",
        };
        // Limits on most checking accounts; a few run into them.
        let limit = (a.kind == Kind::Checking && (a.demo || rng.random_bool(0.6)))
            .then(|| Decimal::new(rng.random_range(5..=200) * 10_000, 2));
        let cents = |rng: &mut Xoshiro256PlusPlus, lo: i64, hi: i64| {
            Decimal::new(rng.random_range(lo..hi), 2)
        };
        let available = match (a.kind, limit) {
            (Kind::Checking, Some(limit)) if !a.demo && rng.random_bool(0.15) => {
                -(limit * Decimal::new(rng.random_range(5..=110), 2)).round_dp(2)
            }
            (Kind::Checking, _) => cents(
                &mut rng,
                5_000,
                if a.owner == Owner::Company {
                    50_000_000
                } else {
                    2_500_000
                },
            ),
            (Kind::Savings, _) => cents(&mut rng, 10_000, 15_000_000),
            (Kind::Prepaid, _) => cents(&mut rng, 0, 300_000),
        };
        let blocked = if rng.random_bool(0.05) {
            cents(&mut rng, 1_000, 200_000)
        } else {
            Decimal::new(0, 2)
        };
        let invested = if a.kind == Kind::Checking && rng.random_bool(0.2) {
            cents(&mut rng, 10_000, 1_000_000)
        } else {
            Decimal::new(0, 2)
        };
        let updated = self.now - Duration::seconds(rng.random_range(0..3600));
        let position = Position {
            limit,
            available,
            blocked,
            invested,
            updated,
        };
        (subtype, position)
    }

    /// The account, its balance and its limits.
    fn account_records(&self, index: usize) -> Vec<Record> {
        let a = &self.accounts[index];
        let (brand_id, account_id) = self.account_ref(a);
        let (subtype, position) = self.account_facts(index);
        let type_name = match a.kind {
            Kind::Checking => "CONTA_DEPOSITO_A_VISTA",
            Kind::Savings => "CONTA_POUPANCA",
            Kind::Prepaid => "CONTA_PAGAMENTO_PRE_PAGA",
        };
        let label = match a.kind {
            Kind::Checking => "Conta Corrente",
            Kind::Savings => "Poupança",
            Kind::Prepaid => "Conta Digital",
        };
        let check = account_check_digit(&a.number);
        let mut out = vec![Record::Account(AccountRecord {
            brand_id: brand_id.clone(),
            account_id: account_id.clone(),
            account_type: Some(type_name.into()),
            subtype: Some(subtype.into()),
            compe_code: Some(COMPE.into()),
            branch_code: a.branch.clone(),
            number: Some(a.number.clone()),
            check_digit: Some(check.clone()),
            currency: Some("BRL".into()),
            holders: Some(a.holders.clone()),
            display_name: Some(format!("{label} {}-{check}", a.number)),
            status: Some(a.status.into()),
        })];
        out.push(position.balance(brand_id.clone(), account_id.clone(), position.updated));
        if let Some(limit) = position.limit {
            let overdrawn = (-position.available).max(Decimal::ZERO);
            let used = overdrawn.min(limit);
            let unarranged = overdrawn - used;
            out.push(Record::OverdraftLimits(OverdraftLimitsRecord {
                brand_id,
                account_id,
                overdraft_contracted_limit: Some(amount_text(limit)),
                overdraft_used_limit: Some(amount_text(used)),
                unarranged_overdraft_amount: Some(amount_text(unarranged)),
                currency: Some("BRL".into()),
            }));
        }
        out
    }

    /// A completed transaction of account `index` at `at` (ms since the epoch).
    fn completed(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        index: usize,
        at: i64,
        seq: usize,
        series: Series,
    ) -> Record {
        let a = &self.accounts[index];
        let at = DateTime::from_timestamp_millis(at).expect("instants of the history are valid");
        let (brand_id, account_id) = self.account_ref(a);
        Record::Transaction(TransactionRecord {
            brand_id,
            account_id,
            fields: self.entry(rng, a, at, seq, series, "TRANSACAO_EFETIVADA"),
        })
    }

    /// The pending snapshot of account `index`, if it has pending entries.
    fn pending_record(&self, rng: &mut Xoshiro256PlusPlus, index: usize) -> Option<Record> {
        let a = &self.accounts[index];
        if !a.pending {
            return None;
        }
        let (brand_id, account_id) = self.account_ref(a);
        Some(Record::PendingTransactions(PendingTransactionsRecord {
            brand_id,
            account_id,
            transactions: Some(self.pending_snapshot(rng, a)),
        }))
    }

    /// Pending entries of account `a` around `now`.
    fn pending_snapshot(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        a: &PlannedAccount,
    ) -> Vec<TransactionFields> {
        let mut entries = Vec::new();
        let n = if a.demo { 2 } else { rng.random_range(1..=3) };
        for k in 0..n {
            let future = k % 2 == 0;
            let at = if future {
                let days = rng.random_range(1..30);
                (self.now + Duration::days(days))
                    .with_hour(15)
                    .and_then(|t| t.with_minute(0))
                    .unwrap_or(self.now)
            } else {
                self.now - Duration::seconds(rng.random_range(30..1800))
            };
            let kind = if future {
                "LANCAMENTO_FUTURO"
            } else {
                "TRANSACAO_PROCESSANDO"
            };
            let mut fields = self.entry(rng, a, at, k, Series::History, kind);
            let stamp = stamp_text(at);
            fields.transaction_id = Some(LegacyId(vec![KeyValue {
                key: "id".into(),
                value: format!("PEND{stamp}{k:02}"),
            }]));
            if future {
                // A scheduled bill payment.
                let (name, doc) = self.utilities.choose(rng).expect("utilities").clone();
                fields.credit_debit_type = Some("DEBITO".into());
                fields.transaction_type = Some("CONVENIO_ARRECADACAO".into());
                fields.transaction_name = Some(format!("AGENDAMENTO PAGTO {name}"));
                fields.partie_cnpj_cpf = Some(doc);
                fields.partie_person_type = Some("PESSOA_JURIDICA".into());
                fields.partie_compe_code = None;
                fields.partie_branch_code = None;
                fields.partie_number = None;
                fields.partie_check_digit = None;
            }
            entries.push(fields);
        }
        entries
    }

    /// One statement entry of account `a` at `at`, the `seq`-th of its series.
    fn entry(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        a: &PlannedAccount,
        at: DateTime<Utc>,
        seq: usize,
        series: Series,
        kind: &str,
    ) -> TransactionFields {
        let stamp = Stamp(at);
        let roll = rng.random_range(0..1000);
        let money = |rng: &mut Xoshiro256PlusPlus, lo: f64, hi: f64| -> Decimal {
            // Log-uniform: many small amounts, a few large ones.
            let v = (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
            Decimal::new((v * 100.0).round() as i64, 2)
        };
        let credit = |c: bool| if c { "CREDITO" } else { "DEBITO" };
        let mut f = TransactionFields {
            completed_authorised_payment_type: Some(kind.into()),
            currency: Some("BRL".into()),
            transaction_date_time: Some(millis_text(at)),
            ..TransactionFields::default()
        };
        let set_party = |f: &mut TransactionFields, p: &Party, bank_account: bool| {
            f.partie_person_type = Some(
                if p.document.len() == 11 {
                    "PESSOA_NATURAL"
                } else {
                    "PESSOA_JURIDICA"
                }
                .into(),
            );
            f.partie_cnpj_cpf = Some(p.document.clone());
            if bank_account {
                f.partie_compe_code = Some(p.compe.into());
                f.partie_branch_code = Some(p.branch.clone());
                f.partie_number = Some(p.number.clone());
                f.partie_check_digit = Some(p.check.clone());
            }
        };
        let person = self.people.choose(rng).expect("people");
        let company = self.companies.choose(rng).expect("companies");
        let (tx_type, is_credit, name, amount): (&str, bool, String, Decimal) =
            match (a.kind, a.owner) {
                (Kind::Savings, _) => match roll {
                    0..450 => (
                        "RENDIMENTO_APLIC_FINANCEIRA",
                        true,
                        "RENDIMENTO POUPANCA".into(),
                        money(rng, 0.5, 300.0),
                    ),
                    450..750 => (
                        "TRANSFERENCIA_MESMA_INSTITUICAO",
                        true,
                        "APLICACAO POUPANCA".into(),
                        money(rng, 50.0, 5000.0),
                    ),
                    750..950 => (
                        "TRANSFERENCIA_MESMA_INSTITUICAO",
                        false,
                        "RESGATE POUPANCA".into(),
                        money(rng, 50.0, 3000.0),
                    ),
                    _ => {
                        set_party(&mut f, person, true);
                        (
                            "PIX",
                            true,
                            format!("PIX RECEBIDO {}", person.short),
                            money(rng, 20.0, 2000.0),
                        )
                    }
                },
                (Kind::Prepaid, _) => match roll {
                    0..600 => {
                        let (m, doc) = self.merchants.choose(rng).expect("merchants");
                        f.partie_cnpj_cpf = Some(doc.clone());
                        f.partie_person_type = Some("PESSOA_JURIDICA".into());
                        (
                            "CARTAO",
                            false,
                            format!("COMPRA CARTAO {m}"),
                            money(rng, 5.0, 400.0),
                        )
                    }
                    600..850 => {
                        set_party(&mut f, person, true);
                        (
                            "PIX",
                            true,
                            format!("PIX RECEBIDO {}", person.short),
                            money(rng, 10.0, 800.0),
                        )
                    }
                    _ => {
                        set_party(&mut f, person, true);
                        (
                            "PIX",
                            false,
                            format!("PIX ENVIADO {}", person.short),
                            money(rng, 5.0, 500.0),
                        )
                    }
                },
                (Kind::Checking, Owner::Company) => match roll {
                    0..300 => {
                        set_party(&mut f, person, true);
                        (
                            "PIX",
                            true,
                            format!("PIX RECEBIDO {}", person.short),
                            money(rng, 20.0, 5000.0),
                        )
                    }
                    300..450 => {
                        set_party(&mut f, company, true);
                        (
                            "BOLETO",
                            true,
                            format!("LIQUIDACAO BOLETO {}", company.short),
                            money(rng, 100.0, 20000.0),
                        )
                    }
                    450..600 => {
                        set_party(&mut f, company, true);
                        (
                            "PIX",
                            false,
                            format!("PIX ENVIADO {}", company.short),
                            money(rng, 50.0, 15000.0),
                        )
                    }
                    600..700 => {
                        set_party(&mut f, company, true);
                        (
                            "BOLETO",
                            false,
                            format!("PAGAMENTO BOLETO {}", company.short),
                            money(rng, 100.0, 30000.0),
                        )
                    }
                    700..780 => {
                        set_party(&mut f, person, true);
                        (
                            "FOLHA_PAGAMENTO",
                            false,
                            format!("PAGAMENTO SALARIO {}", person.short),
                            money(rng, 1500.0, 12000.0),
                        )
                    }
                    780..860 => {
                        set_party(&mut f, company, true);
                        (
                            "TED",
                            rng.random_bool(0.5),
                            format!("TED {}", company.short),
                            money(rng, 500.0, 80000.0),
                        )
                    }
                    860..920 => {
                        let (u, doc) = self.utilities.choose(rng).expect("utilities");
                        f.partie_cnpj_cpf = Some(doc.clone());
                        f.partie_person_type = Some("PESSOA_JURIDICA".into());
                        (
                            "CONVENIO_ARRECADACAO",
                            false,
                            format!("PAGTO CONTA {u}"),
                            money(rng, 80.0, 4000.0),
                        )
                    }
                    920..960 => (
                        "PACOTE_TARIFA_SERVICOS",
                        false,
                        "TARIFA PACOTE EMPRESARIAL".into(),
                        money(rng, 49.9, 199.9),
                    ),
                    960..985 => (
                        "TARIFA_SERVICOS_AVULSOS",
                        false,
                        "TARIFA EMISSAO BOLETO".into(),
                        money(rng, 1.5, 9.9),
                    ),
                    _ => (
                        "OPERACAO_CREDITO",
                        true,
                        "CAPITAL DE GIRO".into(),
                        money(rng, 5000.0, 100000.0),
                    ),
                },
                (Kind::Checking, _) => match roll {
                    0..220 => {
                        set_party(&mut f, person, true);
                        (
                            "PIX",
                            false,
                            format!("PIX ENVIADO {}", person.short),
                            money(rng, 5.0, 1500.0),
                        )
                    }
                    220..380 => {
                        set_party(&mut f, person, true);
                        (
                            "PIX",
                            true,
                            format!("PIX RECEBIDO {}", person.short),
                            money(rng, 5.0, 1500.0),
                        )
                    }
                    380..580 => {
                        let (m, doc) = self.merchants.choose(rng).expect("merchants");
                        f.partie_cnpj_cpf = Some(doc.clone());
                        f.partie_person_type = Some("PESSOA_JURIDICA".into());
                        (
                            "CARTAO",
                            false,
                            format!("COMPRA CARTAO DEBITO {m}"),
                            money(rng, 5.0, 600.0),
                        )
                    }
                    580..660 => {
                        set_party(&mut f, company, true);
                        (
                            "BOLETO",
                            false,
                            format!("PAGAMENTO BOLETO {}", company.short),
                            money(rng, 40.0, 3000.0),
                        )
                    }
                    660..720 => {
                        let (u, doc) = self.utilities.choose(rng).expect("utilities");
                        f.partie_cnpj_cpf = Some(doc.clone());
                        f.partie_person_type = Some("PESSOA_JURIDICA".into());
                        (
                            "CONVENIO_ARRECADACAO",
                            false,
                            format!("PAGTO CONTA {u}"),
                            money(rng, 30.0, 700.0),
                        )
                    }
                    720..770 => {
                        let e = self.employers.choose(rng).expect("employers");
                        set_party(&mut f, e, true);
                        (
                            "FOLHA_PAGAMENTO",
                            true,
                            format!("SALARIO {}", e.short),
                            money(rng, 1412.0, 18000.0),
                        )
                    }
                    770..810 => {
                        set_party(&mut f, person, true);
                        let c = rng.random_bool(0.5);
                        let what = if c { "TED RECEBIDA" } else { "TED ENVIADA" };
                        (
                            "TED",
                            c,
                            format!("{what} {}", person.short),
                            money(rng, 100.0, 20000.0),
                        )
                    }
                    810..840 => {
                        let value = Decimal::new(rng.random_range(2..=100) * 1000, 2);
                        ("SAQUE", false, "SAQUE BANCO 24 HORAS".into(), value)
                    }
                    840..860 => (
                        "DEPOSITO",
                        true,
                        "DEPOSITO EM DINHEIRO".into(),
                        money(rng, 50.0, 3000.0),
                    ),
                    860..890 => {
                        let p = self.people.choose(rng).expect("people");
                        let mut party = p.clone();
                        party.compe = COMPE;
                        set_party(&mut f, &party, true);
                        let c = rng.random_bool(0.5);
                        let what = if c {
                            "TRANSF RECEBIDA"
                        } else {
                            "TRANSF ENVIADA"
                        };
                        (
                            "TRANSFERENCIA_MESMA_INSTITUICAO",
                            c,
                            format!("{what} {}", p.short),
                            money(rng, 10.0, 2000.0),
                        )
                    }
                    890..920 => (
                        "PACOTE_TARIFA_SERVICOS",
                        false,
                        "TARIFA PACOTE SERVICOS".into(),
                        money(rng, 19.9, 89.9),
                    ),
                    920..935 => (
                        "TARIFA_SERVICOS_AVULSOS",
                        false,
                        "TARIFA TED".into(),
                        money(rng, 5.0, 22.0),
                    ),
                    935..950 => (
                        "ENCARGOS_JUROS_CHEQUE_ESPECIAL",
                        false,
                        "JUROS CHEQUE ESPECIAL".into(),
                        money(rng, 2.0, 250.0),
                    ),
                    950..965 => (
                        "RENDIMENTO_APLIC_FINANCEIRA",
                        true,
                        "RENDIMENTO CDB".into(),
                        money(rng, 1.0, 400.0),
                    ),
                    965..975 => (
                        "RESGATE_APLIC_FINANCEIRA",
                        true,
                        "RESGATE CDB".into(),
                        money(rng, 100.0, 10000.0),
                    ),
                    975..985 => {
                        let c = rng.random_bool(0.3);
                        let what = if c {
                            "CREDITO EMPRESTIMO PESSOAL"
                        } else {
                            "PARCELA EMPRESTIMO PESSOAL"
                        };
                        (
                            "OPERACAO_CREDITO",
                            c,
                            what.into(),
                            money(rng, 150.0, if c { 20000.0 } else { 1500.0 }),
                        )
                    }
                    985..990 => {
                        let e = self.employers.choose(rng).expect("employers");
                        set_party(&mut f, e, true);
                        (
                            "PORTABILIDADE_SALARIO",
                            true,
                            format!("PORTABILIDADE SALARIO {}", e.short),
                            money(rng, 1412.0, 9000.0),
                        )
                    }
                    990..993 => {
                        set_party(&mut f, person, true);
                        (
                            "DOC",
                            true,
                            format!("DOC RECEBIDO {}", person.short),
                            money(rng, 100.0, 4999.0),
                        )
                    }
                    _ => {
                        set_party(&mut f, person, true);
                        (
                            "OUTROS",
                            true,
                            "PENSAO ALIMENTICIA".into(),
                            money(rng, 300.0, 3000.0),
                        )
                    }
                },
            };
        let mut id = String::with_capacity(40);
        let mark = series.mark();
        if tx_type == "PIX" {
            // Shaped like an end-to-end id: E + ISPB + timestamp + unique tail.
            let _ = write!(id, "E{:08}{stamp}{mark}{seq:05X}", 31_872_495);
            for _ in 0..6 {
                id.push(char::from(
                    b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[rng.random_range(0..34)],
                ));
            }
        } else {
            let _ = write!(id, "{}{stamp}{mark}{seq:06}", &tx_type[..3]);
        }
        f.transaction_id = Some(LegacyId(vec![KeyValue {
            key: "id".into(),
            value: id,
        }]));
        f.credit_debit_type = Some(credit(is_credit).into());
        f.transaction_name = Some(if name.len() > 200 {
            name.chars().take(200).collect()
        } else {
            name
        });
        f.transaction_type = Some(tx_type.into());
        f.amount = Some(amount_text(amount.max(Decimal::new(1, 2))));
        f
    }
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// Brasília's offset from UTC (see [`brasilia`]), in milliseconds.
const BRASILIA_OFFSET_MS: i64 = -3 * 3_600_000;
/// Slices of the history whose counts are drawn together (see [`History`]).
const SLICES_PER_GROUP: usize = 32;

/// Which feed an entry belongs to; it shapes the entry's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Series {
    History,
    Delta,
}

impl Series {
    /// What follows the timestamp in the id before the sequence number. A
    /// delta's `N` is never there in the history's ids (decimal digits, hex
    /// digits for PIX), so a delta's ids never collide with them.
    fn mark(self) -> &'static str {
        match self {
            Series::History => "",
            Series::Delta => "N",
        }
    }
}

/// An account's balance and limit.
struct Position {
    limit: Option<Decimal>,
    available: Decimal,
    blocked: Decimal,
    invested: Decimal,
    updated: DateTime<Utc>,
}

impl Position {
    fn balance(
        &self,
        brand_id: Option<String>,
        account_id: Option<LegacyId>,
        at: DateTime<Utc>,
    ) -> Record {
        Record::Balance(BalanceRecord {
            brand_id,
            account_id,
            available_amount: Some(amount_text(self.available)),
            blocked_amount: Some(amount_text(self.blocked)),
            automatically_invested_amount: Some(amount_text(self.invested)),
            currency: Some("BRL".into()),
            update_date_time: Some(render_seconds(at)),
        })
    }
}

/// When an entry of an account's history happened (ms since the epoch) and,
/// for the demo's daily entries, the key of their own random stream.
type Moment = (i64, Option<u64>);

/// The part of a slice past its Brasília midnight: the next booking day's.
struct Tail {
    instants: Vec<Moment>,
    rng: Xoshiro256PlusPlus,
}

/// The completed transactions of the history, booking day by booking day
/// across all accounts (accounts in plan order within a day), as a real
/// bank's daily feeds fill its store.
///
/// An account's entries are instants `start + offset`, uniform over the
/// history, with offsets that do not depend on `now` (as when each account
/// was generated whole): seeding again later shifts every instant, and so
/// every id. To emit them by day without holding them all, the history is
/// cut into slices of 24 h from `start`. Each account's count per group of
/// [`SLICES_PER_GROUP`] slices is drawn up front, its count per slice when
/// the group comes, and a slice's instants when its day comes, each from a
/// random stream of its own. A slice straddles one Brasília midnight: its
/// head is one booking day's, its tail is kept for the next. Entries are
/// numbered per account in time order, which keeps every id unique.
struct History {
    bank: Arc<Bank>,
    start: i64,
    span: i64,
    /// Offset of the Brasília midnight within every slice (1..=DAY_MS).
    midnight: i64,
    slices: usize,
    groups: usize,
    /// Entries per account and group: `[account * groups + group]`.
    group_counts: Vec<u32>,
    /// Entries per slice of the current group and account:
    /// `[(slice % SLICES_PER_GROUP) * accounts + account]`.
    slice_counts: Vec<u32>,
    /// The demo's entries on each of the last 7 days, per account, sorted.
    daily: Vec<Vec<Moment>>,
    next_seq: Vec<usize>,
    tails: Vec<Option<Tail>>,
    /// The booking day being emitted: the head of slice `day`, after the
    /// tail of slice `day - 1`.
    day: usize,
    /// The next account of the day.
    account: usize,
    ready: VecDeque<Record>,
    instants: Vec<Moment>,
}

impl History {
    fn new(bank: Arc<Bank>) -> Self {
        let start = bank.start.timestamp_millis();
        let span = (bank.now.timestamp_millis() - start).max(1);
        let since_midnight = (start + BRASILIA_OFFSET_MS).rem_euclid(DAY_MS);
        let slices = (span as u64).div_ceil(DAY_MS as u64) as usize;
        let groups = slices.div_ceil(SLICES_PER_GROUP);
        let group_ms = DAY_MS * SLICES_PER_GROUP as i64;
        let count = bank.accounts.len();
        let mut group_counts = vec![0u32; count * groups];
        let mut daily = vec![Vec::new(); count];
        for (i, a) in bank.accounts.iter().enumerate() {
            let mut rng = stream(bank.seed, 4, i as u64);
            for _ in 0..a.transactions {
                group_counts[i * groups + (rng.random_range(0..span) / group_ms) as usize] += 1;
            }
            if a.daily_demo() {
                daily[i] = Self::daily_instants(&bank, i, start, span);
            }
        }
        History {
            bank,
            start,
            span,
            midnight: DAY_MS - since_midnight,
            slices,
            groups,
            group_counts,
            slice_counts: vec![0; SLICES_PER_GROUP * count],
            daily,
            next_seq: vec![0; count],
            tails: (0..count).map(|_| None).collect(),
            day: 0,
            account: 0,
            ready: Default::default(),
            instants: Vec::new(),
        }
    }

    /// Two instants on each of the last 7 Brasília days, today included, each
    /// with its own stream: they stay put, and keep their content, when a
    /// later seed shifts the rest.
    fn daily_instants(bank: &Bank, index: usize, start: i64, span: i64) -> Vec<Moment> {
        let today = bank.now.with_timezone(&brasilia()).date_naive();
        let mut out = Vec::new();
        for back in 0..7 {
            let day = today - Duration::days(back);
            let from = brasilia()
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .single()
                .expect("fixed offsets have no gaps")
                .timestamp_millis();
            let to = (from + DAY_MS).min(start + span);
            for k in 0..2u64 {
                let key = (index as u64) << 32 | u64::from(day.num_days_from_ce() as u32) << 1 | k;
                let mut rng = stream(bank.seed, 7, key);
                let at = from + rng.random_range(0..(to - from).max(1));
                out.push((at.clamp(start, start + span - 1), Some(key)));
            }
        }
        out.sort_unstable();
        out
    }

    /// Draws the per-slice counts of `group`.
    fn plan_group(&mut self, group: usize) {
        let count = self.bank.accounts.len();
        self.slice_counts.fill(0);
        let first = group * SLICES_PER_GROUP;
        let from = first as i64 * DAY_MS;
        let to = (from + SLICES_PER_GROUP as i64 * DAY_MS).min(self.span);
        for i in 0..count {
            let n = self.group_counts[i * self.groups + group];
            if n == 0 {
                continue;
            }
            let mut rng = stream(self.bank.seed, 5, (i as u64) << 24 | group as u64);
            for _ in 0..n {
                let slice = ((from + rng.random_range(0..to - from)) / DAY_MS) as usize;
                self.slice_counts[(slice - first) * count + i] += 1;
            }
        }
    }

    /// Queues account `index`'s entries of the current booking day.
    fn fill(&mut self, index: usize) {
        if let Some(mut tail) = self.tails[index].take() {
            for &(at, daily) in &tail.instants {
                self.push(index, &mut tail.rng, at, daily);
            }
        }
        if self.day == self.slices {
            return;
        }
        let count = self.bank.accounts.len();
        let n = self.slice_counts[(self.day % SLICES_PER_GROUP) * count + index];
        let from = self.start + self.day as i64 * DAY_MS;
        let to = (from + DAY_MS).min(self.start + self.span);
        let daily = &self.daily[index];
        let first_daily = daily.partition_point(|d| d.0 < from);
        let daily_here = daily[first_daily..].partition_point(|d| d.0 < to);
        if n == 0 && daily_here == 0 {
            return;
        }
        let mut rng = stream(self.bank.seed, 6, (index as u64) << 24 | self.day as u64);
        let mut instants = std::mem::take(&mut self.instants);
        instants.clear();
        instants.extend((0..n).map(|_| (from + rng.random_range(0..to - from), None)));
        instants.extend_from_slice(&daily[first_daily..first_daily + daily_here]);
        instants.sort_unstable();
        let head = instants.partition_point(|d| d.0 < from + self.midnight);
        for &(at, daily) in &instants[..head] {
            self.push(index, &mut rng, at, daily);
        }
        if head < instants.len() {
            self.tails[index] = Some(Tail {
                instants: instants[head..].to_vec(),
                rng,
            });
        }
        self.instants = instants;
    }

    fn push(&mut self, index: usize, rng: &mut Xoshiro256PlusPlus, at: i64, daily: Option<u64>) {
        let seq = self.next_seq[index];
        self.next_seq[index] += 1;
        let record = match daily {
            Some(key) => {
                let mut own = stream(self.bank.seed, 8, key);
                self.bank
                    .completed(&mut own, index, at, seq, Series::History)
            }
            None => self.bank.completed(rng, index, at, seq, Series::History),
        };
        self.ready.push_back(record);
    }
}

impl Iterator for History {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(record);
            }
            // Day `slices` holds only the tail of the last slice.
            if self.day > self.slices {
                return None;
            }
            if self.account == self.bank.accounts.len() {
                self.day += 1;
                self.account = 0;
                continue;
            }
            if self.account == 0
                && self.day < self.slices
                && self.day.is_multiple_of(SLICES_PER_GROUP)
            {
                self.plan_group(self.day / SLICES_PER_GROUP);
            }
            self.account += 1;
            self.fill(self.account - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::brasilia_date;
    use std::collections::HashMap;

    #[test]
    fn renders_like_the_domain() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::milliseconds(7);
        assert_eq!(millis_text(at), crate::domain::time::render_millis(at));
        assert_eq!(stamp_text(at), "20260102000405");
        assert_eq!(amount_text(Decimal::ZERO), "0.00");
        assert_eq!(amount_text(Decimal::new(-15, 1)), "-1.50");
    }

    #[test]
    fn documents_have_valid_check_digits() {
        assert_eq!(cpf(123_456_789), "12345678909");
        assert_eq!(cnpj(11_222_333), "11222333000181");
        for doc in [
            DEMO_CPF,
            DEMO_SPOUSE_CPF,
            DEMO_COMPANY_CNPJ,
            DEMO_BRAND_CNPJ,
        ] {
            assert!(valid_document(doc), "{doc}");
        }
        assert!(!valid_document("12345678900"));
        assert!(!valid_document("11222333000182"));
    }

    fn small(months: u32) -> SeedConfig {
        SeedConfig {
            customers: 40,
            accounts: 70,
            transactions: 900,
            months,
            now: Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 7).unwrap(),
            ..SeedConfig::demo()
        }
    }

    /// Completed transactions by account key, in the order they came.
    fn completed_by_account(records: &[Record]) -> HashMap<String, Vec<&TransactionRecord>> {
        let mut out: HashMap<String, Vec<&TransactionRecord>> = HashMap::new();
        for r in records {
            if let Record::Transaction(t) = r {
                let key = t.account_id.as_ref().unwrap().canonical_key();
                out.entry(key).or_default().push(t);
            }
        }
        out
    }

    fn instant(t: &TransactionRecord) -> DateTime<Utc> {
        let text = t.fields.transaction_date_time.as_deref().unwrap();
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn id(t: &TransactionRecord) -> String {
        t.fields.transaction_id.as_ref().unwrap().canonical_key()
    }

    #[test]
    fn the_history_comes_booking_day_by_booking_day_across_accounts() {
        for months in [13, 1, 0] {
            let config = small(months);
            let bank = Bank::plan(&config);
            let planned: HashMap<String, u64> = bank
                .accounts
                .iter()
                .map(|a| {
                    let extra = if a.daily_demo() { 14 } else { 0 };
                    (a.legacy_id().canonical_key(), a.transactions + extra)
                })
                .collect();
            let records: Vec<Record> = bank.records().collect();

            // Setup first, then every completed transaction, then the snapshots.
            let kind = |r: &Record| match r {
                Record::Transaction(_) => 1,
                Record::PendingTransactions(_) => 2,
                _ => 0,
            };
            let kinds: Vec<i32> = records.iter().map(kind).collect();
            assert!(kinds.is_sorted(), "months {months}: records out of phase");

            let completed: Vec<&TransactionRecord> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Transaction(t) => Some(t),
                    _ => None,
                })
                .collect();
            let days: Vec<_> = completed
                .iter()
                .map(|t| brasilia_date(instant(t)))
                .collect();
            assert!(days.is_sorted(), "months {months}: booking days go back");
            let start = config.now.checked_sub_months(Months::new(months)).unwrap();
            for t in &completed {
                assert!(instant(t) >= start && instant(t) <= config.now, "{t:?}");
            }

            // Each account's entries: as many as planned, in time order, with
            // unique ids; and the accounts take turns within days.
            let by_account = completed_by_account(&records);
            for (key, entries) in &by_account {
                assert_eq!(entries.len() as u64, planned[key], "{key}");
                assert!(entries.iter().map(|t| instant(t)).is_sorted(), "{key}");
                let ids: HashSet<String> = entries.iter().map(|t| id(t)).collect();
                assert_eq!(ids.len(), entries.len(), "{key}: an id repeats");
            }
            let total: u64 = planned.values().sum();
            assert_eq!(completed.len() as u64, total);
            let switches = completed
                .windows(2)
                .filter(|w| w[0].account_id != w[1].account_id)
                .count();
            if months > 0 {
                assert!(
                    switches > 4 * by_account.len(),
                    "months {months}: {switches} switches of account: clustered by account"
                );
            }
        }
    }

    #[test]
    fn a_delta_is_the_next_days_feed_with_ids_of_its_own() {
        let history_config = small(13);
        let history: Vec<Record> = Bank::plan(&history_config).records().collect();
        // Later the same day: the delta's day overlaps the history's last one.
        let next_day = history_config.now + Duration::hours(2);
        let config = SeedConfig {
            now: next_day,
            delta: Some(700),
            ..history_config.clone()
        };
        let delta: Vec<Record> = records(&config).collect();
        assert_eq!(delta, records(&config).collect::<Vec<_>>());
        let other_time = SeedConfig {
            now: next_day + Duration::hours(1),
            ..config.clone()
        };
        assert_ne!(delta, records(&other_time).collect::<Vec<_>>());

        let bank = Bank::plan(&config);
        let today = brasilia_date(next_day);
        let new = completed_by_account(&delta);
        let old = completed_by_account(&history);
        let mut total = 0;
        for (key, entries) in &new {
            total += entries.len();
            let before: HashSet<String> =
                old.get(key).into_iter().flatten().map(|t| id(t)).collect();
            let ids: HashSet<String> = entries.iter().map(|t| id(t)).collect();
            assert_eq!(ids.len(), entries.len(), "{key}: an id repeats");
            assert!(
                ids.is_disjoint(&before),
                "{key}: a delta id is a history id"
            );
            for t in entries {
                assert_eq!(brasilia_date(instant(t)), today);
                assert!(instant(t) <= next_day);
            }
        }
        // 700 shared out, and the demo's daily two on its three checking accounts.
        assert_eq!(total, 700 + 3 * 2);
        // Busier accounts get more, as in the history.
        let busiest = bank.accounts[4..]
            .iter()
            .max_by_key(|a| a.transactions)
            .unwrap();
        assert!(new[&busiest.legacy_id().canonical_key()].len() >= 700 / 70);

        let snapshots: HashSet<String> = delta
            .iter()
            .filter_map(|r| match r {
                Record::PendingTransactions(p) => {
                    Some(p.account_id.as_ref().unwrap().canonical_key())
                }
                _ => None,
            })
            .collect();
        let with_pending: HashSet<String> = bank
            .accounts
            .iter()
            .filter(|a| a.pending)
            .map(|a| a.legacy_id().canonical_key())
            .collect();
        assert!(!with_pending.is_empty());
        assert_eq!(snapshots, with_pending);

        let balances: Vec<&BalanceRecord> = delta
            .iter()
            .filter_map(|r| match r {
                Record::Balance(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(balances.len(), bank.accounts.len());
        let stated = render_seconds(next_day);
        assert!(
            balances
                .iter()
                .all(|b| b.update_date_time.as_deref() == Some(stated.as_str()))
        );
        assert!(delta.iter().all(|r| matches!(
            r,
            Record::Transaction(_) | Record::PendingTransactions(_) | Record::Balance(_)
        )));

        // Whatever the instant and sequence number, of any kind of entry.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for i in 0..2000 {
            let a = &bank.accounts[i % bank.accounts.len()];
            let at = history_config.now - Duration::milliseconds(rng.random_range(0..86_400_000));
            let seq = rng.random_range(0..2_000_000);
            let entry =
                |series| bank.entry(&mut rng.clone(), a, at, seq, series, "TRANSACAO_EFETIVADA");
            let (h, d) = (entry(Series::History), entry(Series::Delta));
            assert_eq!(h.transaction_type, d.transaction_type);
            assert_ne!(h.transaction_id, d.transaction_id);
        }
    }

    #[test]
    fn the_plan_is_deterministic_and_complete() {
        let config = SeedConfig {
            customers: 40,
            accounts: 70,
            transactions: 900,
            ..SeedConfig::demo()
        };
        let a: Vec<Record> = Bank::plan(&config).records().collect();
        let b: Vec<Record> = Bank::plan(&config).records().collect();
        assert_eq!(a, b);
        let completed = a
            .iter()
            .filter(|r| matches!(r, Record::Transaction(_)))
            .count();
        // The demo's three checking accounts get two entries on each of the last 7 days.
        assert_eq!(completed, 900 + 260 + 40 + 120 + 200 + 3 * 14);
        let accounts: Vec<&AccountRecord> = a
            .iter()
            .filter_map(|r| {
                if let Record::Account(x) = r {
                    Some(x)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(accounts.len(), 74);
        for kind in [
            "CONTA_DEPOSITO_A_VISTA",
            "CONTA_POUPANCA",
            "CONTA_PAGAMENTO_PRE_PAGA",
        ] {
            assert!(
                accounts
                    .iter()
                    .any(|x| x.account_type.as_deref() == Some(kind)),
                "{kind}"
            );
        }
        let customers: Vec<&CustomerRecord> = a
            .iter()
            .filter_map(|r| {
                if let Record::Customer(x) = r {
                    Some(x)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(customers.len(), 43);
        for c in &customers {
            assert!(valid_document(c.document.as_deref().unwrap()), "{c:?}");
        }
        let other = SeedConfig { seed: 7, ..config };
        let c: Vec<Record> = Bank::plan(&other).records().collect();
        assert_ne!(a, c);
    }
}
