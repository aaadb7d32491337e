//! One `CloudAppEvents` row as JSON: the 36 columns in schema order and the common part of `RawEventData`.
//!
//! The Defender and noise writers describe *what* happened (a `RowHead`, the touched objects, the
//! operation-specific audit fields); this module owns *how* every row looks, so the column order, the formats and the
//! per-row identifiers (`ReportId`, `RawEventData.Id`) and enrichment columns are the same for every kind of event.

use std::borrow::Cow;

use super::clock::Instant;
use super::json::{ArrayWriter, ObjectWriter, write_object};
use super::random::{SampleRng, chance, guid, index};
use super::tenant::{Identity, Place};

/// A cloud application as Defender for Cloud Apps names it.
#[derive(Clone, Copy)]
pub(crate) struct Application {
    pub(crate) name: &'static str,
    pub(crate) id: i64,
}

pub(crate) const EXCHANGE_ONLINE: Application = Application { name: "Microsoft Exchange Online", id: 20_893 };
pub(crate) const SHAREPOINT_ONLINE: Application = Application { name: "Microsoft SharePoint Online", id: 20_892 };
pub(crate) const ONEDRIVE: Application = Application { name: "Microsoft OneDrive for Business", id: 15_600 };
pub(crate) const TEAMS: Application = Application { name: "Microsoft Teams", id: 11_394 };
/// Defender portal audit records and Entra sign-ins arrive through the Microsoft 365 app connector. The exact
/// application under which Defender audit rows appear is not documented (reference §9, question 7).
pub(crate) const MICROSOFT_365: Application = Application { name: "Microsoft 365", id: 11_161 };

/// The Office 365 Management Activity API record type and workload of a row.
#[derive(Clone, Copy)]
pub(crate) struct Record {
    pub(crate) record_type: i64,
    pub(crate) workload: &'static str,
}

/// Where the actor connected from for this row.
pub(crate) struct Network<'a> {
    pub(crate) ip_address: Cow<'a, str>,
    pub(crate) place: Option<&'a Place>,
    /// The place is not the actor's usual one (travel): the enrichment columns flag it.
    pub(crate) unusual: bool,
}

impl<'a> Network<'a> {
    /// The actor's usual address and place.
    pub(crate) fn home(actor: &'a Identity) -> Network<'a> {
        Network { ip_address: Cow::Borrowed(&actor.ip_address), place: actor.place, unusual: false }
    }
}

/// Everything about a row except the touched objects and the operation-specific audit fields.
pub(crate) struct RowHead<'a> {
    pub(crate) time: Instant,
    pub(crate) operation: &'static str,
    pub(crate) application: Application,
    pub(crate) record: Record,
    pub(crate) result_status: &'static str,
    pub(crate) actor: &'a Identity,
    /// `RawEventData.UserKey`: workloads disagree on what identifies a user.
    pub(crate) user_key: Cow<'a, str>,
    pub(crate) network: Network<'a>,
    pub(crate) user_agent: &'a str,
    pub(crate) is_admin_operation: bool,
    pub(crate) activity_type: &'static str,
    pub(crate) object_name: Cow<'a, str>,
    pub(crate) object_type: &'static str,
    pub(crate) object_id: Cow<'a, str>,
    /// How likely it is that this user has never performed this action before (the `LastSeenForUser` enrichment).
    pub(crate) novelty: f64,
}

/// What writing a row needs besides the event: the tenant id and the generator for per-row identifiers.
pub(crate) struct RowContext<'a> {
    pub(crate) organization_id: &'a str,
    pub(crate) rng: &'a mut SampleRng,
}

/// Appends one row (without the newline) to `line`. `objects` writes the `ActivityObjects` after the actor's own
/// entry; `details` writes the operation-specific `RawEventData` fields after the common ones.
pub(crate) fn write_row(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    head: &RowHead,
    objects: impl FnOnce(&mut ArrayWriter),
    details: impl FnOnce(&mut ObjectWriter),
) {
    let record_id = guid(context.rng);
    let report_id = guid(context.rng);
    let enrichment = Enrichment::draw(context.rng, head);
    let actor = head.actor;
    let place = head.network.place;
    write_object(line, |row| {
        row.raw_string_bytes("Timestamp", &head.time.timestamp_text())
            .string("ActionType", head.operation)
            .string("Application", head.application.name)
            .integer("ApplicationId", head.application.id)
            .integer("AppInstanceId", 0)
            .string("AccountObjectId", &actor.object_id)
            .string("AccountId", &actor.account_id)
            .string("AccountDisplayName", &actor.display_name)
            .boolean("IsAdminOperation", head.is_admin_operation)
            .string("DeviceType", actor.device_type)
            .string("OSPlatform", actor.os_platform)
            .string("IPAddress", &head.network.ip_address)
            .boolean("IsAnonymousProxy", false)
            .string("CountryCode", place.map_or("", |place| place.country_code))
            .string("City", place.map_or("", |place| place.city))
            .string("ISP", place.map_or("", |place| place.isp))
            .string("UserAgent", head.user_agent)
            .string("ActivityType", head.activity_type)
            .array("ActivityObjects", |list| {
                write_actor_object(list, actor);
                objects(list);
            })
            .string("ObjectName", &head.object_name)
            .string("ObjectType", head.object_type)
            .string("ObjectId", &head.object_id)
            .string("ReportId", &report_id)
            .string("AccountType", actor.account_type)
            .boolean("IsExternalUser", false)
            .boolean("IsImpersonated", false)
            .strings("IPTags", place.map_or(&[], |place| place.ip_tags))
            .string("IPCategory", place.map_or("", |place| place.ip_category))
            .strings("UserAgentTags", &[])
            .object("RawEventData", |raw| {
                write_common_audit_fields(raw, head, context.organization_id, &record_id);
                details(raw);
            })
            .object("AdditionalFields", |_| {});
        enrichment.write(row);
        row.string("AuditSource", "Defender for Cloud Apps app connector")
            .object("SessionData", |_| {})
            .string("OAuthAppId", &actor.oauth_app_id);
    });
}

/// The actor's own entry, always first in `ActivityObjects`.
fn write_actor_object(list: &mut ArrayWriter, actor: &Identity) {
    let object_type = match actor.account_type {
        "Application" => "OAuth application",
        "System" => "Account",
        _ => "User",
    };
    let id = if actor.object_id.is_empty() { &actor.user_id } else { &actor.object_id };
    list.object(|object| {
        object.string("Type", object_type).string("Role", "Actor").string("Name", &actor.display_name).string("Id", id);
    });
}

/// Another touched object: `{"Type":…,"Role":…,"Name":…,"Id":…}`.
pub(crate) fn write_object_entry(list: &mut ArrayWriter, object_type: &str, role: &str, name: &str, id: &str) {
    list.object(|object| {
        object.string("Type", object_type).string("Role", role).string("Name", name).string("Id", id);
    });
}

/// The Office 365 Management Activity API common schema, in the order the API writes it.
fn write_common_audit_fields(raw: &mut ObjectWriter, head: &RowHead, organization_id: &str, record_id: &str) {
    raw.raw_string_bytes("CreationTime", &head.time.creation_time_text())
        .string("Id", record_id)
        .string("Operation", head.operation)
        .string("OrganizationId", organization_id)
        .integer("RecordType", head.record.record_type)
        .string("ResultStatus", head.result_status)
        .string("UserKey", &head.user_key)
        .integer("UserType", head.actor.user_type)
        .integer("Version", 1)
        .string("Workload", head.record.workload)
        .string("ClientIP", &head.network.ip_address)
        .string("ObjectId", &head.object_id)
        .string("UserId", &head.actor.user_id);
}

/// The `LastSeenForUser` / `UncommonForUser` enrichment: days since the user last did this ("-1" = never), and the
/// attributes that are new for the user.
struct Enrichment {
    action_type: i64,
    os_platform: i64,
    isp: i64,
}

impl Enrichment {
    fn draw(rng: &mut SampleRng, head: &RowHead) -> Enrichment {
        let action_type = if chance(rng, head.novelty) { -1 } else { days_since(rng) };
        let isp = if head.network.unusual { -1 } else { days_since(rng) };
        Enrichment { action_type, os_platform: days_since(rng).min(1), isp }
    }

    fn write(&self, row: &mut ObjectWriter) {
        let mut action_type = Vec::new();
        let mut os_platform = Vec::new();
        let mut isp = Vec::new();
        super::json::write_integer(&mut action_type, self.action_type);
        super::json::write_integer(&mut os_platform, self.os_platform);
        super::json::write_integer(&mut isp, self.isp);
        row.object("LastSeenForUser", |seen| {
            seen.raw_string_bytes("ActionType", &action_type)
                .raw_string_bytes("OSPlatform", &os_platform)
                .raw_string_bytes("ISP", &isp);
        });
        let uncommon: Vec<&str> = [("ActionType", self.action_type), ("ISP", self.isp)]
            .iter()
            .filter(|(_, days)| *days < 0)
            .map(|(name, _)| *name)
            .collect();
        row.strings("UncommonForUser", &uncommon);
    }
}

/// Days since the user last did something: mostly today.
fn days_since(rng: &mut SampleRng) -> i64 {
    if chance(rng, 0.7) { 0 } else { 1 + index(rng, 20) as i64 }
}
