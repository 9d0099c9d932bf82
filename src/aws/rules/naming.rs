//! The names stripe-bridge gives what it makes for a rule: the rule's default name, the
//! id of its target, the Sid of its policy statements and its delivery role's name. Each
//! is the same on every run, so a later command finds, replaces and removes it. Pure.

use crate::short_hash::short_sha256;
use crate::stripe::event_types::TypeFilter;

/// The id of a rule's one target.
pub const TARGET_ID: &str = "stripe-bridge-target";

/// A readable default rule name from the bridge and the types, within EventBridge's 64
/// characters: `stripe-live-invoice-paid`, `stripe-live-invoice-all`, `stripe-live-all`.
pub fn default_rule_name(bridge: &str, filters: &[TypeFilter]) -> String {
    let labels: Vec<String> = filters
        .iter()
        .map(|f| match f {
            TypeFilter::All => "all".to_owned(),
            TypeFilter::Prefix(p) => format!("{}all", p.replace(['.', '_'], "-")),
            TypeFilter::Exact(t) => t.replace(['.', '_'], "-"),
        })
        .collect();
    let name = format!("{bridge}-{}", labels.join("-"));
    if name.len() <= 64 {
        return name;
    }
    format!("{}-{}", &name[..55], short_sha256(&name, 8))
}

/// The statement id stripe-bridge gives the permission for `rule`, so that it can be
/// found again, replaced, and removed with the rule.
pub fn statement_id(rule: &str) -> String {
    format!("stripe-bridge-{rule}")
}

/// The role made for `rule`: one per rule, so removing a rule removes exactly its own.
pub fn delivery_role_name(bridge: &str, rule: &str) -> String {
    format!(
        "stripe-bridge-rule-{}",
        short_sha256(format!("{bridge}/{rule}"), 16)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_readable_and_fit() {
        assert_eq!(
            default_rule_name("live", &[TypeFilter::Exact("invoice.paid".into())]),
            "live-invoice-paid"
        );
        assert_eq!(
            default_rule_name("live", &[TypeFilter::Prefix("invoice.".into())]),
            "live-invoice-all"
        );
        assert_eq!(default_rule_name("live", &[TypeFilter::All]), "live-all");
        let many: Vec<TypeFilter> = [
            "customer.subscription.created",
            "customer.subscription.deleted",
            "customer.subscription.updated",
        ]
        .iter()
        .map(|t| TypeFilter::Exact((*t).into()))
        .collect();
        let long = default_rule_name("stripe-bridge", &many);
        assert_eq!(long.len(), 64);
        assert_ne!(long, default_rule_name("stripe-bridge", &many[..2]));
    }

    #[test]
    fn each_rule_has_its_own_role() {
        let role = delivery_role_name("live", "orders");
        assert!(role.starts_with("stripe-bridge-rule-") && role.len() <= 64);
        assert_ne!(role, delivery_role_name("live", "invoices"));
        assert_ne!(role, delivery_role_name("test", "orders"));
    }
}
