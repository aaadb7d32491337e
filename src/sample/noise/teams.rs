//! Microsoft Teams rows: sessions started, messages sent, chats created, members added, with the Teams audit fields
//! (thread ids, communication type, team name, members).

use std::borrow::Cow;

use super::super::clock::Instant;
use super::super::json::ObjectWriter;
use super::super::random::{SampleRng, count_between, hex, index, pick};
use super::super::row::{Record, RowContext, TEAMS, write_object_entry, write_row};
use super::super::tenant::{Identity, Tenant};
use super::{Operation, head, network, someone_else};

const TEAMS_RECORD: Record = Record { record_type: 25, workload: "MicrosoftTeams" };

const fn teams_operation(name: &'static str, activity_type: &'static str, object_type: &'static str) -> Operation {
    Operation { name, application: TEAMS, record: TEAMS_RECORD, activity_type, object_type }
}

const SESSION_STARTED: Operation = teams_operation("TeamsSessionStarted", "Login", "Session");
const MESSAGE_SENT: Operation = teams_operation("MessageSent", "Send", "Message");
const CHAT_CREATED: Operation = teams_operation("ChatCreated", "Create", "Chat");
const MEMBER_ADDED: Operation = teams_operation("MemberAdded", "Edit", "Team");

fn thread_id(rng: &mut SampleRng) -> String {
    format!("19:{}@thread.v2", hex(rng, 32))
}

pub(super) fn session_started(line: &mut Vec<u8>, context: &mut RowContext, time: Instant, actor: &Identity) {
    let version = format!(
        "25{}.{}.{}",
        count_between(context.rng, 100, 330),
        count_between(context.rng, 1, 9),
        count_between(context.rng, 1_000, 9_999)
    );
    let network = network(context.rng, actor);
    let row = head(&SESSION_STARTED, time, actor, network, Cow::Borrowed("Microsoft Teams"), Cow::Borrowed(""));
    let os_name = if actor.os_platform == "macOS" { "macOS" } else { "Windows" };
    write_row(
        line,
        context,
        &row,
        |_| {},
        |raw| {
            raw.array("ExtraProperties", |list| {
                list.object(|property| {
                    property.string("Key", "OsName").string("Value", os_name);
                });
                list.object(|property| {
                    property.string("Key", "TeamsVersion").string("Value", &version);
                });
            });
        },
    );
}

pub(super) fn message_sent(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    actor: &Identity,
) {
    let rng = &mut *context.rng;
    let thread = thread_id(rng);
    let message_id = format!("17{}", count_between(rng, 100_000_000, 999_999_999));
    let team = if index(rng, 3) == 0 { Some(pick(rng, &tenant.sites).name) } else { None };
    let communication_type = match team {
        Some(_) => "Team",
        None if index(rng, 2) == 0 => "OneOnOne",
        None => "GroupChat",
    };
    let network = network(rng, actor);
    let row =
        head(&MESSAGE_SENT, time, actor, network, Cow::Borrowed(team.unwrap_or("Chat")), Cow::Borrowed(&message_id));
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Chat", "Target", &thread, &thread),
        |raw| {
            raw.string("ChatThreadId", &thread)
                .string("CommunicationType", communication_type)
                .string("MessageId", &message_id);
            if let Some(team) = team {
                raw.string("TeamName", team).string("ChannelName", "General");
            }
        },
    );
}

pub(super) fn chat_created(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    actor: &Identity,
) {
    let thread = thread_id(context.rng);
    let other = someone_else(context.rng, tenant, actor);
    let network = network(context.rng, actor);
    let row = head(&CHAT_CREATED, time, actor, network, Cow::Borrowed(&other.display_name), Cow::Borrowed(&thread));
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Chat", "Target", &thread, &thread),
        |raw| {
            raw.string("ChatThreadId", &thread).string("CommunicationType", "OneOnOne");
            write_members(raw, &[actor, other]);
        },
    );
}

pub(super) fn member_added(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    actor: &Identity,
) {
    let site = pick(context.rng, &tenant.sites);
    let member = someone_else(context.rng, tenant, actor);
    let team_thread = thread_id(context.rng);
    let network = network(context.rng, actor);
    let row = head(&MEMBER_ADDED, time, actor, network, Cow::Borrowed(site.name), Cow::Borrowed(&site.site_id));
    write_row(
        line,
        context,
        &row,
        |list| {
            write_object_entry(list, "Team", "Target", site.name, &site.site_id);
            write_object_entry(list, "User", "Target", &member.display_name, &member.object_id);
        },
        |raw| {
            raw.string("TeamName", site.name).string("TeamGuid", &team_thread).string("AADGroupId", &site.site_id);
            write_members(raw, &[member]);
        },
    );
}

/// Teams lists members with their role (1 = member).
fn write_members(raw: &mut ObjectWriter, members: &[&Identity]) {
    raw.array("Members", |list| {
        for member in members {
            list.object(|entry| {
                entry.string("DisplayName", &member.display_name).string("UPN", &member.user_id).integer("Role", 1);
            });
        }
    });
}
