//! Teams cards to a Workflows webhook, against a real HTTP server on loopback that records every request: the
//! 22 cards the shipped playbooks queue, each a valid Adaptive Card 1.4, posted in order at the webhook's pace;
//! 429 with and without `Retry-After`, 500 storms, 400 (dead at once), slow answers. The URL never shows.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use huntbook::config::secret::{Redactor, Secret};
use huntbook::deliver::Sink;
use huntbook::deliver::outbox::{Outbox, RetryPolicy};
use huntbook::deliver::teams::{TeamsSink, webhook_client};
use huntbook::graph::timer::{Timer, VirtualTimer};
use huntbook::store::{OutboxState, Store};

use common::cards::assert_valid_card;
use common::queue::{
    WEBHOOK_SECRET, by_id, later, pending, queued_state, queued_state_with_config, with_queue_environment,
};
use common::webhook::{Answer, Webhook};

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    timer: Arc<VirtualTimer>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = queued_state(dir.path());
    Setup { store: Store::open(&state).expect("store"), timer: Arc::new(VirtualTimer::new(later())), _dir: dir }
}

fn sink(webhook: &Webhook, timer: &Arc<VirtualTimer>, per_second: f64) -> TeamsSink {
    let timer: Arc<dyn Timer> = Arc::clone(timer) as Arc<dyn Timer>;
    TeamsSink::new(webhook_client().expect("client"), Secret::new(webhook.url.clone()), per_second, timer)
}

async fn deliver(s: &mut Setup, sink: TeamsSink, until: TimeDelta) {
    let sink: Arc<dyn Sink> = Arc::new(sink);
    let store = Mutex::new(&mut s.store);
    let sink_for = |receiver: &str| (receiver == "soc-teams").then(|| Arc::clone(&sink));
    let redactor = Redactor::default();
    let outbox = Outbox::with_seed(&store, &sink_for, s.timer.as_ref(), RetryPolicy::default(), &redactor, 9);
    outbox.deliver_until(s.timer.now() + until).await.expect("delivery");
}

#[tokio::test]
async fn every_card_is_posted_once_in_order_at_one_a_second_and_is_valid() {
    let webhook = Webhook::start(vec![]);
    let mut s = setup();
    let queued = pending(&s.store, "soc-teams");
    assert_eq!(queued.len(), 22);
    let teams = sink(&webhook, &s.timer, 1.0);
    deliver(&mut s, teams, TimeDelta::minutes(1)).await;

    let posted = webhook.posted();
    assert_eq!(posted.len(), 22);
    for (entry, request) in queued.iter().zip(&posted) {
        assert_eq!(request.body, entry.message.payload, "in queue order, the stored envelope as is");
        assert_eq!(request.content_type, "application/json");
        assert!(request.path_and_query.ends_with("sig=TOPSECRETsig"), "{}", request.path_and_query);
        let card: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_valid_card(&card, 28 * 1024);
    }
    // The pace: 21 waits of a second between 22 requests, nothing else.
    assert_eq!(s.timer.waits(), vec![Duration::from_secs(1); 21]);
    let sent = by_id(&s.store);
    assert!(queued.iter().all(|e| sent[&e.message.id].state == OutboxState::Sent));
    assert!(sent.values().filter_map(|e| e.answer.as_deref()).any(|a| a.starts_with("202")));
}

#[tokio::test]
async fn the_pace_never_goes_above_four_a_second() {
    let webhook = Webhook::start(vec![]);
    let mut s = setup();
    let teams = sink(&webhook, &s.timer, 50.0);
    deliver(&mut s, teams, TimeDelta::minutes(1)).await;
    assert_eq!(webhook.posted().len(), 22);
    assert_eq!(s.timer.waits(), vec![Duration::from_millis(250); 21]);
}

#[tokio::test]
async fn a_429_waits_exactly_its_retry_after_and_keeps_the_order() {
    let webhook = Webhook::start(vec![Answer { retry_after: Some("7"), ..Answer::status(429) }]);
    let mut s = setup();
    let queued = pending(&s.store, "soc-teams");
    let teams = sink(&webhook, &s.timer, 4.0);
    deliver(&mut s, teams, TimeDelta::minutes(1)).await;

    let posted = webhook.posted();
    assert_eq!(posted.len(), 23, "the throttled card again, then the others");
    assert_eq!((posted[0].status, posted[1].status), (429, 202));
    assert_eq!(posted[0].body, queued[0].message.payload);
    assert_eq!(posted[1].body, queued[0].message.payload, "nothing overtook the throttled card");
    assert_eq!(s.timer.waits()[0], Duration::from_secs(7));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_with_jitter() {
    let webhook = Webhook::start(vec![Answer::status(429)]);
    let mut s = setup();
    let teams = sink(&webhook, &s.timer, 4.0);
    deliver(&mut s, teams, TimeDelta::minutes(2)).await;
    assert_eq!(webhook.posted().len(), 23);
    let first = s.timer.waits()[0];
    // The queueing run's failed attempt counts: this is the second failure, 60 s drawn between half and all.
    assert!(first >= Duration::from_secs(30) && first <= Duration::from_secs(60), "{first:?}");
}

#[tokio::test]
async fn a_500_storm_backs_off_doubling_then_drains_at_the_pace() {
    let webhook = Webhook::start(vec![Answer::status(500), Answer::status(502), Answer::status(503)]);
    let mut s = setup();
    let teams = sink(&webhook, &s.timer, 1.0);
    deliver(&mut s, teams, TimeDelta::minutes(10)).await;

    let statuses: Vec<u16> = webhook.posted().iter().map(|p| p.status).collect();
    assert_eq!(&statuses[..4], &[500, 502, 503, 202]);
    assert_eq!(statuses.len(), 25);
    let waits = s.timer.waits();
    // Failures 2, 3 and 4 of the head: 30–60 s, 60–120 s, 120–240 s; then a second between cards.
    let bounds = [(30, 60), (60, 120), (120, 240)];
    for (wait, (low, high)) in waits.iter().zip(bounds) {
        assert!(*wait >= Duration::from_secs(low) && *wait <= Duration::from_secs(high), "{waits:?}");
    }
    assert!(waits[3..].iter().all(|w| *w == Duration::from_secs(1)), "then the pace, no flood: {waits:?}");
}

#[tokio::test]
async fn a_400_is_dead_at_once_with_the_answer_and_the_others_go_on() {
    let webhook = Webhook::start(vec![Answer { body: "Bad Request: card payload invalid", ..Answer::status(400) }]);
    let mut s = setup();
    let queued = pending(&s.store, "soc-teams");
    let teams = sink(&webhook, &s.timer, 4.0);
    deliver(&mut s, teams, TimeDelta::minutes(1)).await;

    assert_eq!(webhook.posted().len(), 22, "the 400 is not retried");
    let dead = s.store.outbox(Some(OutboxState::Dead), 10).expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.id, queued[0].message.id);
    let error = dead[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("400") && error.contains("card payload invalid"), "{error}");
    assert!(!error.contains("TOPSECRET") && error.contains("Teams webhook 127.0.0.1#"), "{error}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried_without_the_url_in_the_error() {
    let webhook = Webhook::start(vec![Answer { delay: Duration::from_secs(3), ..Answer::status(202) }]);
    let mut s = setup();
    let teams = sink(&webhook, &s.timer, 4.0).with_timeout(Duration::from_millis(300));
    deliver(&mut s, teams, TimeDelta::zero()).await;

    let head = &pending(&s.store, "soc-teams")[0];
    let error = head.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("no answer within 0.3 s"), "{error}");
    assert!(!error.contains("TOPSECRET") && !error.contains("/workflows/"), "{error}");
    assert_eq!(pending(&s.store, "soc-teams").len(), 22, "kept for the next attempt");
}

#[test]
fn outbox_list_and_show_name_the_webhook_by_host_and_hash_never_by_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (state, config) = queued_state_with_config(dir.path());
    let store = Store::open(&state).expect("store");
    let head = pending(&store, "soc-teams").remove(0);
    for args in [
        vec!["outbox", "list"],
        vec!["outbox", "list", "--all"],
        vec!["outbox", "show", &head.message.id],
        vec!["runs"],
    ] {
        let output =
            with_queue_environment(common::huntbook().current_dir(dir.path()).args(&args).arg("-c").arg(&config))
                .output()
                .expect("huntbook runs");
        let (stdout, stderr) = (common::stdout(&output), common::stderr(&output));
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(
            !stdout.contains(WEBHOOK_SECRET) && !stderr.contains(WEBHOOK_SECRET),
            "{args:?} leaked the URL:\n{stdout}"
        );
        if args[0] == "outbox" {
            assert!(stdout.contains("Teams webhook 127.0.0.1#"), "{args:?}:\n{stdout}");
        }
    }
}

#[tokio::test]
async fn a_card_delivered_when_the_disk_is_full_is_recorded_later_and_never_posted_twice() {
    let Some(disk) = common::disk::SmallDisk::mount(16, "delivery on a full disk") else { return };
    let state = queued_state(disk.path());
    let webhook = Webhook::start(vec![]);
    // Opened before the disk fills (as the daemon's delivery loop holds its connection).
    let mut s = Setup {
        store: Store::open(&state).expect("store"),
        timer: Arc::new(VirtualTimer::new(later())),
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let queued = pending(&s.store, "soc-teams");
    disk.fill();
    let sink: Arc<dyn Sink> = Arc::new(sink(&webhook, &s.timer, 4.0));
    let sink_for = |receiver: &str| (receiver == "soc-teams").then(|| Arc::clone(&sink));
    let redactor = Redactor::default();
    let timer = Arc::clone(&s.timer);
    {
        let store = Mutex::new(&mut s.store);
        let outbox = Outbox::with_seed(&store, &sink_for, timer.as_ref(), RetryPolicy::default(), &redactor, 9);
        // The first card is posted; marking it sent fails: the disk is full.
        let failed = outbox.deliver_until(timer.now() + TimeDelta::minutes(1)).await;
        assert!(failed.is_err_and(|error| error.to_string().contains("full")), "the store refused the record");
        assert_eq!(webhook.posted().len(), 1);
        // Later passes, while the disk stays full: nothing is posted again, and nothing else either.
        for _ in 0..3 {
            timer.advance(std::time::Duration::from_secs(60));
            assert!(outbox.deliver_until(timer.now() + TimeDelta::minutes(1)).await.is_err());
            assert_eq!(webhook.posted().len(), 1, "the delivered card was posted again");
        }
        // Space returns: the first card is recorded as sent, the others go, each once.
        disk.free();
        let report = outbox.deliver_until(timer.now() + TimeDelta::minutes(1)).await.expect("delivery");
        assert_eq!((report.recorded_late, report.delivered), (1, 21));
        let posted = webhook.posted();
        assert_eq!(posted.len(), 22);
        for (entry, request) in queued.iter().zip(&posted) {
            assert_eq!(request.body, entry.message.payload, "each card once, in order");
        }
    }
    let sent = by_id(&s.store);
    assert!(queued.iter().all(|e| sent[&e.message.id].state == OutboxState::Sent));
}
