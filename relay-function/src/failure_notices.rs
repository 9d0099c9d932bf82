//! Tells the bridge's SNS topic when a request was not relayed, without flooding it:
//! a forged-request flood, or Stripe retrying one broken event for three days, yields
//! one notice per reason per interval, and the next notice counts what was held back.
//!
//! The limit is per running relay (per Lambda execution environment), so subscribers
//! may see one notice per interval from each of several environments.
//! A notice never changes the answer to Stripe: publishing has its own short timeout
//! and its failures are only logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_sns::types::MessageAttributeValue;
use serde::Serialize;
use tokio::time::Instant;

use crate::reason::Reason;

/// What went wrong with one request. Nothing here comes from the request unverified,
/// except an event id that looks like Stripe's (see `stripe_event::claimed_event_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub reason: Reason,
    pub status: u16,
    pub request_id: String,
    /// The event id: verified, or claimed by an unverified body (see `event_id_verified`).
    pub event_id: Option<String>,
    pub event_id_verified: bool,
    pub event_type: Option<String>,
    /// What AWS said, for AWS-side failures.
    pub detail: Option<String>,
}

/// The JSON message subscribers receive.
#[derive(Serialize)]
struct Message<'a> {
    bridge: &'a str,
    #[serde(flatten)]
    notice: &'a Notice,
    /// Notices with this reason held back since the last one sent.
    suppressed: u32,
}

/// Admits one notice per reason per interval and counts the rest.
#[derive(Debug)]
pub struct NoticeLimiter {
    interval: Duration,
    windows: HashMap<Reason, Window>,
}

#[derive(Debug)]
struct Window {
    last_sent: Instant,
    suppressed: u32,
}

impl NoticeLimiter {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            windows: HashMap::new(),
        }
    }

    /// `Some(n)` if a notice may go now, with `n` held back before it; `None` if not.
    pub fn admit(&mut self, reason: Reason, now: Instant) -> Option<u32> {
        match self.windows.get_mut(&reason) {
            Some(window) if now.duration_since(window.last_sent) < self.interval => {
                window.suppressed += 1;
                None
            }
            Some(window) => {
                let held_back = window.suppressed;
                *window = Window {
                    last_sent: now,
                    suppressed: 0,
                };
                Some(held_back)
            }
            None => {
                self.windows.insert(
                    reason,
                    Window {
                        last_sent: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

/// What became of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    Sent,
    Suppressed,
    Failed(String),
}

#[derive(Debug)]
pub struct FailureNotices {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    bridge: String,
    publish_timeout: Duration,
    limiter: Mutex<NoticeLimiter>,
}

impl FailureNotices {
    pub fn new(
        client: aws_sdk_sns::Client,
        topic_arn: String,
        bridge: String,
        interval: Duration,
    ) -> Self {
        Self {
            client,
            topic_arn,
            bridge,
            publish_timeout: Duration::from_secs(2),
            limiter: Mutex::new(NoticeLimiter::new(interval)),
        }
    }

    pub async fn send(&self, notice: &Notice) -> NoticeOutcome {
        let admitted = self
            .limiter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .admit(notice.reason, Instant::now());
        let Some(suppressed) = admitted else {
            return NoticeOutcome::Suppressed;
        };
        let message = Message {
            bridge: &self.bridge,
            notice,
            suppressed,
        };
        let body = serde_json::to_string(&message).expect("notice serialises");
        let reason = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(notice.reason.code())
            .build()
            .expect("data type is set");
        let publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(&self.bridge, notice.reason))
            .message(body)
            .message_attributes("reason", reason)
            .send();
        match tokio::time::timeout(self.publish_timeout, publish).await {
            Ok(Ok(_)) => NoticeOutcome::Sent,
            Ok(Err(e)) => NoticeOutcome::Failed(crate::aws_errors::describe(&e)),
            Err(_) => NoticeOutcome::Failed("SNS did not answer in time".into()),
        }
    }
}

/// SNS subjects are at most 100 printable ASCII characters.
fn subject(bridge: &str, reason: Reason) -> String {
    let text = format!("stripe-bridge {bridge}: {}", reason.code());
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notice_per_reason_per_interval_and_the_rest_are_counted() {
        let mut limiter = NoticeLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limiter.admit(Reason::SignatureMismatch, t0), Some(0));
        for s in 1..=5 {
            assert_eq!(
                limiter.admit(Reason::SignatureMismatch, t0 + Duration::from_secs(s)),
                None
            );
        }
        // Another reason has its own window.
        assert_eq!(limiter.admit(Reason::RelayFailed, t0), Some(0));
        assert_eq!(
            limiter.admit(Reason::SignatureMismatch, t0 + Duration::from_secs(60)),
            Some(5)
        );
        assert_eq!(
            limiter.admit(Reason::SignatureMismatch, t0 + Duration::from_secs(61)),
            None
        );
    }

    #[test]
    fn subjects_fit_sns_rules() {
        let long = "n".repeat(200);
        let s = subject(&long, Reason::RelayFailed);
        assert_eq!(s.len(), 100);
        assert_eq!(
            subject("live\u{e9}", Reason::RelayFailed),
            "stripe-bridge live: relay_failed"
        );
    }
}
