//! Signing secrets as people give them: from an argument, standard input or a prompt
//! that does not echo, checked (`stripe::secret_check`) before anything uses them.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use relay_function::signing_secrets::SigningSecret;

use crate::stripe::secret_check::check;
use crate::ui::Printer;

/// The secret from the argument, from standard input (`-`), or from a prompt that does
/// not echo it (so it stays out of shell history).
pub fn read_secret(argument: Option<&str>) -> Result<String> {
    match argument {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the secret from standard input")?;
            Ok(text)
        }
        Some(secret) => Ok(secret.to_owned()),
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Stripe webhook signing secret (whsec_…, not shown): ")
                .context("cannot read the secret from the terminal")
        }
        None => {
            bail!("no secret given: pass it as an argument, or `-` to read it from standard input")
        }
    }
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
