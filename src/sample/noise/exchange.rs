//! Exchange Online rows: `MailItemsAccessed`, `Send`, `MoveToDeletedItems` (mailbox audit records) and
//! `New-InboxRule`, `Set-Mailbox` (admin audit records), with the mailbox fields those records carry.

use std::borrow::Cow;

use super::super::clock::Instant;
use super::super::json::ObjectWriter;
use super::super::random::{SampleRng, chance, count_between, guid, hex, pick, pick_text};
use super::super::row::{EXCHANGE_ONLINE, Record, RowContext, write_object_entry, write_row};
use super::super::tenant::{DOMAIN, Identity, Tenant};
use super::{Operation, head, network, someone_else};

const EXCHANGE_ADMIN: Record = Record { record_type: 1, workload: "Exchange" };
const EXCHANGE_ITEM: Record = Record { record_type: 2, workload: "Exchange" };
const EXCHANGE_ITEM_AGGREGATED: Record = Record { record_type: 50, workload: "Exchange" };
/// The Office 365 Exchange Online first-party application id.
const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";

const MAIL_ITEMS_ACCESSED: Operation = Operation {
    name: "MailItemsAccessed",
    application: EXCHANGE_ONLINE,
    record: EXCHANGE_ITEM_AGGREGATED,
    activity_type: "Read",
    object_type: "Mailbox",
};
const SEND: Operation = Operation {
    name: "Send",
    application: EXCHANGE_ONLINE,
    record: EXCHANGE_ITEM,
    activity_type: "Send",
    object_type: "Email",
};
const MOVE_TO_DELETED_ITEMS: Operation = Operation {
    name: "MoveToDeletedItems",
    application: EXCHANGE_ONLINE,
    record: EXCHANGE_ITEM,
    activity_type: "Delete",
    object_type: "Email",
};
const NEW_INBOX_RULE: Operation = Operation {
    name: "New-InboxRule",
    application: EXCHANGE_ONLINE,
    record: EXCHANGE_ADMIN,
    activity_type: "Create",
    object_type: "Mailbox rule",
};
const SET_MAILBOX: Operation = Operation {
    name: "Set-Mailbox",
    application: EXCHANGE_ONLINE,
    record: EXCHANGE_ADMIN,
    activity_type: "Edit",
    object_type: "Mailbox",
};

const CLIENTS: [&str; 5] = [
    "Client=MSExchangeRPC",
    "Client=OWA;Action=ViaProxy",
    "Client=REST;Client=RESTSystem;;",
    "Client=OutlookService;Outlook-Android/2.0;",
    "Client=OutlookService;Outlook-iOS/2.0;",
];
const FOLDERS: [&str; 5] = ["\\Inbox", "\\Sent Items", "\\Archive", "\\Inbox\\Projects", "\\Drafts"];
const SUBJECTS: [&str; 10] = [
    "Q3 forecast review",
    "Re: Travel approval",
    "Lunch on Friday?",
    "Updated onboarding checklist",
    "FW: Invoice 2026-0113",
    "Board deck draft v3",
    "Customer escalation: Fabrikam",
    "Re: VPN not connecting",
    "Weekly status",
    "Holiday schedule",
];
const RULE_NAMES: [&str; 5] = ["Newsletters", "Build notifications", "Receipts", "From my manager", "."];

/// A mail item as mailbox audit records describe it.
struct MailItem {
    item_id: String,
    internet_message_id: String,
    subject: &'static str,
    size: i64,
}

fn mail_item(rng: &mut SampleRng) -> MailItem {
    MailItem {
        item_id: format!("RgAAAAA{}", hex(rng, 40).to_uppercase()),
        internet_message_id: format!("<{}@{DOMAIN}>", hex(rng, 24).to_uppercase()),
        subject: pick_text(rng, &SUBJECTS),
        size: i64::from(count_between(rng, 4_000, 2_500_000)),
    }
}

fn originating_server(rng: &mut SampleRng) -> String {
    format!(
        "AM6PR08MB{} (15.20.{}.{:03})",
        count_between(rng, 1_000, 9_999),
        count_between(rng, 8_000, 9_400),
        count_between(rng, 0, 40)
    )
}

/// The fields every mailbox audit record carries about the mailbox and the client.
fn write_mailbox_fields(raw: &mut ObjectWriter, actor: &Identity, client: &str, client_ip: &str) {
    raw.string("AppId", EXCHANGE_APP_ID)
        .string("ClientAppId", "")
        .string("ClientIPAddress", client_ip)
        .string("ClientInfoString", client)
        .boolean("ExternalAccess", false)
        .integer("InternalLogonType", 0)
        .integer("LogonType", 0)
        .string("LogonUserSid", &actor.sid)
        .string("MailboxGuid", &actor.mailbox_guid)
        .string("MailboxOwnerSid", &actor.sid)
        .string("MailboxOwnerUPN", &actor.user_id)
        .string("OrganizationName", DOMAIN);
}

pub(super) fn mail_items_accessed(line: &mut Vec<u8>, context: &mut RowContext, time: Instant, actor: &Identity) {
    let rng = &mut *context.rng;
    let client = *pick(rng, &CLIENTS);
    let folder = *pick(rng, &FOLDERS);
    let folder_id = format!("LgAAAAA{}", hex(rng, 40).to_uppercase());
    let items: Vec<MailItem> = (0..count_between(rng, 1, 4)).map(|_| mail_item(rng)).collect();
    let server = originating_server(rng);
    let session = guid(rng);
    let network = network(rng, actor);
    let mut row = head(
        &MAIL_ITEMS_ACCESSED,
        time,
        actor,
        network,
        Cow::Borrowed(&actor.user_id),
        Cow::Borrowed(&actor.mailbox_guid),
    );
    row.user_key = Cow::Borrowed(&actor.puid);
    row.user_agent = client;
    let client_ip = row.network.ip_address.clone();
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Mailbox", "Target", &actor.user_id, &actor.mailbox_guid),
        |raw| {
            write_mailbox_fields(raw, actor, client, &client_ip);
            raw.array("OperationProperties", |properties| {
                properties.object(|property| {
                    property.string("Name", "MailAccessType").string("Value", "Bind");
                });
                properties.object(|property| {
                    property.string("Name", "IsThrottled").string("Value", "False");
                });
            })
            .string("OriginatingServer", &server)
            .string("SessionId", &session)
            .array("Folders", |folders| {
                folders.object(|entry| {
                    entry.string("Id", &folder_id).string("Path", folder).array("FolderItems", |list| {
                        for item in &items {
                            list.object(|object| {
                                object
                                    .string("InternetMessageId", &item.internet_message_id)
                                    .integer("SizeInBytes", item.size);
                            });
                        }
                    });
                });
            })
            .integer("OperationCount", items.len() as i64);
        },
    );
}

pub(super) fn send(line: &mut Vec<u8>, context: &mut RowContext, time: Instant, actor: &Identity) {
    let rng = &mut *context.rng;
    let client = *pick(rng, &CLIENTS);
    let item = mail_item(rng);
    let folder_id = format!("LgAAAAA{}", hex(rng, 40).to_uppercase());
    let network = network(rng, actor);
    let mut row =
        head(&SEND, time, actor, network, Cow::Borrowed(item.subject), Cow::Borrowed(&item.internet_message_id));
    row.user_key = Cow::Borrowed(&actor.puid);
    row.user_agent = client;
    let client_ip = row.network.ip_address.clone();
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Email", "Target", item.subject, &item.internet_message_id),
        |raw| {
            write_mailbox_fields(raw, actor, client, &client_ip);
            raw.object("Item", |object| {
                object
                    .string("Id", &item.item_id)
                    .string("InternetMessageId", &item.internet_message_id)
                    .object("ParentFolder", |folder| {
                        folder.string("Id", &folder_id).string("Path", "\\Sent Items");
                    })
                    .string("Subject", item.subject)
                    .integer("SizeInBytes", item.size);
            });
        },
    );
}

pub(super) fn move_to_deleted_items(line: &mut Vec<u8>, context: &mut RowContext, time: Instant, actor: &Identity) {
    let rng = &mut *context.rng;
    let client = *pick(rng, &CLIENTS);
    let item = mail_item(rng);
    let source_id = format!("LgAAAAA{}", hex(rng, 40).to_uppercase());
    let destination_id = format!("LgAAAAA{}", hex(rng, 40).to_uppercase());
    let network = network(rng, actor);
    let mut row = head(
        &MOVE_TO_DELETED_ITEMS,
        time,
        actor,
        network,
        Cow::Borrowed(item.subject),
        Cow::Borrowed(&item.internet_message_id),
    );
    row.user_key = Cow::Borrowed(&actor.puid);
    row.user_agent = client;
    let client_ip = row.network.ip_address.clone();
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Email", "Target", item.subject, &item.internet_message_id),
        |raw| {
            write_mailbox_fields(raw, actor, client, &client_ip);
            raw.array("AffectedItems", |list| {
                list.object(|object| {
                    object
                        .string("Id", &item.item_id)
                        .string("InternetMessageId", &item.internet_message_id)
                        .object("ParentFolder", |folder| {
                            folder.string("Id", &source_id).string("Path", "\\Inbox");
                        })
                        .string("Subject", item.subject);
                });
            })
            .object("DestFolder", |folder| {
                folder.string("Id", &destination_id).string("Path", "\\Deleted Items");
            })
            .object("Folder", |folder| {
                folder.string("Id", &source_id).string("Path", "\\Inbox");
            });
        },
    );
}

pub(super) fn new_inbox_rule(line: &mut Vec<u8>, context: &mut RowContext, time: Instant, actor: &Identity) {
    let rng = &mut *context.rng;
    let rule = *pick(rng, &RULE_NAMES);
    let folder = if rule == "." { "RSS Subscriptions" } else { "Archive" };
    let sender = if chance(rng, 0.5) { format!("noreply@{DOMAIN}") } else { format!("newsletter@partner.{DOMAIN}") };
    let server = originating_server(rng);
    let network = network(rng, actor);
    let object_id = format!("{}\\{rule}", actor.user_id);
    let mut row = head(&NEW_INBOX_RULE, time, actor, network, Cow::Borrowed(rule), Cow::Owned(object_id));
    row.user_key = Cow::Borrowed(&actor.puid);
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Mailbox", "Target", &actor.user_id, &actor.mailbox_guid),
        |raw| {
            raw.string("AppId", "").string("ClientAppId", "").boolean("ExternalAccess", false);
            raw.string("OrganizationName", DOMAIN).string("OriginatingServer", &server);
            write_parameters(
                raw,
                &[("Name", rule), ("From", &sender), ("MoveToFolder", folder), ("StopProcessingRules", "True")],
            );
        },
    );
}

/// An admin changes someone's mailbox: delegation or auditing.
pub(super) fn set_mailbox(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    actor: &Identity,
) {
    let rng = &mut *context.rng;
    let owner = someone_else(rng, tenant, actor);
    let delegate = someone_else(rng, tenant, owner);
    let delegation = chance(rng, 0.5);
    let server = originating_server(rng);
    let network = network(rng, actor);
    let mut row =
        head(&SET_MAILBOX, time, actor, network, Cow::Borrowed(&owner.display_name), Cow::Borrowed(&owner.user_id));
    row.user_key = Cow::Borrowed(&actor.puid);
    row.is_admin_operation = true;
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Mailbox", "Target", &owner.user_id, &owner.mailbox_guid),
        |raw| {
            raw.string("AppId", "").string("ClientAppId", "").boolean("ExternalAccess", false);
            raw.string("OrganizationName", DOMAIN).string("OriginatingServer", &server);
            if delegation {
                write_parameters(raw, &[("Identity", &owner.user_id), ("GrantSendOnBehalfTo", &delegate.user_id)]);
            } else {
                write_parameters(raw, &[("Identity", &owner.user_id), ("AuditEnabled", "True")]);
            }
        },
    );
}

/// Exchange admin records list cmdlet parameters as `{"Name":…,"Value":…}` pairs.
fn write_parameters(raw: &mut ObjectWriter, parameters: &[(&str, &str)]) {
    raw.array("Parameters", |list| {
        for (name, value) in parameters {
            list.object(|parameter| {
                parameter.string("Name", name).string("Value", value);
            });
        }
    });
}
