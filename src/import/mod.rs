//! `contas import`: loads NDJSON account data (`docs/import-format.md`)
//! into the store, atomically and idempotently.
//!
//! The input is read, parsed and validated on the calling task while a
//! writer task applies the valid records in batches inside one database
//! transaction ([`writer`]); the transaction commits only when no line of
//! the file was refused. `seed` feeds its generated records through the same
//! path ([`import_records`]).

mod completed_ids;
mod copy;
mod first_load;
mod record;
mod stored;
mod tombstone;
mod validate;
mod writer;

pub use record::{
    AccountRecord, BalanceRecord, BrandRecord, CustomerRecord, KINDS, OverdraftLimitsRecord,
    PendingTransactionsRecord, Record, TransactionFields, TransactionRecord,
    TransactionRemovalRecord,
};

use crate::store::distribution::{self, Engine};
use crate::store::lock::{self as store_lock, LockWait, Scope};
use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sqlx::PgPool;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use validate::{Definition, Item};

/// At most this many errors are listed; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// Records handed from the reader to the writer at a time.
const CHUNK: usize = 1024;

/// A bad field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A bad field of a line of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
    }
}

/// The input was refused and nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The first errors, by line (at most [`MAX_LISTED_ERRORS`]).
    pub errors: Vec<LineError>,
    /// How many errors there were in all.
    pub total: usize,
}

impl ImportError {
    /// Lines with at least one listed error.
    pub fn lines(&self) -> Vec<u64> {
        let mut lines: Vec<u64> = self.errors.iter().map(|e| e.line).collect();
        lines.dedup();
        lines
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the input has {} error{}; nothing was imported",
            self.total,
            plural(self.total as u64)
        )?;
        for e in &self.errors {
            write!(f, "\n{e}")?;
        }
        if self.total > self.errors.len() {
            let more = self.total - self.errors.len();
            write!(f, "\n… and {more} more error{}", plural(more as u64))?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

/// Keeps the first [`MAX_LISTED_ERRORS`] errors by line, and counts all.
#[derive(Debug, Default)]
pub(crate) struct ErrorSink {
    kept: Vec<(u64, u64, FieldError)>,
    total: usize,
    seq: u64,
}

impl ErrorSink {
    pub(crate) fn push(&mut self, line: u64, field: impl Into<String>, reason: impl Into<String>) {
        self.total += 1;
        self.seq += 1;
        self.kept
            .push((line, self.seq, FieldError::new(field, reason)));
        if self.kept.len() >= 4 * MAX_LISTED_ERRORS {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.kept.sort_by_key(|(line, seq, _)| (*line, *seq));
        self.kept.truncate(MAX_LISTED_ERRORS);
    }

    fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Adds `other`'s errors after this sink's errors of the same line.
    fn merge(&mut self, other: ErrorSink) {
        self.total += other.total;
        for (line, seq, e) in other.kept {
            self.kept.push((line, seq + u64::MAX / 2, e));
        }
        self.trim();
    }

    fn into_error(mut self) -> ImportError {
        self.trim();
        ImportError {
            errors: self
                .kept
                .into_iter()
                .map(|(line, _, e)| LineError {
                    line,
                    field: e.field,
                    reason: e.reason,
                })
                .collect(),
            total: self.total,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records read (non-blank lines, or generated records).
    pub records: u64,
    pub brands: u64,
    pub customers: u64,
    pub accounts: u64,
    pub balances: u64,
    /// Balances older than the current one, skipped.
    pub stale_balances: u64,
    pub overdraft_limits: u64,
    pub transactions: u64,
    /// Completed transactions already stored with identical content.
    pub duplicate_transactions: u64,
    pub pending_snapshots: u64,
    pub pending_entries: u64,
    /// Snapshots identical to the stored pending entries.
    pub unchanged_snapshots: u64,
    pub removals: u64,
    /// Removals of transactions removed already (a replay).
    pub replayed_removals: u64,
    /// Completed transactions skipped as removed (a replay of the file
    /// that first loaded them).
    pub removed_transactions: u64,
    /// Entries booked before the retention horizon, skipped.
    pub expired_entries: u64,
    pub elapsed: Duration,
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn count(n: u64, what: &str) -> String {
    format!("{n} {what}{}", plural(n))
}

fn entries_text(n: u64) -> String {
    format!("{n} entr{}", if n == 1 { "y" } else { "ies" })
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (entries, duplicates) = (self.pending_entries, self.duplicate_transactions);
        write!(
            f,
            "imported {} in {:.2} s: {}, {}, {}, {} ({} stale, skipped), {}, {} ({} unchanged \
             duplicate{}, {} removed before, skipped), {} ({} entr{}, {} unchanged), {} ({} \
             replayed), {} booked before the retention horizon, skipped",
            count(self.records, "record"),
            self.elapsed.as_secs_f64(),
            count(self.brands, "brand"),
            count(self.customers, "customer"),
            count(self.accounts, "account"),
            count(self.balances, "balance"),
            self.stale_balances,
            count(self.overdraft_limits, "overdraft limits record"),
            count(self.transactions, "transaction"),
            duplicates,
            plural(duplicates),
            self.removed_transactions,
            count(self.pending_snapshots, "pending snapshot"),
            entries,
            if entries == 1 { "y" } else { "ies" },
            self.unchanged_snapshots,
            count(self.removals, "removal"),
            self.replayed_removals,
            entries_text(self.expired_entries),
        )
    }
}

impl ImportSummary {
    /// What the writer counted.
    fn absorb(&mut self, stats: &writer::WriterStats) {
        self.stale_balances = stats.stale_balances;
        self.duplicate_transactions = stats.duplicate_transactions;
        self.unchanged_snapshots = stats.unchanged_snapshots;
        self.replayed_removals = stats.replayed_removals;
        self.removed_transactions = stats.removed_transactions;
        self.expired_entries = stats.expired_entries;
    }

    fn add(&mut self, item: &Item) {
        match item {
            Item::Brand(_) => self.brands += 1,
            Item::Customer(_) => self.customers += 1,
            Item::Account(_) => self.accounts += 1,
            Item::Balance(_) => self.balances += 1,
            Item::Limits(_) => self.overdraft_limits += 1,
            Item::Transaction(..) => self.transactions += 1,
            Item::Pending(p) => {
                self.pending_snapshots += 1;
                self.pending_entries += p.entries.len() as u64;
            }
            Item::Removal(_) => self.removals += 1,
            Item::Defines(_) => {}
        }
    }
}

/// How to run an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Rows (transactions, pending entries, other records) written per
    /// batch of statements.
    pub batch_rows: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// What to do while another writer holds the store ([`store_lock`]).
    pub lock: LockWait,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_rows: 10_000,
            progress: false,
            lock: LockWait::default(),
        }
    }
}

/// Imports the file at `path`, or standard input when `path` is `-`.
pub async fn import_path(
    pool: &PgPool,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportSummary> {
    if path == Path::new("-") {
        import_reader_with(
            pool,
            BufReader::with_capacity(1 << 20, io::stdin()),
            options,
        )
        .await
    } else {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        import_reader_with(pool, BufReader::with_capacity(1 << 20, file), options).await
    }
}

/// Imports NDJSON read from `reader`.
pub async fn import_reader<R: BufRead>(
    pool: &PgPool,
    reader: R,
    progress: bool,
) -> Result<ImportSummary> {
    import_reader_with(
        pool,
        reader,
        &ImportOptions {
            progress,
            ..ImportOptions::default()
        },
    )
    .await
}

/// Imports NDJSON read from `reader`, with explicit options.
pub async fn import_reader_with<R: BufRead>(
    pool: &PgPool,
    reader: R,
    options: &ImportOptions,
) -> Result<ImportSummary> {
    run(
        pool,
        Lines {
            reader,
            buf: Vec::new(),
            line: 0,
        },
        options,
    )
    .await
}

/// Imports records made in memory (numbered from 1 in error messages).
pub async fn import_records<I>(
    pool: &PgPool,
    records: I,
    options: &ImportOptions,
) -> Result<ImportSummary>
where
    I: IntoIterator<Item = Record>,
{
    let inputs = records
        .into_iter()
        .zip(1u64..)
        .map(|(record, n)| Ok(Input::Record(n, record)));
    run(pool, inputs, options).await
}

// A record is large, but boxing it would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
enum Input {
    Record(u64, Record),
    Bad(u64, FieldError, Option<Definition>),
}

/// The non-blank lines of an NDJSON input, parsed.
struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
}

/// The longest line the format accepts (its content, without the newline).
pub const MAX_LINE_BYTES: usize = 1 << 20;

impl<R: BufRead> Lines<R> {
    /// Reads the next physical line into `buf` (newline included) and says
    /// how long it was; past [`MAX_LINE_BYTES`] the rest is skipped, not
    /// kept. `None` at the end of the input.
    fn read_line(&mut self) -> io::Result<Option<usize>> {
        self.buf.clear();
        let mut length = 0;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok((length > 0).then_some(length));
            }
            let (part, ends) = match available.iter().position(|&b| b == b'\n') {
                Some(newline) => (&available[..=newline], true),
                None => (available, false),
            };
            // Room for the content, a carriage return and the newline.
            if self.buf.len() + part.len() <= MAX_LINE_BYTES + 2 {
                self.buf.extend_from_slice(part);
            }
            let consumed = part.len();
            length += consumed;
            self.reader.consume(consumed);
            if ends {
                return Ok(Some(length));
            }
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = io::Result<Input>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let length = match self.read_line() {
                Ok(None) => return None,
                Ok(Some(length)) => length,
                Err(e) => return Some(Err(e)),
            };
            self.line += 1;
            let line = self.line;
            // A line not kept whole is too long whatever its line ending.
            let mut content = length;
            if length <= self.buf.len() {
                if self.buf.ends_with(b"\n") {
                    content -= 1;
                }
                if self.buf[..content].ends_with(b"\r") {
                    content -= 1;
                }
            }
            if content > MAX_LINE_BYTES {
                return Some(Ok(Input::Bad(
                    line,
                    FieldError::new(
                        "json",
                        format!(
                            "the line is {content} bytes long; a line may hold at most \
                             {MAX_LINE_BYTES} (1 MiB)"
                        ),
                    ),
                    None,
                )));
            }
            let start = if line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let content = &mut self.buf[start..content.max(start)];
            if content.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(match record::parse_line(content) {
                Ok(r) => Input::Record(line, r),
                Err(e) => Input::Bad(line, e, validate::definition_hint(content)),
            }));
        }
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {human_pos} lines {msg}")
            .expect("the progress template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn run<I>(pool: &PgPool, inputs: I, options: &ImportOptions) -> Result<ImportSummary>
where
    I: Iterator<Item = io::Result<Input>>,
{
    let started = Instant::now();
    let mut tx = pool
        .begin()
        .await
        .context("starting the import's transaction")?;
    // Before anything is read: the store this import sees is the one every
    // earlier writer left.
    store_lock::acquire(&mut tx, Scope::Transaction, options.lock).await?;
    let engine = Engine::of(&mut tx)
        .await
        .context("asking the store for its engine")?;
    distribution::prepare_writer(&mut tx, engine)
        .await
        .context("readying the import's transaction")?;
    let deferred = first_load::defer_checks(&mut tx, engine).await?;
    let applied = Arc::new(AtomicU64::new(0));
    let cancelled = Arc::new(AtomicBool::new(false));
    // Room for a whole batch ahead, so reading goes on while a batch is written.
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Vec<(u64, Item)>>(2 + options.batch_rows / CHUNK);
    let (recycle, recycled) = std::sync::mpsc::channel();
    let writer = tokio::spawn(writer::run(
        tx,
        engine,
        receiver,
        recycle,
        options.batch_rows,
        applied.clone(),
        cancelled.clone(),
    ));
    let bar = options.progress.then(progress_bar);

    let mut validator = validate::Validator::default();
    let mut summary = ImportSummary::default();
    let mut errors = ErrorSink::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut failure = None;
    for input in inputs {
        let (line, result) = match input {
            Err(e) => {
                failure = Some(anyhow!(e).context("reading the input"));
                break;
            }
            Ok(Input::Record(line, record)) => (line, validator.validate(record)),
            Ok(Input::Bad(line, e, defines)) => (line, Err((vec![e], defines))),
        };
        accept(line, result, &mut summary, &mut errors, &mut chunk);
        if chunk.len() >= CHUNK {
            if sender
                .send(std::mem::replace(&mut chunk, empty_chunk(&recycled)))
                .await
                .is_err()
            {
                break; // the writer failed; its error is reported below
            }
            if let Some(bar) = &bar {
                show_progress(bar, line, started, &applied);
            }
        }
    }
    if failure.is_some() {
        cancelled.store(true, Ordering::Relaxed);
    } else if !chunk.is_empty() {
        let _ = sender.send(chunk).await;
    }
    drop(sender);
    let outcome = writer.await.context("the import's writer stopped")?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    errors.merge(outcome.errors);
    settle(outcome.tx, errors, deferred, &outcome.feeds).await?;
    summary.absorb(&outcome.stats);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// A chunk to fill: one the writer gave back, emptied here (so what it
/// held is dropped on this thread, not the writer's), or a new one.
fn empty_chunk(recycled: &std::sync::mpsc::Receiver<Vec<(u64, Item)>>) -> Vec<(u64, Item)> {
    match recycled.try_recv() {
        Ok(mut used) => {
            used.clear();
            used
        }
        Err(_) => Vec::with_capacity(CHUNK),
    }
}

/// Counts a validated line, queueing what it does (or, for a bad
/// definition, what it defines) and recording its errors.
fn accept(
    line: u64,
    result: Result<Item, validate::Invalid>,
    summary: &mut ImportSummary,
    errors: &mut ErrorSink,
    chunk: &mut Vec<(u64, Item)>,
) {
    summary.records += 1;
    match result {
        Ok(item) => {
            summary.add(&item);
            chunk.push((line, item));
        }
        Err((bad, defines)) => {
            for e in bad {
                errors.push(line, e.field, e.reason);
            }
            if let Some(d) = defines {
                chunk.push((line, Item::Defines(d)));
            }
        }
    }
}

fn show_progress(bar: &ProgressBar, line: u64, started: Instant, applied: &AtomicU64) {
    bar.set_position(line);
    let rate = line as f64 / started.elapsed().as_secs_f64().max(1e-3);
    bar.set_message(format!(
        "({rate:.0} lines/s), {} records applied",
        applied.load(Ordering::Relaxed)
    ));
}

/// Ends the file's transaction: rolled back if any line was bad, else the
/// checks a first load deferred restored, the feed recorded and committed.
async fn settle(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    errors: ErrorSink,
    deferred: Option<first_load::DeferredChecks>,
    feeds: &[crate::store::feeds::BrandFeed],
) -> Result<()> {
    if !errors.is_empty() {
        tx.rollback().await.context("rolling back the import")?;
        return Err(errors.into_error().into());
    }
    if let Some(deferred) = deferred {
        tracing::info!("first load: rebuilding the deferred indexes and validating foreign keys");
        deferred.restore(&mut tx).await?;
    }
    crate::store::feeds::record(&mut tx, feeds).await?;
    tx.commit().await.context("committing the import")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_at_most_100_errors_by_line_then_counts() {
        let mut sink = ErrorSink::default();
        for line in (1..=250u64).rev() {
            sink.push(line, "amount", "bad");
        }
        let mut other = ErrorSink::default();
        other.push(3, "accountId", "unknown");
        sink.merge(other);
        let e = sink.into_error();
        assert_eq!(e.total, 251);
        assert_eq!(e.errors.len(), MAX_LISTED_ERRORS);
        assert_eq!(e.errors[0].to_string(), "line 1: amount: bad");
        assert_eq!(e.errors[3].to_string(), "line 3: accountId: unknown");
        let text = e.to_string();
        assert!(text.ends_with("\n… and 151 more errors"), "{text}");
        assert_eq!(text.lines().count(), 1 + MAX_LISTED_ERRORS + 1);
    }

    #[test]
    fn skips_blank_lines_and_numbers_physical_lines() {
        let input = "\n  \r\n{\"record\":\"brand\"}\r\n\nnot json\n";
        let lines: Vec<Input> = Lines {
            reader: input.as_bytes(),
            buf: Vec::new(),
            line: 0,
        }
        .map(Result::unwrap)
        .collect();
        assert!(matches!(lines[0], Input::Record(3, _)));
        assert!(matches!(&lines[1], Input::Bad(5, e, None) if e.field == "json"));
        assert_eq!(lines.len(), 2);
    }

    /// (line, whether it was refused as too long) of every input.
    fn lengths(input: &[u8]) -> Vec<(u64, bool)> {
        Lines {
            // A small buffer: a line spans many reads.
            reader: io::BufReader::with_capacity(4096, input),
            buf: Vec::new(),
            line: 0,
        }
        .map(Result::unwrap)
        .map(|input| match input {
            Input::Record(line, _) => (line, false),
            Input::Bad(line, e, _) => (line, e.reason.contains("at most 1048576")),
        })
        .collect()
    }

    #[test]
    fn a_line_over_one_mebibyte_is_refused_and_the_next_lines_still_read() {
        let brand = b"{\"record\":\"brand\"}";
        let padded = |content: usize, ending: &[u8]| {
            let mut line = brand.to_vec();
            line.resize(content, b' ');
            line.extend_from_slice(ending);
            line
        };
        let mut input = Vec::new();
        for line in [
            padded(MAX_LINE_BYTES, b"\n"),
            padded(MAX_LINE_BYTES, b"\r\n"),
            padded(MAX_LINE_BYTES + 1, b"\n"),
            padded(MAX_LINE_BYTES + 1, b"\r\n"),
            padded(5 * MAX_LINE_BYTES, b"\n"),
            brand.to_vec(),
        ] {
            input.extend_from_slice(&line);
        }
        assert_eq!(
            lengths(&input),
            [
                (1, false),
                (2, false),
                (3, true),
                (4, true),
                (5, true),
                (6, false)
            ]
        );
    }
}
