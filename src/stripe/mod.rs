//! Stripe's side, without I/O: the event-type catalogue and rule patterns, sample
//! events, what makes a string a webhook signing secret, and why a signature fails.

pub mod endpoint_types;
pub mod event_types;
pub mod sample_event;
pub mod secret_check;
pub mod signature_diagnosis;
