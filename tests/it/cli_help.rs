//! The command line as a person meets it: every command's help shows an example, and the
//! shell completions cover every command.

use crate::support::cli::cli_offline as cli;

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

/// The commands `--help` lists: the first word of each line of its Commands section.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn every_commands_help_shows_an_example() {
    let top = cli(&["--help"]);
    let top = String::from_utf8_lossy(&top.stdout);
    let listed = listed_commands(&top);
    for command in COMMANDS {
        assert!(
            listed.iter().any(|l| l == command),
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
        // Each command as a whole word: `remove` must not be found inside `remove-rule`.
        let words: Vec<&str> = script
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .collect();
        for command in COMMANDS {
            assert!(
                words.contains(command),
                "{shell} completions lack {command}"
            );
        }
    }
    let bad = cli(&["completions", "cmd.exe"]);
    assert_eq!(bad.status.code(), Some(2));
}
