//! Writing accounts and their holder rows. A holder row carries what the
//! customer-facing operations show of its account (the migration
//! `holder_rows_show_the_account` says why), so an account written rewrites
//! its holder rows, and a holder renamed rewrites the names in the rows of
//! the accounts they hold.
//!
//! No statement here relies on a unique key across accounts: on Citus,
//! where accounts are distributed by id, `(brand_id, legacy_key)` cannot be
//! a key. Every account of a batch was looked up first (the registry knows
//! which are stored, with their ids), and imports run one at a time, so
//! stored ones are updated by id and new ones inserted.

use super::Writer;
use crate::domain::vocabulary::{AccountStatus, AccountSubtype, AccountType};
use crate::import::validate::Account;
use anyhow::{Context, Result, bail};
// Dynamic SQL here (`AssertSqlSafe`) joins this module's constant column
// lists and `unnest`'s placeholders.
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row};
use std::collections::HashMap;

/// The columns an account record sets, as arrays to bind, one element per
/// record (accounts, and the same again in each of their holder rows).
#[derive(Default)]
struct AccountColumns<'a> {
    brand: Vec<&'a str>,
    key: Vec<&'a str>,
    legacy_id: Vec<&'a str>,
    account_type: Vec<AccountType>,
    subtype: Vec<AccountSubtype>,
    compe: Vec<&'a str>,
    branch: Vec<Option<&'a str>>,
    number: Vec<&'a str>,
    check: Vec<&'a str>,
    currency: Vec<&'a str>,
    display: Vec<Option<&'a str>>,
    status: Vec<AccountStatus>,
}

/// The columns [`AccountColumns::bind`] fills, in its order.
const ACCOUNT_COLUMNS: &str = "brand_id, legacy_key, legacy_id, type, subtype, compe_code, \
    branch_code, number, check_digit, currency, display_name, status";
/// What a statement selects for them from [`unnest`]'s `u`.
const ACCOUNT_VALUES: &str =
    "u.b, u.k, u.j::jsonb, u.t, u.s, u.cc, u.bc, u.n, u.cd, u.cur, u.dn, u.st";

/// `unnest(...) AS u(...)` of a statement's own arrays (`leading`: type and
/// name of each, bound first) and then the account columns, bound by
/// [`AccountColumns::bind`].
fn unnest(leading: &[(&str, &str)]) -> String {
    let account = [
        "b", "k", "j", "t", "s", "cc", "bc", "n", "cd", "cur", "dn", "st",
    ];
    let types: Vec<String> = leading
        .iter()
        .map(|(kind, _)| *kind)
        .chain(account.iter().map(|_| "text"))
        .enumerate()
        .map(|(i, kind)| format!("${}::{kind}[]", i + 1))
        .collect();
    let names: Vec<&str> = leading
        .iter()
        .map(|(_, name)| *name)
        .chain(account)
        .collect();
    format!("unnest({}) AS u({})", types.join(", "), names.join(", "))
}

impl<'a> AccountColumns<'a> {
    fn push(&mut self, a: &'a Account) {
        self.brand.push(&a.account.brand);
        self.key.push(&a.account.key);
        self.legacy_id.push(&a.legacy_json);
        self.account_type.push(a.account_type);
        self.subtype.push(a.subtype);
        self.compe.push(&a.number.compe_code);
        self.branch.push(a.number.branch_code.as_deref());
        self.number.push(&a.number.number);
        self.check.push(&a.number.check_digit);
        self.currency.push(&a.currency);
        self.display.push(a.display_name.as_deref());
        self.status.push(a.status);
    }

    /// Binds the account columns, after the statement's own arrays.
    fn bind<'q>(
        &self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(&self.brand)
            .bind(&self.key)
            .bind(&self.legacy_id)
            .bind(&self.account_type)
            .bind(&self.subtype)
            .bind(&self.compe)
            .bind(&self.branch)
            .bind(&self.number)
            .bind(&self.check)
            .bind(&self.currency)
            .bind(&self.display)
            .bind(&self.status)
    }
}

impl Writer {
    pub(super) async fn write_accounts(&mut self, accounts: &[(u32, Account)]) -> Result<()> {
        let (mut stored_ids, mut stored, mut new) = (
            Vec::new(),
            AccountColumns::default(),
            AccountColumns::default(),
        );
        for (a, account) in accounts {
            match self.state.registry.accounts[*a as usize].id {
                Some(id) => {
                    stored_ids.push(id);
                    stored.push(account);
                }
                None => new.push(account),
            }
        }
        if !stored_ids.is_empty() {
            let update = format!(
                "UPDATE accounts SET ({ACCOUNT_COLUMNS}) = ({ACCOUNT_VALUES}) \
                 FROM {} \
                 WHERE accounts.id = u.id \
                   AND ({ACCOUNT_COLUMNS}) IS DISTINCT FROM ({ACCOUNT_VALUES})",
                unnest(&[("int8", "id")])
            );
            stored
                .bind(sqlx::query(AssertSqlSafe(update)).bind(&stored_ids))
                .execute(db!(self))
                .await
                .context("updating accounts")?;
        }
        if !new.brand.is_empty() {
            let insert = format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) SELECT {ACCOUNT_VALUES} FROM {} \
                 RETURNING id, brand_id, legacy_key",
                unnest(&[])
            );
            let written = new
                .bind(sqlx::query(AssertSqlSafe(insert)))
                .fetch_all(db!(self))
                .await
                .context("writing accounts")?;
            for row in written {
                let (id, brand, key): (i64, &str, &str) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                let b = self.state.registry.brand_index[brand];
                let a = self.state.registry.brands[b as usize].accounts[key];
                self.state.registry.accounts[a as usize].id = Some(id);
            }
        }
        self.write_holders(accounts).await
    }

    /// The holder rows of each account: the record's list of holders
    /// replaces the stored one, each row with the account's columns and
    /// every holder's name.
    async fn write_holders(&mut self, accounts: &[(u32, Account)]) -> Result<()> {
        let names = self.names_of_holders(accounts).await?;
        let mut replace: Vec<i64> = Vec::new();
        let (mut document, mut account_id, mut holders) = (Vec::new(), Vec::new(), Vec::new());
        let mut columns = AccountColumns::default();
        for (a, account) in accounts {
            let state = &mut self.state.registry.accounts[*a as usize];
            let Some(id) = state.id else {
                bail!("internal error: account of line without an id after writing")
            };
            if state.holders_in_db {
                replace.push(id);
            }
            state.holders_in_db = true;
            let shown = holders_json(&names, &account.account.brand, &account.holders)?;
            for holder in &account.holders {
                document.push(holder.as_str());
                account_id.push(id);
                holders.push(shown.clone());
                columns.push(account);
            }
        }
        if !replace.is_empty() {
            sqlx::query("DELETE FROM account_holders WHERE account_id = ANY($1)")
                .bind(&replace)
                .execute(db!(self))
                .await
                .context("replacing account holders")?;
        }
        let insert = format!(
            "INSERT INTO account_holders (document, account_id, holders, {ACCOUNT_COLUMNS}) \
             SELECT u.d, u.id, u.h::jsonb, {ACCOUNT_VALUES} FROM {}",
            unnest(&[("text", "d"), ("int8", "id"), ("text", "h")])
        );
        columns
            .bind(
                sqlx::query(AssertSqlSafe(insert))
                    .bind(&document)
                    .bind(&account_id)
                    .bind(&holders),
            )
            .execute(db!(self))
            .await
            .context("writing account holders")?;
        Ok(())
    }

    /// The name of every holder of `accounts`: brand, then document.
    async fn names_of_holders(&mut self, accounts: &[(u32, Account)]) -> Result<Names> {
        let (mut brands, mut documents) = (Vec::new(), Vec::new());
        for (_, account) in accounts {
            for holder in &account.holders {
                brands.push(&*account.account.brand);
                documents.push(holder.as_str());
            }
        }
        let found: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.brand_id, c.document, c.name \
             FROM unnest($1::text[], $2::text[]) AS u(b, d) \
             JOIN customers c ON c.brand_id = u.b AND c.document = u.d",
        )
        .bind(&brands)
        .bind(&documents)
        .fetch_all(db!(self))
        .await
        .context("reading the names of account holders")?;
        let mut names = Names::default();
        for (brand, document, name) in found {
            names.entry(brand).or_default().insert(document, name);
        }
        Ok(names)
    }

    /// Shows each renamed customer's new name (brand, document, name) in
    /// the holder rows of the accounts they hold, brand by brand.
    pub(super) async fn rename_holders(
        &mut self,
        renamed: Vec<(String, String, String)>,
    ) -> Result<()> {
        let mut by_brand: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
        for (brand, document, name) in renamed {
            let (documents, names) = by_brand.entry(brand).or_default();
            documents.push(document);
            names.push(name);
        }
        for (brand, (documents, names)) in by_brand {
            // The accounts first (one lookup per customer), then their rows.
            let accounts: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT account_id FROM account_holders \
                 WHERE brand_id = $1 AND document = ANY($2)",
            )
            .bind(&brand)
            .bind(&documents)
            .fetch_all(db!(self))
            .await
            .context("finding the accounts of renamed customers")?;
            if accounts.is_empty() {
                continue;
            }
            sqlx::query(
                "UPDATE account_holders SET holders = ( \
                     SELECT jsonb_agg(CASE WHEN r.name IS NULL THEN e \
                                           ELSE jsonb_build_array(e->>0, r.name) END ORDER BY i) \
                       FROM jsonb_array_elements(holders) WITH ORDINALITY AS x(e, i) \
                       LEFT JOIN unnest($2::text[], $3::text[]) AS r(document, name) \
                              ON r.document = e->>0) \
                 WHERE account_id = ANY($1) AND brand_id = $4",
            )
            .bind(&accounts)
            .bind(&documents)
            .bind(&names)
            .bind(&brand)
            .execute(db!(self))
            .await
            .context("showing renamed customers in their accounts")?;
        }
        Ok(())
    }
}

/// Names by brand, then by document.
type Names = HashMap<String, HashMap<String, String>>;

/// What a holder row shows of who holds its account: each holder's
/// document and name, by document, as JSON text.
fn holders_json(names: &Names, brand: &str, holders: &[String]) -> Result<String> {
    let mut shown: Vec<(&str, &str)> = Vec::with_capacity(holders.len());
    for document in holders {
        let Some(name) = names.get(brand).and_then(|n| n.get(document)) else {
            bail!("internal error: holder {document} of brand {brand} has no customer row")
        };
        shown.push((document, name));
    }
    shown.sort_unstable();
    Ok(serde_json::to_string(&shown)?)
}
