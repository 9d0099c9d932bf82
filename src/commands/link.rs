//! `stripe-bridge link`: make the Stripe webhook endpoint that feeds the bridge (and a
//! Connect one where rules route connected accounts' events), sending the types the
//! rules route; its signing secret goes straight from Stripe's answer into the bridge's
//! Secrets Manager secret, seen by nobody. Run again, it converges: the url and types
//! are brought in step, and no second endpoint is made. `--adopt we_…` takes over an
//! endpoint made by hand instead.

use std::fmt;

use anyhow::Result;
use relay_function::signature::unix_now;
use serde::Serialize;

use super::ExitStatus;
use super::linked::{self, StripeSide};
use super::rotate_secret::rotate_command;
use crate::aws::bridge::Bridge;
use crate::cli::LinkArgs;
use crate::hint::{self, hinted};
use crate::settings::GlobalSettings;
use crate::stripe::endpoint_types;
use crate::stripe_api::client::Form;
use crate::stripe_api::webhook_endpoints::{self, WebhookEndpoint};
use crate::ui::Printer;

/// What `link` did.
#[derive(Debug, Serialize)]
pub struct Linked {
    pub bridge: String,
    /// `test` or `live`.
    pub mode: String,
    pub endpoints: Vec<LinkedEndpoint>,
}

#[derive(Debug, Serialize)]
pub struct LinkedEndpoint {
    pub role: String,
    pub id: String,
    pub url: String,
    pub enabled_events: Vec<String>,
    pub status: String,
    /// `made`, `adopted`, `updated` or `unchanged`.
    pub action: String,
}

impl fmt::Display for Linked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Bridge {} is linked to Stripe ({} mode):",
            self.bridge, self.mode
        )?;
        for e in &self.endpoints {
            let types = match e.enabled_events.as_slice() {
                [all] if all == "*" => "every event type".to_owned(),
                [one] => one.clone(),
                many => format!("{} event types", many.len()),
            };
            writeln!(
                f,
                "  {:<7}  {}  {:<9}  {types}  {}",
                e.role, e.id, e.action, e.url
            )?;
        }
        if self.endpoints.iter().any(|e| e.action == "made") {
            write!(
                f,
                "Each new endpoint's signing secret went straight into the bridge's secret; nobody saw it."
            )?;
        }
        Ok(())
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &LinkArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let bridge = Bridge::find(settings).await?;
    let url = bridge.output("WebhookUrl")?.to_owned();
    let mut side = StripeSide::open(settings, &bridge.ctx.account_id, &bridge.ctx.region).await?;
    let (needs, _) = linked::rule_needs(&bridge, None).await?;
    let mut report = Vec::new();

    if let Some(id) = &args.adopt {
        let adopted = adopt(&bridge, &side, id, args, &url, printer).await?;
        side.endpoints.retain(|e| e.id != adopted.id);
        side.endpoints.push(adopted);
    }

    let connect = args.connect || side.has_connect();
    let wanted = endpoint_types::wanted(&needs, args.all_events, connect);
    let mut roles = vec![("main", wanted.main.clone())];
    if let Some(types) = wanted.connect.clone() {
        roles.push(("connect", types));
    }
    for (role, types) in roles {
        if let Some(existing) = side.in_service(role).cloned() {
            let (updated, action) = converge(&side, &existing, &url, &types, args, role).await?;
            if let Some(i) = side.endpoints.iter().position(|e| e.id == updated.id) {
                side.endpoints[i] = updated.clone();
            }
            if !existing.enabled() {
                printer.hint(format!(
                    "{} was disabled, and is enabled again: `{}` has Stripe resend what it did not send meanwhile",
                    existing.id,
                    hint::command(&bridge.name, "reconcile --since 3d")
                ));
            }
            let action = if args.adopt.as_deref() == Some(existing.id.as_str()) {
                "adopted"
            } else {
                action
            };
            report.push(view(&updated, action));
            continue;
        }
        if types.is_empty() {
            if role == "main" && wanted.connect.is_some() {
                // Every rule is a connected account's: the account's own events are
                // needed by none, so no main endpoint.
                continue;
            }
            return Err(hinted(
                format!(
                    "bridge {} has no rules, so there is no event type to ask Stripe for",
                    bridge.name
                ),
                format!(
                    "add a rule first (`{}`), or link with --all-events to have Stripe send every type",
                    hint::command(&bridge.name, "add-rule --type invoice.paid --target ARN")
                ),
            ));
        }
        let (made, hand_set) = linked::make_endpoint(
            &bridge,
            &mut side,
            role,
            &types,
            args.api_version.as_deref(),
            args.all_events,
        )
        .await?;
        if hand_set {
            printer.warning(format!(
                "the {role} signing secret set by hand stays valid for 24 hours beside the new endpoint's: delete the endpoint it belongs to in Stripe's Dashboard, or adopt that one instead (`{}`)",
                hint::command(&bridge.name, "link --adopt we_…")
            ));
        }
        report.push(view(&made, "made"));
    }
    printer.result(&Linked {
        bridge: bridge.name.clone(),
        mode: side.mode_word().to_owned(),
        endpoints: report,
    });
    Ok(ExitStatus::Success)
}

fn view(endpoint: &WebhookEndpoint, action: &str) -> LinkedEndpoint {
    LinkedEndpoint {
        role: endpoint.role().to_owned(),
        id: endpoint.id.clone(),
        url: endpoint.url.clone(),
        enabled_events: endpoint.enabled_events.clone(),
        status: endpoint.status.clone(),
        action: action.to_owned(),
    }
}

/// Brings `existing` to the bridge's url and `types` (left as they are when no rule
/// needs any: Stripe takes no endpoint without one).
async fn converge(
    side: &StripeSide,
    existing: &WebhookEndpoint,
    url: &str,
    types: &[String],
    args: &LinkArgs,
    role: &str,
) -> Result<(WebhookEndpoint, &'static str)> {
    let mut form = Form::new();
    if existing.url != url {
        form = form.field("url", url);
    }
    // Stripe disables an endpoint that fails for days; linking means it should send.
    if !existing.enabled() {
        form = form.field("disabled", "false");
    }
    if !types.is_empty() && !existing.sends_exactly(types) {
        form = form.list("enabled_events", types);
    }
    if args.all_events != existing.all_events() {
        form = form.map(
            "metadata",
            [(
                webhook_endpoints::EVENTS_KEY,
                if args.all_events { "all" } else { "rules" },
            )],
        );
    }
    check_version(&side.id.name, existing, args.api_version.as_deref(), role)?;
    if form == Form::new() {
        return Ok((existing.clone(), "unchanged"));
    }
    let updated = webhook_endpoints::update(&side.client, &existing.id, &form).await?;
    Ok((updated, "updated"))
}

/// Stripe cannot change an endpoint's API version: a version asked for that is not the
/// endpoint's is refused before anything changes.
fn check_version(
    bridge: &str,
    existing: &WebhookEndpoint,
    wanted: Option<&str>,
    role: &str,
) -> Result<()> {
    match wanted {
        Some(version) if existing.api_version.as_deref() != Some(version) => Err(hinted(
            format!(
                "the {role} endpoint {} sends events as API version {}, and Stripe cannot change an endpoint's version",
                existing.id,
                existing
                    .api_version
                    .as_deref()
                    .unwrap_or("of the account's default")
            ),
            format!(
                "`{}` replaces it with an endpoint of that version, with no gap",
                hint::command(bridge, &rotate_command(role, "--api-version VERSION"))
            ),
        )),
        _ => Ok(()),
    }
}

/// Takes over endpoint `id`, made by hand: marks it as the bridge's main endpoint (its
/// Connect one with `--connect`).
async fn adopt(
    bridge: &Bridge,
    side: &StripeSide,
    id: &str,
    args: &LinkArgs,
    url: &str,
    printer: Printer,
) -> Result<WebhookEndpoint> {
    let role = if args.connect { "connect" } else { "main" };
    let endpoint = webhook_endpoints::retrieve(&side.client, id).await?;
    check_version(&bridge.name, &endpoint, args.api_version.as_deref(), role)?;
    if endpoint.is_a_bridges() && !endpoint.is_of(&side.id) {
        return Err(hinted(
            format!(
                "Stripe endpoint {id} already feeds another bridge ({})",
                endpoint
                    .metadata
                    .get(webhook_endpoints::BRIDGE_KEY)
                    .map_or("", String::as_str)
            ),
            format!(
                "adopt an endpoint no bridge uses, or run `{}` to make one",
                hint::command(&bridge.name, "link")
            ),
        ));
    }
    if let Some(other) = side.in_service(role).filter(|e| e.id != id) {
        return Err(hinted(
            format!(
                "bridge {} already has a {role} endpoint, {}",
                bridge.name, other.id
            ),
            format!(
                "`{}` keeps that one; to adopt this one instead, delete that one in Stripe's Dashboard first, or adopt this one as the Connect endpoint (`{}`)",
                hint::command(&bridge.name, "link"),
                hint::command(&bridge.name, &format!("link --adopt {id} --connect"))
            ),
        ));
    }
    let mut form = Form::new().map(
        "metadata",
        side.id
            .metadata(role, true, args.all_events)
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    if endpoint.url != url {
        form = form.field("url", url);
    }
    let adopted = webhook_endpoints::update(&side.client, id, &form).await?;
    let endpoint_name = webhook_endpoints::secret_name(role);
    let secrets = bridge.signing_secrets().await?;
    if !secrets
        .active_entries_at(unix_now())
        .any(|e| e.endpoint.as_deref() == endpoint_name)
    {
        let flag = if role == "main" {
            String::new()
        } else {
            format!(" --endpoint {role}")
        };
        printer.warning(format!(
            "Stripe gives an endpoint's secret only when it is made: copy {id}'s from the Dashboard once, into `{}`; until then its deliveries are refused",
            hint::command(&bridge.name, &format!("set-secret{flag}"))
        ));
    }
    Ok(adopted)
}
