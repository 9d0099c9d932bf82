//! The relay's half of `benches/compare.sh`: writes the payloads both sides measure
//! (3 KB, 300 KB and 1 MB `invoice.paid`, each signed now), and times what the relay does
//! with one before it calls AWS (`support::request_path`, shared with the criterion bench).
//!
//!     COMPARE_DIR=DIR cargo bench -p relay-function --profile lambda --bench compare
//!
//! (`--profile lambda`: the zip's own optimisation settings, so that the figures are the
//! deployed code's.)
//!
//! Prints one JSON line per payload: {"size", "bytes", "relay_ns"}, the median of 21
//! batches, each long enough to time. Stripe's library is timed on the same files by
//! benches/node/construct-event.mjs.
//!
//! Then what a forged body costs the relay (`verified_event::verify_and_read`, which
//! refuses it): 3.5 MB of escaped top-level keys (`{"\n":0,…}`, the shape that cost 4.3
//! times more than plain bytes when the relay checked JSON before the MAC), the same
//! length of bytes that are not JSON, and the HMAC of that length alone
//! (`forged-escaped-keys`, `forged-not-json`, `forged-hmac`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use relay_function::signature::{self, unix_now};
use relay_function::signing_secrets::SigningSecret;
use relay_function::verified_event;

mod support;
use support::payloads::{invoice_paid, large_invoice};
use support::request_path::verify_parse_build;
use support::timing::ns_per_call;

const SECRET: &str = "whsec_benchSecret00000000000000000000000";

fn main() {
    let dir = PathBuf::from(
        std::env::var_os("COMPARE_DIR")
            .expect("COMPARE_DIR names the folder to write the payloads to"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    let secret = SigningSecret::new(SECRET);
    let now = unix_now();
    for (size, body) in [
        ("3KB", invoice_paid()),
        ("300KB", large_invoice(300 * 1024)),
        ("1MB", large_invoice(1000 * 1024)),
    ] {
        let header = signature::sign(&secret, now, body.as_bytes());
        std::fs::write(dir.join(format!("payload-{size}.json")), &body).unwrap();
        std::fs::write(dir.join(format!("payload-{size}.header")), &header).unwrap();
        let relay_ns = ns_per_call(
            || {
                black_box(verify_parse_build(
                    black_box(&header),
                    black_box(&body),
                    &secret,
                    now,
                ));
            },
            Duration::from_millis(20),
            21,
        )[10];
        println!(
            "{}",
            serde_json::json!({ "size": size, "bytes": body.len(), "relay_ns": relay_ns })
        );
    }

    let pairs = 3_500_000 / r#""\n":0,"#.len();
    let escaped_keys = format!("{{{}\"\\n\":0}}", r#""\n":0,"#.repeat(pairs - 1));
    let not_json = "x".repeat(escaped_keys.len());
    // Signed, but for another body: a forgery.
    let forged = signature::sign(&secret, now, b"{}");
    let prefix = format!("{now}.");
    let time = |call: &mut dyn FnMut()| ns_per_call(call, Duration::from_millis(50), 11)[5];
    for (name, body) in [
        ("forged-escaped-keys", &escaped_keys),
        ("forged-not-json", &not_json),
    ] {
        let relay_ns = time(&mut || {
            let read = verified_event::verify_and_read(
                Some(black_box(&forged)),
                black_box(body.as_bytes()),
                &[&secret],
                now,
                signature::DEFAULT_TOLERANCE,
            );
            assert!(read.is_err());
        });
        println!(
            "{}",
            serde_json::json!({ "size": name, "bytes": body.len(), "relay_ns": relay_ns })
        );
    }
    let hmac_ns = time(&mut || {
        black_box(secret.mac(&[prefix.as_bytes(), black_box(not_json.as_bytes())]));
    });
    println!(
        "{}",
        serde_json::json!({ "size": "forged-hmac", "bytes": not_json.len(), "relay_ns": hmac_ns })
    );
}
