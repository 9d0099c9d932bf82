//! stripe-bridge: parses the command line, runs the command, and maps its result to an
//! exit code: 0 done, 1 a user or deploy failure, 2 a usage error (clap's own).

mod cli;
mod commands;
mod output;
mod package;
mod template;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = output::Printer::new(&cli.global);
    let result = match &cli.command {
        Command::Template(args) => commands::template::run(args),
        Command::Package(args) => commands::package::run(args, printer),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}
