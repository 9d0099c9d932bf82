//! Operating a bridge by looking (issue 27): `tail` prints each request a relay handles
//! as it happens, read back from the relay's log group, where the Lambda writes its lines
//! and `dev` writes the same ones; `--failures` and `--type` are filter patterns the
//! service applies (the emulator applies them as AWS documents, tests/emulator/log_filters.py).
//! `dev` also sends the relay's metrics as EMF, which `status` counts
//! (tests/emulator/emf_metrics.py extracts them as CloudWatch does).

use std::time::Duration;

use crate::support::aws::{sdk_config, unique};
use crate::support::cli::{cli, cli_json, deployed_bridge, stderr};
use crate::support::dev_server::{DevServer, Tail};
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

    let (status, said) = every.interrupt();
    assert!(
        status.success(),
        "Ctrl-C ends tail cleanly: {status:?} {said}"
    );
    assert!(said.contains("Stopped."), "{said}");
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
