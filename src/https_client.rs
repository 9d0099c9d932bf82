//! The one HTTPS client set-up the CLI's own requests use (the webhook client's, and
//! Stripe's API): hyper over rustls with aws-lc-rs, the stack the AWS SDK already
//! brings, trusting this machine's certificates; plain http where a URL asks for it.

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub fn new() -> Result<HttpsClient> {
    let tls = rustls::ClientConfig::builder_with_provider(
        rustls::crypto::aws_lc_rs::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .context("cannot set up TLS")?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(
            hyper_rustls::ConfigBuilderExt::with_native_roots(tls)
                .context("cannot load this machine's trusted certificates")?
                .with_no_client_auth(),
        )
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}
