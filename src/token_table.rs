//! The scoring lookup: token → ln P(token | class) for every class, in one probe.
//!
//! Scoring does one lookup per jieba token (millions per second), so this is the hottest
//! data structure after jieba's own trie. A string-keyed hash map costs a hash, a probe, a
//! pointer chase to the key's heap bytes and a `memcmp`, then a second access for the
//! row of log-probabilities. Here each slot holds a 64-bit fingerprint of the token and the
//! row itself, side by side, so a lookup is a hash and (usually) one cache line.
//!
//! Fingerprints, not keys: a token outside the vocabulary is taken for a vocabulary token
//! only if their 63-bit fingerprints are equal, a chance of about one in 10^14 per unknown
//! token with the default model's 78k-token vocabulary. Vocabulary tokens never collide
//! with each other: another hash seed is chosen if two would.

/// Token fingerprints to per-class rows.
#[derive(Debug, Clone)]
pub struct TokenTable {
    /// Seed of the fingerprint hash.
    seed: u64,
    /// Values per class row.
    k: usize,
    slots: Slots,
}

/// One open-addressing (linear probing) table.
#[derive(Debug, Clone)]
struct Slots {
    /// Slot count minus one; the slot count is a power of two.
    mask: usize,
    /// Slot `i` is `slots[i * (k + 1)..(i + 1) * (k + 1)]`: the fingerprint's bits (0 for
    /// an empty slot), then the row.
    slots: Vec<f64>,
}

impl Slots {
    /// Room for `n` entries at a load of at most 3/8: short probe runs, also for misses.
    fn with_room(n: usize, k: usize) -> Slots {
        let count = (n * 8 / 3).max(16).next_power_of_two();
        Slots {
            mask: count - 1,
            slots: vec![0.0; count * (k + 1)],
        }
    }

    fn insert(&mut self, fp: u64, row: &[f64]) {
        let stride = row.len() + 1;
        let mut i = fp as usize & self.mask;
        while self.slots[i * stride].to_bits() != 0 {
            i = (i + 1) & self.mask;
        }
        self.slots[i * stride] = f64::from_bits(fp);
        self.slots[i * stride + 1..(i + 1) * stride].copy_from_slice(row);
    }

    #[inline]
    fn get(&self, fp: u64, k: usize) -> Option<&[f64]> {
        let stride = k + 1;
        let mut i = fp as usize & self.mask;
        loop {
            let at = i * stride;
            let there = self.slots[at].to_bits();
            if there == fp {
                return Some(&self.slots[at + 1..at + stride]);
            }
            if there == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

impl TokenTable {
    /// A table of `tokens[j]` → `rows[j * k..(j + 1) * k]`.
    ///
    /// # Panics
    /// If a token is given twice: no seed could tell the two apart.
    pub fn new(tokens: &[String], rows: &[f64], k: usize) -> TokenTable {
        debug_assert_eq!(tokens.len() * k, rows.len());
        let seed = (0u64..)
            .find(|&seed| {
                let distinct = fingerprints_distinct(seed, tokens);
                // Looked for only once the first seed fails, which it nearly never does.
                if !distinct && seed == 0 {
                    let mut sorted: Vec<&String> = tokens.iter().collect();
                    sorted.sort_unstable();
                    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                        panic!("TokenTable::new: token {:?} given twice", w[0]);
                    }
                }
                distinct
            })
            .expect("some seed separates any finite vocabulary");
        let mut slots = Slots::with_room(tokens.len(), k);
        for (j, token) in tokens.iter().enumerate() {
            slots.insert(fingerprint(seed, token), &rows[j * k..(j + 1) * k]);
        }
        TokenTable { seed, k, slots }
    }

    /// The row of `token`, or `None` when it is not in the table.
    #[inline]
    pub fn get(&self, token: &str) -> Option<&[f64]> {
        self.slots.get(self.key(token), self.k)
    }

    /// The fingerprint of `token`, for [`TokenTable::prefetch`] and
    /// [`TokenTable::accumulate`].
    #[inline]
    pub fn key(&self, token: &str) -> u64 {
        fingerprint(self.seed, token)
    }

    /// Asks the CPU to start loading the slot of fingerprint `fp`, so a lookup made a
    /// little later (after more segmentation work) finds it in cache.
    #[inline]
    pub fn prefetch(&self, fp: u64) {
        let at = (fp as usize & self.slots.mask) * (self.k + 1);
        prefetch(&self.slots.slots[at]);
    }

    /// Adds the rows of the tokens with fingerprints `fps` to `sums` (one value per
    /// class), in order; tokens not in the table add nothing.
    #[inline]
    pub fn accumulate(&self, fps: &[u64], sums: &mut [f64]) {
        if let [a, b] = sums {
            // Two classes, the usual model: constant stride, sums in registers. The
            // additions are the same, in the same order, as the general loop's.
            for &fp in fps {
                if let Some(&[x, y]) = self.slots.get(fp, 2) {
                    *a += x;
                    *b += y;
                }
            }
            return;
        }
        for &fp in fps {
            if let Some(row) = self.slots.get(fp, self.k) {
                sums.iter_mut().zip(row).for_each(|(s, r)| *s += r);
            }
        }
    }

    /// Bytes held by the table.
    pub fn heap_bytes(&self) -> usize {
        self.slots.slots.len() * std::mem::size_of::<f64>()
    }
}

/// The token's 64-bit hash with the low bit set, so no fingerprint is 0 (the empty mark).
///
/// The wyhash construction (folded 64x64->128-bit multiplies over 16-byte blocks, short
/// inputs read with two overlapping loads): two multiplies for the short tokens jieba
/// produces, inlined, where a general-purpose `Hasher` makes several calls per token.
#[inline]
fn fingerprint(seed: u64, token: &str) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    const P2: u64 = 0x8ebc_6af0_9c88_c6e3;
    let b = token.as_bytes();
    let len = b.len();
    let mut state = seed ^ P0;
    let (x, y) = if len <= 16 {
        if len >= 8 {
            (read8(&b[..8]), read8(&b[len - 8..]))
        } else if len >= 4 {
            (read4(&b[..4]), read4(&b[len - 4..]))
        } else if len > 0 {
            let v = (u64::from(b[0]) << 16) | (u64::from(b[len / 2]) << 8) | u64::from(b[len - 1]);
            (v, 0)
        } else {
            (0, 0)
        }
    } else {
        let mut rest = b;
        while rest.len() > 16 {
            state = fold(read8(&rest[..8]) ^ P1, read8(&rest[8..16]) ^ state);
            rest = &rest[16..];
        }
        (read8(&b[len - 16..len - 8]), read8(&b[len - 8..]))
    };
    fold(P1 ^ len as u64, fold(x ^ P1, y ^ state) ^ P2) | 1
}

/// A cache prefetch hint for the line holding `x` (nothing on other architectures).
#[inline(always)]
fn prefetch(x: &f64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it never faults, reads or writes nothing the program
    // can observe, and SSE is part of the x86_64 baseline; `x` is a valid reference anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const f64).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The folded multiply: high and low halves of the 128-bit product, xored.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn read8(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap_or_default())
}

#[inline]
fn read4(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(b[..4].try_into().unwrap_or_default()))
}

/// Whether no two tokens share a fingerprint under `seed`.
fn fingerprints_distinct(seed: u64, tokens: &[String]) -> bool {
    let mut fps: Vec<u64> = tokens.iter().map(|t| fingerprint(seed, t)).collect();
    fps.sort_unstable();
    fps.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_token_and_nothing_else() {
        let tokens: Vec<String> = (0..5000).map(|i| format!("词{i}")).collect();
        let rows: Vec<f64> = (0..tokens.len() * 2)
            .map(|x| x as f64 * 0.5 - 7.0)
            .collect();
        let table = TokenTable::new(&tokens, &rows, 2);
        for (j, t) in tokens.iter().enumerate() {
            assert_eq!(table.get(t), Some(&rows[j * 2..j * 2 + 2]), "{t}");
        }
        for i in 5000..20000 {
            assert_eq!(table.get(&format!("词{i}")), None);
        }
        assert_eq!(table.get(""), None);
    }

    #[test]
    fn accumulate_sums_the_rows_of_known_tokens() {
        let tokens: Vec<String> = (0..3000).map(|i| format!("t{i}")).collect();
        let rows: Vec<f64> = (0..tokens.len() * 2)
            .map(|x| (x % 17) as f64 - 3.5)
            .collect();
        let table = TokenTable::new(&tokens, &rows, 2);
        let text: Vec<String> = (0..1000).map(|i| format!("t{}", i * 7 % 4000)).collect();
        let fps: Vec<u64> = text.iter().map(|t| table.key(t)).collect();
        for n in [0, 1, 999, 1000] {
            let mut sums = [0.25, -1.0];
            table.accumulate(&fps[..n], &mut sums);
            let mut want = [0.25, -1.0];
            for t in &text[..n] {
                if let Some(r) = table.get(t) {
                    want[0] += r[0];
                    want[1] += r[1];
                }
            }
            assert_eq!(sums, want, "{n} tokens");
        }
    }

    #[test]
    fn fingerprints_of_similar_tokens_differ_in_about_half_their_bits() {
        // Tokens differing in one byte, in length, or only past byte 16 must not collide,
        // and a one-byte change should flip about 32 of the 64 bits.
        let mut seen = std::collections::HashSet::new();
        let mut flips = Vec::new();
        let base = [
            "新闻",
            "a",
            "abcdefgh",
            "中华人民共和国国务院",
            "https://example.com/a/b",
        ];
        for t in base {
            for i in 0..t.len() {
                for bit in 0..8 {
                    let mut b = t.as_bytes().to_vec();
                    b[i] ^= 1 << bit;
                    let Ok(v) = String::from_utf8(b) else {
                        continue;
                    };
                    assert!(seen.insert(fingerprint(0, &v)) || v == t, "{v:?}");
                    flips.push((fingerprint(0, &v) ^ fingerprint(0, t)).count_ones());
                }
            }
        }
        for n in 0..40 {
            assert!(
                seen.insert(fingerprint(0, &"字".repeat(n))) || n == 0,
                "{n}"
            );
            assert!(seen.insert(fingerprint(0, &"x".repeat(n))) || n == 0, "{n}");
        }
        let mean = flips.iter().sum::<u32>() as f64 / flips.len() as f64;
        assert!((28.0..36.0).contains(&mean), "mean bit flips {mean}");
    }

    #[test]
    #[should_panic(expected = "token \"新闻\" given twice")]
    fn a_token_given_twice_is_refused_not_searched_for_forever() {
        let tokens = ["新闻".to_string(), "a".to_string(), "新闻".to_string()];
        TokenTable::new(&tokens, &[0.0; 6], 2);
    }

    #[test]
    fn empty_vocabulary_and_empty_token() {
        let table = TokenTable::new(&[], &[], 3);
        assert_eq!(table.get("新闻"), None);
        let table = TokenTable::new(&[String::new()], &[1.0, 2.0, 3.0], 3);
        assert_eq!(table.get(""), Some(&[1.0, 2.0, 3.0][..]));
        assert_eq!(table.get(" "), None);
    }
}
