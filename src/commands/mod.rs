//! One module per command.

pub mod package;
pub mod template;
