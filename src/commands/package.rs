//! `stripe-bridge package`: build the relay and write its Lambda zip, for deploying
//! through your own pipeline (with `stripe-bridge template`).

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use super::ExitStatus;
use crate::build::package::{Architecture, Artifact};
use crate::build::relay_build;
use crate::cli::PackageArgs;
use crate::ui::Printer;
use crate::ui::progress::Spinner;

/// The zip written.
#[derive(Debug, Serialize)]
pub struct Packaged {
    pub path: PathBuf,
    pub bytes: usize,
    pub sha256: String,
    pub key: String,
    pub architecture: &'static str,
}

/// The relay for `arch`: the zip a release carries, unless `build` asks for a build from
/// the source; else built.
pub fn relay(arch: Architecture, build: bool, printer: Printer) -> Result<Artifact> {
    if !build && let Some(carried) = relay_build::carried(arch) {
        printer.status(format!(
            "Using the relay this release carries for {}",
            arch.lambda_name()
        ));
        return Ok(carried);
    }
    build_relay(arch, printer)
}

/// The relay for `arch`, from the embedded source: packaged at once when this source
/// was built before, else built (minutes, the first time) under a spinner.
pub fn build_relay(arch: Architecture, printer: Printer) -> Result<Artifact> {
    let cache = relay_build::cache_dir()?;
    if let Some(built) = relay_build::built(arch, &cache) {
        printer.status(format!(
            "Using the relay built before for {} (no build needed)",
            arch.lambda_name()
        ));
        return built;
    }
    let message = format!(
        "Building the relay for {} (the first build takes a few minutes)",
        arch.lambda_name()
    );
    let spinner = Spinner::new(&printer, &message);
    let built = relay_build::build(arch, &cache, |s| spinner.println(&s), |d| printer.detail(d));
    spinner.finish();
    built
}

impl fmt::Display for Packaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {} bytes  sha256 {}",
            self.path.display(),
            self.bytes,
            self.sha256
        )
    }
}

pub fn run(args: &PackageArgs, printer: Printer) -> Result<ExitStatus> {
    let arch = args.arch;
    let artifact = relay(arch, args.build_relay, printer)?;
    std::fs::write(&args.out, &artifact.zip)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    printer.result(&Packaged {
        path: args.out.clone(),
        bytes: artifact.zip.len(),
        key: artifact.key(),
        sha256: artifact.sha256,
        architecture: arch.lambda_name(),
    });
    Ok(ExitStatus::Success)
}
