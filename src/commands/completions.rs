//! `stripe-bridge completions`: a shell completion script, from the command line's own
//! definition, so it never falls behind it.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "stripe-bridge",
        &mut std::io::stdout(),
    );
}
