//! `stripe-bridge status`: what the bridge is now: its stack, where Stripe sends events,
//! where they go, who hears of failures, which signing secrets verify, and its rules.

use anyhow::{Context, Result};
use relay_function::signature::unix_now;
use serde_json::{Value, json};

use crate::bridge::Bridge;
use crate::cli::GlobalArgs;
use crate::output::{Printer, rfc3339};
use crate::rules::Rules;

pub async fn run(global: &GlobalArgs, printer: Printer) -> Result<()> {
    let bridge = Bridge::find(global).await?;
    let stack = &bridge.stack;
    let now = unix_now();
    let secrets = bridge.signing_secrets().await?;
    let active: Vec<Value> = secrets
        .secrets
        .iter()
        .filter(|e| e.expires.is_none_or(|x| x > now))
        .map(|e| json!({"secret": e.secret.masked(), "expires": e.expires.map(rfc3339)}))
        .collect();
    let topic = bridge.output("FailureTopicArn")?;
    let subscriptions = subscriptions(&bridge, topic).await?;
    let bus = bridge.output("EventBusName")?;
    let rules = Rules::new(&bridge.ctx.sdk, bus, &bridge.name)
        .list()
        .await?;

    let document = json!({
        "bridge": bridge.name,
        "region": bridge.ctx.region,
        "account": bridge.ctx.account_id,
        "stack": {
            "name": bridge.name,
            "status": stack.status.as_str(),
            "updated": stack.updated.map(rfc3339),
        },
        "webhook_url": stack.output("WebhookUrl"),
        "event_bus": bus,
        "event_bus_arn": stack.output("EventBusArn"),
        "failure_topic": {"arn": topic, "subscriptions": subscriptions},
        "signing_secret_arn": stack.output("SigningSecretArn"),
        "signing_secrets": active,
        "rules": rules,
    });
    printer.result(text(&document), document);
    Ok(())
}

/// The failure topic's subscriptions: endpoint and whether it is confirmed.
async fn subscriptions(bridge: &Bridge, topic: &str) -> Result<Vec<Value>> {
    let sns = aws_sdk_sns::Client::new(&bridge.ctx.sdk);
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let page = sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(next)
            .send()
            .await
            .context("cannot list the failure topic's subscriptions")?;
        for subscription in page.subscriptions() {
            let arn = subscription.subscription_arn().unwrap_or_default();
            found.push(json!({
                "protocol": subscription.protocol(),
                "endpoint": subscription.endpoint(),
                "confirmed": arn != "PendingConfirmation",
            }));
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            return Ok(found);
        }
    }
}

fn text(status: &Value) -> String {
    let s = |pointer: &str| {
        status
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let mut lines = vec![
        format!(
            "Bridge {} in {} (account {})",
            s("/bridge"),
            s("/region"),
            s("/account")
        ),
        format!(
            "  stack           {} {}, last changed {}",
            s("/stack/name"),
            s("/stack/status"),
            s("/stack/updated")
        ),
        format!("  webhook URL     {}", s("/webhook_url")),
        format!("  event bus       {}", s("/event_bus")),
        format!("  failure topic   {}", s("/failure_topic/arn")),
    ];
    for subscription in status["failure_topic"]["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        lines.push(format!(
            "                  -> {} {}{}",
            subscription["protocol"].as_str().unwrap_or("?"),
            subscription["endpoint"].as_str().unwrap_or("?"),
            if subscription["confirmed"] == true {
                ""
            } else {
                " (waiting for confirmation)"
            }
        ));
    }
    let secrets = status["signing_secrets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if secrets.is_empty() {
        lines.push(
            "  signing secret  none: run `stripe-bridge set-secret` (until then Stripe's deliveries get a 500 and are retried)"
                .into(),
        );
    }
    for (i, secret) in secrets.iter().enumerate() {
        lines.push(format!(
            "  {}  {}{}",
            if i == 0 {
                "signing secret"
            } else {
                "              "
            },
            secret["secret"].as_str().unwrap_or("?"),
            secret["expires"]
                .as_str()
                .map(|at| format!(" (valid until {at})"))
                .unwrap_or_default()
        ));
    }
    let rules = status["rules"].as_array().cloned().unwrap_or_default();
    if rules.is_empty() {
        lines.push(
            "  rules           none: add one with `stripe-bridge add-rule --type invoice.paid --target ARN`"
                .into(),
        );
    }
    for (i, rule) in rules.iter().enumerate() {
        let targets: Vec<&str> = rule["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        lines.push(format!(
            "  {}  {} {} -> {}",
            if i == 0 {
                "rules         "
            } else {
                "              "
            },
            rule["name"].as_str().unwrap_or("?"),
            rule["pattern"].as_str().unwrap_or("?"),
            targets.join(", ")
        ));
    }
    lines.join("\n")
}
