//! The deployment files in `deploy/` hold what they say: the Kubernetes example's configuration is a valid
//! huntbook configuration (checked by `huntbook validate`, with its secrets and workload identity in place), its
//! manifests are YAML with one replica; the systemd unit's command line (with its file limit, reload and stop
//! signal) and the container image's (as its unprivileged user) start, reload and stop the real daemon.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common;
use common::{huntbook, repo};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The documents of a multi-document YAML file.
fn documents(text: &str) -> Vec<String> {
    text.split("\n---\n")
        .map(str::to_string)
        .filter(|d| d.lines().any(|l| !l.starts_with('#') && !l.trim().is_empty()))
        .collect()
}

#[test]
fn the_kubernetes_example_configuration_validates_and_runs_one_replica_with_probes() {
    let manifests = read("deploy/kubernetes/huntbook.yaml");
    let documents = documents(&manifests);
    for document in &documents {
        marked_yaml::parse_yaml(0, document).unwrap_or_else(|e| panic!("not YAML: {e}\n{document}"));
    }
    let deployment = documents.iter().find(|d| d.contains("kind: Deployment")).expect("a Deployment");
    assert!(deployment.contains("replicas: 1 ") && deployment.contains("type: Recreate"), "{deployment}");
    assert!(deployment.contains("path: /healthz") && deployment.contains("path: /readyz"));
    assert!(deployment.contains("azure.workload.identity/use: \"true\""));

    // The configuration in the ConfigMap, with its mounted paths moved into a temporary directory.
    let config_map = documents.iter().find(|d| d.contains("kind: ConfigMap")).expect("a ConfigMap");
    let block = config_map.split_once("huntbook.yaml: |\n").expect("the huntbook.yaml key").1;
    let config: String =
        block.lines().map(|line| line.strip_prefix("    ").unwrap_or(line)).collect::<Vec<_>>().join("\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).expect("mkdir");
    for (name, value) in [
        ("smtp-password", "pw"),
        ("teams-soc", "https://prod.westeurope.logic.azure.com/workflows/x?sig=s"),
        ("http-token", "t"),
    ] {
        std::fs::write(secrets.join(name), value).expect("secret");
    }
    let config = config
        .replace("/etc/huntbook/secrets", &secrets.display().to_string())
        .replace("/etc/huntbook/playbooks", &repo().join("playbooks").display().to_string())
        .replace("/var/lib/huntbook", &dir.path().display().to_string());
    let path = dir.path().join("huntbook.yaml");
    std::fs::write(&path, config).expect("config");
    let validated = huntbook().args(["validate", "-c"]).arg(&path).output().expect("validate runs");
    assert!(validated.status.success(), "{}{}", common::stdout(&validated), common::stderr(&validated));

    let monitor = read("deploy/kubernetes/servicemonitor.yaml");
    marked_yaml::parse_yaml(0, &monitor).expect("YAML");
}

/// The value of `key=` lines of a unit file, in order.
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines().filter_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix('='))).collect()
}

/// A configuration for the deployed daemon: the shipped offboarding playbook over the sample, its state in
/// `state_dir`, files for messages, the endpoint on a free loopback port.
fn deployed_config(etc: &Path, state_dir: &Path) -> std::path::PathBuf {
    common::copy_playbooks(&etc.join("playbooks"), &["offboarding-package-download"]);
    let config = etc.join("huntbook.yaml");
    std::fs::write(
        &config,
        format!(
            "state: {state}\nplaybooks: {playbooks}\nsource: {{ kind: local, data: {data}, rebase_time: true }}\n\
             first_lookback: 30d\nhttp: {{ listen: 127.0.0.1:0 }}\ndaemon: {{ jitter: 0s }}\nreceivers:\n  soc-mail:\n    \
             email: {{ to: [soc@contoso.example], from: huntbook@contoso.example, via: file, dir: {out} }}\n",
            state = state_dir.join("huntbook.db").display(),
            playbooks = etc.join("playbooks").display(),
            data = common::sample_data().display(),
            out = state_dir.join("outbox").display(),
        ),
    )
    .expect("the configuration");
    config
}

/// Starts `command` (a daemon), reads its stderr until it listens; returns the child, its address and the
/// lines read so far (the reader keeps collecting them).
fn start_listening(mut command: Command) -> (std::process::Child, String, Arc<Mutex<Vec<String>>>) {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("the daemon starts");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (sender, addresses) = std::sync::mpsc::channel();
    let reader = BufReader::new(child.stderr.take().expect("stderr"));
    let kept = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("huntbook daemon listening on http://") {
                let _ = sender.send(address.to_string());
            }
            kept.lock().expect("lines").push(line);
        }
    });
    let address = addresses
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("the daemon never listened:\n{}", lines.lock().expect("lines").join("\n")));
    (child, address, lines)
}

fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn wait_for(what: &str, lines: &Mutex<Vec<String>>, wanted: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !lines.lock().expect("lines").iter().any(|line| wanted(line)) {
        assert!(std::time::Instant::now() < deadline, "never saw {what}:\n{}", lines.lock().expect("lines").join("\n"));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn exits_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "the daemon did not stop within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_systemd_unit_starts_reloads_and_stops_the_daemon_as_it_says() {
    let unit = read("deploy/systemd/huntbook.service");
    for setting in [
        "User=huntbook",
        "StateDirectory=huntbook",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "KillSignal=SIGTERM",
        "SystemCallErrorNumber=EPERM",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting} is missing");
    }
    // Its command line, its file limit and its working directory, as systemd would apply them (no systemd here).
    let exec = unit_values(&unit, "ExecStart")[0];
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/huntbook"));
    let arguments: Vec<&str> = words.collect();
    assert_eq!(arguments, ["daemon", "--config", "/etc/huntbook/huntbook.yaml"]);
    let files: u64 = unit_values(&unit, "LimitNOFILE")[0].parse().expect("a number of files");
    assert!(files >= 4096, "LimitNOFILE={files}");
    let stop: u64 = unit_values(&unit, "TimeoutStopSec")[0].trim_end_matches('s').parse().expect("seconds");

    let root = tempfile::tempdir().expect("temp dir");
    let (etc, state) = (root.path().join("etc"), root.path().join("var"));
    std::fs::create_dir_all(&state).expect("the state directory");
    let config = deployed_config(&etc, &state);
    // What this machine lets a process have, if less (raising the hard limit needs a privilege).
    let ours = std::fs::read_to_string("/proc/self/limits").expect("limits");
    let hard: u64 = ours
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|n| n.parse().ok())
        .unwrap_or(files);
    let files = files.min(hard);
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--nofile={files}:{files}"))
        .arg(env!("CARGO_BIN_EXE_huntbook"))
        .args(
            arguments.iter().map(|a| {
                if *a == "/etc/huntbook/huntbook.yaml" { config.as_os_str() } else { std::ffi::OsStr::new(a) }
            }),
        )
        .current_dir(&state);
    let (mut child, address, lines) = start_listening(command);
    wait_for("the first run", &lines, |line| line.contains("run committed"));
    assert_eq!(get(&address, "/healthz"), (200, "ok\n".to_string()));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).expect("limits");
    assert!(limits.lines().any(|l| l.starts_with("Max open files") && l.contains(&files.to_string())), "{limits}");

    // ExecReload, with $MAINPID.
    let reload = unit_values(&unit, "ExecReload")[0].replace("$MAINPID", &child.id().to_string());
    let mut reload = reload.split_whitespace();
    let status = Command::new(reload.next().expect("a program")).args(reload).status().expect("the reload runs");
    assert!(status.success());
    wait_for("the reload", &lines, |line| line.contains("reloaded the configuration and playbooks"));

    // KillSignal within TimeoutStopSec.
    let status = Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    assert!(exits_within(&mut child, Duration::from_secs(stop)).success());
    assert!(state.join("huntbook.db").is_file() && state.join("outbox").is_dir());
}

#[test]
fn the_container_image_runs_the_daemon_as_its_unprivileged_user() {
    let container = read("deploy/Containerfile");
    assert!(container.contains("USER 10001:10001") && container.contains("VOLUME [\"/var/lib/huntbook\"]"));
    assert!(container.contains("STOPSIGNAL SIGTERM"));
    let json_array = |key: &str| -> Vec<String> {
        let line = container.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_str(line.trim_start_matches(key).trim()).unwrap_or_else(|e| panic!("{line}: {e}"))
    };
    let entrypoint = json_array("ENTRYPOINT");
    let cmd = json_array("CMD");
    assert_eq!(entrypoint, ["/usr/local/bin/huntbook"]);
    assert_eq!(cmd[..3], ["daemon", "--config", "/etc/huntbook/huntbook.yaml"]);

    let root = tempfile::tempdir().expect("temp dir");
    let (etc, state) = (root.path().join("etc"), root.path().join("var"));
    std::fs::create_dir_all(&state).expect("the state directory");
    let config = deployed_config(&etc, &state);
    let arguments: Vec<std::ffi::OsString> = cmd
        .iter()
        .map(|a| if a == "/etc/huntbook/huntbook.yaml" { config.clone().into_os_string() } else { a.into() })
        .collect();
    // As USER 10001 when this test may switch users (root), as the image does; else as whoever runs it.
    let root_here = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| common::stdout(&o).trim() == "0");
    let mut command = if root_here {
        for dir in [root.path(), &state] {
            let status = Command::new("chown").args(["-R", "10001:10001"]).arg(dir).status().expect("chown");
            assert!(status.success());
        }
        let mut command = Command::new("setpriv");
        command.args(["--reuid=10001", "--regid=10001", "--clear-groups", "--"]).arg(env!("CARGO_BIN_EXE_huntbook"));
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_huntbook"))
    };
    command.args(&arguments).current_dir(&state);
    let (mut child, address, lines) = start_listening(command);
    wait_for("the first run, logged as JSON", &lines, |line| {
        serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v["fields"]["message"] == "run committed")
    });
    assert_eq!(get(&address, "/readyz"), (200, "ready\n".to_string()));
    let status = Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    assert!(exits_within(&mut child, Duration::from_secs(45)).success());
    if root_here {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(state.join("huntbook.db")).expect("the state file").uid(), 10001);
    }
    // The arguments the image gives are arguments huntbook takes.
    let help = huntbook().args(["daemon", "--help"]).output().expect("help");
    let help = common::stdout(&help);
    assert!(help.contains("--config") && help.contains("--log-format"), "{help}");
}
