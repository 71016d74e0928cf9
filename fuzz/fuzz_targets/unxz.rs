//! chaff's xz reader (`chaff::unxz`: liblzma's threaded decoder, stream after stream)
//! against liblzma's own reader of concatenated streams, on one thread and on several.
//! Odd mode byte: the bytes are the input as they are; even: they are text, written as
//! a stream of small blocks (sizes in their headers, as `xz -T` writes), padding and a
//! stream of one block, then maybe one byte of it damaged. Both readers must read the
//! same text or both fail; an undamaged input must read as its text.
#![no_main]

use chaff::unxz::Unxz;
use libfuzzer_sys::fuzz_target;
use liblzma::stream::{Action, Check, MtStreamBuilder, Status, Stream, CONCATENATED};
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (input, text) = if mode & 1 == 1 {
        (rest.to_vec(), None)
    } else {
        let (z, damage) = written(mode, rest);
        (z, (damage.is_none()).then_some(rest))
    };
    let reference = read(Box::new(liblzma::bufread::XzDecoder::new_stream(
        &input[..],
        Stream::new_stream_decoder(u64::MAX, CONCATENATED).unwrap(),
    )));
    if let Some(text) = text {
        assert_eq!(reference.as_deref(), Some(text));
    }
    for threads in [1, 3] {
        // Read through a small buffer too: streams and padding end anywhere in it.
        let small = std::io::BufReader::with_capacity(7 + usize::from(mode >> 2), &input[..]);
        for got in [
            read(Box::new(Unxz::new(&input[..], threads))),
            read(Box::new(Unxz::new(small, threads))),
        ] {
            assert_eq!(got, reference, "{threads} threads");
        }
    }
});

/// Everything `r` reads, or `None` if it fails.
fn read(mut r: Box<dyn Read + '_>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).ok().map(|_| out)
}

/// `text` as xz: its first part in blocks of a few hundred bytes, maybe padding, the rest
/// as one block; and the place of a damaged byte, if any. The mode's bits: 1 damage, 2-3
/// the block size, 4 padding, 5-7 where the text is cut and which bit is flipped.
fn written(mode: u8, text: &[u8]) -> (Vec<u8>, Option<usize>) {
    let cut = text.len() * usize::from(mode >> 5) / 8;
    let mut z = encode(
        &text[..cut],
        MtStreamBuilder::new()
            .threads(2)
            .preset(0)
            .block_size(64 + 64 * u64::from(mode >> 2 & 3))
            .check(Check::Crc32)
            .encoder()
            .unwrap(),
    );
    z.extend(std::iter::repeat(0).take(4 * usize::from(mode >> 4 & 1)));
    z.extend(encode(
        &text[cut..],
        Stream::new_easy_encoder(0, Check::Crc64).unwrap(),
    ));
    let damage = (mode & 2 == 2 && !z.is_empty()).then(|| {
        let at = text.len().wrapping_mul(31) % z.len();
        z[at] ^= 1 << (mode >> 5);
        at
    });
    (z, damage)
}

fn encode(text: &[u8], mut stream: Stream) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 4096);
    let mut at = 0;
    while at < text.len() {
        let before = stream.total_in();
        stream
            .process_vec(&text[at..], &mut out, Action::Run)
            .unwrap();
        at += (stream.total_in() - before) as usize;
        out.reserve(4096);
    }
    while stream.process_vec(&[], &mut out, Action::Finish).unwrap() != Status::StreamEnd {
        out.reserve(4096);
    }
    out
}
