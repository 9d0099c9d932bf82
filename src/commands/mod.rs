//! One module per command.

pub mod template;
