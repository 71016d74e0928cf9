//! WARC files (ISO 28500, WARC/1.0 and 1.1), the form Common Crawl's WET files give the
//! text of crawled pages in: each `conversion` record is a document, the lines of its
//! block its paragraphs.
//!
//! The reader frames records by their `Content-Length`, so a chunk always holds whole
//! records and a record whose length is wrong fails where it ends, naming the line. The
//! writer puts a filtered record back with its `Content-Length` and `sha1:` digests
//! recomputed and every other header as it was. Records of other types (`warcinfo`,
//! `response`, ...) are not documents: `filter` passes them through unchanged.

use sha1::{Digest, Sha1};
use std::io::{self, BufRead, Read};
use std::ops::Range;

/// Longest header line read: a file that is not WARC fails at its first line instead of
/// being read whole in search of a line end.
const MAX_LINE: usize = 64 << 10;
/// Most header bytes in one record.
const MAX_HEAD: usize = 1 << 20;

/// A WARC file that cannot be framed (or a JSON array:
/// [`crate::json_array::ArrayLines`]): what is wrong, at which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for FramingError {}

fn framing(line: usize, msg: impl Into<String>) -> FramingError {
    FramingError {
        line,
        msg: msg.into(),
    }
}

/// A framing error as the `InvalidData` I/O error a reader returns (the pipeline takes
/// the [`FramingError`] back out to name the line).
fn invalid(e: FramingError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The framing error inside an I/O error returned by [`read_record`], if it is one.
pub fn framing_error(e: &io::Error) -> Option<&FramingError> {
    e.get_ref()?.downcast_ref()
}

/// Where one record lies in the bytes it was read into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Line number of the record's version line.
    pub line: usize,
    /// The version line and the headers, through the empty line that ends them.
    pub head: Range<usize>,
    /// The block: `Content-Length` bytes.
    pub body: Range<usize>,
    /// Line number the block starts on.
    pub body_line: usize,
    /// The end of the record: past the line ends that follow its block.
    pub end: usize,
}

/// Reads the next record from `reader`, appending its bytes to `out`, and returns where
/// it lies there; `None` at the end of the stream. `line` is the number of the line the
/// reader is on, and moves on with it. Line ends before and after a record (WARC puts
/// two after each) are read with it. A framing error is an `InvalidData` error holding a
/// [`FramingError`] ([`framing_error`]).
pub fn read_record(
    reader: &mut dyn BufRead,
    out: &mut Vec<u8>,
    line: &mut usize,
) -> io::Result<Option<Span>> {
    skip_line_ends(reader, out, line)?;
    let start = out.len();
    let first = *line;
    loop {
        let at = out.len();
        let n = read_line(reader, out, *line)?;
        if n == 0 {
            if at == start {
                return Ok(None);
            }
            return Err(invalid(framing(
                first,
                "truncated WARC record: the input ends inside its headers",
            )));
        }
        if at == start {
            // Checked at once: a file that is not WARC stops here.
            check_version(&out[at..], first).map_err(invalid)?;
        }
        let ended = out.ends_with(b"\n");
        if is_line_end(&out[at..]) && at > start {
            *line += 1;
            break;
        }
        *line += usize::from(ended);
        if out.len() - start > MAX_HEAD {
            return Err(invalid(framing(
                first,
                "WARC record headers longer than 1 MiB",
            )));
        }
    }
    let head = start..out.len();
    let length = parse_head(&out[head.clone()], first)
        .map_err(invalid)?
        .content_length;
    let body_line = *line;
    let body_start = out.len();
    let got = reader.take(length as u64).read_to_end(out)?;
    if got < length {
        return Err(invalid(framing(
            first,
            format!(
                "truncated WARC record: Content-Length {length}, but the input ends after {got} bytes of its block"
            ),
        )));
    }
    *line += memchr::memchr_iter(b'\n', &out[body_start..]).count();
    let body = body_start..out.len();
    skip_line_ends(reader, out, line)?;
    Ok(Some(Span {
        line: first,
        head,
        body,
        body_line,
        end: out.len(),
    }))
}

/// Whether `raw` is an empty line: a line end alone.
fn is_line_end(raw: &[u8]) -> bool {
    raw == b"\n" || raw == b"\r\n"
}

/// Reads CR and LF bytes onto `out`, counting lines, up to the next other byte.
fn skip_line_ends(reader: &mut dyn BufRead, out: &mut Vec<u8>, line: &mut usize) -> io::Result<()> {
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let n = buf
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        *line += memchr::memchr_iter(b'\n', &buf[..n]).count();
        out.extend_from_slice(&buf[..n]);
        let more = n == buf.len() && n > 0;
        reader.consume(n);
        if !more {
            return Ok(());
        }
    }
}

/// Appends one line (its LF included, if any) to `out` and returns its length, 0 at the
/// end of the stream; a line longer than [`MAX_LINE`] is a framing error.
fn read_line(reader: &mut dyn BufRead, out: &mut Vec<u8>, line: usize) -> io::Result<usize> {
    crate::reader::read_line(reader, out, MAX_LINE)?.ok_or_else(|| {
        invalid(framing(
            line,
            "a WARC header line longer than 64 KiB (is this a WARC file?)",
        ))
    })
}

fn check_version(raw: &[u8], line: usize) -> Result<(), FramingError> {
    if raw.starts_with(b"WARC/") {
        return Ok(());
    }
    // 40 bytes, less the end of a character they would cut in two.
    let mut end = raw.len().min(40);
    for _ in 0..3 {
        if end > 0 && end < raw.len() && raw[end] & 0xC0 == 0x80 {
            end -= 1;
        }
    }
    let shown = String::from_utf8_lossy(&raw[..end]);
    // Past the first line, the likeliest cause is the record before it.
    let hint = match line {
        1 => "",
        _ => " (the record before may have a wrong Content-Length)",
    };
    Err(framing(
        line,
        format!(
            "not a WARC record: expected a version line (WARC/1.0 or WARC/1.1), found {:?}{hint}",
            shown.trim_end()
        ),
    ))
}

/// One named header of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The value, without surrounding whitespace (a folded value's first line).
    pub value: &'a str,
    /// The header's lines as written, terminators and continuation lines included.
    raw: &'a str,
}

/// A record's version line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// The version line as written, terminator included.
    version: &'a str,
    /// The headers in order.
    pub fields: Vec<Field<'a>>,
    /// The empty line that ends the headers (CRLF, or a bare LF).
    end: &'a str,
    /// The block's length in bytes.
    pub content_length: usize,
}

impl<'a> Head<'a> {
    /// The first header named `name` (names compare without case, as WARC has it).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    /// Whether this is a `conversion` record: the text of a page (a WET file's records).
    pub fn is_conversion(&self) -> bool {
        self.get("WARC-Type")
            .is_some_and(|t| t.eq_ignore_ascii_case("conversion"))
    }
}

/// Parses a record's head (`raw`: the version line through the empty line that ends the
/// headers; `line`: the version line's number).
pub fn parse_head(raw: &[u8], line: usize) -> Result<Head<'_>, FramingError> {
    check_version(raw, line)?;
    let text = std::str::from_utf8(raw).map_err(|e| {
        let at = line + memchr::memchr_iter(b'\n', &raw[..e.valid_up_to()]).count();
        framing(at, "a WARC header that is not UTF-8")
    })?;
    let mut lines = text.split_inclusive('\n');
    let version = lines.next().unwrap_or_default();
    let mut head = Head {
        version,
        fields: Vec::new(),
        end: "",
        content_length: 0,
    };
    let mut length = None;
    let mut number = line;
    // Byte offset of the current line in `text`.
    let mut at = version.len();
    for l in lines {
        number += 1;
        let from = at;
        at += l.len();
        if is_line_end(l.as_bytes()) {
            head.end = l;
            break;
        }
        if l.starts_with([' ', '\t']) {
            // A folded header: its line continues the one before.
            let Some(f) = head.fields.last_mut() else {
                return Err(framing(
                    number,
                    "a WARC header continuation line before any header",
                ));
            };
            let start = f.raw.as_ptr() as usize - text.as_ptr() as usize;
            f.raw = &text[start..at];
            continue;
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(framing(
                number,
                "malformed WARC header line (expected \"Name: value\")",
            ));
        };
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace() || c.is_control()) {
            return Err(framing(
                number,
                format!("malformed WARC header name {name:?}"),
            ));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("Content-Length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| framing(number, format!("bad Content-Length {value:?}")))?;
            if length.is_some_and(|m| m != n) {
                return Err(framing(
                    number,
                    "Content-Length given twice, with two values",
                ));
            }
            length = Some(n);
        }
        head.fields.push(Field {
            name,
            value,
            raw: &text[from..at],
        });
    }
    if head.end.is_empty() {
        return Err(framing(
            number,
            "WARC headers without the empty line that ends them",
        ));
    }
    head.content_length =
        length.ok_or_else(|| framing(line, "WARC record has no Content-Length"))?;
    Ok(head)
}

/// Writes the record `head` heads with `block` (its pieces, in order) as its block:
/// `Content-Length` set to the block's length, `WARC-Block-Digest` and
/// `WARC-Payload-Digest` recomputed when they are `sha1:` digests and left out when in
/// another algorithm (they would no longer hold), every other header as it was, then the
/// block and the two line ends that close a record.
pub fn write_record(out: &mut Vec<u8>, head: &Head<'_>, block: &[&str]) {
    let len: usize = block.iter().map(|b| b.len()).sum();
    let mut digest = None;
    out.extend_from_slice(head.version.as_bytes());
    for f in &head.fields {
        let eol = if f.raw.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let name = f.name;
        if name.eq_ignore_ascii_case("Content-Length") {
            out.extend_from_slice(format!("{name}: {len}{eol}").as_bytes());
        } else if name.eq_ignore_ascii_case("WARC-Block-Digest")
            || name.eq_ignore_ascii_case("WARC-Payload-Digest")
        {
            let Some((algorithm, _)) = f.value.split_once(':') else {
                continue;
            };
            if !algorithm.eq_ignore_ascii_case("sha1") {
                continue;
            }
            let d = digest.get_or_insert_with(|| sha1_base32(block));
            out.extend_from_slice(format!("{name}: {algorithm}:{d}{eol}").as_bytes());
        } else {
            out.extend_from_slice(f.raw.as_bytes());
        }
    }
    out.extend_from_slice(head.end.as_bytes());
    for b in block {
        out.extend_from_slice(b.as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// The SHA-1 of the concatenated `parts`, in base 32 (RFC 4648, upper case), as WARC
/// digests are written.
pub fn sha1_base32(parts: &[&str]) -> String {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    base32(&h.finalize())
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[(acc >> bits) as usize & 31]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[(acc << (5 - bits)) as usize & 31]));
    }
    while out.len() % 8 != 0 {
        out.push('=');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as a WET file holds it.
    pub(crate) fn record(kind: &str, id: &str, body: &str) -> String {
        format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Block-Digest: sha1:{}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}\r\n\r\n",
            sha1_base32(&[body]),
            body.len()
        )
    }

    fn read_all(input: &[u8]) -> Result<Vec<(Span, usize)>, FramingError> {
        let mut reader = input;
        let mut out = Vec::new();
        let mut line = 1;
        let mut spans = Vec::new();
        loop {
            match read_record(&mut reader, &mut out, &mut line) {
                Ok(Some(s)) => spans.push((s, line)),
                Ok(None) => break,
                Err(e) => return Err(framing_error(&e).expect("a framing error").clone()),
            }
        }
        assert_eq!(out, input, "every byte read is kept");
        Ok(spans)
    }

    #[test]
    fn digests_are_base32_sha1() {
        // The SHA-1 of nothing, as WARC tools write it.
        assert_eq!(sha1_base32(&[]), "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
        assert_eq!(sha1_base32(&["ab", "c"]), sha1_base32(&["abc"]));
        // RFC 4648's test vectors.
        assert_eq!(base32(b"f"), "MY======");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
    }

    #[test]
    fn records_are_framed_by_content_length() {
        let a = record("warcinfo", "1", "software: test\r\n");
        let b = record("conversion", "2", "第一段\n第二段\n");
        let c = record("conversion", "3", "没有换行");
        let input = format!("{a}{b}{c}");
        let spans = read_all(input.as_bytes()).unwrap();
        assert_eq!(spans.len(), 3);
        let (s, after) = &spans[1];
        assert_eq!(&input[s.body.clone()], "第一段\n第二段\n");
        assert_eq!(s.line, 11);
        assert_eq!(s.body_line, 18);
        assert_eq!(*after, 22, "two paragraphs and two empty lines");
        assert!(input[s.head.clone()].starts_with("WARC/1.0\r\n"));
        assert!(input[s.head.clone()].ends_with("\r\n\r\n"));
        let head = parse_head(input[s.head.clone()].as_bytes(), s.line).unwrap();
        assert!(head.is_conversion());
        assert_eq!(head.get("warc-record-id"), Some("<urn:uuid:2>"));
        assert_eq!(head.content_length, "第一段\n第二段\n".len());
        assert_eq!(spans[2].0.end, input.len());
    }

    #[test]
    fn lenient_framing_bare_line_ends_and_no_closing_lines_at_the_end() {
        let input = "\n\nWARC/1.1\nWARC-Type: conversion\nContent-Length: 3\n\nabc";
        let spans = read_all(input.as_bytes()).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(&input[spans[0].0.body.clone()], "abc");
        assert_eq!(spans[0].0.line, 3);
    }

    #[test]
    fn framing_errors_name_the_line() {
        let good = record("conversion", "1", "一\n");
        let err = |input: String| read_all(input.as_bytes()).unwrap_err();
        let e = err("这不是 WARC\n".into());
        assert_eq!(e.line, 1);
        assert!(e.msg.contains("not a WARC record"), "{}", e.msg);
        // What was found is shown whole characters only (40 bytes would cut 新 in two).
        let e = err("一二三四五六七八九十十一十新闻\n".into());
        assert!(
            e.msg.contains("found \"一二三四五六七八九十十一十\""),
            "{}",
            e.msg
        );
        // A Content-Length one byte short: the next "record" starts with the byte left.
        let short = good.replace("Content-Length: 4", "Content-Length: 2");
        let e = err(format!("{short}{good}"));
        assert_eq!(e.line, 8);
        assert!(e.msg.contains("wrong Content-Length"), "{}", e.msg);
        let e = err(good.replace("Content-Length: 4\r\n", ""));
        assert_eq!(
            (e.line, e.msg.as_str()),
            (1, "WARC record has no Content-Length")
        );
        let e = err(good.replace("Content-Length: 4", "Content-Length: four"));
        assert_eq!(e.line, 6);
        let e = err(good.replace("Content-Length: 4", "Content-Length: 400"));
        assert!(
            e.msg
                .contains("Content-Length 400, but the input ends after 8 bytes"),
            "{}",
            e.msg
        );
        let e = err(good[..40].to_string());
        assert!(e.msg.contains("inside its headers"), "{}", e.msg);
        let e = err(good.replace("Content-Type: text/plain", "no colon here"));
        assert_eq!(e.line, 5);
        let e = err(format!("WARC/1.0\r\n{}\r\n", "x".repeat(MAX_LINE)));
        assert_eq!(e.line, 2);
        let mut bad = good.clone().into_bytes();
        bad[20] = 0xFF; // in the WARC-Type header
        let e = read_all(&bad).unwrap_err();
        assert_eq!(
            (e.line, e.msg.as_str()),
            (2, "a WARC header that is not UTF-8")
        );
        let e = parse_head(b"WARC/1.0\r\nA: \xFF\r\n\r\n", 7).unwrap_err();
        assert_eq!(
            (e.line, e.msg.as_str()),
            (8, "a WARC header that is not UTF-8")
        );
    }

    #[test]
    fn a_rewritten_record_has_its_length_and_digest_recomputed() {
        let text = record("conversion", "1", "一\n二\n三\n").replace(
            "Content-Type",
            "WARC-Payload-Digest: md5:abc\r\nX-Folded: a\r\n  b\r\nContent-Type",
        );
        let spans = read_all(text.as_bytes()).unwrap();
        let head = parse_head(text[spans[0].0.head.clone()].as_bytes(), 1).unwrap();
        let mut out = Vec::new();
        write_record(&mut out, &head, &["一\n", "三\n"]);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            record("conversion", "1", "一\n三\n")
                .replace("Content-Type", "X-Folded: a\r\n  b\r\nContent-Type")
        );
        // Every block kept: the record as it was, but for the digest in md5 (left out
        // here; the pipeline passes unchanged records through as they are).
        let mut same = Vec::new();
        write_record(&mut same, &head, &["一\n二\n三\n"]);
        assert_eq!(
            String::from_utf8(same).unwrap(),
            text.replace("WARC-Payload-Digest: md5:abc\r\n", "")
        );
    }
}
