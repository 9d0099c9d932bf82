//! `stripe-bridge set-secret`: put the Stripe webhook signing secret where the relay
//! reads it, keeping the previous one valid for a while when Stripe rolls it, and show
//! which secrets are active. No output ever holds a whole secret.

use std::fmt;

use anyhow::{Context, Result};
use relay_function::signature::unix_now;
use relay_function::signing_secrets::{SecretEntry, SigningSecret, SigningSecrets};
use serde::Serialize;

use super::ExitStatus;
use crate::aws::bridge::{Bridge, read_secrets};
use crate::cli::SetSecretArgs;
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::report::rfc3339;
use crate::ui::secret_input;

pub async fn run(
    settings: &GlobalSettings,
    args: &SetSecretArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let name = settings.bridge.as_str();
    // Read and check the new secret before touching AWS: a typo costs nothing.
    let new_secret = if args.show {
        None
    } else {
        Some(secret_input::signing_secret(
            secret_input::read_secret(args.secret.as_deref())?,
            printer,
        )?)
    };
    if args.secret.as_deref().is_some_and(|s| s != "-") {
        printer.warning("the secret is now in your shell history");
        printer.hint(format!(
            "next time run `stripe-bridge --name {name} set-secret` and paste it at the prompt, or pipe it in with `-`"
        ));
    }

    let bridge = Bridge::find(settings).await?;
    let secret_arn = bridge.output("SigningSecretArn")?;
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&bridge.ctx.sdk);
    let current = read_secrets(&secrets_manager, secret_arn).await?;
    let now = unix_now();

    let Some(new_secret) = new_secret else {
        printer.result(&ActiveSecrets::of(&current, now));
        return Ok(ExitStatus::Success);
    };
    let keep_until = args.keep_previous.map(|d| now + d.as_secs() as i64);
    let updated = rotate(&current, new_secret.clone(), keep_until, now);
    if updated == current {
        printer.status(format!(
            "{} is already the signing secret of {name}; nothing changed.",
            new_secret.masked()
        ));
        printer.result(&ActiveSecrets::of(&current, now));
        return Ok(ExitStatus::Success);
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
    printer.result(&ActiveSecrets::of(&updated, now));
    Ok(ExitStatus::Success)
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
        for entry in current.active_entries_at(now) {
            if entry.secret != new {
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

/// The secrets the relay accepts now, masked, with when each stops being accepted.
#[derive(Debug, Serialize)]
pub struct ActiveSecrets {
    pub secrets: Vec<MaskedSecret>,
}

/// A secret as any output shows it: its prefix and last four characters.
#[derive(Debug, Serialize)]
pub struct MaskedSecret {
    pub secret: String,
    /// RFC 3339; none for the current secret.
    pub expires: Option<String>,
}

impl ActiveSecrets {
    pub fn of(secrets: &SigningSecrets, now: i64) -> Self {
        Self {
            secrets: secrets
                .active_entries_at(now)
                .map(|e| MaskedSecret {
                    secret: e.secret.masked(),
                    expires: e.expires.map(rfc3339),
                })
                .collect(),
        }
    }
}

impl fmt::Display for ActiveSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secrets.is_empty() {
            return f.write_str(
                "No signing secret is set: run `stripe-bridge set-secret`. Until then Stripe's deliveries get a 500 and are retried.",
            );
        }
        let lines: Vec<String> = self
            .secrets
            .iter()
            .map(|e| match &e.expires {
                None => format!("  {}  current", e.secret),
                Some(at) => format!("  {}  valid until {at}", e.secret),
            })
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SigningSecret {
        SigningSecret::new(s)
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
