//! Signing secrets as people give them: from an argument, standard input or a prompt
//! that does not echo, checked (`stripe::secret_check`) before anything uses them.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use relay_function::signing_secrets::SigningSecret;

use crate::stripe::secret_check::check;
use crate::ui::Printer;

/// The secret from the argument, from standard input (`-`), or from a prompt that does
/// not echo it (so it stays out of shell history).
/// `bridge` is the one the secret is for, for the hint.
pub fn read_secret(bridge: &str, argument: Option<&str>) -> Result<String> {
    match argument {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the secret from standard input")?;
            if text.is_empty() {
                return Err(crate::hint::hinted(
                    "standard input was empty: no secret came through it",
                    format!(
                        "pipe the secret in, e.g. `{}`, or leave out `-` to be asked",
                        crate::hint::command(bridge, "set-secret - < secret.txt")
                    ),
                ));
            }
            Ok(without_final_newline(text))
        }
        Some(secret) => Ok(secret.to_owned()),
        None if std::io::stdin().is_terminal() => prompt(),
        None => {
            bail!("no secret given: pass it as an argument, or `-` to read it from standard input")
        }
    }
}

/// Where `verify`, `dev` and `test` read secrets from, in order: `given` (`--secret`)
/// and `file` (`--secret-file`, one a line), then STRIPE_WEBHOOK_SECRET, then (with
/// `ask`, on a terminal) a prompt that does not echo. None of them leaves the secret in
/// shell history but `--secret`.
pub fn gather(
    given: &[String],
    file: Option<&std::path::Path>,
    ask: bool,
) -> Result<Vec<GivenSecret>> {
    let mut secrets: Vec<GivenSecret> = given
        .iter()
        .map(|text| GivenSecret {
            text: text.clone(),
            source: "--secret".to_owned(),
        })
        .collect();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the secret file {}: pass a file holding the signing secret",
                path.display()
            )
        })?;
        let before = secrets.len();
        secrets.extend(
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(number, line)| GivenSecret {
                    text: line.to_owned(),
                    source: format!("line {} of {}", number + 1, path.display()),
                }),
        );
        if secrets.len() == before {
            bail!(
                "the secret file {} is empty: put the endpoint's signing secret (whsec_…) in it",
                path.display()
            );
        }
    }
    if secrets.is_empty()
        && let Some(secret) = std::env::var_os(ENV_SECRET)
    {
        let secret = secret.into_string().map_err(|_| {
            anyhow::anyhow!(
                "{ENV_SECRET} is not text: set it to the endpoint's signing secret (whsec_…)"
            )
        })?;
        if secret.trim().is_empty() {
            bail!(
                "{ENV_SECRET} is set but empty: set it to the endpoint's signing secret (whsec_…), or unset it"
            );
        }
        secrets.push(GivenSecret {
            text: secret,
            source: ENV_SECRET.to_owned(),
        });
    }
    if secrets.is_empty() && ask && std::io::stdin().is_terminal() {
        secrets.push(GivenSecret {
            text: prompt()?,
            source: "the prompt".to_owned(),
        });
    }
    Ok(secrets)
}

/// A secret as given, and where from: `--secret`, a line of `--secret-file`,
/// STRIPE_WEBHOOK_SECRET or the prompt, so that an error about it says which.
#[derive(Debug, Clone)]
pub struct GivenSecret {
    pub text: String,
    pub source: String,
}

impl GivenSecret {
    /// The secret, checked: an error names where it came from.
    pub fn check(&self) -> Result<SigningSecret> {
        self.checked_with(check)
    }

    /// The secret through `check` (`verify` takes more than a signing secret), an error
    /// naming where it came from.
    pub fn checked_with<T>(&self, check: impl Fn(&str) -> Result<T>) -> Result<T> {
        check(&self.text).with_context(|| format!("the secret from {}", self.source))
    }
}

/// The secret typed at a prompt that does not echo it; nothing typed is an error.
fn prompt() -> Result<String> {
    let typed = rpassword::prompt_password("Stripe webhook signing secret (whsec_…, not shown): ");
    let typed = match typed {
        Ok(typed) => Some(typed).filter(|t| !t.trim().is_empty()),
        // Ctrl-D: the prompt's line is left open.
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            eprintln!();
            None
        }
        Err(error) => return Err(error).context("cannot read the secret from the terminal"),
    };
    typed.context("no secret typed at the prompt: paste the endpoint's signing secret (whsec_…)")
}

/// The environment variable `verify`, `dev` and `test` read a secret from.
pub const ENV_SECRET: &str = "STRIPE_WEBHOOK_SECRET";

/// A file or a pipe ends its one line with a newline: that is not part of the secret,
/// and not worth a warning. Anything more is left for the check to see.
fn without_final_newline(mut text: String) -> String {
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    text
}

/// Checks that `text` is a webhook signing secret, and says what it is if it is not.
pub fn signing_secret(text: String, printer: Printer) -> Result<SigningSecret> {
    if text.trim().len() != text.len() {
        printer.warning("removed white space around the secret");
    }
    check(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::OutputFormat;

    const QUIET: Printer = Printer {
        format: OutputFormat::Text,
        quiet: true,
        verbose: false,
    };

    #[test]
    fn one_final_newline_is_a_files_and_not_the_secrets() {
        assert_eq!(without_final_newline("whsec_x\n".into()), "whsec_x");
        assert_eq!(without_final_newline("whsec_x\r\n".into()), "whsec_x");
        assert_eq!(without_final_newline("whsec_x\n\n".into()), "whsec_x\n");
        assert_eq!(without_final_newline("whsec_x".into()), "whsec_x");
    }

    #[test]
    fn api_keys_and_other_strings_are_refused_with_a_hint() {
        for (text, expected) in [
            ("sk_live_abc", "you pasted an API key"),
            ("rk_test_abc", "you pasted an API key"),
            ("pk_live_abc", "you pasted an API key"),
            ("hello", "start with whsec_"),
            ("whsec_short", "cut short"),
        ] {
            let error = signing_secret(text.into(), QUIET).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(
                !error.contains(text) || text == "hello",
                "the error repeats the secret: {error}"
            );
        }
        let ok = signing_secret("  whsec_0123456789abcdefABCDEF\n".into(), QUIET).unwrap();
        assert_eq!(ok.expose(), "whsec_0123456789abcdefABCDEF");
    }
}
