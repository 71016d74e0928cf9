//! Whitespace tests that answer from the first byte: only six lead bytes (and the ASCII
//! spaces) can start a whitespace character, and nearly every line and token starts with
//! something else (an ideograph, a letter, a digit), which then needs no decoding.

/// Whether `b` can be the first byte of a whitespace character (`char::is_whitespace`:
/// U+0009-000D, U+0020, U+0085, U+00A0, U+1680, U+2000-205F, U+3000).
#[inline]
pub fn can_start_whitespace(b: u8) -> bool {
    matches!(b, 0x09..=0x0D | 0x20 | 0xC2 | 0xE1 | 0xE2 | 0xE3)
}

/// `s.trim_start()`, decided at once when the first byte cannot start whitespace.
#[inline]
pub fn trim_start(s: &str) -> &str {
    match s.as_bytes().first() {
        Some(&b) if !can_start_whitespace(b) => s,
        _ => s.trim_start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_whitespace_character_starts_with_a_listed_byte() {
        let mut buf = [0u8; 4];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s: &str = c.encode_utf8(&mut buf);
            if c.is_whitespace() {
                assert!(can_start_whitespace(s.as_bytes()[0]), "U+{:04X}", c as u32);
            }
            let line = format!("{c}x ");
            assert_eq!(trim_start(&line), line.trim_start(), "U+{:04X}", c as u32);
        }
        assert_eq!(trim_start(""), "");
        assert_eq!(trim_start("\u{3000}\u{3000}新闻"), "新闻");
    }
}
