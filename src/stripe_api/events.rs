//! Events (`/v1/events`): the ones Stripe has not delivered, and resending one to one
//! endpoint (`POST /v1/events/{id}/retry`, the call the Stripe CLI's `events resend`
//! makes: `stripe-cli/pkg/cmd/resource/events.go`).

use anyhow::Result;
use serde::Deserialize;

use super::client::{Form, Listed, StripeClient};

#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    #[serde(default)]
    pub pending_webhooks: u64,
    /// The connected account, for a Connect event.
    #[serde(default)]
    pub account: Option<String>,
}

impl Listed for Event {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Events created at or after `since` (Unix seconds) that did not reach every endpoint
/// yet (`delivery_success=false`: failed, or still being retried), newest first, every
/// page; a connected account's with `account`.
pub async fn undelivered(
    client: &StripeClient,
    since: i64,
    account: Option<&str>,
) -> Result<Vec<Event>> {
    by_delivery(client, since, account, false).await
}

/// Events created at or after `since` that every endpoint of the account has taken
/// (`delivery_success=true`).
pub async fn delivered(
    client: &StripeClient,
    since: i64,
    account: Option<&str>,
) -> Result<Vec<Event>> {
    by_delivery(client, since, account, true).await
}

async fn by_delivery(
    client: &StripeClient,
    since: i64,
    account: Option<&str>,
    success: bool,
) -> Result<Vec<Event>> {
    let query = Form::new()
        .field("delivery_success", success.to_string())
        .field("created[gte]", since.to_string());
    client.list_all("/v1/events", &query, account).await
}

/// One event, as Stripe has it now (`pending_webhooks` says how many endpoints wait).
pub async fn retrieve(client: &StripeClient, id: &str, account: Option<&str>) -> Result<Event> {
    client
        .get(&format!("/v1/events/{id}"), &Form::new(), account)
        .await
}

/// Asks Stripe to send `event` again to `endpoint`, now.
pub async fn resend(
    client: &StripeClient,
    event: &str,
    endpoint: &str,
    account: Option<&str>,
) -> Result<()> {
    let form = Form::new().field("webhook_endpoint", endpoint);
    client
        .post::<serde_json::Value>(&format!("/v1/events/{event}/retry"), &form, account)
        .await
        .map(drop)
}
