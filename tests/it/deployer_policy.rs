//! The deploying identity's policy (`templates/deployer-policy.json`), proven two ways:
//! `parliament` (PyPI) lints it against AWS's own list of actions and resource types,
//! and every command a deployer runs, run as an IAM user holding only that policy
//! against an emulator that enforces IAM, must succeed.
//!
//! What the emulator enforces: moto checks each call's action against the caller's
//! policies once `INITIAL_NO_AUTH_ACTION_COUNT` calls have been made, but not resources
//! or conditions ("TODO add support for the Resource and Condition parts of IAM
//! policies", moto/iam/access_control.py, 5.2.5), and it checks no call CloudFormation
//! makes for the stack. So the run below proves that no action the CLI calls is
//! missing; parliament proves the resources fit each action, and the Sids say why
//! each `*` is there.

use std::process::Stdio;

use serde_json::Value;

use crate::support::aws::{sdk_config_at, unique};
use crate::support::cli::{artifact, command_as, run_with_input, stderr};
use crate::support::dev_server::DevServer;
use crate::support::emulator;

const POLICY: &str = include_str!("../../templates/deployer-policy.json");
const SECRET: &str = "whsec_deployerPolicy0123456789abcdefABCD";

/// Findings parliament is allowed, each for a stated reason.
const ACCEPTED: &[(&str, &str)] = &[
    // KMS authorises CreateAlias, UpdateAlias and DeleteAlias on both the alias and the
    // key ("Controlling access to aliases", AWS KMS Developer Guide). The key half carries
    // the bridge-tag condition and the alias half names the bridge's alias path, so the
    // two halves are two statements, and parliament sees each without the other.
    ("RESOURCE_MISMATCH", "kms:CreateAlias"),
    // CloudFormation's resource schemas name these (the S3 bucket's and the Lambda
    // function's read handlers, the function's create handler), and parliament 1.6.4's
    // list of actions lags AWS's.
    ("UNKNOWN_ACTION", "s3:GetBucketAbac"),
    ("UNKNOWN_ACTION", "lambda:GetFunctionScalingConfig"),
    ("UNKNOWN_ACTION", "lambda:AssociateRuntimeAlias"),
    // Tagging the failure topic's key as CloudFormation creates it needs kms:TagResource
    // "that isn't restricted to particular KMS keys" ("Controlling access to tags", AWS
    // KMS Developer Guide); it is conditioned on the bridge's tag in the request.
    ("RESOURCE_STAR", "kms:TagResource"),
    // CloudFormation's read handlers of the function and the archive decrypt with the
    // AWS managed keys of Lambda and EventBridge, whose ARNs are not known in advance;
    // only through those two services (kms:ViaService).
    ("RESOURCE_STAR", "kms:Decrypt"),
];

#[test]
fn parliament_finds_nothing_wrong_with_the_deployer_policy() {
    let script = r#"
import json, sys
from parliament import analyze_policy_string
policy = analyze_policy_string(sys.stdin.read())
print(json.dumps([{"issue": f.issue, "detail": f.detail} for f in policy.findings], default=str))
"#;
    let output = run_with_input(
        {
            let mut command = std::process::Command::new(emulator::python());
            command.arg("-c").arg(script);
            command
        },
        POLICY,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let unexplained: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            !ACCEPTED.iter().any(|(issue, action)| {
                f["issue"] == *issue && f["detail"].to_string().contains(action)
            })
        })
        .collect();
    assert!(unexplained.is_empty(), "parliament: {unexplained:#?}");
}

/// The policy as moto can enforce it: its actions, on `*`, without conditions (see the
/// module's comment).
fn as_moto_enforces_it() -> String {
    let mut policy: Value = serde_json::from_str(POLICY).unwrap();
    for statement in policy["Statement"].as_array_mut().unwrap() {
        statement["Resource"] = "*".into();
        statement.as_object_mut().unwrap().remove("Condition");
    }
    policy.to_string()
}

#[tokio::test]
async fn a_deployer_holding_only_the_policy_can_run_every_command() {
    // The first calls, unauthenticated: the deployer and a consumer's queue. Every call
    // after these must be allowed by the deployer's policies.
    let emulator = emulator::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "5")]);
    let sdk = sdk_config_at(&emulator.endpoint).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let policy_arn = iam
        .create_policy()
        .policy_name("stripe-bridge-deployer")
        .policy_document(as_moto_enforces_it())
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    iam.create_user()
        .user_name("deployer")
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("deployer")
        .policy_arn(policy_arn)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("deployer")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let name = unique("stripe-iam");
    let queue = format!("{name}-billing");
    aws_sdk_sqs::Client::new(&sdk)
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{queue}");

    let as_deployer = |args: &[&str]| {
        let mut full = vec!["--name", name.as_str(), "--output", "json"];
        full.extend_from_slice(args);
        command_as(
            &full,
            &emulator.endpoint,
            key.access_key_id(),
            key.secret_access_key(),
        )
    };
    let succeeds = |what: &str, output: std::process::Output| {
        assert!(
            output.status.success(),
            "{what} as the deployer: {}",
            stderr(&output)
        );
        output
    };

    // Not allowed before: the emulator does enforce.
    let refused = command_as(
        &["--name", &name, "status"],
        &emulator.endpoint,
        "AKIAEXAMPLEUNKNOWN00",
        "not-a-key",
    )
    .output()
    .unwrap();
    assert!(!refused.status.success());

    let (zip, _) = artifact("iam");
    succeeds(
        "deploy",
        as_deployer(&[
            "deploy",
            "--artifact",
            zip.to_str().unwrap(),
            // The deployer runs `dev` on the bridge below.
            "--allow-publisher",
            "arn:aws:iam::123456789012:user/deployer",
        ])
        .output()
        .unwrap(),
    );
    succeeds(
        "set-secret",
        run_with_input(as_deployer(&["set-secret", "-"]), SECRET),
    );
    succeeds(
        "add-rule",
        as_deployer(&["add-rule", "--type", "invoice.paid", "--target", &queue_arn])
            .output()
            .unwrap(),
    );
    let mut dev = as_deployer(&["dev", "--port", "0"]);
    dev.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let dev = DevServer::of(dev.spawn().unwrap());
    let tested = succeeds(
        "test --expect-delivery",
        as_deployer(&["test", "--url", &dev.url, "--expect-delivery", "--yes"])
            .output()
            .unwrap(),
    );
    let tested: Value = serde_json::from_slice(&tested.stdout).unwrap();
    assert_eq!(tested["delivered"], true, "{tested}");
    drop(dev);
    // status reads CloudWatch too; a refusal there would be a `warning:` line.
    let status = succeeds("status", as_deployer(&["status"]).output().unwrap());
    assert!(!stderr(&status).contains("warning"), "{}", stderr(&status));
    succeeds(
        "remove-rule",
        as_deployer(&["remove-rule", &format!("{name}-invoice-paid")])
            .output()
            .unwrap(),
    );
    succeeds(
        "remove",
        as_deployer(&["remove", "--yes"]).output().unwrap(),
    );
}
