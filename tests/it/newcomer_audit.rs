//! The newcomer audit's findings (issue 15), one test each: what a careful user tried,
//! and what they should have seen.

use crate::support::aws::{queue, role_for, rule_targets, sdk_config, state_machine, unique};
use crate::support::cli::{
    artifact, cli, cli_json, cli_offline, cli_offline_with_env, cli_with_input, deploy,
    deployed_bridge, json, stderr,
};
use crate::support::stripe;

/// Errors from the connection layer are one line naming the cause, plus a hint; a
/// malformed endpoint is a usage error (exit 2).
#[test]
fn connection_errors_are_one_line_with_a_hint() {
    let closed = cli_offline(&["status"]);
    assert_eq!(closed.status.code(), Some(1));
    let text = stderr(&closed);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("error: cannot reach AWS to check the credentials: ")
            && lines[0].contains("Connection refused"),
        "{text}"
    );
    assert!(
        !text.contains("DispatchFailure") && !text.contains("{"),
        "{text}"
    );
    assert!(lines[1].starts_with("hint: "), "{text}");

    // #3: a profile that does not exist is refused, though the environment has
    // credentials the SDK would otherwise fall back to.
    let profile = cli_offline(&["--profile", "nosuchprofile", "status"]);
    assert_eq!(profile.status.code(), Some(1));
    assert!(
        stderr(&profile).starts_with("error: profile nosuchprofile not found in "),
        "{}",
        stderr(&profile)
    );

    let not_a_url = cli_offline(&["--endpoint-url", "not-a-url", "status"]);
    assert_eq!(not_a_url.status.code(), Some(2));
    assert!(
        stderr(&not_a_url).contains("`not-a-url` is not an endpoint URL"),
        "{}",
        stderr(&not_a_url)
    );
}

/// `--output json` gets JSON, also from the command that prints a template.
#[test]
fn output_json_prints_the_template_as_json() {
    let output = cli_offline(&["--output", "json", "template"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let template: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("template --output json prints JSON");
    assert!(template["Resources"].is_object());
    let yaml = cli_offline(&["template"]);
    assert!(String::from_utf8_lossy(&yaml.stdout).starts_with("AWSTemplateFormatVersion"));
}

/// A deploy that changes nothing says so, and not that it deployed; `-q` prints the
/// result and warnings, with no progress and no hint.
#[test]
fn a_deploy_with_nothing_to_do_does_not_claim_it_deployed() {
    let name = unique("noop");
    let (zip, _) = artifact("v1");
    json(&deploy(&name, &zip));
    let again = cli(&[
        "--name",
        &name,
        "deploy",
        "--artifact",
        zip.to_str().unwrap(),
        "--allow-publisher",
        crate::support::aws::TEST_CALLER,
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(!text.contains("Deployed "), "{text}");
    assert!(text.contains("is up to date"), "{text}");
    assert!(stderr(&again).contains("No changes to deploy"));
    assert!(!stderr(&again).contains("hint:"), "{}", stderr(&again));

    let (changed, _) = artifact("v2");
    let quiet = cli(&[
        "--name",
        &name,
        "-q",
        "deploy",
        "--artifact",
        changed.to_str().unwrap(),
    ]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    // The answer stays; the progress and the hint go.
    assert!(
        String::from_utf8_lossy(&quiet.stdout).contains(&format!("Deployed {name}")),
        "{}",
        String::from_utf8_lossy(&quiet.stdout)
    );
    assert_eq!(stderr(&quiet), "");

    // Warnings and verdicts stay too.
    let warned = cli(&["--name", &name, "-q", "set-secret", SECRET]);
    assert!(warned.status.success(), "{}", stderr(&warned));
    assert!(
        stderr(&warned).contains("warning: the secret is now in your shell history"),
        "{}",
        stderr(&warned)
    );
    let shown = cli(&["--name", &name, "-q", "set-secret", "--show"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("whsec_"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    let verdict = cli_offline(&[
        "-q",
        "verify",
        "--secret",
        SECRET,
        "--header",
        "t=1700000000,v1=00",
        "--payload",
        "-",
    ]);
    assert_eq!(verdict.status.code(), Some(1));
    assert!(!verdict.stdout.is_empty(), "verify -q said nothing");
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

const SECRET: &str = "whsec_newcomerAudit0123456789abcdefAB";

/// A deployed bridge and a queue of the user's; the queue's ARN.
async fn bridge_and_queue(name: &str) -> String {
    deployed_bridge(name, SECRET);
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    queue(&sqs, &format!("{name}-q")).await.1
}

fn add_rule_output(name: &str, args: &[&str]) -> std::process::Output {
    let mut full = vec!["--name", name, "--output", "json", "add-rule"];
    full.extend_from_slice(args);
    cli(&full)
}

/// #4: a second consumer of a type gets a rule of its own; the first keeps its events.
#[tokio::test]
async fn a_second_target_for_a_type_gets_its_own_rule() {
    let name = unique("second");
    let first = bridge_and_queue(&name).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let (_, second) = queue(&sqs, &format!("{name}-billing")).await;
    let a = json(&add_rule_output(
        &name,
        &["--type", "invoice.paid", "--target", &first],
    ));
    let b = json(&add_rule_output(
        &name,
        &["--type", "invoice.paid", "--target", &second],
    ));
    assert_eq!(a["rule"], format!("{name}-invoice-paid"));
    assert_eq!(b["rule"], format!("{name}-invoice-paid-to-{name}-billing"));
    let rules = cli_json(&name, &["list-rules"])["rules"].clone();
    let targets: Vec<&serde_json::Value> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["targets"][0])
        .collect();
    assert_eq!(
        targets,
        [&serde_json::json!(first), &serde_json::json!(second)]
    );
    // The rules report their patterns as JSON objects, as add-rule does.
    assert_eq!(rules[0]["pattern"], a["pattern"]);
    // Adding the first again changes nothing.
    let again = json(&add_rule_output(
        &name,
        &["--type", "invoice.paid", "--target", &first],
    ));
    assert_eq!(again["changed"], false);
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// #9: the same set of types, in another order or repeated, is the same rule.
#[tokio::test]
async fn the_same_types_in_another_order_are_the_same_rule() {
    let name = unique("order");
    let queue = bridge_and_queue(&name).await;
    let types = |list: &[&str]| {
        let mut args: Vec<&str> = list.iter().flat_map(|t| ["--type", *t]).collect();
        args.extend(["--target", queue.as_str()]);
        json(&add_rule_output(&name, &args))
    };
    let first = types(&["customer.created", "customer.updated"]);
    let reversed = types(&["customer.updated", "customer.created"]);
    assert_eq!(reversed["rule"], first["rule"]);
    assert_eq!(reversed["changed"], false);
    let once = types(&["invoice.paid"]);
    let twice = types(&["invoice.paid", "invoice.paid"]);
    assert_eq!(
        (twice["rule"].clone(), twice["changed"].clone()),
        (once["rule"].clone(), false.into())
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// #5, #10, #12 and the wording of refused targets: each refused before anything is
/// made, with its own reason.
#[tokio::test]
async fn refused_targets_and_roles_say_why() {
    let name = unique("refuse");
    let queue = bridge_and_queue(&name).await;
    let outputs = cli_json(&name, &["status"]);
    let bus_arn = outputs["event_bus_arn"].as_str().unwrap().to_owned();
    let topic = outputs["failure_topic"]["arn"].as_str().unwrap().to_owned();
    let machine = state_machine(&sdk_config().await, &format!("{name}-m")).await;
    let alias = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}-relay:nosuchalias");
    let missing_dlq = format!("arn:aws:sqs:us-east-1:123456789012:{name}-nosuchdlq");
    let missing_role = "arn:aws:iam::123456789012:role/no-such-role";
    for (args, code, expected) in [
        (vec!["--target", &bus_arn], 1, "the bridge's own event bus"),
        (vec!["--target", &topic], 1, "the bridge's failure topic"),
        (vec!["--target", &alias], 1, "does not exist"),
        (
            vec!["--target", &queue, "--dlq", &missing_dlq],
            1,
            "the dead-letter queue",
        ),
        (
            vec!["--target", "arn:aws:s3:::bucket"],
            1,
            "not a target add-rule supports",
        ),
        (
            vec!["--target", &queue, "--role-arn", "garbage"],
            2,
            "is not an IAM role ARN",
        ),
        (
            vec!["--target", &queue, "--role-arn", missing_role],
            1,
            "--role-arn does not apply",
        ),
        (
            vec!["--target", &machine, "--role-arn", missing_role],
            1,
            "does not exist",
        ),
        (
            vec!["--target", &queue, "--rule-name", "has space"],
            2,
            "is not a rule name",
        ),
    ] {
        let mut full = vec!["--type", "invoice.paid"];
        full.extend(args.iter().copied());
        let output = add_rule_output(&name, &full);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{full:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{full:?}: {}",
            stderr(&output)
        );
    }
    let rules = cli_json(&name, &["list-rules"]);
    assert_eq!(
        rules["rules"],
        serde_json::json!([]),
        "a refused rule was made"
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// #7: `verify` gives the relay's verdict: a signed body that is not an event is refused.
#[test]
fn verify_refuses_a_signed_body_that_is_not_an_event() {
    let dir = std::env::temp_dir().join(unique("notevent"));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("body.json");
    std::fs::write(&body, br#"{"foo":1}"#).unwrap();
    let header = stripe::sign(SECRET, br#"{"foo":1}"#);
    let output = cli_offline(&[
        "--output",
        "json",
        "verify",
        "--secret",
        SECRET,
        "--header",
        &header,
        "--payload",
        body.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdict["reason"], "invalid_event");
    assert_eq!(verdict["status"], 400);

    let blank = cli_offline(&[
        "verify",
        "--secret",
        "   ",
        "--header",
        &header,
        "--payload",
        body.to_str().unwrap(),
    ]);
    assert_eq!(blank.status.code(), Some(1));
    let text = String::from_utf8_lossy(&blank.stdout);
    assert!(
        text.contains("it is blank") && !text.contains("()"),
        "{text}"
    );
    assert!(text.contains("500 secret_invalid"), "{text}");
}

/// #8: a zip built for one architecture is not deployed as the other.
#[test]
fn an_artifact_for_another_architecture_is_refused() {
    let mut binary = b"\x7fELF\x02\x01\x01".to_vec();
    binary.resize(18, 0);
    binary.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    binary.extend_from_slice(b" GLIBC_2.17");
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    std::io::Write::write_all(&mut writer, &binary).unwrap();
    let path = std::env::temp_dir()
        .join(unique("x86"))
        .with_extension("zip");
    std::fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
    let name = unique("arch");
    let output = cli(&[
        "--name",
        &name,
        "deploy",
        "--arch",
        "arm64",
        "--artifact",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is built for x86_64, but the function would run on arm64"),
        "{}",
        stderr(&output)
    );
    let status = cli(&["--name", &name, "status"]);
    assert!(
        stderr(&status).contains("no bridge"),
        "a refused deploy made a stack"
    );
}

/// Low: `set-secret` reads a file's one line without a warning, and says when standard
/// input is empty or the secret is longer than any Stripe makes; `--keep-previous` is
/// checked like every other flag (exit 2).
#[test]
fn set_secret_input_is_read_as_people_give_it() {
    let name = unique("input");
    let (zip, _) = artifact("v1");
    json(&deploy(&name, &zip));
    let from_file = cli_with_input(
        &["--name", &name, "set-secret", "-"],
        &[],
        &format!("{SECRET}\n"),
    );
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    assert!(
        !stderr(&from_file).contains("warning"),
        "{}",
        stderr(&from_file)
    );
    let empty = cli_with_input(&["--name", &name, "set-secret", "-"], &[], "");
    assert!(
        stderr(&empty).contains("standard input was empty"),
        "{}",
        stderr(&empty)
    );
    let long = format!("whsec_{}", "a".repeat(5_000));
    let too_long = cli_with_input(&["--name", &name, "set-secret", "-"], &[], &long);
    assert_eq!(too_long.status.code(), Some(1));
    assert!(
        stderr(&too_long).contains("longer than any Stripe makes"),
        "{}",
        stderr(&too_long)
    );
    for (value, expected) in [
        ("25h", "longer than 24h"),
        ("abc", "`abc` is not a duration"),
    ] {
        let output = cli_with_input(
            &["--name", &name, "set-secret", "-", "--keep-previous", value],
            &[],
            SECRET,
        );
        assert_eq!(output.status.code(), Some(2), "{value}");
        assert!(
            stderr(&output).contains(expected),
            "{value}: {}",
            stderr(&output)
        );
    }
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// Low: `test` to a URL that does not answer says what to check, and still prints JSON
/// when asked; `dev --bus` with a bus that does not exist stops at once.
#[test]
fn a_local_relay_that_is_not_there_is_named() {
    let closed = cli_offline(&[
        "--output",
        "json",
        "test",
        "--url",
        "http://127.0.0.1:9/webhook",
        "--secret",
        SECRET,
    ]);
    assert_eq!(closed.status.code(), Some(1));
    assert!(
        stderr(&closed).contains("hint: is `stripe-bridge dev` running?"),
        "{}",
        stderr(&closed)
    );
    let printed: serde_json::Value =
        serde_json::from_slice(&closed.stdout).expect("JSON on stdout");
    assert_eq!(printed["url"], "http://127.0.0.1:9/webhook");
    assert!(printed["error"].as_str().unwrap().contains("no answer"));

    let dev = cli(&[
        "dev",
        "--port",
        "0",
        "--secret",
        SECRET,
        "--bus",
        "no-such-bus",
    ]);
    assert_eq!(dev.status.code(), Some(1));
    assert!(
        stderr(&dev).contains("there is no event bus no-such-bus"),
        "{}",
        stderr(&dev)
    );
}

/// #5: giving, changing or dropping `--role-arn` on an existing rule changes its role.
#[tokio::test]
async fn changing_or_dropping_the_role_changes_the_rule() {
    let name = unique("role");
    deployed_bridge(&name, SECRET);
    let sdk = sdk_config().await;
    let machine = state_machine(&sdk, &format!("{name}-m")).await;
    let own = role_for(&sdk, &format!("{name}-own"), "events.amazonaws.com").await;
    let add = |role: Option<&str>| {
        let mut args = vec!["--type", "invoice.paid", "--target", machine.as_str()];
        args.extend(role.iter().flat_map(|r| ["--role-arn", *r]));
        json(&add_rule_output(&name, &args))
    };
    let role_of = |rule: serde_json::Value| {
        let sdk = sdk.clone();
        let name = name.clone();
        async move {
            rule_targets(&sdk, &name, rule.as_str().unwrap()).await[0]
                .role_arn()
                .unwrap()
                .to_owned()
        }
    };
    let made = add(None);
    assert!(
        role_of(made["rule"].clone())
            .await
            .contains("/stripe-bridge-rule-")
    );
    let given = add(Some(&own));
    assert_eq!(given["changed"], true, "giving --role-arn changed nothing");
    assert_eq!(role_of(given["rule"].clone()).await, own);
    assert_eq!(add(Some(&own))["changed"], false);
    let dropped = add(None);
    assert_eq!(
        dropped["changed"], true,
        "dropping --role-arn changed nothing"
    );
    assert!(
        role_of(dropped["rule"].clone())
            .await
            .contains("/stripe-bridge-rule-")
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// Issue 12, point 5: secrets off the command line. `verify`, `dev` and `test` read
/// STRIPE_WEBHOOK_SECRET or `--secret-file`; `verify` with neither, and no terminal to
/// ask on, says how to give one; `set-secret` with the secret as an argument warns that
/// it is now in the shell history.
#[test]
fn secrets_come_from_the_environment_a_file_or_a_prompt() {
    let dir = std::env::temp_dir().join(unique("secretfile"));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("body.json");
    let event = stripe::event("evt_fromEnv", "invoice.paid");
    std::fs::write(&body, &event).unwrap();
    let header = stripe::sign(SECRET, event.as_bytes());
    let file = dir.join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let verify = [
        "verify",
        "--header",
        header.as_str(),
        "--payload",
        body.to_str().unwrap(),
    ];

    let from_env = cli_offline_with_env(&verify, &[("STRIPE_WEBHOOK_SECRET", SECRET)]);
    assert!(from_env.status.success(), "{}", stderr(&from_env));
    let mut with_file = verify.to_vec();
    with_file.extend(["--secret-file", file.to_str().unwrap()]);
    let from_file = cli_offline(&with_file);
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    let none = cli_offline(&verify);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("no signing secret to verify with")
            && stderr(&none).contains("STRIPE_WEBHOOK_SECRET"),
        "{}",
        stderr(&none)
    );
    // Help never shows the variable's value.
    let help = cli_offline_with_env(&["verify", "--help"], &[("STRIPE_WEBHOOK_SECRET", SECRET)]);
    assert!(!String::from_utf8_lossy(&help.stdout).contains(&SECRET[6..]));

    let name = unique("history");
    let (zip, _) = artifact("v1");
    json(&deploy(&name, &zip));
    let argument = cli(&["--name", &name, "set-secret", SECRET]);
    assert!(argument.status.success(), "{}", stderr(&argument));
    assert!(
        stderr(&argument).contains("warning: the secret is now in your shell history")
            && stderr(&argument).contains(&format!(
                "hint: next time run `stripe-bridge --name {name} set-secret`"
            )),
        "{}",
        stderr(&argument)
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// Removing a bridge that was never deployed needs no question, with or without a
/// terminal: there is nothing to remove.
#[test]
fn removing_a_bridge_never_deployed_asks_nothing() {
    let name = unique("never");
    let removed = cli(&["--name", &name, "remove"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(
        String::from_utf8_lossy(&removed.stdout).contains("nothing to remove"),
        "{}",
        String::from_utf8_lossy(&removed.stdout)
    );
}

/// Every script that builds uses the one warm build directory outside the clone, so the
/// README's two commands (the demo and the tests) compile everything once, not twice.
#[test]
fn every_script_that_builds_shares_one_target_directory() {
    const SHARED: &str =
        r#"export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}""#;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for script in [
        ".ci/run",
        "tests/run.sh",
        "tests/demo.sh",
        "tests/aws-smoke.sh",
        "tests/evidence.sh",
        "benches/cli.sh",
        "benches/compare.sh",
    ] {
        let text = std::fs::read_to_string(root.join(script)).unwrap();
        assert!(
            text.contains(SHARED),
            "{script} builds into a directory of its own"
        );
    }
}
