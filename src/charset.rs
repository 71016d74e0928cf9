//! Character sets: which encoding a stream with no BOM is in (UTF-8 unless its bytes
//! say otherwise; GBK/GB18030, Big5 and the other East Asian legacy encodings by
//! chardetng), and a reader that decodes a legacy encoding to UTF-8, naming the line of
//! a byte it cannot decode.

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, UTF_8};
use std::io::{self, Read};

/// Picks an encoding for text with no BOM: UTF-8 when the bytes are valid UTF-8 (a
/// sequence cut by the sniff window does not count against it) or mostly so (then the bad
/// bytes are reported by line, or replaced with `--lossy`); else chardetng's guess if it
/// is an East Asian legacy encoding; else UTF-8 again, so stray bytes are reported rather
/// than silently decoded as, say, windows-1252.
pub fn detect(head: &[u8]) -> &'static Encoding {
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
pub(crate) const DETECT_NON_ASCII: usize = 2048;

/// The length of the shortest prefix of `b` holding `n` bytes of 0x80 and above (all of
/// `b` if it holds fewer).
pub(crate) fn end_of_nth_non_ascii(b: &[u8], n: usize) -> usize {
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
pub struct Decoding<R> {
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
    /// Decodes `inner`, in `encoding`; undecodable bytes are an error unless `lossy`.
    pub fn new(inner: R, encoding: &'static Encoding, lossy: bool) -> Self {
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
    fn the_detector_is_given_the_first_non_ascii_bytes() {
        assert_eq!(end_of_nth_non_ascii(b"ab\x80c\x81\x82d", 2), 5);
        assert_eq!(end_of_nth_non_ascii(b"abc", 1), 3);
    }
}
