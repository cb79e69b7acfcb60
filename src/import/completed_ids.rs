//! Finding an account's completed transaction by its id, in any month.
//!
//! A completed id is unique within its account across every month, but an
//! index of the partitioned `transactions` covers one month: looking an id
//! up means looking into each month that holds completed entries (about 13
//! for a year of data), and for a daily feed of new ids nearly all of those
//! looks find nothing. Months carry a Bloom filter of their ids, kept by
//! retention ([`crate::store::id_filters`]): a month is looked into only when
//! it has none or its filter cannot rule the id out. What this import
//! writes into a filtered month goes into its filter, saved with the file.

use super::stored::{STORED_COLUMNS, StoredRow};
use crate::domain::month::Month;
use crate::store::bloom::{Bloom, IdHash};
use crate::store::distribution::Engine;
use crate::store::{id_filters, months};
use anyhow::{Context, Result};
use chrono::NaiveDate;
// Dynamic SQL here (`AssertSqlSafe`) is fixed text, `STORED_COLUMNS` and a
// month partition name (`Month::partition`, from a date).
use sqlx::{AssertSqlSafe, PgConnection};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Default)]
pub(super) struct CompletedIds {
    /// Months holding at least one completed transaction.
    months: BTreeSet<Month>,
    /// The month of the last date noted, to skip the set on a run of rows
    /// of one month.
    last: Option<Month>,
    filters: HashMap<Month, Bloom>,
    /// Ids added to each filter by this import.
    added: HashMap<Month, u64>,
    /// Which engine the store is on (see [`Self::find`]).
    engine: Engine,
}

impl CompletedIds {
    /// What the store holds before the import writes anything.
    pub async fn read(
        connection: &mut PgConnection,
        existing: &[Month],
        engine: Engine,
    ) -> Result<Self> {
        let holding = months::holding_completed(connection, existing)
            .await
            .context("finding the months with completed transactions")?;
        let filters = id_filters::load(connection).await?;
        Ok(Self {
            engine,
            months: holding.into_iter().collect(),
            filters: filters
                .into_iter()
                .filter(|(month, _)| existing.contains(month))
                .collect(),
            ..Self::default()
        })
    }

    /// A completed transaction of `account` with `key` was written, booked
    /// on `date`.
    pub fn note(&mut self, account: i64, key: &str, date: NaiveDate) {
        if self.filters.is_empty()
            && self
                .last
                .is_some_and(|m| m.first_day() <= date && date < m.end())
        {
            return;
        }
        let month = Month::of(date);
        self.last = Some(month);
        self.months.insert(month);
        if let Some(filter) = self.filters.get_mut(&month) {
            filter.insert(IdHash::of(account, key));
            *self.added.entry(month).or_default() += 1;
        }
    }

    /// `[from, to)` around every month holding completed transactions (an
    /// empty range when there are none).
    pub fn bounds(&self) -> (NaiveDate, NaiveDate) {
        match (self.months.first(), self.months.last()) {
            (Some(first), Some(last)) => (first.first_day(), last.end()),
            _ => {
                let nowhere = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
                (nowhere, nowhere)
            }
        }
    }

    /// The stored completed transaction of each `(account, key)`, if any.
    pub async fn find(
        &self,
        connection: &mut PgConnection,
        probes: &[(i64, &str)],
    ) -> Result<Vec<Option<StoredRow>>> {
        let mut found: Vec<Option<StoredRow>> = Vec::new();
        found.resize_with(probes.len(), || None);
        for (month, indexes) in self.months_to_look_into(probes) {
            let accounts: Vec<i64> = indexes.iter().map(|&i| probes[i].0).collect();
            let keys: Vec<&str> = indexes.iter().map(|&i| probes[i].1).collect();
            // `LIMIT 1`: one probe of the month's index per id, whatever the
            // planner believes of a table this very transaction filled (it
            // keeps the subquery from being flattened into a join). Citus
            // cannot send a lateral subquery with a limit to the shards; there
            // each shard's planner makes its own choice.
            let limit = match self.engine {
                Engine::PostgreSql => "LIMIT 1",
                Engine::Citus => "",
            };
            let rows: Vec<StoredRow> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT u.i AS tag, t.* \
                 FROM unnest($1::int8[], $2::text[]) WITH ORDINALITY AS u(a, k, i) \
                 CROSS JOIN LATERAL ( \
                     SELECT {STORED_COLUMNS} FROM {} t \
                      WHERE t.account_id = u.a AND t.legacy_key = u.k \
                        AND t.completed_authorised_payment_type = 'TRANSACAO_EFETIVADA' \
                      {limit}) t",
                month.partition()
            )))
            .bind(&accounts)
            .bind(&keys)
            .fetch_all(&mut *connection)
            .await
            .with_context(|| format!("looking up completed transactions of {month}"))?;
            for row in rows {
                let slot = &mut found[indexes[(row.tag - 1) as usize]];
                if slot.is_none() {
                    *slot = Some(row);
                }
            }
        }
        Ok(found)
    }

    /// For each month, the probes that must be looked up there: all of them
    /// in a month without a filter, those its filter may hold otherwise.
    fn months_to_look_into(&self, probes: &[(i64, &str)]) -> BTreeMap<Month, Vec<usize>> {
        let mut plan: BTreeMap<Month, Vec<usize>> = BTreeMap::new();
        let (filtered, open): (Vec<Month>, Vec<Month>) = self
            .months
            .iter()
            .partition(|m| self.filters.contains_key(m));
        for month in open {
            plan.insert(month, (0..probes.len()).collect());
        }
        if !filtered.is_empty() {
            let ids: Vec<IdHash> = probes
                .iter()
                .map(|(account, key)| IdHash::of(*account, key))
                .collect();
            for month in filtered {
                let maybe = self.filters[&month].may_contain_each(&ids);
                let look: Vec<usize> = (0..ids.len()).filter(|&i| maybe[i]).collect();
                if !look.is_empty() {
                    plan.insert(month, look);
                }
            }
        }
        plan
    }

    /// Stores the filters this import added ids to (before its commit).
    pub async fn save(&mut self, connection: &mut PgConnection) -> Result<()> {
        for (month, added) in std::mem::take(&mut self.added) {
            id_filters::save(connection, month, &self.filters[&month], added).await?;
        }
        Ok(())
    }
}
