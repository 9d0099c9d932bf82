//! Verified events reach the bus as Stripe sent them; nothing else does.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use relay_function::lambda;
use relay_function::relay::Relay;

use crate::support::aws::Bridge;
use crate::support::stripe::{self, SECRET, fixture, invocation, request, sign, signed_request};

const BUDGET: Duration = Duration::from_secs(10);

async fn answer(
    relay: &Relay,
    request: aws_lambda_events::apigw::ApiGatewayV2httpRequest,
) -> (i64, String) {
    let response = lambda::handle(relay, invocation(request, BUDGET)).await;
    let body = match response.body {
        Some(aws_lambda_events::encodings::Body::Text(text)) => text,
        other => panic!("unexpected body {other:?}"),
    };
    (response.status_code, body)
}

#[tokio::test]
async fn a_verified_event_arrives_on_the_bus_as_sent() {
    let bridge = Bridge::create(SECRET).await;
    let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let body = String::from_utf8(fixture("events/invoice.paid.json")).unwrap();

    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    let (status, answer_body) = answer(&relay, signed_request(SECRET, &body)).await;
    let after = std::time::SystemTime::now() + std::time::Duration::from_secs(1);

    assert_eq!(
        (status, answer_body.as_str()),
        (200, r#"{"received":true}"#)
    );
    let delivered = bridge.delivered_events().await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let envelope = &delivered[0];
    assert_eq!(envelope["source"], "Stripe");
    assert_eq!(envelope["detail-type"], "invoice.paid");
    // When it arrived, not the event's `created` (which stays in the detail): a replay
    // window selects what arrived then.
    let time = humantime::parse_rfc3339(envelope["time"].as_str().unwrap()).unwrap();
    assert!(before <= time && time <= after, "{envelope}");
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["detail"], sent);
    assert_eq!(envelope["detail"]["created"], 1_767_225_300);
}

#[tokio::test]
async fn a_base64_body_is_verified_over_the_bytes_stripe_sent() {
    let bridge = Bridge::create(SECRET).await;
    let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let body = stripe::event("evt_crlfUnicode", "customer.updated")
        .replace("\"in_1\"", "\"Zoë 名前 🚀\"")
        .replace(',', ",\r\n");
    let mut req = request(b"", &[("Stripe-Signature", &sign(SECRET, body.as_bytes()))]);
    req.body = Some(BASE64.encode(body.as_bytes()));
    req.is_base64_encoded = true;

    let (status, _) = answer(&relay, req).await;

    assert_eq!(status, 200);
    let delivered = bridge.delivered_events().await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0]["detail"]["data"]["object"]["id"],
        "Zoë 名前 🚀"
    );
}

#[tokio::test]
async fn forged_and_broken_requests_never_reach_the_bus_and_only_signed_ones_are_notified() {
    let bridge = Bridge::create(SECRET).await;
    let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let body = stripe::event("evt_forged1", "invoice.paid");
    let old = relay_function::signature::sign(
        &relay_function::signing_secrets::SigningSecret::new(SECRET),
        stripe::now() - 600,
        body.as_bytes(),
    );
    let cases = [
        (
            "wrong secret",
            signed_request("whsec_attacker", &body),
            400,
            "signature_mismatch",
        ),
        (
            "tampered body",
            request(
                body.replace("invoice.paid", "invoice.voided").as_bytes(),
                &[("Stripe-Signature", &sign(SECRET, body.as_bytes()))],
            ),
            400,
            "signature_mismatch",
        ),
        (
            "no header",
            request(body.as_bytes(), &[]),
            400,
            "missing_signature",
        ),
        (
            "v0 only",
            request(body.as_bytes(), &[("Stripe-Signature", "t=1,v0=abc")]),
            400,
            "malformed_signature",
        ),
        (
            "replayed",
            request(body.as_bytes(), &[("Stripe-Signature", &old)]),
            400,
            "timestamp_outside_tolerance",
        ),
        (
            "not an event",
            signed_request(SECRET, r#"{"id":"cus_1","object":"customer"}"#),
            400,
            "invalid_event",
        ),
    ];
    for (name, req, want_status, want_reason) in cases {
        let (status, answer_body) = answer(&relay, req).await;
        assert_eq!(status, want_status, "{name}");
        assert_eq!(
            answer_body,
            format!(r#"{{"error":"{want_reason}"}}"#),
            "{name}"
        );
        assert!(
            !answer_body.contains("evt_forged1"),
            "{name}: the answer echoes the request"
        );
    }

    assert!(
        bridge.delivered_events().await.is_empty(),
        "a forged event reached the bus"
    );
    // Anyone can send an unsigned or forged request: those are counted, never notified
    // one by one. A body that Stripe signed but that is not an event is worth a notice.
    let notices = bridge.notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["reason"], "invalid_event");
    assert_eq!(notices[0]["status"], 400);
    assert_eq!(notices[0]["request_id"], "Xk2Y1hS8IAMEbvw=");
    assert_eq!(notices[0]["event_id_verified"], false);
    assert_eq!(notices[0]["bridge"], bridge.config.bridge_name.as_str());
}

#[tokio::test]
async fn requests_that_are_not_webhook_deliveries_are_refused() {
    let bridge = Bridge::create(SECRET).await;
    let mut config = bridge.config.clone();
    config.max_body_bytes = 4096;
    let relay = Relay::from_sdk_config(&bridge.sdk, config);
    let body = stripe::event("evt_method", "invoice.paid");

    let mut get = signed_request(SECRET, &body);
    get.request_context.http.method = aws_lambda_events::http::Method::GET;
    assert_eq!(answer(&relay, get).await.0, 405);

    let mut elsewhere = signed_request(SECRET, &body);
    elsewhere.request_context.http.path = Some("/admin".into());
    // Only a `$default` or catch-all route would bring it to the relay at all.
    elsewhere.route_key = Some("ANY /{proxy+}".into());
    elsewhere.request_context.route_key = Some("ANY /{proxy+}".into());
    assert_eq!(answer(&relay, elsewhere).await.0, 404);

    let huge = stripe::event("evt_huge", "invoice.paid").replace("in_1", &"x".repeat(5000));
    assert_eq!(
        answer(&relay, signed_request(SECRET, &huge)).await,
        (413, r#"{"error":"payload_too_large"}"#.into())
    );

    let mut bad_base64 = signed_request(SECRET, &body);
    bad_base64.is_base64_encoded = true;
    assert_eq!(
        answer(&relay, bad_base64).await,
        (400, r#"{"error":"invalid_body"}"#.into())
    );

    assert!(bridge.delivered_events().await.is_empty());
    assert!(bridge.notices().await.is_empty(), "none of these is signed");
}

#[tokio::test]
async fn an_event_over_the_bus_limit_is_stored_and_referenced() {
    let bridge = Bridge::create(SECRET).await;
    let mut config = bridge.config.clone();
    config.max_entry_bytes = 2048;
    let relay = Relay::from_sdk_config(&bridge.sdk, config);
    let body = String::from_utf8(fixture("events/invoice.paid.json")).unwrap();

    let (status, _) = answer(&relay, signed_request(SECRET, &body)).await;

    assert_eq!(status, 200);
    let delivered = bridge.delivered_events().await;
    assert_eq!(delivered.len(), 1);
    let detail = &delivered[0]["detail"];
    assert_eq!(delivered[0]["detail-type"], "invoice.paid");
    assert_eq!(detail["object"], "stripe_bridge.claim_check");
    assert_eq!(detail["id"], "evt_1QfB7kLkdIwHu7ix3Z4nR8sT");
    assert_eq!(detail["claim_check"]["bucket"], bridge.bucket.as_str());
    let stored = aws_sdk_s3::Client::new(&bridge.sdk)
        .get_object()
        .bucket(&bridge.bucket)
        .key(detail["claim_check"]["key"].as_str().unwrap())
        .send()
        .await
        .expect("the claim-checked event is in S3")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(
        stored.as_ref(),
        body.as_bytes(),
        "S3 holds the event byte for byte"
    );
    assert_eq!(detail["claim_check"]["size"], body.len());
}

/// A Stripe event of `event_type` padded with a long description to about `size` bytes.
fn event_of_size(id: &str, size: usize) -> String {
    let small = stripe::event(id, "invoice.paid");
    let padding = "x".repeat(size.saturating_sub(small.len() + 20));
    small.replacen(
        r#""object":"invoice"}"#,
        &format!(r#""object":"invoice","description":"{padding}"}}"#),
        1,
    )
}

/// With the stack's settings, an event the bus would take but an SNS topic or a state
/// machine would not (300 KB: over their 256 KiB) goes as a claim check, so that every
/// target can take what the bus carries; a 100 KB one goes as it is.
#[tokio::test]
async fn an_event_too_large_for_some_targets_goes_as_a_claim_check_by_default() {
    let bridge = Bridge::create(SECRET).await;
    let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let large = event_of_size("evt_tooLargeForSns", 300_000);
    let small = event_of_size("evt_fitsEveryTarget", 100_000);
    assert!(large.len() > 256 * 1024 && large.len() < 1024 * 1024);

    assert_eq!(answer(&relay, signed_request(SECRET, &large)).await.0, 200);
    assert_eq!(answer(&relay, signed_request(SECRET, &small)).await.0, 200);

    let delivered = bridge.delivered_events().await;
    let object = |id: &str| {
        delivered
            .iter()
            .find(|e| e["detail"]["id"] == id)
            .map(|e| e["detail"]["object"].clone())
    };
    assert_eq!(
        object("evt_tooLargeForSns"),
        Some("stripe_bridge.claim_check".into())
    );
    assert_eq!(object("evt_fitsEveryTarget"), Some("event".into()));
}

#[tokio::test]
async fn a_new_secret_verifies_without_a_redeploy() {
    let bridge = Bridge::create(SECRET).await;
    let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let first = stripe::event("evt_beforeRoll", "invoice.paid");
    assert_eq!(answer(&relay, signed_request(SECRET, &first)).await.0, 200);

    // Stripe's "roll secret": the new one signs from now on, the old one stays valid a while.
    let expires = aws_smithy_types::DateTime::from_secs(stripe::now() + 3600)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    bridge
        .set_secret(&format!(
            r#"{{"version":1,"secrets":[{{"secret":"whsec_rolledSecret0123456789"}},{{"secret":"{SECRET}","expires":"{expires}"}}]}}"#
        ))
        .await;
    let second = stripe::event("evt_afterRoll", "invoice.paid");
    assert_eq!(
        answer(
            &relay,
            signed_request("whsec_rolledSecret0123456789", &second)
        )
        .await
        .0,
        200
    );
    let third = stripe::event("evt_oldStillValid", "invoice.paid");
    assert_eq!(answer(&relay, signed_request(SECRET, &third)).await.0, 200);

    let ids: Vec<String> = bridge
        .delivered_events()
        .await
        .iter()
        .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["evt_beforeRoll", "evt_afterRoll", "evt_oldStillValid"]
    );
}
