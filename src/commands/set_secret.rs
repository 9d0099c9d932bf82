//! `stripe-bridge set-secret`: put the Stripe webhook signing secret where the relay
//! reads it, keeping the previous one valid for a while when Stripe rolls it, and show
//! which secrets are active. No output ever holds a whole secret.

use std::fmt;

use anyhow::{Context, Result};
use relay_function::signature::unix_now;
use relay_function::signing_secrets::{SecretEntry, SigningSecret, SigningSecrets};
use serde::Serialize;

use super::ExitStatus;
use crate::aws::bridge::{Bridge, read_secrets, write_secrets};
use crate::cli::SetSecretArgs;
use crate::hint::{self, hinted};
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
    let endpoint = args.endpoint.as_deref();
    // Read and check the new secret before touching AWS: a typo costs nothing.
    let new_secret = if args.show || args.remove {
        None
    } else {
        let from = match args.secret.as_deref() {
            Some("-") => "the secret from standard input",
            Some(_) => "the secret on the command line",
            None => "the secret from the prompt",
        };
        Some(
            secret_input::signing_secret(
                secret_input::read_secret(name, args.secret.as_deref())?,
                printer,
            )
            .context(from)?,
        )
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
    let current = read_secrets(&secrets_manager, name, secret_arn).await?;
    let now = unix_now();

    let (updated, done) = match new_secret {
        None if args.show => {
            printer.result(&ActiveSecrets::of(name, &current, now));
            return Ok(ExitStatus::Success);
        }
        None => (
            forget(name, &current, endpoint, now)?,
            format!(
                "Removed the secrets of endpoint {}.",
                endpoint_name(endpoint)
            ),
        ),
        Some(new_secret) => {
            let updated = if args.add {
                add(name, &current, endpoint, new_secret.clone(), now)?
            } else {
                let keep_until = args.keep_previous.map(|d| now + d.as_secs() as i64);
                rotate(&current, endpoint, new_secret.clone(), keep_until, now)?
            };
            if updated == current {
                printer.status(format!(
                    "{} is already the signing secret of {name}; nothing changed.",
                    new_secret.masked()
                ));
                printer.result(&ActiveSecrets::of(name, &current, now));
                return Ok(ExitStatus::Success);
            }
            let of = endpoint.map_or(String::new(), |e| format!(" (endpoint {e})"));
            (
                updated,
                format!(
                    "Set the signing secret of {name}{of} to {}. The relay uses it within seconds; no redeploy is needed.",
                    new_secret.masked()
                ),
            )
        }
    };
    write_secrets(&secrets_manager, secret_arn, &updated).await?;
    printer.status(done);
    printer.result(&ActiveSecrets::of(name, &updated, now));
    Ok(ExitStatus::Success)
}

/// How output names an endpoint: `main` for the default one.
fn endpoint_name(endpoint: Option<&str>) -> &str {
    endpoint.unwrap_or("main")
}

/// The secrets after `new` becomes `endpoint`'s current one: that endpoint's previous
/// active ones stay until `keep_until` (never longer than they already would), or go
/// now. Other endpoints' secrets are left as they are; expired ones are dropped.
pub fn rotate(
    current: &SigningSecrets,
    endpoint: Option<&str>,
    new: SigningSecret,
    keep_until: Option<i64>,
    now: i64,
) -> Result<SigningSecrets> {
    refuse_other_endpoints_secret(current, endpoint, &new, now)?;
    if endpoint_entries(current, endpoint, now)
        .next()
        .is_some_and(|e| e.secret == new && e.expires.is_none())
    {
        return Ok(current.clone());
    }
    let others = keep_until.map_or(Others::Drop, Others::Until);
    Ok(new_first(current, endpoint, new, None, others, now))
}

/// What becomes of an endpoint's other secrets when a new one comes first.
#[derive(Clone, Copy)]
enum Others {
    Drop,
    /// Kept until then at the latest.
    Until(i64),
    Keep,
}

/// `current` with `new` (of Stripe endpoint `webhook_endpoint`, if known) first among
/// `endpoint`'s secrets, and its others as `others` says.
fn new_first(
    current: &SigningSecrets,
    endpoint: Option<&str>,
    new: SigningSecret,
    webhook_endpoint: Option<&str>,
    others: Others,
    now: i64,
) -> SigningSecrets {
    let mut group = vec![SecretEntry {
        secret: new.clone(),
        endpoint: endpoint.map(str::to_owned),
        expires: None,
        webhook_endpoint: webhook_endpoint.map(str::to_owned),
    }];
    for entry in endpoint_entries(current, endpoint, now).filter(|e| e.secret != new) {
        let expires = match others {
            Others::Drop => continue,
            Others::Until(until) => Some(entry.expires.map_or(until, |e| e.min(until))),
            Others::Keep => entry.expires,
        };
        group.push(SecretEntry {
            expires,
            ..entry.clone()
        });
    }
    with_group(current, endpoint, group, now)
}

/// The secrets with `new` added as `endpoint`'s permanent secret, beside every other
/// endpoint's. An endpoint that has a current secret is rolled, not added to.
pub fn add(
    bridge: &str,
    current: &SigningSecrets,
    endpoint: Option<&str>,
    new: SigningSecret,
    now: i64,
) -> Result<SigningSecrets> {
    refuse_other_endpoints_secret(current, endpoint, &new, now)?;
    let name = endpoint_name(endpoint);
    if let Some(existing) = endpoint_entries(current, endpoint, now).find(|e| e.expires.is_none()) {
        if existing.secret == new {
            return Ok(current.clone());
        }
        return Err(hinted(
            format!(
                "endpoint {name} already has a signing secret ({})",
                existing.secret.masked()
            ),
            format!(
                "to roll it, run `{}`; to add a second endpoint, give it another --endpoint name",
                hint::command(
                    bridge,
                    &format!("set-secret --endpoint {name} --keep-previous 24h")
                )
            ),
        ));
    }
    let group = vec![SecretEntry {
        secret: new,
        endpoint: endpoint.map(str::to_owned),
        expires: None,
        webhook_endpoint: None,
    }];
    Ok(with_group(current, endpoint, group, now))
}

/// The secrets without `endpoint`'s.
pub fn forget(
    bridge: &str,
    current: &SigningSecrets,
    endpoint: Option<&str>,
    now: i64,
) -> Result<SigningSecrets> {
    if endpoint_entries(current, endpoint, now).next().is_none() {
        return Err(hinted(
            format!(
                "the bridge holds no secret for endpoint {}",
                endpoint_name(endpoint)
            ),
            format!(
                "`{}` lists the endpoints it has",
                hint::command(bridge, "set-secret --show")
            ),
        ));
    }
    Ok(with_group(current, endpoint, Vec::new(), now))
}

/// The secrets with `new`, the secret of Stripe's webhook endpoint `webhook_endpoint`
/// (which `link` or `rotate-secret` just made), first among `endpoint`'s, tagged with
/// that endpoint's id. `endpoint`'s other secrets stay, until `others_until` if given
/// (never longer than they already would), else as they are: beside it, as
/// `set-secret --add` keeps two endpoints' secrets.
pub fn beside(
    current: &SigningSecrets,
    endpoint: Option<&str>,
    new: SigningSecret,
    webhook_endpoint: &str,
    others_until: Option<i64>,
    now: i64,
) -> SigningSecrets {
    let others = others_until.map_or(Others::Keep, Others::Until);
    new_first(current, endpoint, new, Some(webhook_endpoint), others, now)
}

/// The secrets with only the one of webhook endpoint `webhook_endpoint` left among
/// `endpoint`'s: the end of a rotation.
pub fn keep_only(
    current: &SigningSecrets,
    endpoint: Option<&str>,
    webhook_endpoint: &str,
    now: i64,
) -> SigningSecrets {
    let group = endpoint_entries(current, endpoint, now)
        .filter(|e| e.webhook_endpoint.as_deref() == Some(webhook_endpoint))
        .cloned()
        .collect();
    with_group(current, endpoint, group, now)
}

/// Whether the secret of webhook endpoint `webhook_endpoint` is among those in force.
pub fn holds(current: &SigningSecrets, webhook_endpoint: &str, now: i64) -> bool {
    current
        .active_entries_at(now)
        .any(|e| e.webhook_endpoint.as_deref() == Some(webhook_endpoint))
}

/// `endpoint`'s active secrets, newest first.
fn endpoint_entries<'a>(
    current: &'a SigningSecrets,
    endpoint: Option<&'a str>,
    now: i64,
) -> impl Iterator<Item = &'a SecretEntry> {
    current
        .active_entries_at(now)
        .filter(move |e| e.endpoint.as_deref() == endpoint)
}

/// One secret verifies for one endpoint: the same secret under two names would make
/// rolling one of them take the other's away.
fn refuse_other_endpoints_secret(
    current: &SigningSecrets,
    endpoint: Option<&str>,
    new: &SigningSecret,
    now: i64,
) -> Result<()> {
    match current
        .active_entries_at(now)
        .find(|e| e.secret == *new && e.endpoint.as_deref() != endpoint)
    {
        Some(other) => Err(hinted(
            format!(
                "{} is already the secret of endpoint {}",
                new.masked(),
                endpoint_name(other.endpoint.as_deref())
            ),
            "each Stripe endpoint has its own signing secret: check which one you copied",
        )),
        None => Ok(()),
    }
}

/// `current`'s active secrets with `endpoint`'s replaced by `group`, endpoints in the
/// order they were first given (a new one last).
fn with_group(
    current: &SigningSecrets,
    endpoint: Option<&str>,
    group: Vec<SecretEntry>,
    now: i64,
) -> SigningSecrets {
    let mut secrets = Vec::new();
    let mut group = Some(group);
    for entry in current.active_entries_at(now) {
        if entry.endpoint.as_deref() == endpoint {
            secrets.extend(group.take().into_iter().flatten());
        } else {
            secrets.push(entry.clone());
        }
    }
    secrets.extend(group.into_iter().flatten());
    SigningSecrets {
        version: current.version.max(1),
        secrets,
    }
}

/// The secrets the relay accepts now, masked, with when each stops being accepted.
#[derive(Debug, Serialize)]
pub struct ActiveSecrets {
    pub secrets: Vec<MaskedSecret>,
    /// The bridge they are of, for the hint when there is none.
    #[serde(skip)]
    bridge: String,
}

/// A secret as any output shows it: its prefix and last four characters.
#[derive(Debug, Serialize)]
pub struct MaskedSecret {
    pub secret: String,
    /// The Stripe endpoint it is for: `main` unless `--endpoint` named another.
    pub endpoint: String,
    /// RFC 3339; none for the current secret.
    pub expires: Option<String>,
}

impl ActiveSecrets {
    pub fn of(bridge: &str, secrets: &SigningSecrets, now: i64) -> Self {
        Self {
            bridge: bridge.to_owned(),
            secrets: secrets
                .active_entries_at(now)
                .map(|e| MaskedSecret {
                    secret: e.secret.masked(),
                    endpoint: endpoint_name(e.endpoint.as_deref()).to_owned(),
                    expires: e.expires.map(rfc3339),
                })
                .collect(),
        }
    }
}

impl fmt::Display for ActiveSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secrets.is_empty() {
            return write!(
                f,
                "No signing secret is set: run `{}`. Until then Stripe's deliveries get a 500 and are retried.",
                hint::command(&self.bridge, "set-secret")
            );
        }
        let width = self
            .secrets
            .iter()
            .map(|e| e.endpoint.len())
            .max()
            .unwrap_or(4);
        let lines: Vec<String> = self
            .secrets
            .iter()
            .map(|e| {
                let when = match &e.expires {
                    None => "current".to_owned(),
                    Some(at) => format!("valid until {at}"),
                };
                format!("  {:<width$}  {}  {when}", e.endpoint, e.secret)
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

    fn listed(secrets: &SigningSecrets) -> Vec<(&str, Option<&str>, Option<i64>)> {
        secrets
            .secrets
            .iter()
            .map(|e| (e.secret.expose(), e.endpoint.as_deref(), e.expires))
            .collect()
    }

    #[test]
    fn rotation_keeps_the_previous_secret_until_the_deadline() {
        let current = SigningSecrets::single(secret("whsec_old"));
        let rotated = rotate(&current, None, secret("whsec_new"), Some(1_000), 500).unwrap();
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
        let replaced = rotate(&rotated, None, secret("whsec_newer"), None, 600).unwrap();
        assert_eq!(replaced.secrets.len(), 1);
        let again = rotate(&rotated, None, secret("whsec_newer"), Some(5_000), 2_000).unwrap();
        assert_eq!(
            listed(&again),
            [
                ("whsec_newer", None, None),
                ("whsec_new", None, Some(5_000))
            ],
            "whsec_old had expired and stays gone"
        );
        // A kept secret never outlives the expiry it already had.
        let kept = rotate(&rotated, None, secret("whsec_newer"), Some(5_000), 600).unwrap();
        assert_eq!(listed(&kept)[2], ("whsec_old", None, Some(1_000)));
    }

    #[test]
    fn setting_the_current_secret_again_changes_nothing() {
        let current = SigningSecrets::single(secret("whsec_same"));
        assert_eq!(
            rotate(&current, None, secret("whsec_same"), Some(10), 0).unwrap(),
            current
        );
        assert_eq!(
            add("b", &current, None, secret("whsec_same"), 0).unwrap(),
            current
        );
    }

    #[test]
    fn a_second_endpoint_is_added_and_rolled_on_its_own() {
        let account = SigningSecrets::single(secret("whsec_account"));
        let both = add("b", &account, Some("connect"), secret("whsec_connect"), 0).unwrap();
        assert_eq!(
            listed(&both),
            [
                ("whsec_account", None, None),
                ("whsec_connect", Some("connect"), None)
            ]
        );
        // Rolling Connect's keeps the account's as it is, and Connect's old one a while.
        let rolled = rotate(
            &both,
            Some("connect"),
            secret("whsec_connect2"),
            Some(100),
            10,
        )
        .unwrap();
        assert_eq!(
            listed(&rolled),
            [
                ("whsec_account", None, None),
                ("whsec_connect2", Some("connect"), None),
                ("whsec_connect", Some("connect"), Some(100))
            ]
        );
        // Rolling the main one without --keep-previous leaves Connect's alone.
        let main = rotate(&rolled, None, secret("whsec_account2"), None, 200).unwrap();
        assert_eq!(
            listed(&main),
            [
                ("whsec_account2", None, None),
                ("whsec_connect2", Some("connect"), None)
            ]
        );
        assert_eq!(
            listed(&forget("b", &main, Some("connect"), 200).unwrap()),
            [("whsec_account2", None, None)]
        );
    }

    #[test]
    fn a_made_endpoints_secret_goes_beside_the_old_until_the_old_is_dropped() {
        let old = SigningSecrets::single(secret("whsec_old"));
        let both = beside(&old, None, secret("whsec_new"), "we_new", None, 0);
        assert_eq!(
            listed(&both),
            [("whsec_new", None, None), ("whsec_old", None, None)]
        );
        assert!(holds(&both, "we_new", 0));
        assert_eq!(
            listed(&keep_only(&both, None, "we_new", 0)),
            [("whsec_new", None, None)]
        );
        // A hand-made endpoint's secret, when link makes the bridge's own: a day more.
        let linked = beside(&old, None, secret("whsec_new"), "we_new", Some(86_400), 0);
        assert_eq!(listed(&linked)[1], ("whsec_old", None, Some(86_400)));
    }

    #[test]
    fn adding_where_a_secret_is_or_reusing_one_is_refused() {
        let both = add(
            "b",
            &SigningSecrets::single(secret("whsec_account")),
            Some("connect"),
            secret("whsec_connect"),
            0,
        )
        .unwrap();
        let again = add("b", &both, Some("connect"), secret("whsec_other"), 0).unwrap_err();
        assert!(format!("{again:#}").contains("endpoint connect already has a signing secret"));
        let reused = rotate(&both, None, secret("whsec_connect"), None, 0).unwrap_err();
        assert!(format!("{reused:#}").contains("already the secret of endpoint connect"));
        let absent = forget("b", &both, Some("platform"), 0).unwrap_err();
        assert!(format!("{absent:#}").contains("no secret for endpoint platform"));
    }
}
