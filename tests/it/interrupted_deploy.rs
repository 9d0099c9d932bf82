//! A deploy killed part-way is recovered by the next one: killed before its change set
//! ran (a new stack left in REVIEW_IN_PROGRESS, or an update's change set left pending),
//! or killed while it waited for CloudFormation. The fault proxy holds the chosen call
//! open, so the process is killed exactly there.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::aws::{pending_change_sets, stack_status, unique};
use crate::support::cli::{artifact, cli, deploy, json, spawn_cli_with_env, stderr};
use crate::support::emulator;
use crate::support::evidence;
use crate::support::fault_proxy::{Fault, FaultProxy, Plan};

/// Runs `deploy` through the proxy, holding `operation` open, and kills it there.
async fn deploy_killed_at(
    proxy: &FaultProxy,
    name: &str,
    zip: &std::path::Path,
    operation: &'static str,
) {
    proxy.set_plan(Some(Plan {
        operation,
        rate: 1.0,
        faults: vec![Fault::Hang],
        hang: Duration::from_secs(120),
    }));
    let mut child = spawn_cli_with_env(
        &[
            "--name",
            name,
            "deploy",
            "--artifact",
            zip.to_str().unwrap(),
        ],
        &[("AWS_ENDPOINT_URL", proxy.endpoint.as_str())],
    );
    let started = Instant::now();
    while proxy.counts.calls.load(Ordering::Relaxed) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "deploy never reached {operation}"
        );
        if let Some(status) = child.try_wait().unwrap() {
            let mut said = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                std::io::Read::read_to_string(&mut stderr, &mut said).ok();
            }
            panic!("deploy ended before {operation}: {status}\n{said}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    proxy.set_plan(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_killed_part_way_is_recovered_by_the_next_one() {
    let proxy = FaultProxy::start(emulator::endpoint(), 3).await;
    let (zip, _) = artifact("v1");
    let (changed, _) = artifact("v2");
    let mut recovered = 0;

    // Killed before the first change set ran: the stack is an empty REVIEW_IN_PROGRESS.
    let name = unique("killed");
    deploy_killed_at(&proxy, &name, &zip, "Action=ExecuteChangeSet").await;
    assert_eq!(stack_status(&name).await, "REVIEW_IN_PROGRESS");
    let again = deploy(&name, &zip);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("stopped before it ran"),
        "{}",
        stderr(&again)
    );
    assert!(json(&again)["outputs"]["WebhookUrl"].is_string());
    recovered += 1;

    // Killed before an update's change set ran: it is left pending, and discarded.
    deploy_killed_at(&proxy, &name, &changed, "Action=ExecuteChangeSet").await;
    assert_eq!(pending_change_sets(&name).await, 1);
    let again = deploy(&name, &changed);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("left by an earlier deploy"),
        "{}",
        stderr(&again)
    );
    assert_eq!(pending_change_sets(&name).await, 0);
    recovered += 1;

    // Killed while waiting for CloudFormation: the next deploy finds the stack settled.
    let waited = unique("killed");
    deploy_killed_at(&proxy, &waited, &zip, "Action=DescribeStackEvents").await;
    let again = deploy(&waited, &zip);
    assert!(again.status.success(), "{}", stderr(&again));
    recovered += 1;

    for bridge in [&name, &waited] {
        let removed = cli(&["--name", bridge, "remove", "--yes"]);
        assert!(removed.status.success(), "{}", stderr(&removed));
    }
    evidence::record(
        "interrupted_deploys",
        serde_json::json!({ "killed": 3, "recovered_by_the_next_deploy": recovered }),
    );
}
