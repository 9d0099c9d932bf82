//! The names stripe-bridge gives what it makes for a rule: the rule's default name, the
//! id of its target, the Sid of its policy statements and its delivery role's name. Each
//! is the same on every run, so a later command finds, replaces and removes it. Pure.

use crate::short_hash::short_sha256;
use crate::stripe::event_types::TypeFilter;

/// The id of a rule's one target.
pub const TARGET_ID: &str = "stripe-bridge-target";

/// What every name of the bridge's rules on `bus` starts with. On its own bus, the
/// bridge's name and `-`. On the default bus, which bridges share, the bridge's name and
/// `.`: bridge names cannot hold a `.`, so the dead-letter queue's policy there
/// (`rule/NAME.*`) admits no other bridge's rules, as `rule/NAME-*` admitted bridge
/// `NAME-x`'s.
pub fn rule_prefix(bridge: &str, bus: &str) -> String {
    if bus == "default" {
        format!("{bridge}.")
    } else {
        format!("{bridge}-")
    }
}

/// A readable default rule name from the bridge and the types, within EventBridge's 64
/// characters: `stripe-live-invoice-paid`, `stripe-live-invoice-all`, `stripe-live-all`
/// (on the default bus, `stripe-live.invoice-paid`: `rule_prefix`).
pub fn default_rule_name(prefix: &str, filters: &[TypeFilter]) -> String {
    let labels: Vec<String> = filters
        .iter()
        .map(|f| match f {
            TypeFilter::All => "all".to_owned(),
            TypeFilter::Prefix(p) => format!("{}all", p.replace(['.', '_'], "-")),
            TypeFilter::Exact(t) => t.replace(['.', '_'], "-"),
        })
        .collect();
    fit(format!("{prefix}{}", labels.join("-")))
}

/// A default name narrowed to connected accounts: `…-for-acct_1Nv0…` for one, the count
/// and a hash of them for more, so that each account's rule has its own name.
pub fn for_accounts(base: String, accounts: &[String]) -> String {
    match accounts {
        [] => base,
        [one] => fit(format!("{base}-for-{one}")),
        many => {
            let mut sorted = many.to_vec();
            sorted.sort();
            fit(format!(
                "{base}-for-{}-accounts-{}",
                many.len(),
                short_sha256(sorted.join(","), 6)
            ))
        }
    }
}

/// The name of a second rule for the same types, to another target: the default name
/// and the target's own name, so that adding a consumer never takes events from another
/// (`stripe-live-invoice-paid-to-billing-queue`).
pub fn rule_name_for_target(base: &str, target_name: &str) -> String {
    let target: String = target_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    fit(format!("{base}-to-{target}"))
}

/// `name` within EventBridge's 64 characters: cut, with a hash of the whole so that two
/// long names stay apart.
fn fit(name: String) -> String {
    if name.len() <= 64 {
        return name;
    }
    format!("{}-{}", &name[..55], short_sha256(&name, 8))
}

/// The names of `test --expect-delivery`'s probe (its rule and its queue): the bridge's
/// name, `-probe-`, and a random part.
pub fn probe_prefix(bridge: &str) -> String {
    format!("{bridge}-probe-")
}

/// The ARN of rule `rule` on the bus `bus_arn`: `…:rule/NAME` on the default bus,
/// `…:rule/BUS/NAME` on any other ("Resource types defined by Amazon EventBridge",
/// Service Authorization Reference).
pub fn rule_arn(bus_arn: &str, rule: &str) -> String {
    let (prefix, bus) = bus_arn
        .rsplit_once(":event-bus/")
        .unwrap_or((bus_arn, "default"));
    if bus == "default" {
        format!("{prefix}:rule/{rule}")
    } else {
        format!("{prefix}:rule/{bus}/{rule}")
    }
}

/// Checks a rule name as EventBridge does: 1 to 64 of `.`, `-`, `_`, letters and digits.
pub fn check_rule_name(name: &str) -> Result<(), String> {
    let valid = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a rule name EventBridge takes: use 1 to 64 letters, digits, `.`, `-` and `_`"
        ))
    }
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
    fn rule_arns_name_the_bus_unless_it_is_the_default() {
        let custom = "arn:aws:events:us-east-1:123456789012:event-bus/shop";
        let default = "arn:aws:events:us-east-1:123456789012:event-bus/default";
        assert_eq!(
            rule_arn(custom, "shop-all"),
            "arn:aws:events:us-east-1:123456789012:rule/shop/shop-all"
        );
        assert_eq!(
            rule_arn(default, "shop-all"),
            "arn:aws:events:us-east-1:123456789012:rule/shop-all"
        );
    }

    #[test]
    fn default_names_are_readable_and_fit() {
        assert_eq!(
            default_rule_name("live-", &[TypeFilter::Exact("invoice.paid".into())]),
            "live-invoice-paid"
        );
        assert_eq!(
            default_rule_name("live-", &[TypeFilter::Prefix("invoice.".into())]),
            "live-invoice-all"
        );
        assert_eq!(default_rule_name("live-", &[TypeFilter::All]), "live-all");
        assert_eq!(
            for_accounts("live-all".into(), &["acct_1".into()]),
            "live-all-for-acct_1"
        );
        let two = for_accounts("live-all".into(), &["acct_2".into(), "acct_1".into()]);
        assert!(two.starts_with("live-all-for-2-accounts-"), "{two}");
        assert_eq!(
            two,
            for_accounts("live-all".into(), &["acct_1".into(), "acct_2".into()])
        );
        let many: Vec<TypeFilter> = [
            "customer.subscription.created",
            "customer.subscription.deleted",
            "customer.subscription.updated",
        ]
        .iter()
        .map(|t| TypeFilter::Exact((*t).into()))
        .collect();
        let long = default_rule_name("stripe-bridge-", &many);
        assert_eq!(long.len(), 64);
        assert_ne!(long, default_rule_name("stripe-bridge-", &many[..2]));
    }

    #[test]
    fn a_second_consumer_gets_a_rule_named_for_it() {
        assert_eq!(
            rule_name_for_target("live-invoice-paid", "billing:live"),
            "live-invoice-paid-to-billing-live"
        );
        let long = rule_name_for_target(&"a".repeat(60), "queue");
        assert!(long.len() == 64 && check_rule_name(&long).is_ok());
    }

    #[test]
    fn rule_names_are_checked_as_eventbridge_does() {
        assert!(check_rule_name("live-invoice_paid.v2").is_ok());
        for bad in ["", "has space", "slash/", &"a".repeat(65)] {
            assert!(check_rule_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_rule_has_its_own_role() {
        let role = delivery_role_name("live", "orders");
        assert!(role.starts_with("stripe-bridge-rule-") && role.len() <= 64);
        assert_ne!(role, delivery_role_name("live", "invoices"));
        assert_ne!(role, delivery_role_name("test", "orders"));
    }
}
