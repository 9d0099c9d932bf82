//! The local relay: the relay library behind a plain HTTP/1.1 server on 127.0.0.1, as
//! `stripe-bridge dev` runs it. Each request is handled exactly as the Lambda handles
//! one from API Gateway; only the way it arrives differs.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use relay_function::outcome::Outcome;
use relay_function::reason::Reason;
use relay_function::relay::Relay;
use relay_function::webhook::WebhookRequest;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the local relay reports of each request it answered, and how long it took.
pub type Report = Arc<dyn Fn(&WebhookRequest, &Outcome, Duration) + Send + Sync>;

/// Serves `relay` on `listener` until `shutdown` completes. Each request must be
/// answered within `answer_within`, as the Lambda's deadline bounds it.
pub async fn serve(
    listener: TcpListener,
    relay: Arc<Relay>,
    answer_within: Duration,
    report: Report,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let requests = Arc::new(AtomicU64::new(0));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let (relay, report, requests) = (relay.clone(), report.clone(), requests.clone());
        let service = service_fn(move |request: Request<Incoming>| {
            let (relay, report) = (relay.clone(), report.clone());
            let id = format!("dev-{}", requests.fetch_add(1, Ordering::Relaxed) + 1);
            async move { Ok::<_, Infallible>(answer(&relay, request, id, answer_within, &report).await) }
        });
        tokio::spawn(async move {
            // A client that hangs up early is its own business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    relay: &Relay,
    request: Request<Incoming>,
    request_id: String,
    answer_within: Duration,
    report: &Report,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let deadline = started + answer_within;
    let (parts, body) = request.into_parts();
    // Read no more than the relay takes, as API Gateway caps what it passes on.
    let body = match Limited::new(body, relay.max_body_bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Reason::PayloadTooLarge),
        Err(_) => Err(Reason::InvalidBody),
    };
    let request = WebhookRequest::from_http(
        parts.method.as_str(),
        parts.uri.path(),
        &parts.headers,
        body,
        request_id,
    );
    let outcome = Box::pin(relay.handle(&request, deadline)).await;
    report(&request, &outcome, started.elapsed());
    let response = outcome.response();
    Response::builder()
        .status(response.status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(response.body)))
        .expect("a status and a header make a response")
}
