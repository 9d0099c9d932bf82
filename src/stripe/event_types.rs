//! Stripe's event types, and the EventBridge event pattern that selects some of them.
//!
//! The catalogue (`stripe_event_types.txt`) is generated from Stripe's official library
//! by `tests/oracle/generate-event-types.mjs`. A `--type` is one of its types, a prefix
//! wildcard such as `invoice.*`, or `*` for every Stripe event. The pattern is built as
//! JSON values, never by pasting strings together.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use relay_function::bus_entry::SOURCE;

const CATALOGUE: &str = include_str!("stripe_event_types.txt");

/// Every event type in the catalogue, in order.
pub fn catalogue() -> impl Iterator<Item = &'static str> {
    CATALOGUE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// What one `--type` asks for. Ordered, so that the same set of types, given in any
/// order, makes the same rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TypeFilter {
    /// Every Stripe event.
    All,
    /// Event types that start with this, e.g. `invoice.` for `invoice.*`.
    Prefix(String),
    Exact(String),
}

impl TypeFilter {
    /// Reads a `--type`, refusing what matches no Stripe event type, with a suggestion.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self::All);
        }
        if let Some(prefix) = text.strip_suffix('*') {
            if !prefix.ends_with('.') || prefix.contains('*') {
                bail!(
                    "`{text}` is not a pattern stripe-bridge understands: use a whole event type, a prefix ending in `.*` (e.g. `invoice.*`), or `*`"
                );
            }
            if !catalogue().any(|t| t.starts_with(prefix)) {
                bail!(
                    "no Stripe event type starts with `{prefix}`{}",
                    suggestion(prefix.trim_end_matches('.'))
                );
            }
            return Ok(Self::Prefix(prefix.to_owned()));
        }
        if catalogue().any(|t| t == text) {
            return Ok(Self::Exact(text.to_owned()));
        }
        bail!("unknown event type `{text}`{}", suggestion(text))
    }
}

/// The filters as one set: sorted, without repeats, and only `*` if `*` is among them.
pub fn normalise(mut filters: Vec<TypeFilter>) -> Vec<TypeFilter> {
    if filters.contains(&TypeFilter::All) {
        return vec![TypeFilter::All];
    }
    filters.sort();
    filters.dedup();
    filters
}

/// `; did you mean `invoice.paid`?` for the closest catalogue entry, if one is close.
fn suggestion(text: &str) -> String {
    let best = catalogue()
        .chain(catalogue().filter_map(|t| t.split_once('.').map(|(head, _)| head)))
        .map(|candidate| (strsim::damerau_levenshtein(text, candidate), candidate))
        .min();
    match best {
        Some((distance, candidate)) if distance <= 3.max(text.len() / 4) => {
            format!("; did you mean `{candidate}`?")
        }
        _ => "; see https://docs.stripe.com/api/events/types".into(),
    }
}

/// The rule's event pattern: Stripe events on the bridge's bus, of the given types.
pub fn event_pattern(filters: &[TypeFilter]) -> Value {
    if filters.is_empty() || filters.contains(&TypeFilter::All) {
        return json!({ "source": [SOURCE] });
    }
    let mut detail_types: Vec<Value> = Vec::new();
    for filter in filters {
        let value = match filter {
            TypeFilter::Exact(t) => json!(t),
            TypeFilter::Prefix(p) => json!({ "prefix": p }),
            TypeFilter::All => unreachable!("handled above"),
        };
        if !detail_types.contains(&value) {
            detail_types.push(value);
        }
    }
    json!({ "source": [SOURCE], "detail-type": detail_types })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_stripes_list() {
        let types: Vec<&str> = catalogue().collect();
        assert!(types.len() > 250, "{}", types.len());
        assert!(types.contains(&"invoice.paid"));
        assert!(types.contains(&"customer.subscription.created"));
        let mut sorted = types.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, types);
    }

    #[test]
    fn every_catalogue_type_is_accepted() {
        for event_type in catalogue() {
            assert_eq!(
                TypeFilter::parse(event_type).unwrap(),
                TypeFilter::Exact(event_type.into())
            );
        }
    }

    #[test]
    fn misspellings_get_a_suggestion() {
        let error = TypeFilter::parse("invoice.payed").unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown event type `invoice.payed`; did you mean `invoice.paid`?"
        );
        let error = TypeFilter::parse("invoce.*").unwrap_err().to_string();
        assert!(error.contains("did you mean `invoice`"), "{error}");
        assert!(TypeFilter::parse("in*voice").is_err());
        assert!(TypeFilter::parse("invoice*").is_err());
    }

    #[test]
    fn wildcards_become_prefix_filters() {
        assert_eq!(TypeFilter::parse("*").unwrap(), TypeFilter::All);
        assert_eq!(
            TypeFilter::parse("invoice.*").unwrap(),
            TypeFilter::Prefix("invoice.".into())
        );
    }

    #[test]
    fn the_same_types_in_any_order_are_one_set() {
        let paid = TypeFilter::Exact("invoice.paid".into());
        let created = TypeFilter::Exact("customer.created".into());
        assert_eq!(
            normalise(vec![paid.clone(), created.clone(), paid.clone()]),
            normalise(vec![created.clone(), paid.clone()])
        );
        assert_eq!(normalise(vec![paid, TypeFilter::All]), [TypeFilter::All]);
    }

    #[test]
    fn patterns_are_built_as_json() {
        let filters = [
            TypeFilter::Exact("invoice.paid".into()),
            TypeFilter::Prefix("customer.".into()),
            TypeFilter::Exact("invoice.paid".into()),
        ];
        assert_eq!(
            event_pattern(&filters),
            json!({"source": ["Stripe"], "detail-type": ["invoice.paid", {"prefix": "customer."}]})
        );
        assert_eq!(
            event_pattern(&[TypeFilter::All, TypeFilter::Exact("x".into())]),
            json!({"source": ["Stripe"]})
        );
    }
}
