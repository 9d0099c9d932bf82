//! HMAC-SHA256 of a signed payload, `prefix ‖ body`, and `json_check`'s check that the
//! body is one JSON object, in one pass over the body where the CPU allows: the relay's
//! two reads of every byte of every request.
//!
//! Why one pass: with SHA extensions, SHA-256 is bound by the latency of its rounds,
//! each waiting on the one before (about 140 cycles for a 64-byte block here, 1.4 GB/s),
//! and the CPU's other units sit idle meanwhile. Interleaved block by block, the JSON
//! check runs in much of that idle time: on x86_64 with SHA and AVX2 the two together
//! take 1.25 times the hash alone, on a 3 KB event as on a 445 KB one, instead of 1.5
//! times one after the other (best of runs, release build).
//!
//! What this crate writes itself, and why:
//! - HMAC's framing (RFC 2104): the key's two padded blocks, and the inner hash's
//!   padding and length (FIPS 180-4, section 5.1.1). The `hmac` crate hashes its input
//!   in calls of its own, so it cannot share a loop with the check. Every block goes
//!   through sha2's `compress256`, but for the body's whole blocks on the one-pass path.
//! - Those blocks' SHA-256 rounds (`x86`), with the SHA extensions, as sha2's own x86
//!   backend does them. They must inline into the check's loop: through `compress256`,
//!   one call per block, the state goes through memory between blocks, and the one pass
//!   gained only about two thirds as much.
//!
//! The tests compare every path with the `hmac` crate, and the relay's own tests sign
//! with it (`signature::sign`) and verify with this.

#[cfg(target_arch = "x86_64")]
mod x86;

pub use json_check::{Member, NotJsonObject};
use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

/// SHA-256's initial hash value (FIPS 180-4, section 5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// An HMAC-SHA256 key, its two padded blocks hashed once (RFC 2104): where every MAC
/// under it starts. It is as secret as the key, and so has no `Debug`.
#[derive(Clone)]
pub struct Key {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Key {
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let hashed = |pad: u8| {
            let mut state = IV;
            compress256(&mut state, &[block.map(|byte| byte ^ pad)]);
            state
        };
        Self {
            inner: hashed(0x36),
            outer: hashed(0x5c),
        }
    }

    /// The MAC, from the inner hash's state after its last block.
    fn mac(&self, inner: &[u32; 8]) -> [u8; 32] {
        let digest = be_bytes(inner);
        let mut outer = self.outer;
        compress256(&mut outer, Padded::new(&digest, &[], 64 + 32).blocks());
        be_bytes(&outer)
    }
}

impl AsRef<Key> for Key {
    fn as_ref(&self) -> &Key {
        self
    }
}

/// The inner hash's input, `prefix ‖ body`, cut into 64-byte blocks: the prefix's whole
/// blocks and the body's, borrowed; the block where the prefix ends and the body begins,
/// copied; and the rest, padded.
struct Split<'m> {
    prefix_blocks: &'m [[u8; 64]],
    /// The prefix's last bytes and the body's first, when the prefix does not end on a
    /// block's edge and the body is long enough to complete its block.
    bridge: Option<[u8; 64]>,
    body_blocks: &'m [[u8; 64]],
    tail: Padded,
}

impl<'m> Split<'m> {
    fn new(prefix: &'m [u8], body: &'m [u8]) -> Self {
        let (prefix_blocks, prefix_rest) = prefix.as_chunks::<64>();
        // Key block, prefix and body: the length SHA-256 pads with.
        let length = 64 + prefix.len() + body.len();
        // The body bytes that complete the prefix's last block.
        let completing = (64 - prefix_rest.len()) % 64;
        let Some((first, rest)) = body.split_at_checked(completing) else {
            // The body ends inside the prefix's last block.
            return Self {
                prefix_blocks,
                bridge: None,
                body_blocks: &[],
                tail: Padded::new(prefix_rest, body, length),
            };
        };
        let bridge = (completing > 0).then(|| {
            let mut block = [0u8; 64];
            block[..prefix_rest.len()].copy_from_slice(prefix_rest);
            block[prefix_rest.len()..].copy_from_slice(first);
            block
        });
        let (body_blocks, body_rest) = rest.as_chunks::<64>();
        Self {
            prefix_blocks,
            bridge,
            body_blocks,
            tail: Padded::new(body_rest, &[], length),
        }
    }

    /// The inner hash's last state, with the body's whole blocks hashed by `body_blocks`.
    fn hash(&self, key: &Key, body_blocks: impl FnOnce(&mut [u32; 8], &[[u8; 64]])) -> [u32; 8] {
        let mut state = key.inner;
        compress256(&mut state, self.prefix_blocks);
        compress256(&mut state, self.bridge.as_slice());
        body_blocks(&mut state, self.body_blocks);
        compress256(&mut state, self.tail.blocks());
        state
    }

    /// The MAC under `key`, every block through sha2.
    fn mac(&self, key: &Key) -> [u8; 32] {
        key.mac(&self.hash(key, compress256))
    }
}

/// The last bytes of a message (under 64), then SHA-256's padding (FIPS 180-4, section
/// 5.1.1): a 1 bit, zeros, and the message's length in bits, big-endian, ending a block.
struct Padded {
    blocks: [[u8; 64]; 2],
    /// One block, or two when the length does not fit after the last bytes.
    count: usize,
}

impl Padded {
    fn new(first: &[u8], second: &[u8], length: usize) -> Self {
        let mut bytes = [0u8; 128];
        let rest = first.len() + second.len();
        bytes[..first.len()].copy_from_slice(first);
        bytes[first.len()..rest].copy_from_slice(second);
        bytes[rest] = 0x80;
        let end = if rest + 1 + 8 <= 64 { 64 } else { 128 };
        bytes[end - 8..end].copy_from_slice(&(length as u64 * 8).to_be_bytes());
        let (blocks, _) = bytes.as_chunks::<64>();
        Self {
            blocks: [blocks[0], blocks[1]],
            count: end / 64,
        }
    }

    fn blocks(&self) -> &[[u8; 64]] {
        &self.blocks[..self.count]
    }
}

fn be_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (out, word) in bytes.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    bytes
}

/// The HMAC-SHA256 of `prefix ‖ body` under each key.
pub fn macs<K: AsRef<Key>>(keys: &[K], prefix: &[u8], body: &[u8]) -> Vec<[u8; 32]> {
    let split = Split::new(prefix, body);
    keys.iter().map(|key| split.mac(key.as_ref())).collect()
}

/// `macs`, and whether `body` is one JSON object, as `json_check::top_level_members`
/// answers, calling `member` for each top-level member. One pass over the body for the
/// first key, where the CPU has what it takes (x86_64 with SHA and AVX2); the check and
/// then the hash elsewhere, with the same answers.
pub fn macs_and_check<'a, K: AsRef<Key>>(
    keys: &[K],
    prefix: &[u8],
    body: &'a str,
    member: &mut dyn FnMut(Member<'a>),
) -> (Vec<[u8; 32]>, Result<(), NotJsonObject>) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(one_pass), Some((first, others))) = (x86::OnePass::detect(), keys.split_first()) {
        let split = Split::new(prefix, body.as_bytes());
        let first = first.as_ref();
        let mut checked = Ok(());
        let inner = split.hash(first, |state, blocks| {
            let check = json_check::Blocks::new(body, member);
            checked = one_pass.hash_and_check(state, blocks, check);
        });
        let mut macs = vec![first.mac(&inner)];
        macs.extend(others.iter().map(|key| split.mac(key.as_ref())));
        return (macs, checked);
    }
    let checked = json_check::top_level_members(body, member);
    (macs(keys, prefix, body.as_bytes()), checked)
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit, Mac};

    use super::*;

    fn reference(key: &[u8], prefix: &[u8], body: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(prefix);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    fn random_bytes(len: usize) -> Vec<u8> {
        (0..len).map(|_| fastrand::u8(..)).collect()
    }

    #[test]
    fn macs_agree_with_the_hmac_crate_at_every_length_and_alignment() {
        fastrand::seed(7);
        for key_len in [0, 1, 38, 63, 64, 65, 200] {
            let key = random_bytes(key_len);
            for prefix_len in [0, 1, 11, 55, 56, 63, 64, 65, 130] {
                let prefix = random_bytes(prefix_len);
                for body_len in (0..200).chain([255, 256, 257, 1000, 4096, 10_000]) {
                    let body = random_bytes(body_len);
                    let got = macs(&[Key::new(&key), Key::new(b"second key")], &prefix, &body);
                    assert_eq!(
                        got,
                        [
                            reference(&key, &prefix, &body),
                            reference(b"second key", &prefix, &body)
                        ],
                        "key {key_len}, prefix {prefix_len}, body {body_len}"
                    );
                }
            }
        }
    }

    /// JSON bodies of every length around the block edges, some broken, through the one
    /// pass (where this CPU has it) and through the check and hash one after the other.
    #[test]
    fn one_pass_agrees_with_the_hmac_crate_and_json_check() {
        fastrand::seed(11);
        let mut bodies = Vec::new();
        for len in 0..400 {
            let filler: String = (0..len).map(|_| fastrand::alphanumeric()).collect();
            let body =
                format!("{{\"id\": \"evt_1\", \"filler\": \"{filler}\", \"n\": [1, 2.5, true]}}");
            bodies.push(body.clone());
            let cut = fastrand::usize(..body.len());
            bodies.push(body[..cut].to_string());
            bodies.push(format!("{}x{}", &body[..cut], &body[cut..]));
        }
        for prefix in [&b""[..], b"1767225600.", &random_bytes(70)] {
            for body in &bodies {
                let raw: [&[u8]; 3] = [b"whsec_one", b"whsec_two", &[7; 80]];
                let hmac_keys = raw.map(Key::new);
                for (keys, hmac_keys) in [0, 1, 3].map(|n| (&raw[..n], &hmac_keys[..n])) {
                    let mut seen = Vec::new();
                    let (got, checked) =
                        macs_and_check(hmac_keys, prefix, body, &mut |m| seen.push(m));
                    let mut expected_seen = Vec::new();
                    let expected_check =
                        json_check::top_level_members(body, &mut |m| expected_seen.push(m));
                    let expected: Vec<_> = keys
                        .iter()
                        .map(|key| reference(key, prefix, body.as_bytes()))
                        .collect();
                    assert_eq!(got, expected, "{body:?}");
                    assert_eq!(checked, expected_check, "{body:?}");
                    if checked.is_ok() {
                        assert_eq!(seen, expected_seen, "{body:?}");
                    }
                }
            }
        }
    }
}
