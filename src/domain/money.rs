//! Money is `rust_decimal::Decimal` end to end; the contract renders it as a
//! string with 2 to 4 decimals (`^-?\d{1,15}\.\d{2,4}$`).

use rust_decimal::Decimal;
use std::fmt;

/// Largest number of integer digits the contract's pattern allows.
const MAX_INTEGER_DIGITS: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    Format,
    Negative,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::Format => f.write_str(
                "must be a decimal string with up to 15 integer digits and 2 to 4 decimals, e.g. \"1000.04\"",
            ),
            MoneyError::Negative => f.write_str("must not be negative"),
        }
    }
}

/// Parses an amount written the contract's way. Only the available balance
/// may be negative, so callers say whether a sign is allowed.
pub fn parse(text: &str, allow_negative: bool) -> Result<Decimal, MoneyError> {
    let unsigned = text.strip_prefix('-');
    if unsigned.is_some() && !allow_negative {
        return Err(MoneyError::Negative);
    }
    let digits = unsigned.unwrap_or(text);
    let (integer, fraction) = digits.split_once('.').ok_or(MoneyError::Format)?;
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty()
        || integer.len() > MAX_INTEGER_DIGITS
        || !(2..=4).contains(&fraction.len())
        || !all_digits(integer)
        || !all_digits(fraction)
    {
        return Err(MoneyError::Format);
    }
    text.parse::<Decimal>().map_err(|_| MoneyError::Format)
}

/// Renders an amount with the fewest decimals between 2 and 4 that keep its
/// value, whatever scale the database handed back (NUMERIC drops or pads
/// trailing zeros depending on the column).
pub fn render(amount: Decimal) -> String {
    let mut value = amount.round_dp(4).normalize();
    if value.scale() < 2 {
        value.rescale(2);
    }
    if value.is_zero() {
        // "-0.00" would be a negative zero to a reader; there is no such money.
        value.set_sign_positive(true);
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn renders_between_two_and_four_decimals() {
        assert_eq!(render(dec("0")), "0.00");
        assert_eq!(render(dec("0.0000")), "0.00");
        assert_eq!(render(dec("1000.0400")), "1000.04");
        assert_eq!(render(dec("1000.0450")), "1000.045");
        assert_eq!(render(dec("12.3456")), "12.3456");
        assert_eq!(render(dec("5")), "5.00");
        assert_eq!(render(dec("-25.5")), "-25.50");
        assert_eq!(render(dec("-0.00")), "0.00");
        assert_eq!(render(dec("999999999999999.9999")), "999999999999999.9999");
    }

    #[test]
    fn rounds_beyond_four_decimals() {
        assert_eq!(render(dec("1.23456")), "1.2346");
    }

    #[test]
    fn parses_the_contract_pattern_only() {
        assert_eq!(parse("1500.00", false), Ok(dec("1500.00")));
        assert_eq!(parse("0.1234", false), Ok(dec("0.1234")));
        assert_eq!(parse("-10.00", true), Ok(dec("-10.00")));
        assert_eq!(parse("-10.00", false), Err(MoneyError::Negative));
        for bad in [
            "10",
            "10.",
            ".50",
            "10.5",
            "10.12345",
            "1e3",
            "+1.00",
            "1,00",
            "",
            "-",
            "1 0.00",
            "1234567890123456.00",
        ] {
            assert_eq!(parse(bad, true), Err(MoneyError::Format), "{bad:?}");
        }
    }

    #[test]
    fn render_of_parse_is_stable() {
        for s in ["0.00", "1.50", "1.505", "1.5055", "-3.10"] {
            assert_eq!(render(parse(s, true).unwrap()), s);
        }
    }
}
