//! How the store is kept: one writer at a time ([`lock`]), statement
//! entries in monthly partitions ([`months`]), what retention forgets
//! ([`retention`]) or rewrites ([`compaction`]) taking `transactions` for
//! a moment without stalling readers ([`exclusive`]), and the filters that spare
//! imports a look into every month for every new id ([`id_filters`]),
//! when each brand's feed last arrived ([`feeds`]), and the schema laid
//! out on a Citus cluster ([`distribution`]).

pub mod bloom;
pub mod compaction;
pub mod distribution;
pub mod exclusive;
pub mod feeds;
pub mod id_filters;
pub mod lock;
pub mod months;
pub mod retention;
