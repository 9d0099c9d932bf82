//! Integration tests: the relay against the AWS emulator, and the signature verifier
//! against Stripe's official library.

mod deploy;
mod package;
mod relay_delivery;
mod relay_failures;
mod relay_logs;
mod rules;
mod set_secret;
mod signature_oracle;
mod support;
mod template;
mod verify;
