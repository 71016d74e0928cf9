//! zstd input: every frame of a file, one after another (`cat a.zst b.zst`, a seekable
//! file's frames, skippable frames skipped by libzstd), through one decoding context; a
//! frame cut short, damaged or followed by anything but another frame is an error
//! ([`crate::streams`]). The zstd crate's reader reads frames too, but calls what
//! follows the last one `Unknown frame descriptor` and a file cut short `incomplete
//! frame`, without saying where.

use crate::streams::{Codec, Magic, Padding, Streams};
use std::io::{self, BufRead, Read};
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

/// zstd frames: magic 28 b5 2f fd, a skippable frame's 5? 2a 4d 18, or one of the
/// formats before zstd 0.8 (1e, and 22 to 27, then b5 2f fd), which libzstd reads too
/// (the zstd crate's `legacy` feature).
pub const ZSTD: Codec = Codec {
    stream: "zstd frame",
    a: "a",
    magics: &[
        Magic::exact(&[0x28, 0xb5, 0x2f, 0xfd]),
        Magic {
            bytes: &[0x50, 0x2a, 0x4d, 0x18],
            mask: &[0xf0, 0xff, 0xff, 0xff],
        },
        Magic::exact(&[0x1e, 0xb5, 0x2f, 0xfd]),
        // 22 to 27: 0010 0xxx, but for 20 and 21.
        Magic::exact(&[0x22, 0xb5, 0x2f, 0xfd]),
        Magic {
            bytes: &[0x24, 0xb5, 0x2f, 0xfd],
            mask: &[0xfc, 0xff, 0xff, 0xff],
        },
        Magic::exact(&[0x23, 0xb5, 0x2f, 0xfd]),
    ],
    padding: Padding::None,
};

/// Every zstd frame of an input, decompressed in turn.
pub struct Unzstd<R: BufRead> {
    input: Streams<R>,
    decoder: Decoder<'static>,
    /// A frame is begun and not yet ended (all its text handed out).
    in_frame: bool,
    /// A frame has begun: the input's first is there even when the input is empty.
    started: bool,
    /// The last call filled the caller's buffer: libzstd may hold more text.
    full: bool,
}

impl<R: BufRead> Unzstd<R> {
    /// Reads the frames of `inner`; the first begins at its first byte.
    pub fn new(inner: R) -> io::Result<Unzstd<R>> {
        Ok(Unzstd {
            input: Streams::new(inner),
            decoder: Decoder::new()?,
            in_frame: false,
            started: false,
            full: false,
        })
    }
}

impl<R: BufRead> Read for Unzstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if self.started {
                    if !self.input.next_stream(&ZSTD)? {
                        return Ok(0);
                    }
                    self.decoder.reinit()?;
                }
                (self.started, self.in_frame) = (true, true);
            }
            // Never a wait for input while libzstd holds text (a pipe's writer may wait
            // for it). It can only hold some when the last call filled the buffer: the
            // rest of a block it read whole. At a frame's end it also keeps the frame's
            // last byte of input back until the frame's text is out.
            let held = std::mem::take(&mut self.full);
            let input = match held {
                true => &[][..],
                false => self.input.fill_buf()?,
            };
            let eof = input.is_empty();
            let mut src = InBuffer::around(input);
            let mut dst = OutBuffer::around(&mut *buf);
            // 0: the frame is decoded and all its text handed out.
            let left = match self.decoder.run(&mut src, &mut dst) {
                Ok(left) => left,
                Err(e) => return Err(self.input.inside(&ZSTD, e)),
            };
            let (read, written) = (src.pos(), dst.pos());
            self.input.consume(read);
            self.in_frame = left != 0;
            self.full = written == buf.len();
            if written > 0 {
                return Ok(written);
            }
            if held {
                continue;
            }
            if self.in_frame && eof {
                return Err(crate::streams::cut_short(&ZSTD));
            }
            if self.in_frame && read == 0 {
                return Err(self.input.stalled(&ZSTD, "libzstd"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{BufReader, Write};

    fn unzstd(z: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Unzstd::new(z)?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// A skippable frame holding `n` bytes.
    fn skippable(n: u32) -> Vec<u8> {
        let mut f = vec![0x5a, 0x2a, 0x4d, 0x18];
        f.extend(n.to_le_bytes());
        f.extend(std::iter::repeat_n(7u8, n as usize));
        f
    }

    #[test]
    fn frames_follow_one_another_and_skippable_ones_are_skipped() {
        let (a, b) = (
            zstd::encode_all(&b"one\n"[..], 3).unwrap(),
            zstd::encode_all(&b"two\n"[..], 19).unwrap(),
        );
        assert_eq!(unzstd(&a).unwrap(), b"one\n");
        let all = [&a[..], &skippable(5), &b, &skippable(0)].concat();
        assert_eq!(unzstd(&all).unwrap(), b"one\ntwo\n");
        let empty = zstd::encode_all(&b""[..], 3).unwrap();
        assert_eq!(unzstd(&[&empty[..], &a].concat()).unwrap(), b"one\n");
    }

    #[test]
    fn what_follows_a_frame_is_a_frame_or_an_error_naming_its_byte() {
        let a = zstd::encode_all(&b"one\n"[..], 3).unwrap();
        let n = a.len();
        let e = unzstd(&[&a[..], b"garbage"].concat()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("what follows the end of a zstd frame, at byte {n}, is not a zstd frame (damaged, or other data after it)")
        );
        // zstd has no padding: a zero byte is data that is not a frame.
        let zeros = unzstd(&[&a[..], &[0; 8]].concat()).unwrap_err();
        assert!(
            zeros.to_string().contains(&format!("at byte {n}, is not")),
            "{zeros}"
        );
        let begun = unzstd(&[&a[..], &[0x28, 0xb5]].concat()).unwrap_err();
        assert_eq!(
            begun.to_string(),
            "zstd frame cut short (the input ends inside it)"
        );
        assert!(unzstd(b"").is_err(), "an empty input is a frame cut short");
    }

    #[test]
    fn a_frame_cut_anywhere_is_cut_short_and_damage_is_an_error() {
        let text: Vec<u8> = (0..30_000u32)
            .flat_map(|i| (i * 7 % 251).to_le_bytes())
            .collect();
        // With its checksum, as zstd(1) writes it: a flipped bit in the text is found.
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.include_checksum(true).unwrap();
        e.write_all(&text).unwrap();
        let first = e.finish().unwrap();
        let z = [&first[..], &zstd::encode_all(&b"tail"[..], 3).unwrap()].concat();
        for cut in (0..z.len()).step_by(61).chain([1, 5, z.len() - 1]) {
            let got = unzstd(&z[..cut]);
            if cut == first.len() {
                assert_eq!(got.unwrap(), text);
                continue;
            }
            let e = got.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}: {e}");
        }
        let mut damaged = z.clone();
        damaged[first.len() / 2] ^= 0x10;
        assert!(unzstd(&damaged).is_err());
    }

    /// libzstd holds text of a block it read whole when the caller's buffer fills, and a
    /// frame's last byte of input until the frame's text is out: the reader hands all of
    /// it out without asking for input that is not yet sent (a pipe's writer may wait for
    /// this text before it sends more). Fails without the reader's empty-input call.
    #[test]
    fn the_text_of_a_flush_comes_out_without_waiting_for_more_input() {
        use crate::test_support::Waiting;
        let text: Vec<u8> = (0..400_000u32).map(|i| (i * i % 253) as u8).collect();
        // Flushed mid-frame after 300,000 bytes (blocks of up to 128 KiB), then ended.
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.write_all(&text[..300_000]).unwrap();
        e.flush().unwrap();
        let flushed = e.get_ref().len();
        e.write_all(&text[300_000..]).unwrap();
        let z = e.finish().unwrap();
        // The next frame is not sent while the first one's text is read.
        let next = zstd::encode_all(&b"next"[..], 3).unwrap();
        for size in [1000, 4096, 1 << 16, 1 << 17] {
            let (pipe, sent) = Waiting::new([&z[..], &next].concat());
            sent.to(flushed);
            let mut r = Unzstd::new(pipe).unwrap();
            let mut got = vec![0; text.len()];
            let (before, after) = got.split_at_mut(300_000);
            for piece in before.chunks_mut(size) {
                r.read_exact(piece).unwrap();
            }
            sent.to(z.len());
            for piece in after.chunks_mut(size) {
                r.read_exact(piece).unwrap();
            }
            assert!(got == text, "reads of {size}");
            sent.to(z.len() + next.len());
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, b"next");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any frames and buffer sizes read as the zstd crate's own reader reads them.
        #[test]
        fn frames_read_as_the_zstd_crate_reads_them(
            texts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..5000), 1..5),
            buffer in 1usize..100,
            out in 1usize..5000,
        ) {
            let mut z = Vec::new();
            for (i, t) in texts.iter().enumerate() {
                z.extend(zstd::encode_all(&t[..], 1 + i as i32).unwrap());
            }
            let want = zstd::decode_all(&z[..]).unwrap();
            let mut r = Unzstd::new(BufReader::with_capacity(buffer, &z[..])).unwrap();
            let mut got = Vec::new();
            let mut chunk = vec![0; out];
            loop {
                let n = r.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            prop_assert_eq!(got, want);
        }
    }
}
