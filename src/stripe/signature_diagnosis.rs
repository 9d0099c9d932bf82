//! Why a `Stripe-Signature` header does or does not verify, in words a person can act
//! on. The verdict is always the relay's own verifier's: this module only adds the
//! explanation, by trying the usual ways a request gets changed on its way (a secret
//! copied with white space, a body re-serialised, a header retyped) and saying which
//! one turns the failure into a match.

use std::time::Duration;

use relay_function::reason::Reason;
use relay_function::signature::{self, SignatureError, SignatureHeader};
use relay_function::signing_secrets::SigningSecret;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub verified: bool,
    /// The reason code the relay would answer with (and notify), if it refused.
    pub reason: Option<Reason>,
    /// One sentence: what happened.
    pub summary: String,
    /// What to do about it.
    pub hints: Vec<String>,
    /// Which of the given secrets matched (0-based), if one did.
    pub matched_secret: Option<usize>,
    /// When Stripe signed, if the header says.
    pub signed_at: Option<i64>,
}

/// Reads `body` as the relay does after the signature verifies.
fn stripe_event(body: &[u8]) -> Result<(), relay_function::stripe_event::EventError> {
    let text = std::str::from_utf8(body).unwrap_or_default();
    relay_function::stripe_event::StripeEvent::parse(text).map(|_| ())
}

/// Checks `header` for `body` at Unix time `at` as the relay does, and explains the result.
pub fn diagnose(
    header: &str,
    body: &[u8],
    secrets: &[SigningSecret],
    at: i64,
    tolerance: Duration,
) -> Diagnosis {
    let signed_at = SignatureHeader::parse(header).ok().map(|h| h.timestamp);
    let header = (!header.is_empty()).then_some(header);
    let result = verify(header, body, secrets, at, tolerance);
    // The relay goes on to read the event; a body that is not one is refused too.
    let event = result.is_ok().then(|| stripe_event(body));
    let mut diagnosis = match &result {
        Ok(index) if let Some(Err(error)) = &event => Diagnosis {
            verified: false,
            reason: Some(Reason::InvalidEvent),
            summary: format!("the signature verifies, but {error}"),
            hints: vec![
                "Stripe sends an event as a JSON object with its id, type and created time: \
                 is this the body of a Stripe webhook request?"
                    .into(),
            ],
            matched_secret: Some(*index),
            signed_at,
        },
        Ok(index) => {
            let age = at - signed_at.unwrap_or(at);
            Diagnosis {
                verified: true,
                reason: None,
                summary: format!(
                    "verified: a v1 signature matches {}, and it was made {} (tolerance {} s)",
                    secrets[*index].masked(),
                    describe_age(age),
                    tolerance.as_secs()
                ),
                hints: Vec::new(),
                matched_secret: Some(*index),
                signed_at,
            }
        }
        Err(error) => refused(error, header.unwrap_or_default(), body, secrets, tolerance),
    };
    diagnosis.signed_at = signed_at;
    diagnosis
}

fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SigningSecret],
    at: i64,
    tolerance: Duration,
) -> Result<usize, SignatureError> {
    let secrets: Vec<&SigningSecret> = secrets.iter().collect();
    signature::verify(header, body, &secrets, at, tolerance).map(|verified| verified.secret)
}

fn refused(
    error: &SignatureError,
    header: &str,
    body: &[u8],
    secrets: &[SigningSecret],
    tolerance: Duration,
) -> Diagnosis {
    let (summary, hints): (String, Vec<String>) = match error {
        // The relay refuses such a secret (a 5xx, so Stripe retries until it is fixed);
        // say what a proper one would show, as for a mismatch.
        SignatureError::InvalidSecret { .. }
            if secrets.iter().all(|s| s.expose().trim().is_empty()) =>
        {
            (
                format!("{error}, and the relay verifies nothing with a blank secret"),
                vec!["pass the endpoint's signing secret with --secret whsec_… (Developers > Webhooks > your endpoint > Signing secret)".into()],
            )
        }
        SignatureError::InvalidSecret { .. } => {
            let repaired = mismatch(header, body, secrets, tolerance);
            let mut hints = repaired.hints;
            hints.push(
                "the relay verifies nothing with such a secret: set the endpoint's signing secret \
                 (whsec_…, Developers > Webhooks > your endpoint > Signing secret)"
                    .into(),
            );
            return Diagnosis {
                reason: Some(Reason::SecretInvalid),
                summary: format!("{error}; {}", repaired.summary),
                hints,
                ..repaired
            };
        }
        SignatureError::MissingHeader => (
            "the header is empty".into(),
            vec!["pass the value of the request's Stripe-Signature header: t=…,v1=…".into()],
        ),
        SignatureError::EmptyBody => (
            "the payload is empty".into(),
            vec!["pass the request body exactly as it arrived (the raw bytes, not a parsed object)".into()],
        ),
        SignatureError::BodyNotUtf8 => (
            "the payload is not UTF-8, and Stripe only sends UTF-8 JSON".into(),
            vec!["was the body saved in another encoding, or decoded and re-encoded? Pass the raw bytes as they arrived".into()],
        ),
        SignatureError::ByteOrderMark => (
            "the payload starts with a byte-order mark, which Stripe never sends".into(),
            vec!["an editor or a tool added it; save the body without a BOM (the relay refuses such bodies)".into()],
        ),
        SignatureError::MissingTimestamp => (
            "the header has no t= timestamp".into(),
            header_hints(header, "pass the whole Stripe-Signature value: t=…,v1=…"),
        ),
        SignatureError::DuplicateTimestamp => (
            "the header has more than one t= timestamp".into(),
            vec!["were two Stripe-Signature headers joined into one? Stripe sends one; the relay refuses two".into()],
        ),
        SignatureError::MalformedTimestamp => (
            "the header's t= is not a plain number of seconds".into(),
            header_hints(header, "copy the header exactly as Stripe sent it: t=1700000000,v1=…"),
        ),
        SignatureError::NoV1Signature { has_v0: true } => (
            "the header has no v1 signature, only v0: a test header from an old tool?".into(),
            vec!["Stripe signs every event with v1; send a real event (`stripe trigger`, or the `test` command to a bridge)".into()],
        ),
        SignatureError::NoV1Signature { has_v0: false } => (
            "the header has no v1 signature".into(),
            header_hints(header, "pass the whole Stripe-Signature value: t=…,v1=…"),
        ),
        SignatureError::NoActiveSecret => (
            "no signing secret was given".into(),
            vec!["pass the endpoint's signing secret with --secret whsec_…".into()],
        ),
        SignatureError::NoMatchingSignature => {
            return mismatch(header, body, secrets, tolerance);
        }
        SignatureError::TimestampTooOld { .. } | SignatureError::TimestampInFuture { .. } => {
            return out_of_tolerance(error, header, body, secrets);
        }
    };
    Diagnosis {
        verified: false,
        reason: Some(Reason::from(error)),
        summary,
        hints,
        matched_secret: None,
        signed_at: None,
    }
}

/// The signature is genuine, but not from now.
fn out_of_tolerance(
    error: &SignatureError,
    header: &str,
    body: &[u8],
    secrets: &[SigningSecret],
) -> Diagnosis {
    let signed_at = SignatureHeader::parse(header).map(|h| h.timestamp).ok();
    // Checked as of when it was signed, it verifies: say with which secret.
    let matched =
        signed_at.and_then(|t| verify(Some(header), body, secrets, t, Duration::from_secs(1)).ok());
    let ahead = matches!(error, SignatureError::TimestampInFuture { .. });
    let mut hints = Vec::new();
    if !ahead {
        hints.push("Stripe signs every delivery and every retry afresh, so an old signature is a replay, or a request saved and sent again".to_string());
    }
    if let Some(t) = signed_at {
        hints.push(format!(
            "to check a saved request as of when it was signed, pass --at {t}"
        ));
    }
    let clock = if ahead {
        "the clock of the machine that signed it, or of this one, is wrong"
    } else {
        "if it came straight from Stripe, this machine's clock is wrong"
    };
    hints.push(format!("{clock}: check it (e.g. `date -u`)"));
    Diagnosis {
        verified: false,
        reason: Some(Reason::from(error)),
        summary: format!(
            "the signature is genuine{}, but {error}",
            matched
                .map(|i| format!(" (signed with {})", secrets[i].masked()))
                .unwrap_or_default()
        ),
        hints,
        matched_secret: matched,
        signed_at,
    }
}

/// No v1 matches: find the change that would make one match, or say the two causes.
fn mismatch(
    header: &str,
    body: &[u8],
    secrets: &[SigningSecret],
    tolerance: Duration,
) -> Diagnosis {
    let signature_only = |header: &str, body: &[u8], secrets: &[SigningSecret]| {
        let timestamp = SignatureHeader::parse(header).map(|h| h.timestamp);
        timestamp.is_ok_and(|t| verify(Some(header), body, secrets, t, tolerance).is_ok())
    };
    let found = secret_repairs(secrets)
        .into_iter()
        .find(|(repaired, _)| signature_only(header, body, repaired))
        .map(|(_, what)| what)
        .or_else(|| {
            header_repairs(header)
                .into_iter()
                .find(|(repaired, _)| signature_only(repaired, body, secrets))
                .map(|(_, what)| what)
        })
        .or_else(|| {
            body_repairs(body)
                .into_iter()
                .find(|(repaired, _)| signature_only(header, repaired, secrets))
                .map(|(_, what)| what)
        });
    let given = secrets
        .iter()
        .map(SigningSecret::masked)
        .collect::<Vec<_>>()
        .join(", ");
    let (summary, hints) = match found {
        Some(what) => (
            format!("no v1 signature matches as given, but one does once {what}"),
            vec!["verify the bytes exactly as they arrived: the same body, the same header, the secret as Stripe shows it".into()],
        ),
        None => (
            format!(
                "no v1 signature matches: it was signed with a different secret than the one given ({given}), or the body differs from what Stripe signed"
            ),
            vec![
                "each webhook endpoint has its own signing secret, and `stripe listen` prints another: copy the one of the endpoint that sent this (Developers > Webhooks > endpoint > Signing secret)".into(),
                "the body must be the raw bytes that arrived: was it parsed and re-serialised, or a trailing newline added?".into(),
            ],
        ),
    };
    Diagnosis {
        verified: false,
        reason: Some(Reason::SignatureMismatch),
        summary,
        hints,
        matched_secret: None,
        signed_at: None,
    }
}

/// The secrets as people often mangle them, with what was wrong.
fn secret_repairs(secrets: &[SigningSecret]) -> Vec<(Vec<SigningSecret>, String)> {
    let mut repairs = Vec::new();
    for secret in secrets {
        let text = secret.expose();
        let trimmed = text.trim();
        if trimmed != text {
            repairs.push((
                vec![SigningSecret::new(trimmed)],
                format!(
                    "the white space around the secret {} is removed (the relay's set-secret removes it too)",
                    SigningSecret::new(trimmed).masked()
                ),
            ));
        }
        if !trimmed.starts_with("whsec_") {
            repairs.push((
                vec![SigningSecret::new(format!("whsec_{trimmed}"))],
                "the secret is given with its whsec_ prefix: the prefix is part of the key".into(),
            ));
        }
    }
    repairs
}

/// The header with the usual retyping undone.
fn header_repairs(header: &str) -> Vec<(String, String)> {
    let mut repairs = Vec::new();
    let trimmed: String = header
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",");
    if trimmed != header {
        repairs.push((
            trimmed,
            "the spaces in the header are removed (Stripe sends none)".to_string(),
        ));
    }
    let lowered = header.to_ascii_lowercase();
    if lowered != header {
        repairs.push((
            lowered,
            "the header is in lowercase (Stripe writes the scheme and the hex digits in lowercase)"
                .to_string(),
        ));
    }
    repairs
}

/// The body with the usual changes undone, with what the change was.
fn body_repairs(body: &[u8]) -> Vec<(Vec<u8>, String)> {
    let mut repairs = Vec::new();
    let trimmed = body.trim_ascii_end();
    if trimmed.len() != body.len() {
        repairs.push((
            trimmed.to_vec(),
            "the trailing newline (or white space) is removed from the body".to_string(),
        ));
    } else {
        repairs.push((
            [body, b"\n"].concat(),
            "a newline is added at the end of the body".to_string(),
        ));
    }
    let crlf = body.windows(2).any(|w| w == b"\r\n");
    if crlf {
        let lf = String::from_utf8_lossy(body).replace("\r\n", "\n");
        repairs.push((
            lf.into_bytes(),
            "the body's line endings are turned from CRLF into LF".into(),
        ));
    } else if body.contains(&b'\n') {
        let crlf = String::from_utf8_lossy(body).replace('\n', "\r\n");
        repairs.push((
            crlf.into_bytes(),
            "the body's line endings are turned from LF into CRLF, as sent".into(),
        ));
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let pretty = serde_json::to_vec_pretty(&value).unwrap_or_default();
        for (text, style) in [
            (
                [pretty.as_slice(), b"\n"].concat(),
                "Stripe's pretty-printed form",
            ),
            (pretty.clone(), "Stripe's pretty-printed form"),
            (
                serde_json::to_vec(&value).unwrap_or_default(),
                "compact form",
            ),
        ] {
            if text != body {
                repairs.push((
                    text,
                    format!(
                        "the body is written in {style}: it was parsed and re-serialised on its way"
                    ),
                ));
            }
        }
    }
    repairs
}

/// What a malformed header suggests was done to it.
fn header_hints(header: &str, default: &str) -> Vec<String> {
    let mut hints = Vec::new();
    if header.contains(' ') {
        hints.push("the header has spaces in it, and Stripe sends none: was it retyped or wrapped? Copy it exactly".into());
    }
    if header.contains("V1=") {
        hints.push("the scheme is written V1: Stripe writes v1, in lowercase".into());
    }
    if hints.is_empty() {
        hints.push(default.to_owned());
    }
    hints
}

fn describe_age(age: i64) -> String {
    match age {
        0 => "at the time checked".into(),
        a if a > 0 => format!("{a} s before the time checked"),
        a => format!("{} s after the time checked", -a),
    }
}
