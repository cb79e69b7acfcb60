//! Dates and times the contract's way: "today" is Brasília's date and
//! date-times render in the exact patterns each schema demands.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Brasília has kept UTC−3 all year since daylight saving time ended in 2019.
pub fn brasilia() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).expect("UTC-3 is a valid offset")
}

/// The calendar date in Brasília at `now`.
pub fn brasilia_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&brasilia()).date_naive()
}

/// `2021-05-21T08:30:00Z`: balances' `updateDateTime` and every `requestDateTime`.
pub fn render_seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2016-01-29T12:29:03.374Z`: transactions' `transactionDateTime`.
pub fn render_millis(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn brasilia_date_lags_utc_by_three_hours() {
        let just_after_midnight_utc = Utc.with_ymd_and_hms(2026, 11, 22, 2, 59, 59).unwrap();
        assert_eq!(
            brasilia_date(just_after_midnight_utc),
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
        );
        let three_utc = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        assert_eq!(
            brasilia_date(three_utc),
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
        );
    }

    #[test]
    fn renders_contract_patterns() {
        let at = Utc.with_ymd_and_hms(2021, 5, 21, 8, 30, 0).unwrap();
        assert_eq!(render_seconds(at), "2021-05-21T08:30:00Z");
        let at = at + chrono::Duration::milliseconds(374);
        assert_eq!(render_seconds(at), "2021-05-21T08:30:00Z");
        assert_eq!(render_millis(at), "2021-05-21T08:30:00.374Z");
        let whole = Utc.with_ymd_and_hms(2021, 5, 21, 0, 0, 0).unwrap();
        assert_eq!(render_millis(whole), "2021-05-21T00:00:00.000Z");
    }
}
