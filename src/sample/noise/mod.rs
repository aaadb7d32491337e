//! Ordinary Microsoft 365 activity: the rows (about 85 %) that the Defender stories hide among.
//!
//! Exchange mail access, sends, deletions, inbox rules and mailbox changes; SharePoint and OneDrive file activity and
//! sharing; Teams sessions, messages and membership; Entra sign-ins. A noise event is only a time, a kind and a
//! person; its details (subjects, file names, message ids) are drawn when the row is written, in time order, so
//! a million of them cost no memory. Each workload writes the `RawEventData` fields its real records carry.

mod exchange;
mod files;
mod sign_in;
mod teams;

use std::borrow::Cow;

use super::clock::{Instant, Window, working_time};
use super::event::{Body, Event};
use super::random::{SampleRng, chance, count_between, pick, weighted};
use super::row::{Application, Network, Record, RowContext, RowHead};
use super::tenant::{Actor, Identity, TRAVEL, Tenant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoiseKind {
    MailItemsAccessed,
    Send,
    MoveToDeletedItems,
    NewInboxRule,
    SetMailbox,
    SharePointFile(FileOperation),
    OneDriveFile(FileOperation),
    SharingSet,
    TeamsSessionStarted,
    MessageSent,
    ChatCreated,
    MemberAdded,
    UserLoggedIn,
    UserLoginFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileOperation {
    Accessed,
    Downloaded,
    Modified,
    Uploaded,
}

/// Relative frequency of each kind: mail access dominates, as it does in real tenants.
const KINDS: [NoiseKind; 20] = [
    NoiseKind::MailItemsAccessed,
    NoiseKind::Send,
    NoiseKind::MoveToDeletedItems,
    NoiseKind::NewInboxRule,
    NoiseKind::SetMailbox,
    NoiseKind::SharePointFile(FileOperation::Accessed),
    NoiseKind::SharePointFile(FileOperation::Downloaded),
    NoiseKind::SharePointFile(FileOperation::Modified),
    NoiseKind::SharePointFile(FileOperation::Uploaded),
    NoiseKind::OneDriveFile(FileOperation::Accessed),
    NoiseKind::OneDriveFile(FileOperation::Downloaded),
    NoiseKind::OneDriveFile(FileOperation::Modified),
    NoiseKind::OneDriveFile(FileOperation::Uploaded),
    NoiseKind::SharingSet,
    NoiseKind::TeamsSessionStarted,
    NoiseKind::MessageSent,
    NoiseKind::ChatCreated,
    NoiseKind::MemberAdded,
    NoiseKind::UserLoggedIn,
    NoiseKind::UserLoginFailed,
];
const WEIGHTS: [u32; 20] = [260, 80, 60, 4, 4, 90, 35, 45, 25, 55, 15, 35, 25, 18, 40, 50, 8, 6, 90, 18];

/// The share of rows made while travelling: a new ISP and city for the user.
const TRAVEL_SHARE: f64 = 0.02;

/// Appends `count` noise events spread over `window` with the rhythm of a working week.
pub(crate) fn generate(rng: &mut SampleRng, tenant: &Tenant, window: Window, count: usize, events: &mut Vec<Event>) {
    events.reserve(count);
    for position in 0..count {
        // One of each kind first, so that even the rare kinds (inbox rules) are always there.
        let kind = KINDS.get(position).copied().unwrap_or_else(|| KINDS[weighted(rng, &WEIGHTS)]);
        let actor = if kind == NoiseKind::SetMailbox { *pick(rng, &tenant.admins) } else { tenant.random_person(rng) };
        let time = working_time(rng, window);
        events.push(Event { time, body: Body::Noise { kind, actor } });
    }
}

/// Appends the row of one noise event to `line`.
pub(crate) fn write_noise_row(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    kind: NoiseKind,
    actor: Actor,
) {
    let actor = tenant.identity(actor);
    match kind {
        NoiseKind::MailItemsAccessed => exchange::mail_items_accessed(line, context, time, actor),
        NoiseKind::Send => exchange::send(line, context, time, actor),
        NoiseKind::MoveToDeletedItems => exchange::move_to_deleted_items(line, context, time, actor),
        NoiseKind::NewInboxRule => exchange::new_inbox_rule(line, context, time, actor),
        NoiseKind::SetMailbox => exchange::set_mailbox(line, context, tenant, time, actor),
        NoiseKind::SharePointFile(operation) => files::file_activity(line, context, tenant, time, actor, operation),
        NoiseKind::OneDriveFile(operation) => files::personal_file_activity(line, context, time, actor, operation),
        NoiseKind::SharingSet => files::sharing_set(line, context, tenant, time, actor),
        NoiseKind::TeamsSessionStarted => teams::session_started(line, context, time, actor),
        NoiseKind::MessageSent => teams::message_sent(line, context, tenant, time, actor),
        NoiseKind::ChatCreated => teams::chat_created(line, context, tenant, time, actor),
        NoiseKind::MemberAdded => teams::member_added(line, context, tenant, time, actor),
        NoiseKind::UserLoggedIn => sign_in::sign_in(line, context, time, actor, true),
        NoiseKind::UserLoginFailed => sign_in::sign_in(line, context, time, actor, false),
    }
}

/// The fixed facts of one noise operation.
pub(crate) struct Operation {
    pub(crate) name: &'static str,
    pub(crate) application: Application,
    pub(crate) record: Record,
    pub(crate) activity_type: &'static str,
    pub(crate) object_type: &'static str,
}

/// The head of a noise row: the actor's browser and place (sometimes a travel place), not an admin operation.
pub(crate) fn head<'a>(
    operation: &Operation,
    time: Instant,
    actor: &'a Identity,
    network: Network<'a>,
    object_name: Cow<'a, str>,
    object_id: Cow<'a, str>,
) -> RowHead<'a> {
    RowHead {
        time,
        operation: operation.name,
        application: operation.application,
        record: operation.record,
        result_status: "Succeeded",
        actor,
        user_key: Cow::Borrowed(&actor.object_id),
        network,
        user_agent: actor.user_agent,
        is_admin_operation: false,
        activity_type: operation.activity_type,
        object_name,
        object_type: operation.object_type,
        object_id,
        novelty: 0.005,
    }
}

/// Usually the actor's home network; now and then a travel place with a new address.
pub(crate) fn network<'a>(rng: &mut SampleRng, actor: &'a Identity) -> Network<'a> {
    if chance(rng, TRAVEL_SHARE) {
        let place = pick(rng, &TRAVEL);
        Network { ip_address: Cow::Owned(place.address(count_between(rng, 0, 49))), place: Some(place), unusual: true }
    } else {
        Network::home(actor)
    }
}

/// Another person of the tenant than `actor` (a recipient, a new member); the actor when the tenant has only one.
pub(crate) fn someone_else<'a>(rng: &mut SampleRng, tenant: &'a Tenant, actor: &Identity) -> &'a Identity {
    for _ in 0..4 {
        let other = tenant.identity(tenant.random_person(rng));
        if other.user_id != actor.user_id {
            return other;
        }
    }
    tenant.identity(tenant.random_person(rng))
}
