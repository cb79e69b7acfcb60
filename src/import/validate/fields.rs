//! The field rules of the format: what makes a COMPE code, an account
//! number, a currency or a date right. The contract's words (account
//! types, statuses, ...) and identifiers (brand, CNPJ, document) are the
//! domain's own types, with the same rules the API applies.

use crate::domain::identity::{BrandId, Document};
use chrono::{DateTime, NaiveDate, Utc};

/// The format refuses U+0000 to U+001F in every text: no field of the
/// contract means one, and PostgreSQL's text cannot store U+0000.
pub(crate) fn no_control_characters(v: &str) -> Result<(), String> {
    match v.chars().find(|c| *c < ' ') {
        None => Ok(()),
        Some(c) => Err(format!(
            "must not contain control characters (U+0000 to U+001F): holds U+{:04X}",
            c as u32
        )),
    }
}

fn digits(v: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn brand_id(v: &str) -> Result<(), String> {
    BrandId::parse(v).map(drop).map_err(|e| e.to_string())
}

pub(crate) fn brand_name(v: &str) -> Result<(), String> {
    if v.chars().count() <= 80 {
        Ok(())
    } else {
        Err("must be at most 80 characters long".into())
    }
}

pub(crate) fn document(v: &str) -> Result<(), String> {
    Document::parse(v).map(drop).map_err(|e| e.to_string())
}

pub(crate) fn compe_code(v: &str) -> Result<(), String> {
    if digits(v, 3, 3) {
        Ok(())
    } else {
        Err("must be 3 digits".into())
    }
}

pub(crate) fn branch_code(v: &str) -> Result<(), String> {
    if digits(v, 4, 4) {
        Ok(())
    } else {
        Err("must be 4 digits".into())
    }
}

pub(crate) fn account_number(v: &str) -> Result<(), String> {
    if digits(v, 8, 20) {
        Ok(())
    } else {
        Err("must be 8 to 20 digits".into())
    }
}

pub(crate) fn check_digit(v: &str) -> Result<(), String> {
    if v.chars().count() == 1 {
        Ok(())
    } else {
        Err("must be exactly one character".into())
    }
}

pub(crate) fn currency(v: &str) -> Result<(), String> {
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err("must be an ISO 4217 code of 3 capital letters".into())
    }
}

pub(crate) fn transaction_name(v: &str) -> Result<(), String> {
    // Fewer bytes than the limit means fewer characters too.
    if v.len() <= 200 || v.chars().count() <= 200 {
        Ok(())
    } else {
        Err("must be at most 200 characters long".into())
    }
}

pub(super) fn any(_: &str) -> Result<(), String> {
    Ok(())
}

/// An RFC 3339 date-time, kept to the microsecond (what PostgreSQL stores).
pub(crate) fn date_time(v: &str) -> Result<DateTime<Utc>, String> {
    let parsed = DateTime::parse_from_rfc3339(v)
        .map_err(|_| "must be an RFC 3339 date-time, e.g. 2026-11-20T14:30:00.000Z".to_owned())?;
    let at = parsed.with_timezone(&Utc);
    if at.timestamp_subsec_nanos() % 1000 != 0 {
        return Err("must not be more precise than microseconds".into());
    }
    if at.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err("must not be a leap second".into());
    }
    Ok(at)
}

/// An RFC 3339 instant written in UTC (`Z` or `+00:00`).
pub(crate) fn utc_date_time(v: &str) -> Result<DateTime<Utc>, String> {
    let at = date_time(v)?;
    if !(v.ends_with('Z') || v.ends_with('z') || v.ends_with("+00:00")) {
        return Err("must be in UTC (end with Z), e.g. 2026-11-20T14:30:00.000Z".into());
    }
    Ok(at)
}

/// `YYYY-MM-DD`.
pub(crate) fn date(v: &str) -> Result<NaiveDate, String> {
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err("must be a date YYYY-MM-DD".into());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "is not a valid calendar date".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    #[test]
    fn patterns() {
        assert!(document("12345678901").is_ok());
        assert!(document("12345678901234").is_ok());
        for bad in [
            "1234567890",
            "123456789012",
            "1234567890123",
            "123456789012345",
            "1234567890a",
            "",
        ] {
            assert!(document(bad).is_err(), "{bad}");
        }
        assert!(compe_code("001").is_ok());
        assert!(
            compe_code("01").is_err() && compe_code("0011").is_err() && compe_code("0a1").is_err()
        );
        assert!(branch_code("0001").is_ok());
        assert!(branch_code("001").is_err() && branch_code("00011").is_err());
        assert!(
            account_number("12345678").is_ok() && account_number("12345678901234567890").is_ok()
        );
        assert!(
            account_number("1234567").is_err() && account_number("123456789012345678901").is_err()
        );
        assert!(account_number("1234567x").is_err());
        assert!(check_digit("X").is_ok() && check_digit("ç").is_ok());
        assert!(check_digit("").is_err() && check_digit("12").is_err());
        assert!(currency("BRL").is_ok());
        assert!(currency("brl").is_err() && currency("BR").is_err() && currency("BRLL").is_err());
        assert!(brand_id("a").is_ok() && brand_id(&"a".repeat(50)).is_ok());
        assert!(brand_id("").is_err() && brand_id(&"a".repeat(51)).is_err());
        assert!(brand_name(&"ã".repeat(80)).is_ok() && brand_name(&"a".repeat(81)).is_err());
        assert!(
            transaction_name(&"ã".repeat(200)).is_ok()
                && transaction_name(&"a".repeat(201)).is_err()
        );
    }

    #[test]
    fn date_times() {
        let at = utc_date_time("2026-11-21T02:30:00.000Z").unwrap();
        assert_eq!(
            time::brasilia_date(at),
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        assert!(utc_date_time("2026-11-21T02:30:00Z").is_ok());
        assert!(utc_date_time("2026-11-21T02:30:00.123456Z").is_ok());
        assert!(utc_date_time("2026-11-21T02:30:00+00:00").is_ok());
        assert!(utc_date_time("2026-11-21T02:30:00.1234567Z").is_err());
        assert!(utc_date_time("2026-11-21T02:30:00-03:00").is_err());
        assert!(utc_date_time("2026-11-21T02:30:00").is_err());
        assert!(utc_date_time("2026-02-30T02:30:00Z").is_err());
        // Balances' updateDateTime may carry any offset.
        assert_eq!(
            date_time("2026-11-20T07:00:00-03:00").unwrap(),
            utc_date_time("2026-11-20T10:00:00Z").unwrap()
        );
        assert!(date("2026-11-20").is_ok());
        assert!(
            date("2026-2-01").is_err() && date("2026-02-30").is_err() && date("20261120").is_err()
        );
    }
}
