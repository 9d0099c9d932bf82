//! `stripe-bridge set-secret`: put the Stripe webhook signing secret where the relay
//! reads it, keeping the previous one valid for a while when Stripe rolls it, and show
//! which secrets are active. No output ever holds a whole secret.

use std::io::{IsTerminal, Read};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use aws_sdk_secretsmanager::primitives::DateTime;
use relay_function::signing_secrets::{SecretEntry, SigningSecret, SigningSecrets};
use serde_json::json;

use crate::aws;
use crate::cli::{GlobalArgs, SetSecretArgs};
use crate::output::Printer;
use crate::stack;

/// Stripe keeps a rolled secret valid for at most 24 hours.
const MAX_KEEP_PREVIOUS: Duration = Duration::from_secs(24 * 60 * 60);

pub async fn run(global: &GlobalArgs, args: &SetSecretArgs, printer: Printer) -> Result<()> {
    let name = global.name.as_str();
    // Read and check the new secret before touching AWS: a typo costs nothing.
    let new_secret = if args.show {
        None
    } else {
        Some(signing_secret(
            read_secret(args.secret.as_deref())?,
            printer,
        )?)
    };
    if args.keep_previous.is_some_and(|d| *d > MAX_KEEP_PREVIOUS) {
        bail!(
            "--keep-previous can be at most 24h: Stripe stops signing with a rolled secret by then"
        );
    }

    let ctx = aws::connect(global).await?;
    let cfn = aws_sdk_cloudformation::Client::new(&ctx.sdk);
    let state = stack::require(&cfn, name, &ctx.region).await?;
    let secret_arn = state.output("SigningSecretArn").with_context(|| {
        format!("stack {name} has no SigningSecretArn output; run `stripe-bridge --name {name} deploy` to finish it")
    })?;
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&ctx.sdk);
    let current = read_stored(&secrets_manager, secret_arn).await?;
    let now = unix_now();

    let Some(new_secret) = new_secret else {
        show(&current, now, printer);
        return Ok(());
    };
    let keep_until = args.keep_previous.map(|d| now + d.as_secs() as i64);
    let updated = rotate(&current, new_secret.clone(), keep_until, now);
    if updated == current {
        printer.status(format!(
            "{} is already the signing secret of {name}; nothing changed.",
            new_secret.masked()
        ));
        show(&current, now, printer);
        return Ok(());
    }
    secrets_manager
        .put_secret_value()
        .secret_id(secret_arn)
        .secret_string(updated.to_stored())
        .send()
        .await
        .context("cannot store the signing secret in Secrets Manager")?;
    printer.status(format!(
        "Set the signing secret of {name} to {}. The relay uses it within seconds; no redeploy is needed.",
        new_secret.masked()
    ));
    show(&updated, now, printer);
    Ok(())
}

/// The secret from the argument, from standard input (`-`), or from a prompt that does
/// not echo it (so it stays out of shell history).
fn read_secret(argument: Option<&str>) -> Result<String> {
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
fn signing_secret(text: String, printer: Printer) -> Result<SigningSecret> {
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        printer.status("warning: removed white space around the secret");
    }
    let api_key = ["sk_", "rk_", "pk_"].iter().any(|p| trimmed.starts_with(p));
    if api_key {
        bail!(
            "you pasted an API key; the signing secret starts with whsec_ and is on the webhook \
             endpoint's page in Stripe (Developers > Webhooks > your endpoint > Signing secret)"
        );
    }
    let Some(rest) = trimmed.strip_prefix("whsec_") else {
        bail!(
            "that is not a Stripe webhook signing secret: those start with whsec_ (Developers > \
             Webhooks > your endpoint > Signing secret)"
        );
    };
    if rest.len() < 16 || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!(
            "that secret looks cut short or mangled: after whsec_ come 16 or more letters and digits; copy it again"
        );
    }
    Ok(SigningSecret::new(trimmed))
}

/// The stored value. One that cannot be read as signing secrets counts as none: the new
/// secret replaces it.
async fn read_stored(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<SigningSecrets> {
    let value = client.get_secret_value().secret_id(arn).send().await;
    let text = match value {
        Ok(output) => output.secret_string.unwrap_or_default(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            bail!("the bridge's secret {arn} is gone; run `stripe-bridge deploy` to make it again")
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read the bridge's secret")),
    };
    Ok(SigningSecrets::parse(&text).unwrap_or(SigningSecrets {
        version: 1,
        secrets: Vec::new(),
    }))
}

/// The secrets after `new` becomes current: the previous active ones stay until
/// `keep_until` (never longer than they already would), or go now.
pub fn rotate(
    current: &SigningSecrets,
    new: SigningSecret,
    keep_until: Option<i64>,
    now: i64,
) -> SigningSecrets {
    if current
        .secrets
        .first()
        .is_some_and(|e| e.secret == new && e.expires.is_none())
    {
        return current.clone();
    }
    let mut secrets = vec![SecretEntry {
        secret: new.clone(),
        expires: None,
    }];
    if let Some(until) = keep_until {
        for entry in &current.secrets {
            let active = entry.expires.is_none_or(|e| e > now);
            if active && entry.secret != new {
                secrets.push(SecretEntry {
                    secret: entry.secret.clone(),
                    expires: Some(entry.expires.map_or(until, |e| e.min(until))),
                });
            }
        }
    }
    SigningSecrets {
        version: current.version.max(1),
        secrets,
    }
}

fn show(secrets: &SigningSecrets, now: i64, printer: Printer) {
    let active: Vec<&SecretEntry> = secrets
        .secrets
        .iter()
        .filter(|e| e.expires.is_none_or(|x| x > now))
        .collect();
    let lines: Vec<String> = if active.is_empty() {
        vec!["No signing secret is set: run `stripe-bridge set-secret`. Until then Stripe's deliveries get a 500 and are retried.".into()]
    } else {
        active
            .iter()
            .map(|e| match e.expires {
                None => format!("  {}  current", e.secret.masked()),
                Some(at) => format!("  {}  valid until {}", e.secret.masked(), rfc3339(at)),
            })
            .collect()
    };
    printer.result(
        lines.join("\n"),
        json!({
            "secrets": active.iter().map(|e| json!({
                "secret": e.secret.masked(),
                "expires": e.expires.map(rfc3339),
            })).collect::<Vec<_>>()
        }),
    );
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(aws_sdk_secretsmanager::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputFormat;

    const QUIET: Printer = Printer {
        format: OutputFormat::Text,
        quiet: true,
        verbose: false,
    };

    fn secret(s: &str) -> SigningSecret {
        SigningSecret::new(s)
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

    #[test]
    fn rotation_keeps_the_previous_secret_until_the_deadline() {
        let current = SigningSecrets::single(secret("whsec_old"));
        let rotated = rotate(&current, secret("whsec_new"), Some(1_000), 500);
        assert_eq!(rotated.active_at(999).len(), 2);
        assert_eq!(
            rotated
                .active_at(1_000)
                .iter()
                .map(|s| s.expose())
                .collect::<Vec<_>>(),
            ["whsec_new"]
        );

        // Without --keep-previous the old one goes at once; expired ones never come back.
        assert_eq!(
            rotate(&rotated, secret("whsec_newer"), None, 600)
                .secrets
                .len(),
            1
        );
        let again = rotate(&rotated, secret("whsec_newer"), Some(5_000), 2_000);
        assert_eq!(
            again
                .secrets
                .iter()
                .map(|e| (e.secret.expose(), e.expires))
                .collect::<Vec<_>>(),
            [("whsec_newer", None), ("whsec_new", Some(5_000))],
            "whsec_old had expired and stays gone"
        );
        // A kept secret never outlives the expiry it already had.
        let kept = rotate(&rotated, secret("whsec_newer"), Some(5_000), 600);
        assert_eq!(
            kept.secrets
                .iter()
                .find(|e| e.secret.expose() == "whsec_old")
                .unwrap()
                .expires,
            Some(1_000)
        );
    }

    #[test]
    fn setting_the_current_secret_again_changes_nothing() {
        let current = SigningSecrets::single(secret("whsec_same"));
        assert_eq!(rotate(&current, secret("whsec_same"), Some(10), 0), current);
    }
}
