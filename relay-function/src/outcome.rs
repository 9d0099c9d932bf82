//! What became of one request: its answer, its log line's fields, and what the
//! metrics count.

use serde::Serialize;

use crate::reason::Reason;
use crate::stripe_event::StripeEvent;
use crate::webhook::WebhookResponse;

/// What happened to one request: the fields of its log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub status: u16,
    pub reason: Option<Reason>,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    /// PutEvents calls made.
    pub attempts: u32,
    pub claim_check: bool,
    /// Why, in words that quote nothing of the request (AWS's own, for 5xx outcomes).
    pub detail: Option<String>,
}

impl Outcome {
    pub(crate) fn relayed(event: &StripeEvent<'_>, attempts: u32, claim_check: bool) -> Self {
        Self {
            status: 200,
            reason: None,
            event_id: Some(event.id.to_string()),
            event_type: Some(event.event_type.to_string()),
            attempts,
            claim_check,
            detail: None,
        }
    }

    pub(crate) fn refused(reason: Reason) -> Self {
        Self {
            status: reason.status(),
            reason: Some(reason),
            event_id: None,
            event_type: None,
            attempts: 0,
            claim_check: false,
            detail: None,
        }
    }

    pub(crate) fn with_event(mut self, event: &StripeEvent<'_>) -> Self {
        self.event_id = Some(event.id.to_string());
        self.event_type = Some(event.event_type.to_string());
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl ToString) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    pub fn response(&self) -> WebhookResponse {
        match self.reason {
            None => WebhookResponse::received(),
            Some(reason) => WebhookResponse::refused(reason),
        }
    }
}
