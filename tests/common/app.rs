//! The service over real HTTP on a loopback port, with every response
//! checked against the contract before a test sees it.

use super::contract::assert_conforms;
use chrono::{DateTime, Utc};
use contas::db::QueryPool;
use contas::http::limits::RequestLimits;
use contas::http::{AppState, ServerSettings, router_with_limits};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use rustls::ServerConfig;
use serde_json::Value;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The test's own pool on the service's database (fixtures, checks).
    pub pool: PgPool,
    /// The pool the service queries through, when the harness built it
    /// (tests that exhaust it take its connections).
    pub serving: Option<QueryPool>,
}

pub struct TestResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The first error's code, for refusals.
    pub fn error_code(&self) -> &str {
        self.body["errors"][0]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {}", self.body))
    }
}

/// A test fails if its requests (or any before) logged what they must not.
impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            super::logs::assert_clean();
        }
    }
}

impl TestApp {
    /// Serves `pool` with "now" pinned to `now`, as `contas serve` does.
    pub async fn spawn(pool: PgPool, now: DateTime<Utc>) -> Self {
        Self::spawn_with(
            pool,
            now,
            RequestLimits::default(),
            ServerSettings::default(),
        )
        .await
    }

    /// Serves `pool` through the service's own server with these limits.
    pub async fn spawn_with(
        pool: PgPool,
        now: DateTime<Utc>,
        limits: RequestLimits,
        settings: ServerSettings,
    ) -> Self {
        super::logs::capture();
        let serving = QueryPool::from(pool.clone());
        let state = AppState::with_clock(serving.clone(), move || now);
        let app = router_with_limits(state.clone(), limits);
        let addr = serve_in_background(None, app, state, settings).await;
        let base = format!("http://{addr}");
        Self {
            base,
            client: reqwest::Client::new(),
            pool,
            serving: Some(serving),
        }
    }

    /// The address the service listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base.strip_prefix("http://").unwrap().parse().unwrap()
    }

    /// The value of an unlabelled metric (or of `name{labels}`) on `/metrics`.
    pub async fn metric(&self, series: &str) -> f64 {
        let (status, _, text) = self.get_outside_contract("/metrics").await;
        assert_eq!(status, 200);
        metric_value(&text, series)
    }

    /// Serves `app`, a router built on `pool`.
    pub async fn spawn_router(app: axum::Router, pool: PgPool) -> Self {
        super::logs::capture();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            client: reqwest::Client::new(),
            pool,
            serving: None,
        }
    }

    /// POSTs a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.send(
            Method::POST,
            path,
            HeaderMap::new(),
            Some(body.to_string().into_bytes()),
            "application/json",
        )
        .await
    }

    /// POSTs `/check-account-holder` for `brand` (its `x-brand-id`, with a
    /// correlation id).
    pub async fn check_account_holder(&self, brand: &str, body: &Value) -> TestResponse {
        let mut headers = HeaderMap::new();
        headers.insert("x-brand-id", brand.parse().unwrap());
        headers.insert(
            "x-correlation-id",
            "97623ed1-4732-4bf2-8d4b-ae7aced5443b".parse().unwrap(),
        );
        self.check_account_holder_with(headers, body).await
    }

    /// The holder check with exactly these headers.
    pub async fn check_account_holder_with(
        &self,
        headers: HeaderMap,
        body: &Value,
    ) -> TestResponse {
        self.send(
            Method::POST,
            "/check-account-holder",
            headers,
            Some(body.to_string().into_bytes()),
            "application/json",
        )
        .await
    }

    /// GETs a path outside the Accounts contract (probes, docs, the published
    /// files): status, content type and body text, not validated.
    pub async fn get_outside_contract(&self, path: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the service answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }

    /// Sends anything; the response is validated against the contract.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> TestResponse {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .headers(headers);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{path} {status}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert_conforms(path, status, content_type.as_deref(), &body);
        TestResponse {
            status,
            content_type,
            headers,
            body,
        }
    }
}

/// Serves `app` (built on `state`) through the service's own server on a
/// loopback port, over mutual TLS with `tls`, until the test ends; returns
/// its address.
pub async fn serve_in_background(
    tls: Option<Arc<ServerConfig>>,
    app: axum::Router,
    state: AppState,
    settings: ServerSettings,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        contas::http::serve(listener, tls, app, &state, settings, std::future::pending())
            .await
            .unwrap()
    });
    addr
}

/// The value of `series` (a name, or `name{labels}`) in a `/metrics` text.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} not exported:\n{text}"))
        .parse()
        .unwrap()
}
