//! A burst of forged requests mails nobody per request (issue 12, point 4): the relay
//! counts unverified requests in its metrics, and one alarm in the stack watches the
//! count (`UnverifiedBurstAlarm`, tested in template.rs).

use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use relay_function::lambda;
use relay_function::relay::Relay;
use relay_function::relay_metrics;
use serde_json::json;

use crate::support::aws::Bridge;
use crate::support::evidence;
use crate::support::stripe::{self, SECRET, invocation, request, sign, signed_request};

/// Lambda execution environments the burst is spread over: each has its own relay, and
/// so its own notice limiter, as the old per-environment limit did not account for.
const ENVIRONMENTS: usize = 200;
const REQUESTS_EACH: usize = 50;

/// The kinds of request anyone can send without the signing secret.
fn forged(n: usize) -> ApiGatewayV2httpRequest {
    let body = stripe::event(&format!("evt_forged{n}"), "invoice.paid");
    match n % 4 {
        0 => signed_request("whsec_attackerGuessedThisOne000000", &body),
        1 => request(body.as_bytes(), &[]),
        2 => request(body.as_bytes(), &[("Stripe-Signature", "t=1,v1=00")]),
        _ => {
            let mut elsewhere = request(
                body.as_bytes(),
                &[("Stripe-Signature", &sign(SECRET, b"{}"))],
            );
            elsewhere.request_context.http.path = Some("/admin".into());
            // Only a `$default` or catch-all route would bring it to the relay at all.
            elsewhere.route_key = Some("ANY /{proxy+}".into());
            elsewhere.request_context.route_key = Some("ANY /{proxy+}".into());
            elsewhere
        }
    }
}

#[test]
fn ten_thousand_forged_requests_put_no_notice_on_the_topic_and_are_all_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The recorder is this thread's only, and the runtime runs every task on this thread.
    let (statuses, notices, delivered) = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let bridge = Bridge::create(SECRET).await;
            let mut statuses = std::collections::BTreeMap::<i64, usize>::new();
            for environment in 0..ENVIRONMENTS {
                let relay = Relay::from_sdk_config(&bridge.sdk, bridge.config.clone());
                for n in 0..REQUESTS_EACH {
                    let forged = forged(environment * REQUESTS_EACH + n);
                    let response =
                        lambda::handle(&relay, invocation(forged, Duration::from_secs(10))).await;
                    *statuses.entry(response.status_code).or_default() += 1;
                }
            }
            (
                statuses,
                bridge.notices().await,
                bridge.delivered_events().await,
            )
        })
    });

    let total = ENVIRONMENTS * REQUESTS_EACH;
    assert_eq!(statuses.values().sum::<usize>(), total);
    assert!(
        statuses.keys().all(|status| (400..500).contains(status)),
        "{statuses:?}"
    );
    assert!(delivered.is_empty(), "a forged event reached the bus");
    assert!(
        notices.is_empty(),
        "{} notices: {:?}",
        notices.len(),
        notices.first()
    );
    let counted: u64 = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == relay_metrics::UNVERIFIED_REQUESTS)
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => n,
            other => panic!("UnverifiedRequests is a counter, not {other:?}"),
        })
        .sum();
    assert_eq!(counted, total as u64);
    evidence::record(
        "forged_notices",
        json!({
            "forged_requests": total,
            "environments": ENVIRONMENTS,
            "notices_on_topic": notices.len(),
            "counted_unverified": counted,
        }),
    );
}
