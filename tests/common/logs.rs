//! Every test binary's logs, captured in the production format
//! (`contas::logging::JsonLines`, filtered by `RUST_LOG` or `info`):
//! - in memory, for tests that read the lines of their own requests;
//! - in `$CARGO_TARGET_TMPDIR/test-logs/<binary>-<pid>.jsonl`, which the
//!   ignored test `observability::captured_logs_of_the_whole_run_are_clean`
//!   scans after a full `cargo test`.
//!
//! Each line is checked as it is written: it must be one JSON object and
//! hold none of the fixture bank's personal data. [`TestApp`]'s drop fails
//! the test that is ending if any line so far broke that.
//!
//! [`TestApp`]: super::app::TestApp

use super::fixtures::bank_ndjson;
use serde_json::Value;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

struct Capture {
    lines: Mutex<Vec<String>>,
    problems: Mutex<Vec<String>>,
    file: Mutex<File>,
    personal_data: Vec<String>,
}

static CAPTURE: OnceLock<Capture> = OnceLock::new();

/// Where every test binary writes its captured lines.
pub fn directory() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-logs")
}

/// Routes this process's logs to the capture (once; later calls do nothing).
pub fn capture() {
    CAPTURE.get_or_init(|| {
        let dir = directory();
        std::fs::create_dir_all(&dir).expect("creating the test log directory");
        let binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".into());
        let path = dir.join(format!("{binary}-{}.jsonl", std::process::id()));
        let file = File::create(&path).expect("creating the test log file");
        tracing_subscriber::registry()
            .with(contas::logging::filter())
            .with(contas::logging::JsonLines::new(|| CaptureWriter))
            .try_init()
            .expect("no other subscriber in a test binary");
        Capture {
            lines: Mutex::default(),
            problems: Mutex::default(),
            file: Mutex::new(file),
            personal_data: personal_data(),
        }
    });
}

/// Every line captured so far in this process.
pub fn lines() -> Vec<String> {
    CAPTURE
        .get()
        .map(|c| c.lines.lock().unwrap().clone())
        .unwrap_or_default()
}

/// Panics with the offending lines if any captured line was not one JSON
/// object or held personal data.
pub fn assert_clean() {
    if let Some(capture) = CAPTURE.get() {
        // Copied out, so that the failing assertion does not poison the
        // lock: every later test of the binary then reports the same
        // problem lines instead of a poisoned mutex.
        let problems = capture
            .problems
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        assert!(
            problems.is_empty(),
            "captured log lines break the log rules:\n{}",
            problems.join("\n")
        );
    }
}

/// What is wrong with a log line, if anything.
pub fn problem(line: &str, personal_data: &[String]) -> Option<String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(_)) => {}
        _ => return Some(format!("not a JSON object: {line}")),
    }
    personal_data
        .iter()
        .find(|datum| holds(line, datum))
        .map(|datum| format!("holds {datum:?}: {line}"))
}

/// Whether `line` holds `datum`. Digits inside the fraction of a decimal
/// number (a duration such as `"elapsed_secs":1.3155663610000001`) are not
/// a document or an account number; any other occurrence is, even inside a
/// longer run of digits (a branch and account number written together).
fn holds(line: &str, datum: &str) -> bool {
    if !datum.bytes().all(|b| b.is_ascii_digit()) {
        return line.contains(datum);
    }
    let bytes = line.as_bytes();
    line.match_indices(datum).any(|(at, _)| {
        let run_start = bytes[..at]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let in_fraction =
            run_start >= 2 && bytes[run_start - 1] == b'.' && bytes[run_start - 2].is_ascii_digit();
        !in_fraction
    })
}

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let capture = CAPTURE.get().expect("the capture is installed");
        capture.file.lock().unwrap().write_all(bytes)?;
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines() {
            if let Some(problem) = problem(line, &capture.personal_data) {
                capture.problems.lock().unwrap().push(problem);
            }
            capture.lines.lock().unwrap().push(line.to_owned());
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The fixture bank's personal data, read from the bank itself: documents
/// (digits only and formatted), names, account numbers (which also covers
/// branch and number written together) and account captions.
pub fn personal_data() -> Vec<String> {
    let mut data = Vec::new();
    let document = |d: &str, data: &mut Vec<String>| {
        data.push(d.to_owned());
        match d.len() {
            11 => data.push(format!("{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..9], &d[9..])),
            14 => data.push(format!(
                "{}.{}.{}/{}-{}",
                &d[..2],
                &d[2..5],
                &d[5..8],
                &d[8..12],
                &d[12..]
            )),
            other => panic!("a fixture document of {other} digits: {d}"),
        }
    };
    for line in bank_ndjson().lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let text = |key: &str| record[key].as_str().map(str::to_owned);
        match record["record"].as_str().unwrap() {
            "brand" => document(&text("companyCnpj").unwrap(), &mut data),
            "customer" => {
                document(&text("document").unwrap(), &mut data);
                data.push(text("name").unwrap());
            }
            "account" => {
                data.push(text("number").unwrap());
                data.extend(text("displayName"));
                for holder in record["holders"].as_array().unwrap() {
                    document(holder.as_str().unwrap(), &mut data);
                }
            }
            "transaction" => {
                data.extend(text("partieNumber"));
                if let Some(party) = text("partieCnpjCpf") {
                    document(&party, &mut data);
                }
            }
            _ => {}
        }
    }
    data.sort();
    data.dedup();
    data
}
