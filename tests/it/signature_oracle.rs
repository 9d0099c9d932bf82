//! The verifier agrees with Stripe's official library on every committed case, and
//! departs from it only where it is stricter on purpose.
//! Cases: tests/fixtures/signatures.json, made by tests/oracle/generate-signature-fixtures.mjs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use relay_function::signature;
use relay_function::signing_secrets::SigningSecret;

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
        let verdict = signature::verify(
            Some(&case.header),
            &payload,
            &refs,
            case.now,
            Duration::from_secs(case.tolerance),
        );
        if verdict.is_ok() != case.expect {
            disagreements.push(format!(
                "{}: expected {}, got {verdict:?}",
                case.name, case.expect
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn the_cases_cover_what_the_spec_names() {
    let fixtures = signature_fixtures();
    let names: Vec<&str> = fixtures.cases.iter().map(|c| c.name.as_str()).collect();
    for topic in [
        "rolling",
        "v0 only",
        "no timestamp",
        "space",
        "body byte changed",
        "unicode",
        "CRLF",
        "large body",
        "tolerance",
        "wrong secret",
        "secret without prefix",
    ] {
        assert!(
            names.iter().any(|n| n.contains(topic)),
            "no case about {topic}"
        );
    }
}
