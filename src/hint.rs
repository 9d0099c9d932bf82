//! Errors that say what to do: the message names the problem, and the hint, printed on
//! its own `hint:` line (as cargo and uv do), names the fix. Any layer can make one; the
//! printer finds the hints anywhere in an error's chain.

use std::fmt;

/// An error message with the step that fixes it.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// A new error: `message`, fixed by `hint`.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: hint.into(),
    })
}

/// Adds a message and its fix on top of an error, keeping it as the cause.
pub trait WithHint<T> {
    fn with_hint(self, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E> WithHint<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn with_hint(self, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            e.into().context(Hinted {
                message: message.into(),
                hint: hint.into(),
            })
        })
    }
}

/// The bridge a command acts on when `--name` is not given.
pub const DEFAULT_BRIDGE: &str = "stripe-bridge";

/// A command line for a hint to name, acting on `bridge`: `stripe-bridge ARGS` for the
/// default bridge, `stripe-bridge --name NAME ARGS` for any other, so that a person who
/// copies it acts on the bridge the hint is about.
pub fn command(bridge: &str, args: &str) -> String {
    if bridge == DEFAULT_BRIDGE {
        format!("stripe-bridge {args}")
    } else {
        format!("stripe-bridge --name {bridge} {args}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_names_the_bridge_unless_it_is_the_default() {
        assert_eq!(command(DEFAULT_BRIDGE, "status"), "stripe-bridge status");
        assert_eq!(
            command("stripe-live", "list-rules"),
            "stripe-bridge --name stripe-live list-rules"
        );
    }

    /// Every command line a message or hint spells out names the bridge, through
    /// `command` (or `--name` written out): a hint written as "run `stripe-bridge
    /// set-secret`" would act on the default bridge when copied. The exceptions act on
    /// no bridge.
    #[test]
    fn no_message_spells_out_a_command_without_its_bridge() {
        const NO_BRIDGE: [&str; 4] = [
            // Local commands, and a process's name.
            "`stripe-bridge package",
            "another `stripe-bridge dev` running",
            "is `stripe-bridge dev` running",
            // `stripe-bridge completions`, `template`: no bridge either.
            "`stripe-bridge completions",
        ];
        let mut found = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut folders = vec![root];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                // cli.rs holds `--help`'s examples, for the default bridge; this file, the
                // helper and this test.
                let exempt = path.ends_with("cli.rs") || path.ends_with("hint.rs");
                if path.extension().is_none_or(|e| e != "rs") || exempt {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (number, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("//") {
                        continue;
                    }
                    let spelled = line.match_indices("`stripe-bridge ").any(|(at, _)| {
                        let rest = &line[at + "`stripe-bridge ".len()..];
                        !rest.starts_with("--name") && !NO_BRIDGE.iter().any(|n| line.contains(n))
                    });
                    if spelled {
                        found.push(format!("{}:{}: {}", path.display(), number + 1, code));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "these name a command without its bridge; use hint::command:\n{}",
            found.join("\n")
        );
    }
}
