//! The artifact tier: the `bootstrap` from the zip `stripe-bridge package` makes, run as
//! Lambda runs it, behind a Runtime API (`support::runtime_api`), with the environment
//! the stack deployed on the emulator gives the function. API Gateway's payload-format
//! 2.0 events go in; answers come back through the Runtime API; verified events arrive
//! in a queue through a rule. This is what the library tests cannot show: the decoding
//! in `lambda.rs`, the start-up, the configuration read from the environment, and how
//! the relay keeps to the deadline Lambda gives it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::package::{EM_AARCH64, bootstrap_of, elf_machine, package};
use crate::support::aws::{drain, queue, role_credentials, sdk_config, unique};
use crate::support::cli::{add_rule, cli, cli_with_input, json as json_of, stderr};
use crate::support::emulator;
use crate::support::fault_proxy::{Fault, FaultProxy, Plan};
use crate::support::runtime_api::RuntimeApi;
use crate::support::stripe::{self, fixture, sign};

const SECRET: &str = "whsec_artifactTierSecret0123456789abcdef";
const ROTATED: &str = "whsec_artifactTierRotated0123456789abcde";
const FORGER: &str = "whsec_notTheBridgesSecret0123456789abcdef";

/// The relay's zip as `package` builds it for `arch`, and its `bootstrap` unpacked.
pub fn packaged_bootstrap(arch: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(unique("artifact"));
    std::fs::create_dir_all(&dir).unwrap();
    let zip = dir.join("relay.zip");
    let built = package(&["--arch", arch, "--out", zip.to_str().unwrap()]);
    assert!(built.status.success(), "{}", stderr(&built));
    let bootstrap = dir.join("bootstrap");
    std::fs::write(&bootstrap, bootstrap_of(std::fs::read(&zip).unwrap())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    (zip, bootstrap)
}

/// The function's environment as the stack set it, read back from Lambda.
/// The environment Lambda gives the bridge's function: the stack's variables, and the
/// temporary credentials of the function's role (assumed in the emulator, as Lambda
/// assumes it), so the relay runs as its role and the bus policy judges it so.
async fn function_environment(bridge: &str) -> HashMap<String, String> {
    let sdk = sdk_config().await;
    let function = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name(format!("{bridge}-relay"))
        .send()
        .await
        .unwrap();
    let (key, secret, token) = role_credentials(&sdk, function.role().unwrap()).await;
    let mut environment = function
        .environment
        .and_then(|e| e.variables)
        .expect("the stack gives the relay its environment");
    environment.insert("AWS_ACCESS_KEY_ID".into(), key);
    environment.insert("AWS_SECRET_ACCESS_KEY".into(), secret);
    environment.insert("AWS_SESSION_TOKEN".into(), token);
    // The stack names provided.al2023's bundle; this machine keeps its own elsewhere.
    if !std::path::Path::new(&environment["SSL_CERT_FILE"]).exists() {
        environment.insert(
            "SSL_CERT_FILE".into(),
            "/etc/ssl/certs/ca-certificates.crt".into(),
        );
    }
    environment
}

/// Starts `bootstrap` (through `runner`, e.g. qemu and its arguments, if given) as Lambda would: the
/// function's environment, Lambda's own variables, and AWS at `aws_endpoint`.
pub fn start_bootstrap(
    bootstrap: &Path,
    runner: &[&str],
    environment: &HashMap<String, String>,
    runtime_api: &str,
    aws_endpoint: &str,
) -> Child {
    let mut command = match runner {
        [] => Command::new(bootstrap),
        [program, args @ ..] => {
            let mut c = Command::new(program);
            c.args(args).arg(bootstrap);
            c
        }
    };
    command
        .env_clear()
        .envs(environment)
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "stripe-bridge-relay")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/stripe-bridge-relay",
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/12/02/[$LATEST]0123456789abcdef",
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", aws_endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the bootstrap")
}

/// API Gateway's payload-format-2.0 event for a POST of `body` to the webhook route, as
/// the recorded request in tests/fixtures/apigw has it.
pub fn api_gateway_event(body: &[u8], signature: Option<&str>, base64: bool) -> Value {
    let mut event: Value = serde_json::from_slice(&fixture("apigw/webhook-request.json")).unwrap();
    event["headers"]["content-length"] = body.len().to_string().into();
    if let Some(signature) = signature {
        event["headers"]["stripe-signature"] = signature.into();
    }
    if base64 {
        event["body"] = base64::engine::general_purpose::STANDARD
            .encode(body)
            .into();
        event["isBase64Encoded"] = true.into();
    } else {
        event["body"] = String::from_utf8(body.to_vec()).unwrap().into();
    }
    event
}

/// A signed delivery of a small event `id`.
pub fn signed_event(secret: &str, id: &str, base64: bool) -> Value {
    let body = stripe::event(id, "invoice.paid");
    api_gateway_event(
        body.as_bytes(),
        Some(&sign(secret, body.as_bytes())),
        base64,
    )
}

/// What the function answered: the API Gateway response's status and body.
pub fn status_of(answer: &crate::support::runtime_api::Answer) -> (i64, String) {
    assert!(
        answer.ok,
        "the function reported an error: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let response = answer.json();
    (
        response["statusCode"].as_i64().unwrap(),
        response["body"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
#[ignore = "builds the relay with fat LTO; tests/run.sh runs it in CI"]
async fn the_packaged_bootstrap_relays_behind_a_runtime_api_with_the_stacks_environment() {
    let (zip, bootstrap) = packaged_bootstrap("x86_64");
    let name = unique("artifact");
    // No publisher but the relay: the relay runs as its role.
    json_of(&cli(&[
        "--name",
        &name,
        "--output",
        "json",
        "deploy",
        "--artifact",
        zip.to_str().unwrap(),
    ]));
    let sdk = sdk_config().await;
    let (queue_url, queue_arn) =
        queue(&aws_sdk_sqs::Client::new(&sdk), &format!("{name}-billing")).await;
    let set = cli_with_input(&["--name", &name, "set-secret", "-"], &[], SECRET);
    assert!(set.status.success(), "{}", stderr(&set));
    add_rule(&name, "invoice.paid", &queue_arn);

    let environment = function_environment(&name).await;
    assert_eq!(environment["EVENT_BUS_NAME"], name);
    let proxy = FaultProxy::start(emulator::endpoint(), 14).await;
    let runtime = RuntimeApi::start().await;
    let mut relay = start_bootstrap(
        &bootstrap,
        &[],
        &environment,
        &runtime.address,
        &proxy.endpoint,
    );
    let budget = Duration::from_secs(10);

    // Signed, with a plain body and with a base64 one (as API Gateway sends binary).
    for (id, base64) in [("evt_artifactPlain", false), ("evt_artifactBase64", true)] {
        let answer = runtime
            .invoke(&signed_event(SECRET, id, base64), budget)
            .await
            .expect("an answer");
        assert_eq!(
            status_of(&answer),
            (200, r#"{"received":true}"#.into()),
            "{id}"
        );
    }
    assert!(
        runtime.first_poll().is_some() && runtime.init_error().is_none(),
        "the bootstrap started"
    );

    // Stripe rolls the secret: the running relay takes the new one at once (its first
    // mismatch reads the secret again; later ones within 5 s do not, so that forged
    // requests cannot make it read on every request).
    let rolled = cli_with_input(
        &["--name", &name, "set-secret", "-", "--keep-previous", "1h"],
        &[],
        ROTATED,
    );
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    let rotated = runtime
        .invoke(&signed_event(ROTATED, "evt_artifactRotated", false), budget)
        .await
        .unwrap();
    assert_eq!(status_of(&rotated).0, 200);

    // Forged: refused, and never on the bus.
    let forged = runtime
        .invoke(&signed_event(FORGER, "evt_artifactForged", false), budget)
        .await
        .unwrap();
    assert_eq!(status_of(&forged).0, 400);

    // Over the largest body the relay reads (MAX_BODY_BYTES, 4 MiB).
    let huge = vec![b'x'; 4 * 1024 * 1024 + 1];
    let oversize = runtime
        .invoke(
            &api_gateway_event(&huge, Some(&sign(SECRET, &huge)), false),
            budget,
        )
        .await
        .unwrap();
    assert_eq!(status_of(&oversize).0, 413);

    // EventBridge hangs; with 4 s left, the relay must give up and answer 5xx in time
    // (it keeps 2.5 s back for the notice and the answer), so Stripe retries.
    proxy.set_plan(Some(Plan {
        operation: "AWSEvents.PutEvents",
        rate: 1.0,
        faults: vec![Fault::Hang],
        hang: Duration::from_secs(30),
    }));
    let short = Duration::from_secs(4);
    let sent = Instant::now();
    let slow = runtime
        .invoke(&signed_event(SECRET, "evt_artifactSlowBus", false), short)
        .await
        .expect("an answer before the deadline");
    proxy.set_plan(None);
    assert!(
        slow.at.duration_since(sent) < short,
        "answered after {:?}",
        slow.at.duration_since(sent)
    );
    assert!(status_of(&slow).0 >= 500, "{:?}", status_of(&slow));

    let _ = relay.kill();
    let _ = relay.wait();
    let mut arrived: Vec<String> = drain(&sdk, &queue_url)
        .await
        .iter()
        .map(|m| m["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    arrived.sort();
    assert_eq!(
        arrived,
        [
            "evt_artifactBase64",
            "evt_artifactPlain",
            "evt_artifactRotated"
        ]
    );
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}

/// The newest `GLIBC_x.y` a binary asks for, read from its version strings.
fn newest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    binary
        .windows(6)
        .enumerate()
        .filter(|(_, w)| *w == b"GLIBC_")
        .filter_map(|(i, _)| {
            let version: String = binary[i + 6..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .map(|b| *b as char)
                .collect();
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
}

/// Where Debian's `libc6-arm64-cross` puts arm64's loader and C library, for qemu.
const ARM64_SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// The arm64 zip, cross-built on this x86_64 machine, run under qemu-user behind the
/// same Runtime API: a signed event is delivered, a forged one refused.
#[tokio::test]
#[ignore = "cross-builds the relay for arm64 with fat LTO and runs it under qemu; tests/run.sh runs it in CI"]
async fn the_arm64_bootstrap_runs_under_qemu_and_relays() {
    let qemu = "qemu-aarch64-static";
    assert!(
        Command::new(qemu).arg("--version").output().is_ok()
            && Path::new(ARM64_SYSROOT)
                .join("lib/ld-linux-aarch64.so.1")
                .exists(),
        "running the arm64 relay needs qemu-user and arm64's C library: \
         apt-get install qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross"
    );
    // On a machine without cargo-zigbuild, package installs it (and zig) from PyPI into
    // its cache, and the Rust target with rustup.
    let (zip, bootstrap) = packaged_bootstrap("arm64");
    let binary = std::fs::read(&bootstrap).unwrap();
    assert_eq!(elf_machine(&binary), EM_AARCH64);
    // The same glibc check as x86_64's: nothing newer than provided.al2023's 2.34.
    let newest = newest_glibc(&binary).expect("a dynamically linked bootstrap names glibc");
    assert!(newest <= (2, 34), "the arm64 relay needs glibc {newest:?}");
    let name = unique("arm");
    let deployed = cli(&[
        "--name",
        &name,
        "--output",
        "json",
        "deploy",
        "--arch",
        "arm64",
        "--artifact",
        zip.to_str().unwrap(),
    ]);
    json_of(&deployed);
    let sdk = sdk_config().await;
    let (queue_url, queue_arn) =
        queue(&aws_sdk_sqs::Client::new(&sdk), &format!("{name}-billing")).await;
    let set = cli_with_input(&["--name", &name, "set-secret", "-"], &[], SECRET);
    assert!(set.status.success(), "{}", stderr(&set));
    add_rule(&name, "invoice.paid", &queue_arn);

    let runtime = RuntimeApi::start().await;
    let mut relay = start_bootstrap(
        &bootstrap,
        &[qemu, "-L", ARM64_SYSROOT],
        &function_environment(&name).await,
        &runtime.address,
        emulator::endpoint(),
    );
    // Emulated, the first start and TLS set-up are slower: a generous deadline.
    let budget = Duration::from_secs(30);
    let signed = runtime
        .invoke(&signed_event(SECRET, "evt_arm64Signed", false), budget)
        .await
        .expect("an answer from the arm64 relay");
    assert_eq!(status_of(&signed).0, 200);
    let forged = runtime
        .invoke(&signed_event(FORGER, "evt_arm64Forged", true), budget)
        .await
        .unwrap();
    assert_eq!(status_of(&forged).0, 400);
    let _ = relay.kill();
    let _ = relay.wait();

    let arrived: Vec<Value> = drain(&sdk, &queue_url).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(arrived[0]["detail"]["id"], "evt_arm64Signed");
    assert!(cli(&["--name", &name, "remove", "--yes"]).status.success());
}
