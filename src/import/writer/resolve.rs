//! Reading the store: what it holds of the brands, customers and accounts
//! the file names for the first time, in one bulk query each. The queries
//! are here; what their answers mean for the registry is in the `*_found`
//! functions, which the tests feed with a store built in memory.

use super::Writer;
use super::hashing::{FxMap, KeyHashes};
use super::registry::Registry;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::mem;

/// An account the store holds: ordinal (from 1) of its name in the list
/// looked up, its id and the time of its balance.
pub(super) type FoundAccount = (i64, i64, Option<DateTime<Utc>>);

impl Writer {
    pub(super) async fn resolve(&mut self) -> Result<()> {
        if !self.state.registry.resolve_brands.is_empty() {
            self.resolve_brands().await?;
        }
        if !self.state.registry.resolve_customers.is_empty() {
            self.resolve_customers().await?;
        }
        if !self.state.registry.resolve_accounts.is_empty() {
            self.resolve_accounts().await?;
        }
        Ok(())
    }

    async fn resolve_brands(&mut self) -> Result<()> {
        let registry = &mut self.state.registry;
        let list = mem::take(&mut registry.resolve_brands);
        let ids: Vec<&str> = list
            .iter()
            .map(|&b| registry.brands[b as usize].id.as_str())
            .collect();
        let found: Vec<String> =
            sqlx::query_scalar("SELECT brand_id FROM brands WHERE brand_id = ANY($1)")
                .bind(&ids)
                .fetch_all(db!(self))
                .await
                .context("looking up brands")?;
        registry.brands_found(&list, &found.into_iter().collect());
        Ok(())
    }

    async fn resolve_customers(&mut self) -> Result<()> {
        let registry = &mut self.state.registry;
        let list = mem::take(&mut registry.resolve_customers);
        let brand_ids: Vec<&str> = list
            .iter()
            .map(|(b, _)| registry.brands[*b as usize].id.as_str())
            .collect();
        let documents: Vec<&str> = list.iter().map(|(_, d)| d.as_str()).collect();
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT u.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(b, d, i) \
             JOIN customers c ON c.brand_id = u.b AND c.document = u.d",
        )
        .bind(&brand_ids)
        .bind(&documents)
        .fetch_all(db!(self))
        .await
        .context("looking up customers")?;
        registry.customers_found(&list, &found.into_iter().collect());
        Ok(())
    }

    async fn resolve_accounts(&mut self) -> Result<()> {
        let registry = &mut self.state.registry;
        let list = mem::take(&mut registry.resolve_accounts);
        let brand_ids: Vec<&str> = list
            .iter()
            .map(|(a, _)| {
                registry.brands[registry.accounts[*a as usize].brand as usize]
                    .id
                    .as_str()
            })
            .collect();
        let keys: Vec<&str> = list.iter().map(|(_, k)| k.as_str()).collect();
        let found: Vec<FoundAccount> = sqlx::query_as(
            "SELECT u.i, a.id, b.update_date_time \
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(b, k, i) \
             JOIN accounts a ON a.brand_id = u.b AND a.legacy_key = u.k \
             LEFT JOIN balances b ON b.account_id = a.id",
        )
        .bind(&brand_ids)
        .bind(&keys)
        .fetch_all(db!(self))
        .await
        .context("looking up accounts")?;
        let by_id = registry.accounts_found(&list, found);
        // Their pending entries: one scan of each month's small index
        // of pending entries for all of them.
        let ids: Vec<i64> = by_id.keys().copied().collect();
        let pending: Vec<(i64, String)> = sqlx::query_as(
            "SELECT account_id, legacy_key FROM transactions \
             WHERE account_id = ANY($1) AND completed_authorised_payment_type <> 'TRANSACAO_EFETIVADA'",
        )
        .bind(&ids)
        .fetch_all(db!(self))
        .await
        .context("looking up pending entries")?;
        registry.pending_found(&by_id, pending);
        Ok(())
    }
}

impl Registry {
    /// The brands of `list` whose id is in `found` are in the store; the
    /// others are not.
    pub(super) fn brands_found(&mut self, list: &[u32], found: &HashSet<String>) {
        for &b in list {
            let brand = &mut self.brands[b as usize];
            brand.entity.in_store = Some(found.contains(&brand.id));
        }
    }

    /// The customers of `list` whose ordinal (from 1) is in `found` are in
    /// the store; the others are not.
    pub(super) fn customers_found(&mut self, list: &[(u32, String)], found: &HashSet<i64>) {
        for (i, (b, document)) in list.iter().enumerate() {
            if let Some(c) = self.brands[*b as usize].customers.get_mut(document) {
                c.in_store = Some(found.contains(&(i as i64 + 1)));
            }
        }
    }

    /// The accounts of `list` in `found` are in the store, with their id
    /// and balance time; the others are the file's, new. Returns the found
    /// ones by id.
    pub(super) fn accounts_found(
        &mut self,
        list: &[(u32, String)],
        found: Vec<FoundAccount>,
    ) -> FxMap<i64, u32> {
        for (a, _) in list {
            let a = &mut self.accounts[*a as usize];
            a.entity.in_store = Some(false);
            a.fresh = Some(KeyHashes::default());
        }
        let mut by_id: FxMap<i64, u32> = FxMap::default();
        for (i, id, balance_time) in found {
            let index = list[(i - 1) as usize].0;
            by_id.insert(id, index);
            let a = &mut self.accounts[index as usize];
            a.entity.in_store = Some(true);
            a.fresh = None;
            a.id = Some(id);
            a.holders_in_db = true;
            a.balance_time = balance_time;
        }
        by_id
    }

    /// The ids of the pending entries the store holds for the accounts
    /// found (account id, transaction key).
    pub(super) fn pending_found(&mut self, by_id: &FxMap<i64, u32>, pending: Vec<(i64, String)>) {
        for (id, key) in pending {
            let a = &mut self.accounts[by_id[&id] as usize];
            a.pending_in_db = true;
            a.pending.insert(key);
        }
    }
}
