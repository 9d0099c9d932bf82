//! Operating a bridge by looking (issue 27): `tail` prints each request a relay handles
//! as it happens, read back from the relay's log group, where the Lambda writes its lines
//! and `dev` writes the same ones; `--failures` and `--type` are filter patterns the
//! service applies (the emulator applies them as AWS documents, tests/emulator/log_filters.py).
//! `dev` also sends the relay's metrics as EMF, which `status` counts
//! (tests/emulator/emf_metrics.py extracts them as CloudWatch does). `trace` tells one
//! event's story from the same lines; `doctor` judges the bridge.

use std::time::Duration;

use crate::support::aws::{sdk_config, unique};
use crate::support::cli::{
    artifact, cli, cli_json, cli_with_env, cli_with_input, deploy_with, deployed_bridge, stderr,
};
use crate::support::dev_server::{DevServer, Tail};
use crate::support::emulator::confirm_subscriptions;
use crate::support::stripe::SECRET;

#[tokio::test]
async fn requests_through_dev_appear_in_tail_as_they_are_sent() {
    let name = unique("tail");
    deployed_bridge(&name, SECRET);
    let every = Tail::start(&name, &[]);
    let failures = Tail::start(&name, &["--failures"]);
    let customers = Tail::start(&name, &["--type", "customer.*"]);
    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0"]);

    let paid = cli_json(&name, &["test", "--url", &dev.url]);
    let seen = every.next();
    assert_eq!(seen["event_id"], paid["event_id"], "{seen}");
    assert_eq!(seen["event_type"], "invoice.paid");
    assert_eq!(seen["status"], 200);
    assert_eq!(seen["outcome"], "relayed");
    assert_eq!(seen["relay"], "dev", "{seen}");
    assert!(seen["time"].as_str().unwrap().ends_with('Z'), "{seen}");

    let created = cli_json(
        &name,
        &["test", "--type", "customer.created", "--url", &dev.url],
    );
    let next = every.next();
    assert_eq!(next["event_id"], created["event_id"], "{next} after {seen}");
    let next = customers.next();
    assert_eq!(next["event_id"], created["event_id"], "{next}");

    let forged = cli(&[
        "--name",
        &name,
        "test",
        "--url",
        &dev.url,
        "--secret",
        "whsec_someoneElsesSecret0000000000000000",
    ]);
    assert_eq!(forged.status.code(), Some(1), "{}", stderr(&forged));
    let refused = every.next();
    assert_eq!(refused["status"], 400, "{refused}");
    assert_eq!(refused["reason"], "signature_mismatch");
    assert!(refused.get("event_id").is_none(), "{refused}");
    assert_eq!(failures.next()["reason"], "signature_mismatch");

    // `status` counts the local relay's requests, from the EMF lines `dev` sent with
    // them, apart from the Lambda's (which the alarms watch).
    let status = cli_json(&name, &["status"]);
    let hours = status["requests"].as_array().expect("requests per hour");
    assert_eq!(hours.len(), 24, "{status}");
    let total = |key: &str| hours.iter().map(|h| h[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (total("dev_relayed"), total("dev_refused")),
        (2, 1),
        "{status}"
    );
    assert_eq!((total("relayed"), total("refused")), (0, 0), "{status}");
    assert!(status["last_relayed"].is_string(), "{status}");
    assert!(
        status["dashboard_url"]
            .as_str()
            .is_some_and(|url| url.ends_with(&format!("#dashboards/dashboard/{name}-us-east-1"))),
        "{status}"
    );
    let text = cli(&["--name", &name, "status"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("last 24 hours   2 relayed, 1 refused (by dev: 2 relayed, 1 refused)")
            && text.contains("relayed per hour, to now: 0 0 0"),
        "{text}"
    );

    // The Lambda's own lines, in a stream Lambda names, as its JSON subscriber writes them.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let group = format!("/aws/lambda/{name}-relay");
    let stream = "2026/12/07/[$LATEST]0123456789abcdef0123456789abcdef";
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let line = r#"{"level":"INFO","request_id":"r-lambda","event_id":"evt_fromLambda","event_type":"invoice.payment_failed","outcome":"failed","reason":"bus_unavailable","status":503,"attempts":3,"claim_check":false,"latency_ms":2100,"message":"webhook"}"#;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name(stream)
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now_ms)
                .message(line)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let from_lambda = every.next();
    assert_eq!(from_lambda["event_id"], "evt_fromLambda", "{from_lambda}");
    assert_eq!(from_lambda["relay"], "lambda");
    assert_eq!(failures.next()["event_id"], "evt_fromLambda");

    // Each printed only what it was asked for, and each request once.
    assert_eq!(every.rest(Duration::from_secs(3)), Vec::<String>::new());
    assert_eq!(failures.rest(Duration::ZERO), Vec::<String>::new());
    assert_eq!(customers.rest(Duration::ZERO), Vec::<String>::new());

    // Later, with --since: what was already logged, oldest first.
    let again = Tail::start(&name, &["--since", "10m"]);
    let ids: Vec<serde_json::Value> = (0..4).map(|_| again.next()["event_id"].clone()).collect();
    assert_eq!(
        ids,
        [
            paid["event_id"].clone(),
            created["event_id"].clone(),
            serde_json::Value::Null,
            "evt_fromLambda".into()
        ]
    );

    // `trace` tells one event's story: its requests (here a failed delivery from the
    // Lambda, then Stripe's retry through dev), the bus, and the rules matching it now.
    let id = paid["event_id"].as_str().unwrap();
    let (_, queue_arn) = crate::support::aws::queue(
        &aws_sdk_sqs::Client::new(&sdk_config().await),
        &format!("{name}-invoices"),
    )
    .await;
    let rule = crate::support::cli::add_rule(&name, "invoice.paid", &queue_arn);
    let trace = cli_json(&name, &["trace", id]);
    assert_eq!(trace["event_type"], "invoice.paid", "{trace}");
    assert_eq!(trace["requests"].as_array().unwrap().len(), 1, "{trace}");
    assert_eq!(trace["requests"][0]["relay"], "dev");
    assert!(trace["relayed_at"].is_string(), "{trace}");
    assert_eq!(trace["rules"][0]["rule"], rule.as_str(), "{trace}");
    assert_eq!(trace["rules"][0]["test_mode"], true);
    assert_eq!(trace["dead_letters"], serde_json::json!([]));
    let failed = cli_json(&name, &["trace", "evt_fromLambda"]);
    assert_eq!(failed["relayed_at"], serde_json::Value::Null, "{failed}");
    assert_eq!(failed["requests"][0]["reason"], "bus_unavailable");
    let text = cli(&["--name", &name, "trace", "evt_fromLambda"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.starts_with("evt_fromLambda (invoice.payment_failed)")
            && text.contains("503  invoice.payment_failed  evt_fromLambda  bus_unavailable")
            && text.contains("never put on the bus"),
        "{text}"
    );
    let unseen = cli(&["--name", &name, "trace", "evt_neverSeen"]);
    assert_eq!(unseen.status.code(), Some(1));
    assert!(
        stderr(&unseen).contains("no request for evt_neverSeen"),
        "{}",
        stderr(&unseen)
    );

    let (status, said) = every.interrupt();
    assert!(
        status.success(),
        "Ctrl-C ends tail cleanly: {status:?} {said}"
    );
    assert!(said.contains("Stopped."), "{said}");
}

#[tokio::test]
async fn doctor_fails_on_an_alarm_topic_nobody_hears_and_passes_once_a_subscription_is_confirmed() {
    let name = unique("doctor");
    deployed_bridge(&name, SECRET);
    // An empty cache: this CLI has built no relay to compare the deployed one with.
    let cache = std::env::temp_dir().join(unique("doctor-cache"));
    let doctor = |name: &str| {
        let output = cli_with_env(
            &["--name", name, "--output", "json", "doctor"],
            &[("XDG_CACHE_HOME", cache.to_str().unwrap())],
        );
        let diagnosis = serde_json::from_slice::<serde_json::Value>(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
        (output.status.code(), diagnosis)
    };
    let (code, diagnosis) = doctor(&name);
    assert_eq!(code, Some(1), "{diagnosis}");
    assert_eq!(diagnosis["healthy"], false);
    let verdicts: Vec<(String, String)> = diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for check in [
        "credentials",
        "rules",
        "stack",
        "signing secret",
        "dead letters",
        "archive",
        "concurrency",
    ] {
        assert!(
            verdicts.contains(&(check.to_owned(), "pass".to_owned())),
            "{check}: {diagnosis}"
        );
    }
    let topic = check(&diagnosis, "alarm topic");
    assert_eq!(topic["verdict"], "fail", "{diagnosis}");
    assert!(
        topic["fix"].as_str().unwrap().contains("--notify-email"),
        "{topic}"
    );
    let text = cli_with_env(
        &["--name", &name, "doctor"],
        &[("XDG_CACHE_HOME", cache.to_str().unwrap())],
    );
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("✗ alarm topic     no subscription") && text.contains("1 check failed."),
        "{text}"
    );

    // A rule's target that lost the grant add-rule gave it (someone rewrote the queue's
    // policy) would get nothing: doctor says which.
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (queue_url, queue_arn) =
        crate::support::aws::queue(&sqs, &format!("{name}-invoices")).await;
    let rule = crate::support::cli::add_rule(&name, "invoice.paid", &queue_arn);
    let (_, diagnosis) = doctor(&name);
    assert_eq!(check(&diagnosis, "rules")["verdict"], "pass", "{diagnosis}");
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, "")
        .send()
        .await
        .unwrap();
    let (code, diagnosis) = doctor(&name);
    assert_eq!(code, Some(1));
    let rules = check(&diagnosis, "rules");
    assert_eq!(rules["verdict"], "fail", "{diagnosis}");
    assert!(
        rules["found"].as_str().unwrap().contains(&format!(
            "rule {rule}: {queue_arn} does not let the rule deliver"
        )),
        "{rules}"
    );

    // A bridge whose alerts someone asked for: until they answer SNS's mail, nobody
    // hears them.
    let name = unique("doctor-mail");
    let (zip, _) = artifact("v1");
    let deployed = deploy_with(&name, &zip, &["--notify-email", "ops@example.com"]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let set = cli_with_input(&["--name", &name, "set-secret", "-"], &[], SECRET);
    assert!(set.status.success(), "{}", stderr(&set));
    let (code, diagnosis) = doctor(&name);
    assert_eq!(code, Some(1), "{diagnosis}");
    let topic = check(&diagnosis, "alarm topic");
    assert_eq!(topic["verdict"], "fail", "{diagnosis}");
    assert!(
        topic["found"]
            .as_str()
            .unwrap()
            .contains("waiting for confirmation"),
        "{topic}"
    );
    confirm_subscriptions("ops@example.com");
    let (code, diagnosis) = doctor(&name);
    assert_eq!(code, Some(0), "{diagnosis}");
    assert_eq!(diagnosis["healthy"], true);
    assert_eq!(check(&diagnosis, "alarm topic")["verdict"], "pass");
}

fn check(diagnosis: &serde_json::Value, name: &str) -> serde_json::Value {
    diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {diagnosis}"))
        .clone()
}

#[test]
fn tail_says_what_is_missing() {
    let name = unique("tail-none");
    let output = cli(&["--name", &name, "tail"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains(&format!("/aws/lambda/{name}-relay does not exist"))
            && text.contains("hint: deploy"),
        "{text}"
    );
    let unknown = cli(&["--name", &name, "tail", "--type", "invoice.payd"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("did you mean `invoice.paid`?"),
        "{}",
        stderr(&unknown)
    );
}
