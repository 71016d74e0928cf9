//! Input decoding: turns a source's bytes on disk into a stream of UTF-8 text.
//!
//! Layers, outermost first: the file or stdin, a byte counter (for progress), transparent
//! decompression ([`crate::compression`]: recognised by magic bytes, so stdin works too),
//! a check that the stream is text this run reads ([`crate::sniff`]), and character
//! decoding ([`crate::charset`]). UTF-8 passes through untouched (so `filter` output stays
//! byte-exact and bad bytes are reported by line later); GBK/GB18030, Big5 and other
//! legacy encodings are detected with chardetng or forced with `--encoding`, and decoded
//! to UTF-8 by encoding_rs.

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::sources::Source;
use encoding_rs::{Encoding, UTF_8};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How inputs are decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    /// Force this encoding instead of detecting one.
    pub encoding: Option<&'static Encoding>,
    /// Replace undecodable bytes with U+FFFD instead of failing (and in JSONL text, lone
    /// UTF-16 surrogate escapes).
    pub lossy: bool,
    /// Sniff only what the first read returns instead of waiting for a full sniff window
    /// (64 KiB or the end): a streaming step (`--pipe`) must answer a record piped alone.
    pub eager: bool,
    /// What the run reads its sources as: a source that opens as another format is
    /// skipped ([`crate::sniff::other_format`]). Read as plain text, a JSONL record would
    /// be one "paragraph" and dropped or kept whole; read as JSON lines, a dump's JSON
    /// array would be one record, held whole before it was refused.
    pub reads: crate::sniff::Reads,
    /// Read every text stream as lines, even one that opens like another format
    /// (`--plain-text`): the user's word against the sniff of its first lines.
    pub force_text: bool,
    /// The run's workers, which size a large xz file's decoding threads
    /// ([`crate::unxz::threads_for`]); 0: as many as the rayon pool it is opened in has.
    pub workers: usize,
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
pub(crate) const SNIFF: usize = 64 * 1024;

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
        /// The compression undone on the way.
        compression: Compression,
        /// The stream is a JSON array of records, and `text` its elements as JSON lines
        /// ([`crate::json_array::ArrayLines`]): a JSON lines run's output of it is an
        /// array again.
        json_array: bool,
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

/// The whole text of `source`, decompressed and decoded as [`open`] reads it, for the
/// commands that take a file whole (`explain`, labelled data); a source that is not
/// text is an error saying it is not `what`.
pub fn read_whole(source: &Source, opts: &DecodeOptions, what: &str) -> Result<Vec<u8>> {
    let io = |e| Error::io(source.display(), e);
    match open(source, opts, Arc::default())? {
        Opened::Text { text, .. } => {
            let mut bytes = Vec::new();
            text.into_reader().read_to_end(&mut bytes).map_err(io)?;
            Ok(bytes)
        }
        Opened::Binary(reason) => Err(io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not {what} ({reason})"),
        ))),
    }
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
        return open_stream_of(Box::new(counted), Some(len), opts);
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
        return open_stream_of(Box::new(Cursor::new(head).chain(rest)), Some(len), opts);
    }
    decode_head(head, at_eof, rest, opts)
}

/// Read buffer size for streams.
const BUFFER: usize = 1 << 16;

/// Opens a byte stream: decompression by magic bytes, then [`decode`].
pub fn open_stream(raw: Box<dyn Read + Send>, opts: &DecodeOptions) -> io::Result<Opened> {
    open_stream_of(raw, None, opts)
}

/// [`open_stream`] for a stream of `len` bytes, if known (a file's length when opened).
fn open_stream_of(
    raw: Box<dyn Read + Send>,
    len: Option<u64>,
    opts: &DecodeOptions,
) -> io::Result<Opened> {
    let (compression, raw) = crate::compression::sniff_stream(raw)?;
    let workers = match opts.workers {
        0 => rayon::current_num_threads(),
        n => n,
    };
    let xz_threads = crate::unxz::threads_for(len, workers);
    let plain = compression.threaded_decoder(BufReader::with_capacity(BUFFER, raw), xz_threads)?;
    let mut opened = decode(plain, opts)?;
    if let Opened::Text { compression: c, .. } = &mut opened {
        *c = compression;
    }
    Ok(opened)
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
    // `--plain-text` reads whatever a file opens as. A streaming step (`--pipe`) answers
    // each record as it comes: its first read may hold a part of one, and decides nothing.
    let reads = match opts.force_text || opts.eager {
        true => crate::sniff::Reads::Other,
        false => opts.reads,
    };
    if let Some(reason) = crate::sniff::other_format(&head, at_eof, reads) {
        return Ok(Opened::Binary(reason.into()));
    }
    use crate::json_array::ArrayLines;
    use crate::sniff::{json_framing, JsonFraming, Reads};
    let framing = (reads == Reads::JsonLines)
        .then(|| json_framing(&head, at_eof))
        .flatten();
    let mut opened = decode_text(head, at_eof, rest, opts)?;
    if let (
        Opened::Text {
            text, json_array, ..
        },
        Some(framing),
    ) = (&mut opened, framing)
    {
        // Records framed otherwise are read a record a line, as JSON lines are.
        let reader = std::mem::replace(text, Text::Whole(Vec::new())).into_reader();
        *text = Text::Stream(match framing {
            JsonFraming::Array => Box::new(ArrayLines::new(reader)),
            JsonFraming::Sequence => Box::new(ArrayLines::sequence(reader)),
        });
        *json_array = framing == JsonFraming::Array;
    }
    Ok(opened)
}

/// [`decode_head`] once the stream is known to be text the run reads: its decoding.
fn decode_text(
    head: Vec<u8>,
    at_eof: bool,
    rest: Box<dyn Read + Send>,
    opts: &DecodeOptions,
) -> io::Result<Opened> {
    let bom = Encoding::for_bom(&head).map(|(e, _)| e);
    let encoding = match (opts.encoding, bom) {
        (Some(e), _) => e,
        (None, Some(e)) => e,
        (None, None) => {
            if let Some(reason) = crate::sniff::binary_reason(&head) {
                return Ok(Opened::Binary(reason));
            }
            crate::charset::detect(&head)
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
            compression: Compression::None,
            json_array: false,
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
            compression: Compression::None,
            json_array: false,
        });
    }
    Ok(Opened::Text {
        text: Text::Stream(Box::new(BufReader::with_capacity(
            1 << 16,
            crate::charset::Decoding::new(stream, encoding, opts.lossy),
        ))),
        encoding: encoding.name(),
        raw_utf8: false,
        compression: Compression::None,
        json_array: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::{json_framing, other_format, JsonFraming::*, Reads};

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

    /// Asserts that the text of every flush of chaff's writer for `c` (flushed at each of
    /// `ends`, ascending) is read, in reads of `read` bytes, before anything after that
    /// flush is sent: `--pipe` behind another streaming step that compresses (`chaff
    /// --pipe --compress zst | chaff --pipe`) answers each record.
    fn assert_each_flush_is_read_before_more_is_sent(
        c: Compression,
        data: &[u8],
        ends: &[usize],
        read: usize,
    ) {
        use crate::output::Compressed;
        use crate::test_support::{Shared, Waiting};
        use std::io::Write;
        let out = Shared::default();
        let mut w = Compressed::new(out.clone(), c, None, true).unwrap();
        let mut sent_at = Vec::new();
        let mut from = 0;
        for &end in ends {
            w.write_all(&data[from..end]).unwrap();
            w.flush().unwrap();
            sent_at.push(out.len());
            from = end;
        }
        w.write_all(&data[from..]).unwrap();
        w.finish().unwrap();
        let z = out.0.lock().unwrap().clone();
        let (pipe, sent) = Waiting::new(z.clone());
        sent.to(sent_at.first().copied().unwrap_or(z.len()));
        let opts = DecodeOptions {
            eager: true,
            ..DecodeOptions::default()
        };
        let mut r = match open_stream(Box::new(pipe), &opts) {
            Ok(Opened::Text { text, .. }) => text.into_reader(),
            Ok(Opened::Binary(why)) => panic!("{c:?}: not text: {why}"),
            Err(e) => panic!("{c:?}: {e}"),
        };
        let mut from = 0;
        for (&end, &at) in ends.iter().zip(&sent_at) {
            sent.to(at);
            let mut got = vec![0; end - from];
            for piece in got.chunks_mut(read) {
                if let Err(e) = r.read_exact(piece) {
                    panic!("{c:?}, reads of {read}: the text to byte {end}: {e}");
                }
            }
            assert!(
                got == data[from..end],
                "{c:?}, reads of {read}: to byte {end}"
            );
            from = end;
        }
        sent.to(z.len());
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert!(rest == data[from..], "{c:?}, reads of {read}: the rest");
    }

    /// Every codec, at reads of one byte to more than a block's text: a decoder that
    /// holds text of a block it has read whole hands it out first.
    #[test]
    fn the_text_of_each_flush_is_read_before_more_is_sent() {
        let data = crate::test_support::text(300_000);
        let ends = [40, 41, 5000, 70_000, 70_001, 200_000, 299_999];
        for c in CODECS {
            for read in [1, 1000, 1 << 16, 1 << 20] {
                assert_each_flush_is_read_before_more_is_sent(c, &data, &ends, read);
            }
        }
    }

    const CODECS: [Compression; 5] = [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Xz,
        Compression::Lz4,
        Compression::Bzip2,
    ];

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(24))]
        /// Any text, flushes and read size.
        #[test]
        fn any_flush_is_read_before_more_is_sent(
            n in 1..400_000usize,
            at in proptest::collection::vec(0.0f64..1.0, 0..6),
            read in 1..200_000usize,
            c in 0..CODECS.len(),
        ) {
            let data = crate::test_support::text(n);
            let mut ends: Vec<usize> = at.iter().map(|f| 1 + (f * (n - 1) as f64) as usize).collect();
            ends.sort_unstable();
            ends.dedup();
            assert_each_flush_is_read_before_more_is_sent(CODECS[c], &data, &ends, read);
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
                // Opened says what it undid, read whole or streamed alike.
                let opened = open_stream(Box::new(Cursor::new(z.clone())), &opts).unwrap();
                assert!(
                    matches!(opened, Opened::Text { compression, .. } if compression == c),
                    "{ext}"
                );
                let got = read_opened(opened);
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
    }

    #[test]
    fn detects_gbk_and_big5() {
        // Three lines, and sixty: past DETECT_NON_ASCII bytes above 0x7F, the detector
        // sees only the start.
        for n in [3, 60] {
            let text = "2024年，国务院常务会议部署进一步稳定就业的政策措施。\n".repeat(n);
            let (gbk, _, _) = encoding_rs::GBK.encode(&text);
            let cut = crate::charset::end_of_nth_non_ascii(&gbk, crate::charset::DETECT_NON_ASCII)
                < gbk.len();
            assert_eq!(cut, n == 60);
            let (s, enc) = text_of(&gbk, DecodeOptions::default()).unwrap();
            assert_eq!(s, text);
            assert!(enc == "GBK" || enc == "gb18030", "{enc}");
            let trad = "2024年，行政院會議通過了新的經濟發展計畫，並將於明年實施。\n".repeat(n);
            let (big5, _, _) = encoding_rs::BIG5.encode(&trad);
            let (s, enc) = text_of(&big5, DecodeOptions::default()).unwrap();
            assert_eq!((s.as_str(), enc), (trad.as_str(), "Big5"));
        }
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
            reads: Reads::PlainText,
            force_text: false,
            workers: 0,
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
            other_format(head.as_bytes(), at_eof, Reads::PlainText).map(String::from)
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
        assert_eq!(
            told("[{\"text\": \"新闻\"},\n", false).as_deref(),
            Some("a JSON array of records: read it with --jsonl")
        );
        assert!(told("\r\nWARC/1.1\r\nWARC-Type: warcinfo\r\n", false)
            .is_some_and(|r| r.contains("--warc")));
        assert_eq!(
            told("{\n  \"id\": 1,\n  \"text\": \"新闻\"\n}\n", true).as_deref(),
            Some("JSON, a record over several lines: read it with --jsonl")
        );
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
            reads: Reads::PlainText,
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
            for reads in [Reads::PlainText, Reads::JsonLines, Reads::Other] {
                let told = other_format(bytes, true, reads);
                assert!(
                    told.as_deref().is_some_and(|r| r.starts_with(named)),
                    "{told:?}"
                );
            }
        }
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"p.txt");
        tar[257..263].copy_from_slice(b"ustar\x00");
        assert!(
            other_format(&tar, true, Reads::Other).is_some_and(|r| r.starts_with("a tar archive"))
        );
        tar[257..265].copy_from_slice(b"ustar  \x00");
        assert!(
            other_format(&tar, true, Reads::Other).is_some_and(|r| r.starts_with("a tar archive"))
        );
        let custard = format!("{}custard\n", "x".repeat(256));
        assert_eq!(told(&custard, true), None);
        assert_eq!(told("BZh 新闻\n", true), None);
        // A run of records reads them; any run is told a Parquet file.
        assert_eq!(
            other_format(b"{\"text\": \"x\"}\n", true, Reads::JsonLines),
            None
        );
        let parquet = Some("a Parquet file: read it with --parquet");
        for reads in [Reads::PlainText, Reads::JsonLines, Reads::Other] {
            let told = other_format(b"PAR1\x15\x04", true, reads);
            assert_eq!(told.as_deref(), parquet);
        }
    }

    #[test]
    fn a_json_lines_run_is_told_what_holds_no_record() {
        let told = |head: &str, at_eof: bool| {
            other_format(head.as_bytes(), at_eof, Reads::JsonLines).map(String::from)
        };
        // A JSON array of records is read, an element a line ([`crate::json_array`]):
        // one on a line longer than the head, pretty-printed, or whole.
        for (head, at_eof) in [
            ("[{\"id\": 1, \"text\": \"新闻", false),
            ("[\n  {\n    \"text\": \"新闻\"\n  },\n", false),
            (" [ {\"text\": \"新闻\"},\n{\"text\": \"广告\"}]\n", true),
            ("\u{feff}[{\"text\": \"新闻\"}]", true),
            ("[]\n", true),
        ] {
            assert_eq!(told(head, at_eof), None, "{head}");
            assert_eq!(json_framing(head.as_bytes(), at_eof), Some(Array), "{head}");
        }
        let run = DecodeOptions {
            reads: Reads::JsonLines,
            ..DecodeOptions::default()
        };
        let array = "[{\"text\": \"新闻\"},\n {\"text\": \"广告\"}]";
        assert_eq!(
            text_of(array.as_bytes(), run).unwrap().0,
            "{\"text\": \"新闻\"}\n{\"text\": \"广告\"}\n"
        );
        // Read as text, it is told.
        assert_eq!(
            other_format(array.as_bytes(), true, Reads::PlainText).as_deref(),
            Some("a JSON array of records: read it with --jsonl")
        );
        // An array closed on its first line with records after it is a bad record; the
        // records after it are read. An array of what is not a record is not read.
        let lines = "[{\"text\": \"新闻\"}]\n{\"text\": \"广告\"}\n";
        assert_eq!(told(lines, true), None);
        assert_eq!(json_framing(lines.as_bytes(), true), None);
        assert_eq!(json_framing(b"[1, 2]", true), None);
        assert_eq!(json_framing(b"[]\n[]\n", true), None);
        // Pretty-printed records are read a record a line too, and written as JSON lines.
        let pretty = "{\n  \"id\": 1,\n  \"text\": \"新闻\"\n}\n{\n  \"text\": \"广告\"\n}\n";
        assert_eq!(told(pretty, true), None);
        assert_eq!(json_framing(pretty.as_bytes(), false), Some(Sequence));
        assert_eq!(
            text_of(pretty.as_bytes(), run).unwrap().0,
            "{ \"id\": 1, \"text\": \"新闻\" }\n{ \"text\": \"广告\" }\n"
        );
        // A first record cut short, with one after it, is JSON lines.
        let cut = "{\"text\": \"新\n{\"text\": \"闻\"}\n";
        assert_eq!(json_framing(cut.as_bytes(), true), None);
        assert!(told("WARC/1.1\r\nWARC-Type: warcinfo\r\n", false)
            .is_some_and(|r| r.contains("--warc")));
        assert!(
            told("<!DOCTYPE html>\n<html>", false).is_some_and(|r| r.starts_with("an HTML page"))
        );
        // Text beside a dataset's shards: no line of the head opens a record.
        let text = Some(
            "its first lines are not JSON objects: plain text? chaff reads it without --jsonl"
                .into(),
        );
        assert_eq!(told("---\nlicense: mit\n---\n# 数据集\n", false), text);
        assert_eq!(
            told("\n*.jsonl filter=lfs diff=lfs merge=lfs -text\n", true),
            text
        );
        assert_eq!(told("*.jsonl filter=lfs", true), text);
        assert_eq!(told("新闻新闻新闻", false), text);
        assert_eq!(told("[\"新闻\"]\n[\"广告\"]\n", true), text);
        // But a streaming step (`--pipe`) reads every record it is sent.
        let pipe = DecodeOptions {
            reads: Reads::JsonLines,
            eager: true,
            ..DecodeOptions::default()
        };
        let readme = "# 数据集\n\n说明。\n";
        assert_eq!(text_of(readme.as_bytes(), pipe).unwrap().0, readme);
        let run = DecodeOptions {
            eager: false,
            ..pipe
        };
        assert!(text_of(readme.as_bytes(), run)
            .unwrap()
            .0
            .starts_with("BINARY its first lines"));
        // JSON lines, damaged or not, are read (as records, bad or good), and so is a file
        // whose first lines are no records, and UTF-16, decoded first.
        for bytes in [
            &b"\xFF\xFE{\x00}\x00\n\x00"[..],
            b"\xFE\xFF\x00{\x00}\x00\n",
            b"\x00{\x00}\x00\n\x00{\x00}",
        ] {
            assert_eq!(other_format(bytes, true, Reads::JsonLines), None);
        }
        for text in [
            "新闻\n{\"te",
            "不是记录\n[]\n\n不是\n{\"text\": \"新闻\"}\n",
            "新闻\n\n  {\"text\": \"新闻\"}\n",
            "{\"text\": \"新闻\"}\n",
            "{\"text\": \"新\n{\"text\": \"闻\"}\n",
            "{ \"text\" : \"新闻新闻",
            "[\"新闻\"]\n{\"text\": \"新闻\"}\n",
            "新闻\n{\"text\": \"新闻\"}\n",
            "{\n{\"text\": \"新闻\"}\n",
            "",
        ] {
            assert_eq!(told(text, true), None, "{text:?}");
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
