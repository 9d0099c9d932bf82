//! The first characters of a SHA-256 in hex: how stripe-bridge makes names that are the
//! same on every run, unique to what they stand for, and short enough for AWS's limits.

use sha2::{Digest, Sha256};

/// The first `chars` hex digits of the SHA-256 of `data`.
pub fn short_sha256(data: impl AsRef<[u8]>, chars: usize) -> String {
    let mut hex = hex::encode(Sha256::digest(data));
    hex.truncate(chars);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_the_start_of_the_sha256() {
        assert_eq!(short_sha256("abc", 8), "ba7816bf");
        assert_eq!(short_sha256("abc", 64).len(), 64);
    }
}
