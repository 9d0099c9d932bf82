//! What the benches share. Each uses part of it, so the rest is dead code to that bench.
#![allow(dead_code)]

pub mod payloads;
pub mod request_path;
pub mod timing;
