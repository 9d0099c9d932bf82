//! The relay's settings, read from the Lambda's environment (the stack sets them).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `EVENT_BUS_NAME` | the bus events go to (name or ARN) | required |
//! | `SIGNING_SECRET_ARN` | the Secrets Manager secret with the signing secrets | required |
//! | `FAILURE_TOPIC_ARN` | the SNS topic for failure notices | none: no notices |
//! | `CLAIM_CHECK_BUCKET` | the S3 bucket for events over the bus limit | none: such events get a 5xx |
//! | `BRIDGE_NAME` | the bridge's name, in notices | `stripe-bridge` |
//! | `WEBHOOK_PATH` | the only path that is served | `/webhook` |
//! | `SIGNATURE_TOLERANCE_SECONDS` | how old (or how far ahead) a signature may be | `300` |
//! | `MAX_ENTRY_BYTES` | EventBridge's entry limit | `1048576` |
//! | `CLAIM_CHECK_OVER_BYTES` | larger events go as a claim check (with a bucket) | `245760` |
//! | `MAX_BODY_BYTES` | the largest request body read | `4194304` |
//! | `SECRET_TTL_SECONDS` | how long a read of the secret is used | `30` |
//! | `NOTICE_INTERVAL_SECONDS` | at most one notice per reason this often | `60` |

use std::time::Duration;

use crate::bus_entry::{DEFAULT_CLAIM_CHECK_OVER_BYTES, DEFAULT_MAX_ENTRY_BYTES};
use crate::signature::DEFAULT_TOLERANCE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub bridge_name: String,
    pub event_bus: String,
    pub secret_id: String,
    pub failure_topic_arn: Option<String>,
    pub claim_check_bucket: Option<String>,
    pub webhook_path: String,
    pub tolerance: Duration,
    pub max_entry_bytes: usize,
    pub claim_check_over_bytes: usize,
    pub max_body_bytes: usize,
    pub secret_ttl: Duration,
    pub notice_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set; the stack sets it, so redeploy with `stripe-bridge deploy`")]
    Missing(&'static str),
    #[error("{name} must be a whole number from {min} to {max}, not `{value}`")]
    OutOfRange {
        name: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
}

impl RelayConfig {
    /// Settings with every default, for the given bus and secret.
    pub fn new(event_bus: impl Into<String>, secret_id: impl Into<String>) -> Self {
        Self {
            bridge_name: "stripe-bridge".into(),
            event_bus: event_bus.into(),
            secret_id: secret_id.into(),
            failure_topic_arn: None,
            claim_check_bucket: None,
            webhook_path: "/webhook".into(),
            tolerance: DEFAULT_TOLERANCE,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
            claim_check_over_bytes: DEFAULT_CLAIM_CHECK_OVER_BYTES,
            max_body_bytes: 4 * 1024 * 1024,
            secret_ttl: Duration::from_secs(30),
            notice_interval: Duration::from_secs(60),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let number = |name: &'static str, default: u64, min: u64, max: u64| match get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or(ConfigError::OutOfRange {
                    name,
                    value,
                    min,
                    max,
                }),
        };
        let defaults = Self::new(required("EVENT_BUS_NAME")?, required("SIGNING_SECRET_ARN")?);
        Ok(Self {
            bridge_name: get("BRIDGE_NAME").unwrap_or(defaults.bridge_name),
            failure_topic_arn: get("FAILURE_TOPIC_ARN"),
            claim_check_bucket: get("CLAIM_CHECK_BUCKET"),
            webhook_path: get("WEBHOOK_PATH").unwrap_or(defaults.webhook_path),
            tolerance: Duration::from_secs(number(
                "SIGNATURE_TOLERANCE_SECONDS",
                defaults.tolerance.as_secs(),
                1,
                86_400,
            )?),
            max_entry_bytes: number(
                "MAX_ENTRY_BYTES",
                defaults.max_entry_bytes as u64,
                1024,
                16 * 1024 * 1024,
            )? as usize,
            claim_check_over_bytes: number(
                "CLAIM_CHECK_OVER_BYTES",
                defaults.claim_check_over_bytes as u64,
                1024,
                16 * 1024 * 1024,
            )? as usize,
            max_body_bytes: number(
                "MAX_BODY_BYTES",
                defaults.max_body_bytes as u64,
                1024,
                6 * 1024 * 1024,
            )? as usize,
            secret_ttl: Duration::from_secs(number(
                "SECRET_TTL_SECONDS",
                defaults.secret_ttl.as_secs(),
                1,
                3_600,
            )?),
            notice_interval: Duration::from_secs(number(
                "NOTICE_INTERVAL_SECONDS",
                defaults.notice_interval.as_secs(),
                0,
                86_400,
            )?),
            ..defaults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<RelayConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RelayConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_fill_what_is_not_set() {
        let config = from(&[("EVENT_BUS_NAME", "bus"), ("SIGNING_SECRET_ARN", "arn")]).unwrap();
        assert_eq!(config, RelayConfig::new("bus", "arn"));
    }

    #[test]
    fn settings_are_read_and_checked() {
        let config = from(&[
            ("EVENT_BUS_NAME", "bus"),
            ("SIGNING_SECRET_ARN", "arn"),
            ("SIGNATURE_TOLERANCE_SECONDS", "60"),
            ("MAX_ENTRY_BYTES", "262144"),
            ("CLAIM_CHECK_OVER_BYTES", "65536"),
            ("CLAIM_CHECK_BUCKET", "b"),
        ])
        .unwrap();
        assert_eq!(config.tolerance, Duration::from_secs(60));
        assert_eq!(config.max_entry_bytes, 262_144);
        assert_eq!(config.claim_check_over_bytes, 65_536);
        assert_eq!(config.claim_check_bucket.as_deref(), Some("b"));

        let err = from(&[
            ("EVENT_BUS_NAME", "bus"),
            ("SIGNING_SECRET_ARN", "arn"),
            ("SIGNATURE_TOLERANCE_SECONDS", "0"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SIGNATURE_TOLERANCE_SECONDS must be a whole number from 1 to 86400, not `0`"
        );
        assert_eq!(
            from(&[("EVENT_BUS_NAME", "bus")]).unwrap_err(),
            ConfigError::Missing("SIGNING_SECRET_ARN")
        );
    }
}
