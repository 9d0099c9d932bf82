//! Which event types the bridge's Stripe webhook endpoints must send, from its rules'
//! event patterns: the `enabled_events` that `link` sets and `add-rule` and
//! `remove-rule` keep in step.
//!
//! - A prefix (`invoice.*`) becomes every snapshot type in the catalogue it names:
//!   Stripe's `enabled_events` takes whole types or `*`, no prefixes.
//! - Thin event types are left out: Stripe sends them to event destinations, not to
//!   webhook endpoints.
//! - A rule for connected accounts (`--account`) needs a Connect endpoint
//!   (`connect=true`), which receives only connected accounts' events; a rule without
//!   `--account` matches both, so the Connect endpoint, where there is one, takes its
//!   types too, and the main endpoint takes only the rules without `--account`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::event_types::{is_thin, snapshot_types};

/// What one rule needs Stripe to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleNeeds {
    /// `None`: every type.
    pub types: Option<BTreeSet<String>>,
    /// Only connected accounts' events (`--account`).
    pub connected_only: bool,
}

/// What a rule's event pattern (as `add-rule` writes it) needs.
pub fn needs(pattern: &Value) -> RuleNeeds {
    let types = pattern
        .get("detail-type")
        .and_then(Value::as_array)
        .map(|entries| {
            let mut types = BTreeSet::new();
            for entry in entries {
                if let Some(exact) = entry.as_str() {
                    if !is_thin(exact) {
                        types.insert(exact.to_owned());
                    }
                } else if let Some(prefix) = entry.get("prefix").and_then(Value::as_str) {
                    types.extend(
                        snapshot_types()
                            .filter(|t| t.starts_with(prefix))
                            .map(str::to_owned),
                    );
                }
            }
            types
        });
    let detail = pattern.get("detail");
    let connected_only = pattern.get("$or").is_some()
        || detail.is_some_and(|d| d.get("account").is_some() || d.get("context").is_some());
    RuleNeeds {
        types,
        connected_only,
    }
}

/// The connected accounts a rule's pattern names (`detail.account`, `detail.context`,
/// or both under `$or`).
pub fn accounts(pattern: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut details: Vec<&Value> = pattern.get("detail").into_iter().collect();
    if let Some(alternatives) = pattern.get("$or").and_then(Value::as_array) {
        details.extend(alternatives.iter().filter_map(|a| a.get("detail")));
    }
    for detail in details {
        for field in ["account", "context"] {
            if let Some(ids) = detail.get(field).and_then(Value::as_array) {
                found.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The `enabled_events` of each of the bridge's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The account's own events. Empty when no rule needs any.
    pub main: Vec<String>,
    /// Connected accounts' events: `Some` when a rule names accounts or `connect` asks.
    pub connect: Option<Vec<String>>,
}

/// What each endpoint must send for `rules`; everything with `all_events`.
pub fn wanted(rules: &[RuleNeeds], all_events: bool, connect: bool) -> Wanted {
    let union = |rules: &mut dyn Iterator<Item = &RuleNeeds>| -> Vec<String> {
        let mut types = BTreeSet::new();
        for rule in rules {
            match &rule.types {
                None => return vec!["*".to_owned()],
                Some(set) => types.extend(set.iter().cloned()),
            }
        }
        types.into_iter().collect()
    };
    let needs_connect = connect || rules.iter().any(|r| r.connected_only);
    if all_events {
        return Wanted {
            main: vec!["*".to_owned()],
            connect: needs_connect.then(|| vec!["*".to_owned()]),
        };
    }
    Wanted {
        main: union(&mut rules.iter().filter(|r| !r.connected_only)),
        connect: needs_connect.then(|| union(&mut rules.iter())),
    }
}

/// The types `rule` routes that `enabled` does not send (none when it sends `*`).
pub fn missing(rule: &RuleNeeds, enabled: &[String]) -> Vec<String> {
    if enabled.iter().any(|t| t == "*") {
        return Vec::new();
    }
    match &rule.types {
        None => vec!["*".to_owned()],
        Some(types) => types
            .iter()
            .filter(|t| !enabled.contains(t))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(pattern: Value) -> RuleNeeds {
        needs(&pattern)
    }

    #[test]
    fn prefixes_become_whole_types_and_thin_types_are_left_out() {
        let needs = rule(json!({"source": ["Stripe"], "detail-type": [
            {"prefix": "invoice.payment_"}, "customer.created", "v1.billing.meter.error_report_triggered"
        ]}));
        let types = needs.types.unwrap();
        assert!(types.contains("invoice.payment_failed"));
        assert!(types.contains("invoice.payment_succeeded"));
        assert!(types.contains("customer.created"));
        assert!(!types.iter().any(|t| t.starts_with("v1.")));
        assert!(!needs.connected_only);
        assert_eq!(rule(json!({"source": ["Stripe"]})).types, None);
    }

    #[test]
    fn connected_accounts_rules_need_a_connect_endpoint_that_takes_every_rules_types() {
        let platform = rule(json!({"source": ["Stripe"], "detail-type": ["invoice.paid"]}));
        let accounts = rule(json!({"source": ["Stripe"], "detail-type": ["payout.paid"],
            "detail": {"account": ["acct_1"]}}));
        assert!(accounts.connected_only);
        let wanted = wanted(&[platform.clone(), accounts], false, false);
        assert_eq!(wanted.main, ["invoice.paid"]);
        assert_eq!(wanted.connect.unwrap(), ["invoice.paid", "payout.paid"]);
        let plain = super::wanted(std::slice::from_ref(&platform), false, false);
        assert_eq!(plain.connect, None);
        let all = super::wanted(&[platform], true, true);
        assert_eq!(
            (all.main, all.connect),
            (vec!["*".to_owned()], Some(vec!["*".to_owned()]))
        );
    }

    #[test]
    fn a_rule_for_every_type_needs_star() {
        let every = rule(json!({"source": ["Stripe"]}));
        let one = rule(json!({"source": ["Stripe"], "detail-type": ["invoice.paid"]}));
        assert_eq!(wanted(&[one.clone(), every], false, false).main, ["*"]);
        assert_eq!(
            missing(&one, &["customer.created".to_owned()]),
            ["invoice.paid"]
        );
        assert!(missing(&one, &["*".to_owned()]).is_empty());
    }
}
