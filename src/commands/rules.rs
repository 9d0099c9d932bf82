//! `add-rule`, `list-rules` and `remove-rule`: route the bridge's Stripe events to
//! targets (see `aws/rules/` for where the rules live and why).

use std::fmt;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::ExitStatus;
use crate::aws::bridge::Bridge;
use crate::aws::rules::target::{Target, TargetKind};
use crate::aws::rules::{Applied, RuleInfo, RuleSpec, Rules};
use crate::cli::{AddRuleArgs, RemoveRuleArgs};
use crate::hint::hinted;
use crate::settings::GlobalSettings;
use crate::stripe::event_types::{self, TypeFilter};
use crate::ui::Printer;

/// What `add-rule` did.
#[derive(Debug, Serialize)]
pub struct RuleApplied {
    pub rule: String,
    pub bus: String,
    pub pattern: Value,
    pub target: String,
    pub changed: bool,
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
        }
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
        let lines: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                format!(
                    "{:<width$}  {}  -> {}",
                    r.name,
                    r.pattern,
                    r.targets.join(", ")
                )
            })
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

/// What `remove-rule` did.
#[derive(Debug, Serialize)]
pub struct RuleRemoved {
    pub rule: String,
    pub removed: bool,
}

impl fmt::Display for RuleRemoved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Removed rule {} and the permissions it was given.",
            self.rule
        )
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
        None => rules.name_for(&filters, &target).await?,
    };
    let spec = RuleSpec {
        name,
        pattern: event_types::with_livemode(event_types::event_pattern(&filters), args.livemode),
        target,
        dead_letter_queue: args
            .dlq
            .as_deref()
            .map(|d| Target::parse(d, region))
            .transpose()?,
        max_retries: args.max_retries,
        max_age_seconds: args.max_age.map(|d| d.as_secs() as i32),
        role_arn: args.role_arn.clone(),
    };
    let applied = rules.apply(&spec).await?;
    printer.result(&RuleApplied {
        rule: spec.name,
        bus: rules.bus,
        pattern: spec.pattern,
        target: spec.target.arn,
        changed: applied != Applied::Unchanged,
        applied,
    });
    Ok(ExitStatus::Success)
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
    let rules = connect(settings).await?;
    rules.delete(&args.rule).await?;
    printer.result(&RuleRemoved {
        rule: args.rule.clone(),
        removed: true,
    });
    Ok(ExitStatus::Success)
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
