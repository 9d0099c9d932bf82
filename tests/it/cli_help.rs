//! The command line as a person meets it: every command's help shows an example, and the
//! shell completions cover every command.

use crate::support::cli::cli;

const COMMANDS: &[&str] = &[
    "deploy",
    "set-secret",
    "add-rule",
    "list-rules",
    "remove-rule",
    "remove",
    "dev",
    "test",
    "verify",
    "status",
    "completions",
    "template",
    "package",
];

#[test]
fn every_commands_help_shows_an_example() {
    let top = cli(&["--help"]);
    let top = String::from_utf8_lossy(&top.stdout);
    for command in COMMANDS {
        assert!(
            top.contains(&format!("  {command} ")),
            "{command} is not listed:\n{top}"
        );
        let help = cli(&[command, "--help"]);
        assert!(help.status.success());
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(
            text.contains("Example") && text.contains(&format!("stripe-bridge {command}")),
            "{command} --help has no example:\n{text}"
        );
    }
}

#[test]
fn completions_cover_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = cli(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        for command in COMMANDS {
            assert!(
                script.contains(command),
                "{shell} completions lack {command}"
            );
        }
    }
    let bad = cli(&["completions", "cmd.exe"]);
    assert_eq!(bad.status.code(), Some(2));
}
