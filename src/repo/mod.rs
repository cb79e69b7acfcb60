//! The store's queries, and nothing else: scoping rules arrive as parameters
//! (brand, owner document, consented keys) and every query applies them.

mod codec;

use crate::db::{PoolStatus, QueryPool};
use crate::domain::account_number::AccountNumber;
use crate::domain::counterparty::Counterparty;
use crate::domain::identity::{BrandId, Cpf, Document};
use crate::domain::legacy_id::LegacyId;
use crate::domain::vocabulary::{
    AccountStatus, AccountSubtype, AccountType, CreditDebit, PaymentStatus, TransactionType,
};
use crate::store::distribution::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::Arc;

/// A page of an account's statement, newest first: booking date, then
/// transaction time, then id. That is the primary key of `transactions`
/// read backwards, month partition by month partition, newest month first
/// and only the months of the window (the others are pruned when the
/// statement starts): a page is a range scan, never a sort of the window.
/// The page's keys come from an index-only scan, so a deep page skips index
/// entries, not table rows (which, for data loaded day by day, sit on as many
/// pages as there are entries); only the page's own rows are then read, each
/// by its key in its own month (`LATERAL ... LIMIT 1`, which the planner
/// cannot flatten into a join: one probe per row whatever the table's
/// statistics say). The credit/debit filter's column is carried
/// in the index, so filtered pages skip entries the same way (and one
/// generic plan fits both).
/// Parameters: account, from, to, credit/debit filter (or NULL), limit, offset.
pub const STATEMENT_PAGE: &str = "
    SELECT t.transaction_id, t.completed_authorised_payment_type, t.credit_debit_type,
           t.transaction_name, t.type, t.amount, t.currency, t.transaction_date_time,
           t.partie_cnpj_cpf, t.partie_person_type, t.partie_compe_code, t.partie_branch_code,
           t.partie_number, t.partie_check_digit
      FROM (SELECT id, booking_date, transaction_date_time
              FROM transactions
             WHERE account_id = $1 AND booking_date BETWEEN $2 AND $3
               AND ($4::text IS NULL OR credit_debit_type = $4)
             ORDER BY booking_date DESC, transaction_date_time DESC, id DESC
             LIMIT $5 OFFSET $6) page
     CROSS JOIN LATERAL (
           SELECT * FROM transactions t
            WHERE t.account_id = $1 AND t.booking_date BETWEEN $2 AND $3
              AND t.booking_date = page.booking_date
              AND t.transaction_date_time = page.transaction_date_time AND t.id = page.id
            LIMIT 1) t
     ORDER BY page.booking_date DESC, page.transaction_date_time DESC, page.id DESC";

/// On Citus, a statement page is read in two statements of one table each,
/// because the shard that holds the account plans every statement it is sent
/// with its values (Citus passes them as literals), and planning the page's
/// join across the window's months costs several times running it (4.8 ms
/// against 0.6 on a 12-month window; one table: 1.3 ms). First the page's
/// keys, newest first, from the primary key alone (as the subquery of
/// [`STATEMENT_PAGE`], with its parameters) ...
pub const STATEMENT_PAGE_KEYS: &str = "
    SELECT booking_date, transaction_date_time, id
      FROM transactions
     WHERE account_id = $1 AND booking_date BETWEEN $2 AND $3
       AND ($4::text IS NULL OR credit_debit_type = $4)
     ORDER BY booking_date DESC, transaction_date_time DESC, id DESC
     LIMIT $5 OFFSET $6";

/// ... then the rows of those keys, in the months of the page only: one
/// probe of the primary key over the page's days, matching ids in the
/// index. Parameters: account, the page's oldest and newest booking dates,
/// its ids.
pub const STATEMENT_PAGE_ROWS: &str = "
    SELECT id, transaction_id, completed_authorised_payment_type, credit_debit_type,
           transaction_name, type, amount, currency, transaction_date_time,
           partie_cnpj_cpf, partie_person_type, partie_compe_code, partie_branch_code,
           partie_number, partie_check_digit
      FROM transactions
     WHERE account_id = $1 AND booking_date BETWEEN $2 AND $3 AND id = ANY($4)";

/// The owner's available accounts among the consented keys (`/accounts`),
/// all of them in a stable order: the list is no longer than the consent the
/// request carries, so one query gives both the total and any page of it.
///
/// The owner's holder rows carry what the list shows: each key is one probe
/// of their key index (work in proportion to the consent, whatever the owner
/// holds), and on Citus every row is on the owner's shard. The brand's name
/// and CNPJ are read on their own ([`BRAND`]): Citus plans no generic plan
/// for a join of a distributed table with a reference table. Parameters:
/// brand, owner, consented keys, type (or NULL).
pub const CONSENTED_ACCOUNTS: &str = "
    SELECT legacy_id, type, compe_code, branch_code, number, check_digit
      FROM account_holders
     WHERE brand_id = $1 AND document = $2 AND legacy_key = ANY($3)
       AND status = 'AVAILABLE' AND ($4::text IS NULL OR type = $4)
     ORDER BY account_id";

/// A brand's name and CNPJ. Parameter: brand.
pub const BRAND: &str = "SELECT brand_name, company_cnpj FROM brands WHERE brand_id = $1";

/// The owner's account with a given key in the brand, from the owner's
/// holder row: what every per-account operation starts with (on Citus, the
/// owner's shard; the account's own records are then read on the account's).
/// Parameters: brand, owner, key.
pub const OWNED_ACCOUNT: &str = "
    SELECT account_id AS id, status, type, subtype, compe_code, branch_code, number,
           check_digit, currency
      FROM account_holders
     WHERE brand_id = $1 AND document = $2 AND legacy_key = $3";

/// The owner's available accounts in the brand, with what the consent
/// screen shows of each (`/account-discovery`), from the owner's holder
/// rows alone. Parameters: brand, owner.
pub const DISCOVERABLE_ACCOUNTS: &str = "
    SELECT legacy_id, type, branch_code, number, check_digit, display_name, holders
      FROM account_holders
     WHERE brand_id = $1 AND document = $2 AND status = 'AVAILABLE'
     ORDER BY account_id";

/// A customer's name. Parameters: brand, document.
pub const CUSTOMER_NAME: &str = "SELECT name FROM customers WHERE brand_id = $1 AND document = $2";

/// An account's balances. Parameter: account id.
pub const ACCOUNT_BALANCES: &str = "
    SELECT available_amount, blocked_amount, automatically_invested_amount, currency,
           update_date_time
      FROM balances WHERE account_id = $1";

/// An account's overdraft limits. Parameter: account id.
pub const ACCOUNT_LIMITS: &str = "
    SELECT overdraft_contracted_limit, overdraft_used_limit, unarranged_overdraft_amount, currency
      FROM overdraft_limits WHERE account_id = $1";

/// Whether `document` holds an account in the brand that is not
/// permanently unavailable (`/check-account-holder`). Parameters: brand,
/// document.
pub const HOLDS_AN_ACCOUNT: &str = "
    SELECT EXISTS (SELECT 1 FROM account_holders
                    WHERE brand_id = $1 AND document = $2 AND status <> 'UNAVAILABLE')";

/// When a brand's feed last arrived, and the newest balance time it stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedTimes {
    pub brand_id: BrandId,
    pub last_import_at: DateTime<Utc>,
    pub newest_balance_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Repository {
    pool: QueryPool,
}

/// An account the owner may consent to, with the people who hold it.
#[derive(sqlx::FromRow)]
pub struct DiscoverableAccount {
    pub legacy_id: Json<LegacyId>,
    #[sqlx(rename = "type")]
    pub account_type: AccountType,
    pub branch_code: Option<String>,
    pub number: String,
    pub check_digit: String,
    pub display_name: Option<String>,
    /// (document, name) of every holder, by document.
    pub holders: Json<Vec<(Document, String)>>,
}

/// A row of `/accounts`.
#[derive(sqlx::FromRow)]
pub struct ListedAccount {
    pub legacy_id: Json<LegacyId>,
    #[sqlx(rename = "type")]
    pub account_type: AccountType,
    #[sqlx(flatten)]
    pub number: AccountNumber,
}

/// A brand as `/accounts` names it.
#[derive(sqlx::FromRow)]
pub struct BrandName {
    pub brand_name: String,
    pub company_cnpj: String,
}

/// An account of the owner, found by its legacy id.
#[derive(sqlx::FromRow)]
pub struct OwnedAccount {
    pub id: i64,
    pub status: AccountStatus,
    #[sqlx(rename = "type")]
    pub account_type: AccountType,
    pub subtype: AccountSubtype,
    #[sqlx(flatten)]
    pub number: AccountNumber,
    pub currency: String,
}

/// An account of the owner's status, beside one of its records (absent
/// when none is loaded).
pub struct Owned<T> {
    pub status: AccountStatus,
    pub record: Option<T>,
}

#[derive(sqlx::FromRow)]
pub struct Balances {
    pub available_amount: Decimal,
    pub blocked_amount: Decimal,
    pub automatically_invested_amount: Decimal,
    pub currency: String,
    pub update_date_time: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub struct OverdraftLimits {
    pub overdraft_contracted_limit: Option<Decimal>,
    pub overdraft_used_limit: Option<Decimal>,
    pub unarranged_overdraft_amount: Option<Decimal>,
    pub currency: String,
}

#[derive(sqlx::FromRow)]
pub struct StatementEntry {
    pub transaction_id: Json<LegacyId>,
    pub completed_authorised_payment_type: PaymentStatus,
    pub credit_debit_type: CreditDebit,
    pub transaction_name: String,
    #[sqlx(rename = "type")]
    pub transaction_type: TransactionType,
    pub amount: Decimal,
    pub currency: String,
    pub transaction_date_time: DateTime<Utc>,
    #[sqlx(flatten)]
    pub counterparty: Counterparty,
}

/// Which entries of an account's statement to read.
pub struct StatementQuery {
    pub account_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub credit_debit: Option<CreditDebit>,
    pub limit: i64,
    pub offset: i64,
}

impl Repository {
    pub fn new(pool: QueryPool) -> Self {
        Self { pool }
    }

    /// The pool's occupancy, for `/metrics`.
    pub fn pool_status(&self) -> PoolStatus {
        self.pool.status()
    }

    /// Refuses further queries and drops idle connections (shutdown).
    pub fn close_pool(&self) {
        self.pool.close();
    }

    /// Runs `query` on a pooled connection.
    async fn run<T>(
        &self,
        query: impl AsyncFnOnce(&mut PgConnection) -> sqlx::Result<T>,
    ) -> sqlx::Result<T> {
        let mut lease = self.pool.acquire().await?;
        let outcome = query(lease.connection()).await;
        lease.finish(outcome)
    }

    pub async fn discoverable_accounts(
        &self,
        brand_id: &BrandId,
        owner: &Document,
    ) -> sqlx::Result<Vec<DiscoverableAccount>> {
        self.run(async |c| {
            sqlx::query_as(DISCOVERABLE_ACCOUNTS)
                .bind(brand_id)
                .bind(owner)
                .fetch_all(c)
                .await
        })
        .await
    }

    pub async fn customer_name(
        &self,
        brand_id: &BrandId,
        cpf: &Cpf,
    ) -> sqlx::Result<Option<String>> {
        self.run(async |c| {
            sqlx::query_scalar(CUSTOMER_NAME)
                .bind(brand_id)
                .bind(cpf)
                .fetch_optional(c)
                .await
        })
        .await
    }

    /// See [`CONSENTED_ACCOUNTS`]; each with its brand's name and CNPJ.
    pub async fn consented_accounts(
        &self,
        brand_id: &BrandId,
        owner: &Document,
        keys: &[String],
        account_type: Option<AccountType>,
    ) -> sqlx::Result<Vec<(ListedAccount, Arc<BrandName>)>> {
        self.run(async |c| {
            let accounts: Vec<ListedAccount> = sqlx::query_as(CONSENTED_ACCOUNTS)
                .bind(brand_id)
                .bind(owner)
                .bind(keys)
                .bind(account_type)
                .fetch_all(&mut *c)
                .await?;
            if accounts.is_empty() {
                return Ok(Vec::new());
            }
            // Holder rows name a stored brand (a key), so there is one.
            let brand: Arc<BrandName> =
                Arc::new(sqlx::query_as(BRAND).bind(brand_id).fetch_one(c).await?);
            Ok(accounts
                .into_iter()
                .map(|account| (account, Arc::clone(&brand)))
                .collect())
        })
        .await
    }

    /// The owner's account with this canonical legacy key in the brand.
    pub async fn owned_account(
        &self,
        brand_id: &BrandId,
        owner: &Document,
        key: &str,
    ) -> sqlx::Result<Option<OwnedAccount>> {
        self.run(async |c| owned_account(c, brand_id, owner, key).await)
            .await
    }

    /// The owner's account with this key, with its balances if loaded (this
    /// is the hottest operation).
    pub async fn owned_balances(
        &self,
        brand_id: &BrandId,
        owner: &Document,
        key: &str,
    ) -> sqlx::Result<Option<Owned<Balances>>> {
        self.run(async |c| owned_record(c, brand_id, owner, key, ACCOUNT_BALANCES).await)
            .await
    }

    /// The owner's account with this key, with its limits if any.
    pub async fn owned_overdraft_limits(
        &self,
        brand_id: &BrandId,
        owner: &Document,
        key: &str,
    ) -> sqlx::Result<Option<Owned<OverdraftLimits>>> {
        self.run(async |c| owned_record(c, brand_id, owner, key, ACCOUNT_LIMITS).await)
            .await
    }

    /// A page of the statement (see [`STATEMENT_PAGE`]; on Citus,
    /// [`STATEMENT_PAGE_KEYS`] and [`STATEMENT_PAGE_ROWS`]).
    pub async fn statement(&self, query: &StatementQuery) -> sqlx::Result<Vec<StatementEntry>> {
        self.run(async |c| {
            if self.pool.engine() == Some(Engine::Citus) {
                return statement_by_keys(c, query).await;
            }
            bind_page(STATEMENT_PAGE, query).fetch_all(c).await
        })
        .await
    }

    /// Whether `document` holds an account in the brand that is not
    /// permanently unavailable (closed over 12 months ago, migrated, blocked
    /// for good): such a customer has no account to consent to.
    pub async fn is_account_holder(
        &self,
        brand_id: &BrandId,
        document: &Document,
    ) -> sqlx::Result<bool> {
        self.run(async |c| {
            sqlx::query_scalar(HOLDS_AN_ACCOUNT)
                .bind(brand_id)
                .bind(document)
                .fetch_one(c)
                .await
        })
        .await
    }

    /// When each brand's feed last arrived (`/metrics`): one row per brand.
    pub async fn brand_feeds(&self) -> sqlx::Result<Vec<FeedTimes>> {
        self.run(async |c| {
            sqlx::query_as(
                "SELECT brand_id, last_import_at, newest_balance_at FROM brand_feeds ORDER BY brand_id",
            )
            .fetch_all(c)
            .await
        })
        .await
    }

    /// The newest migration applied to the store, if any (readiness).
    pub async fn applied_migration(&self) -> sqlx::Result<Option<i64>> {
        const UNDEFINED_TABLE: &str = "42P01";
        let applied = self
            .run(async |c| {
                sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                    .fetch_one(c)
                    .await
            })
            .await;
        match applied {
            // Nothing migrated yet: on a replica, nothing replayed yet.
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some(UNDEFINED_TABLE) =>
            {
                Ok(None)
            }
            applied => applied,
        }
    }
}

/// See [`OWNED_ACCOUNT`].
async fn owned_account(
    c: &mut PgConnection,
    brand_id: &BrandId,
    owner: &Document,
    key: &str,
) -> sqlx::Result<Option<OwnedAccount>> {
    sqlx::query_as(OWNED_ACCOUNT)
        .bind(brand_id)
        .bind(owner)
        .bind(key)
        .fetch_optional(c)
        .await
}

/// The owner's account with this key (its status), and its record that
/// `query` reads by account id: two statements, each on one shard on Citus.
async fn owned_record<R>(
    c: &mut PgConnection,
    brand_id: &BrandId,
    owner: &Document,
    key: &str,
    query: &'static str,
) -> sqlx::Result<Option<Owned<R>>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let Some(account) = owned_account(c, brand_id, owner, key).await? else {
        return Ok(None);
    };
    let record = sqlx::query_as(query)
        .bind(account.id)
        .fetch_optional(c)
        .await?;
    Ok(Some(Owned {
        status: account.status,
        record,
    }))
}

/// `sql` (a page's statement: [`STATEMENT_PAGE`] or [`STATEMENT_PAGE_KEYS`])
/// with `query`'s parameters.
fn bind_page<'q, O>(
    sql: &'static str,
    query: &StatementQuery,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as(sql)
        .bind(query.account_id)
        .bind(query.from)
        .bind(query.to)
        .bind(query.credit_debit)
        .bind(query.limit)
        .bind(query.offset)
}

/// A statement entry with its row id, as [`STATEMENT_PAGE_ROWS`] reads it.
#[derive(sqlx::FromRow)]
struct IdentifiedEntry {
    id: i64,
    #[sqlx(flatten)]
    entry: StatementEntry,
}

/// A statement page in two statements (on Citus: see [`STATEMENT_PAGE_KEYS`]).
async fn statement_by_keys(
    c: &mut PgConnection,
    query: &StatementQuery,
) -> sqlx::Result<Vec<StatementEntry>> {
    let keys: Vec<(NaiveDate, DateTime<Utc>, i64)> = bind_page(STATEMENT_PAGE_KEYS, query)
        .fetch_all(&mut *c)
        .await?;
    // Newest first: the last key is the oldest.
    let (Some(newest), Some(oldest)) = (keys.first(), keys.last()) else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = keys.iter().map(|(_, _, id)| *id).collect();
    let rows: Vec<IdentifiedEntry> = sqlx::query_as(STATEMENT_PAGE_ROWS)
        .bind(query.account_id)
        .bind(oldest.0)
        .bind(newest.0)
        .bind(&ids)
        .fetch_all(c)
        .await?;
    let mut by_id: HashMap<i64, StatementEntry> =
        rows.into_iter().map(|row| (row.id, row.entry)).collect();
    // A key whose row went meanwhile (retention dropped its month between
    // the two statements) is left out, as a page read a moment later would.
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
