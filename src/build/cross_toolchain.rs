//! What building the relay for another architecture (arm64 on an x86_64 laptop) needs,
//! installed the first time it is needed: the Rust target's standard library (by
//! rustup), and `cargo-zigbuild` with the zig compiler it links with, both from PyPI,
//! into a virtualenv in stripe-bridge's cache, so nothing outside the cache changes but
//! rustup's list of targets.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::package::Architecture;
use crate::hint::hinted;

/// Pinned: a cross build must not change under the user from one day to the next.
const PYPI_PACKAGES: [&str; 2] = ["cargo-zigbuild==0.24.1", "ziglang==0.15.2"];

/// The folder to put first on `PATH` for `cargo zigbuild`: the virtualenv's `bin`,
/// where `cargo-zigbuild` is, and the `python3` that finds zig (`python3 -m ziglang`).
pub fn ensure(arch: Architecture, cache: &Path, say: impl Fn(String)) -> Result<PathBuf> {
    ensure_rust_target(arch.rust_target(), &say)?;
    ensure_zigbuild(cache, &say)
}

fn ensure_rust_target(target: &str, say: &impl Fn(String)) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|_| {
            hinted(
                format!("building the relay for {target} needs rustup, which is not on PATH"),
                format!(
                    "install Rust with rustup (https://rustup.rs), or add the target to your toolchain yourself: {target}"
                ),
            )
        })?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l == target)
    {
        return Ok(());
    }
    say(format!(
        "Adding the Rust target {target} (rustup target add, once)"
    ));
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .context("cannot run rustup")?;
    if !status.success() {
        bail!("`rustup target add {target}` failed ({status}); run it yourself, then try again");
    }
    Ok(())
}

fn ensure_zigbuild(cache: &Path, say: &impl Fn(String)) -> Result<PathBuf> {
    let venv = cache.join("cross");
    let bin = venv.join("bin");
    let stamp = venv.join(".stripe-bridge-packages");
    let wanted = PYPI_PACKAGES.join(" ");
    if bin.join("cargo-zigbuild").exists()
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted)
    {
        return Ok(bin);
    }
    say(format!(
        "Installing {wanted} from PyPI into {} (once, about 400 MB)",
        venv.display()
    ));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let created = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|_| {
            hinted(
                format!("installing cargo-zigbuild needs Python 3 ({python} is not on PATH)"),
                "install Python 3 with its venv module, or set PYTHON to one",
            )
        })?;
    if !created.success() {
        bail!("`{python} -m venv {}` failed ({created})", venv.display());
    }
    let installed = Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PYPI_PACKAGES)
        .status()
        .context("cannot run the virtualenv's pip")?;
    if !installed.success() {
        bail!(
            "installing {wanted} from PyPI failed ({installed}); check the network, then try again"
        );
    }
    std::fs::write(&stamp, &wanted)?;
    Ok(bin)
}

/// `PATH` with `first` in front.
pub fn path_with(first: &Path) -> std::ffi::OsString {
    let mut paths = vec![first.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}
