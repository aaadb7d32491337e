//! A small disk that can be filled: a tmpfs of a few megabytes mounted on a temporary directory (root only; a
//! test that needs one says it was skipped otherwise, unless `HUNTBOOK_REQUIRE_ROOT` asks that it run).

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct SmallDisk {
    dir: tempfile::TempDir,
    filler: PathBuf,
}

impl SmallDisk {
    /// A tmpfs of `megabytes`, or `None` (and a note naming `test`) where this process cannot mount one.
    pub fn mount(megabytes: u32, test: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|output| output.status.success());
        if !mounted {
            assert!(
                std::env::var_os("HUNTBOOK_REQUIRE_ROOT").is_none(),
                "HUNTBOOK_REQUIRE_ROOT is set and a tmpfs could not be mounted for {test}"
            );
            eprintln!("note: skipped {test}: it needs a small tmpfs, which only root can mount");
            return None;
        }
        let filler = dir.path().join("filler");
        Some(SmallDisk { dir, filler })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes until the disk is full.
    pub fn fill(&self) {
        let mut file = std::fs::File::create(&self.filler).expect("the filler");
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }

    /// Gives the space back.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).expect("the filler goes");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}
