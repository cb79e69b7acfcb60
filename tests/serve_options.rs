//! `contas serve` refuses limits that cannot work, before touching the
//! database, with a message that says why.

use std::process::Command;

fn serve(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_contas"))
        .arg("serve")
        .args(args)
        // Never reached: the options are refused first.
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_acquire_timeout_not_under_the_request_timeout_is_refused() {
    let (ok, stderr) = serve(&["--request-timeout", "2s", "--db-acquire-timeout", "2s"]);
    assert!(!ok);
    assert!(
        stderr.contains("must be shorter than the request timeout"),
        "{stderr}"
    );
}

#[test]
fn durations_need_a_unit_and_limits_must_be_positive() {
    for (args, expected) in [
        (["--request-timeout", "5"], "no unit"),
        (["--shutdown-grace", "0s"], "zero"),
        (["--max-in-flight", "0"], "0"),
        (["--db-pool-size", "0"], "0"),
    ] {
        let (ok, stderr) = serve(&args);
        assert!(!ok, "{args:?} accepted");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn help_lists_every_limit_with_its_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_contas"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in [
        "CONTAS_REQUEST_TIMEOUT",
        "CONTAS_MAX_IN_FLIGHT",
        "CONTAS_DB_POOL_SIZE",
        "CONTAS_DB_ACQUIRE_TIMEOUT",
        "CONTAS_SHUTDOWN_GRACE",
    ] {
        assert!(help.contains(variable), "{variable} missing:\n{help}");
    }
}
