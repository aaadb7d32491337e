//! The documentation in `docs/` against the code it describes: the KQL page's lists against the engine's
//! registries, the playbook and configuration pages against the keys the readers accept, the commands page
//! against the command line. `HUNTBOOK_UPDATE_DOCS=1 cargo test docs` rewrites the KQL page's generated lists.

use crate::common;

fn read(name: &str) -> String {
    std::fs::read_to_string(common::repo().join("docs").join(name)).expect("a docs page")
}

#[test]
fn the_kql_page_lists_exactly_what_the_engine_supports() {
    let path = common::repo().join("docs/kql.md");
    let mut text = read("kql.md");
    for (name, listed) in huntbook::kql::reference::sections() {
        let begin = format!("<!-- begin {name} -->\n");
        let end = format!("<!-- end {name} -->");
        let start = text.find(&begin).unwrap_or_else(|| panic!("docs/kql.md has no section {name}")) + begin.len();
        let stop = start + text[start..].find(&end).expect("the section ends");
        let wanted = format!("{listed}\n");
        if text[start..stop] != wanted {
            if std::env::var_os("HUNTBOOK_UPDATE_DOCS").is_some() {
                text.replace_range(start..stop, &wanted);
            } else {
                panic!("docs/kql.md's {name} differ from the engine's; run HUNTBOOK_UPDATE_DOCS=1 cargo test docs");
            }
        }
    }
    if std::env::var_os("HUNTBOOK_UPDATE_DOCS").is_some() {
        std::fs::write(path, text).expect("written");
    }
}

#[test]
fn every_key_the_readers_accept_is_documented() {
    let playbooks = read("playbooks.md");
    let config = read("configuration.md");
    let lists: [(&str, &[&str]); 13] = [
        ("playbooks.md", huntbook::playbook::KEYS),
        ("playbooks.md", huntbook::playbook::notify::NOTIFY_KEYS),
        ("playbooks.md", huntbook::playbook::notify::SUPPRESS_KEYS),
        ("playbooks.md", huntbook::playbook::notify::LINK_KEYS),
        ("playbooks.md", huntbook::playbook::schedule::SCHEDULE_KEYS),
        ("playbooks.md", huntbook::playbook::test_case::TEST_KEYS),
        ("playbooks.md", huntbook::playbook::test_case::EXPECT_KEYS),
        ("playbooks.md", huntbook::playbook::enrich::LOOKUP_KEYS),
        ("configuration.md", huntbook::config::TOP_KEYS),
        ("configuration.md", huntbook::config::SOURCE_KEYS),
        ("configuration.md", huntbook::config::receiver::EMAIL_KEYS),
        ("configuration.md", huntbook::config::receiver::TEAMS_KEYS),
        ("configuration.md", huntbook::config::tenant::TENANT_KEYS),
    ];
    for (page, keys) in lists {
        let text = if page == "playbooks.md" { &playbooks } else { &config };
        for key in keys {
            assert!(text.contains(&format!("`{key}`")), "docs/{page} does not document `{key}`");
        }
    }
}

#[test]
fn every_command_and_option_is_documented() {
    use clap::CommandFactory;
    let text = read("commands.md");
    let cli = huntbook::cli::Cli::command();
    for command in cli.get_subcommands() {
        let name = command.get_name();
        if name == "help" {
            continue;
        }
        assert!(text.contains(&format!("## huntbook {name}")), "docs/commands.md has no section for {name}");
        for argument in command.get_arguments() {
            if argument.is_hide_set() {
                continue;
            }
            if let Some(long) = argument.get_long() {
                let documented =
                    text.contains(&format!("--{long}")) || ["config", "log-format", "verbose", "quiet"].contains(&long);
                // `emulate` has many knobs; its page names the main ones and `huntbook help emulate` the rest.
                assert!(documented || name == "emulate", "docs/commands.md does not mention {name} --{long}");
            }
        }
    }
}
