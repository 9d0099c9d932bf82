//! Builds the relay's `bootstrap` for Lambda (`provided.al2023`) and packages it.
//!
//! The relay's source travels inside the CLI (see `build.rs`). It is written once per
//! version to the cache directory and built there with the `lambda` profile, into a
//! build directory that stays warm between deploys. A `bootstrap` already built from
//! this very source is packaged without running cargo at all.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::cross_toolchain;
use super::package::{Architecture, Artifact, check_glibc, package};
use crate::short_hash::short_sha256;

mod relay_sources {
    include!(concat!(env!("OUT_DIR"), "/relay_sources.rs"));
}

mod carried_relays {
    include!(concat!(env!("OUT_DIR"), "/carried_relays.rs"));
}

/// The relay zip for `arch` that this binary carries: a release's (`.ci/release`), built
/// with it from the same source; none in a build from source.
pub fn carried(arch: Architecture) -> Option<Artifact> {
    let zip = match arch {
        Architecture::X86_64 => carried_relays::X86_64,
        Architecture::Arm64 => carried_relays::ARM64,
    }?;
    Some(Artifact::of_zip(zip.to_vec()))
}

/// Where stripe-bridge keeps the relay's source and its warm build directory.
pub fn cache_dir() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set; set one so stripe-bridge can cache the relay's build")?;
    Ok(base.join("stripe-bridge"))
}

/// Builds the relay for `arch` and packages it (`built` first finds one that needs no
/// build). `cargo`'s own progress goes to stderr; `detail` hears where the source and the
/// build directory are.
/// A cross build (arm64 on x86_64) installs what it needs first (`cross_toolchain`),
/// telling `status` so.
pub fn build(
    arch: Architecture,
    cache: &Path,
    status: impl Fn(String),
    detail: impl Fn(String),
) -> Result<Artifact> {
    let source = write_sources(cache)?;
    let host = host_target()?;
    let target = arch.rust_target();
    let mut command = if host == target {
        let mut c = Command::new("cargo");
        c.arg("build");
        c
    } else {
        let tools = cross_toolchain::ensure(arch, cache, status)?;
        let mut c = Command::new("cargo");
        c.arg("zigbuild")
            .env("PATH", cross_toolchain::path_with(&tools));
        c
    };
    let target_dir = cache.join("relay-target");
    detail(format!(
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
        // The relay's own settings, not whatever the caller's environment sets, and the
        // same bytes whoever builds it wherever: the paths a binary could name (the
        // source, the dependencies' sources, the build directory) as the same fixed
        // names, and any build script's idea of "now" fixed.
        .env_remove("RUSTFLAGS")
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            reproducible_rustflags(&source, &target_dir),
        )
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env_remove("CARGO_BUILD_TARGET");
    let status = command.status().context(
        "cannot run cargo; install Rust (https://rustup.rs) to build the relay, or pass --artifact",
    )?;
    if !status.success() {
        bail!("building the relay failed (cargo exited with {status}); see cargo's output above");
    }
    let artifact = package_binary(&binary_path(cache, arch))?;
    // Which source the binary is of: the next deploy of the same CLI needs no cargo.
    std::fs::write(stamp_path(cache, arch), source_hash())
        .with_context(|| format!("cannot write {}", stamp_path(cache, arch).display()))?;
    Ok(artifact)
}

/// 1980-01-01, the zip format's first day, for build scripts that read the time.
const SOURCE_DATE_EPOCH: &str = "315532800";

/// `--remap-path-prefix` for each path that can reach the binary (panic locations name
/// source files; a build script's generated files sit in the build directory), so that
/// the same source gives the same zip whatever the checkout, cache, user or machine.
/// Separated by 0x1f, as CARGO_ENCODED_RUSTFLAGS takes them (paths may hold spaces).
fn reproducible_rustflags(source: &Path, target_dir: &Path) -> String {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut flags = vec![
        format!("--remap-path-prefix={}=/relay", source.display()),
        format!("--remap-path-prefix={}=/target", target_dir.display()),
    ];
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    flags.join("\x1f")
}

fn package_binary(binary_path: &Path) -> Result<Artifact> {
    let binary = std::fs::read(binary_path)
        .with_context(|| format!("cargo built no {}", binary_path.display()))?;
    // Both architectures run on provided.al2023's glibc.
    check_glibc(&binary)?;
    package(&binary)
}

/// Where this version's source is written: one folder per content.
fn source_dir(cache: &Path) -> PathBuf {
    cache.join("relay-src").join(source_hash())
}

/// The embedded source's content hash (16 hex digits).
fn source_hash() -> String {
    let mut everything = relay_sources::WORKSPACE_MANIFEST.as_bytes().to_vec();
    for (path, contents) in relay_sources::FILES {
        everything.extend_from_slice(path.as_bytes());
        everything.extend_from_slice(contents);
    }
    short_sha256(everything, 16)
}

/// Beside the binary: the hash of the source it was built from.
fn stamp_path(cache: &Path, arch: Architecture) -> PathBuf {
    binary_path(cache, arch).with_extension("source")
}

fn binary_path(cache: &Path, arch: Architecture) -> PathBuf {
    cache
        .join("relay-target")
        .join(arch.rust_target())
        .join("lambda")
        .join("bootstrap")
}

/// The relay for `arch` built before from this very source (another CLI version's build
/// stamps another hash), packaged without cargo; none if it was not (building takes
/// minutes: `status` does not).
pub fn built(arch: Architecture, cache: &Path) -> Option<Result<Artifact>> {
    let binary = binary_path(cache, arch);
    let ours = binary.exists()
        && std::fs::read_to_string(stamp_path(cache, arch)).is_ok_and(|s| s == source_hash());
    ours.then(|| package_binary(&binary))
}

/// Writes the embedded source once per content: an unchanged relay keeps its files'
/// times, so cargo sees nothing to rebuild. Written beside the final folder and renamed
/// into place, so that two builds starting at once never read a half-written file.
fn write_sources(cache: &Path) -> Result<PathBuf> {
    let dir = source_dir(cache);
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    let staging = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    for (path, contents) in relay_sources::FILES {
        let file = staging.join(path);
        std::fs::create_dir_all(file.parent().expect("a file has a folder"))?;
        std::fs::write(&file, contents)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    std::fs::write(
        staging.join("Cargo.toml"),
        relay_sources::WORKSPACE_MANIFEST,
    )?;
    std::fs::write(staging.join(".complete"), b"")?;
    // Another build may have put the same source there first; then its copy stays.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.join(".complete").exists() {
            anyhow::bail!("cannot write the relay's source to {}", dir.display());
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_source_is_a_workspace_of_the_relay() {
        let paths: Vec<&str> = relay_sources::FILES.iter().map(|(p, _)| *p).collect();
        for needed in [
            "relay-function/Cargo.toml",
            "relay-function/src/bin/bootstrap.rs",
            "relay-function/src/signature.rs",
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
