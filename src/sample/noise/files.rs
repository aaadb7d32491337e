//! SharePoint Online and OneDrive rows: file access, download, modification and upload, and sharing, with the
//! SharePoint base schema fields (site, list, item, URL) of the Management Activity API.

use std::borrow::Cow;

use super::super::clock::Instant;
use super::super::json::ObjectWriter;
use super::super::random::{SampleRng, chance, guid, pick, pick_text};
use super::super::row::{ONEDRIVE, Record, RowContext, SHAREPOINT_ONLINE, write_object_entry, write_row};
use super::super::tenant::{Identity, Tenant};
use super::{FileOperation, Operation, head, network, someone_else};

const FILE_OPERATION: Record = Record { record_type: 6, workload: "SharePoint" };
const PERSONAL_FILE_OPERATION: Record = Record { record_type: 6, workload: "OneDrive" };
const SHARING_OPERATION: Record = Record { record_type: 14, workload: "SharePoint" };
const SHAREPOINT_HOST: &str = "https://contoso.sharepoint.example";
const ONEDRIVE_HOST: &str = "https://contoso-my.sharepoint.example";

const DOCUMENTS: [&str; 10] = [
    "Q3 forecast.xlsx",
    "Board deck.pptx",
    "Onboarding checklist.docx",
    "Travel policy 2026.pdf",
    "Customer list.xlsx",
    "Architecture diagram.vsdx",
    "Meeting notes.docx",
    "Budget 2027 draft.xlsx",
    "Contract Fabrikam.pdf",
    "Incident report template.docx",
];
const FOLDERS: [&str; 3] = ["Shared Documents", "Shared Documents/Reports", "Shared Documents/Archive"];
const SYNC_CLIENT: &str = "Microsoft SkyDriveSync 25.184.0921.0002 ship; Windows NT 10.0 (26100)";

/// Where a file lives, in SharePoint's words.
struct FileLocation {
    site_id: String,
    web_id: String,
    list_id: String,
    site_url: String,
    folder: String,
    file_name: &'static str,
}

impl FileLocation {
    fn url(&self) -> String {
        format!("{}{}/{}", self.site_url, self.folder, self.file_name)
    }

    fn extension(&self) -> &'static str {
        self.file_name.rsplit('.').next().unwrap_or_default()
    }
}

fn team_site(rng: &mut SampleRng, tenant: &Tenant) -> FileLocation {
    let site = pick(rng, &tenant.sites);
    FileLocation {
        site_id: site.site_id.clone(),
        web_id: site.web_id.clone(),
        list_id: site.list_id.clone(),
        site_url: format!("{SHAREPOINT_HOST}/sites/{}/", site.name),
        folder: (*pick(rng, &FOLDERS)).to_owned(),
        file_name: pick_text(rng, &DOCUMENTS),
    }
}

/// The actor's OneDrive.
fn personal_site(rng: &mut SampleRng, actor: &Identity) -> FileLocation {
    FileLocation {
        site_id: actor.drive.site_id.clone(),
        web_id: actor.drive.web_id.clone(),
        list_id: actor.drive.list_id.clone(),
        site_url: format!("{ONEDRIVE_HOST}/personal/{}/", actor.personal_site_name()),
        folder: "Documents".to_owned(),
        file_name: pick_text(rng, &DOCUMENTS),
    }
}

fn operation_name(operation: FileOperation) -> (&'static str, &'static str) {
    match operation {
        FileOperation::Accessed => ("FileAccessed", "Read"),
        FileOperation::Downloaded => ("FileDownloaded", "Download"),
        FileOperation::Modified => ("FileModified", "Edit"),
        FileOperation::Uploaded => ("FileUploaded", "Upload"),
    }
}

pub(super) fn file_activity(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    actor: &Identity,
    operation: FileOperation,
) {
    let location = team_site(context.rng, tenant);
    let (name, activity_type) = operation_name(operation);
    let file_operation =
        Operation { name, application: SHAREPOINT_ONLINE, record: FILE_OPERATION, activity_type, object_type: "File" };
    write_file_row(line, context, time, actor, &file_operation, &location, None);
}

pub(super) fn personal_file_activity(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    time: Instant,
    actor: &Identity,
    operation: FileOperation,
) {
    let location = personal_site(context.rng, actor);
    let (name, activity_type) = operation_name(operation);
    let file_operation =
        Operation { name, application: ONEDRIVE, record: PERSONAL_FILE_OPERATION, activity_type, object_type: "File" };
    write_file_row(line, context, time, actor, &file_operation, &location, None);
}

/// Someone grants a colleague (or, now and then, a guest) access to a team-site file.
pub(super) fn sharing_set(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    tenant: &Tenant,
    time: Instant,
    actor: &Identity,
) {
    let location = team_site(context.rng, tenant);
    let guest = chance(context.rng, 0.15);
    let target = if guest {
        "j.doe@partner.fabrikam.example".to_owned()
    } else {
        someone_else(context.rng, tenant, actor).user_id.clone()
    };
    let sharing = Sharing { target, target_type: if guest { "Guest" } else { "Member" } };
    let operation = Operation {
        name: "SharingSet",
        application: SHAREPOINT_ONLINE,
        record: SHARING_OPERATION,
        activity_type: "Share",
        object_type: "File",
    };
    write_file_row(line, context, time, actor, &operation, &location, Some(&sharing));
}

struct Sharing {
    target: String,
    target_type: &'static str,
}

fn write_file_row(
    line: &mut Vec<u8>,
    context: &mut RowContext,
    time: Instant,
    actor: &Identity,
    operation: &Operation,
    location: &FileLocation,
    sharing: Option<&Sharing>,
) {
    let item_id = guid(context.rng);
    let synced = chance(context.rng, 0.3);
    let network = network(context.rng, actor);
    let url = location.url();
    let mut row = head(operation, time, actor, network, Cow::Borrowed(location.file_name), Cow::Borrowed(&url));
    row.user_key = Cow::Owned(format!("i:0h.f|membership|{}@live.com", actor.puid.to_lowercase()));
    if synced {
        row.user_agent = SYNC_CLIENT;
    }
    let user_agent = row.user_agent;
    write_row(
        line,
        context,
        &row,
        |list| {
            write_object_entry(list, "File", "Target", location.file_name, &url);
            write_object_entry(list, "Site", "Target", &location.site_url, &location.site_id);
        },
        |raw| {
            write_location(raw, location, &item_id, user_agent);
            if let Some(sharing) = sharing {
                raw.string("TargetUserOrGroupName", &sharing.target)
                    .string("TargetUserOrGroupType", sharing.target_type)
                    .string("EventData", "<PermissionsGranted>Contribute</PermissionsGranted>");
            }
        },
    );
}

/// The SharePoint base schema fields of a file record.
fn write_location(raw: &mut ObjectWriter, location: &FileLocation, item_id: &str, user_agent: &str) {
    raw.string("Site", &location.site_id)
        .string("ItemType", "File")
        .string("ListId", &location.list_id)
        .string("ListItemUniqueId", item_id)
        .string("WebId", &location.web_id)
        .string("EventSource", "SharePoint")
        .string("SourceRelativeUrl", &location.folder)
        .string("SourceFileName", location.file_name)
        .string("SourceFileExtension", location.extension())
        .string("SiteUrl", &location.site_url)
        .string("UserAgent", user_agent)
        .string("GeoLocation", "EUR")
        .boolean("IsManagedDevice", true);
}
