//! The records of the import format (`docs/import-format.md`), exactly as
//! a line carries them, and the parsing of one NDJSON line.
//!
//! Every field is optional here so that the validator can name each missing
//! or malformed field of a line at once; unknown fields and wrong JSON types
//! are refused by serde (`deny_unknown_fields`) with the field's path.

use super::FieldError;
use crate::domain::legacy_id::LegacyId;
use serde::{Deserialize, Serialize};

/// One line of an import file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "record", rename_all = "camelCase")]
pub enum Record {
    Brand(BrandRecord),
    Customer(CustomerRecord),
    Account(AccountRecord),
    Balance(BalanceRecord),
    OverdraftLimits(OverdraftLimitsRecord),
    Transaction(TransactionRecord),
    PendingTransactions(PendingTransactionsRecord),
    TransactionRemoval(TransactionRemovalRecord),
}

/// The record kinds, as the `record` field names them.
pub const KINDS: [&str; 8] = [
    "brand",
    "customer",
    "account",
    "balance",
    "overdraftLimits",
    "transaction",
    "pendingTransactions",
    "transactionRemoval",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BrandRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_cnpj: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomerRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<LegacyId>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compe_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_digit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holders: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BalanceRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<LegacyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatically_invested_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_date_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OverdraftLimitsRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<LegacyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdraft_contracted_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdraft_used_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unarranged_overdraft_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// The fields of one entry of an account's statement, shared by completed
/// transactions and pending entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TransactionFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<LegacyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_authorised_payment_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_debit_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partie_cnpj_cpf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partie_person_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partie_compe_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partie_branch_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partie_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partie_check_digit: Option<String>,
}

/// A completed transaction: the account it belongs to plus the entry's
/// fields. (serde's `flatten` cannot be combined with `deny_unknown_fields`,
/// so the account's fields sit beside a flattened copy of the entry on the
/// wire and are split apart by [`TransactionRecord`]'s deserializer.)
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<LegacyId>,
    #[serde(flatten)]
    pub fields: TransactionFields,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TransactionWire {
    brand_id: Option<String>,
    account_id: Option<LegacyId>,
    transaction_id: Option<LegacyId>,
    completed_authorised_payment_type: Option<String>,
    credit_debit_type: Option<String>,
    transaction_name: Option<String>,
    #[serde(rename = "type")]
    transaction_type: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    transaction_date_time: Option<String>,
    booking_date: Option<String>,
    partie_cnpj_cpf: Option<String>,
    partie_person_type: Option<String>,
    partie_compe_code: Option<String>,
    partie_branch_code: Option<String>,
    partie_number: Option<String>,
    partie_check_digit: Option<String>,
}

impl<'de> Deserialize<'de> for TransactionRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = TransactionWire::deserialize(deserializer)?;
        Ok(TransactionRecord {
            brand_id: w.brand_id,
            account_id: w.account_id,
            fields: TransactionFields {
                transaction_id: w.transaction_id,
                completed_authorised_payment_type: w.completed_authorised_payment_type,
                credit_debit_type: w.credit_debit_type,
                transaction_name: w.transaction_name,
                transaction_type: w.transaction_type,
                amount: w.amount,
                currency: w.currency,
                transaction_date_time: w.transaction_date_time,
                booking_date: w.booking_date,
                partie_cnpj_cpf: w.partie_cnpj_cpf,
                partie_person_type: w.partie_person_type,
                partie_compe_code: w.partie_compe_code,
                partie_branch_code: w.partie_branch_code,
                partie_number: w.partie_number,
                partie_check_digit: w.partie_check_digit,
            },
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PendingTransactionsRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<LegacyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<TransactionFields>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TransactionRemovalRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<LegacyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<LegacyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Record {
    /// The record's line, as a writer of the format would emit it.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("records always serialize")
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Record::Brand(_) => "brand",
            Record::Customer(_) => "customer",
            Record::Account(_) => "account",
            Record::Balance(_) => "balance",
            Record::OverdraftLimits(_) => "overdraftLimits",
            Record::Transaction(_) => "transaction",
            Record::PendingTransactions(_) => "pendingTransactions",
            Record::TransactionRemoval(_) => "transactionRemoval",
        }
    }
}

/// Parses one non-blank line (without its line terminator). The buffer may
/// be modified: the common layout, with `record` as the first member, is
/// parsed in place by turning the rest of the object into an object of its
/// own.
pub fn parse_line(line: &mut [u8]) -> Result<Record, FieldError> {
    const PREFIX: &[u8] = b"{\"record\":\"";
    if line.starts_with(PREFIX) {
        let rest = &line[PREFIX.len()..];
        if let Some(end) = rest.iter().position(|&b| b == b'"' || b == b'\\')
            && rest[end] == b'"'
        {
            let after = PREFIX.len() + end + 1;
            match line.get(after) {
                Some(b',') => {
                    let kind = String::from_utf8_lossy(&line[PREFIX.len()..after - 1]).into_owned();
                    line[after] = b'{';
                    let parsed = parse_json_object(&kind, &line[after..]);
                    line[after] = b',';
                    return parsed;
                }
                Some(b'}') if line[after + 1..].iter().all(u8::is_ascii_whitespace) => {
                    let kind = String::from_utf8_lossy(&line[PREFIX.len()..after - 1]).into_owned();
                    return parse_json_object(&kind, b"{}");
                }
                _ => {}
            }
        }
    }
    parse_general(line)
}

/// `body` is the record's object without its `record` member.
fn parse_json_object(kind: &str, body: &[u8]) -> Result<Record, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let record = parse_kind(kind, &mut de)?;
    de.end()
        .map_err(|e| FieldError::new("json", json_reason(&e)))?;
    Ok(record)
}

/// Any other layout: through a JSON value, with the `record` member taken out.
fn parse_general(line: &[u8]) -> Result<Record, FieldError> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| FieldError::new("json", json_reason(&e)))?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(FieldError::new("json", "each line must be a JSON object"));
    };
    let kind = match object.remove("record") {
        None | Some(serde_json::Value::Null) => {
            return Err(FieldError::new("record", "is required"));
        }
        Some(serde_json::Value::String(kind)) => kind,
        Some(other) => {
            return Err(FieldError::new(
                "record",
                format!("must be a string, not {other}"),
            ));
        }
    };
    parse_kind(&kind, serde_json::Value::Object(object))
}

fn parse_kind<'de, D: serde::Deserializer<'de>>(kind: &str, de: D) -> Result<Record, FieldError> {
    fn typed<'de, T: serde::de::DeserializeOwned, D: serde::Deserializer<'de>>(
        de: D,
    ) -> Result<T, FieldError> {
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            serde_error(&path, &e.into_inner().to_string())
        })
    }
    Ok(match kind {
        "brand" => Record::Brand(typed(de)?),
        "customer" => Record::Customer(typed(de)?),
        "account" => Record::Account(typed(de)?),
        "balance" => Record::Balance(typed(de)?),
        "overdraftLimits" => Record::OverdraftLimits(typed(de)?),
        "transaction" => Record::Transaction(typed(de)?),
        "pendingTransactions" => Record::PendingTransactions(typed(de)?),
        "transactionRemoval" => Record::TransactionRemoval(typed(de)?),
        other => {
            return Err(FieldError::new(
                "record",
                format!(
                    "unknown record kind {other:?} (expected one of {})",
                    KINDS.join(", ")
                ),
            ));
        }
    })
}

/// Turns a serde error at `path` into the field it is about and a reason.
fn serde_error(path: &str, message: &str) -> FieldError {
    let message = strip_position(message);
    let root = matches!(path, "" | "." | "?");
    let join = |field: &str| {
        if root {
            field.to_owned()
        } else if path == field || path.ends_with(&format!(".{field}")) {
            // The path already ends at the field (unknown and duplicate fields).
            path.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    let quoted = |prefix: &str| -> Option<String> {
        let rest = message.strip_prefix(prefix)?;
        let end = rest.find('`')?;
        Some(rest[..end].to_owned())
    };
    if let Some(field) = quoted("unknown field `") {
        return FieldError::new(join(&field), "unknown field");
    }
    if let Some(field) = quoted("missing field `") {
        return FieldError::new(join(&field), "is required");
    }
    if let Some(field) = quoted("duplicate field `") {
        return FieldError::new(join(&field), "appears more than once");
    }
    let field = if root {
        "json".to_owned()
    } else {
        path.to_owned()
    };
    FieldError::new(field, message.to_owned())
}

fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let reason = strip_position(&text);
    if e.column() > 0 {
        format!("{reason} (column {})", e.column())
    } else {
        reason.to_owned()
    }
}

/// serde_json ends its messages with the position in the input, which is
/// always "line 1" here (and shifted by the in-place parsing): drop it.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Record, FieldError> {
        parse_line(&mut s.as_bytes().to_vec())
    }

    #[test]
    fn parses_record_first_in_place_and_any_other_layout() {
        let a = parse(
            r#"{"record":"brand","brandId":"b","brandName":"B","companyCnpj":"21128159000166"}"#,
        )
        .unwrap();
        let b = parse(r#"{ "brandName":"B", "record" : "brand", "companyCnpj":"21128159000166","brandId":"b"}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            parse(r#"{"record":"brand"}"#).unwrap(),
            Record::Brand(BrandRecord::default())
        );
    }

    #[test]
    fn round_trips_through_json_lines() {
        let record = Record::Transaction(TransactionRecord {
            brand_id: Some("b".into()),
            account_id: None,
            fields: TransactionFields {
                amount: Some("1.00".into()),
                ..Default::default()
            },
        });
        let line = record.to_json_line();
        assert!(line.starts_with(r#"{"record":"transaction","#), "{line}");
        assert_eq!(parse(&line).unwrap(), record);
    }

    #[test]
    fn names_the_field_of_serde_errors() {
        let e = parse(r#"{"record":"brand","brandId":"b","colour":"red"}"#).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("colour", "unknown field")
        );
        let e = parse(r#"{"record":"brand","brandId":5}"#).unwrap_err();
        assert_eq!(e.field, "brandId");
        assert!(e.reason.contains("invalid type"), "{}", e.reason);
        let e = parse(
            r#"{"record":"pendingTransactions","transactions":[{"amount":"1.00"},{"foo":1}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("transactions[1].foo", "unknown field")
        );
        let e = parse(r#"{"record":"account","accountId":[{"key":"k"}]}"#).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("accountId[0].value", "is required")
        );
        let e = parse(r#"{"record":"brand","brandId":"a","brandId":"b"}"#).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("brandId", "appears more than once")
        );
        let e = parse(r#"{"record":"transaction","brandId":"a","nope":true}"#).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("nope", "unknown field")
        );
    }

    #[test]
    fn refuses_unknown_kinds_and_non_objects() {
        let e = parse(r#"{"record":"loan"}"#).unwrap_err();
        assert_eq!(e.field, "record");
        assert!(e.reason.contains("unknown record kind \"loan\""));
        assert_eq!(parse(r#"{"brandId":"b"}"#).unwrap_err().field, "record");
        assert_eq!(parse(r#"{"record":7}"#).unwrap_err().field, "record");
        assert_eq!(parse("[1]").unwrap_err().field, "json");
        assert_eq!(parse(r#"{"record":"brand","#).unwrap_err().field, "json");
        assert_eq!(parse("not json").unwrap_err().field, "json");
    }
}
