//! Verifies the `Stripe-Signature` header the way Stripe's official libraries do.
//!
//! The header is a comma-separated list of `key=value` items: one `t=` (the Unix time
//! Stripe signed at) and one or more `v1=` (lowercase hex HMAC-SHA256 of `"{t}.{body}"`,
//! keyed with the whole `whsec_…` string). `v0` and unknown schemes are ignored.
//!
//! Where this verifier is stricter than the libraries, it is so on purpose, and only
//! where that is safer. Each case is listed here and covered by an oracle fixture:
//! - `t` must be plain ASCII digits. The libraries also take `t= 123` or `t=123abc`
//!   (Node's `parseInt`) and `t=+123` (Python's `int`); Stripe never sends those.
//! - More than one `t` is refused. Node takes the last, Python the first; API Gateway
//!   joins repeated headers with a comma, so two headers would otherwise be one.
//! - A `t` item without `=` is refused. Node computes over `"NaN.{body}"` and skips the
//!   age check for it.
//! - A timestamp more than the tolerance in the future is refused. The libraries only
//!   check the age; a signature from the future means a clock or a forgery problem.
//! - The body must be UTF-8 and must not be empty or start with a byte-order mark. Node's
//!   library decodes it first (lossily, dropping a BOM) and lets an empty Buffer through;
//!   Stripe only sends UTF-8 JSON, and we verify the very bytes that go on.
//! - The tolerance cannot be switched off (the libraries skip the check at 0).

use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::signing_secrets::SigningSecret;

/// Stripe's own default: a signature older than this is refused.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The scheme Stripe signs live and test events with.
const EXPECTED_SCHEME: &str = "v1";

/// The parts of a `Stripe-Signature` header that verification uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader<'a> {
    /// When Stripe signed, in Unix seconds.
    pub timestamp: i64,
    /// Every `v1=` candidate, in header order.
    pub v1: Vec<&'a str>,
    /// Whether a `v0=` item was present (test-mode headers from old tools carry only that).
    pub has_v0: bool,
}

/// Why a request's signature was refused. The variants carry what a person needs in
/// order to act on it, and never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no Stripe-Signature header")]
    MissingHeader,
    #[error("the request body is empty")]
    EmptyBody,
    #[error("the request body is not UTF-8")]
    BodyNotUtf8,
    #[error("the request body starts with a byte-order mark, which Stripe never sends")]
    ByteOrderMark,
    #[error("the Stripe-Signature header has no usable timestamp (t=)")]
    MissingTimestamp,
    #[error("the Stripe-Signature header has more than one timestamp (t=)")]
    DuplicateTimestamp,
    #[error("the Stripe-Signature header's timestamp is not a whole number of seconds")]
    MalformedTimestamp,
    #[error("the Stripe-Signature header has no v1 signature{}", if *.has_v0 { " (only v0: a test header from an old tool?)" } else { "" })]
    NoV1Signature { has_v0: bool },
    #[error("no v1 signature matches any active signing secret")]
    NoMatchingSignature,
    #[error("no signing secret is active")]
    NoActiveSecret,
    #[error("the signing secret is not a Stripe webhook signing secret: {problem}")]
    InvalidSecret { problem: &'static str },
    #[error("the timestamp is {age_secs} s old (tolerance {tolerance_secs} s)")]
    TimestampTooOld { age_secs: i64, tolerance_secs: u64 },
    #[error("the timestamp is {ahead_secs} s in the future (tolerance {tolerance_secs} s)")]
    TimestampInFuture {
        ahead_secs: i64,
        tolerance_secs: u64,
    },
}

impl SignatureError {
    /// Whether a fresher copy of the signing secrets could turn this into a success.
    pub fn could_be_stale_secret(&self) -> bool {
        matches!(
            self,
            Self::NoMatchingSignature | Self::NoActiveSecret | Self::InvalidSecret { .. }
        )
    }
}

impl<'a> SignatureHeader<'a> {
    /// Parses a header value. Items are split on `,` and `=` exactly as the libraries
    /// split them: no trimming, and the value ends at a second `=` if there is one.
    pub fn parse(header: &'a str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        let mut has_v0 = false;
        for item in header.split(',') {
            let (key, value) = match item.split_once('=') {
                Some((key, rest)) => (key, Some(rest.split_once('=').map_or(rest, |(v, _)| v))),
                None => (item, None),
            };
            match (key, value) {
                ("t", None) => return Err(SignatureError::MalformedTimestamp),
                ("t", Some(_)) if timestamp.is_some() => {
                    return Err(SignatureError::DuplicateTimestamp);
                }
                ("t", Some(value)) => timestamp = Some(parse_timestamp(value)?),
                (EXPECTED_SCHEME, Some(value)) => v1.push(value),
                ("v0", _) => has_v0 = true,
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
        if v1.is_empty() {
            return Err(SignatureError::NoV1Signature { has_v0 });
        }
        Ok(Self {
            timestamp,
            v1,
            has_v0,
        })
    }
}

fn parse_timestamp(value: &str) -> Result<i64, SignatureError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    value
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)
}

/// The lowercase hex HMAC-SHA256 that Stripe puts in `v1=` for this timestamp and body.
/// The timestamp is written as the libraries write it: the parsed number, so `t=0123`
/// signs as `123`.
pub fn compute_v1(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> String {
    let hex = v1_hex(secret, timestamp, body);
    String::from_utf8(hex.to_vec()).expect("hex is ASCII")
}

/// `compute_v1`'s digits: the secret's keyed HMAC (the `hmac` crate) of `"{t}.{body}"`,
/// in lowercase hex. Signing and verifying both take them from here.
fn v1_hex(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> [u8; 64] {
    let mac = secret.mac(&[itoa::Buffer::new().format(timestamp).as_bytes(), b".", body]);
    let mut hex = [0u8; 64];
    hex::encode_to_slice(mac, &mut hex).expect("32 bytes take 64 hex digits");
    hex
}

/// A request whose signature verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified<'b> {
    /// Which of the secrets matched, so callers can tell which of several rotating
    /// secrets Stripe used.
    pub secret: usize,
    /// The body, checked to be UTF-8 (verification refuses any other).
    pub body: &'b str,
}

/// Checks `header` against `body` for any of `secrets`, at Unix time `now`.
///
/// As stripe-node's `constructEvent` does, and nothing more: the header is parsed, the
/// HMAC is computed with the `hmac` crate and compared in constant time (`subtle`), and
/// only then is the timestamp checked, so a forgery is reported as a forgery. Nothing
/// here reads the body as JSON: only a body that verified is ever parsed
/// (`verified_event`).
pub fn verify<'b>(
    header: Option<&str>,
    body: &'b [u8],
    secrets: &[&SigningSecret],
    now: i64,
    tolerance: Duration,
) -> Result<Verified<'b>, SignatureError> {
    let header = header.ok_or(SignatureError::MissingHeader)?;
    if body.is_empty() {
        return Err(SignatureError::EmptyBody);
    }
    let text = simdutf8::basic::from_utf8(body).map_err(|_| SignatureError::BodyNotUtf8)?;
    if body.starts_with(b"\xEF\xBB\xBF") {
        return Err(SignatureError::ByteOrderMark);
    }
    let parsed = SignatureHeader::parse(header)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoActiveSecret);
    }
    // A blank or placeholder secret is a key anyone could guess: it verifies nothing, and
    // when there is no other, that is the bridge's fault (a 5xx), not the request's.
    if let Some(problem) = secrets
        .iter()
        .map(|s| s.problem())
        .reduce(|a, b| a.and(b))
        .flatten()
    {
        return Err(SignatureError::InvalidSecret { problem });
    }
    let matched = secrets
        .iter()
        .position(|secret| {
            secret.problem().is_none()
                && signed_with(&v1_hex(secret, parsed.timestamp, body), &parsed.v1)
        })
        .ok_or(SignatureError::NoMatchingSignature)?;

    let tolerance_secs = tolerance.as_secs().max(1);
    let age = now.saturating_sub(parsed.timestamp);
    if age > tolerance_secs as i64 {
        return Err(SignatureError::TimestampTooOld {
            age_secs: age,
            tolerance_secs,
        });
    }
    if -age > tolerance_secs as i64 {
        return Err(SignatureError::TimestampInFuture {
            ahead_secs: -age,
            tolerance_secs,
        });
    }
    Ok(Verified {
        secret: matched,
        body: text,
    })
}

/// Whether any `v1` candidate is `expected`, the MAC in lowercase hex as Stripe writes
/// it: the libraries compare the strings. Each comparison takes a time that does not
/// depend on where the two differ (`subtle`).
fn signed_with(expected: &[u8; 64], candidates: &[&str]) -> bool {
    // `|` and not `||`: every candidate is compared, so the time taken does not say
    // which one matched. A candidate of another length cannot match (`ct_eq` of slices
    // of different lengths is false), and its length is no secret.
    candidates.iter().fold(false, |found, candidate| {
        found | bool::from(expected.as_slice().ct_eq(candidate.as_bytes()))
    })
}

/// The current Unix time in seconds, the clock signatures are checked against.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Builds the header Stripe would send for `body` signed at `timestamp` with `secret`.
pub fn sign(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> String {
    sign_with_each(std::slice::from_ref(secret), timestamp, body)
}

/// The header Stripe sends while several secrets are active for an endpoint (during a
/// roll): one `v1` per secret, in order.
pub fn sign_with_each(secrets: &[SigningSecret], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(&format!(
            ",{EXPECTED_SCHEME}={}",
            compute_v1(secret, timestamp, body)
        ));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600;

    /// A signing secret named `s`, made long enough to be one.
    fn secret(s: &str) -> SigningSecret {
        SigningSecret::new(format!("{s}{}", "0".repeat(16)))
    }

    fn check(
        header: &str,
        body: &[u8],
        secrets: &[&str],
        now: i64,
    ) -> Result<usize, SignatureError> {
        let owned: Vec<SigningSecret> = secrets.iter().map(|s| secret(s)).collect();
        let refs: Vec<&SigningSecret> = owned.iter().collect();
        verify(Some(header), body, &refs, now, DEFAULT_TOLERANCE).map(|v| v.secret)
    }

    #[test]
    fn a_header_stripe_would_send_verifies() {
        let header = sign(&secret("whsec_test"), NOW, b"{}");
        assert_eq!(check(&header, b"{}", &["whsec_test"], NOW), Ok(0));
    }

    #[test]
    fn known_vector_matches_stripes_library() {
        // From Stripe's Node library: webhooks.generateTestHeaderString({payload: '{"id":"evt_1"}',
        // secret: 'whsec_test_secret', timestamp: 1700000000}).
        assert_eq!(
            sign(
                &SigningSecret::new("whsec_test_secret"),
                1_700_000_000,
                br#"{"id":"evt_1"}"#
            ),
            "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a"
        );
    }

    #[test]
    fn any_v1_may_match_and_the_matching_secret_is_reported() {
        let good = compute_v1(&secret("whsec_new"), NOW, b"{}");
        let header = format!("t={NOW},v1={},v1={good}", "0".repeat(64));
        assert_eq!(
            check(&header, b"{}", &["whsec_old", "whsec_new"], NOW),
            Ok(1)
        );
    }

    #[test]
    fn uppercase_hex_is_not_the_same_signature() {
        let good = compute_v1(&secret("whsec_a"), NOW, b"{}").to_uppercase();
        let header = format!("t={NOW},v1={good}");
        assert_eq!(
            check(&header, b"{}", &["whsec_a"], NOW),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn v0_only_is_reported_as_such() {
        let header = format!("t={NOW},v0=abc");
        assert_eq!(
            check(&header, b"{}", &["whsec_a"], NOW),
            Err(SignatureError::NoV1Signature { has_v0: true })
        );
    }

    #[test]
    fn timestamps_are_strict_where_the_libraries_are_loose() {
        for header in [
            "t= 1,v1=a",
            "t=+1,v1=a",
            "t=1a,v1=a",
            "t=,v1=a",
            "t,v1=a",
            "t=-5,v1=a",
        ] {
            assert_eq!(
                SignatureHeader::parse(header),
                Err(SignatureError::MalformedTimestamp),
                "{header}"
            );
        }
        assert_eq!(
            SignatureHeader::parse("t=1,t=2,v1=a"),
            Err(SignatureError::DuplicateTimestamp)
        );
    }

    #[test]
    fn leading_zeros_sign_as_the_number() {
        let sig = compute_v1(&secret("whsec_a"), 123, b"{}");
        let header = format!("t=0123,v1={sig}");
        assert_eq!(check(&header, b"{}", &["whsec_a"], 123), Ok(0));
    }

    #[test]
    fn tolerance_boundaries() {
        let at = |t: i64| {
            check(
                &sign(&secret("whsec_a"), t, b"{}"),
                b"{}",
                &["whsec_a"],
                NOW,
            )
        };
        assert_eq!(at(NOW - 300), Ok(0));
        assert_eq!(
            at(NOW - 301),
            Err(SignatureError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(at(NOW + 300), Ok(0));
        assert_eq!(
            at(NOW + 301),
            Err(SignatureError::TimestampInFuture {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn a_forgery_is_reported_before_its_age() {
        let header = format!("t={},v1={}", NOW - 10_000, "ab".repeat(32));
        assert_eq!(
            check(&header, b"{}", &["whsec_a"], NOW),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn empty_and_non_utf8_bodies_are_refused() {
        let s = secret("whsec_a");
        assert_eq!(
            verify(
                Some(&sign(&s, NOW, b"")),
                b"",
                &[&s],
                NOW,
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::EmptyBody)
        );
        let body = b"{\xff}";
        assert_eq!(
            verify(
                Some(&sign(&s, NOW, body)),
                body,
                &[&s],
                NOW,
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::BodyNotUtf8)
        );
    }

    #[test]
    fn no_secret_means_nothing_verifies() {
        let s = secret("whsec_a");
        assert_eq!(
            verify(
                Some(&sign(&s, NOW, b"{}")),
                b"{}",
                &[],
                NOW,
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::NoActiveSecret)
        );
    }

    #[test]
    fn a_blank_or_placeholder_secret_verifies_nothing() {
        for (value, problem) in [
            (" \t\n", "it is blank"),
            ("changeme", "it does not start with whsec_"),
            (
                "whsec_abc",
                "it is too short (whsec_ and 16 or more characters)",
            ),
        ] {
            let weak = SigningSecret::new(value);
            // Signed with the weak secret itself, as a forger who guessed it would.
            let header = sign(&weak, NOW, b"{}");
            assert_eq!(
                verify(
                    Some(&header),
                    b"{}",
                    &[&weak],
                    NOW,
                    Duration::from_secs(300)
                ),
                Err(SignatureError::InvalidSecret { problem }),
                "{value:?}"
            );
        }
        // Beside a real secret, a weak one is ignored: the real one still verifies.
        let weak = SigningSecret::new("changeme");
        let real = secret("whsec_real");
        let header = sign(&real, NOW, b"{}");
        assert_eq!(
            verify(
                Some(&header),
                b"{}",
                &[&weak, &real],
                NOW,
                Duration::from_secs(300)
            )
            .map(|v| v.secret),
            Ok(1)
        );
        let forged = sign(&weak, NOW, b"{}");
        assert_eq!(
            verify(
                Some(&forged),
                b"{}",
                &[&weak, &real],
                NOW,
                Duration::from_secs(300)
            ),
            Err(SignatureError::NoMatchingSignature)
        );
    }
}
