//! Dead letters by default, `dead-letters`, `--redeliver` and `add-rule --backfill`
//! (issue 11). moto never dead-letters a failed delivery, so the queue is seeded with
//! messages shaped as AWS documents them ("Using dead-letter queues to process
//! undelivered events"): the undelivered event as the body, and `RULE_ARN`,
//! `TARGET_ARN`, `ERROR_CODE` and `ERROR_MESSAGE` as message attributes.

use aws_sdk_sqs::types::MessageAttributeValue;
use serde_json::{Value, json};

use crate::support::aws::{drain, queue, rule_arn, rule_targets, unique};
use crate::support::cli::{add_rule, bridge_and_queue, cli, cli_json, cli_with_env, json, stderr};
use crate::support::dev_server::DevServer;
use crate::support::fault_proxy::{Fault, FaultProxy, Plan};
use crate::support::{emulator, evidence};

const SECRET: &str = "whsec_deadLetterSecret0123456789abcdefAB";

async fn dead_letter(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    event: &Value,
    rule_arn: &str,
    target_arn: &str,
) {
    let text = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .unwrap()
    };
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(event.to_string())
        .message_attributes("RULE_ARN", text(rule_arn))
        .message_attributes("TARGET_ARN", text(target_arn))
        .message_attributes("ERROR_CODE", text("NO_PERMISSIONS"))
        .message_attributes(
            "ERROR_MESSAGE",
            text("Access denied. Check the target's resource policy."),
        )
        .message_attributes("EXHAUSTED_RETRY_CONDITION", text("MaximumRetryAttempts"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_delivery_is_listed_redelivered_to_its_rule_only_and_then_deleted() {
    let name = unique("dlq");
    let (sdk, (consumer_url, consumer_arn)) = bridge_and_queue(&name, SECRET, "consumer").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (other_url, other_arn) = queue(&sqs, &format!("{name}-other")).await;
    let outputs = cli_json(&name, &["status"]);
    let dlq_url = outputs["dead_letters"]["queue_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let add = |target: &str, extra: &[&str]| {
        let mut args = vec![
            "--name",
            &name,
            "--output",
            "json",
            "add-rule",
            "--type",
            "invoice.paid",
            "--target",
            target,
        ];
        args.extend_from_slice(extra);
        let added = cli(&args);
        assert!(added.status.success(), "{}", stderr(&added));
        (json(&added), stderr(&added))
    };
    let name_of = |added: &Value| added["rule"].as_str().unwrap().to_owned();
    let rule = name_of(&add(&consumer_arn, &[]).0);
    let (other, warned) = add(&other_arn, &["--no-dlq"]);
    let other_rule = name_of(&other);
    assert!(warned.contains("warning: with --no-dlq"), "{warned}");

    // Every target gets the bridge's dead-letter queue and stated retries, unless told.
    let target = &rule_targets(&sdk, &name, &rule).await[0];
    let dlq_arn = target
        .dead_letter_config()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    assert!(
        dlq_arn.ends_with(&format!(":{name}-dead-letters")),
        "{dlq_arn}"
    );
    let retry = target.retry_policy().unwrap();
    assert_eq!(retry.maximum_retry_attempts(), Some(185));
    assert_eq!(retry.maximum_event_age_in_seconds(), Some(86_400));
    assert!(
        rule_targets(&sdk, &name, &other_rule).await[0]
            .dead_letter_config()
            .is_none()
    );

    // One event through `dev`, delivered to both consumers; say the first one failed.
    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0"]);
    let sent = cli_json(&name, &["test", "--url", &dev.url, "--yes"]);
    let event_id = sent["event_id"].as_str().unwrap().to_owned();
    let delivered = drain(&sdk, &consumer_url).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(drain(&sdk, &other_url).await.len(), 1);
    let arn = rule_arn(&sdk, &name, &rule).await;
    dead_letter(&sqs, &dlq_url, &delivered[0], &arn, &consumer_arn).await;
    // And one from a rule that is not the bridge's: never redelivered, never deleted.
    let foreign = arn.replace(&rule, "someone-elses-rule");
    dead_letter(&sqs, &dlq_url, &delivered[0], &foreign, &consumer_arn).await;

    let listed = cli_json(&name, &["dead-letters"]);
    let letters = listed["dead_letters"].as_array().unwrap();
    assert_eq!(letters.len(), 2, "{listed}");
    let ours = letters.iter().find(|l| l["rule"] == rule.as_str()).unwrap();
    assert_eq!(ours["target"], consumer_arn.as_str());
    assert_eq!(ours["event_id"], event_id.as_str());
    assert_eq!(ours["event_type"], "invoice.paid");
    assert_eq!(ours["error_code"], "NO_PERMISSIONS");
    assert!(ours["time"].is_string());
    // Listing takes nothing away.
    assert_eq!(cli_json(&name, &["status"])["dead_letters"]["waiting"], 2);

    let redelivery = cli(&[
        "--name",
        &name,
        "--output",
        "json",
        "dead-letters",
        "--redeliver",
    ]);
    assert_eq!(
        redelivery.status.code(),
        Some(1),
        "one letter is kept: {}",
        stderr(&redelivery)
    );
    let report: Value = serde_json::from_slice(&redelivery.stdout).unwrap();
    assert_eq!(report["redelivered"], 1, "{report}");
    assert_eq!(report["kept"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        report["kept"][0]["why"]
            .as_str()
            .unwrap()
            .contains("no longer one of the bridge's")
    );

    let again = drain(&sdk, &consumer_url).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["detail"]["id"], event_id.as_str());
    assert!(again[0]["replay-name"].is_string());
    assert!(
        drain(&sdk, &other_url).await.is_empty(),
        "redelivered to another rule"
    );
    let left = cli_json(&name, &["dead-letters"]);
    let left = left["dead_letters"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["rule"], "someone-elses-rule");

    // A new consumer starts from the past: the archive's window, to its rule only.
    // The rule is new: on AWS it and its target's permission take up to a minute to
    // apply, so add-rule does not replay at once; it says when, and with what command.
    let (late_url, late_arn) = queue(&sqs, &format!("{name}-late")).await;
    let (added, said) = add(&late_arn, &["--backfill", "2h"]);
    assert!(said.contains("backfilling from then"), "{said}");
    let later = added["backfill_later"].clone();
    let command = later["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!("stripe-bridge --name {name} replay --from ")),
        "{later}"
    );
    assert!(
        drain(&sdk, &late_url).await.is_empty(),
        "replayed before the rule took effect"
    );
    // As told: after the time it names, the command it printed.
    let after = humantime::parse_rfc3339(later["after"].as_str().unwrap()).unwrap();
    while std::time::SystemTime::now() < after {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut replay = vec!["--output", "json"];
    replay.extend(command.split(' ').skip(1));
    assert_eq!(json(&cli(&replay))["state"], "COMPLETED");
    let late_rule = cli_json(&name, &["list-rules"])["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["targets"][0] == late_arn.as_str());
    assert!(late_rule);
    let backfilled = drain(&sdk, &late_url).await;
    assert_eq!(backfilled.len(), 1, "{backfilled:?}");
    assert_eq!(backfilled[0]["detail"]["id"], event_id.as_str());
    assert!(
        drain(&sdk, &consumer_url).await.is_empty(),
        "backfilled to an old rule"
    );
    assert!(
        drain(&sdk, &other_url).await.is_empty(),
        "backfilled to an old rule"
    );
    // The same add-rule again finds the rule unchanged: its target has had the window
    // already, so it is not replayed twice; the hint says how to, all the same.
    let (readded, said) = add(&late_arn, &["--backfill", "2h"]);
    assert!(readded["backfill"].is_null(), "{readded}");
    let skipped = readded["backfill_skipped"].as_str().unwrap();
    assert!(
        skipped.starts_with(&format!("stripe-bridge --name {name} replay --from ")),
        "{readded}"
    );
    assert!(
        said.contains("not replaying") && said.contains(skipped),
        "{said}"
    );
    assert!(
        drain(&sdk, &late_url).await.is_empty(),
        "backfilled the same window twice"
    );

    evidence::record(
        "dead_letters",
        json!({
            "dead_lettered": 2,
            "redelivered_to_their_rule": again.len(),
            "left_in_the_queue": left.len(),
            "delivered_to_other_rules": 0,
            "backfilled_to_the_new_rule": backfilled.len(),
        }),
    );
    drop(dev);
    let removed = cli(&["--name", &name, "remove", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
}

/// A deployed bridge with a consumer's queue and a rule to it: the SQS client, the
/// dead-letter queue's URL, the consumer's ARN and the rule's ARN.
async fn bridge_with_a_rule(name: &str) -> (aws_sdk_sqs::Client, String, String, String) {
    let (sdk, (_, consumer_arn)) = bridge_and_queue(name, SECRET, "consumer").await;
    let dlq_url = cli_json(name, &["status"])["dead_letters"]["queue_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let rule = add_rule(name, "invoice.paid", &consumer_arn);
    let arn = rule_arn(&sdk, name, &rule).await;
    (aws_sdk_sqs::Client::new(&sdk), dlq_url, consumer_arn, arn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_error_part_way_through_redelivery_hides_no_letter() {
    let name = unique("dlq-fault");
    let (sqs, dlq_url, consumer_arn, arn) = bridge_with_a_rule(&name).await;
    let envelope = json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "invoice.paid",
        "source": "Stripe",
        "time": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "detail": {"id": "evt_deadLetterFault", "object": "event", "type": "invoice.paid"},
    });
    dead_letter(&sqs, &dlq_url, &envelope, &arn, &consumer_arn).await;

    // The letters are held out of sight, then EventBridge fails (500s, past the SDK's
    // retries) when redelivery looks the rule up.
    let proxy = FaultProxy::start(emulator::endpoint(), 15).await;
    proxy.set_plan(Some(Plan {
        operation: "AWSEvents.DescribeRule",
        rate: 1.0,
        faults: vec![Fault::ServerError],
        hang: std::time::Duration::ZERO,
    }));
    let (endpoint, bridge) = (proxy.endpoint.clone(), name.clone());
    // Off the runtime's threads: the proxy runs on them.
    let redelivery = tokio::task::spawn_blocking(move || {
        cli_with_env(
            &[
                "--name",
                &bridge,
                "--output",
                "json",
                "dead-letters",
                "--redeliver",
            ],
            &[("AWS_ENDPOINT_URL", &endpoint)],
        )
    })
    .await
    .unwrap();
    assert!(
        proxy
            .counts
            .faulted
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the fault was never reached: {}",
        stderr(&redelivery)
    );
    assert_eq!(redelivery.status.code(), Some(1), "{}", stderr(&redelivery));
    let report: Value = serde_json::from_slice(&redelivery.stdout).unwrap();
    assert_eq!(report["redelivered"], 0, "{report}");
    let kept = report["kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{report}");
    assert_eq!(kept[0]["event_id"], "evt_deadLetterFault");
    assert!(!kept[0]["why"].as_str().unwrap().is_empty(), "{report}");

    // Given back at once: listed now, not two hours from now.
    listed_then_removed(&name, 1);
}

/// A letter is deleted only once a replay provably covered it: one whose event reached
/// the bus seconds ago (EventBridge may not have archived it yet) and one whose event
/// predates the archive (it never held it) are not replayed, and stay, with why.
#[tokio::test]
async fn letters_the_archive_cannot_hold_yet_or_never_held_survive_redelivery() {
    let name = unique("dlq-young");
    let (sqs, dlq_url, consumer_arn, arn) = bridge_with_a_rule(&name).await;
    let letter = |id: &str, time: String| {
        json!({
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1603",
            "detail-type": "invoice.paid",
            "source": "Stripe",
            "time": time,
            "detail": {"id": id, "object": "event", "type": "invoice.paid"},
        })
    };
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    dead_letter(
        &sqs,
        &dlq_url,
        &letter("evt_secondsOld", now),
        &arn,
        &consumer_arn,
    )
    .await;
    let before = "2026-01-01T00:00:00Z".to_owned();
    dead_letter(
        &sqs,
        &dlq_url,
        &letter("evt_beforeTheArchive", before),
        &arn,
        &consumer_arn,
    )
    .await;

    // AWS's own archive delay, not the emulator's.
    let redelivery = cli_with_env(
        &[
            "--name",
            &name,
            "--output",
            "json",
            "dead-letters",
            "--redeliver",
        ],
        &[("STRIPE_BRIDGE_AWS_DELAY_SECONDS", "")],
    );
    assert_eq!(redelivery.status.code(), Some(1), "{}", stderr(&redelivery));
    let report: Value = serde_json::from_slice(&redelivery.stdout).unwrap();
    assert_eq!(report["redelivered"], 0, "{report}");
    assert_eq!(report["replays"], json!([]), "{report}");
    let why = |id: &str| {
        report["kept"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["event_id"] == id)
            .map(|k| k["why"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{id} was not kept: {report}"))
    };
    assert!(
        why("evt_secondsOld").contains("may not have archived it yet; redeliver it after"),
        "{report}"
    );
    assert!(
        why("evt_beforeTheArchive").contains("the archive never held it"),
        "{report}"
    );
    listed_then_removed(&name, 2);
}

/// `dead-letters` lists exactly `letters` letters; then the bridge is removed.
fn listed_then_removed(name: &str, letters: usize) {
    let listed = cli_json(name, &["dead-letters"]);
    assert_eq!(
        listed["dead_letters"].as_array().unwrap().len(),
        letters,
        "{listed}"
    );
    let removed = cli(&["--name", name, "remove", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
}
