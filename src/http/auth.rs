//! The optional static bearer token (`CONTAS_API_TOKEN`) the platform sends
//! on every API call, as `Authorization: Bearer <token>`.

use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// Shortest token accepted: `openssl rand -hex 32` gives 64 characters;
/// anything under 32 is too easy to guess.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The expected token, kept only as its SHA-256 digest. Presented tokens are
/// hashed too, so the comparison is always of 32 bytes in constant time and
/// its timing reveals neither the token's bytes nor its length.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidToken {
    #[error("the API token must have at least {MIN_TOKEN_CHARS} characters")]
    TooShort,
    #[error(
        "the API token may contain only letters, digits and - . _ ~ + / \
         (then trailing =), as a bearer token on the wire must"
    )]
    NotToken68,
}

impl ApiToken {
    pub fn new(token: &str) -> Result<Self, InvalidToken> {
        if !is_token68(token) {
            return Err(InvalidToken::NotToken68);
        }
        if token.len() < MIN_TOKEN_CHARS {
            return Err(InvalidToken::TooShort);
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    fn matches(&self, presented: &[u8]) -> bool {
        Sha256::digest(presented).ct_eq(&self.digest).into()
    }
}

/// RFC 7235's token68: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// What guards the API on the address it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// A token or mutual TLS: every caller must prove who it is.
    Authenticated,
    /// Loopback only: no caller from another machine (the embedded demo).
    Loopback,
    /// Reachable from other machines, unauthenticated, as the operator chose.
    Unauthenticated,
}

/// A start refused: anyone who reaches the port would read every
/// customer's accounts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "refusing to serve {0} without authentication: set CONTAS_API_TOKEN, or configure mutual \
     TLS (CONTAS_TLS_CERT, CONTAS_TLS_KEY, CONTAS_TLS_CLIENT_CA), or accept the risk with \
     CONTAS_ALLOW_UNAUTHENTICATED=true"
)]
pub struct Unprotected(pub SocketAddr);

/// Secure by default: an address other machines can reach is served only
/// behind a token or mutual TLS, unless the operator opts out explicitly.
pub fn exposure(
    bind: SocketAddr,
    authenticated: bool,
    allow_unauthenticated: bool,
) -> Result<Exposure, Unprotected> {
    if authenticated {
        Ok(Exposure::Authenticated)
    } else if is_loopback(bind) {
        Ok(Exposure::Loopback)
    } else if allow_unauthenticated {
        Ok(Exposure::Unauthenticated)
    } else {
        Err(Unprotected(bind))
    }
}

/// Whether only this machine can reach `bind` (IPv4-mapped loopback too).
pub fn is_loopback(bind: SocketAddr) -> bool {
    bind.ip().to_canonical().is_loopback()
}

/// Lets a request through only with the right bearer token; otherwise 401
/// with the contract's error body and a `WWW-Authenticate` challenge
/// (RFC 6750 §3: `error="invalid_token"` when a token was sent but is wrong).
pub async fn require_token(
    State(token): State<ApiToken>,
    request: Request,
    next: Next,
) -> Response {
    match request.headers().get(AUTHORIZATION).and_then(bearer) {
        Some(presented) if token.matches(presented) => next.run(request).await,
        Some(_) => refuse(
            r#"Bearer error="invalid_token""#,
            "the bearer token is not valid",
        ),
        None => refuse(
            "Bearer",
            "this operation requires an Authorization: Bearer token",
        ),
    }
}

/// The credentials of an `Authorization: Bearer <token>` header; the scheme
/// name is case-insensitive.
fn bearer(value: &HeaderValue) -> Option<&[u8]> {
    let value = value.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, credentials) = value.split_at(space);
    let credentials = credentials.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"Bearer") && !credentials.is_empty()).then_some(credentials)
}

fn refuse(challenge: &'static str, detail: &'static str) -> Response {
    (
        [(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))],
        ApiError::unauthorized(detail),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn tokens_are_long_token68_strings() {
        assert!(ApiToken::new(TOKEN).is_ok());
        assert!(ApiToken::new(&format!("{TOKEN}+/_-.~==")).is_ok());
        assert_eq!(
            ApiToken::new(&TOKEN[1..]).err(),
            Some(InvalidToken::TooShort)
        );
        assert_eq!(ApiToken::new("").err(), Some(InvalidToken::NotToken68));
        for bad in [" ", "é", "\"", ",", "=", "a=b"] {
            assert_eq!(
                ApiToken::new(&format!("{TOKEN}{bad}x")).err(),
                Some(InvalidToken::NotToken68),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = ApiToken::new(TOKEN).unwrap();
        assert!(token.matches(TOKEN.as_bytes()));
        assert!(!token.matches(&TOKEN.as_bytes()[1..]));
        assert!(!token.matches(format!("{TOKEN}0").as_bytes()));
        assert!(!token.matches(b""));
    }

    #[test]
    fn only_loopback_is_served_unauthenticated_unless_the_operator_opts_out() {
        let addr = |text: &str| text.parse::<SocketAddr>().unwrap();
        for loopback in [
            "127.0.0.1:8080",
            "127.8.9.1:80",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:8080",
        ] {
            assert_eq!(
                exposure(addr(loopback), false, false),
                Ok(Exposure::Loopback),
                "{loopback}"
            );
        }
        for open in [
            "0.0.0.0:8080",
            "[::]:8080",
            "10.0.0.7:8080",
            "[::ffff:10.0.0.7]:8080",
        ] {
            let bind = addr(open);
            assert_eq!(
                exposure(bind, false, false),
                Err(Unprotected(bind)),
                "{open}"
            );
            assert_eq!(
                exposure(bind, true, false),
                Ok(Exposure::Authenticated),
                "{open}"
            );
            assert_eq!(
                exposure(bind, false, true),
                Ok(Exposure::Unauthenticated),
                "{open}"
            );
        }
        assert_eq!(
            exposure(addr("127.0.0.1:8080"), true, true),
            Ok(Exposure::Authenticated)
        );
    }

    #[test]
    fn bearer_credentials() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert_eq!(bearer(&header("Bearer abc")), Some(&b"abc"[..]));
        assert_eq!(bearer(&header("bearer  abc ")), Some(&b"abc"[..]));
        assert_eq!(bearer(&header("Basic abc")), None);
        assert_eq!(bearer(&header("Bearer")), None);
        assert_eq!(bearer(&header("Bearer ")), None);
        assert_eq!(bearer(&header("Bearerabc")), None);
    }
}
