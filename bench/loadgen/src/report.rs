//! Renders the combined results JSON of `bench/run` as `bench/RESULTS.md`.

use anyhow::{Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

const HOW_TO_RUN: &str = "\
# Benchmark results

## How to run

```sh
bench/run                      # full size: 10,000 customers, 20,000 accounts, 10,000,000 transactions, 13 months
bench/run --customers 500 --accounts 1000 --transactions 200000 --mixed-secs 10 --step-secs 3   # smoke run
```

`bench/run` builds the service (`cargo build --release`) and the load generator
(`bench/loadgen`, its own Cargo package), starts a private PostgreSQL 15 cluster
under `bench/work/` (or uses `DATABASE_URL` when set; its database is then
reseeded), times `contas seed`, starts `contas serve`, queries real customers
and their consented accounts from the database, and drives every operation
open-loop: each request is due at a fixed time of a timetable and its latency
counts from that time, so queueing in the service is never hidden (no
coordinated omission). It then runs `pgbench -S` with the same client count
against the same cluster, writes `bench/results.json` and regenerates this
file. `bench/run --help` lists every option (each also has an environment
variable). The server and the private cluster are stopped on exit.

Regimes: (a) a fixed mixed load (default 300 req/s for 60 s, after a warm-up);
(b) per operation, a step-up of offered rates; an operation's *maximum
sustainable throughput* is the highest offered rate whose step kept p99 under
50 ms with no errors and an achieved rate within 5 % of the offered one.
References: `pgbench -S` (select-only, same client count, same cluster) and the
service's floor, a POST to an unknown path (routing, middleware and the error
envelope; no database).
";

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

pub fn render(results: &Path, md: &Path) -> Result<()> {
    let r: Value = serde_json::from_slice(
        &std::fs::read(results).with_context(|| format!("reading {}", results.display()))?,
    )?;
    let meta = &r["meta"];
    let load = &r["load"];
    let mut o = String::from(HOW_TO_RUN);
    let _ = writeln!(o, "\n## Latest run\n");
    let _ = writeln!(o, "- Date: {}", meta["date"].as_str().unwrap_or("?"));
    let _ = writeln!(
        o,
        "- Machine: {} cores ({}), {} GiB memory; {}",
        meta["cores"],
        meta["cpu"].as_str().unwrap_or("?"),
        meta["mem_gib"],
        meta["machine_note"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        o,
        "- Data: {} customers, {} accounts, {} transactions over {} months (brand `{}`){}",
        meta["customers"],
        meta["accounts"],
        meta["transactions"],
        meta["months"],
        meta["brand"].as_str().unwrap_or("?"),
        if meta["full_size"].as_bool() == Some(true) {
            " — full size"
        } else {
            " — **reduced size (smoke run), not the full-size benchmark**"
        }
    );
    let _ = writeln!(
        o,
        "- Command: `{}`",
        meta["command"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        o,
        "- Service revision: {}",
        meta["git_rev"].as_str().unwrap_or("?")
    );
    if let Some(secs) = meta["elapsed_secs"].as_f64() {
        let _ = writeln!(
            o,
            "- Took {:.1} min end to end ({})",
            secs / 60.0,
            if meta["built"].as_bool().unwrap_or(false) {
                "release builds, seed, load and report"
            } else {
                "`--no-build`: seed, load and report"
            }
        );
    }
    let _ = writeln!(
        o,
        "- Load generator: {} clients (connections), step length {} s; PostgreSQL: {}",
        load["clients"],
        load["step_secs"],
        meta["pg"].as_str().unwrap_or("?")
    );
    let _ = writeln!(o, "- Raw results: `bench/results.json`");

    // Seed.
    let seed = &r["seed"];
    let seed_rate = f(&seed["transactions_per_s"]);
    let _ = writeln!(o, "\n### Seed\n");
    let _ = writeln!(
        o,
        "`contas seed` loaded {} transactions in {:.1} s wall ({:.0} transactions/s as the seed reports it; {:.0}/s by wall clock incl. process start and migrations).\n\n> {}",
        seed["transactions"],
        f(&seed["wall_secs"]),
        seed_rate,
        f(&seed["transactions"]) / f(&seed["wall_secs"]),
        seed["summary"].as_str().unwrap_or("").trim()
    );

    // Mixed.
    let mixed = &load["mixed"];
    let _ = writeln!(
        o,
        "\n### (a) Mixed load: {} req/s offered for {} s (achieved {:.1} req/s)\n",
        mixed["offered_rps"],
        mixed["secs"],
        f(&mixed["achieved_total_rps"])
    );
    if let (Some(a), Some(b)) = (
        mixed["server_cpu_ms_per_req"].as_f64(),
        mixed["pg_cpu_ms_per_req"].as_f64(),
    ) {
        let _ = writeln!(
            o,
            "CPU per request over the mixed phase: server {a:.3} ms, PostgreSQL backends {b:.3} ms.\n"
        );
    }
    let _ = writeln!(
        o,
        "| operation | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors | p99 ≤ 10 ms | generator lag p99 ms |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    let mut all_mixed_ok = true;
    let empty = vec![];
    for s in mixed["per_op"].as_array().unwrap_or(&empty) {
        let ok = f(&s["p99_ms"]) <= 10.0 && s["errors"].as_u64() == Some(0);
        all_mixed_ok &= ok;
        let _ = writeln!(
            o,
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {:.2} |",
            s["op"].as_str().unwrap_or("?"),
            f(&s["offered_rps"]),
            f(&s["achieved_rps"]),
            f(&s["p50_ms"]),
            f(&s["p95_ms"]),
            f(&s["p99_ms"]),
            f(&s["max_ms"]),
            s["errors"],
            met(ok),
            f(&s["gen_lag_p99_ms"])
        );
    }

    // Steps.
    let pg_tps = f(&r["pgbench"]["tps"]);
    let steps = load["steps"].as_array().cloned().unwrap_or_default();
    let find = |name: &str| steps.iter().find(|s| s["op"] == name);
    let floor = find("floor-404")
        .map(|s| f(&s["max_sustainable_rps"]))
        .unwrap_or(f64::NAN);
    let last_rate = steps
        .iter()
        .flat_map(|s| s["steps"].as_array().cloned().unwrap_or_default())
        .map(|s| f(&s["offered_rps"]))
        .fold(0.0, f64::max);
    let _ = writeln!(
        o,
        "\nThe generator-lag column is how late the load generator itself started each request (due time → task start); it is part of the latency, so a large value means the machine, not the service, was short of CPU.\n\n### (b) Step-up per operation (p99 bound {} ms)\n",
        load["slo_p99_ms"]
    );
    let _ = writeln!(
        o,
        "References: `pgbench -S` {:.0} tps ({} clients, {} s, same cluster); floor (unknown path → 404) sustains {:.0} req/s.\n",
        pg_tps,
        r["pgbench"]["clients"],
        r["pgbench"]["secs"],
        floor
    );
    let _ = writeln!(
        o,
        "| operation | max sustainable req/s | p99 at that step ms | peak achieved req/s | ÷ pgbench -S | ÷ floor | server CPU ms/req | PostgreSQL CPU ms/req | generator CPU ms/req | requests |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for s in &steps {
        let best = f(&s["max_sustainable_rps"]);
        let at_best = s["steps"]
            .as_array()
            .and_then(|v| v.iter().rev().find(|x| f(&x["offered_rps"]) == best));
        let p99 = at_best
            .map(|x| format!("{:.2}", f(&x["p99_ms"])))
            .unwrap_or_else(|| "–".into());
        let cpu = |k: &str| {
            at_best
                .and_then(|x| x[k].as_f64())
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "–".into())
        };
        let (server_cpu, pg_cpu, generator_cpu) = (
            cpu("server_cpu_ms_per_req"),
            cpu("pg_cpu_ms_per_req"),
            cpu("generator_cpu_ms_per_req"),
        );
        let capped = s["steps"]
            .as_array()
            .map(|v| {
                v.iter()
                    .all(|x| x["errors"] == 0 && f(&x["p99_ms"]) <= f(&load["slo_p99_ms"]))
            })
            .unwrap_or(false)
            && best >= last_rate;
        let _ = writeln!(
            o,
            "| {} | {:.0}{} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} |",
            s["op"].as_str().unwrap_or("?"),
            best,
            if capped {
                " (top step; limit not reached)"
            } else {
                ""
            },
            p99,
            f(&s["peak_achieved_rps"]),
            best / pg_tps,
            best / floor,
            server_cpu,
            pg_cpu,
            generator_cpu,
            s["note"].as_str().unwrap_or("")
        );
    }

    // Targets.
    let mem = &load["server_memory"];
    let hwm_mb = f(&mem["vmhwm_kb"]) / 1024.0;
    let peak_mb = f(&mem["rss_kb_peak_sampled"]) / 1024.0;
    let balances = find("balances")
        .map(|s| f(&s["max_sustainable_rps"]))
        .unwrap_or(f64::NAN);
    let mixed_stat = |name: &str, stat: &str| {
        mixed["per_op"]
            .as_array()
            .and_then(|v| v.iter().find(|s| s["op"] == name))
            .map(|s| f(&s[stat]))
            .unwrap_or(f64::NAN)
    };
    let (deep, p1) = (
        mixed_stat("transactions-deep", "p99_ms"),
        mixed_stat("transactions-page1", "p99_ms"),
    );
    // A p99 of a few hundred requests is their few slowest: the sample
    // sizes and the p50 ratio let a reader judge a ratio near the bound.
    let deep_sample = format!(
        "p50 {:.2}×; {:.0} and {:.0} requests",
        mixed_stat("transactions-deep", "p50_ms") / mixed_stat("transactions-page1", "p50_ms"),
        mixed_stat("transactions-deep", "requests"),
        mixed_stat("transactions-page1", "requests"),
    );
    let deep_note = load["ops"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["op"] == "transactions-deep"))
        .and_then(|x| x["note"].as_str())
        .unwrap_or("");
    let _ = writeln!(o, "\n### Targets\n");
    let _ = writeln!(o, "| target | measured | |");
    let _ = writeln!(o, "|---|---|---|");
    let _ = writeln!(
        o,
        "| mixed {} req/s: p99 ≤ 10 ms for every operation | see (a) | {} |",
        mixed["offered_rps"],
        met(all_mixed_ok)
    );
    let _ = writeln!(
        o,
        "| `/balances` saturation ≥ 50 % of pgbench -S | {:.0} / {:.0} = {:.1} % | {} |",
        balances,
        pg_tps,
        100.0 * balances / pg_tps,
        met(balances >= 0.5 * pg_tps)
    );
    let deepest = load["deep_page_max"].as_i64().unwrap_or_else(|| {
        // Older results: read the page range from the note ("page A..B").
        deep_note
            .split("page ")
            .nth(1)
            .and_then(|r| r.split("..").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    });
    let verdict = if deepest >= 100 {
        met(deep <= 2.0 * p1).to_owned()
    } else {
        format!(
            "{} at page {deepest}; **page 100 not testable**: no consented account of this bank has 5,000 entries in 12 months",
            met(deep <= 2.0 * p1)
        )
    };
    let _ = writeln!(
        o,
        "| deep transactions page (page 100 at pageSize 50) p99 within 2× of page 1 (mixed load) | {:.2} ms vs {:.2} ms = {:.2}× ({deep_sample}; {}) | {} |",
        deep,
        p1,
        deep / p1,
        deep_note,
        verdict
    );
    let _ = writeln!(
        o,
        "| seed ≥ 100,000 transactions/s | {:.0}/s | {} |",
        seed_rate,
        met(seed_rate >= 100_000.0)
    );
    let _ = writeln!(
        o,
        "| server RSS ≤ 150 MB under load | peak VmHWM {:.1} MiB (sampled VmRSS peak {:.1} MiB) | {} |",
        hwm_mb,
        peak_mb,
        met(hwm_mb <= 150.0)
    );
    if balances < 0.5 * pg_tps {
        // The cause, from this run's own measurements: the CPU one /balances
        // request costs the three processes sharing the cores, at its
        // sustained step, against pgbench's whole transaction.
        let at_step = find("balances").and_then(|s| {
            s["steps"]
                .as_array()?
                .iter()
                .rev()
                .find(|x| f(&x["offered_rps"]) == balances)
                .cloned()
        });
        let cpu = |k: &str| {
            at_step
                .as_ref()
                .and_then(|x| x[k].as_f64())
                .unwrap_or(f64::NAN)
        };
        let (pg_cpu, server_cpu, generator_cpu) = (
            cpu("pg_cpu_ms_per_req"),
            cpu("server_cpu_ms_per_req"),
            cpu("generator_cpu_ms_per_req"),
        );
        let total = pg_cpu + server_cpu + generator_cpu;
        let cores = f(&meta["cores"]);
        let pgbench_tx = 1000.0 * cores / pg_tps;
        let _ = writeln!(
            o,
            "\nMeasured cause of the `/balances` miss: at its sustained step one request cost {pg_cpu:.3} ms of \
             PostgreSQL CPU, {server_cpu:.3} ms of service CPU and {generator_cpu:.3} ms of load-generator CPU: \
             {total:.3} ms on {cores:.0} shared cores, room for {:.0} req/s ({:.0} % of pgbench -S). A whole \
             `pgbench -S` transaction, its C client included, costs {pgbench_tx:.3} ms ({cores:.0} cores / \
             {pg_tps:.0} tps): one round trip to one index probe, where /balances makes two round trips (HTTP, \
             then SQL) and three probes (the account by key, its holder, its balances). PostgreSQL's share alone \
             would allow {:.0} % of pgbench -S.",
            1000.0 * cores / total,
            100.0 * 1000.0 * cores / total / pg_tps,
            100.0 * pgbench_tx / pg_cpu
        );
    }
    let _ = writeln!(
        o,
        "\nWhat limits each target, measured by profiling, and what was changed for it: \
         [ANALYSIS.md](ANALYSIS.md) (written by hand; this file is generated by `bench/run`)."
    );
    if let Some(notes) = meta["notes"].as_str() {
        let _ = writeln!(o, "\n### Notes\n\n{notes}");
    }
    std::fs::write(md, o)?;
    Ok(())
}
