//! A webhook's signature verified, then its event read: verify first, with the `hmac`
//! crate (`signature::verify`), and only a body that verified is parsed
//! (`StripeEvent::parse`, serde_json). Whatever a forged body holds, it is never read as
//! JSON: it costs its HMAC and no more.

use std::time::Duration;

use crate::signature::{self, SignatureError, Verified};
use crate::signing_secrets::SigningSecret;
use crate::stripe_event::{EventError, StripeEvent};

/// The verified body and its event, or why the body is not one. A signature that does
/// not verify is the error, whatever the body holds.
pub fn verify_and_read<'b>(
    header: Option<&str>,
    body: &'b [u8],
    secrets: &[&SigningSecret],
    now: i64,
    tolerance: Duration,
) -> Result<(Verified<'b>, Result<StripeEvent<'b>, EventError>), SignatureError> {
    let verified = signature::verify(header, body, secrets, now, tolerance)?;
    Ok((verified, StripeEvent::parse(verified.body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600;

    fn secret() -> SigningSecret {
        SigningSecret::new("whsec_verifiedEventTest0000000000")
    }

    /// `verify_and_read` of `body` with `header`, with the test's secret, now.
    fn read<'b>(
        header: &str,
        body: &'b str,
    ) -> Result<(Verified<'b>, Result<StripeEvent<'b>, EventError>), SignatureError> {
        let tolerance = signature::DEFAULT_TOLERANCE;
        verify_and_read(Some(header), body.as_bytes(), &[&secret()], NOW, tolerance)
    }

    #[test]
    fn reads_the_event_of_a_signed_body_as_parse_does() {
        let body = include_str!("../../tests/fixtures/events/invoice.paid.json");
        let header = signature::sign(&secret(), NOW, body.as_bytes());
        let (verified, event) = read(&header, body).unwrap();
        assert_eq!(verified.body, body);
        assert_eq!(event, StripeEvent::parse(body));
        assert!(event.is_ok());
    }

    #[test]
    fn a_signed_body_that_is_not_json_is_an_event_error_and_a_forged_one_a_signature_error() {
        for body in ["{\"id\": \"evt_1\"", "not json", "{\"id\": 1} {}"] {
            let header = signature::sign(&secret(), NOW, body.as_bytes());
            let (_, event) = read(&header, body).unwrap();
            assert_eq!(event, Err(EventError::NotJsonObject), "{body}");

            let forged = format!("{body} ");
            assert_eq!(
                read(&header, &forged).map(|_| ()),
                Err(SignatureError::NoMatchingSignature),
                "{body}"
            );
        }
    }

    /// A forged body is refused as forged before anything reads it: whatever its shape
    /// (many escaped keys, deep nesting, not JSON at all), the answer is the signature's.
    #[test]
    fn a_forged_body_is_never_read() {
        let header = signature::sign(&secret(), NOW, b"{}");
        let escaped_keys = format!("{{{}\"\\n\":0}}", "\"\\n\":0,".repeat(50_000));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for body in [
            escaped_keys.as_str(),
            deep.as_str(),
            "not json",
            "{\"id\":\"evt_1\"}",
        ] {
            assert_eq!(
                read(&header, body).map(|_| ()),
                Err(SignatureError::NoMatchingSignature)
            );
        }
    }
}
