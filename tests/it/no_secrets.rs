//! No secret in any output: every command that handles the signing secret, in text and
//! JSON, on success and on error, and what AWS holds about the stack (its parameters,
//! outputs and template, the relay's environment) never show a whole secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::support::aws::{sdk_config, unique};
use crate::support::cli::{artifact, cli, cli_with_input, deploy, stderr};
use crate::support::evidence;

const SECRET: &str = "whsec_neverShownAnywhere0123456789abcdefXY";
const ROLLED: &str = "whsec_rolledNeverShown0123456789abcdefXYZ";

/// The part of a secret that must not appear: all of it but the masked tail.
fn must_not_show(secret: &str) -> &str {
    &secret[6..secret.len() - 4]
}

#[tokio::test]
async fn no_output_log_or_stack_setting_holds_a_secret() {
    let name = unique("nosecret");
    let (zip, _) = artifact("v1");
    let mut captured: Vec<(String, String)> = Vec::new();
    let mut capture = |what: &str, output: std::process::Output| {
        captured.push((
            what.to_owned(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ));
        output
    };

    capture("deploy --output json", deploy(&name, &zip));
    capture(
        "deploy (text)",
        cli(&[
            "--name",
            &name,
            "deploy",
            "--artifact",
            zip.to_str().unwrap(),
        ]),
    );
    let set = capture(
        "set-secret as an argument",
        cli(&["--name", &name, "set-secret", SECRET]),
    );
    assert!(set.status.success(), "{}", stderr(&set));
    capture(
        "set-secret from stdin, rolled, json",
        cli_with_input(
            &[
                "--name",
                &name,
                "--output",
                "json",
                "set-secret",
                "-",
                "--keep-previous",
                "1h",
            ],
            &[],
            &format!("  {ROLLED}\n"),
        ),
    );
    capture(
        "set-secret --show",
        cli(&["--name", &name, "set-secret", "--show"]),
    );
    capture(
        "set-secret --show json",
        cli(&["--name", &name, "--output", "json", "set-secret", "--show"]),
    );
    capture(
        "set-secret of the same secret",
        cli(&["--name", &name, "set-secret", ROLLED]),
    );
    capture(
        "set-secret of a mangled secret",
        cli(&["--name", &name, "set-secret", &format!("{SECRET}!")]),
    );
    capture(
        "set-secret of an API key",
        cli(&[
            "--name",
            &name,
            "set-secret",
            &SECRET.replace("whsec_", "sk_live_"),
        ]),
    );
    capture("status", cli(&["--name", &name, "status"]));
    capture(
        "status json",
        cli(&["--name", &name, "--output", "json", "status"]),
    );
    capture("template", cli(&["template"]));
    capture(
        "deploy --dry-run",
        cli(&["--name", &name, "deploy", "--dry-run"]),
    );
    capture(
        "test to a closed port",
        cli(&[
            "--name",
            &name,
            "test",
            "--url",
            "http://127.0.0.1:9/webhook",
            "--timeout",
            "2s",
        ]),
    );
    capture(
        "test json with --secret",
        cli(&[
            "--name",
            &name,
            "--output",
            "json",
            "test",
            "--url",
            "http://127.0.0.1:9/webhook",
            "--secret",
            SECRET,
            "--timeout",
            "2s",
        ]),
    );
    let body = std::env::temp_dir().join(format!("{name}.json"));
    std::fs::write(&body, r#"{"id":"evt_1","object":"event"}"#).unwrap();
    for format in ["text", "json"] {
        capture(
            "verify",
            cli(&[
                "--output",
                format,
                "verify",
                "--secret",
                SECRET,
                "--secret",
                &format!("{ROLLED}\n"),
                "--header",
                "t=1,v1=00",
                "--payload",
                body.to_str().unwrap(),
            ]),
        );
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    capture(
        "dev with a secret but nowhere to listen",
        cli(&["--name", &name, "dev", "--port", &port, "--secret", SECRET]),
    );

    // What AWS holds about the stack.
    let sdk = sdk_config().await;
    let stack = aws_sdk_cloudformation::Client::new(&sdk)
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    captured.push((
        "stack parameters and outputs".into(),
        format!("{:?}", stack.stacks()[0]),
    ));
    let template = aws_sdk_cloudformation::Client::new(&sdk)
        .get_template()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    captured.push((
        "stack template".into(),
        template.template_body().unwrap_or_default().to_owned(),
    ));
    let function = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name(format!("{name}-relay"))
        .send()
        .await
        .unwrap();
    captured.push((
        "relay environment".into(),
        format!("{:?}", function.environment()),
    ));

    for (what, text) in &captured {
        for secret in [SECRET, ROLLED] {
            let hidden = must_not_show(secret);
            assert!(!text.contains(hidden), "{what} shows a secret:\n{text}");
            assert!(
                !text.contains(&BASE64.encode(secret)),
                "{what} shows a secret in base64"
            );
        }
    }
    // The masked forms are what people see.
    assert!(captured.iter().any(|(_, t)| t.contains("whsec_…efXY")));

    cli(&["--name", &name, "remove", "--yes"]);
    evidence::record(
        "no_secrets",
        serde_json::json!({ "outputs_checked": captured.len(), "secrets_found": 0 }),
    );
}

/// Stored values that are no usable secret: malformed documents that hold a secret where
/// another type belongs (serde_json would quote it), placeholders, and a secret without
/// its prefix. The relay refuses each with `secret_invalid`, and neither its answer, its
/// outcome (the log line) nor its notice shows the secret; nor does the CLI.
#[tokio::test]
async fn malformed_and_placeholder_secrets_never_show_in_answers_logs_or_notices() {
    let hidden = must_not_show(SECRET);
    let bare = &SECRET["whsec_".len()..];
    let values = [
        format!(r#"{{"version":1,"secrets":["{SECRET}"]}}"#),
        format!(r#"{{"version":"{SECRET}","secrets":[]}}"#),
        format!(r#"{{"version":1,"secrets":[{{"secret":"{SECRET}","expires":"{SECRET}"}}]}}"#),
        format!(r#"{{"version":1,"secrets":[{{"secret":{{"nested":"{SECRET}"}}}}]}}"#),
        format!(r#"{{"version":1,"secrets":[{{"secret":"{SECRET}""#),
        bare.to_owned(),
        "changeme".to_owned(),
        " \t\n".to_owned(),
    ];
    let mut checked = 0;
    for (i, value) in values.iter().enumerate() {
        let bridge = crate::support::aws::Bridge::create(value).await;
        let relay =
            relay_function::relay::Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
        let body = crate::support::stripe::event(&format!("evt_weakSecret{i}"), "invoice.paid");
        for signing in [SECRET, bare, "changeme"] {
            let header = crate::support::stripe::sign(signing, body.as_bytes());
            let mut headers = hyper::HeaderMap::new();
            headers.insert("stripe-signature", header.parse().unwrap());
            let request = relay_function::webhook::WebhookRequest::from_http(
                "POST",
                "/webhook",
                &headers,
                Ok(body.clone().into_bytes()),
                format!("weak-{i}"),
            );
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            let outcome = relay.handle(&request, deadline).await;
            assert_eq!(
                outcome.status, 500,
                "{value:?} signed with {signing}: {outcome:?}"
            );
            assert_eq!(
                outcome.reason.map(|r| r.code()),
                Some("secret_invalid"),
                "{value:?}"
            );
            let logged = serde_json::to_string(&outcome).unwrap();
            let answered = outcome.response().body;
            for text in [&logged, &answered] {
                assert!(!text.contains(hidden), "{value:?}: {text}");
                checked += 1;
            }
        }
        for notice in bridge.notices().await {
            assert!(!notice.to_string().contains(hidden), "{value:?}: {notice}");
            checked += 1;
        }
        assert!(bridge.delivered_events().await.is_empty(), "{value:?}");
    }
    evidence::record(
        "weak_secrets",
        serde_json::json!({
            "values_refused": values.len(),
            "answers_logs_and_notices_checked": checked,
            "secrets_found": 0,
        }),
    );
}
