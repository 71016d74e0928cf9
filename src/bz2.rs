//! bzip2 output compressed on every core, as lbzip2 does it: the stream is cut into
//! blocks of [`BLOCK`] bytes at level 9 (at a lower level, 7/9 of its 100 kB units),
//! each compressed on rayon's pool by libbzip2 as a stream of one bzip2 block, and the
//! blocks are cut out of those streams and written, in order, as one stream.
//!
//! One bzip2 compressor runs at ~9 MB/s (level 9, measured on the bench dump), a third of
//! what one core classifies. bzip2 compresses a block at a time anyway, each block on its
//! own, so the parallel stream costs nothing in ratio. Its blocks are bit-aligned, so they
//! are shifted into place as they are written, and the stream's CRC is folded from the
//! blocks' own. One stream, not a stream per block (as pbzip2 writes): some readers
//! (Rust's `bzip2::read::BzDecoder`, Apache Commons' by default) stop after the first
//! stream without a word. A flush (pipe mode) ends the stream so far, and the next bytes
//! start another. The bytes depend on the data and the flushes alone, not on the number
//! of threads.

use crate::in_order::InOrder;
use std::io::{self, Write};

/// Uncompressed bytes per block. bzip2's block at level 9 holds 899,981 bytes after its
/// first run-length pass, which can lengthen the data by a quarter (a run of four becomes
/// five bytes): 700,000 bytes always make one block.
pub const BLOCK: usize = 700_000;
/// The length of a stream's header (`BZh` and the level).
const HEADER: usize = 4;
/// The magic that opens a block (48 bits).
pub(crate) const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
/// The magic that ends a stream (48 bits), before the stream's CRC.
pub(crate) const END_MAGIC: u64 = 0x1772_4538_5090;

/// One compressed block, cut out of the one-block stream libbzip2 wrote for it.
struct Block {
    /// The stream; the block's bits start at its 5th byte.
    stream: Vec<u8>,
    /// The block's length in bits.
    bits: u64,
    /// The block's CRC (of its uncompressed bytes).
    crc: u32,
}

/// A bzip2 writer whose blocks are compressed in parallel. [`ParallelBzip2::finish`]
/// ends the stream; dropping it unfinished leaves a truncated stream (the caller's
/// temporary file is then removed).
pub struct ParallelBzip2<W: Write> {
    out: Bits<W>,
    /// Bytes not yet handed to a compressor (less than `block_len`).
    block: Vec<u8>,
    order: InOrder<Block>,
    /// The stream's level, `b'1'` to `b'9'`.
    level: u8,
    /// Uncompressed bytes per block at that level.
    block_len: usize,
}

impl<W: Write> ParallelBzip2<W> {
    /// A bzip2 writer into `inner` at `level` (1 to 9): blocks of up to `level` x 100 kB
    /// after bzip2's first run-length pass, so `level` x 77,777 bytes of input.
    pub fn new(inner: W, level: u32) -> ParallelBzip2<W> {
        let level = level.clamp(1, 9);
        ParallelBzip2 {
            out: Bits::new(inner),
            block: Vec::new(),
            order: InOrder::new("bzip2"),
            level: b'0' + level as u8,
            block_len: BLOCK * level as usize / 9,
        }
    }

    /// Compresses what is left as the last block (here when it is the only one: a small
    /// file's writer hands nothing over), writes every block in order, ends the stream
    /// and hands `inner` back.
    pub fn finish(mut self) -> io::Result<W> {
        let last = std::mem::take(&mut self.block);
        if !last.is_empty() {
            if self.order.is_empty() {
                self.out.compressed(compress(&last)?, self.level)?;
            } else {
                self.order.send(move || compress(&last));
            }
        }
        let level = self.level;
        self.order.drain(0, |b| self.out.compressed(b, level))?;
        if self.out.streams == 0 {
            // No data at all: still one (empty) stream, as bzip2 writes for empty input.
            self.out.open(self.level)?;
        }
        if self.out.open {
            self.out.close()?;
        }
        Ok(self.out.inner)
    }

    /// What is written into (positioned after everything written so far once
    /// [`ParallelBzip2::checkpoint`] has returned).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out.inner
    }

    fn send(&mut self) {
        let data = std::mem::take(&mut self.block);
        self.order.send(move || compress(&data));
    }

    /// Compresses what is buffered as a block of its own (a short one) and writes every
    /// block so far, leaving the stream open: the file then holds all but the last 0-7
    /// bits, and [`ParallelBzip2::resumed`] goes on with it from the returned [`Tail`]
    /// as this writer would (a checkpoint for `--resume`, [`crate::journal`]). A stream
    /// of blocks needs no state but its CRC and where its bits stand, so the output
    /// stays one stream, which every bzip2 reader takes.
    pub fn checkpoint(&mut self) -> io::Result<Tail> {
        if !self.block.is_empty() {
            self.send();
        }
        let level = self.level;
        self.order.drain(0, |b| self.out.compressed(b, level))?;
        if !self.out.open {
            self.out.open(level)?;
        }
        self.out.inner.flush()?;
        let held = self.out.held;
        Ok(Tail {
            bits: (self.out.acc & ((1 << held) - 1)) as u8,
            held: held as u8,
            crc: self.out.crc,
        })
    }

    /// Goes on with the stream a [`ParallelBzip2::checkpoint`] returned `tail` for, at
    /// `level` (1 to 9, as it was), into `inner`: the file cut back to the checkpoint's
    /// length and positioned at its end. `None` if `tail` is no such state.
    pub fn resumed(inner: W, level: u32, tail: Tail) -> Option<ParallelBzip2<W>> {
        if tail.held >= 8 || u32::from(tail.bits) >> tail.held != 0 {
            return None;
        }
        let mut w = ParallelBzip2::new(inner, level);
        w.out.acc = u64::from(tail.bits);
        w.out.held = u32::from(tail.held);
        w.out.open = true;
        w.out.streams = 1;
        w.out.crc = tail.crc;
        Some(w)
    }
}

/// Where a bzip2 stream left open at a checkpoint stands: the bits of its last byte not
/// yet written and its CRC so far ([`ParallelBzip2::checkpoint`]). Recorded in the
/// journal, as the written bytes cannot tell where the last block's bits end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tail {
    /// The bits, in the low `held` bits.
    pub bits: u8,
    /// How many (0 to 7).
    pub held: u8,
    /// The stream's CRC, folded from its blocks' so far.
    pub crc: u32,
}

impl<W: Write> Write for ParallelBzip2<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.block.capacity() == 0 {
                // Grown as data comes: most files of a dump are far smaller than a block.
                self.block.reserve(rest.len().min(self.block_len));
            }
            let take = rest.len().min(self.block_len - self.block.len());
            self.block.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.block.len() == self.block_len {
                self.send();
                let level = self.level;
                self.order
                    .drain_to_bound(|b| self.out.compressed(b, level))?;
            }
        }
        Ok(buf.len())
    }

    /// Compresses what is buffered, writes everything and ends the stream so far: the
    /// reader gets every byte so far (pipe mode flushes record by record).
    fn flush(&mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            self.send();
        }
        let level = self.level;
        self.order.drain(0, |b| self.out.compressed(b, level))?;
        if self.out.open {
            self.out.close()?;
        }
        self.out.inner.flush()
    }
}

/// A bzip2 stream, written a bit at a time where blocks meet: chaff's output, and the
/// one-block streams the parallel reader ([`crate::bunzip2`]) hands to libbzip2.
pub(crate) struct Bits<W: Write> {
    inner: W,
    /// Bits not yet written, in the low `held` bits.
    acc: u64,
    held: u32,
    /// Whole bytes on their way to `inner`.
    bytes: Vec<u8>,
    /// Whether a stream is open (its header written, its end not).
    open: bool,
    /// Streams opened so far.
    streams: u64,
    /// The open stream's CRC, folded from its blocks'.
    crc: u32,
}

impl<W: Write> Bits<W> {
    /// No stream written into `inner` yet.
    pub(crate) fn new(inner: W) -> Bits<W> {
        Bits {
            inner,
            acc: 0,
            held: 0,
            bytes: Vec::new(),
            open: false,
            streams: 0,
            crc: 0,
        }
    }

    /// Appends the low `n` bits of `v` (n <= 32).
    fn put(&mut self, v: u64, n: u32) {
        self.acc = (self.acc << n) | (v & ((1 << n) - 1));
        self.held += n;
        while self.held >= 8 {
            self.held -= 8;
            self.bytes.push((self.acc >> self.held) as u8);
        }
    }

    /// Opens a stream of blocks of up to `level` (b'1' to b'9') x 100 kB.
    pub(crate) fn open(&mut self, level: u8) -> io::Result<()> {
        self.inner.write_all(&[b'B', b'Z', b'h', level])?;
        self.open = true;
        self.streams += 1;
        self.crc = 0;
        Ok(())
    }

    /// Appends `n` bits of `src` from its bit `from`: a block, or a part of one.
    pub(crate) fn append(&mut self, src: &[u8], from: u64, n: u64) {
        let mut at = from;
        let end = from + n;
        // Up to a whole byte of `src`, then its bytes whole.
        if at % 8 != 0 {
            let take = (8 - at % 8).min(end - at);
            self.put(read(src, at, take as u32), take as u32);
            at += take;
        }
        let whole = ((end - at) / 8) as usize;
        let first = (at / 8) as usize;
        self.bytes.reserve(whole + 1);
        for &byte in &src[first..first + whole] {
            self.put(u64::from(byte), 8);
        }
        at += whole as u64 * 8;
        if at < end {
            self.put(read(src, at, (end - at) as u32), (end - at) as u32);
        }
    }

    /// Ends a block appended whole, whose CRC is `crc`, and writes it out.
    pub(crate) fn end_block(&mut self, crc: u32) -> io::Result<()> {
        self.crc = self.crc.rotate_left(1) ^ crc;
        self.inner.write_all(&self.bytes)?;
        self.bytes.clear();
        Ok(())
    }

    /// Appends a block compressed on its own, opening a stream at `level` first if none
    /// is.
    fn compressed(&mut self, b: Block, level: u8) -> io::Result<()> {
        if !self.open {
            self.open(level)?;
        }
        self.append(&b.stream, HEADER as u64 * 8, b.bits);
        self.end_block(b.crc)
    }

    /// Ends the open stream: its end magic, its CRC, and zero bits to a whole byte.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        self.put(END_MAGIC >> 24, 24);
        self.put(END_MAGIC & 0xff_ffff, 24);
        self.put(u64::from(self.crc), 32);
        if self.held > 0 {
            self.put(0, 8 - self.held);
        }
        self.inner.write_all(&self.bytes)?;
        self.bytes.clear();
        self.open = false;
        Ok(())
    }

    /// What was written into.
    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

/// `data` (not empty, at most [`BLOCK`] bytes) compressed as one block. libbzip2 at
/// level 9 writes it as it would at any level its block fits, but for the header.
fn compress(data: &[u8]) -> io::Result<Block> {
    let mut e = bzip2::write::BzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        bzip2::Compression::best(),
    );
    e.write_all(data)?;
    cut(e.finish()?)
}

/// The block of a one-block stream: after the 4-byte header, up to the end magic, which
/// sits 80 bits (magic and CRC) before the stream's end, less 0-7 bits of padding.
fn cut(stream: Vec<u8>) -> io::Result<Block> {
    let total = stream.len() as u64 * 8;
    let start = HEADER as u64 * 8;
    let bad = || io::Error::other("libbzip2 wrote a stream that is not one block");
    if total < start + 48 + 32 + 80 || read(&stream, start, 48) != BLOCK_MAGIC {
        return Err(bad());
    }
    let crc = read(&stream, start + 48, 32) as u32;
    for pad in 0..8 {
        let end = total - pad - 80;
        if read(&stream, end, 48) == END_MAGIC
            && read(&stream, end + 48, 32) as u32 == crc
            && read(&stream, total - pad, pad as u32) == 0
        {
            return Ok(Block {
                stream,
                bits: end - start,
                crc,
            });
        }
    }
    Err(bad())
}

/// `n` bits (n <= 48) of `bytes` from bit `at`, most significant first.
pub(crate) fn read(bytes: &[u8], at: u64, n: u32) -> u64 {
    (at..at + u64::from(n)).fold(0, |v, i| {
        (v << 1) | u64::from(bytes[(i / 8) as usize] >> (7 - i % 8) & 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Compression;
    use crate::test_support::{
        assert_the_bytes_depend_on_the_data_alone, text, write_with_flushes, written,
    };
    use std::io::Read;

    /// The first stream of `z`, read by a reader that stops there, and what follows it.
    fn first_stream(z: &[u8]) -> (Vec<u8>, usize) {
        let mut d = bzip2::read::BzDecoder::new(z);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        let mut rest = Vec::new();
        d.into_inner().read_to_end(&mut rest).unwrap();
        (out, rest.len())
    }

    fn bz2(data: &[u8], piece: usize) -> Vec<u8> {
        written(Compression::Bzip2, data, &[piece])
    }

    #[test]
    fn one_stream_that_any_bzip2_reader_reads_back() {
        for n in [0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12345] {
            let data = text(n);
            let z = bz2(&data, 70_000);
            assert_eq!(first_stream(&z), (data, 0), "{n} bytes");
        }
        // Empty: the 14 bytes bzip2 itself writes.
        assert_eq!(bz2(b"", 1), b"BZh9\x17\x72\x45\x38\x50\x90\0\0\0\0");
    }

    #[test]
    fn blocks_of_runs_and_of_noise_meet_at_any_bit() {
        // Runs of four (the first run-length pass's worst case: a full block of them is
        // still one bzip2 block) and incompressible noise make blocks of many lengths
        // modulo 8 bits.
        let mut data = b"aaaabbbb".repeat(BLOCK / 8);
        let mut x = 7u64;
        for _ in 0..BLOCK {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.push(x as u8);
        }
        data.extend(text(BLOCK / 2));
        let z = bz2(&data, 65_536);
        assert_eq!(first_stream(&z), (data, 0));
    }

    #[test]
    fn every_level_writes_blocks_its_readers_take() {
        // The first run-length pass's worst case, then prose: at each level the blocks
        // must fit the size its header promises, which libbzip2's reader checks.
        let mut data = b"aaaabbbb".repeat(BLOCK / 16);
        data.extend(text(BLOCK / 2));
        for level in 1..=9u32 {
            let mut w = ParallelBzip2::new(Vec::new(), level);
            for piece in data.chunks(100_000) {
                w.write_all(piece).unwrap();
            }
            let z = w.finish().unwrap();
            assert_eq!(&z[..4], format!("BZh{level}").as_bytes());
            assert_eq!(first_stream(&z), (data.clone(), 0), "level {level}");
            let mut again = Vec::new();
            Compression::Bzip2
                .decoder(std::io::Cursor::new(z))
                .unwrap()
                .read_to_end(&mut again)
                .unwrap();
            assert!(again == data, "level {level}: chaff's own reader");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(12))]
        /// Any data (prose, noise, runs), written in any pieces with flushes anywhere,
        /// reads back whole; without flushes, as one stream.
        #[test]
        fn any_writes_and_flushes_read_back(
            n in 0..2 * BLOCK + 5000,
            kind in 0..3u8,
            cuts in proptest::collection::vec(1..400_000usize, 1..5),
            flushes in proptest::collection::vec(proptest::bool::weighted(0.2), 1..5),
        ) {
            let mut data = text(n);
            let mut x = n as u64 | 1;
            for (i, b) in data.iter_mut().enumerate() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match kind {
                    1 => *b = x as u8,
                    2 if x % 3 == 0 => *b = b"aaaabbbb"[i % 8],
                    _ => {}
                }
            }
            let mut w = ParallelBzip2::new(Vec::new(), 9);
            write_with_flushes(&mut w, &data, &cuts, &flushes);
            let z = w.finish().unwrap();
            let mut all = Vec::new();
            bzip2::read::MultiBzDecoder::new(&z[..]).read_to_end(&mut all).unwrap();
            proptest::prop_assert!(all == data);
            if !flushes.contains(&true) {
                proptest::prop_assert!(first_stream(&z) == (data, 0));
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(12))]
        /// Checkpoints anywhere leave one stream that reads back whole, and a writer gone
        /// on with from any of them (the bytes written by then, and its tail) writes the
        /// same bytes as the writer that made it.
        #[test]
        fn a_writer_resumed_from_a_checkpoint_writes_what_the_checkpointed_one_does(
            n in 0..2 * BLOCK + 5000,
            cuts in proptest::collection::vec(1..400_000usize, 1..6),
            marks in proptest::collection::vec(proptest::bool::weighted(0.5), 1..6),
            pick in 0..8usize,
            level in 1..=9u32,
        ) {
            let data = text(n);
            let pieces = pieces(&data, &cuts);
            // Each checkpoint: the pieces written before it, the bytes out and its tail.
            let mut points = Vec::new();
            let mut w = ParallelBzip2::new(Vec::new(), level);
            for (i, piece) in pieces.iter().enumerate() {
                w.write_all(piece).unwrap();
                if marks[i % marks.len()] {
                    let tail = w.checkpoint().unwrap();
                    points.push((i + 1, w.out.inner.len(), tail));
                }
            }
            let z = w.finish().unwrap();
            proptest::prop_assert!(first_stream(&z) == (data.clone(), 0));
            if let Some(&(done, len, tail)) = points.get(pick % points.len().max(1)) {
                let mut w = ParallelBzip2::resumed(z[..len].to_vec(), level, tail).unwrap();
                for (i, piece) in pieces.iter().enumerate().skip(done) {
                    w.write_all(piece).unwrap();
                    if marks[i % marks.len()] {
                        w.checkpoint().unwrap();
                    }
                }
                proptest::prop_assert!(w.finish().unwrap() == z);
            }
        }
    }

    /// `data` cut into pieces of the lengths in `cuts`, in turn.
    fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        for k in 0.. {
            if rest.is_empty() {
                break;
            }
            let (piece, more) = rest.split_at(cuts[k % cuts.len()].min(rest.len()));
            out.push(piece);
            rest = more;
        }
        out
    }

    #[test]
    fn a_tail_that_is_no_such_state_is_refused() {
        let tail = |bits, held| Tail { bits, held, crc: 0 };
        assert!(ParallelBzip2::resumed(Vec::new(), 9, tail(0b101, 3)).is_some());
        assert!(ParallelBzip2::resumed(Vec::new(), 9, tail(0b1000, 3)).is_none());
        assert!(ParallelBzip2::resumed(Vec::new(), 9, tail(0, 8)).is_none());
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        assert_the_bytes_depend_on_the_data_alone(Compression::Bzip2, &text(2 * BLOCK + 999));
    }

    #[test]
    fn a_flush_ends_the_stream_so_far_and_the_next_bytes_start_another() {
        let data = text(BLOCK + 5000);
        let mut w = ParallelBzip2::new(Vec::new(), 9);
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        assert_eq!(first_stream(&w.out.inner), (data[..300].to_vec(), 0));
        w.flush().unwrap();
        w.write_all(&data[300..]).unwrap();
        let z = w.finish().unwrap();
        let mut all = Vec::new();
        bzip2::read::MultiBzDecoder::new(&z[..])
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, data);
    }
}
