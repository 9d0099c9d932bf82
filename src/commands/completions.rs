//! `stripe-bridge completions`: a shell completion script, from the command line's own
//! definition, so it never falls behind it.

use anyhow::Result;
use clap::CommandFactory;

use super::ExitStatus;
use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> Result<ExitStatus> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "stripe-bridge",
        &mut std::io::stdout(),
    );
    Ok(ExitStatus::Success)
}
