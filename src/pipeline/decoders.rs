//! Decoder threads: sources whose reading is decoding (gzip, zstd, xz, lz4, a legacy
//! character set) are chunked on threads of their own, several sources at once, while
//! the reader hands their chunks on in input order.
//!
//! On the reader thread such a source caps the run at its decoder's speed: zlib-rs
//! inflates the news corpus at ~340 MiB/s and liblzma at ~90 (`cargo bench --bench
//! decompress`) against 30-50 MB/s a worker classifies, so one thread decoding gzip
//! feeds about eight workers and one decoding xz two or three. bzip2 is left to the
//! reader: its blocks are decoded on the pool already (see [`crate::bunzip2`]), and
//! several bzip2 sources at once would multiply the blocks held in flight. One large
//! source is still decoded by one thread (but for xz written in blocks, whose decoder has
//! threads of its own, [`crate::unxz`]): only a dump of several files gains.

use crate::compression::Compression;
use crate::input::Text;
use crate::reader::{Chunk, Chunker};
use std::io;
use std::sync::{mpsc, Mutex};

/// How many decoder threads a run with `workers` workers gets: none for one worker (a
/// `--threads 1` run stays a worker, the reader and the writer) or in pipe mode (a record
/// goes out as soon as it is read, with no hop through another thread); else one for
/// every two workers, at most 8. Each holds a source's decoder state and up to two
/// chunks, so the cap bounds memory: xz's preset-9 dictionary is 64 MiB.
pub(super) fn decoder_threads(workers: usize, pipe: bool) -> usize {
    if pipe || workers < 2 {
        0
    } else {
        (workers / 2).clamp(1, 8)
    }
}

/// Whether chunking `text` decodes it on the way with a decoder that runs on the thread
/// that reads (a source read whole was decoded while it was opened). `raw_utf8` and
/// `compression` are as [`crate::input::Opened::Text`] gives them.
pub(super) fn decodes_as_read(text: &Text, raw_utf8: bool, compression: Compression) -> bool {
    let on_read = match compression {
        Compression::Gzip | Compression::Zstd | Compression::Xz | Compression::Lz4 => true,
        // Only a legacy character set is decoded.
        Compression::None => !raw_utf8,
        // Its blocks are decoded on the pool already.
        Compression::Bzip2 => false,
    };
    matches!(text, Text::Stream(_)) && on_read
}

/// What a decoder thread sends of a source: its chunks in order, then its end or the
/// failure that cut it short.
pub(super) enum Decoded {
    Chunk(Chunk),
    /// The end; the number the next line would have had.
    End(usize),
    Failed(io::Error),
}

/// A source to chunk, and where its chunks go.
pub(super) type Assignment = (Chunker, mpsc::SyncSender<Decoded>);

/// Where a source's chunks come from: its chunker, run here, or a decoder thread.
pub(super) enum Chunks {
    /// Chunked by the thread that asks.
    Here(Chunker),
    /// Chunked on a decoder thread.
    Decoder {
        decoded: mpsc::Receiver<Decoded>,
        /// Known at the end.
        next_line: usize,
        /// As [`Chunker::is_json_array`].
        json_array: bool,
    },
}

impl Chunks {
    /// Hands `chunker` to the decoder threads (taken in the order given), or keeps it
    /// here if they are gone.
    pub(super) fn on_decoder(chunker: Chunker, decoders: &mpsc::Sender<Assignment>) -> Chunks {
        // One chunk waiting: a source not yet in turn holds two (that and the one being
        // read), and the one in turn is read ahead by one.
        let (tx, rx) = mpsc::sync_channel(1);
        let json_array = chunker.is_json_array();
        match decoders.send((chunker, tx)) {
            Ok(()) => Chunks::Decoder {
                decoded: rx,
                next_line: 1,
                json_array,
            },
            Err(mpsc::SendError((chunker, _))) => Chunks::Here(chunker),
        }
    }

    /// Whether the chunks come from a decoder thread.
    pub(super) fn decoded_elsewhere(&self) -> bool {
        matches!(self, Chunks::Decoder { .. })
    }

    /// The next chunk, or `None` at the end of the source (as [`Chunker::next_chunk`]).
    pub(super) fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        match self {
            Chunks::Here(chunker) => chunker.next_chunk(),
            Chunks::Decoder {
                decoded, next_line, ..
            } => match decoded.recv() {
                Ok(Decoded::Chunk(c)) => Ok(Some(c)),
                Ok(Decoded::End(n)) => {
                    *next_line = n;
                    Ok(None)
                }
                Ok(Decoded::Failed(e)) => Err(e),
                // Not expected: a decoder thread sends every source it takes an end or a
                // failure, panics included.
                Err(mpsc::RecvError) => Err(io::Error::other("the decoder thread failed")),
            },
        }
    }

    /// The number the next line would have (as [`Chunker::next_line`]; from a decoder
    /// thread, known once the end is read).
    pub(super) fn next_line(&self) -> usize {
        match self {
            Chunks::Here(chunker) => chunker.next_line(),
            Chunks::Decoder { next_line, .. } => *next_line,
        }
    }

    /// The chunk that stands for a source with no lines: its output is still written
    /// (an empty file; `[]` for an empty JSON array).
    pub(super) fn empty(&self) -> Chunk {
        let json_array = match self {
            Chunks::Here(chunker) => chunker.is_json_array(),
            Chunks::Decoder { json_array, .. } => *json_array,
        };
        Chunk {
            first_line: self.next_line(),
            json_array,
            ..Chunk::default()
        }
    }
}

/// A decoder thread: chunks the sources it is given, one at a time, in the order they
/// were sent, until they stop coming. A source whose receiver is gone (the run stopped)
/// is dropped. Taking sources in the order sent is what rules out a deadlock: the source
/// the reader waits for was taken before any later one, so it is being read.
pub(super) fn decode_sources(assignments: &Mutex<mpsc::Receiver<Assignment>>) {
    loop {
        let next = match assignments.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((mut chunker, tx)) = next else { return };
        loop {
            // A panic in a decoder is a bug: it fails this source with an error that
            // names it, instead of taking the thread (and, as the threads are joined,
            // the run) with it.
            let next =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chunker.next_chunk()));
            let d = match next {
                Ok(Ok(Some(c))) => Decoded::Chunk(c),
                Ok(Ok(None)) => Decoded::End(chunker.next_line()),
                Ok(Err(e)) => Decoded::Failed(e),
                Err(_) => Decoded::Failed(io::Error::other("a bug stopped its decoding")),
            };
            let last = !matches!(d, Decoded::Chunk(_));
            if tx.send(d).is_err() || last {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    fn chunker(bytes: &[u8]) -> Chunker {
        Chunker::new(Box::new(Cursor::new(bytes.to_vec())), false, 64)
    }

    /// Every chunk, then the next line number, or the error that ended it.
    fn drain(mut chunks: Chunks) -> (Vec<Chunk>, io::Result<usize>) {
        let mut got = Vec::new();
        loop {
            match chunks.next_chunk() {
                Ok(Some(c)) => got.push(c),
                Ok(None) => return (got, Ok(chunks.next_line())),
                Err(e) => return (got, Err(e)),
            }
        }
    }

    /// Reads `good` bytes, then fails.
    struct Failing(Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("disk gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn sources_chunked_on_decoder_threads_come_back_as_chunked_here() {
        let text: Vec<u8> = (0..200)
            .flat_map(|i| format!("第{i}段，一些文字。\n\n").into_bytes())
            .collect();
        let (assign, assignments) = mpsc::channel();
        let assignments = Mutex::new(assignments);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| decode_sources(&assignments));
            }
            // Sent in order, drained in order; the later ones wait, a chunk ahead.
            let sources: Vec<Chunks> = (0..5)
                .map(|k| Chunks::on_decoder(chunker(&text[..text.len() * k / 4]), &assign))
                .collect();
            assert!(sources.iter().all(Chunks::decoded_elsewhere));
            for (k, source) in sources.into_iter().enumerate() {
                let here = drain(Chunks::Here(chunker(&text[..text.len() * k / 4])));
                let there = drain(source);
                assert_eq!(there.0, here.0, "source {k}");
                assert_eq!(there.1.unwrap(), here.1.unwrap(), "source {k}");
            }
            // A failure comes after the chunks read before it.
            let failing = Failing(Cursor::new(text.clone()));
            let reader = Box::new(io::BufReader::new(failing));
            let (chunks, err) = drain(Chunks::on_decoder(Chunker::new(reader, false, 64), &assign));
            assert!(!chunks.is_empty());
            assert_eq!(err.unwrap_err().to_string(), "disk gone");
            // A decoder that panics (a bug) fails its source; the thread goes on.
            struct Panicking;
            impl Read for Panicking {
                fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                    panic!("a decoder bug")
                }
            }
            let reader = Box::new(io::BufReader::new(Panicking));
            let (chunks, err) = drain(Chunks::on_decoder(Chunker::new(reader, false, 64), &assign));
            assert!(chunks.is_empty());
            assert_eq!(err.unwrap_err().to_string(), "a bug stopped its decoding");
            // A source given up half-way (the run stopped) frees its decoder: the next
            // one is still chunked, and dropping the sender ends the threads.
            let mut abandoned = Chunks::on_decoder(chunker(&text), &assign);
            assert!(abandoned.next_chunk().unwrap().is_some());
            drop(abandoned);
            let after = drain(Chunks::on_decoder(chunker(b"a\n"), &assign));
            assert_eq!(after.1.unwrap(), 2);
            drop(assign);
        });
    }

    #[test]
    fn decoding_on_decoder_threads_is_for_streams_through_one_thread_decoders() {
        let stream = || Text::Stream(Box::new(Cursor::new(Vec::new())));
        let whole = Text::Whole(Vec::new());
        for (c, elsewhere) in [
            (Compression::Gzip, true),
            (Compression::Zstd, true),
            (Compression::Xz, true),
            (Compression::Lz4, true),
            (Compression::Bzip2, false),
            (Compression::None, false),
        ] {
            assert_eq!(decodes_as_read(&stream(), true, c), elsewhere, "{c:?}");
            assert!(!decodes_as_read(&whole, true, c), "{c:?}");
        }
        // A legacy character set is decoded as it is read; bzip2 stays on the reader.
        assert!(decodes_as_read(&stream(), false, Compression::None));
        assert!(decodes_as_read(&stream(), false, Compression::Gzip));
        assert!(!decodes_as_read(&stream(), false, Compression::Bzip2));
        assert_eq!(decoder_threads(1, false), 0);
        assert_eq!(decoder_threads(8, true), 0);
        assert_eq!(
            [2, 3, 4, 16, 17, 64].map(|w| decoder_threads(w, false)),
            [1, 1, 2, 8, 8, 8]
        );
    }
}
