//! Turns a verified Stripe event into the EventBridge entry that carries it: the event
//! itself when it fits, or a claim-check reference to a copy in S3 when it does not.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::stripe_event::StripeEvent;

/// Every entry the relay puts on the bus has this source.
pub const SOURCE: &str = "Stripe";

/// EventBridge's entry size limit since January 2026 (it was 256 KiB before).
pub const DEFAULT_MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// The largest event put on the bus as it is when a claim-check bucket is there; larger
/// ones go as a claim check. EventBridge takes 1 MiB, but its targets take less: an SNS
/// message is at most 256 KiB ("Amazon SNS message size", SNS Developer Guide), and so is
/// a Step Functions execution's input ("Quotas related to state machine executions",
/// Step Functions Developer Guide). EventBridge delivers the event inside its envelope
/// (`version`, `id`, `detail-type`, `source`, `account`, `time`, `region`,
/// `resources`), so 16 KiB are left for that: an event of this size reaches every
/// target kind `add-rule` supports. `deploy --claim-check-over` changes it.
pub const DEFAULT_CLAIM_CHECK_OVER_BYTES: usize = 240 * 1024;

/// EventBridge counts a present `Time` as 14 bytes.
const TIME_BYTES: usize = 14;

/// The size EventBridge charges an entry against its limit, as AWS documents it:
/// `Time` 14 bytes, then the UTF-8 bytes of `Source`, `DetailType` and `Detail`.
pub fn entry_size(detail_type: &str, detail: &str) -> usize {
    TIME_BYTES + SOURCE.len() + detail_type.len() + detail.len()
}

/// Where a full payload that is too large for the bus was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimCheck {
    pub bucket: String,
    pub key: String,
    /// The payload's size in bytes.
    pub size: usize,
    /// Lowercase hex SHA-256 of the payload, so a consumer can check what it fetched.
    pub sha256: String,
}

impl ClaimCheck {
    /// The object that holds `body` for `event`. The key depends only on the event id,
    /// so Stripe's retries of one event overwrite one object instead of adding more.
    pub fn for_event(bucket: &str, event: &StripeEvent<'_>, body: &[u8]) -> Self {
        Self {
            bucket: bucket.to_owned(),
            key: format!("claim-check/{}.json", event.id),
            size: body.len(),
            sha256: hex::encode(Sha256::digest(body)),
        }
    }
}

/// The detail of a claim-check reference: the event's routing fields, so rules match it
/// like the event itself, and where to fetch the full event.
#[derive(Serialize)]
struct ReferenceDetail<'a> {
    id: &'a str,
    object: &'static str,
    #[serde(rename = "type")]
    event_type: &'a str,
    created: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    livemode: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    claim_check: &'a ClaimCheck,
}

/// The entry for an event that fits: `Detail` is the body exactly as Stripe sent it.
pub fn event_entry(bus: &str, event: &StripeEvent<'_>, body: &str) -> PutEventsRequestEntry {
    entry(bus, event, body.to_owned())
}

/// The entry that stands in for an event stored in S3. Its `object` is
/// `"stripe_bridge.claim_check"`, so a consumer can never mistake it for the event.
pub fn reference_entry(
    bus: &str,
    event: &StripeEvent<'_>,
    claim_check: &ClaimCheck,
) -> PutEventsRequestEntry {
    let detail = ReferenceDetail {
        id: &event.id,
        object: "stripe_bridge.claim_check",
        event_type: &event.event_type,
        created: event.created,
        livemode: event.livemode,
        api_version: event.api_version.as_deref(),
        account: event.account.as_deref(),
        claim_check,
    };
    entry(
        bus,
        event,
        serde_json::to_string(&detail).expect("reference detail serialises"),
    )
}

/// The entry's `Time` is when the relay put the event on the bus, not Stripe's `created`
/// (which stays in the detail). The archive and StartReplay select on "the time in the
/// event" ("Replaying archived events", EventBridge User Guide), so a replay window then
/// means "what arrived then", which is what repairing an outage needs, and no event
/// predates its archive: Stripe retries an event for up to three days after `created`.
fn entry(bus: &str, event: &StripeEvent<'_>, detail: String) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(event.event_type.as_ref())
        .detail(detail)
        .time(DateTime::from(std::time::SystemTime::now()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"id":"evt_9","object":"event","type":"invoice.paid","created":1700000000,"livemode":true,"data":{"object":{"id":"in_1"}}}"#;

    #[test]
    fn the_entry_carries_the_body_untouched_at_the_time_it_arrived() {
        let event = StripeEvent::parse(BODY).unwrap();
        let before = crate::signature::unix_now();
        let entry = event_entry("stripe-bridge", &event, BODY);
        assert_eq!(entry.source(), Some("Stripe"));
        assert_eq!(entry.detail_type(), Some("invoice.paid"));
        assert_eq!(entry.detail(), Some(BODY));
        // Not Stripe's `created` (2023), which stays in the detail.
        let time = entry.time().unwrap().secs();
        assert!(
            (before..=crate::signature::unix_now()).contains(&time),
            "{time}"
        );
        assert_eq!(entry.event_bus_name(), Some("stripe-bridge"));
    }

    #[test]
    fn size_follows_eventbridges_rule() {
        assert_eq!(entry_size("invoice.paid", "{}"), 14 + 6 + 12 + 2);
        assert_eq!(entry_size("é", ""), 14 + 6 + 2);
    }

    #[test]
    fn a_reference_routes_like_the_event_and_says_where_it_is() {
        let event = StripeEvent::parse(BODY).unwrap();
        let check = ClaimCheck::for_event("bucket-1", &event, BODY.as_bytes());
        assert_eq!(check.key, "claim-check/evt_9.json");
        assert_eq!(check.size, BODY.len());
        let entry = reference_entry("bus", &event, &check);
        assert_eq!(entry.detail_type(), Some("invoice.paid"));
        let detail: serde_json::Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
        assert_eq!(detail["id"], "evt_9");
        assert_eq!(detail["object"], "stripe_bridge.claim_check");
        assert_eq!(detail["livemode"], true);
        assert_eq!(detail["claim_check"]["bucket"], "bucket-1");
        assert_eq!(detail["claim_check"]["sha256"].as_str().unwrap().len(), 64);
    }
}
