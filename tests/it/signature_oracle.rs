//! The verifier agrees with Stripe's official library on every committed case, and
//! departs from it only where it is stricter on purpose.
//! Cases: tests/fixtures/signatures.json, made by tests/oracle/generate-signature-fixtures.mjs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use relay_function::signing_secrets::SigningSecret;
use relay_function::{signature, verified_event};

use crate::support::stripe::signature_fixtures;

#[test]
fn the_verifier_agrees_with_stripes_library() {
    let fixtures = signature_fixtures();
    assert!(
        fixtures.library.starts_with("stripe (npm)"),
        "{}",
        fixtures.library
    );
    assert!(
        fixtures.cases.len() >= 40,
        "only {} cases",
        fixtures.cases.len()
    );

    let mut disagreements = Vec::new();
    for case in &fixtures.cases {
        match &case.stricter {
            None => assert_eq!(
                case.expect, case.oracle,
                "{}: expect must be the library's verdict",
                case.name
            ),
            Some(why) => assert!(
                case.oracle && !case.expect,
                "{}: a stricter case is one the library accepts and we refuse ({why})",
                case.name
            ),
        }
        let payload = BASE64.decode(&case.payload_base64).unwrap();
        let secrets: Vec<SigningSecret> = case.secrets.iter().map(SigningSecret::new).collect();
        let refs: Vec<&SigningSecret> = secrets.iter().collect();
        let tolerance = Duration::from_secs(case.tolerance);
        let verdict = signature::verify(Some(&case.header), &payload, &refs, case.now, tolerance);
        if verdict.is_ok() != case.expect {
            disagreements.push(format!(
                "{}: expected {}, got {verdict:?}",
                case.name, case.expect
            ));
        }
        // The same verdict on the relay's own path, which reads the event only after.
        let path = verified_event::verify_and_read(
            Some(&case.header),
            &payload,
            &refs,
            case.now,
            tolerance,
        )
        .map(|(verified, _)| verified);
        if path != verdict {
            disagreements.push(format!(
                "{}: verify said {verdict:?}, the relay's path {path:?}",
                case.name
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The header's `t=` values and its `v1=` signatures, as the spec parses them.
fn header_parts(header: &str) -> (Vec<&str>, Vec<&str>) {
    let pairs = header.split(',').filter_map(|p| p.split_once('='));
    let (mut t, mut v1) = (Vec::new(), Vec::new());
    for (key, value) in pairs {
        match key {
            "t" => t.push(value),
            "v1" => v1.push(value),
            _ => {}
        }
    }
    (t, v1)
}

/// Each topic the spec names has a case that really exercises it: its header, body or
/// secrets have the property, and the library's verdict is the one that property calls
/// for, so a fixture renamed or regenerated without it fails here.
#[test]
fn the_cases_exercise_what_the_spec_names() {
    let fixtures = signature_fixtures();
    type Check = fn(&crate::support::stripe::SignatureCase, &[u8]) -> bool;
    let topics: [(&str, Check); 11] = [
        ("rolling", |c, _| {
            c.secrets.len() >= 2 || header_parts(&c.header).1.len() >= 2
        }),
        ("v0 only", |c, _| {
            c.header.contains("v0=") && header_parts(&c.header).1.is_empty() && !c.oracle
        }),
        ("no timestamp", |c, _| {
            header_parts(&c.header).0.is_empty() && !c.oracle
        }),
        ("space", |c, _| c.header.contains(' ')),
        ("body byte changed", |c, _| {
            !c.oracle && !c.header.is_empty()
        }),
        ("unicode", |_, payload| {
            std::str::from_utf8(payload).is_ok_and(|t| !t.is_ascii())
        }),
        ("CRLF", |_, payload| {
            payload.windows(2).any(|w| w == b"\r\n")
        }),
        ("large body", |c, payload| {
            payload.len() >= 300_000 && c.oracle
        }),
        ("tolerance", |c, _| {
            let (t, _) = header_parts(&c.header);
            t.first()
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| (c.now - t).unsigned_abs() >= c.tolerance)
        }),
        ("wrong secret", |c, _| !c.oracle && !c.expect),
        ("secret without prefix", |c, _| {
            c.secrets.iter().any(|s| !s.starts_with("whsec_"))
        }),
    ];
    for (topic, exercises) in topics {
        let cases: Vec<_> = fixtures
            .cases
            .iter()
            .filter(|c| c.name.contains(topic))
            .collect();
        assert!(!cases.is_empty(), "no case about {topic}");
        assert!(
            cases
                .iter()
                .any(|c| exercises(c, &BASE64.decode(&c.payload_base64).unwrap())),
            "no case named for {topic} exercises it: {:?}",
            cases.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
    }
}
