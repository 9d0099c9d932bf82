//! One module per command: each reads its arguments, does its work, and reports.

pub mod completions;
pub mod deploy;
pub mod dev;
pub mod package;
pub mod remove;
pub mod rules;
pub mod set_secret;
pub mod status;
pub mod template;
pub mod test_event;
pub mod verify;
