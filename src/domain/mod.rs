//! Pure rules of the Accounts contract: no I/O, unit-tested here.

pub mod account_number;
pub mod consent;
pub mod counterparty;
pub mod discovery;
pub mod identity;
pub mod legacy_id;
pub mod money;
pub mod month;
pub mod paging;
pub mod pii;
pub mod time;
pub mod vocabulary;
pub mod window;
