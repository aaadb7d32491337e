//! `huntbook daemon` on a bad day, the real binary: its log pipe closed under it, a run that panics, a crowd of
//! slow clients with few files to spare, a full disk, a reload that would expose the endpoint, a playbooks
//! directory replaced or relinked, a second daemon through a hard link. Each must leave the daemon answering,
//! stopping on SIGTERM and losing nothing. The tests wait on what the daemon says or shows, with a deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common;
use crate::daemon::{Daemon, FILE_RECEIVERS, http_get, message, outbox_files, workspace};
use common::huntbook;

/// How long a test waits for what the daemon should do before it fails.
const PATIENCE: Duration = Duration::from_secs(120);

/// Waits until `done` holds (looking again every 50 ms), at most [`PATIENCE`]; `what` names it in the failure.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} in vain for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A playbook's row on the status page.
fn row(page: &str, id: &str) -> String {
    let Some(start) = page.find(&format!("data-playbook=\"{id}\"")) else { return String::new() };
    page[start..].split("</tr>").next().unwrap_or_default().to_string()
}

/// The value of a metric line (`name{labels}`) on `/metrics`, 0 when it is not there.
fn metric(text: &str, line: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(line).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill").args(["-s", name, &pid.to_string()]).status().expect("kill");
    assert!(status.success());
}

/// Waits for `child` to end, at most `limit`.
fn exits_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the daemon did not exit within {limit:?} of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_closed_log_pipe_loses_lines_not_the_daemon() {
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    // `huntbook daemon -v 2>&1 | head -2`: stdout and stderr into one pipe, whose reader goes away.
    let mut child = huntbook()
        .current_dir(dir.path())
        .args(["daemon", "-v", "-c"])
        .arg(dir.path().join("huntbook.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the daemon starts");
    let mut reader = BufReader::new(child.stderr.take().expect("stderr"));
    let address = loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).expect("a line") > 0, "the daemon ended before it listened");
        if let Some(address) = line.trim().strip_prefix("huntbook daemon listening on http://") {
            break address.to_string();
        }
    };
    drop(reader);
    drop(child.stdout.take());

    // Everything below logs into the closed pipe: a reload, a new playbook's first run, its deliveries, SIGHUP.
    common::copy_playbooks(&dir.path().join("playbooks"), &["manual-device-isolation"]);
    signal(child.id(), "HUP");
    wait_until("the new playbook's run and its cards", || {
        let (_, page) = http_get(&address, "/", None);
        row(&page, "manual-device-isolation").contains("data-state=\"ok\"")
            && outbox_files(dir.path())["soc-teams"].len() == 11
    });
    assert_eq!(http_get(&address, "/readyz", None), (200, "ready\n".to_string()));
    let (_, metrics) = http_get(&address, "/metrics", None);
    assert!(metric(&metrics, "huntbook_log_lines_dropped_total") > 0.0, "{metrics}");
    assert_eq!(metric(&metrics, "huntbook_panics_total{part=\"run\"}"), 0.0, "{metrics}");
    signal(child.id(), "TERM");
    assert!(exits_within(&mut child, Duration::from_secs(30)).success());
}

#[test]
fn a_run_that_panics_fails_alone_and_the_daemon_goes_on() {
    let playbooks = ["offboarding-package-download", "manual-device-isolation"];
    let dir = workspace(&playbooks, FILE_RECEIVERS, "");
    // Every run panics after its query: a bug, as the daemon must survive one.
    let daemon = Daemon::start(dir.path(), &[("HUNTBOOK_FAILPOINT", "after-query:panic")]);
    for _ in playbooks {
        daemon.wait_for("a panic caught", |line| message(line).starts_with("bug: huntbook panicked"));
    }
    wait_until("both playbooks shown failing, not running", || {
        let (_, page) = daemon.get("/", None);
        playbooks.iter().all(|id| row(&page, id).contains("data-state=\"failing\""))
    });
    let (_, page) = daemon.get("/", None);
    for id in playbooks {
        // It backs off as a failed run does: its next run is not now.
        let row = row(&page, id);
        assert!(row.contains("could not be recorded") && !row.contains("<td>now</td>"), "{row}");
    }
    let (_, metrics) = daemon.get("/metrics", None);
    // One each, not a loop (a minute later, under a heavy load, a retry may have panicked again).
    let panics = metric(&metrics, "huntbook_panics_total{part=\"run\"}");
    assert!((2.0..=4.0).contains(&panics), "{panics} panics: {metrics}");
    assert_eq!(daemon.get("/readyz", None), (200, "ready\n".to_string()));
    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(30));
    assert!(status.success(), "{log}");
}

/// `huntbook daemon` under a shell that lowered its open-file limit to `files` first.
fn daemon_with_file_limit(dir: &Path, files: u32) -> Daemon {
    let mut command = std::process::Command::new("sh");
    command
        .current_dir(dir)
        .args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_huntbook")])
        .args(["daemon", "--log-format", "json", "-c"])
        .arg(dir.join("huntbook.yaml"));
    Daemon::spawn(command, &[])
}

/// A GET that must be answered within `limit`: (status, body).
fn answered_within(address: &str, path: &str, limit: Duration) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(limit)).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap_or_else(|e| panic!("{path} was not answered within {limit:?}: {e}"));
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[test]
fn slow_clients_cannot_starve_the_probes_nor_the_runs_of_files() {
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    // 256 files in all (systemd gives 1,024); 600 clients that never finish their request.
    let daemon = daemon_with_file_limit(dir.path(), 256);
    daemon.committed_runs(1);
    let slow: Vec<std::net::TcpStream> = (0..600)
        .filter_map(|_| {
            let mut stream = std::net::TcpStream::connect(&daemon.address).ok()?;
            stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").ok()?;
            Some(stream)
        })
        .collect();
    assert_eq!(slow.len(), 600, "every slow client got a connection");
    for path in ["/healthz", "/readyz", "/"] {
        let (status, _) = answered_within(&daemon.address, path, Duration::from_secs(5));
        assert_eq!(status, 200, "{path}");
    }
    // A run still opens what it needs: a new playbook's first run commits and delivers.
    common::copy_playbooks(&dir.path().join("playbooks"), &["manual-device-isolation"]);
    daemon.signal("HUP");
    daemon.wait_for("the new playbook's run", |line| {
        message(line) == "run committed" && line["span"]["playbook"] == "manual-device-isolation"
    });
    wait_until("its cards", || outbox_files(dir.path())["soc-teams"].len() == 11);
    let (_, metrics) = answered_within(&daemon.address, "/metrics", Duration::from_secs(5));
    assert!(metric(&metrics, "huntbook_http_connections_shed_total{reason=\"evicted\"}") >= 500.0, "{metrics}");
    drop(slow);
    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(30));
    assert!(status.success(), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn a_full_disk_fails_the_run_says_so_on_readyz_and_nothing_is_lost() {
    let Some(disk) = common::disk::SmallDisk::mount(8, "the daemon on a full disk") else { return };
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    let config = dir.path().join("huntbook.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    let state = disk.path().join("huntbook.db");
    std::fs::write(&config, text.replace("state: huntbook.db", &format!("state: '{}'", state.display())))
        .expect("config");
    let daemon = Daemon::start(dir.path(), &[]);
    daemon.committed_runs(1);
    daemon.delivered(&std::collections::BTreeMap::from([("soc-mail", 1)]));

    // The disk fills; a new playbook's first run cannot commit.
    disk.fill();
    common::copy_playbooks(&dir.path().join("playbooks"), &["manual-device-isolation"]);
    daemon.signal("HUP");
    daemon.wait_for("the failed commit", |line| message(line).starts_with("run failed: its commit failed"));
    wait_until("/readyz to say why, and the run to be over", || {
        let (status, body) = daemon.get("/readyz", None);
        let (_, page) = daemon.get("/", None);
        status == 503
            && body.contains("the state file has refused writes since")
            && body.contains("full")
            && row(&page, "manual-device-isolation").contains("data-state=\"failing\"")
    });
    let (_, page) = daemon.get("/", None);
    let failing = row(&page, "manual-device-isolation");
    assert!(failing.contains("data-state=\"failing\"") && failing.contains("could not be recorded"), "{failing}");
    assert!(!failing.contains("<td>now</td>"), "it backs off, not a loop: {failing}");
    assert!(page.contains("id=\"store-refused\""), "{page}");
    let (_, metrics) = daemon.get("/metrics", None);
    assert_eq!(
        metric(&metrics, "huntbook_runs_total{playbook=\"manual-device-isolation\",outcome=\"failed\"}"),
        1.0,
        "{metrics}"
    );
    // It stops at once (nothing is stuck in a commit), and nothing of the failed run was sent or kept.
    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(30));
    assert!(status.success(), "{log}");
    assert!(outbox_files(dir.path())["soc-teams"].is_empty());

    // Space returns: the next start runs the window again and delivers all of it.
    disk.free();
    let daemon = Daemon::start(dir.path(), &[]);
    daemon.wait_for("the run again", |line| {
        message(line) == "run committed" && line["span"]["playbook"] == "manual-device-isolation"
    });
    daemon.delivered(&std::collections::BTreeMap::from([("soc-teams", 11)]));
    wait_until("ready", || daemon.get("/readyz", None) == (200, "ready\n".to_string()));
    assert_eq!(outbox_files(dir.path())["soc-teams"].len(), 11);
}

#[test]
fn a_reload_cannot_take_the_token_from_an_endpoint_off_loopback() {
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    let config = dir.path().join("huntbook.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    let exposed =
        text.replace("http: { listen: 127.0.0.1:0 }", "http: { listen: 0.0.0.0:0, token: '${env:HB_TOKEN}' }");
    std::fs::write(&config, &exposed).expect("config");
    let daemon = Daemon::start(dir.path(), &[("HB_TOKEN", "the-status-token")]);
    let port = daemon.address.rsplit(':').next().expect("a port").to_string();
    let local = format!("127.0.0.1:{port}");
    assert_eq!(http_get(&local, "/", None).0, 401);

    // The new configuration drops the token but still says 0.0.0.0 ... or says loopback: either way the
    // listener stays where it is, so the token stays.
    for listen in ["0.0.0.0:0", "127.0.0.1:0"] {
        let without = text.replace("http: { listen: 127.0.0.1:0 }", &format!("http: {{ listen: {listen} }}"));
        std::fs::write(&config, without).expect("config");
        daemon.signal("HUP");
        let refused = daemon.wait_for("the reload refused", |line| {
            message(line).starts_with("the reloaded configuration or playbooks are not valid")
        });
        let problems = refused["fields"]["problems"].as_str().unwrap_or_default().to_string();
        assert!(problems.contains("http.token"), "{problems}");
        if listen.starts_with("127.") {
            // The new configuration alone is valid: it is the address the daemon is bound to that needs a token.
            assert!(
                problems.contains("listens on 0.0.0.0:") && problems.contains("not a loopback address"),
                "{problems}"
            );
        }
        assert_eq!(http_get(&local, "/", None).0, 401, "{listen}: the page still wants the token");
        assert_eq!(http_get(&local, "/metrics", Some("the-status-token")).0, 200);
    }
}

#[test]
fn reloads_follow_a_playbooks_directory_replaced_or_relinked() {
    let dir = workspace(&[], FILE_RECEIVERS, "");
    let root = dir.path();
    std::fs::remove_dir_all(root.join("playbooks")).expect("rm");
    let v1 = root.join("releases/v1");
    let v2 = root.join("releases/v2");
    common::copy_playbooks(&v1, &["offboarding-package-download"]);
    common::copy_playbooks(&v2, &["offboarding-package-download", "manual-device-isolation"]);
    std::os::unix::fs::symlink("releases/v1", root.join("playbooks")).expect("link");
    let daemon = Daemon::start(root, &[]);
    daemon.committed_runs(1);
    let reloaded = |daemon: &Daemon, what: &str| {
        daemon.wait_for(what, |line| message(line) == "reloaded the configuration and playbooks");
    };

    // The link retargeted, as `ln -sfn` does (and a ConfigMap's `..data`): one rename in the parent.
    std::os::unix::fs::symlink("releases/v2", root.join("playbooks.new")).expect("link");
    std::fs::rename(root.join("playbooks.new"), root.join("playbooks")).expect("retarget");
    reloaded(&daemon, "a reload after the link moved");
    daemon.wait_for("the new playbook's run", |line| {
        message(line) == "run committed" && line["span"]["playbook"] == "manual-device-isolation"
    });
    // A change inside the new target is seen: the watch followed the link.
    std::fs::write(v2.join("notes.txt"), "not a playbook\n").expect("write");
    reloaded(&daemon, "a reload after a change in the new target");

    // The directory itself replaced by another (`mv new playbooks`): the link is gone, a directory stands.
    std::fs::remove_file(root.join("playbooks")).expect("unlink");
    common::copy_playbooks(&root.join("playbooks.next"), &["offboarding-package-download"]);
    std::fs::rename(root.join("playbooks.next"), root.join("playbooks")).expect("replace");
    reloaded(&daemon, "a reload after the directory was replaced");
    common::copy_playbooks(&root.join("playbooks"), &["tamper-protection-disabled"]);
    daemon.wait_for("the playbook added to the replacement", |line| {
        message(line) == "run committed" && line["span"]["playbook"] == "tamper-protection-disabled"
    });
}

#[test]
fn a_second_daemon_through_a_hard_link_to_the_state_file_finds_it_taken() {
    let first = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    let daemon = Daemon::start(first.path(), &[]);
    daemon.committed_runs(1);
    let second = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    std::fs::hard_link(first.path().join("huntbook.db"), second.path().join("huntbook.db")).expect("a hard link");
    let config = second.path().join("huntbook.yaml");
    let started = huntbook()
        .current_dir(second.path())
        .args(["daemon", "-c"])
        .arg(&config)
        .output()
        .expect("the second daemon runs");
    assert_eq!(started.status.code(), Some(1), "{}", common::stderr(&started));
    assert!(common::stderr(&started).contains("one daemon per state file"), "{}", common::stderr(&started));
    let ran = huntbook().current_dir(second.path()).args(["run", "-c"]).arg(&config).output().expect("run runs");
    assert!(common::stderr(&ran).contains("this one does nothing"), "{}", common::stderr(&ran));
    assert!(!second.path().join("huntbook.db-wal").exists(), "the second path never opened the file for writing");
}

#[test]
fn a_delivery_loop_that_panics_starts_again_slower_and_readyz_says_so() {
    let dir = workspace(&["offboarding-package-download"], FILE_RECEIVERS, "");
    // Every delivery panics once the server has the message (a bug in what follows the sending).
    let daemon = Daemon::start(dir.path(), &[("HUNTBOOK_FAILPOINT", "after-delivery:panic")]);
    daemon.wait_for("a panic of the delivery loop", |line| {
        message(line).starts_with("bug: huntbook panicked") && line["fields"]["part"] == "delivery"
    });
    wait_until("/readyz to say why", || {
        let (status, body) = daemon.get("/readyz", None);
        status == 503
            && body.contains("the delivery loop stopped on a bug")
            && body.contains("failpoint after-delivery")
    });
    // The scheduler and the endpoint go on; the loop started again (a second panic, after its pause).
    assert_eq!(daemon.get("/healthz", None), (200, "ok\n".to_string()));
    daemon.wait_for("the loop again", |line| {
        message(line).starts_with("bug: huntbook panicked") && line["fields"]["part"] == "delivery"
    });
    let (_, metrics) = daemon.get("/metrics", None);
    assert!(metric(&metrics, "huntbook_panics_total{part=\"delivery\"}") >= 2.0, "{metrics}");
    daemon.signal("TERM");
    let (status, log) = daemon.exit_within(Duration::from_secs(30));
    assert!(status.success(), "{log}");
}
