//! Puts one verified event on the bus and reports whether it is there: retrying what
//! EventBridge may accept on a later try (`put_attempt` sorts each answer), within the
//! time the request has left, and storing events too large for the bus in S3 first
//! (`claim_check_store`).
//!
//! The retries are here and not in the SDK's retry layer because PutEvents reports
//! throttling per entry inside a 200 answer, which the SDK does not retry, and because
//! every try must fit before the Lambda's deadline. The EventBridge client should have
//! the SDK's retries off: [`eventbridge_client`] makes one.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use tokio::time::{Instant, sleep, timeout};

use crate::bus_entry::{self, ClaimCheck};
pub use crate::claim_check_store::ClaimCheckStore;
use crate::put_attempt::{Attempt, classify};
use crate::stripe_event::StripeEvent;

/// An EventBridge client whose calls are tried once each: retrying is this module's job.
pub fn eventbridge_client(sdk: &aws_config::SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    )
}

/// How hard to try before answering Stripe with a 5xx (Stripe then retries for days).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// One PutEvents call may take this long before it is abandoned and tried again.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(3),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter": a random wait up to an exponentially growing cap, so that many
    /// throttled relays do not retry in step.
    fn delay_after(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}

#[derive(Debug, Clone)]
pub struct BusDelivery {
    pub client: aws_sdk_eventbridge::Client,
    pub bus: String,
    /// EventBridge's own limit: nothing larger goes on the bus as it is.
    pub max_entry_bytes: usize,
    /// With a claim-check bucket, larger events go as a claim check, so that every
    /// target can take what the bus carries (see `DEFAULT_CLAIM_CHECK_OVER_BYTES`).
    pub claim_check_over: usize,
    pub claim_checks: Option<ClaimCheckStore>,
    pub retry: RetryPolicy,
}

/// An event that is on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// EventBridge's id for the entry.
    pub entry_id: String,
    pub attempts: u32,
    /// Set when the bus carries a reference and the event itself is in S3.
    pub claim_check: Option<ClaimCheck>,
}

/// Why an event is not on the bus. Every variant means: answer 5xx, so Stripe retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error(
        "the event is {size} bytes, over the bus limit of {limit}, and no claim-check bucket is configured"
    )]
    TooLarge { size: usize, limit: usize },
    #[error("storing the oversized event in S3 failed: {0}")]
    ClaimCheck(String),
    #[error("EventBridge refused the event after {attempts} attempt(s): {last_error}")]
    Refused { attempts: u32, last_error: String },
    #[error("EventBridge did not take the event in time ({attempts} attempt(s)): {last_error}")]
    OutOfTime { attempts: u32, last_error: String },
    #[error(
        "EventBridge refused the event as over its size limit, and no claim-check bucket is configured: {last_error}"
    )]
    OverBusLimit { last_error: String },
}

impl BusDelivery {
    /// Puts `event` (whose exact bytes are `body`) on the bus, or says why it could not
    /// before `deadline`.
    pub async fn deliver(
        &self,
        event: &StripeEvent<'_>,
        body: &str,
        deadline: Instant,
    ) -> Result<Delivered, DeliveryError> {
        let size = bus_entry::entry_size(&event.event_type, body);
        // Without a bucket, an event the bus takes still goes: some targets can take it.
        let as_is = size <= self.max_entry_bytes
            && (size <= self.claim_check_over || self.claim_checks.is_none());
        if as_is {
            let entry = bus_entry::event_entry(&self.bus, event, body);
            match self.put_with_retries(entry, deadline).await {
                // EventBridge counted it over its limit after all: claim-check it.
                Err(DeliveryError::OverBusLimit { last_error }) if self.claim_checks.is_some() => {
                    tracing::warn!(size, error = %last_error, "EventBridge refused the event's size; storing it as a claim check");
                }
                Ok((entry_id, attempts)) => {
                    return Ok(Delivered {
                        entry_id,
                        attempts,
                        claim_check: None,
                    });
                }
                Err(error) => return Err(error),
            }
        }
        let store = self.claim_checks.as_ref().ok_or(DeliveryError::TooLarge {
            size,
            limit: self.max_entry_bytes,
        })?;
        let check = store
            .put(event, body, deadline)
            .await
            .map_err(DeliveryError::ClaimCheck)?;
        let reference = bus_entry::reference_entry(&self.bus, event, &check);
        let (entry_id, attempts) = self.put_with_retries(reference, deadline).await?;
        Ok(Delivered {
            entry_id,
            attempts,
            claim_check: Some(check),
        })
    }

    async fn put_with_retries(
        &self,
        entry: PutEventsRequestEntry,
        deadline: Instant,
    ) -> Result<(String, u32), DeliveryError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let call = self.client.put_events().entries(entry.clone()).send();
            let last_error = match timeout(remaining.min(self.retry.attempt_timeout), call).await {
                Ok(answer) => match classify(answer) {
                    Attempt::Accepted(id) => return Ok((id, attempts)),
                    Attempt::GiveUp(last_error) => {
                        return Err(DeliveryError::Refused {
                            attempts,
                            last_error,
                        });
                    }
                    Attempt::Retry(last_error) => last_error,
                    Attempt::OverLimit(last_error) => {
                        return Err(DeliveryError::OverBusLimit { last_error });
                    }
                },
                Err(_) => format!(
                    "no answer within {} ms",
                    remaining.min(self.retry.attempt_timeout).as_millis()
                ),
            };
            if attempts >= self.retry.max_attempts {
                return Err(DeliveryError::Refused {
                    attempts,
                    last_error,
                });
            }
            let delay = self.retry.delay_after(attempts);
            if Instant::now() + delay >= deadline {
                return Err(DeliveryError::OutOfTime {
                    attempts,
                    last_error,
                });
            }
            sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::Client;
    use aws_sdk_eventbridge::config::retry::RetryConfig;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;

    const BODY: &str =
        r#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000}"#;

    fn accepted() -> PutEventsOutput {
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("eb-1").build())
            .build()
    }

    fn entry_failed(code: &'static str) -> PutEventsOutput {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(
                PutEventsResultEntry::builder()
                    .error_code(code)
                    .error_message("from the test")
                    .build(),
            )
            .build()
    }

    fn delivery(rule: &Rule) -> BusDelivery {
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [rule], |c| c
            .retry_config(RetryConfig::disabled()));
        BusDelivery {
            client,
            bus: "bus".into(),
            max_entry_bytes: bus_entry::DEFAULT_MAX_ENTRY_BYTES,
            claim_check_over: bus_entry::DEFAULT_CLAIM_CHECK_OVER_BYTES,
            claim_checks: None,
            retry: RetryPolicy {
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
                ..RetryPolicy::default()
            },
        }
    }

    async fn deliver(delivery: &BusDelivery, budget: Duration) -> Result<Delivered, DeliveryError> {
        let event = StripeEvent::parse(BODY).unwrap();
        delivery
            .deliver(&event, BODY, Instant::now() + budget)
            .await
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retried_until_the_event_is_on_the_bus() {
        let rule = mock!(Client::put_events)
            .sequence()
            .output(|| entry_failed("ThrottlingException"))
            .output(|| entry_failed("InternalFailure"))
            .http_status(500, None)
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"slow down"}"#.into()),
            )
            .output(accepted)
            .build();
        let delivered = deliver(&delivery(&rule), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(delivered.attempts, 5);
        assert_eq!(delivered.entry_id, "eb-1");
        assert_eq!(rule.num_calls(), 5);
    }

    #[tokio::test]
    async fn a_permanent_error_is_not_retried() {
        for answer in [
            mock!(Client::put_events)
                .sequence()
                .output(|| entry_failed("MalformedDetail"))
                .build(),
            mock!(Client::put_events)
                .sequence()
                .http_status(
                    400,
                    Some(r#"{"__type":"AccessDeniedException","message":"no"}"#.into()),
                )
                .build(),
        ] {
            let error = deliver(&delivery(&answer), Duration::from_secs(5))
                .await
                .unwrap_err();
            assert!(
                matches!(error, DeliveryError::Refused { attempts: 1, .. }),
                "{error}"
            );
        }
    }

    /// EventBridge counts sizes its own way: a request it refuses as too large is
    /// stored as a claim check and its reference put instead, not answered 5xx on every
    /// retry of Stripe's.
    #[tokio::test]
    async fn an_event_eventbridge_finds_too_large_goes_as_a_claim_check() {
        for refusal in [
            (413, None),
            (
                400,
                Some(
                    r#"{"__type":"ValidationException","message":"Total size of the entries in the request is over the limit."}"#,
                ),
            ),
        ] {
            let put = mock!(Client::put_events)
                .sequence()
                .http_status(refusal.0, refusal.1.map(str::to_owned))
                .output(accepted)
                .build();
            let stored = mock!(aws_sdk_s3::Client::put_object).then_output(|| {
                aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build()
            });
            let s3 = mock_client!(aws_sdk_s3, [&stored]);
            let mut with_bucket = delivery(&put);
            with_bucket.claim_checks = Some(ClaimCheckStore {
                client: s3,
                bucket: "claims".into(),
            });
            let delivered = deliver(&with_bucket, Duration::from_secs(5)).await.unwrap();
            assert!(delivered.claim_check.is_some(), "{refusal:?}");
            assert_eq!(put.num_calls(), 2, "{refusal:?}");
            assert_eq!(stored.num_calls(), 1, "{refusal:?}");

            // Without a bucket it is a 5xx at once, not a retry.
            let put = mock!(Client::put_events)
                .sequence()
                .http_status(refusal.0, refusal.1.map(str::to_owned))
                .build();
            let error = deliver(&delivery(&put), Duration::from_secs(5))
                .await
                .unwrap_err();
            assert!(
                matches!(error, DeliveryError::OverBusLimit { .. }),
                "{error}"
            );
            assert_eq!(put.num_calls(), 1);
        }
    }

    /// Over the claim-check threshold but within the bus's limit: a claim check where
    /// there is a bucket, the event as it is where there is none.
    #[tokio::test]
    async fn the_claim_check_threshold_applies_only_with_a_bucket() {
        let put = mock!(Client::put_events).then_output(accepted);
        let stored = mock!(aws_sdk_s3::Client::put_object)
            .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
        let mut with_bucket = delivery(&put);
        with_bucket.claim_check_over = 16;
        with_bucket.claim_checks = Some(ClaimCheckStore {
            client: mock_client!(aws_sdk_s3, [&stored]),
            bucket: "claims".into(),
        });
        let delivered = deliver(&with_bucket, Duration::from_secs(5)).await.unwrap();
        assert!(delivered.claim_check.is_some());
        assert_eq!(stored.num_calls(), 1);

        let put = mock!(Client::put_events).then_output(accepted);
        let mut without = delivery(&put);
        without.claim_check_over = 16;
        let delivered = deliver(&without, Duration::from_secs(5)).await.unwrap();
        assert!(delivered.claim_check.is_none());
    }

    #[tokio::test]
    async fn retries_stop_at_the_attempt_limit() {
        let rule = mock!(Client::put_events)
            .sequence()
            .output(|| entry_failed("ThrottlingException"))
            .repeatedly()
            .build();
        let error = deliver(&delivery(&rule), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            DeliveryError::Refused {
                attempts: 6,
                last_error: "ThrottlingException: from the test".into()
            }
        );
    }

    #[tokio::test]
    async fn retries_stop_before_the_deadline() {
        let rule = mock!(Client::put_events)
            .sequence()
            .output(|| entry_failed("ThrottlingException"))
            .repeatedly()
            .build();
        let mut slow = delivery(&rule);
        slow.retry.base_delay = Duration::from_secs(10);
        slow.retry.max_delay = Duration::from_secs(10);
        let started = Instant::now();
        let error = deliver(&slow, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(error, DeliveryError::OutOfTime { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_millis(200));
    }

    #[tokio::test]
    async fn an_answer_without_an_entry_id_is_not_taken_for_success() {
        let rule = mock!(Client::put_events)
            .sequence()
            .output(|| PutEventsOutput::builder().failed_entry_count(0).build())
            .output(accepted)
            .build();
        let delivered = deliver(&delivery(&rule), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(delivered.attempts, 2);
    }

    /// The longest of many waits after `attempt`: close to that attempt's cap.
    fn longest_wait(policy: &RetryPolicy, attempt: u32) -> Duration {
        (0..500).map(|_| policy.delay_after(attempt)).max().unwrap()
    }

    #[test]
    fn backoff_doubles_from_50_ms_to_a_1_s_cap_with_jitter() {
        let policy = RetryPolicy::default();
        // Caps, from the policy's documented numbers: 100, 200, 400, 800 ms, then 1 s.
        for (attempt, cap_ms) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1_000),
            (12, 1_000),
        ] {
            let longest = longest_wait(&policy, attempt);
            assert!(
                longest <= Duration::from_millis(cap_ms),
                "attempt {attempt}: waited {longest:?}, over {cap_ms} ms"
            );
            // Full jitter reaches the top of its range, so the cap really is the cap.
            assert!(
                longest >= Duration::from_millis(cap_ms * 9 / 10),
                "attempt {attempt}: never waited near {cap_ms} ms ({longest:?})"
            );
        }
        // And the waits differ: retrying relays do not move in step.
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| policy.delay_after(3)).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
