"""Contract tests: schemathesis against `contas serve`, on all four contracts.

Run through `contract-tests/run` (which installs schemathesis first); see
contract-tests/README.md. Exit status 0 only when every contract ran without
a failure and every operation got at least --min-requests requests.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "contract-tests"
sys.path.insert(0, str(HERE))
import fixtures  # noqa: E402

# Contract (served at /openapi/<name>.json) -> multiplier of --examples. The
# account-holder check has one small body, so schemathesis's coverage phase
# yields few cases for it; more fuzzing examples bring it to the same order of
# requests as the Accounts operations.
CONTRACTS = {"accounts": 1, "accounts-rev3": 1, "commons": 4, "commons-rev4": 4}

CHECKS = [
    # What the contract promises about every response:
    "not_a_server_error",            # no 5xx
    "status_code_conformance",       # a status the operation declares
    "content_type_conformance",      # the declared media type for that status
    "response_schema_conformance",   # the body validates against the declared schema
    "response_headers_conformance",  # declared response headers present and valid
    # And about requests the contract does not allow:
    "missing_required_header",       # commons 1.0.0 without x-brand-id / x-correlation-id: 4xx
    "unsupported_method",            # other methods on the routes: 405
    "allow_header_conformance",      # ... with an Allow header naming POST
]
# Checks deliberately not run:
# - positive_data_acceptance: a schema-valid body is not enough for a 2xx here;
#   a consent of someone else, a missing permission, an unconsented account or
#   a page past the end are refused (403/404/422) by design and the contract
#   declares those answers.
# - negative_data_rejection: the service accepts `null` for optional fields
#   (e.g. consent.expirationDateTime, resources[].hasMultipleAuthorisers,
#   data.businessEntityDocument), which the contract does not allow; a known
#   leniency, reported, not a contract breach in any answer.
# - use_after_free, ensure_resource_availability, ignored_auth,
#   object_level_authorization: they need created resources or an auth scheme;
#   this API is read-only and declares no security scheme.

# The bank seeded for a local run: small enough to load in about a second,
# busy enough that statements have pages and recent entries.
BANK = {"customers": 200, "accounts": 400, "transactions": 60000, "seed": 20261122}
DEFAULT_SEED = "20261122"

MACHINE_CLUSTER_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def log(message: str) -> None:
    print(f"== {message}", flush=True)


def fail(message: str) -> "NoReturn":  # noqa: F821
    raise SystemExit(f"contract-tests: {message}")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


# ---- PostgreSQL ------------------------------------------------------------------

def psql_ok(url: str) -> bool:
    try:
        return run(["psql", url, "-X", "-qAtc", "SELECT 1"], timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def psql(url: str, sql: str) -> None:
    result = run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], timeout=120)
    if result.returncode != 0:
        fail(f"psql failed ({sql}):\n{result.stderr}")


def with_database(url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def machine_cluster() -> str | None:
    """The machine's cluster on 127.0.0.1:5432 (started if it is down)."""
    if psql_ok(MACHINE_CLUSTER_URL):
        return MACHINE_CLUSTER_URL
    if not shutil.which("pg_lsclusters") or not shutil.which("pg_ctlcluster"):
        return None
    for line in run(["pg_lsclusters", "-h"]).stdout.splitlines():
        version, cluster, port, *_ = line.split() + ["", "", ""]
        if port == "5432":
            log(f"starting the machine's PostgreSQL cluster {version}/{cluster}")
            run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"], timeout=120)
            return MACHINE_CLUSTER_URL if psql_ok(MACHINE_CLUSTER_URL) else None
    return None


def pg_binaries() -> Path:
    """initdb and pg_ctl, found the way src/embedded_pg.rs finds them."""
    candidates = []
    if os.environ.get("CONTAS_PG_BIN"):
        candidates.append(Path(os.environ["CONTAS_PG_BIN"]))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=lambda p: int(Path(p).parent.name), reverse=True)]
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    fail("no PostgreSQL: none on 127.0.0.1:5432, DATABASE_URL unset, and no initdb/pg_ctl to start one "
         "(Debian/Ubuntu: apt-get install postgresql)")


class PrivateCluster:
    """A throwaway cluster listening only on a socket in its own directory."""

    def __init__(self) -> None:
        self.bin = pg_binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="contas-contract-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
        pgdata = self.dir / "pgdata"
        self._server("initdb", "--pgdata", str(pgdata), "--auth=trust", "--username", "postgres",
                     "--encoding=UTF8", "--no-locale")
        options = f"-c listen_addresses='' -c unix_socket_directories='{self.dir}' -p 5432 -c fsync=off"
        self._server("pg_ctl", "start", "--pgdata", str(pgdata), "--log", str(self.dir / "postgres.log"),
                     "--wait", "--timeout", "60", "-o", options)
        self.url = f"postgres://postgres@localhost:5432/postgres?host={self.dir}"

    def _server(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = run(command, timeout=180)
        if result.returncode != 0:
            fail(f"{program} failed:\n{result.stdout}{result.stderr}")

    def stop(self) -> None:
        with contextlib.suppress(SystemExit):
            self._server("pg_ctl", "stop", "--pgdata", str(self.dir / "pgdata"), "--mode", "fast", "--wait")
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the service -------------------------------------------------------------------

def build(release: bool) -> Path:
    profile = "release" if release else "debug"
    log(f"cargo build{' --release' if release else ''} --bin contas")
    command = ["cargo", "build", "--bin", "contas"] + (["--release"] if release else [])
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        fail("cargo build failed")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / profile / "contas"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


class Service:
    def __init__(self, binary: Path, database_url: str, log_path: Path) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": database_url, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        with open(log_path, "wb") as out:
            self.process = subprocess.Popen([str(binary), "serve", "--bind", f"127.0.0.1:{port}"],
                                            env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                fail(f"contas serve exited with {self.process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                get(self.base_url + "/openapi/accounts.json", timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    fail(f"contas serve did not answer within 60 s; see {log_path}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---- schemathesis --------------------------------------------------------------------

def operations_of(base_url: str, contract: str) -> list[str]:
    schema = json.loads(get(f"{base_url}/openapi/{contract}.json"))
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return [f"{m.upper()} {path}" for path, item in schema["paths"].items() for m in item if m in methods]


def run_schemathesis(contract: str, base_url: str, args, run_dir: Path, fixtures_path: Path) -> dict:
    examples = args.examples * CONTRACTS[contract]
    junit = run_dir / f"{contract}.junit.xml"
    counts = run_dir / f"{contract}.counts.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{base_url}/openapi/{contract}.json",
        "--url", base_url,
        "--checks", ",".join(CHECKS),
        "--max-examples", str(examples),
        # One worker: the machine has two cores and the service needs one; a
        # second worker is slower and trips a CPython 3.11 bug in threaded
        # code generation ("AST constructor recursion depth mismatch").
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--no-color",
        "--report", "junit", "--report-junit-path", str(junit),
    ]
    if args.seed != "random":
        command += ["--seed", args.seed]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
        "CONTRACT_FIXTURES": str(fixtures_path),
        "CONTRACT_COUNTS_FILE": str(counts),
        "CONTRACT_REAL_DATA_SHARE": str(args.real_data_share),
    }
    log(f"schemathesis: contract {contract}, --max-examples {examples}")
    started = time.monotonic()
    code = subprocess.run(command, cwd=run_dir, env=env, timeout=args.timeout).returncode
    elapsed = time.monotonic() - started
    # Failures per JUnit test case: one per operation, plus "Stateful tests".
    failed_cases: dict[str, int] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            problems = len(case.findall("failure")) + len(case.findall("error"))
            failed_cases[case.get("name", "?")] = problems
    return {
        "contract": contract,
        "exit_code": code,
        "elapsed": elapsed,
        "operations": operations_of(base_url, contract),
        "counts": json.loads(counts.read_text()) if counts.exists() else {},
        "junit": failed_cases,
    }


def report(results: list[dict], min_requests: int, elapsed: float) -> bool:
    """Prints the requests per operation; True when everything passed."""
    print()
    header = f"{'contract':<14} {'operation':<27} {'requests':>8} {'real data':>9} {'2xx':>5} {'2xx real':>8} " \
             f"{'4xx':>5} {'5xx':>4}  result"
    print(header)
    print("-" * len(header))
    passed = failed = 0
    problems = []
    for result in results:
        contract = result["contract"]
        for operation in result["operations"]:
            entry = result["counts"].get(operation, {})
            statuses = entry.get("statuses", {})
            real_statuses = entry.get("real_statuses", {})
            by_class = lambda counter, c: sum(n for s, n in counter.items() if s.startswith(c))  # noqa: E731
            requests = entry.get("requests", 0)
            failures = result["junit"].get(operation, 0)
            outcome = "ok"
            if failures:
                outcome = f"{failures} failure(s)"
            elif requests < min_requests:
                outcome = f"only {requests} < {min_requests} requests"
            if outcome == "ok":
                passed += 1
            else:
                failed += 1
                problems.append(f"{contract} {operation}: {outcome}")
            print(f"{contract:<14} {operation:<27} {requests:>8} {entry.get('real', 0):>9} "
                  f"{by_class(statuses, '2'):>5} {by_class(real_statuses, '2'):>8} {by_class(statuses, '4'):>5} "
                  f"{by_class(statuses, '5'):>4}  {outcome}")
        for name, failures in result["junit"].items():
            if name not in result["operations"] and failures:
                failed += 1
                problems.append(f"{contract} {name}: {failures} failure(s)")
        if result["exit_code"] != 0:
            problems.append(f"{contract}: schemathesis exited with {result['exit_code']}")
        others = {op: e["requests"] for op, e in result["counts"].items() if op not in result["operations"]}
        if others:
            print(f"{contract:<14} {'(other methods, 405)':<27} {sum(others.values()):>8}")
    total = sum(e["requests"] for r in results for e in r["counts"].values())
    print("-" * len(header))
    print(f"{total} requests in {elapsed:.0f} s; " +
          ", ".join(f"{r['contract']} {r['elapsed']:.0f} s" for r in results))
    for problem in problems:
        print(f"FAILED: {problem}")
    print(f"contract-tests: {passed} passed, {failed} failed")
    return not problems


# ---- main --------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="contract-tests/run",
        description="Property-based contract tests of contas with schemathesis. Without BASE_URL: build, "
                    "start PostgreSQL, seed a fresh database, serve it and test it. With BASE_URL: test "
                    "that running instance.")
    parser.add_argument("base_url", nargs="?", metavar="BASE_URL",
                        help="a running instance to test, e.g. http://127.0.0.1:8080")
    env = os.environ.get
    parser.add_argument("--examples", type=int, default=int(env("CONTRACT_EXAMPLES", "100")),
                        help="schemathesis --max-examples for the Accounts contracts; the account-holder "
                             f"contracts get {CONTRACTS['commons']}x (env CONTRACT_EXAMPLES, default 100)")
    parser.add_argument("--min-requests", type=int, default=int(env("CONTRACT_MIN_REQUESTS", "300")),
                        help="fail if an operation got fewer requests (env CONTRACT_MIN_REQUESTS, default 300)")
    parser.add_argument("--seed", default=env("CONTRACT_SEED", DEFAULT_SEED),
                        help=f"schemathesis seed, or 'random' (env CONTRACT_SEED, default {DEFAULT_SEED})")
    parser.add_argument("--contracts", default=",".join(CONTRACTS),
                        help=f"comma-separated subset of {','.join(CONTRACTS)}")
    parser.add_argument("--real-data-share", type=float, default=0.75,
                        help="share of generated cases rewritten with a real customer's consent (default 0.75)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per contract")
    local = parser.add_argument_group("without BASE_URL")
    local.add_argument("--release", action="store_true", help="build and test the release binary (default: debug)")
    local.add_argument("--binary", help="test this contas binary instead of building one")
    local.add_argument("--private-pg", action="store_true",
                       help="start a private PostgreSQL cluster even if DATABASE_URL or 127.0.0.1:5432 is there")
    local.add_argument("--keep", action="store_true", help="keep the database and the run directory")
    remote = parser.add_argument_group(
        "with BASE_URL: where real customers come from (first that applies)")
    remote.add_argument("--fixtures", help="a fixtures JSON file (format: contract-tests/fixtures.py)")
    remote.add_argument("--database-url", default=env("DATABASE_URL"),
                        help="the instance's database, read with psql (env DATABASE_URL). Without BASE_URL: "
                             "the server to create the test database on")
    remote.add_argument("--brand", help=f"with neither: the brand (default {fixtures.DEMO_BRAND})")
    remote.add_argument("--cpf", default=fixtures.DEMO_CPF,
                        help="with neither: a customer whose accounts /account-discovery lists (default: demo)")
    remote.add_argument("--cnpj", default=fixtures.DEMO_COMPANY_CNPJ,
                        help="with neither: a company of the brand, '' for none (default: demo company)")
    args = parser.parse_args()
    unknown = set(args.contracts.split(",")) - set(CONTRACTS)
    if unknown:
        parser.error(f"unknown contracts: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))
    fixtures_path = run_dir / "fixtures.json"
    # SIGTERM (CI cancelling) cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    with contextlib.ExitStack() as cleanup:
        if args.base_url:
            base_url = args.base_url.rstrip("/")
            if args.fixtures:
                log("real data: " + fixtures.write(json.loads(Path(args.fixtures).read_text()), fixtures_path))
            elif args.database_url:
                log("real data: " + fixtures.write(fixtures.from_database(args.database_url, args.brand, 40, 15), fixtures_path))
            else:
                found = fixtures.from_service(base_url, args.brand or fixtures.DEMO_BRAND, args.cpf, args.cnpj or None)
                log("real data: " + fixtures.write(found, fixtures_path))
        else:
            binary = Path(args.binary) if args.binary else build(args.release)
            admin_url = None if args.private_pg else args.database_url or machine_cluster()
            if admin_url is None:
                log("starting a private PostgreSQL cluster")
                cluster = PrivateCluster()
                cleanup.callback(cluster.stop)
                admin_url = cluster.url
            if not psql_ok(admin_url):
                fail(f"cannot connect to {admin_url}")
            database = f"contas_contract_{os.getpid()}_{secrets.token_hex(3)}"
            database_url = with_database(admin_url, database)
            log(f"database {database} on {urllib.parse.urlsplit(admin_url).netloc or 'a local socket'}")
            psql(admin_url, f"CREATE DATABASE {database}")
            if not args.keep:
                cleanup.callback(psql, admin_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            seed = [str(binary), "seed"] + [f"--{k}={v}" for k, v in BANK.items()]
            log(" ".join(["contas"] + seed[1:]))
            result = run(seed, env={**os.environ, "DATABASE_URL": database_url})
            if result.returncode != 0:
                fail(f"contas seed failed:\n{result.stdout}{result.stderr}")
            print(result.stdout.strip(), flush=True)
            service = Service(binary, database_url, run_dir / "contas-serve.log")
            cleanup.callback(service.stop)
            base_url = service.base_url
            log(f"contas serve on {base_url}")
            log("real data: " + fixtures.write(fixtures.from_database(database_url, None, 40, 15), fixtures_path))
        results = [run_schemathesis(c, base_url, args, run_dir, fixtures_path) for c in args.contracts.split(",")]
        ok = report(results, args.min_requests, time.monotonic() - started)
    if ok and not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"reports and logs: {run_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
