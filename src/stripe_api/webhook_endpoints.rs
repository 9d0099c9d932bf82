//! Webhook endpoints (`/v1/webhook_endpoints`): the ones the bridge made or adopted are
//! found by their metadata, so Stripe itself keeps which endpoints are the bridge's;
//! nothing is kept on this machine or in AWS. A made endpoint's secret comes only in
//! the answer that creates it, and goes straight into the bridge's Secrets Manager
//! secret: this module hands it on as a `SigningSecret`, which never shows itself.

use std::collections::BTreeMap;

use anyhow::Result;
use relay_function::signing_secrets::SigningSecret;
use serde::Deserialize;

use super::client::{Form, Listed, StripeClient};

/// The metadata keys that mark an endpoint as a bridge's: its name, and the AWS
/// account and region it lives in (`123456789012/us-east-1`), since one Stripe account
/// may feed bridges of the same name in several.
pub const BRIDGE_KEY: &str = "stripe_bridge";
pub const AWS_KEY: &str = "stripe_bridge_aws";
/// `all` where `link --all-events` asked for every type, which the rules' syncs keep.
pub const EVENTS_KEY: &str = "stripe_bridge_events";
/// Which of the bridge's endpoints: `main` or `connect`, as `set-secret --endpoint`.
pub const ROLE_KEY: &str = "stripe_bridge_endpoint";
/// `adopted` for an endpoint `link --adopt` took over (and `remove` leaves); absent
/// for one the bridge made.
pub const ORIGIN_KEY: &str = "stripe_bridge_origin";

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub created: i64,
    pub url: String,
    pub enabled_events: Vec<String>,
    /// `enabled` or `disabled`.
    pub status: String,
    pub api_version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Only in the answer that creates the endpoint.
    #[serde(default)]
    secret: Option<SigningSecret>,
}

impl WebhookEndpoint {
    pub fn enabled(&self) -> bool {
        self.status == "enabled"
    }

    /// The secret Stripe signs this endpoint's deliveries with: only from `create`.
    pub fn take_secret(&mut self) -> Option<SigningSecret> {
        self.secret.take()
    }

    /// Whether this endpoint is marked as `bridge`'s.
    pub fn is_of(&self, bridge: &BridgeId) -> bool {
        self.metadata.get(BRIDGE_KEY) == Some(&bridge.name)
            && self.metadata.get(AWS_KEY) == Some(&bridge.aws)
    }

    /// Marked as some bridge's, any.
    pub fn is_a_bridges(&self) -> bool {
        self.metadata.contains_key(BRIDGE_KEY)
    }

    /// `link --all-events` asked for every type.
    pub fn all_events(&self) -> bool {
        self.metadata.get(EVENTS_KEY).is_some_and(|v| v == "all")
    }

    /// `main` or `connect`.
    pub fn role(&self) -> &str {
        self.metadata.get(ROLE_KEY).map_or("main", String::as_str)
    }

    /// Whether it sends events of `event_type` (`*` sends all).
    pub fn takes(&self, event_type: &str) -> bool {
        self.enabled_events
            .iter()
            .any(|t| t == "*" || t == event_type)
    }

    /// Whether it sends exactly `types`, in any order.
    pub fn sends_exactly(&self, types: &[String]) -> bool {
        let had: std::collections::BTreeSet<&String> = self.enabled_events.iter().collect();
        had == types.iter().collect()
    }

    pub fn adopted(&self) -> bool {
        self.metadata
            .get(ORIGIN_KEY)
            .is_some_and(|o| o == "adopted")
    }
}

/// Which bridge an endpoint feeds, as its metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeId {
    pub name: String,
    /// `ACCOUNT/REGION`.
    pub aws: String,
}

impl BridgeId {
    pub fn new(name: &str, account: &str, region: &str) -> Self {
        Self {
            name: name.to_owned(),
            aws: format!("{account}/{region}"),
        }
    }

    /// The metadata that marks an endpoint as this bridge's `role` endpoint.
    pub fn metadata(&self, role: &str, adopted: bool, all_events: bool) -> Vec<(&str, String)> {
        vec![
            (BRIDGE_KEY, self.name.clone()),
            (AWS_KEY, self.aws.clone()),
            (ROLE_KEY, role.to_owned()),
            (
                ORIGIN_KEY,
                if adopted { "adopted" } else { "made" }.to_owned(),
            ),
            (
                EVENTS_KEY,
                if all_events { "all" } else { "rules" }.to_owned(),
            ),
        ]
    }
}

/// The name the bridge's secret keeps a `role` endpoint's signing secret under, as
/// `set-secret --endpoint` names it: none for `main`.
pub fn secret_name(role: &str) -> Option<&str> {
    (role != "main").then_some(role)
}

/// Every metadata key that marks an endpoint as a bridge's.
pub const MARKS: [&str; 5] = [BRIDGE_KEY, AWS_KEY, ROLE_KEY, ORIGIN_KEY, EVENTS_KEY];

/// What `create` sends.
#[derive(Debug, Clone)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub enabled_events: &'a [String],
    pub connect: bool,
    pub api_version: Option<&'a str>,
    pub description: &'a str,
    pub metadata: Vec<(&'a str, String)>,
}

impl Listed for WebhookEndpoint {
    fn id(&self) -> &str {
        &self.id
    }
}

pub async fn create(client: &StripeClient, new: &NewEndpoint<'_>) -> Result<WebhookEndpoint> {
    let mut form = Form::new()
        .field("url", new.url)
        .list("enabled_events", new.enabled_events);
    if new.connect {
        form = form.field("connect", "true");
    }
    if let Some(version) = new.api_version {
        form = form.field("api_version", version);
    }
    let form = form.field("description", new.description).map(
        "metadata",
        new.metadata.iter().map(|(k, v)| (*k, v.as_str())),
    );
    client.post("/v1/webhook_endpoints", &form, None).await
}

pub async fn retrieve(client: &StripeClient, id: &str) -> Result<WebhookEndpoint> {
    client
        .get(&format!("/v1/webhook_endpoints/{id}"), &Form::new(), None)
        .await
}

/// Updates what `form` names (`url`, `enabled_events`, `disabled`, `metadata`, …).
pub async fn update(client: &StripeClient, id: &str, form: &Form) -> Result<WebhookEndpoint> {
    client
        .post(&format!("/v1/webhook_endpoints/{id}"), form, None)
        .await
}

/// Deletes the endpoint; one already gone counts as deleted, so a re-run after an
/// interruption goes on.
pub async fn delete(client: &StripeClient, id: &str) -> Result<()> {
    match client
        .delete::<serde_json::Value>(&format!("/v1/webhook_endpoints/{id}"))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if super::client::is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every endpoint of the account (Stripe allows 16), all pages.
pub async fn list(client: &StripeClient) -> Result<Vec<WebhookEndpoint>> {
    client
        .list_all("/v1/webhook_endpoints", &Form::new(), None)
        .await
}

/// The endpoints marked as `bridge`'s, `main` first.
pub async fn of_bridge(client: &StripeClient, bridge: &BridgeId) -> Result<Vec<WebhookEndpoint>> {
    let mut ours: Vec<WebhookEndpoint> = list(client)
        .await?
        .into_iter()
        .filter(|e| e.is_of(bridge))
        .collect();
    ours.sort_by(|a, b| (a.role() != "main", a.role()).cmp(&(b.role() != "main", b.role())));
    Ok(ours)
}
