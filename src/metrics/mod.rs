//! The service's metrics and their Prometheus text exposition (format 0.0.4).
//!
//! Recording is on every request's path, so it is a handful of relaxed
//! atomic additions on preallocated counters: no lock, no allocation, no
//! hashing. Operations are a closed set (the router's paths), found by a
//! short scan of write-once slots.

mod process;

use crate::db::PoolStatus;
use crate::repo::FeedTimes;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in microseconds: fine
/// around the 10 ms target, coarse in the tail.
pub const LATENCY_BUCKETS_MICROS: [u64; 17] = [
    500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000, 2_500_000, 5_000_000, 15_000_000,
];

/// The operation label of answers no route matched (404s of unknown paths).
pub const UNMATCHED: &str = "unmatched";

/// Operations tracked apart; the router has far fewer. Should a router ever
/// grow past it, the excess is counted under [`OVERFLOW`] rather than
/// growing the label set.
const MAX_OPERATIONS: usize = 63;
pub const OVERFLOW: &str = "other";

/// HTTP status codes are three digits: 100 to 999.
const STATUSES: usize = 900;
const FIRST_STATUS: u16 = 100;

pub struct Metrics {
    operations: [OnceLock<OperationMetrics>; MAX_OPERATIONS],
    overflow: OperationMetrics,
    in_flight: AtomicUsize,
    /// What the service refused or cut short at its edge.
    pub edge: EdgeMetrics,
    /// The brands' feed times last read from the store (scrapes only).
    feeds: Mutex<Option<Vec<FeedTimes>>>,
}

/// Connections and requests refused or cut short before a handler answered
/// them: what a slow, idle or hostile client costs, made visible.
#[derive(Default)]
pub struct EdgeMetrics {
    connections_open: AtomicUsize,
    connection_cap_reached: AtomicU64,
    tls_handshakes_refused: AtomicU64,
    tls_handshakes_timed_out: AtomicU64,
    header_timeouts: AtomicU64,
    body_timeouts: AtomicU64,
    requests_shed: AtomicU64,
}

/// Keeps a gauge one higher until dropped (a connection open, a request in
/// flight; also when the request is cancelled or panics).
pub struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn on(gauge: &'a AtomicUsize) -> Self {
        gauge.fetch_add(1, Relaxed);
        Held(gauge)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl EdgeMetrics {
    pub fn connection_opened(&self) -> Held<'_> {
        Held::on(&self.connections_open)
    }

    pub fn connection_cap_reached(&self) {
        self.connection_cap_reached.fetch_add(1, Relaxed);
    }

    pub fn tls_handshake_refused(&self) {
        self.tls_handshakes_refused.fetch_add(1, Relaxed);
    }

    pub fn tls_handshake_timed_out(&self) {
        self.tls_handshakes_timed_out.fetch_add(1, Relaxed);
    }

    pub fn header_timed_out(&self) {
        self.header_timeouts.fetch_add(1, Relaxed);
    }

    pub fn body_timed_out(&self) {
        self.body_timeouts.fetch_add(1, Relaxed);
    }

    pub fn request_shed(&self) {
        self.requests_shed.fetch_add(1, Relaxed);
    }

    fn render(&self, out: &mut String) {
        gauge(
            out,
            "contas_connections_open",
            "HTTP connections open now.",
            self.connections_open.load(Relaxed),
        );
        counter(
            out,
            "contas_connection_cap_reached_total",
            "Times the listener reached its connection cap and paused accepting until a connection closed.",
            self.connection_cap_reached.load(Relaxed),
        );
        header(
            out,
            "contas_connections_refused_total",
            "counter",
            "Connections refused before HTTP: a TLS handshake that failed (no or a wrong client certificate) or did not finish in time.",
        );
        let _ = writeln!(
            out,
            "contas_connections_refused_total{{reason=\"tls_handshake_failed\"}} {}\n\
             contas_connections_refused_total{{reason=\"tls_handshake_timeout\"}} {}",
            self.tls_handshakes_refused.load(Relaxed),
            self.tls_handshakes_timed_out.load(Relaxed)
        );
        counter(
            out,
            "contas_header_timeouts_total",
            "Connections closed because a request's headers did not arrive within the header timeout.",
            self.header_timeouts.load(Relaxed),
        );
        counter(
            out,
            "contas_body_timeouts_total",
            "Requests answered 408 because their body did not arrive within the body timeout.",
            self.body_timeouts.load(Relaxed),
        );
        counter(
            out,
            "contas_requests_shed_total",
            "Requests refused with 529 because the most requests allowed at once were in progress.",
            self.requests_shed.load(Relaxed),
        );
    }
}

struct OperationMetrics {
    name: Box<str>,
    by_status: Box<[AtomicU64; STATUSES]>,
    /// Observations per bucket (not cumulative), the last one for +Inf.
    buckets: [AtomicU64; LATENCY_BUCKETS_MICROS.len() + 1],
    sum_nanos: AtomicU64,
}

impl OperationMetrics {
    fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            by_status: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn observe(&self, status: u16, elapsed: Duration) {
        let status_index = usize::from(status.saturating_sub(FIRST_STATUS)).min(STATUSES - 1);
        self.by_status[status_index].fetch_add(1, Relaxed);
        let micros = elapsed.as_micros();
        let bucket = LATENCY_BUCKETS_MICROS.partition_point(|&bound| u128::from(bound) < micros);
        self.buckets[bucket].fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            operations: std::array::from_fn(|_| OnceLock::new()),
            overflow: OperationMetrics::new(OVERFLOW),
            in_flight: AtomicUsize::new(0),
            edge: EdgeMetrics::default(),
            feeds: Mutex::new(None),
        }
    }
}

impl Metrics {
    /// Marks a request as in flight for the guard's lifetime.
    pub fn in_flight(&self) -> Held<'_> {
        Held::on(&self.in_flight)
    }

    /// Records an answered request of `operation`.
    pub fn observe(&self, operation: &str, status: u16, elapsed: Duration) {
        self.operation(operation).observe(status, elapsed);
    }

    /// The slot of `operation`, claiming the first free one for a new name.
    /// Every caller claims the first free slot, so a name never gets two.
    fn operation(&self, name: &str) -> &OperationMetrics {
        for slot in &self.operations {
            let metrics = match slot.get() {
                Some(metrics) => metrics,
                None => slot.get_or_init(|| OperationMetrics::new(name)),
            };
            if *metrics.name == *name {
                return metrics;
            }
        }
        &self.overflow
    }

    /// The exposition text, with the pool's state read at the call, the
    /// brands' feed times (`feeds`, just read; or, when the store could not
    /// answer, the last ones read) and the process's own figures.
    pub fn render(&self, pool: &PoolStatus, feeds: Option<Vec<FeedTimes>>) -> String {
        let mut operations: Vec<&OperationMetrics> = self
            .operations
            .iter()
            .filter_map(OnceLock::get)
            .chain(std::iter::once(&self.overflow))
            .collect();
        operations.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = String::new();
        render_requests(&mut out, &operations);
        render_latencies(&mut out, &operations);
        gauge(
            &mut out,
            "contas_http_requests_in_flight",
            "Requests received and not yet answered.",
            self.in_flight.load(Relaxed),
        );
        render_pool(&mut out, pool);
        self.edge.render(&mut out);
        {
            let mut known = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            if feeds.is_some() {
                *known = feeds;
            }
            if let Some(feeds) = known.as_deref() {
                render_feeds(&mut out, feeds);
            }
        }
        process::render(&mut out);
        out
    }
}

/// Answered requests by operation and status (statuses never seen left out).
fn render_requests(out: &mut String, operations: &[&OperationMetrics]) {
    header(
        out,
        "contas_http_requests_total",
        "counter",
        "Requests answered, by operation (the matched route; unmatched for unknown paths) and HTTP status.",
    );
    for operation in operations {
        for (index, count) in operation.by_status.iter().enumerate() {
            let count = count.load(Relaxed);
            if count > 0 {
                let status = usize::from(FIRST_STATUS) + index;
                let _ = writeln!(
                    out,
                    "contas_http_requests_total{{operation=\"{}\",status=\"{status}\"}} {count}",
                    escape(&operation.name)
                );
            }
        }
    }
}

/// The latency histogram of each operation that has answered a request.
fn render_latencies(out: &mut String, operations: &[&OperationMetrics]) {
    header(
        out,
        "contas_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to its response, by operation.",
    );
    for operation in operations {
        let counts: Vec<u64> = operation.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            continue;
        }
        let name = escape(&operation.name);
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS_MICROS.iter().zip(&counts) {
            cumulative += count;
            let seconds = *bound as f64 / 1e6;
            let _ = writeln!(
                out,
                "contas_http_request_duration_seconds_bucket{{operation=\"{name}\",le=\"{seconds}\"}} {cumulative}"
            );
        }
        let sum = operation.sum_nanos.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "contas_http_request_duration_seconds_bucket{{operation=\"{name}\",le=\"+Inf\"}} {total}\n\
             contas_http_request_duration_seconds_sum{{operation=\"{name}\"}} {sum}\n\
             contas_http_request_duration_seconds_count{{operation=\"{name}\"}} {total}"
        );
    }
}

/// The store's connection pool as read at the scrape.
fn render_pool(out: &mut String, pool: &PoolStatus) {
    header(
        out,
        "contas_db_pool_connections",
        "gauge",
        "Open connections of the store's pool: in_use (lent to a query) or idle.",
    );
    let idle = pool.idle.min(pool.open);
    let _ = writeln!(
        out,
        "contas_db_pool_connections{{state=\"in_use\"}} {}\ncontas_db_pool_connections{{state=\"idle\"}} {idle}",
        pool.open - idle
    );
    gauge(
        out,
        "contas_db_pool_max_connections",
        "Most connections the store's pool opens.",
        pool.max_size,
    );
    gauge(
        out,
        "contas_db_pool_waiting",
        "Queries waiting now for a pool connection (a wait ends with a connection or the acquire timeout).",
        pool.waiting,
    );
}

/// Data freshness: timestamps, as Prometheus prefers (an age is
/// `time() - metric` in a query, and stays right between scrapes).
fn render_feeds(out: &mut String, feeds: &[FeedTimes]) {
    header(
        out,
        "contas_import_last_success_timestamp_seconds",
        "gauge",
        "When the last successful contas import naming the brand committed (Unix time).",
    );
    for feed in feeds {
        let _ = writeln!(
            out,
            "contas_import_last_success_timestamp_seconds{{brand=\"{}\"}} {}",
            escape(feed.brand_id.as_str()),
            unix_seconds(feed.last_import_at)
        );
    }
    header(
        out,
        "contas_balance_last_update_timestamp_seconds",
        "gauge",
        "The newest balance time (updateDateTime) an import stored for the brand (Unix time).",
    );
    for feed in feeds {
        if let Some(at) = feed.newest_balance_at {
            let _ = writeln!(
                out,
                "contas_balance_last_update_timestamp_seconds{{brand=\"{}\"}} {}",
                escape(feed.brand_id.as_str()),
                unix_seconds(at)
            );
        }
    }
}

fn unix_seconds(at: chrono::DateTime<chrono::Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1e3
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value as the text format quotes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: PoolStatus = PoolStatus {
        max_size: 16,
        open: 3,
        idle: 1,
        waiting: 0,
    };

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn counts_by_operation_and_status() {
        let metrics = Metrics::default();
        metrics.observe("/accounts", 200, Duration::from_millis(1));
        metrics.observe("/accounts", 200, Duration::from_millis(1));
        metrics.observe("/accounts", 403, Duration::from_millis(1));
        metrics.observe("/balances", 200, Duration::from_millis(1));
        let text = metrics.render(&POOL, None);
        assert_eq!(
            lines_of(&text, "contas_http_requests_total{"),
            [
                r#"contas_http_requests_total{operation="/accounts",status="200"} 2"#,
                r#"contas_http_requests_total{operation="/accounts",status="403"} 1"#,
                r#"contas_http_requests_total{operation="/balances",status="200"} 1"#,
            ]
        );
    }

    #[test]
    fn latency_lands_in_the_first_bucket_that_holds_it() {
        let metrics = Metrics::default();
        metrics.observe("/find", 200, Duration::from_micros(10_000)); // le 0.01
        metrics.observe("/find", 200, Duration::from_micros(10_001)); // le 0.015
        metrics.observe("/find", 200, Duration::from_secs(60)); // +Inf only
        let text = metrics.render(&POOL, None);
        let bucket = |le: &str| {
            let prefix = format!(
                r#"contas_http_request_duration_seconds_bucket{{operation="/find",le="{le}"}} "#
            );
            lines_of(&text, &prefix)[0][prefix.len()..].to_owned()
        };
        assert_eq!(bucket("0.0075"), "0");
        assert_eq!(bucket("0.01"), "1");
        assert_eq!(bucket("0.015"), "2");
        assert_eq!(bucket("15"), "2");
        assert_eq!(bucket("+Inf"), "3");
        assert!(
            text.contains(
                "contas_http_request_duration_seconds_sum{operation=\"/find\"} 60.020001\n"
            )
        );
        assert!(
            text.contains("contas_http_request_duration_seconds_count{operation=\"/find\"} 3\n")
        );
    }

    #[test]
    fn operations_past_the_limit_share_one_label() {
        let metrics = Metrics::default();
        for i in 0..MAX_OPERATIONS + 5 {
            metrics.observe(&format!("/route{i}"), 200, Duration::ZERO);
        }
        let text = metrics.render(&POOL, None);
        assert_eq!(
            lines_of(&text, "contas_http_requests_total{").len(),
            MAX_OPERATIONS + 1
        );
        assert!(text.contains(r#"contas_http_requests_total{operation="other",status="200"} 5"#));
    }

    #[test]
    fn in_flight_requests_are_counted_until_dropped() {
        let metrics = Metrics::default();
        let first = metrics.in_flight();
        let second = metrics.in_flight();
        drop(first);
        assert!(
            metrics
                .render(&POOL, None)
                .contains("\ncontas_http_requests_in_flight 1\n")
        );
        drop(second);
        assert!(
            metrics
                .render(&POOL, None)
                .contains("\ncontas_http_requests_in_flight 0\n")
        );
    }

    #[test]
    fn pool_gauges() {
        let text = Metrics::default().render(
            &PoolStatus {
                max_size: 16,
                open: 5,
                idle: 2,
                waiting: 4,
            },
            None,
        );
        for line in [
            r#"contas_db_pool_connections{state="in_use"} 3"#,
            r#"contas_db_pool_connections{state="idle"} 2"#,
            "contas_db_pool_max_connections 16",
            "contas_db_pool_waiting 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn brand_feeds_are_timestamps_by_brand() {
        let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let feeds = [
            FeedTimes {
                brand_id: "banco \"x\"".parse().unwrap(),
                last_import_at: at("2026-12-02T06:00:00.250Z"),
                newest_balance_at: Some(at("2026-12-02T05:59:00Z")),
            },
            FeedTimes {
                brand_id: "y".parse().unwrap(),
                last_import_at: at("2026-12-01T06:00:00Z"),
                newest_balance_at: None,
            },
        ];
        let metrics = Metrics::default();
        let text = metrics.render(&POOL, Some(feeds.to_vec()));
        assert_eq!(
            lines_of(&text, "contas_import_last_success_timestamp_seconds{"),
            [
                r#"contas_import_last_success_timestamp_seconds{brand="banco \"x\""} 1796191200.25"#,
                r#"contas_import_last_success_timestamp_seconds{brand="y"} 1796104800"#,
            ]
        );
        assert_eq!(
            lines_of(&text, "contas_balance_last_update_timestamp_seconds{"),
            [r#"contas_balance_last_update_timestamp_seconds{brand="banco \"x\""} 1796191140"#]
        );
        // When the store cannot answer, the last times read.
        let later = metrics.render(&POOL, None);
        for family in ["contas_import_last", "contas_balance_last"] {
            assert_eq!(lines_of(&later, family), lines_of(&text, family));
        }
        // None read yet: the rest is still there.
        let text = Metrics::default().render(&POOL, None);
        assert!(!text.contains("contas_import_last_success_timestamp_seconds"));
        assert!(text.contains("contas_db_pool_waiting"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
