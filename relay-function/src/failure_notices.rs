//! Tells the bridge's SNS topic when a request that Stripe sent was not relayed, without
//! flooding it:
//! - a verified event that could not be relayed gets its own notice, naming the event;
//!   Stripe's retries of that event within the interval are held back and counted;
//! - a failure of the bridge itself before verification (no usable signing secret,
//!   Secrets Manager down) gets one notice per reason per interval;
//! - an unverified request (no or bad signature, wrong path, bad body) never gets a
//!   notice: anyone on the internet can send those, so they are only counted in the
//!   relay's metrics, and one alarm in the stack mails when they burst.
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
    /// Notices about the same event (or, for notices without a verified event, with the
    /// same reason) held back since the last one sent.
    suppressed: u32,
}

/// What a notice is about, for the limiter: one verified event, or one reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoticeKey {
    Event(String),
    Reason(Reason),
}

impl NoticeKey {
    fn of(notice: &Notice) -> Self {
        match &notice.event_id {
            Some(id) if notice.event_id_verified => Self::Event(id.clone()),
            _ => Self::Reason(notice.reason),
        }
    }
}

/// Windows kept before the expired ones are dropped, so that a long outage with many
/// distinct events does not grow the relay's memory without bound.
const MAX_WINDOWS: usize = 1024;

/// Admits one notice per key per interval and counts the rest.
#[derive(Debug)]
pub struct NoticeLimiter {
    interval: Duration,
    windows: HashMap<NoticeKey, Window>,
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
    pub fn admit(&mut self, key: NoticeKey, now: Instant) -> Option<u32> {
        match self.windows.get_mut(&key) {
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
                if self.windows.len() >= MAX_WINDOWS {
                    let interval = self.interval;
                    self.windows
                        .retain(|_, window| now.duration_since(window.last_sent) < interval);
                }
                self.windows.insert(
                    key,
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
            .admit(NoticeKey::of(notice), Instant::now());
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

    const UNAVAILABLE: NoticeKey = NoticeKey::Reason(Reason::SecretUnavailable);

    #[test]
    fn one_notice_per_key_per_interval_and_the_rest_are_counted() {
        let mut limiter = NoticeLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limiter.admit(UNAVAILABLE, t0), Some(0));
        for s in 1..=5 {
            assert_eq!(
                limiter.admit(UNAVAILABLE, t0 + Duration::from_secs(s)),
                None
            );
        }
        // Another key has its own window.
        assert_eq!(
            limiter.admit(NoticeKey::Reason(Reason::RelayFailed), t0),
            Some(0)
        );
        assert_eq!(
            limiter.admit(UNAVAILABLE, t0 + Duration::from_secs(60)),
            Some(5)
        );
        assert_eq!(
            limiter.admit(UNAVAILABLE, t0 + Duration::from_secs(61)),
            None
        );
    }

    #[test]
    fn each_verified_event_gets_its_own_notice_and_its_retries_are_held_back() {
        let mut limiter = NoticeLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let event = |id: &str| NoticeKey::Event(id.to_string());
        assert_eq!(limiter.admit(event("evt_1"), t0), Some(0));
        assert_eq!(limiter.admit(event("evt_2"), t0), Some(0));
        assert_eq!(
            limiter.admit(event("evt_1"), t0 + Duration::from_secs(5)),
            None
        );
    }

    #[test]
    fn expired_windows_are_dropped_once_there_are_many() {
        let mut limiter = NoticeLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for n in 0..MAX_WINDOWS {
            limiter.admit(NoticeKey::Event(format!("evt_{n}")), t0);
        }
        limiter.admit(
            NoticeKey::Event("evt_late".into()),
            t0 + Duration::from_secs(61),
        );
        assert_eq!(limiter.windows.len(), 1);
    }

    #[test]
    fn an_unverified_event_id_does_not_get_a_window_of_its_own() {
        let notice = Notice {
            reason: Reason::SecretUnavailable,
            status: 500,
            request_id: "r".into(),
            event_id: Some("evt_claimed".into()),
            event_id_verified: false,
            event_type: None,
            detail: None,
        };
        assert_eq!(NoticeKey::of(&notice), UNAVAILABLE);
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
