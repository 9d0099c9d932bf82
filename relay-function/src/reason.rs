//! Why a request was not relayed: one code per cause, shared by the answer to Stripe,
//! the failure notice and the log line, so an operator can follow one code everywhere.

use serde::Serialize;

use crate::signature::SignatureError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Not a POST.
    MethodNotAllowed,
    /// Not the webhook path.
    NotFound,
    /// The body is over the relay's size limit.
    PayloadTooLarge,
    /// The body could not be decoded (bad base64), or is empty or not UTF-8.
    InvalidBody,
    /// No `Stripe-Signature` header.
    MissingSignature,
    /// A `Stripe-Signature` header without a usable timestamp or v1 signature.
    MalformedSignature,
    /// No v1 signature matches any active signing secret.
    SignatureMismatch,
    /// The signature matches, but its timestamp is outside the tolerance.
    TimestampOutsideTolerance,
    /// The signature matches, but the body is not a Stripe event.
    InvalidEvent,
    /// The bridge's secret holds no active signing secret (run `set-secret`).
    SecretNotConfigured,
    /// Secrets Manager could not be read.
    SecretUnavailable,
    /// The stored value holds no usable signing secret: blank, malformed, a placeholder,
    /// or not a Stripe signing secret (run `set-secret` with the endpoint's `whsec_…`).
    SecretInvalid,
    /// The event is over the bus limit and no claim-check bucket is configured.
    EntryTooLarge,
    /// The oversized event could not be stored in S3.
    ClaimCheckFailed,
    /// EventBridge did not take the event.
    RelayFailed,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Self::MethodNotAllowed,
        Self::NotFound,
        Self::PayloadTooLarge,
        Self::InvalidBody,
        Self::MissingSignature,
        Self::MalformedSignature,
        Self::SignatureMismatch,
        Self::TimestampOutsideTolerance,
        Self::InvalidEvent,
        Self::SecretNotConfigured,
        Self::SecretUnavailable,
        Self::SecretInvalid,
        Self::EntryTooLarge,
        Self::ClaimCheckFailed,
        Self::RelayFailed,
    ];

    /// The HTTP status Stripe gets. 4xx: the request itself is wrong. 5xx: the bridge
    /// could not do its part; Stripe retries either way, but only a 5xx is our fault.
    pub fn status(self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::NotFound => 404,
            Self::PayloadTooLarge => 413,
            Self::InvalidBody
            | Self::MissingSignature
            | Self::MalformedSignature
            | Self::SignatureMismatch
            | Self::TimestampOutsideTolerance
            | Self::InvalidEvent => 400,
            Self::SecretNotConfigured
            | Self::SecretUnavailable
            | Self::SecretInvalid
            | Self::EntryTooLarge
            | Self::ClaimCheckFailed
            | Self::RelayFailed => 500,
        }
    }

    /// Whether the request failed before it proved it came from Stripe. Anyone can send
    /// such a request, so it is never notified one by one: it is counted, and a burst
    /// alarm watches the count.
    pub fn is_unverified(self) -> bool {
        match self {
            Self::MethodNotAllowed
            | Self::NotFound
            | Self::PayloadTooLarge
            | Self::InvalidBody
            | Self::MissingSignature
            | Self::MalformedSignature
            | Self::SignatureMismatch
            // A valid signature too old or too new is a replayed request, not a delivery.
            | Self::TimestampOutsideTolerance => true,
            // Signed by Stripe, or failing on the bridge's side before anything is known.
            Self::InvalidEvent
            | Self::SecretNotConfigured
            | Self::SecretUnavailable
            | Self::SecretInvalid
            | Self::EntryTooLarge
            | Self::ClaimCheckFailed
            | Self::RelayFailed => false,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotFound => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidBody => "invalid_body",
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature => "malformed_signature",
            Self::SignatureMismatch => "signature_mismatch",
            Self::TimestampOutsideTolerance => "timestamp_outside_tolerance",
            Self::InvalidEvent => "invalid_event",
            Self::SecretNotConfigured => "secret_not_configured",
            Self::SecretUnavailable => "secret_unavailable",
            Self::SecretInvalid => "secret_invalid",
            Self::EntryTooLarge => "entry_too_large",
            Self::ClaimCheckFailed => "claim_check_failed",
            Self::RelayFailed => "relay_failed",
        }
    }
}

impl From<&SignatureError> for Reason {
    fn from(error: &SignatureError) -> Self {
        match error {
            SignatureError::MissingHeader => Self::MissingSignature,
            SignatureError::EmptyBody
            | SignatureError::BodyNotUtf8
            | SignatureError::ByteOrderMark => Self::InvalidBody,
            SignatureError::MissingTimestamp
            | SignatureError::DuplicateTimestamp
            | SignatureError::MalformedTimestamp
            | SignatureError::NoV1Signature { .. } => Self::MalformedSignature,
            SignatureError::NoMatchingSignature => Self::SignatureMismatch,
            SignatureError::NoActiveSecret => Self::SecretNotConfigured,
            SignatureError::InvalidSecret { .. } => Self::SecretInvalid,
            SignatureError::TimestampTooOld { .. } | SignatureError::TimestampInFuture { .. } => {
                Self::TimestampOutsideTolerance
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_serialises_as_its_code() {
        for reason in Reason::ALL {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::from(reason.code())
            );
        }
    }
}
