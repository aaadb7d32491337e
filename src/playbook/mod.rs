//! Playbooks: one YAML file each. (Loading and validation are being written.)

pub mod severity;
