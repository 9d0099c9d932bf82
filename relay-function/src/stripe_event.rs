//! Reads the few fields of a verified Stripe event that routing needs, without
//! re-serialising it: the body goes on to EventBridge byte for byte.

use std::borrow::Cow;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Deserialize;

/// The routing fields of a Stripe event. Both snapshot events (`"object":"event"`, with
/// `created` in Unix seconds) and thin events from event destinations
/// (`"object":"v2.core.event"`, with `created` in RFC 3339) are Stripe events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent<'a> {
    pub id: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    /// When Stripe created the event, in Unix seconds.
    pub created: i64,
    pub livemode: Option<bool>,
    pub api_version: Option<Cow<'a, str>>,
    /// The connected account, for Connect events.
    pub account: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is not a JSON object")]
    NotJsonObject,
    #[error("the body is not a Stripe event: {0}")]
    NotAnEvent(&'static str),
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    event_type: Option<Cow<'a, str>>,
    created: Option<Created<'a>>,
    livemode: Option<bool>,
    #[serde(borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Created<'a> {
    Seconds(i64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

impl<'a> StripeEvent<'a> {
    /// Reads a verified body (verification has already checked that it is UTF-8).
    pub fn parse(body: &'a str) -> Result<Self, EventError> {
        if !body.trim_start().starts_with('{') {
            return Err(EventError::NotJsonObject);
        }
        let wire: Wire<'a> = serde_json::from_str(body).map_err(|_| EventError::NotJsonObject)?;
        match wire.object.as_deref() {
            Some("event" | "v2.core.event") => {}
            _ => return Err(EventError::NotAnEvent("`object` is not \"event\"")),
        }
        let id = wire
            .id
            .filter(|id| id.starts_with("evt_"))
            .ok_or(EventError::NotAnEvent("`id` is not an evt_ id"))?;
        let event_type = wire
            .event_type
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(EventError::NotAnEvent("`type` is missing"))?;
        let created = match wire.created {
            Some(Created::Seconds(secs)) if secs >= 0 => secs,
            Some(Created::Text(text)) => DateTime::from_str(&text, Format::DateTime)
                .map_err(|_| EventError::NotAnEvent("`created` is not a time"))?
                .secs(),
            _ => return Err(EventError::NotAnEvent("`created` is missing")),
        };
        Ok(Self {
            id,
            event_type,
            created,
            livemode: wire.livemode,
            api_version: wire.api_version,
            account: wire.account,
        })
    }
}

/// An event id from a body whose signature did *not* verify, for failure notices only:
/// it is whatever the sender wrote, so it is kept only if it looks like a Stripe id.
pub fn claimed_event_id(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        id: Option<Cow<'a, str>>,
    }
    let id = serde_json::from_slice::<IdOnly>(body).ok()?.id?;
    let looks_like_stripe = id.len() <= 96
        && id.starts_with("evt_")
        && id[4..].bytes().all(|b| b.is_ascii_alphanumeric());
    looks_like_stripe.then(|| id.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_snapshot_event() {
        let body = r#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000,"livemode":false,"api_version":"2025-01-27.acacia","data":{"object":{}}}"#;
        let event = StripeEvent::parse(body).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.event_type, "invoice.paid");
        assert_eq!(event.created, 1_700_000_000);
        assert_eq!(event.livemode, Some(false));
    }

    #[test]
    fn reads_a_thin_event_with_escaped_strings() {
        let body = r#"{"id":"evt_2","object":"v2.core.event","type":"v1.billing.meter.no_meter_found","created":"2024-09-17T06:20:52.246Z","context":"acct_\u0031"}"#;
        let event = StripeEvent::parse(body).unwrap();
        assert_eq!(event.created, 1_726_554_052);
        assert_eq!(event.event_type, "v1.billing.meter.no_meter_found");
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        for body in [
            "[1,2]",
            "\"evt\"",
            "{",
            r#"{"id":"evt_1","object":"customer","type":"x","created":1}"#,
            r#"{"id":"cus_1","object":"event","type":"x","created":1}"#,
            r#"{"id":"evt_1","object":"event","created":1}"#,
            r#"{"id":"evt_1","object":"event","type":"x"}"#,
            r#"{"id":"evt_1","object":"event","type":"x","created":-1}"#,
        ] {
            assert!(StripeEvent::parse(body).is_err(), "{body}");
        }
    }

    #[test]
    fn claimed_ids_are_kept_only_when_they_look_like_stripes() {
        assert_eq!(
            claimed_event_id(br#"{"id":"evt_1Abc"}"#).as_deref(),
            Some("evt_1Abc")
        );
        assert_eq!(claimed_event_id(br#"{"id":"evt_<script>"}"#), None);
        assert_eq!(claimed_event_id(b"not json"), None);
    }
}
