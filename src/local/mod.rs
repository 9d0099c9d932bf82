//! What runs on this machine's network: the local relay server behind `dev`, and the
//! webhook client behind `test`.

pub mod dev_server;
pub mod webhook_client;
