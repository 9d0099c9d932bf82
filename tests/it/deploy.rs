//! `deploy` and `remove` through the real binary, against the emulator: what they make is
//! checked through each service's own API, and what `remove` leaves is nothing.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::support::aws::{
    artifacts_bucket_of, bucket_exists, bus_exists, relay_function, sdk_config, stack_status,
    unique,
};
use crate::support::cli::{artifact, cli, cli_on_terminal, cli_with_env, deploy, json, stderr};

#[tokio::test]
async fn deploy_makes_the_bridge_and_a_second_deploy_changes_nothing() {
    let name = unique("dep");
    let (zip_path, zip) = artifact("v1");

    let first = json(&deploy(&name, &zip_path));
    assert_eq!(first["changed"], true);
    let outputs = &first["outputs"];
    assert!(
        outputs["WebhookUrl"]
            .as_str()
            .unwrap()
            .ends_with("/webhook")
    );
    assert_eq!(outputs["EventBusName"], name.as_str());

    let sdk = sdk_config().await;
    let function = relay_function(&sdk, &name)
        .await
        .expect("the relay function exists");
    let config = function.configuration().unwrap();
    let env = config.environment().unwrap().variables().unwrap();
    assert_eq!(env["EVENT_BUS_NAME"], name);
    assert_eq!(
        env["SIGNING_SECRET_ARN"],
        outputs["SigningSecretArn"].as_str().unwrap()
    );
    assert_eq!(
        env["FAILURE_TOPIC_ARN"],
        outputs["FailureTopicArn"].as_str().unwrap()
    );
    assert_eq!(
        config.code_sha256(),
        Some(lambda_code_sha256(&zip).as_str())
    );
    assert!(bus_exists(&sdk, &name).await, "the bus is missing");
    aws_sdk_sns::Client::new(&sdk)
        .get_topic_attributes()
        .topic_arn(outputs["FailureTopicArn"].as_str().unwrap())
        .send()
        .await
        .expect("the failure topic exists");

    let again = deploy(&name, &zip_path);
    assert_eq!(json(&again)["changed"], false);
    assert!(
        stderr(&again).contains("No changes to deploy"),
        "{}",
        stderr(&again)
    );

    let removed = cli(&["--name", &name, "remove", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
}

#[tokio::test]
async fn a_code_change_updates_the_function() {
    let name = unique("code");
    let (v1, _) = artifact("v1");
    let (v2, zip2) = artifact("v2");
    json(&deploy(&name, &v1));
    let second = json(&deploy(&name, &v2));
    assert_eq!(second["changed"], true);

    let sdk = sdk_config().await;
    let function = relay_function(&sdk, &name).await.unwrap();
    assert_eq!(
        function.configuration().unwrap().code_sha256(),
        Some(lambda_code_sha256(&zip2).as_str())
    );
    // `status` names the code the relay runs, as `package` prints it (hex); this CLI
    // has built no relay in the tests' cache, so it cannot say whether it is its own.
    let status = cli_with_env(
        &["--name", &name, "--output", "json", "status"],
        &[("XDG_CACHE_HOME", "/nonexistent/stripe-bridge-test")],
    );
    let relay = json(&status)["relay"].clone();
    assert_eq!(
        relay["deployed_sha256"].as_str(),
        Some(hex::encode(Sha256::digest(&zip2)).as_str()),
        "{relay}"
    );
    assert!(relay["current"].is_null(), "{relay}");
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

#[tokio::test]
async fn remove_leaves_nothing_behind_and_the_name_can_be_used_again() {
    let name = unique("rm");
    let (zip_path, _) = artifact("v1");
    let deployed = json(&deploy(&name, &zip_path));
    let outputs = deployed["outputs"].clone();

    // Without --yes and without a terminal to ask on, nothing is removed.
    let unasked = cli(&["--name", &name, "remove"]);
    assert_eq!(unasked.status.code(), Some(1));
    assert!(
        stderr(&unasked).contains("pass --yes"),
        "{}",
        stderr(&unasked)
    );
    let sdk = sdk_config().await;
    relay_function(&sdk, &name)
        .await
        .expect("the bridge is still there");

    let removed = cli(&["--name", &name, "--output", "json", "remove", "--yes"]);
    assert_eq!(json(&removed)["removed"], true);

    let stacks = aws_sdk_cloudformation::Client::new(&sdk)
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await;
    assert!(
        stacks.is_err()
            || stacks
                .unwrap()
                .stacks()
                .iter()
                .all(|s| s.stack_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE"))
    );
    assert!(
        relay_function(&sdk, &name).await.is_none(),
        "the function is left"
    );
    assert!(!bus_exists(&sdk, &name).await, "the bus is left");
    assert!(
        aws_sdk_secretsmanager::Client::new(&sdk)
            .describe_secret()
            .secret_id(outputs["SigningSecretArn"].as_str().unwrap())
            .send()
            .await
            .is_err(),
        "the secret is left"
    );
    for bucket in [
        artifacts_bucket_of(&name),
        outputs["ClaimCheckBucketName"].as_str().unwrap().to_owned(),
    ] {
        assert!(
            !bucket_exists(&sdk, &bucket).await,
            "bucket {bucket} is left"
        );
    }

    let again = cli(&["--name", &name, "remove", "--yes"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to remove"));

    json(&deploy(&name, &zip_path));
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// Lambda's `CodeSha256` of a zip: base64 of its SHA-256.
fn lambda_code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_creates_nothing() {
    let (zip_path, _) = artifact("v1");
    let zip = zip_path.to_str().unwrap();
    let sdk = sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);

    let bad_name = cli(&["--name", "Not_Valid", "deploy", "--artifact", zip]);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(
        stderr(&bad_name).contains("is not a bridge name"),
        "{}",
        stderr(&bad_name)
    );

    let name = unique("bad");
    let region = cli_with_env(
        &[
            "--name",
            &name,
            "--region",
            "us-moon-1",
            "deploy",
            "--artifact",
            zip,
        ],
        &[],
    );
    assert_eq!(region.status.code(), Some(1));
    assert!(
        stderr(&region).contains("`us-moon-1` is not an AWS region"),
        "{}",
        stderr(&region)
    );

    let no_credentials = cli_with_env(
        &["--name", &name, "deploy", "--artifact", zip],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    );
    assert_eq!(no_credentials.status.code(), Some(1));
    assert!(
        stderr(&no_credentials).contains("aws configure"),
        "{}",
        stderr(&no_credentials)
    );

    let not_a_zip = std::env::temp_dir().join(unique("notzip"));
    std::fs::write(&not_a_zip, b"hello").unwrap();
    let bad_artifact = cli(&[
        "--name",
        &name,
        "deploy",
        "--artifact",
        not_a_zip.to_str().unwrap(),
    ]);
    assert_eq!(bad_artifact.status.code(), Some(1));
    assert!(
        stderr(&bad_artifact).contains("is not a zip file"),
        "{}",
        stderr(&bad_artifact)
    );

    // None of it made a stack or a bucket.
    assert!(
        cfn.describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .is_err()
    );
    assert!(!bucket_exists(&sdk, &artifacts_bucket_of(&name)).await);
}

#[tokio::test]
async fn a_stack_that_stripe_bridge_did_not_make_is_left_alone() {
    let name = unique("theirs");
    let sdk = sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    cfn.create_stack()
        .stack_name(&name)
        .template_body(r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#)
        .send()
        .await
        .unwrap();
    let (zip_path, _) = artifact("v1");

    for args in [
        vec![
            "--name",
            name.as_str(),
            "deploy",
            "--artifact",
            zip_path.to_str().unwrap(),
        ],
        vec!["--name", name.as_str(), "remove", "--yes"],
    ] {
        let output = cli(&args);
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("was not made by stripe-bridge"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(stack_status(&name).await, "CREATE_COMPLETE");
}

#[tokio::test]
async fn confirm_asks_first_and_a_no_leaves_nothing() {
    let name = unique("ask");
    let (zip_path, _) = artifact("v1");
    let args = [
        "--name",
        name.as_str(),
        "deploy",
        "--confirm",
        "--artifact",
        zip_path.to_str().unwrap(),
    ];

    let declined = cli_on_terminal(&args, "n\n");
    let screen = String::from_utf8_lossy(&declined.stdout);
    assert!(declined.status.success(), "{screen}");
    assert!(
        screen.contains("+ Add") && screen.contains("RelayFunction"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!(
            "Deploy these changes to {name} in us-east-1? [y/N]"
        )),
        "{screen}"
    );
    assert!(screen.contains("Nothing deployed."), "{screen}");
    let sdk = sdk_config().await;
    assert!(
        aws_sdk_cloudformation::Client::new(&sdk)
            .describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .is_err(),
        "a declined first deploy left its stack"
    );
    assert!(!bucket_exists(&sdk, &artifacts_bucket_of(&name)).await);

    let accepted = cli_on_terminal(&args, "y\n");
    let screen = String::from_utf8_lossy(&accepted.stdout);
    assert!(accepted.status.success(), "{screen}");
    assert!(screen.contains("Deployed"), "{screen}");
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// The relay's concurrency cap: 25 by default where the account can spare it (the
/// emulator's account has AWS's default limit, 1000), and a cap that would leave less
/// than the 100 unreserved concurrency AWS keeps is refused before anything is made.
/// (An account too small for the default gets no cap and a warning: `aws::concurrency`
/// tests that decision.)
#[tokio::test]
async fn the_relay_is_capped_where_the_account_can_spare_it() {
    let (zip, _) = artifact("v1");
    let zip = zip.to_str().unwrap();
    let greedy = unique("greedy");
    let refused = cli(&[
        "--name",
        &greedy,
        "deploy",
        "--artifact",
        zip,
        "--max-concurrency",
        "950",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("AWS keeps at least 100"),
        "{}",
        stderr(&refused)
    );
    let made = aws_sdk_cloudformation::Client::new(&sdk_config().await)
        .describe_stacks()
        .stack_name(&greedy)
        .send()
        .await;
    assert!(made.is_err(), "a refused deploy made a stack");

    let name = unique("capped");
    assert!(deploy(&name, std::path::Path::new(zip)).status.success());
    let stack = aws_sdk_cloudformation::Client::new(&sdk_config().await)
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    let cap = stack.stacks()[0]
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("ReservedConcurrency"))
        .and_then(|p| p.parameter_value())
        .map(str::to_owned);
    assert_eq!(cap.as_deref(), Some("25"));
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}
