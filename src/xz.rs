//! xz output: one standard `.xz` stream, at xz's default preset (6).
//!
//! LZMA2 at preset 6 compresses Chinese text at ~1.5 MB/s a core (the bench dump), a
//! twentieth of what one core classifies, so a large stream is compressed by liblzma's
//! own worker threads, a [`BLOCK`] at a time, as `xz -T` does; its bytes depend on the
//! block size, not on the number of workers. A stream that ends within its first block
//! (most files of a dump) is compressed where it is written, in one go, with a dictionary
//! no larger than the data: a preset-6 encoder set up per small file would allocate and
//! clear ~94 MB for each.

use liblzma::stream::{Check, Filters, LzmaOptions, MtStreamBuilder, Stream};
use liblzma::write::XzEncoder;
use std::io::{self, Write};

/// Uncompressed bytes per block of a large stream, and so its dictionary: blocks are
/// compressed independently, so a longer history would never be used.
pub const BLOCK: usize = 4 << 20;
/// xz's default preset.
const PRESET: u32 = 6;
/// Most of liblzma's workers for one stream (as for zstd: each holds a block or two).
const WORKERS: usize = 4;

/// An xz writer; [`XzWriter::finish`] ends the stream.
pub struct XzWriter<W: Write> {
    state: State<W>,
}

enum State<W: Write> {
    /// Less than a block so far and no flush: the data is held.
    Holding { inner: W, held: Vec<u8> },
    /// A large or flushed stream, compressed by liblzma's workers.
    Streaming(XzEncoder<W>),
    /// Between the two, while switching (never seen outside a method).
    Switching,
}

impl<W: Write> XzWriter<W> {
    /// An xz writer into `inner`.
    pub fn new(inner: W) -> XzWriter<W> {
        XzWriter {
            state: State::Holding {
                inner,
                held: Vec::new(),
            },
        }
    }

    /// Ends the stream and hands `inner` back.
    pub fn finish(self) -> io::Result<W> {
        match self.state {
            State::Holding { mut inner, held } => {
                let mut e = XzEncoder::new_stream(Vec::new(), small_encoder(held.len())?);
                e.write_all(&held)?;
                inner.write_all(&e.finish()?)?;
                Ok(inner)
            }
            State::Streaming(e) => e.finish(),
            State::Switching => Err(broken()),
        }
    }

    /// Hands what is held to liblzma's workers: from here on the stream is a large one.
    fn stream(&mut self) -> io::Result<&mut XzEncoder<W>> {
        if let State::Holding { .. } = self.state {
            let State::Holding { inner, held } =
                std::mem::replace(&mut self.state, State::Switching)
            else {
                unreachable!("matched above")
            };
            let mut e = XzEncoder::new_stream(inner, large_encoder()?);
            e.write_all(&held)?;
            self.state = State::Streaming(e);
        }
        match &mut self.state {
            State::Streaming(e) => Ok(e),
            _ => Err(broken()),
        }
    }
}

impl<W: Write> Write for XzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let State::Holding { held, .. } = &mut self.state {
            if held.len() + buf.len() <= BLOCK {
                held.extend_from_slice(buf);
                return Ok(buf.len());
            }
        }
        self.stream()?.write_all(buf)?;
        Ok(buf.len())
    }

    /// Ends the current block and writes everything: the reader gets every byte so far
    /// (pipe mode flushes record by record).
    fn flush(&mut self) -> io::Result<()> {
        if let State::Holding { held, inner } = &mut self.state {
            if held.is_empty() {
                return inner.flush();
            }
        }
        let e = self.stream()?;
        e.flush()?;
        // liblzma's writer keeps the flush's last output in its buffer until the next
        // write: an empty one hands it over.
        e.write(&[])?;
        e.get_mut().flush()
    }
}

/// The encoder of a stream that ends within one block: LZMA2 at [`PRESET`] with a
/// dictionary just large enough for `len` bytes.
fn small_encoder(len: usize) -> io::Result<Stream> {
    // LZMA2's smallest dictionary is 4 KiB.
    let dict = len.next_power_of_two().clamp(4096, BLOCK);
    let mut opts = LzmaOptions::new_preset(PRESET).map_err(io::Error::other)?;
    opts.dict_size(dict as u32);
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    Stream::new_stream_encoder(&filters, Check::Crc64).map_err(io::Error::other)
}

/// The encoder of a large stream: liblzma's workers, a [`BLOCK`] each.
fn large_encoder() -> io::Result<Stream> {
    let mut opts = LzmaOptions::new_preset(PRESET).map_err(io::Error::other)?;
    opts.dict_size(BLOCK as u32);
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    let workers = rayon::current_num_threads().clamp(1, WORKERS);
    MtStreamBuilder::new()
        .threads(workers as u32)
        .block_size(BLOCK as u64)
        .filters(filters)
        .check(Check::Crc64)
        .encoder()
        .map_err(io::Error::other)
}

fn broken() -> io::Error {
    io::Error::other("the xz writer failed before and cannot go on")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Compression;
    use crate::test_support::{assert_the_bytes_depend_on_the_data_alone, text, written};
    use std::io::Read;

    fn unxz(z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        // A single-stream decoder: the output is one stream, as `xz` writes it.
        liblzma::read::XzDecoder::new(z)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn xz(data: &[u8], piece: usize) -> Vec<u8> {
        written(Compression::Xz, data, &[piece])
    }

    #[test]
    fn small_and_large_streams_read_back_whole() {
        for n in [0, 1, 5000, BLOCK, BLOCK + 1, 2 * BLOCK + 777] {
            let data = text(n);
            assert_eq!(unxz(&xz(&data, 300_000)), data, "{n} bytes");
        }
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        assert_the_bytes_depend_on_the_data_alone(Compression::Xz, &text(2 * BLOCK + 999));
    }

    #[test]
    fn a_flush_makes_everything_so_far_readable() {
        let data = text(5000);
        let mut w = XzWriter::new(Vec::new());
        w.flush().unwrap();
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        let State::Streaming(e) = &w.state else {
            panic!("a flush starts the stream")
        };
        let mut got = vec![0; 300];
        liblzma::read::XzDecoder::new(&e.get_ref()[..])
            .read_exact(&mut got)
            .unwrap();
        assert_eq!(got, &data[..300]);
        w.write_all(&data[300..]).unwrap();
        assert_eq!(unxz(&w.finish().unwrap()), data);
    }
}
