//! Writing what a batch decided: brands, customers, accounts (with their
//! holders), balances and limits by one multi-row upsert each, from
//! `unnest` arrays; statement entries go to `transactions`.

use super::Writer;
use super::batch::Staging;
use crate::import::validate::{Balance, Brand, Customer, Limits};
use anyhow::{Context, Result};

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
        // Customers renamed come back (a row updated by the upsert has an
        // xmax; one inserted has none): the holder rows of their accounts
        // show their names.
        let written: Vec<(String, String, String, bool)> = sqlx::query_as(
            "INSERT INTO customers (brand_id, document, name) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (brand_id, document) DO UPDATE SET name = EXCLUDED.name \
             WHERE customers.name IS DISTINCT FROM EXCLUDED.name \
             RETURNING brand_id, document, name, xmax::text <> '0'",
        )
        .bind(&brands)
        .bind(&documents)
        .bind(&names)
        .fetch_all(db!(self))
        .await
        .context("writing customers")?;
        let renamed = written
            .into_iter()
            .filter(|(.., updated)| *updated)
            .map(|(brand, document, name, _)| (brand, document, name))
            .collect();
        self.rename_holders(renamed).await
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
