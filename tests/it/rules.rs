//! `add-rule`, `list-rules`, `remove-rule` through the binary against the emulator: real
//! events from the relay reach a queue through a rule, and only the events it selects.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use relay_function::lambda;
use relay_function::relay::Relay;
use relay_function::relay_config::RelayConfig;

use crate::support::aws::{
    relay_sdk_of, role_exists, role_for, role_name, rule_arn, rule_targets, sdk_config,
    state_machine, unique,
};
use crate::support::cli::{cli, cli_json, deployed_bridge, stderr};
use crate::support::stripe::{self, invocation, signed_request};

const SECRET: &str = "whsec_rulesSecret0123456789abcdefABCDEF";
const USERS_STATEMENT: &str = r#"{"Sid":"UsersOwn","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sqs:ReceiveMessage","Resource":"*"}"#;

/// A deployed bridge with its signing secret set; its stack outputs.
fn bridge(name: &str) -> serde_json::Value {
    deployed_bridge(name, SECRET)
}

/// A queue whose policy already holds a statement of the user's; its URL and ARN.
async fn users_queue(name: &str) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{USERS_STATEMENT}]}}"#);
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .unwrap();
    (url, arn)
}

async fn queue_policy(url: &str) -> String {
    aws_sdk_sqs::Client::new(&sdk_config().await)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default()
        .remove(&QueueAttributeName::Policy)
        .unwrap_or_default()
}

/// Sends a signed event of `event_type` through a freshly started relay of the bridge.
async fn send(outputs: &serde_json::Value, event_type: &str) {
    let body = stripe::event(
        &format!("evt_{}", event_type.replace(['.', '_'], "")),
        event_type,
    );
    send_body(outputs, &body).await;
}

/// Sends `body`, signed, through a freshly started relay of the bridge.
async fn send_body(outputs: &serde_json::Value, body: &str) {
    let config = RelayConfig::new(
        outputs["EventBusName"].as_str().unwrap(),
        outputs["SigningSecretArn"].as_str().unwrap(),
    );
    let relay = Relay::from_sdk_config(&relay_sdk_of(outputs).await, config);
    let answer = lambda::handle(
        &relay,
        invocation(signed_request(SECRET, body), Duration::from_secs(10)),
    )
    .await;
    assert_eq!(answer.status_code, 200);
}

/// The detail-types of the messages in the queue now (and takes them out).
async fn received(url: &str) -> Vec<String> {
    received_field(url, "detail-type").await
}

/// One top-level field of each message in the queue now (and takes them out), sorted.
async fn received_field(url: &str, field: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let mut types = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            types.sort();
            return types;
        }
        for m in messages {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            types.push(body.pointer(field).map_or_else(
                || body[field].as_str().unwrap().to_owned(),
                |v| v.as_str().unwrap().to_owned(),
            ));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_rule_routes_the_types_it_selects_to_a_queue_until_it_is_removed() {
    let name = unique("route");
    let outputs = bridge(&name);
    let (url, arn) = users_queue(&format!("{name}-invoices")).await;

    let added = cli_json(
        &name,
        &["add-rule", "--type", "invoice.*", "--target", &arn],
    );
    assert_eq!(added["changed"], true);
    assert_eq!(added["rule"], format!("{name}-invoice-all"));
    assert_eq!(
        added["pattern"],
        serde_json::json!({"source": ["Stripe"], "detail-type": [{"prefix": "invoice."}]})
    );

    send(&outputs, "invoice.paid").await;
    send(&outputs, "customer.created").await;
    assert_eq!(received(&url).await, ["invoice.paid"]);

    // The user's own statement survives beside the rule's.
    let policy = queue_policy(&url).await;
    assert!(
        policy.contains("UsersOwn")
            && policy.contains(&format!("stripe-bridge-{name}-invoice-all")),
        "{policy}"
    );

    let again = cli(&[
        "--name",
        &name,
        "add-rule",
        "--type",
        "invoice.*",
        "--target",
        &arn,
    ]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing changed"));

    let listed = cli_json(&name, &["list-rules"]);
    assert_eq!(listed["rules"].as_array().unwrap().len(), 1);
    assert_eq!(listed["rules"][0]["targets"][0], arn.as_str());

    let removed = cli(&[
        "--name",
        &name,
        "remove-rule",
        &format!("{name}-invoice-all"),
    ]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    send(&outputs, "invoice.paid").await;
    assert!(
        received(&url).await.is_empty(),
        "events still arrive after remove-rule"
    );
    let policy = queue_policy(&url).await;
    assert!(
        policy.contains("UsersOwn") && !policy.contains("stripe-bridge-"),
        "{policy}"
    );

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// A Connect platform routes each connected account's events on their own: a snapshot
/// event by its `account`, a thin event by its `context`.
#[tokio::test]
async fn a_rule_with_accounts_takes_only_those_connected_accounts_events() {
    let name = unique("acct");
    let outputs = bridge(&name);
    let (url, arn) = users_queue(&format!("{name}-acct-a")).await;
    let added = cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "invoice.paid",
            "--type",
            "v1.billing.meter.error_report_triggered",
            "--account",
            "acct_A1",
            "--target",
            &arn,
        ],
    );
    // One snapshot type and one thin type: both fields, either may match.
    assert_eq!(
        added["pattern"]["$or"],
        serde_json::json!([{ "detail": { "account": ["acct_A1"] } }, { "detail": { "context": ["acct_A1"] } }])
    );
    let snapshot = |id: &str, account: Option<&str>| {
        let body = stripe::event(id, "invoice.paid");
        match account {
            Some(account) => body.replacen(
                r#""object":"event","#,
                &format!(r#""object":"event","account":"{account}","#),
                1,
            ),
            None => body,
        }
    };
    let thin = |id: &str, account: &str| {
        format!(
            r#"{{"id":"{id}","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","livemode":false,"created":"2026-12-02T10:00:00.000Z","context":"{account}","related_object":{{"id":"mtr_1","type":"billing.meter","url":"/v1/billing/meters/mtr_1"}}}}"#
        )
    };
    send_body(&outputs, &snapshot("evt_ofA", Some("acct_A1"))).await;
    send_body(&outputs, &snapshot("evt_ofB", Some("acct_B2"))).await;
    send_body(&outputs, &snapshot("evt_platform", None)).await;
    send_body(&outputs, &thin("evt_thinOfA", "acct_A1")).await;
    send_body(&outputs, &thin("evt_thinOfB", "acct_B2")).await;

    assert_eq!(
        received_field(&url, "/detail/id").await,
        ["evt_ofA", "evt_thinOfA"]
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

#[tokio::test]
async fn a_lambda_target_gets_a_permission_scoped_to_the_rule_and_remove_takes_it_back() {
    let name = unique("lam");
    bridge(&name);
    let function = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}-relay");
    let (_, queue) = users_queue(&format!("{name}-dlq")).await;
    cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "invoice.paid",
            "--target",
            &function,
            "--dlq",
            &queue,
            "--max-retries",
            "5",
            "--max-age",
            "1h",
        ],
    );

    let sdk = sdk_config().await;
    let rule_arn = rule_arn(&sdk, &name, &format!("{name}-invoice-paid")).await;
    let policy = aws_sdk_lambda::Client::new(&sdk)
        .get_policy()
        .function_name(format!("{name}-relay"))
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert!(
        policy.contains(&format!("stripe-bridge-{name}-invoice-paid")),
        "{policy}"
    );
    assert!(
        policy.contains("events.amazonaws.com") && policy.contains(&rule_arn),
        "{policy}"
    );
    let targets = rule_targets(&sdk, &name, &format!("{name}-invoice-paid")).await;
    let target = &targets[0];
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(queue.as_str())
    );
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_retry_attempts()),
        Some(5)
    );
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_event_age_in_seconds()),
        Some(3600)
    );

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
    let rules = aws_sdk_eventbridge::Client::new(&sdk)
        .list_rules()
        .event_bus_name(&name)
        .send()
        .await;
    assert!(
        rules.is_err() || rules.unwrap().rules().is_empty(),
        "remove left a rule behind"
    );
}

#[tokio::test]
async fn bad_rules_are_refused_before_anything_is_made() {
    let name = unique("badrule");
    bridge(&name);
    let (_, queue) = users_queue(&format!("{name}-q")).await;
    for (args, expected) in [
        (
            vec!["--type", "invoice.payed", "--target", queue.as_str()],
            "did you mean `invoice.paid`?",
        ),
        (
            vec![
                "--type",
                "invoice.paid",
                "--target",
                "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            ],
            "not a target add-rule supports",
        ),
        (
            vec![
                "--type",
                "invoice.paid",
                "--target",
                "arn:aws:sqs:eu-west-1:123456789012:q",
            ],
            "is in eu-west-1",
        ),
        (
            vec![
                "--type",
                "invoice.paid",
                "--target",
                "arn:aws:sqs:us-east-1:123456789012:no-such-queue",
            ],
            "does not exist",
        ),
        (
            vec!["--type", "invoice.paid", "--target", "not-an-arn"],
            "is not an ARN",
        ),
    ] {
        let mut full = vec!["--name", name.as_str(), "add-rule"];
        full.extend(args);
        let output = cli(&full);
        assert_eq!(output.status.code(), Some(1), "{full:?}");
        assert!(
            stderr(&output).contains(expected),
            "{full:?}: {}",
            stderr(&output)
        );
    }
    let rules = aws_sdk_eventbridge::Client::new(&sdk_config().await)
        .list_rules()
        .event_bus_name(&name)
        .send()
        .await
        .unwrap();
    // The archive's own rule (managed by EventBridge) is the only one on the bus.
    assert!(
        rules.rules().iter().all(|r| r.managed_by().is_some()),
        "a refused add-rule made a rule"
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

#[test]
fn a_valid_rule_for_a_bridge_that_does_not_exist_says_deploy_first() {
    let output = cli(&[
        "--name",
        "no-such-bridge",
        "add-rule",
        "--type",
        "charge.dispute.created",
        "--target",
        "arn:aws:sqs:us-east-1:123456789012:q",
    ]);
    assert!(
        stderr(&output).contains("no bridge no-such-bridge"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn targets_that_need_a_role_get_one_scoped_to_their_rule_and_remove_deletes_it() {
    let name = unique("role");
    bridge(&name);
    let sdk = sdk_config().await;
    let stream = format!("{name}-stream");
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let stream_arn = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .stream_description_summary
        .unwrap()
        .stream_arn;
    let other_bus = aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(format!("{name}-downstream"))
        .send()
        .await
        .unwrap()
        .event_bus_arn
        .unwrap();

    let machine = state_machine(&sdk, &format!("{name}-orders")).await;

    let iam = aws_sdk_iam::Client::new(&sdk);
    let mut roles = Vec::new();
    for (event_type, target, action) in [
        ("invoice.paid", stream_arn.as_str(), "kinesis:PutRecord"),
        ("customer.created", other_bus.as_str(), "events:PutEvents"),
        ("charge.refunded", machine.as_str(), "states:StartExecution"),
    ] {
        cli_json(
            &name,
            &["add-rule", "--type", event_type, "--target", target],
        );
        let rule = format!("{name}-{}", event_type.replace('.', "-"));
        let rule_arn = rule_arn(&sdk, &name, &rule).await;
        let role_name = role_name(&rule_targets(&sdk, &name, &rule).await[0]);

        let role = iam
            .get_role()
            .role_name(&role_name)
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        let trust = decoded(role.assume_role_policy_document().unwrap());
        assert!(
            trust.contains("events.amazonaws.com") && trust.contains(&rule_arn),
            "{trust}"
        );
        let permissions = iam
            .get_role_policy()
            .role_name(&role_name)
            .policy_name("delivery")
            .send()
            .await
            .unwrap();
        let document = decoded(permissions.policy_document());
        assert!(
            document.contains(action) && document.contains(target) && !document.contains("\"*\""),
            "{document}"
        );
        roles.push(role_name);
    }

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
    for role in roles {
        assert!(
            !role_exists(&sdk, &role).await,
            "remove left the delivery role {role}"
        );
    }
}

/// IAM hands policy documents back URL-encoded.
fn decoded(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

/// `add-rule --type invoice.paid --target TARGET EXTRA…`, which must be refused with
/// exit status 1 and an error containing `expected`; the error.
fn add_rule_refused(name: &str, target: &str, extra: &[&str], expected: &str) -> String {
    let mut args = vec![
        "--name",
        name,
        "add-rule",
        "--type",
        "invoice.paid",
        "--target",
        target,
    ];
    args.extend_from_slice(extra);
    let refused = cli(&args);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let error = stderr(&refused);
    assert!(error.contains(expected), "{expected}: {error}");
    error
}

async fn key_policy(kms: &aws_sdk_kms::Client, key: &str) -> String {
    kms.get_key_policy()
        .key_id(key)
        .policy_name("default")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
}

/// A queue encrypted with a key whose policy does not let EventBridge use it would take
/// no event at all: add-rule says so before anything is made, with the statement to add;
/// `--grant-kms` adds it beside the key's own statements, and remove-rule takes it back.
/// A queue under the AWS managed key can never receive, and is refused.
#[tokio::test]
async fn kms_encrypted_targets_are_caught_and_granted_on_request() {
    let name = unique("kms");
    bridge(&name);
    let sdk = sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = |suffix: &'static str, key: String| {
        let sqs = sqs.clone();
        let queue_name = format!("{name}-{suffix}");
        async move {
            sqs.create_queue()
                .queue_name(&queue_name)
                .attributes(QueueAttributeName::KmsMasterKeyId, key)
                .send()
                .await
                .unwrap();
            format!("arn:aws:sqs:us-east-1:123456789012:{queue_name}")
        }
    };
    let sealed = queue("sealed", key.clone()).await;

    let error = add_rule_refused(
        &name,
        &sealed,
        &[],
        "whose key policy does not let EventBridge use it",
    );
    for expected in [
        "--grant-kms",
        "\"events.amazonaws.com\"",
        "\"kms:GenerateDataKey\"",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    assert_eq!(
        cli_json(&name, &["list-rules"])["rules"],
        serde_json::json!([]),
        "nothing was made"
    );

    let granted = cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "invoice.paid",
            "--target",
            &sealed,
            "--grant-kms",
        ],
    );
    let rule = granted["rule"].as_str().unwrap();
    let policy = key_policy(&kms, &key).await;
    assert!(
        policy.contains(&format!("stripe-bridge-{rule}")),
        "{policy}"
    );
    assert!(
        policy.contains("arn:aws:iam::123456789012:root"),
        "the key's own statement stays: {policy}"
    );

    // Changing the rule later (its retries) keeps the key usable: the statement it was
    // given is given again, without --grant-kms a second time.
    let changed = cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "invoice.paid",
            "--target",
            &sealed,
            "--max-retries",
            "5",
        ],
    );
    assert_eq!(changed["changed"], true);
    let policy = key_policy(&kms, &key).await;
    assert!(
        policy.contains(&format!("stripe-bridge-{rule}")),
        "{policy}"
    );

    let removed = cli(&["--name", &name, "remove-rule", rule]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let policy = key_policy(&kms, &key).await;
    assert!(
        !policy.contains(&format!("stripe-bridge-{rule}")),
        "{policy}"
    );
    assert!(
        policy.contains("arn:aws:iam::123456789012:root"),
        "{policy}"
    );

    let managed = queue("managed", "alias/aws/sqs".into()).await;
    add_rule_refused(
        &name,
        &managed,
        &["--grant-kms"],
        "is encrypted with the AWS managed key alias/aws/sqs",
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// `--grant-claim-check` lets the consumer's role read the claim checks, nothing more:
/// a Lambda target's own role, or the role named for a queue's consumer. remove-rule
/// takes it back; a queue without a named role is refused.
#[tokio::test]
async fn claim_check_readers_get_the_prefix_and_lose_it_with_the_rule() {
    let name = unique("ccr");
    let outputs = bridge(&name);
    let bucket = outputs["ClaimCheckBucketName"].as_str().unwrap();
    let sdk = sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}-relay");
    let function_role = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let role_name = |arn: &str| arn.rsplit('/').next().unwrap().to_owned();
    let inline = |role: String, rule: String| {
        let iam = iam.clone();
        async move {
            iam.get_role_policy()
                .role_name(role)
                .policy_name(format!("stripe-bridge-{rule}"))
                .send()
                .await
                .ok()
                .map(|p| p.policy_document)
        }
    };

    let added = cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "invoice.paid",
            "--target",
            &function,
            "--grant-claim-check",
        ],
    );
    let rule = added["rule"].as_str().unwrap().to_owned();
    let document = inline(role_name(&function_role), rule.clone())
        .await
        .expect("the function's role may read claim checks");
    let document = decoded(&document);
    assert!(document.contains("s3:GetObject"), "{document}");
    assert!(
        document.contains(&format!("arn:aws:s3:::{bucket}/claim-check/*")),
        "{document}"
    );
    let listed = cli_json(&name, &["list-rules"]);
    assert_eq!(
        listed["rules"][0]["claim_check_reader"].as_str(),
        Some(function_role.as_str())
    );

    // A queue's consumer is named; without a name there is no role to find.
    let (_, queue) = users_queue(&format!("{name}-consumer")).await;
    add_rule_refused(
        &name,
        &queue,
        &["--grant-claim-check"],
        "name the consumer's role",
    );
    let consumer = role_for(&sdk, &format!("{name}-consumer"), "lambda.amazonaws.com").await;
    let added = cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "invoice.paid",
            "--target",
            &queue,
            "--grant-claim-check",
            &consumer,
        ],
    );
    let queue_rule = added["rule"].as_str().unwrap().to_owned();
    assert!(
        inline(role_name(&consumer), queue_rule.clone())
            .await
            .is_some()
    );

    assert!(
        cli(&["--name", &name, "remove-rule", &rule])
            .status
            .success()
    );
    assert!(inline(role_name(&function_role), rule).await.is_none());
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
    assert!(
        inline(role_name(&consumer), queue_rule).await.is_none(),
        "remove takes back every rule's grant"
    );
}
