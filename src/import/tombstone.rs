//! What a removed transaction leaves behind: a digest of its content, so a
//! replayed file can be told from new content without keeping the removed
//! entry (no personal data outlives it).

use crate::domain::counterparty::Counterparty;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// The fields import compares between two copies of a completed
/// transaction: its id by identity (the canonical key), its amount by value.
pub(crate) struct Content<'a> {
    pub key: &'a str,
    pub credit_debit: &'a str,
    pub name: &'a str,
    pub transaction_type: &'a str,
    pub amount: Decimal,
    pub currency: &'a str,
    pub date_time: DateTime<Utc>,
    pub booking_date: NaiveDate,
    pub counterparty: &'a Counterparty,
}

impl Content<'_> {
    /// SHA-256 over every field, each length-prefixed (absent ones marked),
    /// so no two different contents share an encoding.
    pub fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        let mut text = |value: Option<&str>| match value {
            Some(v) => {
                hash.update((v.len() as u32).to_le_bytes());
                hash.update(v.as_bytes());
            }
            None => hash.update(u32::MAX.to_le_bytes()),
        };
        text(Some(self.key));
        text(Some(self.credit_debit));
        text(Some(self.name));
        text(Some(self.transaction_type));
        text(Some(&self.amount.normalize().to_string()));
        text(Some(self.currency));
        text(Some(&self.date_time.timestamp_micros().to_string()));
        text(Some(&self.booking_date.to_string()));
        for (_, value) in self.counterparty.fields() {
            text(value);
        }
        hash.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vocabulary::PersonType;
    use std::str::FromStr;

    fn content() -> Content<'static> {
        Content {
            key: r#"[["id","TX-1"]]"#,
            credit_debit: "CREDITO",
            name: "PIX RECEBIDO",
            transaction_type: "PIX",
            amount: Decimal::from_str("1500.00").unwrap(),
            currency: "BRL",
            date_time: DateTime::parse_from_rfc3339("2026-11-20T14:30:00Z")
                .unwrap()
                .to_utc(),
            booking_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            counterparty: leak(Counterparty {
                document: Some("43908445778".into()),
                person_type: Some(PersonType::Natural),
                ..Counterparty::default()
            }),
        }
    }

    fn leak(counterparty: Counterparty) -> &'static Counterparty {
        Box::leak(Box::new(counterparty))
    }

    #[test]
    fn the_same_content_has_the_same_digest_whatever_the_amounts_scale() {
        let more_decimals = Content {
            amount: Decimal::from_str("1500.0000").unwrap(),
            ..content()
        };
        assert_eq!(content().digest(), more_decimals.digest());
    }

    #[test]
    fn any_other_field_changes_the_digest() {
        let base = content().digest();
        let changed = [
            Content {
                key: r#"[["id","TX-2"]]"#,
                ..content()
            },
            Content {
                credit_debit: "DEBITO",
                ..content()
            },
            Content {
                name: "PIX RECEBIDO ",
                ..content()
            },
            Content {
                amount: Decimal::from_str("1500.01").unwrap(),
                ..content()
            },
            Content {
                booking_date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
                ..content()
            },
            Content {
                date_time: content().date_time + chrono::Duration::microseconds(1),
                ..content()
            },
            // A field moved to its neighbour is another content.
            Content {
                counterparty: leak(Counterparty {
                    person_type: Some(PersonType::Natural),
                    compe_code: Some("43908445778".into()),
                    ..Counterparty::default()
                }),
                ..content()
            },
            Content {
                counterparty: leak(Counterparty {
                    branch_code: Some(String::new()),
                    ..content().counterparty.clone()
                }),
                ..content()
            },
        ];
        for (i, other) in changed.iter().enumerate() {
            assert_ne!(other.digest(), base, "change {i}");
        }
    }
}
