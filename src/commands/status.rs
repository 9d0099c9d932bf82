//! `stripe-bridge status`: what the bridge is now: its stack, where Stripe sends events,
//! where they go, who hears of failures, which signing secrets verify, and its rules.

use std::fmt;

use anyhow::Result;
use relay_function::signature::unix_now;
use serde::Serialize;

use super::ExitStatus;
use super::linked::{StripeSide, StripeStatus};
use super::set_secret::{ActiveSecrets, MaskedSecret};
use crate::aws::bridge::Bridge;
use crate::aws::dead_letters::DeadLetters;
use crate::aws::failure_topic::{self, Subscription};
use crate::aws::monitoring::{AlarmState, HourCount, Monitoring};
use crate::aws::relay_code;
use crate::aws::replays::{Archive, Replays};
use crate::aws::rules::{RuleInfo, Rules};
use crate::build::package::Architecture;
use crate::build::relay_build;
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::printer::error_lines;
use crate::ui::report::{kept_for, rfc3339, short_sha, sparkline};

/// Everything `status` reports, for people (`Display`) and scripts (JSON).
#[derive(Debug, Serialize)]
pub struct BridgeStatus {
    pub bridge: String,
    pub region: String,
    pub account: String,
    pub stack: StackSummary,
    pub webhook_url: Option<String>,
    /// The bridge's CloudWatch dashboard; none for a stack deployed before it had one.
    pub dashboard_url: Option<String>,
    pub event_bus: String,
    pub event_bus_arn: Option<String>,
    pub failure_topic: FailureTopic,
    pub signing_secret_arn: Option<String>,
    pub signing_secrets: Vec<MaskedSecret>,
    pub rules: Vec<RuleInfo>,
    /// None for a stack deployed before the bridge kept an archive.
    pub archive: Option<Archive>,
    pub dead_letters: Option<DeadLetterDepth>,
    pub alarms: Vec<AlarmState>,
    /// RFC 3339: the start of the last hour the relay put an event on the bus.
    pub last_relayed: Option<String>,
    /// The last 24 hours' requests, hour by hour, oldest first (the Lambda's, and a
    /// local relay's apart); none if CloudWatch could not be read.
    pub requests: Option<Vec<HourCount>>,
    pub relay: RelayCode,
    /// The Stripe webhook endpoints feeding the bridge; none when there is no Stripe key
    /// to look with.
    pub stripe: Option<StripeStatus>,
    /// Whether the text form may draw with unicode blocks (standard output is a terminal).
    #[serde(skip)]
    pub chart: bool,
}

/// The relay the bridge runs, beside this CLI's.
#[derive(Debug, Serialize)]
pub struct RelayCode {
    /// SHA-256 (hex) of the deployed function's code; none if it could not be read.
    pub deployed_sha256: Option<String>,
    /// SHA-256 (hex) of this CLI's relay zip for the bridge's architecture; none if this
    /// CLI has not built it yet.
    pub this_cli_sha256: Option<String>,
    /// Whether the bridge runs this CLI's relay; none if either is unknown.
    pub current: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct DeadLetterDepth {
    pub queue_url: String,
    /// Messages waiting (SQS's ApproximateNumberOfMessages).
    pub waiting: i64,
}

#[derive(Debug, Serialize)]
pub struct StackSummary {
    pub name: String,
    pub status: String,
    /// RFC 3339: when the stack was last created or updated.
    pub updated: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FailureTopic {
    pub arn: String,
    pub subscriptions: Vec<Subscription>,
}

pub async fn run(settings: &GlobalSettings, printer: Printer) -> Result<ExitStatus> {
    let bridge = Bridge::find(settings).await?;
    let stack = &bridge.stack;
    let secrets = bridge.signing_secrets().await?;
    let topic = bridge.output("FailureTopicArn")?;
    let bus = bridge.output("EventBusName")?;
    let rules = Rules::new(&bridge.ctx.sdk, bus, &bridge.name)
        .list()
        .await?;
    let output = |key| stack.output(key).map(str::to_owned);
    let archive = match stack.output("ArchiveName") {
        Some(name) => Some(
            Replays::new(&bridge.ctx.sdk)
                .archive(&bridge.name, name)
                .await?,
        ),
        None => None,
    };
    let dead_letters = match stack.output("DeadLetterQueueUrl") {
        Some(url) => Some(DeadLetterDepth {
            queue_url: url.to_owned(),
            waiting: DeadLetters::new(&bridge.ctx.sdk, url).waiting().await?,
        }),
        None => None,
    };
    // CloudWatch's answers complete the picture; without them (no permission to read
    // alarms, say) the rest of the status still stands.
    let monitoring = Monitoring::new(&bridge.ctx.sdk);
    let unknown = |what: &str, error: anyhow::Error| {
        printer.warning(format!("{what} unknown: {}", error_lines(&error).0));
    };
    let alarms = monitoring.alarms(&bridge.name).await.unwrap_or_else(|e| {
        unknown("alarm states", e);
        Vec::new()
    });
    let last_relayed = monitoring
        .last_relayed(&bridge.name, std::time::SystemTime::now())
        .await
        .unwrap_or_else(|e| {
            unknown("the last relayed event", e);
            None
        })
        .map(|t| humantime::format_rfc3339_seconds(t).to_string());
    let requests = monitoring
        .requests_by_hour(&bridge.name, std::time::SystemTime::now())
        .await
        .map_err(|e| unknown("the requests of the last 24 hours", e))
        .ok();
    let relay = relay_code(&bridge, printer).await;
    let stripe =
        match StripeSide::open_if_keyed(settings, &bridge.ctx.account_id, &bridge.ctx.region).await
        {
            Ok(Some(side)) => side
                .report(&bridge, &rules)
                .await
                .map_err(|e| unknown("the Stripe endpoint", e))
                .ok(),
            Ok(None) => None,
            Err(e) => {
                unknown("the Stripe endpoint", e);
                None
            }
        };
    printer.result(&BridgeStatus {
        bridge: bridge.name.clone(),
        region: bridge.ctx.region.clone(),
        account: bridge.ctx.account_id.clone(),
        stack: StackSummary {
            name: bridge.name.clone(),
            status: stack.status.as_str().to_owned(),
            updated: stack.updated.map(rfc3339),
        },
        webhook_url: output("WebhookUrl"),
        dashboard_url: output("DashboardUrl"),
        event_bus: bus.to_owned(),
        event_bus_arn: output("EventBusArn"),
        failure_topic: FailureTopic {
            arn: topic.to_owned(),
            subscriptions: failure_topic::subscriptions(&bridge.ctx.sdk, topic).await?,
        },
        signing_secret_arn: output("SigningSecretArn"),
        signing_secrets: ActiveSecrets::of(&bridge.name, &secrets, unix_now()).secrets,
        rules,
        archive,
        dead_letters,
        alarms,
        last_relayed,
        requests,
        relay,
        stripe,
        chart: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    });
    Ok(ExitStatus::Success)
}

/// The deployed relay's code beside the one this CLI built from the source it carries.
pub async fn relay_code(bridge: &Bridge, printer: Printer) -> RelayCode {
    let deployed_sha256 = relay_code::deployed_sha256(&bridge.ctx.sdk, &bridge.name)
        .await
        .map_err(|e| printer.warning(format!("the deployed relay unknown: {}", error_lines(&e).0)))
        .ok();
    let arch = bridge
        .stack
        .parameter("Architecture")
        .and_then(Architecture::from_lambda_name)
        .unwrap_or(Architecture::X86_64);
    let this_cli_sha256 = relay_build::carried(arch)
        .or_else(|| {
            relay_build::cache_dir()
                .ok()
                .and_then(|cache| relay_build::built(arch, &cache))
                .and_then(|artifact| artifact.ok())
        })
        .map(|artifact| artifact.sha256);
    let current = deployed_sha256
        .as_ref()
        .zip(this_cli_sha256.as_ref())
        .map(|(deployed, ours)| deployed == ours);
    RelayCode {
        deployed_sha256,
        this_cli_sha256,
        current,
    }
}

/// The last 24 hours' requests: totals, then per hour as unicode blocks on a terminal, or
/// as numbers elsewhere.
fn write_requests(f: &mut fmt::Formatter<'_>, hours: &[HourCount], chart: bool) -> fmt::Result {
    let sum = |count: fn(&HourCount) -> u64| hours.iter().map(count).sum::<u64>();
    let (dev_relayed, dev_refused) = (sum(|h| h.dev_relayed), sum(|h| h.dev_refused));
    write!(
        f,
        "\n  last 24 hours   {} relayed, {} refused",
        sum(|h| h.relayed) + dev_relayed,
        sum(|h| h.refused) + dev_refused
    )?;
    if dev_relayed + dev_refused > 0 {
        write!(f, " (by dev: {dev_relayed} relayed, {dev_refused} refused)")?;
    }
    for (name, count) in [
        (
            "relayed",
            (|h: &HourCount| h.relayed + h.dev_relayed) as fn(&HourCount) -> u64,
        ),
        ("refused", |h: &HourCount| h.refused + h.dev_refused),
    ] {
        let values: Vec<u64> = hours.iter().map(count).collect();
        if chart {
            write!(
                f,
                "\n                  {name}  {}  per hour, to now",
                sparkline(&values)
            )?;
        } else {
            let numbers: Vec<String> = values.iter().map(u64::to_string).collect();
            write!(
                f,
                "\n                  {name} per hour, to now: {}",
                numbers.join(" ")
            )?;
        }
    }
    Ok(())
}

/// The label column of the text form, filled on a row's first line only.
fn label(first: bool, text: &str) -> String {
    format!("{:<14}", if first { text } else { "" })
}

impl fmt::Display for BridgeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
        writeln!(
            f,
            "Bridge {} in {} (account {})",
            self.bridge, self.region, self.account
        )?;
        writeln!(
            f,
            "  stack           {} {}, last changed {}",
            self.stack.name,
            self.stack.status,
            or_dash(&self.stack.updated)
        )?;
        writeln!(f, "  webhook URL     {}", or_dash(&self.webhook_url))?;
        if let Some(url) = &self.dashboard_url {
            writeln!(f, "  dashboard       {url}")?;
        }
        let RelayCode {
            deployed_sha256,
            this_cli_sha256,
            current,
        } = &self.relay;
        match (deployed_sha256, this_cli_sha256, current) {
            (Some(deployed), _, Some(true)) => writeln!(
                f,
                "  relay           this CLI's (sha256 {}…)",
                short_sha(deployed)
            )?,
            (Some(deployed), Some(ours), _) => writeln!(
                f,
                "  relay           not this CLI's: sha256 {}… deployed, {}… here; `{}` deploys this one",
                short_sha(deployed),
                short_sha(ours),
                crate::hint::command(&self.bridge, "deploy")
            )?,
            (Some(deployed), None, _) => writeln!(
                f,
                "  relay           sha256 {}… (this CLI has not built its relay yet to compare: `stripe-bridge package`)",
                short_sha(deployed)
            )?,
            (None, _, _) => writeln!(f, "  relay           unknown")?,
        }
        match &self.stripe {
            None => writeln!(
                f,
                "  Stripe          not looked at: no Stripe API key (STRIPE_API_KEY, or `stripe login`)"
            )?,
            Some(stripe) if stripe.endpoints.is_empty() => writeln!(
                f,
                "  Stripe          no webhook endpoint linked ({} mode): `{}` makes one",
                stripe.mode,
                crate::hint::command(&self.bridge, "link")
            )?,
            Some(stripe) => {
                for (i, e) in stripe.endpoints.iter().enumerate() {
                    let types = match e.enabled_events.as_slice() {
                        [all] if all == "*" => "every type".to_owned(),
                        many => format!("{} type(s)", many.len()),
                    };
                    writeln!(
                        f,
                        "  {}  {} {} {}, {types}, API version {}{}",
                        label(i == 0, "Stripe"),
                        e.role,
                        e.id,
                        e.status,
                        e.api_version.as_deref().unwrap_or("(account default)"),
                        if e.adopted { ", adopted" } else { "" }
                    )?;
                    if e.undelivered_3d > 0 {
                        writeln!(
                            f,
                            "                  {} event(s) of its types undelivered in 3 days: `{}`",
                            e.undelivered_3d,
                            crate::hint::command(&self.bridge, "reconcile --since 3d")
                        )?;
                    }
                    for (problem, fix) in e.problems(&self.bridge) {
                        writeln!(f, "                  {problem}: {fix}")?;
                    }
                }
            }
        }
        writeln!(f, "  event bus       {}", self.event_bus)?;
        write!(f, "  failure topic   {}", self.failure_topic.arn)?;
        for subscription in &self.failure_topic.subscriptions {
            write!(
                f,
                "\n                  -> {} {}{}",
                subscription.protocol.as_deref().unwrap_or("?"),
                subscription.endpoint.as_deref().unwrap_or("?"),
                if subscription.confirmed {
                    ""
                } else {
                    " (waiting for confirmation)"
                }
            )?;
        }
        if self.signing_secrets.is_empty() {
            write!(
                f,
                "\n  signing secret  none: run `stripe-bridge --name {} set-secret` (until then Stripe's deliveries get a 500 and are retried)",
                self.bridge
            )?;
        }
        for (i, secret) in self.signing_secrets.iter().enumerate() {
            write!(
                f,
                "\n  {}  {} (endpoint {}{})",
                label(i == 0, "signing secret"),
                secret.secret,
                secret.endpoint,
                secret
                    .expires
                    .as_ref()
                    .map(|at| format!(", valid until {at}"))
                    .unwrap_or_default()
            )?;
        }
        if self.rules.is_empty() {
            write!(
                f,
                "\n  rules           none: add one with `stripe-bridge --name {} add-rule --type invoice.paid --target ARN`",
                self.bridge
            )?;
        }
        for (i, rule) in self.rules.iter().enumerate() {
            write!(
                f,
                "\n  {}  {} {} -> {}",
                label(i == 0, "rules"),
                rule.name,
                rule.pattern,
                rule.targets.join(", ")
            )?;
        }
        if let Some(archive) = &self.archive {
            write!(
                f,
                "\n  archive         {}: {} events, {} bytes, kept {}",
                archive.name,
                archive.event_count,
                archive.size_bytes,
                kept_for(archive.retention_days.into())
            )?;
        }
        if let Some(dead) = &self.dead_letters {
            write!(f, "\n  dead letters    {} waiting", dead.waiting)?;
            if dead.waiting > 0 {
                write!(
                    f,
                    ": see `stripe-bridge --name {} dead-letters`",
                    self.bridge
                )?;
            }
        }
        for (i, alarm) in self.alarms.iter().enumerate() {
            write!(
                f,
                "\n  {}  {} {}",
                label(i == 0, "alarms"),
                alarm.name,
                alarm.state
            )?;
        }
        write!(
            f,
            "\n  last relayed    {}",
            self.last_relayed
                .as_ref()
                .map(|hour| format!("in the hour from {hour}"))
                .unwrap_or_else(|| "no event in the last 30 days".into())
        )?;
        if let Some(hours) = &self.requests {
            write_requests(f, hours, self.chart)?;
        }
        Ok(())
    }
}
