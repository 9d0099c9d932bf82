//! stripe-bridge: parses the command line and runs the command.

mod cli;

use clap::Parser;

fn main() {
    let _cli = cli::Cli::parse();
}
