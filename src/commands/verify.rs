//! `stripe-bridge verify`: an offline signature debugger. It checks a header and body
//! with the relay's own verifier, so it agrees with the Lambda by construction, and says
//! why a signature fails in words a person can act on.

use std::fmt;
use std::io::{IsTerminal, Read};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use relay_function::signature::unix_now;
use relay_function::signing_secrets::SigningSecret;
use serde::Serialize;

use super::ExitStatus;
use crate::cli::VerifyArgs;
use crate::hint::hinted;
use crate::stripe::secret_check::is_api_key;
use crate::stripe::signature_diagnosis::{Diagnosis, diagnose};
use crate::ui::{Printer, secret_input};

/// The relay's verdict on a request, and why.
#[derive(Debug, Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub diagnosis: Diagnosis,
    /// The HTTP status the relay would answer with.
    pub status: u16,
    /// The Unix time the signature was checked as of.
    pub checked_at: i64,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let diagnosis = &self.diagnosis;
        match diagnosis.reason {
            None => write!(f, "✓ {}", diagnosis.summary)?,
            Some(reason) => write!(
                f,
                "✗ not verified: {}.\n  The relay would answer {} {}.",
                diagnosis.summary,
                reason.status(),
                reason.code()
            )?,
        }
        for hint in &diagnosis.hints {
            write!(f, "\n  - {hint}")?;
        }
        Ok(())
    }
}

/// Prints the verdict and its explanation; a signature that does not verify is
/// exit status 1.
pub fn run(args: &VerifyArgs, printer: Printer) -> Result<ExitStatus> {
    // Ask on the terminal only when standard input is not the payload.
    let ask = args.payload.as_os_str() != "-";
    let given = secret_input::gather(
        &args.secrets.secrets,
        args.secrets.secret_file.as_deref(),
        ask,
    )?;
    if given.is_empty() {
        return Err(hinted(
            "no signing secret to verify with",
            format!(
                "pass --secret-file FILE, set {}, or run it on a terminal to be asked (--secret whsec_… works too, but stays in your shell history)",
                secret_input::ENV_SECRET
            ),
        ));
    }
    let secrets = given
        .iter()
        .map(|s| s.checked_with(secret))
        .collect::<Result<Vec<_>>>()?;
    let body = read_payload(&args.payload)?;
    let header = strip_header_name(&args.header);
    let at = args.at.unwrap_or_else(unix_now);
    let diagnosis = diagnose(
        header,
        &body,
        &secrets,
        at,
        Duration::from_secs(args.tolerance),
    );

    let verified = diagnosis.verified;
    printer.result(&Verdict {
        status: diagnosis.reason.map_or(200, |r| r.status()),
        diagnosis,
        checked_at: at,
    });
    Ok(if verified {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// A secret exactly as given (a stray space, a missing prefix or a blank secret is what
/// `verify` explains), unless it is an API key, which is no signing secret at all.
fn secret(text: &str) -> Result<SigningSecret> {
    if is_api_key(text) {
        bail!(
            "--secret takes the webhook signing secret (whsec_…), not an API key: it is on the \
             endpoint's page in Stripe (Developers > Webhooks > your endpoint > Signing secret)"
        );
    }
    Ok(SigningSecret::new(text))
}

fn read_payload(path: &std::path::Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            eprintln!("Paste the payload, then press Ctrl-D on a line of its own:");
        }
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .context("cannot read the payload from standard input")?;
        return Ok(body);
    }
    std::fs::read(path).with_context(|| {
        format!(
            "cannot read the payload file {}: pass the file holding the request body, or - for standard input",
            path.display()
        )
    })
}

/// People paste the whole header line; the value is what is signed.
fn strip_header_name(header: &str) -> &str {
    let name = "stripe-signature:";
    match header.get(..name.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(name) => header[name.len()..].trim_start(),
        _ => header,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_header_line_is_reduced_to_its_value() {
        assert_eq!(strip_header_name("Stripe-Signature: t=1,v1=a"), "t=1,v1=a");
        assert_eq!(strip_header_name("STRIPE-SIGNATURE:t=1"), "t=1");
        assert_eq!(strip_header_name("t=1,v1=a"), "t=1,v1=a");
    }

    #[test]
    fn api_keys_are_not_taken_for_secrets() {
        let error = secret("sk_test_123").unwrap_err().to_string();
        assert!(error.contains("not an API key"), "{error}");
        assert!(!error.contains("sk_test_123"));
        assert_eq!(secret(" whsec_x\n").unwrap().expose(), " whsec_x\n");
    }
}
