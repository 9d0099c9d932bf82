//! AWS's propagation delays, as the emulator compresses them (tests/emulator/delays.py),
//! and EventBridge's deliveries to queues as their policies allow them, with dead letters
//! for the rest (tests/emulator/queue_deliveries.py): each fails a test the way AWS
//! would, and the CLI copes without sleeping.

use std::process::Stdio;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::{DeadLetterConfig, PutEventsRequestEntry, Target};
use serde_json::Value;

use crate::support::aws::{allow_eventbridge, drain, queue, sdk_config_at, unique};
use crate::support::cli::{artifact, command_as, run_with_input, stderr};
use crate::support::dev_server::DevServer;
use crate::support::emulator::{self, settle_at};

async fn put_stripe_event(sdk: &SdkConfig, bus: &str, id: &str) {
    let answer = aws_sdk_eventbridge::Client::new(sdk)
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source("Stripe")
                .detail_type("invoice.paid")
                .detail(format!(
                    r#"{{"id":"{id}","object":"event","type":"invoice.paid"}}"#
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.failed_entry_count(), 0, "{answer:?}");
}

/// A bus with a rule to `target`, with `dead_letters` as its dead-letter queue if given.
async fn bus_and_rule(
    sdk: &SdkConfig,
    name: &str,
    target: &str,
    dead_letters: Option<&str>,
) -> String {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events.create_event_bus().name(name).send().await.unwrap();
    let rule = events
        .put_rule()
        .name("all-stripe")
        .event_bus_name(name)
        .event_pattern(r#"{"source":["Stripe"]}"#)
        .send()
        .await
        .unwrap()
        .rule_arn
        .unwrap();
    let mut target = Target::builder().id("queue").arn(target);
    if let Some(arn) = dead_letters {
        target = target.dead_letter_config(DeadLetterConfig::builder().arn(arn).build());
    }
    events
        .put_targets()
        .rule("all-stripe")
        .event_bus_name(name)
        .targets(target.build().unwrap())
        .send()
        .await
        .unwrap();
    rule
}

#[tokio::test]
async fn a_new_rule_takes_events_only_once_it_has_taken_effect() {
    let emulator = emulator::start_with(&[
        ("STRIPE_BRIDGE_EMULATOR_RULE_DELAY", "2"),
        ("STRIPE_BRIDGE_EMULATOR_POLICY_DELAY", "0"),
    ]);
    let sdk = sdk_config_at(&emulator.endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = unique("stripe-rule-delay");
    let (url, arn) = queue(&sqs, &format!("{name}-consumer")).await;
    let rule = bus_and_rule(&sdk, &name, &arn, None).await;
    allow_eventbridge(&sdk, &url, &arn, &rule).await;

    put_stripe_event(&sdk, &name, "evt_tooSoon").await;
    assert!(
        drain(&sdk, &url).await.is_empty(),
        "a rule matched before it took effect"
    );
    settle_at(&emulator.endpoint);
    put_stripe_event(&sdk, &name, "evt_inTime").await;
    let arrived = drain(&sdk, &url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["detail"]["id"], "evt_inTime");
}

#[tokio::test]
async fn a_delivery_the_queue_policy_refuses_is_a_dead_letter_until_the_new_policy_applies() {
    let emulator = emulator::start_with(&[
        ("STRIPE_BRIDGE_EMULATOR_RULE_DELAY", "0"),
        ("STRIPE_BRIDGE_EMULATOR_POLICY_DELAY", "2"),
    ]);
    let sdk = sdk_config_at(&emulator.endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = unique("stripe-policy-delay");
    let (url, arn) = queue(&sqs, &format!("{name}-consumer")).await;
    let (dlq_url, dlq_arn) = queue(&sqs, &format!("{name}-dead-letters")).await;
    let rule = bus_and_rule(&sdk, &name, &arn, Some(&dlq_arn)).await;
    allow_eventbridge(&sdk, &dlq_url, &dlq_arn, &rule).await;
    settle_at(&emulator.endpoint);

    // No policy on the consumer's queue: EventBridge may not send there.
    put_stripe_event(&sdk, &name, "evt_noPolicy").await;
    assert!(drain(&sdk, &url).await.is_empty());
    let letters = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let letter = &letters.messages()[0];
    let attribute = |name: &str| {
        letter.message_attributes().unwrap()[name]
            .string_value()
            .unwrap()
            .to_owned()
    };
    assert_eq!(attribute("ERROR_CODE"), "NO_PERMISSIONS");
    assert_eq!(attribute("RULE_ARN"), rule);
    assert_eq!(attribute("TARGET_ARN"), arn);
    let body: Value = serde_json::from_str(letter.body().unwrap()).unwrap();
    assert_eq!(body["detail"]["id"], "evt_noPolicy");

    // The grant, and an event at once: the old policy is still in force.
    allow_eventbridge(&sdk, &url, &arn, &rule).await;
    put_stripe_event(&sdk, &name, "evt_beforeItApplies").await;
    assert!(drain(&sdk, &url).await.is_empty());
    settle_at(&emulator.endpoint);
    put_stripe_event(&sdk, &name, "evt_afterItApplies").await;
    let arrived = drain(&sdk, &url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["detail"]["id"], "evt_afterItApplies");
}

/// `test --expect-delivery` makes its rule and queue and sends at once: without waiting
/// for them to take effect it would report a delivery failure that did not happen.
#[tokio::test]
async fn test_expect_delivery_waits_for_its_rule_to_take_effect() {
    let emulator = emulator::start_with(&[
        ("STRIPE_BRIDGE_EMULATOR_RULE_DELAY", "3"),
        ("STRIPE_BRIDGE_EMULATOR_POLICY_DELAY", "3"),
    ]);
    let name = unique("stripe-probe-delay");
    let run = |args: &[&str]| {
        let mut full = vec!["--name", name.as_str(), "--output", "json"];
        full.extend_from_slice(args);
        command_as(&full, &emulator.endpoint, "testing", "testing")
    };
    let (zip, _) = artifact("probe");
    let deployed = run(&[
        "deploy",
        "--artifact",
        zip.to_str().unwrap(),
        "--allow-publisher",
        crate::support::aws::TEST_CALLER,
    ])
    .output()
    .unwrap();
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let set = run_with_input(
        run(&["set-secret", "-"]),
        "whsec_probeDelaySecret0123456789abcdefAB",
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let mut dev = run(&["dev", "--port", "0"]);
    dev.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let dev = DevServer::of(dev.spawn().unwrap());

    let tested = run(&["test", "--url", &dev.url, "--expect-delivery"])
        .output()
        .unwrap();
    assert!(tested.status.success(), "{}", stderr(&tested));
    assert!(
        stderr(&tested).contains("Waiting for the temporary rule to take effect"),
        "{}",
        stderr(&tested)
    );
    let tested: Value = serde_json::from_slice(&tested.stdout).unwrap();
    assert_eq!(tested["delivered"], true, "{tested}");
}
