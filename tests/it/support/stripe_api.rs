//! Our emulator of Stripe's API (tests/emulator/stripe_api.py), one per test, on a free
//! port of 127.0.0.1: the CLI reaches it through `STRIPE_API_BASE`, and the test tells it
//! what Stripe would do (make an event, roll a secret) through its `/_emulator/` routes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::emulator::python;

/// A test-mode key: the emulator takes any `sk_test_…`.
pub const KEY: &str = "sk_test_stripeBridgeTests000000000000";

pub struct StripeApi {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    port: u16,
    // Dropping it closes the emulator's stdin, which stops it.
    _child: Child,
}

impl StripeApi {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With the emulator's options (`--retry-delays`, `--disable-after`).
    pub fn start_with(options: &[&str]) -> Self {
        let mut child = Command::new(python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/emulator/stripe_api.py"
            ))
            .arg("0")
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Stripe API emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the Stripe emulator's first line");
        let port: u16 = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the Stripe emulator said {line:?}"));
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            _child: child,
        }
    }

    /// The environment that points the CLI at this emulator, with a key.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_API_BASE", self.base.clone()),
            ("STRIPE_API_KEY", KEY.to_owned()),
        ]
    }

    /// One request to the emulator; its JSON answer.
    pub fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("reach the Stripe emulator");
        let auth = if path.starts_with("/v1/") {
            format!(
                "Authorization: Bearer {KEY}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            )
        } else {
            String::new()
        };
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// A `/_emulator/` control's answer.
    pub fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(method, &format!("/_emulator/{path}"), &body.to_string());
        assert_eq!(status, 200, "{path}: {answer}");
        answer
    }

    /// Stripe makes an event of `event_type` (for connected account `account`).
    pub fn create_event(&self, event_type: &str, account: Option<&str>) -> Value {
        self.control(
            "POST",
            "events",
            serde_json::json!({"type": event_type, "account": account}),
        )
    }

    /// Deliveries to URLs starting with `from` go to `to` instead.
    pub fn route(&self, from: &str, to: &str) {
        self.control("POST", "route", serde_json::json!({"from": from, "to": to}));
    }

    /// Every endpoint, with its `connect` flag (never its secret).
    pub fn endpoints(&self) -> Vec<Value> {
        self.control("GET", "endpoints", Value::Null)["endpoints"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Every secret the emulator ever made, to check that no output shows one.
    pub fn secrets(&self) -> Vec<String> {
        self.control("GET", "secrets", Value::Null)["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    }

    /// The API requests the emulator took, decoded.
    pub fn requests(&self) -> Vec<Value> {
        self.control("GET", "requests", Value::Null)["requests"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn deliveries(&self) -> Vec<Value> {
        self.control("GET", "deliveries", Value::Null)["deliveries"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Runs tests/oracle/check-stripe-emulator.mjs (Stripe's official Node library) with
/// `args`, `input` on its standard input; its standard output.
pub fn stripe_node(args: &[&str], input: &str) -> String {
    let oracle = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle");
    assert!(
        std::path::Path::new(oracle)
            .join("node_modules/stripe")
            .exists(),
        "stripe-node is not installed in tests/oracle: run tests/run.sh, or `npm ci` there"
    );
    let mut child = Command::new("node")
        .arg("check-stripe-emulator.mjs")
        .args(args)
        .current_dir(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (tests/run.sh needs Node.js for the Stripe oracle)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "stripe-node {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every request the CLI made to `api`, made again through stripe-node's own method for
/// the same call (against a fresh emulator), carries the same decoded fields and the
/// same `Stripe-Account`: the CLI writes Stripe's form encoding as the official library
/// does.
pub fn assert_requests_match_stripe_node(api: &StripeApi) {
    // The CLI's, not the test's own calls.
    let ours: Vec<Value> = api
        .requests()
        .into_iter()
        .filter(|r| {
            r["user_agent"]
                .as_str()
                .is_some_and(|a| a.starts_with("stripe-bridge/"))
        })
        .collect();
    assert!(!ours.is_empty());
    let reference = StripeApi::start();
    let input = Value::Array(ours.clone()).to_string();
    let port = reference.base.rsplit(':').next().unwrap().to_owned();
    assert_eq!(stripe_node(&["replay", &port], &input).trim(), "ok");
    let theirs = reference.requests();
    assert_eq!(ours.len(), theirs.len());
    for (ours, theirs) in ours.iter().zip(&theirs) {
        for key in ["method", "path", "fields", "stripe_account"] {
            assert_eq!(
                ours[key], theirs[key],
                "{key}: ours {ours} / stripe-node {theirs}"
            );
        }
        assert_eq!(
            ours["stripe_version"], theirs["stripe_version"],
            "the API version"
        );
        assert_eq!(
            ours["idempotency_key"], theirs["idempotency_key"],
            "stripe-node sends an Idempotency-Key on every POST: {ours}"
        );
    }
}
