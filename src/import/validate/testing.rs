//! Helpers of the validation tests.

use super::{Invalid, Item};
use crate::domain::legacy_id::{KeyValue, LegacyId};

pub(super) fn lid(pairs: &[(&str, &str)]) -> LegacyId {
    LegacyId(
        pairs
            .iter()
            .map(|(k, v)| KeyValue {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect(),
    )
}

pub(super) fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

pub(super) fn errors(result: Result<Item, Invalid>) -> Vec<(String, String)> {
    match result {
        Ok(item) => panic!("expected errors, got {item:?}"),
        Err((errors, _)) => errors.into_iter().map(|e| (e.field, e.reason)).collect(),
    }
}

pub(super) fn fields(result: Result<Item, Invalid>) -> Vec<String> {
    errors(result).into_iter().map(|(f, _)| f).collect()
}
