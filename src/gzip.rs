//! gzip output compressed on every core, as pigz does it: the stream is cut into blocks
//! of [`BLOCK`] bytes, each block is deflated on rayon's pool (primed with the 32 KiB
//! before it, so the ratio is that of one serial stream) and ended on a byte boundary,
//! and the blocks are written in order as one gzip member.
//!
//! A single compressing writer caps a run at its speed, ~60 MB/s at level 6 (zlib-rs),
//! whatever the number of cores; the classifying runs at ~30 MB/s a core. One member,
//! not a member per block: some readers (flate2's `GzDecoder`, for one) stop after the
//! first member without a word. The bytes depend on the data alone, not on the number
//! of threads or on which block finished first.

use crate::in_order::InOrder;
use flate2::{Compress, Compression, FlushCompress, Status};
use std::io::{self, Write};

/// Uncompressed bytes per block (pigz uses 128 KiB; larger blocks mean fewer hand-overs).
pub const BLOCK: usize = 256 << 10;
/// Bytes before a block that prime its compressor: deflate's whole window.
const WINDOW: usize = 32 << 10;

/// A gzip member's 10-byte header: no name, no modification time (0), so the same data
/// gives the same bytes; XFL as gzip and flate2 set it for `level` (2: best, 4: fastest),
/// OS 255 (unknown).
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        9.. => 2,
        1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]
}

/// A gzip writer whose blocks are compressed in parallel. [`ParallelGzip::finish`] ends
/// the stream; dropping it unfinished leaves a truncated stream (the caller's temporary
/// file is then removed).
pub struct ParallelGzip<W: Write> {
    inner: W,
    /// Bytes not yet handed to a compressor (less than [`BLOCK`]).
    block: Vec<u8>,
    /// The last [`WINDOW`] bytes handed over, to prime the next block.
    window: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
    /// Blocks being compressed, in stream order.
    order: InOrder<Vec<u8>>,
    /// The deflate level, 1 to 9.
    level: u32,
}

impl<W: Write> ParallelGzip<W> {
    /// Starts a gzip stream at `level` (1 to 9) into `inner` (its 10-byte header is
    /// written at once).
    pub fn new(mut inner: W, level: u32) -> io::Result<Self> {
        inner.write_all(&header(level))?;
        Ok(ParallelGzip {
            inner,
            block: Vec::with_capacity(BLOCK),
            window: Vec::new(),
            crc: crc32fast::Hasher::new(),
            len: 0,
            order: InOrder::new("gzip"),
            level,
        })
    }

    /// Goes on with a gzip stream at `level` that a stopped run left in `inner` after a
    /// flush, as [`read_flushed`] read it back: the same bytes follow as if the stream
    /// had never stopped.
    pub fn resumed(inner: W, level: u32, flushed: Flushed) -> Self {
        ParallelGzip {
            inner,
            block: Vec::with_capacity(BLOCK),
            window: flushed.window,
            crc: flushed.crc,
            len: flushed.len,
            order: InOrder::new("gzip"),
            level,
        }
    }

    /// The writer it writes to (what a [`Write::flush`] wrote is all there).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Compresses what is left as the last block, writes every block in order and the
    /// trailer (CRC-32 and length), and hands `inner` back.
    pub fn finish(mut self) -> io::Result<W> {
        let last = std::mem::take(&mut self.block);
        if self.order.is_empty() {
            // A small stream, or the writer of one small file among many: no hand-over.
            let out = deflate(&last, &self.window, true, self.level)?;
            self.inner.write_all(&out)?;
        } else {
            self.send(last, true);
            self.order.drain(0, |b| self.inner.write_all(&b))?;
        }
        self.inner
            .write_all(&self.crc.clone().finalize().to_le_bytes())?;
        // ISIZE is the length modulo 2^32 (RFC 1952).
        self.inner.write_all(&(self.len as u32).to_le_bytes())?;
        Ok(self.inner)
    }

    /// Hands `data` to a compressor on rayon's pool, primed with the window before it.
    fn send(&mut self, data: Vec<u8>, last: bool) {
        let window = std::mem::take(&mut self.window);
        self.window = window_after(&window, &data);
        let level = self.level;
        self.order
            .send(move || deflate(&data, &window, last, level));
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.crc.update(buf);
        self.len += buf.len() as u64;
        let mut rest = buf;
        while !rest.is_empty() {
            let take = rest.len().min(BLOCK - self.block.len());
            self.block.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.block.len() == BLOCK {
                let full = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
                self.send(full, false);
                self.order.drain_to_bound(|b| self.inner.write_all(&b))?;
            }
        }
        Ok(buf.len())
    }

    /// Compresses what is buffered as a block of its own and writes everything: the
    /// reader gets every byte so far (pipe mode flushes record by record).
    fn flush(&mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            let part = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
            self.send(part, false);
        }
        self.order.drain(0, |b| self.inner.write_all(&b))?;
        self.inner.flush()
    }
}

/// The last [`WINDOW`] bytes of the stream once `data` follows the bytes whose last
/// [`WINDOW`] are `window`: what primes the next block. (A short block, a flush, leaves
/// part of the window before it.)
fn window_after(window: &[u8], data: &[u8]) -> Vec<u8> {
    let keep = data.len().min(WINDOW);
    let from = (window.len() + keep).saturating_sub(WINDOW);
    let mut next = Vec::with_capacity(WINDOW);
    next.extend_from_slice(&window[from..]);
    next.extend_from_slice(&data[data.len() - keep..]);
    next
}

/// What [`ParallelGzip`] needs to go on with a stream it flushed: the CRC-32 and length of
/// the data so far, and its last 32 KiB (deflate's window).
pub struct Flushed {
    crc: crc32fast::Hasher,
    /// Bytes of data.
    pub len: u64,
    window: Vec<u8>,
}

/// Reads back a gzip stream that [`ParallelGzip`] at `level` wrote up to a flush (its
/// header and its blocks so far, no trailer), for [`ParallelGzip::resumed`]. Fails if it
/// is not such a stream.
pub fn read_flushed(mut r: impl io::Read, level: u32) -> io::Result<Flushed> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let mut head = [0u8; 10];
    r.read_exact(&mut head)?;
    if head != header(level) {
        return Err(bad(
            "not the start of a gzip stream chaff wrote at this level",
        ));
    }
    let mut d = flate2::Decompress::new(false);
    let (mut input, mut out) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut f = Flushed {
        crc: crc32fast::Hasher::new(),
        len: 0,
        window: Vec::new(),
    };
    let (mut filled, mut at) = (0, 0);
    loop {
        if at == filled {
            (filled, at) = (r.read(&mut input)?, 0);
        }
        let (before_in, before_out) = (d.total_in(), d.total_out());
        let status = d
            .decompress(&input[at..filled], &mut out, flate2::FlushDecompress::None)
            .map_err(io::Error::other)?;
        at += (d.total_in() - before_in) as usize;
        let n = (d.total_out() - before_out) as usize;
        let data = &out[..n];
        f.crc.update(data);
        f.len += n as u64;
        f.window = window_after(&f.window, data);
        if status == Status::StreamEnd {
            return Err(bad("a finished gzip stream, not a flushed one"));
        }
        if filled == 0 && n == 0 {
            return Ok(f);
        }
    }
}

/// Appends `data` to `out` as one whole gzip member at `level`, compressed at once (WARC
/// output: a member per record, so readers can seek to any record). Header as
/// [`ParallelGzip`] writes it: the same data gives the same bytes.
pub fn member(data: &[u8], level: u32, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(&header(level));
    out.extend_from_slice(&deflate(data, &[], true, level)?);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(())
}

/// Deflates `data` at `level` as raw deflate blocks primed with `window`: ended on a byte
/// boundary (a sync flush) unless `last`, which ends the deflate stream.
fn deflate(data: &[u8], window: &[u8], last: bool, level: u32) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !window.is_empty() {
        c.set_dictionary(window).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity());
        }
        let from = c.total_in() as usize;
        let status = c
            .compress_vec(&data[from..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == data.len();
        match status {
            Status::StreamEnd => return Ok(out),
            // A sync flush is complete once it leaves output space unused.
            _ if !last && all_in && out.len() < out.capacity() => return Ok(out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        assert_the_bytes_depend_on_the_data_alone, text, write_with_flushes, written,
    };
    use std::io::Read;

    fn gunzip_one_member(bytes: &[u8]) -> Vec<u8> {
        let mut d = flate2::read::GzDecoder::new(bytes);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        // One member: nothing after it.
        let mut rest = Vec::new();
        d.into_inner().read_to_end(&mut rest).unwrap();
        assert!(
            rest.is_empty(),
            "{} bytes after the first member",
            rest.len()
        );
        out
    }

    fn gzip(data: &[u8], writes: &[usize]) -> Vec<u8> {
        written(crate::compression::Compression::Gzip, data, writes)
    }

    #[test]
    fn one_member_that_any_gzip_reader_reads_back() {
        for n in [0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 12345] {
            let data = text(n);
            let z = gzip(&data, &[70_000]);
            assert_eq!(gunzip_one_member(&z), data, "{n} bytes");
        }
    }

    #[test]
    fn a_member_is_a_whole_gzip_stream_and_members_concatenate() {
        let (a, b) = (text(1000), text(70_000));
        let mut z = Vec::new();
        member(&a, 6, &mut z).unwrap();
        assert_eq!(gunzip_one_member(&z), a);
        let first = z.len();
        member(&[], 6, &mut z).unwrap();
        member(&b, 6, &mut z).unwrap();
        assert_eq!(
            gunzip_one_member(&z[first + 20..]),
            b,
            "an empty member is 20 bytes"
        );
        let mut all = Vec::new();
        flate2::read::MultiGzDecoder::new(&z[..])
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, [a, b].concat());
    }

    /// A stream stopped after any flush and gone on with from what it wrote gives the
    /// same bytes as one that never stopped: the cut of the resumed output in `--resume`.
    #[test]
    fn a_stream_read_back_at_a_flush_goes_on_to_the_same_bytes() {
        let data = text(3 * BLOCK + 40_000);
        let cuts = [
            10,
            5000,
            WINDOW - 1,
            WINDOW + 1,
            BLOCK,
            BLOCK + 7,
            2 * BLOCK + 30_000,
        ];
        for level in [1, 6] {
            let whole = |flush_at: usize| {
                let mut w = ParallelGzip::new(Vec::new(), level).unwrap();
                w.write_all(&data[..flush_at]).unwrap();
                w.flush().unwrap();
                let at = w.get_mut().len();
                w.write_all(&data[flush_at..]).unwrap();
                (w.finish().unwrap(), at)
            };
            for cut in cuts {
                let (want, at) = whole(cut);
                let f = read_flushed(&want[..at], level).unwrap();
                assert_eq!(f.len, cut as u64);
                let mut w = ParallelGzip::resumed(want[..at].to_vec(), level, f);
                w.write_all(&data[cut..]).unwrap();
                assert!(w.finish().unwrap() == want, "level {level}, cut at {cut}");
                assert_eq!(gunzip_one_member(&want), data);
                // Another level's header, or a finished stream, is not gone on with.
                assert!(read_flushed(&want[..at], 9).is_err());
                assert!(read_flushed(&want[..], level).is_err());
            }
        }
        // An empty stream, flushed at once.
        let mut w = ParallelGzip::new(Vec::new(), 6).unwrap();
        w.flush().unwrap();
        let f = read_flushed(&w.get_mut()[..], 6).unwrap();
        assert_eq!(f.len, 0);
    }

    #[test]
    fn the_bytes_depend_on_the_data_alone() {
        let data = text(3 * BLOCK + 999);
        assert_the_bytes_depend_on_the_data_alone(crate::compression::Compression::Gzip, &data);
    }

    #[test]
    fn every_level_writes_flate2s_header_and_reads_back() {
        for level in 1..=9 {
            for n in [0, 1000, 50_000] {
                let data = text(n);
                let mut serial = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
                serial.write_all(&data).unwrap();
                let mut w = ParallelGzip::new(Vec::new(), level).unwrap();
                w.write_all(&data).unwrap();
                let z = w.finish().unwrap();
                // The deflate bytes themselves may differ (level 1's quick strategy
                // depends on how its input came), the header not.
                assert_eq!(z[..10], serial.finish().unwrap()[..10], "level {level}");
                assert_eq!(gunzip_one_member(&z), data, "level {level}, {n} bytes");
                let mut m = Vec::new();
                member(&data, level, &mut m).unwrap();
                assert_eq!(m, z, "level {level}, {n} bytes as a member");
            }
        }
        // Levels are levels: the fastest writes more than the best, and both read back.
        let data = text(3 * BLOCK);
        let at = |level| {
            let mut w = ParallelGzip::new(Vec::new(), level).unwrap();
            w.write_all(&data).unwrap();
            w.finish().unwrap()
        };
        let (fast, best) = (at(1), at(9));
        assert!(
            fast.len() > best.len(),
            "{} against {}",
            fast.len(),
            best.len()
        );
        assert_eq!(gunzip_one_member(&fast), data);
        assert_eq!(gunzip_one_member(&best), data);
    }

    #[test]
    fn primed_blocks_compress_like_one_stream() {
        let data = text(4 * BLOCK);
        let mut serial = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        serial.write_all(&data).unwrap();
        let serial = serial.finish().unwrap();
        let parallel = gzip(&data, &[1 << 16]);
        // A sync marker and a fresh Huffman table per block, nothing more.
        assert!(
            parallel.len() as f64 <= serial.len() as f64 * 1.01 + 64.0,
            "{} against {}",
            parallel.len(),
            serial.len()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(24))]
        /// Any data, written in any pieces with flushes anywhere, reads back whole; without
        /// flushes the bytes do not depend on the pieces.
        #[test]
        fn any_writes_and_flushes_read_back(
            n in 0..3 * BLOCK,
            noise in proptest::bool::ANY,
            cuts in proptest::collection::vec(1..200_000usize, 1..6),
            flushes in proptest::collection::vec(proptest::bool::weighted(0.3), 1..6),
        ) {
            let mut data = text(n);
            if noise {
                // Incompressible stretches: stored blocks inside deflate.
                let mut x = n as u64 | 1;
                for b in data.iter_mut().step_by(3) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x as u8;
                }
            }
            let mut w = ParallelGzip::new(Vec::new(), 6).unwrap();
            write_with_flushes(&mut w, &data, &cuts, &flushes);
            let z = w.finish().unwrap();
            proptest::prop_assert_eq!(gunzip_one_member(&z), data.clone());
            if !flushes.contains(&true) {
                proptest::prop_assert_eq!(z, gzip(&data, &[1 << 20]));
            }
        }
    }

    #[test]
    fn a_flush_makes_everything_so_far_readable() {
        let data = text(BLOCK + 500);
        let mut w = ParallelGzip::new(Vec::new(), 6).unwrap();
        w.write_all(&data[..300]).unwrap();
        w.flush().unwrap();
        // What is out so far decodes to the 300 bytes (the stream is not yet ended).
        let so_far = w.inner.clone();
        let mut d = flate2::read::GzDecoder::new(&so_far[..]);
        let mut got = vec![0; 300];
        d.read_exact(&mut got).unwrap();
        assert_eq!(got, &data[..300]);
        w.write_all(&data[300..]).unwrap();
        w.flush().unwrap();
        w.write_all(b"").unwrap();
        assert_eq!(gunzip_one_member(&w.finish().unwrap()), data);
    }
}
