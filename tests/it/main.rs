//! The integration tests, one module per area, in one test binary: each
//! binary links the whole crate and its dependencies, so one binary instead
//! of one per file makes a changed line cost one link, not twenty-six.
//!
//! `tests/observability.rs` stays a binary of its own: its tests count the
//! log lines captured in their process (`common::logs`), which only holds
//! their own requests when no other area's tests run beside them.

#[path = "../common/mod.rs"]
mod common;

mod accounts_api;
mod auth_api;
mod body_limits_api;
mod brand_isolation;
mod citus;
mod cli;
mod commons_api;
mod container_commands;
mod contract_coverage;
mod contract_equivalence;
mod contract_validation;
mod docs_api;
mod edges;
mod errors_api;
mod health_api;
mod import;
mod limits_api;
mod outage;
mod query_plans;
mod replica;
mod retention;
mod seed;
mod serve_options;
mod shutdown;
mod statements_api;
mod tls_api;
mod upgrade;
