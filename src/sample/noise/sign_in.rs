//! Microsoft Entra ID sign-in rows (`UserLoggedIn`, `UserLoginFailed`) with the STS logon fields of the
//! Management Activity API: actor and target lists, extended and device properties, error number.

use std::borrow::Cow;

use super::super::clock::Instant;
use super::super::json::ObjectWriter;
use super::super::random::{guid, pick};
use super::super::row::{MICROSOFT_365, Record, RowContext, write_object_entry, write_row};
use super::super::tenant::Identity;
use super::{Operation, head, network};

const STS_LOGON: Record = Record { record_type: 15, workload: "AzureActiveDirectory" };
const LOGGED_IN: Operation = Operation {
    name: "UserLoggedIn",
    application: MICROSOFT_365,
    record: STS_LOGON,
    activity_type: "Login",
    object_type: "Application",
};
const LOGIN_FAILED: Operation = Operation {
    name: "UserLoginFailed",
    application: MICROSOFT_365,
    record: STS_LOGON,
    activity_type: "Login",
    object_type: "Application",
};

/// First-party applications people sign in to: (application id, name).
const APPLICATIONS: [(&str, &str); 4] = [
    ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"),
    ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
];
/// Why sign-ins fail: (error number, logon error).
const FAILURES: [(&str, &str); 3] = [
    ("50126", "InvalidUserNameOrPassword"),
    ("50074", "UserStrongAuthClientAuthNRequired"),
    ("50140", "KmsiInterrupt"),
];

pub(super) fn sign_in(line: &mut Vec<u8>, context: &mut RowContext, time: Instant, actor: &Identity, succeeded: bool) {
    let rng = &mut *context.rng;
    let (application_id, application_name) = *pick(rng, &APPLICATIONS);
    let (error_number, logon_error) = if succeeded { ("0", "") } else { *pick(rng, &FAILURES) };
    let inter_systems_id = guid(rng);
    let intra_system_id = guid(rng);
    let network = network(rng, actor);
    let operation = if succeeded { &LOGGED_IN } else { &LOGIN_FAILED };
    let mut row = head(operation, time, actor, network, Cow::Borrowed(application_name), Cow::Borrowed(application_id));
    row.result_status = if succeeded { "Success" } else { "Failed" };
    let client_ip = row.network.ip_address.clone();
    let organization_id = context.organization_id;
    write_row(
        line,
        context,
        &row,
        |list| write_object_entry(list, "Application", "Target", application_name, application_id),
        |raw| {
            raw.integer("AzureActiveDirectoryEventType", 1);
            write_extended_properties(raw, actor, succeeded);
            raw.array("ModifiedProperties", |_| {});
            raw.array("Actor", |list| {
                list.object(|entry| {
                    entry.string("ID", &actor.object_id).integer("Type", 0);
                });
                list.object(|entry| {
                    entry.string("ID", &actor.user_id).integer("Type", 5);
                });
            });
            raw.string("ActorContextId", organization_id)
                .string("ActorIpAddress", &client_ip)
                .string("InterSystemsId", &inter_systems_id)
                .string("IntraSystemId", &intra_system_id)
                .string("SupportTicketId", "")
                .array("Target", |list| {
                    list.object(|entry| {
                        entry.string("ID", application_id).integer("Type", 0);
                    });
                })
                .string("TargetContextId", organization_id)
                .string("ApplicationId", application_id);
            write_device_properties(raw, actor);
            raw.string("ErrorNumber", error_number);
            if !succeeded {
                raw.string("LogonError", logon_error);
            }
        },
    );
}

fn write_extended_properties(raw: &mut ObjectWriter, actor: &Identity, succeeded: bool) {
    let detail = if succeeded { "Success" } else { "Redirect" };
    raw.array("ExtendedProperties", |list| {
        for (name, value) in
            [("ResultStatusDetail", detail), ("UserAgent", actor.user_agent), ("RequestType", "OAuth2:Authorize")]
        {
            list.object(|property| {
                property.string("Name", name).string("Value", value);
            });
        }
    });
}

fn write_device_properties(raw: &mut ObjectWriter, actor: &Identity) {
    let (operating_system, browser) =
        if actor.os_platform == "macOS" { ("MacOs", "Chrome") } else { ("Windows 10", "Edge") };
    raw.array("DeviceProperties", |list| {
        for (name, value) in [("OS", operating_system), ("BrowserType", browser), ("IsCompliant", "True")] {
            list.object(|property| {
                property.string("Name", name).string("Value", value);
            });
        }
    });
}
