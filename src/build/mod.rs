//! What `deploy` ships, made on this machine: the relay's Lambda zip and the stack's
//! template, and the cross toolchain an arm64 build needs. Nothing here calls AWS.

mod cross_toolchain;
pub mod package;
pub mod relay_build;
pub mod template;
