//! stripe-bridge: parses the command line, resolves it into settings, runs the command
//! on one async runtime, and maps its result to an exit code: 0 done, 1 a user or deploy
//! failure, 2 a usage error (clap's own).

mod aws;
mod build;
mod cli;
mod commands;
mod hint;
mod https_client;
mod local;
mod settings;
mod short_hash;
mod stripe;
mod stripe_api;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::ui::Printer;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = cli.global.resolve();
    let printer = Printer::new(settings.output);
    // One thread is plenty for a CLI that waits on AWS.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(commands::run(&cli.command, &settings, printer));
    // A prompt interrupted by Ctrl-C still waits on standard input: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(status) => status.into(),
        Err(error) => {
            printer.error(&error);
            ExitCode::from(1)
        }
    }
}
