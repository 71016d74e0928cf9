//! JSON text at the byte level, where chaff reads and writes it itself rather than
//! through serde_json's general code: strings escaped and unescaped exactly as
//! serde_json does, and a validating scan of an object's members or an array's elements
//! that borrows each value as its raw text (what serde_json's `RawValue` holds).
//!
//! A JSONL record's text field is most of its bytes: serde_json looks at a string eight
//! bytes at a time, this scan sixteen or thirty-two. The scan accepts only what
//! serde_json accepts, and reads it as serde_json does, but for one addition: the words
//! Python writes for floats that are not finite ([`NONFINITE`]), taken as values.
//! Whatever it does not take (invalid JSON, nesting deeper than [`MAX_DEPTH`], a name
//! with an escape it does not decode) it leaves to serde_json, which reads it or words
//! the error (`jsonl`'s `Object::parse`).

use std::borrow::Cow;

/// The words Python's `json.dumps` writes for floats that are not finite, which the scan
/// takes as values (serde_json refuses them).
pub const NONFINITE: [&str; 3] = ["NaN", "Infinity", "-Infinity"];

/// `text` with each of [`NONFINITE`] that stands in an array or object (`text` starting
/// `depth` levels in) and outside a string replaced by a JSON array of its length (`[1]`,
/// `[123456]`, `[1234567]`): JSON that serde_json reads as the scan reads `text`, value
/// for value at the same places, and refuses where the scan refuses `text` (a word at
/// the top is left as it is, so that it stays no object or array). What the scan is
/// tested against (its tests and the fuzz target `json`).
pub fn nonfinite_as_arrays(text: &str, mut depth: i64) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied, mut in_string) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            _ if depth > 0 => {
                if let Some(word) = NONFINITE.iter().find(|w| b[i..].starts_with(w.as_bytes())) {
                    out.push_str(&text[copied..i]);
                    out.push('[');
                    out.push_str(&"1234567"[..word.len() - 2]);
                    out.push(']');
                    i += word.len();
                    copied = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Nesting the scan follows; deeper values are left to serde_json (the scan recurses, and
/// serde_json's own scan of a raw value has no limit).
pub const MAX_DEPTH: u32 = 64;

/// An object's members in order (a repeated name kept as often as it is written): each
/// name unescaped, each value its raw JSON text.
pub type Members<'a> = Vec<(Cow<'a, str>, &'a str)>;

/// The members of the JSON object that `text` holds (whitespace around it allowed), as
/// serde_json reads them into `(String, &RawValue)` pairs; `None` when `text` is no JSON
/// object or holds what the scan leaves to serde_json.
pub fn object_members(text: &str) -> Option<Members<'_>> {
    let mut s = Scan::new(text);
    let mut members = Vec::new();
    s.ws();
    s.items(b'{', |s| {
        let raw = s.name()?;
        let name = match raw.contains('\\') {
            false => Cow::Borrowed(&raw[1..raw.len() - 1]),
            true => Cow::Owned(unescape(raw)?),
        };
        members.push((name, s.value(1)?));
        Some(())
    })?;
    s.end().then_some(members)
}

/// The elements of the JSON array that `text` holds (whitespace around it allowed), each
/// as its raw JSON text, as serde_json reads them into `Vec<&RawValue>`; `None` when
/// `text` is no JSON array or holds what the scan leaves to serde_json.
pub fn array_elements(text: &str) -> Option<Vec<&str>> {
    let mut s = Scan::new(text);
    let mut elements = Vec::new();
    s.ws();
    s.items(b'[', |s| {
        elements.push(s.value(1)?);
        Some(())
    })?;
    s.end().then_some(elements)
}

/// A position in JSON text.
struct Scan<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan { text, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    /// Steps over JSON's whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Steps over `c`, if it is next.
    fn eat_if(&mut self, c: u8) -> bool {
        let next = self.peek() == Some(c);
        self.i += usize::from(next);
        next
    }

    /// Steps over `c`, which must be next.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.eat_if(c).then_some(())
    }

    /// Whitespace and nothing else is left.
    fn end(&mut self) -> bool {
        self.ws();
        self.i == self.text.len()
    }

    /// Steps over one value at nesting `depth`; its raw text.
    fn value(&mut self, depth: u32) -> Option<&'a str> {
        let start = self.i;
        match self.peek()? {
            b'"' => self.string()?,
            open @ (b'{' | b'[') => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.items(open, |s| {
                    if open == b'{' {
                        s.name()?;
                    }
                    s.value(depth + 1).map(|_| ())
                })?;
            }
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => self.literal("null")?,
            // Not JSON: what Python's `json.dumps` writes for floats that are not finite
            // (and Python and Spark read back). Taken, so a record holding one passes.
            b'N' => self.literal("NaN")?,
            b'I' => self.literal("Infinity")?,
            b'-' if self.text.as_bytes().get(self.i + 1) == Some(&b'I') => {
                self.literal("-Infinity")?
            }
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        }
        Some(&self.text[start..self.i])
    }

    /// Steps over an object or array opened by `open` (`{` or `[`, next): its items,
    /// each stepped over by `item` from its first byte, set apart by commas.
    fn items(&mut self, open: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        let close = open + 2; // `}` and `]` follow `{` and `[` by two
        self.eat(open)?;
        self.ws();
        if self.eat_if(close) {
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            if !self.eat_if(b',') {
                return self.eat(close);
            }
            self.ws();
        }
    }

    /// Steps over a member's name (a string, next) and the colon after it; the name's raw
    /// text.
    fn name(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.string()?;
        let raw = &self.text[start..self.i];
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(raw)
    }

    /// Steps over `word` (`true`, `false`, `null`, or one of [`NONFINITE`]), which must be
    /// next.
    fn literal(&mut self, word: &str) -> Option<()> {
        let next = self.text.as_bytes().get(self.i..self.i + word.len())?;
        self.i += word.len();
        (next == word.as_bytes()).then_some(())
    }

    /// Steps over digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// Steps over a number: `-`, then `0` or digits not led by 0, then a fraction and an
    /// exponent, each with at least one digit.
    fn number(&mut self) -> Option<()> {
        self.eat_if(b'-');
        match self.peek()? {
            b'0' => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat_if(b'.') && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let _ = self.eat_if(b'+') || self.eat_if(b'-');
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Steps over a string (its opening quote next) to past its closing quote, checking
    /// its escapes as serde_json's scan of a raw value does (four hex digits after `\u`,
    /// surrogates unchecked).
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        let b = self.text.as_bytes();
        let mut at = find_escape(b, self.i);
        loop {
            match *b.get(at)? {
                b'"' => {
                    self.i = at + 1;
                    return Some(());
                }
                b'\\' => {
                    // Escapes often come back to back (text written with every non-ASCII
                    // character as `\uXXXX`): step over the run before searching again.
                    while b.get(at) == Some(&b'\\') {
                        if two_unit_escapes(b, at).is_some() {
                            at += 12;
                            continue;
                        }
                        at += match *b.get(at + 1)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                            b'u' => hex4(b.get(at + 2..at + 6)?).map(|_| 6)?,
                            _ => return None,
                        };
                    }
                    at = find_escape(b, at);
                }
                _ => return None, // a control character
            }
        }
    }
}

/// Writes `s` as a JSON string, escaped byte for byte as serde_json escapes it (`\"`,
/// `\\`, the short forms `\b \f \n \r \t`, `\u00xx` for other control characters,
/// nothing else). Nearly all of a document's text needs no escape and is copied in runs.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    write_str_parts(out, &[s]);
}

/// [`write_str`] of the concatenation of `parts`, without joining them first.
pub fn write_str_parts(out: &mut Vec<u8>, parts: &[&str]) {
    out.reserve(parts.iter().map(|s| s.len()).sum::<usize>() + 2);
    out.push(b'"');
    parts.iter().for_each(|s| escape_into(out, s));
    out.push(b'"');
}

/// [`write_str_parts`], but with every character outside ASCII (and DEL) as a `\uXXXX`
/// escape (a surrogate pair above U+FFFF), in lower-case hex: a string as Python's
/// `json.dumps` writes it by default (`ensure_ascii`), for text read from records
/// written so.
pub fn write_str_parts_ascii(out: &mut Vec<u8>, parts: &[&str]) {
    out.push(b'"');
    for part in parts {
        let b = part.as_bytes();
        // Nearly all of it three-byte characters, each six bytes escaped: sized once.
        out.reserve(2 * b.len());
        let mut i = 0;
        while let Some(&x) = b.get(i) {
            if x < 0x7F {
                let end = b[i..]
                    .iter()
                    .position(|&c| c >= 0x7F)
                    .map_or(b.len(), |n| i + n);
                escape_into(out, &part[i..end]);
                i = end;
                continue;
            }
            if x == 0x7F {
                // DEL, which Python escapes here (serde_json, and Python's UTF-8 form, not).
                push_unit_escape(out, 0x7F);
                i += 1;
                continue;
            }
            // A run of three-byte characters (all of CJK) in a loop of its own.
            let from = i;
            for c in b[i..].chunks_exact(3) {
                let &[lead @ 0xE0..=0xEF, b1, b2] = c else {
                    break;
                };
                let unit = (u32::from(lead & 0x0F) << 12)
                    | (u32::from(b1 & 0x3F) << 6)
                    | u32::from(b2 & 0x3F);
                push_unit_escape(out, unit);
                i += 3;
            }
            if i > from {
                continue;
            }
            // Any other character (rare in Chinese text), decoded by std.
            let c = part[i..].chars().next().unwrap_or_default();
            for &unit in c.encode_utf16(&mut [0; 2]).iter() {
                push_unit_escape(out, u32::from(unit));
            }
            i += c.len_utf8();
        }
    }
    out.push(b'"');
}

/// Appends `\u` and the four lower-case hex digits of the UTF-16 code unit `unit`.
#[inline]
fn push_unit_escape(out: &mut Vec<u8>, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let h = |k: u32| HEX[(unit >> k) as usize & 15];
    out.extend_from_slice(&[b'\\', b'u', h(12), h(8), h(4), h(0)]);
}

/// The inside of [`write_str`]: `s` escaped, without the quotes. Escaping is byte by
/// byte, so a string's parts may be escaped one after another.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0; // first byte not yet copied
    loop {
        let at = find_escape(b, start);
        let Some(&c) = b.get(at) else { break };
        out.extend_from_slice(&b[start..at]);
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
        }
        start = at + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// The index of the first byte at or after `i` that a JSON string must escape (a control
/// character, `"` or `\\`), or `b.len()`. Thirty-two bytes are tested at a time where
/// the CPU has AVX2, else sixteen (SSE2, part of every x86-64 CPU), then eight: nearly all
/// of a document's text needs no escape.
#[inline]
fn find_escape(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if b.len() >= i + 32 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            i = unsafe { skip_plain_avx2(b, i) };
        }
        while let Some(block) = b.get(i..i + 16) {
            let m = escape_mask16(block.try_into().unwrap_or(&[0; 16]));
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(word) = b.get(i..i + 8) {
        // The lowest flagged byte of a word is always a true one (the bit trick errs
        // only above a true match).
        let m = escape_mask(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    match b[i.min(b.len())..]
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
    {
        Some(p) => i + p,
        None => b.len(),
    }
}

/// Steps `i` over blocks of 32 bytes that need no escape: to the block holding the next
/// byte that does, or to where fewer than 32 bytes are left.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn skip_plain_avx2(b: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::*;
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let space = _mm256_set1_epi8(0x1F);
    while let Some(block) = b.get(i..i + 32) {
        // SAFETY: the load reads the 32 bytes of `block`.
        #[allow(unused_unsafe)]
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
        let hits = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
            // Unsigned v <= 0x1F: the minimum of v and 0x1F is v.
            _mm256_cmpeq_epi8(_mm256_min_epu8(v, space), v),
        );
        if _mm256_movemask_epi8(hits) != 0 {
            break;
        }
        i += 32;
    }
    i
}

/// A bit for each byte of `block` that is a control character, `"` or `\\`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn escape_mask16(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // Rust before 1.87 has these SSE2 intrinsics unsafe, later ones safe where SSE2 is
    // enabled, as it is on every x86-64 target.
    #[allow(unused_unsafe)]
    // SAFETY: SSE2 is part of x86-64, and the load reads the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned v <= 0x1F: the minimum of v and 0x1F is v.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// The high bit of each byte of `w` that is a control character, `"` or `\\` (the
/// has-zero-byte bit trick: every such byte is flagged, and a byte above a flagged one may
/// be flagged too).
#[inline]
fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q & HIGH;
    let s = w ^ (ONES * u64::from(b'\\'));
    let backslash = s.wrapping_sub(ONES) & !s & HIGH;
    below_space | quote | backslash
}

/// The text of a JSON string literal `raw` (quotes included, already checked as JSON by
/// the scan or by serde_json), or `None` when it is not a string or holds an escape this does
/// not decode (a lone surrogate): serde_json then decodes it and words the error. Sized
/// once and copied a run at a time between backslashes, where serde_json grows a scratch
/// buffer and copies the result again.
pub fn unescape(raw: &str) -> Option<String> {
    unescape_as(raw, false)
}

/// [`unescape`], but a lone surrogate escape (`\ud800` with no low one after it: what a
/// JavaScript crawler writes for an emoji cut in half) is read as U+FFFD, as
/// `String::from_utf16_lossy` reads it, where [`unescape`] refuses the string.
pub fn unescape_lossy(raw: &str) -> Option<String> {
    unescape_as(raw, true)
}

/// [`unescape`], or [`unescape_lossy`] if `lossy`.
#[inline]
fn unescape_as(raw: &str, lossy: bool) -> Option<String> {
    let body = raw.strip_prefix('"')?.strip_suffix('"')?;
    let b = body.as_bytes();
    // Bytes, sized once (the text is never longer than its escaped form): a character
    // from an escape is then a few stores, where `String::push` encodes it into a buffer
    // and copies that (40 instructions an escape).
    let mut out = Vec::with_capacity(b.len());
    let mut start = 0; // first byte of `b` not yet copied
    while let Some(i) = memchr::memchr(b'\\', &b[start..]) {
        let mut at = start + i;
        out.extend_from_slice(&b[start..at]);
        // Escapes often come back to back (text written with every non-ASCII character
        // as `\uXXXX`): decode the run before searching again.
        while b.get(at) == Some(&b'\\') {
            if let Some([u1, u2]) = two_unit_escapes(b, at) {
                let surrogate = |u: u32| u & 0xF800 == 0xD800;
                if !surrogate(u1) && !surrogate(u2) {
                    if u1 >= 0x800 && u2 >= 0x800 {
                        // Two three-byte characters (CJK): one append.
                        let ([a, b, c], [d, e, f]) = (utf8_3(u1), utf8_3(u2));
                        out.extend_from_slice(&[a, b, c, d, e, f]);
                    } else {
                        put_utf8(&mut out, u1);
                        put_utf8(&mut out, u2);
                    }
                    at += 12;
                    continue;
                }
            }
            let (c, n) = decode_escape(b, at, lossy)?;
            put_utf8(&mut out, c);
            at += n;
        }
        start = at;
    }
    out.extend_from_slice(&b[start..]);
    debug_assert!(std::str::from_utf8(&out).is_ok());
    // SAFETY: `out` is UTF-8: runs of `body` cut only at ASCII bytes (backslashes and
    // the ends of escapes), and characters encoded from escapes, which are Unicode
    // scalar values (`decode_escape`'s, and pairs of units with no surrogate among
    // them). Checking it again would cost as much as the decoding (30 instructions an
    // escape).
    Some(unsafe { String::from_utf8_unchecked(out) })
}

/// The code units of two `\uXXXX` escapes at `b[at..at + 12]`, or `None` when they
/// are not there (or fewer than 16 bytes are left). Text written with every non-ASCII
/// character escaped is mostly runs of them: both are checked and decoded at once, in
/// SSE2 on x86-64 (30 instructions, where one escape alone takes about as many).
#[inline]
fn two_unit_escapes(b: &[u8], at: usize) -> Option<[u32; 2]> {
    let block: &[u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    // Two bytes tell most other escapes (`\n`, one `\u` alone) before any vector work.
    if block[1] != b'u' || block[6] != b'\\' {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    return two_unit_escapes_sse2(block);
    #[cfg(not(target_arch = "x86_64"))]
    return two_unit_escapes_scalar(block);
}

/// [`two_unit_escapes`] one byte at a time: the definition, and what the SSE2 version is
/// tested against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn two_unit_escapes_scalar(block: &[u8; 16]) -> Option<[u32; 2]> {
    match *block {
        [b'\\', b'u', a, b, c, d, b'\\', b'u', e, f, g, h, ..] => {
            Some([hex4(&[a, b, c, d])?, hex4(&[e, f, g, h])?])
        }
        _ => None,
    }
}

/// [`two_unit_escapes`] in SSE2, part of every x86-64 CPU.
#[cfg(target_arch = "x86_64")]
#[inline]
fn two_unit_escapes_sse2(block: &[u8; 16]) -> Option<[u32; 2]> {
    use std::arch::x86_64::*;
    // Rust before 1.87 has these SSE2 intrinsics unsafe (see `escape_mask16`).
    #[allow(unused_unsafe)]
    // SAFETY: SSE2 is part of x86-64, and the load reads the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        let between = |v, lo: u8, hi: u8| {
            // Signed compares: bytes from 0x80 are negative, so below every bound here.
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let digit = between(v, b'0', b'9');
        // Setting bit 5 folds A-F onto a-f (and nothing else onto them).
        let letter = between(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'f');
        let (bs, u) = (b'\\' as i8, b'u' as i8);
        let marks = _mm_cmpeq_epi8(
            v,
            _mm_setr_epi8(bs, u, 0, 0, 0, 0, bs, u, 0, 0, 0, 0, 0, 0, 0, 0),
        );
        // Bytes 0-1 and 6-7 must be `\u`, bytes 2-5 and 8-11 hex digits.
        let found = (_mm_movemask_epi8(marks) & 0b0000_0000_1100_0011)
            | (_mm_movemask_epi8(_mm_or_si128(digit, letter)) & 0b0000_1111_0011_1100);
        if found != 0b0000_1111_1111_1111 {
            return None;
        }
        // Each digit's value: its low four bits, plus 9 for a letter.
        let value = _mm_add_epi8(
            _mm_and_si128(v, _mm_set1_epi8(0x0F)),
            _mm_and_si128(letter, _mm_set1_epi8(9)),
        );
        // Each 16-bit lane (bytes 2k and 2k + 1): the first digit times 16 plus the second.
        let pairs = _mm_or_si128(
            _mm_slli_epi16(_mm_and_si128(value, _mm_set1_epi16(0x00FF)), 4),
            _mm_srli_epi16(value, 8),
        );
        let lane = |x: i32| x as u32;
        Some([
            lane(_mm_extract_epi16::<1>(pairs)) << 8 | lane(_mm_extract_epi16::<2>(pairs)),
            lane(_mm_extract_epi16::<4>(pairs)) << 8 | lane(_mm_extract_epi16::<5>(pairs)),
        ])
    }
}

/// The character the escape at `b[at]` (a backslash) stands for, as a Unicode scalar
/// value (never a surrogate), and the escape's length; `None` for what this does not
/// decode: an invalid escape, and unless `lossy` (which reads it as U+FFFD) a lone
/// surrogate.
#[inline]
fn decode_escape(b: &[u8], at: usize, lossy: bool) -> Option<(u32, usize)> {
    // The usual escape first: `\uXXXX` of a character of the BMP outside the surrogates.
    if let Some(&[b'\\', b'u', h1, h2, h3, h4]) = b.get(at..at + 6) {
        let unit = hex4(&[h1, h2, h3, h4])?;
        if !(0xD800..=0xDFFF).contains(&unit) {
            return Some((unit, 6));
        }
        // A high surrogate and an escaped low one: one character.
        if unit <= 0xDBFF {
            if let Some(&[b'\\', b'u', l1, l2, l3, l4]) = b.get(at + 6..at + 12) {
                if let Some(low @ 0xDC00..=0xDFFF) = hex4(&[l1, l2, l3, l4]) {
                    return Some((0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), 12));
                }
            }
        }
        return lossy.then_some((0xFFFD, 6));
    }
    let c = match *b.get(at + 1)? {
        c @ (b'"' | b'\\' | b'/') => c,
        b'b' => 0x08,
        b'f' => 0x0C,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    };
    Some((u32::from(c), 2))
}

/// The UTF-8 of a scalar value from U+0800 to U+FFFF.
#[inline(always)]
fn utf8_3(c: u32) -> [u8; 3] {
    [0xE0 | (c >> 12) as u8, utf8_tail(c >> 6), utf8_tail(c)]
}

/// A UTF-8 continuation byte holding the low six bits of `bits`.
#[inline(always)]
fn utf8_tail(bits: u32) -> u8 {
    0x80 | (bits & 0x3F) as u8
}

/// Appends the Unicode scalar value `c` to `out` as UTF-8.
#[inline(always)]
fn put_utf8(out: &mut Vec<u8>, c: u32) {
    match c {
        0..=0x7F => out.push(c as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (c >> 6) as u8, utf8_tail(c)]),
        0x800..=0xFFFF => out.extend_from_slice(&utf8_3(c)),
        _ => out.extend_from_slice(&[
            0xF0 | (c >> 18) as u8,
            utf8_tail(c >> 12),
            utf8_tail(c >> 6),
            utf8_tail(c),
        ]),
    }
}

/// The value of four hex digits.
#[inline]
fn hex4(h: &[u8]) -> Option<u32> {
    let &[a, b, c, d] = h else {
        return None;
    };
    let [a, b, c, d] = [a, b, c, d].map(|x| u32::from(HEX_VALUE[usize::from(x)]));
    // A byte that is no hex digit has the high bits set.
    ((a | b | c | d) < 16).then_some(a << 12 | b << 8 | c << 4 | d)
}

/// Each byte's value as a hex digit, or 0xFF.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "新闻",
            "\"quoted\" \\ back\u{7f}",
            all_ascii.as_str(),
            "新闻\n广告\r\n\t\u{8}\u{c}\u{1}\u{1f}end",
            "12345678\"",
            "1234567\\",
        ] {
            assert_eq!(escaped(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn ascii_strings_escape_characters_of_every_length_as_python_does() {
        // The first and last character of each UTF-8 length (Python's `json.dumps`).
        let s = "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}\n新";
        let mut out = Vec::new();
        write_str_parts_ascii(&mut out, &[s]);
        let want = r#""\u007f\u0080\u07ff\u0800\uffff\ud800\udc00\udbff\udfff\n\u65b0""#;
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
    }

    #[test]
    fn unescaping_matches_serde_json() {
        for raw in [
            r#""""#,
            r#""新闻\n广告""#,
            r#""\"\\\/\b\f\n\r\t""#,
            r#""\u00e9\u4E2D\u0000 \ud83d\ude00 end""#,
            r#""a\\u0041""#,
        ] {
            let want: String = serde_json::from_str(raw).unwrap();
            assert_eq!(unescape(raw).as_deref(), Some(want.as_str()), "{raw}");
        }
        // What it does not decode, serde_json does (and words the error).
        for raw in [
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            "1",
            "null",
        ] {
            assert_eq!(unescape(raw), None, "{raw}");
        }
    }

    #[test]
    fn two_escapes_are_read_at_once_as_one_at_a_time() {
        // Blocks that start as two escapes (hex in both cases, surrogates, text after);
        // every byte set in turn to every value, and every two of the first twelve to
        // values at the edges of what is tested.
        let edges = [
            0x00, 0x10, 0x19, 0x20, 0x2F, 0x30, 0x39, 0x3A, 0x40, 0x41, 0x46, 0x47, 0x5C, 0x60,
            0x61, 0x66, 0x67, 0x75, 0x7F, 0x80, 0xC0, 0xE6, 0xFF,
        ];
        let mut found = 0;
        for start in [
            *br"\u4e2d\u6587tail",
            *br#"\uD83D\uDE00\n\""#,
            *br"\u00AF\uffFF\u00",
        ] {
            let check = |block: &[u8; 16]| {
                let got = two_unit_escapes(block, 0);
                assert_eq!(got, two_unit_escapes_scalar(block), "{block:?}");
                usize::from(got.is_some())
            };
            for i in 0..16 {
                for v in 0..=255 {
                    let mut block = start;
                    block[i] = v;
                    found += check(&block);
                }
            }
            for i in 0..12 {
                for j in i + 1..12 {
                    for (&v, &w) in edges.iter().zip(edges.iter().rev()) {
                        let mut block = start;
                        (block[i], block[j]) = (v, w);
                        found += check(&block);
                    }
                }
            }
        }
        assert!(
            found > 3 * (4 * 256 + 22 * 2),
            "the valid blocks were read: {found}"
        );
        assert_eq!(
            two_unit_escapes(br"\u4e2d\u6587tail", 0),
            Some([0x4E2D, 0x6587])
        );
        assert_eq!(
            two_unit_escapes(br"\u4e2d\u6587", 0),
            None,
            "fewer than 16 bytes"
        );
    }

    #[test]
    fn non_finite_floats_become_arrays_outside_strings_only() {
        assert_eq!(
            nonfinite_as_arrays(
                r#"{"a":NaN,"NaN":"-Infinity \"NaN","b":[Infinity,-Infinity]}"#,
                0
            ),
            r#"{"a":[1],"NaN":"-Infinity \"NaN","b":[[123456],[1234567]]}"#
        );
        // At the top a word stays, so that the text stays no object or array.
        assert_eq!(
            nonfinite_as_arrays("-Infinity [NaN]NaN", 0),
            "-Infinity [[1]]NaN"
        );
        assert_eq!(nonfinite_as_arrays("新闻NaNNaN", 1), "新闻[1][1]");
    }

    #[test]
    fn lone_surrogates_are_refused_or_read_as_replacement_characters() {
        for (raw, lossy) in [
            (r#""\ud800""#, "\u{FFFD}"),
            (r#""a\udc00b""#, "a\u{FFFD}b"),
            (r#""\ud83d\ude00\ud83d""#, "\u{1F600}\u{FFFD}"),
            (
                r#""\ud800\u0041\ud800\ud800\udc00""#,
                "\u{FFFD}A\u{FFFD}\u{10000}",
            ),
            (r#""\udbff\n""#, "\u{FFFD}\n"),
        ] {
            assert_eq!(unescape(raw), None, "{raw}");
            assert_eq!(unescape_lossy(raw).as_deref(), Some(lossy), "{raw}");
        }
        // Invalid JSON stays refused.
        for raw in [r#""\ud800\uZZZZ""#, r#""\ud800\x""#, r#""\ud80""#] {
            assert_eq!(unescape_lossy(raw), None, "{raw}");
        }
    }

    proptest::proptest! {
        #[test]
        fn lossy_unescape_reads_utf16_as_std_does(
            units in proptest::collection::vec(
                proptest::prop_oneof![0u16..0x80, 0x4E00u16..0x4E10, 0xD800u16..0xD803, 0xDC00u16..0xDC03],
                0..24,
            ),
            plain in proptest::collection::vec(proptest::bool::ANY, 24),
        ) {
            // Each unit as a `\u` escape, or where it is a character of its own and
            // `plain` says so, as itself.
            let mut raw = String::from("\"");
            for (&u, &p) in units.iter().zip(&plain) {
                match char::from_u32(u32::from(u)) {
                    Some(c) if p && c != '"' && c != '\\' && !c.is_control() => raw.push(c),
                    _ => raw.push_str(&format!("\\u{u:04x}")),
                }
            }
            raw.push('"');
            let want = String::from_utf16_lossy(&units);
            proptest::prop_assert_eq!(unescape_lossy(&raw), Some(want.clone()));
            // Strict: the same text, or nothing where a surrogate was lone.
            let strict = String::from_utf16(&units).ok();
            proptest::prop_assert_eq!(unescape(&raw), strict);
        }

        /// [`write_str_parts_ascii`] writes ASCII that reads back as the text, escaped as
        /// Python escapes it, wherever the text is cut into parts.
        #[test]
        fn ascii_strings_read_back_and_escape_only_what_is_not_ascii(
            s in "(\\PC|[\\x00-\\x1f\"\\\\/\x7f]|\u{1F600}){0,40}",
            cut in 0usize..200,
        ) {
            let cut = (0..=cut.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            let mut out = Vec::new();
            write_str_parts_ascii(&mut out, &[&s[..cut], &s[cut..]]);
            proptest::prop_assert!(out.is_ascii());
            let out = String::from_utf8(out).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s.clone());
            // serde_json's escapes for ASCII, `\uXXXX` for the rest, as Python writes it.
            let want: String = serde_json::to_string(&s).unwrap().chars().map(|c| match c.is_ascii() && c != '\u{7f}' {
                true => c.to_string(),
                false => c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect(),
            }).collect();
            proptest::prop_assert_eq!(out, want);
        }

        #[test]
        fn unescape_matches_serde_json_on_any_string(s in "(\\PC|[\\x00-\\x1f\"\\\\/]|\u{1F600}){0,60}") {
            let raw = serde_json::to_string(&s).unwrap();
            proptest::prop_assert_eq!(unescape(&raw), Some(s.clone()));
            // The same text with every character written as \u escapes.
            let mut all = String::from("\"");
            for unit in s.encode_utf16() {
                all.push_str(&format!("\\u{unit:04x}"));
            }
            all.push('"');
            proptest::prop_assert_eq!(unescape(&all), Some(s.clone()));
            // And in upper-case hex, as some writers have it.
            proptest::prop_assert_eq!(unescape(&all.to_uppercase().replace("\\U", "\\u")), Some(s));
        }

        #[test]
        fn escaping_matches_serde_json(s in "(\\PC|[\\x00-\\x1f\"\\\\]|新闻){0,80}") {
            proptest::prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
