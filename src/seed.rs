//! `contas seed`: a synthetic but realistic bank, generated in memory and
//! loaded through the import path ([`crate::import::import_records`]).
//!
//! Customers (people with valid CPFs, companies with valid CNPJs and a
//! person as representative) and accounts are planned up front; each
//! account's statement is generated only when its turn comes, so memory
//! stays bounded by the largest account, not by the whole history. Every
//! account draws from its own random stream derived from `--seed`, so the
//! same seed (and the same "now") always yields the same bank.
//!
//! Every seed also holds the fixed demo customer ([`DEMO_CPF`]) with the
//! accounts [`demo_curl`] asks for.

use crate::domain::legacy_id::{KeyValue, LegacyId};
use crate::domain::time::{brasilia, render_seconds};
use crate::import::{
    self, AccountRecord, BalanceRecord, BrandRecord, CustomerRecord, ImportOptions, ImportSummary,
    OverdraftLimitsRecord, PendingTransactionsRecord, Record, TransactionFields, TransactionRecord,
};
use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, Months, NaiveTime, TimeZone, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
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
    /// The moment the history ends at; fixed for reproducible data.
    pub now: DateTime<Utc>,
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
            batch_rows: ImportOptions::default().batch_rows,
        }
    }
}

/// What a seed loaded.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub brand_id: String,
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
            "seeded brand {}: {} customers, {} accounts, {} transactions and {} pending entries in {:.2} s \
             ({:.0} transactions/s)",
            self.brand_id,
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

/// Generates the bank of `config` and loads it in one transaction.
pub async fn seed(pool: &PgPool, config: &SeedConfig) -> Result<SeedSummary> {
    let started = Instant::now();
    let bank = Bank::plan(config);
    let options = ImportOptions {
        batch_rows: config.batch_rows,
        ..ImportOptions::default()
    };
    let import = import::import_records(pool, bank.records(), &options).await?;
    Ok(SeedSummary {
        brand_id: config.brand_id.clone(),
        import,
        elapsed: started.elapsed(),
    })
}

/// A ready-to-paste `curl` listing the demo customer's accounts.
pub fn demo_curl(bind: SocketAddr) -> String {
    let now = Utc::now();
    let mut rng = SmallRng::seed_from_u64(
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
fn uuid(rng: &mut impl Rng) -> String {
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

fn person_name(rng: &mut SmallRng) -> String {
    let first = FIRST_NAMES.choose(rng).expect("names");
    let a = SURNAMES.choose(rng).expect("surnames");
    let b = SURNAMES.choose(rng).expect("surnames");
    if a == b || rng.random_bool(0.4) {
        format!("{first} {a}")
    } else {
        format!("{first} {a} {b}")
    }
}

fn company_name(rng: &mut SmallRng) -> String {
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
fn stream(seed: u64, part: u64, index: u64) -> SmallRng {
    let mut z =
        seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    SmallRng::seed_from_u64(z ^ (z >> 31))
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
    transactions: u64,
    demo: bool,
}

impl PlannedAccount {
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
    people: Vec<Party>,
    companies: Vec<Party>,
    employers: Vec<Party>,
    merchants: Vec<(String, String)>,
    utilities: Vec<(String, String)>,
}

fn party(rng: &mut SmallRng, document: String, name: &str) -> Party {
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
        let mut synthetic = |kind: Kind, owner: Owner, holders: Vec<usize>, rng: &mut SmallRng| {
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
        let total: f64 = weights.iter().sum();
        let mut assigned = 0u64;
        for (a, w) in accounts[4..].iter_mut().zip(&weights) {
            a.transactions = (config.transactions as f64 * w / total).floor() as u64;
            assigned += a.transactions;
        }
        let synthetic_count = accounts.len() - 4;
        let mut i = 0;
        while assigned < config.transactions && synthetic_count > 0 {
            accounts[4 + i % synthetic_count].transactions += 1;
            assigned += 1;
            i += 1;
        }
        for (a, n) in accounts[..4].iter_mut().zip([260, 40, 120, 200]) {
            a.transactions = n;
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
            people,
            companies: companies_pool,
            employers,
            merchants,
            utilities,
        }
    }

    /// Every record of the bank, in an order the import accepts.
    fn records(self) -> impl Iterator<Item = Record> {
        let brand = Record::Brand(BrandRecord {
            brand_id: Some(self.brand_id.clone()),
            brand_name: Some(if self.brand_id == DEMO_BRAND {
                DEMO_BRAND_NAME.to_owned()
            } else {
                format!("Banco {}", self.brand_id)
                    .chars()
                    .take(80)
                    .collect()
            }),
            company_cnpj: Some(if self.brand_id == DEMO_BRAND {
                DEMO_BRAND_CNPJ.to_owned()
            } else {
                cnpj(20_000_000 + (self.seed % 1_000_000) as u32)
            }),
        });
        let brand_id = self.brand_id.clone();
        let customers: Vec<Record> = self
            .customers
            .iter()
            .map(|c| {
                Record::Customer(CustomerRecord {
                    brand_id: Some(brand_id.clone()),
                    document: Some(c.document.clone()),
                    name: Some(c.name.clone()),
                })
            })
            .collect();
        let setup: Vec<Record> = self
            .accounts
            .iter()
            .enumerate()
            .flat_map(|(i, a)| self.account_records(i, a))
            .collect();
        let count = self.accounts.len();
        let bank = Arc::new(self);
        std::iter::once(brand)
            .chain(customers)
            .chain(setup)
            .chain((0..count).flat_map(move |i| Bank::statement(Arc::clone(&bank), i)))
    }

    fn account_ref(&self, a: &PlannedAccount) -> (Option<String>, Option<LegacyId>) {
        (Some(self.brand_id.clone()), Some(a.legacy_id()))
    }

    /// The account, its balance and its limits.
    fn account_records(&self, index: usize, a: &PlannedAccount) -> Vec<Record> {
        let mut rng = stream(self.seed, 3, index as u64);
        let (brand_id, account_id) = self.account_ref(a);
        let type_name = match a.kind {
            Kind::Checking => "CONTA_DEPOSITO_A_VISTA",
            Kind::Savings => "CONTA_POUPANCA",
            Kind::Prepaid => "CONTA_PAGAMENTO_PRE_PAGA",
        };
        let subtype = match a.owner {
            Owner::Joint if a.demo || rng.random_bool(0.7) => "CONJUNTA_SOLIDARIA",
            Owner::Joint => "CONJUNTA_SIMPLES",
            _ => "INDIVIDUAL",
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

        // Limits on most checking accounts; a few run into them.
        let limit = (a.kind == Kind::Checking && (a.demo || rng.random_bool(0.6)))
            .then(|| Decimal::new(rng.random_range(5..=200) * 10_000, 2));
        let cents =
            |rng: &mut SmallRng, lo: i64, hi: i64| Decimal::new(rng.random_range(lo..hi), 2);
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
        out.push(Record::Balance(BalanceRecord {
            brand_id: brand_id.clone(),
            account_id: account_id.clone(),
            available_amount: Some(amount_text(available)),
            blocked_amount: Some(amount_text(blocked)),
            automatically_invested_amount: Some(amount_text(invested)),
            currency: Some("BRL".into()),
            update_date_time: Some(render_seconds(updated)),
        }));
        if let Some(limit) = limit {
            let overdrawn = (-available).max(Decimal::ZERO);
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

    /// The account's completed transactions, then its pending snapshot,
    /// generated one at a time.
    fn statement(bank: Arc<Bank>, index: usize) -> Statement {
        let a = &bank.accounts[index];
        let mut rng = stream(bank.seed, 4, index as u64);
        let span = (bank.now - bank.start).num_milliseconds().max(1);
        let mut times: Vec<DateTime<Utc>> = (0..a.transactions)
            .map(|_| bank.start + Duration::milliseconds(rng.random_range(0..span)))
            .collect();
        if a.demo && a.kind == Kind::Checking {
            // Something on each of the last 7 days (Brasília), today included.
            let today = bank.now.with_timezone(&brasilia()).date_naive();
            for back in 0..7 {
                let day = today - Duration::days(back);
                let start = brasilia()
                    .from_local_datetime(&day.and_time(NaiveTime::MIN))
                    .single()
                    .expect("fixed offsets have no gaps")
                    .with_timezone(&Utc);
                let end = (start + Duration::days(1)).min(bank.now);
                let window = (end - start).num_milliseconds().max(1);
                for _ in 0..2 {
                    times.push(start + Duration::milliseconds(rng.random_range(0..window)));
                }
            }
        }
        times.sort_unstable();
        let (brand_id, account_id) = bank.account_ref(a);
        Statement {
            bank,
            index,
            rng,
            times,
            next: 0,
            brand_id,
            account_id,
            done: false,
        }
    }

    /// The account's pending snapshot, if it has one.
    fn pending_snapshot(
        &self,
        rng: &mut SmallRng,
        a: &PlannedAccount,
    ) -> Option<Vec<TransactionFields>> {
        // Pending entries on some available checking accounts.
        if !(a.kind == Kind::Checking
            && a.status == "AVAILABLE"
            && (a.demo && a.owner == Owner::Person || rng.random_bool(0.25)))
        {
            return None;
        }
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
            let mut fields = self.entry(rng, a, at, k, kind);
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
        Some(entries)
    }

    /// One statement entry of account `a` at `at`.
    fn entry(
        &self,
        rng: &mut SmallRng,
        a: &PlannedAccount,
        at: DateTime<Utc>,
        seq: usize,
        kind: &str,
    ) -> TransactionFields {
        let stamp = Stamp(at);
        let roll = rng.random_range(0..1000);
        let money = |rng: &mut SmallRng, lo: f64, hi: f64| -> Decimal {
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
        if tx_type == "PIX" {
            // Shaped like an end-to-end id: E + ISPB + timestamp + unique tail.
            let _ = write!(id, "E{:08}{stamp}{seq:05X}", 31_872_495);
            for _ in 0..6 {
                id.push(char::from(
                    b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[rng.random_range(0..34)],
                ));
            }
        } else {
            let _ = write!(id, "{}{stamp}{seq:06}", &tx_type[..3]);
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

/// One account's statement records, made as they are read.
struct Statement {
    bank: Arc<Bank>,
    index: usize,
    rng: SmallRng,
    times: Vec<DateTime<Utc>>,
    next: usize,
    brand_id: Option<String>,
    account_id: Option<LegacyId>,
    done: bool,
}

impl Iterator for Statement {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let a = &self.bank.accounts[self.index];
        if let Some(at) = self.times.get(self.next) {
            let fields = self
                .bank
                .entry(&mut self.rng, a, *at, self.next, "TRANSACAO_EFETIVADA");
            self.next += 1;
            return Some(Record::Transaction(TransactionRecord {
                brand_id: self.brand_id.clone(),
                account_id: self.account_id.clone(),
                fields,
            }));
        }
        if self.done {
            return None;
        }
        self.done = true;
        let entries = self.bank.pending_snapshot(&mut self.rng, a)?;
        Some(Record::PendingTransactions(PendingTransactionsRecord {
            brand_id: self.brand_id.take(),
            account_id: self.account_id.take(),
            transactions: Some(entries),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
