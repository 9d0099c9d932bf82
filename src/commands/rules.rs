//! `add-rule`, `list-rules` and `remove-rule`: route the bridge's Stripe events to
//! targets (see `aws/rules/` for where the rules live and why).

use std::fmt;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::ExitStatus;
use super::linked::{self, StripeSide, Synced};
use super::replay::{Replayed, bridge_archive, replay_to};
use crate::aws::bridge::Bridge;
use crate::aws::propagation;
use crate::aws::replays::{Archive, Window};
use crate::aws::rules::target::{Target, TargetKind};
use crate::aws::rules::target_keys::KeyNeed;
use crate::aws::rules::{Applied, ClaimCheckReader, RuleInfo, RuleSpec, Rules, naming};
use crate::cli::{AddRuleArgs, RemoveRuleArgs};
use crate::hint::{self, hinted};
use crate::settings::GlobalSettings;
use crate::stripe::endpoint_types;
use crate::stripe::event_types::{self, TypeFilter};
use crate::ui::Printer;
use crate::ui::printer::{ask, can_ask};

/// What `add-rule` did.
#[derive(Debug, Serialize)]
pub struct RuleApplied {
    pub rule: String,
    pub bus: String,
    pub pattern: Value,
    pub target: String,
    pub changed: bool,
    /// The replay `--backfill` ran to the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<Replayed>,
    /// A backfill not started yet, and how to start it once the rule has taken effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_later: Option<BackfillLater>,
    /// A backfill not run, because the rule was there unchanged, and its target has had
    /// those events: the command that replays them to it all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_skipped: Option<String>,
    /// The Stripe endpoints whose types changed for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripe: Vec<Synced>,
    #[serde(skip)]
    applied: Applied,
}

impl fmt::Display for RuleApplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            rule,
            bus,
            pattern,
            target,
            ..
        } = self;
        match self.applied {
            Applied::Created => {
                write!(f, "Created rule {rule} on bus {bus}: {pattern} -> {target}")
            }
            Applied::Updated => {
                write!(f, "Updated rule {rule} on bus {bus}: {pattern} -> {target}")
            }
            Applied::Unchanged => write!(
                f,
                "Rule {rule} already routes {pattern} to {target}; nothing changed."
            ),
        }?;
        for synced in &self.stripe {
            write!(f, "\n{synced}")?;
        }
        match (&self.backfill, &self.backfill_later) {
            (Some(replayed), _) => write!(f, "\nBackfill: {replayed}"),
            (None, Some(later)) => write!(f, "\n{later}"),
            (None, None) => Ok(()),
        }
    }
}

/// A backfill that would run before the rule it replays to has taken effect.
#[derive(Debug, Serialize)]
pub struct BackfillLater {
    /// When the rule and its target's permission have surely taken effect.
    pub after: String,
    /// The command that runs the backfill then.
    pub command: String,
}

impl fmt::Display for BackfillLater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Backfill not started: a new or changed rule, and its target's new permission, take up to a \
             minute to apply on AWS, and events reach the archive minutes after the bus; a replay now \
             could miss events or send them to the dead-letter queue.\n\
             After {} run: {}",
            self.after, self.command
        )
    }
}

/// The bridge's rules, as `list-rules` shows them.
#[derive(Debug, Serialize)]
pub struct RuleList {
    pub bus: String,
    pub rules: Vec<RuleInfo>,
    #[serde(skip)]
    bridge: String,
}

impl fmt::Display for RuleList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return write!(
                f,
                "No rules on bus {} yet: add one with `stripe-bridge --name {} add-rule --type invoice.paid --target ARN`.",
                self.bus, self.bridge
            );
        }
        let width = self.rules.iter().map(|r| r.name.len()).max().unwrap_or(4);
        let mut lines = Vec::new();
        for r in &self.rules {
            lines.push(format!(
                "{:<width$}  {}  -> {}",
                r.name,
                r.pattern,
                r.targets.join(", ")
            ));
            let indent = " ".repeat(width + 2);
            if r.leftover_probe {
                lines.push(format!(
                    "{indent}a probe `test --expect-delivery` left behind, no consumer's: `{}` deletes it",
                    hint::command(&self.bridge, &format!("remove-rule {}", r.name))
                ));
                continue;
            }
            if let Some(queue) = &r.dead_letter_queue {
                let retries = r
                    .max_retries
                    .map_or(String::new(), |n| format!("{n} retries"));
                let age = r.max_age_seconds.map_or(String::new(), |s| {
                    crate::ui::report::length(Duration::from_secs(s as u64))
                });
                let within = match (retries.is_empty(), age.is_empty()) {
                    (false, false) => format!(" after {retries} within {age}"),
                    (false, true) => format!(" after {retries}"),
                    (true, false) => format!(" after {age}"),
                    (true, true) => String::new(),
                };
                lines.push(format!(
                    "{indent}undelivered{within}: dead letters to {queue}"
                ));
            }
            if let Some(reader) = &r.claim_check_reader {
                lines.push(format!("{indent}claim checks readable by {reader}"));
            }
        }
        f.write_str(&lines.join("\n"))
    }
}

/// What `remove-rule` did.
#[derive(Debug, Serialize)]
pub struct RuleRemoved {
    pub rule: String,
    pub removed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripe: Vec<Synced>,
}

impl fmt::Display for RuleRemoved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Removed rule {} and the permissions it was given.",
            self.rule
        )?;
        for synced in &self.stripe {
            write!(f, "\n{synced}")?;
        }
        Ok(())
    }
}

pub async fn add(
    settings: &GlobalSettings,
    args: &AddRuleArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    // Everything that can be checked without AWS is checked first.
    let filters = event_types::normalise(
        args.types
            .iter()
            .map(|t| TypeFilter::parse(t))
            .collect::<Result<Vec<_>>>()?,
    );
    let bridge = Bridge::find(settings).await?;
    let region = &bridge.ctx.region;
    let target = Target::parse(&args.target, region)?;
    refuse_loop(&bridge, &target)?;
    let rules = Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &settings.bridge,
    );
    let name = match &args.rule_name {
        Some(name) => name.clone(),
        None => rules.name_for(&filters, &args.accounts, &target).await?,
    };
    let (dead_letter_queue, grant_dead_letter_queue) = match (&args.dlq, args.no_dlq) {
        (Some(dlq), _) => (Some(Target::parse(dlq, region)?), true),
        (None, true) => {
            printer.warning(
                "with --no-dlq, an event the target still cannot take after EventBridge's \
                 retries is dropped, and only the target's own metrics show it",
            );
            (None, false)
        }
        (None, false) => {
            let bridges = Target::parse(bridge.output("DeadLetterQueueArn")?, region)?;
            check_dead_letter_policy_covers(&bridge, rules.bus.as_str(), &name)?;
            (Some(bridges), false)
        }
    };
    let claim_check_reader = match &args.grant_claim_check {
        Some(given) => Some(ClaimCheckReader {
            role: rules
                .claim_check_reader_role(
                    &target,
                    Some(given.as_str()).filter(|g| !g.is_empty()),
                    &bridge.ctx.account_id,
                )
                .await?,
            bucket: bridge.output("ClaimCheckBucketName")?.to_owned(),
        }),
        None => None,
    };
    // With a dead-letter queue the retries are stated, at EventBridge's own defaults
    // unless given: 185 attempts over 24 hours, then the queue.
    let retried = dead_letter_queue.is_some();
    let spec = RuleSpec {
        name,
        pattern: event_types::with_accounts(
            event_types::with_livemode(event_types::event_pattern(&filters), args.livemode),
            &filters,
            &args.accounts,
        ),
        target,
        dead_letter_queue,
        grant_dead_letter_queue,
        max_retries: args.max_retries.or(retried.then_some(185)),
        max_age_seconds: args
            .max_age
            .map(|d| d.as_secs() as i32)
            .or(retried.then_some(86_400)),
        role_arn: args.role_arn.clone(),
        claim_check_reader,
    };
    // A backfill's window is checked before the rule is made.
    let backfill = match args.backfill {
        Some(length) => {
            let archive = bridge_archive(&bridge).await?;
            let window = backfill_window(&archive, length, printer)?;
            Some((archive, window))
        }
        None => None,
    };
    let keys = key_grants(&rules, &spec, args.grant_kms, printer).await?;
    // The Stripe endpoint sends the rule's types before the rule exists, so there is no
    // moment when the rule waits for events Stripe does not send.
    let stripe = stripe_in_step(&bridge, settings, Some(&spec), printer).await?;
    let applied = rules.apply(&spec).await?;
    for (key_arn, statement) in &keys {
        if let Err(error) = rules.grant_key(key_arn, statement).await {
            // No half-made rule: one that cannot deliver goes again.
            if applied == Applied::Created {
                let _ = rules.delete(&spec.name).await;
            }
            return Err(error);
        }
    }
    // A rule made or changed just now may not take events yet, nor its target's new
    // permission let them in (`aws::propagation`): its backfill waits, and is not waited
    // for here.
    let mut backfill_later = None;
    let mut backfill_skipped = None;
    let backfill = match backfill {
        Some((_, window)) if applied != Applied::Unchanged => {
            backfill_later = Some(backfill_later_for(&settings.bridge, &spec.name, window));
            None
        }
        Some((_, window))
            if !replay_again(&settings.bridge, &spec.name, window, printer).await? =>
        {
            backfill_skipped = Some(replay_command(
                &settings.bridge,
                &spec.name,
                window.from,
                window.to,
            ));
            None
        }
        Some((archive, window)) => Some(
            replay_to(
                &bridge,
                &archive,
                window,
                std::slice::from_ref(&spec.name),
                true,
                printer,
            )
            .await?,
        ),
        None => None,
    };
    let completed = backfill
        .as_ref()
        .is_none_or(|replayed| replayed.replay.state == "COMPLETED");
    printer.result(&RuleApplied {
        rule: spec.name,
        bus: rules.bus,
        pattern: spec.pattern,
        target: spec.target.arn,
        changed: applied != Applied::Unchanged,
        backfill,
        backfill_later,
        backfill_skipped,
        stripe,
        applied,
    });
    Ok(if completed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The key statements `--grant-kms` adds; without it, a key that would refuse EventBridge
/// stops add-rule before anything is made, with the statement to add.
async fn key_grants(
    rules: &Rules,
    spec: &RuleSpec,
    grant_kms: bool,
    printer: Printer,
) -> Result<Vec<(String, Value)>> {
    let mut grants = Vec::new();
    for (target, need) in rules.key_needs(spec).await? {
        match need {
            KeyNeed::Nothing => {}
            KeyNeed::Unknown {
                key,
                statement,
                reason,
            } => printer.warning(format!(
                "cannot read the key policy of {key} ({reason}): unless it lets EventBridge use the key, \
                 every delivery to {target} fails. The statement it needs:\n{}",
                pretty(&statement)
            )),
            KeyNeed::Statement {
                key_arn,
                statement,
                granted_before,
            } if grant_kms || granted_before => {
                grants.push((key_arn, statement));
            }
            KeyNeed::Statement {
                key_arn, statement, ..
            } => {
                return Err(hinted(
                    format!(
                        "{target} is encrypted with KMS key {key_arn}, whose key policy does not let EventBridge use it, so every delivery would fail"
                    ),
                    format!(
                        "run add-rule again with --grant-kms, or add this statement to the key policy:\n{}",
                        pretty(&statement)
                    ),
                ));
            }
        }
    }
    Ok(grants)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Whether to backfill a rule that was there unchanged: its target has had what the bus
/// sent it, and what an earlier backfill replayed, so the window would reach it twice.
/// Asked at a terminal; without one, not replayed (the hint says how, all the same).
async fn replay_again(bridge: &str, rule: &str, window: Window, printer: Printer) -> Result<bool> {
    let again = format!(
        "rule {rule} was already there, unchanged: its target has had the events the bus sent it, and \
         those of any earlier backfill, so a backfill replays them to it again"
    );
    if can_ask() {
        printer.warning(again);
        return ask(&format!(
            "Replay the events since {} to {rule} again?",
            humantime::format_rfc3339_seconds(window.from)
        ))
        .await;
    }
    printer.warning(format!("{again}: not replaying"));
    printer.hint(format!(
        "to replay them to it all the same, run `{}`",
        replay_command(bridge, rule, window.from, window.to)
    ));
    Ok(false)
}

/// The `replay` command line for `rule` over `from`..`to`.
fn replay_command(bridge: &str, rule: &str, from: SystemTime, to: SystemTime) -> String {
    let at = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    hint::command(
        bridge,
        &format!("replay --from {} --to {} --rule {rule}", at(from), at(to)),
    )
}

/// The `replay` that runs a deferred backfill of `window` to `rule`, and when. Its window
/// reaches on to when the rule has surely taken effect, so that no event that arrived
/// meanwhile is missed; and it runs once those events are surely in the archive.
fn backfill_later_for(bridge: &str, rule: &str, window: Window) -> BackfillLater {
    let at = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let in_effect = window.to + propagation::rules_and_policies();
    BackfillLater {
        after: at(in_effect + propagation::archive()),
        command: replay_command(bridge, rule, window.from, in_effect),
    }
}

/// The window `--backfill LENGTH` replays: the last LENGTH, from the archive's start at
/// the earliest (a new consumer asking for 30 days gets what there is, and is told).
fn backfill_window(archive: &Archive, length: Duration, printer: Printer) -> Result<Window> {
    let now = SystemTime::now();
    let wanted = now - length;
    let from = if wanted < archive.created {
        printer.warning(format!(
            "the archive began at {}: backfilling from then, not {} ago",
            humantime::format_rfc3339_seconds(archive.created),
            crate::ui::report::length(length)
        ));
        archive.created
    } else {
        wanted
    };
    let window = Window { from, to: now };
    window.check(archive, now)?;
    Ok(window)
}

/// The bridge's dead-letter queue lets only the bridge's rules send to it: every rule
/// of its own bus, and on the default bus the rules named `BRIDGE.…` (the stack's
/// `DeadLetterQueuePolicy`, `naming::rule_prefix`). A rule named otherwise there would
/// lose its dead letters.
fn check_dead_letter_policy_covers(bridge: &Bridge, bus: &str, rule: &str) -> Result<()> {
    let prefix = naming::rule_prefix(&bridge.name, bus);
    if bus != "default" || rule.starts_with(&prefix) {
        return Ok(());
    }
    Err(hinted(
        format!(
            "on the default bus, the bridge's dead-letter queue takes events only from rules named {prefix}…, not {rule}"
        ),
        format!("name the rule {prefix}{rule}, or pass --dlq with a queue of your own"),
    ))
}

/// Refuses a target that would send the bridge's events back to it: its own bus (every
/// event would match again), or its failure topic (consumers' mail would carry events).
fn refuse_loop(bridge: &Bridge, target: &Target) -> Result<()> {
    let own_bus = bridge.stack.output("EventBusArn") == Some(target.arn.as_str())
        || matches!(&target.kind, TargetKind::EventBus { name }
            if Some(name.as_str()) == bridge.stack.output("EventBusName")
                && target.account == bridge.ctx.account_id);
    let what = if own_bus {
        "the bridge's own event bus: every event would be delivered to it again, without end"
    } else if bridge.stack.output("FailureTopicArn") == Some(target.arn.as_str()) {
        "the bridge's failure topic: Stripe's events would go to the people who get failure notices"
    } else {
        return Ok(());
    };
    Err(hinted(
        format!("the target {} is {what}", target.arn),
        "route the events to a consumer's own queue, function, topic, state machine, bus or stream",
    ))
}

pub async fn list(settings: &GlobalSettings, printer: Printer) -> Result<ExitStatus> {
    let rules = connect(settings).await?;
    let all = rules.list().await?;
    printer.result(&RuleList {
        bus: rules.bus,
        rules: all,
        bridge: settings.bridge.clone(),
    });
    Ok(ExitStatus::Success)
}

pub async fn remove(
    settings: &GlobalSettings,
    args: &RemoveRuleArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let bridge = Bridge::find(settings).await?;
    let rules = Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &settings.bridge,
    );
    rules.delete(&args.rule).await?;
    // The rule is gone: a type it alone needed is no longer asked of Stripe. Should
    // that fail, Stripe sends a type nothing routes, which costs an invocation, not an
    // event; `link` mends it.
    let stripe = match stripe_in_step(&bridge, settings, None, printer).await {
        Ok(synced) => synced,
        Err(error) => {
            printer.warning(format!(
                "the Stripe endpoint still sends the rule's types ({}): `{}` brings it in step",
                crate::ui::printer::error_lines(&error).0,
                hint::command(&settings.bridge, "link")
            ));
            Vec::new()
        }
    };
    printer.result(&RuleRemoved {
        rule: args.rule.clone(),
        removed: true,
        stripe,
    });
    Ok(ExitStatus::Success)
}

/// Brings the bridge's Stripe endpoints' types in step with its rules, `spec` among
/// them (made or replaced) if given. An unlinked bridge (or one without a Stripe key to
/// look with) gets one line saying that Stripe must send the rule's types.
async fn stripe_in_step(
    bridge: &Bridge,
    settings: &GlobalSettings,
    spec: Option<&RuleSpec>,
    printer: Printer,
) -> Result<Vec<Synced>> {
    let side =
        StripeSide::open_if_keyed(settings, &bridge.ctx.account_id, &bridge.ctx.region).await?;
    let Some(mut side) = side.filter(StripeSide::linked) else {
        if let Some(spec) = spec {
            let needs = endpoint_types::needs(&spec.pattern);
            let types = match &needs.types {
                None => "every event type".to_owned(),
                Some(types) => linked::some_of(&types.iter().cloned().collect::<Vec<_>>()),
            };
            printer.warning(format!(
                "Stripe sends the bridge only the types its webhook endpoint lists: it must send {types}; `{}` makes the endpoint and keeps it in step",
                hint::command(&settings.bridge, "link")
            ));
        }
        return Ok(Vec::new());
    };
    let (mut needs, _) = linked::rule_needs(bridge, spec.map(|s| s.name.as_str())).await?;
    if let Some(spec) = spec {
        needs.push(endpoint_types::needs(&spec.pattern));
    }
    let mut synced = side.sync(&needs).await?;
    // A rule for connected accounts on a bridge with no Connect endpoint yet: the
    // account's own endpoint never receives those events, so one is made.
    if let Some(types) = endpoint_types::wanted(&needs, false, true).connect
        && !side.has_connect()
        && needs.iter().any(|n| n.connected_only)
    {
        let all = side.in_service("main").is_some_and(|e| e.all_events());
        let types = if all { vec!["*".to_owned()] } else { types };
        let (made, _) =
            linked::make_endpoint(bridge, &mut side, "connect", &types, None, all).await?;
        synced.push(Synced {
            endpoint: made.id,
            role: "connect".into(),
            added: made.enabled_events,
            removed: Vec::new(),
        });
    }
    Ok(synced)
}

/// The bridge's rules, on the bus its stack reports.
async fn connect(settings: &GlobalSettings) -> Result<Rules> {
    let bridge = Bridge::find(settings).await?;
    Ok(Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &settings.bridge,
    ))
}
