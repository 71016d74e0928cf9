//! Traditional to Simplified Chinese, exactly as fast2s converts, for less work.
//!
//! fast2s looks every character of a line up in up to three hash maps (two of them for
//! a handful of characters whose conversion depends on their neighbours). Here its
//! per-character mapping is read off fast2s once, at first use: a bitset of the
//! characters it changes on their own and a table of what each becomes. A line then costs
//! a bitset test per three-byte character; only the few context-dependent characters
//! are handed to fast2s itself, with their two neighbours.

use std::sync::OnceLock;

/// fast2s's mapping of single characters.
pub struct Traditional {
    /// Bit `cp & 63` of word `cp >> 6`: fast2s changes code point `cp` on its own.
    /// Every such character lies in [`RANGES`] (a test checks every code point).
    bits: [u64; 1024],
    /// What each of those characters becomes, by code point (the others: NUL). Only
    /// looked at for the characters in `bits`, so only those pages are touched.
    simplified: Box<[char]>,
    /// The [`CONTEXTUAL`] characters, as a bitset like `bits`.
    contextual: [u64; 1024],
    /// `bits` plus `contextual`: the characters [`Traditional::convert`] looks at.
    candidates: [u64; 1024],
}

/// The code point ranges holding every character fast2s changes: CJK Extension A and
/// the Unified Ideographs, and the Compatibility Ideographs.
const RANGES: [std::ops::Range<u32>; 2] = [0x3400..0xA000, 0xF900..0xFB00];

/// The characters whose conversion depends on a neighbour (fast2s 0.3.1's `T2S_EXCLUDE`
/// and `T2S_SPECIAL_CONVERT_TYPE` keys: 乾隆 keeps its 乾, 看著 becomes 看着, ...).
/// A proptest against fast2s itself checks the list; Cargo.toml pins the version.
const CONTEXTUAL: [char; 15] = [
    '兒', '覆', '夥', '藉', '瞭', '麽', '幺', '於', '乾', '著', '苧', '闔', '鍾', '讎', '畫',
];

impl Traditional {
    /// The table, read off fast2s at first use (a few milliseconds).
    pub fn get() -> &'static Traditional {
        static TABLE: OnceLock<Traditional> = OnceLock::new();
        TABLE.get_or_init(|| {
            // One fast2s call over every candidate, space-separated: no two candidates
            // are neighbours, so each converts as it would on its own.
            let candidates: Vec<char> = RANGES
                .iter()
                .flat_map(|r| r.clone())
                .filter_map(char::from_u32)
                .collect();
            let spaced: String = candidates.iter().flat_map(|&c| [c, ' ']).collect();
            let converted = fast2s::convert(&spaced);
            let mut table = Traditional {
                bits: [0; 1024],
                simplified: vec!['\0'; 0x1_0000].into_boxed_slice(),
                contextual: [0; 1024],
                candidates: [0; 1024],
            };
            for (&from, to) in candidates.iter().zip(converted.split(' ')) {
                let mut to = to.chars();
                if let (Some(to), None) = (to.next(), to.next()) {
                    if to != from {
                        set_bit(&mut table.bits, u32::from(from));
                        table.simplified[u32::from(from) as usize] = to;
                    }
                }
            }
            for c in CONTEXTUAL {
                set_bit(&mut table.contextual, u32::from(c));
            }
            for (c, (b, x)) in table
                .candidates
                .iter_mut()
                .zip(table.bits.iter().zip(table.contextual))
            {
                *c = b | x;
            }
            table
        })
    }

    /// The bitset of characters fast2s changes on their own (see the field).
    pub fn bits(&self) -> &[u64; 1024] {
        &self.bits
    }

    /// What fast2s makes of code point `cp` on its own, if it changes it.
    fn simplified_of(&self, cp: u32) -> Option<char> {
        if !bit(&self.bits, cp) {
            return None;
        }
        self.simplified.get(cp as usize).copied()
    }

    /// `fast2s::convert(s)`, character for character. Works on bytes: the characters
    /// it leaves alone (all but the three-byte ones at once) are copied a run at a time.
    pub fn convert(&self, s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut run = 0; // first byte not yet copied
        let mut i = 0;
        while i < b.len() {
            // A run of three-byte characters (nearly all of a Chinese line) in a loop of
            // its own; `chunks_exact` proves the indices in bounds.
            for c in b[i..].chunks_exact(3) {
                let &[lead @ 0xE0..=0xEF, b1, b2] = c else {
                    break;
                };
                let cp = (u32::from(lead & 0x0F) << 12)
                    | (u32::from(b1 & 0x3F) << 6)
                    | u32::from(b2 & 0x3F);
                if bit(&self.candidates, cp) {
                    if let Some(to) = self.convert_at(s, i, cp) {
                        out.push_str(&s[run..i]);
                        out.push(to);
                        run = i + 3;
                    }
                }
                i += 3;
            }
            // The character that ended the run is left as it is (a three-byte one
            // cannot: `s` is valid UTF-8, so the run loop took it whole).
            i += match b.get(i) {
                Some(0x00..=0x7F) => 1,
                Some(0x80..=0xDF) => 2,
                Some(0xE0..=0xEF) => 3,
                Some(_) => 4,
                None => 0,
            };
        }
        out.push_str(&s[run..]);
        out
    }

    /// What fast2s makes of the character `cp` at byte `i` of `s` (one it may change),
    /// if it changes it.
    fn convert_at(&self, s: &str, i: usize, cp: u32) -> Option<char> {
        let cur = char::from_u32(cp)?;
        let to = if bit(&self.contextual, cp) {
            // fast2s converts the middle of three with its neighbours in view ('0'
            // standing for none, as fast2s has it).
            let prev = s[..i].chars().next_back().unwrap_or('0');
            let next = s[i + 3..].chars().next().unwrap_or('0');
            let window: String = [prev, cur, next].iter().collect();
            fast2s::convert(&window).chars().nth(1)?
        } else {
            self.simplified_of(cp)?
        };
        (to != cur).then_some(to)
    }
}

/// Sets bit `cp` (a BMP code point) of a bitset like [`bit`] reads.
fn set_bit(set: &mut [u64; 1024], cp: u32) {
    set[(cp >> 6) as usize] |= 1 << (cp & 63);
}

/// Bit `cp` of a bitset over the Basic Multilingual Plane.
fn bit(set: &[u64; 1024], cp: u32) -> bool {
    set.get((cp >> 6) as usize)
        .is_some_and(|w| w & (1 << (cp & 63)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_fast2s_changes_alone_is_in_the_table() {
        let t = Traditional::get();
        let mut buf = [0u8; 4];
        let mut changed = 0;
        for c in (0x80u32..0x11_0000).filter_map(char::from_u32) {
            let alone = fast2s::convert(c.encode_utf8(&mut buf));
            if alone != *c.encode_utf8(&mut buf) {
                changed += 1;
                assert!(RANGES.iter().any(|r| r.contains(&u32::from(c))), "{c:?}");
                assert!(t.simplified_of(u32::from(c)).is_some(), "{c:?}");
                assert_eq!(t.convert(c.encode_utf8(&mut buf)), alone, "{c:?}");
            }
        }
        assert!(changed > 2000, "fast2s changed only {changed} characters");
    }

    #[test]
    fn context_decides_the_listed_characters() {
        let t = Traditional::get();
        for s in [
            "乾隆年間",
            "乾淨",
            "看著他",
            "著作",
            "計畫",
            "畫面",
            "回覆",
            "覆蓋",
            "藉口",
            "狼藉",
        ] {
            assert_eq!(t.convert(s), fast2s::convert(s), "{s}");
        }
        assert_eq!(t.convert("乾隆"), "乾隆");
        assert_eq!(t.convert("看著"), "看着");
    }

    proptest::proptest! {
        #[test]
        fn converts_as_fast2s_does(
            s in "(\\PC|[兒寬覆答批回夥甚藉慰狼瞭望麽幺於樊乾隆坤卦口憑著看苧麻闔家鍾書讎校定仇畫計企經濟發展國門們0]){0,40}"
        ) {
            proptest::prop_assert_eq!(Traditional::get().convert(&s), fast2s::convert(&s));
        }
    }
}
