//! Writing what a batch decided: brands, customers, accounts (with their
//! holders), balances and limits by one multi-row upsert each, from
//! `unnest` arrays; statement entries go to `transactions`.

use super::Writer;
use super::batch::Staging;
use crate::domain::vocabulary::{AccountStatus, AccountSubtype, AccountType};
use crate::import::validate::{Account, Balance, Brand, Customer, Limits};
use anyhow::{Context, Result, bail};

impl Writer {
    pub(super) async fn write(&mut self, st: Staging) -> Result<()> {
        if !st.brands.is_empty() {
            self.write_brands(&st.brands).await?;
        }
        if !st.customers.is_empty() {
            self.write_customers(&st.customers).await?;
        }
        if !st.accounts.is_empty() {
            self.write_accounts(&st.accounts).await?;
        }
        if !st.balances.is_empty() {
            self.write_balances(&st.balances).await?;
        }
        if !st.limits.is_empty() {
            self.write_limits(&st.limits).await?;
        }
        if !st.completed.is_empty() {
            self.write_completed(st.completed).await?;
        }
        if !st.removals.is_empty() {
            self.write_removals(st.removals).await?;
        }
        Ok(())
    }

    async fn write_brands(&mut self, brands: &[Brand]) -> Result<()> {
        let ids: Vec<&str> = brands.iter().map(|b| b.brand_id.as_str()).collect();
        let names: Vec<&str> = brands.iter().map(|b| b.brand_name.as_str()).collect();
        let cnpjs: Vec<&str> = brands.iter().map(|b| b.company_cnpj.as_str()).collect();
        sqlx::query(
            "INSERT INTO brands (brand_id, brand_name, company_cnpj) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (brand_id) DO UPDATE SET brand_name = EXCLUDED.brand_name, company_cnpj = EXCLUDED.company_cnpj \
             WHERE (brands.brand_name, brands.company_cnpj) IS DISTINCT FROM (EXCLUDED.brand_name, EXCLUDED.company_cnpj)",
        )
        .bind(&ids)
        .bind(&names)
        .bind(&cnpjs)
        .execute(db!(self))
        .await
        .context("writing brands")?;
        Ok(())
    }

    async fn write_customers(&mut self, customers: &[Customer]) -> Result<()> {
        let brands: Vec<&str> = customers.iter().map(|c| c.brand_id.as_str()).collect();
        let documents: Vec<&str> = customers.iter().map(|c| c.document.as_str()).collect();
        let names: Vec<&str> = customers.iter().map(|c| c.name.as_str()).collect();
        sqlx::query(
            "INSERT INTO customers (brand_id, document, name) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (brand_id, document) DO UPDATE SET name = EXCLUDED.name \
             WHERE customers.name IS DISTINCT FROM EXCLUDED.name",
        )
        .bind(&brands)
        .bind(&documents)
        .bind(&names)
        .execute(db!(self))
        .await
        .context("writing customers")?;
        Ok(())
    }

    async fn write_accounts(&mut self, accounts: &[(u32, Account)]) -> Result<()> {
        let brands: Vec<&str> = accounts.iter().map(|(_, a)| &*a.account.brand).collect();
        let keys: Vec<&str> = accounts.iter().map(|(_, a)| &*a.account.key).collect();
        let json: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.legacy_json.as_str())
            .collect();
        let types: Vec<AccountType> = accounts.iter().map(|(_, a)| a.account_type).collect();
        let subtypes: Vec<AccountSubtype> = accounts.iter().map(|(_, a)| a.subtype).collect();
        let compe: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.number.compe_code.as_str())
            .collect();
        let branch: Vec<Option<&str>> = accounts
            .iter()
            .map(|(_, a)| a.number.branch_code.as_deref())
            .collect();
        let number: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.number.number.as_str())
            .collect();
        let check: Vec<&str> = accounts
            .iter()
            .map(|(_, a)| a.number.check_digit.as_str())
            .collect();
        let currency: Vec<&str> = accounts.iter().map(|(_, a)| a.currency.as_str()).collect();
        let display: Vec<Option<&str>> = accounts
            .iter()
            .map(|(_, a)| a.display_name.as_deref())
            .collect();
        let status: Vec<AccountStatus> = accounts.iter().map(|(_, a)| a.status).collect();
        let written: Vec<(i64, String, String)> = sqlx::query_as(
            "INSERT INTO accounts (brand_id, legacy_key, legacy_id, type, subtype, compe_code, branch_code, \
                                   number, check_digit, currency, display_name, status) \
             SELECT b, k, j::jsonb, t, s, cc, bc, n, cd, cur, dn, st \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
                  AS u(b, k, j, t, s, cc, bc, n, cd, cur, dn, st) \
             ON CONFLICT (brand_id, legacy_key) DO UPDATE SET \
                 legacy_id = EXCLUDED.legacy_id, type = EXCLUDED.type, subtype = EXCLUDED.subtype, \
                 compe_code = EXCLUDED.compe_code, branch_code = EXCLUDED.branch_code, number = EXCLUDED.number, \
                 check_digit = EXCLUDED.check_digit, currency = EXCLUDED.currency, \
                 display_name = EXCLUDED.display_name, status = EXCLUDED.status \
             WHERE (accounts.legacy_id, accounts.type, accounts.subtype, accounts.compe_code, accounts.branch_code, \
                    accounts.number, accounts.check_digit, accounts.currency, accounts.display_name, accounts.status) \
                IS DISTINCT FROM \
                   (EXCLUDED.legacy_id, EXCLUDED.type, EXCLUDED.subtype, EXCLUDED.compe_code, EXCLUDED.branch_code, \
                    EXCLUDED.number, EXCLUDED.check_digit, EXCLUDED.currency, EXCLUDED.display_name, EXCLUDED.status) \
             RETURNING id, brand_id, legacy_key",
        )
        .bind(&brands)
        .bind(&keys)
        .bind(&json)
        .bind(&types)
        .bind(&subtypes)
        .bind(&compe)
        .bind(&branch)
        .bind(&number)
        .bind(&check)
        .bind(&currency)
        .bind(&display)
        .bind(&status)
        .fetch_all(db!(self))
        .await
        .context("writing accounts")?;
        for (id, brand, key) in written {
            let b = self.state.registry.brand_index[&brand];
            let a = self.state.registry.brands[b as usize].accounts[&key];
            self.state.registry.accounts[a as usize].id = Some(id);
        }
        self.write_holders(accounts).await
    }

    /// The holders of each account: the record's list replaces the stored one.
    async fn write_holders(&mut self, accounts: &[(u32, Account)]) -> Result<()> {
        let mut replace: Vec<i64> = Vec::new();
        let (mut h_brand, mut h_document, mut h_account) = (Vec::new(), Vec::new(), Vec::new());
        for (a, account) in accounts {
            let state = &mut self.state.registry.accounts[*a as usize];
            let Some(id) = state.id else {
                bail!("internal error: account of line without an id after writing")
            };
            if state.holders_in_db {
                replace.push(id);
            }
            state.holders_in_db = true;
            for holder in &account.holders {
                h_brand.push(&*account.account.brand);
                h_document.push(holder.as_str());
                h_account.push(id);
            }
        }
        if !replace.is_empty() {
            sqlx::query("DELETE FROM account_holders WHERE account_id = ANY($1)")
                .bind(&replace)
                .execute(db!(self))
                .await
                .context("replacing account holders")?;
        }
        sqlx::query(
            "INSERT INTO account_holders (brand_id, document, account_id) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])",
        )
        .bind(&h_brand)
        .bind(&h_document)
        .bind(&h_account)
        .execute(db!(self))
        .await
        .context("writing account holders")?;
        Ok(())
    }

    async fn write_balances(&mut self, balances: &[(u32, Balance)]) -> Result<()> {
        let mut ids = Vec::with_capacity(balances.len());
        let (mut available, mut blocked, mut invested, mut currency, mut updated) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (a, b) in balances {
            let Some(id) = self.state.registry.id_of(*a) else {
                continue;
            };
            let brand = &mut self.state.registry.brands
                [self.state.registry.accounts[*a as usize].brand as usize];
            brand.newest_balance = brand.newest_balance.max(Some(b.updated));
            ids.push(id);
            available.push(b.available);
            blocked.push(b.blocked);
            invested.push(b.invested);
            currency.push(b.currency.as_str());
            updated.push(b.updated);
        }
        sqlx::query(
            "INSERT INTO balances (account_id, available_amount, blocked_amount, automatically_invested_amount, \
                                   currency, update_date_time) \
             SELECT * FROM unnest($1::int8[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::timestamptz[]) \
             ON CONFLICT (account_id) DO UPDATE SET \
                 available_amount = EXCLUDED.available_amount, blocked_amount = EXCLUDED.blocked_amount, \
                 automatically_invested_amount = EXCLUDED.automatically_invested_amount, \
                 currency = EXCLUDED.currency, update_date_time = EXCLUDED.update_date_time \
             WHERE balances.update_date_time <= EXCLUDED.update_date_time",
        )
        .bind(&ids)
        .bind(&available)
        .bind(&blocked)
        .bind(&invested)
        .bind(&currency)
        .bind(&updated)
        .execute(db!(self))
        .await
        .context("writing balances")?;
        Ok(())
    }

    async fn write_limits(&mut self, limits: &[(u32, Limits)]) -> Result<()> {
        let mut ids = Vec::with_capacity(limits.len());
        let (mut contracted, mut used, mut unarranged, mut currency) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (a, l) in limits {
            let Some(id) = self.state.registry.id_of(*a) else {
                continue;
            };
            ids.push(id);
            contracted.push(l.contracted);
            used.push(l.used);
            unarranged.push(l.unarranged);
            currency.push(l.currency.as_str());
        }
        sqlx::query(
            "INSERT INTO overdraft_limits (account_id, overdraft_contracted_limit, overdraft_used_limit, \
                                           unarranged_overdraft_amount, currency) \
             SELECT * FROM unnest($1::int8[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[]) \
             ON CONFLICT (account_id) DO UPDATE SET \
                 overdraft_contracted_limit = EXCLUDED.overdraft_contracted_limit, \
                 overdraft_used_limit = EXCLUDED.overdraft_used_limit, \
                 unarranged_overdraft_amount = EXCLUDED.unarranged_overdraft_amount, currency = EXCLUDED.currency",
        )
        .bind(&ids)
        .bind(&contracted)
        .bind(&used)
        .bind(&unarranged)
        .bind(&currency)
        .execute(db!(self))
        .await
        .context("writing overdraft limits")?;
        Ok(())
    }
}
