//! The failure topic's subscribers: who hears of the alarms and the failure notices.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;

/// One subscription to the failure topic.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
    /// False until the subscriber confirms it (SNS says `PendingConfirmation`): until
    /// then SNS sends it nothing.
    pub confirmed: bool,
}

/// The topic's subscriptions, confirmed or not.
pub async fn subscriptions(sdk: &SdkConfig, topic: &str) -> Result<Vec<Subscription>> {
    let sns = aws_sdk_sns::Client::new(sdk);
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
