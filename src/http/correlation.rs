//! Correlation ids: what the contract accepts, and the id each request's
//! log lines carry.
//!
//! The id logged is `requestMeta.correlationId` when the body carries one
//! (recorded by [`correlation_id_from_body`] as the body is parsed, so the
//! body is read once), otherwise the `x-correlation-id` header, otherwise
//! one generated here (`contas-` and 16 hex digits) so that the lines of a
//! request without an id still belong together.

use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Span;

/// Longest correlation id logged; the contract's is 44 characters.
pub const MAX_CORRELATION_ID_CHARS: usize = 100;

/// `^(localID:)?<uuid>$`, the contract's correlation id.
pub fn is_correlation_id(text: &str) -> bool {
    let uuid = text.strip_prefix("localID:").unwrap_or(text);
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Deserializes `requestMeta.correlationId` and makes it the current
/// request's correlation id.
pub fn correlation_id_from_body<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    let id = String::deserialize(deserializer)?;
    Span::current().record("correlation_id", sanitize_correlation_id(&id).as_ref());
    Ok(id)
}

/// A caller's id made safe to log: at most [`MAX_CORRELATION_ID_CHARS`],
/// and only letters, digits and `-_.:/+=@` (anything else becomes `_`), so
/// it can neither break a line nor smuggle one in.
pub fn sanitize_correlation_id(id: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || "-_.:/+=@".contains(c)
    }
    if id.len() <= MAX_CORRELATION_ID_CHARS && id.chars().all(allowed) {
        return Cow::Borrowed(id);
    }
    Cow::Owned(
        id.chars()
            .take(MAX_CORRELATION_ID_CHARS)
            .map(|c| if allowed(c) { c } else { '_' })
            .collect(),
    )
}

/// An id for a request that brought none: unique within the process (a
/// counter) and, by its random-ish start, across restarts.
pub(super) struct GeneratedId(u64);

impl GeneratedId {
    pub(super) fn next() -> Self {
        static NEXT: std::sync::LazyLock<AtomicU64> = std::sync::LazyLock::new(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64;
            AtomicU64::new(nanos ^ (u64::from(std::process::id()) << 40))
        });
        GeneratedId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for GeneratedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "contas-{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids() {
        assert!(is_correlation_id("97623ed1-4732-4bf2-8d4b-ae7aced5443b"));
        assert!(is_correlation_id(
            "localID:97623ED1-4732-4bf2-8d4b-ae7aced5443b"
        ));
        assert!(!is_correlation_id("97623ed1-4732-4bf2-8d4b-ae7aced5443"));
        assert!(!is_correlation_id(
            "localid:97623ed1-4732-4bf2-8d4b-ae7aced5443b"
        ));
        assert!(!is_correlation_id("97623ed147324bf28d4bae7aced5443b"));
        assert!(!is_correlation_id("g7623ed1-4732-4bf2-8d4b-ae7aced5443b"));
    }

    #[test]
    fn correlation_ids_are_bounded_and_cleaned() {
        let contract = "localID:97623ed1-4732-4bf2-8d4b-ae7aced5443b";
        assert!(matches!(
            sanitize_correlation_id(contract),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            sanitize_correlation_id("a\"b\n{\"level\":\"x\"} ç"),
            "a_b___level_:_x____"
        );
        assert_eq!(
            sanitize_correlation_id(&"x".repeat(500)).len(),
            MAX_CORRELATION_ID_CHARS
        );
    }

    #[test]
    fn generated_ids_differ() {
        let (a, b) = (
            GeneratedId::next().to_string(),
            GeneratedId::next().to_string(),
        );
        assert_ne!(a, b);
        assert!(
            a.starts_with("contas-") && a.len() == "contas-".len() + 16,
            "{a}"
        );
    }
}
