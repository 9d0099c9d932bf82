//! What the integration tests share: the AWS emulator, and Stripe-like requests.

pub mod aws;
pub mod cli;
pub mod dev_server;
pub mod emulator;
pub mod evidence;
pub mod fault_proxy;
pub mod runtime_api;
pub mod stripe;
pub mod stripe_api;
