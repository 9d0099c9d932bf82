//! The `Stripe-Signature` parser and the verifier, on arbitrary input: nothing panics, a
//! header the fuzzer made up never verifies, Stripe's own header for the body verifies
//! exactly when the relay takes such a body, and it stops verifying when the body or the
//! timestamp changes. The JSON check agrees with serde_json on every UTF-8 body, and the
//! relay's one pass (signature and JSON check together) with the two apart.
//!
//! Input: the header, a NUL byte, then the body.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use relay_function::signature::{self, SignatureHeader};
use relay_function::signing_secrets::SigningSecret;
use relay_function::stripe_event::{StripeEvent, claimed_event_id};
use relay_function::verified_event;

const NOW: i64 = 1_767_225_600;
const TOLERANCE: Duration = Duration::from_secs(300);

fuzz_target!(|data: &[u8]| {
    let secret = SigningSecret::new("whsec_fuzzingSecret0123456789abcdefABCDEF");
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or_default();

    let _ = SignatureHeader::parse(&header);
    let _ = claimed_event_id(body);
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = StripeEvent::parse(text);
        // The relay's JSON check accepts exactly the objects serde_json accepts.
        let ours = json_check::top_level_members(text, &mut |_| {}).is_ok();
        let serde_json = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
            && text
                .trim_start_matches([' ', '\t', '\n', '\r'])
                .starts_with('{');
        assert_eq!(ours, serde_json, "json_check and serde_json disagree");
    }

    // Forgery: whatever the fuzzer writes, it does not know the secret.
    assert!(
        signature::verify(Some(&header), body, &[&secret], NOW, TOLERANCE).is_err(),
        "a made-up header verified"
    );

    // Stripe's header for this body verifies if and only if the relay takes the body.
    let genuine = signature::sign(&secret, NOW, body);
    let takes =
        !body.is_empty() && std::str::from_utf8(body).is_ok() && !body.starts_with(b"\xEF\xBB\xBF");
    let verified = signature::verify(Some(&genuine), body, &[&secret], NOW, TOLERANCE);
    assert_eq!(verified.is_ok(), takes, "{verified:?}");
    // The relay's one pass, the HMAC and the JSON check in one loop, answers as the
    // signature check and the event parse do apart.
    match (
        &verified,
        verified_event::verify_and_read(Some(&genuine), body, &[&secret], NOW, TOLERANCE),
    ) {
        (Ok(apart), Ok((one_pass, event))) => {
            assert_eq!(*apart, one_pass);
            assert_eq!(event, StripeEvent::parse(apart.body));
        }
        (Err(apart), Err(one_pass)) => assert_eq!(*apart, one_pass),
        (apart, one_pass) => panic!("apart: {apart:?}; in one pass: {one_pass:?}"),
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
        assert!(signature::verify(Some(&genuine), &changed, &[&secret], NOW, TOLERANCE).is_err());
        let later = genuine.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert!(signature::verify(Some(&later), body, &[&secret], NOW, TOLERANCE).is_err());
    }
});
