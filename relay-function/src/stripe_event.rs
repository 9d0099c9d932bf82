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
#[serde(untagged)]
enum Created<'a> {
    Seconds(i64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

/// The top-level members routing reads (`Wire`'s fields), for the tests and fuzzing that
/// read a body by other means.
pub const ROUTING_FIELDS: [&str; 7] = [
    "id",
    "object",
    "type",
    "created",
    "livemode",
    "api_version",
    "account",
];

/// The routing fields as the body has them, before they are checked: serde_json reads
/// the whole body into it, which also checks that the body is one JSON value and
/// refuses a routing field named twice.
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

impl<'a> StripeEvent<'a> {
    /// Reads a body whose signature verified (verification has already checked that it
    /// is UTF-8). The whole body must be one JSON object; serde_json reads it, keeping
    /// only the routing fields, borrowed from the body where they have no escapes.
    pub fn parse(body: &'a str) -> Result<Self, EventError> {
        // serde would also read a struct from a JSON array, field by field in order.
        if !body
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        {
            return Err(EventError::NotJsonObject);
        }
        serde_json::from_str::<Wire>(body)
            .map_err(|_| EventError::NotJsonObject)?
            .into_event()
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
    use serde_json::Value;

    use super::*;

    /// An independent reading: the body's top-level members read one by one (serde_json's
    /// map access, each routing field's value as a `serde_json::Value`, the rest skipped
    /// as serde skips them), then the routing fields picked out by hand, with the checks
    /// `Wire` makes. Ok(id, type, created), or whether the body is no JSON object at all.
    /// A routing field named twice is checked apart (`a_routing_field_named_twice_is_refused`).
    fn by_hand(body: &str) -> Result<(String, String, i64), bool> {
        let (object, _) = top_level(body).ok_or(true)?;
        let object = &object;
        let text = |key: &str| match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(true),
        };
        let (id, kind, event_type) = (text("id")?, text("object")?, text("type")?);
        text("api_version")?;
        text("account")?;
        match object.get("livemode") {
            None | Some(Value::Null | Value::Bool(_)) => {}
            Some(_) => return Err(true),
        }
        let created = match object.get("created") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_i64().ok_or(true)?),
            Some(Value::String(t)) => Some(
                DateTime::from_str(t, Format::DateTime)
                    .map_err(|_| false)?
                    .secs(),
            ),
            Some(_) => return Err(true),
        };
        if !matches!(kind.as_deref(), Some("event" | "v2.core.event")) {
            return Err(false);
        }
        let id = id.filter(|id| id.starts_with("evt_")).ok_or(false)?;
        let event_type = event_type
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(false)?;
        let created = created.filter(|c| *c >= 0).ok_or(false)?;
        Ok((id, event_type, created))
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
        let parsed = StripeEvent::parse(body)
            .map(|e| (e.id.into_owned(), e.event_type.into_owned(), e.created))
            .map_err(|e| e == EventError::NotJsonObject);
        assert_eq!(parsed, by_hand(body), "{body:?}");
    }

    #[test]
    fn reads_every_fixture_as_serde_json_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/events");
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(StripeEvent::parse(&body).is_ok());
            same_as_serde(&body);
        }
    }

    #[test]
    fn reads_awkward_events_as_serde_json_does() {
        let event = |extra: &str| {
            format!(
                r#"{{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000{extra}}}"#
            )
        };
        for extra in [
            "",
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
            r#"} "#,
            r#" "#,
            r#","x":01"#,
            r#","x":"a	b""#,
            // Backslash runs of every length, escaping or not the quote after them.
            r#","x":"\\""#,
            r#","x":"\\\""#,
            r#","x":"\\\\""#,
            r#","x":"\\\\\"y""#,
        ] {
            same_as_serde(&event(extra));
        }
        for created in [
            r#"1"#,
            r#""2024-09-17T06:20:52.246Z""#,
            r#"1.5"#,
            r#"-1"#,
            r#"99999999999999999999"#,
            r#"{"s":1}"#,
            r#"null"#,
        ] {
            same_as_serde(&format!(
                r#"{{"id":"evt_1","object":"event","type":"x","created":{created}}}"#
            ));
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
    fn a_routing_field_named_twice_is_refused() {
        for extra in [
            r#","id":"evt_2""#,
            r#","\u0069d":"evt_2""#,
            r#","t\u0079pe":"x""#,
            r#","created":1"#,
            r#","livemode":true,"livemode":false"#,
            r#","account":"acct_1","account":"acct_2""#,
        ] {
            let body = format!(
                r#"{{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000,"livemode":true{extra}}}"#
            );
            assert_eq!(
                StripeEvent::parse(&body),
                Err(EventError::NotJsonObject),
                "{body}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_read_as_far_as_serde_json_reads_it() {
        for depth in [1, 63, 64, 65, 100, 126, 127, 128, 200, 260] {
            // Alternating kinds, as the deepest real payloads nest objects and arrays.
            let (mut open, mut close) = (String::new(), String::new());
            for level in 0..depth {
                if level % 2 == 0 {
                    open.push_str("{\"a\":");
                    close.insert(0, '}');
                } else {
                    open.push('[');
                    close.insert(0, ']');
                }
            }
            let body = format!(
                r#"{{"id":"evt_1","object":"event","type":"x","created":1,"deep":{open}1{close}}}"#
            );
            same_as_serde(&body);
        }
    }

    #[test]
    fn reads_mutated_events_as_serde_json_does() {
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
            // A mutation that names a routing field twice is checked apart.
            if let Ok(body) = String::from_utf8(bytes)
                && !names_a_routing_field_twice(&body)
            {
                same_as_serde(&body);
            }
        }
    }

    /// The body's top-level routing fields and whether one is named twice, or None when
    /// the body is not one JSON object.
    fn top_level(body: &str) -> Option<(serde_json::Map<String, Value>, bool)> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = (serde_json::Map<String, Value>, bool);
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut fields, mut twice) = (serde_json::Map::new(), false);
                while let Some(key) = map.next_key::<String>()? {
                    if ROUTING_FIELDS.contains(&key.as_str()) {
                        twice |= fields.insert(key, map.next_value::<Value>()?).is_some();
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok((fields, twice))
            }
        }
        if !body
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        {
            return None;
        }
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let members = serde::Deserializer::deserialize_map(&mut deserializer, Members).ok()?;
        deserializer.end().ok()?;
        Some(members)
    }

    fn names_a_routing_field_twice(body: &str) -> bool {
        top_level(body).is_some_and(|(_, twice)| twice)
    }
}
