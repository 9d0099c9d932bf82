//! The relay's metrics as the Lambda writes them: Embedded Metric Format lines that
//! CloudWatch turns into the metrics the stack's alarms watch. Its own test binary,
//! because the recorder is process-wide.

use std::time::Duration;

use relay_function::outcome::Outcome;
use relay_function::reason::Reason;
use relay_function::{lambda, relay_metrics};
use serde_json::Value;

fn outcome(status: u16, reason: Option<Reason>, event: bool, attempts: u32) -> Outcome {
    Outcome {
        status,
        reason,
        event_id: event.then(|| "evt_1".to_string()),
        event_type: event.then(|| "invoice.paid".to_string()),
        attempts,
        claim_check: false,
        detail: None,
    }
}

#[test]
fn one_invocation_s_counts_are_written_as_embedded_metric_format() {
    let collector = lambda::init_metrics("shop").expect("the recorder installs");
    let latency = Duration::from_millis(12);
    relay_metrics::record(&outcome(200, None, true, 3), latency);
    for _ in 0..3 {
        let forged = outcome(400, Some(Reason::SignatureMismatch), false, 0);
        relay_metrics::record(&forged, latency);
    }
    let failed = outcome(500, Some(Reason::RelayFailed), true, 4);
    relay_metrics::record(&failed, latency);

    let mut out = Vec::new();
    collector.flush(&mut out).unwrap();
    let documents: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON document"))
        .collect();
    let value = |name: &str| {
        documents
            .iter()
            .find_map(|doc| doc.get(name).cloned())
            .unwrap_or_else(|| panic!("{name} missing from {documents:#?}"))
    };
    assert_eq!(value("UnverifiedRequests"), 3);
    assert_eq!(value("EventsRelayed"), 1);
    assert_eq!(value("EventsNotRelayed"), 1);
    assert_eq!(value("PutEventsRetries"), 2 + 3);
    assert_eq!(value("Latency").as_array().unwrap().len(), 5);
    for doc in &documents {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], relay_metrics::NAMESPACE, "{doc}");
        assert_eq!(directive["Dimensions"][0][0], "Bridge", "{doc}");
        assert_eq!(doc["Bridge"], "shop", "{doc}");
        assert!(doc["_aws"]["Timestamp"].is_u64(), "{doc}");
    }
    let refused = documents
        .iter()
        .find(|doc| doc["Reason"] == "signature_mismatch")
        .expect("refusals carry their reason as a dimension");
    assert_eq!(refused["RequestsRefused"], 3);
    assert_eq!(
        refused["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
        serde_json::json!(["Bridge", "Reason"])
    );
    let units: Vec<&Value> = documents
        .iter()
        .flat_map(|doc| {
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
        })
        .collect();
    assert!(
        units
            .iter()
            .any(|m| m["Name"] == "Latency" && m["Unit"] == "Milliseconds"),
        "{units:?}"
    );

    // Counters start again from zero after a flush: each line is one invocation's.
    let mut again = Vec::new();
    collector.flush(&mut again).unwrap();
    assert!(
        !String::from_utf8(again)
            .unwrap()
            .contains("UnverifiedRequests")
    );
}
