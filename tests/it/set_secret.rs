//! `set-secret` through the binary against the emulator, and the deployed relay's view of
//! it: real signed requests through the relay library, reading the bridge's own secret.

use std::time::Duration;

use relay_function::lambda;
use relay_function::relay::Relay;
use relay_function::relay_config::RelayConfig;

use crate::support::aws::{relay_sdk_of, unique};
use crate::support::cli::{artifact, cli, cli_json, cli_with_input, deploy, json, stderr};
use crate::support::stripe::{self, invocation, signed_request};

const FIRST: &str = "whsec_firstSecret0123456789abcdefABCDEF";
const SECOND: &str = "whsec_secondSecret0123456789abcdefABCDEF";
const THIRD: &str = "whsec_thirdSecret0123456789abcdefABCDEF";

fn set_secret(name: &str, secret: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--name", name, "set-secret", "-"];
    args.extend_from_slice(extra);
    cli_with_input(&args, &[], secret)
}

/// What the deployed relay answers a delivery signed with `secret`, as a freshly started
/// relay of the bridge would (a cold start reads the secret anew).
async fn answer(outputs: &serde_json::Value, secret: &str) -> i64 {
    let config = RelayConfig::new(
        outputs["EventBusName"].as_str().unwrap(),
        outputs["SigningSecretArn"].as_str().unwrap(),
    );
    let relay = Relay::from_sdk_config(&relay_sdk_of(outputs).await, config);
    let body = stripe::event("evt_setSecret", "invoice.paid");
    lambda::handle(
        &relay,
        invocation(signed_request(secret, &body), Duration::from_secs(10)),
    )
    .await
    .status_code
}

#[tokio::test]
async fn set_secret_rotates_and_the_relay_follows_without_a_redeploy() {
    let name = unique("sec");
    let (zip, _) = artifact("v1");
    let outputs = json(&deploy(&name, &zip))["outputs"].clone();

    assert_eq!(
        answer(&outputs, FIRST).await,
        500,
        "no secret yet: Stripe must retry"
    );
    assert!(set_secret(&name, FIRST, &[]).status.success());
    assert_eq!(answer(&outputs, FIRST).await, 200);

    // Stripe's "roll secret": both verify until the old one expires.
    let rolled = set_secret(&name, SECOND, &["--keep-previous", "1h"]);
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert_eq!(answer(&outputs, FIRST).await, 200);
    assert_eq!(answer(&outputs, SECOND).await, 200);
    let shown = cli_json(&name, &["set-secret", "--show"]);
    let secrets = shown["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0]["secret"], "whsec_…CDEF");
    assert!(secrets[0]["expires"].is_null());
    assert!(secrets[1]["expires"].as_str().unwrap().ends_with('Z'));

    // Without --keep-previous, the old ones stop at once.
    assert!(set_secret(&name, THIRD, &[]).status.success());
    assert_eq!(answer(&outputs, SECOND).await, 400);
    assert_eq!(answer(&outputs, FIRST).await, 400);
    assert_eq!(answer(&outputs, THIRD).await, 200);

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// An account endpoint and a Connect endpoint, each with its own permanent secret: both
/// verify, rolling one leaves the other, and `--show` lists both by endpoint.
#[tokio::test]
async fn two_endpoints_secrets_verify_side_by_side() {
    let name = unique("twosec");
    let (zip, _) = artifact("v1");
    let outputs = json(&deploy(&name, &zip))["outputs"].clone();
    assert!(set_secret(&name, FIRST, &[]).status.success());
    let added = set_secret(&name, SECOND, &["--add", "--endpoint", "connect"]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(answer(&outputs, FIRST).await, 200);
    assert_eq!(answer(&outputs, SECOND).await, 200);

    let shown = cli_json(&name, &["set-secret", "--show"]);
    let listed: Vec<(&str, &str, bool)> = shown["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["endpoint"].as_str().unwrap(),
                e["secret"].as_str().unwrap(),
                e["expires"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("main", "whsec_…CDEF", true),
            ("connect", "whsec_…CDEF", true)
        ]
    );

    // Adding again to an endpoint that has one is refused, and changes nothing.
    let again = set_secret(&name, THIRD, &["--add", "--endpoint", "connect"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("endpoint connect already has a signing secret"),
        "{}",
        stderr(&again)
    );
    assert_eq!(answer(&outputs, THIRD).await, 400);

    // Rolling the main endpoint's secret leaves Connect's in force.
    assert!(set_secret(&name, THIRD, &[]).status.success());
    assert_eq!(answer(&outputs, FIRST).await, 400);
    assert_eq!(answer(&outputs, SECOND).await, 200);
    assert_eq!(answer(&outputs, THIRD).await, 200);

    let forgotten = cli(&[
        "--name",
        &name,
        "set-secret",
        "--remove",
        "--endpoint",
        "connect",
    ]);
    assert!(forgotten.status.success(), "{}", stderr(&forgotten));
    assert_eq!(answer(&outputs, SECOND).await, 400);

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

#[tokio::test]
async fn no_output_ever_holds_a_whole_secret() {
    let name = unique("mask");
    let (zip, _) = artifact("v1");
    json(&deploy(&name, &zip));
    let mut outputs = vec![
        set_secret(&name, FIRST, &[]),
        set_secret(&name, SECOND, &["--keep-previous", "24h"]),
        set_secret(&name, SECOND, &[]),
        cli(&["--name", &name, "set-secret", "--show"]),
        cli(&["--name", &name, "--output", "json", "set-secret", "--show"]),
        cli(&["--name", &name, "-v", "set-secret", "--show"]),
    ];
    outputs.push(set_secret(&name, "sk_live_0123456789abcdefghij", &[]));
    for output in &outputs {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        );
        for secret in [
            FIRST,
            SECOND,
            "sk_live_0123456789abcdefghij",
            "0123456789abcdef",
        ] {
            assert!(!all.contains(secret), "the output shows a secret: {all}");
        }
    }
    assert!(String::from_utf8_lossy(&outputs[3].stdout).contains("whsec_…CDEF"));
    assert!(
        stderr(&outputs[2]).contains("nothing changed"),
        "{}",
        stderr(&outputs[2])
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

#[tokio::test]
async fn bad_secrets_and_missing_bridges_are_refused_before_anything_changes() {
    let name = unique("refuse");
    let before = set_secret(&name, FIRST, &[]);
    assert_eq!(before.status.code(), Some(1));
    assert!(
        stderr(&before).contains(&format!(
            "error: no bridge {name} in us-east-1\nhint: run `stripe-bridge --name {name} deploy` first"
        )),
        "{}",
        stderr(&before)
    );

    let (zip, _) = artifact("v1");
    let outputs = json(&deploy(&name, &zip))["outputs"].clone();
    assert!(set_secret(&name, FIRST, &[]).status.success());
    for (bad, hint) in [
        ("sk_live_0123456789abcdefghij", "you pasted an API key"),
        ("rk_live_0123456789abcdefghij", "you pasted an API key"),
        ("not-a-secret", "start with whsec_"),
    ] {
        let refused = set_secret(&name, bad, &[]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(stderr(&refused).contains(hint), "{}", stderr(&refused));
    }
    // A usage error, as every flag's bad value is.
    let too_long = set_secret(&name, SECOND, &["--keep-previous", "48h"]);
    assert_eq!(too_long.status.code(), Some(2));
    assert!(
        stderr(&too_long).contains("longer than 24h"),
        "{}",
        stderr(&too_long)
    );
    // The secret is still the first one.
    assert_eq!(answer(&outputs, FIRST).await, 200);
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}
