//! The newcomer audit's findings (issue 15), one test each: what a careful user tried,
//! and what they should have seen.

use crate::support::aws::unique;
use crate::support::cli::{artifact, cli, cli_offline, deploy, json, stderr};

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

    let not_a_url = cli_offline(&["--endpoint-url", "not-a-url", "status"]);
    assert_eq!(not_a_url.status.code(), Some(2));
    assert!(
        stderr(&not_a_url).contains("`not-a-url` is not an endpoint URL"),
        "{}",
        stderr(&not_a_url)
    );
}

/// `--output json` gets JSON, also from the commands that print a template.
#[test]
fn output_json_prints_the_template_as_json() {
    for args in [
        &["--output", "json", "template"][..],
        &["--output", "json", "deploy", "--dry-run"],
    ] {
        let output = cli_offline(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let template: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON: {e}"));
        assert!(template["Resources"].is_object(), "{args:?}");
    }
    let yaml = cli_offline(&["template"]);
    assert!(String::from_utf8_lossy(&yaml.stdout).starts_with("AWSTemplateFormatVersion"));
}

/// A deploy that changes nothing says so, and not that it deployed; `-q` prints the
/// result alone, with no hint.
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
    assert_eq!(String::from_utf8_lossy(&quiet.stdout), "");
    assert_eq!(stderr(&quiet), "");
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}
