//! The fictional tenant behind the sample data: people, SOC analysts, admins, automation identities, devices, sites.
//!
//! Everything about an account that must stay consistent across rows (display name, UPN, object id, home city, IP
//! address, browser) is decided once here, so every row that names a person agrees with every other. The domain is
//! `contoso.example` and every IP address comes from the documentation ranges (RFC 5737): nothing here points at a
//! real organisation or host.

use super::random::{SampleRng, count_between, guid, hex, index, pick, shuffle, upper_alphanumeric, weighted};

pub(crate) const DOMAIN: &str = "contoso.example";

/// Where an account connects from.
pub(crate) struct Place {
    pub(crate) city: &'static str,
    pub(crate) country_code: &'static str,
    pub(crate) isp: &'static str,
    /// The first three octets of the place's addresses (always a documentation range).
    network: &'static str,
    first_host: u32,
    pub(crate) ip_category: &'static str,
    pub(crate) ip_tags: &'static [&'static str],
}

const OFFICES: [Place; 5] = [
    office("Amsterdam", "NL", "KPN B.V.", "198.51.100", 10),
    office("London", "GB", "British Telecommunications PLC", "198.51.100", 140),
    office("Berlin", "DE", "Deutsche Telekom AG", "203.0.113", 10),
    office("Seattle", "US", "Comcast Cable Communications", "203.0.113", 120),
    office("Madrid", "ES", "Telefonica de Espana", "192.0.2", 10),
];
/// Relative head count per office, same order as `OFFICES`.
const OFFICE_WEIGHTS: [u32; 5] = [35, 20, 20, 15, 10];

/// Places people sign in from when travelling (the "uncommon for user" rows).
pub(crate) const TRAVEL: [Place; 3] = [
    travel("Lisbon", "PT", "MEO", "192.0.2", 200),
    travel("New York", "US", "Verizon Business", "192.0.2", 220),
    travel("Singapore", "SG", "Singtel", "192.0.2", 240),
];

const CLOUD: Place = Place {
    city: "Dublin",
    country_code: "IE",
    isp: "Microsoft Azure",
    network: "203.0.113",
    first_host: 250,
    ip_category: "Cloud provider",
    ip_tags: &["Microsoft Azure"],
};

const fn office(
    city: &'static str,
    country_code: &'static str,
    isp: &'static str,
    network: &'static str,
    first_host: u32,
) -> Place {
    Place { city, country_code, isp, network, first_host, ip_category: "Corporate", ip_tags: &["Corporate"] }
}

const fn travel(
    city: &'static str,
    country_code: &'static str,
    isp: &'static str,
    network: &'static str,
    first_host: u32,
) -> Place {
    Place { city, country_code, isp, network, first_host, ip_category: "ISP", ip_tags: &[] }
}

impl Place {
    /// An address of this place; `host` picks one of its 50 hosts.
    pub(crate) fn address(&self, host: u32) -> String {
        format!("{}.{}", self.network, self.first_host + host % 50)
    }
}

/// What an account does in the story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Staff,
    SocAnalyst,
    Admin,
    AutomatedInvestigation,
    SoarApplication,
}

/// An account as CloudAppEvents and the audit record describe it.
pub(crate) struct Identity {
    pub(crate) display_name: String,
    /// `RawEventData.UserId`: the UPN of a person, the client id of an app, `Automation` for the system actor.
    pub(crate) user_id: String,
    pub(crate) account_id: String,
    pub(crate) object_id: String,
    /// `RawEventData.UserKey` of Defender records.
    pub(crate) user_key: String,
    /// The Passport-style unique id Exchange and SharePoint records use as the user key.
    pub(crate) puid: String,
    pub(crate) account_type: &'static str,
    /// `RawEventData.UserType`: 0 Regular, 2 Admin, 4 System, 5 Application.
    pub(crate) user_type: i64,
    pub(crate) role: Role,
    pub(crate) place: Option<&'static Place>,
    pub(crate) ip_address: String,
    pub(crate) os_platform: &'static str,
    pub(crate) device_type: &'static str,
    pub(crate) user_agent: &'static str,
    pub(crate) oauth_app_id: String,
    pub(crate) mailbox_guid: String,
    /// The person's OneDrive (site, web and document-library ids); empty for automation.
    pub(crate) drive: Site,
    pub(crate) sid: String,
}

impl Identity {
    pub(crate) fn is_person(&self) -> bool {
        matches!(self.role, Role::Staff | Role::SocAnalyst | Role::Admin)
    }

    /// The mail-style alias used in OneDrive URLs: `megan_bowen_contoso_example`.
    pub(crate) fn personal_site_name(&self) -> String {
        self.user_id.replace(['.', '@'], "_")
    }
}

/// A managed device as the Defender portal names it.
pub(crate) struct Device {
    /// The name as shown in the portal and written in `RawEventData.DeviceName`: `desktop-7h2k9qx.contoso.example`.
    pub(crate) name: String,
    /// The 40-hex-digit MDE device id.
    pub(crate) device_id: String,
}

/// A SharePoint site or a Teams team.
pub(crate) struct Site {
    pub(crate) name: &'static str,
    pub(crate) site_id: String,
    pub(crate) web_id: String,
    pub(crate) list_id: String,
}

impl Site {
    fn empty() -> Site {
        Site { name: "", site_id: String::new(), web_id: String::new(), list_id: String::new() }
    }
}

/// An index into `Tenant::identities`.
pub(crate) type Actor = u16;

pub(crate) struct Tenant {
    pub(crate) organization_id: String,
    /// People first, then the automated-investigation actor and the SOAR application.
    pub(crate) identities: Vec<Identity>,
    pub(crate) people: usize,
    pub(crate) analysts: Vec<Actor>,
    pub(crate) admins: Vec<Actor>,
    /// The analyst who leads the SOC: holds an admin role and makes the tenant-wide Defender changes.
    pub(crate) soc_lead: Actor,
    pub(crate) automated_investigation: Actor,
    pub(crate) soar: Actor,
    pub(crate) devices: Vec<Device>,
    /// Domain controllers: where the Defender for Identity sensors run.
    pub(crate) domain_controllers: Vec<usize>,
    pub(crate) sites: Vec<Site>,
}

const FIRST_NAMES: [&str; 40] = [
    "Megan",
    "Alex",
    "Adele",
    "Diego",
    "Grady",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Henrietta",
    "Christie",
    "Irvin",
    "Debra",
    "Allan",
    "Zoë",
    "Jürgen",
    "Søren",
    "José",
    "Anaïs",
    "Björn",
    "Priya",
    "Kenji",
    "Fatima",
    "Oluwaseun",
    "Mateo",
    "Sofia",
    "Liam",
    "Noor",
    "Elena",
    "Tomasz",
    "Ingrid",
    "Ravi",
    "Chen",
    "Amara",
];
const LAST_NAMES: [&str; 40] = [
    "Bowen",
    "Wilber",
    "Vance",
    "Siciliani",
    "Archie",
    "Langer",
    "Lorenz",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Mayer",
    "Cline",
    "Sayers",
    "Berg",
    "Deyoung",
    "Müller",
    "Jensen",
    "García",
    "Dubois",
    "Lindqvist",
    "Nakamura",
    "Haddad",
    "Adeyemi",
    "Rossi",
    "Kowalski",
    "Novak",
    "Okafor",
    "Silva",
    "Brennan",
    "Van Dijk",
    "Andersen",
    "Moreau",
    "Kaur",
    "Tanaka",
    "Petrov",
];
const SERVERS: [&str; 10] = [
    "SRV-DC01",
    "SRV-DC02",
    "SRV-FS01",
    "SRV-SQL01",
    "SRV-SQL02",
    "SRV-WEB01",
    "SRV-WEB02",
    "SRV-APP01",
    "SRV-PRINT01",
    "SRV-BACKUP01",
];
const SITE_NAMES: [&str; 7] = ["Finance", "HR", "Marketing", "IT-Operations", "Legal", "Security-Operations", "Sales"];

const SOC_ANALYSTS: usize = 4;
const ADMINS: usize = 3;

const EDGE_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                               Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0";
const CHROME_ON_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
                             Chrome/142.0.0.0 Safari/537.36";
const SOAR_USER_AGENT: &str = "azure-logic-apps/1.0 (workflow 6c1f0b8e3d2a4b7e; version 08584412345678901234)";

impl Tenant {
    pub(crate) fn generate(rng: &mut SampleRng) -> Tenant {
        let organization_id = guid(rng);
        let people = count_between(rng, 48, 72) as usize;
        let mut identities = generate_people(rng, people);
        let automated_investigation = push_identity(&mut identities, automated_investigation_identity());
        let soar = push_identity(&mut identities, soar_identity(rng));
        let analysts: Vec<Actor> = (0..SOC_ANALYSTS).map(actor_index).collect();
        let admins: Vec<Actor> = (SOC_ANALYSTS..SOC_ANALYSTS + ADMINS).map(actor_index).collect();
        let soc_lead = analysts[0];
        promote(&mut identities, &analysts, Role::SocAnalyst);
        promote(&mut identities, &admins, Role::Admin);
        make_admin(&mut identities[usize::from(soc_lead)]);
        let (devices, domain_controllers) = generate_devices(rng);
        let sites = SITE_NAMES
            .iter()
            .map(|name| Site { name, site_id: guid(rng), web_id: guid(rng), list_id: guid(rng) })
            .collect();
        Tenant {
            organization_id,
            identities,
            people,
            analysts,
            admins,
            soc_lead,
            automated_investigation,
            soar,
            devices,
            domain_controllers,
            sites,
        }
    }

    pub(crate) fn identity(&self, actor: Actor) -> &Identity {
        &self.identities[usize::from(actor)]
    }

    /// Any person (not automation).
    pub(crate) fn random_person(&self, rng: &mut SampleRng) -> Actor {
        actor_index(index(rng, self.people))
    }

    pub(crate) fn random_analyst(&self, rng: &mut SampleRng) -> Actor {
        *pick(rng, &self.analysts)
    }

    /// Someone allowed to change tenant-wide Defender settings: an admin or the SOC lead.
    pub(crate) fn random_settings_owner(&self, rng: &mut SampleRng) -> Actor {
        if index(rng, self.admins.len() + 1) == 0 { self.soc_lead } else { *pick(rng, &self.admins) }
    }

    /// Who runs a device action by hand: mostly SOC analysts, sometimes an admin.
    pub(crate) fn random_responder(&self, rng: &mut SampleRng) -> Actor {
        if index(rng, 7) == 0 { *pick(rng, &self.admins) } else { self.random_analyst(rng) }
    }
}

/// The tenant never holds more than `u16::MAX` identities (at most 72 people and two automation accounts).
fn actor_index(position: usize) -> Actor {
    Actor::try_from(position).unwrap_or(Actor::MAX)
}

fn push_identity(identities: &mut Vec<Identity>, identity: Identity) -> Actor {
    identities.push(identity);
    actor_index(identities.len() - 1)
}

fn promote(identities: &mut [Identity], actors: &[Actor], role: Role) {
    for actor in actors {
        let identity = &mut identities[usize::from(*actor)];
        identity.role = role;
        if role == Role::Admin {
            make_admin(identity);
        }
    }
}

fn make_admin(identity: &mut Identity) {
    identity.account_type = "Admin";
    identity.user_type = 2;
}

fn generate_people(rng: &mut SampleRng, count: usize) -> Vec<Identity> {
    let mut name_pairs: Vec<(usize, usize)> =
        (0..FIRST_NAMES.len()).flat_map(|first| (0..LAST_NAMES.len()).map(move |last| (first, last))).collect();
    shuffle(rng, &mut name_pairs);
    name_pairs.truncate(count);
    name_pairs
        .into_iter()
        .enumerate()
        .map(|(position, (first, last))| generate_person(rng, position, FIRST_NAMES[first], LAST_NAMES[last]))
        .collect()
}

fn generate_person(rng: &mut SampleRng, position: usize, first: &str, last: &str) -> Identity {
    let upn = format!("{}.{}@{DOMAIN}", mail_alias(first), mail_alias(last));
    let object_id = guid(rng);
    let place = &OFFICES[weighted(rng, &OFFICE_WEIGHTS)];
    let on_mac = index(rng, 6) == 0;
    Identity {
        display_name: format!("{first} {last}"),
        user_id: upn,
        account_id: object_id.clone(),
        user_key: object_id.clone(),
        object_id,
        puid: format!("1003{}", hex(rng, 12).to_uppercase()),
        account_type: "Regular",
        user_type: 0,
        role: Role::Staff,
        place: Some(place),
        ip_address: place.address(count_between(rng, 0, 49)),
        os_platform: if on_mac { "macOS" } else { "Windows 11" },
        device_type: "Desktop",
        user_agent: if on_mac { CHROME_ON_MAC } else { EDGE_ON_WINDOWS },
        oauth_app_id: String::new(),
        mailbox_guid: guid(rng),
        drive: Site { name: "OneDrive", site_id: guid(rng), web_id: guid(rng), list_id: guid(rng) },
        sid: format!("S-1-5-21-1874560381-2983411034-3547512301-{}", 1_104 + position),
    }
}

/// ASCII mail alias of a name part: `Zoë` → `zoe`, `Van Dijk` → `vandijk`.
fn mail_alias(name: &str) -> String {
    name.chars()
        .filter_map(|character| match character {
            'ä' | 'á' | 'à' | 'å' => Some('a'),
            'ë' | 'é' | 'è' => Some('e'),
            'ï' | 'í' => Some('i'),
            'ö' | 'ó' | 'ø' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'ñ' => Some('n'),
            'ç' => Some('c'),
            ' ' | '-' => None,
            other => Some(other.to_ascii_lowercase()),
        })
        .collect()
}

fn automated_investigation_identity() -> Identity {
    Identity {
        display_name: "Automated investigation".to_owned(),
        user_id: "Automation".to_owned(),
        account_id: "Automation".to_owned(),
        object_id: String::new(),
        user_key: "Automation".to_owned(),
        puid: String::new(),
        account_type: "System",
        user_type: 4,
        role: Role::AutomatedInvestigation,
        place: None,
        ip_address: String::new(),
        os_platform: "",
        device_type: "",
        user_agent: "",
        oauth_app_id: String::new(),
        mailbox_guid: String::new(),
        drive: Site::empty(),
        sid: String::new(),
    }
}

fn soar_identity(rng: &mut SampleRng) -> Identity {
    let client_id = guid(rng);
    let service_principal_id = guid(rng);
    Identity {
        display_name: "Contoso SOAR".to_owned(),
        user_id: client_id.clone(),
        account_id: client_id.clone(),
        object_id: service_principal_id.clone(),
        user_key: service_principal_id,
        puid: String::new(),
        account_type: "Application",
        user_type: 5,
        role: Role::SoarApplication,
        place: Some(&CLOUD),
        ip_address: CLOUD.address(0),
        os_platform: "",
        device_type: "",
        user_agent: SOAR_USER_AGENT,
        oauth_app_id: client_id,
        mailbox_guid: String::new(),
        drive: Site::empty(),
        sid: String::new(),
    }
}

fn generate_devices(rng: &mut SampleRng) -> (Vec<Device>, Vec<usize>) {
    let workstations = count_between(rng, 80, 125) as usize;
    let mut names: Vec<String> = Vec::with_capacity(workstations + SERVERS.len());
    while names.len() < workstations {
        let prefix = if index(rng, 2) == 0 { "DESKTOP" } else { "LAPTOP" };
        let name = format!("{prefix}-{}", upper_alphanumeric(rng, 7));
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.extend(SERVERS.iter().map(|server| (*server).to_owned()));
    let devices: Vec<Device> = names
        .into_iter()
        .map(|name| Device { name: format!("{}.{DOMAIN}", name.to_lowercase()), device_id: hex(rng, 40) })
        .collect();
    let domain_controllers =
        (0..devices.len()).filter(|position| devices[*position].name.starts_with("srv-dc")).collect();
    (devices, domain_controllers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_tenant_has_the_promised_shape() {
        let tenant = Tenant::generate(&mut SampleRng::seed_from_u64(42));
        assert!((40..=80).contains(&tenant.people));
        assert!((60..=150).contains(&tenant.devices.len()));
        assert!((3..=5).contains(&tenant.analysts.len()));
        assert_eq!(tenant.identity(tenant.soar).account_type, "Application");
        assert_eq!(tenant.identity(tenant.automated_investigation).user_type, 4);
        let mut upns: Vec<&str> = tenant.identities.iter().map(|identity| identity.user_id.as_str()).collect();
        upns.sort_unstable();
        upns.dedup();
        assert_eq!(upns.len(), tenant.identities.len(), "UPNs and app ids are unique");
        assert!(tenant.devices.iter().all(|device| device.device_id.len() == 40));
        assert_eq!(tenant.domain_controllers.len(), 2);
    }

    #[test]
    fn mail_aliases_are_ascii() {
        assert_eq!(mail_alias("Zoë"), "zoe");
        assert_eq!(mail_alias("Van Dijk"), "vandijk");
        assert_eq!(mail_alias("García"), "garcia");
    }
}
