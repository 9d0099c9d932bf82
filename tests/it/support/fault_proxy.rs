//! A fault layer between the relay and AWS: an HTTP proxy on 127.0.0.1 in front of the
//! emulator that, for one AWS operation, answers a share of the calls with a fault
//! instead of (or after) passing them on. Everything else passes through untouched.
//!
//! The faults are the ones AWS really produces: throttling, a 500, a call that never
//! answers (before or after the emulator did the work), a 200 PutEvents answer that
//! reports the entry failed, and a 500 after the work was done (the answer lost).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 400 ThrottlingException; nothing done.
    Throttle,
    /// 500 InternalException; nothing done.
    ServerError,
    /// No answer for `hang`; nothing done.
    Hang,
    /// Passed on and done, then no answer for `hang`.
    HangAfterDone,
    /// PutEvents only: a 200 answer whose entry failed (ThrottlingException); nothing done.
    FailedEntry,
    /// Passed on and done, then a 500.
    AnswerLost,
}

/// Which calls to fault, how often, and with what.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The operation: `AWSEvents.PutEvents`, `secretsmanager.GetSecretValue` (the
    /// X-Amz-Target of JSON protocols), or `Action=Publish` (SNS's query protocol).
    pub operation: &'static str,
    /// The share of its calls that get a fault, 0.0 to 1.0.
    pub rate: f64,
    pub faults: Vec<Fault>,
    /// How long a hanging call hangs.
    pub hang: Duration,
}

#[derive(Debug, Default)]
pub struct Counts {
    pub calls: AtomicU64,
    pub faulted: AtomicU64,
}

pub struct FaultProxy {
    pub endpoint: String,
    pub counts: Arc<Counts>,
    plan: Arc<Mutex<Option<Plan>>>,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream`, passing everything through until a plan
    /// is set. `seed` makes the faults repeatable.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Counts::default());
        let plan: Arc<Mutex<Option<Plan>>> = Arc::new(Mutex::new(None));
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.to_owned();
        let (task_counts, task_plan) = (counts.clone(), plan.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (client, upstream, counts, plan, rng) = (
                    client.clone(),
                    upstream.clone(),
                    task_counts.clone(),
                    task_plan.clone(),
                    rng.clone(),
                );
                let service = service_fn(move |request: Request<Incoming>| {
                    let (client, upstream, counts, plan, rng) = (
                        client.clone(),
                        upstream.clone(),
                        counts.clone(),
                        plan.clone(),
                        rng.clone(),
                    );
                    async move {
                        Ok::<_, Infallible>(
                            handle(request, &client, &upstream, &counts, &plan, &rng).await,
                        )
                    }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            endpoint,
            counts,
            plan,
        }
    }

    pub fn set_plan(&self, plan: Option<Plan>) {
        *self.plan.lock().unwrap() = plan;
        self.counts.calls.store(0, Ordering::Relaxed);
        self.counts.faulted.store(0, Ordering::Relaxed);
    }
}

async fn handle(
    request: Request<Incoming>,
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
    counts: &Counts,
    plan: &Mutex<Option<Plan>>,
    rng: &Mutex<fastrand::Rng>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let plan = plan.lock().unwrap().clone();
    let fault = plan.as_ref().and_then(|plan| {
        let matches = target == plan.operation
            || (plan.operation.starts_with("Action=")
                && String::from_utf8_lossy(&body).contains(plan.operation));
        if !matches {
            return None;
        }
        counts.calls.fetch_add(1, Ordering::Relaxed);
        let mut rng = rng.lock().unwrap();
        (rng.f64() < plan.rate).then(|| plan.faults[rng.usize(..plan.faults.len())])
    });
    let hang = plan.as_ref().map_or(Duration::ZERO, |p| p.hang);
    if fault.is_some() {
        counts.faulted.fetch_add(1, Ordering::Relaxed);
    }
    let json_error = |status: u16, kind: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", kind)
            .body(Full::new(Bytes::from(format!(
                r#"{{"__type":"{kind}","message":"injected by the fault proxy"}}"#
            ))))
            .unwrap()
    };
    match fault {
        Some(Fault::Throttle) => return json_error(400, "ThrottlingException"),
        Some(Fault::ServerError) => return json_error(500, "InternalException"),
        Some(Fault::Hang) => {
            tokio::time::sleep(hang).await;
            return json_error(500, "InternalException");
        }
        Some(Fault::FailedEntry) => {
            return Response::builder()
                .status(200)
                .header("content-type", "application/x-amz-json-1.1")
                .body(Full::new(Bytes::from_static(
                    br#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"ThrottlingException","ErrorMessage":"injected by the fault proxy"}]}"#,
                )))
                .unwrap();
        }
        _ => {}
    }
    let mut forward = Request::builder().method(parts.method.clone()).uri(format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    ));
    for (name, value) in &parts.headers {
        forward = forward.header(name, value);
    }
    let answer = match client.request(forward.body(Full::new(body)).unwrap()).await {
        Ok(answer) => answer,
        Err(_) => return json_error(502, "InternalException"),
    };
    let (answer_parts, answer_body) = answer.into_parts();
    let answer_body = answer_body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    match fault {
        Some(Fault::HangAfterDone) => {
            tokio::time::sleep(hang).await;
            json_error(500, "InternalException")
        }
        Some(Fault::AnswerLost) => json_error(500, "InternalException"),
        _ => Response::from_parts(answer_parts, Full::new(answer_body)),
    }
}
