//! What `deploy` ships, made on this machine: the relay's Lambda zip and the stack's
//! template. Nothing here calls AWS.

pub mod package;
pub mod relay_build;
pub mod template;
