//! The one way the CLI calls Stripe's API: form-encoded requests (lists as `a[0]=x`,
//! maps as `m[k]=v`, as stripe-node writes them), the key as `Authorization: Bearer`,
//! the API version this client's types are written against, Stripe's error shape read
//! into one sentence, and Stripe's rate limits kept (paced under them, and a 429 or a
//! 5xx retried with backoff; every POST carries an `Idempotency-Key`, so a retried one
//! is done once).
//!
//! Why not async-stripe (the kept Rust client): the bridge needs two resources, and
//! resending an event (`POST /v1/events/{id}/retry`, what the Stripe CLI's `events
//! resend` calls) is in none of Stripe's SDKs, since it is not in Stripe's OpenAPI
//! spec; so a hand-written call was needed anyway. async-stripe would add its
//! generated crates to a build that already takes minutes, for two small objects. This
//! client is the hyper + rustls stack the CLI already carries, plus `form_urlencoded`.
//!
//! `STRIPE_API_BASE` sends every call to another host (tests); plain http only to this
//! machine, so a key never travels unencrypted.

use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::credentials::{ApiKey, Mode};
use crate::hint::hinted;

/// The API version this client's types follow (stripe-node 23.1.0's).
pub const API_VERSION: &str = "2026-10-28.endive";

const DEFAULT_BASE: &str = "https://api.stripe.com";

/// A request's fields, in order, as Stripe's form encoding writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn field(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.to_owned(), value.into()));
        self
    }

    /// `name[0]=a&name[1]=b`.
    pub fn list<S: AsRef<str>>(mut self, name: &str, values: &[S]) -> Self {
        for (i, value) in values.iter().enumerate() {
            self.0
                .push((format!("{name}[{i}]"), value.as_ref().to_owned()));
        }
        self
    }

    /// `name[key]=value` for each pair.
    pub fn map<'a>(
        mut self,
        name: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        for (key, value) in pairs {
            self.0.push((format!("{name}[{key}]"), value.to_owned()));
        }
        self
    }

    pub fn encode(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.0 {
            out.append_pair(name, value);
        }
        out.finish()
    }
}

/// What Stripe answered instead of the object: `{"error": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeError {
    #[serde(skip)]
    pub status: u16,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub param: Option<String>,
}

impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = self.message.trim_end_matches('.');
        match &self.code {
            Some(code) => write!(f, "Stripe answered {} ({code}): {message}", self.status),
            None => write!(f, "Stripe answered {}: {message}", self.status),
        }?;
        match &self.param {
            Some(param) if !message.contains(param.as_str()) => write!(f, " (parameter {param})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for StripeError {}

impl StripeError {
    pub fn is_missing(&self) -> bool {
        self.status == 404 || self.code.as_deref() == Some("resource_missing")
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: StripeError,
}

pub struct StripeClient {
    http: crate::https_client::HttpsClient,
    base: String,
    key: ApiKey,
    /// When the next request may go, to stay under Stripe's rate limit.
    next: Mutex<Instant>,
}

impl StripeClient {
    pub fn new(key: ApiKey) -> Result<Self> {
        let base = std::env::var("STRIPE_API_BASE")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| DEFAULT_BASE.to_owned());
        let base = base.trim_end_matches('/').to_owned();
        let uri: hyper::Uri = base
            .parse()
            .with_context(|| format!("STRIPE_API_BASE `{base}` is not a URL"))?;
        let loopback = matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            _ => {
                return Err(hinted(
                    format!("STRIPE_API_BASE `{base}` is not https"),
                    "the API key would travel unencrypted: use https (plain http only to 127.0.0.1)",
                ));
            }
        }
        Ok(Self {
            http: crate::https_client::new()?,
            base,
            key,
            next: Mutex::new(Instant::now()),
        })
    }

    pub fn mode(&self) -> Mode {
        self.key.mode
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Form,
        account: Option<&str>,
    ) -> Result<T> {
        self.call(Method::GET, path, query, account).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form,
        account: Option<&str>,
    ) -> Result<T> {
        self.call(Method::POST, path, form, account).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::DELETE, path, &Form::new(), None).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &Form,
        account: Option<&str>,
    ) -> Result<T> {
        let encoded = form.encode();
        let idempotency_key = (method == Method::POST).then(|| {
            format!(
                "stripe-bridge-{:016x}{:016x}",
                fastrand::u64(..),
                fastrand::u64(..)
            )
        });
        let mut backoff = Duration::from_millis(500);
        for attempt in 0.. {
            self.pace().await;
            let (uri, body) = if method == Method::POST {
                (format!("{}{path}", self.base), encoded.clone())
            } else if encoded.is_empty() {
                (format!("{}{path}", self.base), String::new())
            } else {
                (format!("{}{path}?{encoded}", self.base), String::new())
            };
            let mut request = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("Authorization", format!("Bearer {}", self.key.expose()))
                .header("Stripe-Version", API_VERSION)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header(
                    "User-Agent",
                    concat!("stripe-bridge/", env!("CARGO_PKG_VERSION")),
                );
            if let Some(key) = &idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(account) = account {
                request = request.header("Stripe-Account", account);
            }
            let request = request
                .body(Full::new(Bytes::from(body)))
                .context("cannot build the request to Stripe")?;
            let answer = async {
                let response = self.http.request(request).await?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await?.to_bytes();
                Ok::<_, anyhow::Error>((status, body))
            };
            let (status, body) = match tokio::time::timeout(Duration::from_secs(80), answer).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) | Err(_) if attempt < 3 => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    continue;
                }
                Ok(Err(e)) => {
                    return Err(e.context(format!("cannot reach Stripe's API at {}", self.base)));
                }
                Err(_) => anyhow::bail!("Stripe's API at {} did not answer within 80s", self.base),
            };
            if (status == 429 || status >= 500) && attempt < 5 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            if (200..300).contains(&status) {
                return serde_json::from_slice(&body).with_context(|| {
                    format!("Stripe's answer to {method} {path} is not what this client reads")
                });
            }
            let mut error = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_else(|_| StripeError {
                    status,
                    code: None,
                    message: String::from_utf8_lossy(&body).chars().take(200).collect(),
                    param: None,
                });
            error.status = status;
            return Err(self.explain(error));
        }
        unreachable!("the loop returns")
    }

    /// Stripe's error, with the fix where the key is what is wrong.
    fn explain(&self, error: StripeError) -> anyhow::Error {
        let source = &self.key.source;
        match error.status {
            401 => anyhow::Error::new(error).context(crate::hint::Hinted {
                message: format!("Stripe refused the API key from {source}"),
                hint: "check the key (https://dashboard.stripe.com/apikeys), or run `stripe login` again".to_owned(),
            }),
            403 => anyhow::Error::new(error).context(crate::hint::Hinted {
                message: format!("the API key from {source} may not do this"),
                hint: "give a restricted key these permissions: Webhook Endpoints write, Events read (Connect: also on connected accounts)".to_owned(),
            }),
            _ => anyhow::Error::new(error),
        }
    }

    /// Waits until the next request may go: 20 a second in test mode and 80 in live
    /// mode, under Stripe's 25 and 100.
    async fn pace(&self) {
        let gap = match self.key.mode {
            Mode::Test => Duration::from_millis(50),
            Mode::Live => Duration::from_millis(13),
        };
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = Instant::now().max(*next) + gap;
    }
}

/// An object Stripe lists: pages follow on from the last one's id.
pub trait Listed: DeserializeOwned {
    fn id(&self) -> &str;
}

#[derive(Deserialize)]
#[serde(bound = "T: Listed")]
struct Page<T> {
    data: Vec<T>,
    has_more: bool,
}

impl StripeClient {
    /// Every page of the list at `path` with `query`, 100 a page, following
    /// `starting_after` (as stripe-node's auto-pagination does).
    pub async fn list_all<T: Listed>(
        &self,
        path: &str,
        query: &Form,
        account: Option<&str>,
    ) -> Result<Vec<T>> {
        let mut all: Vec<T> = Vec::new();
        loop {
            let mut page_query = query.clone().field("limit", "100");
            if let Some(last) = all.last() {
                page_query = page_query.field("starting_after", last.id());
            }
            let page: Page<T> = self.get(path, &page_query, account).await?;
            let more = page.has_more && !page.data.is_empty();
            all.extend(page.data);
            if !more {
                return Ok(all);
            }
        }
    }
}

/// Whether an error is Stripe's "no such object".
pub fn is_missing(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<StripeError>()
        .is_some_and(StripeError::is_missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_maps_are_written_as_stripe_node_writes_them() {
        let form = Form::new()
            .field("url", "https://x.example/webhook?a=b")
            .list("enabled_events", &["invoice.paid", "customer.created"])
            .map("metadata", [("stripe_bridge", "b c")]);
        assert_eq!(
            form.encode(),
            "url=https%3A%2F%2Fx.example%2Fwebhook%3Fa%3Db&enabled_events%5B0%5D=invoice.paid&enabled_events%5B1%5D=customer.created&metadata%5Bstripe_bridge%5D=b+c"
        );
    }
}
