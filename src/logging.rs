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
        let written = match redactor.as_ref() {
            Some(redactor) => io::stderr().write_all(redactor.redact(&String::from_utf8_lossy(buffer)).as_bytes()),
            None => io::stderr().write_all(buffer),
        };
        if written.is_err() {
            DROPPED.inc();
        }
        Ok(buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}
