//! `stripe-bridge status`: what the bridge is now: its stack, where Stripe sends events,
//! where they go, who hears of failures, which signing secrets verify, and its rules.

use std::fmt;

use anyhow::{Context, Result};
use relay_function::signature::unix_now;
use serde::Serialize;

use super::ExitStatus;
use super::set_secret::{ActiveSecrets, MaskedSecret};
use crate::aws::bridge::Bridge;
use crate::aws::rules::{RuleInfo, Rules};
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::report::rfc3339;

/// Everything `status` reports, for people (`Display`) and scripts (JSON).
#[derive(Debug, Serialize)]
pub struct BridgeStatus {
    pub bridge: String,
    pub region: String,
    pub account: String,
    pub stack: StackSummary,
    pub webhook_url: Option<String>,
    pub event_bus: String,
    pub event_bus_arn: Option<String>,
    pub failure_topic: FailureTopic,
    pub signing_secret_arn: Option<String>,
    pub signing_secrets: Vec<MaskedSecret>,
    pub rules: Vec<RuleInfo>,
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

#[derive(Debug, Serialize)]
pub struct Subscription {
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
    pub confirmed: bool,
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
        event_bus: bus.to_owned(),
        event_bus_arn: output("EventBusArn"),
        failure_topic: FailureTopic {
            arn: topic.to_owned(),
            subscriptions: subscriptions(&bridge, topic).await?,
        },
        signing_secret_arn: output("SigningSecretArn"),
        signing_secrets: ActiveSecrets::of(&secrets, unix_now()).secrets,
        rules,
    });
    Ok(ExitStatus::Success)
}

/// The failure topic's subscriptions: endpoint and whether it is confirmed.
async fn subscriptions(bridge: &Bridge, topic: &str) -> Result<Vec<Subscription>> {
    let sns = aws_sdk_sns::Client::new(&bridge.ctx.sdk);
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .items()
        .send();
    let mut found = Vec::new();
    while let Some(subscription) = pages.next().await {
        let subscription = subscription.context("cannot list the failure topic's subscriptions")?;
        found.push(Subscription {
            confirmed: subscription.subscription_arn() != Some("PendingConfirmation"),
            protocol: subscription.protocol,
            endpoint: subscription.endpoint,
        });
    }
    Ok(found)
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
                "\n  {}  {}{}",
                label(i == 0, "signing secret"),
                secret.secret,
                secret
                    .expires
                    .as_ref()
                    .map(|at| format!(" (valid until {at})"))
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
        Ok(())
    }
}
