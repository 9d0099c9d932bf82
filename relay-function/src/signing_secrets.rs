//! The value kept in the bridge's Secrets Manager secret: the Stripe signing secrets
//! that are active, each with an optional expiry, so a rolled secret can stay valid
//! beside its successor for as long as Stripe keeps signing with it.
//!
//! Two forms are read:
//! - a plain `whsec_…` string: one secret that never expires;
//! - a JSON document, which `set-secret` writes:
//!   `{"version":1,"secrets":[{"secret":"whsec_new"},{"secret":"whsec_old","expires":"2026-11-30T12:00:00Z"}]}`.
//!   `expires` is RFC 3339 in UTC; a secret stops verifying at that instant. An entry may
//!   name the Stripe endpoint it belongs to (`"endpoint":"connect"`), so that one bridge
//!   can hold the permanent secrets of two endpoints (an account's and a Connect one's)
//!   and roll each on its own. The relay accepts every active secret, whatever its endpoint.
//!
//! The stack creates the secret holding [`PLACEHOLDER`]: no secret, so nothing verifies
//! until one is set.

use std::fmt;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// What a new bridge's secret holds until `set-secret` runs.
pub const PLACEHOLDER: &str = r#"{"version":1,"secrets":[]}"#;

const FORMAT_VERSION: u32 = 1;

/// The fewest characters after `whsec_` a signing secret can have: fewer is a secret cut
/// short, or a placeholder.
pub const MIN_SECRET_CHARS: usize = 16;

/// One Stripe webhook signing secret. It never shows itself in `Debug` or logs; only
/// [`SigningSecret::masked`] is for people to see. The secret and the HMAC state keyed
/// with it are wiped from memory when it is dropped (`zeroize`, and the `hmac` crate's
/// own `zeroize` feature).
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct SigningSecret {
    value: Zeroizing<String>,
    /// HMAC-SHA256 keyed with the secret, set up once here and cloned for each request
    /// verified, instead of keyed anew every time.
    keyed: Hmac<Sha256>,
}

impl SigningSecret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = Zeroizing::new(value.into());
        let keyed = keyed(value.as_bytes());
        Self { value, keyed }
    }

    /// The HMAC-SHA256, keyed with this secret, of `parts` one after the other.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        mac(&self.keyed, parts)
    }

    /// The full secret, for computing signatures and for storing it. Nothing else.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// What makes this no Stripe webhook signing secret, if anything: Stripe's start
    /// with `whsec_` and at least `MIN_SECRET_CHARS` characters follow (a Dashboard
    /// endpoint's have 32, `stripe listen`'s 64). A blank value or a placeholder such as
    /// `changeme` would be a key anyone could guess. (Stricter than the libraries, which take any non-empty
    /// string; white space and other characters are left for the signature to judge.)
    pub fn problem(&self) -> Option<&'static str> {
        let value = self.value.trim();
        if value.is_empty() {
            Some("it is blank")
        } else if !value.starts_with("whsec_") {
            Some("it does not start with whsec_")
        } else if value.len() < "whsec_".len() + MIN_SECRET_CHARS {
            Some("it is too short (whsec_ and 16 or more characters)")
        } else {
            None
        }
    }

    /// `whsec_…a1b2`: enough to tell secrets apart, never enough to use one.
    pub fn masked(&self) -> String {
        let prefix = if self.value.starts_with("whsec_") {
            "whsec_"
        } else {
            ""
        };
        let chars: Vec<char> = self.value.chars().collect();
        let tail: String = if chars.len() >= 12 {
            chars[chars.len() - 4..].iter().collect()
        } else {
            String::new()
        };
        format!("{prefix}…{tail}")
    }
}

/// HMAC-SHA256 keyed with `key` (RFC 2104: a key longer than the 64-byte block is
/// hashed first), ready to be cloned for each message.
fn keyed(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length")
}

/// The MAC of `parts`, one after the other, from a clone of the keyed state.
fn mac(keyed: &Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl PartialEq for SigningSecret {
    fn eq(&self, other: &Self) -> bool {
        *self.value == *other.value
    }
}

impl Eq for SigningSecret {}

impl From<String> for SigningSecret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<SigningSecret> for String {
    fn from(secret: SigningSecret) -> Self {
        // Only to store it (serde's `into`): the copy is the caller's to keep.
        secret.value.as_str().to_owned()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningSecret({})", self.masked())
    }
}

/// One secret and, during a rotation, when it stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretEntry {
    pub secret: SigningSecret,
    /// The Stripe endpoint whose secret this is; `None` for the bridge's main endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_seconds"
    )]
    pub expires: Option<i64>,
    /// The Stripe webhook endpoint (`we_…`) that signs with it, where `link` or
    /// `rotate-secret` made that endpoint and stored its secret; the relay ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_endpoint: Option<String>,
}

impl SecretEntry {
    /// Whether this secret is in force at Unix time `now` (an invalid one is in force,
    /// and verifies nothing: see `SigningSecret::problem`).
    pub fn is_active_at(&self, now: i64) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }
}

/// Every signing secret the bridge holds, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecrets {
    pub version: u32,
    pub secrets: Vec<SecretEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    #[error("the stored signing secret is empty")]
    Empty,
    /// Where the document went wrong, and how; never its text (which holds secrets).
    #[error("the stored signing secrets are not stripe-bridge's JSON: {0}")]
    Json(JsonProblem),
    #[error(
        "the stored signing secrets use format version {0}, which this relay does not know; redeploy with a newer stripe-bridge"
    )]
    UnknownVersion(u32),
}

/// A JSON error as its category and position only. serde_json's own message quotes the
/// value it did not expect, and in a secret's document that value is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonProblem {
    pub category: serde_json::error::Category,
    pub line: usize,
    pub column: usize,
}

impl From<&serde_json::Error> for JsonProblem {
    fn from(error: &serde_json::Error) -> Self {
        Self {
            category: error.classify(),
            line: error.line(),
            column: error.column(),
        }
    }
}

impl fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use serde_json::error::Category;
        let what = match self.category {
            Category::Syntax => "not JSON",
            Category::Data => "a value of the wrong type, or a field missing",
            Category::Eof => "the document ends early",
            Category::Io => "unreadable",
        };
        write!(f, "{what} at line {}, column {}", self.line, self.column)
    }
}

impl SigningSecrets {
    /// One secret that never expires.
    pub fn single(secret: SigningSecret) -> Self {
        Self::permanent([secret])
    }

    /// Secrets that never expire, for the main endpoint.
    pub fn permanent(secrets: impl IntoIterator<Item = SigningSecret>) -> Self {
        Self {
            version: FORMAT_VERSION,
            secrets: secrets
                .into_iter()
                .map(|secret| SecretEntry {
                    secret,
                    endpoint: None,
                    expires: None,
                    webhook_endpoint: None,
                })
                .collect(),
        }
    }

    /// Reads a stored value in either form.
    pub fn parse(value: &str) -> Result<Self, SecretFormatError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(SecretFormatError::Empty);
        }
        if !value.starts_with('{') {
            return Ok(Self::single(SigningSecret::new(value)));
        }
        let parsed: Self = serde_json::from_str(value)
            .map_err(|e| SecretFormatError::Json(JsonProblem::from(&e)))?;
        if parsed.version != FORMAT_VERSION {
            return Err(SecretFormatError::UnknownVersion(parsed.version));
        }
        Ok(parsed)
    }

    /// The stored form: always the JSON document.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("signing secrets serialise")
    }

    /// The secrets in force at Unix time `now`. A blank or placeholder one among them
    /// verifies nothing (`signature::verify` refuses it).
    pub fn active_at(&self, now: i64) -> Vec<&SigningSecret> {
        self.active_entries_at(now).map(|e| &e.secret).collect()
    }

    /// The entries whose secrets the relay accepts at Unix time `now`, with their expiry.
    pub fn active_entries_at(&self, now: i64) -> impl Iterator<Item = &SecretEntry> {
        self.secrets.iter().filter(move |e| e.is_active_at(now))
    }
}

/// `expires` as RFC 3339 text on the wire and Unix seconds in memory.
mod rfc3339_seconds {
    use super::{DateTime, Format};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(secs) => {
                let text = DateTime::from_secs(*secs)
                    .fmt(Format::DateTime)
                    .map_err(serde::ser::Error::custom)?;
                s.serialize_str(&text)
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            DateTime::from_str(&t, Format::DateTime)
                .map(|dt| dt.secs())
                .map_err(|e| D::Error::custom(format!("`expires` is not RFC 3339 ({t}): {e}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231's HMAC-SHA256 test cases (all but 5, whose output is truncated): keys
    /// shorter than, equal to and longer than SHA-256's 64-byte block (6 and 7's
    /// 131-byte key is hashed first), each message split in two, through the keyed state
    /// a secret holds and clones.
    #[test]
    fn rfc_4231_vectors() {
        let hex = |h: &str| hex::decode(h).unwrap();
        let cases: [(Vec<u8>, &[u8], &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                &[0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, expected) in cases {
            let state = keyed(&key);
            let (a, b) = data.split_at(data.len() / 2);
            assert_eq!(hex::encode(mac(&state, &[a, b])), expected, "{key:02x?}");
            // The state is cloned, not used up: the same again.
            assert_eq!(hex::encode(mac(&state, &[data])), expected);
        }
    }

    /// Messages of every length from 0 to 200 bytes, around the 64-byte block's edges,
    /// split at every third point, with secrets of 16, 32, 64, 70 and 126 characters
    /// after `whsec_`: the keyed clone gives what a fresh HMAC does.
    #[test]
    fn every_length_and_split_gives_a_fresh_hmacs_answer() {
        let message: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
        for length in [16, 32, 58, 64, 120] {
            let secret = SigningSecret::new(format!("whsec_{}", "k".repeat(length)));
            for end in 0..=message.len() {
                let whole = &message[..end];
                let fresh = {
                    let mut fresh =
                        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).unwrap();
                    fresh.update(whole);
                    <[u8; 32]>::from(fresh.finalize().into_bytes())
                };
                for at in (0..=end).step_by(3) {
                    let (a, b) = whole.split_at(at);
                    assert_eq!(secret.mac(&[a, b]), fresh, "length {end}, split at {at}");
                }
            }
        }
    }

    #[test]
    fn a_plain_secret_is_one_secret_that_never_expires() {
        let parsed = SigningSecrets::parse("  whsec_abc\n").unwrap();
        assert_eq!(
            parsed,
            SigningSecrets::single(SigningSecret::new("whsec_abc"))
        );
        assert_eq!(parsed.active_at(i64::MAX - 1).len(), 1);
    }

    #[test]
    fn two_endpoints_secrets_are_both_in_force() {
        let stored = r#"{"version":1,"secrets":[{"secret":"whsec_account"},{"secret":"whsec_connect","endpoint":"connect"}]}"#;
        let parsed = SigningSecrets::parse(stored).unwrap();
        assert_eq!(parsed.active_at(i64::MAX - 1).len(), 2);
        assert_eq!(parsed.secrets[1].endpoint.as_deref(), Some("connect"));
        assert_eq!(parsed.to_stored(), stored);
    }

    #[test]
    fn rotation_keeps_the_old_secret_until_it_expires() {
        let stored = r#"{"version":1,"secrets":[{"secret":"whsec_new"},{"secret":"whsec_old","expires":"2026-11-30T12:00:00Z"}]}"#;
        let parsed = SigningSecrets::parse(stored).unwrap();
        let expiry = DateTime::from_str("2026-11-30T12:00:00Z", Format::DateTime)
            .unwrap()
            .secs();
        let names = |now| -> Vec<String> {
            parsed
                .active_at(now)
                .iter()
                .map(|s| s.expose().to_owned())
                .collect()
        };
        assert_eq!(names(expiry - 1), ["whsec_new", "whsec_old"]);
        assert_eq!(names(expiry), ["whsec_new"]);
        assert_eq!(SigningSecrets::parse(&parsed.to_stored()).unwrap(), parsed);
    }

    #[test]
    fn the_placeholder_holds_no_secret() {
        assert!(
            SigningSecrets::parse(PLACEHOLDER)
                .unwrap()
                .active_at(0)
                .is_empty()
        );
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        assert_eq!(SigningSecrets::parse(" "), Err(SecretFormatError::Empty));
        assert!(matches!(
            SigningSecrets::parse("{"),
            Err(SecretFormatError::Json(_))
        ));
        assert_eq!(
            SigningSecrets::parse(r#"{"version":2,"secrets":[]}"#),
            Err(SecretFormatError::UnknownVersion(2))
        );
        let bad_date = r#"{"version":1,"secrets":[{"secret":"whsec_a","expires":"tomorrow"}]}"#;
        let err = SigningSecrets::parse(bad_date).unwrap_err().to_string();
        assert!(
            err.contains("wrong type") && err.contains("line 1, column"),
            "{err}"
        );
        assert!(!err.contains("whsec_a"), "{err}");
    }

    /// serde_json quotes the value it did not expect: here, a whole secret.
    #[test]
    fn a_malformed_value_never_quotes_the_secret() {
        let secret = "whsec_0123456789abcdefQUOTEDsecret";
        for value in [
            format!(r#"{{"version":1,"secrets":["{secret}"]}}"#),
            format!(r#"{{"version":1,"secrets":[{{"secret":{{"v":"{secret}"}}}}]}}"#),
            format!(r#"{{"version":"{secret}","secrets":[]}}"#),
            format!(r#"{{"version":1,"secrets":[{{"secret":"{secret}","expires":"{secret}"}}]}}"#),
            format!(r#"{{"version":1,"secrets":[{{"secret":"{secret}""#),
        ] {
            let error = SigningSecrets::parse(&value).unwrap_err();
            for text in [error.to_string(), format!("{error:?}")] {
                assert!(!text.contains("QUOTED"), "{text}");
            }
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = SigningSecret::new("whsec_0123456789abcdefa1b2");
        assert_eq!(secret.masked(), "whsec_…a1b2");
        let debug = format!("{:?}", SigningSecrets::single(secret));
        assert!(!debug.contains("0123456789"), "{debug}");
        assert_eq!(SigningSecret::new("short").masked(), "…");
    }
}
