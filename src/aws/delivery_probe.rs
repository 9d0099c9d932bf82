//! Proof that an event reached the bridge's bus: a temporary queue, and a rule that
//! sends it the one event with a given id. Both carry the bridge's tag, so a probe that
//! was interrupted before it cleaned up is still found and deleted by `remove`.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::aws::OWNER_TAG;
use crate::aws::rules::target::Target;
use crate::aws::rules::{RuleSpec, Rules, naming};

/// Marks a probe's queue (its rule is one of the bridge's, by the owner tag).
const PROBE_TAG: &str = "stripe-bridge:probe";

/// The source of the probe's own warm-up events. No rule of the bridge takes it (each
/// matches `source: Stripe`, and so does the archive), and the bus policy reserves only
/// `Stripe`, so the deploying identity may put it.
const WARM_UP_SOURCE: &str = "stripe-bridge.probe";

pub struct DeliveryProbe {
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    rules: Rules,
    pub rule: String,
    pub queue_url: String,
    /// The id of the probe's warm-up events, which its rule also takes.
    warm_up_id: String,
}

impl DeliveryProbe {
    /// Makes the queue and a rule on `bus` that sends it the event `event_id`. If making
    /// the rule fails, the queue is deleted again.
    pub async fn create(
        sdk: &SdkConfig,
        region: &str,
        bus: &str,
        bridge: &str,
        event_id: &str,
    ) -> Result<Self> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let name = format!("{}{:08x}", naming::probe_prefix(bridge), fastrand::u32(..));
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::MessageRetentionPeriod, "300")
            .tags(OWNER_TAG, bridge)
            .tags(PROBE_TAG, "true")
            .send()
            .await
            .context("cannot create the probe's queue")?
            .queue_url
            .context("SQS did not return the probe queue's URL")?;
        let probe = Self {
            sqs,
            events: aws_sdk_eventbridge::Client::new(sdk),
            rules: Rules::new(sdk, bus, bridge),
            warm_up_id: format!("{name}-warm-up"),
            rule: name,
            queue_url,
        };
        let made = async {
            let arn = probe.queue_arn().await?;
            let spec = RuleSpec {
                claim_check_reader: None,
                name: probe.rule.clone(),
                // The sample (from the relay) or the probe's own warm-up events.
                pattern: json!({
                    "source": [relay_function::bus_entry::SOURCE, WARM_UP_SOURCE],
                    "detail": { "id": [event_id, probe.warm_up_id] }
                }),
                target: Target::parse(&arn, region)?,
                dead_letter_queue: None,
                grant_dead_letter_queue: false,
                max_retries: None,
                max_age_seconds: None,
                role_arn: None,
            };
            probe.rules.apply(&spec).await
        };
        if let Err(error) = made.await {
            probe.remove().await.ok();
            return Err(error.context("cannot set up the delivery probe"));
        }
        Ok(probe)
    }

    async fn queue_arn(&self) -> Result<String> {
        self.sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .context("cannot read the probe queue's ARN")?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .context("SQS did not return the probe queue's ARN")
    }

    /// Whether the probe's rule and its queue's permission have taken effect, which on
    /// AWS can take up to a minute (`aws::propagation`): puts a warm-up event of the
    /// probe's own every few seconds until one arrives, for at most `within`. Without
    /// this, a sample sent at once could find the rule not yet matching and be reported
    /// undelivered when it was not.
    pub async fn ready(&self, within: Duration) -> Result<bool> {
        let started = Instant::now();
        while started.elapsed() < within {
            let put = self
                .events
                .put_events()
                .entries(
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .event_bus_name(&self.rules.bus)
                        .source(WARM_UP_SOURCE)
                        .detail_type("stripe-bridge delivery probe")
                        .detail(json!({ "id": self.warm_up_id }).to_string())
                        .build(),
                )
                .send()
                .await
                .context("cannot put the probe's warm-up event on the bus")?;
            if let Some(refused) = put.entries().iter().find_map(|e| e.error_message()) {
                anyhow::bail!("EventBridge refused the probe's warm-up event: {refused}");
            }
            let left = within.saturating_sub(started.elapsed());
            if self
                .next(&self.warm_up_id, left.min(Duration::from_secs(3)))
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Waits until the event `event_id` arrives, for at most `timeout`; returns the
    /// event as EventBridge delivered it, and how long it took.
    pub async fn wait(
        &self,
        event_id: &str,
        timeout: Duration,
    ) -> Result<Option<(Value, Duration)>> {
        let started = Instant::now();
        Ok(self
            .next(event_id, timeout)
            .await?
            .map(|event| (event, started.elapsed())))
    }

    /// The event `event_id` as delivered to the probe's queue, if it arrives within
    /// `timeout`; anything else there (the sample or earlier warm-ups) is passed over.
    async fn next(&self, event_id: &str, timeout: Duration) -> Result<Option<Value>> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            let left = timeout.saturating_sub(started.elapsed());
            let messages = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .wait_time_seconds(left.as_secs().clamp(1, 5) as i32)
                .max_number_of_messages(10)
                .send()
                .await
                .context("cannot read the probe's queue")?;
            for message in messages.messages() {
                let Ok(event) = serde_json::from_str::<Value>(message.body().unwrap_or_default())
                else {
                    continue;
                };
                if event["detail"]["id"] == event_id {
                    return Ok(Some(event));
                }
            }
        }
        Ok(None)
    }

    /// Deletes the rule and the queue.
    pub async fn remove(self) -> Result<()> {
        if self.rules.find(&self.rule).await?.is_some() {
            self.rules.delete(&self.rule).await?;
        }
        self.sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await
            .context("cannot delete the probe's queue")?;
        Ok(())
    }
}

/// Deletes the queues of probes that never cleaned up (their rules go with the
/// bridge's other rules). Returns how many there were.
pub async fn remove_leftover_queues(sdk: &SdkConfig, bridge: &str) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut removed = 0;
    let mut urls = sqs
        .list_queues()
        .queue_name_prefix(naming::probe_prefix(bridge))
        .into_paginator()
        .items()
        .send();
    while let Some(url) = urls.next().await {
        let url = url.context("cannot list the bridge's probe queues")?;
        // Another bridge's name may start with this one's: go by the tags.
        let tags = sqs
            .list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .context("cannot read a probe queue's tags")?;
        let tags = tags.tags.unwrap_or_default();
        if tags.get(OWNER_TAG).map(String::as_str) == Some(bridge) && tags.contains_key(PROBE_TAG) {
            sqs.delete_queue()
                .queue_url(&url)
                .send()
                .await
                .context("cannot delete a probe queue")?;
            removed += 1;
        }
    }
    Ok(removed)
}
