//! The deployment files in `deploy/` hold what they say: the Kubernetes example's configuration is a valid
//! huntbook configuration (checked by `huntbook validate`, with its secrets and workload identity in place), its
//! manifests are YAML with one replica, and the systemd unit and container file start the daemon.

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

#[test]
fn the_systemd_unit_and_the_container_file_start_the_daemon_as_a_user_without_privileges() {
    let unit = read("deploy/systemd/huntbook.service");
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("ExecStart");
    assert!(exec.contains(" daemon "), "{exec}");
    for setting in [
        "User=huntbook",
        "StateDirectory=huntbook",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting} is missing");
    }
    let container = read("deploy/Containerfile");
    assert!(container.contains("USER 10001:10001") && container.contains("VOLUME [\"/var/lib/huntbook\"]"));
    assert!(container.contains("CMD [\"daemon\""));
    // The arguments the unit and the image give are arguments huntbook takes.
    let help = huntbook().args(["daemon", "--help"]).output().expect("help");
    let help = common::stdout(&help);
    assert!(help.contains("--config") && help.contains("--log-format"), "{help}");
}
