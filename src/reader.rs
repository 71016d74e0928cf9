//! Reader: turns decoded input streams into chunks and documents of lines.
//!
//! A document keeps its bytes untouched; a line is a byte range with its terminator, so
//! writers can reproduce kept lines byte for byte.

use crate::input::Text;
use std::io::BufRead;

/// One line of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The line's bytes including its terminator ("\n" or "\r\n"; "\r" in a document
    /// with no "\n", see [`line_end`]), if any.
    pub raw: &'a [u8],
    /// The line's text without terminator.
    pub text: &'a str,
}

impl Line<'_> {
    /// Blank lines (only whitespace, including U+3000) are not paragraphs.
    pub fn is_blank(&self) -> bool {
        // As `text.trim().is_empty()`, without trimming the end too: this is asked several
        // times of every line, and nearly every paragraph is told by its first byte.
        crate::whitespace::trim_start(self.text).is_empty()
    }
}

/// Splits a decoded text stream into chunks of whole lines, so a huge file or JSONL dump
/// is processed piece by piece in bounded memory.
///
/// In text mode a chunk ends after a blank line once it holds `target` bytes or
/// [`LINE_TARGET`] lines, so page context is cut only between paragraphs and a blank run
/// never straddles two chunks; with no blank line in sight it ends at any line once it
/// holds `4 * target` bytes or `4 * LINE_TARGET` lines. One line longer than that is a
/// chunk of its own. (Classifying costs memory by the line, ~100 bytes for a blank one:
/// a megabyte of short or blank lines must not be one chunk.) In record mode (JSONL) a
/// chunk is whole lines totalling at least `target` bytes (`target == 0`: one line per
/// chunk). In WARC mode ([`Chunker::warc`]) a chunk is whole WARC records totalling at
/// least `target` bytes.
pub struct Chunker {
    reader: Box<dyn BufRead + Send>,
    records: bool,
    warc: bool,
    target: usize,
    /// In text mode, [`LINE_TARGET`] (smaller in tests).
    line_target: usize,
    next_line: usize,
    stash: Vec<u8>,
    done: bool,
    /// A chunk to hand out before reading on (a source read whole).
    ready: Option<Chunk>,
    /// Bytes of the stream handed out in chunks (or skipped) so far.
    at: u64,
    /// The stream is a JSON array's elements as lines ([`Chunker::json_array`]).
    json_array: bool,
}

/// A run of whole lines from one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Line number of the first line (1-based).
    pub first_line: usize,
    /// The lines, terminators included.
    pub bytes: Vec<u8>,
    /// In WARC mode, where each record lies in `bytes` (framed as they were read).
    pub records: Vec<crate::warc::Span>,
    /// Where the chunk ends in its source's (decoded) stream: bytes from the start.
    pub end: u64,
    /// Number of the line after the chunk's last.
    pub next_line: usize,
    /// The lines are the elements of a JSON array ([`Chunker::json_array`]): a line's
    /// number is the element's, and `end` counts the lines' bytes, not the source's.
    pub json_array: bool,
}

/// How far [`Chunker::skip`] got, and what it read: for checking that a source is still
/// what an earlier run read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Bytes skipped (fewer than asked at the end of the stream).
    pub bytes: u64,
    /// Number of the line after them.
    pub next_line: usize,
    /// Their CRC-32.
    pub crc: u32,
}

/// The lines after which a text chunk ends at the next paragraph (see [`Chunker`]):
/// far more than a megabyte of paragraphs holds, so only runs of short or blank lines
/// meet it.
pub const LINE_TARGET: usize = 1 << 14;

/// Where [`Chunker`] cuts a text held whole (text mode, at `target` bytes and
/// `line_target` lines): each chunk's byte range and first line number, in order. This is
/// the chunking rule stated line by line; the buffered chunker, which cuts at `\n`, must
/// match it chunk for chunk (tested). A document held in memory (a record's text) is
/// decided in these chunks, as a file of it would be; one whose lines end in `\r`
/// ([`document_line_end`]: `eol`) is cut at its own line ends.
pub fn text_chunk_spans(
    bytes: &[u8],
    eol: u8,
    target: usize,
    line_target: usize,
) -> Vec<(std::ops::Range<usize>, usize)> {
    let line_target = line_target.max(1);
    // Nearly every document is one chunk: told by its size and a line count.
    if bytes.len() < target && memchr::memchr_iter(eol, bytes).count() < line_target {
        return match bytes.is_empty() {
            true => Vec::new(),
            false => vec![(0..bytes.len(), 1)],
        };
    }
    let mut out = Vec::new();
    let (mut start, mut at, mut first_line, mut number) = (0, 0, 1, 1);
    let mut prev_blank = false;
    for line in bytes.split_inclusive(|&b| b == eol) {
        let blank = is_blank_bytes(line);
        let (len, held) = (at - start, number - first_line);
        let full = len > 0
            && (len >= target.saturating_mul(4)
                || held >= line_target * 4
                || ((len >= target || held >= line_target) && prev_blank && !blank));
        if full {
            out.push((start..at, first_line));
            (start, first_line) = (at, number);
        }
        at += line.len();
        number += 1;
        prev_blank = blank;
    }
    if at > start {
        out.push((start..at, first_line));
    }
    out
}

impl Chunker {
    /// Chunks `reader`; `records` selects record mode.
    pub fn new(reader: Box<dyn BufRead + Send>, records: bool, target: usize) -> Chunker {
        Chunker::with_lines(reader, records, target, LINE_TARGET)
    }

    /// [`Chunker::new`] with `line_target` lines for [`LINE_TARGET`] (tests: a few).
    fn with_lines(
        reader: Box<dyn BufRead + Send>,
        records: bool,
        target: usize,
        line_target: usize,
    ) -> Chunker {
        Chunker {
            reader,
            records,
            warc: false,
            target,
            line_target: line_target.max(1),
            next_line: 1,
            stash: Vec::new(),
            done: false,
            ready: None,
            at: 0,
            json_array: false,
        }
    }

    /// Chunks an opened WARC source into whole records (framing errors are
    /// [`crate::warc::FramingError`]s inside `InvalidData` errors).
    pub fn warc(text: Text, target: usize) -> Chunker {
        // A source read whole is framed as a stream too: its records must be found.
        let reader = match text {
            Text::Whole(bytes) => Box::new(std::io::Cursor::new(bytes)),
            Text::Stream(reader) => reader,
        };
        Chunker {
            warc: true,
            ..Chunker::new(reader, true, target)
        }
    }

    /// Chunks the records of a JSON array, read as lines
    /// ([`crate::json_array::ArrayLines`]), as JSON lines are; its chunks say so.
    pub fn json_array(text: Text, target: usize) -> Chunker {
        Chunker {
            json_array: true,
            ..Chunker::new(text.into_reader(), true, target)
        }
    }

    /// Chunks an opened source's text, whichever form it came in.
    pub fn from_text(text: Text, records: bool, target: usize) -> Chunker {
        match text {
            Text::Whole(bytes) => Chunker::whole(bytes, records, target),
            Text::Stream(reader) => Chunker::new(reader, records, target),
        }
    }

    /// Chunks a source read whole. One that fits in a chunk is that chunk as it is, with
    /// no copy; a longer one is chunked as a stream.
    fn whole(bytes: Vec<u8>, records: bool, target: usize) -> Chunker {
        Chunker::whole_with_lines(bytes, records, target, LINE_TARGET)
    }

    /// [`Chunker::whole`] with `line_target` lines for [`LINE_TARGET`].
    fn whole_with_lines(
        bytes: Vec<u8>,
        records: bool,
        target: usize,
        line_target: usize,
    ) -> Chunker {
        // Line numbers as the stream would have counted them: one per newline, and one
        // for a last line without one.
        let lines = memchr::memchr_iter(b'\n', &bytes).count()
            + usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
        // More lines than the line target may be cut at a paragraph, as a stream.
        if bytes.len() >= target || (!records && lines > line_target.max(1)) {
            let reader = Box::new(std::io::Cursor::new(bytes));
            return Chunker::with_lines(reader, records, target, line_target);
        }
        Chunker {
            reader: Box::new(std::io::empty()),
            records,
            warc: false,
            target,
            line_target: line_target.max(1),
            next_line: 1 + lines,
            stash: Vec::new(),
            done: true,
            at: bytes.len() as u64,
            json_array: false,
            ready: (!bytes.is_empty()).then_some(Chunk {
                first_line: 1,
                end: bytes.len() as u64,
                next_line: 1 + lines,
                bytes,
                records: Vec::new(),
                json_array: false,
            }),
        }
    }

    /// Whether the lines are a JSON array's elements ([`Chunker::json_array`]).
    pub fn is_json_array(&self) -> bool {
        self.json_array
    }

    /// Number of the line the next chunk starts with.
    pub fn next_line(&self) -> usize {
        self.next_line
    }

    /// The next chunk, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        if let Some(c) = self.ready.take() {
            return Ok(Some(c));
        }
        if self.warc {
            return self.next_warc_chunk();
        }
        if self.done && self.stash.is_empty() {
            return Ok(None);
        }
        let first_line = self.next_line;
        let mut bytes = std::mem::take(&mut self.stash);
        let mut prev_blank = false;
        if !bytes.is_empty() {
            self.next_line += 1;
        }
        // Lines that end before `target` can neither end a record chunk nor open the
        // next text chunk, so they are taken a buffer at a time, not line by line (a
        // small file is one copy and one newline count).
        let (target, records, line_target) = (self.target, self.records, self.line_target);
        // Whether the chunk holds `times` targets of bytes or (text) of lines.
        let full = |bytes: &[u8], next_line: usize, times: usize| {
            bytes.len() >= target.saturating_mul(times)
                || (!records && next_line - first_line >= line_target * times)
        };
        while !full(&bytes, self.next_line, 1) {
            let buf = self.reader.fill_buf()?;
            let room = (self.target - bytes.len()).min(buf.len());
            let Some(end) = memchr::memrchr(b'\n', &buf[..room]) else {
                if room < buf.len() || buf.is_empty() {
                    break; // a line that ends past `target`, or the end
                }
                // A line that runs past the buffer (a long record, or a buffer's last
                // line): read on its own; whole buffers are taken again after it.
                let start = bytes.len();
                self.read_line(&mut bytes)?;
                self.next_line += 1;
                prev_blank = !self.records && is_blank_bytes(&bytes[start..]);
                continue;
            };
            // No further than the line that meets the line target (text): a paragraph
            // after it may end the chunk.
            let end = match records {
                true => end,
                false => {
                    let left = line_target - (self.next_line - first_line);
                    memchr::memchr_iter(b'\n', &buf[..=end])
                        .nth(left - 1)
                        .unwrap_or(end)
                }
            };
            let whole = &buf[..=end];
            self.next_line += memchr::memchr_iter(b'\n', whole).count();
            let last_start = memchr::memrchr(b'\n', &whole[..end]).map_or(0, |i| i + 1);
            prev_blank = !self.records && is_blank_bytes(&whole[last_start..]);
            bytes.extend_from_slice(whole);
            self.reader.consume(end + 1);
        }
        loop {
            if self.records && !bytes.is_empty() && bytes.len() >= self.target {
                break;
            }
            if !self.records && full(&bytes, self.next_line, 4) && !bytes.is_empty() {
                break;
            }
            let start = bytes.len();
            let n = self.read_line(&mut bytes)?;
            if n == 0 {
                self.done = true;
                break;
            }
            let blank = !self.records && is_blank_bytes(&bytes[start..]);
            if !self.records && full(&bytes[..start], self.next_line, 1) && prev_blank && !blank {
                // This paragraph opens the next chunk.
                self.stash = bytes.split_off(start);
                return Ok(Some(self.chunk(first_line, bytes, Vec::new())));
            }
            self.next_line += 1;
            prev_blank = blank;
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.chunk(first_line, bytes, Vec::new())))
    }

    /// The next chunk, of `bytes` from line `first_line`: counted as handed out.
    fn chunk(
        &mut self,
        first_line: usize,
        bytes: Vec<u8>,
        records: Vec<crate::warc::Span>,
    ) -> Chunk {
        self.at += bytes.len() as u64;
        Chunk {
            first_line,
            end: self.at,
            next_line: self.next_line,
            bytes,
            records,
            json_array: self.json_array,
        }
    }

    /// Skips the stream's first `n` bytes (before any chunk is taken): a resumed run
    /// goes on where an earlier one checkpointed. Reads them (a compressed or re-encoded
    /// stream cannot seek), counting lines and their CRC-32 for the check.
    pub fn skip(&mut self, n: u64) -> std::io::Result<Skipped> {
        if let Some(c) = self.ready.take() {
            // A source read whole: skipped as a stream.
            self.reader = Box::new(std::io::Cursor::new(c.bytes));
            (self.done, self.next_line, self.at) = (false, 1, 0);
        }
        let mut crc = crc32fast::Hasher::new();
        let mut left = n - self.at.min(n);
        while left > 0 {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let part = &buf[..take];
            self.next_line += memchr::memchr_iter(b'\n', part).count();
            crc.update(part);
            self.reader.consume(take);
            self.at += take as u64;
            left -= take as u64;
        }
        Ok(Skipped {
            bytes: self.at,
            next_line: self.next_line,
            crc: crc.finalize(),
        })
    }

    /// WARC mode: whole records until the chunk holds `target` bytes (one at least).
    fn next_warc_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        let first_line = self.next_line;
        let mut bytes = Vec::new();
        let mut records = Vec::new();
        while !self.done && (records.is_empty() || bytes.len() < self.target) {
            match crate::warc::read_record(&mut *self.reader, &mut bytes, &mut self.next_line)? {
                Some(span) => records.push(span),
                None => self.done = true,
            }
        }
        // Line ends alone at the end of a source are still bytes read.
        Ok((!bytes.is_empty()).then(|| self.chunk(first_line, bytes, records)))
    }

    /// Appends the next line, newline included (none at the end of the stream), to
    /// `bytes`; returns its length, 0 at the end.
    fn read_line(&mut self, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
        Ok(read_line(&mut *self.reader, bytes, usize::MAX)?.unwrap_or_default())
    }
}

/// Appends the next line of `reader`, newline included (none at the end of the stream),
/// to `bytes`; returns its length, 0 at the end, or `None` for a line longer than `max`
/// bytes (it is read no further than where that was found). `BufRead::read_until` with
/// the memchr crate's search, which is several times faster on long lines than the
/// standard library's.
pub(crate) fn read_line(
    reader: &mut dyn BufRead,
    bytes: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<usize>> {
    let mut n = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(Some(n));
        }
        let (take, ends) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if take > max - n {
            return Ok(None);
        }
        bytes.extend_from_slice(&buf[..take]);
        reader.consume(take);
        n += take;
        if ends {
            return Ok(Some(n));
        }
    }
}

/// Whether a raw line holds only whitespace (as [`Line::is_blank`], on bytes that may not
/// be valid UTF-8 yet: invalid lines count as non-blank and fail later with a line number).
/// Decided from the first byte that is not ASCII whitespace in nearly every line, without
/// validating the whole line.
fn is_blank_bytes(raw: &[u8]) -> bool {
    // ASCII whitespace as `char::is_whitespace` has it: `u8::is_ascii_whitespace` leaves
    // out the vertical tab (0x0B).
    match raw.iter().find(|&&b| !matches!(b, b' ' | b'\t'..=b'\r')) {
        None => true,
        // Only a few lead bytes start whitespace beyond ASCII; anything else is text.
        Some(&b) if crate::whitespace::can_start_whitespace(b) => {
            std::str::from_utf8(raw).is_ok_and(|s| s.trim().is_empty())
        }
        Some(_) => false,
    }
}

/// Splits a whole document into lines (terminators kept in `raw`), checking UTF-8 line
/// by line, at its [`document_line_end`]. A leading UTF-8 byte-order mark is not part of
/// the first line's text.
pub fn split_lines(bytes: &[u8]) -> std::result::Result<Vec<Line<'_>>, (usize, String)> {
    split_at_ends(bytes, 1, document_line_end(bytes))
}

/// The byte that ends the lines of a document that begins `bytes` (`first_line` 1) or
/// continues in them: `\n` (which also ends `\r\n` lines), or `\r` for a document that
/// holds no `\n` at all but does hold a `\r` (classic Mac OS line ends, or a converter's).
/// Read by `\n`, such a document would be one paragraph, all of its news kept or none.
/// Only a document's start can be one: [`Chunker`] cuts at `\n` alone, so a chunk that
/// holds none is its document whole. A `\r` inside a document that has `\n` line ends
/// is left inside its line.
pub fn line_end(bytes: &[u8], first_line: usize) -> u8 {
    let cr_only = first_line == 1
        && memchr::memchr(b'\n', bytes).is_none()
        && memchr::memchr(b'\r', bytes).is_some();
    if cr_only {
        b'\r'
    } else {
        b'\n'
    }
}

/// [`line_end`] of a document known to be whole: also `\r` when its one `\n` is its last
/// byte and a `\r` ends a line before it (a `\r` file that a tool ended with a newline).
/// A `\r` right before that `\n` is its `\r\n`, not a line end of its own.
pub fn document_line_end(bytes: &[u8]) -> u8 {
    let cr_in = |end: usize| memchr::memchr(b'\r', &bytes[..end]).is_some();
    match memchr::memchr(b'\n', bytes) {
        None if cr_in(bytes.len()) => b'\r',
        Some(i) if i + 1 == bytes.len() && cr_in(i.saturating_sub(1)) => b'\r',
        _ => b'\n',
    }
}

/// Splits a chunk whose first line is line `first_line` of its document (a byte-order
/// mark is only looked for on line 1), at the document's [`line_end`]. The chunk is
/// validated as UTF-8 in one pass; only when that fails is it walked line by line to
/// name the bad line.
pub fn split_lines_at(
    bytes: &[u8],
    first_line: usize,
) -> std::result::Result<Vec<Line<'_>>, (usize, String)> {
    split_at_ends(bytes, first_line, line_end(bytes, first_line))
}

/// [`split_lines_at`] for lines that are records (JSON lines): they end at `\n` only,
/// since a `\r` between a record's tokens is JSON whitespace, not a record's end.
pub fn split_records_at(
    bytes: &[u8],
    first_line: usize,
) -> std::result::Result<Vec<Line<'_>>, (usize, String)> {
    split_at_ends(bytes, first_line, b'\n')
}

/// [`split_lines_at`] with lines ending at `eol`.
fn split_at_ends(
    bytes: &[u8],
    first_line: usize,
    eol: u8,
) -> std::result::Result<Vec<Line<'_>>, (usize, String)> {
    // SIMD validation: std's is several times slower on CJK text, and every chunk of
    // every input passes here. Only an invalid chunk is walked again, line by line.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok(split_str_ending(text, first_line, eol));
    }
    let each = lines_ending(bytes, first_line, eol);
    let last = first_line.saturating_sub(1) + each.len();
    Err(each
        .into_iter()
        .find_map(|l| l.err().map(|b| (b.number, b.reason)))
        .unwrap_or((last, "invalid UTF-8".into())))
}

/// A line [`lines_each`] found not to be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The line's bytes without terminator.
    pub body: &'a [u8],
    /// The line's bytes including its terminator, if any (as [`Line::raw`]).
    pub raw: &'a [u8],
    /// What is wrong (what [`split_lines_at`] says of the first such line).
    pub reason: String,
}

/// The lines of `bytes`, each checked on its own: where [`split_records_at`] stops at
/// the first line that is not UTF-8 (found with this), this goes on past it. For record
/// runs that skip or keep bad records (a JSONL line is a record of its own), so lines end
/// at `\n`.
pub fn lines_each(bytes: &[u8], first_line: usize) -> Vec<Result<Line<'_>, BadLine<'_>>> {
    lines_ending(bytes, first_line, b'\n')
}

/// [`lines_each`] with lines ending at `eol`.
fn lines_ending(bytes: &[u8], first_line: usize, eol: u8) -> Vec<Result<Line<'_>, BadLine<'_>>> {
    let mut number = first_line.saturating_sub(1);
    let mut out = Vec::new();
    for raw in bytes.split_inclusive(|&b| b == eol) {
        number += 1;
        let range = body_range(raw, number, eol);
        out.push(match std::str::from_utf8(&raw[range.clone()]) {
            Ok(text) => Ok(Line { number, raw, text }),
            Err(e) => Err(BadLine {
                number,
                body: &raw[range],
                raw,
                // Only a document's last line can end without a line end.
                reason: invalid_utf8(e, !raw.ends_with(&[eol])),
            }),
        });
    }
    out
}

/// Why a line is not UTF-8; `last`: it is its document's last line, with no newline.
fn invalid_utf8(e: std::str::Utf8Error, last: bool) -> String {
    let at = e.valid_up_to() + 1;
    // A character begun and never finished at the very end: a file cut short, not a
    // file in another encoding.
    if last && e.error_len().is_none() {
        return format!("the text ends inside a character at byte {at} of the line (cut short?)");
    }
    format!("invalid UTF-8 at byte {at} of the line (use --encoding or --lossy)")
}

/// [`split_lines_at`] for text already known to be UTF-8 (a decoded JSONL field): a whole
/// document when `first_line` is 1 (split at its [`document_line_end`]).
pub fn split_str_at(text: &str, first_line: usize) -> Vec<Line<'_>> {
    let eol = match first_line {
        1 => document_line_end(text.as_bytes()),
        _ => line_end(text.as_bytes(), first_line),
    };
    split_str_ending(text, first_line, eol)
}

/// Where each line of `bytes` lies, its terminator `eol` (an ASCII byte) included; the
/// last line may have none.
pub fn line_ranges(
    bytes: &[u8],
    eol: u8,
) -> impl Iterator<Item = std::ops::Range<usize>> + Clone + '_ {
    // Found with SIMD memchr (str::split_inclusive searches byte by byte); each end
    // follows an ASCII byte, so every line is on char boundaries.
    let ends = memchr::memchr_iter(eol, bytes).map(|i| i + 1);
    let last = (!bytes.ends_with(&[eol]) && !bytes.is_empty()).then_some(bytes.len());
    ends.chain(last).scan(0, |start, end| {
        let line = *start..end;
        *start = end;
        Some(line)
    })
}

/// [`split_str_at`] with lines ending at `eol` (an ASCII byte), whatever the text holds:
/// a part of a document split as the whole was.
pub fn split_str_ending(text: &str, first_line: usize, eol: u8) -> Vec<Line<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(memchr::memchr_iter(eol, bytes).count() + 1);
    let mut number = first_line.saturating_sub(1);
    for line in line_ranges(bytes, eol) {
        let raw = &text[line];
        number += 1;
        out.push(Line {
            number,
            raw: raw.as_bytes(),
            // The range's ends sit next to ASCII terminators or a whole BOM: char boundaries.
            text: &raw[body_range(raw.as_bytes(), number, eol)],
        });
    }
    out
}

/// Where a raw line's text lies: without its terminator (`eol`, or `\r\n` where lines
/// end at `\n`; where they end at `\r`, the document's last may end at a `\n`) and, on
/// line 1, without a byte-order mark.
fn body_range(raw: &[u8], number: usize, eol: u8) -> std::ops::Range<usize> {
    let mut end = raw.len();
    if raw[..end].ends_with(&[eol]) {
        end -= 1;
        if eol == b'\n' && raw[..end].ends_with(b"\r") {
            end -= 1;
        }
    } else if eol == b'\r' && raw[..end].ends_with(b"\n") {
        end -= 1;
    }
    let start = if number == 1 && raw[..end].starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_terminators() {
        let l = split_lines(b"a\r\n\nb").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].raw, b"a\r\n");
        assert_eq!(l[0].text, "a");
        assert!(l[1].is_blank());
        assert_eq!(l[2].raw, b"b");
        assert_eq!(l[2].number, 3);
    }

    #[test]
    fn bad_utf8_names_line() {
        let e = split_lines(b"ok\n\xff\n").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.starts_with("invalid UTF-8 at byte 1 "), "{}", e.1);
        // A character cut off by the end of the input is named so; one cut off by a
        // line's end is not UTF-8.
        let cut = "ok\n新闻".as_bytes();
        let e = split_lines(&cut[..cut.len() - 1]).unwrap_err();
        assert_eq!(
            e,
            (
                2,
                "the text ends inside a character at byte 4 of the line (cut short?)".into()
            )
        );
        let e = split_lines(b"ok\n\xe6\x96\n").unwrap_err();
        assert!(e.1.starts_with("invalid UTF-8 at byte 1 "), "{}", e.1);
    }
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    fn chunks(text: &str, records: bool, target: usize) -> Vec<Chunk> {
        let mut c = Chunker::new(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            records,
            target,
        );
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().unwrap() {
            out.push(ch);
        }
        out
    }

    #[test]
    fn text_chunks_end_after_blank_runs_and_keep_numbering() {
        let text = "aaaa\nbbbb\n\n\ncccc\ndddd\n\neeee";
        let c = chunks(text, false, 8);
        let joined: Vec<u8> = c.iter().flat_map(|c| c.bytes.clone()).collect();
        assert_eq!(joined, text.as_bytes());
        assert_eq!(c[0].bytes, b"aaaa\nbbbb\n\n\n");
        assert_eq!(
            (c[1].first_line, c[1].bytes.as_slice()),
            (5, &b"cccc\ndddd\n\n"[..])
        );
        assert_eq!(c[2].first_line, 8);
        // No blank line: cut at 4 x target.
        let c = chunks(&"x\n".repeat(20), false, 2);
        assert!(c.len() > 1 && c.iter().all(|c| c.bytes.len() <= 8));
        assert!(chunks("", false, 8).is_empty());
    }

    #[test]
    fn blank_bytes_agree_with_line_blankness() {
        for s in [
            "",
            "\n",
            " \t\r\n",
            "\u{3000}\u{3000}\n",
            "\u{a0}",
            "\u{2003}x",
            "\u{3000}新闻",
            "新闻",
            "a",
            " \u{85} ",
            "\u{feff}",
            "\u{205f}\u{2028}\n",
            "\u{b}\n",
            "\u{b}x",
        ] {
            let want = s.trim().is_empty();
            assert_eq!(is_blank_bytes(s.as_bytes()), want, "{s:?}");
        }
        // Every character, alone and after a space.
        let mut buf = [0u8; 5];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            buf[0] = b' ';
            let n = c.encode_utf8(&mut buf[1..]).len();
            let want = c.is_whitespace();
            assert_eq!(is_blank_bytes(&buf[1..=n]), want, "{c:?}");
            assert_eq!(is_blank_bytes(&buf[..=n]), want, "{c:?}");
        }
        assert!(!is_blank_bytes(b"\xe3\x80"));
        assert!(!is_blank_bytes(b" \xff "));
    }

    #[test]
    fn line_blankness_is_trimming_to_nothing() {
        let blank = |text: &str| {
            Line {
                number: 1,
                raw: text.as_bytes(),
                text,
            }
            .is_blank()
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let one = c.to_string();
            assert_eq!(blank(&one), c.is_whitespace(), "{c:?}");
            assert_eq!(blank(&format!(" {c}")), c.is_whitespace(), "{c:?}");
            assert!(!blank(&format!("{c}x")), "{c:?}");
        }
        assert!(blank(""));
        assert!(blank("\u{3000}\u{3000} \t"));
    }

    /// The chunking rule stated line by line ([`text_chunk_spans`] in text mode): the
    /// definition the buffered `Chunker` must match chunk for chunk.
    fn reference_chunks(
        text: &[u8],
        records: bool,
        target: usize,
        line_target: usize,
    ) -> Vec<Chunk> {
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        if !records {
            let spans = text_chunk_spans(text, b'\n', target, line_target);
            let next_lines = spans.iter().skip(1).map(|s| s.1).chain([lines.len() + 1]);
            return spans
                .iter()
                .zip(next_lines)
                .map(|((range, first_line), next_line)| Chunk {
                    first_line: *first_line,
                    bytes: text[range.clone()].to_vec(),
                    records: Vec::new(),
                    json_array: false,
                    end: range.end as u64,
                    next_line,
                })
                .collect();
        }
        let mut out = Vec::new();
        let (mut bytes, mut first_line) = (Vec::new(), 1);
        let mut end = 0;
        for (i, line) in lines.iter().enumerate() {
            if !bytes.is_empty() && bytes.len() >= target {
                end += bytes.len() as u64;
                out.push(Chunk {
                    first_line,
                    bytes: std::mem::take(&mut bytes),
                    records: Vec::new(),
                    json_array: false,
                    end,
                    next_line: i + 1,
                });
                first_line = i + 1;
            }
            bytes.extend_from_slice(line);
        }
        if !bytes.is_empty() {
            out.push(Chunk {
                first_line,
                end: end + bytes.len() as u64,
                bytes,
                records: Vec::new(),
                json_array: false,
                next_line: lines.len() + 1,
            });
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn chunker_matches_the_line_by_line_rule(
            text in "(\\PC{0,12}|[ \u{3000}]{0,2})(\n(\\PC{0,12}|[ \u{3000}]{0,2})){0,40}\n?",
            records: bool,
            target in 0usize..64,
            line_target in 1usize..12,
            capacity in 1usize..32,
        ) {
            let reader = std::io::BufReader::with_capacity(
                capacity,
                std::io::Cursor::new(text.as_bytes().to_vec()),
            );
            let mut c = Chunker::with_lines(Box::new(reader), records, target, line_target);
            let mut got = Vec::new();
            while let Some(ch) = c.next_chunk().unwrap() {
                got.push(ch);
            }
            let want = reference_chunks(text.as_bytes(), records, target, line_target);
            proptest::prop_assert_eq!(got, want);
        }

        /// What a resumed run relies on: skipping to where any chunk ended, a chunker
        /// counts the lines and the CRC-32 of what it skipped, and cuts the rest into the
        /// same chunks as when it read from the start.
        #[test]
        fn a_chunker_skipped_to_a_chunks_end_gives_the_chunks_after_it(
            text in "(\\PC{0,12}|[ \u{3000}]{0,2})(\n(\\PC{0,12}|[ \u{3000}]{0,2})){0,40}\n?",
            records: bool,
            target in 0usize..64,
            line_target in 1usize..12,
            capacity in 1usize..32,
            whole: bool,
        ) {
            let bytes = text.as_bytes().to_vec();
            let all = reference_chunks(&bytes, records, target, line_target);
            let open = || match whole {
                true => Chunker::whole_with_lines(bytes.clone(), records, target, line_target),
                false => {
                    let r = std::io::BufReader::with_capacity(capacity, std::io::Cursor::new(bytes.clone()));
                    Chunker::with_lines(Box::new(r), records, target, line_target)
                }
            };
            // A checkpoint follows any chunk but a source's last.
            for k in 0..all.len().saturating_sub(1) {
                let mut c = open();
                let end = all[k].end;
                let skipped = c.skip(end).unwrap();
                proptest::prop_assert_eq!(skipped, Skipped {
                    bytes: end,
                    next_line: all[k].next_line,
                    crc: crc32fast::hash(&bytes[..end as usize]),
                });
                let mut rest = Vec::new();
                while let Some(ch) = c.next_chunk().unwrap() {
                    rest.push(ch);
                }
                proptest::prop_assert_eq!(&rest[..], &all[k + 1..]);
            }
            // Past the end: as far as there is.
            let mut c = open();
            let s = c.skip(bytes.len() as u64 + 5).unwrap();
            proptest::prop_assert_eq!(s.bytes, bytes.len() as u64);
            proptest::prop_assert_eq!(c.next_chunk().unwrap(), None);
        }

        #[test]
        fn a_source_read_whole_chunks_as_its_stream_does(
            text in "(\\PC{0,12}|[ \u{3000}]{0,2})(\n(\\PC{0,12}|[ \u{3000}]{0,2})){0,40}\n?",
            records: bool,
            target in 0usize..600,
            line_target in 1usize..60,
        ) {
            let bytes = text.as_bytes().to_vec();
            let reader = Box::new(std::io::Cursor::new(bytes.clone()));
            let mut stream = Chunker::with_lines(reader, records, target, line_target);
            let mut whole = Chunker::whole_with_lines(bytes, records, target, line_target);
            loop {
                let (s, w) = (stream.next_chunk().unwrap(), whole.next_chunk().unwrap());
                proptest::prop_assert_eq!(&s, &w);
                // The line an empty last chunk would start at, too.
                proptest::prop_assert_eq!(stream.next_line(), whole.next_line());
                if s.is_none() {
                    break;
                }
            }
        }

        #[test]
        fn lines_split_as_split_inclusive_splits_them(
            text in "(\\PC{0,12}|[\r\n]{0,3})(\n(\\PC{0,12}|\r)){0,20}\n?",
            first in 1usize..3,
        ) {
            // A whole document with no "\n" but a "\r", or one "\n" at its end with a "\r"
            // line end before it, is split at "\r".
            let lfs = text.matches('\n').count();
            let cr_before_end = text.strip_suffix('\n').is_some_and(|t| {
                let mut before = t.chars();
                before.next_back(); // a "\r" there is the end's "\r\n"
                before.as_str().contains('\r')
            });
            let cr_only = (lfs == 0 && text.contains('\r')) || (lfs == 1 && cr_before_end);
            let eol = if first == 1 && cr_only { '\r' } else { '\n' };
            let got = split_str_at(&text, first);
            proptest::prop_assert_eq!(got.len(), text.split_inclusive(eol).count());
            for (i, (line, raw)) in got.iter().zip(text.split_inclusive(eol)).enumerate() {
                proptest::prop_assert_eq!(line.number, first + i);
                proptest::prop_assert_eq!(line.raw, raw.as_bytes());
                // "\r\n" ends a line where "\n" does; a "\r" alone ends none there.
                // Where lines end at "\r", the last may end at the document's one "\n".
                let body = match (raw.strip_suffix(eol), eol) {
                    (Some(body), '\n') => body.strip_suffix('\r').unwrap_or(body),
                    (Some(body), _) => body,
                    (None, '\r') => raw.strip_suffix('\n').unwrap_or(raw),
                    (None, _) => raw,
                };
                let body = if first + i == 1 { body.strip_prefix('\u{FEFF}').unwrap_or(body) } else { body };
                proptest::prop_assert_eq!(line.text, body);
            }
        }

        #[test]
        fn a_document_with_cr_line_ends_has_the_lines_of_its_lf_twin(
            lines in proptest::collection::vec("(\\PC{0,12}|[ \u{3000}]{0,2})", 1..20),
            ended: bool,
        ) {
            let lf = lines.join("\n") + if ended { "\n" } else { "" };
            let cr = lf.replace('\n', "\r");
            let (a, b) = (split_str_at(&lf, 1), split_lines_at(cr.as_bytes(), 1).unwrap());
            proptest::prop_assert_eq!(a.len(), b.len());
            for (a, b) in a.iter().zip(&b) {
                proptest::prop_assert_eq!((a.number, a.text, a.raw.len()), (b.number, b.text, b.raw.len()));
                proptest::prop_assert_eq!(a.is_blank(), b.is_blank());
            }
            // A record's lines end at "\n" alone.
            proptest::prop_assert_eq!(split_records_at(cr.as_bytes(), 1).unwrap().len(), usize::from(!cr.is_empty()));
            // Ended by one "\n" (by a tool), a whole document with a "\r" line end before
            // it reads as its twin with one "\n" more.
            let (cr_nl, lf_nl) = (cr.clone() + "\n", lf.clone() + "\n");
            let mut before_end = cr.chars();
            before_end.next_back();
            if before_end.as_str().contains('\r') {
                let (a, b) = (split_lines(lf_nl.as_bytes()).unwrap(), split_lines(cr_nl.as_bytes()).unwrap());
                let a: Vec<(usize, &str)> = a.iter().map(|l| (l.number, l.text)).collect();
                let b_texts: Vec<(usize, &str)> = b.iter().map(|l| (l.number, l.text)).collect();
                proptest::prop_assert_eq!(a, b_texts);
                proptest::prop_assert_eq!(split_str_at(&cr_nl, 1), b);
            }
            // A part of a document past its start is never split at "\r".
            proptest::prop_assert_eq!(split_lines_at(cr_nl.as_bytes(), 2).unwrap().len(), 1);
        }
    }

    proptest::proptest! {
        #[test]
        fn lines_each_goes_on_where_split_lines_at_stops(
            bytes in proptest::collection::vec(
                proptest::sample::select(&b"ab\n\r\xEF\xBB\xBF\xE4\xB8\xAD\xFF"[..]), 0..60),
            first in 1usize..3,
        ) {
            let each = lines_each(&bytes, first);
            proptest::prop_assert_eq!(each.len(), bytes.split_inclusive(|&b| b == b'\n').count());
            match split_records_at(&bytes, first) {
                Ok(lines) => {
                    let want: Vec<Result<Line<'_>, BadLine<'_>>> = lines.into_iter().map(Ok).collect();
                    proptest::prop_assert_eq!(each, want);
                }
                Err((number, reason)) => {
                    // The first bad line is the one named; every good line is as a valid
                    // chunk of it alone would give it.
                    let bad = each.iter().find_map(|l| l.as_ref().err()).unwrap();
                    proptest::prop_assert_eq!((bad.number, &bad.reason), (number, &reason));
                    for l in each.iter().flatten() {
                        let alone = split_records_at(l.raw, l.number).unwrap();
                        proptest::prop_assert_eq!(&alone[..], &[*l][..]);
                    }
                    for b in each.iter().filter_map(|l| l.as_ref().err()) {
                        proptest::prop_assert!(std::str::from_utf8(b.body).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn record_chunks() {
        let c = chunks("{}\n{}\n{}", true, 0);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].first_line, 3);
        assert_eq!(chunks("{}\n{}\n{}", true, 100).len(), 1);
    }
}
