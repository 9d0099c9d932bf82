//! Nothing left behind: after deploy, set-secret, rules to every kind of target and an
//! interrupted delivery probe, `remove` leaves no trace of the bridge in any service the
//! emulator has: no stack, bucket, function, role, log group, API, secret, topic,
//! subscription, bus, rule or queue, and no statement in the user's own resource
//! policies. The user's own resources stay.

use std::process::Command;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::aws::{queue, role_for, rule_to, sdk_config, state_machine, unique};
use crate::support::cli::{bridge_and_queue, cli, cli_json, deployed_bridge, json, stderr};
use crate::support::emulator;
use crate::support::evidence;

const SECRET: &str = "whsec_leftBehindSecret0123456789abcdefAB";

/// Everything the emulator holds, by kind (tests/emulator/inventory.py).
fn inventory() -> Value {
    let output = Command::new(emulator::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/emulator/inventory.py"
        ))
        .arg(emulator::endpoint())
        .output()
        .expect("run the inventory");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The entries of `inventory` that mention any of `marks`, by kind.
fn traces(inventory: &Value, marks: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (kind, entries) in inventory.as_object().unwrap() {
        for entry in entries.as_array().unwrap() {
            let text = entry.as_str().unwrap_or_default();
            if marks.iter().any(|m| text.contains(m.as_str())) {
                found.push((kind.clone(), text.chars().take(120).collect()));
            }
        }
    }
    found
}

fn hash16(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..16].to_owned()
}

#[tokio::test]
async fn remove_leaves_no_trace_of_the_bridge_in_any_service() {
    let name = unique("gone");
    let user = unique("usr");
    deployed_bridge(&name, SECRET);
    let sdk = sdk_config().await;

    // The user's own targets, one of each kind.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (_, queue_arn) = queue(&sqs, &format!("{user}-queue")).await;
    let (_, dlq_arn) = queue(&sqs, &format!("{user}-dlq")).await;
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name(format!("{user}-topic"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let role = role_for(&sdk, &format!("{user}-fn"), "lambda.amazonaws.com").await;
    let (zip, _) = crate::support::cli::artifact("user-function");
    let function = aws_sdk_lambda::Client::new(&sdk)
        .create_function()
        .function_name(format!("{user}-fn"))
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(
                    std::fs::read(&zip).unwrap(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .function_arn
        .unwrap();
    let machine = state_machine(&sdk, &format!("{user}-orders")).await;

    let mut rules = Vec::new();
    for (event_type, target, extra) in [
        ("invoice.paid", queue_arn.as_str(), vec![]),
        ("invoice.voided", topic.as_str(), vec![]),
        (
            "customer.created",
            function.as_str(),
            vec!["--dlq", dlq_arn.as_str()],
        ),
        ("charge.refunded", machine.as_str(), vec![]),
    ] {
        let mut args = vec![
            "--name", &name, "--output", "json", "add-rule", "--type", event_type, "--target",
            target,
        ];
        args.extend(extra);
        rules.push(json(&cli(&args))["rule"].as_str().unwrap().to_owned());
    }
    // A replay, which EventBridge keeps a record of (`remove` cancels one still running).
    let replayed = cli_json(&name, &["replay", "--from", "1s", "--no-wait"]);
    assert!(replayed["name"].as_str().unwrap().starts_with(&name));
    // A delivery probe that was interrupted before it cleaned up leaves its queue.
    sqs.create_queue()
        .queue_name(format!("{name}-probe-0000dead"))
        .tags("stripe-bridge:bridge", &name)
        .tags("stripe-bridge:probe", "true")
        .send()
        .await
        .unwrap();

    // What marks a trace of the bridge: its name (in every name it gives and every
    // statement id), its artifacts bucket, and its rules' delivery roles.
    let mut marks = vec![
        name.clone(),
        format!(
            "stripe-bridge-artifacts-{}",
            hash16(&format!("123456789012/us-east-1/{name}"))
        ),
    ];
    marks.extend(
        rules
            .iter()
            .map(|rule| format!("stripe-bridge-rule-{}", hash16(&format!("{name}/{rule}")))),
    );

    let before = traces(&inventory(), &marks);
    let kinds: std::collections::BTreeSet<&str> = before.iter().map(|(k, _)| k.as_str()).collect();
    for kind in [
        "cloudformation stacks",
        "s3 buckets",
        "lambda functions",
        "iam roles",
        "logs log groups",
        "apigateway apis",
        "secretsmanager secrets",
        "sns topics",
        "eventbridge buses",
        "eventbridge rules",
        "sqs queues",
        "sqs queue policies",
        "sns topic policies",
        "lambda function policies",
        "eventbridge archives",
        "cloudwatch alarms",
        "kms keys",
        "kms aliases",
    ] {
        assert!(
            kinds.contains(kind),
            "the inventory sees no {kind} of the bridge: {before:?}"
        );
    }

    let removed = cli(&["--name", &name, "remove", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));

    let after = inventory();
    let left = traces(&after, &marks);
    assert!(left.is_empty(), "left behind: {left:?}");
    // The user's own resources are still there.
    for mine in [&queue_arn, &dlq_arn, &topic, &function, &machine] {
        let short = mine.rsplit([':', '/']).next().unwrap();
        assert!(
            after.to_string().contains(short) || mine == &machine,
            "{mine} was deleted"
        );
    }
    let policy = sqs
        .get_queue_attributes()
        .queue_url(
            sqs.get_queue_url()
                .queue_name(format!("{user}-queue"))
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap(),
        )
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    assert!(!format!("{policy:?}").contains("stripe-bridge-"));

    evidence::record(
        "left_behind",
        json!({
            "services_inventoried": after.as_object().unwrap().len(),
            "bridge_resources_before_remove": before.len(),
            "kinds_before_remove": kinds.len(),
            "rule_target_kinds": 4,
            "left_after_remove": left.len(),
        }),
    );
}

/// Switching the bus while rules are on the old one is refused (it left rules, roles and
/// policy statements behind before); and `remove` finds the bridge's rules on every bus,
/// by their tag, and takes back what they were given.
#[tokio::test]
async fn switching_the_bus_keeps_the_rules_and_remove_finds_them_on_any_bus() {
    let name = unique("switch");
    let (sdk, (queue_url, queue_arn)) = bridge_and_queue(&name, SECRET, "q").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let added = cli(&[
        "--name",
        &name,
        "add-rule",
        "--type",
        "invoice.paid",
        "--target",
        &queue_arn,
    ]);
    assert!(added.status.success(), "{}", stderr(&added));

    let (zip, _) = crate::support::cli::artifact("v1");
    let switch = cli(&[
        "--name",
        &name,
        "deploy",
        "--bus",
        "default",
        "--artifact",
        zip.to_str().unwrap(),
    ]);
    assert_eq!(switch.status.code(), Some(1));
    let text = stderr(&switch);
    assert!(
        text.contains(&format!(
            "has 1 rule(s) on bus {name} ({name}-invoice-paid)"
        )) && text.contains("would leave them behind")
            && text.contains("hint: remove them first"),
        "{text}"
    );
    let status: Value =
        serde_json::from_slice(&cli(&["--name", &name, "--output", "json", "status"]).stdout)
            .unwrap();
    assert_eq!(status["event_bus"], name.as_str(), "the bus changed anyway");

    // A rule an earlier version left on the default bus after such a switch, with its
    // statement in the queue's policy.
    let orphan = format!("{name}-orphan");
    let orphan_arn = rule_to(&sdk, "default", &orphan, &queue_arn, Some(&name)).await;
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": format!("stripe-bridge-{orphan}"), "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": orphan_arn}}
    }]});
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .unwrap();

    let removed = cli(&["--name", &name, "remove", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(
        stderr(&removed).contains(&format!("Removed rule {orphan} from bus default")),
        "{}",
        stderr(&removed)
    );
    let left: Vec<_> = traces(&inventory(), &[format!("{name}-"), orphan_arn])
        .into_iter()
        // The user's own queue stays; only a statement of the bridge's in it would count.
        .filter(|(_, entry)| {
            !entry.contains(&format!("{name}-q")) || entry.contains("stripe-bridge-")
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    evidence::record(
        "bus_switch",
        json!({
            "switch_refused": switch.status.code() == Some(1),
            "rules_on_another_bus_removed": 1,
            "left_after_remove": left.len(),
        }),
    );
}
