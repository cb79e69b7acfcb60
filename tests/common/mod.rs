//! Shared test harness: a real PostgreSQL per test, the service over real
//! HTTP, and contract validation of every response.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod app;
pub mod citus;
pub mod cluster;
pub mod contract;
pub mod db;
pub mod fixtures;
pub mod logs;
pub mod stall;
