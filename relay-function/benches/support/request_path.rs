//! What the relay does with one request before it calls AWS, as the benches time it:
//! verify the signature (which checks the body is UTF-8) and, in the same pass, that
//! the body is JSON and where the event's routing fields are; read them, check the
//! entry's size, and build the entry.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use relay_function::bus_entry;
use relay_function::signing_secrets::SigningSecret;
use relay_function::verified_event;

pub fn verify_parse_build(
    header: &str,
    body: &str,
    secret: &SigningSecret,
    now: i64,
) -> PutEventsRequestEntry {
    let (verified, event) = verified_event::verify_and_read(
        Some(header),
        body.as_bytes(),
        &[secret],
        now,
        Duration::from_secs(300),
    )
    .unwrap();
    let event = event.unwrap();
    assert!(
        bus_entry::entry_size(&event.event_type, verified.body)
            <= bus_entry::DEFAULT_MAX_ENTRY_BYTES
    );
    bus_entry::event_entry("stripe-bridge", &event, verified.body)
}
