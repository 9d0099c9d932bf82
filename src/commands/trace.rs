//! `stripe-bridge trace evt_…`: what became of one Stripe event: each request for it the
//! relay logged (the Lambda's and `dev`'s, with Stripe's retries), whether it reached the
//! bus, which of the bridge's rules match it now, and the dead letters that hold it.

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use super::ExitStatus;
use super::linked::StripeSide;
use super::tail::Tailed;
use crate::aws::bridge::Bridge;
use crate::aws::dead_letters::DeadLetters;
use crate::aws::relay_logs::{LineFilter, Logged, RelayLogs, Seen, now_ms};
use crate::aws::rules::{self, Rules};
use crate::cli::TraceArgs;
use crate::hint::hinted;
use crate::settings::GlobalSettings;
use crate::stripe_api::events;
use crate::ui::Printer;
use crate::ui::printer::error_lines;
use crate::ui::report::{RequestLineText, rfc3339, rfc3339_millis};

/// How long `trace` holds the dead letters it reads before giving them back.
const HOLD_DEAD_LETTERS: Duration = Duration::from_secs(30);

/// One event's story, for people (`Display`) and scripts (JSON).
#[derive(Debug, Serialize)]
pub struct Trace<'a> {
    pub event_id: String,
    pub event_type: Option<String>,
    /// Each request for it, oldest first.
    pub requests: Vec<Tailed<'a>>,
    /// RFC 3339: when a relay put it on the bus; none if none did.
    pub relayed_at: Option<String>,
    /// The bridge's rules that match it now, by the mode of the event (a request's log
    /// line does not say whether the event was live).
    pub rules: Vec<MatchingRule>,
    /// Dead letters holding it: deliveries a rule gave up on.
    pub dead_letters: Vec<DeadLetterSeen>,
    /// What Stripe says of it; none without a Stripe key, or if Stripe does not know it.
    pub stripe: Option<StripeView>,
    /// The bridge it went through, for the commands the text names.
    #[serde(skip)]
    pub bridge: String,
}

/// Stripe's side of one event.
#[derive(Debug, Serialize)]
pub struct StripeView {
    /// RFC 3339: when Stripe made it.
    pub created: String,
    /// Endpoints of the account Stripe has not delivered it to yet (still retrying, or
    /// given up).
    pub pending_webhooks: u64,
}

#[derive(Debug, Serialize)]
pub struct MatchingRule {
    pub rule: String,
    pub targets: Vec<String>,
    /// Whether it matches the event as a test-mode one, and as a live one.
    pub test_mode: bool,
    pub live_mode: bool,
}

#[derive(Debug, Serialize)]
pub struct DeadLetterSeen {
    pub rule: Option<String>,
    pub target: Option<String>,
    pub error: Option<String>,
}

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({})",
            self.event_id,
            self.event_type.as_deref().unwrap_or("type unknown")
        )?;
        for (i, request) in self.requests.iter().enumerate() {
            let retry = match i {
                0 => String::new(),
                n => format!("  (delivery {})", n + 1),
            };
            writeln!(
                f,
                "  {}{retry}",
                RequestLineText {
                    time: &request.time,
                    line: request.line,
                    local: request.relay == "dev",
                }
            )?;
        }
        match &self.relayed_at {
            Some(at) => writeln!(f, "  on the bus since {at}")?,
            None => writeln!(f, "  never put on the bus")?,
        }
        if self.rules.is_empty() {
            writeln!(f, "  no rule of the bridge matches it now")?;
        }
        for rule in &self.rules {
            let modes = match (rule.test_mode, rule.live_mode) {
                (true, true) => "",
                (true, false) => " (test-mode events only)",
                _ => " (live events only)",
            };
            writeln!(
                f,
                "  matched now by {}{modes} -> {}",
                rule.rule,
                rule.targets.join(", ")
            )?;
        }
        match &self.stripe {
            Some(StripeView {
                created,
                pending_webhooks: 0,
            }) => writeln!(
                f,
                "  Stripe made it at {created}, and has delivered it to every endpoint"
            )?,
            Some(StripeView {
                created,
                pending_webhooks,
            }) => writeln!(
                f,
                "  Stripe made it at {created}; {pending_webhooks} endpoint(s) of the account have not taken it yet (Stripe retries for 3 days; `{}` resends)",
                crate::hint::command(&self.bridge, "reconcile --since 3d")
            )?,
            None => {}
        }
        match self.dead_letters.len() {
            0 => write!(f, "  no dead letter holds it"),
            n => {
                write!(f, "  {n} dead letter(s) hold it:")?;
                for letter in &self.dead_letters {
                    write!(
                        f,
                        "\n    {} -> {}: {}",
                        letter.rule.as_deref().unwrap_or("?"),
                        letter.target.as_deref().unwrap_or("?"),
                        letter.error.as_deref().unwrap_or("no reason given")
                    )?;
                }
                Ok(())
            }
        }
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &TraceArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let event_id = args.event_id.trim();
    if !event_id.starts_with("evt_") || event_id.contains(['"', '\\', ' ']) {
        return Err(hinted(
            format!("`{event_id}` is no Stripe event id"),
            "give one as Stripe shows it, e.g. evt_1QxYz… (Dashboard > Developers > Events, or `tail`)",
        ));
    }
    let bridge = Bridge::find(settings).await?;
    let logs = RelayLogs::new(&bridge.ctx.sdk, &bridge.name);
    let since = now_ms() - args.since.as_millis() as i64;
    let filter = LineFilter {
        event_id: Some(event_id.to_owned()),
        ..LineFilter::default()
    };
    let logged: Vec<Logged> = logs.read(&filter, since, &mut Seen::new()).await?;
    let stripe = stripe_view(settings, &bridge, event_id, printer).await;
    if logged.is_empty() {
        let hint = match &stripe {
            Some(view) => format!(
                "Stripe made it at {} and {} endpoint(s) have not taken it: `{}` has Stripe resend what it did not deliver",
                view.created,
                view.pending_webhooks,
                crate::hint::command(&bridge.name, "reconcile --since 3d")
            ),
            None => "check the id and --name; for an older event, pass --since (up to the log group's retention)".to_owned(),
        };
        return Err(hinted(
            format!(
                "no request for {event_id} in the log of bridge {}'s relay over the last {}",
                bridge.name,
                crate::ui::report::length(args.since)
            ),
            hint,
        ));
    }
    let event_type = logged.iter().find_map(|l| l.line.event_type.clone());
    let relayed_at = logged
        .iter()
        .find(|l| l.line.status < 300)
        .map(|l| rfc3339_millis(l.timestamp));
    let rules = match &event_type {
        Some(event_type) => matching_rules(&bridge, event_id, event_type).await?,
        None => Vec::new(),
    };
    let dead_letters = dead_letters(&bridge, event_id).await?;
    printer.result(&Trace {
        event_id: event_id.to_owned(),
        event_type,
        requests: logged.iter().map(Tailed::from).collect(),
        relayed_at,
        rules,
        dead_letters,
        stripe,
        bridge: bridge.name.clone(),
    });
    Ok(ExitStatus::Success)
}

/// Stripe's view of the event, where there is a key to ask with: the account's own
/// events first, then those of the connected accounts the rules name.
async fn stripe_view(
    settings: &GlobalSettings,
    bridge: &Bridge,
    event_id: &str,
    printer: Printer,
) -> Option<StripeView> {
    let side = match StripeSide::open_if_keyed(settings, &bridge.ctx.account_id, &bridge.ctx.region)
        .await
    {
        Ok(side) => side?,
        Err(error) => {
            printer.warning(format!("Stripe's view unknown: {}", error_lines(&error).0));
            return None;
        }
    };
    let mut scopes: Vec<Option<String>> = vec![None];
    if side.has_connect() {
        scopes.extend(
            super::linked::rule_needs(bridge, None)
                .await
                .ok()?
                .1
                .into_iter()
                .map(Some),
        );
    }
    for account in scopes {
        match events::retrieve(&side.client, event_id, account.as_deref()).await {
            Ok(event) => {
                return Some(StripeView {
                    created: rfc3339(event.created),
                    pending_webhooks: event.pending_webhooks,
                });
            }
            Err(error) if crate::stripe_api::client::is_missing(&error) => continue,
            Err(error) => {
                printer.warning(format!("Stripe's view unknown: {}", error_lines(&error).0));
                return None;
            }
        }
    }
    None
}

/// The bridge's rules that would deliver the event now, as a test-mode and as a live one.
async fn matching_rules(
    bridge: &Bridge,
    event_id: &str,
    event_type: &str,
) -> Result<Vec<MatchingRule>> {
    let rules = Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &bridge.name,
    );
    let time = crate::ui::report::rfc3339(now_ms() / 1000);
    let mut found: Vec<MatchingRule> = Vec::new();
    for livemode in [false, true] {
        let detail =
            json!({ "id": event_id, "object": "event", "type": event_type, "livemode": livemode });
        let envelope = rules::envelope(
            event_type,
            detail,
            &bridge.ctx.account_id,
            &bridge.ctx.region,
            &time,
        );
        for rule in rules.matching(&envelope).await? {
            let entry = match found.iter_mut().position(|m| m.rule == rule.name) {
                Some(i) => &mut found[i],
                None => {
                    found.push(MatchingRule {
                        rule: rule.name,
                        targets: rule.targets,
                        test_mode: false,
                        live_mode: false,
                    });
                    found.last_mut().expect("just pushed")
                }
            };
            if livemode {
                entry.live_mode = true;
            } else {
                entry.test_mode = true;
            }
        }
    }
    Ok(found)
}

/// The dead letters that hold the event, read and given back at once.
async fn dead_letters(bridge: &Bridge, event_id: &str) -> Result<Vec<DeadLetterSeen>> {
    let Some(url) = bridge.stack.output("DeadLetterQueueUrl") else {
        return Ok(Vec::new());
    };
    let queue = DeadLetters::new(&bridge.ctx.sdk, url);
    let letters = queue.take(HOLD_DEAD_LETTERS).await?;
    queue.release(&letters).await?;
    Ok(letters
        .into_iter()
        .filter(|l| l.event_id.as_deref() == Some(event_id))
        .map(|l| DeadLetterSeen {
            rule: l.rule,
            target: l.target,
            error: l.error_message.or(l.error_code),
        })
        .collect())
}
