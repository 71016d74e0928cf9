//! chaff's gzip, zstd and lz4 readers (`chaff::gunzip`, `chaff::unzstd`, `chaff::lz4`:
//! stream after stream, `chaff::streams` checking what follows each) against the crates'
//! own readers. Mode bits 0-1 pick the codec; bit 2 clear: the bytes are the input as
//! they are; set: they are texts, written as members or frames, then maybe followed by
//! zero bytes or other bytes (bits 3-4), cut (bit 5) or given a flipped bit (bit 6).
//! Read whole and through a small buffer (the same text both ways, but for zstd, where
//! libzstd's own reading of damage depends on it), chaff's reader must read what the
//! crate's does:
//! - gzip: where flate2's `MultiGzDecoder` reads a text, the same; chaff reads on past
//!   zero padding, where flate2 fails, and nowhere else;
//! - zstd: the same text as the zstd crate's reader, or both fail;
//! - lz4: where chaff reads a text, lz4_flex's frame decoder (frame after frame,
//!   skippable frames skipped) reads the same (lz4_flex also ends quietly inside a frame
//!   cut before a block, chaff does not).
//!
//! An input as written, undamaged, must read as its texts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{BufReader, Read, Write};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let codec = mode & 3;
    let (input, whole) = if mode & 4 == 0 {
        (rest.to_vec(), None)
    } else {
        written(codec, mode, rest)
    };
    let small = 1 + usize::from(mode >> 3);
    let ours = |input: &[u8]| -> Vec<Option<Vec<u8>>> {
        let buffered = |r: &[u8]| BufReader::with_capacity(small, std::io::Cursor::new(r.to_vec()));
        match codec {
            0 => vec![
                read(chaff::gunzip::Gunzip::new(input)),
                read(chaff::gunzip::Gunzip::new(buffered(input))),
            ],
            1 => vec![
                chaff::unzstd::Unzstd::new(input).ok().and_then(read),
                chaff::unzstd::Unzstd::new(buffered(input))
                    .ok()
                    .and_then(read),
            ],
            _ => vec![
                read(chaff::lz4::Frames::new(input)),
                read(chaff::lz4::Frames::new(buffered(input))),
            ],
        }
    };
    let got = ours(&input);
    if codec == 1 {
        // libzstd reads some damage differently as its input comes in other pieces (a
        // compressed block of size 0 is an empty block when fed in pieces, corrupt when
        // whole): compared with the crate's reader through the same small buffer.
        let buffered = BufReader::with_capacity(small, std::io::Cursor::new(input.clone()));
        let reference = zstd::stream::read::Decoder::with_buffer(buffered)
            .ok()
            .and_then(read);
        assert_eq!(got[1], reference, "through a small buffer");
    } else {
        assert_eq!(got[0], got[1], "a small buffer reads the same");
    }
    let got = got.into_iter().next().flatten();
    if let Some(text) = whole {
        assert_eq!(
            got.as_deref(),
            Some(&text[..]),
            "an input as written reads as its texts"
        );
    }
    match codec {
        0 => {
            let reference = read(flate2::bufread::MultiGzDecoder::new(&input[..]));
            if reference.is_some() {
                assert_eq!(got, reference);
            } else if got.is_some() {
                assert!(input.contains(&0), "read on past nothing but zero padding");
            }
        }
        1 => {
            let reference = zstd::stream::read::Decoder::new(&input[..])
                .ok()
                .and_then(read);
            assert_eq!(got, reference);
        }
        _ => {
            if got.is_some() {
                assert_eq!(got, lz4_frames(&input));
            }
        }
    }
});

/// Everything `r` reads, or `None` if it fails.
fn read(mut r: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).ok().map(|_| out)
}

/// lz4_flex's frame decoder read frame after frame to the end of `input`, skippable
/// frames skipped (lz4_flex fails on them).
fn lz4_frames(input: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < input.len() {
        let head = &input[at..];
        if head.len() >= 8 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18] {
            let len = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
            at = at.checked_add(8 + len).filter(|&end| end <= input.len())?;
            continue;
        }
        let mut cursor = std::io::Cursor::new(head);
        lz4_flex::frame::FrameDecoder::new(&mut cursor)
            .read_to_end(&mut out)
            .ok()?;
        if cursor.position() == 0 {
            return None;
        }
        at += cursor.position() as usize;
    }
    Some(out)
}

/// `bytes` as up to four texts (split at 0xff bytes), each compressed as a member or
/// frame of `codec`, then what the mode adds; and the texts joined, if the input is
/// whole (nothing after the streams but padding its codec allows, nothing cut or damaged).
fn written(codec: u8, mode: u8, bytes: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut z = Vec::new();
    let mut text = Vec::new();
    for (i, t) in bytes.splitn(4, |&b| b == 0xff).enumerate() {
        text.extend_from_slice(t);
        match codec {
            0 => {
                let level = flate2::Compression::new(1 + i as u32 * 2);
                let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
                e.write_all(t).unwrap();
                z.extend(e.finish().unwrap());
            }
            1 => {
                let mut e = zstd::stream::Encoder::new(Vec::new(), 1 + i as i32).unwrap();
                e.include_checksum(i % 2 == 0).unwrap();
                e.write_all(t).unwrap();
                z.extend(e.finish().unwrap());
            }
            _ => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(t).unwrap();
                z.extend(e.finish().unwrap());
            }
        }
    }
    let mut whole = true;
    let n = bytes.len() % 13;
    match mode >> 3 & 3 {
        1 => {
            z.extend(std::iter::repeat_n(0u8, n));
            whole &= codec == 0 || n == 0;
        }
        2 => {
            z.extend(bytes.iter().rev().take(n));
            whole &= n == 0;
        }
        _ => {}
    }
    if mode & 32 != 0 && !z.is_empty() {
        let at = bytes.len() * 7 % z.len();
        whole &= at == z.len();
        z.truncate(at);
    }
    if mode & 64 != 0 && !z.is_empty() {
        let at = bytes.len() * 11 % z.len();
        z[at] ^= 1 << (bytes.len() % 8);
        whole = false;
    }
    (z, whole.then_some(text))
}
