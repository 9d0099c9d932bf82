//! `stripe-bridge package` builds the relay from the source the CLI carries and writes
//! a Lambda zip that is the same, byte for byte, each time the code is the same, in
//! whatever directory it is built.

use std::io::{Cursor, Read};
use std::process::{Command, Output};

use crate::support::aws::unique;

pub fn package(args: &[&str]) -> Output {
    package_command(args)
        .output()
        .expect("run stripe-bridge package")
}

fn package_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stripe-bridge"));
    command
        .args(["--output", "json", "package"])
        .args(args)
        // From another directory: the CLI must not need the repository around it.
        .current_dir(std::env::temp_dir());
    command
}

/// ELF's `e_machine`, at byte 18 (little-endian): what the binary runs on.
pub fn elf_machine(binary: &[u8]) -> u16 {
    assert_eq!(&binary[..4], b"\x7fELF", "not an ELF binary");
    u16::from_le_bytes([binary[18], binary[19]])
}

pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

/// The `bootstrap` inside a zip.
pub fn bootstrap_of(zip: Vec<u8>) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut bootstrap = archive.by_name("bootstrap").unwrap();
    let mut binary = Vec::new();
    bootstrap.read_to_end(&mut binary).unwrap();
    binary
}

// Builds the relay with the `lambda` profile (fat LTO: minutes on two cores), so it runs
// where CI needs it (tests/run.sh in CI, or `tests/run.sh -- --include-ignored`).
#[test]
#[ignore = "builds the relay with fat LTO; tests/run.sh runs it in CI"]
fn package_builds_a_reproducible_lambda_zip() {
    let dir = std::env::temp_dir().join(unique("package"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut hashes = Vec::new();
    for name in ["first.zip", "second.zip"] {
        let out = dir.join(name);
        let mut command = package_command(&["--out", out.to_str().unwrap()]);
        if name == "second.zip" {
            // Built from this source before: packaged with no cargo or rustc to run.
            command.env("PATH", "/nonexistent");
        }
        let output = command.output().expect("run stripe-bridge package");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(result["architecture"], "x86_64");
        let zip = std::fs::read(&out).unwrap();
        assert_eq!(result["bytes"], zip.len());
        assert!(zip.len() <= 4_000_000, "the zip is {} bytes", zip.len());

        let mut archive = zip::ZipArchive::new(Cursor::new(zip.clone())).unwrap();
        let bootstrap = archive.by_name("bootstrap").unwrap();
        assert_eq!(bootstrap.unix_mode().map(|m| m & 0o777), Some(0o755));
        drop(bootstrap);
        assert_eq!(elf_machine(&bootstrap_of(zip)), EM_X86_64);
        hashes.push(result["sha256"].as_str().unwrap().to_owned());
        if name == "second.zip" {
            // The first run built it: the second says it uses that build, and needed no
            // toolchain (no PATH) to do so.
            assert!(
                String::from_utf8_lossy(&output.stderr).contains("Using the relay built before"),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    assert_eq!(hashes[0], hashes[1], "the same code packaged twice differs");

    // Built again from scratch elsewhere: another cache, so another source directory and
    // another target directory, and another working directory. The same bytes.
    let elsewhere = std::env::temp_dir().join(unique("package-elsewhere"));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = dir.join("elsewhere.zip");
    let mut command = package_command(&["--out", out.to_str().unwrap()]);
    command
        .env("XDG_CACHE_HOME", elsewhere.join("cache"))
        .current_dir(&elsewhere);
    let output = command.output().expect("run stripe-bridge package");
    let _ = std::fs::remove_dir_all(&elsewhere);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        result["sha256"].as_str().unwrap(),
        hashes[0],
        "the relay built in another directory differs"
    );
    crate::support::evidence::record(
        "reproducible_relay",
        serde_json::json!({ "sha256": hashes[0], "builds": 3, "directories": 2 }),
    );
}
