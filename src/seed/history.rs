//! The history: the bank's setup, then its completed transactions booking
//! day by booking day across all accounts, then the pending snapshots.

use super::documents::cnpj;
use super::entries::Series;
use super::plan::{Bank, stream};
use super::{DEMO_BRAND, DEMO_BRAND_CNPJ, DEMO_BRAND_NAME};
use crate::domain::time::brasilia;
use crate::import::{BrandRecord, CustomerRecord, Record};
use chrono::{Datelike, Duration, NaiveTime, TimeZone};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::VecDeque;
use std::sync::Arc;

/// Milliseconds in a day.
pub(super) const DAY_MS: i64 = 86_400_000;
/// Brasília's offset from UTC (see [`brasilia`]), in milliseconds.
pub(super) const BRASILIA_OFFSET_MS: i64 = -3 * 3_600_000;
/// Slices of the history whose counts are drawn together (see [`History`]).
const SLICES_PER_GROUP: usize = 32;

impl Bank {
    /// Every record of the history, in an order the import accepts: the
    /// brand, customers, accounts with their balances and limits, then the
    /// completed transactions booking day by booking day ([`History`]), then
    /// each account's pending snapshot.
    pub(super) fn records(self) -> impl Iterator<Item = Record> {
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
