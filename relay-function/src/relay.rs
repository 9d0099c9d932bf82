//! The relay: one webhook request in, one answer out. It answers 2xx only once the
//! event is on the bus, never puts an unverified event there, and tells the failure
//! topic about everything it did not relay.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use tokio::time::Instant;

use crate::bus_delivery::{self, BusDelivery, ClaimCheckStore, DeliveryError, RetryPolicy};
use crate::failure_notices::{FailureNotices, Notice, NoticeOutcome};
use crate::outcome::Outcome;
use crate::reason::Reason;
use crate::relay_config::RelayConfig;
use crate::relay_metrics;
use crate::secret_store::{SecretError, SecretStore, SecretTiming};
use crate::signature::{SignatureError, Verified, unix_now};
use crate::signing_secrets::SigningSecrets;
use crate::stripe_event::{EventError, StripeEvent, claimed_event_id};
use crate::verified_event;
use crate::webhook::WebhookRequest;

#[derive(Debug)]
pub struct Relay {
    pub webhook_path: String,
    pub tolerance: Duration,
    pub max_body_bytes: usize,
    pub secrets: SecretStore,
    pub delivery: BusDelivery,
    pub notices: Option<FailureNotices>,
}

impl Relay {
    /// The relay as the Lambda runs it: every client from one SDK config.
    pub fn from_sdk_config(sdk: &SdkConfig, config: RelayConfig) -> Self {
        let secrets = SecretStore::secrets_manager(
            aws_sdk_secretsmanager::Client::new(sdk),
            config.secret_id,
            SecretTiming {
                ttl: config.secret_ttl,
                ..SecretTiming::default()
            },
        );
        let notices = config.failure_topic_arn.map(|topic| {
            FailureNotices::new(
                aws_sdk_sns::Client::new(sdk),
                topic,
                config.bridge_name,
                config.notice_interval,
            )
        });
        let claim_checks = config.claim_check_bucket.map(|bucket| ClaimCheckStore {
            client: aws_sdk_s3::Client::new(sdk),
            bucket,
        });
        Self {
            webhook_path: config.webhook_path,
            tolerance: config.tolerance,
            max_body_bytes: config.max_body_bytes,
            secrets,
            delivery: BusDelivery {
                client: bus_delivery::eventbridge_client(sdk),
                bus: config.event_bus,
                max_entry_bytes: config.max_entry_bytes,
                claim_check_over: config.claim_check_over_bytes,
                claim_checks,
                retry: RetryPolicy::default(),
            },
            notices,
        }
    }

    /// Handles one request, which must be answered by `deadline`: relays it, notifies
    /// the failure topic if it was not relayed, and writes its log line.
    pub async fn handle(&self, request: &WebhookRequest, deadline: Instant) -> Outcome {
        let started = Instant::now();
        let outcome = self.process(request, deadline).await;
        let notice = match outcome.reason {
            Some(reason) if !reason.is_unverified() => self.notify(request, &outcome, reason).await,
            _ => None,
        };
        let latency = started.elapsed();
        relay_metrics::record(&outcome, latency);
        tracing::info!(
            request_id = %request.request_id,
            event_id = outcome.event_id.as_deref(),
            event_type = outcome.event_type.as_deref(),
            outcome = if outcome.status < 300 { "relayed" } else if outcome.status < 500 { "rejected" } else { "failed" },
            reason = outcome.reason.map(Reason::code),
            status = outcome.status,
            attempts = outcome.attempts,
            claim_check = outcome.claim_check,
            detail = outcome.detail.as_deref(),
            notice = notice,
            latency_ms = latency.as_millis() as u64,
            "webhook"
        );
        outcome
    }

    async fn process(&self, request: &WebhookRequest, deadline: Instant) -> Outcome {
        if request.method != "POST" {
            return Outcome::refused(Reason::MethodNotAllowed);
        }
        if !self.is_webhook_route(request) {
            return Outcome::refused(Reason::NotFound);
        }
        let body = match &request.body {
            Ok(body) if body.len() > self.max_body_bytes => {
                return Outcome::refused(Reason::PayloadTooLarge);
            }
            Ok(body) => body,
            Err(reason) => return Outcome::refused(*reason),
        };
        // Verified: from here on, the body is Stripe's.
        let (text, event) = match self.verify(request.signature.as_deref(), body).await {
            Ok(verified) => verified,
            Err(refusal) => return refusal,
        };
        let event = match event {
            Ok(event) => event,
            Err(e) => return Outcome::refused(Reason::InvalidEvent).with_detail(e),
        };
        match self.delivery.deliver(&event, text, deadline).await {
            Ok(delivered) => {
                Outcome::relayed(&event, delivered.attempts, delivered.claim_check.is_some())
            }
            Err(error) => {
                let (reason, attempts) = match &error {
                    DeliveryError::TooLarge { .. } | DeliveryError::OverBusLimit { .. } => {
                        (Reason::EntryTooLarge, 0)
                    }
                    DeliveryError::ClaimCheck(_) => (Reason::ClaimCheckFailed, 0),
                    DeliveryError::Refused { attempts, .. }
                    | DeliveryError::OutOfTime { attempts, .. } => (Reason::RelayFailed, *attempts),
                };
                Outcome {
                    attempts,
                    ..Outcome::refused(reason)
                        .with_event(&event)
                        .with_detail(error)
                }
            }
        }
    }

    /// Whether the request came by the webhook's route. Through API Gateway that is the
    /// route key it matched (`POST /webhook`): behind a custom domain with an API mapping
    /// key, the path is `/KEY/webhook` ("Working with API mappings for HTTP APIs", API
    /// Gateway Developer Guide), while the route key stays the same. The local relay has
    /// no routes, so there the path decides.
    fn is_webhook_route(&self, request: &WebhookRequest) -> bool {
        match &request.route {
            Some(route) => *route == format!("POST {}", self.webhook_path),
            None => request.path == self.webhook_path,
        }
    }

    /// Checks the signature against the secrets in hand and, if none matches, once more
    /// against a fresh read of the secret: `set-secret` may just have changed it. Reads
    /// the event in the same pass over the body.
    async fn verify<'b>(
        &self,
        header: Option<&str>,
        body: &'b [u8],
    ) -> Result<(&'b str, Result<StripeEvent<'b>, EventError>), Outcome> {
        let secrets = self.secrets.current().await.map_err(secret_failure)?;
        let first = check(&secrets, header, body, self.tolerance);
        let result = match first {
            Err(e) if e.could_be_stale_secret() => {
                match self.secrets.refresh_after_mismatch(&secrets).await {
                    Ok(Some(fresh)) => check(&fresh, header, body, self.tolerance),
                    Ok(None) => Err(e),
                    Err(refresh_error) => {
                        tracing::warn!(error = %refresh_error, "re-reading the signing secret failed");
                        Err(e)
                    }
                }
            }
            other => other,
        };
        result
            .map(|(verified, event)| (verified.body, event))
            .map_err(|e| Outcome::refused(Reason::from(&e)).with_detail(e))
    }

    async fn notify(
        &self,
        request: &WebhookRequest,
        outcome: &Outcome,
        reason: Reason,
    ) -> Option<&'static str> {
        let notices = self.notices.as_ref()?;
        let verified = outcome.event_id.is_some();
        let event_id = outcome.event_id.clone().or_else(|| {
            request
                .body
                .as_ref()
                .ok()
                .and_then(|body| claimed_event_id(body))
        });
        let notice = Notice {
            reason,
            status: outcome.status,
            request_id: request.request_id.clone(),
            event_id,
            event_id_verified: verified,
            event_type: outcome.event_type.clone(),
            detail: outcome.detail.clone(),
        };
        Some(match notices.send(&notice).await {
            NoticeOutcome::Sent => "sent",
            NoticeOutcome::Suppressed => "suppressed",
            NoticeOutcome::Failed(error) => {
                tracing::warn!(error = %error, "publishing the failure notice failed");
                "failed"
            }
        })
    }
}

fn check<'b>(
    secrets: &Arc<SigningSecrets>,
    header: Option<&str>,
    body: &'b [u8],
    tolerance: Duration,
) -> Result<(Verified<'b>, Result<StripeEvent<'b>, EventError>), SignatureError> {
    let now = unix_now();
    verified_event::verify_and_read(header, body, &secrets.active_at(now), now, tolerance)
}

/// Secrets Manager failing is `secret_unavailable`; a value that holds no usable secret
/// (blank, malformed) is `secret_invalid`, which only `set-secret` fixes.
fn secret_failure(error: SecretError) -> Outcome {
    let reason = match error {
        SecretError::Unavailable(_) => Reason::SecretUnavailable,
        SecretError::Format(_) => Reason::SecretInvalid,
    };
    Outcome::refused(reason).with_detail(error)
}
