//! Booking-date windows of the statement operations.
//!
//! `/transactions` may reach 12 months back and 12 months ahead of today;
//! `/transactions-current` 7 days back (D-6..D) and 12 months ahead. Both
//! bounds are sent or neither; neither means today..today.

use chrono::{Days, Months, NaiveDate};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statement {
    /// `/transactions`
    Full,
    /// `/transactions-current`
    Current,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    OnlyOneBound,
    FromAfterTo,
    TooFarBack { earliest: NaiveDate },
    TooFarAhead { latest: NaiveDate },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::OnlyOneBound => {
                f.write_str("both booking-date bounds must be sent, or neither")
            }
            WindowError::FromAfterTo => {
                f.write_str("the initial booking date is after the final one")
            }
            WindowError::TooFarBack { earliest } => {
                write!(f, "the window may not start before {earliest}")
            }
            WindowError::TooFarAhead { latest } => {
                write!(f, "the window may not end after {latest}")
            }
        }
    }
}

impl Statement {
    /// Earliest booking date this statement may reach from `today`.
    pub fn earliest(self, today: NaiveDate) -> NaiveDate {
        match self {
            Statement::Full => today.checked_sub_months(Months::new(12)),
            Statement::Current => today.checked_sub_days(Days::new(6)),
        }
        .unwrap_or(NaiveDate::MIN)
    }

    /// Latest booking date any statement may reach from `today`.
    pub fn latest(self, today: NaiveDate) -> NaiveDate {
        today
            .checked_add_months(Months::new(12))
            .unwrap_or(NaiveDate::MAX)
    }

    pub fn window(
        self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<BookingWindow, WindowError> {
        let (from, to) = match (from, to) {
            (None, None) => {
                return Ok(BookingWindow {
                    from: today,
                    to: today,
                });
            }
            (Some(from), Some(to)) => (from, to),
            _ => return Err(WindowError::OnlyOneBound),
        };
        if from > to {
            return Err(WindowError::FromAfterTo);
        }
        let earliest = self.earliest(today);
        if from < earliest {
            return Err(WindowError::TooFarBack { earliest });
        }
        let latest = self.latest(today);
        if to > latest {
            return Err(WindowError::TooFarAhead { latest });
        }
        Ok(BookingWindow { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const TODAY: &str = "2026-11-22";

    #[test]
    fn no_bounds_mean_today() {
        for s in [Statement::Full, Statement::Current] {
            assert_eq!(
                s.window(None, None, d(TODAY)),
                Ok(BookingWindow {
                    from: d(TODAY),
                    to: d(TODAY)
                })
            );
        }
    }

    #[test]
    fn one_bound_alone_is_refused() {
        assert_eq!(
            Statement::Full.window(Some(d(TODAY)), None, d(TODAY)),
            Err(WindowError::OnlyOneBound)
        );
        assert_eq!(
            Statement::Current.window(None, Some(d(TODAY)), d(TODAY)),
            Err(WindowError::OnlyOneBound)
        );
    }

    #[test]
    fn full_statement_reaches_twelve_months_each_way() {
        let ok = Statement::Full.window(Some(d("2025-11-22")), Some(d("2027-11-22")), d(TODAY));
        assert!(ok.is_ok());
        assert_eq!(
            Statement::Full.window(Some(d("2025-11-21")), Some(d(TODAY)), d(TODAY)),
            Err(WindowError::TooFarBack {
                earliest: d("2025-11-22")
            })
        );
        assert_eq!(
            Statement::Full.window(Some(d(TODAY)), Some(d("2027-11-23")), d(TODAY)),
            Err(WindowError::TooFarAhead {
                latest: d("2027-11-22")
            })
        );
    }

    #[test]
    fn current_statement_reaches_d_minus_6() {
        assert!(
            Statement::Current
                .window(Some(d("2026-11-16")), Some(d(TODAY)), d(TODAY))
                .is_ok()
        );
        assert_eq!(
            Statement::Current.window(Some(d("2026-11-15")), Some(d(TODAY)), d(TODAY)),
            Err(WindowError::TooFarBack {
                earliest: d("2026-11-16")
            })
        );
        assert!(
            Statement::Current
                .window(Some(d(TODAY)), Some(d("2027-11-22")), d(TODAY))
                .is_ok()
        );
    }

    #[test]
    fn from_after_to_is_refused() {
        assert_eq!(
            Statement::Full.window(Some(d("2026-11-20")), Some(d("2026-11-19")), d(TODAY)),
            Err(WindowError::FromAfterTo)
        );
    }

    #[test]
    fn month_arithmetic_clamps_to_month_end() {
        // 12 months before 2028-02-29 is 2027-02-28.
        assert_eq!(Statement::Full.earliest(d("2028-02-29")), d("2027-02-28"));
    }
}
