//! Durations as operators write them in flags and environment variables:
//! a whole number and a unit, `500ms`, `5s`, `2m`.

use std::time::Duration;

/// Parses `<whole number><unit>` with unit `ms`, `s` or `m`. A bare number
/// is refused (seconds or milliseconds would be a guess), and so is zero:
/// every duration this service takes bounds something that must be allowed
/// to happen.
pub fn parse(text: &str) -> Result<Duration, String> {
    let duration = parse_allowing_zero(text)?;
    if duration.is_zero() {
        return Err(format!(
            "{:?} is zero; a positive duration is needed",
            text.trim()
        ));
    }
    Ok(duration)
}

/// As [`parse`], for the one kind of setting where zero means "none": a
/// delay (`0s`).
pub fn parse_allowing_zero(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit; write e.g. 500ms, 5s or 2m"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number; write e.g. 5s"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}; use ms, s or m"
            ));
        }
    };
    Ok(duration)
}

/// Writes a duration the way [`parse`] reads it, in the largest whole unit.
pub fn render(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis > 0 && millis.is_multiple_of(60_000) {
        format!("{}m", millis / 60_000)
    } else if millis > 0 && millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_may_be_zero() {
        assert_eq!(parse_allowing_zero("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_allowing_zero("5s"), Ok(Duration::from_secs(5)));
        assert!(parse("0s").is_err());
        assert!(parse_allowing_zero("0").is_err());
    }

    #[test]
    fn whole_numbers_with_a_unit() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse(" 20s "), Ok(Duration::from_secs(20)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1 s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn renders_what_it_parses() {
        for text in ["500ms", "5s", "2m", "90s", "1500ms"] {
            assert_eq!(render(parse(text).unwrap()), text);
        }
    }

    #[test]
    fn refuses_what_would_be_a_guess() {
        for bad in [
            "5",
            "",
            "s",
            "1.5s",
            "-1s",
            "5h",
            "5 sec",
            "0s",
            "0ms",
            "99999999999999999999s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
