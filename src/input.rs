//! Input decoding: turns a source's bytes on disk into a stream of UTF-8 text.
//!
//! Layers, outermost first: the file or stdin, a byte counter (for progress), transparent
//! gzip/zstd decompression (recognised by magic bytes, so stdin works too), a binary-file
//! check, and character decoding. UTF-8 passes through untouched (so `filter` output stays
//! byte-exact and bad bytes are reported by line later); GBK/GB18030, Big5 and other
//! legacy encodings are detected with chardetng or forced with `--encoding`, and decoded
//! to UTF-8 by encoding_rs.

use crate::error::{Error, Result};
use crate::sources::Source;
use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, UTF_8};
use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How inputs are decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    /// Force this encoding instead of detecting one.
    pub encoding: Option<&'static Encoding>,
    /// Replace undecodable bytes with U+FFFD instead of failing.
    pub lossy: bool,
    /// Sniff only what the first read returns instead of waiting for a full sniff window
    /// (64 KiB or the end): a streaming step (`--pipe`) must answer a record piped alone.
    pub eager: bool,
    /// The run reads plain text: a source that opens as another format chaff reads (JSON
    /// lines, WARC) is not text to read as lines. Read that way, a JSONL record would be
    /// one "paragraph" and dropped or kept whole.
    pub plain_text: bool,
    /// Read every text stream as lines, even one that opens like another format
    /// (`--plain-text`): the user's word against the sniff of its first lines.
    pub force_text: bool,
}

impl DecodeOptions {
    /// Parses an encoding label as accepted by `--encoding` (WHATWG labels: utf-8, gbk,
    /// gb18030, big5, shift_jis, ...).
    pub fn parse_encoding(label: &str) -> Result<&'static Encoding> {
        Encoding::for_label(label.trim().as_bytes())
            .ok_or_else(|| Error::Usage(format!("unknown encoding {label:?}")))
    }
}

/// How much of a stream is examined to detect binary content and the encoding.
const SNIFF: usize = 64 * 1024;

/// What opening a source found.
pub enum Opened {
    /// Text, as UTF-8 bytes (validated later, line by line, when the encoding is UTF-8).
    Text {
        /// The decoded text.
        text: Text,
        /// Name of the encoding the input was read as.
        encoding: &'static str,
        /// Whether the stream still needs UTF-8 validation (raw UTF-8 passthrough).
        raw_utf8: bool,
    },
    /// Not text the run reads (binary, or a format of records read with another flag); the
    /// reason is shown in the warning.
    Binary(String),
}

/// A source's decoded bytes.
pub enum Text {
    /// The whole source, read while it was sniffed (most files of a dump are smaller
    /// than the sniff window): handed on as it is, with no further copy.
    Whole(Vec<u8>),
    /// The source, read on demand.
    Stream(Box<dyn BufRead + Send>),
}

impl Text {
    /// The text as a stream, whichever form it is in.
    pub fn into_reader(self) -> Box<dyn BufRead + Send> {
        match self {
            Text::Whole(bytes) => Box::new(Cursor::new(bytes)),
            Text::Stream(reader) => reader,
        }
    }
}

/// Compression of a stream, recognised by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// xz (`.xz`).
    Xz,
    /// lz4 frames (`.lz4`).
    Lz4,
}

impl Compression {
    /// Recognises a compressed stream from its first bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"\xFD7zXZ\x00") {
            Compression::Xz
        } else if head.starts_with(LZ4) {
            Compression::Lz4
        } else if is_bzip2(head) {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }

    /// The compression a file name asks for, by extension.
    pub fn from_name(name: &std::path::Path) -> Compression {
        match name.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            Some("bz2") => Compression::Bzip2,
            Some("xz") => Compression::Xz,
            Some("lz4") => Compression::Lz4,
            _ => Compression::None,
        }
    }

    /// Parses `--compress`: `auto` (`None`: outputs follow their inputs), `none`, `gz`
    /// (`gzip`), `zst` (`zstd`), `bz2` (`bzip2`), `xz` or `lz4`.
    pub fn parse_flag(s: &str) -> Result<Option<Compression>> {
        Ok(match s {
            "auto" => None,
            "none" => Some(Compression::None),
            "gz" | "gzip" => Some(Compression::Gzip),
            "zst" | "zstd" => Some(Compression::Zstd),
            "bz2" | "bzip2" => Some(Compression::Bzip2),
            "xz" => Some(Compression::Xz),
            "lz4" => Some(Compression::Lz4),
            _ => {
                return Err(Error::Usage(format!(
                    "--compress {s}: expected auto, none, gz, zst, bz2, xz or lz4"
                )))
            }
        })
    }

    /// File-name extension, without the dot.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gz"),
            Compression::Zstd => Some("zst"),
            Compression::Bzip2 => Some("bz2"),
            Compression::Xz => Some("xz"),
            Compression::Lz4 => Some("lz4"),
        }
    }
}

/// The longest magic [`Compression::sniff`] looks for: bzip2's.
const MAGIC: usize = 10;
/// An lz4 frame's magic number (0x184D2204, little-endian).
const LZ4: &[u8] = b"\x04\x22\x4D\x18";

/// Whether bytes that begin with `head` could open a compressed stream: `head` is a
/// prefix of a magic (or empty).
fn could_open_magic(head: &[u8]) -> bool {
    let fixed: [&[u8]; 4] = [b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\xFD7zXZ\x00", LZ4];
    let bzip2 = head.iter().enumerate().all(|(i, &b)| match i {
        0..3 => b == b"BZh"[i],
        3 => (b'1'..=b'9').contains(&b),
        _ => b == b"\x31\x41\x59\x26\x53\x59"[i - 4] || b == b"\x17\x72\x45\x38\x50\x90"[i - 4],
    });
    bzip2
        || fixed
            .iter()
            .any(|m| head.len() < m.len() && m.starts_with(head))
}

/// Whether `head` opens a bzip2 stream. Its three letters alone (`BZh`) could open a
/// text; a level digit and the magic of a block, or of the end of an empty stream, follow.
fn is_bzip2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && matches!(
            &head[4..10],
            b"\x31\x41\x59\x26\x53\x59" | b"\x17\x72\x45\x38\x50\x90"
        )
}

/// Counts bytes read from the underlying file, for progress reporting.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a source, undoing compression and decoding its text. `consumed` is advanced by
/// the bytes read from disk as they are read (a small file's all at once, here).
pub fn open(source: &Source, opts: &DecodeOptions, consumed: Arc<AtomicU64>) -> Result<Opened> {
    match source {
        Source::Stdin => crate::stdin::Stdin::start().and_then(|stdin| {
            let counted = Counting {
                inner: stdin,
                count: consumed,
            };
            open_stream(Box::new(counted), opts)
        }),
        Source::File { path, .. } => open_file(path, opts, consumed),
    }
    .map_err(|e| Error::io(source.display(), e))
}

/// [`open`] for a file.
fn open_file(path: &Path, opts: &DecodeOptions, consumed: Arc<AtomicU64>) -> io::Result<Opened> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata().map_or(u64::MAX, |m| m.len());
    open_sized(file, len, opts, consumed)
}

/// Opens a stream said to hold `len` bytes. One shorter than the sniff window (most
/// files of a dump) is read whole, straight into the buffer its text is then chunked
/// from: no read buffer to zero first and no copy out of one. `len` is only a hint: a
/// file that grew since is read on past the window as a stream.
fn open_sized<R: Read + Send + 'static>(
    mut raw: R,
    len: u64,
    opts: &DecodeOptions,
    consumed: Arc<AtomicU64>,
) -> io::Result<Opened> {
    if len >= SNIFF as u64 {
        let counted = Counting {
            inner: raw,
            count: consumed,
        };
        return open_stream(Box::new(counted), opts);
    }
    // Room for the whole stream and the read that finds its end.
    let mut head = Vec::with_capacity(usize::try_from(len).map_or(SNIFF, |n| n + 1));
    (&mut raw).take(SNIFF as u64).read_to_end(&mut head)?;
    consumed.fetch_add(head.len() as u64, Ordering::Relaxed);
    let at_eof = head.len() < SNIFF;
    let rest: Box<dyn Read + Send> = if at_eof {
        Box::new(io::empty())
    } else {
        Box::new(Counting {
            inner: raw,
            count: consumed,
        })
    };
    if Compression::sniff(&head) != Compression::None {
        return open_stream(Box::new(Cursor::new(head).chain(rest)), opts);
    }
    decode_head(head, at_eof, rest, opts)
}

/// Read buffer size for streams.
const BUFFER: usize = 1 << 16;

/// Opens a byte stream: decompression by magic bytes, then [`decode`].
pub fn open_stream(mut raw: Box<dyn Read + Send>, opts: &DecodeOptions) -> io::Result<Opened> {
    // A pipe's first read may be shorter than a magic (bzip2's is 10 bytes): read on while
    // what came could still open one, and no further (a record piped alone is answered
    // at once).
    let mut head = [0u8; MAGIC];
    let mut got = 0;
    while got < MAGIC && could_open_magic(&head[..got]) {
        match raw.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let compression = Compression::sniff(&head[..got]);
    let raw = Cursor::new(head[..got].to_vec()).chain(raw);
    let buffered = BufReader::with_capacity(BUFFER, raw);
    let plain: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(buffered),
        // Decoded a block at a time on the pool; every stream, one after another
        // (pbzip2's output, `cat a.bz2 b.bz2`). Its big reads bypass the buffer.
        Compression::Bzip2 => Box::new(crate::bunzip2::Bunzip2::new(Box::new(buffered))?),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        // Multi-stream: `cat a.xz b.xz` is a valid xz file.
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(buffered)),
        Compression::Lz4 => Box::new(crate::lz4::Frames::new(buffered)),
    };
    decode(plain, opts)
}

/// Sniffs and decodes an uncompressed stream.
pub fn decode(mut plain: Box<dyn Read + Send>, opts: &DecodeOptions) -> io::Result<Opened> {
    let mut head = Vec::with_capacity(SNIFF);
    let at_eof = if opts.eager {
        head.resize(SNIFF, 0);
        let n = loop {
            match plain.read(&mut head) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        head.truncate(n);
        n == 0
    } else {
        (&mut plain).take(SNIFF as u64).read_to_end(&mut head)?;
        head.len() < SNIFF
    };
    decode_head(head, at_eof, plain, opts)
}

/// [`decode`] once the stream's first bytes are read: `head`, the whole stream if
/// `at_eof`, else followed by `rest`.
fn decode_head(
    head: Vec<u8>,
    at_eof: bool,
    rest: Box<dyn Read + Send>,
    opts: &DecodeOptions,
) -> io::Result<Opened> {
    let plain_text = opts.plain_text && !opts.force_text;
    if let Some(reason) = other_format(&head, at_eof, plain_text) {
        return Ok(Opened::Binary(reason.into()));
    }
    let bom = Encoding::for_bom(&head).map(|(e, _)| e);
    let encoding = match (opts.encoding, bom) {
        (Some(e), _) => e,
        (None, Some(e)) => e,
        (None, None) => {
            if let Some(reason) = binary_reason(&head) {
                return Ok(Opened::Binary(reason));
            }
            detect(&head)
        }
    };
    // A short head is the whole stream (the read that ended it returned 0); reading on
    // would only ask the file for its end again.
    if at_eof && encoding == UTF_8 && !opts.lossy {
        // The whole stream is in memory: no further buffer, no copy.
        return Ok(Opened::Text {
            text: Text::Whole(head),
            encoding: UTF_8.name(),
            raw_utf8: true,
        });
    }
    let stream: Box<dyn Read + Send> = if at_eof {
        Box::new(Cursor::new(head))
    } else {
        Box::new(Cursor::new(head).chain(rest))
    };
    if encoding == UTF_8 && !opts.lossy {
        return Ok(Opened::Text {
            text: Text::Stream(Box::new(BufReader::with_capacity(BUFFER, stream))),
            encoding: UTF_8.name(),
            raw_utf8: true,
        });
    }
    Ok(Opened::Text {
        text: Text::Stream(Box::new(BufReader::with_capacity(
            1 << 16,
            Decoding::new(stream, encoding, opts.lossy),
        ))),
        encoding: encoding.name(),
        raw_utf8: false,
    })
}

/// The format of records chaff reads with a flag that a stream's first bytes show, if
/// the run reads otherwise: Parquet (in any run that opens streams), and in a plain-text
/// run JSON lines, a JSON array of records, or WARC; or an HTML page, which no flag
/// reads. With what to do instead, for the warning.
fn other_format(head: &[u8], at_eof: bool, plain_text: bool) -> Option<Cow<'static, str>> {
    if head.starts_with(b"PAR1") {
        return Some("a Parquet file: read it with --parquet".into());
    }
    if let Some(named) = container(head) {
        return Some(named.into());
    }
    if !plain_text {
        return None;
    }
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
    // The next line decides too: text under a JSON header line (a crawler's metadata
    // record) is text, while a damaged second record still opens like one.
    let next_opens_record = || {
        next.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_none_or(|&b| b == b'{')
    };
    match text.first() {
        Some(b'{') if line.map_or_else(|| opens_object(text), is_object) && next_opens_record() => {
            // With the field that holds the text, when it is not the default `text`.
            let flag = line.and_then(|l| crate::jsonl::text_field_flag(l, "text"));
            Some(match flag {
                Some(flag) => format!("JSON lines: read them with --jsonl {flag}").into(),
                None => "JSON lines: read them with --jsonl".into(),
            })
        }
        // A first record cut short (a record of its own follows it): JSON lines still.
        Some(b'{') if line.is_some_and(opens_object) && next_is_object(next) => Some(
            "JSON lines whose first record is damaged: read them with --jsonl (--bad-records skip or keep passes over it)"
                .into(),
        ),
        // An object spread over lines (pretty-printed: `{` alone on the first).
        Some(b'{') if line.is_some_and(|l| l.trim_ascii() == b"{") && opens_object(text) => Some(
            "JSON, a record over several lines: make it JSON lines with jq -c ., then use --jsonl"
                .into(),
        ),
        Some(b'[') if opens_object(text[1..].trim_ascii_start()) => Some(
            "a JSON array of records: make it JSON lines with jq -c '.[]', then use --jsonl".into(),
        ),
        _ => None,
    }
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

/// Whether `line` is one JSON object.
fn is_object(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
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
fn binary_reason(head: &[u8]) -> Option<String> {
    // NUL never occurs in text in the encodings chaff reads (UTF-16 is recognised by its
    // BOM before this check); git and grep use the same rule.
    if let Some(i) = memchr::memchr(0, head) {
        return Some(format!("NUL byte at offset {i}"));
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

/// The bytes below 0x20 in `b`, counted in runs of 255 with a byte-wide counter, which
/// the compiler turns into 16 bytes a step.
fn low_bytes(b: &[u8]) -> usize {
    b.chunks(255)
        .map(|run| usize::from(run.iter().fold(0u8, |n, &x| n + u8::from(x < 0x20))))
        .sum()
}

/// Picks an encoding for text with no BOM: UTF-8 when the bytes are valid UTF-8 (a
/// sequence cut by the sniff window does not count against it) or mostly so (then the bad
/// bytes are reported by line, or replaced with `--lossy`); else chardetng's guess if it
/// is an East Asian legacy encoding; else UTF-8 again, so stray bytes are reported rather
/// than silently decoded as, say, windows-1252.
fn detect(head: &[u8]) -> &'static Encoding {
    if simdutf8::basic::from_utf8(head).is_ok() {
        return UTF_8; // nearly every file: no census needed
    }
    // Valid but for a character the window cut off (every head of a longer file, about
    // 3 times in 4): the census would find nothing invalid.
    if simdutf8::compat::from_utf8(head).is_err_and(|e| e.error_len().is_none()) {
        return UTF_8;
    }
    let (valid_multibyte, invalid) = utf8_census(head);
    if invalid == 0 || valid_multibyte > 10 * invalid {
        return UTF_8;
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let cut = end_of_nth_non_ascii(head, DETECT_NON_ASCII);
    // Never told it is the end: a file cut inside its last character (a download cut
    // short) would then rule out its own encoding, and be misread as UTF-8.
    det.feed(&head[..cut], false);
    let guess = det.guess(None, chardetng::Utf8Detection::Allow);
    let east_asian = [
        encoding_rs::GBK,
        encoding_rs::GB18030,
        encoding_rs::BIG5,
        encoding_rs::SHIFT_JIS,
        encoding_rs::EUC_JP,
        encoding_rs::EUC_KR,
    ];
    if east_asian.contains(&guess) {
        guess
    } else {
        UTF_8
    }
}

/// Bytes of 0x80 and above that the encoding detector is given at most. chardetng
/// costs about 1,600 instructions a byte (ten times what classifying the text costs),
/// and on Chinese its guess has settled long before: on eval/dev's pages in GBK, the
/// Traditional ones in Big5, and their last 3,000 bytes alone (filler: short posts,
/// emoji), every guess from the first 1,024 such bytes was the guess from the whole
/// 64 KB head; from 512, 2 of 400 tails were taken for Big5 instead of GBK.
const DETECT_NON_ASCII: usize = 2048;

/// The length of the shortest prefix of `b` holding `n` bytes of 0x80 and above (all of
/// `b` if it holds fewer).
fn end_of_nth_non_ascii(b: &[u8], n: usize) -> usize {
    let mut seen = 0;
    for (i, &x) in b.iter().enumerate() {
        if x >= 0x80 {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    b.len()
}

/// Counts valid multi-byte UTF-8 characters and invalid sequences (one cut short at the
/// end of the window is not counted).
fn utf8_census(mut b: &[u8]) -> (usize, usize) {
    let (mut valid, mut invalid) = (0, 0);
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => return (valid + multibyte_chars(s), invalid),
            Err(e) => {
                let good = &b[..e.valid_up_to()];
                // Safe to count: `good` is valid UTF-8 by construction.
                valid += std::str::from_utf8(good).map_or(0, multibyte_chars);
                match e.error_len() {
                    None => return (valid, invalid),
                    Some(n) => {
                        invalid += 1;
                        b = &b[e.valid_up_to() + n..];
                    }
                }
            }
        }
    }
}

/// Characters of more than one byte: in valid UTF-8, one lead byte (0xC0 and up) each.
fn multibyte_chars(s: &str) -> usize {
    s.bytes().filter(|&b| b >= 0xC0).count()
}

/// A reader that decodes a legacy encoding to UTF-8. Without `lossy`, the first
/// undecodable sequence is an error naming the (decoded) line it is on.
struct Decoding<R> {
    inner: R,
    decoder: Decoder,
    lossy: bool,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    finished: bool,
    out: Vec<u8>,
    out_pos: usize,
    newlines: u64,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, encoding: &'static Encoding, lossy: bool) -> Self {
        Decoding {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            lossy,
            input: vec![0; 1 << 16],
            start: 0,
            end: 0,
            eof: false,
            finished: false,
            out: Vec::new(),
            out_pos: 0,
            newlines: 0,
        }
    }

    /// Decodes the next piece of input into `out`.
    fn refill(&mut self) -> io::Result<()> {
        if self.start == self.end && !self.eof {
            self.start = 0;
            self.end = self.inner.read(&mut self.input)?;
            self.eof = self.end == 0;
        }
        let last = self.eof;
        let src = &self.input[self.start..self.end];
        let cap = self
            .decoder
            .max_utf8_buffer_length(src.len())
            .unwrap_or(src.len() * 3 + 16)
            .max(16);
        self.out.clear();
        self.out.resize(cap, 0);
        self.out_pos = 0;
        let (read, written) = if self.lossy {
            let (res, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.out, last);
            if last && res == CoderResult::InputEmpty {
                self.finished = true;
            }
            (read, written)
        } else {
            let (res, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(src, &mut self.out, last);
            if let DecoderResult::Malformed(..) = res {
                let line = self.newlines
                    + self.out[..written].iter().filter(|&&b| b == b'\n').count() as u64
                    + 1;
                let name = self.decoder.encoding().name();
                // The last bytes of the stream, a character begun and not finished.
                let msg = if last && self.start + read == self.end {
                    format!("line {line}: the text ends inside a {name} character (cut short?)")
                } else {
                    format!("line {line}: bytes that are not valid {name} (use --lossy to replace them, or --encoding)")
                };
                return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
            }
            if last && res == DecoderResult::InputEmpty {
                self.finished = true;
            }
            (read, written)
        };
        self.start += read;
        self.out.truncate(written);
        self.newlines += self.out.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(())
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.finished {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn low_bytes_are_counted_exactly(b in proptest::collection::vec(proptest::num::u8::ANY, 0..700)) {
            let exact = b.iter().filter(|&&x| x < 0x20).count();
            proptest::prop_assert_eq!(low_bytes(&b), exact);
        }
    }

    fn text_of(bytes: &[u8], opts: DecodeOptions) -> io::Result<(String, &'static str)> {
        match decode(Box::new(Cursor::new(bytes.to_vec())), &opts)? {
            Opened::Text { text, encoding, .. } => {
                let mut s = Vec::new();
                text.into_reader().read_to_end(&mut s)?;
                Ok((String::from_utf8_lossy(&s).into_owned(), encoding))
            }
            Opened::Binary(r) => Ok((format!("BINARY {r}"), "")),
        }
    }

    /// What a stream opens to: its text (or binary reason), encoding, and whether the
    /// text came whole.
    fn read_opened(opened: Opened) -> (Vec<u8>, &'static str, bool) {
        match opened {
            Opened::Text { text, encoding, .. } => {
                let whole = matches!(text, Text::Whole(_));
                let mut s = Vec::new();
                text.into_reader().read_to_end(&mut s).unwrap();
                (s, encoding, whole)
            }
            Opened::Binary(r) => (r.into_bytes(), "binary", false),
        }
    }

    #[test]
    fn a_stream_read_whole_opens_as_it_does_streamed() {
        let line = "2024年，国务院常务会议部署进一步稳定就业的政策措施。\n";
        let gz = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, b).unwrap();
            e.finish().unwrap()
        };
        let gbk = encoding_rs::GBK.encode(&line.repeat(50)).0.into_owned();
        let mut cases: Vec<Vec<u8>> = vec![Vec::new(), gbk, b"PK\x03\x04\x00".to_vec()];
        // Around the sniff window, where a window may cut a character.
        for n in [SNIFF - 1, SNIFF, SNIFF + 1, SNIFF + 2, 3 * SNIFF] {
            let mut b = line.repeat(n / line.len() + 1).into_bytes();
            b.truncate(n);
            while std::str::from_utf8(&b).is_err() {
                b.pop();
            }
            cases.push(gz(&b));
            cases.push(b);
        }
        let opts = DecodeOptions::default();
        for bytes in cases {
            let streamed =
                read_opened(open_stream(Box::new(Cursor::new(bytes.clone())), &opts).unwrap());
            // The length as given and too short (a file that grew since it was measured).
            for len in [bytes.len() as u64, 0, 10] {
                let consumed = Arc::new(AtomicU64::new(0));
                let cursor = Cursor::new(bytes.clone());
                let got =
                    read_opened(open_sized(cursor, len, &opts, Arc::clone(&consumed)).unwrap());
                assert_eq!(got, streamed, "{} bytes", bytes.len());
                assert_eq!(consumed.load(Ordering::Relaxed), bytes.len() as u64);
                // Whole: UTF-8 text shorter than the window, once decompressed.
                assert_eq!(
                    got.2,
                    got.0.len() < SNIFF && got.1 == "UTF-8",
                    "{} bytes",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn a_character_cut_by_the_window_leaves_the_head_utf8() {
        let text = "新闻，news：😀。".repeat(4);
        for cut in 0..=text.len() {
            let head = &text.as_bytes()[..cut];
            assert_eq!(detect(head), UTF_8, "cut at {cut}");
            // The census agrees: nothing invalid.
            assert_eq!(utf8_census(head).1, 0, "cut at {cut}");
        }
    }

    #[test]
    fn compress_flag_names_every_choice_and_rejects_the_rest() {
        let parse = Compression::parse_flag;
        assert_eq!(parse("auto").unwrap(), None);
        assert_eq!(parse("none").unwrap(), Some(Compression::None));
        for s in ["gz", "gzip"] {
            assert_eq!(parse(s).unwrap(), Some(Compression::Gzip));
        }
        for s in ["zst", "zstd"] {
            assert_eq!(parse(s).unwrap(), Some(Compression::Zstd));
        }
        for s in ["bz2", "bzip2"] {
            assert_eq!(parse(s).unwrap(), Some(Compression::Bzip2));
        }
        assert_eq!(parse("xz").unwrap(), Some(Compression::Xz));
        assert_eq!(parse("lz4").unwrap(), Some(Compression::Lz4));
        let e = parse("brotli").unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        assert!(e.to_string().contains("--compress brotli"), "{e}");
    }

    /// `data` written by chaff's own writer for `c`, in pieces, as the pipeline writes.
    fn compressed(data: &[u8], c: Compression) -> Vec<u8> {
        crate::test_support::written(c, data, &[100_000])
    }

    #[test]
    fn every_codec_is_recognised_read_back_and_named_by_extension() {
        let line = "2024年，国务院常务会议部署进一步稳定就业的政策措施。\n";
        let text = line.repeat(40_000).into_bytes(); // 2.8 MB: several bzip2 streams.
        let opts = DecodeOptions::default();
        for c in [
            Compression::Gzip,
            Compression::Zstd,
            Compression::Bzip2,
            Compression::Xz,
            Compression::Lz4,
        ] {
            let ext = c.extension().unwrap();
            let name = format!("a.txt.{ext}");
            assert_eq!(Compression::from_name(Path::new(&name)), c);
            for data in [&text[..], line.as_bytes(), b""] {
                let z = compressed(data, c);
                assert_eq!(Compression::sniff(&z), c, "{ext}");
                let got =
                    read_opened(open_stream(Box::new(Cursor::new(z.clone())), &opts).unwrap());
                assert_eq!(got.0, data, "{ext}, {} bytes", data.len());
                // Two files concatenated (`cat a.xz b.xz`) read as one.
                let two = [z.clone(), z.clone()].concat();
                let got = read_opened(open_stream(Box::new(Cursor::new(two)), &opts).unwrap());
                assert_eq!(got.0, [data, data].concat(), "{ext} twice");
            }
            // A stream cut short is an error, never a shorter text.
            let z = compressed(&text, c);
            let cut = z[..z.len() / 2].to_vec();
            let read = open_stream(Box::new(Cursor::new(cut)), &opts).and_then(|o| match o {
                Opened::Text { text, .. } => text.into_reader().read_to_end(&mut Vec::new()),
                Opened::Binary(_) => Ok(0),
            });
            assert!(read.is_err(), "{ext} cut short: {read:?}");
        }
        // Damaged anywhere, a stream reads or fails: it never panics.
        for c in [Compression::Bzip2, Compression::Xz, Compression::Lz4] {
            let z = compressed(line.repeat(300).as_bytes(), c);
            for at in (4..z.len()).step_by(7) {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = z.clone();
                    bad[at] ^= flip;
                    let _ = open_stream(Box::new(Cursor::new(bad)), &opts).and_then(|o| match o {
                        Opened::Text { text, .. } => {
                            text.into_reader().read_to_end(&mut Vec::new())
                        }
                        Opened::Binary(_) => Ok(0),
                    });
                }
            }
        }
        // A stream that comes a byte a read (a slow pipe) is told by its magic all the
        // same, and a text that comes so is read without waiting for more than it opens
        // with.
        struct Trickle(Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        for c in [
            Compression::Bzip2,
            Compression::Xz,
            Compression::Lz4,
            Compression::Gzip,
            Compression::None,
        ] {
            let z = compressed(line.as_bytes(), c);
            let got = read_opened(open_stream(Box::new(Trickle(Cursor::new(z))), &opts).unwrap());
            assert_eq!(got.0, line.as_bytes(), "{c:?}");
        }
        assert!(could_open_magic(b"BZh91AY&S") && could_open_magic(b"BZh1\x17"));
        assert!(could_open_magic(b"") && could_open_magic(b"\xFD7zX"));
        assert!(!could_open_magic(b"B2") && !could_open_magic(b"{") && !could_open_magic(b"BZh0"));
        // bzip2's letters alone are text.
        assert_eq!(Compression::sniff(b"BZh9 is a text"), Compression::None);
        assert_eq!(Compression::sniff(b"BZh"), Compression::None);
    }

    #[test]
    fn detects_gbk_and_big5() {
        // Three lines, and sixty: past DETECT_NON_ASCII bytes above 0x7F, the detector
        // sees only the start.
        for n in [3, 60] {
            let text = "2024年，国务院常务会议部署进一步稳定就业的政策措施。\n".repeat(n);
            let (gbk, _, _) = encoding_rs::GBK.encode(&text);
            let cut = end_of_nth_non_ascii(&gbk, DETECT_NON_ASCII) < gbk.len();
            assert_eq!(cut, n == 60);
            let (s, enc) = text_of(&gbk, DecodeOptions::default()).unwrap();
            assert_eq!(s, text);
            assert!(enc == "GBK" || enc == "gb18030", "{enc}");
            let trad = "2024年，行政院會議通過了新的經濟發展計畫，並將於明年實施。\n".repeat(n);
            let (big5, _, _) = encoding_rs::BIG5.encode(&trad);
            let (s, enc) = text_of(&big5, DecodeOptions::default()).unwrap();
            assert_eq!((s.as_str(), enc), (trad.as_str(), "Big5"));
        }
        assert_eq!(end_of_nth_non_ascii(b"ab\x80c\x81\x82d", 2), 5);
        assert_eq!(end_of_nth_non_ascii(b"abc", 1), 3);
    }

    #[test]
    fn a_file_cut_inside_its_last_character_keeps_its_encoding() {
        // A download cut short mid-character once ruled out its own encoding at the
        // detector's end of input, and the file was misread as UTF-8 ("byte 1").
        let simplified = "2024年，国务院常务会议审议通过了新的经济发展计划，将于明年实施。\n";
        let traditional = "2024年，行政院會議通過了新的經濟發展計畫，並將於明年實施。\n";
        for (encoding, name, line) in [
            (encoding_rs::GBK, "GBK", simplified),
            (encoding_rs::BIG5, "Big5", traditional),
        ] {
            let text = line.repeat(3);
            let (bytes, _, unmappable) = encoding.encode(&text);
            assert!(!unmappable);
            let cut = &bytes[..bytes.len() - 2];
            let e = text_of(cut, DecodeOptions::default())
                .unwrap_err()
                .to_string();
            let told = format!("line 3: the text ends inside a {name} character (cut short?)");
            assert_eq!(e, told);
            let lossy = DecodeOptions {
                lossy: true,
                ..DecodeOptions::default()
            };
            let (s, enc) = text_of(cut, lossy).unwrap();
            assert!(enc == name || enc == "gb18030", "{enc}");
            assert!(s.starts_with("2024年") && s.ends_with("施\u{FFFD}"), "{s}");
        }
    }

    #[test]
    fn undecodable_bytes_name_the_line_or_are_replaced() {
        let opts = DecodeOptions {
            encoding: Some(encoding_rs::GBK),
            lossy: false,
            eager: false,
            plain_text: true,
            force_text: false,
        };
        let e = text_of(b"ok\nok\n\x81\x20bad\n", opts).unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        let lossy = DecodeOptions {
            lossy: true,
            ..opts
        };
        let (s, _) = text_of(b"ok\n\x81\x20x\n", lossy).unwrap();
        assert!(s.contains('\u{FFFD}'));
    }

    #[test]
    fn other_formats_are_told_in_a_plain_text_run() {
        let told = |head: &str, at_eof: bool| {
            other_format(head.as_bytes(), at_eof, true).map(String::from)
        };
        let jsonl = Some("JSON lines: read them with --jsonl".to_string());
        assert_eq!(
            told("{\"id\": 1, \"text\": \"新闻\"}\n{}\n", true),
            jsonl.clone()
        );
        assert_eq!(told("\u{FEFF}\n  {\"text\": \"新闻\"}\r\n", true), jsonl);
        assert_eq!(told("{}", true), jsonl.clone());
        // The field that holds the text is named, when it is not the default.
        let hint = |record: &str| told(&format!("{record}\n"), true).unwrap();
        for (record, field) in [
            (
                r#"{"id": 1, "content": "新闻正文", "url": "u"}"#,
                " --text-field content",
            ),
            (r#"{"text": ["甲", "乙"], "title": "标题很长很长很长"}"#, ""),
            (
                r#"{"meta": {"title": "题"}, "data": {"body": "正文更长"}}"#,
                " --text-field /data/body",
            ),
            (
                r#"{"段落数": 2, "段落": [{"行号": 1, "内容": "甲"}, {"内容": "乙"}]}"#,
                " --text-field '/段落/*/内容'",
            ),
            (r#"{"a b": "正文", "id": "x"}"#, " --text-field 'a b'"),
            (r#"{"a/b": "正文"}"#, " --text-field '/a~1b'"),
            (r#"{"id": 1, "n": [1, 2]}"#, ""),
        ] {
            let want = format!("JSON lines: read them with --jsonl{field}");
            assert_eq!(hint(record), want, "{record}");
        }
        // So does a damaged first record, a record after it.
        assert!(told("{\"text\": \"新\n{\"text\": \"闻\"}\n", true)
            .is_some_and(|r| r.starts_with("JSON lines whose first record is damaged")));
        assert_eq!(told("{\"text\": \"新\n正文\n", true), None);
        // A damaged second record still opens like one.
        assert_eq!(
            told("{\"text\": \"新闻\"}\n\n {\"text\": \"新\n", true),
            jsonl
        );
        // A first line longer than the head: told by its opening key.
        assert_eq!(told("{ \"text\" : \"新闻新闻", false), jsonl);
        assert!(told("[{\"text\": \"新闻\"},\n", false).is_some_and(|r| r.contains("jq -c '.[]'")));
        assert!(told("\r\nWARC/1.1\r\nWARC-Type: warcinfo\r\n", false)
            .is_some_and(|r| r.contains("--warc")));
        assert!(told("{\n  \"id\": 1,\n  \"text\": \"新闻\"\n}\n", true)
            .is_some_and(|r| r.contains("jq -c .")));
        for page in [
            "<!DOCTYPE html>\n<html>",
            "\n<html lang=\"zh\">",
            "<HTML>",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\">",
            "<!-- saved from url=(0014)about:internet -->\r\n<html>",
            "<head><meta charset=\"utf-8\">",
        ] {
            assert!(told(page, false).is_some_and(|r| r.starts_with("an HTML page")));
        }
        for text in [
            "{这是} 新闻\n",
            "{\"text\": \"新闻\"} 又一句\n",
            "{\"text\": \"新闻",
            "{\"text\" 新闻",
            "[\"新闻\"]\n",
            "WARC 新闻\n",
            "<p>新闻</p>\n",
            "{\n这是文本\n",
            "<htm",
            "<header>新闻</header>\n",
            "<!-- 注释 -->\n新闻\n",
            "<!-- 未完\n<html>",
            "新闻\n{\"text\": \"新闻\"}\n",
            // A metadata record over the text it describes.
            "{\"url\": \"https://example.com/a\"}\n\n正文第一段。\n",
            "",
        ] {
            assert_eq!(told(text, true), None, "{text:?}");
        }
        // `--plain-text` reads what looks like records as lines.
        let run = DecodeOptions {
            plain_text: true,
            ..DecodeOptions::default()
        };
        let record = "{\"text\": \"新闻\"}\n";
        assert!(text_of(record.as_bytes(), run)
            .unwrap()
            .0
            .starts_with("BINARY JSON lines"));
        let forced = DecodeOptions {
            force_text: true,
            ..run
        };
        assert_eq!(text_of(record.as_bytes(), forced).unwrap().0, record);
        // Archives and compressions chaff does not read are named in any run.
        for (bytes, named) in [
            (&b"PK\x03\x04\x14\x00"[..], "a zip archive"),
            (b"7z\xBC\xAF\x27\x1C\x00", "a 7z archive"),
        ] {
            for plain_text in [true, false] {
                let told = other_format(bytes, true, plain_text);
                assert!(
                    told.as_deref().is_some_and(|r| r.starts_with(named)),
                    "{told:?}"
                );
            }
        }
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"p.txt");
        tar[257..263].copy_from_slice(b"ustar\x00");
        assert!(other_format(&tar, true, false).is_some_and(|r| r.starts_with("a tar archive")));
        tar[257..265].copy_from_slice(b"ustar  \x00");
        assert!(other_format(&tar, true, false).is_some_and(|r| r.starts_with("a tar archive")));
        let custard = format!("{}custard\n", "x".repeat(256));
        assert_eq!(told(&custard, true), None);
        assert_eq!(told("BZh 新闻\n", true), None);
        // A run of records reads them; any run is told a Parquet file.
        assert_eq!(other_format(b"{\"text\": \"x\"}\n", true, false), None);
        let parquet = Some("a Parquet file: read it with --parquet");
        for plain_text in [false, true] {
            let told = other_format(b"PAR1\x15\x04", true, plain_text);
            assert_eq!(told.as_deref(), parquet);
        }
    }

    #[test]
    fn binary_and_utf16() {
        let (s, _) = text_of(b"\x7fELF\x02\x01\x01\x00junk", DecodeOptions::default()).unwrap();
        assert!(s.starts_with("BINARY NUL"));
        let mut u16 = vec![0xFF, 0xFE];
        for c in "新闻\n".encode_utf16() {
            u16.extend_from_slice(&c.to_le_bytes());
        }
        let (s, enc) = text_of(&u16, DecodeOptions::default()).unwrap();
        assert_eq!((s.as_str(), enc), ("新闻\n", "UTF-16LE"));
        // More than one byte in ten a control character that text does not hold.
        let with = |control: usize, len: usize| {
            let mut b = vec![b'a'; len];
            b[..control].fill(0x01);
            text_of(&b, DecodeOptions::default()).unwrap().0
        };
        assert_eq!(
            with(11, 100),
            "BINARY 11 control bytes in the first 100 bytes"
        );
        assert!(!with(10, 100).starts_with("BINARY"));
        assert!(!with(31, 31).starts_with("BINARY"), "too short to tell");
        let tabs = "\t\n\r\x0c\x1b".repeat(40);
        assert_eq!(
            text_of(tabs.as_bytes(), DecodeOptions::default())
                .unwrap()
                .0,
            tabs
        );
    }
}
