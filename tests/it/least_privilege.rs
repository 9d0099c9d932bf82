//! Least privilege: no IAM statement stripe-bridge writes grants anything on a `*`
//! resource: not the stack's roles and policies (in every variant of the template), not
//! the delivery roles add-rule makes, not the policy the README gives the deploying
//! identity (but for `sts:GetCallerIdentity`, which has no resource to name).

use serde_json::Value;

use crate::support::aws::{role_name, rule_targets, sdk_config, state_machine, unique};
use crate::support::cli::{cli, cli_json, deployed_bridge};
use crate::support::evidence;

/// Every statement in `document`, wherever it is nested, but a KMS key policy's: there
/// the resource is always `*`, which means the key itself ("Key policies in AWS KMS",
/// AWS KMS Developer Guide); `a_key_policy_names_only_its_own_key` checks those.
fn statements(document: &Value, found: &mut Vec<Value>) {
    match document {
        Value::Object(map) if map.get("Type").and_then(Value::as_str) == Some("AWS::KMS::Key") => {}
        Value::Object(map) => {
            if let Some(list) = map.get("Statement") {
                match list {
                    Value::Array(items) => found.extend(items.iter().cloned()),
                    single => found.push(single.clone()),
                }
            }
            map.values().for_each(|v| statements(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| statements(v, found)),
        _ => {}
    }
}

/// The statement's resources that are a wildcard on their own.
fn wildcard_resources(statement: &Value) -> Vec<String> {
    let resources = match &statement["Resource"] {
        Value::Array(items) => items.clone(),
        Value::Null => vec![],
        one => vec![one.clone()],
    };
    resources
        .iter()
        .filter_map(Value::as_str)
        .filter(|r| *r == "*" || r.ends_with(":*") && r.matches(':').count() < 5)
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn no_statement_stripe_bridge_writes_has_a_wildcard_resource() {
    let mut checked = 0;
    let mut offending = Vec::new();

    // The template, as rendered, in both forms.
    for format in ["json", "yaml"] {
        let output = cli(&["template", "--format", format]);
        assert!(output.status.success());
        let template: Value = if format == "json" {
            serde_json::from_slice(&output.stdout).unwrap()
        } else {
            serde_yaml::from_slice(&output.stdout).unwrap()
        };
        let mut found = Vec::new();
        statements(&template, &mut found);
        assert!(
            found.len() >= 6,
            "{format}: only {} statements",
            found.len()
        );
        for statement in &found {
            checked += 1;
            if !wildcard_resources(statement).is_empty() {
                offending.push(format!("template ({format}): {statement}"));
            }
        }
    }

    // The delivery roles add-rule makes, as IAM holds them.
    let name = unique("least");
    deployed_bridge(&name, "whsec_leastPrivilege0123456789abcdefAB");
    let sdk = sdk_config().await;
    let machine = state_machine(&sdk, &format!("{name}-m")).await;
    let rule = cli_json(
        &name,
        &["add-rule", "--type", "invoice.paid", "--target", &machine],
    )["rule"]
        .as_str()
        .unwrap()
        .to_owned();
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = role_name(&rule_targets(&sdk, &name, &rule).await[0]);
    let mut role_statements = Vec::new();
    for policy in iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap()
        .policy_names()
    {
        let document = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name(policy)
            .send()
            .await
            .unwrap()
            .policy_document;
        let decoded = percent_encoding::percent_decode_str(&document)
            .decode_utf8()
            .unwrap();
        statements(
            &serde_json::from_str(&decoded).unwrap(),
            &mut role_statements,
        );
    }
    assert!(!role_statements.is_empty());
    for statement in &role_statements {
        checked += 1;
        if !wildcard_resources(statement).is_empty() {
            offending.push(format!("delivery role {role}: {statement}"));
        }
    }

    // The deploying identity's policy in the README.
    let policy: Value =
        serde_json::from_str(include_str!("../../templates/deployer-policy.json")).unwrap();
    let mut found = Vec::new();
    statements(&policy, &mut found);
    for statement in &found {
        checked += 1;
        // Actions IAM authorises only on `*` (they name no resource); each such
        // statement says so in its Sid, and parliament checks that it is so
        // (deployer_policy.rs).
        let sid = statement["Sid"].as_str().unwrap_or_default();
        if sid == "WhoAmI" || sid.ends_with("TakeNoResource") || sid.ends_with("TakesNoResource") {
            continue;
        }
        // CreateKey and CreateSecret name no resource of the bridge's either; the
        // deployer may only make keys and secrets tagged as a bridge's, and may use only
        // such keys and secrets (CloudFormation names the secret, so its name cannot
        // be scoped).
        // The AWS managed keys CloudFormation's read handlers decrypt with (Lambda's
        // and EventBridge's) cannot be named in advance: only through those services.
        if statement["Action"] == "kms:Decrypt"
            && statement["Condition"]["StringLike"]["kms:ViaService"].is_array()
        {
            continue;
        }
        if let Some(tag) = statement["Condition"]["Null"]
            .as_object()
            .and_then(|null| null.iter().next())
        {
            assert!(
                tag.0.ends_with("Tag/stripe-bridge:bridge") && tag.1 == "false",
                "{statement}"
            );
            continue;
        }
        if !wildcard_resources(statement).is_empty() {
            offending.push(format!("deployer policy: {statement}"));
        }
    }

    assert!(offending.is_empty(), "wildcard resources: {offending:#?}");
    cli(&["--name", &name, "remove", "--yes"]);
    evidence::record(
        "least_privilege",
        serde_json::json!({ "iam_statements_checked": checked, "wildcard_resources": offending.len() }),
    );
}

/// Nothing forged inside the account: the bridge's bus denies `events:PutEvents` of
/// `source: Stripe` to every principal but the relay's role; with `--bus default` the
/// account's own policy is left alone, and `deploy` says what that means.
#[tokio::test]
async fn only_the_relay_may_put_stripe_events_on_the_bridges_bus() {
    let name = unique("buspolicy");
    deployed_bridge(&name, "whsec_busPolicySecret0123456789abcdefAB");
    let sdk = sdk_config().await;
    let role = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name(format!("{name}-relay"))
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let policy = aws_sdk_eventbridge::Client::new(&sdk)
        .describe_event_bus()
        .name(&name)
        .send()
        .await
        .unwrap()
        .policy
        .expect("the bus has a resource policy");
    let policy: Value = serde_json::from_str(&policy).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Sid"], "OnlyTheRelayPutsStripeEvents");
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Principal"], "*");
    assert_eq!(statement["Action"], "events:PutEvents");
    assert_eq!(
        statement["Condition"]["StringEquals"]["events:source"],
        "Stripe"
    );
    assert_eq!(
        statement["Condition"]["Bool"]["aws:PrincipalIsAWSService"],
        "false"
    );
    assert_eq!(
        statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
        serde_json::json!([role, crate::support::aws::TEST_CALLER]),
        "the exceptions are not the relay's role and the publisher the deploy allowed"
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());

    let on_default = unique("onddefault");
    let (zip, _) = crate::support::cli::artifact("v1");
    let deployed = cli(&[
        "--name",
        &on_default,
        "deploy",
        "--bus",
        "default",
        "--artifact",
        zip.to_str().unwrap(),
    ]);
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let warned = String::from_utf8_lossy(&deployed.stderr);
    assert!(
        warned.contains("warning: with --bus default") && warned.contains("`source: Stripe`"),
        "{warned}"
    );
    let default_policy = aws_sdk_eventbridge::Client::new(&sdk)
        .describe_event_bus()
        .name("default")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap_or_default();
    assert!(
        !default_policy.contains("OnlyTheRelayPutsStripeEvents"),
        "{default_policy}"
    );
    assert!(
        cli(&["--name", &on_default, "remove", "--yes"])
            .status
            .success()
    );
    evidence::record(
        "bus_policy",
        serde_json::json!({ "present": true, "default_bus_touched": false }),
    );
}

/// The failure topic's key: the account administers it (the default key policy, which
/// lets IAM policies grant its use), and CloudWatch and EventBridge may only encrypt
/// and decrypt with it, so that alarms reach the encrypted topic.
#[test]
fn a_key_policy_names_only_its_own_key_and_lets_alarms_publish() {
    let output = cli(&["template", "--format", "json"]);
    let template: Value = serde_json::from_slice(&output.stdout).unwrap();
    let key = &template["Resources"]["NoticeKey"]["Properties"];
    assert_eq!(key["EnableKeyRotation"], true);
    let policy = &key["KeyPolicy"]["Statement"];
    let services = policy
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "AlarmsAndEventBridgePublishToTheTopic")
        .expect("a statement for the publishing services");
    assert_eq!(
        services["Principal"]["Service"],
        serde_json::json!(["cloudwatch.amazonaws.com", "events.amazonaws.com"])
    );
    assert_eq!(
        services["Action"],
        serde_json::json!(["kms:Decrypt", "kms:GenerateDataKey*"])
    );
    for statement in policy.as_array().unwrap() {
        assert_eq!(statement["Resource"], "*", "{statement}");
    }
    assert_eq!(
        template["Resources"]["FailureTopic"]["Properties"]["KmsMasterKeyId"],
        serde_json::json!({"Ref": "NoticeKey"}),
        "alias/aws/sns would refuse the alarms"
    );
}
