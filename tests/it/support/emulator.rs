//! One moto server per test process, on a free port of 127.0.0.1, started on first use.
//! It exits when this process does: it stops when its standard input closes.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Emulator {
    pub endpoint: String,
    // Held for the life of the process: dropping it would close the emulator's stdin.
    _child: Child,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

/// The emulator's endpoint, `http://127.0.0.1:PORT`.
pub fn endpoint() -> &'static str {
    &EMULATOR.get_or_init(start).endpoint
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python that has moto and cfn-lint (tests/run.sh installs them).
pub fn python() -> PathBuf {
    match std::env::var_os("STRIPE_BRIDGE_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(".venv-aws/bin/python"),
    }
}

fn start() -> Emulator {
    start_with(&[])
}

/// An emulator of its own, with `env` set (e.g. moto's `INITIAL_NO_AUTH_ACTION_COUNT`),
/// for a test that must not share one; it stops when the returned value is dropped.
pub fn start_with(env: &[(&str, &str)]) -> Emulator {
    let python = python();
    assert!(
        python.exists(),
        "the AWS emulator is not installed at {}: run tests/run.sh, which installs it, \
         or set STRIPE_BRIDGE_PYTHON to a Python with moto[server]==5.2.5",
        python.display()
    );
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port();
    let log_path = std::env::temp_dir().join(format!("stripe-bridge-moto-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("create the emulator's log");
    let mut child = Command::new(&python)
        .arg(workspace_root().join("tests/emulator/moto_server.py"))
        .arg(port.to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the AWS emulator");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        let exited = child.try_wait().expect("check the emulator");
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("the AWS emulator did not start on port {port} ({exited:?}):\n{log}");
        }
        std::thread::yield_now();
    }
    Emulator {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: child,
    }
}

/// Waits, polling with a deadline, until every change made on the emulator at
/// `endpoint` has taken effect: its compressed propagation delays
/// (tests/emulator/delays.py), as a person would wait out AWS's before sending.
pub fn settle_at(endpoint: &str) {
    let address = endpoint.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = (|| -> std::io::Result<String> {
            use std::io::{Read, Write};
            let mut stream = TcpStream::connect(address)?;
            write!(
                stream,
                "GET /moto-api/stripe-bridge/settled HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            )?;
            let mut text = String::new();
            stream.read_to_string(&mut text)?;
            Ok(text)
        })()
        .expect("ask the emulator whether it has settled");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let settled: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        if settled["pending"] == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the emulator did not settle: {settled}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `settle_at` the shared emulator.
pub fn settle() {
    settle_at(endpoint());
}

/// The recipient of the email subscriptions to `address` follows the link in SNS's mail
/// (tests/emulator/subscription_confirmations.py).
pub fn confirm_subscriptions(address: &str) {
    let url = format!(
        "{}/moto-api/stripe-bridge/confirm-subscriptions?endpoint={address}",
        endpoint()
    );
    let confirmed = Command::new(python())
        .args([
            "-c",
            "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method='POST'))",
            &url,
        ])
        .status()
        .unwrap();
    assert!(confirmed.success(), "cannot reach {url}");
}
