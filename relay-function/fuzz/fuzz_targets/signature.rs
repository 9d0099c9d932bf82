//! The `Stripe-Signature` parser and the verifier, on arbitrary input: nothing panics, a
//! header the fuzzer made up never verifies, Stripe's own header for the body verifies
//! exactly when the relay takes such a body, and it stops verifying when the body or the
//! timestamp changes. A verified body's event is what `StripeEvent::parse` reads.
//!
//! Input: a byte that picks the signing secret, the header, a NUL byte, then the body.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use relay_function::signature::{self, SignatureHeader};
use relay_function::signing_secrets::SigningSecret;
use relay_function::stripe_event::{StripeEvent, claimed_event_id};
use relay_function::verified_event;

const NOW: i64 = 1_767_225_600;
const TOLERANCE: Duration = Duration::from_secs(300);

/// Secrets of every kind of length: the fewest characters allowed, a Dashboard
/// endpoint's 32, `stripe listen`'s 64 hex digits (70 bytes: over SHA-256's 64-byte
/// block, so hashed into the key first), and a long one.
fn secrets() -> [SigningSecret; 4] {
    [
        SigningSecret::new("whsec_fuzz0123456789ab"),
        SigningSecret::new("whsec_fuzzDashboard0123456789abcdefAB"),
        SigningSecret::new(format!("whsec_{}", "0123456789abcdef".repeat(4))),
        SigningSecret::new(format!("whsec_{}", "LongFuzzKey".repeat(11))),
    ]
}

fuzz_target!(|data: &[u8]| {
    let all = secrets();
    // The first byte picks the secret Stripe signs with below.
    let (pick, data) = data.split_first().map_or((0, data), |(p, rest)| (*p, rest));
    let secret = &all[usize::from(pick) % all.len()];
    let refs: Vec<&SigningSecret> = all.iter().collect();
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or_default();

    let _ = SignatureHeader::parse(&header);
    let _ = claimed_event_id(body);
    if let Ok(text) = std::str::from_utf8(body) {
        // Only a JSON object can be an event.
        if StripeEvent::parse(text).is_ok() {
            assert!(
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_ok()
            );
        }
    }

    // Forgery: whatever the fuzzer writes, it knows none of the secrets.
    assert!(
        signature::verify(Some(&header), body, &refs, NOW, TOLERANCE).is_err(),
        "a made-up header verified"
    );

    // Stripe's header for this body verifies if and only if the relay takes the body.
    let genuine = signature::sign(secret, NOW, body);
    let takes =
        !body.is_empty() && std::str::from_utf8(body).is_ok() && !body.starts_with(b"\xEF\xBB\xBF");
    let verified = signature::verify(Some(&genuine), body, &refs, NOW, TOLERANCE);
    assert_eq!(verified.is_ok(), takes, "{verified:?}");
    // The relay's path verifies, then reads: as the two apart.
    match (
        &verified,
        verified_event::verify_and_read(Some(&genuine), body, &refs, NOW, TOLERANCE),
    ) {
        (Ok(apart), Ok((together, event))) => {
            assert_eq!(*apart, together);
            assert_eq!(event, StripeEvent::parse(apart.body));
        }
        (Err(apart), Err(together)) => assert_eq!(*apart, together),
        (apart, together) => panic!("apart: {apart:?}; on the relay's path: {together:?}"),
    }
    // Its UTF-8 check (simdutf8) agrees with the standard library's, and hands on the
    // very bytes it checked.
    if let Ok(verified) = verified {
        assert_eq!(verified.body.as_bytes(), body);
    }
    if takes {
        // Any change to the body, or to the signed time, breaks it.
        let mut changed = body.to_vec();
        changed[body.len() / 2] ^= 0x01;
        assert!(signature::verify(Some(&genuine), &changed, &refs, NOW, TOLERANCE).is_err());
        let later = genuine.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert!(signature::verify(Some(&later), body, &refs, NOW, TOLERANCE).is_err());
    }
});
