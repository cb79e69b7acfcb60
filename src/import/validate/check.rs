//! The collector of a record's errors: each field is checked, and every
//! bad one reported, before the record is refused or becomes an item.

use super::fields::no_control_characters;
use super::{Definition, Invalid};
use crate::domain::identity::IdentityError;
use crate::domain::legacy_id::LegacyId;
use crate::domain::money;
use crate::domain::vocabulary::Word;
use crate::import::FieldError;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Collects the errors of one record.
#[derive(Default)]
pub(super) struct Check {
    pub(super) errors: Vec<FieldError>,
    /// Prepended to field names (`transactions[3].` inside a snapshot).
    pub(super) prefix: String,
}

pub(super) type Rule = fn(&str) -> Result<(), String>;

impl Check {
    pub(super) fn fail(&mut self, field: &str, reason: impl Into<String>) {
        let field = if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}{field}", self.prefix)
        };
        self.errors.push(FieldError::new(field, reason));
    }

    pub(super) fn required<T>(&mut self, value: Option<T>, field: &str) -> Option<T> {
        if value.is_none() {
            self.fail(field, "is required");
        }
        value
    }

    /// A required text checked by `rule`.
    pub(super) fn text(
        &mut self,
        value: Option<String>,
        field: &str,
        rule: Rule,
    ) -> Option<String> {
        let v = self.required(value, field)?;
        self.rule(v, field, rule)
    }

    /// An optional text checked by `rule` when present.
    pub(super) fn optional(
        &mut self,
        value: Option<String>,
        field: &str,
        rule: Rule,
    ) -> Option<Option<String>> {
        match value {
            None => Some(None),
            Some(v) => self.rule(v, field, rule).map(Some),
        }
    }

    /// A required identifier (brand, CPF/CNPJ), parsed by its domain type.
    pub(super) fn identifier<T>(&mut self, value: Option<String>, field: &str) -> Option<T>
    where
        T: TryFrom<String, Error = IdentityError>,
    {
        let v = self.required(value, field)?;
        let parsed =
            no_control_characters(&v).and_then(|()| T::try_from(v).map_err(|e| e.to_string()));
        parsed.map_err(|reason| self.fail(field, reason)).ok()
    }

    pub(super) fn rule(&mut self, v: String, field: &str, rule: Rule) -> Option<String> {
        match no_control_characters(&v).and_then(|()| rule(&v)) {
            Ok(()) => Some(v),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    /// A required word of one of the contract's enumerations.
    pub(super) fn choice<W: Word>(&mut self, value: &Option<String>, field: &str) -> Option<W> {
        let v = self.required(value.as_deref(), field)?;
        self.one_of(v, field)
    }

    pub(super) fn one_of<W: Word>(&mut self, v: &str, field: &str) -> Option<W> {
        match v.parse() {
            Ok(word) => Some(word),
            Err(unknown) => {
                self.fail(field, unknown.to_string());
                None
            }
        }
    }

    pub(super) fn money(
        &mut self,
        value: &Option<String>,
        field: &str,
        allow_negative: bool,
    ) -> Option<Decimal> {
        let v = self.required(value.as_deref(), field)?;
        self.amount(v, field, allow_negative)
    }

    pub(super) fn amount(&mut self, v: &str, field: &str, allow_negative: bool) -> Option<Decimal> {
        match money::parse(v, allow_negative) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(field, e.to_string());
                None
            }
        }
    }

    /// A legacy id's canonical key and its JSON as sent.
    pub(super) fn legacy(
        &mut self,
        value: &Option<LegacyId>,
        field: &str,
    ) -> Option<(String, String)> {
        let id = self.required(value.as_ref(), field)?;
        if let Err(reason) = id.validate() {
            self.fail(field, reason);
            return None;
        }
        Some(legacy_texts(id))
    }

    pub(super) fn date_time(
        &mut self,
        value: &Option<String>,
        field: &str,
        parse: fn(&str) -> Result<DateTime<Utc>, String>,
    ) -> Option<DateTime<Utc>> {
        let v = self.required(value.as_deref(), field)?;
        match parse(v) {
            Ok(at) => Some(at),
            Err(reason) => {
                self.fail(field, reason);
                None
            }
        }
    }

    pub(super) fn finish<T>(
        self,
        value: Option<T>,
        defines: Option<Definition>,
    ) -> Result<T, Invalid> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err((self.errors, defines)),
        }
    }
}

/// A legacy id's canonical key and its JSON as sent, the JSON written
/// directly when no character needs escaping (import does this every line).
pub(crate) fn legacy_texts(id: &LegacyId) -> (String, String) {
    fn plain(s: &str) -> bool {
        s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
    }
    if !id.0.iter().all(|kv| plain(&kv.key) && plain(&kv.value)) {
        return (
            id.canonical_key(),
            serde_json::to_string(id).expect("legacy ids always serialize"),
        );
    }
    let size: usize =
        id.0.iter()
            .map(|kv| kv.key.len() + kv.value.len() + 24)
            .sum();
    let mut json = String::with_capacity(size + 2);
    json.push('[');
    for (i, kv) in id.0.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"key\":\"");
        json.push_str(&kv.key);
        json.push_str("\",\"value\":\"");
        json.push_str(&kv.value);
        json.push_str("\"}");
    }
    json.push(']');
    (id.canonical_key(), json)
}

#[cfg(test)]
mod tests {
    use super::legacy_texts;
    use crate::import::validate::testing::lid;

    #[test]
    fn legacy_texts_match_the_domain_and_serde() {
        for id in [
            lid(&[("id", "TX-1")]),
            lid(&[("number", "1"), ("branch", "0001")]),
            lid(&[("b", "2"), ("a", "1"), ("b", "2"), ("a", "0")]),
            lid(&[("ação", "ç"), ("k", "")]),
            lid(&[("q", "a\"b"), ("t", "tab\there"), ("s", "back\\slash")]),
        ] {
            let (key, json) = legacy_texts(&id);
            assert_eq!(key, id.canonical_key());
            assert_eq!(json, serde_json::to_string(&id).unwrap());
        }
    }
}
