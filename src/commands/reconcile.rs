//! `stripe-bridge reconcile --since 3d`: the events Stripe did not deliver to the
//! bridge (its endpoint failed past Stripe's retries, or was disabled), resent. Stripe
//! lists undelivered events per account, not per endpoint (`delivery_success=false`:
//! an event some endpoint of the account has not taken yet, still being retried
//! included), so the list is narrowed to the types the bridge's endpoints take, and each
//! is resent to the bridge's endpoint only (`POST /v1/events/{id}/retry`, the Stripe
//! CLI's `events resend`), where it goes through the relay's signature check like any
//! delivery. An event the bridge had already taken arrives again: consumers
//! de-duplicate on `detail.id`, as for Stripe's own retries.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;
use relay_function::signature::unix_now;
use serde::Serialize;

use super::ExitStatus;
use super::linked::{self, StripeSide};
use crate::aws::bridge::Bridge;
use crate::cli::ReconcileArgs;
use crate::hint::{self, hinted};
use crate::settings::GlobalSettings;
use crate::stripe_api::client::Form;
use crate::stripe_api::events::{self, Event};
use crate::stripe_api::webhook_endpoints::{self, WebhookEndpoint};
use crate::ui::Printer;
use crate::ui::printer::{check_can_ask, confirmed};
use crate::ui::progress::Counter;

/// Stripe keeps 30 days of events.
const STRIPE_KEEPS_DAYS: u64 = 30;

#[derive(Debug, Serialize)]
pub struct Reconciled {
    pub since: String,
    /// Undelivered events of the bridge's types, per type.
    pub by_type: BTreeMap<String, usize>,
    pub resent: usize,
    pub failed: Vec<FailedResend>,
    /// False when the resends were not asked for (declined).
    pub done: bool,
}

#[derive(Debug, Serialize)]
pub struct FailedResend {
    pub event: String,
    pub error: String,
}

impl fmt::Display for Reconciled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.by_type.values().sum();
        if total == 0 {
            return write!(
                f,
                "Stripe has delivered every event of the bridge's types since {}; nothing to resend.",
                self.since
            );
        }
        if !self.done {
            return write!(f, "Nothing resent.");
        }
        write!(
            f,
            "Asked Stripe to resend {} of {total} event(s) to the bridge",
            self.resent
        )?;
        if self.failed.is_empty() {
            write!(
                f,
                "; they arrive through the relay's signature check within seconds."
            )
        } else {
            writeln!(f, "; {} could not be resent:", self.failed.len())?;
            let lines: Vec<String> = self
                .failed
                .iter()
                .map(|e| format!("  {}  {}", e.event, e.error))
                .collect();
            write!(f, "{}", lines.join("\n"))
        }
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &ReconcileArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    if args.since.as_secs() > STRIPE_KEEPS_DAYS * 86_400 {
        return Err(hinted(
            format!(
                "--since {} reaches past the {STRIPE_KEEPS_DAYS} days of events Stripe keeps",
                humantime::format_duration(args.since)
            ),
            format!(
                "give 30d or less; for older events, replay the bridge's archive (`{}`)",
                hint::command(&settings.bridge, "replay --from 45d")
            ),
        ));
    }
    let bridge = Bridge::find(settings).await?;
    let mut side = StripeSide::open(settings, &bridge.ctx.account_id, &bridge.ctx.region).await?;
    if !side.linked() {
        return Err(hinted(
            format!(
                "bridge {} is not linked to a Stripe endpoint, so there is none to resend to",
                bridge.name
            ),
            format!("run `{}` first", hint::command(&bridge.name, "link")),
        ));
    }
    let since = unix_now() - args.since.as_secs() as i64;
    let accounts = if args.accounts.is_empty() {
        linked::rule_needs(&bridge, None).await?.1
    } else {
        args.accounts.clone()
    };

    // Each undelivered event the bridge's endpoints take, with the endpoint to resend to.
    let mut found: Vec<(Event, WebhookEndpoint)> = Vec::new();
    let main = side.in_service("main").cloned();
    let connect = side.in_service("connect").cloned();
    if let Some(endpoint) = &main {
        for event in events::undelivered(&side.client, since, None).await? {
            if endpoint.takes(&event.event_type) {
                found.push((event, endpoint.clone()));
            }
        }
    }
    if let Some(endpoint) = &connect {
        if accounts.is_empty() {
            printer.warning(
                "the Connect endpoint's events are listed per connected account, and no rule names one: pass --account acct_… for each account to reconcile",
            );
        }
        for account in &accounts {
            for event in events::undelivered(&side.client, since, Some(account)).await? {
                if endpoint.takes(&event.event_type) {
                    found.push((event, endpoint.clone()));
                }
            }
        }
    }
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for (event, _) in &found {
        *by_type.entry(event.event_type.clone()).or_default() += 1;
    }
    let mut reconciled = Reconciled {
        since: crate::ui::report::rfc3339(since),
        by_type,
        resent: 0,
        failed: Vec::new(),
        done: true,
    };
    if found.is_empty() {
        printer.result(&reconciled);
        return Ok(ExitStatus::Success);
    }
    for (event_type, count) in &reconciled.by_type {
        printer.status(format!("  {count:>5}  {event_type}"));
    }
    printer.status(format!(
        "{} event(s) Stripe has not delivered to every endpoint of the account since {} (some may still be in Stripe's retries, or delivered to the bridge and failed elsewhere: consumers de-duplicate on detail.id).",
        found.len(),
        reconciled.since
    ));
    let disabled: Vec<&WebhookEndpoint> = [main.as_ref(), connect.as_ref()]
        .into_iter()
        .flatten()
        .filter(|e| !e.enabled())
        .collect();
    if !args.yes {
        check_can_ask("pass --yes")?;
        let enable = if disabled.is_empty() {
            String::new()
        } else {
            " (enabling the bridge's disabled endpoint first)".to_owned()
        };
        if !confirmed(&format!("Ask Stripe to resend them to the bridge{enable}?"))? {
            reconciled.done = false;
            printer.result(&reconciled);
            return Ok(ExitStatus::Success);
        }
    }
    // Stripe resends nothing to a disabled endpoint, and sends it nothing new either.
    for endpoint in disabled {
        webhook_endpoints::update(
            &side.client,
            &endpoint.id,
            &Form::new().field("disabled", "false"),
        )
        .await?;
        printer.status(format!(
            "Enabled Stripe endpoint {}, which was disabled",
            endpoint.id
        ));
        if let Some(e) = side.endpoints.iter_mut().find(|e| e.id == endpoint.id) {
            e.status = "enabled".into();
        }
    }
    let counter = Counter::new(&printer, "Resending", found.len());
    for (event, endpoint) in &found {
        match events::resend(
            &side.client,
            &event.id,
            &endpoint.id,
            event.account.as_deref(),
        )
        .await
        {
            Ok(()) => reconciled.resent += 1,
            Err(error) => reconciled.failed.push(FailedResend {
                event: event.id.clone(),
                error: crate::ui::printer::error_lines(&error).0,
            }),
        }
        counter.inc();
    }
    counter.finish();
    let failed = !reconciled.failed.is_empty();
    printer.result(&reconciled);
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
