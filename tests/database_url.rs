//! A `DATABASE_URL` without a user connects as the operating system's user,
//! as `psql` and libpq do: peer authentication on a Unix socket depends on it.

use sqlx::postgres::PgConnectOptions;
use std::ffi::CStr;

/// The effective user's login name, as libpq looks it up.
fn os_user() -> String {
    // SAFETY: getpwuid returns null or a static record, read at once; this
    // file's only test is the only caller.
    let record = unsafe { libc::getpwuid(libc::geteuid()) };
    assert!(!record.is_null(), "the effective user has no passwd entry");
    unsafe { CStr::from_ptr((*record).pw_name) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_url_without_a_user_means_the_os_user() {
    let options: PgConnectOptions = "postgres://127.0.0.1:5432/contas".parse().unwrap();
    // PGUSER, where set, comes first, as in libpq.
    let expected = std::env::var("PGUSER").unwrap_or_else(|_| os_user());
    assert_eq!(options.get_username(), expected);
}
