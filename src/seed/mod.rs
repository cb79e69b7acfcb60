//! `contas seed`: a synthetic but realistic bank, generated in memory and
//! loaded through the import path ([`crate::import::import_records`]), or
//! written as NDJSON for `contas import` (`--output`).
//!
//! Customers (people with valid CPFs, companies with valid CNPJs and a
//! person as representative) and accounts are planned up front
//! (`plan`). The completed transactions then come booking day by booking
//! day across all accounts, as a real bank's daily feeds fill its store
//! (`history`); they are drawn a day at a time, so memory stays bounded by
//! the plan and a day's traffic, not by the history. Each entry is one of
//! the weighted scenarios of its kind of account (`scenarios`). Every part
//! draws from its own random stream derived from `--seed`, so the same seed
//! (and the same "now") always yields the same bank. `--delta` makes the
//! bank's next daily feed instead (`delta`).
//!
//! Every seed also holds the fixed demo customer ([`DEMO_CPF`]) with the
//! accounts [`demo_curl`] asks for.

mod accounts;
mod delta;
mod documents;
mod entries;
mod history;
mod names;
mod parties;
mod plan;
mod scenarios;
#[cfg(test)]
mod tests;
mod text;

pub use documents::{cnpj, cpf, valid_document};

use crate::domain::legacy_id::{KeyValue, LegacyId};
use crate::domain::time::render_seconds;
use crate::import::{self, ImportOptions, ImportSummary, Record};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Timelike, Utc};
use plan::Bank;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sqlx::PgPool;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;
use text::uuid;

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
    Ok(
        sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM brands)")
            .fetch_one(pool)
            .await?,
    )
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
