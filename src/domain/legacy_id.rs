//! Legacy identifiers (`accountId`, `transactionId`, `resourceLegacyId`) are
//! arrays of key/value pairs; the same *set* of pairs, in any order, names the
//! same resource.

use serde::{Deserialize, Serialize};

/// One pair of a legacy identifier, as the contract's `LegacyId` item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// The contract allows 1 to 10 pairs.
pub const MAX_PAIRS: usize = 10;

/// A legacy identifier exactly as the bank sent it (order kept for rendering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LegacyId(pub Vec<KeyValue>);

impl LegacyId {
    /// Checks the contract's size limits, and that no key or value holds a
    /// control character (which no legacy system means, and PostgreSQL's
    /// text cannot even store U+0000).
    pub fn validate(&self) -> Result<(), String> {
        match self.0.len() {
            0 => return Err("must hold at least one key/value pair".into()),
            n if n > MAX_PAIRS => {
                return Err(format!("must hold at most {MAX_PAIRS} key/value pairs"));
            }
            _ => {}
        }
        for (i, pair) in self.0.iter().enumerate() {
            for (part, text) in [("key", &pair.key), ("value", &pair.value)] {
                if let Some(c) = text.chars().find(|c| c.is_ascii_control() && *c < ' ') {
                    return Err(format!(
                        "[{i}].{part} must not contain control characters (U+0000 to U+001F): \
                         holds U+{:04X}",
                        c as u32
                    ));
                }
            }
        }
        Ok(())
    }

    /// The identity of the identifier: its pairs sorted and deduplicated,
    /// written as a JSON array of `[key, value]` (JSON escaping keeps any key
    /// or value unambiguous).
    pub fn canonical_key(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_str()))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        // Import computes this for every line: when nothing needs escaping
        // (the usual case), write the JSON text directly.
        let plain = |s: &str| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        if !pairs.iter().all(|(k, v)| plain(k) && plain(v)) {
            return serde_json::to_string(&pairs).expect("string pairs always serialize");
        }
        let size = pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>()
            + 2;
        let mut key = String::with_capacity(size);
        key.push('[');
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            key.push_str("[\"");
            key.push_str(k);
            key.push_str("\",\"");
            key.push_str(v);
            key.push_str("\"]");
        }
        key.push(']');
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(pairs: &[(&str, &str)]) -> LegacyId {
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

    #[test]
    fn same_pairs_in_any_order_are_the_same_id() {
        let a = id(&[("branch", "0001"), ("number", "12345678")]);
        let b = id(&[("number", "12345678"), ("branch", "0001")]);
        assert_eq!(a.canonical_key(), b.canonical_key());
    }

    #[test]
    fn repeated_pairs_do_not_change_the_set() {
        let a = id(&[("id", "1"), ("id", "1")]);
        assert_eq!(a.canonical_key(), id(&[("id", "1")]).canonical_key());
    }

    #[test]
    fn different_sets_differ() {
        assert_ne!(
            id(&[("branch", "0001"), ("number", "1")]).canonical_key(),
            id(&[("branch", "0001")]).canonical_key()
        );
        assert_ne!(
            id(&[("a", "b")]).canonical_key(),
            id(&[("b", "a")]).canonical_key()
        );
        // Separators inside values cannot make two sets collide.
        assert_ne!(
            id(&[("a", "b\",\"c")]).canonical_key(),
            id(&[("a", "b"), ("c", "")]).canonical_key()
        );
    }

    #[test]
    fn the_key_is_the_json_of_the_sorted_pairs() {
        for pairs in [
            vec![("id", "TX-1")],
            vec![("number", "1"), ("branch", "0001"), ("number", "1")],
            vec![("ação", "ç"), ("k", ""), ("del", "\u{7f}")],
            vec![("q", "a\"b"), ("t", "tab\there"), ("s", "back\\slash")],
        ] {
            let mut sorted = pairs.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                id(&pairs).canonical_key(),
                serde_json::to_string(&sorted).unwrap()
            );
        }
    }

    #[test]
    fn size_limits() {
        assert!(id(&[]).validate().is_err());
        assert!(id(&[("k", "v")]).validate().is_ok());
        assert!(id(&[("k", "ação ✓ \u{7f}")]).validate().is_ok());
        for bad in ["a\u{0}b", "tab\there", "new\nline", "\u{1f}"] {
            assert!(id(&[("k", "v"), ("k", bad)]).validate().is_err(), "{bad:?}");
            assert!(id(&[(bad, "v")]).validate().is_err(), "{bad:?}");
        }
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
        let eleven: Vec<(&str, &str)> = eleven
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(id(&eleven).validate().is_err());
    }
}
