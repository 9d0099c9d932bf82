//! stripe-bridge: parses the command line, runs the command, and maps its result to an
//! exit code: 0 done, 1 a user or deploy failure, 2 a usage error (clap's own).

mod artifacts;
mod aws;
mod bridge;
mod cli;
mod commands;
mod delivery_probe;
mod dev_server;
mod event_types;
mod output;
mod package;
mod report;
mod rule_target;
mod rules;
mod sample_event;
mod secret_input;
mod signature_diagnosis;
mod stack;
mod template;
mod webhook_client;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// The AWS commands' runtime: one thread is plenty for a CLI that waits on AWS.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = output::Printer::new(&cli.global);
    let result = match &cli.command {
        Command::Template(args) => commands::template::run(args),
        Command::Package(args) => commands::package::run(args, printer),
        Command::Deploy(args) => {
            runtime().block_on(commands::deploy::run(&cli.global, args, printer))
        }
        Command::AddRule(args) => {
            runtime().block_on(commands::rules::add(&cli.global, args, printer))
        }
        Command::ListRules => runtime().block_on(commands::rules::list(&cli.global, printer)),
        Command::RemoveRule(args) => {
            runtime().block_on(commands::rules::remove(&cli.global, args, printer))
        }
        Command::SetSecret(args) => {
            runtime().block_on(commands::set_secret::run(&cli.global, args, printer))
        }
        Command::Remove(args) => {
            runtime().block_on(commands::remove::run(&cli.global, args, printer))
        }
        Command::Dev(args) => runtime().block_on(commands::dev::run(&cli.global, args, printer)),
        Command::Test(args) => {
            runtime().block_on(commands::test_event::run(&cli.global, args, printer))
        }
        Command::Status => runtime().block_on(commands::status::run(&cli.global, printer)),
        Command::Verify(args) => match commands::verify::run(args, printer) {
            // The verdict is printed; a signature that does not verify is exit status 1.
            Ok(verified) if !verified => return ExitCode::from(1),
            other => other.map(|_| ()),
        },
        Command::Completions(args) => {
            commands::completions::run(args);
            Ok(())
        }
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
