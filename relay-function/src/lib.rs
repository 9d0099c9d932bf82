//! The stripe-bridge relay: verifies Stripe webhook requests and puts the events on
//! Amazon EventBridge. The Lambda (`bootstrap`) and the CLI's local relay share it.
//! No `unsafe` here: every cryptographic primitive comes from a kept crate.

#![forbid(unsafe_code)]

pub mod aws_errors;
#[cfg(feature = "aws")]
pub mod bus_delivery;
#[cfg(feature = "aws")]
pub mod bus_entry;
#[cfg(feature = "aws")]
pub mod claim_check_store;
#[cfg(feature = "aws")]
pub mod failure_notices;
#[cfg(feature = "aws")]
pub mod lambda;
#[cfg(feature = "aws")]
pub mod outcome;
#[cfg(feature = "aws")]
mod put_attempt;
pub mod reason;
#[cfg(feature = "aws")]
pub mod relay;
#[cfg(feature = "aws")]
pub mod relay_config;
#[cfg(feature = "aws")]
pub mod relay_metrics;
#[cfg(feature = "aws")]
pub mod secret_store;
pub mod signature;
pub mod signing_secrets;
pub mod stripe_event;
pub mod verified_event;
#[cfg(feature = "aws")]
pub mod webhook;
