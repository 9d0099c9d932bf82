//! The stripe-bridge binary, run as a user runs it, aimed at the emulator.

use std::io::{Cursor, Write};
use std::process::{Command, Output, Stdio};

use super::aws::unique;
use super::emulator;

/// The CLI, aimed at the emulator, with nothing from this machine's AWS set-up.
pub fn cli(args: &[&str]) -> Output {
    cli_with_env(args, &[])
}

/// The CLI for commands that need no AWS (help, completions, verify, template): the
/// emulator is not started, and any AWS call would go to a closed port of 127.0.0.1.
pub fn cli_offline(args: &[&str]) -> Output {
    cli_offline_with_input(args, "")
}

/// `cli_offline` with these environment variables set.
pub fn cli_offline_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = binary_at(args, CLOSED_ENDPOINT);
    command.envs(env.iter().copied());
    run_with_input(command, "")
}

/// `cli_offline` with `input` on standard input.
pub fn cli_offline_with_input(args: &[&str], input: &str) -> Output {
    run_with_input(binary_at(args, CLOSED_ENDPOINT), input)
}

/// Where nothing listens: port 9 (discard) on the loopback address.
const CLOSED_ENDPOINT: &str = "http://127.0.0.1:9";

pub fn cli_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    cli_with_input(args, env, "")
}

/// The CLI with `input` on its standard input (which is not a terminal).
///
/// As a person waits out AWS's propagation delays, the tests wait out the emulator's
/// (tests/emulator/delays.py): before a replay or a redelivery, until what reached the
/// bus is in the archive; after `add-rule`, until the rule and its target's permission
/// have taken effect.
pub fn cli_with_input(args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    let replays = args
        .iter()
        .any(|a| matches!(*a, "replay" | "--redeliver" | "--backfill"));
    if replays {
        emulator::settle();
    }
    let output = run_with_input(command_with_env(args, env), input);
    if args.contains(&"add-rule") {
        emulator::settle();
    }
    output
}

fn command_with_env(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = binary(args);
    for (key, value) in env {
        if value.is_empty() {
            command.env_remove(key);
        } else {
            command.env(key, value);
        }
    }
    command
}

/// The CLI on a terminal (a pseudo-terminal from util-linux's `script`), answering its
/// question with `answer`. Output comes back merged, as a terminal shows it.
pub fn cli_on_terminal(args: &[&str], answer: &str) -> Output {
    run_with_input(on_terminal(args), answer)
}

/// `script` running the CLI with `args` on a pseudo-terminal, aimed at the emulator.
fn on_terminal(args: &[&str]) -> Command {
    let command_line = std::iter::once(env!("CARGO_BIN_EXE_stripe-bridge"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command.args(["-qec", &command_line, "/dev/null"]);
    aim_at_emulator(&mut command);
    command
}

/// The CLI on a terminal, interrupted by Ctrl-C (the terminal's `^C`, which sends SIGINT
/// to the foreground process) once its screen shows `at`. Output comes back merged;
/// the exit status is the CLI's own.
pub fn cli_on_terminal_interrupted(args: &[&str], at: &str) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    let mut child = on_terminal(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let screen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                screen.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let shown = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    while !shown().contains(at) {
        assert!(
            std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "the screen never showed {at:?}: {}",
            shown()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    (status, shown())
}

/// The binary with `args`, aimed at the emulator, with a clean environment.
fn binary(args: &[&str]) -> Command {
    binary_at(args, emulator::endpoint())
}

/// The binary with `args`, aimed at `endpoint`, with a clean environment.
fn binary_at(args: &[&str], endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stripe-bridge"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir());
    aim_at(&mut command, endpoint);
    command
}

/// Another stripe-bridge binary (an unpacked release's) with `args`, as on a machine with
/// no Rust toolchain: HOME is `home`, PATH only the system's (no cargo, no rustc), aimed
/// at the emulator.
pub fn installed(binary: &std::path::Path, args: &[&str], home: &std::path::Path) -> Output {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home);
    aim_at_emulator(&mut command);
    run_with_input(command, "")
}

/// The binary with `args`, aimed at `endpoint` as the identity with these access keys.
pub fn command_as(args: &[&str], endpoint: &str, key_id: &str, secret_key: &str) -> Command {
    let mut command = binary_at(args, endpoint);
    command
        .env("AWS_ACCESS_KEY_ID", key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret_key);
    command
}

/// The emulator's endpoint and test credentials, and none of this machine's AWS files.
fn aim_at_emulator(command: &mut Command) {
    aim_at(command, emulator::endpoint());
}

/// `endpoint` and test credentials, and none of this machine's AWS files.
fn aim_at(command: &mut Command, endpoint: &str) {
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The emulator's propagation delays are a second (tests/emulator/delays.py), not
        // AWS's minutes: the CLI judges by that.
        .env("STRIPE_BRIDGE_AWS_DELAY_SECONDS", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent/stripe-bridge-test")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/stripe-bridge-test",
        );
}

pub fn run_with_input(mut command: Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the command");
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    // A command refused before it reads its input (a usage error) closes the pipe first.
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        panic!("cannot write the command's input: {error}");
    }
    child.wait_with_output().unwrap()
}

/// `stripe-bridge --name NAME --output json ARGS…`, which must succeed; its JSON result.
pub fn cli_json(name: &str, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--name", name, "--output", "json"];
    full.extend_from_slice(args);
    json(&cli(&full))
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A relay zip as `package` makes it, with `marker` as the binary so that two differ.
pub fn artifact(marker: &str) -> (std::path::PathBuf, Vec<u8>) {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer
        .write_all(format!("\x7fELF {marker} GLIBC_2.17").as_bytes())
        .unwrap();
    let zip = writer.finish().unwrap().into_inner();
    let path = std::env::temp_dir()
        .join(unique("relay"))
        .with_extension("zip");
    std::fs::write(&path, &zip).unwrap();
    (path, zip)
}

/// `deploy --artifact ARTIFACT`, letting the tests' own identity publish as the relay
/// does (`--allow-publisher`), as a developer who runs `dev` on the bridge would.
pub fn deploy(name: &str, artifact: &std::path::Path) -> Output {
    deploy_with(
        name,
        artifact,
        &["--allow-publisher", super::aws::TEST_CALLER],
    )
}

/// `deploy --artifact ARTIFACT EXTRA…`.
pub fn deploy_with(name: &str, artifact: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--name",
        name,
        "--output",
        "json",
        "deploy",
        "--artifact",
        artifact.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

/// A bridge deployed through the binary with its signing secret set; its stack outputs.
pub fn deployed_bridge(name: &str, secret: &str) -> serde_json::Value {
    let (zip, _) = artifact("v1");
    let outputs = json(&deploy(name, &zip))["outputs"].clone();
    let set = cli_with_input(&["--name", name, "set-secret", "-"], &[], secret);
    assert!(set.status.success(), "{}", stderr(&set));
    outputs
}

/// A bridge deployed with its secret set, and a queue of the user's named
/// `{name}-{queue_suffix}`: the SDK configuration and the queue's URL and ARN.
pub async fn bridge_and_queue(
    name: &str,
    secret: &str,
    queue_suffix: &str,
) -> (aws_config::SdkConfig, (String, String)) {
    deployed_bridge(name, secret);
    let sdk = super::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = super::aws::queue(&sqs, &format!("{name}-{queue_suffix}")).await;
    (sdk, queue)
}

/// The CLI running in the background (e.g. `dev`), with its standard output piped.
pub fn spawn_cli(args: &[&str]) -> std::process::Child {
    spawn_cli_with_env(args, &[])
}

pub fn spawn_cli_with_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    let mut command = binary(args);
    command.envs(env.iter().copied());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command")
}

/// `add-rule --type EVENT_TYPE --target TARGET` for bridge `name`, which must succeed;
/// the rule's name.
pub fn add_rule(name: &str, event_type: &str, target: &str) -> String {
    let added = cli(&[
        "--name", name, "--output", "json", "add-rule", "--type", event_type, "--target", target,
    ]);
    assert!(added.status.success(), "{}", stderr(&added));
    json(&added)["rule"].as_str().unwrap().to_owned()
}
