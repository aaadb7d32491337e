//! Where the logs go: stderr, through a writer that cannot fail and that redacts.
//!
//! - **It cannot fail.** A log line that cannot be written (the pipe's reader exited, as in `huntbook daemon
//!   2>&1 | head`; a terminal that went away) is dropped and counted (`huntbook_log_lines_dropped` on
//!   `/metrics`), never reported: tracing-subscriber reports a failed write with `eprintln!`, which panics on
//!   the same broken pipe in whichever thread logged — a run, the delivery loop, the signal task.
//! - **It redacts.** Every line loses every secret of every configuration loaded so far, in every form the
//!   [`Redactor`] knows: a safety net under the redaction each part does where it keeps or shows what a server
//!   said.

use std::io::{self, Write};
use std::sync::{LazyLock, RwLock};

use prometheus_client::metrics::counter::Counter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::secret::Redactor;

/// Log lines dropped because stderr would not take them.
pub static DROPPED: LazyLock<Counter> = LazyLock::new(Counter::default);

/// The secrets of every configuration loaded so far: a reload that failed leaves the old set running, and its
/// secrets must stay out of the logs too.
static REDACTOR: RwLock<Option<Redactor>> = RwLock::new(None);

/// Adds the secrets of a configuration just loaded to what the logs lose.
pub fn redact_also(redactor: &Redactor) {
    let mut kept = REDACTOR.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    *kept = Some(match kept.as_ref() {
        Some(known) => known.merged(redactor),
        None => redactor.clone(),
    });
}

/// The writer the log subscriber writes each formatted event to (one `write` per event).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

impl Write for LogWriter {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let redactor = REDACTOR.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(write_line(redactor.as_ref(), &mut io::stderr(), buffer))
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// Writes one formatted event to `target`, redacted; a failure drops it and counts it. Always "all written".
fn write_line(redactor: Option<&Redactor>, target: &mut impl Write, buffer: &[u8]) -> usize {
    let written = match redactor {
        Some(redactor) => target.write_all(redactor.redact(&String::from_utf8_lossy(buffer)).as_bytes()),
        None => target.write_all(buffer),
    };
    if written.is_err() {
        DROPPED.inc();
    }
    buffer.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::Secret;

    /// A pipe whose reader has gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }

        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn a_line_is_redacted_and_a_closed_pipe_drops_it_and_counts_it() {
        let redactor = Redactor::new([&Secret::new("hunter2-P@ss")], &[]);
        let mut out = Vec::new();
        let line = b"{\"error\":\"login failed for hunter2-P\\u0040ss\"}\n";
        assert_eq!(write_line(Some(&redactor), &mut out, line), line.len());
        assert_eq!(String::from_utf8_lossy(&out), "{\"error\":\"login failed for [redacted]\"}\n");
        let before = DROPPED.get();
        assert_eq!(write_line(Some(&redactor), &mut Closed, line), line.len(), "all written, as far as tracing knows");
        assert_eq!(DROPPED.get(), before + 1);
    }

    #[test]
    fn what_the_logs_lose_grows_with_each_configuration_loaded() {
        let first = Redactor::new([&Secret::new("first-secret-1")], &[]);
        let second =
            Redactor::new([&Secret::new("second-secret-2")], &[("user@contoso.example", &Secret::new("pw-1234567"))]);
        let both = first.merged(&second);
        assert_eq!(both.redact("first-secret-1 second-secret-2 pw-1234567"), "[redacted] [redacted] [redacted]");
        use base64::Engine;
        let blob = base64::engine::general_purpose::STANDARD.encode("\0user@contoso.example\0pw-1234567");
        assert_eq!(both.redact(&format!("AUTH PLAIN {blob}")), "AUTH PLAIN [redacted]");
        assert_eq!(first.merged(&first).redact("first-secret-1"), "[redacted]");
    }
}
