//! The command line: global options, and one argument struct per command.

use clap::Parser;

/// Stand up, in your own AWS account, a verified Stripe webhook → Amazon EventBridge
/// relay, and run it.
#[derive(Debug, Parser)]
#[command(name = "stripe-bridge", version, about, long_about = None)]
pub struct Cli {}
