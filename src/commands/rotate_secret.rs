//! `stripe-bridge rotate-secret`: a new signing secret with no gap and no copy-paste.
//! Stripe has no API to roll an endpoint's secret, so the rotation is a second endpoint:
//!
//! 1. a new endpoint with the old one's url, types, API version and metadata (marked as
//!    replacing it), whose secret goes straight into the bridge's secret beside the old
//!    one: the relay accepts both;
//! 2. a wait until Stripe has delivered to the new endpoint an event created after it,
//!    which only a verified delivery does (the relay answers 2xx after the signature
//!    verifies and the event is on the bus), or `--wait` this long instead;
//! 3. the old endpoint deleted;
//! 4. its secret dropped, and the new endpoint's mark cleared.
//!
//! Each step is read back from Stripe and the bridge's secret, so a re-run after an
//! interruption finishes what was started. One case starts again: a new endpoint whose
//! secret never reached the bridge (interrupted between 1's two halves) is deleted,
//! since Stripe never shows a secret twice.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result};
use relay_function::signature::unix_now;
use serde::Serialize;

use super::ExitStatus;
use super::linked::{self, REPLACES_KEY, StripeSide};
use super::set_secret;
use crate::aws::bridge::Bridge;
use crate::cli::RotateSecretArgs;
use crate::hint::{self, hinted};
use crate::settings::GlobalSettings;
use crate::stripe_api::client::{Form, StripeClient};
use crate::stripe_api::events;
use crate::stripe_api::webhook_endpoints::{self, NewEndpoint, WebhookEndpoint};
use crate::ui::Printer;
use crate::ui::progress::Spinner;

#[derive(Debug, Serialize)]
pub struct Rotated {
    pub endpoint: String,
    pub old: String,
    pub new: String,
    /// Whether the new endpoint was seen delivering (false after `--wait`).
    pub verified: bool,
}

impl fmt::Display for Rotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Rotated the {} endpoint's signing secret: {} replaced {}, which is deleted with its secret.",
            self.endpoint, self.new, self.old
        )?;
        if self.verified {
            write!(f, " A delivery to the new endpoint verified first.")?;
        }
        Ok(())
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &RotateSecretArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let bridge = Bridge::find(settings).await?;
    let side = StripeSide::open(settings, &bridge.ctx.account_id, &bridge.ctx.region).await?;
    let role = args.endpoint.as_str();
    let secret_name = webhook_endpoints::secret_name(role);
    let of_role: Vec<&WebhookEndpoint> =
        side.endpoints.iter().filter(|e| e.role() == role).collect();
    let Some(old) = of_role
        .iter()
        .find(|e| !e.metadata.contains_key(REPLACES_KEY))
        .copied()
        .cloned()
    else {
        return Err(hinted(
            format!(
                "bridge {} has no {role} Stripe endpoint to rotate",
                bridge.name
            ),
            format!("run `{}` to make one", hint::command(&bridge.name, "link")),
        ));
    };
    let started = of_role
        .iter()
        .find(|e| e.metadata.get(REPLACES_KEY) == Some(&old.id))
        .copied()
        .cloned();

    // Step 1, or what an interrupted run left of it.
    let secrets = bridge.signing_secrets().await?;
    let new = match started {
        Some(new) if set_secret::holds(&secrets, &new.id, unix_now()) => {
            printer.status(format!(
                "Finishing the rotation to {} begun earlier",
                new.id
            ));
            new
        }
        other => {
            if let Some(orphan) = other {
                printer.status(format!(
                    "Deleting {}, which an interrupted rotation made but whose secret never reached the bridge",
                    orphan.id
                ));
                webhook_endpoints::delete(&side.client, &orphan.id).await?;
            }
            let mut metadata = old.metadata.clone();
            metadata.insert(REPLACES_KEY.to_owned(), old.id.clone());
            // Made by the bridge, whatever the old one was: `remove` deletes it.
            metadata.insert(webhook_endpoints::ORIGIN_KEY.to_owned(), "made".to_owned());
            let mut made = webhook_endpoints::create(
                &side.client,
                &NewEndpoint {
                    url: &old.url,
                    enabled_events: &old.enabled_events,
                    connect: role == "connect",
                    api_version: args.api_version.as_deref().or(old.api_version.as_deref()),
                    description: old.description.as_deref().unwrap_or("stripe-bridge"),
                    metadata: metadata
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect(),
                },
            )
            .await?;
            linked::store_secret(&bridge, &side, &mut made, false).await?;
            printer.status(format!(
                "Made Stripe endpoint {} beside {}; the relay accepts both secrets",
                made.id, old.id
            ));
            made
        }
    };

    // Step 2: proof that the new endpoint's deliveries verify, unless the old endpoint
    // is gone already (a re-run after step 3).
    let old_there = match webhook_endpoints::retrieve(&side.client, &old.id).await {
        Ok(_) => true,
        Err(e) if crate::stripe_api::client::is_missing(&e) => false,
        Err(e) => return Err(e),
    };
    let mut verified = false;
    if old_there {
        match args.wait {
            Some(wait) => {
                let spinner = Spinner::new(
                    &printer,
                    &format!(
                        "Waiting {} before deleting {}",
                        humantime::format_duration(wait),
                        old.id
                    ),
                );
                tokio::time::sleep(wait).await;
                spinner.finish();
            }
            None => {
                let spinner = Spinner::new(
                    &printer,
                    &format!("Waiting for Stripe to deliver an event to {}", new.id),
                );
                let accounts: Vec<Option<String>> = if role == "connect" {
                    linked::rule_needs(&bridge, None)
                        .await?
                        .1
                        .into_iter()
                        .map(Some)
                        .collect()
                } else {
                    vec![None]
                };
                let seen = delivered_since(&side.client, &new, &accounts, args.timeout).await?;
                spinner.finish();
                if !seen {
                    return Err(hinted(
                        format!(
                            "no event reached the new endpoint {} within {}; both secrets stay valid, nothing is lost",
                            new.id,
                            humantime::format_duration(args.timeout)
                        ),
                        format!(
                            "run `{}` again once events flow (it finishes from here), or give --wait 10m to finish without proof",
                            hint::command(&bridge.name, &rotate_command(role, ""))
                        ),
                    ));
                }
                verified = true;
            }
        }
        // Step 3.
        webhook_endpoints::delete(&side.client, &old.id).await?;
    }

    // Step 4.
    let client = aws_sdk_secretsmanager::Client::new(&bridge.ctx.sdk);
    let arn = bridge.output("SigningSecretArn")?;
    let current = crate::aws::bridge::read_secrets(&client, &bridge.name, arn).await?;
    let kept = set_secret::keep_only(&current, secret_name, &new.id, unix_now());
    if kept != current {
        crate::aws::bridge::write_secrets(&client, arn, &kept)
            .await
            .context("cannot drop the old signing secret")?;
    }
    webhook_endpoints::update(
        &side.client,
        &new.id,
        &Form::new().map("metadata", [(REPLACES_KEY, "")]),
    )
    .await?;
    printer.result(&Rotated {
        endpoint: role.to_owned(),
        old: old.id,
        new: new.id,
        verified,
    });
    Ok(ExitStatus::Success)
}

/// `rotate-secret` for the `role` endpoint, with `more` arguments.
pub fn rotate_command(role: &str, more: &str) -> String {
    let mut command = "rotate-secret".to_owned();
    if role != "main" {
        command.push_str(&format!(" --endpoint {role}"));
    }
    if !more.is_empty() {
        command.push(' ');
        command.push_str(more);
    }
    command
}

/// Whether, within `timeout`, Stripe has delivered to every endpoint an event of a type
/// `new` takes that was created after `new` (so `new` answered it 2xx).
/// (A Connect endpoint's events are read per connected account, from `accounts`.)
async fn delivered_since(
    client: &StripeClient,
    new: &WebhookEndpoint,
    accounts: &[Option<String>],
    timeout: Duration,
) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        for account in accounts {
            if events::delivered(client, new.created, account.as_deref())
                .await?
                .iter()
                .any(|e| new.takes(&e.event_type))
            {
                return Ok(true);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
