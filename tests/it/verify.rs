//! `stripe-bridge verify` agrees with the relay on every case from Stripe's official
//! library, and explains each kind of failure in words a person can act on.
//! Cases: tests/fixtures/signatures.json, made by tests/oracle/generate-signature-fixtures.mjs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::support::aws::unique;
use crate::support::cli::{cli_offline as cli, cli_offline_with_input, stderr};
use crate::support::stripe::{SignatureCase, signature_fixtures};

/// What the explanation of a refused case must say, by the case's name.
const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "wrong secret",
        "a different secret than the one given (whsec_…0000)",
    ),
    (
        "rolling: relay has old and new, header signed with another",
        "whsec_…0000, whsec_…0000",
    ),
    (
        "secret without prefix, signed with the full secret",
        "whsec_ prefix",
    ),
    (
        "secret with a trailing newline",
        "white space around the secret",
    ),
    ("one body byte changed", "or the body differs"),
    ("trailing newline added to the body", "trailing newline"),
    ("body re-serialised", "parsed and re-serialised"),
    ("CRLF turned into LF", "line endings"),
    ("signature in uppercase hex", "lowercase"),
    ("scheme in uppercase", "V1"),
    ("space after comma", "the header has spaces in it"),
    ("empty header", "the header is empty"),
    ("v0 only", "only v0"),
    ("unknown scheme only", "no v1 signature"),
    ("no timestamp", "no t= timestamp"),
    ("timestamp with a space after =", "spaces"),
    ("two equal timestamps", "more than one t="),
    ("age one second over", "301 s old (tolerance 300 s)"),
    ("age a day", "--at 1767139200"),
    ("custom tolerance 60, age 61", "61 s old (tolerance 60 s)"),
    ("301 s in the future", "301 s in the future"),
    ("empty body", "the payload is empty"),
    ("invalid UTF-8, signed over the bytes", "not UTF-8"),
    ("byte-order mark, signed over the bytes", "byte-order mark"),
];

fn verify(case: &SignatureCase, payload: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let now = case.now.to_string();
    let tolerance = case.tolerance.to_string();
    let mut args = vec!["verify", "--header", &case.header];
    for secret in &case.secrets {
        args.extend(["--secret", secret.as_str()]);
    }
    args.extend([
        "--payload",
        payload.to_str().unwrap(),
        "--at",
        &now,
        "--tolerance",
        &tolerance,
    ]);
    args.extend_from_slice(extra);
    cli(&args)
}

#[test]
fn verify_gives_the_relays_verdict_on_every_oracle_case_and_says_why() {
    let fixtures = signature_fixtures();
    let dir = std::env::temp_dir().join(unique("verify"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut explained = 0;
    for (i, case) in fixtures.cases.iter().enumerate() {
        let payload = dir.join(format!("{i}.body"));
        std::fs::write(&payload, BASE64.decode(&case.payload_base64).unwrap()).unwrap();

        let output = verify(case, &payload, &[]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(if case.expect { 0 } else { 1 }),
            "{}: {text}{}",
            case.name,
            stderr(&output)
        );
        assert!(
            text.starts_with(if case.expect {
                "✓ verified"
            } else {
                "✗ not verified"
            }),
            "{}: {text}",
            case.name
        );
        if let Some((_, words)) = EXPLANATIONS.iter().find(|(name, _)| *name == case.name) {
            assert!(
                text.contains(words),
                "{}: expected `{words}` in:\n{text}",
                case.name
            );
            explained += 1;
        }
        for secret in &case.secrets {
            if secret.trim().len() > 12 {
                assert!(
                    !text.contains(secret.trim()),
                    "{}: the secret is shown",
                    case.name
                );
            }
        }

        // The JSON form carries the relay's reason code.
        let json: serde_json::Value =
            serde_json::from_slice(&verify(case, &payload, &["--output", "json"]).stdout).unwrap();
        assert_eq!(json["verified"], case.expect, "{}", case.name);
        assert_eq!(json["reason"].is_null(), case.expect, "{}", case.name);
    }
    assert_eq!(
        explained,
        EXPLANATIONS.len(),
        "every explanation was checked"
    );
}

#[test]
fn verify_reads_the_payload_from_standard_input_and_takes_a_pasted_header_line() {
    let fixtures = signature_fixtures();
    let case = &fixtures.cases[0];
    let body = String::from_utf8(BASE64.decode(&case.payload_base64).unwrap()).unwrap();
    let header = format!("Stripe-Signature: {}", case.header);
    let at = case.now.to_string();
    let output = cli_offline_with_input(
        &[
            "verify",
            "--secret",
            &case.secrets[0],
            "--header",
            &header,
            "--payload",
            "-",
            "--at",
            &at,
        ],
        &body,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("matches whsec_…0000"));
}

#[test]
fn verify_refuses_bad_input_with_the_fix() {
    for (args, expected) in [
        (
            vec![
                "verify",
                "--secret",
                "sk_test_abc",
                "--header",
                "t=1,v1=a",
                "--payload",
                "/dev/null",
            ],
            "not an API key",
        ),
        (
            vec![
                "verify",
                "--secret",
                "whsec_x",
                "--header",
                "t=1,v1=a",
                "--payload",
                "/nonexistent/body.json",
            ],
            "cannot read the payload file /nonexistent/body.json",
        ),
    ] {
        let output = cli(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
    // Missing arguments are a usage error.
    assert_eq!(cli(&["verify", "--header", "t=1"]).status.code(), Some(2));
}

/// A secret that is not one says where it came from; an empty STRIPE_WEBHOOK_SECRET is
/// an error, not a secret left out.
#[test]
fn a_bad_secret_says_where_it_came_from() {
    let verify = ["verify", "--header", "t=1700000000,v1=00", "--payload", "-"];
    let api_key = crate::support::cli::cli_offline_with_env(
        &verify,
        &[("STRIPE_WEBHOOK_SECRET", "sk_test_notASigningSecret")],
    );
    assert_eq!(api_key.status.code(), Some(1));
    assert!(
        stderr(&api_key).contains("error: the secret from STRIPE_WEBHOOK_SECRET: "),
        "{}",
        stderr(&api_key)
    );
    let empty =
        crate::support::cli::cli_offline_with_env(&verify, &[("STRIPE_WEBHOOK_SECRET", "")]);
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        stderr(&empty).contains("STRIPE_WEBHOOK_SECRET is set but empty"),
        "{}",
        stderr(&empty)
    );

    let file = std::env::temp_dir().join(format!("{}.secrets", unique("secret-file")));
    std::fs::write(
        &file,
        "whsec_0123456789abcdefABCDEF0123456789\n\nnot-a-secret\n",
    )
    .unwrap();
    let from_file = cli(&[
        "test",
        "--url",
        "http://127.0.0.1:9/webhook",
        "--secret-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(from_file.status.code(), Some(1));
    assert!(
        stderr(&from_file).contains(&format!("the secret from line 3 of {}", file.display())),
        "{}",
        stderr(&from_file)
    );
    assert!(
        !stderr(&from_file).contains("not-a-secret"),
        "{}",
        stderr(&from_file)
    );
}
