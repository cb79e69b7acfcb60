//! The log format: one flat JSON object per line, for log pipelines.
//!
//! A line holds `timestamp`, `level`, `target`, `message`, the event's own
//! fields, then the fields of every span it happened in (a request's
//! `operation` and `correlation_id`), all at the top level. Every line goes
//! through [`redact_documents`] before it is written, so a CPF or CNPJ never
//! reaches the output in clear, whoever logged it.
//!
//! Production ([`init`]) and the tests' log capture build the same
//! [`JsonLines`] layer, only with another writer.

use crate::domain::pii::redact_documents;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// `RUST_LOG` when set and valid, `default` otherwise.
fn filter_or(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// `RUST_LOG` when set and valid, `info` otherwise.
pub fn filter() -> EnvFilter {
    filter_or("info")
}

/// For `serve`, whose logs machines read: JSON lines on stderr, filtered by
/// `RUST_LOG`; panics are logged as lines of the same format.
pub fn init() {
    tracing_subscriber::registry()
        .with(filter())
        .with(JsonLines::new(std::io::stderr))
        .init();
    log_panics();
}

/// For the other commands, which people run: plain lines on stderr
/// (`WARN message key=value`), without the database's notices (a migration
/// that finds its table already there is not news), unless `RUST_LOG` asks.
pub fn init_for_people() {
    tracing_subscriber::registry()
        .with(filter_or("info,sqlx=warn"))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time()
                .with_target(false)
                .with_ansi(false),
        )
        .init();
}

/// A [`Layer`] writing each event as one JSON line to `W`.
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// A span's recorded fields, kept to be repeated on its events' lines.
#[derive(Default)]
struct SpanFields(Vec<(&'static str, Value)>);

enum Value {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), Value::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), Value::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), Value::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field.name(), Value::Str(format!("{value:?}")));
    }
}

impl SpanFields {
    /// A field recorded again (an id learnt later) replaces its value.
    fn set(&mut self, name: &'static str, value: Value) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.0.push((name, value)),
        }
    }
}

/// A JSON object being written; later duplicates of a key are dropped so
/// the object stays valid.
struct Line<'a> {
    out: &'a mut String,
    keys: &'a mut Vec<&'static str>,
}

impl<'a> Line<'a> {
    fn open(scratch: &'a mut Scratch) -> Self {
        scratch.text.clear();
        scratch.text.push('{');
        scratch.keys.clear();
        Line {
            out: &mut scratch.text,
            keys: &mut scratch.keys,
        }
    }

    fn key(&mut self, key: &'static str) -> bool {
        if self.keys.contains(&key) {
            return false;
        }
        if !self.keys.is_empty() {
            self.out.push(',');
        }
        self.keys.push(key);
        push_json_str(self.out, key);
        self.out.push(':');
        true
    }

    fn str(&mut self, key: &'static str, value: &str) {
        if self.key(key) {
            push_json_str(self.out, value);
        }
    }

    /// A value's `Debug` text, escaped as it is formatted (no copy).
    fn debug(&mut self, key: &'static str, value: &dyn std::fmt::Debug) {
        if self.key(key) {
            self.out.push('"');
            let _ = write!(JsonEscaped(self.out), "{value:?}");
            self.out.push('"');
        }
    }

    fn value(&mut self, key: &'static str, value: &Value) {
        if !self.key(key) {
            return;
        }
        let _ = match value {
            Value::Str(s) => {
                push_json_str(self.out, s);
                Ok(())
            }
            Value::I64(n) => write!(self.out, "{n}"),
            Value::U64(n) => write!(self.out, "{n}"),
            Value::F64(n) if n.is_finite() => write!(self.out, "{n}"),
            Value::F64(n) => {
                push_json_str(self.out, &n.to_string());
                Ok(())
            }
            Value::Bool(b) => write!(self.out, "{b}"),
        };
    }

    fn close(self) {
        self.out.push_str("}\n");
    }
}

fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    let _ = JsonEscaped(out).write_str(text);
    out.push('"');
}

/// Writes text into a JSON string's body, escaped.
struct JsonEscaped<'a>(&'a mut String);

impl std::fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let out = &mut *self.0;
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
                c => out.push(c),
            }
        }
        Ok(())
    }
}

/// Writes an event's fields straight into its line.
struct EventFields<'l, 'a>(&'l mut Line<'a>);

impl Visit for EventFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.str(field.name(), value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.value(field.name(), &Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.value(field.name(), &Value::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.value(field.name(), &Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.value(field.name(), &Value::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.debug(field.name(), value);
    }
}

/// What formatting a line needs, reused by each thread: no allocation per
/// line once warm.
#[derive(Default)]
struct Scratch {
    text: String,
    keys: Vec<&'static str>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let write = |scratch: &mut Scratch| {
            let mut line = Line::open(scratch);
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
            let _ = write!(line.out, "\"timestamp\":\"{now}\"");
            line.keys.push("timestamp");
            let metadata = event.metadata();
            line.str("level", metadata.level().as_str());
            line.str("target", metadata.target());
            event.record(&mut EventFields(&mut line));
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope.from_root() {
                    if let Some(fields) = span.extensions().get::<SpanFields>() {
                        for (name, value) in &fields.0 {
                            line.value(name, value);
                        }
                    }
                }
            }
            line.close();
            let _ = self
                .make_writer
                .make_writer_for(metadata)
                .write_all(redact_documents(&scratch.text).as_bytes());
        };
        // A line logged while writing one (a writer that logs) gets its own scratch.
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => write(&mut scratch),
            Err(_) => write(&mut Scratch::default()),
        });
    }
}

/// Logs panics as JSON lines instead of the default hook's plain text. A
/// panic's message is logged only when it is a literal from the code; a
/// formatted one may carry data from a request, so only its location is.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        match literal_panic_message(info.payload()) {
            Some(message) => tracing::error!(location, panic = message, "panicked"),
            None => tracing::error!(location, "panicked (formatted message withheld)"),
        }
    }));
}

fn literal_panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&'static str> {
    payload.downcast_ref::<&'static str>().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(body: impl FnOnce()) -> Vec<serde_json::Value> {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(JsonLines::new(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, body);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn span_fields_are_flattened_into_each_line() {
        let lines = capture(|| {
            let span = tracing::info_span!(
                "request",
                operation = "/find",
                correlation_id = tracing::field::Empty
            );
            span.record("correlation_id", "first");
            span.record("correlation_id", "second");
            let _entered = span.enter();
            tracing::warn!(
                status = 404u64,
                elapsed = 1.5,
                ok = false,
                "answered \"x\"\n"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "answered \"x\"\n");
        assert_eq!(line["status"], 404);
        assert_eq!(line["elapsed"], 1.5);
        assert_eq!(line["ok"], false);
        assert_eq!(line["operation"], "/find");
        assert_eq!(line["correlation_id"], "second");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(line.get("span").is_none() && line.get("fields").is_none());
    }

    #[test]
    fn documents_are_masked_whoever_logs_them() {
        let lines = capture(|| {
            let _entered = tracing::info_span!("request", correlation_id = "52998224725").entered();
            tracing::error!(
                error = "key (document)=(11.222.333/0001-81) exists",
                "failed"
            );
        });
        let text = lines[0].to_string();
        assert!(!text.contains("52998224725"), "{text}");
        assert!(!text.contains("11.222.333/0001-81"), "{text}");
        assert_eq!(lines[0]["correlation_id"], "529******25");
    }

    #[test]
    fn a_repeated_key_keeps_the_first_value() {
        let lines = capture(|| {
            let _entered = tracing::info_span!("outer", level = "span's").entered();
            tracing::info!("x");
        });
        assert_eq!(lines[0]["level"], "INFO");
    }

    #[test]
    fn only_literal_panic_messages_are_kept() {
        let literal: Box<dyn std::any::Any + Send> = Box::new("index out of range");
        assert_eq!(literal_panic_message(&*literal), Some("index out of range"));
        let formatted: Box<dyn std::any::Any + Send> = Box::new(format!("cpf {}", 1));
        assert_eq!(literal_panic_message(&*formatted), None);
    }
}
