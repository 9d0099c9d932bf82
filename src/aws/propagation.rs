//! How long AWS takes to apply a change, as it documents it. The CLI never waits these
//! out: where it must judge whether a change has taken effect, it judges by them.
//!
//! - Rules: "incoming events might not immediately start matching to new or updated
//!   rules" (PutRule, EventBridge API Reference); a queue's new policy "can take up to
//!   60 seconds" (SetQueueAttributes, Amazon SQS API Reference).
//! - Archives: events may reach an archive with a delay, and a replay should start
//!   about 10 minutes after the events it is to send ("Replaying archived events in
//!   Amazon EventBridge", EventBridge User Guide).
//!
//! `STRIPE_BRIDGE_AWS_DELAY_SECONDS` replaces both with one number of seconds, for an
//! emulator whose delays are shorter (the tests set it).

use std::time::Duration;

/// A new or changed rule, and the permission its target was just given.
pub const RULES_AND_POLICIES: Duration = Duration::from_secs(60);

/// An event on the bus, until it is in the archive.
pub const ARCHIVE: Duration = Duration::from_secs(10 * 60);

/// The environment variable that replaces every delay here, in seconds.
pub const OVERRIDE: &str = "STRIPE_BRIDGE_AWS_DELAY_SECONDS";

fn or_override(documented: Duration) -> Duration {
    std::env::var(OVERRIDE)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map_or(documented, Duration::from_secs)
}

/// How long a new rule, or a target's new permission, may take to apply.
pub fn rules_and_policies() -> Duration {
    or_override(RULES_AND_POLICIES)
}

/// How long an event may take to reach the archive.
pub fn archive() -> Duration {
    or_override(ARCHIVE)
}
