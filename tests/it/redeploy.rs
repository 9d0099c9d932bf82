//! Day-2 deploys (issue 28): a redeploy keeps every setting its flags do not give, a
//! change that loses archived events or an alert is asked for, a dry run shows the
//! changes and leaves nothing, and Ctrl-C before the change set runs undoes the deploy.
//!
//! The emulator applies a change of parameters alone to the stack's parameters, not to
//! its resources, so these tests read what the CLI sent from the stack's parameters.

use std::collections::BTreeMap;

use crate::support::aws::{
    artifacts_bucket_of, bucket_exists, pending_change_sets, sdk_config, unique,
};
use crate::support::cli::{artifact, cli, cli_on_terminal_interrupted, deploy_with, json, stderr};

/// The deployed stack's parameters.
async fn parameters(name: &str) -> BTreeMap<String, String> {
    let stacks = aws_sdk_cloudformation::Client::new(&sdk_config().await)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .expect("describe the stack");
    stacks.stacks()[0]
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

const SETTINGS: [(&str, &str); 5] = [
    ("NotifyEmail", "ops@example.com"),
    ("QuietAlarmSeconds", "21600"),
    ("ReservedConcurrency", "10"),
    ("ArchiveRetentionDays", "0"),
    ("SignatureToleranceSeconds", "600"),
];

/// Bridge `name` deployed with SETTINGS, from the artifact `v1`.
fn deployed_with_settings(name: &str) -> std::path::PathBuf {
    let (v1, _) = artifact("v1");
    let flags = [
        "--notify-email",
        "ops@example.com",
        "--alert-if-quiet",
        "6h",
        "--max-concurrency",
        "10",
        "--retention-days",
        "0",
        "--tolerance",
        "600",
    ];
    let first = deploy_with(name, &v1, &flags);
    assert!(first.status.success(), "{}", stderr(&first));
    v1
}

#[tokio::test]
async fn a_redeploy_keeps_every_setting_its_flags_do_not_give() {
    let name = unique("keeps");
    deployed_with_settings(&name);
    let deployed = parameters(&name).await;
    for (key, value) in SETTINGS {
        assert_eq!(deployed[key], value, "{key}");
    }

    // A plain deploy of a new relay, as an upgrade is.
    let (v2, _) = artifact("v2");
    let upgraded = json(&deploy_with(&name, &v2, &[]));
    assert_eq!(upgraded["changed"], true, "{upgraded}");
    let after = parameters(&name).await;
    for (key, value) in SETTINGS {
        assert_eq!(after[key], value, "a plain redeploy changed {key}");
    }
    let changed: Vec<&str> = upgraded["parameters_changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["CodeKey"], "{upgraded}");

    // A flag given changes its setting alone, and the result says before → after.
    let tolerance = json(&deploy_with(&name, &v2, &["--tolerance", "120"]));
    assert_eq!(
        tolerance["parameters_changed"],
        serde_json::json!([{"key": "SignatureToleranceSeconds", "before": "600", "after": "120"}])
    );
    let after = parameters(&name).await;
    assert_eq!(after["SignatureToleranceSeconds"], "120");
    assert_eq!(after["NotifyEmail"], "ops@example.com");

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// Losing archived events or an alert needs `--yes` without a terminal; refused, the
/// deploy makes and changes nothing.
#[tokio::test]
async fn a_deploy_that_loses_events_or_an_alert_needs_yes() {
    let name = unique("losses");
    let v1 = deployed_with_settings(&name);

    for (flags, says) in [
        (
            &["--retention-days", "30"][..],
            "deletes archived events older than 30 days (the archive keeps them forever now)",
        ),
        (
            &["--no-notify-email"],
            "stops mailing failure notices to ops@example.com",
        ),
        (
            &["--alert-if-quiet", "off"],
            "removes the alarm for a bridge that relays nothing",
        ),
    ] {
        let refused = deploy_with(&name, &v1, flags);
        assert_eq!(refused.status.code(), Some(1), "{flags:?}");
        let text = stderr(&refused);
        assert!(text.contains(says), "{flags:?}: {text}");
        assert!(text.contains("--yes"), "{flags:?}: {text}");
        assert_eq!(
            pending_change_sets(&name).await,
            0,
            "{flags:?} left a change set"
        );
    }
    let kept = parameters(&name).await;
    assert_eq!(kept["ArchiveRetentionDays"], "0");
    assert_eq!(kept["NotifyEmail"], "ops@example.com");
    assert_eq!(kept["QuietAlarmSeconds"], "21600");

    let cleared = deploy_with(
        &name,
        &v1,
        &["--no-notify-email", "--alert-if-quiet", "off", "--yes"],
    );
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    let after = parameters(&name).await;
    assert_eq!(after["NotifyEmail"], "");
    assert_eq!(after["QuietAlarmSeconds"], "0");
    assert_eq!(after["ArchiveRetentionDays"], "0");

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// A dry run shows the changes (resources, and settings before → after) and leaves
/// nothing: no change set on a bridge, no stack or bucket for a first deploy.
#[tokio::test]
async fn a_dry_run_shows_the_changes_and_leaves_nothing() {
    let name = unique("dry");
    let (v1, _) = artifact("v1");
    let sdk = sdk_config().await;
    let first = json(&deploy_with(&name, &v1, &["--dry-run"]));
    assert_eq!(first["create"], true, "{first}");
    assert!(
        first["resources_changed"]
            .as_array()
            .unwrap()
            .contains(&"RelayFunction".into()),
        "{first}"
    );
    let stack = aws_sdk_cloudformation::Client::new(&sdk)
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await;
    assert!(stack.is_err(), "a dry run left a stack");
    assert!(
        !bucket_exists(&sdk, &artifacts_bucket_of(&name)).await,
        "a dry run made a bucket"
    );

    assert!(deploy_with(&name, &v1, &[]).status.success());
    let dry = deploy_with(&name, &v1, &["--retention-days", "30", "--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let dry = json(&dry);
    assert_eq!(
        dry["parameters_changed"],
        serde_json::json!([{"key": "ArchiveRetentionDays", "before": "90", "after": "30"}])
    );
    assert_eq!(parameters(&name).await["ArchiveRetentionDays"], "90");
    assert_eq!(
        pending_change_sets(&name).await,
        0,
        "a dry run left its change set"
    );

    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// Ctrl-C at `--confirm`'s prompt undoes the deploy as answering no does, and exits 130.
#[tokio::test]
async fn ctrl_c_at_the_prompt_leaves_nothing() {
    let name = unique("ctrlc");
    let (v1, _) = artifact("v1");
    let (status, screen) = cli_on_terminal_interrupted(
        &[
            "--name",
            &name,
            "deploy",
            "--confirm",
            "--artifact",
            v1.to_str().unwrap(),
        ],
        "[y/N]",
    );
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(screen.contains("interrupted: nothing deployed"), "{screen}");
    let sdk = sdk_config().await;
    let stack = aws_sdk_cloudformation::Client::new(&sdk)
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await;
    assert!(stack.is_err(), "Ctrl-C left the stack: {stack:?}");
    assert!(
        !bucket_exists(&sdk, &artifacts_bucket_of(&name)).await,
        "Ctrl-C left the artifacts bucket"
    );
    // `status` answers as for a bridge never deployed, not with an error about a stack
    // in review.
    let status = cli(&["--name", &name, "status"]);
    assert!(
        !stderr(&status).contains("REVIEW_IN_PROGRESS"),
        "{}",
        stderr(&status)
    );
}
