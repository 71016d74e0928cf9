//! lz4 (the frame format of `lz4` and `.lz4` files), read and written with lz4_flex.
//!
//! Reading: lz4_flex's decoder stops at the end of a frame, and ends quietly when its input
//! stops where the next block's size was due, so a download cut short there would read as
//! a shorter text. [`Frames`] reads frame after frame to the end of the input (`cat a.lz4
//! b.lz4`, as `lz4 -d` does) and makes a frame cut short an error. Writing is fast enough
//! (hundreds of MB/s) to need no threads of its own.

use lz4_flex::frame::{BlockSize, FrameDecoder, FrameEncoder, FrameInfo};
use std::io::{self, BufRead, Read, Write};

/// Every lz4 frame of a stream, one after another; a frame cut short is an error.
pub struct Frames<R: BufRead> {
    frame: FrameDecoder<Watched<R>>,
    /// No frame begun: the end of the input here is the end of the stream.
    between: bool,
}

impl<R: BufRead> Frames<R> {
    /// Reads the frames of `inner`.
    pub fn new(inner: R) -> Frames<R> {
        let input = Watched {
            inner,
            ended: false,
        };
        Frames {
            frame: FrameDecoder::new(input),
            between: true,
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
                if self.frame.get_mut().inner.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                // Another frame follows: the decoder reads its header next.
                self.between = false;
            }
            let n = self.frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // A frame ended, or the decoder met the end of its input inside one.
            if self.frame.get_ref().ended {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "lz4 frame cut short (the input ends inside it)",
                ));
            }
            self.between = true;
        }
    }
}

/// The decoder's input, noting whether a read found its end.
struct Watched<R> {
    inner: R,
    ended: bool,
}

impl<R: BufRead> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ended |= n == 0 && !buf.is_empty();
        Ok(n)
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
        assert_eq!(unlz4(&two).unwrap(), [data.clone(), data].concat());
        // Cut anywhere but at a frame's end: an error, never a shorter text.
        for cut in (1..z.len()).step_by(997).chain([z.len() - 1, z.len() - 4]) {
            assert!(unlz4(&z[..cut]).is_err(), "cut at {cut} of {}", z.len());
            assert!(
                unlz4(&two[..z.len() + cut]).is_err(),
                "second frame cut at {cut}"
            );
        }
        assert_eq!(unlz4(&[]).unwrap(), b"");
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
