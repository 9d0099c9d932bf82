//! The template `stripe-bridge template` prints passes cfn-lint, and creates a stack
//! whose resources exist, in the emulator, with the outputs users are told about.

use std::process::Command;

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};

use crate::support::aws::{bus_exists, sdk_config, unique};
use crate::support::emulator;

fn rendered(format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_stripe-bridge"))
        .args(["template", "--format", format])
        .output()
        .expect("run stripe-bridge template");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_rendered_form_passes_cfn_lint() {
    let dir = std::env::temp_dir().join(unique("templates"));
    std::fs::create_dir_all(&dir).unwrap();
    for format in ["yaml", "json"] {
        let path = dir.join(format!("bridge.{format}"));
        std::fs::write(&path, rendered(format)).unwrap();
        let cfn_lint = emulator::python().with_file_name("cfn-lint");
        let lint = Command::new(cfn_lint)
            .args(["--format", "parseable"])
            .arg(&path)
            .output()
            .expect("run cfn-lint");
        let findings = String::from_utf8_lossy(&lint.stdout);
        assert!(
            lint.status.success() && findings.trim().is_empty(),
            "cfn-lint found problems in the {format} template:\n{findings}{}",
            String::from_utf8_lossy(&lint.stderr)
        );
    }
}

#[tokio::test]
async fn the_template_creates_a_stack_with_its_outputs() {
    let sdk = sdk_config().await;
    let name = unique("tmpl");
    let code_bucket = format!("{name}-code");
    let s3 = aws_sdk_s3::Client::new(&sdk);
    s3.create_bucket()
        .bucket(&code_bucket)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&code_bucket)
        .key("relay.zip")
        .body(minimal_zip().into())
        .send()
        .await
        .unwrap();

    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk);
    let parameter = |key: &str, value: &str| {
        Parameter::builder()
            .parameter_key(key)
            .parameter_value(value)
            .build()
    };
    cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(rendered("json"))
        .capabilities(Capability::CapabilityIam)
        .parameters(parameter("BridgeName", &name))
        .parameters(parameter("CodeBucket", &code_bucket))
        .parameters(parameter("CodeKey", "relay.zip"))
        .send()
        .await
        .expect("create stack");

    let stack = cloudformation
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .unwrap()
        .stacks
        .unwrap()
        .remove(0);
    assert_eq!(stack.stack_status, Some(StackStatus::CreateComplete));
    let output = |key: &str| -> String {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("no output {key}"))
            .to_owned()
    };
    assert!(output("WebhookUrl").starts_with("https://"));
    assert!(output("WebhookUrl").ends_with(".amazonaws.com/webhook"));
    assert_eq!(output("EventBusName"), name);

    // Each resource exists, as its own service sees it.
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(output("SigningSecretArn"))
        .send()
        .await
        .expect("the signing secret exists");
    assert_eq!(
        secret.secret_string(),
        Some(r#"{"version":1,"secrets":[]}"#)
    );
    let apis = aws_sdk_apigatewayv2::Client::new(&sdk)
        .get_apis()
        .send()
        .await
        .unwrap();
    let api = apis
        .items()
        .iter()
        .find(|a| a.name() == Some(&format!("{name}-webhook")))
        .expect("the HTTP API exists");
    let routes = aws_sdk_apigatewayv2::Client::new(&sdk)
        .get_routes()
        .api_id(api.api_id().unwrap())
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = routes
        .items()
        .iter()
        .filter_map(|r| r.route_key())
        .collect();
    assert_eq!(keys, ["POST /webhook"]);
    assert!(bus_exists(&sdk, &name).await, "the bus is missing");

    cloudformation
        .delete_stack()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    assert!(
        aws_sdk_secretsmanager::Client::new(&sdk)
            .get_secret_value()
            .secret_id(output("SigningSecretArn"))
            .send()
            .await
            .is_err(),
        "deleting the stack deletes the secret"
    );
}

/// A zip with an executable `bootstrap`, enough for the emulator's Lambda.
fn minimal_zip() -> Vec<u8> {
    // An empty zip archive: the end-of-central-directory record alone.
    let mut zip = vec![0x50, 0x4b, 0x05, 0x06];
    zip.extend_from_slice(&[0; 18]);
    zip
}

/// Every alarm mails the failure topic; the burst alarm counts what the relay counts
/// (relay_function::relay_metrics), over 5 minutes, against the stack parameter.
#[test]
fn the_alarms_watch_the_relays_own_metrics_and_mail_the_failure_topic() {
    use relay_function::relay_metrics;
    let output = crate::support::cli::cli_offline(&["template", "--format", "json"]);
    let template: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let resources = template["Resources"].as_object().unwrap();
    let alarms: Vec<(&String, &serde_json::Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    assert!(alarms.len() >= 6, "{alarms:?}");
    for (name, alarm) in &alarms {
        assert_eq!(
            alarm["Properties"]["AlarmActions"],
            serde_json::json!([{"Ref": "FailureTopic"}]),
            "{name}"
        );
    }
    let burst = &resources["UnverifiedBurstAlarm"]["Properties"];
    assert_eq!(burst["Namespace"], relay_metrics::NAMESPACE);
    assert_eq!(burst["MetricName"], relay_metrics::UNVERIFIED_REQUESTS);
    assert_eq!(
        burst["Dimensions"][0]["Name"],
        relay_metrics::BRIDGE_DIMENSION
    );
    assert_eq!(burst["Period"], 300);
    assert_eq!(
        burst["Threshold"],
        serde_json::json!({"Ref": "UnverifiedBurstThreshold"})
    );
    assert_eq!(burst["TreatMissingData"], "notBreaching");
    let quiet = &resources["QuietAlarm"]["Properties"];
    assert_eq!(quiet["MetricName"], relay_metrics::EVENTS_RELAYED);
    assert_eq!(quiet["TreatMissingData"], "breaching");
}
