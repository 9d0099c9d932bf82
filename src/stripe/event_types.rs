//! Stripe's event types, and the EventBridge event pattern that selects some of them.
//!
//! The catalogue is generated from Stripe's official library by
//! `tests/oracle/generate-event-types.mjs`: the snapshot events a webhook endpoint takes
//! (`stripe_event_types.txt`) and the thin events an event destination sends
//! (`stripe_thin_event_types.txt`, `v1.…` and `v2.…`). A `--type` is one of its types, a prefix
//! wildcard such as `invoice.*`, or `*` for every Stripe event. The pattern is built as
//! JSON values, never by pasting strings together.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use relay_function::bus_entry::SOURCE;

const SNAPSHOT: &str = include_str!("stripe_event_types.txt");
const THIN: &str = include_str!("stripe_thin_event_types.txt");

fn types(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The snapshot event types (`invoice.paid`), in order.
pub fn snapshot_types() -> impl Iterator<Item = &'static str> {
    types(SNAPSHOT)
}

/// The thin event types of event destinations (`v1.billing.meter.error_report_triggered`).
pub fn thin_types() -> impl Iterator<Item = &'static str> {
    types(THIN)
}

/// Whether `event_type` is a thin event's type: `v1.…` or `v2.…`.
pub fn is_thin(event_type: &str) -> bool {
    event_type.split_once('.').is_some_and(|(head, _)| {
        head.len() >= 2 && head.starts_with('v') && head[1..].bytes().all(|b| b.is_ascii_digit())
    })
}

/// Every event type in the catalogue: snapshot, then thin.
pub fn catalogue() -> impl Iterator<Item = &'static str> {
    snapshot_types().chain(thin_types())
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
        if text.is_empty() {
            bail!(
                "--type is empty: give a Stripe event type (invoice.paid), a prefix (invoice.*), or *"
            );
        }
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

/// Which events a rule takes by Stripe's `livemode`: live ones, test ones, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Livemode {
    Live,
    Test,
    #[default]
    Any,
}

/// `pattern` narrowed to events of `livemode` (`detail.livemode`, which both snapshot and
/// thin events carry), so that a live consumer never receives a test event.
pub fn with_livemode(mut pattern: Value, livemode: Livemode) -> Value {
    let wanted = match livemode {
        Livemode::Live => true,
        Livemode::Test => false,
        Livemode::Any => return pattern,
    };
    pattern["detail"] = json!({ "livemode": [wanted] });
    pattern
}

/// Checks a connected account's id for `--account`: `acct_` and letters or digits.
pub fn check_account_id(id: &str) -> Result<()> {
    match id.strip_prefix("acct_") {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(()),
        _ => bail!(
            "`{id}` is not a connected account's id (acct_ followed by letters and digits, e.g. acct_1Nv0FGQ9RKHgCVdK)"
        ),
    }
}

/// `pattern` narrowed to events of these connected accounts, so that a Connect platform
/// can route each account's events on their own. A snapshot event names the connected
/// account in `account`; a thin event in `context` ("Authentication context needed to
/// fetch the event or related object", Stripe's v2 Event object). The pattern matches
/// the field of each kind of type asked for, both with `$or` when both kinds are.
pub fn with_accounts(mut pattern: Value, filters: &[TypeFilter], accounts: &[String]) -> Value {
    if accounts.is_empty() {
        return pattern;
    }
    let any_type = filters.is_empty() || filters.contains(&TypeFilter::All);
    let thin = any_type
        || filters.iter().any(|f| match f {
            TypeFilter::Exact(t) | TypeFilter::Prefix(t) => is_thin(t),
            TypeFilter::All => true,
        });
    let snapshot = any_type
        || filters.iter().any(|f| match f {
            TypeFilter::Exact(t) | TypeFilter::Prefix(t) => !is_thin(t),
            TypeFilter::All => true,
        });
    let field = match (snapshot, thin) {
        (true, false) => "account",
        (false, true) => "context",
        _ => {
            pattern["$or"] = json!([
                { "detail": { "account": accounts } },
                { "detail": { "context": accounts } },
            ]);
            return pattern;
        }
    };
    if !pattern["detail"].is_object() {
        pattern["detail"] = json!({});
    }
    pattern["detail"][field] = json!(accounts);
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_accounts_are_matched_on_each_kinds_field() {
        let accounts = vec!["acct_1".to_owned(), "acct_2".to_owned()];
        let snapshot = vec![TypeFilter::Exact("invoice.paid".into())];
        let pattern = with_accounts(
            with_livemode(event_pattern(&snapshot), Livemode::Live),
            &snapshot,
            &accounts,
        );
        assert_eq!(
            pattern["detail"],
            json!({ "livemode": [true], "account": ["acct_1", "acct_2"] })
        );
        let thin = vec![TypeFilter::Prefix("v1.billing.".into())];
        assert_eq!(
            with_accounts(event_pattern(&thin), &thin, &accounts)["detail"],
            json!({ "context": ["acct_1", "acct_2"] })
        );
        let both = with_accounts(
            event_pattern(&[TypeFilter::All]),
            &[TypeFilter::All],
            &accounts,
        );
        assert_eq!(
            both["$or"],
            json!([{ "detail": { "account": ["acct_1", "acct_2"] } }, { "detail": { "context": ["acct_1", "acct_2"] } }])
        );
        assert!(check_account_id("acct_1Nv0FGQ9RKHgCVdK").is_ok());
        for bad in ["acct_", "1Nv0", "cus_123", "acct_a b"] {
            assert!(check_account_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thin_types_are_accepted_with_their_prefixes() {
        assert!(thin_types().count() > 100);
        assert!(thin_types().all(is_thin) && !snapshot_types().any(is_thin));
        assert_eq!(
            TypeFilter::parse("v1.billing.meter.error_report_triggered").unwrap(),
            TypeFilter::Exact("v1.billing.meter.error_report_triggered".into())
        );
        assert_eq!(
            TypeFilter::parse("v1.billing.*").unwrap(),
            TypeFilter::Prefix("v1.billing.".into())
        );
        assert!(TypeFilter::parse("v2.core.*").is_ok());
        let error = TypeFilter::parse("v1.billing.meter.error_report_trigered")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("did you mean `v1.billing.meter.error_report_triggered`"),
            "{error}"
        );
    }

    #[test]
    fn the_catalogue_is_stripes_list() {
        let types: Vec<&str> = snapshot_types().collect();
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
    fn livemode_narrows_a_pattern_to_live_or_test_events() {
        let all = event_pattern(&[TypeFilter::All]);
        assert_eq!(with_livemode(all.clone(), Livemode::Any), all);
        assert_eq!(
            with_livemode(all.clone(), Livemode::Live),
            json!({"source": ["Stripe"], "detail": {"livemode": [true]}})
        );
        assert_eq!(
            with_livemode(all, Livemode::Test)["detail"]["livemode"],
            json!([false])
        );
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
