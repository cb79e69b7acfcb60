//! Open-loop load generator for `bench/run`.
//!
//! Requests are put on a fixed timetable (request `i` of a phase is due at
//! `start + i / rate`) and each one's latency is measured from the moment it
//! was *due*, not from when a connection happened to be free: when the service
//! falls behind, the queueing shows up in the percentiles instead of silently
//! lowering the offered rate (no coordinated omission). At most `--clients`
//! requests are on the wire at once; the rest wait, and their wait counts.
//!
//! `loadgen run` drives the service and writes the raw results as JSON;
//! `loadgen report` turns the combined results JSON (with the seed and
//! pgbench numbers `bench/run` adds) into `bench/RESULTS.md`.

mod report;

use anyhow::{bail, Context, Result};
use chrono::{Duration as CDuration, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive the service and write raw results as JSON.
    Run(RunArgs),
    /// While another process runs (maintenance), send one statement page at
    /// a time at a fixed interval and record how long readers wait.
    Probe(ProbeArgs),
    /// Render the combined results JSON as Markdown.
    Report {
        #[arg(long)]
        results: PathBuf,
        /// Another run's results, shown beside these (e.g. 10M beside 100M).
        #[arg(long)]
        compare: Option<PathBuf>,
        #[arg(long)]
        md: PathBuf,
    },
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Base URL of `contas serve`.
    #[arg(long)]
    url: String,
    /// Customers and their accounts, as `bench/run` queried them from the DB.
    #[arg(long)]
    targets: PathBuf,
    /// Requests on the wire at once (connections).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Offered rate of the mixed regime, requests/s.
    #[arg(long, default_value_t = 300.0)]
    mixed_rate: f64,
    #[arg(long, default_value_t = 60.0)]
    mixed_secs: f64,
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    /// Seconds per step of the step-up.
    #[arg(long, default_value_t = 5.0)]
    step_secs: f64,
    /// Offered rates of the step-up, requests/s, ascending.
    #[arg(
        long,
        default_value = "400,700,1000,1400,2000,2800,4000,5600,8000,11000,15000,20000,28000,40000"
    )]
    step_rates: String,
    /// The step-up's latency bound: a step passes while p99 stays under it.
    #[arg(long, default_value_t = 50.0)]
    slo_p99_ms: f64,
    /// Operations of the step-up (comma-separated names; default all).
    #[arg(long)]
    step_ops: Option<String>,
    /// Skip the step-up.
    #[arg(long)]
    no_steps: bool,
    /// PID of the server, for its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long, default_value_t = 1)]
    rng_seed: u64,
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct ProbeArgs {
    /// Base URL of `contas serve`.
    #[arg(long)]
    url: String,
    /// Customers and their accounts, as `bench/run` queried them from the DB.
    #[arg(long)]
    targets: PathBuf,
    /// Milliseconds from the start of one request to the start of the next
    /// (a slower request delays the next).
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// Probe until this process has exited.
    #[arg(long)]
    while_pid: u32,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Deserialize)]
struct Targets {
    brand: String,
    customers: Vec<Customer>,
}

#[derive(Deserialize, Clone)]
struct Customer {
    cpf: String,
    accounts: Vec<TargetAccount>,
}

#[derive(Deserialize, Clone)]
struct TargetAccount {
    id: Value,
    status: String,
    /// Entries booked in the last 12 months.
    tx12: i64,
}

/// One kind of request the generator sends.
struct Op {
    name: &'static str,
    path: &'static str,
    /// Status a correct answer has.
    expect: u16,
    /// x-brand-id / x-correlation-id headers (`/check-account-holder`).
    holder_headers: bool,
    bodies: Vec<Vec<u8>>,
    /// Weight in the mixed regime (0: not in it).
    mix_weight: u32,
    note: String,
}

fn uuid(rng: &mut SmallRng) -> String {
    let b: [u8; 16] = rng.random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

struct Builder {
    brand: String,
    rng: SmallRng,
    now: chrono::DateTime<Utc>,
    today: NaiveDate,
}

impl Builder {
    fn consent(&mut self, c: &Customer) -> Value {
        let resources: Vec<Value> = c
            .accounts
            .iter()
            .map(|a| json!({"type": "ACCOUNT", "resourceLegacyId": a.id}))
            .collect();
        let created = (self.now - CDuration::hours(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let expires = (self.now + CDuration::days(365))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        json!({
            "brandId": self.brand,
            "creationDateTime": created,
            "expirationDateTime": expires,
            "tpp": {"name": "Agregador Benchmark"},
            "externalId": format!("urn:bench:{}", uuid(&mut self.rng)),
            "loggedUser": {"document": {"identification": c.cpf, "rel": "CPF"}},
            "permissions": ["ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "ACCOUNTS_TRANSACTIONS_READ",
                            "ACCOUNTS_OVERDRAFT_LIMITS_READ", "RESOURCES_READ"],
            "resources": resources,
        })
    }

    fn base(&mut self, c: &Customer) -> Value {
        let correlation = format!("localID:{}", uuid(&mut self.rng));
        json!({
            "consent": self.consent(c),
            "requestMeta": {"correlationId": correlation, "brandId": self.brand},
        })
    }

    fn date(&self, days_back: i64) -> String {
        (self.today - CDuration::days(days_back))
            .format("%Y-%m-%d")
            .to_string()
    }

    /// 12 months back, as the service counts them.
    fn year_back(&self) -> String {
        self.today
            .checked_sub_months(chrono::Months::new(12))
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    }
}

const N_BODIES: usize = 2000;

fn build_ops(targets: &Targets, seed: u64) -> Result<(Vec<Op>, i64)> {
    let now = Utc::now();
    // The service's "today" is Brasília's (UTC-3, no DST since 2019).
    let today = (now - CDuration::hours(3)).date_naive();
    let mut b = Builder {
        brand: targets.brand.clone(),
        rng: SmallRng::seed_from_u64(seed),
        now,
        today,
    };
    let customers = &targets.customers;
    if customers.is_empty() {
        bail!("no customers in the targets file");
    }
    // (customer, available account) pairs.
    let available: Vec<(&Customer, &TargetAccount)> = customers
        .iter()
        .flat_map(|c| {
            c.accounts
                .iter()
                .filter(|a| a.status == "AVAILABLE")
                .map(move |a| (c, a))
        })
        .collect();
    if available.is_empty() {
        bail!("no AVAILABLE account among the targets");
    }
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed);
    let mut bodies = |b: &mut Builder, f: &mut dyn FnMut(&mut Builder, &mut SmallRng) -> Value| {
        (0..N_BODIES)
            .map(|_| serde_json::to_vec(&f(b, &mut rng)).unwrap())
            .collect::<Vec<_>>()
    };
    let mut ops = Vec::new();
    let push = |ops: &mut Vec<Op>, name, path, weight, bodies, note: String| {
        ops.push(Op {
            name,
            path,
            expect: 200,
            holder_headers: false,
            bodies,
            mix_weight: weight,
            note,
        })
    };

    let v = bodies(&mut b, &mut |b, r| {
        let c = customers.choose(r).unwrap();
        b.base(c)
    });
    push(
        &mut ops,
        "account-discovery",
        "/account-discovery",
        1,
        v,
        "random customer, all accounts consented".into(),
    );

    let v = bodies(&mut b, &mut |b, r| {
        let c = customers.choose(r).unwrap();
        let mut body = b.base(c);
        body["page"] = json!(1);
        body["pageSize"] = json!(25);
        body
    });
    push(
        &mut ops,
        "accounts",
        "/accounts",
        2,
        v,
        "page 1, pageSize 25".into(),
    );

    for (name, path, weight) in [
        ("find", "/find", 1),
        ("balances", "/balances", 3),
        ("overdraft-limits", "/overdraft-limits", 1),
    ] {
        let v = bodies(&mut b, &mut |b, r| {
            let (c, a) = available.choose(r).unwrap();
            let mut body = b.base(c);
            body["accountId"] = a.id.clone();
            body
        });
        push(
            &mut ops,
            name,
            path,
            weight,
            v,
            "random consented AVAILABLE account".into(),
        );
    }

    // Statements: today, 7 days, 30 days, 12 months; page 2 on 12 months
    // when the account has one.
    let v = bodies(&mut b, &mut |b, r| {
        let (c, a) = available.choose(r).unwrap();
        let mut body = b.base(c);
        body["accountId"] = a.id.clone();
        body["pageSize"] = json!(25);
        let (from, to, page) = match r.random_range(0..5) {
            0 => (None, None, 1),
            1 => (Some(b.date(7)), Some(b.date(0)), 1),
            2 => (Some(b.date(30)), Some(b.date(0)), 1),
            3 => (Some(b.year_back()), Some(b.date(0)), 1),
            _ => (
                Some(b.year_back()),
                Some(b.date(0)),
                if a.tx12 > 60 { 2 } else { 1 },
            ),
        };
        if let (Some(f), Some(t)) = (from, to) {
            body["fromBookingDate"] = json!(f);
            body["toBookingDate"] = json!(t);
        }
        body["page"] = json!(page);
        body
    });
    push(
        &mut ops,
        "transactions",
        "/transactions",
        4,
        v,
        "windows today/7d/30d/12m, pages 1 and 2, pageSize 25".into(),
    );

    let v = bodies(&mut b, &mut |b, r| {
        let (c, a) = available.choose(r).unwrap();
        let mut body = b.base(c);
        body["accountId"] = a.id.clone();
        if r.random_bool(0.5) {
            body["fromBookingDateMaxLimited"] = json!(b.date(6));
            body["toBookingDateMaxLimited"] = json!(b.date(0));
        }
        body["page"] = json!(1);
        body
    });
    push(
        &mut ops,
        "transactions-current",
        "/transactions-current",
        2,
        v,
        "windows today/7d, page 1".into(),
    );

    // Deep pages: page 100 at pageSize 50 needs 5,000 entries in 12 months;
    // on a smaller bank, the deepest page the busiest accounts have.
    let mut busiest: Vec<(&Customer, &TargetAccount)> = available.clone();
    busiest.sort_by_key(|(_, a)| -a.tx12);
    let deep_ok: Vec<_> = busiest
        .iter()
        .filter(|(_, a)| a.tx12 >= 5100)
        .cloned()
        .collect();
    let deep_pool: Vec<_> = if deep_ok.len() >= 5 {
        deep_ok
    } else {
        busiest.iter().take(50).cloned().collect()
    };
    let page_of = |a: &TargetAccount| -> i64 { (a.tx12 / 50 - 1).clamp(1, 100) };
    let pages: Vec<i64> = deep_pool.iter().map(|(_, a)| page_of(a)).collect();
    let (pmin, pmax) = (
        pages.iter().min().copied().unwrap_or(1),
        pages.iter().max().copied().unwrap_or(1),
    );
    let v = bodies(&mut b, &mut |b, r| {
        let (c, a) = deep_pool.choose(r).unwrap();
        let mut body = b.base(c);
        body["accountId"] = a.id.clone();
        body["fromBookingDate"] = json!(b.year_back());
        body["toBookingDate"] = json!(b.date(0));
        body["pageSize"] = json!(50);
        body["page"] = json!(page_of(a));
        body
    });
    push(
        &mut ops,
        "transactions-deep",
        "/transactions",
        1,
        v,
        format!(
            "12m window, pageSize 50, page {pmin}..{pmax} on the {} busiest accounts",
            deep_pool.len()
        ),
    );
    let v = bodies(&mut b, &mut |b, r| {
        let (c, a) = deep_pool.choose(r).unwrap();
        let mut body = b.base(c);
        body["accountId"] = a.id.clone();
        body["fromBookingDate"] = json!(b.year_back());
        body["toBookingDate"] = json!(b.date(0));
        body["pageSize"] = json!(50);
        body["page"] = json!(1);
        body
    });
    push(
        &mut ops,
        "transactions-page1",
        "/transactions",
        1,
        v,
        "same accounts and window as transactions-deep, page 1".into(),
    );

    let v = bodies(&mut b, &mut |_, r| {
        let c = customers.choose(r).unwrap();
        json!({"data": {"loggedUserDocument": c.cpf}})
    });
    ops.push(Op {
        name: "check-account-holder",
        path: "/check-account-holder",
        expect: 200,
        holder_headers: true,
        bodies: v,
        mix_weight: 1,
        note: "x-brand-id + x-correlation-id, random customer".into(),
    });

    ops.push(Op {
        name: "floor-404",
        path: "/bench-no-such-route",
        expect: 404,
        holder_headers: false,
        bodies: vec![b"{}".to_vec()],
        mix_weight: 0,
        note: "POST to an unknown path: routing + error envelope, no database".into(),
    });
    Ok((ops, pmax))
}

struct Recorder {
    hist: Histogram<u64>,
    /// Lateness of the generator itself: due time to the request's task
    /// starting (before it waits for a free connection).
    lag: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    last_done: Option<Instant>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            hist: Histogram::new_with_bounds(1, 120_000_000, 3).unwrap(),
            lag: Histogram::new_with_bounds(1, 120_000_000, 3).unwrap(),
            ok: 0,
            errors: 0,
            first_error: None,
            last_done: None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct OpStats {
    pub op: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub requests: u64,
    pub errors: u64,
    pub unfinished: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub first_error: Option<String>,
    /// p99 of the generator's own lateness (due → task start), ms.
    pub gen_lag_p99_ms: f64,
    /// CPU time of the server process per answered request, ms.
    #[serde(default)]
    pub server_cpu_ms_per_req: Option<f64>,
    /// CPU time of the PostgreSQL backends of database `contas` per
    /// answered request, ms.
    #[serde(default)]
    pub pg_cpu_ms_per_req: Option<f64>,
    /// CPU time of this load generator per answered request, ms: it shares
    /// the machine with the service and PostgreSQL.
    #[serde(default)]
    pub generator_cpu_ms_per_req: Option<f64>,
}

fn stats(op: &str, offered: f64, r: &Recorder, start: Instant, unfinished: u64) -> OpStats {
    let ms = |q: f64| r.hist.value_at_quantile(q) as f64 / 1000.0;
    let done = r.ok + r.errors;
    let span = r
        .last_done
        .map(|t| t.duration_since(start).as_secs_f64())
        .unwrap_or(1.0)
        .max(1e-3);
    OpStats {
        op: op.to_owned(),
        offered_rps: offered,
        achieved_rps: r.ok as f64 / span,
        requests: done + unfinished,
        errors: r.errors + unfinished,
        unfinished,
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: r.hist.max() as f64 / 1000.0,
        mean_ms: r.hist.mean() / 1000.0,
        first_error: r.first_error.clone(),
        gen_lag_p99_ms: r.lag.value_at_quantile(0.99) as f64 / 1000.0,
        server_cpu_ms_per_req: None,
        pg_cpu_ms_per_req: None,
        generator_cpu_ms_per_req: None,
    }
}

struct Engine {
    client: reqwest::Client,
    /// Of each op, parsed once.
    urls: Vec<reqwest::Url>,
    brand: String,
    ops: Vec<Op>,
    clients: usize,
}

impl Engine {
    /// Runs `schedule.len()` requests at `rate` per second, request `i` of
    /// op `schedule[i]` due at `start + i / rate`. Returns stats per op
    /// present in the schedule, in op order.
    async fn phase(self: &Arc<Self>, schedule: &[usize], rate: f64, seed: u64) -> Vec<OpStats> {
        let recs: Arc<Vec<Mutex<Recorder>>> = Arc::new(
            (0..self.ops.len())
                .map(|_| Mutex::new(Recorder::new()))
                .collect(),
        );
        let sem = Arc::new(Semaphore::new(self.clients));
        let mut rng = SmallRng::seed_from_u64(seed);
        let start = Instant::now() + Duration::from_millis(20);
        let interval = 1.0 / rate;
        let mut tasks = Vec::with_capacity(schedule.len());
        // The timetable is kept by a plain thread (nanosleep: tens of µs of
        // slop, not tokio's 1 ms timer wheel); its lateness is measured and
        // reported as the generator's lag, and counts in the latency anyway.
        // At high rates it sleeps at least TIMETABLE_QUANTUM and hands over
        // everything due by then in one message: waking the thread and the
        // runtime for every request cost the generator as much CPU as the
        // service under test.
        let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<(usize, Instant)>>();
        let n = schedule.len();
        std::thread::spawn(move || {
            let due_of = |i: usize| start + Duration::from_secs_f64(i as f64 * interval);
            let mut i = 0;
            while i < n {
                let now = Instant::now();
                let due = due_of(i);
                if due > now {
                    std::thread::sleep((due - now).max(TIMETABLE_QUANTUM));
                }
                let now = Instant::now();
                let mut batch = Vec::new();
                while i < n && due_of(i) <= now {
                    batch.push((i, due_of(i)));
                    i += 1;
                }
                if due_tx.send(batch).is_err() {
                    break;
                }
            }
        });
        while let Some(batch) = due_rx.recv().await {
            for (i, due) in batch {
                let op = schedule[i];
                let body = {
                    let bodies = &self.ops[op].bodies;
                    bodies[rng.random_range(0..bodies.len())].clone()
                };
                let correlation = uuid(&mut rng);
                let (engine, recs, sem) = (self.clone(), recs.clone(), sem.clone());
                tasks.push(tokio::spawn(async move {
                    let lag = Instant::now().saturating_duration_since(due).as_micros() as u64;
                    let _permit = sem.acquire_owned().await.unwrap();
                    let o = &engine.ops[op];
                    let mut req = engine
                        .client
                        .post(engine.urls[op].clone())
                        .header("content-type", "application/json")
                        .header("accept", "application/json")
                        .body(body);
                    if o.holder_headers {
                        req = req
                            .header("x-brand-id", engine.brand.as_str())
                            .header("x-correlation-id", correlation);
                    }
                    let outcome = match req.send().await {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            match resp.bytes().await {
                                Ok(_) if status == o.expect => Ok(()),
                                Ok(bytes) => Err(format!(
                                    "HTTP {status}: {}",
                                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                                )),
                                Err(e) => Err(format!("reading body: {e}")),
                            }
                        }
                        Err(e) => Err(format!("{e}")),
                    };
                    let done = Instant::now();
                    let latency = done.saturating_duration_since(due).as_micros() as u64;
                    let mut r = recs[op].lock().unwrap();
                    r.hist.saturating_record(latency.max(1));
                    r.lag.saturating_record(lag.max(1));
                    r.last_done = Some(r.last_done.map_or(done, |t| t.max(done)));
                    match outcome {
                        Ok(()) => r.ok += 1,
                        Err(e) => {
                            r.errors += 1;
                            if r.first_error.is_none() {
                                r.first_error = Some(e);
                            }
                        }
                    }
                }));
            }
        }
        // Drain: requests still unanswered 15 s after the last was due count
        // as errors (unfinished).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let mut unfinished = vec![0u64; self.ops.len()];
        for (task, &op) in tasks.into_iter().zip(schedule) {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
                unfinished[op] += 1;
            }
        }
        let mut counts = vec![0u64; self.ops.len()];
        for &op in schedule {
            counts[op] += 1;
        }
        let total = schedule.len() as f64;
        (0..self.ops.len())
            .filter(|&op| counts[op] > 0)
            .map(|op| {
                let r = recs[op].lock().unwrap();
                let offered = rate * counts[op] as f64 / total;
                stats(self.ops[op].name, offered, &r, start, unfinished[op])
            })
            .collect()
    }
}

#[derive(Serialize)]
struct StepRun {
    op: String,
    note: String,
    steps: Vec<OpStats>,
    /// Highest offered rate whose step kept p99 under the bound, with no
    /// errors and the achieved rate within 5 % of the offered one.
    max_sustainable_rps: f64,
    /// Highest achieved rate in any step (the step may have missed the bound).
    peak_achieved_rps: f64,
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// CPU ticks of the PostgreSQL backends serving database `contas`.
fn pg_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    c.starts_with(b"postgres: ")
                        && String::from_utf8_lossy(&c).split_whitespace().nth(2) == Some("contas")
                })
                .unwrap_or(false)
        })
        .filter_map(cpu_ticks)
        .sum()
}

/// CPU ticks of the server, of PostgreSQL's backends and of this generator.
#[derive(Clone, Copy)]
struct CpuSnapshot {
    server: Option<u64>,
    pg: u64,
    generator: Option<u64>,
}

fn cpu_snapshot(server: Option<u32>) -> CpuSnapshot {
    CpuSnapshot {
        server: server.and_then(cpu_ticks),
        pg: pg_ticks(),
        generator: cpu_ticks(std::process::id()),
    }
}

fn attribute_cpu(s: &mut OpStats, before: CpuSnapshot, after: CpuSnapshot) {
    let answered = (s.requests - s.unfinished).max(1) as f64;
    let per_request = |a: u64, b: u64| b.saturating_sub(a) as f64 * 10.0 / answered;
    if let (Some(a), Some(b)) = (before.server, after.server) {
        s.server_cpu_ms_per_req = Some(per_request(a, b));
    }
    s.pg_cpu_ms_per_req = Some(per_request(before.pg, after.pg));
    if let (Some(a), Some(b)) = (before.generator, after.generator) {
        s.generator_cpu_ms_per_req = Some(per_request(a, b));
    }
}

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn run(args: RunArgs) -> Result<()> {
    let targets: Targets = serde_json::from_slice(
        &std::fs::read(&args.targets)
            .with_context(|| format!("reading {}", args.targets.display()))?,
    )
    .context("parsing the targets file")?;
    let (ops, deep_page_max) = build_ops(&targets, args.rng_seed)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()?;
    let engine = Arc::new(Engine {
        client,
        urls: ops
            .iter()
            .map(|o| reqwest::Url::parse(&format!("{}{}", args.url.trim_end_matches('/'), o.path)))
            .collect::<Result<_, _>>()
            .context("--url")?,
        brand: targets.brand.clone(),
        ops,
        clients: args.clients,
    });

    // Peak RSS sampler.
    let rss_peak = Arc::new(Mutex::new(0u64));
    if let Some(pid) = args.server_pid {
        let peak = rss_peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kb) = proc_status_kb(pid, "VmRSS:") {
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(kb);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let rss_start = args.server_pid.and_then(|p| proc_status_kb(p, "VmRSS:"));

    // Sanity: every op answers as expected once.
    for (i, op) in engine.ops.iter().enumerate() {
        let s = engine.phase(&[i], 1.0, 7).await;
        if s[0].errors > 0 {
            bail!(
                "{} fails: {}",
                op.name,
                s[0].first_error.clone().unwrap_or_default()
            );
        }
    }

    let mixed_ops: Vec<usize> = (0..engine.ops.len())
        .filter(|&i| engine.ops[i].mix_weight > 0)
        .collect();
    let weights: Vec<u32> = mixed_ops
        .iter()
        .map(|&i| engine.ops[i].mix_weight)
        .collect();
    let wsum: u32 = weights.iter().sum();
    let mut rng = SmallRng::seed_from_u64(args.rng_seed ^ 0xabcdef);
    let mut mixed_schedule = |n: usize| -> Vec<usize> {
        (0..n)
            .map(|_| {
                let mut x = rng.random_range(0..wsum);
                for (k, &w) in weights.iter().enumerate() {
                    if x < w {
                        return mixed_ops[k];
                    }
                    x -= w;
                }
                unreachable!()
            })
            .collect()
    };

    eprintln!(
        "warm-up: {:.0} req/s for {:.0} s",
        args.mixed_rate, args.warmup_secs
    );
    let warm = mixed_schedule((args.mixed_rate * args.warmup_secs) as usize);
    engine.phase(&warm, args.mixed_rate, 11).await;

    eprintln!(
        "mixed: {:.0} req/s for {:.0} s",
        args.mixed_rate, args.mixed_secs
    );
    let sched = mixed_schedule((args.mixed_rate * args.mixed_secs) as usize);
    let t0 = Instant::now();
    let c0 = cpu_snapshot(args.server_pid);
    let mixed = engine.phase(&sched, args.mixed_rate, 13).await;
    let mixed_wall = t0.elapsed().as_secs_f64();
    let mut mixed_cpu = OpStats {
        requests: mixed.iter().map(|s| s.requests).sum(),
        unfinished: mixed.iter().map(|s| s.unfinished).sum(),
        ..mixed[0].clone()
    };
    attribute_cpu(&mut mixed_cpu, c0, cpu_snapshot(args.server_pid));
    let mixed_total_ok: u64 = mixed.iter().map(|s| s.requests - s.errors).sum();
    let rss_after_mixed = *rss_peak.lock().unwrap();
    for s in &mixed {
        eprintln!(
            "  {:22} {:7.1}/s p50 {:7.2} p99 {:7.2} max {:7.2} ms errors {} (generator lag p99 {:.2} ms)",
            s.op, s.achieved_rps, s.p50_ms, s.p99_ms, s.max_ms, s.errors, s.gen_lag_p99_ms
        );
    }

    let mut step_runs = Vec::new();
    if !args.no_steps {
        let rates: Vec<f64> = args
            .step_rates
            .split(',')
            .map(|r| r.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .context("--step-rates")?;
        let wanted: Option<Vec<String>> = args
            .step_ops
            .as_ref()
            .map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
        for (i, op) in engine.ops.iter().enumerate() {
            if wanted
                .as_ref()
                .is_some_and(|w| !w.iter().any(|n| n == op.name))
            {
                continue;
            }
            eprintln!("step-up: {}", op.name);
            let mut steps = Vec::new();
            let mut best = 0.0f64;
            let mut peak = 0.0f64;
            for &rate in &rates {
                let n = ((rate * args.step_secs) as usize).max(1);
                let sched = vec![i; n];
                let passes = |s: &OpStats| {
                    s.errors == 0 && s.p99_ms <= args.slo_p99_ms && s.achieved_rps >= 0.95 * rate
                };
                let c0 = cpu_snapshot(args.server_pid);
                let mut s = engine.phase(&sched, rate, 17 + rate as u64).await.remove(0);
                attribute_cpu(&mut s, c0, cpu_snapshot(args.server_pid));
                // A missed step is run once more after a pause: on a shared
                // machine one stall elsewhere can sink a 5 s step. Both runs
                // are kept in the results; the second one decides.
                if !passes(&s) {
                    eprintln!(
                        "  {:6.0}/s missed (p99 {:.2} ms, achieved {:.1}/s, errors {}, lag p99 {:.2}); retrying once",
                        rate, s.p99_ms, s.achieved_rps, s.errors, s.gen_lag_p99_ms
                    );
                    steps.push(s);
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let c0 = cpu_snapshot(args.server_pid);
                    s = engine.phase(&sched, rate, 19 + rate as u64).await.remove(0);
                    attribute_cpu(&mut s, c0, cpu_snapshot(args.server_pid));
                }
                let pass = passes(&s);
                eprintln!(
                    "  {:6.0}/s -> {:7.1}/s p50 {:7.2} p99 {:8.2} max {:8.2} ms errors {} lag p99 {:.2} cpu/req server {:.3} pg {:.3} generator {:.3} ms {}",
                    rate,
                    s.achieved_rps,
                    s.p50_ms,
                    s.p99_ms,
                    s.max_ms,
                    s.errors,
                    s.gen_lag_p99_ms,
                    s.server_cpu_ms_per_req.unwrap_or(f64::NAN),
                    s.pg_cpu_ms_per_req.unwrap_or(f64::NAN),
                    s.generator_cpu_ms_per_req.unwrap_or(f64::NAN),
                    if pass { "ok" } else { "MISSED" }
                );
                peak = peak.max(s.achieved_rps);
                steps.push(s);
                if !pass {
                    break;
                }
                best = rate;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            step_runs.push(StepRun {
                op: op.name.to_owned(),
                note: op.note.clone(),
                steps,
                max_sustainable_rps: best,
                peak_achieved_rps: peak,
            });
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    let hwm = args.server_pid.and_then(|p| proc_status_kb(p, "VmHWM:"));
    let out = json!({
        "generated_at": Utc::now().to_rfc3339(),
        "clients": args.clients,
        "slo_p99_ms": args.slo_p99_ms,
        "step_secs": args.step_secs,
        "ops": engine.ops.iter().map(|o| json!({"op": o.name, "path": o.path, "note": o.note, "mix_weight": o.mix_weight})).collect::<Vec<_>>(),
        "mixed": {
            "offered_rps": args.mixed_rate,
            "secs": args.mixed_secs,
            "achieved_total_rps": mixed_total_ok as f64 / mixed_wall,
            "server_cpu_ms_per_req": mixed_cpu.server_cpu_ms_per_req,
            "pg_cpu_ms_per_req": mixed_cpu.pg_cpu_ms_per_req,
            "per_op": mixed,
        },
        "steps": step_runs,
        "deep_page_max": deep_page_max,
        "server_memory": {
            "rss_kb_at_start": rss_start,
            "rss_kb_peak_during_mixed": rss_after_mixed,
            "rss_kb_peak_sampled": *rss_peak.lock().unwrap(),
            "vmhwm_kb": hwm,
        },
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&out)?)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// The generator's own CPU is taken from the machine the service runs on;
/// glibc's malloc was a sixth of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Shortest sleep of the timetable thread (see [`Engine::phase`]).
const TIMETABLE_QUANTUM: Duration = Duration::from_micros(250);

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // One thread: no wake-ups between threads per request (the
        // generator still drives the floor past 28,000 req/s).
        Command::Run(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run(args)),
        Command::Probe(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(probe(args)),
        Command::Report {
            results,
            compare,
            md,
        } => report::render(&results, compare.as_deref(), &md),
    }
}

/// Whether process `pid` still runs (a zombie has finished).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next().map(|st| st != "Z"))
        })
        .unwrap_or(false)
}

/// The probe's op: page 1 of a 12-month statement (every month a
/// maintenance job may touch), on the busiest accounts.
const PROBE_OP: &str = "transactions-page1";

async fn probe(args: ProbeArgs) -> Result<()> {
    let targets: Targets = serde_json::from_slice(
        &std::fs::read(&args.targets)
            .with_context(|| format!("reading {}", args.targets.display()))?,
    )
    .context("parsing the targets file")?;
    let (ops, _) = build_ops(&targets, 3)?;
    let op = ops
        .iter()
        .find(|o| o.name == PROBE_OP)
        .context("no statement op")?;
    let url = reqwest::Url::parse(&format!("{}{}", args.url.trim_end_matches('/'), op.path))
        .context("--url")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .build()?;
    let interval = Duration::from_millis(args.interval_ms);
    let mut rng = SmallRng::seed_from_u64(5);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let (mut errors, mut first_error) = (0u64, None::<String>);
    // The slowest requests, with when they started (s from the probe's start).
    let mut slowest: Vec<(f64, f64, u16)> = Vec::new();
    let started = Instant::now();
    while running(args.while_pid) {
        let sent = Instant::now();
        let body = op.bodies.choose(&mut rng).expect("bodies").clone();
        let outcome = client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await;
        let status = match outcome {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let _ = resp.bytes().await;
                status
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
                0
            }
        };
        let took = sent.elapsed();
        hist.saturating_record((took.as_micros() as u64).max(1));
        if status != op.expect {
            errors += 1;
            first_error.get_or_insert_with(|| format!("HTTP {status}"));
        }
        slowest.push((
            sent.duration_since(started).as_secs_f64(),
            took.as_secs_f64() * 1000.0,
            status,
        ));
        slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
        slowest.truncate(5);
        if let Some(rest) = interval.checked_sub(took) {
            tokio::time::sleep(rest).await;
        }
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let out = json!({
        "op": PROBE_OP,
        "note": op.note,
        "interval_ms": args.interval_ms,
        "secs": started.elapsed().as_secs_f64(),
        "requests": hist.len(),
        "errors": errors,
        "first_error": first_error,
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "max_ms": hist.max() as f64 / 1000.0,
        "slowest": slowest.iter().map(|(at, took, status)| json!({"at_secs": at, "ms": took, "status": status})).collect::<Vec<_>>(),
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&out)?)?;
    Ok(())
}
