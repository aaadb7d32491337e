//! The Defender XDR audit events of the sample tenant: the stories the shipped playbooks look for.
//!
//! Isolations and their releases, package downloads, advanced features switched off and on, Live Response sessions
//! and file collections, custom detection and role life cycles, indicators, and the other §7.2 operations. Each story
//! keeps its own order in time (a release after its isolation, an edit after the create, a deletion last) and the
//! number of stories grows with the number of rows. This module decides what happens, when, and by whom; it writes
//! no JSON (see `defender_row`).

mod configuration;
mod detections;
mod isolation;
mod live_response;
mod response;

use super::clock::{Instant, Window, any_time, working_time};
use super::event::{Body, DefenderAction, DefenderEvent, Event};
use super::file_profile::FileCatalog;
use super::hostile::{HostileSupply, TypedField};
use super::random::{SampleRng, index};
use super::tenant::{Actor, Tenant};

/// The Defender budget the base counts below are written for: 15 % of the default 2,500 rows.
const BASE_BUDGET: f64 = 375.0;

/// How many of each story to tell, scaled from the Defender share of the rows.
pub(crate) struct Counts {
    pub(crate) isolation_chains: usize,
    pub(crate) offboarding_downloads: usize,
    pub(crate) onboarding_downloads: usize,
    pub(crate) feature_toggles: usize,
    pub(crate) live_response_sessions: usize,
    pub(crate) file_downloads: usize,
    pub(crate) quarantines: usize,
    pub(crate) detection_rules: usize,
    pub(crate) older_rule_changes: usize,
    pub(crate) roles: usize,
    pub(crate) older_role_edits: usize,
    pub(crate) indicators: usize,
    pub(crate) antivirus_scans: usize,
    pub(crate) investigation_packages: usize,
    pub(crate) restrictions: usize,
    pub(crate) logs_collections: usize,
    pub(crate) retention_changes: usize,
    pub(crate) exclusions: usize,
    pub(crate) sensor_deletions: usize,
    pub(crate) sentinel_disconnects: usize,
    pub(crate) alert_updates: usize,
}

impl Counts {
    /// Counts for `budget` Defender rows. Frequent stories scale linearly; tenant-wide configuration changes (which
    /// a real tenant makes a handful of times a month) scale with the square root. Every story happens at least once.
    pub(crate) fn for_budget(budget: usize) -> Counts {
        let scale = budget as f64 / BASE_BUDGET;
        let linear = |base: f64, minimum: usize| ((base * scale).round() as usize).max(minimum);
        let rare = |base: f64, minimum: usize| ((base * scale.sqrt()).round() as usize).max(minimum);
        Counts {
            isolation_chains: linear(20.0, 8),
            offboarding_downloads: rare(5.0, 4),
            onboarding_downloads: rare(6.0, 2),
            feature_toggles: rare(6.0, 5),
            live_response_sessions: linear(16.0, 4),
            file_downloads: linear(5.0, 1),
            quarantines: linear(6.0, 1),
            detection_rules: linear(8.0, 3),
            older_rule_changes: linear(4.0, 1),
            roles: rare(4.0, 2),
            older_role_edits: rare(3.0, 1),
            indicators: linear(20.0, 2),
            antivirus_scans: linear(35.0, 2),
            investigation_packages: linear(12.0, 1),
            restrictions: linear(4.0, 1),
            logs_collections: linear(4.0, 1),
            retention_changes: rare(1.0, 1),
            exclusions: rare(3.0, 1),
            sensor_deletions: rare(1.0, 1),
            sentinel_disconnects: rare(1.0, 1),
            alert_updates: linear(60.0, 2),
        }
    }
}

/// Generates about `budget` Defender audit events (more when `budget` is below what one of each story needs).
pub(crate) fn generate(
    rng: &mut SampleRng,
    tenant: &Tenant,
    catalog: &FileCatalog,
    window: Window,
    budget: usize,
) -> Vec<Event> {
    let counts = Counts::for_budget(budget);
    let mut builder = Builder::new(rng, tenant, catalog, window);
    // The order decides which rows receive the guaranteed hostile values: the first of each typed field.
    isolation::isolation_chains(&mut builder, counts.isolation_chains);
    live_response::sessions(&mut builder, counts.live_response_sessions);
    live_response::file_downloads(&mut builder, counts.file_downloads);
    live_response::quarantines(&mut builder, counts.quarantines);
    detections::detection_rules(&mut builder, counts.detection_rules, counts.older_rule_changes);
    detections::roles(&mut builder, counts.roles, counts.older_role_edits);
    configuration::packages(&mut builder, counts.offboarding_downloads, counts.onboarding_downloads);
    configuration::advanced_features(&mut builder, counts.feature_toggles);
    configuration::indicators(&mut builder, counts.indicators);
    configuration::tenant_changes(&mut builder, &counts);
    response::device_actions(&mut builder, &counts);
    response::alert_updates(&mut builder, counts.alert_updates);
    let missing = budget.saturating_sub(builder.events.len());
    response::filler(&mut builder, missing);
    builder.events
}

/// Shared state of the story writers: the generator, the tenant, the window and the events so far.
pub(crate) struct Builder<'a> {
    pub(crate) rng: &'a mut SampleRng,
    pub(crate) tenant: &'a Tenant,
    pub(crate) catalog: &'a FileCatalog,
    pub(crate) window: Window,
    pub(crate) hostile: HostileSupply,
    pub(crate) events: Vec<Event>,
    /// `LiveResponseGetFile` events so far: the first two get the unprofiled and the empty hash.
    pub(crate) collected_files: usize,
}

impl<'a> Builder<'a> {
    fn new(rng: &'a mut SampleRng, tenant: &'a Tenant, catalog: &'a FileCatalog, window: Window) -> Builder<'a> {
        Builder { rng, tenant, catalog, window, hostile: HostileSupply::new(), events: Vec::new(), collected_files: 0 }
    }

    pub(crate) fn push(&mut self, time: Instant, actor: Actor, action: DefenderAction) {
        self.events.push(Event { time, body: Body::Defender(Box::new(DefenderEvent { actor, action })) });
    }

    /// When `actor` would act inside `window`: people in working hours, automation around the clock.
    pub(crate) fn time_for(&mut self, actor: Actor, window: Window) -> Instant {
        if self.tenant.identity(actor).is_person() {
            working_time(self.rng, window)
        } else {
            any_time(self.rng, window)
        }
    }

    /// An instant between `minimum` and `maximum` ticks after `after`, inside the sample window; `None` when the
    /// window ends first.
    pub(crate) fn later(&mut self, actor: Actor, after: Instant, minimum: i64, maximum: i64) -> Option<Instant> {
        let window = Window { start: after.plus(minimum), end: after.plus(maximum).min(self.window.end) };
        if window.is_empty() { None } else { Some(self.time_for(actor, window)) }
    }

    /// The comment for a person's action: typed (so possibly hostile) by people, templated for automation.
    pub(crate) fn comment(&mut self, actor: Actor, field: TypedField, ordinary: String, automated: String) -> String {
        if self.tenant.identity(actor).is_person() { self.hostile.typed(self.rng, field, ordinary) } else { automated }
    }

    pub(crate) fn random_device(&mut self) -> usize {
        index(self.rng, self.tenant.devices.len())
    }

    /// A number such as an incident or investigation id.
    pub(crate) fn number(&mut self, low: i64, high: i64) -> i64 {
        super::random::between(self.rng, low, high)
    }
}
