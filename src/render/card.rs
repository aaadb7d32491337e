//! Teams Adaptive Cards: the payload posted to a Teams Workflows webhook for a message. It owns the card's
//! layout (a severity-coloured header; facts and portal buttons for one hit; a column-set table for many; a
//! clear "no hits" card for an empty digest), the escaping of everything from a hit for Teams markdown
//! (`text`), and the size limit: the whole payload stays at or under `CardSettings::max_bytes` by dropping
//! rows or facts (with "and N more") and then by cutting texts shorter, never by cutting JSON.
//!
//! It must not send anything, read anything but the message, or build portal URLs itself (`links` does).
//! Cards use only Adaptive Cards 1.4 elements: Workflows does not render 1.5 (`Table`, heading styles).

mod elements;
mod layout;
mod text;
mod values;

use chrono_tz::Tz;
use serde_json::Value;

use self::elements::{byte_size, envelope};
use self::layout::{LIMITS, Limits, Table};
use crate::route::message::Message;

/// The most a webhook payload may be: bytes of UTF-8 JSON, counted on the whole envelope exactly as it is
/// posted (`{"type":"message","attachments":[…]}`). Teams documents 28 KB for a message, and payloads from
/// about 21 KB to 27.7 KB have been seen to fail: 24,000 bytes (23.4 KiB) leaves room for what the Workflow
/// adds around the card on its way to the channel.
pub const MAX_PAYLOAD_BYTES: usize = 24_000;

/// How a card is built for one receiver.
#[derive(Clone, Debug)]
pub struct CardSettings<'a> {
    /// The Defender portal base URL (`links::portal_for_cloud(...)`).
    pub portal: &'a str,
    /// The whole webhook payload, as UTF-8 JSON, stays at or under this many bytes (default `MAX_PAYLOAD_BYTES`).
    pub max_bytes: usize,
    /// Times are shown in this zone (default UTC).
    pub timezone: Tz,
}

impl Default for CardSettings<'static> {
    fn default() -> Self {
        CardSettings {
            portal: "https://security.microsoft.com",
            max_bytes: MAX_PAYLOAD_BYTES,
            timezone: chrono_tz::UTC,
        }
    }
}

/// A table of many hits is cut to fewer rows before its texts are cut shorter, down to this many rows.
const ROWS_BEFORE_SHORTER_TEXTS: usize = 10;

/// The Teams Workflows webhook payload for a message:
/// `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
/// "contentUrl":null,"content":{"$schema":…,"type":"AdaptiveCard","version":"1.4","msteams":{"width":"Full"},
/// "body":[…],"actions":[…]}}]}`.
///
/// The payload is at most `settings.max_bytes` long whenever that leaves room for the smallest card (a
/// title and a line, about 1 KB); below that the smallest card is returned as it is.
pub fn build_card(message: &Message, settings: &CardSettings) -> Value {
    LIMITS
        .iter()
        .enumerate()
        .find_map(|(level, limits)| {
            let tightest = level + 1 == LIMITS.len();
            match message.hits.len() {
                0 => no_hits_card(message, settings, limits),
                1 => one_hit_card(message, settings, limits, tightest),
                _ => many_hits_card(message, settings, limits, tightest),
            }
        })
        .unwrap_or_else(|| smallest_card(message, settings))
}

/// The header, what the playbook looks for, and (first in the body) a warning when the result was cut.
fn top(message: &Message, settings: &CardSettings, limits: &Limits) -> Vec<Value> {
    let summary = layout::summary(message, settings.timezone);
    let mut body = vec![layout::header(message, limits, &summary)];
    body.extend(layout::description(message, limits));
    if message.truncated {
        body.push(layout::truncated_note());
    }
    for note in &message.notes {
        body.push(layout::note(&format!("{note} — the columns it adds are empty."), true));
    }
    body
}

fn no_hits_card(message: &Message, settings: &CardSettings, limits: &Limits) -> Option<Value> {
    let mut body = top(message, settings, limits);
    body.push(layout::no_hits());
    body.push(layout::footer(message));
    let payload = envelope(body, Vec::new());
    (byte_size(&payload) <= settings.max_bytes).then_some(payload)
}

/// Every column of the hit as a fact, and a button for each portal page it names. At all but the tightest
/// limits every fact must fit (a shorter value beats a missing column); at the tightest, facts are dropped
/// from the end.
fn one_hit_card(message: &Message, settings: &CardSettings, limits: &Limits, tightest: bool) -> Option<Value> {
    let hit = message.hits.first()?;
    let facts = layout::facts(message, hit, settings.timezone, limits);
    let actions = layout::link_actions(message, hit, settings.portal);
    let assemble = |shown: &[Value]| {
        let mut body = top(message, settings, limits);
        if !shown.is_empty() {
            body.push(layout::fact_set(shown));
        }
        if shown.len() < facts.len() {
            body.push(layout::more_note(facts.len() - shown.len(), "column", "columns"));
        }
        body.push(layout::footer(message));
        envelope(body, actions.clone())
    };
    let (payload, shown) = fit(settings.max_bytes, &facts, assemble)?;
    (shown == facts.len() || tightest).then_some(payload)
}

/// A table of the hits, as many rows as fit (at most `TABLE_ROWS`), then "and N more".
fn many_hits_card(message: &Message, settings: &CardSettings, limits: &Limits, tightest: bool) -> Option<Value> {
    let table = Table::new(message, settings.timezone, settings.portal, limits);
    let total = message.hits.len();
    let hidden_columns = message.shown_columns().len().saturating_sub(table.shown_columns);
    let assemble = |shown: &[Value]| {
        let mut body = top(message, settings, limits);
        if !shown.is_empty() {
            if table.has_links {
                body.push(layout::note("Select a row to open it in Microsoft Defender.", false));
            }
            body.extend(table.elements(shown));
        }
        if shown.len() < total {
            body.push(layout::more_note(total - shown.len(), "hit", "hits"));
        }
        if hidden_columns > 0 {
            let text =
                format!("Showing the first {} of {} columns.", table.shown_columns, message.shown_columns().len());
            body.push(layout::note(&text, false));
        }
        body.push(layout::footer(message));
        envelope(body, Vec::new())
    };
    let (payload, shown) = fit(settings.max_bytes, &table.rows, assemble)?;
    (shown >= total.min(ROWS_BEFORE_SHORTER_TEXTS) || tightest).then_some(payload)
}

/// The last resort when even the tightest limits leave no room: the header alone, saying why.
fn smallest_card(message: &Message, settings: &CardSettings) -> Value {
    let limits = LIMITS[LIMITS.len() - 1];
    let mut body = vec![layout::header(message, &limits, &layout::summary(message, settings.timezone))];
    if !message.hits.is_empty() {
        body.push(layout::note("These hits are too large for a Teams card.", true));
    }
    envelope(body, Vec::new())
}

/// The payload `assemble` makes from as many of `items` (from the first) as keep it within `max_bytes`, and
/// how many that is; `None` when it does not fit even without items. Each item is measured once; the whole
/// payload is measured again at the end, so the limit holds even where the estimate is off (the wrappers
/// around the items, the shorter "and N more").
fn fit(max_bytes: usize, items: &[Value], assemble: impl Fn(&[Value]) -> Value) -> Option<(Value, usize)> {
    let mut remaining = max_bytes.checked_sub(byte_size(&assemble(&[])))?;
    let mut count = 0;
    for item in items {
        // The item and the comma before it.
        let cost = byte_size(item) + 1;
        if cost > remaining {
            break;
        }
        remaining -= cost;
        count += 1;
    }
    loop {
        let payload = assemble(&items[..count]);
        if byte_size(&payload) <= max_bytes {
            return Some((payload, count));
        }
        count = count.checked_sub(1)?;
    }
}
