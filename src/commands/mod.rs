//! One module per command.

pub mod deploy;
pub mod package;
pub mod remove;
pub mod rules;
pub mod set_secret;
pub mod template;
