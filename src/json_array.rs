//! JSON arrays of records, read as JSON lines and written back as arrays.
//!
//! Some corpora ship a file as one JSON array of records (WuDaoCorpora's
//! `[{"id": .., "title": .., "content": ..}, ..]`, often all on one line). A `--jsonl` run
//! reads such a file through [`ArrayLines`], which hands on each element on a line of
//! its own: everything after it (chunking, records, bad records, output) is the JSON
//! lines path, and a record's number is its place in the array. Only the structure
//! between elements is checked here (the brackets, commas and strings that find where
//! an element ends); what an element holds is checked where it is read as a record.
//! [`ArrayFramer`] turns the filtered records back into an array. Pretty-printed records,
//! one after another as `jq .` writes them ([`ArrayLines::sequence`]), are read the same
//! way; their output is JSON lines.

use crate::warc::FramingError;
use std::io::{self, BufRead, Read, Write};

/// Where [`ArrayLines`] is in the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the opening `[`: 0 at the stream's start, 1 or 2 bytes into its UTF-8
    /// byte-order mark, 3 past it (or past whitespace).
    Start(u8),
    /// After `[`: an element or `]`.
    Opened,
    /// After a `,`: an element.
    Comma,
    /// Inside an element, outside its strings.
    Element,
    /// Inside a string of an element.
    Str,
    /// After a backslash in a string.
    Escape,
    /// After an element: `,` or `]`.
    Ended,
    /// After the closing `]`: only whitespace.
    Closed,
}

/// A JSON array's elements as JSON lines: a [`BufRead`] over another that yields each
/// element of the array on its own line (or each of a sequence of JSON values:
/// [`ArrayLines::sequence`]). A line break between an element's tokens (a
/// pretty-printed array) becomes one space with the indentation after it dropped; all
/// else is the element's bytes as they were. A stream that is not an array, one that
/// does not close, a line break inside a string (which would split a record, and is not
/// JSON), or text after the closing `]` fail with a [`FramingError`] naming the input's
/// line.
pub struct ArrayLines<R> {
    inner: R,
    framing: Framing,
    pos: usize,
    failed: Option<FramingError>,
}

/// [`ArrayLines`]' state, apart from its input so that an input buffer can be read
/// into it without a copy.
struct Framing {
    /// JSON values one after another (as `jq .` writes them), not an array.
    sequence: bool,
    at: At,
    /// Brackets and braces open in the element.
    depth: usize,
    /// A line break was passed over between an element's tokens: one space is due before
    /// its next token.
    space: bool,
    /// The input's line at the read position (1-based).
    line: usize,
    /// Elements begun.
    records: usize,
    out: Vec<u8>,
}

/// Output gathered before it is handed on: a few input buffers' worth.
const OUT: usize = 1 << 16;

impl<R: BufRead> ArrayLines<R> {
    /// Reads the array `inner` holds.
    pub fn new(inner: R) -> ArrayLines<R> {
        ArrayLines::of(inner, false)
    }

    /// Reads the JSON values `inner` holds one after another, with nothing but
    /// whitespace between them: pretty-printed records, as `jq .` writes them (a file
    /// of one included).
    pub fn sequence(inner: R) -> ArrayLines<R> {
        ArrayLines::of(inner, true)
    }

    fn of(inner: R, sequence: bool) -> ArrayLines<R> {
        ArrayLines {
            inner,
            framing: Framing {
                sequence,
                at: At::Start(0),
                depth: 0,
                space: false,
                line: 1,
                records: 0,
                out: Vec::with_capacity(OUT),
            },
            pos: 0,
            failed: None,
        }
    }

    fn fail(&mut self, msg: String) -> io::Error {
        let e = FramingError {
            line: self.framing.line,
            msg,
        };
        self.failed = Some(e.clone());
        // Nothing more is handed on: every read after a failure fails the same way.
        self.framing.out.clear();
        self.pos = 0;
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

impl Framing {
    /// Turns `buf` (the next input bytes) into output; returns what is wrong, if anything.
    fn take(&mut self, buf: &[u8]) -> Result<(), String> {
        let mut i = 0;
        while i < buf.len() {
            if self.at == At::Str {
                // Most of a record is the text of its strings: searched, not stepped.
                let Some(j) = memchr::memchr3(b'"', b'\\', b'\n', &buf[i..]) else {
                    self.out.extend_from_slice(&buf[i..]);
                    return Ok(());
                };
                let b = buf[i + j];
                if b == b'\n' {
                    return Err(self.broken_string());
                }
                self.out.extend_from_slice(&buf[i..=i + j]);
                self.at = match b {
                    b'"' => At::Element,
                    _ => At::Escape,
                };
                i += j + 1;
                continue;
            }
            let b = buf[i];
            i += 1;
            match self.at {
                At::Escape => {
                    if b == b'\n' {
                        return Err(self.broken_string());
                    }
                    self.out.push(b);
                    self.at = At::Str;
                }
                At::Element => self.element_byte(b)?,
                At::Start(n @ 0..=2) if n > 0 || b == 0xEF => {
                    // A UTF-8 byte-order mark, a byte at a time.
                    if b != [0xEF, 0xBB, 0xBF][usize::from(n)] {
                        return Err(self.not_opened());
                    }
                    self.at = At::Start(n + 1);
                }
                _ if b.is_ascii_whitespace() => {
                    self.line += usize::from(b == b'\n');
                    if self.at == At::Start(0) {
                        // No byte-order mark after whitespace.
                        self.at = At::Start(3);
                    }
                }
                At::Start(_) if self.sequence => self.begin_element(b)?,
                At::Start(_) => match b {
                    b'[' => self.at = At::Opened,
                    _ => return Err(self.not_opened()),
                },
                At::Opened | At::Comma => match b {
                    b']' if self.at == At::Opened => self.at = At::Closed,
                    b']' | b',' => {
                        return Err(format!(
                            "a {:?} where record {} of the JSON array should be: not JSON",
                            b as char,
                            self.records + 1
                        ))
                    }
                    _ => self.begin_element(b)?,
                },
                At::Ended if self.sequence => match b {
                    b',' | b']' => {
                        return Err(format!(
                            "a {:?} after record {}: JSON records one after another are not set apart by one",
                            b as char, self.records
                        ))
                    }
                    _ => self.begin_element(b)?,
                },
                At::Ended => match b {
                    b',' => self.at = At::Comma,
                    b']' => self.at = At::Closed,
                    _ => {
                        return Err(format!(
                            "{:?} after record {} of the JSON array, where a , or ] should be: not JSON",
                            b as char, self.records
                        ))
                    }
                },
                At::Closed => {
                    return Err(format!(
                        "{:?} after the JSON array's closing ]: one array a file is read",
                        b as char
                    ))
                }
                At::Str => unreachable!("strings are searched above"),
            }
        }
        Ok(())
    }

    /// The first byte of the next element.
    fn begin_element(&mut self, b: u8) -> Result<(), String> {
        self.records += 1;
        self.at = At::Element;
        self.depth = 0;
        self.space = false;
        self.element_byte(b)
    }

    /// One byte of an element outside its strings.
    fn element_byte(&mut self, b: u8) -> Result<(), String> {
        match b {
            b'\n' | b'\r' | b' ' | b'\t' if self.depth == 0 => {
                // After a value that is not an object or array (a bad record, told as
                // such where it is read).
                self.line += usize::from(b == b'\n');
                self.end_element(At::Ended);
            }
            b'\n' | b'\r' => {
                self.line += usize::from(b == b'\n');
                self.space = true;
            }
            b' ' | b'\t' if self.space => {}
            b',' | b']' if self.depth == 0 && self.sequence => {
                return Err(format!(
                "a {:?} after record {}: JSON records one after another are not set apart by one",
                b as char, self.records
            ))
            }
            b',' if self.depth == 0 => self.end_element(At::Comma),
            b']' if self.depth == 0 => self.end_element(At::Closed),
            b'}' if self.depth == 0 => {
                return Err(format!(
                    "a }} with nothing open in record {}: not JSON",
                    self.records
                ))
            }
            _ => {
                if std::mem::take(&mut self.space) {
                    self.out.push(b' ');
                }
                self.out.push(b);
                match b {
                    b'"' => self.at = At::Str,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.end_element(At::Ended);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn end_element(&mut self, next: At) {
        self.out.push(b'\n');
        self.at = next;
    }

    fn broken_string(&self) -> String {
        format!(
            "a line break inside a string of record {}: not JSON",
            self.records
        )
    }

    fn not_opened(&self) -> String {
        match self.sequence {
            true => "not JSON records: it does not open with {".into(),
            false => "not a JSON array: it does not open with [".into(),
        }
    }

    /// What is wrong with the stream ending where it does, if anything.
    fn end(&self) -> Option<String> {
        match self.at {
            At::Closed => None,
            At::Start(_) | At::Ended if self.sequence => None,
            At::Element | At::Str | At::Escape if self.sequence => Some(format!(
                "record {} is cut short: the stream ends inside it",
                self.records
            )),
            At::Start(_) => Some("not a JSON array: it has no [".into()),
            At::Opened | At::Comma | At::Ended => {
                Some("the JSON array is cut short: the stream ends before its closing ]".into())
            }
            At::Element | At::Str | At::Escape => Some(format!(
                "the JSON array is cut short: the stream ends inside record {}",
                self.records
            )),
        }
    }
}

impl<R: BufRead> BufRead for ArrayLines<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.framing.out.len() {
            if let Some(e) = &self.failed {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
            }
            self.framing.out.clear();
            self.pos = 0;
            while self.framing.out.len() < OUT {
                let buf = match self.inner.fill_buf() {
                    Ok(buf) => buf,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if buf.is_empty() {
                    if self.framing.sequence
                        && self.framing.at == At::Element
                        && self.framing.depth == 0
                    {
                        // A value that is not an object or array ends with the stream.
                        self.framing.end_element(At::Ended);
                    }
                    if let Some(msg) = self.framing.end() {
                        return Err(self.fail(msg));
                    }
                    break;
                }
                let n = buf.len();
                let taken = self.framing.take(buf);
                self.inner.consume(n);
                if let Err(msg) = taken {
                    return Err(self.fail(msg));
                }
            }
        }
        Ok(&self.framing.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.framing.out.len());
    }
}

impl<R: BufRead> Read for ArrayLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Writes JSON lines (records, each ending in `\n`) as a JSON array: `[` before the
/// first, `,` and a line break between them, `]` after the last (`[]` for none). Each
/// record stays on a line of its own, so the output is read by `json.load` and by
/// line-based tools alike.
#[derive(Debug, Default)]
pub struct ArrayFramer {
    /// The `[` is written.
    opened: bool,
}

impl ArrayFramer {
    /// The framer of an output gone on with (`--resume`): `opened`, its `[` is written.
    pub fn resumed(opened: bool) -> ArrayFramer {
        ArrayFramer { opened }
    }

    /// Writes `lines` (whole records) inside the array; returns the bytes written.
    pub fn write(&mut self, out: &mut dyn Write, lines: &[u8]) -> io::Result<u64> {
        let mut n = 0;
        for record in lines.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
            let open: &[u8] = match std::mem::replace(&mut self.opened, true) {
                false => b"[",
                true => b",\n",
            };
            out.write_all(open)?;
            out.write_all(record)?;
            n += (open.len() + record.len()) as u64;
        }
        Ok(n)
    }

    /// Closes the array; returns the bytes written.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<u64> {
        let close: &[u8] = match std::mem::take(&mut self.opened) {
            true => b"]\n",
            false => b"[]\n",
        };
        out.write_all(close)?;
        Ok(close.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out `step` bytes at a time: every state is crossed at a
    /// buffer's end somewhere.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl BufRead for Trickle<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.bytes[..self.step.min(self.bytes.len())])
        }
        fn consume(&mut self, n: usize) {
            self.bytes = &self.bytes[n..];
        }
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(self.bytes.len()).min(out.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    /// The lines `input` reads as, read in steps of every size from 1 to 9 and whole
    /// (all must agree), or the framing error; as a sequence of values if `sequence`.
    fn read_as(input: &str, sequence: bool) -> Result<String, FramingError> {
        let read = |step| {
            let mut out = String::new();
            let trickle = Trickle {
                bytes: input.as_bytes(),
                step,
            };
            match sequence {
                true => ArrayLines::sequence(trickle).read_to_string(&mut out),
                false => ArrayLines::new(trickle).read_to_string(&mut out),
            }
            .map(|_| out)
            .map_err(|e| {
                e.into_inner()
                    .and_then(|e| e.downcast::<FramingError>().ok())
                    .map(|e| *e)
                    .expect("a framing error")
            })
        };
        let whole = read(input.len().max(1));
        for step in 1..10 {
            assert_eq!(read(step), whole, "read {step} bytes at a time");
        }
        whole
    }

    fn lines(input: &str) -> Result<String, FramingError> {
        read_as(input, false)
    }

    fn error(input: &str) -> (usize, String) {
        let e = lines(input).expect_err("not an array that can be read");
        (e.line, e.msg)
    }

    #[test]
    fn each_element_is_a_line_as_it_was() {
        let one_line = r#"[{"id": 1, "content": "新闻[一]{}, \"引\"\\"},{"id":2,"content":"b"}]"#;
        assert_eq!(
            lines(one_line).unwrap(),
            "{\"id\": 1, \"content\": \"新闻[一]{}, \\\"引\\\"\\\\\"}\n{\"id\":2,\"content\":\"b\"}\n"
        );
        // Nested values, the empty array, whitespace around it all, a byte-order mark.
        assert_eq!(
            lines("\u{feff}[ {\"a\":[1,{\"b\":[]}]} ,\t{} ]\n\n").unwrap(),
            "{\"a\":[1,{\"b\":[]}]}\n{}\n"
        );
        assert_eq!(lines(" [ ] ").unwrap(), "");
        assert_eq!(lines("[]").unwrap(), "");
        // What is not an object is an element all the same (a bad record, where read).
        assert_eq!(
            lines("[1, \"s,]\" ,null,[2]]").unwrap(),
            "1\n\"s,]\"\nnull\n[2]\n"
        );
    }

    #[test]
    fn a_pretty_printed_array_reads_an_element_a_line() {
        let pretty = "[\n  {\n    \"id\": 1,\n    \"content\": \"一\\n二\"\n  },\r\n  {\n    \"tags\": [\n      \"a\"\n    ]\n  }\n]\n";
        assert_eq!(
            lines(pretty).unwrap(),
            "{ \"id\": 1, \"content\": \"一\\n二\" }\n{ \"tags\": [ \"a\" ] }\n"
        );
        // Tokens a line break kept apart stay apart: `1 2` is no number.
        assert_eq!(lines("[{\"a\":1\n2}]").unwrap(), "{\"a\":1 2}\n");
    }

    #[test]
    fn what_is_not_one_array_fails_at_its_line() {
        let at = |line, msg: &str| (line, msg.to_string());
        assert_eq!(
            error("[{\"a\":1},\n{\"b\":"),
            at(
                2,
                "the JSON array is cut short: the stream ends inside record 2"
            )
        );
        assert_eq!(
            error("[{\"a\":1}\n"),
            at(
                2,
                "the JSON array is cut short: the stream ends before its closing ]"
            )
        );
        assert_eq!(
            error("[{\"a\":1},\n]"),
            at(
                2,
                "a ']' where record 2 of the JSON array should be: not JSON"
            )
        );
        assert_eq!(
            error("[,{}]"),
            at(
                1,
                "a ',' where record 1 of the JSON array should be: not JSON"
            )
        );
        assert_eq!(
            error("[{}\n{}]"),
            at(
                2,
                "'{' after record 1 of the JSON array, where a , or ] should be: not JSON"
            )
        );
        assert_eq!(
            error("[{}]\n[{}]\n"),
            at(
                2,
                "'[' after the JSON array's closing ]: one array a file is read"
            )
        );
        assert_eq!(
            error("[{\"a\":\"x\ny\"}]"),
            at(1, "a line break inside a string of record 1: not JSON")
        );
        assert_eq!(
            error("[{\"a\":\"x\\\ny\"}]"),
            at(1, "a line break inside a string of record 1: not JSON")
        );
        assert_eq!(
            error("[{}},{}]"),
            at(
                1,
                "'}' after record 1 of the JSON array, where a , or ] should be: not JSON"
            )
        );
        assert_eq!(
            error("[}]"),
            at(1, "a } with nothing open in record 1: not JSON")
        );
        assert_eq!(
            error("{}"),
            at(1, "not a JSON array: it does not open with [")
        );
        assert_eq!(
            error(" \u{feff}[]"),
            at(1, "not a JSON array: it does not open with [")
        );
        assert_eq!(error("\n\n"), at(3, "not a JSON array: it has no ["));
    }

    #[test]
    fn an_array_of_any_size_is_read_in_bounded_memory() {
        // 10 MB on one line, one record of 4 MB among them: nothing is held but a
        // buffer's worth of output.
        let long = "新闻".repeat(700_000);
        let mut array = String::from("[");
        for i in 0..40_000 {
            let text = if i == 20_000 { long.as_str() } else { "广告" };
            array += &format!("{{\"id\":{i},\"text\":\"{text}\"}},");
        }
        array += "{}]";
        let mut r = ArrayLines::new(io::BufReader::new(array.as_bytes()));
        let (mut records, mut most) = (0, 0);
        loop {
            let n = r.fill_buf().unwrap().len();
            if n == 0 {
                break;
            }
            most = most.max(r.framing.out.capacity());
            records += memchr::memchr_iter(b'\n', r.fill_buf().unwrap()).count();
            r.consume(n);
        }
        assert_eq!(records, 40_001);
        assert!(most <= 2 * OUT, "{most}");
    }

    fn sequence(input: &str) -> Result<String, FramingError> {
        read_as(input, true)
    }

    #[test]
    fn pretty_printed_records_one_after_another_are_a_record_a_line() {
        let jq = "{\n  \"id\": 1,\n  \"text\": \"新闻\"\n}\n{\n  \"id\": 2,\n  \"tags\": [\n    \"a\"\n  ]\n}\n";
        assert_eq!(
            sequence(jq).unwrap(),
            "{ \"id\": 1, \"text\": \"新闻\" }\n{ \"id\": 2, \"tags\": [ \"a\" ] }\n"
        );
        // One record alone, with a byte-order mark; records with nothing between them.
        assert_eq!(
            sequence("\u{feff}{\n\"a\": \"}{\"\n}").unwrap(),
            "{ \"a\": \"}{\" }\n"
        );
        assert_eq!(sequence("{}{} 3\n").unwrap(), "{}\n{}\n3\n");
        assert_eq!(sequence("{} 3").unwrap(), "{}\n3\n");
        assert_eq!(sequence("{} \"s\"").unwrap(), "{}\n\"s\"\n");
        let error = |input| {
            let e = sequence(input).unwrap_err();
            (e.line, e.msg)
        };
        assert_eq!(
            error("{\n\"a\": 1\n}\n{\n\"b\":"),
            (5, "record 2 is cut short: the stream ends inside it".into())
        );
        assert_eq!(
            error("{},\n{}"),
            (
                1,
                "a ',' after record 1: JSON records one after another are not set apart by one"
                    .into()
            )
        );
        assert_eq!(
            error("{}]"),
            (
                1,
                "a ']' after record 1: JSON records one after another are not set apart by one"
                    .into()
            )
        );
    }

    #[test]
    fn a_failed_read_fails_again() {
        let mut r = ArrayLines::new(&b"[{}, x"[..]);
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert!(r.fill_buf().is_err());
    }

    #[test]
    fn records_are_framed_back_as_an_array() {
        let mut out = Vec::new();
        let mut framer = ArrayFramer::default();
        let mut n = framer.write(&mut out, b"{\"a\":1}\n").unwrap();
        n += framer.write(&mut out, b"").unwrap();
        n += framer.write(&mut out, b"{\"b\":2}\n{}\n").unwrap();
        n += framer.finish(&mut out).unwrap();
        assert_eq!(out, b"[{\"a\":1},\n{\"b\":2},\n{}]\n");
        assert_eq!(n, out.len() as u64);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_array().map(Vec::len), Some(3));
        let mut none = Vec::new();
        ArrayFramer::default().finish(&mut none).unwrap();
        assert_eq!(none, b"[]\n");
        // Gone on with after its `[` and first record were written (`--resume`).
        let mut rest = Vec::new();
        let mut framer = ArrayFramer::resumed(true);
        framer.write(&mut rest, b"{}\n").unwrap();
        framer.finish(&mut rest).unwrap();
        assert_eq!(rest, b",\n{}]\n");
    }
}
