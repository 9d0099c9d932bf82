//! Stripe-like events built from the fuzzer's bytes (routing fields of every kind and
//! order, named twice or not at all, strings with escapes, nested data), signed as
//! Stripe signs them: the relay's path (verify, then read) always verifies them, and the
//! event it reads is the one serde_json finds in the whole body, read into a `Value`
//! and judged by hand; when it reads none, the body is no Stripe event by those rules.
//!
//! The generator writes only what serde_json also reads into a `Value` (no lone
//! surrogates, no numbers out of range, nesting well under its limit), so that a
//! `Value` is a fair reference.

#![no_main]

use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use relay_function::signature;
use relay_function::signing_secrets::SigningSecret;
use relay_function::stripe_event::ROUTING_FIELDS as ROUTING;
use relay_function::verified_event;
use serde_json::Value;

const NOW: i64 = 1_767_225_600;
const TOLERANCE: Duration = Duration::from_secs(300);

/// A JSON string literal: plain, or with the escapes Stripe's bodies carry.
fn string(u: &mut Unstructured) -> Result<String> {
    let pieces = [
        "evt_",
        "1QfB7k",
        "invoice.paid",
        "event",
        "v2.core.event",
        "acct_",
        "é",
        "名前",
        "🚀",
        "\\n",
        "\\\"",
        "\\\\",
        "\\u00e9",
        "\\ud83d\\ude80",
        "\\/",
        "\\t",
        " ",
        "x",
    ];
    let mut out = String::from("\"");
    for _ in 0..u.int_in_range(0..=6)? {
        out.push_str(u.choose(&pieces)?);
    }
    out.push('"');
    Ok(out)
}

fn number(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=4)? {
        0 => u.int_in_range(0..=2_000_000_000i64)?.to_string(),
        1 => format!("-{}", u.int_in_range(1..=1000u32)?),
        2 => format!(
            "{}.{}",
            u.int_in_range(0..=99u32)?,
            u.int_in_range(0..=99u32)?
        ),
        3 => format!(
            "{}e{}",
            u.int_in_range(1..=9u32)?,
            u.int_in_range(0..=20u32)?
        ),
        _ => "0".to_owned(),
    })
}

/// Any JSON value, nested at most `depth` deep.
fn value(u: &mut Unstructured, depth: u32) -> Result<String> {
    let kinds = if depth == 0 { 4 } else { 6 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => "null".to_owned(),
        1 => u.choose(&["true", "false"])?.to_string(),
        2 => number(u)?,
        3 | 4 => string(u)?,
        5 => {
            let items: Vec<String> = (0..u.int_in_range(0..=3)?)
                .map(|_| value(u, depth - 1))
                .collect::<Result<_>>()?;
            format!("[{}]", items.join(","))
        }
        _ => {
            let members: Vec<String> = (0..u.int_in_range(0..=3)?)
                .map(|_| Ok(format!("{}:{}", string(u)?, value(u, depth - 1)?)))
                .collect::<Result<_>>()?;
            format!("{{{}}}", members.join(","))
        }
    })
}

/// A routing field's value: mostly the kind Stripe sends, sometimes any other.
fn routing_value(u: &mut Unstructured, key: &str) -> Result<String> {
    if u.ratio(1, 5)? {
        return value(u, 2);
    }
    Ok(match key {
        "id" => format!("\"evt_{}\"", u.int_in_range(0..=u32::MAX)?),
        "object" => u
            .choose(&["\"event\"", "\"v2.core.event\"", "\"customer\""])?
            .to_string(),
        "type" => u
            .choose(&[
                "\"invoice.paid\"",
                "\"v1.billing.meter.error_report_triggered\"",
                "\"\"",
            ])?
            .to_string(),
        "created" => match u.int_in_range(0..=2)? {
            0 => u.int_in_range(0..=2_000_000_000i64)?.to_string(),
            1 => u
                .choose(&[
                    "\"2024-09-17T06:20:52.246Z\"",
                    "\"2026-01-01T00:00:00Z\"",
                    "\"yesterday\"",
                ])?
                .to_string(),
            _ => "-1".to_owned(),
        },
        "livemode" => u.choose(&["true", "false", "null"])?.to_string(),
        _ => string(u)?,
    })
}

/// A Stripe-like event, and whether it names a routing field twice.
fn event(u: &mut Unstructured) -> Result<(String, bool)> {
    let mut members = Vec::new();
    let mut named = Vec::new();
    for key in ROUTING {
        if u.ratio(9, 10)? {
            members.push(format!("\"{key}\":{}", routing_value(u, key)?));
            named.push(key);
        }
    }
    if u.ratio(1, 8)? {
        let key = *u.choose(&ROUTING)?;
        members.push(format!("\"{key}\":{}", routing_value(u, key)?));
        named.push(key);
    }
    for _ in 0..u.int_in_range(0..=3)? {
        members.push(format!("\"data{}\":{}", members.len(), value(u, 6)?));
    }
    // Any order; white space between members sometimes.
    let order: Vec<usize> = {
        let mut order: Vec<usize> = (0..members.len()).collect();
        for i in (1..order.len()).rev() {
            let j = u.int_in_range(0..=i)?;
            order.swap(i, j);
        }
        order
    };
    let gap = *u.choose(&["", " ", "\n  "])?;
    let body: Vec<&str> = order.iter().map(|&i| members[i].as_str()).collect();
    let twice = named.len() != named.iter().collect::<std::collections::HashSet<_>>().len();
    Ok((
        format!("{{{gap}{}{gap}}}", body.join(&format!(",{gap}"))),
        twice,
    ))
}

/// What serde_json, read into a `Value`, says the event is: (id, type, created), or
/// None when the rules make it no Stripe event.
fn by_hand(body: &str) -> Option<(String, String, i64)> {
    let value: Value = serde_json::from_str(body).expect("the generator writes JSON");
    let object = value.as_object()?;
    let text = |key: &str| match object.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    };
    let (id, kind, event_type) = (text("id")?, text("object")?, text("type")?);
    text("api_version")?;
    text("account")?;
    if !matches!(
        object.get("livemode"),
        None | Some(Value::Null | Value::Bool(_))
    ) {
        return None;
    }
    let created = match object.get("created") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64()?),
        Some(Value::String(t)) => Some(DateTime::from_str(t, Format::DateTime).ok()?.secs()),
        Some(_) => return None,
    };
    if !matches!(kind.as_deref(), Some("event" | "v2.core.event")) {
        return None;
    }
    let id = id.filter(|id| id.starts_with("evt_"))?;
    let event_type = event_type.filter(|t| !t.is_empty() && t.len() <= 128)?;
    Some((id, event_type, created.filter(|c| *c >= 0)?))
}

fuzz_target!(|data: &[u8]| {
    let Ok((body, twice)) = event(&mut Unstructured::new(data)) else {
        return;
    };
    let secret = SigningSecret::new(format!("whsec_{}", "0123456789abcdef".repeat(4)));
    let header = signature::sign(&secret, NOW, body.as_bytes());
    let (verified, event) =
        verified_event::verify_and_read(Some(&header), body.as_bytes(), &[&secret], NOW, TOLERANCE)
            .expect("Stripe's header for the body verifies");
    assert_eq!(verified.body, body);
    let read = event
        .ok()
        .map(|e| (e.id.into_owned(), e.event_type.into_owned(), e.created));
    if twice {
        assert_eq!(read, None, "a routing field named twice was read: {body}");
    } else {
        assert_eq!(read, by_hand(&body), "{body}");
    }
});
