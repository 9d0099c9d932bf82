pub mod payloads;
pub mod request_path;
