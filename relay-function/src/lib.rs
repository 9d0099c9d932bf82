//! The stripe-bridge relay: verifies Stripe webhook requests and puts the events on
//! Amazon EventBridge. The Lambda (`bootstrap`) and the CLI's local relay share it.

pub mod aws_errors;
pub mod bus_delivery;
pub mod bus_entry;
pub mod failure_notices;
pub mod lambda;
pub mod reason;
pub mod relay;
pub mod relay_config;
pub mod secret_store;
pub mod signature;
pub mod signing_secrets;
pub mod stripe_event;
pub mod webhook;
