//! Request extraction that answers every bad body in the contract's shape
//! (axum's `Json` would answer with its own plain-text 400/415/422).

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

/// Largest request body accepted. A consent with its 1000 resources of ten
/// key/value pairs each stays well under it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Deepest nesting of arrays and objects accepted in a body. The contract's
/// deepest request (`consent.resources[].resourceLegacyId[].key`) nests six
/// levels; the bound leaves room for that to grow while refusing, before any
/// parsing, documents built to exhaust the parser's stack or time.
pub const MAX_JSON_DEPTH: usize = 32;

/// A JSON body of type `T`; rejections name the offending field's path.
pub struct ContractJson<T>(pub T);

impl<S, T> FromRequest<S> for ContractJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers().get(CONTENT_TYPE)) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_) if is_length_limit(&rejection) => {
                        ApiError::body_too_large(MAX_BODY_BYTES)
                    }
                    other => ApiError::malformed_body(other.body_text()),
                })?;
        parse(&bytes).map(ContractJson)
    }
}

fn is_length_limit(rejection: &BytesRejection) -> bool {
    rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
}

/// `application/json`, optionally with parameters such as `charset=utf-8`.
fn is_json(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let charset_ok = parts.all(|param| match param.trim().split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => charset
            .trim()
            .trim_matches('"')
            .eq_ignore_ascii_case("utf-8"),
        _ => true,
    });
    essence.eq_ignore_ascii_case("application/json") && charset_ok
}

/// Deserializes `bytes` as `T`, reporting where in the document it failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if nesting_exceeds(bytes, MAX_JSON_DEPTH) {
        return Err(ApiError::malformed_body(format!(
            "the body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
        .map_err(rejection)
}

/// The same for a body already read as a JSON value.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(rejection)
}

/// Whether the brackets of `bytes`, outside strings, nest deeper than `limit`.
/// One pass over the bytes; whether the JSON is otherwise valid is the
/// parser's business.
fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn rejection(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        let message = strip_position(&message);
        if inner.is_syntax() || inner.is_eof() {
            ApiError::malformed_body(format!("the body is not valid JSON: {message}"))
        } else if path == "." {
            ApiError::invalid_field(format!("body: {message}"))
        } else {
            ApiError::invalid_field(format!("{path}: {message}"))
        }
    }
}

/// serde_json appends " at line L column C"; the field path says more.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_content_types() {
        let ok = |v: &str| is_json(Some(&HeaderValue::from_str(v).unwrap()));
        assert!(ok("application/json"));
        assert!(ok("Application/JSON; charset=UTF-8"));
        assert!(ok("application/json;charset=\"utf-8\""));
        assert!(!ok("application/json; charset=latin1"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonx"));
        assert!(!is_json(None));
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        assert!(!nesting_exceeds(b"[[1]]", 2));
        assert!(nesting_exceeds(b"[[[1]]]", 2));
        assert!(nesting_exceeds(br#"{"a":{"b":[{}]}}"#, 3));
        assert!(!nesting_exceeds(br#"{"a":{"b":[]}, "c":{"d":[]}}"#, 3));
        assert!(!nesting_exceeds(br#"["[[[[", "\\", "\"[[[["]"#, 1));
        assert!(nesting_exceeds(br#"["\\", [[]]]"#, 2));
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        n: u8,
    }
    #[derive(serde::Deserialize, Debug)]
    struct Outer {
        #[allow(dead_code)]
        inner: Inner,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse::<Outer>(br#"{"inner":{"n":"x"}}"#).unwrap_err();
        assert_eq!(e.code, "INVALID_PARAMETER");
        assert!(
            e.detail.starts_with("inner.n: invalid type"),
            "{}",
            e.detail
        );
        let e = parse::<Outer>(br#"{"inner":{"n":1,"m":2}}"#).unwrap_err();
        assert!(e.detail.contains("unknown field `m`"), "{}", e.detail);
        let e = parse::<Outer>(br#"{"inner":"#).unwrap_err();
        assert_eq!(e.code, "MALFORMED_BODY");
        let e = parse::<Outer>(b"{}").unwrap_err();
        assert_eq!(e.detail, "body: missing field `inner`");
    }
}
