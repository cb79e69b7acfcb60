//! The HTTP layer: the routes (`routes`), what handlers share (`state`),
//! request extraction and validation, the error type and its envelope,
//! and one handler module per API.

pub mod accounts;
pub mod auth;
pub mod commons;
mod connection;
pub mod correlation;
pub mod docs;
mod envelope;
pub mod error;
pub mod extract;
pub mod health;
pub mod limits;
mod negotiation;
pub mod requests;
pub mod responses;
mod routes;
pub mod server;
mod state;
pub mod telemetry;
pub mod tls;

pub use connection::ConnectionTimeouts;
pub use routes::{router, router_with_limits};
pub use server::{Lifecycle, ServeError, ServerSettings, serve};
pub use state::AppState;
