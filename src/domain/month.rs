//! Booking months: the unit in which the store keeps statement entries
//! (one partition each), and in which retention forgets them.

use super::window::Statement;
use chrono::{Datelike, Months, NaiveDate};
use std::fmt;

/// A calendar month of booking dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first_day: NaiveDate,
}

impl Month {
    /// The month `date` falls in.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            first_day: date.with_day(1).expect("every month has a first day"),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        self.first_day
    }

    /// The first day of the next month.
    pub fn end(self) -> NaiveDate {
        self.first_day + Months::new(1)
    }

    pub fn last_day(self) -> NaiveDate {
        self.end().pred_opt().expect("a month ends after it starts")
    }

    /// The month `n` months later (earlier when negative).
    pub fn plus(self, n: i32) -> Self {
        let first_day = if n >= 0 {
            self.first_day + Months::new(n.unsigned_abs())
        } else {
            self.first_day - Months::new(n.unsigned_abs())
        };
        Self { first_day }
    }

    /// The name of its partition of `transactions`.
    pub fn partition(self) -> String {
        format!("transactions_{}", self.first_day.format("%Y_%m"))
    }

    /// The month of a partition named by [`Month::partition`].
    pub fn of_partition(name: &str) -> Option<Self> {
        let (year, month) = name.strip_prefix("transactions_")?.split_once('_')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        Some(Self::of(date))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first_day.format("%Y-%m"))
    }
}

/// Months kept ready ahead of today's: entries may be booked up to 12
/// months ahead, and an import should never be the one creating a month.
pub const MONTHS_AHEAD: i32 = 12;

/// The months that must exist from `today` on: this one and [`MONTHS_AHEAD`].
pub fn months_ahead(today: NaiveDate) -> impl Iterator<Item = Month> {
    let current = Month::of(today);
    (0..=MONTHS_AHEAD).map(move |n| current.plus(n))
}

/// What `contas retention` may drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    /// The oldest month kept: every earlier one goes.
    pub oldest_kept: Month,
    /// The existing months before it, oldest first.
    pub drop: Vec<Month>,
}

/// Keeping fewer months would drop days a statement can still reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooFewMonths {
    pub asked: u32,
    pub earliest_servable: NaiveDate,
}

impl fmt::Display for TooFewMonths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "keeping {} months back would drop booking dates the API still serves (from {} on); \
             keep at least 12",
            self.asked, self.earliest_servable
        )
    }
}

impl std::error::Error for TooFewMonths {}

/// Keeps today's month and `keep_months` before it; drops every existing
/// month before those. Refuses to drop a day any statement window can still
/// reach from `today` (`/transactions` reaches 12 months back).
pub fn retention_plan(
    existing: &[Month],
    today: NaiveDate,
    keep_months: u32,
) -> Result<RetentionPlan, TooFewMonths> {
    let earliest_servable = Statement::Full.earliest(today);
    let oldest_kept = Month::of(today).plus(-(keep_months.min(i32::MAX as u32) as i32));
    if oldest_kept.first_day() > earliest_servable {
        return Err(TooFewMonths {
            asked: keep_months,
            earliest_servable,
        });
    }
    let mut drop: Vec<Month> = existing
        .iter()
        .copied()
        .filter(|m| *m < oldest_kept)
        .collect();
    drop.sort();
    Ok(RetentionPlan { oldest_kept, drop })
}

/// Whether `month` is closed on `today`: it ended long enough ago that the
/// bank's corrections (removals and late entries, on D+1) are in, so it can
/// be rewritten in statement order once.
pub fn is_closed(month: Month, today: NaiveDate) -> bool {
    const SETTLING_DAYS: u64 = 3;
    month.end() + chrono::Days::new(SETTLING_DAYS) <= today
}

/// Room for how many completed ids a filter of `month`, holding `ids` on
/// `today`, should be made with: a closed month holds what it will hold; an
/// open one keeps filling at its pace so far; a month ahead, twice what it
/// holds.
pub fn filter_capacity(month: Month, today: NaiveDate, ids: u64) -> u64 {
    if is_closed(month, today) {
        return ids;
    }
    if month.first_day() > today {
        return ids.saturating_mul(2);
    }
    let days = (month.end() - month.first_day()).num_days() as u64;
    let elapsed = ((today.min(month.last_day()) - month.first_day()).num_days() + 1) as u64;
    ids.saturating_mul(days) / elapsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn month(text: &str) -> Month {
        Month::of(day(&format!("{text}-01")))
    }

    #[test]
    fn months_and_their_partitions() {
        let m = Month::of(day("2026-02-17"));
        assert_eq!(m.to_string(), "2026-02");
        assert_eq!(m.first_day(), day("2026-02-01"));
        assert_eq!(m.last_day(), day("2026-02-28"));
        assert_eq!(m.end(), day("2026-03-01"));
        assert_eq!(m.plus(11), month("2027-01"));
        assert_eq!(m.plus(-2), month("2025-12"));
        assert_eq!(m.partition(), "transactions_2026_02");
        assert_eq!(Month::of_partition("transactions_2026_02"), Some(m));
        for other in [
            "transactions_2026_13",
            "transactions_26_02",
            "transactions_2026_2",
            "transactions_2026_02_x",
            "accounts_2026_02",
            "transactions",
        ] {
            assert_eq!(Month::of_partition(other), None, "{other}");
        }
        let ahead: Vec<Month> = months_ahead(day("2026-12-31")).collect();
        assert_eq!(ahead.len(), 13);
        assert_eq!(ahead[0], month("2026-12"));
        assert_eq!(ahead[12], month("2027-12"));
    }

    /// Today on the first and on the last day of a month: the month 12
    /// back holds a day `/transactions` still serves, and stays; the one
    /// before it goes.
    #[test]
    fn retention_never_drops_a_day_a_statement_can_reach() {
        let existing: Vec<Month> = (0..30).map(|n| month("2025-01").plus(n)).collect();
        for today in [
            "2026-12-01",
            "2026-12-31",
            "2026-03-01",
            "2026-02-28",
            "2028-02-29",
        ] {
            let today = day(today);
            let plan = retention_plan(&existing, today, 12).unwrap();
            let earliest = Statement::Full.earliest(today);
            assert_eq!(plan.oldest_kept, Month::of(earliest), "{today}");
            assert!(plan.oldest_kept.first_day() <= earliest);
            assert!(plan.drop.iter().all(|m| m.last_day() < earliest), "{today}");
            assert_eq!(plan.drop.last(), Some(&Month::of(earliest).plus(-1)));
            assert_eq!(plan.drop.first(), Some(&month("2025-01")));
        }
        let plan = retention_plan(&existing, day("2026-12-01"), 12).unwrap();
        assert_eq!(plan.oldest_kept, month("2025-12"));
        assert_eq!(plan.drop.len(), 11, "2025-01 to 2025-11");
        let plan = retention_plan(&existing, day("2026-12-31"), 24).unwrap();
        assert_eq!(plan.oldest_kept, month("2024-12"));
        assert!(plan.drop.is_empty());
    }

    #[test]
    fn keeping_fewer_than_12_months_is_refused() {
        let refused = retention_plan(&[], day("2026-12-01"), 11).unwrap_err();
        assert_eq!(refused.earliest_servable, day("2025-12-01"));
        assert!(refused.to_string().contains("at least 12"), "{refused}");
        assert!(retention_plan(&[], day("2026-12-31"), 0).is_err());
    }

    #[test]
    fn an_open_month_is_filtered_for_what_it_will_hold() {
        let december = month("2026-12");
        assert_eq!(filter_capacity(december, day("2026-12-01"), 100), 3100);
        assert_eq!(filter_capacity(december, day("2026-12-10"), 100), 310);
        assert_eq!(filter_capacity(december, day("2026-12-31"), 100), 100);
        assert_eq!(
            filter_capacity(month("2026-11"), day("2026-12-02"), 100),
            100
        );
        assert_eq!(
            filter_capacity(month("2026-10"), day("2026-12-02"), 100),
            100
        );
        assert_eq!(
            filter_capacity(month("2027-01"), day("2026-12-02"), 100),
            200
        );
    }

    #[test]
    fn a_month_closes_three_days_after_it_ends() {
        let november = month("2026-11");
        assert!(!is_closed(november, day("2026-11-30")));
        assert!(!is_closed(november, day("2026-12-03")));
        assert!(is_closed(november, day("2026-12-04")));
        assert!(is_closed(month("2026-10"), day("2026-12-01")));
    }
}
