//! `contas serve` refuses limits that cannot work, and an address other
//! machines reach without authentication, before touching the database,
//! with a message that says why.

use std::process::{Command, Output};

fn serve(args: &[&str]) -> (bool, String) {
    let output = serve_with_env(args, &[]);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn serve_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contas"))
        .arg("serve")
        .args(args)
        // Never reached by a refused start: the options are refused first.
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("RUST_LOG", "warn")
        .env_remove("CONTAS_BIND")
        .env_remove("CONTAS_API_TOKEN")
        .env_remove("CONTAS_ALLOW_UNAUTHENTICATED")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn an_address_other_machines_reach_is_refused_without_authentication() {
    for (args, env) in [
        (vec!["--bind", "0.0.0.0:0"], vec![]),
        (vec!["--bind", "[::]:0"], vec![]),
        (vec![], vec![("CONTAS_BIND", "0.0.0.0:0")]),
        (
            vec!["--bind", "0.0.0.0:0"],
            vec![("CONTAS_ALLOW_UNAUTHENTICATED", "false")],
        ),
    ] {
        let output = serve_with_env(&args, &env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{args:?} {env:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        for way_out in [
            "CONTAS_API_TOKEN",
            "CONTAS_TLS_CERT",
            "CONTAS_ALLOW_UNAUTHENTICATED=true",
        ] {
            assert!(stderr.contains(way_out), "{way_out} not named: {stderr}");
        }
    }
}

#[test]
fn a_token_loopback_or_an_explicit_opt_out_passes_the_check() {
    for (args, env, warned) in [
        (
            vec!["--bind", "0.0.0.0:0"],
            vec![("CONTAS_API_TOKEN", TOKEN)],
            false,
        ),
        (vec!["--bind", "127.0.0.1:0"], vec![], false),
        (
            vec!["--bind", "0.0.0.0:0"],
            vec![("CONTAS_ALLOW_UNAUTHENTICATED", "true")],
            true,
        ),
        (
            vec!["--bind", "0.0.0.0:0", "--allow-unauthenticated"],
            vec![],
            true,
        ),
    ] {
        // Each gets as far as the database, which is not there.
        let output = serve_with_env(&args, &env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains("connecting to PostgreSQL"), "{stderr}");
        assert_eq!(
            stderr.contains("serving without authentication"),
            warned,
            "{args:?} {env:?}: {stderr}"
        );
    }
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
