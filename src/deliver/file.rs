//! The file sink: each message becomes one file in a directory — the `.eml` e-mail exactly as SMTP would
//! send it, or the `.json` Teams payload exactly as the webhook would receive it. Files are written to a
//! temporary name, flushed to disk and renamed, so a reader never sees half a message, and the name comes from
//! the message's id, so delivering it again after a crash replaces the same file instead of adding one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;

use super::{Delivery, Outgoing, Sink};

#[derive(Clone, Debug)]
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileSink { dir: dir.into() }
    }

    /// `20261120T120000Z-offboarding-package-download-<id>.eml`: sorted by time, then playbook.
    pub fn file_name(message: &Outgoing) -> String {
        let safe = |text: &str| -> String {
            text.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .take(80)
                .collect()
        };
        format!(
            "{}-{}-{}.{}",
            message.created.format("%Y%m%dT%H%M%SZ"),
            safe(message.playbook),
            safe(message.id),
            safe(message.extension)
        )
    }

    fn write(&self, message: &Outgoing) -> std::io::Result<PathBuf> {
        fs::create_dir_all(&self.dir)?;
        let name = Self::file_name(message);
        let target = self.dir.join(&name);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(message.payload)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, &target)?;
        sync_directory(&self.dir);
        Ok(target)
    }
}

/// Makes the rename itself durable (best effort: not every platform can open a directory).
fn sync_directory(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

impl Sink for FileSink {
    fn deliver<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Delivery> {
        Box::pin(std::future::ready(self.write_now(message)))
    }

    fn describe(&self) -> String {
        format!("files in {}", self.dir.display())
    }
}

impl FileSink {
    /// Writes the message: a few milliseconds of blocking file I/O, which the loop tolerates.
    fn write_now(&self, message: &Outgoing) -> Delivery {
        match self.write(message) {
            Ok(path) => Delivery::Delivered { answer: format!("written to {}", path.display()) },
            // A full disk or a permission problem can be fixed without losing the message: keep it queued.
            Err(error) => {
                Delivery::RetryLater { error: format!("writing to {}: {error}", self.dir.display()), after: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing<'a>(id: &'a str, payload: &'a [u8]) -> Outgoing<'a> {
        Outgoing {
            id,
            playbook: "offboarding-package-download",
            receiver: "soc-mail",
            created: chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
                .expect("valid")
                .with_timezone(&chrono::Utc),
            extension: "eml",
            payload,
        }
    }

    #[test]
    fn writes_one_file_per_message_and_the_same_file_again_on_redelivery() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sink = FileSink::new(dir.path().join("outbox"));
        let first = sink.write_now(&outgoing("id-1", b"first version"));
        assert!(matches!(first, Delivery::Delivered { .. }), "{first:?}");
        assert!(matches!(sink.write_now(&outgoing("id-1", b"again")), Delivery::Delivered { .. }));
        assert!(matches!(sink.write_now(&outgoing("id-2", b"other")), Delivery::Delivered { .. }));
        let mut names: Vec<String> = fs::read_dir(dir.path().join("outbox"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                "20261120T120000Z-offboarding-package-download-id-1.eml",
                "20261120T120000Z-offboarding-package-download-id-2.eml"
            ]
        );
        let content = fs::read(dir.path().join("outbox").join(&names[0])).expect("read");
        assert_eq!(content, b"again");
    }

    #[test]
    fn an_unwritable_directory_keeps_the_message_queued() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, b"x").expect("write");
        let sink = FileSink::new(blocker.join("outbox"));
        assert!(matches!(sink.write_now(&outgoing("id", b"x")), Delivery::RetryLater { .. }));
    }

    #[test]
    fn names_cannot_escape_the_directory() {
        let message = Outgoing { id: "../../etc/passwd", playbook: "a/b", ..outgoing("x", b"") };
        let name = FileSink::file_name(&message);
        assert!(!name.contains('/') && !name.contains(".."), "{name}");
    }
}
