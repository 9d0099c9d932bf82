//! `add-rule`, `list-rules` and `remove-rule`: route the bridge's Stripe events to
//! targets (see `rules.rs` for where the rules live and why).

use anyhow::Result;
use serde_json::json;

use crate::bridge::Bridge;
use crate::cli::{AddRuleArgs, GlobalArgs, RemoveRuleArgs};
use crate::event_types::{self, TypeFilter};
use crate::output::Printer;
use crate::rule_target::Target;
use crate::rules::{Applied, RuleSpec, Rules, default_rule_name};

pub async fn add(global: &GlobalArgs, args: &AddRuleArgs, printer: Printer) -> Result<()> {
    let name = global.name.as_str();
    // Everything that can be checked without AWS is checked first.
    let filters = args
        .types
        .iter()
        .map(|t| TypeFilter::parse(t))
        .collect::<Result<Vec<_>>>()?;
    let rules = connect(global).await?;
    let region = rules.1;
    let rules = rules.0;
    let spec = RuleSpec {
        name: args
            .rule_name
            .clone()
            .unwrap_or_else(|| default_rule_name(name, &filters)),
        pattern: event_types::event_pattern(&filters),
        target: Target::parse(&args.target, &region)?,
        dead_letter_queue: args
            .dlq
            .as_deref()
            .map(|d| Target::parse(d, &region))
            .transpose()?,
        max_retries: args.max_retries,
        max_age_seconds: args.max_age.map(|d| d.as_secs() as i32),
        role_arn: args.role_arn.clone(),
    };
    let applied = rules.apply(&spec).await?;
    let text = match applied {
        Applied::Created => format!(
            "Created rule {} on bus {}: {} -> {}",
            spec.name, rules.bus, spec.pattern, spec.target.arn
        ),
        Applied::Updated => format!(
            "Updated rule {} on bus {}: {} -> {}",
            spec.name, rules.bus, spec.pattern, spec.target.arn
        ),
        Applied::Unchanged => format!(
            "Rule {} already routes {} to {}; nothing changed.",
            spec.name, spec.pattern, spec.target.arn
        ),
    };
    printer.result(
        text,
        json!({
            "rule": spec.name,
            "bus": rules.bus,
            "pattern": spec.pattern,
            "target": spec.target.arn,
            "changed": applied != Applied::Unchanged,
        }),
    );
    Ok(())
}

pub async fn list(global: &GlobalArgs, printer: Printer) -> Result<()> {
    let (rules, _) = connect(global).await?;
    let all = rules.list().await?;
    let width = all.iter().map(|r| r.name.len()).max().unwrap_or(4);
    let text = if all.is_empty() {
        format!(
            "No rules on bus {} yet: add one with `stripe-bridge add-rule --type invoice.paid --target ARN`.",
            rules.bus
        )
    } else {
        all.iter()
            .map(|r| {
                format!(
                    "{:<width$}  {}  -> {}",
                    r.name,
                    r.pattern,
                    r.targets.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    printer.result(text, json!({ "bus": rules.bus, "rules": all }));
    Ok(())
}

pub async fn remove(global: &GlobalArgs, args: &RemoveRuleArgs, printer: Printer) -> Result<()> {
    let (rules, _) = connect(global).await?;
    rules.delete(&args.rule).await?;
    printer.result(
        format!(
            "Removed rule {} and the permissions it was given.",
            args.rule
        ),
        json!({ "rule": args.rule, "removed": true }),
    );
    Ok(())
}

/// The bridge's rules, on the bus its stack reports, and the region.
async fn connect(global: &GlobalArgs) -> Result<(Rules, String)> {
    let bridge = Bridge::find(global).await?;
    let rules = Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &global.name,
    );
    Ok((rules, bridge.ctx.region))
}
