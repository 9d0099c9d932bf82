//! `stripe-bridge dev` and `stripe-bridge test` through the binary against the emulator:
//! real HTTP requests, signed as Stripe signs them, through the local relay, with the
//! events arriving in a queue through a real rule.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::aws::{drain, queue, rule_to, sdk_config, unique};
use crate::support::cli::{add_rule, bridge_and_queue, cli, cli_json, json, stderr};
use crate::support::dev_server::DevServer;

const SECRET: &str = "whsec_devServerSecret0123456789abcdefABCD";
const OTHER: &str = "whsec_notTheBridgesSecret0123456789abcdef";

/// The status line of a raw HTTP/1.1 request to the local relay.
fn raw_status(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_local_relay_puts_verified_events_on_the_bridges_bus_and_refuses_the_rest() {
    let name = unique("dev");
    let (sdk, (queue_url, queue_arn)) = bridge_and_queue(&name, SECRET, "invoices").await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    add_rule(&name, "invoice.paid", &queue_arn);

    // The deployed bridge's secret, bus and claim-check bucket.
    let dev = DevServer::start(&["--name", &name, "dev", "--port", "0"]);
    assert!(dev.url.starts_with("http://127.0.0.1:") && dev.url.ends_with("/webhook"));

    // A rule would deliver the test event to its queue: `test` names it and, with no
    // terminal to ask on, sends nothing unless --yes (which its hint does not offer).
    let unasked = cli(&["--name", &name, "test", "--url", &dev.url]);
    assert_eq!(unasked.status.code(), Some(1));
    let text = stderr(&unasked);
    assert!(
        text.contains(&format!("{name}-invoice-paid -> {queue_arn}"))
            && text.contains("hint: run it at a terminal to be asked"),
        "{text}"
    );
    assert!(
        drain(&sdk, &queue_url).await.is_empty(),
        "sent without asking"
    );
    let sent = cli_json(&name, &["test", "--url", &dev.url, "--yes"]);
    assert_eq!(sent["status"], 200);
    assert_eq!(sent["answer"], serde_json::json!({"received": true}));
    let event_id = sent["event_id"].as_str().unwrap();
    let line = dev.next_line();
    assert!(
        line.contains(&format!("  200  invoice.paid  {event_id}  relayed")),
        "{line}"
    );
    let arrived = drain(&sdk, &queue_url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["detail"]["id"], event_id);
    assert_eq!(arrived[0]["detail-type"], "invoice.paid");
    assert_eq!(arrived[0]["source"], "Stripe");

    // A live consumer (`--livemode live`) never gets a test event, so nothing is asked.
    let (live_url, live_arn) = crate::support::aws::queue(&sqs, &format!("{name}-live")).await;
    let live = cli_json(
        &name,
        &[
            "add-rule",
            "--type",
            "customer.created",
            "--target",
            &live_arn,
            "--livemode",
            "live",
        ],
    );
    assert_eq!(
        live["pattern"]["detail"]["livemode"],
        serde_json::json!([true])
    );
    let to_live = cli_json(
        &name,
        &["test", "--type", "customer.created", "--url", &dev.url],
    );
    assert_eq!(to_live["status"], 200);
    dev.next_line();
    assert!(
        drain(&sdk, &live_url).await.is_empty(),
        "a live consumer got a test event"
    );

    // --expect-delivery asks before live consumers get the sample too, and the refusal
    // offers only choices that keep it from them.
    let unasked = cli(&[
        "--name",
        &name,
        "test",
        "--url",
        &dev.url,
        "--expect-delivery",
    ]);
    assert_eq!(unasked.status.code(), Some(1), "{}", stderr(&unasked));
    let text = stderr(&unasked);
    assert!(text.contains("live consumers"), "{text}");
    assert!(
        !text.contains("--expect-delivery") && !text.contains("--yes"),
        "{text}"
    );
    assert!(
        text.contains(&format!("stripe-bridge --name {name} add-rule")),
        "{text}"
    );
    assert!(
        drain(&sdk, &queue_url).await.is_empty(),
        "the sample was sent"
    );

    // --expect-delivery proves arrival with a probe that it removes afterwards.
    let proved = cli_json(
        &name,
        &[
            "test",
            "--type",
            "customer.subscription.updated",
            "--url",
            &dev.url,
            "--expect-delivery",
        ],
    );
    assert_eq!(proved["delivered"], true, "{proved}");
    dev.next_line();
    let rules = cli_json(&name, &["list-rules"]);
    assert_eq!(
        rules["rules"].as_array().unwrap().len(),
        2,
        "the probe's rule is gone, the invoice and live rules stay: {rules}"
    );
    let probes = sqs
        .list_queues()
        .queue_name_prefix(format!("{name}-probe-"))
        .send()
        .await
        .unwrap();
    assert!(probes.queue_urls().is_empty(), "the probe's queue is gone");

    // Signed with another secret: refused, nothing on the bus, and the user is told why.
    let forged = cli(&[
        "--name", &name, "test", "--url", &dev.url, "--secret", OTHER,
    ]);
    assert_eq!(forged.status.code(), Some(1));
    assert!(stderr(&forged).contains("400"), "{}", stderr(&forged));
    assert!(
        stderr(&forged).contains("different secret"),
        "{}",
        stderr(&forged)
    );
    let line = dev.next_line();
    assert!(line.contains("  400  -  -  signature_mismatch"), "{line}");
    assert!(drain(&sdk, &queue_url).await.is_empty());

    // Plain HTTP oddities get the relay's answers.
    let port = dev.port();
    assert_eq!(
        raw_status(
            port,
            "GET /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert!(dev.next_line().contains("method_not_allowed"));
    assert_eq!(
        raw_status(
            port,
            "POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        ),
        "HTTP/1.1 404 Not Found"
    );
    assert!(dev.next_line().contains("not_found"));
    assert_eq!(
        raw_status(
            port,
            "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        ),
        "HTTP/1.1 400 Bad Request"
    );
    assert!(dev.next_line().contains("missing_signature"));
}

#[tokio::test]
async fn the_local_relay_runs_without_a_deployed_bridge_given_a_secret_and_a_bus() {
    let name = unique("devbare");
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = format!("{name}-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let (queue_url, queue_arn) = queue(&sqs, &name).await;
    rule_to(&sdk, &bus, &name, &queue_arn, None).await;

    let dev = DevServer::start(&[
        "--name", &name, "dev", "--port", "0", "--secret", SECRET, "--bus", &bus,
    ]);
    let sent = cli(&[
        "--name",
        &name,
        "test",
        "--url",
        &dev.url,
        "--secret",
        SECRET,
        "--type",
        "charge.dispute.created",
    ]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(String::from_utf8_lossy(&sent.stdout).contains("answered 200"));
    assert!(dev.next_line().contains("charge.dispute.created"));
    let arrived = drain(&sdk, &queue_url).await;
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0]["detail"]["data"]["object"]["object"], "dispute");
}

#[test]
fn dev_and_test_say_what_is_missing() {
    let name = unique("devnone");
    for (args, expected) in [
        (vec!["--name", &name, "dev", "--port", "0"], "pass --bus"),
        (
            vec!["--name", &name, "dev", "--port", "0", "--bus", "default"],
            "pass --secret",
        ),
        (
            vec!["--name", &name, "dev", "--secret", "sk_live_123"],
            "API key",
        ),
        (vec!["--name", &name, "test"], "deploy"),
        (
            vec!["--name", &name, "test", "--type", "invoice.payed"],
            "did you mean `invoice.paid`",
        ),
        (
            vec![
                "--name", &name, "test", "--url", "ftp://x", "--secret", SECRET,
            ],
            "not an http(s) URL",
        ),
    ] {
        let output = cli(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }

    // A port that is taken is named, with the fix.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = cli(&[
        "--name", &name, "dev", "--port", &port, "--secret", SECRET, "--bus", "default",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--port"), "{}", stderr(&output));
}

/// An HTTPS endpoint on 127.0.0.1 with the test certificate (tests/fixtures/tls, made
/// with openssl for IP 127.0.0.1), answering one request as the relay does; returns its
/// URL and what it received: the Stripe-Signature and User-Agent headers and the body.
async fn https_endpoint() -> (
    String,
    tokio::sync::oneshot::Receiver<(String, String, Vec<u8>)>,
) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let certs = CertificateDer::pem_file_iter(format!("{dir}/cert.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::aws_lc_rs::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/webhook", listener.local_addr().unwrap());
    let (send, received) = tokio::sync::oneshot::channel();
    let send = std::sync::Arc::new(std::sync::Mutex::new(Some(send)));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            // A client that refuses the certificate ends the handshake: wait for the next.
            let Ok(tls) = acceptor.accept(stream).await else {
                continue;
            };
            let send = send.clone();
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let send = send.clone();
                    async move {
                        let header = |name: &str| {
                            request
                                .headers()
                                .get(name)
                                .map(|v| v.to_str().unwrap().to_owned())
                                .unwrap_or_default()
                        };
                        let (signature, agent) = (header("stripe-signature"), header("user-agent"));
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .unwrap()
                            .to_bytes()
                            .to_vec();
                        if let Some(send) = send.lock().unwrap().take() {
                            let _ = send.send((signature, agent, body));
                        }
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(br#"{"received":true}"#),
                        )))
                    }
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        }
    });
    (url, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_posts_over_https_to_an_endpoint_whose_certificate_is_trusted() {
    let (url, received) = https_endpoint().await;
    let cert = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/cert.pem");

    // Not trusted (this machine's roots only): refused, with the reason.
    let untrusted = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            cli(&["test", "--url", &url, "--secret", SECRET, "--timeout", "5s"])
        })
        .await
        .unwrap()
    };
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(
        stderr(&untrusted).contains("cannot connect"),
        "{}",
        stderr(&untrusted)
    );

    // Trusted through SSL_CERT_FILE, as rustls-native-certs reads it.
    let sent = tokio::task::spawn_blocking(move || {
        crate::support::cli::cli_with_env(
            &[
                "--output", "json", "test", "--url", &url, "--secret", SECRET,
            ],
            &[("SSL_CERT_FILE", cert)],
        )
    })
    .await
    .unwrap();
    let sent = json(&sent);
    assert_eq!(sent["status"], 200);
    let (signature, agent, body) = received.await.unwrap();
    assert!(agent.starts_with("Stripe/1.0"), "{agent}");
    let secret = relay_function::signing_secrets::SigningSecret::new(SECRET);
    relay_function::signature::verify(
        Some(&signature),
        &body,
        &[&secret],
        crate::support::stripe::now(),
        Duration::from_secs(300),
    )
    .expect("signed as Stripe signs");
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["id"], sent["event_id"]);
}

/// With `--output json`, `dev` prints JSON Lines: one object per line, the first one
/// included.
#[tokio::test]
async fn dev_prints_one_json_object_per_line() {
    let name = unique("devjson");
    let sdk = sdk_config().await;
    let bus = format!("{name}-bus");
    aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let dev = DevServer::start(&[
        "--output", "json", "dev", "--port", "0", "--secret", SECRET, "--bus", &bus,
    ]);
    let status = raw_status(
        dev.port(),
        "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert!(status.contains("400"), "{status}");
    let line = dev.next_line();
    let record: serde_json::Value = serde_json::from_str(&line).expect("one JSON object a line");
    assert_eq!(record["outcome"]["reason"], "missing_signature");
}
