//! The lines a model was trained on, as fingerprints: so `eval` can say how much of its
//! labelled data the model has already seen (scores on those prove little), `train
//! --update` adds the new lines' and `forget` removes them exactly.
//!
//! A fingerprint is the CRC-32 of a line's text without the whitespace around it (so an
//! indented paragraph of a page and the same paragraph as a TSV row are one line). Kept as
//! a sorted multiset, a line trained twice is there twice and forgetting one copy leaves
//! the other. 32 bits are few enough to store (the default model's ~180,000 lines take
//! ~0.4 MB) and many enough for a share: a line the model never saw matches by chance
//! about once in 24,000 against that model.

/// From this share of their distinct lines on, lines are treated as data the model was
/// trained on (`eval` warns, `train --tune-on` refuses). Page chrome repeats from page to
/// page, so pages of one site share lines with any other of its pages (`✋热门推荐` on
/// each of eval/dev's 400 pages: 932 of its 16,155 lines are lines the default model was
/// trained on, but 128 of its 8,354 distinct ones, 1.5 %); data trained on shares them all.
pub const TRAINED_SHARE: f64 = 0.1;

/// How much of some lines is lines a model was trained on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Overlap {
    /// Lines that are lines the model was trained on.
    pub lines: u64,
    /// Distinct texts among the lines (without the space around them).
    pub distinct: u64,
    /// Of those, the ones the model was trained on.
    pub distinct_seen: u64,
}

impl Overlap {
    /// The share of the distinct lines that were trained on.
    pub fn share(&self) -> f64 {
        self.distinct_seen as f64 / self.distinct.max(1) as f64
    }

    /// Whether that share is [`TRAINED_SHARE`] or more.
    pub fn is_training_data(&self) -> bool {
        self.share() >= TRAINED_SHARE
    }
}

/// The fingerprint of a labelled line's text.
pub fn fingerprint(text: &str) -> u32 {
    crc32fast::hash(text.trim().as_bytes())
}

/// Fingerprints of training lines, a sorted multiset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    prints: Vec<u32>,
}

impl Seen {
    /// The fingerprints of these lines' texts.
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Seen {
        let mut prints: Vec<u32> = texts.into_iter().map(fingerprint).collect();
        prints.sort_unstable();
        Seen { prints }
    }

    /// Lines fingerprinted (a line trained twice counts twice).
    pub fn len(&self) -> usize {
        self.prints.len()
    }

    /// Whether no line is.
    pub fn is_empty(&self) -> bool {
        self.prints.is_empty()
    }

    /// Whether a line of this text was trained on (or, about once in 2^32 / len, a line
    /// of the same fingerprint).
    pub fn contains(&self, text: &str) -> bool {
        self.prints.binary_search(&fingerprint(text)).is_ok()
    }

    /// How many of these lines' texts are lines trained on.
    pub fn overlap<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Overlap {
        let mut distinct: rustc_hash::FxHashMap<&str, bool> = Default::default();
        let mut lines = 0;
        for text in texts {
            let trimmed = text.trim();
            let seen = *distinct
                .entry(trimmed)
                .or_insert_with(|| self.contains(trimmed));
            lines += u64::from(seen);
        }
        Overlap {
            lines,
            distinct: distinct.len() as u64,
            distinct_seen: distinct.values().filter(|&&t| t).count() as u64,
        }
    }

    /// Adds `other`'s lines.
    pub fn merge(&mut self, other: &Seen) {
        self.prints.extend_from_slice(&other.prints);
        self.prints.sort_unstable();
    }

    /// Removes one copy of each of `other`'s lines; fails, changing nothing, on a line
    /// that is not there (or not so many times), returning its fingerprint so that the
    /// caller can name the line.
    pub fn subtract(&mut self, other: &Seen) -> Result<(), u32> {
        let mut left = Vec::with_capacity(self.prints.len());
        let mut mine = self.prints.iter();
        for &p in &other.prints {
            loop {
                match mine.next() {
                    Some(&m) if m < p => left.push(m),
                    Some(&m) if m == p => break,
                    _ => return Err(p),
                }
            }
        }
        left.extend(mine);
        self.prints = left;
        Ok(())
    }

    /// The body encoding: u64 LE count, then each fingerprint as its difference from
    /// the one before (the first from 0) in LEB128 (sorted, so each fits; ~3 bytes a
    /// line for ~180,000 lines).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.prints.len() as u64).to_le_bytes());
        let mut prev = 0u32;
        for &p in &self.prints {
            let mut d = p - prev;
            prev = p;
            loop {
                let byte = (d & 0x7f) as u8;
                d >>= 7;
                if d == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
    }

    /// Reads [`Seen::encode`]'s bytes at the start of `bytes`; returns the set and the
    /// bytes read. Errors (a count past the bytes, a difference that is not a u32 or
    /// would pass 2^32 - 1) are messages for the model reader.
    pub fn decode(bytes: &[u8]) -> Result<(Seen, usize), String> {
        let head: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or("truncated in the line fingerprints")?;
        let n = u64::from_le_bytes(head);
        // At least a byte each: a corrupted count cannot make us allocate gigabytes.
        if n > (bytes.len() - 8) as u64 {
            return Err(format!("{n} line fingerprints exceed the file"));
        }
        let mut prints = Vec::with_capacity(n as usize);
        let (mut at, mut prev) = (8, 0u32);
        for _ in 0..n {
            let mut d = 0u64;
            let mut shift = 0;
            loop {
                let byte = *bytes.get(at).ok_or("truncated in the line fingerprints")?;
                at += 1;
                if shift > 28 {
                    return Err("a line fingerprint is longer than 32 bits".into());
                }
                d |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            prev = u32::try_from(u64::from(prev) + d)
                .map_err(|_| "line fingerprints pass 2^32".to_string())?;
            prints.push(prev);
        }
        Ok((Seen { prints }, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_matched_by_their_text_without_the_space_around_it() {
        let seen = Seen::of(["国务院常务会议。", "  哈哈哈", "哈哈哈"]);
        assert_eq!(seen.len(), 3);
        assert!(seen.contains("\u{3000}\u{3000}国务院常务会议。 "));
        assert!(seen.contains("哈哈哈"));
        assert!(!seen.contains("哈哈"));
    }

    #[test]
    fn overlap_counts_lines_and_distinct_lines() {
        let seen = Seen::of(["✋热门推荐", "国务院常务会议。"]);
        let o = seen.overlap([
            "✋热门推荐",
            " ✋热门推荐",
            "新的一段",
            "另一段",
            "国务院常务会议。",
        ]);
        let want = Overlap {
            lines: 3,
            distinct: 4,
            distinct_seen: 2,
        };
        assert_eq!(o, want);
        assert_eq!(o.share(), 0.5);
        assert!(o.is_training_data());
        let few = seen.overlap(
            (0..10)
                .map(|_| "✋热门推荐")
                .chain(["甲", "乙", "丙"])
                .chain(["丁", "戊", "己", "庚", "辛", "壬", "癸"]),
        );
        assert_eq!((few.lines, few.distinct, few.distinct_seen), (10, 11, 1));
        assert!(!few.is_training_data());
        assert_eq!(seen.overlap([]), Overlap::default());
    }

    #[test]
    fn merge_then_subtract_leaves_what_was_there_and_only_copies_held_can_go() {
        let a = Seen::of(["甲", "乙", "乙"]);
        let b = Seen::of(["乙", "丙"]);
        let mut m = a.clone();
        m.merge(&b);
        assert_eq!(m, Seen::of(["甲", "乙", "乙", "乙", "丙"]));
        m.subtract(&b).unwrap();
        assert_eq!(m, a);
        // Three copies of 乙 where there are two: refused, nothing changed.
        let before = m.clone();
        let over = Seen::of(["乙", "乙", "乙"]);
        assert_eq!(m.subtract(&over), Err(fingerprint("乙")));
        assert_eq!(m, before);
        assert_eq!(m.subtract(&Seen::of(["丁"])), Err(fingerprint("丁")));
        m.subtract(&a).unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn the_encoding_reads_back_and_damage_is_an_error() {
        let mut texts: Vec<String> = (0..5000).map(|i| format!("第{i}行")).collect();
        texts.push("第7行".into());
        let seen = Seen::of(texts.iter().map(String::as_str));
        let mut bytes = Vec::new();
        seen.encode(&mut bytes);
        bytes.extend_from_slice(b"rest");
        let (back, used) = Seen::decode(&bytes).unwrap();
        assert_eq!((back, used), (seen.clone(), bytes.len() - 4));
        // Extremes: 0 and u32::MAX, differences of every width.
        let mut edges = Seen {
            prints: vec![0, 0, 1, 127, 128, 16_383, 16_384, u32::MAX - 1, u32::MAX],
        };
        let mut b = Vec::new();
        edges.encode(&mut b);
        assert_eq!(Seen::decode(&b).unwrap(), (edges.clone(), b.len()));
        edges.prints.clear();
        b.clear();
        edges.encode(&mut b);
        assert_eq!(Seen::decode(&b).unwrap(), (Seen::default(), 8));
        for cut in [0, 7, 9, bytes.len() - 5] {
            assert!(Seen::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.push(0);
        assert!(Seen::decode(&huge).unwrap_err().contains("exceed the file"));
        // A difference that runs past 32 bits, and one that passes 2^32 - 1.
        let long = [
            &1u64.to_le_bytes()[..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ]
        .concat();
        assert!(Seen::decode(&long).is_err());
        let past = [
            &2u64.to_le_bytes()[..],
            &[0xff, 0xff, 0xff, 0xff, 0x0f, 0x01],
        ]
        .concat();
        assert!(Seen::decode(&past).unwrap_err().contains("pass 2^32"));
    }
}
