//! How the seed writes amounts, instants and ids: the contract's formats,
//! without chrono's format parsing on the hot path.

use crate::domain::time::brasilia;
use chrono::{DateTime, Datelike, Timelike, Utc};
use rand::RngExt;
use rust_decimal::Decimal;
use std::fmt;

/// An amount the contract's way, with two decimals.
pub(super) fn amount_text(value: Decimal) -> String {
    let mut value = value.round_dp(2);
    value.rescale(2);
    value.to_string()
}

/// `2026-11-20T14:30:00.123Z` (as `domain::time::render_millis`, without
/// chrono's format parsing on this hot path).
pub(super) fn millis_text(at: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.timestamp_subsec_millis()
    )
}

/// `YYYYMMDDhhmmss` in Brasília time, for transaction ids. To the second:
/// seeding again later shifts every instant, and so every id, while seeding
/// again within the same second gives the very same records.
pub(super) struct Stamp(pub(super) DateTime<Utc>);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0.with_timezone(&brasilia());
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            l.year(),
            l.month(),
            l.day(),
            l.hour(),
            l.minute(),
            l.second()
        )
    }
}

pub(super) fn stamp_text(at: DateTime<Utc>) -> String {
    Stamp(at).to_string()
}

/// A random (version 4) UUID.
pub(super) fn uuid(rng: &mut impl RngExt) -> String {
    let a: u128 = rng.random();
    let a = (a & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
