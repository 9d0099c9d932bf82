//! A Lambda Runtime API on 127.0.0.1, for running the `bootstrap` that `package` zips as
//! Lambda runs it: the process polls `GET /2018-06-01/runtime/invocation/next`, gets an
//! event with its request id and deadline in headers, and posts its answer to
//! `…/invocation/{id}/response` (or `/error`; a failed start to `/runtime/init/error`),
//! as the "AWS Lambda runtime API" page of the Lambda Developer Guide gives it.
//!
//! Why not cargo-lambda's emulator: each test here sets its own deadline per invocation
//! (the relay must answer before it), and the benchmarks time a cold start to the first
//! poll; both are the emulator's own state, which this small one exposes, and it needs
//! no download.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// How the function answered one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `false` when the function reported an error instead of a response.
    pub ok: bool,
    pub body: Vec<u8>,
    /// When the answer arrived.
    pub at: Instant,
}

impl Answer {
    /// The answer as JSON (an API Gateway response, or the runtime's error document).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

struct Pending {
    id: String,
    event: Vec<u8>,
    deadline_ms: u64,
}

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    next_id: Mutex<u64>,
}

pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    state: Arc<State>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let serving = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| serve(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { address, state }
    }

    /// Hands `event` to the function with `budget` left before its deadline, and waits
    /// (at most `budget` and a second) for its answer.
    pub async fn invoke(&self, event: &serde_json::Value, budget: Duration) -> Option<Answer> {
        let id = {
            let mut next = self.state.next_id.lock().unwrap();
            *next += 1;
            format!("00000000-0000-4000-8000-{:012}", *next)
        };
        let deadline_ms = (SystemTime::now() + budget)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let (send, receive) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), send);
        self.state.queue.lock().unwrap().push_back(Pending {
            id,
            event: serde_json::to_vec(event).unwrap(),
            deadline_ms,
        });
        self.state.queued.notify_one();
        tokio::time::timeout(budget + Duration::from_secs(1), receive)
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// When the function first asked for an invocation: the end of its cold start.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.state.first_poll.lock().unwrap()
    }

    /// What the function reported if it could not start.
    pub fn init_error(&self) -> Option<String> {
        self.state.init_error.lock().unwrap().clone()
    }
}

async fn serve(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    match (method, route) {
        (Method::GET, "/invocation/next") => {
            state
                .first_poll
                .lock()
                .unwrap()
                .get_or_insert_with(Instant::now);
            let pending = loop {
                let notified = state.queued.notified();
                if let Some(pending) = state.queue.lock().unwrap().pop_front() {
                    break pending;
                }
                notified.await;
            };
            Ok(Response::builder()
                .header("Lambda-Runtime-Aws-Request-Id", &pending.id)
                .header(
                    "Lambda-Runtime-Deadline-Ms",
                    pending.deadline_ms.to_string(),
                )
                .header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:stripe-bridge-relay",
                )
                .header(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-6774b2c0-0d1f2e3a4b5c6d7e8f901234;Sampled=0",
                )
                .header("Content-Type", "application/json")
                .body(Full::new(Bytes::from(pending.event)))
                .unwrap())
        }
        (Method::POST, "/init/error") => {
            *state.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into());
            Ok(status(StatusCode::ACCEPTED))
        }
        (Method::POST, route) => {
            let Some(rest) = route.strip_prefix("/invocation/") else {
                return Ok(status(StatusCode::NOT_FOUND));
            };
            let (id, ok) = match (rest.strip_suffix("/response"), rest.strip_suffix("/error")) {
                (Some(id), _) => (id, true),
                (_, Some(id)) => (id, false),
                _ => return Ok(status(StatusCode::NOT_FOUND)),
            };
            if let Some(waiting) = state.waiting.lock().unwrap().remove(id) {
                let _ = waiting.send(Answer {
                    ok,
                    body,
                    at: Instant::now(),
                });
            }
            Ok(status(StatusCode::ACCEPTED))
        }
        _ => Ok(status(StatusCode::NOT_FOUND)),
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap()
}
