//! Nothing lost, under faults: a fault proxy between the relay and AWS injects throttling,
//! 500s, hanging calls, failed PutEvents entries and lost answers into a share of the
//! calls. Every event the relay answered 2xx for must be on the bus (in the queue a rule
//! sends the bus's Stripe events to); every other one must have been answered 5xx, so
//! Stripe retries it. Secrets Manager failing means 5xx, never 4xx or 2xx; SNS failing
//! changes no answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use relay_function::lambda;
use relay_function::relay::Relay;
use relay_function::secret_store::{SecretStore, SecretTiming};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::support::aws::{Bridge, drain, sdk_config_at};
use crate::support::emulator;
use crate::support::evidence;
use crate::support::fault_proxy::{Fault, FaultProxy, Plan};
use crate::support::stripe::{self, SECRET, invocation, signed_request};

const EVENTS: usize = 1_000;
const FORGER: &str = "whsec_notTheBridgesSecret000000000000000";

/// Sends each (event id, signing secret) through `relay`, eight at a time, with a
/// Lambda's time budget each; returns the statuses by event id.
async fn send_all(relay: Arc<Relay>, events: Vec<(String, &'static str)>) -> HashMap<String, i64> {
    let limit = Arc::new(Semaphore::new(8));
    let mut tasks = JoinSet::new();
    for (id, secret) in events {
        let (relay, limit) = (relay.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let body = stripe::event(&id, "invoice.paid");
            let answer = lambda::handle(
                &relay,
                invocation(signed_request(secret, &body), Duration::from_secs(5)),
            )
            .await;
            (id, answer.status_code)
        });
    }
    let mut statuses = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (id, status) = done.unwrap();
        statuses.insert(id, status);
    }
    statuses
}

/// How many times each event id reached the bus.
async fn arrivals(bridge: &Bridge) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in bridge.delivered_events().await {
        *counts
            .entry(event["detail"]["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_eventbridge_faults_every_event_answered_2xx_is_on_the_bus() {
    let bridge = Bridge::create(SECRET).await;
    let proxy = FaultProxy::start(emulator::endpoint(), 20261129).await;
    let mut relay =
        Relay::from_sdk_config(&sdk_config_at(&proxy.endpoint).await, bridge.config.clone());
    // A short attempt timeout, so that hanging calls cost the test little time.
    relay.delivery.retry.attempt_timeout = Duration::from_millis(1_000);
    let relay = Arc::new(relay);
    proxy.set_plan(Some(Plan {
        operation: "AWSEvents.PutEvents",
        rate: 0.4,
        faults: vec![
            Fault::Throttle,
            Fault::ServerError,
            Fault::Hang,
            Fault::HangAfterDone,
            Fault::FailedEntry,
            Fault::AnswerLost,
        ],
        hang: Duration::from_millis(1_200),
    }));

    let ids: Vec<String> = (0..EVENTS).map(|i| format!("evt_fault{i:05}")).collect();
    // The emulator slows down as a queue grows: empty it while the events go in.
    let collected = Arc::new(tokio::sync::Mutex::new(HashMap::<String, usize>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let (sdk, queue, collected, stop) = (
            bridge.sdk.clone(),
            bridge.events_queue.clone(),
            collected.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                let done = stop.load(std::sync::atomic::Ordering::Relaxed);
                for event in drain(&sdk, &queue).await {
                    *collected
                        .lock()
                        .await
                        .entry(event["detail"]["id"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
                if done {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let statuses = send_all(
        relay.clone(),
        ids.iter().map(|id| (id.clone(), SECRET)).collect(),
    )
    .await;
    let (calls, faulted) = (
        proxy
            .counts
            .calls
            .load(std::sync::atomic::Ordering::Relaxed),
        proxy
            .counts
            .faulted
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    proxy.set_plan(None);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    collector.await.unwrap();
    let arrived = collected.lock().await.clone();

    let accepted: Vec<&String> = ids.iter().filter(|id| statuses[*id] == 200).collect();
    let refused: Vec<&String> = ids.iter().filter(|id| statuses[*id] != 200).collect();
    let lost: Vec<&&String> = accepted
        .iter()
        .filter(|id| !arrived.contains_key(**id))
        .collect();
    assert!(lost.is_empty(), "answered 2xx but not on the bus: {lost:?}");
    for id in &refused {
        assert!(
            statuses[*id] >= 500,
            "{id} got {}: a fault is never the request's fault",
            statuses[*id]
        );
    }
    let duplicates: usize = arrived.values().map(|n| n - 1).sum();
    assert!(
        faulted > 100,
        "the faults were injected: {faulted} of {calls} calls"
    );

    // Stripe retries what was not answered 2xx: without faults, each gets there.
    let retried = send_all(
        relay,
        refused.iter().map(|id| ((*id).clone(), SECRET)).collect(),
    )
    .await;
    assert!(retried.values().all(|s| *s == 200), "{retried:?}");
    let after_retries = arrivals(&bridge).await;
    for id in &refused {
        assert!(
            arrived.contains_key(*id) || after_retries.contains_key(*id),
            "{id} never arrived"
        );
    }

    evidence::record(
        "lost_eventbridge_faults",
        json!({
            "events_sent": EVENTS,
            "put_events_calls": calls,
            "calls_faulted": faulted,
            "answered_2xx": accepted.len(),
            "answered_5xx": refused.len(),
            "answered_4xx": 0,
            "delivered": arrived.len(),
            "lost": lost.len(),
            "duplicates": duplicates,
            "delivered_after_stripes_retries": arrived.len() + refused.iter().filter(|id| !arrived.contains_key(**id)).count(),
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_secrets_manager_fails_the_answer_is_5xx_never_4xx_or_2xx() {
    let bridge = Bridge::create(SECRET).await;
    let proxy = FaultProxy::start(emulator::endpoint(), 7).await;
    let proxied = sdk_config_at(&proxy.endpoint).await;
    let relay = |timing: SecretTiming| {
        let mut relay = Relay::from_sdk_config(&proxied, bridge.config.clone());
        relay.secrets = SecretStore::secrets_manager(
            aws_sdk_secretsmanager::Client::new(&proxied),
            bridge.secret_arn.clone(),
            timing,
        );
        Arc::new(relay)
    };
    let timing = SecretTiming {
        fetch_timeout: Duration::from_millis(200),
        ..SecretTiming::default()
    };
    let plan = |rate| Plan {
        operation: "secretsmanager.GetSecretValue",
        rate,
        faults: vec![Fault::ServerError, Fault::Throttle, Fault::Hang],
        hang: Duration::from_millis(300),
    };
    // Valid and forged requests alike: without the secret, the relay cannot tell them
    // apart, so both must be retried.
    let events: Vec<(String, &'static str)> = (0..100)
        .map(|i| {
            (
                format!("evt_smDown{i:03}"),
                if i % 2 == 0 { SECRET } else { FORGER },
            )
        })
        .collect();

    proxy.set_plan(Some(plan(1.0)));
    let down = send_all(relay(timing.clone()), events.clone()).await;
    assert!(down.values().all(|s| *s == 500), "{down:?}");
    assert!(arrivals(&bridge).await.is_empty());

    // Flaky: each request gets a fresh relay (a cold start), so each reads the secret.
    proxy.set_plan(Some(plan(0.5)));
    let mut flaky = HashMap::new();
    for (id, secret) in &events {
        flaky.extend(send_all(relay(timing.clone()), vec![(id.clone(), *secret)]).await);
    }
    proxy.set_plan(None);
    let arrived = arrivals(&bridge).await;
    let mut figures = HashMap::from([("2xx", 0), ("4xx", 0), ("5xx", 0)]);
    for (id, secret) in &events {
        let status = flaky[id];
        let forged = *secret == FORGER;
        match status {
            200 => assert!(!forged && arrived.contains_key(id), "{id}"),
            400 => assert!(forged, "{id}: a valid event got a 400"),
            500 => {}
            other => panic!("{id}: {other}"),
        }
        let class = match status {
            200 => "2xx",
            400 => "4xx",
            _ => "5xx",
        };
        *figures.entry(class).or_default() += 1;
    }
    assert!(
        arrived
            .keys()
            .all(|id| !events.iter().any(|(e, s)| e == id && *s == FORGER))
    );
    evidence::record(
        "lost_secrets_manager_faults",
        json!({
            "requests_while_down": events.len(),
            "answered_5xx_while_down": down.len(),
            "requests_while_flaky": events.len(),
            "valid_answered_2xx": figures["2xx"],
            "forged_answered_4xx": figures["4xx"],
            "answered_5xx": figures["5xx"],
            "forged_on_the_bus": 0,
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sns_fails_the_answer_to_stripe_is_unchanged() {
    let bridge = Bridge::create(SECRET).await;
    let proxy = FaultProxy::start(emulator::endpoint(), 11).await;
    let proxied = sdk_config_at(&proxy.endpoint).await;
    proxy.set_plan(Some(Plan {
        operation: "Action=Publish",
        rate: 1.0,
        faults: vec![Fault::ServerError, Fault::Throttle, Fault::Hang],
        hang: Duration::from_millis(2_500),
    }));
    let events: Vec<(String, &'static str)> = (0..30)
        .map(|i| {
            (
                format!("evt_snsDown{i:03}"),
                if i % 2 == 0 { SECRET } else { FORGER },
            )
        })
        .collect();
    let mut statuses = HashMap::new();
    for (id, secret) in &events {
        // A relay each: the notice limiter would otherwise hold back all but the first.
        let relay = Arc::new(Relay::from_sdk_config(&proxied, bridge.config.clone()));
        if *secret == SECRET {
            statuses.extend(send_all(relay, vec![(id.clone(), *secret)]).await);
        } else {
            // Signed, so it is notified (a forged request would not be): but not an event.
            let body = format!(r#"{{"id":"cus_{id}","object":"customer"}}"#);
            let answer = lambda::handle(
                &relay,
                invocation(signed_request(SECRET, &body), Duration::from_secs(5)),
            )
            .await;
            statuses.insert(id.clone(), answer.status_code);
        }
    }
    let publishes = proxy
        .counts
        .faulted
        .load(std::sync::atomic::Ordering::Relaxed);
    proxy.set_plan(None);
    for (id, secret) in &events {
        let expected = if *secret == SECRET { 200 } else { 400 };
        assert_eq!(statuses[id], expected, "{id}");
    }
    assert!(
        publishes >= 15,
        "every refusal tried to publish: {publishes}"
    );
    assert!(bridge.notices().await.is_empty());
    evidence::record(
        "lost_sns_faults",
        json!({
            "requests": events.len(),
            "failed_publishes": publishes,
            "answers_changed": 0,
        }),
    );
}
