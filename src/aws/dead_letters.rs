//! The bridge's dead-letter queue: what EventBridge put there when a target could not
//! take an event after its retries, read and (after a redelivery) deleted.
//!
//! Each message is the event EventBridge could not deliver, as its body, with message
//! attributes that say why and where ("Using dead-letter queues to process undelivered
//! events", EventBridge User Guide): `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE` and
//! `ERROR_MESSAGE` (and `EXHAUSTED_RETRY_CONDITION`, `RETRY_ATTEMPTS`).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};
use serde::Serialize;
use serde_json::Value;

/// The most messages one command reads, so that a flooded queue still ends.
const MAX_MESSAGES: usize = 10_000;

/// One dead-lettered event.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// The event's time (as the relay set it: when Stripe created the event).
    pub time: Option<String>,
    pub rule: Option<String>,
    #[serde(skip)]
    pub rule_arn: Option<String>,
    pub target: Option<String>,
    /// The Stripe event's id (`detail.id`).
    pub event_id: Option<String>,
    /// The Stripe event's type (the envelope's `detail-type`).
    pub event_type: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub message_id: String,
    #[serde(skip)]
    pub receipt_handle: String,
}

impl DeadLetter {
    pub fn event_time(&self) -> Option<SystemTime> {
        self.time
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
    }
}

pub struct DeadLetters {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl DeadLetters {
    pub fn new(sdk: &SdkConfig, queue_url: &str) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.to_owned(),
        }
    }

    /// Messages waiting in the queue (SQS's ApproximateNumberOfMessages).
    pub async fn waiting(&self) -> Result<i64> {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .context("cannot read the dead-letter queue")?;
        Ok(attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse().ok())
            .unwrap_or_default())
    }

    /// Takes every message in the queue out of sight for `hold`, and reads them. Give
    /// them back with `release`, or delete them with `delete`.
    pub async fn take(&self, hold: Duration) -> Result<Vec<DeadLetter>> {
        let mut letters: Vec<DeadLetter> = Vec::new();
        while letters.len() < MAX_MESSAGES {
            let page = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(hold.as_secs() as i32)
                .wait_time_seconds(1)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send()
                .await
                .context("cannot read the dead-letter queue")?;
            let messages = page.messages();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                letters.push(parse(message));
            }
        }
        Ok(letters)
    }

    /// Makes `letters` visible again at once.
    pub async fn release(&self, letters: &[DeadLetter]) -> Result<()> {
        for chunk in letters.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, letter)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&letter.receipt_handle)
                        .visibility_timeout(0)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            self.sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("cannot give the dead letters back to the queue")?;
        }
        Ok(())
    }

    /// Deletes exactly `letters`.
    pub async fn delete(&self, letters: &[DeadLetter]) -> Result<()> {
        for chunk in letters.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, letter)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&letter.receipt_handle)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let answer = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("cannot delete the redelivered dead letters")?;
            if let Some(failed) = answer.failed().first() {
                anyhow::bail!(
                    "SQS did not delete dead letter {}: {}",
                    failed.id(),
                    failed.message().unwrap_or("no reason given")
                );
            }
        }
        Ok(())
    }
}

fn parse(message: &aws_sdk_sqs::types::Message) -> DeadLetter {
    let attribute = |name: &str| {
        message
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .map(str::to_owned)
    };
    let body: Value = message
        .body()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let rule_arn = attribute("RULE_ARN");
    DeadLetter {
        time: text(&body["time"]),
        rule: rule_arn
            .as_deref()
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned),
        rule_arn,
        target: attribute("TARGET_ARN"),
        event_id: text(&body["detail"]["id"]),
        event_type: text(&body["detail-type"]),
        error_code: attribute("ERROR_CODE"),
        error_message: attribute("ERROR_MESSAGE"),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        receipt_handle: message.receipt_handle().unwrap_or_default().to_owned(),
    }
}
