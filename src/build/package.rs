//! Builds the relay for Lambda (`provided.al2023`) and packages it: a zip holding one
//! executable `bootstrap`, byte-for-byte reproducible (fixed time, mode and order), named
//! by its content hash, so the hash changes only when the code does.
//!
//! The relay's source travels inside the CLI (see `build.rs`). It is written once per
//! version to the cache directory and built there with the `lambda` profile, into a
//! build directory that stays warm between deploys.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::output::Printer;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

mod relay_sources {
    include!(concat!(env!("OUT_DIR"), "/relay_sources.rs"));
}

/// Lambda's provided.al2023 runtime has glibc 2.34: a binary that needs a newer symbol
/// does not start there.
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// The name Lambda uses.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    fn rust_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// A packaged relay, ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub zip: Vec<u8>,
    /// Lowercase hex SHA-256 of `zip`.
    pub sha256: String,
}

impl Artifact {
    /// The S3 key: the content hash, so an unchanged relay is never uploaded twice.
    pub fn key(&self) -> String {
        format!("relay/{}.zip", self.sha256)
    }
}

/// Zips `bootstrap` the same way every time.
pub fn package(bootstrap: &[u8]) -> Result<Artifact> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(bootstrap)?;
    let zip = writer.finish()?.into_inner();
    let sha256 = hex::encode(Sha256::digest(&zip));
    Ok(Artifact { zip, sha256 })
}

/// Reads a prebuilt zip (`deploy --artifact`), checking that Lambda can run it.
pub fn load_prebuilt(path: &Path) -> Result<Artifact> {
    let zip = std::fs::read(path)
        .with_context(|| format!("cannot read the artifact {}", path.display()))?;
    let mut archive = ZipArchive::new(Cursor::new(&zip)).with_context(|| {
        format!(
            "{} is not a zip file; pass a zip holding the relay's `bootstrap`",
            path.display()
        )
    })?;
    let mut bootstrap = archive.by_name("bootstrap").map_err(|_| {
        anyhow::anyhow!(
            "{} has no `bootstrap` at its top level; Lambda's provided.al2023 runtime starts that file",
            path.display()
        )
    })?;
    if bootstrap.unix_mode().is_some_and(|mode| mode & 0o111 == 0) {
        bail!(
            "`bootstrap` in {} is not executable; zip it with mode 755",
            path.display()
        );
    }
    let mut binary = Vec::new();
    bootstrap.read_to_end(&mut binary)?;
    check_glibc(&binary)?;
    drop(bootstrap);
    let sha256 = hex::encode(Sha256::digest(&zip));
    Ok(Artifact { zip, sha256 })
}

/// The newest `GLIBC_x.y` version an ELF binary asks for, if any. The version names
/// are plain strings in the dynamic string table, so a scan finds them all.
pub fn newest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    const MARK: &[u8] = b"GLIBC_";
    let mut newest = None;
    let mut rest = binary;
    while let Some(at) = rest.windows(MARK.len()).position(|w| w == MARK) {
        let version: Vec<u8> = rest[at + MARK.len()..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .copied()
            .collect();
        let mut parts = std::str::from_utf8(&version)
            .unwrap_or_default()
            .split('.')
            .map(|p| p.parse::<u32>());
        if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) {
            newest = newest.max(Some((major, minor)));
        }
        rest = &rest[at + MARK.len()..];
    }
    newest
}

fn check_glibc(binary: &[u8]) -> Result<()> {
    match newest_glibc(binary) {
        Some(needed) if needed > LAMBDA_GLIBC => bail!(
            "the relay needs glibc {}.{}, but Lambda's provided.al2023 has {}.{}; build it on an \
             older system, or with `cargo zigbuild --target x86_64-unknown-linux-gnu.2.34`",
            needed.0,
            needed.1,
            LAMBDA_GLIBC.0,
            LAMBDA_GLIBC.1
        ),
        _ => Ok(()),
    }
}

/// Where stripe-bridge keeps the relay's source and its warm build directory.
pub fn cache_dir() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set; set one so stripe-bridge can cache the relay's build")?;
    Ok(base.join("stripe-bridge"))
}

/// Builds the relay for `arch` and packages it. `cargo`'s own progress goes to stderr.
pub fn build(arch: Architecture, cache: &Path, printer: Printer) -> Result<Artifact> {
    let source = write_sources(cache)?;
    let host = host_target()?;
    let target = arch.rust_target();
    let mut command = if host == target {
        let mut c = Command::new("cargo");
        c.arg("build");
        c
    } else {
        check_cross_toolchain(arch)?;
        let mut c = Command::new("cargo");
        c.arg("zigbuild");
        c
    };
    let target_dir = cache.join("relay-target");
    printer.detail(format!(
        "relay source: {}; build directory: {}",
        source.display(),
        target_dir.display()
    ));
    command
        .args([
            "--quiet",
            "--profile",
            "lambda",
            "--bin",
            "bootstrap",
            "--target",
            target,
        ])
        .arg("--manifest-path")
        .arg(source.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        // The relay's own settings, not whatever the caller's environment sets.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    let status = command.status().context(
        "cannot run cargo; install Rust (https://rustup.rs) to build the relay, or pass --artifact",
    )?;
    if !status.success() {
        bail!("building the relay failed (cargo exited with {status}); see cargo's output above");
    }
    let binary_path = target_dir.join(target).join("lambda").join("bootstrap");
    let binary = std::fs::read(&binary_path)
        .with_context(|| format!("cargo built no {}", binary_path.display()))?;
    if arch == Architecture::X86_64 {
        check_glibc(&binary)?;
    }
    package(&binary)
}

/// Writes the embedded source once per content: an unchanged relay keeps its files'
/// times, so cargo sees nothing to rebuild.
fn write_sources(cache: &Path) -> Result<PathBuf> {
    let mut hash = Sha256::new();
    hash.update(relay_sources::WORKSPACE_MANIFEST);
    for (path, contents) in relay_sources::FILES {
        hash.update(path);
        hash.update(contents);
    }
    let dir = cache
        .join("relay-src")
        .join(&hex::encode(hash.finalize())[..16]);
    let complete = dir.join(".complete");
    if complete.exists() {
        return Ok(dir);
    }
    for (path, contents) in relay_sources::FILES {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a file has a folder"))?;
        std::fs::write(&file, contents)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    std::fs::write(dir.join("Cargo.toml"), relay_sources::WORKSPACE_MANIFEST)?;
    std::fs::write(&complete, b"")?;
    Ok(dir)
}

fn host_target() -> Result<String> {
    let output = Command::new("rustc").arg("-vV").output().context(
        "cannot run rustc; install Rust (https://rustup.rs) to build the relay, or pass --artifact",
    )?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV did not name its host")
}

fn check_cross_toolchain(arch: Architecture) -> Result<()> {
    let target = arch.rust_target();
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == target)
        })
        .unwrap_or(false);
    let zigbuild = Command::new("cargo")
        .args(["zigbuild", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed && zigbuild {
        return Ok(());
    }
    let mut steps = Vec::new();
    if !installed {
        steps.push(format!("rustup target add {target}"));
    }
    if !zigbuild {
        steps.push("pip install ziglang && cargo install cargo-zigbuild".to_owned());
    }
    bail!(
        "building the relay for {} on this machine needs a cross toolchain: run `{}`, or pass --artifact with a prebuilt zip",
        arch.lambda_name(),
        steps.join("` and `")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaging_is_reproducible_and_named_by_content() {
        let first = package(b"\x7fELF binary").unwrap();
        let again = package(b"\x7fELF binary").unwrap();
        assert_eq!(first, again);
        assert_ne!(package(b"\x7fELF other").unwrap().sha256, first.sha256);
        assert_eq!(first.key(), format!("relay/{}.zip", first.sha256));
    }

    #[test]
    fn the_zip_holds_an_executable_bootstrap() {
        let artifact = package(b"binary").unwrap();
        let mut archive = ZipArchive::new(Cursor::new(&artifact.zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let file = archive.by_name("bootstrap").unwrap();
        assert_eq!(file.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn a_prebuilt_artifact_is_checked() {
        let dir = std::env::temp_dir().join(format!("sb-artifact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.zip");
        std::fs::write(&good, package(b"binary GLIBC_2.17").unwrap().zip).unwrap();
        assert!(load_prebuilt(&good).is_ok());

        let not_zip = dir.join("not.zip");
        std::fs::write(&not_zip, b"hello").unwrap();
        assert!(
            load_prebuilt(&not_zip)
                .unwrap_err()
                .to_string()
                .contains("not a zip")
        );

        let too_new = dir.join("new.zip");
        std::fs::write(&too_new, package(b"GLIBC_2.17 GLIBC_2.38").unwrap().zip).unwrap();
        let error = load_prebuilt(&too_new).unwrap_err().to_string();
        assert!(error.contains("glibc 2.38"), "{error}");
    }

    #[test]
    fn the_newest_glibc_is_found() {
        assert_eq!(
            newest_glibc(b"GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0"),
            Some((2, 34))
        );
        assert_eq!(newest_glibc(b"no libc here"), None);
    }

    #[test]
    fn the_embedded_source_is_a_workspace_of_the_relay() {
        let paths: Vec<&str> = relay_sources::FILES.iter().map(|(p, _)| *p).collect();
        for needed in [
            "relay-function/Cargo.toml",
            "relay-function/src/bin/bootstrap.rs",
            "Cargo.lock",
        ] {
            assert!(
                paths.contains(&needed),
                "{needed} is not embedded: {paths:?}"
            );
        }
        assert!(relay_sources::WORKSPACE_MANIFEST.contains("members = [\"relay-function\"]"));
        assert!(relay_sources::WORKSPACE_MANIFEST.contains("[profile.lambda]"));
    }
}
