//! The bridge's Stripe side, as the commands that keep it see it: the API client with
//! the key Stripe's tools would use, the webhook endpoints marked as this bridge's (by
//! their metadata: Stripe itself keeps which endpoints are the bridge's), what the rules
//! need those endpoints to send, and `sync`, which sets each endpoint's
//! `enabled_events` to that. `link`, `add-rule`, `remove-rule`, `rotate-secret`,
//! `reconcile`, `status`, `doctor`, `trace` and `remove` all go through it.

use std::collections::BTreeSet;

use anyhow::Result;
use relay_function::signature::unix_now;
use relay_function::signing_secrets::SigningSecret;
use serde::Serialize;

use crate::aws::bridge::Bridge;
use crate::aws::rules::{RuleInfo, Rules};
use crate::settings::GlobalSettings;
use crate::stripe::endpoint_types::{self, RuleNeeds};
use crate::stripe_api::client::{Form, StripeClient};
use crate::stripe_api::credentials;
use crate::stripe_api::webhook_endpoints::{self, BridgeId, WebhookEndpoint};

/// Metadata on an endpoint `rotate-secret` made: the id of the endpoint it replaces.
pub const REPLACES_KEY: &str = "stripe_bridge_replaces";

pub struct StripeSide {
    pub client: StripeClient,
    pub id: BridgeId,
    /// The bridge's endpoints, `main` first.
    pub endpoints: Vec<WebhookEndpoint>,
}

impl StripeSide {
    /// The Stripe side of the bridge `name` in `account`/`region`; an error without a
    /// Stripe key.
    pub async fn open(settings: &GlobalSettings, account: &str, region: &str) -> Result<Self> {
        Self::with_key(
            credentials::resolve(&settings.stripe)?,
            settings,
            account,
            region,
        )
        .await
    }

    async fn with_key(
        key: credentials::ApiKey,
        settings: &GlobalSettings,
        account: &str,
        region: &str,
    ) -> Result<Self> {
        let client = StripeClient::new(key)?;
        let id = BridgeId::new(&settings.bridge, account, region);
        let endpoints = webhook_endpoints::of_bridge(&client, &id).await?;
        Ok(Self {
            client,
            id,
            endpoints,
        })
    }

    /// The Stripe side if a Stripe key is to be had; `None` without one.
    pub async fn open_if_keyed(
        settings: &GlobalSettings,
        account: &str,
        region: &str,
    ) -> Result<Option<Self>> {
        let Some(key) = credentials::given(&settings.stripe)? else {
            return Ok(None);
        };
        Self::with_key(key, settings, account, region)
            .await
            .map(Some)
    }

    pub fn linked(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// The endpoint in service for `role` (during a rotation, the one being replaced).
    pub fn in_service(&self, role: &str) -> Option<&WebhookEndpoint> {
        let of_role = || self.endpoints.iter().filter(move |e| e.role() == role);
        of_role()
            .find(|e| !e.metadata.contains_key(REPLACES_KEY))
            .or_else(|| of_role().next())
    }

    /// Whether a Connect endpoint is part of the bridge.
    pub fn has_connect(&self) -> bool {
        self.endpoints.iter().any(|e| e.role() == "connect")
    }

    /// What `endpoint` must send for `needs`: every type if it was linked with
    /// `--all-events`; none (left as it is) when nothing needs it.
    pub fn wanted_for(&self, endpoint: &WebhookEndpoint, needs: &[RuleNeeds]) -> Vec<String> {
        let wanted = endpoint_types::wanted(needs, endpoint.all_events(), self.has_connect());
        if endpoint.role() == "connect" {
            wanted.connect.unwrap_or_default()
        } else {
            wanted.main
        }
    }

    /// Sets each endpoint's `enabled_events` to what `needs` needs of it.
    pub async fn sync(&mut self, needs: &[RuleNeeds]) -> Result<Vec<Synced>> {
        let mut synced = Vec::new();
        for i in 0..self.endpoints.len() {
            let endpoint = &self.endpoints[i];
            let wanted = self.wanted_for(endpoint, needs);
            if wanted.is_empty() || endpoint.sends_exactly(&wanted) {
                continue;
            }
            let had: BTreeSet<&String> = endpoint.enabled_events.iter().collect();
            let want: BTreeSet<&String> = wanted.iter().collect();
            let added = want.difference(&had).map(|t| (*t).clone()).collect();
            let removed = had.difference(&want).map(|t| (*t).clone()).collect();
            let updated = webhook_endpoints::update(
                &self.client,
                &endpoint.id,
                &Form::new().list("enabled_events", &wanted),
            )
            .await?;
            synced.push(Synced {
                endpoint: updated.id.clone(),
                role: updated.role().to_owned(),
                added,
                removed,
            });
            self.endpoints[i] = updated;
        }
        Ok(synced)
    }
}

/// One endpoint's `enabled_events` brought in step with the rules.
#[derive(Debug, Clone, Serialize)]
pub struct Synced {
    pub endpoint: String,
    pub role: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// `a, b, c and 14 more`: a list of event types short enough for one line.
pub fn some_of(types: &[String]) -> String {
    if types.len() > 4 {
        format!("{} and {} more", types[..3].join(", "), types.len() - 3)
    } else {
        types.join(", ")
    }
}

impl std::fmt::Display for Synced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stripe endpoint {} ({})", self.endpoint, self.role)?;
        match (self.added.is_empty(), self.removed.is_empty()) {
            (false, true) => write!(f, " now also sends {}", some_of(&self.added)),
            (true, false) => write!(f, " no longer sends {}", some_of(&self.removed)),
            _ => write!(
                f,
                " now also sends {}, and no longer {}",
                some_of(&self.added),
                some_of(&self.removed)
            ),
        }
    }
}

/// Makes the bridge's `role` endpoint at its webhook URL, sending `types`, and stores
/// its secret: beside a secret set by hand for the role (an endpoint made in the
/// Dashboard) for a day, so that endpoint's deliveries still verify until it is deleted.
/// Returns the endpoint, and whether such a hand-set secret was there.
pub async fn make_endpoint(
    bridge: &Bridge,
    side: &mut StripeSide,
    role: &str,
    types: &[String],
    api_version: Option<&str>,
    all_events: bool,
) -> Result<(WebhookEndpoint, bool)> {
    let url = bridge.output("WebhookUrl")?.to_owned();
    let mut made = webhook_endpoints::create(
        &side.client,
        &webhook_endpoints::NewEndpoint {
            url: &url,
            enabled_events: types,
            connect: role == "connect",
            api_version,
            description: &format!(
                "stripe-bridge {} ({}): relays to Amazon EventBridge",
                bridge.name, side.id.aws
            ),
            metadata: side.id.metadata(role, false, all_events),
        },
    )
    .await?;
    let hand_set = store_secret(bridge, side, &mut made, true).await?;
    side.endpoints.push(made.clone());
    Ok((made, hand_set))
}

/// What each of the bridge's rules needs Stripe to send (probes left behind aside, and
/// the rule named `except`, which is being replaced), and the connected accounts they
/// name.
pub async fn rule_needs(
    bridge: &Bridge,
    except: Option<&str>,
) -> Result<(Vec<RuleNeeds>, Vec<String>)> {
    Ok(needs_of(&rules_of(bridge).await?, except))
}

/// The bridge's rules, on the bus its stack reports.
pub async fn rules_of(bridge: &Bridge) -> Result<Vec<RuleInfo>> {
    Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &bridge.name,
    )
    .list()
    .await
}

/// `rule_needs` of rules already listed.
pub fn needs_of(rules: &[RuleInfo], except: Option<&str>) -> (Vec<RuleNeeds>, Vec<String>) {
    let listed: Vec<&RuleInfo> = rules
        .iter()
        .filter(|r| !r.leftover_probe && Some(r.name.as_str()) != except)
        .collect();
    let mut accounts: Vec<String> = listed
        .iter()
        .flat_map(|r| endpoint_types::accounts(&r.pattern))
        .collect();
    accounts.sort();
    accounts.dedup();
    (
        listed
            .iter()
            .map(|r| endpoint_types::needs(&r.pattern))
            .collect(),
        accounts,
    )
}

/// Stores the secret Stripe gave for endpoint `made` in the bridge's secret, beside its
/// role's others. With `hand_set_for_a_day`, where one of those was set by hand (no
/// endpoint id: an endpoint made in the Dashboard), they all stay a day only. Returns
/// whether one was. Should storing fail, the endpoint goes again, since its secret can
/// never be had again.
pub async fn store_secret(
    bridge: &Bridge,
    side: &StripeSide,
    made: &mut WebhookEndpoint,
    hand_set_for_a_day: bool,
) -> Result<bool> {
    let secret: SigningSecret = made
        .take_secret()
        .ok_or_else(|| anyhow::anyhow!("Stripe's answer creating {} held no secret", made.id))?;
    let stored = async {
        let client = aws_sdk_secretsmanager::Client::new(&bridge.ctx.sdk);
        let arn = bridge.output("SigningSecretArn")?;
        let current = crate::aws::bridge::read_secrets(&client, &bridge.name, arn).await?;
        let endpoint = webhook_endpoints::secret_name(made.role());
        let now = unix_now();
        let hand_set = current
            .active_entries_at(now)
            .any(|e| e.endpoint.as_deref() == endpoint && e.webhook_endpoint.is_none());
        let others_until = (hand_set_for_a_day && hand_set).then_some(now + 24 * 60 * 60);
        let updated =
            super::set_secret::beside(&current, endpoint, secret, &made.id, others_until, now);
        crate::aws::bridge::write_secrets(&client, arn, &updated).await?;
        Ok::<_, anyhow::Error>(hand_set)
    }
    .await;
    match stored {
        Ok(hand_set) => Ok(hand_set),
        Err(error) => {
            let _ = webhook_endpoints::delete(&side.client, &made.id).await;
            Err(error.context(format!(
                "deleted the new Stripe endpoint {} again, since its secret could not be kept",
                made.id
            )))
        }
    }
}

/// The bridge's Stripe side as `status` shows it and `doctor` judges it.
#[derive(Debug, Clone, Serialize)]
pub struct StripeStatus {
    /// `test` or `live`, as the key's.
    pub mode: String,
    pub endpoints: Vec<EndpointStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointStatus {
    pub role: String,
    pub id: String,
    /// `enabled` or `disabled`.
    pub status: String,
    pub url: String,
    pub url_matches: bool,
    /// None: the account's default version.
    pub api_version: Option<String>,
    pub enabled_events: Vec<String>,
    /// Types the rules route that this endpoint does not send.
    pub missing_types: Vec<String>,
    /// Events of its types Stripe has not delivered to every endpoint, last 3 days.
    pub undelivered_3d: usize,
    pub adopted: bool,
}

impl StripeSide {
    /// Each endpoint: whether it is enabled, where it sends, what it misses of the
    /// bridge's `rules`.
    pub async fn report(&self, bridge: &Bridge, rules: &[RuleInfo]) -> Result<StripeStatus> {
        let url = bridge.output("WebhookUrl")?;
        let (needs, accounts) = needs_of(rules, None);
        let since = unix_now() - 3 * 86_400;
        let mut endpoints = Vec::new();
        for endpoint in &self.endpoints {
            let connect = endpoint.role() == "connect";
            let mut missing: BTreeSet<String> = BTreeSet::new();
            for rule in needs.iter().filter(|n| n.connected_only == connect) {
                missing.extend(endpoint_types::missing(rule, &endpoint.enabled_events));
            }
            let mut undelivered = 0;
            let scopes: Vec<Option<&str>> = if connect {
                accounts.iter().map(|a| Some(a.as_str())).collect()
            } else {
                vec![None]
            };
            for account in scopes {
                undelivered += crate::stripe_api::events::undelivered(&self.client, since, account)
                    .await?
                    .iter()
                    .filter(|e| endpoint.takes(&e.event_type))
                    .count();
            }
            endpoints.push(EndpointStatus {
                role: endpoint.role().to_owned(),
                id: endpoint.id.clone(),
                status: endpoint.status.clone(),
                url: endpoint.url.clone(),
                url_matches: endpoint.url == url,
                api_version: endpoint.api_version.clone(),
                enabled_events: endpoint.enabled_events.clone(),
                missing_types: missing.into_iter().collect(),
                undelivered_3d: undelivered,
                adopted: endpoint.adopted(),
            });
        }
        Ok(StripeStatus {
            mode: self.mode_word().to_owned(),
            endpoints,
        })
    }

    pub fn mode_word(&self) -> &'static str {
        match self.client.mode() {
            crate::stripe_api::credentials::Mode::Test => "test",
            crate::stripe_api::credentials::Mode::Live => "live",
        }
    }
}

impl EndpointStatus {
    /// What is wrong with it, each with its fix; none when it feeds the bridge fully.
    pub fn problems(&self, bridge: &str) -> Vec<(String, String)> {
        let link = crate::hint::command(bridge, "link");
        let mut problems = Vec::new();
        if self.status != "enabled" {
            problems.push((
                format!("Stripe endpoint {} is disabled (by Stripe after days of failed deliveries, or in the Dashboard): nothing reaches the bridge", self.id),
                format!("fix what failed, then `{}` enables it and resends what was missed", crate::hint::command(bridge, "reconcile --since 3d")),
            ));
        }
        if !self.url_matches {
            problems.push((
                format!(
                    "Stripe endpoint {} sends to {}, not the bridge's URL",
                    self.id, self.url
                ),
                format!("`{link}` points it at the bridge"),
            ));
        }
        if !self.missing_types.is_empty() {
            problems.push((
                format!(
                    "Stripe endpoint {} does not send {}, which rules route",
                    self.id,
                    self.missing_types.join(", ")
                ),
                format!("`{link}` adds them"),
            ));
        }
        problems
    }
}
