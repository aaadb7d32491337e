//! `huntbook emulate`, the real binary, started on a free loopback port for one test and stopped with it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use super::huntbook;

pub struct Emulator {
    child: Child,
    /// Kept open: the emulator may print more, and a closed pipe would stop it.
    _stdout: BufReader<std::process::ChildStdout>,
    pub url: String,
}

impl Emulator {
    /// Starts the emulator over `examples/data` with extra flags; returns once it listens.
    pub fn start(flags: &[&str]) -> Emulator {
        Emulator::start_over(&super::sample_data(), flags)
    }

    /// Starts the emulator over a data directory.
    pub fn start_over(data: &std::path::Path, flags: &[&str]) -> Emulator {
        let mut command = huntbook();
        command.arg("emulate").arg("--data").arg(data).args(["--listen", "127.0.0.1:0"]);
        command.args(flags).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn().expect("huntbook emulate starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut first).expect("the emulator prints its address");
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the emulator's first line: {first:?}"))
            .to_string();
        Emulator { child, _stdout: reader, url }
    }

    /// Every request the emulator answered so far.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let body = http::get(&format!("{}/_emulator/calls", self.url));
        serde_json::from_str(&body).expect("the call log is JSON")
    }

    /// The statuses of the calls to a path ending with `suffix`, in order.
    pub fn statuses(&self, suffix: &str) -> Vec<u64> {
        self.calls()
            .iter()
            .filter(|call| call["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .filter_map(|call| call["status"].as_u64())
            .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain blocking GET without pulling in a second HTTP stack: a std TcpStream speaking HTTP/1.0.
pub mod http {
    use std::io::{Read, Write};

    pub fn get(url: &str) -> String {
        let rest = url.strip_prefix("http://").expect("an http URL");
        let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        let mut stream = std::net::TcpStream::connect(host).expect("the emulator accepts connections");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
    }
}
