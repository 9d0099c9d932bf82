//! Sends one webhook request the way Stripe's servers send it: a POST with a JSON body
//! and a `Stripe-Signature` header, over HTTPS (or plain HTTP, for a local relay).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use tokio::time::Instant;

/// What the endpoint answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub elapsed: Duration,
}

/// Checks that `url` is one a webhook can be sent to.
pub fn parse_url(url: &str) -> Result<Uri> {
    let uri: Uri = url.parse().with_context(|| {
        format!(
            "`{url}` is not a URL (e.g. https://abc123.execute-api.us-east-1.amazonaws.com/webhook)"
        )
    })?;
    match uri.scheme_str() {
        Some("https" | "http") if uri.host().is_some() => Ok(uri),
        _ => bail!(
            "`{url}` is not an http(s) URL (e.g. https://abc123.execute-api.us-east-1.amazonaws.com/webhook, or http://127.0.0.1:8787/webhook)"
        ),
    }
}

/// POSTs `body` signed with `signature` to `url`, waiting at most `timeout`.
pub async fn post(url: &Uri, signature: &str, body: String, timeout: Duration) -> Result<Answer> {
    let client = crate::https_client::new()?;
    let request = Request::builder()
        .method(Method::POST)
        .uri(url.clone())
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .header(USER_AGENT, "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .header("Stripe-Signature", signature)
        .body(Full::new(Bytes::from(body)))
        .context("cannot build the request")?;

    let started = Instant::now();
    let exchange = async {
        let response = client.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((status, body))
    };
    let (status, body) = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "{url} did not answer within {}",
                humantime::format_duration(timeout)
            )
        })?
        // The caller names the URL.
        .context("cannot connect")?;
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        elapsed: started.elapsed(),
    })
}
