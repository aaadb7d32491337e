//! huntbook's integration tests, in one binary (one link instead of one per file: a fresh `cargo test` was
//! spending most of its time linking). Each module is what a file of `tests/` used to be; `common` holds the
//! servers and helpers they share. They run the real binary (`CARGO_BIN_EXE_huntbook`) and real servers on
//! loopback.

mod common;

mod cards;
mod charts;
mod cli_query;
mod daemon;
mod daemon_faults;
mod defender_queries;
mod delivery_graph_mail;
mod delivery_kill;
mod delivery_smtp;
mod delivery_teams;
mod deploy;
mod diagnostics;
mod docs;
mod emails;
mod enrich;
mod exit_codes;
mod graph;
mod graph_run;
mod hostile_input;
mod never_panics;
mod never_panics_yaml;
mod new_user;
mod oracle;
mod playbooks;
mod preview;
mod quiet;
mod run;
mod schema;
mod secrets;
mod state_file;
mod terminal;
mod validate;
mod validate_files;
