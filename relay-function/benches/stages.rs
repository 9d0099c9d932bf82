//! Where the relay's time goes on one request, stage by stage, on Stripe's 3 KB
//! `invoice.paid` (or the file named by `STAGES_PAYLOAD`):
//!
//!     cargo bench -p relay-function --profile lambda --bench stages
//!
//! Each line is the best of 201 batches of at least 2 ms: on a shared machine, noise only
//! ever adds time, and the least is the figure to compare one change against another by.
//! `compare` (benches/compare.sh) gives the figures to compare with other programs.

use std::hint::black_box;
use std::time::Duration;

use relay_function::signature::{self, SignatureHeader};
use relay_function::signing_secrets::SigningSecret;
use relay_function::stripe_event::StripeEvent;
use relay_function::{bus_entry, verified_event};

mod support;
use support::payloads::invoice_paid;
use support::request_path::verify_parse_build;
use support::timing::ns_per_call;

const NOW: i64 = 1_767_225_600;
const TOLERANCE: Duration = Duration::from_secs(300);

fn main() {
    let body = match std::env::var_os("STAGES_PAYLOAD") {
        Some(path) => std::fs::read_to_string(path).expect("STAGES_PAYLOAD names a file"),
        None => invoice_paid(),
    };
    let secret = SigningSecret::new("whsec_benchSecret00000000000000000000000");
    let header = signature::sign(&secret, NOW, body.as_bytes());
    let prefix = format!("{NOW}.");
    let event = StripeEvent::parse(&body).expect("the payload is an event");
    let show = |stage: &str, call: &mut dyn FnMut()| {
        let best = ns_per_call(call, Duration::from_millis(2), 201)[0];
        println!("{stage:<52} {:>7.3} µs", best / 1000.0);
    };
    println!("{} bytes", body.len());
    show("UTF-8 check (simdutf8)", &mut || {
        black_box(simdutf8::basic::from_utf8(black_box(body.as_bytes())).is_ok());
    });
    show("Stripe-Signature header", &mut || {
        black_box(SignatureHeader::parse(black_box(&header)).is_ok());
    });
    show("HMAC alone (the hmac crate, keyed once)", &mut || {
        black_box(secret.mac(&[prefix.as_bytes(), black_box(body.as_bytes())]));
    });
    show("signature::verify", &mut || {
        let verified = signature::verify(
            Some(&header),
            black_box(body.as_bytes()),
            &[&secret],
            NOW,
            TOLERANCE,
        );
        black_box(verified.is_ok());
    });
    show(
        "routing fields (StripeEvent::parse, serde_json)",
        &mut || {
            black_box(StripeEvent::parse(black_box(&body)).is_ok());
        },
    );
    show("verified_event::verify_and_read", &mut || {
        let read = verified_event::verify_and_read(
            Some(&header),
            black_box(body.as_bytes()),
            &[&secret],
            NOW,
            TOLERANCE,
        );
        black_box(read.is_ok());
    });
    show("the entry (bus_entry::event_entry)", &mut || {
        black_box(bus_entry::event_entry(
            "stripe-bridge",
            black_box(&event),
            black_box(&body),
        ));
    });
    show("all of it (compare's verify + parse + build)", &mut || {
        black_box(verify_parse_build(
            black_box(&header),
            black_box(&body),
            &secret,
            NOW,
        ));
    });
}
