//! `stripe-bridge package`: build the relay and write its Lambda zip, for deploying
//! through your own pipeline (with `stripe-bridge template`).

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::PackageArgs;
use crate::output::Printer;
use crate::package;

pub fn run(args: &PackageArgs, printer: Printer) -> Result<()> {
    let arch = args.arch.into();
    printer.status(format!(
        "Building the relay for {} (the first build takes a few minutes)",
        package::Architecture::lambda_name(arch)
    ));
    let artifact = package::build(arch, &package::cache_dir()?, printer)?;
    std::fs::write(&args.out, &artifact.zip)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    printer.result(
        format!(
            "{}  {} bytes  sha256 {}",
            args.out.display(),
            artifact.zip.len(),
            artifact.sha256
        ),
        json!({
            "path": args.out,
            "bytes": artifact.zip.len(),
            "sha256": artifact.sha256,
            "key": artifact.key(),
            "architecture": arch.lambda_name(),
        }),
    );
    Ok(())
}
