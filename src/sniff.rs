//! Sniffing: what a stream's first bytes say it is when it is not what this run reads
//! (text as lines, or JSON lines): a binary file, an archive chaff does not open, an
//! HTML page, records of a format chaff reads with another flag (Parquet, JSON lines,
//! WARC), or, to a JSON lines run, plain text. The warning that skips such a file names
//! the fix. A JSON lines run reads a JSON array of records, and JSON records over
//! several lines ([`json_framing`]).

use std::borrow::Cow;

/// What a run reads its sources as: what else a source may open as decides whether it
/// is skipped ([`other_format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reads {
    /// Plain text, lines as paragraphs.
    PlainText,
    /// JSON lines, a record a line.
    JsonLines,
    /// Records framed and checked where they are read (WARC), or data whose format
    /// the caller knows (labelled rows).
    #[default]
    Other,
}

/// The format of records chaff reads with a flag that a stream's first bytes show, if
/// the run reads otherwise, with what to do instead, for the warning: Parquet and
/// archives in any run that opens streams; in a plain-text run JSON lines, a JSON array
/// of records, JSON over several lines, WARC, or an HTML page, which no flag reads. A
/// JSON lines run is told the last two, and text: no line of the head opens an object.
/// It reads a JSON array of records and JSON over several lines ([`json_framing`]).
pub fn other_format(head: &[u8], at_eof: bool, reads: Reads) -> Option<Cow<'static, str>> {
    if head.starts_with(b"PAR1") {
        return Some("a Parquet file: read it with --parquet".into());
    }
    if let Some(named) = container(head) {
        return Some(named.into());
    }
    if reads == Reads::Other {
        return None;
    }
    let plain_text = reads == Reads::PlainText;
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    if text.starts_with(b"WARC/1.") {
        return Some("a WARC file: read it with --warc".into());
    }
    // Markup read as text would be scored tag by tag; no flag reads it.
    if html_page(text) {
        return Some("an HTML page: extract its text first; chaff reads text, not markup".into());
    }
    let (line, next) = match memchr::memchr(b'\n', text) {
        Some(end) => (Some(&text[..end]), &text[end + 1..]),
        None if at_eof => (Some(text), &[][..]),
        // A first line longer than the head (a long record) is told by its start.
        None => (None, &[][..]),
    };
    if !plain_text && json_framing(head, at_eof).is_some() {
        return None;
    }
    // The next line decides too: text under a JSON header line (a crawler's metadata
    // record) is text, while a damaged second record still opens like one.
    let next_opens_record = || {
        next.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_none_or(|&b| b == b'{')
    };
    match text.first() {
        Some(b'{') if plain_text && line.map_or_else(|| opens_object(text), is_object) && next_opens_record() => {
            // With the field that holds the text, when it is not the default `text`.
            let flag = line.and_then(|l| crate::jsonl::text_field_flag(l, "text"));
            Some(match flag {
                Some(flag) => format!("JSON lines: read them with --jsonl {flag}").into(),
                None => "JSON lines: read them with --jsonl".into(),
            })
        }
        // A first record cut short (a record of its own follows it): JSON lines still.
        Some(b'{') if plain_text && line.is_some_and(opens_object) && next_is_object(next) => Some(
            "JSON lines whose first record is damaged: read them with --jsonl (--bad-records skip or keep passes over it)"
                .into(),
        ),
        // An object spread over lines (pretty-printed: `{` alone on the first); a JSON
        // lines run reads it ([`json_framing`]).
        Some(b'{') if plain_text && pretty_object(text) => {
            Some("JSON, a record over several lines: read it with --jsonl".into())
        }
        // To a JSON lines run, an array is records ([`json_array`]).
        Some(b'[') if plain_text && opens_object(text[1..].trim_ascii_start()) => {
            Some("a JSON array of records: read it with --jsonl".into())
        }
        // Text next to a dataset's shards (a README, a licence): no
        // line of its first 64 KiB opens a record. One whose first lines are damaged is
        // read, its records after them too.
        Some(_) if !plain_text && opens_no_record(text) => {
            Some("its first lines are not JSON objects: plain text? chaff reads it without --jsonl".into())
        }
        _ => None,
    }
}

/// How a JSON lines run reads a stream that holds records but not one a line
/// ([`json_framing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFraming {
    /// One JSON array of records ([`crate::json_array::ArrayLines::new`]).
    Array,
    /// Pretty-printed records one after another, as `jq .` writes them
    /// ([`crate::json_array::ArrayLines::sequence`]).
    Sequence,
}

/// How a JSON lines run reads the stream `head` opens, if not a record a line: as a
/// JSON array of records ([`crate::json_array`]), or as pretty-printed records (a `{`
/// alone on the first line, and a key after it). `at_eof`: `head` is the whole stream.
pub fn json_framing(head: &[u8], at_eof: bool) -> Option<JsonFraming> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = text.trim_ascii_start();
    if json_array(text, at_eof) {
        return Some(JsonFraming::Array);
    }
    pretty_object(text).then_some(JsonFraming::Sequence)
}

/// Whether `text` opens a pretty-printed JSON object: `{` alone on its first line, and
/// a key after it.
fn pretty_object(text: &[u8]) -> bool {
    let first = memchr::memchr(b'\n', text).map_or(text, |end| &text[..end]);
    first.trim_ascii() == b"{" && opens_object(text)
}

/// Whether a JSON lines run reads the stream whose first bytes are `text` (past a
/// byte-order mark and whitespace) as one JSON array of records ([`crate::json_array`]):
/// it opens with `[` and an object (or is `[]` alone), unless its first line is one JSON
/// value and the next opens a record (JSON lines whose first line is a bad record).
/// `at_eof`: `text` is the rest of the stream.
fn json_array(text: &[u8], at_eof: bool) -> bool {
    let Some(rest) = text.strip_prefix(b"[") else {
        return false;
    };
    let rest = rest.trim_ascii_start();
    if at_eof
        && rest
            .strip_prefix(b"]")
            .is_some_and(|r| r.trim_ascii().is_empty())
    {
        return true;
    }
    if !opens_object(rest) {
        return false;
    }
    match memchr::memchr(b'\n', text) {
        Some(end) => {
            !is_json(&text[..end])
                || text[end + 1..].iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        }
        None => true,
    }
}

/// Whether no line of `text` (a stream's first bytes) opens a JSON object, and one
/// holds something. Never for UTF-16 (a byte-order mark, or the NUL bytes of its
/// ASCII), whose `{` is not the byte: the reader decodes it first.
fn opens_no_record(text: &[u8]) -> bool {
    if text.starts_with(b"\xFF\xFE")
        || text.starts_with(b"\xFE\xFF")
        || memchr::memchr(0, text).is_some()
    {
        return false;
    }
    let mut seen = false;
    for line in text.split(|&b| b == b'\n') {
        match line.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => return false,
            Some(_) => seen = true,
            None => {}
        }
    }
    seen
}

/// Whether `text` opens a whole HTML (or XHTML) page: a doctype, `<html` or `<head`, after
/// an XML declaration and comments, if any. A fragment (`<p>新闻</p>`) may be text.
fn html_page(mut text: &[u8]) -> bool {
    let opens = |text: &[u8], tag: &[u8]| {
        text.get(..tag.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(tag))
    };
    loop {
        let skip = |open: &[u8], close: &[u8]| {
            opens(text, open)
                .then(|| memchr::memmem::find(text, close).map(|end| end + close.len()))
                .flatten()
        };
        match skip(b"<?xml", b"?>").or_else(|| skip(b"<!--", b"-->")) {
            Some(end) => text = text[end..].trim_ascii_start(),
            None => break,
        }
    }
    [&b"<!doctype html"[..], b"<html", b"<head"]
        .iter()
        .any(|tag| {
            opens(text, tag)
                && text
                    .get(tag.len())
                    .is_none_or(|&b| !b.is_ascii_alphanumeric() && b != b'-')
        })
}

/// What an archive chaff does not read is, by its magic bytes (compressed streams are
/// decompressed before this is asked, so a `.tar.gz` shows its tar header). Read as text
/// they would be "a NUL byte", which names no fix.
fn container(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 3] = [
        (
            b"PK\x03\x04",
            "a zip archive: extract its files first with unzip",
        ),
        (
            b"PK\x05\x06",
            "a zip archive (empty): extract its files first with unzip",
        ),
        (
            b"7z\xBC\xAF\x27\x1C",
            "a 7z archive: extract its files first with 7z x",
        ),
    ];
    for (magic, named) in MAGIC {
        if head.starts_with(magic) {
            return Some(named);
        }
    }
    // POSIX tar ("ustar\0") and GNU's ("ustar  \0") at offset 257 of the first header;
    // the NUL keeps a text with "custard" there out.
    let tar = |m: &[u8]| head.get(257..257 + m.len()) == Some(m);
    if tar(b"ustar\x00") || tar(b"ustar  \x00") {
        return Some("a tar archive: extract its files first with tar -xf");
    }
    None
}

/// Whether the first non-blank line of `text` is complete and one JSON object.
fn next_is_object(text: &[u8]) -> bool {
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    memchr::memchr(b'\n', &text[start..]).is_some_and(|end| is_object(&text[start..start + end]))
}

/// Whether `line` is one JSON object (as a JSONL run reads records: Python's
/// non-finite floats allowed).
fn is_object(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.starts_with(b"{")
        && (std::str::from_utf8(line).is_ok_and(|l| crate::json::object_members(l).is_some())
            || serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok())
}

/// Whether `line` is one JSON value.
fn is_json(line: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// Whether `text` opens a JSON object with a key: `{`, then `"key":` (or `}`, an empty one).
fn opens_object(text: &[u8]) -> bool {
    let Some(rest) = text.strip_prefix(b"{") else {
        return false;
    };
    let rest = rest.trim_ascii_start();
    if rest.starts_with(b"}") {
        return true;
    }
    let mut keys = serde_json::Deserializer::from_slice(rest).into_iter::<String>();
    match keys.next() {
        Some(Ok(_)) => rest[keys.byte_offset()..]
            .trim_ascii_start()
            .starts_with(b":"),
        _ => false,
    }
}

/// Why a stream's first bytes look like a binary file rather than text, if they do.
pub fn binary_reason(head: &[u8]) -> Option<String> {
    // NUL never occurs in text in the encodings chaff reads (UTF-16 is recognised by its
    // BOM before this check); git and grep use the same rule.
    if let Some(i) = memchr::memchr(0, head) {
        return Some(format!("NUL byte at offset {i}{}", utf16_hint(head)));
    }
    // Bytes below 0x20 are counted first; only a head where they could pass the
    // threshold is counted again without text's newlines and tabs.
    if head.len() < 32 || low_bytes(head) * 10 <= head.len() {
        return None;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b))
        .count();
    if control * 10 > head.len() {
        return Some(format!(
            "{control} control bytes in the first {} bytes",
            head.len()
        ));
    }
    None
}

/// A hint for text in UTF-16 written without a byte-order mark, which has NUL bytes
/// (the high byte of each ASCII character: line breaks, digits, punctuation) on one side
/// of its 2-byte units: `--encoding` reads it. A CJK character whose code ends in 00
/// puts a NUL on the other side, so one side must hold four in five of them.
fn utf16_hint(head: &[u8]) -> &'static str {
    let (mut le, mut be) = (0usize, 0usize);
    for unit in head.chunks_exact(2) {
        match (unit[0], unit[1]) {
            (1..=0x7F, 0) => le += 1,
            (0, 1..=0x7F) => be += 1,
            _ => {}
        }
    }
    if le >= 2 && be * 4 <= le {
        "; UTF-16LE text without a byte-order mark? --encoding utf-16le reads it"
    } else if be >= 2 && le * 4 <= be {
        "; UTF-16BE text without a byte-order mark? --encoding utf-16be reads it"
    } else {
        ""
    }
}

/// The bytes below 0x20 in `b`, counted in runs of 255 with a byte-wide counter, which
/// the compiler turns into 16 bytes a step.
fn low_bytes(b: &[u8]) -> usize {
    b.chunks(255)
        .map(|run| usize::from(run.iter().fold(0u8, |n, &x| n + u8::from(x < 0x20))))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_without_a_byte_order_mark_is_named_with_its_flag() {
        let text = "国务院常务会议研究部署推进经济发展。\n哈哈哈好开心[哈哈] 2024\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let reason = |b: &[u8]| binary_reason(b).unwrap();
        assert_eq!(
            reason(&le),
            "NUL byte at offset 37; UTF-16LE text without a byte-order mark? --encoding utf-16le reads it"
        );
        assert!(
            reason(&be).ends_with(
                "; UTF-16BE text without a byte-order mark? --encoding utf-16be reads it"
            ),
            "{}",
            reason(&be)
        );
        // Binary data is not taken for it.
        assert_eq!(
            reason(b"\x7fELF\x02\x01\x01\0\0\0\0\0"),
            "NUL byte at offset 7"
        );
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend([0, 0, 1, 0, 0, 0, 1, 0]);
        assert_eq!(reason(&png), "NUL byte at offset 8");
    }

    proptest::proptest! {
        #[test]
        fn low_bytes_are_counted_exactly(b in proptest::collection::vec(proptest::num::u8::ANY, 0..700)) {
            let exact = b.iter().filter(|&&x| x < 0x20).count();
            proptest::prop_assert_eq!(low_bytes(&b), exact);
        }
    }
}
