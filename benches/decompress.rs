//! Decompression speed of chaff's input layer, by codec and by rayon pool size: bzip2
//! is decoded a block at a time on the pool ([`chaff::bunzip2`]), the others on the
//! reading thread; a large xz file on liblzma's threads too, one for every two workers
//! ([`chaff::unxz`]; chaff writes xz in 4 MiB blocks, which they decode side by side);
//! gzip and zstd through chaff's own member and frame loops ([`chaff::gunzip`],
//! [`chaff::unzstd`]) against the crates' readers.
//! The text is the shared corpus's news train files (read from `../shared`, never
//! copied), compressed as each codec's own tool would.

use chaff::compression::Compression;
use chaff::input::{open_stream, DecodeOptions, Opened};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::{Cursor, Write};

/// About 16 MB of news text.
fn text() -> Vec<u8> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/news");
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .expect("../shared/corpus/news")
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let news: Vec<u8> = dirs
        .iter()
        .flat_map(|d| std::fs::read(d.join("train.txt")).expect("a train.txt"))
        .collect();
    news.repeat(16_000_000usize.div_ceil(news.len()))
}

fn compress(c: Compression, text: &[u8]) -> Vec<u8> {
    match c {
        // One stream, as `bzip2` writes: no help from stream boundaries.
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        _ => {
            let mut w = chaff::output::Compressed::new(Vec::new(), c, None, true).unwrap();
            w.write_all(text).unwrap();
            w.finish().unwrap()
        }
    }
}

fn read_all(z: &[u8]) -> u64 {
    let opened = open_stream(Box::new(Cursor::new(z.to_vec())), &DecodeOptions::default());
    match opened.unwrap() {
        Opened::Text { text, .. } => {
            std::io::copy(&mut text.into_reader(), &mut std::io::sink()).unwrap()
        }
        Opened::Binary(_) => panic!("not text"),
    }
}

fn decompress(c: &mut Criterion) {
    let text = text();
    let mut g = c.benchmark_group("decompress");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for codec in [Compression::Bzip2, Compression::Gzip, Compression::Xz] {
        let z = compress(codec, &text);
        let name = codec.extension().unwrap();
        for threads in [1, cores] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            g.bench_function(format!("{name}_{threads}_threads"), |b| {
                b.iter(|| pool.install(|| assert_eq!(read_all(&z), text.len() as u64)))
            });
            // Read by one thread at these pool sizes (xz: below).
            if codec != Compression::Bzip2 {
                break;
            }
        }
    }
    // xz on as many of liblzma's threads as a pool of twice as many workers gets.
    let z = compress(Compression::Xz, &text);
    for threads in [1, cores] {
        g.bench_function(format!("xz_unxz_{threads}_threads"), |b| {
            b.iter(|| {
                let mut d = chaff::unxz::Unxz::new(&z[..], threads);
                std::io::copy(&mut d, &mut std::io::sink()).unwrap()
            })
        });
    }
    // gzip and zstd through chaff's readers (src/gunzip.rs, src/unzstd.rs) and through
    // the crates' own, which chaff used before session 40: one stream, and a gzip member
    // per 4 KiB of text, as Common Crawl writes a member per record.
    let gz = compress(Compression::Gzip, &text);
    let members: Vec<u8> = text
        .chunks(4096)
        .flat_map(|piece| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(piece).unwrap();
            e.finish().unwrap()
        })
        .collect();
    for (name, z) in [("gz", &gz), ("gz_members", &members)] {
        g.bench_function(format!("{name}_gunzip"), |b| {
            b.iter(|| {
                std::io::copy(
                    &mut chaff::gunzip::Gunzip::new(&z[..]),
                    &mut std::io::sink(),
                )
                .unwrap()
            })
        });
        g.bench_function(format!("{name}_flate2_multi"), |b| {
            b.iter(|| {
                let mut d = flate2::bufread::MultiGzDecoder::new(&z[..]);
                std::io::copy(&mut d, &mut std::io::sink()).unwrap()
            })
        });
    }
    let zst = compress(Compression::Zstd, &text);
    g.bench_function("zst_unzstd", |b| {
        b.iter(|| {
            let mut d = chaff::unzstd::Unzstd::new(&zst[..]).unwrap();
            std::io::copy(&mut d, &mut std::io::sink()).unwrap()
        })
    });
    g.bench_function("zst_zstd_crate", |b| {
        b.iter(|| {
            let mut d = zstd::stream::read::Decoder::with_buffer(&zst[..]).unwrap();
            std::io::copy(&mut d, &mut std::io::sink()).unwrap()
        })
    });
    // One libbzip2 decoder, as chaff read bzip2 before.
    let z = compress(Compression::Bzip2, &text);
    g.bench_function("bz2_one_decoder", |b| {
        b.iter(|| {
            let mut d = bzip2::read::MultiBzDecoder::new(&z[..]);
            std::io::copy(&mut d, &mut std::io::sink()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, decompress);
criterion_main!(benches);
