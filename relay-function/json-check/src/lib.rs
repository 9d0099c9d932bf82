//! Checks that a verified body is one JSON object, accepting exactly what serde_json
//! accepts, and hands back its top-level members, at two and a half times serde_json's
//! speed: the relay's check that a verified Stripe event is JSON before it goes on the bus.
//!
//! Why not serde_json alone: validating the whole body was the relay's largest cost, more
//! than the HMAC itself (serde_json reads about 1 GB/s here; SHA-256 runs at 1.4 GB/s).
//! No maintained crate validates faster on Stripe's pretty-printed events: simd-json
//! 0.17 and sonic-rs 0.5 measured 0.7 to 1.1 GB/s on them. This is the two-stage design of
//! simdjson (Langdale and Lemire, "Parsing Gigabytes of JSON per Second", 2019) cut down
//! to validation:
//! 1. Each 64-byte block is classified with SIMD (AVX2 where the CPU has it, NEON on
//!    arm64, a byte loop otherwise) into one bit per byte: quotes, backslashes,
//!    whitespace, operators and control characters. Bit arithmetic then finds escaped
//!    characters, which bytes lie inside strings, and where each token starts. Errors
//!    that need no grammar (a control character in a string, a bad escape, a backslash
//!    outside a string) are found here too, without a branch per byte.
//! 2. A small state machine walks only the token starts (`{ } [ ] : ,`, opening quotes and
//!    the first byte of each number or literal) to check the grammar, and reads numbers
//!    and literals byte by byte. Whitespace and string contents are never visited one byte
//!    at a time.
//!
//! What counts as JSON is serde_json's reading of RFC 8259, which the relay used before:
//! whitespace is space, tab, line feed and carriage return; numbers have no leading zero
//! and need digits after `.` and `e`; a `\u` escape needs four hex digits but is not
//! checked for pairing (serde_json checks pairing only in strings it decodes, which
//! `stripe_event` still decodes with serde_json); nesting has no depth limit. The tests
//! below and the relay's fuzz target (`relay-function/fuzz`) compare this with serde_json.

/// The body is not one JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJsonObject;

/// One member of the top-level object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The key as written between its quotes, escapes not decoded.
    pub raw_key: &'a str,
    /// The body from just after the member's colon: the value, then the rest.
    pub value_and_rest: &'a str,
}

/// Checks `body` and calls `member` for each top-level member, in order. `member` may be
/// called before a later part of the body turns out not to be JSON: act on what it was
/// given only once this returns `Ok`.
pub fn top_level_members<'a>(
    body: &'a str,
    member: &mut dyn FnMut(Member<'a>),
) -> Result<(), NotJsonObject> {
    let mut blocks = Blocks::new(body, member);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { blocks.all_avx2() };
    }
    while blocks.remaining() > 0 {
        blocks.check_next()?;
    }
    blocks.finish()
}

/// One bit per byte of a 64-byte block, lowest bit first: what a classifier hands
/// `Blocks::check_next_with`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    quote: u64,
    backslash: u64,
    /// Space, tab, line feed, carriage return.
    whitespace: u64,
    /// `{ } [ ] : ,`. May also mark some control characters, which are refused anyway and
    /// which the grammar checks by their real byte.
    operator: u64,
    /// Bytes below 0x20.
    control: u64,
}

/// Classifies a block with what this target always has: NEON on arm64, a byte loop
/// elsewhere.
pub fn classify(block: &[u8; 64]) -> Classes {
    #[cfg(target_arch = "aarch64")]
    return classify_neon(block);
    #[allow(unreachable_code)]
    classify_bytes(block)
}

fn classify_bytes(block: &[u8; 64]) -> Classes {
    let mut classes = Classes::default();
    for (i, &byte) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match byte {
            b'"' => classes.quote |= bit,
            b'\\' => classes.backslash |= bit,
            b' ' => classes.whitespace |= bit,
            b'\t' | b'\n' | b'\r' => {
                classes.whitespace |= bit;
                classes.control |= bit;
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => classes.operator |= bit,
            0..0x20 => classes.control |= bit,
            _ => {}
        }
    }
    classes
}

/// Classifies a block with AVX2.
///
/// # Safety
/// The CPU must have AVX2 (a caller compiled for it may call this as a safe function).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub fn classify_avx2(block: &[u8; 64]) -> Classes {
    use std::arch::x86_64::*;

    // simdjson's lookup tables: a byte is whitespace when the table entry at its low
    // nibble equals it, and an operator when the operator table's entry equals the byte
    // with bit 0x20 set (which maps `[` `]` onto `{` `}`). Bytes of 0x80 and up look up
    // 0 and never match. `vpshufb` looks up within each 16-byte half of the register, so
    // each table is loaded into both halves.
    const WHITESPACE: [u8; 16] = [
        b' ', 100, 100, 100, 17, 100, 113, 2, 100, b'\t', b'\n', 112, 100, b'\r', 100, 100,
    ];
    const OPERATOR: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b':', b'{', b',', b'}', 0, 0];
    // SAFETY: each table has the 16 bytes read.
    let table = |bytes: &[u8; 16]| unsafe {
        _mm256_broadcastsi128_si256(_mm_loadu_si128(bytes.as_ptr().cast()))
    };
    let whitespace_table = table(&WHITESPACE);
    let operator_table = table(&OPERATOR);
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let bit_0x20 = _mm256_set1_epi8(0x20);
    let below_0x20 = _mm256_set1_epi8(0x1f);

    let mut classes = Classes::default();
    for half in 0..2 {
        // SAFETY: the block has 64 bytes; this reads 32 of them, unaligned.
        let bytes = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * half).cast()) };
        let bits = |v: __m256i| u64::from(_mm256_movemask_epi8(v) as u32) << (32 * half);
        classes.quote |= bits(_mm256_cmpeq_epi8(bytes, quote));
        classes.backslash |= bits(_mm256_cmpeq_epi8(bytes, backslash));
        classes.whitespace |= bits(_mm256_cmpeq_epi8(
            bytes,
            _mm256_shuffle_epi8(whitespace_table, bytes),
        ));
        classes.operator |= bits(_mm256_cmpeq_epi8(
            _mm256_or_si256(bytes, bit_0x20),
            _mm256_shuffle_epi8(operator_table, bytes),
        ));
        classes.control |= bits(_mm256_cmpeq_epi8(_mm256_min_epu8(bytes, below_0x20), bytes));
    }
    classes
}

#[cfg(target_arch = "aarch64")]
fn classify_neon(block: &[u8; 64]) -> Classes {
    use std::arch::aarch64::*;

    // NEON has no movemask: keep one bit per lane (bit i of each group of 8 lanes), then
    // add neighbouring lanes pairwise until each 8 lanes are one byte (simdjson's way).
    // SAFETY: NEON is part of the aarch64 baseline; every load reads 16 of the block's 64
    // bytes.
    unsafe {
        let lane_bits: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        let lane_bits = vld1q_u8(lane_bits.as_ptr());
        let bits = |m: [uint8x16_t; 4]| -> u64 {
            let a = vpaddq_u8(vandq_u8(m[0], lane_bits), vandq_u8(m[1], lane_bits));
            let b = vpaddq_u8(vandq_u8(m[2], lane_bits), vandq_u8(m[3], lane_bits));
            let ab = vpaddq_u8(a, b);
            vgetq_lane_u64(vreinterpretq_u64_u8(vpaddq_u8(ab, ab)), 0)
        };
        let chunks = [0, 16, 32, 48].map(|at| vld1q_u8(block.as_ptr().add(at)));
        let each = |f: &dyn Fn(uint8x16_t) -> uint8x16_t| bits(chunks.map(f));
        let eq = |v: uint8x16_t, byte: u8| vceqq_u8(v, vdupq_n_u8(byte));
        Classes {
            quote: each(&|v| eq(v, b'"')),
            backslash: each(&|v| eq(v, b'\\')),
            whitespace: each(&|v| {
                vorrq_u8(
                    vorrq_u8(eq(v, b' '), eq(v, b'\t')),
                    vorrq_u8(eq(v, b'\n'), eq(v, b'\r')),
                )
            }),
            operator: each(&|v| {
                let curly = vorrq_u8(v, vdupq_n_u8(0x20));
                vorrq_u8(
                    vorrq_u8(eq(curly, b'{'), eq(curly, b'}')),
                    vorrq_u8(eq(v, b':'), eq(v, b',')),
                )
            }),
            control: each(&|v| vcltq_u8(v, vdupq_n_u8(0x20))),
        }
    }
}

/// What stage 1 carries from one block to the next.
#[derive(Default)]
struct Carry {
    /// 1 when the previous block ended in an odd run of backslashes.
    escapes_next: u64,
    /// All ones when the previous block ended inside a string.
    in_string: u64,
    /// 1 when the previous block ended in the middle of a number or literal.
    scalar: u64,
}

const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// The characters escaped by a backslash (an odd run of backslashes before them):
/// simdjson's `find_odd_backslash_sequences`.
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    if backslash == 0 {
        return std::mem::take(carry);
    }
    let starts = backslash & !(backslash << 1);
    let even_start_mask = EVEN_BITS ^ *carry;
    let even_starts = starts & even_start_mask;
    let odd_starts = starts & !even_start_mask;
    let even_carries = backslash.wrapping_add(even_starts);
    let (mut odd_carries, overflowed) = backslash.overflowing_add(odd_starts);
    odd_carries |= *carry;
    *carry = u64::from(overflowed);
    let even_carry_ends = even_carries & !backslash;
    let odd_carry_ends = odd_carries & !backslash;
    (even_carry_ends & !EVEN_BITS) | (odd_carry_ends & EVEN_BITS)
}

/// Bit i is the XOR of bits 0..=i: with opening and closing quotes in, the bytes from an
/// opening quote up to (not including) its closing quote.
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// What may follow the token just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value: after `:`, or after `,` in an array. At the very start, where this is
    /// also the state, only the top-level `{` (the walk checks the depth).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrEnd,
    /// A key (after `,` in an object).
    Key,
    /// A key or `}` (just after `{`).
    KeyOrEnd,
    /// `:` after a key.
    Colon,
    /// `,` or the end of the container the value is in.
    CommaOrEnd,
    /// Nothing: the top-level value is complete.
    Done,
}

/// The containers open around the current token: one bit each, 1 for an array.
#[derive(Default)]
struct Nesting {
    depth: usize,
    /// The innermost 64, the innermost in bit 0: opening one shifts it in, closing one
    /// shifts it out. Stripe's events nest a few levels, so this is all there is and
    /// nothing is allocated.
    window: u64,
    /// The kinds of those shifted out of the window, outermost first.
    outer: Vec<bool>,
}

impl Nesting {
    fn top_is_array(&self) -> bool {
        self.depth > 0 && self.window & 1 == 1
    }

    fn open(&mut self, array: bool) {
        if self.depth >= 64 {
            self.outer.push(self.window >> 63 == 1);
        }
        self.window = (self.window << 1) | u64::from(array);
        self.depth += 1;
    }

    /// Closes the innermost container if it is the given kind.
    fn close(&mut self, array: bool) -> Result<(), NotJsonObject> {
        if self.depth == 0 || self.top_is_array() != array {
            return Err(NotJsonObject);
        }
        self.window >>= 1;
        self.depth -= 1;
        if self.depth >= 64 {
            let shifted_out = self.outer.pop().expect("one for each level past 64");
            self.window |= u64::from(shifted_out) << 63;
        }
        Ok(())
    }

    fn after_value(&self) -> Expect {
        if self.depth == 0 {
            Expect::Done
        } else {
            Expect::CommaOrEnd
        }
    }
}

/// The check one 64-byte block at a time, for a caller that does other work on each
/// block in the same loop: the relay hashes the body in the check's loop, where the
/// SHA-256 rounds' latency leaves the CPU room for the check. `top_level_members` is
/// `new`, `check_next` until no block remains, and `finish`.
pub struct Blocks<'a, 'm> {
    body: &'a str,
    member: &'m mut dyn FnMut(Member<'a>),
    /// The next block to check.
    index: usize,
    carry: Carry,
    expect: Expect,
    nesting: Nesting,
    key_start: usize,
    /// The last, short block, padded with whitespace, which changes nothing: copied once
    /// here, so that the loop has no copy in it.
    tail: [u8; 64],
}

impl<'a, 'm> Blocks<'a, 'm> {
    /// A check of `body` that calls `member` for each top-level member, as
    /// `top_level_members` does.
    pub fn new(body: &'a str, member: &'m mut dyn FnMut(Member<'a>)) -> Self {
        Self {
            body,
            member,
            index: 0,
            carry: Carry::default(),
            expect: Expect::Value,
            nesting: Nesting::default(),
            key_start: 0,
            tail: {
                let rest = body.as_bytes().as_chunks::<64>().1;
                let mut tail = [b' '; 64];
                tail[..rest.len()].copy_from_slice(rest);
                tail
            },
        }
    }

    /// How many blocks are left to check.
    pub fn remaining(&self) -> usize {
        self.body.len().div_ceil(64) - self.index
    }

    /// Checks the next block, with the classifier this target always has (NEON on
    /// arm64, a byte loop elsewhere). Call only while `remaining` is above 0.
    pub fn check_next(&mut self) -> Result<(), NotJsonObject> {
        self.check_next_with(classify)
    }

    /// Every remaining block with AVX2, then `finish`.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn all_avx2(mut self) -> Result<(), NotJsonObject> {
        while self.remaining() > 0 {
            self.check_next_with(|block| classify_avx2(block))?;
        }
        self.finish()
    }

    /// Whether the body ended where one JSON object does.
    pub fn finish(&self) -> Result<(), NotJsonObject> {
        if self.expect == Expect::Done && self.carry.in_string == 0 {
            Ok(())
        } else {
            Err(NotJsonObject)
        }
    }

    /// Checks the next block, classified by `classify`. Call only while `remaining` is
    /// above 0. Called from a function compiled for AVX2 as
    /// `check_next_with(|block| classify_avx2(block))`, the whole step inlines there: the
    /// closure takes the function's target features, and this is generic.
    #[inline(always)]
    pub fn check_next_with(
        &mut self,
        classify: impl Fn(&[u8; 64]) -> Classes,
    ) -> Result<(), NotJsonObject> {
        let Self {
            body,
            ref mut member,
            index,
            ref mut carry,
            ref mut expect,
            ref mut nesting,
            ref mut key_start,
            ref tail,
        } = *self;
        let bytes = body.as_bytes();
        let block = bytes.as_chunks::<64>().0.get(index).unwrap_or(tail);
        self.index += 1;
        let base = index * 64;
        let classes = classify(block);

        // Stage 1: strings, escapes and token starts, by bit arithmetic.
        let escaped = escaped(classes.backslash, &mut carry.escapes_next);
        let quotes = classes.quote & !escaped;
        let in_string = prefix_xor(quotes) ^ carry.in_string;
        carry.in_string = ((in_string as i64) >> 63) as u64;
        // Control characters are refused inside strings and, but for the whitespace
        // ones, outside them; a backslash is refused outside a string.
        let refused = (classes.control & (in_string | !classes.whitespace))
            | (classes.backslash & !in_string);
        if refused != 0 {
            return Err(NotJsonObject);
        }
        if escaped != 0 {
            check_escapes(bytes, base, escaped)?;
        }
        let scalar = !(classes.whitespace | classes.operator | quotes | in_string);
        let scalar_starts = scalar & !((scalar << 1) | carry.scalar);
        carry.scalar = scalar >> 63;
        let mut tokens = (classes.operator & !in_string) | (quotes & in_string) | scalar_starts;

        // Stage 2: the grammar, one token at a time.
        while tokens != 0 {
            let offset = tokens.trailing_zeros() as usize;
            let at = base + offset;
            tokens &= tokens - 1;
            let byte = block[offset % 64];
            // On the byte first, and then on the state, by branches that are almost never
            // taken: this predicts better than one match on both, which took 1.16 times
            // as long alone and 1.04 times as long in mac-and-check's one pass (best of
            // runs, Stripe's 3 KB `invoice.paid`).
            let in_value = matches!(*expect, Expect::Value | Expect::ValueOrEnd);
            *expect = match byte {
                b'"' if matches!(*expect, Expect::Key | Expect::KeyOrEnd) => {
                    *key_start = at;
                    Expect::Colon
                }
                b':' if *expect == Expect::Colon => {
                    if nesting.depth == 1 {
                        let key_end = body[..at].trim_end_matches([' ', '\t', '\n', '\r']).len();
                        member(Member {
                            raw_key: &body[*key_start + 1..key_end - 1],
                            value_and_rest: &body[at + 1..],
                        });
                    }
                    Expect::Value
                }
                b',' if *expect == Expect::CommaOrEnd => {
                    if nesting.top_is_array() {
                        Expect::Value
                    } else {
                        Expect::Key
                    }
                }
                b'{' if in_value => {
                    nesting.open(false);
                    Expect::KeyOrEnd
                }
                b'[' if in_value && nesting.depth > 0 => {
                    nesting.open(true);
                    Expect::ValueOrEnd
                }
                b'}' if matches!(*expect, Expect::CommaOrEnd | Expect::KeyOrEnd) => {
                    nesting.close(false)?;
                    nesting.after_value()
                }
                b']' if matches!(*expect, Expect::CommaOrEnd | Expect::ValueOrEnd) => {
                    nesting.close(true)?;
                    nesting.after_value()
                }
                b'{' | b'[' | b'}' | b']' | b':' | b',' => return Err(NotJsonObject),
                // A string, or a number or literal (checked below), as a value.
                _ if in_value && nesting.depth > 0 => Expect::CommaOrEnd,
                _ => return Err(NotJsonObject),
            };
        }
        // The numbers and literals, which the grammar has just placed.
        let mut scalars = scalar_starts;
        while scalars != 0 {
            let at = base + scalars.trailing_zeros() as usize;
            scalars &= scalars - 1;
            check_scalar(bytes, at)?;
        }
        Ok(())
    }
}

/// Each escaped character must be one JSON allows, and `\u` must have four hex digits.
#[cold]
fn check_escapes(bytes: &[u8], base: usize, mut escaped: u64) -> Result<(), NotJsonObject> {
    while escaped != 0 {
        let at = base + escaped.trailing_zeros() as usize;
        escaped &= escaped - 1;
        match bytes.get(at) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
            Some(b'u')
                if bytes
                    .get(at + 1..at + 5)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) => {}
            _ => return Err(NotJsonObject),
        }
    }
    Ok(())
}

/// A number, `true`, `false` or `null` starting at `at`, which must end where the run of
/// non-whitespace, non-operator, non-quote bytes ends.
#[inline]
fn check_scalar(bytes: &[u8], at: usize) -> Result<(), NotJsonObject> {
    let end = match bytes[at] {
        b't' if bytes[at..].starts_with(b"true") => at + 4,
        b'f' if bytes[at..].starts_with(b"false") => at + 5,
        b'n' if bytes[at..].starts_with(b"null") => at + 4,
        b'-' | b'0'..=b'9' => number_end(bytes, at)?,
        _ => return Err(NotJsonObject),
    };
    match bytes.get(end) {
        None
        | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'{' | b'}' | b'[' | b']' | b'"') => {
            Ok(())
        }
        Some(_) => Err(NotJsonObject),
    }
}

/// Where the number starting at `at` ends: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(bytes: &[u8], mut at: usize) -> Result<usize, NotJsonObject> {
    let digit = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
    let digits = |mut at: usize| -> Result<usize, NotJsonObject> {
        if !digit(at) {
            return Err(NotJsonObject);
        }
        while digit(at) {
            at += 1;
        }
        Ok(at)
    };
    if bytes[at] == b'-' {
        at += 1;
    }
    at = match bytes.get(at) {
        Some(b'0') => at + 1,
        _ => digits(at)?,
    };
    if bytes.get(at) == Some(&b'.') {
        at = digits(at + 1)?;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        at = digits(at)?;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};

    use super::*;

    /// serde_json's answer: is this one JSON object (as `from_str::<IgnoredAny>` reads
    /// it: no depth limit, keys not decoded), and how many members has it?
    fn serde_json_members(body: &str) -> Option<usize> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = usize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
                let mut count = 0;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(count)
            }
        }
        serde_json::from_str::<IgnoredAny>(body).ok()?;
        if !body
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        {
            return None;
        }
        serde_json::Deserializer::from_str(body)
            .deserialize_map(Members)
            .ok()
    }

    /// Ours, with the portable classifier or with the one this CPU gets, checking on the
    /// way that each member is a string key and a value that ends where the next member
    /// or the object does.
    fn ours(body: &str, portable: bool) -> Option<usize> {
        let mut members = Vec::new();
        let mut push = |m| members.push(m);
        if portable {
            let mut blocks = Blocks::new(body, &mut push);
            while blocks.remaining() > 0 {
                blocks.check_next_with(classify_bytes).ok()?;
            }
            blocks.finish().ok()?;
        } else {
            top_level_members(body, &mut push).ok()?;
        }
        for m in &members {
            let key = format!("\"{}\"", m.raw_key);
            assert!(serde_json::from_str::<IgnoredAny>(&key).is_ok(), "{key}");
            let mut values = serde_json::Deserializer::from_str(m.value_and_rest).into_iter();
            let _: IgnoredAny = values.next().unwrap().unwrap();
            let after = &m.value_and_rest[values.byte_offset()..];
            let after = after.trim_start_matches([' ', '\t', '\n', '\r']);
            assert!(after.starts_with([',', '}']), "{after}");
        }
        Some(members.len())
    }

    fn agrees(body: &str) {
        let expected = serde_json_members(body);
        for portable in [true, false] {
            let got = ours(body, portable);
            assert_eq!(got, expected, "portable: {portable}, on {body:?}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_hand_picked_bodies() {
        for body in [
            "{}",
            " {} ",
            "{}x",
            "{} {}",
            "[]",
            "\"s\"",
            "1",
            "",
            " ",
            "{",
            "}",
            r#"{"a":1}"#,
            r#"{"a":1,}"#,
            r#"{"a" : [1, 2.5, -0, -0.0e+1, 1E9, true, false, null, "x", {}, []] }"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.1}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":+1}"#,
            r#"{"a":1x}"#,
            r#"{"a":tru}"#,
            r#"{"a":truex}"#,
            r#"{"a":nul}"#,
            r#"{"a":1"b"}"#,
            r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\uD800"}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u12g4"}"#,
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\u{7f}}",
            "{\"a\":\"\u{7f}é\"}",
            "{\"a\":1}\u{a0}",
            "\u{a0}{}",
            "{\t\n\r \"a\"\t:\n1\r}",
            "{\"a\":1}\u{b}",
            r#"{"a":[1,]}"#,
            r#"{"a":[,1]}"#,
            r#"{"a":{"b":1]}"#,
            r#"{"a":[1}}"#,
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{:1}"#,
            r#"{1:1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a":1,"b":2}"#,
            r#"{"a\"b":1}"#,
            r#"{"a\\":1}"#,
            r#"{"a":"\\"}"#,
            r#"{"a":"b\\\"c"}"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":1}\"#,
            r#"\{"a":1}"#,
            r#"{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        ] {
            agrees(body);
        }
    }

    #[test]
    fn agrees_on_deep_nesting() {
        for depth in [62, 63, 64, 65, 66, 130] {
            for (open, close) in [("[", "]"), ("{\"k\":", "}"), ("[{\"k\":", "}]")] {
                let inner = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                agrees(&format!("{{\"a\":{inner}}}"));
                // One closer of the wrong kind, at each depth.
                let wrong = inner.replacen(close, if close == "]" { "}" } else { "]" }, 1);
                agrees(&format!("{{\"a\":{wrong}}}"));
                agrees(&format!("{{\"a\":{inner}"));
            }
        }
    }

    #[test]
    fn agrees_on_every_position_across_block_edges() {
        // Each awkward piece placed at every offset around the 64-byte edges.
        for piece in [
            r#"\\""#,
            r#"\"""#,
            r#"\\\""#,
            r#""\u0041""#,
            "123",
            "true",
            "\"\\\\\\\\\"",
        ] {
            for pad in 40..140 {
                let body = format!(r#"{{"k":"{}","v":[{}]}}"#, "x".repeat(pad), piece);
                agrees(&body);
                let body = format!(r#"{{"k":"{}{}"}}"#, "x".repeat(pad), piece);
                agrees(&body);
                let body = format!("{{\"k\":{}{}}}", " ".repeat(pad), piece);
                agrees(&body);
            }
        }
    }

    /// A random JSON object, with random whitespace, strings with escapes and numbers.
    fn random_object(rng: &mut fastrand::Rng, out: &mut String, depth: u32) {
        let ws = |rng: &mut fastrand::Rng, out: &mut String| {
            for _ in 0..rng.usize(0..3) {
                out.push([' ', '\n', '\t', '\r'][rng.usize(0..4)]);
            }
        };
        let value = |rng: &mut fastrand::Rng, out: &mut String| match rng.u32(0..9) {
            0 if depth < 6 => random_object(rng, out, depth + 1),
            1 if depth < 6 => {
                out.push('[');
                for i in 0..rng.usize(0..4) {
                    if i > 0 {
                        out.push(',');
                    }
                    let elements = [
                        "1", "\"a\"", "null", "[]", "{}", "-2.5e3", "{ }", "[ \n]", "[{}]",
                    ];
                    out.push_str(elements[rng.usize(0..elements.len())]);
                }
                out.push(']');
            }
            2 => out.push_str(["true", "false", "null"][rng.usize(0..3)]),
            3 => {
                let _ = write!(out, "{}", rng.i64(..));
            }
            4 => {
                let _ = write!(out, "{:?}", rng.f64() * 1e6 - 5e5);
            }
            _ => {
                out.push('"');
                for _ in 0..rng.usize(0..40) {
                    match rng.u32(0..12) {
                        0 => {
                            out.push_str(["\\\"", "\\\\", "\\n", "\\u00e9", "\\/"][rng.usize(0..5)])
                        }
                        1 => out.push('é'),
                        _ => out.push(rng.alphanumeric()),
                    }
                }
                out.push('"');
            }
        };
        out.push('{');
        for i in 0..rng.usize(0..6) {
            if i > 0 {
                out.push(',');
            }
            ws(rng, out);
            let _ = write!(out, "\"k{}\"", rng.u32(0..100));
            ws(rng, out);
            out.push(':');
            ws(rng, out);
            value(rng, out);
            ws(rng, out);
        }
        out.push('}');
    }

    #[test]
    fn agrees_with_serde_json_on_random_and_mutated_objects() {
        const ALPHABET: &[u8] = b"{}[]:,\" \\\t\n\r0123456789.-+eEtrufalsn\x01";
        let mut rng = fastrand::Rng::with_seed(14);
        for round in 0..40_000 {
            let mut body = String::new();
            random_object(&mut rng, &mut body, 0);
            agrees(&body);
            // Then one to three bytes replaced, inserted or deleted.
            let mut bytes = body.into_bytes();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(0..=bytes.len());
                let byte = ALPHABET[rng.usize(0..ALPHABET.len())];
                match rng.u32(0..3) {
                    0 if at < bytes.len() && bytes[at].is_ascii() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() && bytes[at].is_ascii() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            if let Ok(mutated) = String::from_utf8(bytes) {
                agrees(&mutated);
            }
            // And short strings of JSON's own bytes.
            let len = rng.usize(0..(round % 150 + 2));
            let noise: Vec<u8> = (0..len)
                .map(|_| ALPHABET[rng.usize(0..ALPHABET.len())])
                .collect();
            agrees(std::str::from_utf8(&noise).unwrap());
        }
    }

    #[test]
    fn hands_back_top_level_members_only() {
        let body = r#" { "id" : "evt_1", "nested": {"id": 2}, "a\"b": [1], "type":"x" } "#;
        let mut members = Vec::new();
        top_level_members(body, &mut |m| members.push((m.raw_key, m.value_and_rest))).unwrap();
        let keys: Vec<_> = members.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["id", "nested", r#"a\"b"#, "type"]);
        assert!(members[0].1.starts_with(r#" "evt_1", "nested""#));
    }
}
