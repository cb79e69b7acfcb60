//! Rows of `transactions` in PostgreSQL's binary COPY format, the cheapest
//! way for the database to take rows that cannot conflict with any other
//! (no text to split, unescape and parse: a third of its work in text COPY).

use super::validate::TxRow;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// The columns, in the order [`CopyRows::push`] writes them.
pub(crate) const COPY_TRANSACTIONS: &str = "COPY transactions (account_id, legacy_key, transaction_id, \
    completed_authorised_payment_type, credit_debit_type, transaction_name, type, amount, currency, \
    transaction_date_time, booking_date, partie_cnpj_cpf, partie_person_type, partie_compe_code, \
    partie_branch_code, partie_number, partie_check_digit) FROM STDIN (FORMAT binary)";

const FIELDS: i16 = 17;

/// PostgreSQL's epoch for dates and timestamps.
fn pg_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date")
}

/// COPY data: [`CopyRows::begin`], rows, [`CopyRows::end`]; `buf` may be
/// sent and cleared at any point in between.
#[derive(Default)]
pub(crate) struct CopyRows {
    pub buf: Vec<u8>,
    /// Rows pushed since the last [`CopyRows::clear`].
    pub rows: u64,
}

impl CopyRows {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.rows = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The header of the binary format.
    pub fn begin(&mut self) {
        self.buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        self.buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        self.buf.extend_from_slice(&0i32.to_be_bytes()); // header extension
    }

    /// The trailer of the binary format.
    pub fn end(&mut self) {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
    }

    pub fn push(&mut self, account: i64, row: &TxRow) {
        let b = &mut self.buf;
        b.extend_from_slice(&FIELDS.to_be_bytes());
        field(b, &account.to_be_bytes());
        text(b, &row.key);
        // jsonb: a version byte, then the JSON text.
        b.extend_from_slice(&(row.id_json.len() as i32 + 1).to_be_bytes());
        b.push(1);
        b.extend_from_slice(row.id_json.as_bytes());
        text(b, row.kind.as_str());
        text(b, row.credit_debit.as_str());
        text(b, &row.name);
        text(b, row.tx_type.as_str());
        numeric(b, row.amount);
        text(b, &row.currency);
        timestamp(b, row.date_time);
        date(b, row.booking_date);
        for (_, value) in row.counterparty.fields() {
            match value {
                Some(v) => text(b, v),
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        self.rows += 1;
    }
}

fn field(b: &mut Vec<u8>, data: &[u8]) {
    b.extend_from_slice(&(data.len() as i32).to_be_bytes());
    b.extend_from_slice(data);
}

fn text(b: &mut Vec<u8>, v: &str) {
    field(b, v.as_bytes());
}

fn date(b: &mut Vec<u8>, d: NaiveDate) {
    let days = (d - pg_epoch()).num_days() as i32;
    field(b, &days.to_be_bytes());
}

fn timestamp(b: &mut Vec<u8>, at: DateTime<Utc>) {
    let epoch = pg_epoch().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let micros = (at - epoch)
        .num_microseconds()
        .expect("dates of the contract fit in i64 microseconds");
    field(b, &micros.to_be_bytes());
}

/// PostgreSQL's binary `numeric`: base-10000 digits around the decimal point.
pub(crate) fn numeric(b: &mut Vec<u8>, value: Decimal) {
    let scale = value.scale() as usize;
    let digits = value.mantissa().unsigned_abs().to_string();
    // Split the decimal digits at the point, padding each side to whole
    // groups of four.
    let (int_part, frac_part) = if digits.len() > scale {
        digits.split_at(digits.len() - scale)
    } else {
        ("", digits.as_str())
    };
    let frac_pad = scale.saturating_sub(frac_part.len()); // leading zeros of the fraction
    let mut groups: Vec<i16> = Vec::with_capacity(12);
    let int_groups = int_part.len().div_ceil(4);
    let lead = int_groups * 4 - int_part.len();
    let mut acc = 0i16;
    let mut n = lead;
    for c in int_part.bytes() {
        acc = acc * 10 + i16::from(c - b'0');
        n += 1;
        if n == 4 {
            groups.push(acc);
            acc = 0;
            n = 0;
        }
    }
    let frac_digits = std::iter::repeat_n(b'0', frac_pad).chain(frac_part.bytes());
    let mut n = 0;
    for c in frac_digits {
        acc = acc * 10 + i16::from(c - b'0');
        n += 1;
        if n == 4 {
            groups.push(acc);
            acc = 0;
            n = 0;
        }
    }
    if n > 0 {
        groups.push(acc * 10i16.pow(4 - n as u32));
    }
    let mut weight = int_groups as i16 - 1;
    // No leading or trailing zero groups.
    let first = groups.iter().position(|g| *g != 0);
    let (ndigits, start) = match first {
        None => (0, 0),
        Some(first) => {
            let last = groups
                .iter()
                .rposition(|g| *g != 0)
                .expect("a non-zero group");
            weight -= first as i16;
            (last + 1 - first, first)
        }
    };
    if ndigits == 0 {
        weight = 0;
    }
    let sign: u16 = if value.is_sign_negative() && ndigits > 0 {
        0x4000
    } else {
        0
    };
    b.extend_from_slice(&((8 + 2 * ndigits) as i32).to_be_bytes());
    b.extend_from_slice(&(ndigits as i16).to_be_bytes());
    b.extend_from_slice(&weight.to_be_bytes());
    b.extend_from_slice(&sign.to_be_bytes());
    b.extend_from_slice(&(scale as i16).to_be_bytes());
    for g in &groups[start..start + ndigits] {
        b.extend_from_slice(&g.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// (ndigits, weight, sign, dscale, digits)
    fn decode(s: &str) -> (i16, i16, u16, i16, Vec<i16>) {
        let mut b = Vec::new();
        numeric(&mut b, Decimal::from_str(s).unwrap());
        let len = i32::from_be_bytes(b[0..4].try_into().unwrap()) as usize;
        assert_eq!(len, b.len() - 4);
        let h = |i: usize| i16::from_be_bytes(b[4 + 2 * i..6 + 2 * i].try_into().unwrap());
        let n = h(0);
        let digits = (0..n as usize).map(|i| h(4 + i)).collect();
        (n, h(1), h(2) as u16, h(3), digits)
    }

    #[test]
    fn numerics_in_base_10000() {
        assert_eq!(decode("1500.00"), (1, 0, 0, 2, vec![1500]));
        assert_eq!(decode("0.00"), (0, 0, 0, 2, vec![]));
        assert_eq!(decode("0.01"), (1, -1, 0, 2, vec![100]));
        assert_eq!(decode("0.1234"), (1, -1, 0, 4, vec![1234]));
        assert_eq!(decode("0.0005"), (1, -1, 0, 4, vec![5]));
        assert_eq!(decode("10000.00"), (1, 1, 0, 2, vec![1]));
        assert_eq!(decode("12345.6789"), (3, 1, 0, 4, vec![1, 2345, 6789]));
        assert_eq!(decode("-10.50"), (2, 0, 0x4000, 2, vec![10, 5000]));
        assert_eq!(
            decode("999999999999999.9999"),
            (5, 3, 0, 4, vec![999, 9999, 9999, 9999, 9999])
        );
        assert_eq!(decode("100000000.0001"), (4, 2, 0, 4, vec![1, 0, 0, 1]));
    }

    #[test]
    fn dates_and_times_from_the_2000_epoch() {
        let mut b = Vec::new();
        date(&mut b, NaiveDate::from_ymd_opt(2000, 1, 2).unwrap());
        assert_eq!(b, [0, 0, 0, 4, 0, 0, 0, 1]);
        let mut b = Vec::new();
        timestamp(
            &mut b,
            pg_epoch().and_hms_micro_opt(0, 0, 1, 5).unwrap().and_utc(),
        );
        assert_eq!(&b[4..], &1_000_005i64.to_be_bytes());
        let mut b = Vec::new();
        date(&mut b, NaiveDate::from_ymd_opt(1999, 12, 31).unwrap());
        assert_eq!(&b[4..], &(-1i32).to_be_bytes());
    }
}
