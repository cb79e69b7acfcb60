//! How the store is kept: one writer at a time ([`lock`]), statement
//! entries in monthly partitions ([`months`]), and what retention forgets
//! ([`retention`]) or rewrites ([`compaction`]).

pub mod compaction;
pub mod lock;
pub mod months;
pub mod retention;
