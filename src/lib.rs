//! `contas`: the Accounts API 2.4.1 integration layer a transmitting
//! institution runs for the Opus Open Finance platform.
//!
//! Layers, from the wire inwards:
//! - [`http`]: routing, request extraction, the contract's error envelope;
//! - [`domain`]: pure rules (money, legacy ids, date windows, paging, consent scope);
//! - [`repo`]: SQL only;
//! - [`import`] and [`seed`]: how data gets into the store; [`store`]:
//!   one writer at a time, monthly partitions, retention;
//! - [`db`] and [`embedded_pg`]: connecting to PostgreSQL, or running a private one;
//! - [`duration`]: durations as operators write them (`5s`, `500ms`);
//! - [`logging`] and [`metrics`]: what operators see of it;
//! - [`startup`]: the `contas` command line, each command wired from it.

pub mod db;
pub mod domain;
pub mod duration;
pub mod embedded_pg;
pub mod healthcheck;
pub mod http;
pub mod import;
pub mod logging;
pub mod metrics;
pub mod repo;
pub mod seed;
pub mod startup;
pub mod store;
