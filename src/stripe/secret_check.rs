//! What makes a string a Stripe webhook signing secret, and what it is when it is not:
//! people paste API keys, cut secrets short, or add white space. Errors never repeat
//! the text. Pure.

use anyhow::{Result, bail};
use relay_function::signing_secrets::{MIN_SECRET_CHARS as MIN_LENGTH, SigningSecret};

/// What follows `whsec_`: a Dashboard endpoint's secret has 32 letters and digits, and
/// `stripe listen`'s has 64 hex digits. Fewer than the relay's minimum is a secret cut
/// short (the relay refuses it too); more than 128 is more than a secret.
const MAX_LENGTH: usize = 128;

/// Whether `text` is a Stripe API key (secret, restricted or publishable), which people
/// paste where the signing secret belongs.
pub fn is_api_key(text: &str) -> bool {
    ["sk_", "rk_", "pk_"]
        .iter()
        .any(|prefix| text.trim().starts_with(prefix))
}

/// Checks that `text`, without white space around it, is a webhook signing secret, and
/// says what it is if it is not. The error never repeats the text.
pub fn check(text: &str) -> Result<SigningSecret> {
    let trimmed = text.trim();
    if is_api_key(trimmed) {
        bail!(
            "you pasted an API key; the signing secret starts with whsec_ and is on the webhook \
             endpoint's page in Stripe (Developers > Webhooks > your endpoint > Signing secret)"
        );
    }
    let Some(rest) = trimmed.strip_prefix("whsec_") else {
        bail!(
            "that is not a Stripe webhook signing secret: those start with whsec_ (Developers > \
             Webhooks > your endpoint > Signing secret)"
        );
    };
    if rest.len() < MIN_LENGTH || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!(
            "that secret looks cut short or mangled: after whsec_ come {MIN_LENGTH} or more letters and digits; copy it again"
        );
    }
    if rest.len() > MAX_LENGTH {
        bail!(
            "that secret is {} characters long, longer than any Stripe makes (at most {MAX_LENGTH} after whsec_): \
             was more than the secret pasted? Copy it again",
            trimmed.len()
        );
    }
    Ok(SigningSecret::new(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_as_long_as_stripes_are() {
        assert!(check(&format!("whsec_{}", "a".repeat(32))).is_ok());
        assert!(check(&format!("whsec_{}", "0f".repeat(32))).is_ok());
        let error = check(&format!("whsec_{}", "a".repeat(5_000)))
            .unwrap_err()
            .to_string();
        assert!(error.contains("longer than any Stripe makes"), "{error}");
        assert!(!error.contains("aaaa"), "{error}");
        assert!(check("whsec_short").is_err());
    }

    #[test]
    fn api_keys_of_every_kind_are_recognised() {
        for key in ["sk_live_abc", " rk_test_abc", "pk_live_abc"] {
            assert!(is_api_key(key), "{key}");
        }
        assert!(!is_api_key("whsec_abc"));
    }
}
