//! Sample Stripe events for `stripe-bridge test`: the envelope Stripe sends (a snapshot
//! event, pretty-printed as Stripe prints it), around an object shaped like the real
//! one for the common types, and a minimal one of the right kind for the rest.
//!
//! Every sample is a test-mode event (`livemode: false`) whose `request.idempotency_key`
//! starts with `stripe-bridge-test-`, so a consumer can tell it from a real one.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::stripe::event_types::{self, TypeFilter};

/// The API version the event catalogue comes from (stripe@23.1.0).
pub const API_VERSION: &str = "2026-10-28.endive";

/// Marks an event as one `stripe-bridge test` made.
pub const IDEMPOTENCY_PREFIX: &str = "stripe-bridge-test-";

#[derive(Debug, Clone)]
pub struct SampleEvent {
    pub id: String,
    pub event_type: String,
    /// The body as it goes on the wire.
    pub body: String,
}

/// A sample event of `event_type`, created at Unix time `now`.
pub fn sample_event(event_type: &str, now: i64) -> Result<SampleEvent> {
    let event_type = match TypeFilter::parse(event_type)? {
        TypeFilter::Exact(t) => t,
        _ => bail!(
            "--type takes one event type, not a pattern (e.g. --type {})",
            event_types::catalogue().next().unwrap_or("invoice.paid")
        ),
    };
    let id = format!("evt_{}", random_id());
    if event_types::is_thin(&event_type) {
        return Ok(thin_event(id, event_type, now));
    }
    let kind = object_kind(&event_type);
    let mut object = object(&kind, now);
    if event_type.ends_with(".deleted") {
        object["deleted"] = json!(true);
    }
    let mut data = json!({ "object": object });
    if event_type.ends_with(".updated") {
        data["previous_attributes"] = json!({ "metadata": { "stripe_bridge": null } });
    }
    let event = json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": data,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {
            "id": null,
            "idempotency_key": format!("{IDEMPOTENCY_PREFIX}{}", random_id()),
        },
        "type": event_type,
    });
    Ok(SampleEvent {
        id,
        event_type,
        body: serde_json::to_string_pretty(&event).expect("JSON serialises"),
    })
}

/// A thin event, as an event destination sends it: the type, when and why, and no
/// object snapshot (consumers fetch the object if they need it).
fn thin_event(id: String, event_type: String, now: i64) -> SampleEvent {
    let created = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64);
    let event = json!({
        "id": id,
        "object": "v2.core.event",
        "type": event_type,
        "created": humantime::format_rfc3339_millis(created).to_string(),
        "livemode": false,
        "context": null,
        "related_object": null,
        "reason": {
            "type": "request",
            "request": {
                "id": null,
                "idempotency_key": format!("{IDEMPOTENCY_PREFIX}{}", random_id()),
            },
        },
    });
    SampleEvent {
        id,
        event_type,
        body: serde_json::to_string_pretty(&event).expect("JSON serialises"),
    }
}

/// The kind of object an event type is about: `invoice` for `invoice.paid`,
/// `subscription` for `customer.subscription.created`, `checkout.session` for
/// `checkout.session.completed`.
fn object_kind(event_type: &str) -> String {
    let noun = event_type
        .rsplit_once('.')
        .map_or(event_type, |(noun, _verb)| noun);
    match noun.split_once('.') {
        // Objects Stripe names under their parent in the event type only.
        Some(("customer" | "charge", child)) => child.to_owned(),
        _ => noun.to_owned(),
    }
}

fn object(kind: &str, now: i64) -> Value {
    let suffix = random_id();
    let customer = format!("cus_{}", &suffix[..14]);
    match kind {
        "invoice" => json!({
            "id": format!("in_{suffix}"),
            "object": "invoice",
            "account_country": "US",
            "amount_due": 4900,
            "amount_paid": 4900,
            "amount_remaining": 0,
            "attempt_count": 1,
            "attempted": true,
            "billing_reason": "subscription_cycle",
            "collection_method": "charge_automatically",
            "created": now - 3600,
            "currency": "usd",
            "customer": customer,
            "customer_email": "jenny.rosen@example.com",
            "hosted_invoice_url": null,
            "lines": {
                "object": "list",
                "data": [{
                    "id": format!("il_{suffix}"),
                    "object": "line_item",
                    "amount": 4900,
                    "currency": "usd",
                    "description": "1 × Pro plan (at $49.00 / month)",
                    "period": { "end": now + 30 * 86_400, "start": now },
                    "quantity": 1
                }],
                "has_more": false,
                "total_count": 1,
                "url": format!("/v1/invoices/in_{suffix}/lines")
            },
            "livemode": false,
            "metadata": {},
            "number": "A1B2C3D4-0001",
            "paid": true,
            "period_end": now,
            "period_start": now - 30 * 86_400,
            "status": "paid",
            "subtotal": 4900,
            "total": 4900
        }),
        "customer" => json!({
            "id": customer,
            "object": "customer",
            "balance": 0,
            "created": now,
            "currency": "usd",
            "delinquent": false,
            "description": null,
            "email": "jenny.rosen@example.com",
            "invoice_prefix": "A1B2C3D4",
            "livemode": false,
            "metadata": {},
            "name": "Jenny Rosen",
            "preferred_locales": ["en"],
            "tax_exempt": "none"
        }),
        "subscription" => json!({
            "id": format!("sub_{suffix}"),
            "object": "subscription",
            "cancel_at_period_end": false,
            "collection_method": "charge_automatically",
            "created": now - 30 * 86_400,
            "currency": "usd",
            "customer": customer,
            "items": {
                "object": "list",
                "data": [{
                    "id": format!("si_{suffix}"),
                    "object": "subscription_item",
                    "current_period_end": now + 30 * 86_400,
                    "current_period_start": now,
                    "price": {
                        "id": "price_1ProMonthly",
                        "object": "price",
                        "currency": "usd",
                        "product": "prod_Pro",
                        "recurring": { "interval": "month", "interval_count": 1 },
                        "unit_amount": 4900
                    },
                    "quantity": 1
                }],
                "has_more": false,
                "total_count": 1
            },
            "livemode": false,
            "metadata": {},
            "start_date": now - 30 * 86_400,
            "status": "active"
        }),
        "payment_intent" => json!({
            "id": format!("pi_{suffix}"),
            "object": "payment_intent",
            "amount": 2000,
            "amount_received": 2000,
            "capture_method": "automatic_async",
            "client_secret": null,
            "confirmation_method": "automatic",
            "created": now,
            "currency": "usd",
            "customer": customer,
            "latest_charge": format!("ch_{suffix}"),
            "livemode": false,
            "metadata": {},
            "payment_method": format!("pm_{suffix}"),
            "payment_method_types": ["card"],
            "status": "succeeded"
        }),
        "charge" => json!({
            "id": format!("ch_{suffix}"),
            "object": "charge",
            "amount": 2000,
            "amount_captured": 2000,
            "amount_refunded": 0,
            "captured": true,
            "created": now,
            "currency": "usd",
            "customer": customer,
            "livemode": false,
            "metadata": {},
            "outcome": { "network_status": "approved_by_network", "risk_level": "normal", "type": "authorized" },
            "paid": true,
            "payment_intent": format!("pi_{suffix}"),
            "payment_method_details": { "card": { "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030 }, "type": "card" },
            "refunded": false,
            "status": "succeeded"
        }),
        "checkout.session" => json!({
            "id": format!("cs_test_{suffix}"),
            "object": "checkout.session",
            "amount_subtotal": 2000,
            "amount_total": 2000,
            "created": now - 120,
            "currency": "usd",
            "customer": customer,
            "customer_details": { "email": "jenny.rosen@example.com", "name": "Jenny Rosen" },
            "expires_at": now + 86_400,
            "livemode": false,
            "metadata": {},
            "mode": "payment",
            "payment_intent": format!("pi_{suffix}"),
            "payment_status": "paid",
            "status": "complete",
            "success_url": "https://example.com/success"
        }),
        other => json!({
            "id": format!("{}_{suffix}", id_prefix(other)),
            "object": other,
            "created": now,
            "livemode": false,
            "metadata": {}
        }),
    }
}

/// Stripe's id prefix for a kind of object, where the common ones are known; otherwise
/// the initials of its name.
fn id_prefix(kind: &str) -> String {
    let known = [
        ("price", "price"),
        ("product", "prod"),
        ("refund", "re"),
        ("dispute", "dp"),
        ("setup_intent", "seti"),
        ("payment_method", "pm"),
        ("payout", "po"),
        ("account", "acct"),
        ("coupon", "co"),
        ("invoiceitem", "ii"),
        ("source", "src"),
        ("tax_id", "txi"),
        ("file", "file"),
        ("plan", "plan"),
        ("transfer", "tr"),
        ("payment_link", "plink"),
        ("promotion_code", "promo"),
        ("quote", "qt"),
        ("subscription_schedule", "sub_sched"),
        ("credit_note", "cn"),
    ];
    if let Some((_, prefix)) = known.iter().find(|(k, _)| *k == kind) {
        return (*prefix).to_owned();
    }
    kind.split(['.', '_'])
        .filter_map(|word| word.chars().next())
        .collect()
}

/// 24 characters of Stripe's id alphabet.
fn random_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..24)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_function::stripe_event::StripeEvent;

    #[test]
    fn every_catalogued_type_makes_an_event_the_relay_accepts() {
        for event_type in event_types::catalogue() {
            let sample = sample_event(event_type, 1_767_225_600).unwrap();
            let event = StripeEvent::parse(&sample.body).unwrap();
            assert_eq!(event.event_type, event_type);
            assert_eq!(event.id, sample.id);
            assert_eq!(event.created, 1_767_225_600);
            assert!(sample.id.starts_with("evt_") && sample.id.len() == 28);
            let value: Value = serde_json::from_str(&sample.body).unwrap();
            assert_eq!(value["livemode"], false);
            if event_types::is_thin(event_type) {
                assert_eq!(value["object"], "v2.core.event");
            } else {
                assert!(value["data"]["object"]["id"].is_string());
            }
        }
    }

    #[test]
    fn objects_are_of_the_kind_the_type_names() {
        for (event_type, kind) in [
            ("invoice.paid", "invoice"),
            ("customer.subscription.updated", "subscription"),
            ("customer.created", "customer"),
            ("checkout.session.completed", "checkout.session"),
            ("charge.dispute.created", "dispute"),
            ("payment_intent.succeeded", "payment_intent"),
            ("issuing_card.created", "issuing_card"),
        ] {
            assert_eq!(object_kind(event_type), kind, "{event_type}");
        }
        let body = sample_event("invoice.paid", 0).unwrap().body;
        assert!(
            body.contains("\n  \"id\": \"evt_"),
            "pretty-printed as Stripe does"
        );
    }

    #[test]
    fn a_pattern_or_an_unknown_type_is_refused() {
        assert!(sample_event("invoice.*", 0).is_err());
        let error = sample_event("invoice.payed", 0).unwrap_err().to_string();
        assert!(error.contains("did you mean `invoice.paid`"), "{error}");
    }
}
