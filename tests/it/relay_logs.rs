//! One JSON log line per request, with what an operator searches for, and never the
//! signing secret or the signature.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_runtime::tracing::{Dispatch, dispatcher};
use relay_function::lambda;
use relay_function::relay::Relay;

use crate::support::aws::Bridge;
use crate::support::stripe::{self, SECRET, invocation, request, sign};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> lambda_runtime::tracing::subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn each_request_logs_one_json_line_without_secrets() {
    let bridge = Bridge::create(SECRET).await;
    let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
    let logs = Captured::default();
    // This test's thread only: the tests run side by side.
    let _logging = dispatcher::set_default(&Dispatch::new(lambda::json_logs(logs.clone())));

    let body = stripe::event("evt_logged", "invoice.paid");
    let good = sign(SECRET, body.as_bytes());
    let forged = sign("whsec_forger0000000000000000", body.as_bytes());
    // Other tests' threads run the relay with no subscriber at the same time, and a
    // callsite that one of them is registering just then may skip this thread's
    // subscriber once: register them with a first request, ask every callsite again,
    // and only then capture.
    let warm_up = request(b"{}", &[]);
    lambda::handle(&relay, invocation(warm_up, Duration::from_secs(10))).await;
    lambda_runtime::tracing::callsite::rebuild_interest_cache();
    logs.0.lock().unwrap().clear();
    for header in [&good, &forged] {
        let req = request(body.as_bytes(), &[("Stripe-Signature", header)]);
        lambda::handle(&relay, invocation(req, Duration::from_secs(10))).await;
    }

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|l: &serde_json::Value| l["message"] == "webhook")
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["event_id"], "evt_logged");
    assert_eq!(lines[0]["event_type"], "invoice.paid");
    assert_eq!(lines[0]["outcome"], "relayed");
    assert_eq!(lines[0]["status"], 200);
    assert!(lines[0]["latency_ms"].is_u64());
    assert_eq!(lines[1]["outcome"], "rejected");
    assert_eq!(lines[1]["reason"], "signature_mismatch");
    for secret_text in [SECRET, "whsec_forger", &good[2..], &forged[2..], "v1="] {
        assert!(
            !text.contains(secret_text),
            "the logs contain {secret_text}: {text}"
        );
    }
}
