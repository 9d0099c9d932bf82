//! A webhook's signature verified and its event read, in one pass over the body: the
//! HMAC and the check that the body is one JSON object share a loop
//! (`signature::verify_json`, `mac_and_check`), and the routing fields come from the
//! members the check hands over (`stripe_event::EventFields`).

use std::time::Duration;

use crate::signature::{self, SignatureError, Verified};
use crate::signing_secrets::SigningSecret;
use crate::stripe_event::{EventError, EventFields, StripeEvent};

/// The verified body and its event, or why the body is not one. A signature that does
/// not verify is the error, whatever the body holds.
pub fn verify_and_read<'b>(
    header: Option<&str>,
    body: &'b [u8],
    secrets: &[&SigningSecret],
    now: i64,
    tolerance: Duration,
) -> Result<(Verified<'b>, Result<StripeEvent<'b>, EventError>), SignatureError> {
    let mut fields = EventFields::default();
    let (verified, checked) =
        signature::verify_json(header, body, secrets, now, tolerance, &mut |member| {
            fields.member(member)
        })?;
    Ok((verified, fields.into_event(checked)))
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
}
