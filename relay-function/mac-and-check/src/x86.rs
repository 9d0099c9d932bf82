//! The one pass on x86_64: each 64-byte block of the body is hashed with the SHA
//! extensions and then checked with AVX2, in one loop, so that the check runs while the
//! rounds wait on each other.

use std::arch::x86_64::*;

use json_check::{Blocks, NotJsonObject};

/// Proof that this CPU has SHA, SSE4.1 and AVX2.
#[derive(Clone, Copy)]
pub(crate) struct OnePass(());

impl OnePass {
    pub(crate) fn detect() -> Option<Self> {
        let has = std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("avx2");
        has.then_some(Self(()))
    }

    /// Hashes `blocks` into `state` and checks the body's blocks, one of each per turn,
    /// then the rest of whichever is longer, and finishes the check. After the check fails,
    /// only the hash goes on.
    pub(crate) fn hash_and_check(
        self,
        state: &mut [u32; 8],
        blocks: &[[u8; 64]],
        check: Blocks<'_, '_>,
    ) -> Result<(), NotJsonObject> {
        // SAFETY: `detect` found the features.
        unsafe { hash_and_check(state, blocks, check) }
    }
}

#[target_feature(enable = "sha,sse4.1,avx2")]
fn hash_and_check(
    state: &mut [u32; 8],
    blocks: &[[u8; 64]],
    // By value, so that its state can live in registers: behind a reference, it would be
    // written back to memory around every call of its member callback.
    mut check: Blocks<'_, '_>,
) -> Result<(), NotJsonObject> {
    let mut rounds = Rounds::load(state);
    let mut checked = Ok(());
    let both = blocks.len().min(check.remaining());
    let mut hashed = 0;
    while hashed < both {
        // The SHA instructions have only the legacy SSE encoding: after AVX2 code, the
        // upper halves of the registers must be cleared first, or every one of them pays
        // for the mix (Intel's optimization manual, "Mixing AVX code with SSE code").
        // Measured here, not clearing made the loop 60 times slower.
        _mm256_zeroupper();
        rounds.block(&blocks[hashed]);
        hashed += 1;
        checked = check.check_next_with(|block| json_check::classify_avx2(block));
        if checked.is_err() {
            break;
        }
    }
    _mm256_zeroupper();
    for block in &blocks[hashed..] {
        rounds.block(block);
    }
    rounds.store(state);
    while checked.is_ok() && check.remaining() > 0 {
        checked = check.check_next_with(|block| json_check::classify_avx2(block));
    }
    checked.and_then(|()| check.finish())
}

/// SHA-256's working state in the order the SHA extensions take it.
struct Rounds {
    abef: __m128i,
    cdgh: __m128i,
}

/// SHA-256's round constants (FIPS 180-4, section 4.2.2).
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Rounds `4r` to `4r + 3`, with the message words `w`.
#[target_feature(enable = "sha,sse4.1")]
#[inline]
fn four_rounds(r: usize, abef: &mut __m128i, cdgh: &mut __m128i, w: __m128i) {
    // SAFETY: `K` has 64 words; this reads 4 from 4r, with r below 16.
    let k = unsafe { _mm_loadu_si128(K.as_ptr().add(4 * r).cast()) };
    let wk = _mm_add_epi32(w, k);
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0E));
}

/// The rounds as sha2 0.11's x86 backend (`sha256/x86_sha.rs`) writes them, with the
/// state kept in registers from one block to the next.
impl Rounds {
    #[target_feature(enable = "sha,sse4.1")]
    #[inline]
    fn load(state: &[u32; 8]) -> Self {
        // SAFETY: each load reads 4 of the state's 8 words.
        let (dcba, hgfe) = unsafe {
            (
                _mm_loadu_si128(state.as_ptr().cast()),
                _mm_loadu_si128(state.as_ptr().add(4).cast()),
            )
        };
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(hgfe, 0x1B);
        Self {
            abef: _mm_alignr_epi8(cdab, efgh, 8),
            cdgh: _mm_blend_epi16(efgh, cdab, 0xF0),
        }
    }

    #[target_feature(enable = "sha,sse4.1")]
    #[inline]
    fn store(&self, state: &mut [u32; 8]) {
        let feba = _mm_shuffle_epi32(self.abef, 0x1B);
        let dchg = _mm_shuffle_epi32(self.cdgh, 0xB1);
        // SAFETY: each store writes 4 of the state's 8 words.
        unsafe {
            _mm_storeu_si128(state.as_mut_ptr().cast(), _mm_blend_epi16(feba, dchg, 0xF0));
            _mm_storeu_si128(
                state.as_mut_ptr().add(4).cast(),
                _mm_alignr_epi8(dchg, feba, 8),
            );
        }
    }

    #[target_feature(enable = "sha,sse4.1")]
    #[inline]
    fn block(&mut self, block: &[u8; 64]) {
        let (mut abef, mut cdgh) = (self.abef, self.cdgh);
        let big_endian = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
        // SAFETY: each load reads 16 of the block's 64 bytes.
        let mut w: [__m128i; 4] = std::array::from_fn(|i| unsafe {
            _mm_shuffle_epi8(
                _mm_loadu_si128(block.as_ptr().add(16 * i).cast()),
                big_endian,
            )
        });
        for (r, &w) in w.iter().enumerate() {
            four_rounds(r, &mut abef, &mut cdgh, w);
        }
        // Constant bounds, so that the compiler unrolls these and keeps `w` in registers.
        for r in [4, 8, 12] {
            for i in 0..4 {
                let next = _mm_sha256msg1_epu32(w[i], w[(i + 1) % 4]);
                let shifted = _mm_alignr_epi8(w[(i + 3) % 4], w[(i + 2) % 4], 4);
                w[i] = _mm_sha256msg2_epu32(_mm_add_epi32(next, shifted), w[(i + 3) % 4]);
                four_rounds(r + i, &mut abef, &mut cdgh, w[i]);
            }
        }
        self.abef = _mm_add_epi32(abef, self.abef);
        self.cdgh = _mm_add_epi32(cdgh, self.cdgh);
    }
}
