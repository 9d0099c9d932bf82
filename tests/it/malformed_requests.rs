//! Nothing forged: a catalogue of malformed, forged and odd requests to the relay, as API
//! Gateway hands them over. Each gets its specified status and reason code, the failure
//! topic hears that reason, the answer echoes nothing of the request, nothing panics, and
//! nothing but the requests that are valid reaches the bus.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use relay_function::lambda;
use relay_function::reason::Reason;
use relay_function::relay::Relay;
use relay_function::signature;
use relay_function::signing_secrets::SigningSecret;
use serde_json::{Value, json};

use crate::support::aws::Bridge;
use crate::support::evidence;
use crate::support::stripe::{SECRET, fixture, invocation, now};

/// Put into every body, so an echo of the request would be found.
const MARKER: &str = "ECHO-MARKER-7f3a";

struct Case {
    name: &'static str,
    request: Value,
    /// The status, and the reason code for a refusal.
    expect: (i64, Option<&'static str>),
}

fn event(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"event","api_version":"2026-10-28.endive","created":{},"data":{{"object":{{"id":"in_1","object":"invoice","description":"{MARKER}"}}}},"livemode":false,"pending_webhooks":1,"request":{{"id":null,"idempotency_key":null}},"type":"invoice.paid"}}"#,
        now() - 1
    )
}

fn sign_at(secret: &str, t: i64, body: &[u8]) -> String {
    signature::sign(&SigningSecret::new(secret), t, body)
}

fn sign(body: &[u8]) -> String {
    sign_at(SECRET, now(), body)
}

/// The API Gateway request for `body`, with `signature` as the Stripe-Signature header.
fn base(body: &str, signature: Option<&str>) -> Value {
    let mut request: Value =
        serde_json::from_slice(&fixture("apigw/webhook-request.json")).unwrap();
    request["body"] = body.into();
    if let Some(signature) = signature {
        request["headers"]["stripe-signature"] = signature.into();
    }
    request
}

fn signed(body: &str) -> Value {
    base(body, Some(&sign(body.as_bytes())))
}

/// `request` with the field at `pointer` set (added if it is not there).
fn with(mut request: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    request.pointer_mut(parent).unwrap()[key] = value;
    request
}

fn base64_body(bytes: &[u8], signature: &str) -> Value {
    let mut request = base("", Some(signature));
    request["body"] = BASE64.encode(bytes).into();
    request["isBase64Encoded"] = true.into();
    request
}

fn catalogue() -> Vec<Case> {
    let body = event("evt_malformedBase");
    let good = sign(body.as_bytes());
    let (t, v1) = {
        let (t, v1) = good.split_once(',').unwrap();
        (t.to_owned(), v1.to_owned())
    };
    let v1_hex = v1.trim_start_matches("v1=").to_owned();
    // One second before the signed timestamp, whenever the clock ticks while the cases
    // are made.
    let signed_at: i64 = t.trim_start_matches("t=").parse().unwrap();
    let not_event = |json: &str| signed(&json.replace("MARKER", MARKER));
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(4 * 1024 * 1024 + 1));
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut invalid_utf8 = body.as_bytes().to_vec();
    invalid_utf8.extend_from_slice(b"\xff\xfe");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(body.as_bytes());
    let other_secret = "whsec_someoneElsesSecret0000000000000000";

    let mut cases = vec![
        // The signature header: missing, empty, oddly cased, repeated, mangled.
        Case {
            name: "no Stripe-Signature header",
            request: base(&body, None),
            expect: (400, Some("missing_signature")),
        },
        Case {
            name: "empty Stripe-Signature header",
            request: base(&body, Some("")),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "header name in capitals (names are case-insensitive)",
            request: with(
                base(&body, None),
                "/headers/STRIPE-SIGNATURE",
                good.clone().into(),
            ),
            expect: (200, None),
        },
        Case {
            name: "two Stripe-Signature headers, joined by API Gateway",
            request: base(&body, Some(&format!("{good},{good}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "no t=",
            request: base(&body, Some(&v1)),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "t= without a value",
            request: base(&body, Some(&format!("t=,{v1}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "t without =",
            request: base(&body, Some(&format!("t,{v1}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "t= not a number",
            request: base(&body, Some(&format!("t=yesterday,{v1}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "t= negative",
            request: base(&body, Some(&format!("t=-1,{v1}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "t= too large for any clock",
            request: base(&body, Some(&format!("t=99999999999999999999999,{v1}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "space after the comma",
            request: base(&body, Some(&format!("{t}, {v1}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "v0 only (an old test header)",
            request: base(&body, Some(&format!("{t},v0={v1_hex}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "scheme written V1",
            request: base(&body, Some(&format!("{t},V1={v1_hex}"))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "10 KB of garbage for a header",
            request: base(&body, Some(&"garbage,".repeat(1280))),
            expect: (400, Some("malformed_signature")),
        },
        Case {
            name: "v1 of the wrong secret",
            request: base(&body, Some(&sign_at(other_secret, now(), body.as_bytes()))),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "v1 in uppercase hex",
            request: base(&body, Some(&format!("{t},v1={}", v1_hex.to_uppercase()))),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "v1 truncated",
            request: base(&body, Some(&format!("{t},v1={}", &v1_hex[..32]))),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "v1 of zeros",
            request: base(&body, Some(&format!("{t},v1={}", "0".repeat(64)))),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "v1 empty",
            request: base(&body, Some(&format!("{t},v1="))),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "timestamp changed after signing",
            request: base(&body, Some(&format!("t={},{v1}", signed_at - 1))),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "body changed after signing",
            request: base(&body.replace("invoice.paid", "invoice.voided"), Some(&good)),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "trailing newline added after signing",
            request: base(&format!("{body}\n"), Some(&good)),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "signed with the secret without its whsec_ prefix",
            request: base(
                &body,
                Some(&sign_at(
                    SECRET.trim_start_matches("whsec_"),
                    now(),
                    body.as_bytes(),
                )),
            ),
            expect: (400, Some("signature_mismatch")),
        },
        Case {
            name: "a replay, 10 minutes old",
            request: base(&body, Some(&sign_at(SECRET, now() - 600, body.as_bytes()))),
            expect: (400, Some("timestamp_outside_tolerance")),
        },
        Case {
            name: "signed 10 minutes in the future",
            request: base(&body, Some(&sign_at(SECRET, now() + 600, body.as_bytes()))),
            expect: (400, Some("timestamp_outside_tolerance")),
        },
        Case {
            name: "signed at the epoch",
            request: base(&body, Some(&sign_at(SECRET, 0, body.as_bytes()))),
            expect: (400, Some("timestamp_outside_tolerance")),
        },
        // The body: empty, encoded, not UTF-8, too large, not an event.
        Case {
            name: "empty body, signed",
            request: signed(""),
            expect: (400, Some("invalid_body")),
        },
        Case {
            name: "no body at all",
            request: with(base("", Some(&good)), "/body", Value::Null),
            expect: (400, Some("invalid_body")),
        },
        Case {
            name: "base64 body that is not base64",
            request: with(
                base64_body(body.as_bytes(), &good),
                "/body",
                "e30*not-base64".into(),
            ),
            expect: (400, Some("invalid_body")),
        },
        Case {
            name: "base64 body of the signed event",
            request: base64_body(body.as_bytes(), &good),
            expect: (200, None),
        },
        Case {
            name: "base64 body that is not UTF-8, signed",
            request: base64_body(&invalid_utf8, &sign(&invalid_utf8)),
            expect: (400, Some("invalid_body")),
        },
        Case {
            name: "body with a byte-order mark, signed",
            request: base64_body(&bom, &sign(&bom)),
            expect: (400, Some("invalid_body")),
        },
        Case {
            name: "body over 4 MiB",
            request: signed(&huge),
            expect: (413, Some("payload_too_large")),
        },
        Case {
            name: "base64 body over 4 MiB",
            request: base64_body(huge.as_bytes(), "t=1,v1=00"),
            expect: (413, Some("payload_too_large")),
        },
        Case {
            name: "valid signature, JSON that is not an event",
            request: not_event(r#"{"hello":"MARKER"}"#),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, a JSON array",
            request: not_event(r#"[{"id":"evt_1","object":"event","type":"MARKER"}]"#),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, plain text",
            request: not_event("MARKER"),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, a GitHub-style payload",
            request: not_event(r#"{"action":"opened","sender":{"login":"MARKER"}}"#),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, an event without an id",
            request: not_event(
                r#"{"object":"event","type":"invoice.paid","created":1,"note":"MARKER"}"#,
            ),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, an event whose id is not evt_",
            request: not_event(
                r#"{"id":"in_1","object":"event","type":"invoice.paid","created":1,"note":"MARKER"}"#,
            ),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, an event without a type",
            request: not_event(r#"{"id":"evt_1","object":"event","created":1,"note":"MARKER"}"#),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, an event without created",
            request: not_event(
                r#"{"id":"evt_1","object":"event","type":"invoice.paid","note":"MARKER"}"#,
            ),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, an invoice rather than an event",
            request: not_event(
                r#"{"id":"evt_1","object":"invoice","type":"invoice.paid","created":1,"note":"MARKER"}"#,
            ),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, 100,000 nested arrays",
            request: signed(&nested),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, a duplicated type key",
            request: not_event(
                r#"{"id":"evt_1","object":"event","type":"invoice.paid","type":"MARKER","created":1}"#,
            ),
            expect: (400, Some("invalid_event")),
        },
        Case {
            name: "valid signature, a type of 10 KB",
            request: not_event(&format!(
                r#"{{"id":"evt_1","object":"event","type":"{}","created":1,"note":"MARKER"}}"#,
                "t".repeat(10_240)
            )),
            expect: (400, Some("invalid_event")),
        },
        // The method and the path.
        Case {
            name: "GET",
            request: with(signed(&body), "/requestContext/http/method", "GET".into()),
            expect: (405, Some("method_not_allowed")),
        },
        Case {
            name: "PUT",
            request: with(signed(&body), "/requestContext/http/method", "PUT".into()),
            expect: (405, Some("method_not_allowed")),
        },
        Case {
            name: "OPTIONS",
            request: with(
                signed(&body),
                "/requestContext/http/method",
                "OPTIONS".into(),
            ),
            expect: (405, Some("method_not_allowed")),
        },
        Case {
            name: "post in lowercase",
            request: with(signed(&body), "/requestContext/http/method", "post".into()),
            expect: (405, Some("method_not_allowed")),
        },
        Case {
            name: "path /",
            request: with(signed(&body), "/requestContext/http/path", "/".into()),
            expect: (404, Some("not_found")),
        },
        Case {
            name: "path with a trailing slash",
            request: with(
                signed(&body),
                "/requestContext/http/path",
                "/webhook/".into(),
            ),
            expect: (404, Some("not_found")),
        },
        Case {
            name: "path in capitals",
            request: with(
                signed(&body),
                "/requestContext/http/path",
                "/WEBHOOK".into(),
            ),
            expect: (404, Some("not_found")),
        },
        Case {
            name: "path with dot segments",
            request: with(
                signed(&body),
                "/requestContext/http/path",
                "/x/../webhook".into(),
            ),
            expect: (404, Some("not_found")),
        },
        Case {
            name: "path with an encoded slash",
            request: with(
                signed(&body),
                "/requestContext/http/path",
                "/webhook%2F".into(),
            ),
            expect: (404, Some("not_found")),
        },
        Case {
            name: "a named stage before the path",
            request: with(
                with(
                    signed(&body),
                    "/requestContext/http/path",
                    "/live/webhook".into(),
                ),
                "/requestContext/stage",
                "live".into(),
            ),
            expect: (200, None),
        },
        Case {
            name: "behind a custom domain with an API mapping key",
            request: with(
                with(
                    signed(&body),
                    "/requestContext/http/path",
                    "/stripe/webhook".into(),
                ),
                "/rawPath",
                "/stripe/webhook".into(),
            ),
            expect: (200, None),
        },
    ];
    // API Gateway invokes the relay only for a route it matched: a request on another
    // path reaches it only through a catch-all route, and says so in its route key.
    for case in cases.iter_mut().filter(|c| c.expect.1 == Some("not_found")) {
        case.request["routeKey"] = "$default".into();
        case.request["requestContext"]["routeKey"] = "$default".into();
    }
    // Every accepted case carries its own event id, so each delivery can be told apart.
    for (i, case) in cases.iter_mut().enumerate() {
        if case.expect.0 == 200 {
            let id = format!("evt_malformedOk{i}");
            let text = event(&id);
            let signature = sign(text.as_bytes());
            if case.request["isBase64Encoded"] == true {
                case.request["body"] = BASE64.encode(&text).into();
            } else {
                case.request["body"] = text.into();
            }
            let header = if case.request["headers"].get("STRIPE-SIGNATURE").is_some() {
                "STRIPE-SIGNATURE"
            } else {
                "stripe-signature"
            };
            case.request["headers"][header] = signature.into();
        }
    }
    cases
}

#[tokio::test]
async fn every_malformed_request_gets_its_status_and_reason_and_none_reaches_the_bus() {
    let bridge = Bridge::create(SECRET).await;
    let cases = catalogue();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut accepted = Vec::new();
    for case in &cases {
        // A relay per case: notices are limited to one per reason per relay and minute.
        // Unverified requests get none at all (see relay_function::failure_notices).
        let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
        let request = serde_json::from_value(case.request.clone())
            .unwrap_or_else(|e| panic!("{}: not an API Gateway request: {e}", case.name));
        let answer = lambda::handle(&relay, invocation(request, Duration::from_secs(10))).await;
        let body = match &answer.body {
            Some(aws_lambda_events::encodings::Body::Text(text)) => text.clone(),
            other => panic!("{}: unexpected body {other:?}", case.name),
        };
        let (status, reason) = case.expect;
        assert_eq!(answer.status_code, status, "{}: {body}", case.name);
        let expected_body = match reason {
            Some(code) => json!({ "error": code }).to_string(),
            None => r#"{"received":true}"#.to_owned(),
        };
        assert_eq!(
            body, expected_body,
            "{}: the answer says only the reason",
            case.name
        );

        let notices = bridge.notices().await;
        match reason {
            Some(code)
                if Reason::ALL
                    .iter()
                    .any(|r| r.code() == code && r.is_unverified()) =>
            {
                assert!(
                    notices.is_empty(),
                    "{}: an unverified request was notified: {notices:?}",
                    case.name
                );
            }
            Some(code) => {
                assert_eq!(notices.len(), 1, "{}: {notices:?}", case.name);
                assert_eq!(notices[0]["reason"], code, "{}", case.name);
                let text = notices[0].to_string();
                assert!(
                    !text.contains(MARKER),
                    "{}: the notice echoes the body: {text}",
                    case.name
                );
                assert!(!text.contains(SECRET), "{}", case.name);
            }
            None => {
                assert!(notices.is_empty(), "{}: {notices:?}", case.name);
                accepted.push(case.name);
            }
        }
    }
    let delivered = bridge.delivered_events().await;
    assert_eq!(
        delivered.len(),
        accepted.len(),
        "only the valid requests reach the bus: {accepted:?}"
    );
    for event in &delivered {
        assert!(
            event["detail"]["id"]
                .as_str()
                .unwrap()
                .starts_with("evt_malformedOk")
        );
    }
    evidence::record(
        "forged",
        json!({
            "malformed_requests": cases.len(),
            "refused_with_the_specified_reason": cases.len() - accepted.len(),
            "valid_variants_accepted": accepted.len(),
            "forged_events_on_the_bus": 0,
        }),
    );
}
