//! Any bytes, written through every output codec chaff has (at any level, in pieces of
//! any size, flushed anywhere as `--pipe` flushes) and read back by chaff's own readers:
//! the round trip must give the bytes back, and the output must sniff as its codec.
//! chaff writes bzip2 blocks bit-shifted into one stream, gzip as parallel deflate blocks,
//! and zstd and xz small files held and compressed in one go: each is its own code. A
//! gzip stream is also stopped at one of its flushes and gone on with from what it wrote;
//! a large zstd, xz or lz4 stream is written again in other pieces with the same flushes
//! and must come out the same (what `--resume` relies on when it compresses a stopped
//! run's text again).
#![no_main]

use chaff::compression::Compression;
use chaff::output::Compressed;
use libfuzzer_sys::fuzz_target;
use std::io::{BufReader, Cursor, Read, Write};

const CODECS: [Compression; 6] = [
    Compression::None,
    Compression::Gzip,
    Compression::Zstd,
    Compression::Bzip2,
    Compression::Xz,
    Compression::Lz4,
];

/// The most bytes one run writes: several of bzip2's smallest blocks (77,777 bytes at
/// level 1) and of gzip's 256 KiB ones, while a run stays well under a second.
const MOST: usize = 600_000;

fuzz_target!(|data: &[u8]| {
    let [codec, level, shape, seed, body @ ..] = data else {
        return;
    };
    let codec = CODECS[*codec as usize % CODECS.len()];
    // Half the runs at the default level, the rest anywhere in the codec's range (high
    // levels are slow, so a level byte above 127 means the default).
    let level = codec.levels().and_then(|(range, _)| {
        (*level < 128)
            .then(|| range.start() + u32::from(*level) % (range.end() - range.start() + 1))
    });
    // The body repeated up to 64 times, so that small inputs still cross block sizes.
    let times = usize::from(shape & 63) + 1;
    let mut bytes = Vec::with_capacity((body.len() * times).min(MOST));
    while bytes.len() < MOST && !body.is_empty() && bytes.len() < body.len() * times {
        let n = body.len().min(MOST - bytes.len());
        bytes.extend_from_slice(&body[..n]);
    }
    let large = shape & 64 != 0;
    let flushes = shape & 128 != 0;
    let mut w = Compressed::new(Vec::new(), codec, level, large).unwrap();
    // Pieces of pseudo-random sizes (a small LCG from the seed byte), a flush after some.
    let mut state = u32::from(*seed) | 1;
    // Each write's end and whether a flush followed; the flushes' places in `steps`
    // and the output's length after each.
    let (mut steps, mut marks) = (Vec::new(), Vec::new());
    let mut at = 0;
    while at < bytes.len() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let piece = match state >> 29 {
            0 => 1,
            1..=3 => (state >> 8) as usize % 4096 + 1,
            _ => (state >> 8) as usize % 200_000 + 1,
        };
        let end = (at + piece).min(bytes.len());
        w.write_all(&bytes[at..end]).unwrap();
        let flush = flushes && state & 0x100 != 0;
        if flush {
            w.flush().unwrap();
            // Where a checkpoint could be: the data and the output so far.
            if let Compressed::Gzip(g) = &mut w {
                marks.push((steps.len(), g.get_mut().len()));
            }
        }
        steps.push((end, flush));
        at = end;
    }
    let out = w.finish().unwrap();
    // gzip stopped at a flush and gone on with from what it wrote (`--resume` inside a
    // source) gives the same bytes; read back from anywhere else, it never panics.
    if let Some(&(step, out_at)) = marks.get(usize::from(*seed) % marks.len().max(1)) {
        let level = codec.level(level);
        let data_at = steps[step].0;
        let flushed = chaff::gzip::read_flushed(&out[..out_at], level).unwrap();
        assert_eq!(flushed.len, data_at as u64);
        let mut g = chaff::gzip::ParallelGzip::resumed(out[..out_at].to_vec(), level, flushed);
        // The same writes and flushes after it (a resumed run checkpoints where the
        // stopped one did).
        let mut at = data_at;
        for &(end, flush) in &steps[step + 1..] {
            g.write_all(&bytes[at..end]).unwrap();
            if flush {
                g.flush().unwrap();
            }
            at = end;
        }
        assert!(
            g.finish().unwrap() == out,
            "gzip resumed at {data_at} of {}",
            bytes.len()
        );
        let anywhere = usize::from(state as u16) % (out.len() + 1);
        let _ = chaff::gzip::read_flushed(&out[..anywhere], level);
    }
    if large
        && matches!(
            codec,
            Compression::Zstd | Compression::Xz | Compression::Lz4
        )
    {
        let mut w = Compressed::new(Vec::new(), codec, level, large).unwrap();
        let mut at = 0;
        for &(end, flush) in &steps {
            // Other pieces: halves, thirds, ... of each write, by the seed.
            let parts = usize::from(*seed % 5) + 1;
            let size = (end - at).div_ceil(parts).max(1);
            for piece in bytes[at..end].chunks(size) {
                w.write_all(piece).unwrap();
            }
            if flush {
                w.flush().unwrap();
            }
            at = end;
        }
        assert!(
            w.finish().unwrap() == out,
            "{codec:?}: other pieces, other bytes"
        );
    }
    if codec != Compression::None {
        assert_eq!(Compression::sniff(&out), codec, "{} bytes out", out.len());
    }
    let mut back = Vec::with_capacity(bytes.len());
    codec
        .decoder(BufReader::new(Cursor::new(out)))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert!(
        back == bytes,
        "{codec:?} level {level:?}: {} bytes in, {} back",
        bytes.len(),
        back.len()
    );
});
