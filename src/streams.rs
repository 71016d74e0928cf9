//! A compressed input read stream after stream (`cat a.gz b.gz`, pigz and bgzip members,
//! zstd and lz4 frames, xz streams): where each stream ends, and what may follow it.
//!
//! After a stream's end comes the end of the input, another stream of the same codec,
//! or, where the codec's own tools read past it, padding of zero bytes: gzip skips any
//! (as gzip(1) and Python's `gzip` module do; a member may follow them, as Python reads
//! it), xz only its stream padding (multiples of four bytes, as xz(1) does). Anything
//! else is an error naming the byte where it begins, not the codec's own complaint about
//! a header (`invalid gzip header`, `Unknown frame descriptor`): the text before it was
//! read, and what follows is not a stream. The tools differ on it (gzip(1) and bzip2(1)
//! warn and go on, xz(1), zstd(1) and Python's `gzip` stop), and chaff stops: a damaged
//! second stream, `cat a.gz b.gz` with `b.gz`'s header broken, must not pass for the
//! end of the input.

use std::io::{self, BufRead, Read};

/// The zero bytes a codec's readers skip after a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// None: a zero byte is not a stream.
    None,
    /// Any number of them (gzip).
    Any,
    /// A multiple of four (xz's stream padding).
    FourBytes,
}

/// How the streams of one codec begin and what may follow them.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    /// What one stream is called in errors: "gzip member", "zstd frame".
    pub stream: &'static str,
    /// Its indefinite article: "a" gzip member, "an" xz stream.
    pub a: &'static str,
    /// The magic numbers a stream may begin with (a skippable frame's too).
    pub magics: &'static [Magic],
    /// The padding skipped between streams.
    pub padding: Padding,
}

/// A magic number: its bytes, and a mask of the bits that must match (zstd and lz4
/// skippable frames take any of 16 values in their first byte's low bits).
#[derive(Debug, Clone, Copy)]
pub struct Magic {
    /// The bytes, as they appear in the input.
    pub bytes: &'static [u8],
    /// Per byte, the bits of `bytes` compared (0xff: all).
    pub mask: &'static [u8],
}

impl Magic {
    /// A magic number whose every bit counts (of at most 8 bytes).
    pub const fn exact(bytes: &'static [u8]) -> Magic {
        Magic {
            bytes,
            mask: &[0xff; 8],
        }
    }

    /// Whether `head` (as much of the input as there is, up to the magic's length)
    /// begins as this magic does: the whole of it, or a start of it cut by the end.
    fn matches(&self, head: &[u8]) -> bool {
        head.iter()
            .zip(self.bytes.iter().zip(self.mask))
            .all(|(&b, (&m, &mask))| b & mask == m & mask)
    }
}

/// A compressed input, its bytes counted as a decoder takes them, that can look a few
/// bytes ahead (across the end of its buffer) to tell what follows a stream.
pub struct Streams<R> {
    inner: R,
    /// Bytes taken from `inner` to look at, not yet consumed (`ahead[taken..]`).
    ahead: Vec<u8>,
    taken: usize,
    /// Bytes consumed.
    at: u64,
    /// Whether a read found the end of `inner`.
    ended: bool,
    /// Where the stream being read begins.
    start: u64,
    /// Whether reading `inner` failed (its error is not the stream's).
    failed: bool,
}

impl<R: BufRead> Streams<R> {
    /// Reads the streams of `inner`.
    pub fn new(inner: R) -> Streams<R> {
        Streams {
            inner,
            ahead: Vec::new(),
            taken: 0,
            at: 0,
            ended: false,
            start: 0,
            failed: false,
        }
    }

    /// The number of bytes consumed so far: where the next stream would begin.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// Whether a read has found the end of the input (a decoder that then stops
    /// inside a stream was cut short, not given bad data).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Skips `n` bytes (a skippable frame's); returns how many there were, fewer only at
    /// the end of the input.
    pub fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        while left > 0 {
            let have = self.fill_buf()?.len();
            if have == 0 {
                break;
            }
            let take = have.min(usize::try_from(left).unwrap_or(usize::MAX));
            self.consume(take);
            left -= take as u64;
        }
        Ok(n - left)
    }

    /// Up to `n` bytes from here, fewer only at the end of the input; consumes nothing.
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.taken > 0 {
            self.ahead.drain(..self.taken);
            self.taken = 0;
        }
        if self.ahead.is_empty() {
            // Most often the buffer holds them: no copy.
            let have = self.fill_buf()?.len();
            if have >= n {
                return Ok(&self.inner.fill_buf()?[..n]);
            }
        }
        while self.ahead.len() < n {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            };
            if buf.is_empty() {
                self.ended = true;
                break;
            }
            let take = buf.len().min(n - self.ahead.len());
            self.ahead.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
        }
        Ok(&self.ahead[..n.min(self.ahead.len())])
    }

    /// At a stream's end: skips the padding `codec` allows and says whether another
    /// stream begins (`false`: the input ends here). Anything else is an error: data
    /// that is not a stream, padding xz does not allow, or the start of a magic number
    /// cut by the end of the input (a stream cut short).
    pub fn next_stream(&mut self, codec: &Codec) -> io::Result<bool> {
        let end = self.at;
        let mut zeros = 0u64;
        if codec.padding != Padding::None {
            loop {
                let n = self.fill_buf()?.iter().take_while(|&&b| b == 0).count();
                if n == 0 {
                    break;
                }
                self.consume(n);
                zeros += n as u64;
            }
        }
        let longest = codec.magics.iter().map(|m| m.bytes.len()).max();
        let head = self.peek(longest.unwrap_or(0))?;
        if head.is_empty() {
            if codec.padding == Padding::FourBytes && zeros % 4 != 0 {
                return Err(invalid(format!(
                    "the padding after the {} that ends at byte {end} is not a multiple of four bytes",
                    codec.stream
                )));
            }
            return Ok(false);
        }
        match codec.magics.iter().find(|m| m.matches(head)) {
            Some(m) if head.len() >= m.bytes.len() => {
                if codec.padding == Padding::FourBytes && zeros % 4 != 0 {
                    return Err(invalid(format!(
                        "the padding after the {} that ends at byte {end} is not a multiple of four bytes",
                        codec.stream
                    )));
                }
                self.start = self.at;
                Ok(true)
            }
            Some(_) => Err(cut_short(codec)),
            None => Err(trailing(codec.a, codec.stream, end + zeros)),
        }
    }

    /// The error for a decoder that takes no more of a stream while input is left: damage
    /// `library` (the decoder's) does not name.
    pub fn stalled(&self, codec: &Codec, library: &str) -> io::Error {
        let why = format!("{library} takes no more of it at byte {}", self.at);
        self.damaged(codec, &why)
    }

    /// The error for the stream being read, damaged (`why`, as its decoder says it):
    /// where it begins, in a file of many members (a WARC file's member per record).
    pub fn damaged(&self, codec: &Codec, why: &str) -> io::Error {
        invalid(format!(
            "the {} at byte {} is damaged ({why})",
            codec.stream, self.start
        ))
    }

    /// `e`, a decoder's error inside a stream: as it is if reading the input failed (a
    /// disk's error is no damage), the stream cut short if the decoder met the end of
    /// the input, else the stream damaged.
    pub fn inside(&self, codec: &Codec, e: io::Error) -> io::Error {
        if self.failed {
            e
        } else if e.kind() == io::ErrorKind::UnexpectedEof {
            cut_short(codec)
        } else {
            self.damaged(codec, &e.to_string())
        }
    }
}

/// The error for a stream the input ends inside.
pub fn cut_short(codec: &Codec) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{} cut short (the input ends inside it)", codec.stream),
    )
}

/// The error for data at byte `at`, after the end of a stream, that does not begin
/// one: `a` `stream` as [`Codec`] names them.
pub fn trailing(a: &str, stream: &str, at: u64) -> io::Error {
    invalid(format!(
        "what follows the end of {a} {stream}, at byte {at}, is not {a} {stream} (damaged, or other data after it)"
    ))
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

impl<R: BufRead> Read for Streams<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(buf.len());
            buf[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Streams<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.taken < self.ahead.len() {
            return Ok(&self.ahead[self.taken..]);
        }
        if !self.ahead.is_empty() {
            self.ahead.clear();
            self.taken = 0;
        }
        match self.inner.fill_buf() {
            Ok(buf) => {
                self.ended |= buf.is_empty();
                Ok(buf)
            }
            Err(e) => {
                self.failed |= e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.at += n as u64;
        if self.taken < self.ahead.len() {
            self.taken += n;
        } else {
            self.inner.consume(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufReader;

    const TEST: Codec = Codec {
        stream: "test stream",
        a: "a",
        magics: &[
            Magic::exact(b"MAGIC"),
            Magic {
                bytes: b"S",
                mask: &[0xf0],
            },
        ],
        padding: Padding::Any,
    };

    const FOUR: Codec = Codec {
        padding: Padding::FourBytes,
        ..TEST
    };

    /// What `next_stream` says after `consumed` bytes of `input` (read through a buffer of
    /// `buffer` bytes), and the rest of the input it leaves.
    fn after(
        codec: &Codec,
        input: &[u8],
        consumed: usize,
        buffer: usize,
    ) -> (io::Result<bool>, Vec<u8>) {
        let mut s = Streams::new(BufReader::with_capacity(buffer, input));
        let mut head = vec![0; consumed];
        s.read_exact(&mut head).unwrap();
        assert_eq!(s.at(), consumed as u64);
        let next = s.next_stream(codec);
        let mut rest = Vec::new();
        if next.is_ok() {
            s.read_to_end(&mut rest).unwrap();
        }
        (next, rest)
    }

    #[test]
    fn after_a_stream_come_padding_and_a_stream_or_the_end() {
        for buffer in [1, 2, 3, 64] {
            let (next, rest) = after(&TEST, b"abcMAGIC...", 3, buffer);
            assert!(next.unwrap());
            assert_eq!(rest, b"MAGIC...");
            // A masked magic: the high bits of "S" (0x53) and of "T" (0x54) are alike.
            let (next, rest) = after(&TEST, b"abc\0\0Tx", 3, buffer);
            assert!(next.unwrap());
            assert_eq!(rest, b"Tx");
            let (next, rest) = after(&TEST, b"abc\0\0\0", 3, buffer);
            assert!(!next.unwrap());
            assert!(rest.is_empty());
            let (next, _) = after(&TEST, b"abc", 3, buffer);
            assert!(!next.unwrap());
            let e = after(&TEST, b"abc\0\0MAGIx", 3, buffer).0.unwrap_err();
            assert_eq!(
                e.to_string(),
                "what follows the end of a test stream, at byte 5, is not a test stream (damaged, or other data after it)"
            );
            let e = after(&TEST, b"abcMAG", 3, buffer).0.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
            assert_eq!(
                e.to_string(),
                "test stream cut short (the input ends inside it)"
            );
            // Four-byte padding: only multiples of four, before a stream or the end.
            assert!(after(&FOUR, b"abc\0\0\0\0MAGIC", 3, buffer).0.unwrap());
            assert!(!after(&FOUR, b"abc\0\0\0\0\0\0\0\0", 3, buffer).0.unwrap());
            for odd in [&b"abc\0\0MAGIC"[..], b"abc\0\0\0"] {
                let e = after(&FOUR, odd, 3, buffer).0.unwrap_err();
                assert_eq!(
                    e.to_string(),
                    "the padding after the test stream that ends at byte 3 is not a multiple of four bytes"
                );
            }
            let none = Codec {
                padding: Padding::None,
                ..TEST
            };
            assert!(after(&none, b"abc\0MAGIC", 3, buffer).0.is_err());
        }
    }

    #[test]
    fn a_decoders_eof_inside_a_stream_is_told_as_cut_short() {
        let s = Streams::new(&b""[..]);
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(
            s.inside(&TEST, eof).to_string(),
            "test stream cut short (the input ends inside it)"
        );
        let other = io::Error::new(io::ErrorKind::InvalidData, "bad block");
        assert_eq!(
            s.inside(&TEST, other).to_string(),
            "the test stream at byte 0 is damaged (bad block)"
        );
        // A later stream is named by where it begins, past the padding.
        let mut s = Streams::new(&b"abc\0\0MAGIC..."[..]);
        s.skip(3).unwrap();
        assert!(s.next_stream(&TEST).unwrap());
        let other = io::Error::new(io::ErrorKind::InvalidData, "bad block");
        let told = s.inside(&TEST, other).to_string();
        assert_eq!(told, "the test stream at byte 5 is damaged (bad block)");
        // A failed read of the input is the input's error, not damage.
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk error"))
            }
        }
        let mut s = Streams::new(BufReader::new(Failing));
        let e = s.fill_buf().unwrap_err();
        assert_eq!(s.inside(&TEST, e).to_string(), "disk error");
    }

    proptest! {
        /// Looking ahead never changes the bytes read or their count, whatever the
        /// buffer and the reads.
        #[test]
        fn looking_ahead_leaves_the_bytes_as_they_are(
            input in proptest::collection::vec(any::<u8>(), 0..300),
            buffer in 1usize..40,
            steps in proptest::collection::vec((0usize..20, 0usize..20), 1..30),
        ) {
            let mut s = Streams::new(BufReader::with_capacity(buffer, &input[..]));
            let mut got = Vec::new();
            for (look, read) in steps {
                let ahead = s.peek(look).unwrap().to_vec();
                let at = got.len();
                prop_assert_eq!(&ahead[..], &input[at..(at + look).min(input.len())]);
                let mut part = vec![0; read];
                let n = s.read(&mut part).unwrap();
                got.extend_from_slice(&part[..n]);
                prop_assert_eq!(s.at(), got.len() as u64);
            }
            s.read_to_end(&mut got).unwrap();
            prop_assert!(s.ended());
            prop_assert_eq!(&got[..], &input[..]);
        }
    }
}
