//! Keeps the signing secrets at hand: read from Secrets Manager on first use, read again
//! once the copy is older than a short TTL, and read again at once when a signature
//! does not match (at most once per `mismatch_refresh_interval`, so a flood of forged
//! requests cannot turn into a flood of Secrets Manager calls), so a secret set with
//! `set-secret` verifies within seconds and without a redeploy.
//!
//! If a TTL refresh fails, the copy in hand keeps serving for up to `max_stale`: a
//! Secrets Manager hiccup should not turn into 5xx answers. Past that, it is an error.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::aws_errors::describe;
use crate::signing_secrets::{SecretFormatError, SigningSecrets};

#[derive(Debug, Clone)]
pub struct SecretTiming {
    pub ttl: Duration,
    pub mismatch_refresh_interval: Duration,
    pub max_stale: Duration,
    /// One GetSecretValue call may take this long.
    pub fetch_timeout: Duration,
}

impl Default for SecretTiming {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            mismatch_refresh_interval: Duration::from_secs(5),
            max_stale: Duration::from_secs(300),
            fetch_timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("reading the signing secret from Secrets Manager failed: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Format(#[from] SecretFormatError),
}

#[derive(Debug)]
enum Source {
    /// Fixed secrets, for a local relay started with `--secret`.
    Fixed(Arc<SigningSecrets>),
    SecretsManager(ManagedSecret),
}

#[derive(Debug)]
struct ManagedSecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    timing: SecretTiming,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    value: Option<Arc<SigningSecrets>>,
    /// When `value` was last read successfully.
    fetched_at: Option<Instant>,
    /// When a signature mismatch last caused a read. TTL reads do not count: the first
    /// mismatch after a rotation must look, however recently the TTL read happened.
    mismatch_read_at: Option<Instant>,
}

#[derive(Debug)]
pub struct SecretStore {
    source: Source,
}

impl SecretStore {
    pub fn fixed(secrets: SigningSecrets) -> Self {
        Self {
            source: Source::Fixed(Arc::new(secrets)),
        }
    }

    pub fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        timing: SecretTiming,
    ) -> Self {
        Self {
            source: Source::SecretsManager(ManagedSecret {
                client,
                secret_id: secret_id.into(),
                timing,
                cache: Mutex::new(Cache::default()),
            }),
        }
    }

    /// The secrets to verify with now.
    pub async fn current(&self) -> Result<Arc<SigningSecrets>, SecretError> {
        match &self.source {
            Source::Fixed(value) => Ok(value.clone()),
            Source::SecretsManager(managed) => managed.current().await,
        }
    }

    /// After a signature did not match: reads the secret again unless that was tried
    /// very recently, and returns the new value if it differs from `seen`.
    pub async fn refresh_after_mismatch(
        &self,
        seen: &SigningSecrets,
    ) -> Result<Option<Arc<SigningSecrets>>, SecretError> {
        match &self.source {
            Source::Fixed(_) => Ok(None),
            Source::SecretsManager(managed) => managed.refresh_after_mismatch(seen).await,
        }
    }
}

impl ManagedSecret {
    async fn current(&self) -> Result<Arc<SigningSecrets>, SecretError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if let (Some(value), Some(at)) = (&cache.value, cache.fetched_at)
            && now.duration_since(at) < self.timing.ttl
        {
            return Ok(value.clone());
        }
        match self.fetch().await {
            Ok(value) => Ok(cache.store(value, now)),
            Err(error) => match (&cache.value, cache.fetched_at) {
                (Some(value), Some(at)) if now.duration_since(at) < self.timing.max_stale => {
                    tracing::warn!(error = %error, "serving the previous signing secrets");
                    Ok(value.clone())
                }
                _ => Err(error),
            },
        }
    }

    async fn refresh_after_mismatch(
        &self,
        seen: &SigningSecrets,
    ) -> Result<Option<Arc<SigningSecrets>>, SecretError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if cache
            .mismatch_read_at
            .is_some_and(|at| now.duration_since(at) < self.timing.mismatch_refresh_interval)
        {
            return Ok(None);
        }
        cache.mismatch_read_at = Some(now);
        let value = self.fetch().await?;
        let changed = value != *seen;
        let stored = cache.store(value, now);
        Ok(changed.then_some(stored))
    }

    async fn fetch(&self) -> Result<SigningSecrets, SecretError> {
        let limit = self.timing.fetch_timeout;
        let call = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send();
        let output = match tokio::time::timeout(limit, call).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => return Err(SecretError::Unavailable(describe(&e))),
            Err(_) => {
                return Err(SecretError::Unavailable(format!(
                    "no answer within {} ms",
                    limit.as_millis()
                )));
            }
        };
        let text = output
            .secret_string()
            .ok_or_else(|| SecretError::Unavailable("the secret has no string value".into()))?;
        Ok(SigningSecrets::parse(text)?)
    }
}

impl Cache {
    fn store(&mut self, value: SigningSecrets, now: Instant) -> Arc<SigningSecrets> {
        let value = Arc::new(value);
        self.value = Some(value.clone());
        self.fetched_at = Some(now);
        value
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::Client;
    use aws_sdk_secretsmanager::config::retry::RetryConfig;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;

    fn value(secret: &'static str) -> impl Fn() -> GetSecretValueOutput + Send + Sync + 'static {
        move || {
            GetSecretValueOutput::builder()
                .secret_string(secret)
                .build()
        }
    }

    fn store(rule: &Rule, timing: SecretTiming) -> SecretStore {
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [rule], |c| c
            .retry_config(RetryConfig::disabled()));
        SecretStore::secrets_manager(client, "arn:secret", timing)
    }

    /// Secrets Manager answers the first read, then fails every read after it.
    fn answers_once_then_fails() -> Rule {
        mock!(Client::get_secret_value)
            .sequence()
            .output(value("whsec_a"))
            .http_status(500, None)
            .repeatedly()
            .build()
    }

    fn first(secrets: &SigningSecrets) -> &str {
        secrets.secrets[0].secret.expose()
    }

    #[tokio::test]
    async fn a_read_serves_until_the_ttl_is_up() {
        let rule = mock!(Client::get_secret_value)
            .sequence()
            .output(value("whsec_a"))
            .output(value("whsec_b"))
            .build();
        let store = store(&rule, SecretTiming::default());
        assert_eq!(first(&store.current().await.unwrap()), "whsec_a");
        assert_eq!(first(&store.current().await.unwrap()), "whsec_a");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_failed_refresh_serves_the_previous_copy_until_it_is_too_stale() {
        let rule = answers_once_then_fails();
        let lenient = store(
            &rule,
            SecretTiming {
                ttl: Duration::ZERO,
                ..SecretTiming::default()
            },
        );
        assert_eq!(first(&lenient.current().await.unwrap()), "whsec_a");
        assert_eq!(first(&lenient.current().await.unwrap()), "whsec_a");

        let rule = answers_once_then_fails();
        let strict = store(
            &rule,
            SecretTiming {
                ttl: Duration::ZERO,
                max_stale: Duration::ZERO,
                ..SecretTiming::default()
            },
        );
        strict.current().await.unwrap();
        assert!(matches!(
            strict.current().await,
            Err(SecretError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn a_mismatch_reads_again_at_most_once_per_interval() {
        let rule = mock!(Client::get_secret_value)
            .sequence()
            .output(value("whsec_a"))
            .output(value("whsec_b"))
            .output(value("whsec_c"))
            .build();
        let store = store(&rule, SecretTiming::default());
        let seen = store.current().await.unwrap();
        let fresh = store.refresh_after_mismatch(&seen).await.unwrap().unwrap();
        assert_eq!(first(&fresh), "whsec_b");
        assert_eq!(store.refresh_after_mismatch(&fresh).await.unwrap(), None);
        assert_eq!(rule.num_calls(), 2);
        // What the mismatch read found now serves every request.
        assert_eq!(first(&store.current().await.unwrap()), "whsec_b");
    }

    #[tokio::test]
    async fn an_unreadable_value_is_an_error_that_names_the_problem() {
        let rule = mock!(Client::get_secret_value)
            .sequence()
            .output(value(r#"{"version":9,"secrets":[]}"#))
            .build();
        let error = store(&rule, SecretTiming::default())
            .current()
            .await
            .unwrap_err();
        assert!(error.to_string().contains("version 9"), "{error}");
    }
}
