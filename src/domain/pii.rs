//! Masking of personal documents in text bound for the logs.
//!
//! Every log line passes through [`redact_documents`], a safety net that
//! masks anything shaped like a CPF or CNPJ, formatted or not. Names and
//! account numbers have no recognisable shape, so they are kept out of the
//! logs at the source: no code logs request bodies, rows or error details.

use std::borrow::Cow;

/// A document's digit groups and the separator that may follow each group.
struct DocumentShape {
    groups: &'static [(usize, Option<u8>)],
    /// Leading digits left visible (the last two always are).
    visible_prefix: usize,
}

/// `385.194.627-82` or `38519462782`.
const CPF: DocumentShape = DocumentShape {
    groups: &[(3, Some(b'.')), (3, Some(b'.')), (3, Some(b'-')), (2, None)],
    visible_prefix: 3,
};

/// `45.781.923/0001-66` or `45781923000166`.
const CNPJ: DocumentShape = DocumentShape {
    groups: &[
        (2, Some(b'.')),
        (3, Some(b'.')),
        (3, Some(b'/')),
        (4, Some(b'-')),
        (2, None),
    ],
    visible_prefix: 2,
};

const VISIBLE_SUFFIX: usize = 2;

/// Masks every CPF and CNPJ in `text`: an 11- or 14-digit run not touching
/// other digits, with or without the usual `.`, `/` and `-` separators. All
/// digits but the first few and the last two become `*`:
/// `385.194.627-82` → `385.***.***-82`, `45781923000166` → `45**********66`.
/// UUIDs are left whole (their last group is 11 digits and a letter about
/// once in 250), so correlation ids stay searchable.
/// Text without a document is returned as is, without copying.
pub fn redact_documents(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = match_uuid(bytes, i) {
            if let Some(out) = &mut out {
                out.extend_from_slice(&bytes[i..end]);
            }
            i = end;
            continue;
        }
        let starts_run = bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit());
        let matched = if starts_run {
            [&CPF, &CNPJ]
                .into_iter()
                .find_map(|shape| match_shape(bytes, i, shape).map(|end| (shape, end)))
        } else {
            None
        };
        match matched {
            Some((shape, end)) => {
                let out = out.get_or_insert_with(|| bytes[..i].to_vec());
                mask_digits(&bytes[i..end], shape.visible_prefix, out);
                i = end;
            }
            None => {
                if let Some(out) = &mut out {
                    out.push(bytes[i]);
                }
                i += 1;
            }
        }
    }
    match out {
        // Only ASCII digits were replaced, by ASCII: still UTF-8.
        Some(out) => Cow::Owned(String::from_utf8(out).expect("masking keeps UTF-8")),
        None => Cow::Borrowed(text),
    }
}

/// The end of a UUID (8-4-4-4-12 hex digits) starting at `start`, if one
/// does and is not part of a longer word.
fn match_uuid(bytes: &[u8], start: usize) -> Option<usize> {
    const LEN: usize = 36;
    if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
        return None;
    }
    let candidate = bytes.get(start..start + LEN)?;
    let shaped = candidate.iter().enumerate().all(|(at, &b)| match at {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    let ends_word = !bytes
        .get(start + LEN)
        .is_some_and(u8::is_ascii_alphanumeric);
    (shaped && ends_word).then_some(start + LEN)
}

/// The end of a document of `shape` starting at `start`, if one does and no
/// digit follows it.
fn match_shape(bytes: &[u8], start: usize, shape: &DocumentShape) -> Option<usize> {
    let mut at = start;
    for &(digits, separator) in shape.groups {
        let group = bytes.get(at..at + digits)?;
        if !group.iter().all(u8::is_ascii_digit) {
            return None;
        }
        at += digits;
        if separator.is_some() && bytes.get(at).copied() == separator {
            at += 1;
        }
    }
    let followed_by_digit = bytes.get(at).is_some_and(u8::is_ascii_digit);
    (!followed_by_digit).then_some(at)
}

fn mask_digits(document: &[u8], visible_prefix: usize, out: &mut Vec<u8>) {
    let total = document.iter().filter(|b| b.is_ascii_digit()).count();
    let mut seen = 0;
    for &b in document {
        if b.is_ascii_digit() {
            let visible = seen < visible_prefix || seen >= total - VISIBLE_SUFFIX;
            out.push(if visible { b } else { b'*' });
            seen += 1;
        } else {
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        redact_documents(text).into_owned()
    }

    #[test]
    fn cpfs_are_masked_formatted_or_not() {
        assert_eq!(redact("38519462782"), "385******82");
        assert_eq!(redact("385.194.627-82"), "385.***.***-82");
        assert_eq!(redact("385194627-82"), "385******-82");
        assert_eq!(
            redact(r#"{"cpf":"38519462782","x":1}"#),
            r#"{"cpf":"385******82","x":1}"#
        );
        assert_eq!(redact("cpf=38519462782."), "cpf=385******82.");
    }

    #[test]
    fn cnpjs_are_masked_formatted_or_not() {
        assert_eq!(redact("45781923000166"), "45**********66");
        assert_eq!(redact("45.781.923/0001-66"), "45.***.***/****-66");
        assert_eq!(redact("a 45781923/0001-66 b"), "a 45******/****-66 b");
    }

    #[test]
    fn every_document_in_a_text_is_masked() {
        assert_eq!(
            redact("holders 38519462782,45781923000166 and 111.444.777-35"),
            "holders 385******82,45**********66 and 111.***.***-35"
        );
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in [
            "2026-11-20T15:00:00.123456Z",
            "3851946278",              // 10 digits
            "385194627821",            // 12 digits
            "385194627821234",         // 15 digits
            "x1000000145781923000166", // a 14-digit tail of a longer run
            "latency_ms=12.345",
            "account 10000001 branch 0001",
            "",
        ] {
            assert!(
                matches!(redact_documents(text), Cow::Borrowed(_)),
                "{text} changed to {}",
                redact(text)
            );
        }
    }

    #[test]
    fn uuids_are_left_whole() {
        for text in [
            "0b5e7a11-0000-4000-8000-00000000000a",
            r#"{"correlation_id":"localID:97623ed1-4732-4bf2-8d4b-52998224725b"}"#,
        ] {
            assert!(matches!(redact_documents(text), Cow::Borrowed(_)), "{text}");
        }
        // Not a UUID: too long a last group, or glued to a word.
        assert_eq!(
            redact("97623ed1-4732-4bf2-8d4b-52998224725bc"),
            "97623ed1-4732-4bf2-8d4b-529******25bc"
        );
        assert_eq!(
            redact("x97623ed1-4732-4bf2-8d4b-52998224725b"),
            "x97623ed1-4732-4bf2-8d4b-529******25b"
        );
    }

    #[test]
    fn non_ascii_text_survives() {
        assert_eq!(redact("João 38519462782 ç"), "João 385******82 ç");
    }
}
