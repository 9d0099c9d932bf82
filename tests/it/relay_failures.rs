//! When AWS fails the relay, Stripe gets a 5xx, so it retries: never a 2xx before the
//! event is on the bus. A failing failure topic changes no answer.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use relay_function::lambda;
use relay_function::relay::Relay;
use relay_function::secret_store::{SecretStore, SecretTiming};
use relay_function::signing_secrets::PLACEHOLDER;

use crate::support::aws::{Bridge, sdk_config_at};
use crate::support::stripe::{self, SECRET, invocation, signed_request};

const BUDGET: Duration = Duration::from_secs(10);

/// An endpoint on 127.0.0.1 where nothing listens.
fn closed_endpoint() -> String {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

async fn status(relay: &Relay, body: &str, secret: &str) -> i64 {
    lambda::handle(relay, invocation(signed_request(secret, body), BUDGET))
        .await
        .status_code
}

#[tokio::test]
async fn an_unreachable_eventbridge_gets_a_5xx_and_a_notice() {
    let bridge = Bridge::create(SECRET).await;
    let mut relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let unreachable = sdk_config_at(&closed_endpoint()).await;
    relay.delivery.client = relay_function::bus_delivery::eventbridge_client(&unreachable);

    let body = stripe::event("evt_unreachableBus", "invoice.paid");
    assert_eq!(status(&relay, &body, SECRET).await, 500);

    let notices = bridge.notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["reason"], "relay_failed");
    assert_eq!(notices[0]["event_id"], "evt_unreachableBus");
    assert_eq!(notices[0]["event_id_verified"], true);
    assert_eq!(notices[0]["event_type"], "invoice.paid");
    let detail = notices[0]["detail"].as_str().unwrap();
    assert!(detail.contains("attempt(s)"), "{detail}");
}

#[tokio::test]
async fn a_bus_that_refuses_the_event_gets_a_5xx_at_once() {
    let bridge = Bridge::create(SECRET).await;
    let mut config = bridge.config.clone();
    config.event_bus = "no-such-bus".into();
    let relay = Relay::from_sdk_config(&bridge.sdk, config);

    let body = stripe::event("evt_noBus", "invoice.paid");
    assert_eq!(status(&relay, &body, SECRET).await, 500);
    assert_eq!(bridge.notice_reasons().await, ["relay_failed"]);
}

#[tokio::test]
async fn unreachable_secrets_manager_gets_a_5xx_never_a_4xx() {
    let bridge = Bridge::create(SECRET).await;
    let mut relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    relay.secrets = SecretStore::secrets_manager(
        aws_sdk_secretsmanager::Client::new(&sdk_config_at(&closed_endpoint()).await),
        &bridge.secret_arn,
        Default::default(),
    );

    let body = stripe::event("evt_noSecrets", "invoice.paid");
    assert_eq!(status(&relay, &body, SECRET).await, 500);
    assert!(bridge.delivered_events().await.is_empty());
    assert_eq!(bridge.notice_reasons().await, ["secret_unavailable"]);
}

#[tokio::test]
async fn a_bridge_without_a_secret_yet_gets_a_5xx_so_stripe_retries_after_set_secret() {
    let bridge = Bridge::create(PLACEHOLDER).await;
    let mut relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    // As if Stripe's retry came after the relay's re-read interval.
    relay.secrets = SecretStore::secrets_manager(
        aws_sdk_secretsmanager::Client::new(&bridge.sdk),
        &bridge.secret_arn,
        SecretTiming {
            mismatch_refresh_interval: Duration::ZERO,
            ..SecretTiming::default()
        },
    );

    let body = stripe::event("evt_beforeSetSecret", "invoice.paid");
    assert_eq!(status(&relay, &body, SECRET).await, 500);
    assert_eq!(bridge.notice_reasons().await, ["secret_not_configured"]);

    bridge.set_secret(SECRET).await;
    assert_eq!(status(&relay, &body, SECRET).await, 200);
    assert_eq!(bridge.delivered_events().await.len(), 1);
}

#[tokio::test]
async fn an_oversized_event_without_a_bucket_gets_a_5xx() {
    let bridge = Bridge::create(SECRET).await;
    let mut config = bridge.config.clone();
    config.max_entry_bytes = 1024;
    config.claim_check_bucket = None;
    let relay = Relay::from_sdk_config(&bridge.sdk, config);

    let body = stripe::event("evt_tooBig", "invoice.paid").replace("in_1", &"x".repeat(2000));
    assert_eq!(status(&relay, &body, SECRET).await, 500);
    assert!(bridge.delivered_events().await.is_empty());
    assert_eq!(bridge.notice_reasons().await, ["entry_too_large"]);
}

#[tokio::test]
async fn a_failing_failure_topic_changes_no_answer() {
    let bridge = Bridge::create(SECRET).await;
    let mut config = bridge.config.clone();
    config.failure_topic_arn = Some("arn:aws:sns:us-east-1:123456789012:gone".into());
    let mut relay = Relay::from_sdk_config(&bridge.sdk, config.clone());
    let body = stripe::event("evt_snsDown", "invoice.paid");

    // A topic that does not exist, then an SNS that does not answer.
    assert_eq!(status(&relay, &body, "whsec_wrong").await, 400);
    assert_eq!(status(&relay, &body, SECRET).await, 200);
    relay.notices = Some(relay_function::failure_notices::FailureNotices::new(
        aws_sdk_sns::Client::new(&sdk_config_at(&closed_endpoint()).await),
        config.failure_topic_arn.clone().unwrap(),
        config.bridge_name.clone(),
        Duration::ZERO,
    ));
    assert_eq!(status(&relay, &body, "whsec_wrong").await, 400);
    assert_eq!(status(&relay, &body, SECRET).await, 200);
    assert_eq!(bridge.delivered_events().await.len(), 2);
}

/// A placeholder or blank secret typed into the console verifies nothing, even what is
/// signed with it: the relay answers 500 `secret_invalid` (so Stripe retries until the
/// secret is fixed) and sends a notice, and nothing reaches the bus.
#[tokio::test]
async fn a_placeholder_secret_gets_a_5xx_and_a_notice_and_nothing_is_relayed() {
    for (weak, id) in [
        ("changeme", "evt_placeholderSecret"),
        ("   ", "evt_blankSecret"),
        (
            r#"{"version":1,"secrets":[{"secret":"whsec_short"}]}"#,
            "evt_shortSecret",
        ),
    ] {
        let bridge = Bridge::create(weak).await;
        let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
        let body = stripe::event(id, "invoice.paid");
        let signing = weak.trim_start_matches(r#"{"version":1,"secrets":[{"secret":""#);
        let signing = signing.trim_end_matches(r#""}]}"#);
        assert_eq!(status(&relay, &body, signing).await, 500, "{weak}");
        assert_eq!(bridge.notice_reasons().await, ["secret_invalid"], "{weak}");
        assert!(bridge.delivered_events().await.is_empty(), "{weak}");
    }
}
