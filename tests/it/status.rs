//! `stripe-bridge status` through the binary against the emulator.

use crate::support::aws::{queue, sdk_config, unique};
use crate::support::cli::{add_rule, artifact, cli, cli_with_input, deploy, json, stderr};

const FIRST: &str = "whsec_statusFirst0123456789abcdefABCDEF";
const SECOND: &str = "whsec_statusSecond0123456789abcdefABCDEF";

#[tokio::test]
async fn status_shows_the_stack_the_url_the_secrets_and_the_rules() {
    let name = unique("status");
    let (zip, _) = artifact("v1");
    let outputs = json(&deploy(&name, &zip))["outputs"].clone();

    let read = cli(&["--name", &name, "--output", "json", "status"]);
    assert!(!stderr(&read).contains("warning:"), "{}", stderr(&read));
    let fresh = json(&read);
    assert_eq!(fresh["stack"]["status"], "CREATE_COMPLETE");
    // What keeps events after the bus, and who hears when it goes wrong.
    assert_eq!(fresh["archive"]["name"], format!("{name}-events"));
    assert_eq!(fresh["archive"]["event_count"], 0);
    assert_eq!(fresh["archive"]["retention_days"], 90);
    assert_eq!(fresh["dead_letters"]["waiting"], 0);
    let alarms: Vec<&str> = fresh["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for alarm in [
        "relay-errors",
        "relay-throttles",
        "api-5xx",
        "dead-letters",
        "unverified-burst",
    ] {
        assert!(
            alarms.contains(&format!("{name}-{alarm}").as_str()),
            "{alarms:?}"
        );
    }
    assert!(fresh["alarms"][0]["state"].is_string(), "{fresh}");
    assert_eq!(fresh["last_relayed"], serde_json::Value::Null);
    // CloudWatch makes this metric from the Embedded Metric Format lines the Lambda
    // writes; the emulator runs no Lambda, so the test puts the data point CloudWatch would.
    aws_sdk_cloudwatch::Client::new(&sdk_config().await)
        .put_metric_data()
        .namespace(relay_function::relay_metrics::NAMESPACE)
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name(relay_function::relay_metrics::EVENTS_RELAYED)
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name(relay_function::relay_metrics::BRIDGE_DIMENSION)
                        .value(&name)
                        .build(),
                )
                .value(1.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let relayed = json(&cli(&["--name", &name, "--output", "json", "status"]));
    assert!(
        relayed["last_relayed"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{relayed}"
    );
    assert!(fresh["stack"]["updated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(fresh["webhook_url"], outputs["WebhookUrl"]);
    assert_eq!(fresh["event_bus"], outputs["EventBusName"]);
    assert_eq!(fresh["failure_topic"]["arn"], outputs["FailureTopicArn"]);
    assert_eq!(fresh["signing_secrets"], serde_json::json!([]));
    assert_eq!(fresh["rules"], serde_json::json!([]));
    let text = cli(&["--name", &name, "status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "signing secret  none: run `stripe-bridge --name {name} set-secret`"
        )),
        "{text}"
    );
    assert!(
        text.contains(outputs["WebhookUrl"].as_str().unwrap()),
        "{text}"
    );

    for (secret, extra) in [(FIRST, vec![]), (SECOND, vec!["--keep-previous", "2h"])] {
        let mut args = vec!["--name", name.as_str(), "set-secret", "-"];
        args.extend(extra);
        let set = cli_with_input(&args, &[], secret);
        assert!(set.status.success(), "{}", stderr(&set));
    }
    let (_, queue_arn) = queue(&aws_sdk_sqs::Client::new(&sdk_config().await), &name).await;
    add_rule(&name, "invoice.paid", &queue_arn);

    let output = cli(&["--name", &name, "--output", "json", "status"]);
    let now = json(&output);
    let secrets = now["signing_secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0]["secret"], "whsec_…CDEF");
    assert!(secrets[0]["expires"].is_null());
    assert!(
        secrets[1]["expires"].is_string(),
        "the rolled secret has an expiry"
    );
    assert_eq!(now["rules"][0]["name"], format!("{name}-invoice-paid"));
    assert_eq!(now["rules"][0]["targets"][0], queue_arn.as_str());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(FIRST) && !stdout.contains(SECOND));

    let text = cli(&["--name", &name, "status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("whsec_…CDEF (endpoint main, valid until "),
        "{text}"
    );
    assert!(text.contains(&format!("{name}-invoice-paid")), "{text}");
}

#[test]
fn status_of_a_bridge_that_is_not_there_says_deploy() {
    let output = cli(&["--name", &unique("nostatus"), "status"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("deploy` first"),
        "{}",
        stderr(&output)
    );
}
