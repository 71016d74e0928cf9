//! xz output: one standard `.xz` stream, at xz's default preset (6) or another.
//!
//! LZMA2 at preset 6 compresses Chinese text at ~1.5 MB/s a core (the bench dump), a
//! twentieth of what one core classifies, so a large stream is compressed by liblzma's
//! own worker threads, a [`BLOCK`] at a time, as `xz -T` does; its bytes depend on the
//! block size, not on the number of workers. A stream that ends within its first block
//! (most files of a dump) is compressed where it is written, in one go, with a dictionary
//! no larger than the data: a preset-6 encoder set up per small file would allocate and
//! clear ~94 MB for each.

use liblzma::stream::{Action, Check, Filters, LzmaOptions, MtStreamBuilder, Status, Stream};
use std::io::{self, Write};

/// Uncompressed bytes per block of a large stream, and so its dictionary: blocks are
/// compressed independently, so a longer history would never be used.
pub const BLOCK: usize = 4 << 20;
/// Most of liblzma's workers for one stream (as for zstd: each holds a block or two).
const WORKERS: usize = 4;
/// Room for compressed bytes on their way to the inner writer.
const OUT: usize = 64 << 10;

/// An xz writer; [`XzWriter::finish`] ends the stream. Dropped unfinished (an error, a
/// stop request), it leaves the stream cut short and does no more work: liblzma's own
/// writer would finish the stream on drop, compressing what it holds first.
pub struct XzWriter<W: Write> {
    inner: W,
    /// What was written while the stream may still end within its first block.
    held: Vec<u8>,
    /// liblzma's workers, once the stream is large or was flushed.
    stream: Option<Stream>,
    /// Compressed bytes on their way to `inner`.
    out: Vec<u8>,
    /// The preset, 0 to 9.
    preset: u32,
}

impl<W: Write> XzWriter<W> {
    /// An xz writer into `inner` at `preset` (0 to 9; presets 7 to 9 differ from 6 only
    /// in a dictionary larger than a [`BLOCK`], so they write what 6 writes).
    pub fn new(inner: W, preset: u32) -> XzWriter<W> {
        XzWriter {
            inner,
            held: Vec::new(),
            stream: None,
            out: Vec::new(),
            preset,
        }
    }

    /// Ends the stream and hands `inner` back. A stream still held is compressed here,
    /// in one go.
    pub fn finish(mut self) -> io::Result<W> {
        if self.stream.is_none() {
            self.stream = Some(small_encoder(self.held.len(), self.preset)?);
        }
        let held = std::mem::take(&mut self.held);
        self.code(&held, Action::Finish)?;
        Ok(self.inner)
    }

    /// What is written into (all that was written before a flush is there).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Hands what is held to liblzma's workers: from here on the stream is a large one.
    fn start(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            self.stream = Some(large_encoder(self.preset)?);
            let held = std::mem::take(&mut self.held);
            self.code(&held, Action::Run)?;
        }
        Ok(())
    }

    /// Runs `input` through the encoder with `action`, writing what comes out: all of the
    /// input for [`Action::Run`], up to the end of the flush or stream for the others.
    fn code(&mut self, mut input: &[u8], action: Action) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        if self.out.capacity() == 0 {
            self.out.reserve(OUT);
        }
        loop {
            self.out.clear();
            let before = stream.total_in();
            let status = stream.process_vec(input, &mut self.out, action)?;
            input = &input[(stream.total_in() - before) as usize..];
            self.inner.write_all(&self.out)?;
            let done = match action {
                Action::Run => input.is_empty(),
                _ => status == Status::StreamEnd,
            };
            if done {
                return Ok(());
            }
        }
    }
}

impl<W: Write> Write for XzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stream.is_none() && self.held.len() + buf.len() <= BLOCK {
            self.held.extend_from_slice(buf);
        } else {
            self.start()?;
            self.code(buf, Action::Run)?;
        }
        Ok(buf.len())
    }

    /// Ends the current block and writes everything: the reader gets every byte so far
    /// (pipe mode flushes record by record).
    fn flush(&mut self) -> io::Result<()> {
        if self.stream.is_some() || !self.held.is_empty() {
            self.start()?;
            self.code(&[], Action::FullFlush)?;
        }
        self.inner.flush()
    }
}

/// The encoder of a stream that ends within one block, at `preset`: a dictionary just
/// large enough for its `len` bytes.
fn small_encoder(len: usize, preset: u32) -> io::Result<Stream> {
    // LZMA2's smallest dictionary is 4 KiB.
    let dict = len.next_power_of_two().clamp(4096, BLOCK);
    Stream::new_stream_encoder(&lzma2(dict, preset)?, Check::Crc64).map_err(io::Error::other)
}

/// The encoder of a large stream at `preset`: liblzma's workers, a [`BLOCK`] each.
fn large_encoder(preset: u32) -> io::Result<Stream> {
    let workers = rayon::current_num_threads().clamp(1, WORKERS);
    MtStreamBuilder::new()
        .threads(workers as u32)
        .block_size(BLOCK as u64)
        .filters(lzma2(BLOCK, preset)?)
        .check(Check::Crc64)
        .encoder()
        .map_err(io::Error::other)
}

/// LZMA2 at `preset` with a dictionary of at most `dict` bytes (a preset's own may be
/// smaller: 256 KiB at 0).
fn lzma2(dict: usize, preset: u32) -> io::Result<Filters> {
    // xz's presets' dictionaries (xz(1), "Presets").
    const PRESET_DICT: [usize; 10] = [256, 1024, 2048, 4096, 4096, 8192, 8192, 16384, 32768, 65536];
    let mut opts = LzmaOptions::new_preset(preset).map_err(io::Error::other)?;
    let own = PRESET_DICT
        .get(preset as usize)
        .map_or(dict, |kib| kib << 10);
    opts.dict_size(dict.min(own) as u32);
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Compression;
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
    fn every_preset_reads_back_and_presets_above_6_write_what_6_writes() {
        let data = text(BLOCK + 1000);
        let at = |preset, n: usize| {
            let mut w = XzWriter::new(Vec::new(), preset);
            w.write_all(&data[..n]).unwrap();
            w.finish().unwrap()
        };
        for preset in 0..=9 {
            for n in [0, 5000, data.len()] {
                assert_eq!(
                    unxz(&at(preset, n)),
                    &data[..n],
                    "preset {preset}, {n} bytes"
                );
            }
        }
        assert_eq!(at(9, data.len()), at(6, data.len()));
        assert_ne!(at(0, 200_000), at(6, 200_000));
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        assert_the_bytes_depend_on_the_data_alone(Compression::Xz, &text(2 * BLOCK + 999));
    }

    #[test]
    fn a_flush_makes_everything_so_far_readable() {
        let data = text(5000);
        let mut w = XzWriter::new(Vec::new(), 6);
        w.flush().unwrap();
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        assert!(w.stream.is_some(), "a flush starts the stream");
        let mut got = vec![0; 300];
        liblzma::read::XzDecoder::new(&w.inner[..])
            .read_exact(&mut got)
            .unwrap();
        assert_eq!(got, &data[..300]);
        w.write_all(&data[300..]).unwrap();
        assert_eq!(unxz(&w.finish().unwrap()), data);
    }
}
