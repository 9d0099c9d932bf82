//! The release (issue 29). The archive `.ci/release` builds, unpacked into a clean
//! directory, deploys a bridge on the emulator from the relay zip it carries, with an empty
//! HOME and neither cargo nor rustc on PATH. And dist's side of it (Cargo.toml's
//! `[workspace.metadata.dist]`): the committed workflow is the one dist writes from that
//! configuration, the release names the four platforms' archives as `.ci/release` names
//! this one, and dist's shell installer, given that archive from a loopback server,
//! installs the same binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::aws::unique;
use crate::support::cli::{installed, json, stderr};

#[test]
#[ignore = "builds the release binary and the relay for both architectures; tests/run.sh runs it in CI"]
fn the_release_archive_deploys_with_no_toolchain() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = std::env::temp_dir().join(unique("release"));
    let out = scratch.join("out");
    let built = Command::new(root.join(".ci/release"))
        .arg(&out)
        .status()
        .expect("run .ci/release");
    assert!(built.success(), ".ci/release failed");
    let archive = only_archive(&out);
    let name = archive.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("stripe-bridge-") && name.ends_with("-unknown-linux-gnu.tar.xz"),
        "{name}"
    );
    let checked = Command::new("sha256sum")
        .args(["--check", &format!("{name}.sha256")])
        .current_dir(&out)
        .status()
        .unwrap();
    assert!(checked.success(), "the archive's .sha256 does not match it");

    let clean = scratch.join("unpacked");
    std::fs::create_dir_all(&clean).unwrap();
    let unpacked = Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(&clean)
        .status()
        .unwrap();
    assert!(unpacked.success());
    let folder = clean.join(name.trim_end_matches(".tar.xz"));
    for file in ["stripe-bridge", "README.md", "LICENSE"] {
        assert!(folder.join(file).exists(), "the archive has no {file}");
    }
    let binary = folder.join("stripe-bridge");
    let from_installer = install_with_dists_installer(&out, &scratch);
    assert!(
        std::fs::read(&from_installer).unwrap() == std::fs::read(&binary).unwrap(),
        "the shell installer installed another binary than the archive holds"
    );
    let home = scratch.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let no_cargo = Command::new("sh")
        .args(["-c", "command -v cargo || command -v rustc"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .status()
        .unwrap();
    assert!(!no_cargo.success(), "cargo or rustc is on the system PATH");

    let bridge = unique("released");
    let binary = from_installer;
    let deployed = installed(
        &binary,
        &["--name", &bridge, "--output", "json", "deploy"],
        &home,
    );
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    assert!(
        stderr(&deployed).contains("Using the relay this release carries for x86_64"),
        "{}",
        stderr(&deployed)
    );
    assert!(json(&deployed)["outputs"]["WebhookUrl"].is_string());
    let status = installed(
        &binary,
        &["--name", &bridge, "--output", "json", "status"],
        &home,
    );
    assert_eq!(
        json(&status)["relay"]["current"],
        true,
        "{}",
        stderr(&status)
    );
    let removed = installed(&binary, &["--name", &bridge, "remove", "--yes"], &home);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let _ = std::fs::remove_dir_all(&scratch);
}

fn only_archive(out: &Path) -> PathBuf {
    let archives: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().is_some_and(|p| p.ends_with(".tar.xz")))
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    archives.into_iter().next().unwrap()
}

/// dist, as tests/emulator/install.sh installs it beside the emulator.
fn dist() -> Command {
    let python = std::env::var("STRIPE_BRIDGE_PYTHON")
        .expect("STRIPE_BRIDGE_PYTHON names the tools' virtualenv (tests/run.sh sets it)");
    let dist = Path::new(&python).with_file_name("dist");
    assert!(
        dist.exists(),
        "{} is missing: run tests/emulator/install.sh",
        dist.display()
    );
    let mut command = Command::new(dist);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

#[test]
fn the_release_workflow_is_what_dist_writes_for_all_four_platforms() {
    // `dist plan` refuses a workflow that differs from what the configuration generates.
    let plan = dist()
        .args(["plan", "--output-format=json"])
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let mut archives: Vec<&str> = plan["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|name| name.ends_with(".tar.xz"))
        .collect();
    archives.sort();
    assert_eq!(
        archives,
        [
            "stripe-bridge-aarch64-apple-darwin.tar.xz",
            "stripe-bridge-aarch64-unknown-linux-gnu.tar.xz",
            "stripe-bridge-x86_64-apple-darwin.tar.xz",
            "stripe-bridge-x86_64-unknown-linux-gnu.tar.xz",
        ]
    );
    for installer in ["stripe-bridge-installer.sh", "stripe-bridge.rb"] {
        assert!(
            plan["artifacts"].get(installer).is_some(),
            "no {installer} in {plan}"
        );
    }
    let workflow = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/release.yml"),
    )
    .unwrap();
    // The relay zips are built once, before any target's build, which carries them.
    assert!(workflow.contains("custom-relay-zips:"), "{workflow}");
    assert!(
        workflow.contains("STRIPE_BRIDGE_CARRY_RELAY_ARM64="),
        "{workflow}"
    );
}

/// Runs the shell installer dist makes for a release, fetching its archive for this
/// host from `out` over a loopback server, into a clean CARGO_HOME; the installed binary.
fn install_with_dists_installer(out: &Path, scratch: &Path) -> PathBuf {
    let built = dist()
        .args([
            "build",
            "--artifacts=global",
            "--tag",
            "v0.1.0",
            "--output-format=json",
        ])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&built.stdout).unwrap();
    let installer = manifest["artifacts"]["stripe-bridge-installer.sh"]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("dist made no shell installer: {manifest}"));
    let server = Server::serve(out);
    let cargo_home = scratch.join("cargo-home");
    let installed = Command::new("sh")
        .arg(installer)
        .arg("--no-modify-path")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", scratch.join("installer-home"))
        .env("CARGO_HOME", &cargo_home)
        .env("STRIPE_BRIDGE_DOWNLOAD_URL", &server.url)
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}{}",
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    cargo_home.join("bin/stripe-bridge")
}

/// A static file server on a free port of 127.0.0.1, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn serve(dir: &Path) -> Server {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 serves the archive");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split("port ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
