//! Reads the few fields of a verified Stripe event that routing needs, without
//! re-serialising it: the body goes on to EventBridge byte for byte.

use std::borrow::Cow;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use json_check::{Member, NotJsonObject};
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

/// A string that is borrowed from the body when it has no escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
#[serde(untagged)]
enum Created<'a> {
    Seconds(i64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

/// The routing fields as the body has them, before they are checked. `parse` fills it
/// from `json_check`'s members; the tests also read it with serde_json over the whole
/// body, as the relay did before, and compare.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<Created<'a>>,
    livemode: Option<bool>,
    #[serde(borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account: Option<Cow<'a, str>>,
}

impl<'a> Wire<'a> {
    /// Whether the fields make a Stripe event.
    fn into_event(self) -> Result<StripeEvent<'a>, EventError> {
        match self.object.as_deref() {
            Some("event" | "v2.core.event") => {}
            _ => return Err(EventError::NotAnEvent("`object` is not \"event\"")),
        }
        let id = self
            .id
            .filter(|id| id.starts_with("evt_"))
            .ok_or(EventError::NotAnEvent("`id` is not an evt_ id"))?;
        let event_type = self
            .event_type
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(EventError::NotAnEvent("`type` is missing"))?;
        let created = match self.created {
            Some(Created::Seconds(secs)) if secs >= 0 => secs,
            Some(Created::Text(text)) => DateTime::from_str(&text, Format::DateTime)
                .map_err(|_| EventError::NotAnEvent("`created` is not a time"))?
                .secs(),
            _ => return Err(EventError::NotAnEvent("`created` is missing")),
        };
        Ok(StripeEvent {
            id,
            event_type,
            created,
            livemode: self.livemode,
            api_version: self.api_version,
            account: self.account,
        })
    }
}

/// Where each routing field's value starts in the body, from the top-level members that
/// the JSON check hands over: `json_check` alone in `StripeEvent::parse`, or
/// `signature::verify_json` in the relay, in the same pass as the signature.
#[derive(Default)]
pub struct EventFields<'a> {
    id: Option<&'a str>,
    object: Option<&'a str>,
    event_type: Option<&'a str>,
    created: Option<&'a str>,
    livemode: Option<&'a str>,
    api_version: Option<&'a str>,
    account: Option<&'a str>,
    /// A field named twice, or a key that is not a valid string: serde refuses both.
    refused: bool,
}

impl<'a> EventFields<'a> {
    /// Takes note of one top-level member.
    pub fn member(&mut self, member: Member<'a>) {
        let decoded;
        let key = if member.raw_key.contains('\\') {
            // Keys are decoded as serde_json decodes them, lone surrogates refused.
            match serde_json::from_str::<String>(&format!("\"{}\"", member.raw_key)) {
                Ok(key) => {
                    decoded = key;
                    decoded.as_str()
                }
                Err(_) => {
                    self.refused = true;
                    return;
                }
            }
        } else {
            member.raw_key
        };
        let slot = match key {
            "id" => &mut self.id,
            "object" => &mut self.object,
            "type" => &mut self.event_type,
            "created" => &mut self.created,
            "livemode" => &mut self.livemode,
            "api_version" => &mut self.api_version,
            "account" => &mut self.account,
            _ => return,
        };
        self.refused |= slot.replace(member.value_and_rest).is_some();
    }

    /// The event, once the check that handed over the members has answered whether the
    /// body is one JSON object.
    pub fn into_event(
        self,
        checked: Result<(), NotJsonObject>,
    ) -> Result<StripeEvent<'a>, EventError> {
        if checked.is_err() || self.refused {
            return Err(EventError::NotJsonObject);
        }
        let text = |value| Ok::<_, EventError>(read::<Text>(value)?.map(|t| t.0));
        Wire {
            id: text(self.id)?,
            object: text(self.object)?,
            event_type: text(self.event_type)?,
            created: read(self.created)?,
            livemode: read(self.livemode)?,
            api_version: text(self.api_version)?,
            account: text(self.account)?,
        }
        .into_event()
    }
}

/// Reads one field's value, as the type serde would have read it into.
fn read<'a, T: Deserialize<'a>>(value: Option<&'a str>) -> Result<Option<T>, EventError> {
    let Some(value) = value else { return Ok(None) };
    let mut deserializer = serde_json::Deserializer::from_str(value);
    Option::<T>::deserialize(&mut deserializer).map_err(|_| EventError::NotJsonObject)
}

impl<'a> StripeEvent<'a> {
    /// Reads a verified body (verification has already checked that it is UTF-8). The
    /// whole body must be one JSON object, whatever the size: `json_check` validates it
    /// at about 2.4 GB/s, and serde_json reads only the routing fields' values.
    pub fn parse(body: &'a str) -> Result<Self, EventError> {
        let mut fields = EventFields::default();
        let checked = json_check::top_level_members(body, &mut |member| fields.member(member));
        fields.into_event(checked)
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

    /// The reference: serde_json reading the whole body, as the relay did before.
    fn parse_with_serde(body: &str) -> Result<StripeEvent<'_>, EventError> {
        if !body.trim_start().starts_with('{') {
            return Err(EventError::NotJsonObject);
        }
        serde_json::from_str::<Wire>(body)
            .map_err(|_| EventError::NotJsonObject)?
            .into_event()
    }

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

    fn same_as_serde(body: &str) {
        assert_eq!(StripeEvent::parse(body), parse_with_serde(body), "{body:?}");
    }

    #[test]
    fn reads_every_fixture_as_serde_json_did() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/events");
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(StripeEvent::parse(&body).is_ok());
            same_as_serde(&body);
        }
    }

    #[test]
    fn reads_awkward_events_as_serde_json_did() {
        let event = |extra: &str| {
            format!(
                r#"{{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000{extra}}}"#
            )
        };
        for extra in [
            "",
            r#","id":"evt_2""#,
            r#","\u0069d":"evt_2""#,
            r#","t\u0079pe":"x""#,
            r#","other":1,"other":2"#,
            r#","\ud800":1"#,
            r#","\udc00x":1"#,
            r#","nested":{"\ud800":"\udc00"}"#,
            r#","account":"acct_\u0031""#,
            r#","account":"acct_\ud800""#,
            r#","account":null"#,
            r#","account":1"#,
            r#","livemode":true"#,
            r#","livemode":null"#,
            r#","livemode":"yes""#,
            r#","api_version":["x"]"#,
            r#","data":{"object":{"id":"in_1","lines":[1,2.5e3,null,true,"\"x\""]}}"#,
            r#","created":1"#,
            r#","created":"2024-09-17T06:20:52.246Z""#,
            r#","created":1.5"#,
            r#","created":-1"#,
            r#","created":99999999999999999999"#,
            r#","created":{"s":1}"#,
            r#","created":null"#,
            r#"} "#,
            r#" "#,
            r#","x":01"#,
            r#","x":"a	b""#,
        ] {
            same_as_serde(&event(extra));
        }
        for body in [
            "",
            " ",
            "[]",
            "[\"evt_1\",\"event\",\"x\",1]",
            "\u{a0}{}",
            "{}",
            "{\"id\":\"evt_1\"}",
        ] {
            same_as_serde(body);
        }
    }

    #[test]
    fn reads_mutated_events_as_serde_json_did() {
        const BYTES: &[u8] = b"{}[]:,\" \\0123456789.-eEtrufalsnu\x01idtypecreated";
        let original = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/events/invoice.paid.json"
        ))
        .unwrap();
        let mut rng = fastrand::Rng::with_seed(14);
        for _ in 0..20_000 {
            let mut bytes = original.clone().into_bytes();
            for _ in 0..rng.usize(1..3) {
                // Mostly near the top-level fields, where the routing fields are.
                let at = if rng.bool() {
                    rng.usize(0..200)
                } else {
                    rng.usize(0..bytes.len())
                };
                let byte = BYTES[rng.usize(0..BYTES.len())];
                match rng.u32(0..3) {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            if let Ok(body) = String::from_utf8(bytes) {
                same_as_serde(&body);
            }
        }
    }
}
