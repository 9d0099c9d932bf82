//! The release archive (`.ci/release`, issue 29): unpacked into a clean directory, its
//! binary deploys a bridge on the emulator from the relay zip it carries, with an empty
//! HOME and neither cargo nor rustc on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

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
