//! What the integration tests share: the AWS emulator, and Stripe-like requests.

pub mod aws;
pub mod emulator;
pub mod stripe;
