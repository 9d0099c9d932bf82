//! Everything that calls AWS: the configuration (`connect`), the bridge's stack and what
//! it reports, the artifacts bucket, the routing rules and what they are given, and the
//! delivery probe. Each call is wrapped in a "cannot …" context; errors that callers
//! branch on are told apart in `errors`.

pub mod artifacts;
pub mod bridge;
pub mod concurrency;
pub mod connect;
pub mod dead_letters;
pub mod delivery_probe;
pub mod errors;
pub mod event_bus;
pub mod failure_topic;
pub mod monitoring;
pub mod propagation;
pub mod publishers;
pub mod relay_code;
pub mod relay_logs;
pub mod replays;
pub mod rules;
pub mod stack;

/// The tag on everything stripe-bridge makes, with the bridge's name as its value: how
/// its own things are told from anyone else's, and found again by `remove`.
pub const OWNER_TAG: &str = "stripe-bridge:bridge";
