//! The relay's metrics, recorded through the `metrics` facade. In the Lambda, the
//! `metrics_cloudwatch_embedded` recorder writes them after each invocation as
//! CloudWatch Embedded Metric Format lines in the relay's log, from which CloudWatch
//! makes the metrics that the stack's alarms watch ("Specification: Embedded metric
//! format", CloudWatch User Guide). Where no recorder is installed (the CLI's `dev`),
//! recording costs next to nothing.
//!
//! Every metric has the dimension `Bridge`; `RequestsRefused` also has `Reason` (the
//! reason code), so each code is a metric of its own only once it has happened.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use crate::outcome::Outcome;

/// The CloudWatch namespace of the relay's metrics; the template's alarms use it too.
pub const NAMESPACE: &str = "StripeBridge";
/// The dimension that names the bridge.
pub const BRIDGE_DIMENSION: &str = "Bridge";

pub const EVENTS_RELAYED: &str = "EventsRelayed";
pub const UNVERIFIED_REQUESTS: &str = "UnverifiedRequests";
pub const EVENTS_NOT_RELAYED: &str = "EventsNotRelayed";
pub const REQUESTS_REFUSED: &str = "RequestsRefused";
pub const PUT_EVENTS_RETRIES: &str = "PutEventsRetries";
pub const EVENTS_CLAIM_CHECKED: &str = "EventsClaimChecked";
pub const LATENCY: &str = "Latency";

/// Gives each metric its unit; call once, after the recorder is installed.
pub fn describe() {
    describe_counter!(EVENTS_RELAYED, Unit::Count, "events put on the bus");
    describe_counter!(
        UNVERIFIED_REQUESTS,
        Unit::Count,
        "requests refused before they proved they came from Stripe"
    );
    describe_counter!(
        EVENTS_NOT_RELAYED,
        Unit::Count,
        "verified events the bridge could not put on the bus"
    );
    describe_counter!(REQUESTS_REFUSED, Unit::Count, "requests refused, by reason");
    describe_counter!(PUT_EVENTS_RETRIES, Unit::Count, "PutEvents calls retried");
    describe_counter!(
        EVENTS_CLAIM_CHECKED,
        Unit::Count,
        "oversized events stored in S3"
    );
    describe_histogram!(LATENCY, Unit::Milliseconds, "time to answer a request");
}

/// Counts one request's outcome.
pub fn record(outcome: &Outcome, latency: Duration) {
    match outcome.reason {
        None => counter!(EVENTS_RELAYED).increment(1),
        Some(reason) => {
            counter!(REQUESTS_REFUSED, "Reason" => reason.code()).increment(1);
            if reason.is_unverified() {
                counter!(UNVERIFIED_REQUESTS).increment(1);
            } else if outcome.event_id.is_some() {
                counter!(EVENTS_NOT_RELAYED).increment(1);
            }
        }
    }
    if outcome.attempts > 1 {
        counter!(PUT_EVENTS_RETRIES).increment(u64::from(outcome.attempts - 1));
    }
    if outcome.claim_check {
        counter!(EVENTS_CLAIM_CHECKED).increment(1);
    }
    histogram!(LATENCY).record(latency.as_secs_f64() * 1000.0);
}
