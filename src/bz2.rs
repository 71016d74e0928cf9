//! bzip2 output compressed on every core, as pbzip2 does it: the stream is cut into
//! blocks of [`BLOCK`] bytes and each is compressed on rayon's pool as a whole bzip2
//! stream of its own; the streams are written one after another, in order.
//!
//! One bzip2 compressor runs at ~9 MB/s (level 9, measured on the bench dump), a third of
//! what one core classifies. bzip2 compresses a block at a time anyway (900 kB at level
//! 9), so independent streams of one block each cost next to nothing in ratio.
//! Concatenated streams are what `bzip2 -d`, Python's `bz2`, Hadoop and pbzip2 read as one
//! file (Wikipedia's multistream dumps are made so); a reader that stops after the first
//! stream (Rust's `bzip2::read::BzDecoder`, unlike its `MultiBzDecoder`) would see only
//! the first block. The bytes depend on the data alone, not on the number of threads.

use crate::in_order::InOrder;
use std::io::{self, Write};

/// Uncompressed bytes per stream: just under bzip2's own block at level 9 (900,000 bytes
/// after its first run-length pass, which can lengthen runs of four), so a stream is
/// one block.
pub const BLOCK: usize = 880_000;

/// A bzip2 writer whose blocks are compressed in parallel. [`ParallelBzip2::finish`]
/// writes the last of them; dropping it unfinished leaves the streams before (the
/// caller's temporary file is then removed).
pub struct ParallelBzip2<W: Write> {
    inner: W,
    /// Bytes not yet handed to a compressor (less than [`BLOCK`]).
    block: Vec<u8>,
    /// Whether any stream was sent: an empty file is still one (empty) bzip2 stream.
    sent: bool,
    order: InOrder,
}

impl<W: Write> ParallelBzip2<W> {
    /// A bzip2 writer into `inner`.
    pub fn new(inner: W) -> ParallelBzip2<W> {
        ParallelBzip2 {
            inner,
            block: Vec::new(),
            sent: false,
            order: InOrder::new("bzip2"),
        }
    }

    /// Compresses what is left as the last stream (compressed here when it is the only
    /// one: a small file's writer hands nothing over), writes every stream in order and
    /// hands `inner` back.
    pub fn finish(mut self) -> io::Result<W> {
        let last = std::mem::take(&mut self.block);
        if !last.is_empty() || !self.sent {
            if self.order.is_empty() {
                self.inner.write_all(&compress(&last)?)?;
            } else {
                self.order.send(move || compress(&last));
            }
        }
        self.order.drain(&mut self.inner, 0)?;
        Ok(self.inner)
    }

    fn send(&mut self) {
        let data = std::mem::take(&mut self.block);
        self.sent = true;
        self.order.send(move || compress(&data));
    }
}

impl<W: Write> Write for ParallelBzip2<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.block.capacity() == 0 {
                // Grown as data comes: most files of a dump are far smaller than a block.
                self.block.reserve(rest.len().min(BLOCK));
            }
            let take = rest.len().min(BLOCK - self.block.len());
            self.block.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.block.len() == BLOCK {
                self.send();
                self.order.drain_to_bound(&mut self.inner)?;
            }
        }
        Ok(buf.len())
    }

    /// Compresses what is buffered as a stream of its own and writes everything: the
    /// reader gets every byte so far (pipe mode flushes record by record).
    fn flush(&mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            self.send();
        }
        self.order.drain(&mut self.inner, 0)?;
        self.inner.flush()
    }
}

/// `data` as one whole bzip2 stream, at level 9 (bzip2's default).
fn compress(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = bzip2::write::BzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        bzip2::Compression::best(),
    );
    e.write_all(data)?;
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Compression;
    use crate::test_support::{assert_the_bytes_depend_on_the_data_alone, text, written};
    use std::io::Read;

    fn bunzip(z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        bzip2::read::MultiBzDecoder::new(z)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn bz2(data: &[u8], piece: usize) -> Vec<u8> {
        written(Compression::Bzip2, data, &[piece])
    }

    #[test]
    fn streams_read_back_whole_and_one_per_block() {
        for n in [0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12345] {
            let data = text(n);
            let z = bz2(&data, 70_000);
            assert_eq!(bunzip(&z), data, "{n} bytes");
            let streams = z.windows(10).filter(|w| w.starts_with(b"BZh9")).count();
            assert!(
                streams >= n.div_ceil(BLOCK).max(1),
                "{n}: {streams} streams"
            );
        }
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        assert_the_bytes_depend_on_the_data_alone(Compression::Bzip2, &text(2 * BLOCK + 999));
    }

    #[test]
    fn a_flush_makes_everything_so_far_readable() {
        let data = text(5000);
        let mut w = ParallelBzip2::new(Vec::new());
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        assert_eq!(bunzip(&w.inner), &data[..300]);
        w.flush().unwrap();
        w.write_all(&data[300..]).unwrap();
        assert_eq!(bunzip(&w.finish().unwrap()), data);
    }
}
