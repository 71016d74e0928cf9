//! xz input, its blocks decoded on several threads by liblzma's own decoder.
//!
//! One liblzma decoder runs at 90-120 MiB/s of text here (`cargo bench --bench
//! decompress`), enough for two or three workers, so one large `.xz` file capped a run
//! on more cores at that speed. An xz stream written by several threads (`xz -T0`, pixz,
//! chaff's own large outputs, [`crate::xz`]) is a series of blocks whose headers give
//! their sizes, and liblzma's threaded decoder decodes such blocks side by side and hands
//! their text on in order. A stream written by one thread (`xz -T1`: one block, no sizes)
//! is decoded by the calling thread alone, whatever the threads asked for. The text read
//! never depends on how it was decoded.
//!
//! The threaded decoder of liblzma 5.3.3 to 5.8.0 could use freed memory on damaged
//! input (CVE-2025-31115); chaff links the liblzma it builds from source (5.8.4, the
//! `static` feature in `Cargo.toml`), never a system one.
//!
//! liblzma's threaded decoder reads one stream (its wrapper has no way to ask for the
//! `LZMA_CONCATENATED` flag), so [`Unxz`] reads the rest itself: the stream padding after
//! a stream (zero bytes, a multiple of four) and the next stream, to the end of the input
//! (`cat a.xz b.xz`), as `xz -d` does ([`crate::streams`]).

use crate::streams::{cut_short, Codec, Magic, Padding, Streams};
use liblzma::stream::{Action, MtStreamBuilder, Status, Stream};
use std::io::{self, BufRead, Read};

/// Most decoding threads for one stream.
const THREADS: usize = 8;

/// Compressed inputs shorter than this are decoded on the reading thread: most are one
/// block, and a block with its sizes in its header (what `xz -T` writes, even for a small
/// file) would start a thread of liblzma's for each file. Measured on the 4,000 pages of
/// the bench dump, each compressed by `xz -T2` (13 KiB on average): 0.79 s to read them
/// all on one thread, 0.92 s with liblzma's threads.
pub const SMALL: u64 = 1 << 20;

/// The threads for an input of `len` compressed bytes read by a run of `workers` workers
/// ([`crate::input::DecodeOptions::workers`]): one for every two workers (at most eight), as one decoder feeds two or three
/// of them; one for a [`SMALL`] input, and for a stream of unknown length (`None`:
/// standard input). A pipe's writer may pause at a block's end, and liblzma's threaded
/// decoder then keeps that block's text until more input comes, which a streaming step
/// (`--pipe`) cannot wait for; `xz -dc -T0 | chaff` decodes on xz's threads instead.
/// With two workers, an xz input is decoded as before session 39, on one thread:
/// liblzma's threads would take the same CPU time from the two cores, and for `xz -T`'s
/// 24 MiB blocks, 100 MB more memory (a 122 MB text, `filter --threads 2`: 2.4-2.9 s
/// either way, peak RSS 146-164 MB on one decoding thread, 256-266 MB on two).
pub fn threads_for(len: Option<u64>, workers: usize) -> usize {
    match len {
        Some(len) if len >= SMALL => workers.div_ceil(2).min(THREADS),
        _ => 1,
    }
}

/// Memory a stream's decoding threads may take together, beyond which liblzma runs fewer
/// of them (or one). A thread holds a block's compressed and decoded bytes and its
/// dictionary: ~10 MB for chaff's 4 MiB blocks, ~40 MB for `xz -6 -T`'s 24 MiB ones, and
/// a stream of `xz -9 -T` (64 MiB dictionary, 192 MiB blocks) is decoded on one thread.
const MEMORY: u64 = 96 << 20;

/// xz streams: magic fd 37 7a 58 5a 00, stream padding (multiples of four zero bytes)
/// skipped.
pub const XZ: Codec = Codec {
    stream: "xz stream",
    a: "an",
    magics: &[Magic::exact(&[0xfd, b'7', b'z', b'X', b'Z', 0])],
    padding: Padding::FourBytes,
};

/// Every xz stream of an input, one after another, each decoded on up to `threads`
/// threads; a stream cut short, damaged or followed by something other than padding and
/// another stream is an error ([`crate::streams`]).
pub struct Unxz<R: BufRead> {
    input: Streams<R>,
    /// The stream being read; `None` between streams.
    stream: Option<Stream>,
    threads: u32,
    /// Whether a stream has begun: the input's first one is there even when the input
    /// is empty (an empty file is an xz stream cut short, as liblzma reads it).
    started: bool,
}

impl<R: BufRead> Unxz<R> {
    /// Reads the xz streams of `inner`, each on up to `threads` threads (at most eight;
    /// one: on the calling thread alone).
    pub fn new(inner: R, threads: usize) -> Unxz<R> {
        Unxz {
            input: Streams::new(inner),
            stream: None,
            threads: threads.clamp(1, THREADS) as u32,
            started: false,
        }
    }

    /// A decoder for the next stream.
    fn decoder(&self) -> io::Result<Stream> {
        let stream = if self.threads == 1 {
            Stream::new_stream_decoder(u64::MAX, 0)
        } else {
            MtStreamBuilder::new()
                .threads(self.threads)
                .memlimit_threading(MEMORY)
                .memlimit_stop(u64::MAX)
                // Blocks until there is text or the input is taken: a reader waits anyway.
                .timeout_ms(0)
                .decoder()
        };
        stream.map_err(io::Error::from)
    }
}

impl<R: BufRead> Read for Unxz<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let stream = match self.stream.as_mut() {
                Some(s) => s,
                None => {
                    if self.started && !self.input.next_stream(&XZ)? {
                        return Ok(0);
                    }
                    self.started = true;
                    let d = self.decoder()?;
                    self.stream.insert(d)
                }
            };
            let input = self.input.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (stream.total_in(), stream.total_out());
            let action = if eof { Action::Finish } else { Action::Run };
            let status = match stream.process(input, buf, action) {
                Ok(status) => status,
                Err(e) => return Err(self.input.inside(&XZ, e.into())),
            };
            let read = (stream.total_out() - before_out) as usize;
            let consumed = (stream.total_in() - before_in) as usize;
            self.input.consume(consumed);
            if status == Status::StreamEnd {
                self.stream = None;
            }
            if read > 0 {
                return Ok(read);
            }
            if status == Status::StreamEnd {
                continue;
            }
            if eof {
                return Err(cut_short(&XZ));
            }
            if consumed == 0 {
                return Err(self.input.stalled(&XZ, "liblzma"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liblzma::stream::Check;
    use proptest::prelude::*;
    use std::io::BufReader;

    /// `text` as one xz stream of blocks of `block` bytes (their sizes in their headers,
    /// as `xz -T` writes them), or as one block without sizes (`block` 0, as `xz -T1`).
    fn xz(text: &[u8], block: u64) -> Vec<u8> {
        let mut stream = if block == 0 {
            Stream::new_easy_encoder(1, Check::Crc64).unwrap()
        } else {
            MtStreamBuilder::new()
                .threads(2)
                .preset(1)
                .block_size(block)
                .check(Check::Crc64)
                .encoder()
                .unwrap()
        };
        let mut out = Vec::with_capacity(text.len() + 1024);
        stream.process_vec(text, &mut out, Action::Run).unwrap();
        loop {
            out.reserve(1 << 16);
            if stream.process_vec(&[], &mut out, Action::Finish).unwrap() == Status::StreamEnd {
                return out;
            }
        }
    }

    /// What `Unxz` on `threads` reads from `z`, through a buffer of `buffer` bytes and
    /// reads of `read` bytes.
    fn unxz(z: &[u8], threads: usize, buffer: usize, read: usize) -> io::Result<Vec<u8>> {
        let mut r = Unxz::new(BufReader::with_capacity(buffer, z), threads);
        let mut out = Vec::new();
        let mut buf = vec![0; read];
        loop {
            match r.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Text that compresses to many blocks of a few KiB.
    fn text(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"abcdefgh \n"[(x >> 60) as usize % 10]
            })
            .collect()
    }

    #[test]
    fn large_files_get_a_thread_for_every_two_workers() {
        assert_eq!(threads_for(Some(SMALL), 1), 1);
        assert_eq!(threads_for(Some(SMALL), 2), 1);
        assert_eq!(threads_for(Some(SMALL), 3), 2);
        assert_eq!(threads_for(Some(u64::MAX), 64), 8);
        assert_eq!(threads_for(Some(SMALL - 1), 16), 1);
        assert_eq!(threads_for(None, 16), 1);
    }

    #[test]
    fn the_liblzma_linked_has_the_threaded_decoder_fixed() {
        // 5.8.1 stable: major, minor and patch, then 2 for a stable release.
        const FIXED: u32 = 5 * 10_000_000 + 8 * 10_000 + 10 + 2;
        // SAFETY: a C function without arguments that returns a constant.
        let linked = unsafe { liblzma_sys::lzma_version_number() };
        assert!(linked >= FIXED, "liblzma {linked}: CVE-2025-31115");
    }

    #[test]
    fn every_stream_is_read_whatever_its_blocks_and_threads() {
        let (a, b) = (text(1, 300_000), text(2, 100_000));
        let mut z = xz(&a, 16 << 10);
        z.extend_from_slice(&[0; 8]);
        z.extend(xz(&b, 0));
        z.extend(xz(b"", 4096));
        let whole = [a.as_slice(), &b].concat();
        for threads in [1, 2, 4, 100] {
            assert_eq!(
                unxz(&z, threads, 1 << 16, 1 << 16).unwrap(),
                whole,
                "{threads}"
            );
        }
        // The reference: liblzma's own reader of concatenated streams.
        let mut own = Vec::new();
        liblzma::bufread::XzDecoder::new_multi_decoder(&z[..])
            .read_to_end(&mut own)
            .unwrap();
        assert_eq!(own, whole);
    }

    #[test]
    fn what_is_not_a_whole_xz_input_is_an_error() {
        let text = text(3, 200_000);
        let z = xz(&text, 16 << 10);
        for threads in [1, 4] {
            let kind = |z: &[u8]| unxz(z, threads, 4096, 4096).unwrap_err().kind();
            assert_eq!(kind(&[]), io::ErrorKind::UnexpectedEof, "empty");
            for cut in [6, z.len() / 2, z.len() - 1] {
                assert_eq!(
                    kind(&z[..cut]),
                    io::ErrorKind::UnexpectedEof,
                    "cut at {cut}"
                );
            }
            let padded = |pad: &[u8]| [z.as_slice(), pad].concat();
            assert!(unxz(&padded(&[0; 4]), threads, 4096, 4096).is_ok());
            let bad_pad = kind(&padded(&[0; 3]));
            assert_eq!(bad_pad, io::ErrorKind::InvalidData, "3 bytes of padding");
            let after = kind(&padded(b"\0\0\0\0and then some garbage"));
            assert_eq!(after, io::ErrorKind::InvalidData, "garbage after a stream");
            // The errors say what is wrong and where.
            let message = |z: &[u8]| unxz(z, threads, 4096, 4096).unwrap_err().to_string();
            let n = z.len();
            assert_eq!(
                message(&padded(b"\0\0\0\0and then some garbage")),
                format!("what follows the end of an xz stream, at byte {}, is not an xz stream (damaged, or other data after it)", n + 4)
            );
            assert_eq!(
                message(&padded(&[0; 3])),
                format!("the padding after the xz stream that ends at byte {n} is not a multiple of four bytes")
            );
            let cut = message(&z[..n / 2]);
            assert_eq!(cut, "xz stream cut short (the input ends inside it)");
            // Padding, then the start of another stream's magic: that stream cut short.
            let begun = message(&padded(&[0, 0, 0, 0, 0xfd, b'7']));
            assert_eq!(begun, "xz stream cut short (the input ends inside it)");
            let mut damaged = z.clone();
            damaged[z.len() / 2] ^= 0x40;
            assert_eq!(kind(&damaged), io::ErrorKind::InvalidData, "a flipped bit");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// However the input is buffered and read, the text is the same at any number of
        /// threads.
        #[test]
        fn reads_do_not_change_the_text(
            seed in any::<u64>(),
            len in 0usize..200_000,
            block in prop::sample::select(vec![0u64, 4096, 50_000]),
            threads in 1usize..5,
            buffer in 1usize..70_000,
            read in 1usize..70_000,
        ) {
            let text = text(seed, len);
            let z = xz(&text, block);
            prop_assert_eq!(unxz(&z, threads, buffer, read).unwrap(), text);
        }
    }
}
