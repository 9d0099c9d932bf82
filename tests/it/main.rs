//! Integration tests: the relay against the AWS emulator, and the signature verifier
//! against Stripe's official library.

mod cli_help;
mod deploy;
mod local_relay;
mod package;
mod relay_delivery;
mod relay_failures;
mod relay_logs;
mod rules;
mod set_secret;
mod signature_oracle;
mod status;
mod support;
mod template;
mod verify;
