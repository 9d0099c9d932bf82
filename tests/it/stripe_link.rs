//! The Stripe half (issue 26), against our emulator of Stripe's API
//! (tests/emulator/stripe_api.py) and moto: `link` makes the webhook endpoint, its
//! secret going straight into the bridge's secret; `add-rule` and `remove-rule` keep its
//! types in step; `rotate-secret` replaces it with no gap; `reconcile` has Stripe resend
//! what it failed to deliver; `remove` deletes it. No secret Stripe returns is ever in
//! the CLI's output.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::aws::{drain, queue, sdk_config, unique};
use crate::support::cli::{artifact, cli_with_env, deploy, json, spawn_cli_with_env, stderr};
use crate::support::dev_server::DevServer;
use crate::support::evidence;
use crate::support::stripe_api::{StripeApi, assert_requests_match_stripe_node, stripe_node};

/// The CLI for bridge `name`, with the Stripe emulator's key and address.
fn stripe_cli(api: &StripeApi, name: &str, args: &[&str]) -> Output {
    let env = api.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut full = vec!["--name", name];
    full.extend_from_slice(args);
    cli_with_env(&full, &env)
}

fn stripe_json(api: &StripeApi, name: &str, args: &[&str]) -> Value {
    let mut full = vec!["--output", "json"];
    full.extend_from_slice(args);
    json(&stripe_cli(api, name, &full))
}

/// Fails unless the command's standard error says `text`.
fn says(output: &Output, text: &str) {
    let err = stderr(output);
    assert!(err.contains(text), "wanted {text:?} in: {err}");
}

/// Fails if any output shows a secret the emulator made.
fn shows_no_secret(api: &StripeApi, outputs: &[&Output]) {
    for secret in api.secrets() {
        for output in outputs {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                stderr(output)
            );
            assert!(
                !all.contains(&secret),
                "an output shows a Stripe secret: {all}"
            );
            assert!(!all.contains(&secret["whsec_".len()..]), "{all}");
        }
    }
}

/// The bridge's stored signing secrets, as the relay reads them.
async fn stored_secrets(outputs: &Value) -> Value {
    let sdk = sdk_config().await;
    let value = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(outputs["SigningSecretArn"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    serde_json::from_str(&value).unwrap()
}

fn deployed(name: &str) -> Value {
    let (zip, _) = artifact("v1");
    json(&deploy(name, &zip))["outputs"].clone()
}

/// A deployed bridge with a rule routing invoice.paid to a queue of its own, linked:
/// what the Stripe-side tests start from.
struct LinkedBridge {
    name: String,
    outputs: Value,
    sdk: aws_config::SdkConfig,
    queue_url: String,
    /// The main endpoint `link` made.
    endpoint: String,
}

async fn linked_bridge(api: &StripeApi, prefix: &str) -> LinkedBridge {
    let name = unique(prefix);
    let outputs = deployed(&name);
    let sdk = sdk_config().await;
    let (queue_url, queue_arn) = queue(
        &aws_sdk_sqs::Client::new(&sdk),
        &unique(&format!("{prefix}q")),
    )
    .await;
    let rule = stripe_cli(
        api,
        &name,
        &["add-rule", "--type", "invoice.paid", "--target", &queue_arn],
    );
    assert!(rule.status.success(), "{}", stderr(&rule));
    let linked = stripe_json(api, &name, &["link"]);
    let endpoint = linked["endpoints"][0]["id"].as_str().unwrap().to_owned();
    LinkedBridge {
        name,
        outputs,
        sdk,
        queue_url,
        endpoint,
    }
}

fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn link_makes_the_endpoint_and_add_and_remove_rule_keep_its_types_in_step() {
    // One object a page: every list the CLI reads follows `has_more`.
    let api = StripeApi::start_with(&["--page-size", "1"]);
    let name = unique("link");
    let outputs = deployed(&name);
    let sdk = sdk_config().await;
    let (_, queue_arn) = queue(&aws_sdk_sqs::Client::new(&sdk), &unique("linkq")).await;

    // No rule yet: no type to ask for.
    let empty = stripe_cli(&api, &name, &["link"]);
    assert_eq!(empty.status.code(), Some(1));
    says(&empty, "has no rules");
    says(&empty, "hint: add a rule first");

    // Unlinked: add-rule says, in one line, that Stripe must send the type.
    let unlinked = stripe_cli(
        &api,
        &name,
        &["add-rule", "--type", "invoice.paid", "--target", &queue_arn],
    );
    assert!(unlinked.status.success(), "{}", stderr(&unlinked));
    let unlinked_err = stderr(&unlinked);
    let said: Vec<&str> = unlinked_err
        .lines()
        .filter(|l| l.contains("must send invoice.paid"))
        .collect::<Vec<_>>();
    assert_eq!(said.len(), 1, "{}", stderr(&unlinked));

    let linking = stripe_cli(&api, &name, &["--output", "json", "link"]);
    let linked = json(&linking);
    let made = &linked["endpoints"][0];
    assert_eq!(made["action"], "made", "{linked}");
    assert_eq!(made["role"], "main");
    assert_eq!(made["enabled_events"], serde_json::json!(["invoice.paid"]));
    assert_eq!(made["url"], outputs["WebhookUrl"]);
    let endpoints = api.endpoints();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(
        endpoints[0]["api_version"],
        Value::Null,
        "no --api-version: the account's"
    );
    assert_eq!(endpoints[0]["metadata"]["stripe_bridge"], name.as_str());
    assert_eq!(endpoints[0]["connect"], false);
    // The secret Stripe answered with is the bridge's, and nothing showed it.
    let stored = stored_secrets(&outputs).await;
    assert_eq!(
        stored["secrets"][0]["secret"],
        api.secrets()[0].as_str(),
        "{}",
        made["id"]
    );
    assert_eq!(stored["secrets"][0]["webhook_endpoint"], made["id"]);

    // Again: converges, no second endpoint.
    let again = stripe_json(&api, &name, &["link"]);
    assert_eq!(again["endpoints"][0]["action"], "unchanged", "{again}");
    assert_eq!(api.endpoints().len(), 1);

    // A rule of a prefix: its whole types are added before the rule exists.
    let added = stripe_cli(
        &api,
        &name,
        &[
            "--output",
            "json",
            "add-rule",
            "--type",
            "customer.subscription.*",
            "--target",
            &queue_arn,
        ],
    );
    let added_json = json(&added);
    assert_eq!(added_json["stripe"][0]["role"], "main", "{added_json}");
    let types: Vec<String> =
        serde_json::from_value(api.endpoints()[0]["enabled_events"].clone()).unwrap();
    assert!(types.contains(&"invoice.paid".to_owned()));
    assert!(
        types.contains(&"customer.subscription.created".to_owned()),
        "{types:?}"
    );
    assert!(!types.iter().any(|t| t.contains('*')), "{types:?}");

    // A connected account's rule needs a Connect endpoint: made, its secret stored as
    // endpoint `connect`.
    let connected = stripe_json(
        &api,
        &name,
        &[
            "add-rule",
            "--type",
            "payout.paid",
            "--account",
            "acct_1Test",
            "--target",
            &queue_arn,
        ],
    );
    assert_eq!(connected["stripe"][0]["role"], "connect", "{connected}");
    let connect = api
        .endpoints()
        .into_iter()
        .find(|e| e["connect"] == true)
        .expect("a Connect endpoint");
    assert_eq!(connect["metadata"]["stripe_bridge_endpoint"], "connect");
    let stored = stored_secrets(&outputs).await;
    assert!(
        stored["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["endpoint"] == "connect"),
        "{stored}"
    );

    // remove-rule: a type no rule needs any more is no longer asked for.
    let rules = stripe_json(&api, &name, &["list-rules"]);
    let subscriptions = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pattern"].to_string().contains("customer.subscription."))
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = stripe_json(&api, &name, &["remove-rule", &subscriptions]);
    assert!(
        removed["stripe"].as_array().is_some_and(|s| !s.is_empty()),
        "{removed}"
    );
    let main = api
        .endpoints()
        .into_iter()
        .find(|e| e["connect"] == false)
        .unwrap();
    assert_eq!(
        main["enabled_events"],
        serde_json::json!(["invoice.paid"]),
        "{main}"
    );

    // A connected account's event Stripe failed to deliver is found with its
    // Stripe-Account, and resent to the Connect endpoint.
    let payout = api.create_event("payout.paid", Some("acct_1Test"));
    wait_for("Stripe to give up on the payout", || {
        api.deliveries()
            .iter()
            .any(|d| d["event"] == payout["id"] && d["attempt"] == 3)
            .then_some(())
    });
    let reconciled = stripe_json(&api, &name, &["reconcile", "--since", "1h", "--yes"]);
    assert_eq!(reconciled["by_type"]["payout.paid"], 1, "{reconciled}");
    let retry = api
        .requests()
        .into_iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/retry"))
        .unwrap();
    assert_eq!(retry["stripe_account"], "acct_1Test", "{retry}");
    assert_eq!(retry["form"]["webhook_endpoint"], connect["id"], "{retry}");

    // status shows the endpoints.
    let status = stripe_json(&api, &name, &["status"]);
    let shown = &status["stripe"]["endpoints"];
    assert_eq!(shown.as_array().map(Vec::len), Some(2), "{status}");
    assert_eq!(shown[0]["url_matches"], true, "{status}");
    assert_eq!(shown[0]["missing_types"], serde_json::json!([]), "{status}");

    // doctor judges the endpoint: one sending elsewhere fails, with the fix.
    let stripe_check = |diagnosis: &Value| {
        diagnosis["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "Stripe endpoint")
            .cloned()
            .unwrap()
    };
    let doctor = stripe_cli(&api, &name, &["--output", "json", "doctor"]);
    let check = stripe_check(&serde_json::from_slice(&doctor.stdout).unwrap());
    assert_eq!(check["verdict"], "pass", "{check}");
    let main_id = main["id"].as_str().unwrap();
    let (status, _) = api.call(
        "POST",
        &format!("/v1/webhook_endpoints/{main_id}"),
        "url=https%3A%2F%2Felsewhere.example%2Fhook",
    );
    assert_eq!(status, 200);
    let doctor = stripe_cli(&api, &name, &["--output", "json", "doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    let check = stripe_check(&serde_json::from_slice(&doctor.stdout).unwrap());
    assert_eq!(check["verdict"], "fail", "{check}");
    assert!(
        check["found"]
            .as_str()
            .unwrap()
            .contains("https://elsewhere.example/hook"),
        "{check}"
    );
    assert!(check["fix"].as_str().unwrap().contains("link"), "{check}");
    let relinked = stripe_json(&api, &name, &["link"]);
    assert_eq!(relinked["endpoints"][0]["action"], "updated", "{relinked}");
    assert_eq!(
        api.endpoints()
            .into_iter()
            .find(|e| e["id"] == main_id)
            .unwrap()["url"],
        outputs["WebhookUrl"]
    );

    // remove: nothing left behind on either side.
    let removing = stripe_cli(&api, &name, &["--output", "json", "remove", "--yes"]);
    let gone = json(&removing);
    assert_eq!(
        gone["stripe_endpoints_deleted"].as_array().map(Vec::len),
        Some(2),
        "{gone}"
    );
    assert!(api.endpoints().is_empty());
    let outputs = [&unlinked, &linking, &added, &removing];
    shows_no_secret(&api, &outputs);
    assert!(
        api.requests()
            .iter()
            .any(|r| r["fields"].to_string().contains("starting_after=")),
        "the lists were read page by page"
    );
    assert_requests_match_stripe_node(&api);
    evidence::record(
        "stripe_link",
        serde_json::json!({
            "endpoints_made": 2,
            "endpoints_left_after_remove": api.endpoints().len(),
            "secrets_made": api.secrets().len(),
            "outputs_checked": outputs.len(),
            "secrets_found": 0,
        }),
    );
}

#[test]
fn stripe_node_reads_every_answer_of_the_emulator() {
    let api = StripeApi::start();
    let port = api.base.rsplit(':').next().unwrap().to_owned();
    assert_eq!(stripe_node(&["walk", &port], "").trim(), "ok");
}

#[tokio::test]
async fn without_a_stripe_key_link_says_where_one_is_read_from() {
    let name = unique("nokey");
    let _ = deployed(&name);
    let out = cli_with_env(&["--name", &name, "link"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no Stripe API key"), "{err}");
    assert!(err.contains("hint: set STRIPE_API_KEY"), "{err}");

    // The key `stripe login` stored is found where the Stripe CLI keeps it.
    let api = StripeApi::start();
    let config = std::env::temp_dir().join(unique("xdg"));
    std::fs::create_dir_all(config.join("stripe")).unwrap();
    std::fs::write(
        config.join("stripe/config.toml"),
        format!(
            "[default]\ntest_mode_api_key = \"{}\"\n",
            crate::support::stripe_api::KEY
        ),
    )
    .unwrap();
    let out = cli_with_env(
        &["--name", &name, "link", "--all-events"],
        &[
            ("STRIPE_API_BASE", &api.base),
            ("XDG_CONFIG_HOME", config.to_str().unwrap()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        api.endpoints()[0]["enabled_events"],
        serde_json::json!(["*"])
    );

    // A revoked key: Stripe's refusal, with the fix.
    let out = cli_with_env(
        &["--name", &name, "reconcile", "--yes"],
        &[
            ("STRIPE_API_BASE", &api.base),
            ("STRIPE_API_KEY", "sk_test_x_revoked"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    says(&out, "Stripe refused the API key from STRIPE_API_KEY");
    assert!(
        !stderr(&out).contains("sk_test_x_revoked"),
        "{}",
        stderr(&out)
    );
}

/// Events Stripe makes reach the bridge's queue through `dev`; a secret rolled in the
/// Dashboard behind the bridge's back makes deliveries fail past Stripe's retries;
/// `rotate-secret` mends it with no copy-paste; `reconcile` has Stripe resend what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_stripe_failed_to_deliver_is_resent_by_reconcile_once_the_secret_is_mended() {
    let api = StripeApi::start_with(&[
        "--retry-delays",
        "0.2,0.4",
        "--disable-after",
        "60",
        "--page-size",
        "2",
    ]);
    let LinkedBridge {
        name,
        outputs,
        sdk,
        queue_url,
        endpoint,
    } = linked_bridge(&api, "recon").await;
    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0", "--no-cloud-logs"]);
    api.route(outputs["WebhookUrl"].as_str().unwrap(), &dev.url);

    let first = api.create_event("invoice.paid", None);
    let arrived = wait_for("the first event in the queue", || {
        let got = futures_lite_block(drain(&sdk, &queue_url));
        (!got.is_empty()).then_some(got)
    });
    assert_eq!(arrived[0]["detail"]["id"], first["id"], "{arrived:?}");

    // Someone rolls the secret in the Dashboard: Stripe signs with one the bridge lacks.
    api.control(
        "POST",
        "roll-secret",
        serde_json::json!({"endpoint": endpoint}),
    );
    let lost: Vec<Value> = (0..3)
        .map(|_| api.create_event("invoice.paid", None))
        .collect();
    wait_for("Stripe to give up on the three", || {
        let failed = api
            .deliveries()
            .iter()
            .filter(|d| d["status"] == 400 && d["attempt"] == 2)
            .count();
        (failed >= 3).then_some(())
    });
    assert!(futures_lite_block(drain(&sdk, &queue_url)).is_empty());
    // trace tells what Stripe knows of an event the relay never took.
    let lost_id = lost[0]["id"].as_str().unwrap();
    let traced = stripe_cli(&api, &name, &["trace", lost_id, "--since", "1h"]);
    assert_eq!(traced.status.code(), Some(1));
    says(&traced, "1 endpoint(s) have not taken it");
    says(&traced, "reconcile --since 3d");

    let rotating = stripe_cli(
        &api,
        &name,
        &["--output", "json", "rotate-secret", "--wait", "6s"],
    );
    let rotated = json(&rotating);
    assert_eq!(rotated["old"], endpoint.as_str(), "{rotated}");
    let endpoints = api.endpoints();
    assert_eq!(endpoints.len(), 1, "the old endpoint is deleted");
    assert_eq!(endpoints[0]["id"], rotated["new"]);
    assert_eq!(
        endpoints[0]["metadata"].get("stripe_bridge_replaces"),
        None,
        "{endpoints:?}"
    );
    let stored = stored_secrets(&outputs).await;
    assert_eq!(
        stored["secrets"].as_array().unwrap().len(),
        1,
        "the old secret is dropped"
    );

    let reconciling = stripe_cli(
        &api,
        &name,
        &["--output", "json", "reconcile", "--since", "1h", "--yes"],
    );
    let reconciled = json(&reconciling);
    assert_eq!(reconciled["by_type"]["invoice.paid"], 3, "{reconciled}");
    assert_eq!(reconciled["resent"], 3);
    // Draining deletes what it reads: what each poll finds is kept.
    let mut resent = Vec::new();
    wait_for("the three resent events in the queue", || {
        resent.extend(futures_lite_block(drain(&sdk, &queue_url)));
        (resent.len() >= 3).then_some(())
    });
    let mut ids: Vec<&str> = resent
        .iter()
        .map(|m| m["detail"]["id"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = lost.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    want.sort();
    assert_eq!(ids, want);
    shows_no_secret(&api, &[&rotating, &reconciling]);
    evidence::record(
        "stripe_reconcile",
        serde_json::json!({
            "failed_past_stripes_retries": lost.len(),
            "resent": reconciled["resent"],
            "arrived": resent.len(),
        }),
    );

    // Resends were asked of the bridge's endpoint only, as `stripe events resend` asks.
    let retries: Vec<Value> = api
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/retry"))
        .collect();
    assert_eq!(retries.len(), 3);
    assert!(
        retries
            .iter()
            .all(|r| r["form"]["webhook_endpoint"] == rotated["new"]),
        "{retries:?}"
    );
}

fn futures_lite_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// `rotate-secret` waits for proof that the new endpoint's deliveries verify before it
/// deletes the old one; a new endpoint an interrupted rotation made, whose secret never
/// reached the bridge, is deleted and made again (Stripe never shows a secret twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_secret_finishes_an_interrupted_rotation_and_waits_for_a_verified_delivery() {
    let api = StripeApi::start();
    let LinkedBridge {
        name,
        outputs,
        sdk,
        queue_url,
        endpoint: old,
    } = linked_bridge(&api, "rotate").await;
    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0", "--no-cloud-logs"]);
    api.route(outputs["WebhookUrl"].as_str().unwrap(), &dev.url);

    // What a rotation interrupted after Stripe made the endpoint, before its secret was
    // stored, leaves: an endpoint marked as replacing the old one.
    let marks = api.endpoints()[0]["metadata"].clone();
    let mut form = format!(
        "url={}&enabled_events[0]=invoice.paid&metadata[stripe_bridge_replaces]={old}",
        outputs["WebhookUrl"].as_str().unwrap()
    );
    for (key, value) in marks.as_object().unwrap() {
        form.push_str(&format!("&metadata[{key}]={}", value.as_str().unwrap()));
    }
    let (status, orphan) = api.call(
        "POST",
        "/v1/webhook_endpoints",
        &form.replace('/', "%2F").replace(':', "%3A"),
    );
    assert_eq!(status, 200, "{orphan}");

    let env = api.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let rotating = spawn_cli_with_env(
        &[
            "--name",
            &name,
            "--output",
            "json",
            "rotate-secret",
            "--timeout",
            "30s",
        ],
        &env,
    );
    let new = wait_for("the new endpoint", || {
        api.endpoints()
            .into_iter()
            .find(|e| e["id"] != old.as_str() && e["id"] != orphan["id"])
            .map(|e| e["id"].as_str().unwrap().to_owned())
    });
    // Its secret is stored before it is shown to anyone: then an event proves it.
    std::thread::sleep(Duration::from_millis(500));
    let event = api.create_event("invoice.paid", None);
    let output = rotating.wait_with_output().unwrap();
    let rotated = json(&output);
    assert_eq!(rotated["new"], new.as_str(), "{rotated}");
    assert_eq!(rotated["verified"], true);
    let left: Vec<String> = api
        .endpoints()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        left,
        std::slice::from_ref(&new),
        "the old endpoint and the orphan are gone"
    );
    let stored = stored_secrets(&outputs).await;
    assert_eq!(stored["secrets"].as_array().unwrap().len(), 1, "{stored}");
    assert_eq!(stored["secrets"][0]["webhook_endpoint"], new.as_str());
    // Both endpoints delivered the event: the relay took both, as both secrets verified.
    let got = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(drain(&sdk, &queue_url))
    });
    assert!(
        got.iter().any(|m| m["detail"]["id"] == event["id"]),
        "{got:?}"
    );
    shows_no_secret(&api, &[&output]);

    // Run again on a finished rotation: a new one.
    let again = stripe_json(&api, &name, &["rotate-secret", "--wait", "1s"]);
    assert_eq!(again["old"], new.as_str(), "{again}");
}

/// An endpoint that fails past Stripe's window is disabled by Stripe: `status` and
/// `doctor` say so, and `reconcile` enables it before it resends (Stripe resends nothing
/// to a disabled endpoint).
#[tokio::test]
async fn a_disabled_endpoint_is_reported_and_enabled_by_reconcile() {
    let api = StripeApi::start_with(&[
        "--retry-delays",
        "0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1",
        "--disable-after",
        "0.3",
    ]);
    let LinkedBridge {
        name, endpoint: id, ..
    } = linked_bridge(&api, "disabled").await;
    // No route to a relay: every delivery to the API Gateway URL goes unanswered.
    api.create_event("invoice.paid", None);
    wait_for("Stripe to disable the endpoint", || {
        (api.endpoints()[0]["status"] == "disabled").then_some(())
    });

    let status = stripe_json(&api, &name, &["status"]);
    let endpoint = &status["stripe"]["endpoints"][0];
    assert_eq!(endpoint["status"], "disabled", "{status}");
    assert_eq!(endpoint["undelivered_3d"], 1, "{status}");
    let doctor = stripe_cli(&api, &name, &["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        text.contains(&format!("Stripe endpoint {id} is disabled")),
        "{text}"
    );

    let reconciled = stripe_cli(&api, &name, &["--output", "json", "reconcile", "--yes"]);
    says(&reconciled, &format!("Enabled Stripe endpoint {id}"));
    assert_eq!(json(&reconciled)["resent"], 1);
    assert_eq!(api.endpoints()[0]["status"], "enabled");

    // More than Stripe keeps: refused before anything is asked of Stripe.
    let far = stripe_cli(&api, &name, &["reconcile", "--since", "45d", "--yes"]);
    assert_eq!(far.status.code(), Some(1));
    says(&far, "past the 30 days of events Stripe keeps");
}

/// An endpoint made by hand is adopted: marked as the bridge's, pointed at its URL, its
/// types kept in step from then on; its secret is given once with set-secret. `remove`
/// leaves it (the bridge did not make it), unmarked, and says so.
#[tokio::test]
async fn an_adopted_endpoint_is_kept_in_step_and_left_by_remove() {
    let api = StripeApi::start();
    let name = unique("adopt");
    let _ = deployed(&name);
    let sdk = sdk_config().await;
    let (_, queue_arn) = queue(&aws_sdk_sqs::Client::new(&sdk), &unique("adoptq")).await;
    let rule = stripe_cli(
        &api,
        &name,
        &[
            "add-rule",
            "--type",
            "charge.refunded",
            "--target",
            &queue_arn,
        ],
    );
    assert!(rule.status.success(), "{}", stderr(&rule));
    let (status, by_hand) = api.call(
        "POST",
        "/v1/webhook_endpoints",
        "url=https%3A%2F%2Fold.example%2Fhook&enabled_events[0]=invoice.paid&api_version=2025-03-31.basil",
    );
    assert_eq!(status, 200, "{by_hand}");
    let id = by_hand["id"].as_str().unwrap();

    // --api-version cannot change an endpoint: said, with the way that can.
    let version = stripe_cli(
        &api,
        &name,
        &["link", "--adopt", id, "--api-version", "2026-10-28.endive"],
    );
    assert_eq!(version.status.code(), Some(1));
    says(&version, "Stripe cannot change an endpoint's version");
    assert_eq!(
        api.endpoints()[0]["metadata"],
        serde_json::json!({}),
        "refused before anything changed"
    );

    let adopting = stripe_cli(&api, &name, &["--output", "json", "link", "--adopt", id]);
    let adopted = json(&adopting);
    assert_eq!(adopted["endpoints"][0]["action"], "adopted", "{adopted}");
    says(&adopting, "set-secret");
    let endpoint = api.endpoints().into_iter().find(|e| e["id"] == id).unwrap();
    assert_eq!(endpoint["metadata"]["stripe_bridge_origin"], "adopted");
    assert_eq!(
        endpoint["enabled_events"],
        serde_json::json!(["charge.refunded"])
    );
    assert_ne!(endpoint["url"], "https://old.example/hook");
    assert_eq!(
        endpoint["api_version"], "2025-03-31.basil",
        "its version is kept"
    );

    // Another bridge cannot take it.
    let other = unique("adopt2");
    let _ = deployed(&other);
    let taken = stripe_cli(&api, &other, &["link", "--adopt", id]);
    assert_eq!(taken.status.code(), Some(1));
    says(&taken, "already feeds another bridge");

    let removing = stripe_cli(&api, &name, &["--output", "json", "remove", "--yes"]);
    let removed = json(&removing);
    assert_eq!(
        removed["stripe_endpoints_left"],
        serde_json::json!([id]),
        "{removed}"
    );
    let left = api
        .endpoints()
        .into_iter()
        .find(|e| e["id"] == id)
        .expect("left in Stripe");
    assert_eq!(left["metadata"], serde_json::json!({}), "unmarked: {left}");
    assert_requests_match_stripe_node(&api);
}
