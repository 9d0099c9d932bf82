//! The archive and `replay` (issue 11): events relayed through `dev` are archived, and a
//! replay brings back exactly those events, to the named rule and no other.

use std::time::SystemTime;

use serde_json::json;

use crate::support::aws::{drain, queue, unique};
use crate::support::cli::{bridge_and_queue, cli, cli_json, stderr};
use crate::support::dev_server::DevServer;
use crate::support::evidence;

const SECRET: &str = "whsec_replaySecret0123456789abcdefABCDEF";

#[tokio::test]
async fn a_replay_brings_back_the_archived_events_to_the_named_rule_only() {
    let name = unique("replay");
    let (sdk, (first_url, first_arn)) = bridge_and_queue(&name, SECRET, "first").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (second_url, second_arn) = queue(&sqs, &format!("{name}-second")).await;
    let add = |target: &str| {
        cli_json(
            &name,
            &["add-rule", "--type", "invoice.paid", "--target", target],
        )["rule"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first_rule = add(&first_arn);
    let second_rule = add(&second_arn);
    assert_ne!(first_rule, second_rule);
    let since = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();

    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0"]);
    let mut sent: Vec<String> = (0..3)
        .map(|_| {
            cli_json(&name, &["test", "--url", &dev.url, "--yes"])["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    sent.sort();
    assert_eq!(drain(&sdk, &first_url).await.len(), 3);
    assert_eq!(drain(&sdk, &second_url).await.len(), 3);

    let status = cli_json(&name, &["status"]);
    assert_eq!(status["archive"]["event_count"], 3, "{status}");

    let replayed = cli_json(&name, &["replay", "--from", &since, "--rule", &first_rule]);
    assert_eq!(replayed["state"], "COMPLETED", "{replayed}");
    assert_eq!(replayed["rules"], json!([first_rule]));
    let replay_name = replayed["name"].as_str().unwrap();

    let again = drain(&sdk, &first_url).await;
    let mut ids: Vec<String> = again
        .iter()
        .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, sent, "not exactly the relayed events");
    assert!(
        again.iter().all(|e| e["replay-name"] == replay_name),
        "{again:?}"
    );
    let elsewhere = drain(&sdk, &second_url).await;
    assert!(
        elsewhere.is_empty(),
        "replayed to another rule: {elsewhere:?}"
    );

    let listed = cli_json(&name, &["replay", "--list"]);
    assert!(
        listed["replays"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == replay_name && r["state"] == "COMPLETED"),
        "{listed}"
    );

    // Windows that cannot be replayed are refused before anything starts.
    for (args, says) in [
        (vec!["--from", "1h", "--to", "2h"], "empty or reversed"),
        (vec!["--from", "3d"], "before the archive"),
        (
            vec!["--from", since.as_str(), "--to", "2099-01-01T00:00:00Z"],
            "in the future",
        ),
        (vec!["--from", "yesterday"], "neither an RFC 3339 time"),
        (
            vec!["--from", "1m", "--rule", "no-such-rule"],
            "has no rule no-such-rule",
        ),
    ] {
        let mut full = vec!["--name", name.as_str(), "replay"];
        full.extend(args.iter().copied());
        let refused = cli(&full);
        assert!(!refused.status.success(), "{args:?}");
        assert!(
            stderr(&refused).contains(says),
            "{args:?}: {}",
            stderr(&refused)
        );
    }
    assert_eq!(
        cli_json(&name, &["replay", "--list"])["replays"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a refused replay started anyway"
    );

    evidence::record(
        "replay",
        json!({
            "relayed_through_dev": sent.len(),
            "archived": status["archive"]["event_count"],
            "replayed_to_the_named_rule": ids.len(),
            "replayed_to_another_rule": elsewhere.len(),
        }),
    );
    drop(dev);
    let removed = cli(&["--name", &name, "remove", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
}
