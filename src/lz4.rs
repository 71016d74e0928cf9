//! lz4 (the frame format of `lz4` and `.lz4` files), read and written with lz4_flex.
//!
//! Reading: lz4_flex's decoder stops at the end of a frame, and ends quietly when its input
//! stops where the next block's size was due, so a download cut short there would read as
//! a shorter text. [`Frames`] reads frame after frame to the end of the input (`cat a.lz4
//! b.lz4`, as `lz4 -d` does) and makes a frame cut short an error. Writing is fast enough
//! (hundreds of MB/s) to need no threads of its own.

use crate::streams::{cut_short, Codec, Magic, Padding, Streams};
use lz4_flex::frame::{BlockSize, FrameDecoder, FrameEncoder, FrameInfo};
use std::io::{self, BufRead, Read, Write};

/// lz4 frames: magic 04 22 4d 18, or a skippable frame's 5? 2a 4d 18 (skipped). Not
/// the legacy format's (02 21 4c 18): its frames have no end but the input's.
pub const LZ4: Codec = Codec {
    stream: "lz4 frame",
    a: "an",
    magics: &[
        Magic::exact(&[0x04, 0x22, 0x4d, 0x18]),
        Magic {
            bytes: &[0x50, 0x2a, 0x4d, 0x18],
            mask: &[0xf0, 0xff, 0xff, 0xff],
        },
    ],
    padding: Padding::None,
};

/// Every lz4 frame of a stream, one after another; a frame cut short, or followed by
/// anything but another frame, is an error ([`crate::streams`]).
pub struct Frames<R: BufRead> {
    frame: FrameDecoder<Streams<R>>,
    /// No frame begun: the end of the input here is the end of the stream.
    between: bool,
    /// A frame has begun: what follows one is checked before the next.
    started: bool,
}

impl<R: BufRead> Frames<R> {
    /// Reads the frames of `inner`.
    pub fn new(inner: R) -> Frames<R> {
        Frames {
            frame: FrameDecoder::new(Streams::new(inner)),
            between: true,
            started: false,
        }
    }
}

impl<R: BufRead> Read for Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.between {
                let input = self.frame.get_mut();
                let more = match self.started {
                    true => input.next_stream(&LZ4)?,
                    false => !input.fill_buf()?.is_empty(),
                };
                if !more {
                    return Ok(0);
                }
                self.started = true;
                // lz4_flex fails on a skippable frame: skipped here, as lz4(1) does.
                let head = input.peek(8)?;
                if head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18] {
                    let Some(len) = head.get(4..8) else {
                        return Err(cut_short(&LZ4));
                    };
                    let len = 8 + u64::from(u32::from_le_bytes([len[0], len[1], len[2], len[3]]));
                    if input.skip(len)? < len {
                        return Err(cut_short(&LZ4));
                    }
                    continue;
                }
                // Another frame follows: the decoder reads its header next.
                self.between = false;
            }
            let n = match self.frame.read(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.frame.get_ref().inside(&LZ4, e)),
            };
            if n > 0 {
                return Ok(n);
            }
            // A frame ended, or the decoder met the end of its input inside one.
            if self.frame.get_ref().ended() {
                return Err(cut_short(&LZ4));
            }
            self.between = true;
        }
    }
}

/// An lz4 frame writer: independent blocks of 256 KiB and a checksum of the content
/// (`lz4 -B5`). The block size is set, not left to lz4_flex's choice by the first write's
/// length, so the bytes depend on the data alone; 256 KiB rather than `lz4`'s default
/// 4 MiB keeps a small file's writer from taking a huge page for its buffer.
pub struct Lz4Writer<W: Write> {
    frame: FrameEncoder<W>,
}

impl<W: Write> Lz4Writer<W> {
    /// Starts a frame into `inner`.
    pub fn new(inner: W) -> Lz4Writer<W> {
        let info = FrameInfo::new()
            .block_size(BlockSize::Max256KB)
            .content_checksum(true);
        Lz4Writer {
            frame: FrameEncoder::with_frame_info(info, inner),
        }
    }

    /// Ends the frame and hands `inner` back.
    pub fn finish(self) -> io::Result<W> {
        Ok(self.frame.finish()?)
    }

    /// What is written into (all that was written before a flush is there).
    pub fn get_mut(&mut self) -> &mut W {
        self.frame.get_mut()
    }
}

impl<W: Write> Write for Lz4Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.write(buf)
    }

    /// Writes the block so far, and flushes `inner`: the reader gets every byte so far.
    fn flush(&mut self) -> io::Result<()> {
        self.frame.flush()?;
        self.frame.get_mut().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Compression;
    use crate::test_support::{assert_the_bytes_depend_on_the_data_alone, text, written};

    fn unlz4(z: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Frames::new(z).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn frames_read_back_one_after_another_and_a_cut_is_an_error() {
        let data = text(300_000);
        let z = written(Compression::Lz4, &data, &[70_000]);
        assert_eq!(unlz4(&z).unwrap(), data);
        let two = [z.clone(), z.clone()].concat();
        assert_eq!(unlz4(&two).unwrap(), [data.clone(), data.clone()].concat());
        // Cut anywhere but at a frame's end: an error, never a shorter text.
        for cut in (1..z.len()).step_by(997).chain([z.len() - 1, z.len() - 4]) {
            assert!(unlz4(&z[..cut]).is_err(), "cut at {cut} of {}", z.len());
            assert!(
                unlz4(&two[..z.len() + cut]).is_err(),
                "second frame cut at {cut}"
            );
        }
        assert_eq!(unlz4(&[]).unwrap(), b"");
        // Cut inside a block or a header, the error says so (lz4_flex says "failed to
        // fill whole buffer").
        for cut in [z.len() / 2, 5] {
            let e = unlz4(&z[..cut]).unwrap_err();
            assert_eq!(
                e.to_string(),
                "lz4 frame cut short (the input ends inside it)"
            );
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        }
        // After a frame: another frame, or an error naming the byte; lz4 has no padding.
        for after in [&b"garbage"[..], &[0; 4], &[0x50, 0x2a, 0x4d, 0x19]] {
            let e = unlz4(&[&z[..], after].concat()).unwrap_err();
            let want = format!(
                "what follows the end of an lz4 frame, at byte {}, is not an lz4 frame (damaged, or other data after it)",
                z.len()
            );
            assert_eq!(e.to_string(), want);
        }
        let begun = unlz4(&[&z[..], &[0x04, 0x22]].concat()).unwrap_err();
        assert_eq!(begun.kind(), io::ErrorKind::UnexpectedEof);
        // Skippable frames, first, between and last, are skipped; one cut short is not.
        let skippable = |n: u32| {
            let mut f = vec![0x5e, 0x2a, 0x4d, 0x18];
            f.extend(n.to_le_bytes());
            f.extend(std::iter::repeat_n(0x04, n as usize));
            f
        };
        let framed = [
            skippable(3),
            z.clone(),
            skippable(0),
            z.clone(),
            skippable(9),
        ]
        .concat();
        assert_eq!(unlz4(&framed).unwrap(), [&data[..], &data].concat());
        let cut = unlz4(&framed[..framed.len() - 1]).unwrap_err();
        assert_eq!(
            cut.to_string(),
            "lz4 frame cut short (the input ends inside it)"
        );
        let cut = unlz4(&skippable(3)[..6]).unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        assert_the_bytes_depend_on_the_data_alone(Compression::Lz4, &text(1 << 20));
    }

    #[test]
    fn a_flush_makes_everything_so_far_readable() {
        let data = text(5000);
        let mut w = Lz4Writer::new(Vec::new());
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        let mut got = vec![0; 300];
        FrameDecoder::new(&w.frame.get_ref()[..])
            .read_exact(&mut got)
            .unwrap();
        assert_eq!(got, &data[..300]);
        w.write_all(&data[300..]).unwrap();
        assert_eq!(unlz4(&w.finish().unwrap()).unwrap(), data);
    }
}
