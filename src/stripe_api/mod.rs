//! Stripe's API, over HTTPS: the key the CLI calls it with (`credentials`), the one
//! client every call goes through (`client`: form encoding, the key, Stripe's errors, its
//! rate limits), and the two resources the bridge needs: `webhook_endpoints` and `events`.
//! A small typed client on the hyper stack the CLI already has, not a Stripe SDK (see
//! `client` for why).

pub mod client;
pub mod credentials;
pub mod events;
pub mod webhook_endpoints;
