//! bzip2 input decompressed on every core, as lbzip2 does it.
//!
//! One libbzip2 decoder runs at ~18 MB/s here, slower than one core classifies, so a
//! `.bz2` dump read by one decoder would leave the other cores waiting on it. bzip2
//! compresses each block of up to 900 kB on its own, and a block opens with a 48-bit
//! magic, so a feeder thread reads the compressed input, finds where each block begins
//! and ends (at any bit: blocks are not byte-aligned), and hands each block to rayon's
//! pool as a one-block stream of its own (shifted into place by `bz2::Bits`);
//! the reader takes the decoded blocks in order. With a pool of one thread the reader
//! decodes each block itself, as one decoder would, beside that thread.
//!
//! The magic can also turn up inside a block's compressed bits (once in 2^48 bits, about
//! once in 35 TB). A block cut there fails to decode, and the reader then joins it to the
//! next piece and decodes the two as one, on its own thread: the output never depends on
//! where the feeder cut. Each block's CRC is checked by libbzip2, and each stream's CRC,
//! folded from its blocks', by the reader. Streams follow one another (pbzip2's output,
//! Wikipedia's multistream dumps, `cat a.bz2 b.bz2`); a stream that is cut short, damaged
//! or followed by something else is an error, after every block before it is read.

use crate::bz2::{read, Bits, BLOCK_MAGIC, END_MAGIC};
use crate::in_order;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{mpsc, Arc};

/// Compressed bytes read at a time.
const READ: usize = 1 << 18;

/// The most bits a block (or the pieces joined into one) may take: twice the largest
/// block a stream of `level` holds. No real block comes near it (bzip2 itself never
/// lengthens a block by more than a few percent); it bounds the work and memory spent on
/// damaged input.
fn most_bits(level: u8) -> u64 {
    u64::from(level - b'0') * 200_000 * 8
}

/// Bits `start..end` of the input, and the level of their stream.
#[derive(Clone)]
struct Piece {
    /// The bytes that hold the bits; they begin at bit `skip`.
    bytes: Arc<[u8]>,
    skip: u64,
    start: u64,
    end: u64,
    /// The level digit of its stream (b'1' to b'9').
    level: u8,
}

impl Piece {
    fn bits(&self) -> u64 {
        self.end - self.start
    }
}

/// A block, or what was taken for one.
struct Chunk {
    piece: Piece,
    /// What was found where it ends.
    next: Next,
    /// It begins where an end of stream was taken to be, and no stream followed: data
    /// after a stream if that end was real, the rest of a block if it was not.
    after_rejected_end: bool,
    /// Its decompressed bytes, being made on the pool once the reader has taken it
    /// (unless the reader decodes blocks itself).
    decoded: Option<mpsc::Receiver<io::Result<Vec<u8>>>>,
}

/// What the feeder found where a chunk ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Next {
    /// A block's magic.
    Block,
    /// A stream's end magic, followed by the stream's CRC.
    End { crc: u32 },
    /// The end of the input.
    Nothing,
    /// Nothing within [`most_bits`]: the feeder stopped there.
    TooLong,
}

/// What the feeder sends the reader, in input order.
enum Item {
    Chunk(Chunk),
    /// A stream without a block (what bzip2 writes for an empty file), with its CRC.
    Empty {
        crc: u32,
    },
    /// Reading the input failed, or it is not bzip2 at all.
    Failed(io::Error),
    /// The end of the input: nothing follows.
    Done,
}

/// The decompressed bytes of a bzip2 input of one or more streams, decoded on rayon's
/// pool a block at a time and read in order.
pub struct Bunzip2 {
    items: mpsc::Receiver<Item>,
    /// Items taken from the feeder, their chunks being decoded, in order.
    pending: VecDeque<Item>,
    /// How many items may be pending (bounds memory).
    most: usize,
    /// Whether blocks are decoded here, as they are read, rather than on the pool.
    here: bool,
    /// Decoded bytes not yet read, from `at`.
    out: Vec<u8>,
    at: usize,
    /// The open stream's CRC so far, folded from its blocks'.
    crc: u32,
    /// Whether the last thing read was the end of a stream.
    ended: bool,
    /// Whether the end of the input was read.
    done: bool,
}

impl Bunzip2 {
    /// Decompresses `raw`, whose first bytes are a bzip2 stream's header. A feeder thread
    /// reads `raw`, ahead of the reader by a bounded number of blocks.
    pub fn new(raw: Box<dyn Read + Send>) -> io::Result<Bunzip2> {
        let (tx, rx) = mpsc::sync_channel(2 * rayon::current_num_threads() + 2);
        let feeder = Feeder {
            raw,
            buf: Vec::new(),
            base: 0,
            eof: false,
            items: tx,
        };
        std::thread::Builder::new()
            .name("chaff-bunzip2".into())
            .spawn(move || feeder.run())?;
        Ok(Bunzip2 {
            items: rx,
            pending: VecDeque::new(),
            // Up to two blocks a pool thread, and two more: the reader's pool (rayon's
            // global one in chaff's runs), whatever thread it reads on.
            most: 2 * rayon::current_num_threads() + 2,
            // A pool of one thread (`--threads 1`) also compresses the outputs: the
            // reader decodes beside it rather than queue behind it, as one decoder
            // would.
            here: rayon::current_num_threads() == 1,
            out: Vec::new(),
            at: 0,
            crc: 0,
            ended: false,
            done: false,
        })
    }

    /// The next item, and as many after it as may be pending, their chunks sent to be
    /// decoded on the pool.
    fn take(&mut self) -> io::Result<Item> {
        let item = match self.pending.pop_front() {
            Some(item) => item,
            None => {
                let item = self.items.recv().map_err(|_| {
                    io::Error::other("the bzip2 feeder thread stopped before the end of its input")
                })?;
                self.start(item)
            }
        };
        while self.pending.len() < self.most {
            match self.items.try_recv() {
                Ok(more) => {
                    let more = self.start(more);
                    self.pending.push_back(more)
                }
                Err(_) => break,
            }
        }
        Ok(item)
    }

    /// Takes the next item into `out`; false at the end of the input.
    fn next(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let item = self.take()?;
        let chunk = match item {
            Item::Done => {
                self.done = true;
                return Ok(false);
            }
            Item::Failed(e) => return Err(e),
            Item::Empty { crc } => {
                if crc != 0 {
                    return Err(invalid("an empty bzip2 stream has a CRC other than 0"));
                }
                self.ended = true;
                return Ok(true);
            }
            Item::Chunk(chunk) => chunk,
        };
        if chunk.after_rejected_end && self.ended {
            return Err(trailing(&chunk));
        }
        let decoded = match &chunk.decoded {
            Some(decoding) => in_order::wait(decoding).map_err(|_| {
                io::Error::other("a bzip2 block's decoder stopped without a result")
            })?,
            None => decode(std::slice::from_ref(&chunk.piece)),
        };
        let (data, pieces, next) = match decoded {
            Ok(data) => (data, vec![chunk.piece], chunk.next),
            Err(e) => self.join(chunk, e)?,
        };
        // A block decoded: its CRC is there (checked by libbzip2 against its bytes).
        let block_crc = bits_of(&pieces, 48, 32).unwrap_or_default() as u32;
        self.crc = self.crc.rotate_left(1) ^ block_crc;
        let (first, last) = (&pieces[0], &pieces[pieces.len() - 1]);
        match next {
            Next::Block => self.ended = false,
            Next::End { crc } => {
                if crc != self.crc {
                    return Err(invalid(&format!(
                        "the bzip2 stream that ends at byte {} has a wrong CRC (damaged)",
                        last.end / 8
                    )));
                }
                self.crc = 0;
                self.ended = true;
            }
            Next::Nothing => return Err(cut_short()),
            Next::TooLong => return Err(too_long(first)),
        }
        self.out = data;
        self.at = 0;
        Ok(true)
    }

    /// `item`, its chunk (if it is one) sent to be decoded on the pool, unless blocks
    /// are decoded here.
    fn start(&self, mut item: Item) -> Item {
        if let (Item::Chunk(c), false) = (&mut item, self.here) {
            let piece = c.piece.clone();
            c.decoded = Some(in_order::spawn(move || {
                decode(std::slice::from_ref(&piece))
            }));
        }
        item
    }

    /// A chunk that did not decode, joined to the chunks after it until they decode as
    /// one block (the feeder cut it at a magic inside its bits), with what ends the
    /// last. Pieces that still fail at the end of the input, or past [`most_bits`], were
    /// damaged (or cut short).
    fn join(&mut self, chunk: Chunk, error: io::Error) -> io::Result<(Vec<u8>, Vec<Piece>, Next)> {
        let damaged = |p: &Piece| {
            invalid(&format!(
                "the bzip2 block at byte {} is damaged ({error})",
                p.start / 8
            ))
        };
        let mut next = chunk.next;
        let mut pieces = vec![chunk.piece];
        loop {
            match next {
                // The input ends inside the block: cut short. Past pieces joined to it,
                // the block had an end of its own and did not decode: damaged (other
                // data after the stream is joined too).
                Next::Nothing if pieces.len() == 1 => return Err(cut_short()),
                Next::Nothing => return Err(damaged(&pieces[0])),
                Next::TooLong => return Err(too_long(&pieces[0])),
                _ => {}
            }
            let end = pieces[pieces.len() - 1].end;
            let more = match self.take()? {
                Item::Chunk(more) if more.piece.start == end => more,
                Item::Failed(e) => return Err(e),
                _ => return Err(damaged(&pieces[0])),
            };
            next = more.next;
            pieces.push(more.piece);
            let bits: u64 = pieces.iter().map(Piece::bits).sum();
            if bits > most_bits(pieces[0].level) {
                return Err(damaged(&pieces[0]));
            }
            if let Ok(data) = decode(&pieces) {
                return Ok((data, pieces, next));
            }
        }
    }
}

impl Read for Bunzip2 {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if buf.is_empty() || !self.next()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn cut_short() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "bzip2 stream cut short (the input ends inside it)",
    )
}

/// A chunk after a stream's end that is not a stream: `start` is the end magic's bit.
fn trailing(chunk: &Chunk) -> io::Error {
    crate::streams::trailing("a", "bzip2 stream", (chunk.piece.start + 80).div_ceil(8))
}

fn too_long(first: &Piece) -> io::Error {
    invalid(&format!(
        "no bzip2 block ends within {} bytes of byte {} (damaged)",
        most_bits(first.level) / 8,
        first.start / 8
    ))
}

/// `n` bits (n <= 32) at bit `at` of the pieces taken as one run of bits; None past
/// their end.
fn bits_of(pieces: &[Piece], mut at: u64, n: u32) -> Option<u64> {
    let mut v = 0;
    let mut left = n;
    for p in pieces {
        while left > 0 && at < p.bits() {
            v = (v << 1) | read(&p.bytes, p.skip + at, 1);
            at += 1;
            left -= 1;
        }
        if left == 0 {
            return Some(v);
        }
        at -= p.bits();
    }
    None
}

/// The pieces (one block) decompressed, as a stream of that one block.
fn decode(pieces: &[Piece]) -> io::Result<Vec<u8>> {
    let level = pieces[0].level;
    let bits: u64 = pieces.iter().map(Piece::bits).sum();
    // Shorter than a block's magic, CRC and first fields: not a block.
    let crc = bits_of(pieces, 48, 32).ok_or_else(|| invalid("too short for a block"))?;
    let mut stream = Bits::new(Vec::with_capacity((bits / 8) as usize + 16));
    stream.open(level)?;
    for p in pieces {
        stream.append(&p.bytes, p.skip, p.bits());
    }
    stream.end_block(crc as u32)?;
    stream.close()?;
    let stream = stream.into_inner();
    let mut out = Vec::with_capacity(usize::from(level - b'0') * 100_000);
    bzip2::bufread::BzDecoder::new(&stream[..]).read_to_end(&mut out)?;
    Ok(out)
}

/// The feeder thread: reads the compressed input and sends its blocks in order.
struct Feeder {
    raw: Box<dyn Read + Send>,
    /// Compressed bytes read and not yet sent; `buf[0]` is byte `base` of the input.
    buf: Vec<u8>,
    base: u64,
    eof: bool,
    items: mpsc::SyncSender<Item>,
}

/// Where the feeder is in the input.
enum At {
    /// At byte `at`, where a stream's header is due; `after_end` is the bit where the
    /// stream before ended (None for the first).
    Header { at: u64, after_end: Option<u64> },
    /// In a block (or what was taken for one) that begins at bit `start`.
    Block {
        start: u64,
        after_rejected_end: bool,
    },
}

impl Feeder {
    fn run(mut self) {
        if let Err(e) = self.feed() {
            let _ = self.items.send(Item::Failed(e));
        }
    }

    /// Sends every block; returns at the end of the input, at an error, or when the
    /// reader is gone.
    fn feed(&mut self) -> io::Result<()> {
        let mut at = At::Header {
            at: 0,
            after_end: None,
        };
        let mut level = b'9';
        loop {
            at = match at {
                At::Header { at, after_end } => {
                    // Kept from the end before: the rest of a block if no stream follows.
                    self.forget(after_end.unwrap_or(at * 8));
                    let from = (at - self.base) as usize;
                    // A header, a magic, and an empty stream's CRC: 14 bytes.
                    while self.buf.len() < from + 14 && self.more()? {}
                    let h = &self.buf[from.min(self.buf.len())..];
                    if h.is_empty() && after_end.is_some() {
                        let _ = self.items.send(Item::Done);
                        return Ok(());
                    }
                    let magic = if h.len() >= 10 { read(h, 32, 48) } else { 0 };
                    let header = h.starts_with(b"BZh")
                        && h.len() >= 10
                        && (b'1'..=b'9').contains(&h[3])
                        && (magic == BLOCK_MAGIC || magic == END_MAGIC && h.len() >= 14);
                    match (header, after_end) {
                        (true, _) if magic == BLOCK_MAGIC => {
                            level = h[3];
                            At::Block {
                                start: at * 8 + 32,
                                after_rejected_end: false,
                            }
                        }
                        (true, _) => {
                            level = h[3];
                            let crc = read(h, 80, 32) as u32;
                            if self.items.send(Item::Empty { crc }).is_err() {
                                return Ok(());
                            }
                            At::Header {
                                at: at + 14,
                                after_end: Some(at * 8 + 32),
                            }
                        }
                        (false, None) => return Err(invalid("not a bzip2 stream")),
                        // Not a stream: the end before was data of a block, or the
                        // stream is followed by something else (the reader tells which).
                        (false, Some(end)) => At::Block {
                            start: end,
                            after_rejected_end: true,
                        },
                    }
                }
                At::Block {
                    start,
                    after_rejected_end,
                } => {
                    self.forget(start);
                    let (end, next) = self.find(start, level)?;
                    let chunk = self.chunk(start, end, level, next, after_rejected_end);
                    if self.items.send(Item::Chunk(chunk)).is_err() {
                        return Ok(());
                    }
                    match next {
                        Next::Block => At::Block {
                            start: end,
                            after_rejected_end: false,
                        },
                        Next::End { .. } => At::Header {
                            at: (end + 80).div_ceil(8),
                            after_end: Some(end),
                        },
                        Next::Nothing | Next::TooLong => {
                            let _ = self.items.send(Item::Done);
                            return Ok(());
                        }
                    }
                }
            };
        }
    }

    /// Where the chunk that begins at bit `start` ends, and what is there: the first
    /// magic after `start` (a block's, or a stream's end with the stream's CRC), the end
    /// of the input, or [`Next::TooLong`] at [`most_bits`].
    fn find(&mut self, start: u64, level: u8) -> io::Result<(u64, Next)> {
        let limit = start + most_bits(level);
        // From the next bit: a magic found inside a block's last 47 bits would otherwise
        // hide the real one after it.
        let mut from = start + 1;
        loop {
            if let Some((q, magic)) = find_magic(&self.buf, self.base * 8, from) {
                if q > limit {
                    return Ok((limit, Next::TooLong));
                }
                if magic == BLOCK_MAGIC {
                    return Ok((q, Next::Block));
                }
                // The stream's CRC follows its end magic.
                while q + 80 > self.end_bit() {
                    if !self.more()? {
                        return Ok((self.end_bit(), Next::Nothing));
                    }
                }
                let crc = read(&self.buf, q + 48 - self.base * 8, 32) as u32;
                return Ok((q, Next::End { crc }));
            }
            // Where a magic could still begin once more bytes come.
            from = from.max(self.end_bit().saturating_sub(47));
            if from > limit {
                return Ok((limit, Next::TooLong));
            }
            if !self.more()? {
                return Ok((self.end_bit(), Next::Nothing));
            }
        }
    }

    /// Bits `start..end` of the input (in `buf`).
    fn chunk(&self, start: u64, end: u64, level: u8, next: Next, after: bool) -> Chunk {
        let from = (start / 8 - self.base) as usize;
        let to = (end.div_ceil(8) - self.base) as usize;
        Chunk {
            piece: Piece {
                bytes: self.buf[from..to].into(),
                skip: start % 8,
                start,
                end,
                level,
            },
            next,
            after_rejected_end: after,
            decoded: None,
        }
    }

    /// The bit just past the bytes read.
    fn end_bit(&self) -> u64 {
        (self.base + self.buf.len() as u64) * 8
    }

    /// Drops the bytes before the one that holds bit `keep`.
    fn forget(&mut self, keep: u64) {
        let drop = (keep / 8 - self.base) as usize;
        self.buf.drain(..drop);
        self.base += drop as u64;
    }

    /// Reads more of the input; false at its end.
    fn more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let had = self.buf.len();
        self.buf.resize(had + READ, 0);
        loop {
            match self.raw.read(&mut self.buf[had..]) {
                Ok(n) => {
                    self.buf.truncate(had + n);
                    self.eof = n == 0;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(had);
                    return Err(e);
                }
            }
        }
    }
}

/// For each byte value: the bit shifts `s` (bit `s`, and bit `8 + s` for the end magic)
/// at which a magic starting at bit `s` of a byte has this value in the byte after.
/// Most bytes are in no magic there, so most places are passed over at one look.
const SECOND_BYTE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut s = 0;
    while s < 8 {
        table[((BLOCK_MAGIC >> (32 + s)) & 0xff) as usize] |= 1 << s;
        table[((END_MAGIC >> (32 + s)) & 0xff) as usize] |= 1 << (8 + s);
        s += 1;
    }
    table
};

/// The first bit at or after `from` where 48 bits of `bytes` spell a block's magic or
/// a stream's end magic, and which magic; `bytes` begin at bit `base` of the input.
fn find_magic(bytes: &[u8], base: u64, from: u64) -> Option<(u64, u64)> {
    let total = bytes.len() as u64 * 8;
    let first = from - base;
    let mut i = (first / 8) as usize;
    while i as u64 * 8 + 48 <= total {
        let shifts = SECOND_BYTE[usize::from(bytes[i + 1])];
        if shifts == 0 {
            i += 1;
            continue;
        }
        // Eight bytes from byte i (zeros past the end): the 48 bits from its bit s are
        // bits s..s + 48 of the word.
        let word = match bytes.get(i..i + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("eight bytes")),
            None => {
                let mut w = [0u8; 8];
                w[..bytes.len() - i].copy_from_slice(&bytes[i..]);
                u64::from_be_bytes(w)
            }
        };
        let lowest = if i as u64 == first / 8 { first % 8 } else { 0 };
        for s in lowest..8 {
            let q = i as u64 * 8 + s;
            if q + 48 > total {
                break;
            }
            if shifts & (0x101 << s) == 0 {
                continue;
            }
            let v = (word << s) >> 16;
            if v == BLOCK_MAGIC || v == END_MAGIC {
                return Some((base + q, v));
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::text;
    use std::io::{Cursor, Write};

    /// `data` compressed by libbzip2 itself at `level` (1 to 9): one stream, as `bzip2`
    /// writes.
    fn bzip2(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn unzip(z: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Bunzip2::new(Box::new(Cursor::new(z.to_vec())))?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Text with runs and noise in it: blocks of many lengths modulo 8 bits.
    fn mixed(n: usize, seed: u64) -> Vec<u8> {
        let mut data = text(n);
        let mut x = seed | 1;
        for (i, b) in data.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 7 {
                0 => *b = x as u8,
                1 => *b = b"aaaa"[i % 4],
                _ => {}
            }
        }
        data
    }

    #[test]
    fn streams_of_every_level_read_back_on_pools_of_one_and_three() {
        let data = mixed(1_300_000, 5);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for level in [1, 2, 5, 9] {
                let z = bzip2(&data, level);
                let got = pool.install(|| unzip(&z)).unwrap();
                assert!(got == data, "level {level}, {threads} threads");
            }
        }
    }

    #[test]
    fn streams_one_after_another_read_as_one_whatever_their_levels() {
        let a = mixed(250_000, 1);
        let b = text(120_000);
        let z = [bzip2(&a, 1), bzip2(b"", 9), bzip2(&b, 9), bzip2(&a, 3)].concat();
        assert_eq!(unzip(&z).unwrap(), [&a[..], &b[..], &a[..]].concat());
        assert_eq!(unzip(&bzip2(b"", 9)).unwrap(), b"");
    }

    #[test]
    fn a_magic_is_found_at_any_bit() {
        let mut x = 99u64;
        let noise: Vec<u8> = (0..64)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // No byte of either magic, so the noise holds neither.
                (x as u8) & 0x0f | 0x80
            })
            .collect();
        assert_eq!(find_magic(&noise, 0, 0), None);
        for magic in [BLOCK_MAGIC, END_MAGIC] {
            for at in 0..80u64 {
                let mut bits = Bits::new(Vec::new());
                bits.append(&noise, 0, at);
                bits.append(&magic.to_be_bytes(), 16, 48);
                bits.append(&noise, 0, 64);
                bits.end_block(0).unwrap();
                let bytes = bits.into_inner();
                assert_eq!(find_magic(&bytes, 800, 800), Some((800 + at, magic)));
                assert_eq!(find_magic(&bytes, 800, 800 + at), Some((800 + at, magic)));
                assert_eq!(find_magic(&bytes, 800, 801 + at), None);
                // Not whole yet: not found.
                let short = &bytes[..((at + 47) / 8) as usize];
                assert_eq!(find_magic(short, 0, 0), None);
            }
        }
    }

    /// The items the feeder sends for `z`, with the chunks cut again at the given bits
    /// (relative to each chunk's start) as if a magic had turned up there inside a
    /// block: a block's (`false`) or a stream's end (`true`), followed by no stream.
    fn items_cut_again(z: &[u8], cuts: &[(u64, bool)]) -> mpsc::Receiver<Item> {
        let (tx, rx) = mpsc::sync_channel(1000);
        Feeder {
            raw: Box::new(Cursor::new(z.to_vec())),
            buf: Vec::new(),
            base: 0,
            eof: false,
            items: tx,
        }
        .run();
        let (out, cut_rx) = mpsc::sync_channel(1000);
        let mut cuts = cuts.iter().cycle();
        for item in rx.iter() {
            let Item::Chunk(c) = item else {
                out.send(item).unwrap();
                continue;
            };
            let &(at, as_end) = cuts.next().unwrap();
            let p = c.piece;
            if at == 0 || at >= p.bits() {
                out.send(Item::Chunk(c_again(p, c.next, c.after_rejected_end)))
                    .unwrap();
                continue;
            }
            let split = |from: u64, to: u64| {
                // Its bits start at the same bit of a byte as in the input.
                let (skip, n) = ((p.start + from) % 8, to - from);
                let mut bits = Bits::new(Vec::new());
                bits.append(&[0], 0, skip);
                bits.append(&p.bytes, p.skip + from, n);
                bits.append(&[0], 0, (8 - (skip + n) % 8) % 8);
                bits.end_block(0).unwrap();
                Piece {
                    bytes: bits.into_inner().into(),
                    skip,
                    start: p.start + from,
                    end: p.start + to,
                    level: p.level,
                }
            };
            let first = split(0, at);
            let rest = split(at, p.bits());
            let cut = if as_end {
                Next::End { crc: 12345 }
            } else {
                Next::Block
            };
            out.send(Item::Chunk(c_again(first, cut, c.after_rejected_end)))
                .unwrap();
            out.send(Item::Chunk(c_again(rest, c.next, as_end)))
                .unwrap();
        }
        cut_rx
    }

    fn c_again(piece: Piece, next: Next, after_rejected_end: bool) -> Chunk {
        Chunk {
            piece,
            next,
            after_rejected_end,
            decoded: None,
        }
    }

    /// The items read, their blocks decoded on the pool or `here`.
    fn read_items(items: mpsc::Receiver<Item>, here: bool) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Bunzip2 {
            items,
            pending: VecDeque::new(),
            most: 3,
            here,
            out: Vec::new(),
            at: 0,
            crc: 0,
            ended: false,
            done: false,
        }
        .read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_block_cut_where_a_magic_turns_up_inside_it_is_joined_again() {
        let data = [mixed(400_000, 3), text(300_000)].concat();
        let z = [bzip2(&data, 1), bzip2(&text(5000), 9)].concat();
        let whole = [&data[..], &text(5000)].concat();
        for here in [false, true] {
            // Nothing cut again: the feeder's own chunks.
            let got = read_items(items_cut_again(&z, &[(0, false)]), here).unwrap();
            assert!(got == whole);
            for cuts in [
                vec![(1, false)],
                vec![(47, false), (0, false)],
                vec![(79, true)],
                vec![(5000, false), (8001, true), (0, false)],
                vec![(3, true), (100_000, false)],
            ] {
                let got = read_items(items_cut_again(&z, &cuts), here).unwrap();
                assert!(got == whole, "{cuts:?}, decoded here: {here}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(8))]
        /// Streams of any data and level, one after another, read back whole, and so
        /// they do with magics turning up anywhere inside their blocks.
        #[test]
        fn any_streams_read_back_wherever_a_magic_turns_up(
            streams in proptest::collection::vec((0..300_000usize, 1..=9u32), 1..4),
            cuts in proptest::collection::vec((0..300_000u64, proptest::bool::ANY), 1..6),
        ) {
            let data: Vec<Vec<u8>> = streams
                .iter()
                .enumerate()
                .map(|(i, &(n, _))| mixed(n, i as u64 + n as u64))
                .collect();
            let z: Vec<u8> = data
                .iter()
                .zip(&streams)
                .flat_map(|(d, &(_, level))| bzip2(d, level))
                .collect();
            let whole = data.concat();
            proptest::prop_assert!(unzip(&z).unwrap() == whole);
            proptest::prop_assert!(read_items(items_cut_again(&z, &cuts), false).unwrap() == whole);
        }
    }

    #[test]
    fn a_stream_cut_short_anywhere_is_an_error() {
        let z = [bzip2(&mixed(150_000, 7), 1), bzip2(&text(90_000), 1)].concat();
        let first = bzip2(&mixed(150_000, 7), 1).len();
        for at in (0..z.len())
            .step_by(997)
            .chain([z.len() - 1, first - 1, first + 3])
        {
            let got = unzip(&z[..at]);
            assert!(got.is_err(), "cut at {at} of {}", z.len());
        }
        let e = unzip(&z[..z.len() - 5]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    }

    #[test]
    fn damage_is_an_error_that_names_where_and_never_a_panic() {
        let data = mixed(250_000, 11);
        let z = bzip2(&data, 1);
        let mut errors = 0;
        for at in (10..z.len()).step_by(1009) {
            let mut bad = z.clone();
            bad[at] ^= 0x10;
            if let Err(e) = unzip(&bad) {
                errors += 1;
                assert!(e.to_string().contains("bzip2"), "{e}");
            }
        }
        assert!(errors > 0);
        // Past a block's CRC, a flipped bit changes the bytes: libbzip2's check fails.
        let mut bad = z.clone();
        bad[z.len() / 2] ^= 0x01;
        let e = unzip(&bad).unwrap_err();
        assert!(e.to_string().contains("is damaged"), "{e}");
        // With other data after the stream, still damaged, not cut short.
        for tail in [&[0u8; 40][..], b"not bzip2 at all"] {
            let e = unzip(&[&bad[..], tail].concat()).unwrap_err();
            assert!(e.to_string().contains("is damaged"), "{tail:?}: {e}");
        }
    }

    #[test]
    fn what_follows_a_stream_must_be_a_stream() {
        let z = bzip2(&text(1000), 9);
        for tail in [
            &b"\n"[..],
            b"BZh",
            b"BZh9",
            b"not bzip2 at all, but text",
            &[0; 40],
        ] {
            let e = unzip(&[&z[..], tail].concat()).unwrap_err();
            assert!(
                e.to_string().contains("is not a bzip2 stream"),
                "{tail:?}: {e}"
            );
        }
        assert!(unzip(b"BZh9 is a text").is_err());
    }

    #[test]
    fn a_stream_is_read_as_soon_as_it_ends() {
        // A pipe that holds one stream and then waits: its text comes at once.
        let (reader, mut writer) = io::pipe().unwrap();
        let data = text(200_000);
        writer.write_all(&bzip2(&data, 1)).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut b = Bunzip2::new(Box::new(reader)).unwrap();
            let mut got = vec![0; data.len()];
            let read = b.read_exact(&mut got).map(|_| got == data);
            let _ = tx.send(read.ok());
            // The next stream.
            let mut rest = Vec::new();
            let _ = tx.send(b.read_to_end(&mut rest).ok().map(|_| rest == b"more"));
        });
        let waited = std::time::Duration::from_secs(120);
        assert_eq!(rx.recv_timeout(waited), Ok(Some(true)));
        writer.write_all(&bzip2(b"more", 9)).unwrap();
        drop(writer);
        assert_eq!(rx.recv_timeout(waited), Ok(Some(true)));
    }
}
