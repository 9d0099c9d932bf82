//! Nobody but the relay puts `source: Stripe` events on a deployed bridge's bus: its
//! policy, as the emulator evaluates it on PutEvents and on replays as AWS documents
//! them (tests/emulator/bus_policies.py), with the relay run as its role, as Lambda
//! runs it. `dev` publishes only where `deploy --allow-publisher` let its caller.

use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::support::aws::{TEST_CALLER, as_relay_role, as_role, drain, queue, sdk_config, unique};
use crate::support::cli::{self, add_rule, artifact, cli, cli_json, cli_with_input, json, stderr};
use crate::support::dev_server::DevServer;

const SECRET: &str = "whsec_busPolicySecret0123456789abcdefABCD";

/// What PutEvents answered for one entry: its error code, or None when it was put.
async fn put(sdk: &SdkConfig, bus: &str, source: &str) -> Option<String> {
    let answer = aws_sdk_eventbridge::Client::new(sdk)
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source(source)
                .detail_type("invoice.paid")
                .detail(r#"{"id":"evt_policy","object":"event","type":"invoice.paid"}"#)
                .build(),
        )
        .send()
        .await
        .expect("PutEvents answers");
    answer.entries()[0].error_code().map(str::to_owned)
}

fn deployed(name: &str, extra: &[&str]) -> serde_json::Value {
    let (zip, _) = artifact("policy");
    json(&cli::deploy_with(name, &zip, extra))["outputs"].clone()
}

#[tokio::test]
async fn only_the_relay_role_puts_stripe_events_on_the_bridges_bus() {
    let sdk = sdk_config().await;
    let name = unique("stripe-policy");
    let outputs = deployed(&name, &[]);
    let bus = outputs["EventBusName"].as_str().unwrap();

    let relay = as_relay_role(&sdk, &name).await;
    assert_eq!(put(&relay, bus, "Stripe").await, None);

    let refused = Some("NotAuthorizedForSourceException".to_owned());
    // The account's own administrator (the tests' default identity) is refused too:
    // the Deny overrides every Allow.
    assert_eq!(put(&sdk, bus, "Stripe").await, refused);
    // So is another role of the account, whatever its own policies allow.
    let other =
        crate::support::aws::role_for(&sdk, &unique("stripe-other"), "lambda.amazonaws.com").await;
    assert_eq!(
        put(&as_role(&sdk, &other).await, bus, "Stripe").await,
        refused
    );
    // Only `source: Stripe` is reserved.
    assert_eq!(put(&sdk, bus, "acme.billing").await, None);
}

#[tokio::test]
async fn eventbridges_own_replays_are_not_refused() {
    let sdk = sdk_config().await;
    let name = unique("stripe-policy");
    let outputs = deployed(&name, &[]);
    let bus = outputs["EventBusName"].as_str().unwrap().to_owned();
    let since = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let relay = as_relay_role(&sdk, &name).await;
    assert_eq!(put(&relay, &bus, "Stripe").await, None);

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (queue_url, queue_arn) = queue(&sqs, &format!("{name}-replayed")).await;
    let rule = add_rule(&name, "invoice.paid", &queue_arn);
    assert!(drain(&sdk, &queue_url).await.is_empty());

    let replayed = cli_json(&name, &["replay", "--from", &since, "--rule", &rule]);
    assert_eq!(replayed["state"], "COMPLETED", "{replayed}");
    let arrived = drain(&sdk, &queue_url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["source"], "Stripe");
    assert_eq!(arrived[0]["detail"]["id"], "evt_policy");
}

#[tokio::test]
async fn dev_refuses_at_start_unless_its_caller_is_an_allowed_publisher() {
    let sdk = sdk_config().await;
    let name = unique("stripe-policy");
    deployed(&name, &[]);
    let set = cli_with_input(&["--name", &name, "set-secret", "-"], &[], SECRET);
    assert!(set.status.success(), "{}", stderr(&set));

    let refused = cli(&["--name", &name, "dev", "--port", "0"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let text = stderr(&refused);
    assert!(
        text.contains(&format!(
            "{TEST_CALLER} may not put Stripe events on bridge {name}'s bus"
        )) && text.contains(&format!(
            "stripe-bridge --name {name} deploy --allow-publisher {TEST_CALLER}"
        )) && text.contains("--bus default"),
        "{text}"
    );

    // Allowed, the local relay's events arrive as the deployed relay's do. (A bridge of
    // its own: the emulator does not apply a change of parameters alone to a stack's
    // resources, which AWS does.)
    let name = unique("stripe-policy");
    let bus = deployed(&name, &["--allow-publisher", TEST_CALLER])["EventBusName"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = cli_with_input(&["--name", &name, "set-secret", "-"], &[], SECRET);
    assert!(set.status.success(), "{}", stderr(&set));
    let (queue_url, queue_arn) =
        queue(&aws_sdk_sqs::Client::new(&sdk), &format!("{name}-dev")).await;
    add_rule(&name, "invoice.paid", &queue_arn);
    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0"]);
    let sent = cli_json(&name, &["test", "--url", &dev.url, "--yes"]);
    assert_eq!(sent["status"], 200, "{sent}");
    let arrived = drain(&sdk, &queue_url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["source"], "Stripe");

    // Anyone else is still refused.
    let other =
        crate::support::aws::role_for(&sdk, &unique("stripe-other"), "lambda.amazonaws.com").await;
    assert_eq!(
        put(&as_role(&sdk, &other).await, &bus, "Stripe")
            .await
            .as_deref(),
        Some("NotAuthorizedForSourceException")
    );
    drop(dev);
}

#[test]
fn a_role_session_or_a_malformed_publisher_is_refused_with_the_fix() {
    let session = "arn:aws:sts::123456789012:assumed-role/ops/alice";
    let refused = cli(&["deploy", "--allow-publisher", session]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("name its role instead: arn:aws:iam::123456789012:role/ops"),
        "{}",
        stderr(&refused)
    );
    let on_default = cli(&[
        "deploy",
        "--bus",
        "default",
        "--allow-publisher",
        TEST_CALLER,
    ]);
    assert_eq!(on_default.status.code(), Some(1));
    assert!(
        stderr(&on_default).contains("nothing to allow on the default bus"),
        "{}",
        stderr(&on_default)
    );
}
