//! The reader thread: opens the sources in input order (decompressing and decoding them,
//! see [`crate::input`]), cuts them into chunks ([`Chunker`]) or Parquet row batches and
//! hands them to the job queue.

use super::decoders::{decode_sources, decoder_threads, decodes_as_read, Assignment, Chunks};
use super::queue::{Batch, Batcher, Job};
use super::{Engine, InputFormat};
use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::input::{self, DecodeOptions, Opened};
use crate::journal::Resume;
use crate::reader::{Chunk, Chunker};
use crate::sniff::Reads;
use crate::sources::{Entry, Source};
use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc, Mutex};

/// A source opened, ready to be chunked (or skipped).
enum Prepared {
    /// Not text this run reads: the reason.
    Skip(String),
    /// Its chunks, from here or from a decoder thread.
    Chunks(Chunks),
}

/// Opens the sources in input order for the reader. Opening a file sniffs its encoding,
/// and for a file that is not UTF-8 that costs more than classifying it (chardetng,
/// ~1,600 instructions a byte of the sniffed head), all on the one reader thread; a
/// compressed file shorter than the sniff window is decompressed whole. So once a file
/// has needed detecting as another encoding, or was compressed, with several workers,
/// the next few files are opened ahead on rayon's pool (idle while filtering; as many
/// threads as `--threads`) and taken in input order. Plain UTF-8 dumps skip that (a
/// hand-over per file costs thread wake-ups), stdin is opened in its turn by the reader,
/// and with one worker the reader opens each file itself, so that `--threads 1` keeps to
/// a classifying thread plus the reader and the writer.
pub(super) struct Opener<'a> {
    entries: std::iter::Peekable<Box<dyn Iterator<Item = Result<Entry>> + Send + 'a>>,
    decode: DecodeOptions,
    consumed: &'a Arc<AtomicU64>,
    /// Files being opened ahead, in input order.
    pending: std::collections::VecDeque<(Arc<Entry>, mpsc::Receiver<Result<Opened>>)>,
    /// How many sources to keep opening ahead once detection proves costly (0: never).
    ahead: usize,
    /// Whether to open ahead from now on.
    opening_ahead: bool,
}

impl<'a> Opener<'a> {
    /// An opener of `entries` for a run of `threads` workers.
    pub(super) fn new(
        entries: Box<dyn Iterator<Item = Result<Entry>> + Send + 'a>,
        decode: DecodeOptions,
        consumed: &'a Arc<AtomicU64>,
        threads: usize,
    ) -> Self {
        Opener {
            entries: entries.peekable(),
            decode,
            consumed,
            pending: Default::default(),
            // A few: each holds an open file and its sniffed head (up to 64 KiB).
            ahead: if threads > 1 {
                (threads * 2).min(16)
            } else {
                0
            },
            opening_ahead: false,
        }
    }

    /// Whether the next source is standard input.
    pub(super) fn stdin_next(&mut self) -> bool {
        matches!(
            self.entries.peek(),
            Some(Ok(Entry {
                source: Source::Stdin,
                ..
            }))
        )
    }

    /// The next source and what opening it gave; `None` at the end, an error if finding
    /// the next source failed.
    pub(super) fn next(&mut self) -> Option<Result<(Arc<Entry>, Result<Opened>)>> {
        if self.opening_ahead {
            while self.pending.len() < self.ahead {
                let Some(Ok(Entry {
                    source: Source::File { .. },
                    ..
                })) = self.entries.peek()
                else {
                    break;
                };
                let Some(Ok(entry)) = self.entries.next() else {
                    break;
                };
                let (tx, rx) = mpsc::sync_channel(1);
                let entry = Arc::new(entry);
                let (e, decode) = (Arc::clone(&entry), self.decode);
                let consumed = Arc::clone(self.consumed);
                // Dropped unsent only if the reader has stopped waiting for it. A panic
                // (a decoder's bug) fails this source: on the pool it would abort.
                rayon::spawn(move || {
                    let open = || input::open(&e.source, &decode, consumed);
                    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(open))
                        .unwrap_or_else(|_| {
                            Err(Error::Internal(format!(
                                "{}: a bug stopped its opening",
                                e.source.display()
                            )))
                        });
                    drop(tx.send(opened));
                });
                self.pending.push_back((entry, rx));
            }
            if let Some((entry, rx)) = self.pending.pop_front() {
                let opened = rx
                    .recv()
                    .unwrap_or_else(|_| Err(Error::Internal("opening an input failed".into())));
                return Some(Ok((entry, opened)));
            }
        }
        let entry = match self.entries.next()? {
            Ok(e) => Arc::new(e),
            Err(e) => return Some(Err(e)),
        };
        let opened = input::open(&entry.source, &self.decode, Arc::clone(self.consumed));
        if let Ok(Opened::Text {
            encoding,
            compression,
            ..
        }) = &opened
        {
            let detected = self.decode.encoding.is_none() && *encoding != encoding_rs::UTF_8.name();
            if self.ahead > 0 && (detected || *compression != Compression::None) {
                self.opening_ahead = true;
            }
        }
        Some(Ok((entry, opened)))
    }
}

/// Skips the text of `entry`'s source that a stopped run read before its checkpoint `r`,
/// checking that it is the same text: as long, as many lines, the same CRC-32.
fn go_on_from(chunker: &mut Chunker, entry: &Entry, r: &Resume) -> Result<()> {
    let path = entry.source.display();
    let at = &r.at;
    let skipped = chunker.skip(at.input).map_err(|e| Error::io(&path, e))?;
    let what = if skipped.bytes < at.input {
        Some(format!("it is shorter than the {} bytes", at.input))
    } else if skipped.next_line as u64 != at.line || skipped.crc != at.crc {
        Some(format!("its first {} bytes are not those", at.input))
    } else {
        None
    };
    match what {
        None => Ok(()),
        Some(what) => {
            let partial = entry.dest().map(crate::output::resumable_path)?;
            let why = format!(
                "cannot go on with it from line {}: {what} the stopped run read (delete {} to redo it from its start)",
                at.line,
                partial.display()
            );
            Err(Error::io(
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, why),
            ))
        }
    }
}

impl Engine<'_> {
    /// The reader thread: opens each source and sends its chunks in batches, waiting for
    /// a credit before each batch (that bounds memory). Stops at the first failure, which
    /// is sent on; a failure to find the next source is returned instead (there is no
    /// source to send it with). `workers`: the run's worker count (this thread is no
    /// pool's, so rayon cannot tell it the pool the run was started in).
    pub(super) fn read_sources(
        &self,
        entries: Box<dyn Iterator<Item = Result<Entry>> + Send + '_>,
        consumed: Arc<AtomicU64>,
        credits: mpsc::Receiver<()>,
        jobs: &mpsc::SyncSender<Batch<Job>>,
        workers: usize,
    ) -> Result<()> {
        let records = self.opts.format != InputFormat::Text;
        let target = match (records, self.opts.pipe) {
            (true, true) => 0,
            (true, false) => self.opts.chunk_bytes / 4,
            (false, _) => self.opts.chunk_bytes,
        };
        // A batch goes out once it holds a quarter chunk (so the last batches still
        // spread over the workers); in pipe mode (target 0) every unit goes out at once.
        let mut batcher = Batcher {
            credits: &credits,
            jobs,
            seq: 0,
            units: Vec::new(),
            bytes: 0,
            limit: target / 4,
        };
        if let InputFormat::Parquet { text_field } = &self.opts.format {
            return self.read_tables(entries, text_field, target, &consumed, &mut batcher);
        }
        let mut decode = self.opts.decode;
        decode.workers = workers;
        decode.reads = match self.opts.format {
            InputFormat::Text => Reads::PlainText,
            InputFormat::Jsonl { .. } => Reads::JsonLines,
            _ => Reads::Other,
        };
        if self.opts.format == InputFormat::Warc {
            // Records are framed by byte counts: the bytes as they are, read as UTF-8
            // (only conversion blocks are text, checked where they are classified).
            decode.encoding = Some(encoding_rs::UTF_8);
            decode.lossy = false;
        }
        let mut opener = Opener::new(entries, decode, &consumed, workers);
        let decoders = decoder_threads(workers, self.opts.pipe);
        let (assign, assignments) = mpsc::channel::<Assignment>();
        let assignments = Mutex::new(assignments);
        std::thread::scope(|scope| {
            for d in 0..decoders {
                let assignments = &assignments;
                std::thread::Builder::new()
                    .name(format!("chaff-decoder-{d}"))
                    .spawn_scoped(scope, move || decode_sources(assignments))
                    .map_err(Error::spawn)?;
            }
            // Dropped on the way out, which stops the decoder threads: what they were
            // given and had not sent is dropped with it.
            let assign = (decoders > 0).then_some(assign);
            self.chunk_sources(&mut opener, assign, decoders, target, &mut batcher)
        })
    }

    /// [`Engine::read_sources`]' loop over the sources. With `decoders` decoder threads
    /// (given sources on `assign`), that many sources are opened ahead of the one in
    /// turn, as long as each is chunked on a decoder thread: every decoder has a source,
    /// and one more waits for the first to be free. Never past standard input (which may
    /// keep the reader waiting) or a source chunked here.
    fn chunk_sources(
        &self,
        opener: &mut Opener<'_>,
        assign: Option<mpsc::Sender<Assignment>>,
        decoders: usize,
        target: usize,
        batcher: &mut Batcher<'_>,
    ) -> Result<()> {
        let records = self.opts.format != InputFormat::Text;
        let prepare = |(entry, opened): (Arc<Entry>, Result<Opened>)| {
            let prepared = opened.map(|o| match o {
                Opened::Binary(reason) => Ok(Prepared::Skip(reason)),
                Opened::Text {
                    text,
                    raw_utf8,
                    compression,
                    json_array,
                    ..
                } => {
                    let elsewhere = decodes_as_read(&text, raw_utf8, compression);
                    let mut chunker = if self.opts.format == InputFormat::Warc {
                        Chunker::warc(text, target)
                    } else if json_array {
                        Chunker::json_array(text, target)
                    } else {
                        Chunker::from_text(text, records, target)
                    };
                    if let Some(r) = &entry.resume {
                        go_on_from(&mut chunker, &entry, r)?;
                    }
                    Ok(Prepared::Chunks(match &assign {
                        Some(a) if elsewhere => Chunks::on_decoder(chunker, a),
                        _ => Chunks::Here(chunker),
                    }))
                }
            });
            (entry, prepared.and_then(|p| p))
        };
        let mut ahead: VecDeque<Result<(Arc<Entry>, Result<Prepared>)>> = VecDeque::new();
        let mut i = 0;
        loop {
            // `ahead` includes the source about to be in turn.
            while assign.is_some()
                && ahead.len() < decoders + 1
                && ahead.back().is_none_or(
                    |a| matches!(a, Ok((_, Ok(Prepared::Chunks(c)))) if c.decoded_elsewhere()),
                )
                && !opener.stdin_next()
            {
                match opener.next() {
                    None => break,
                    Some(next) => ahead.push_back(next.map(prepare)),
                }
            }
            let next = match ahead.pop_front() {
                Some(next) => next,
                None => {
                    // Standard input may keep the reader waiting: what came before goes
                    // out first.
                    if opener.stdin_next() && !batcher.flush() {
                        return Ok(());
                    }
                    match opener.next() {
                        None => break,
                        Some(next) => next.map(prepare),
                    }
                }
            };
            let (entry, prepared) = match next {
                Err(e) => {
                    // Everything before the failure goes out first.
                    batcher.flush();
                    return Err(e);
                }
                Ok(next) => next,
            };
            let mut chunks = match prepared {
                Err(e) => {
                    batcher.push(i, &entry, true, Job::Fail(e));
                    return Ok(());
                }
                Ok(Prepared::Skip(reason)) => {
                    if !batcher.push(i, &entry, true, Job::Skip(reason)) {
                        return Ok(());
                    }
                    i += 1;
                    continue;
                }
                Ok(Prepared::Chunks(chunks)) => chunks,
            };
            // One chunk of lookahead, to tell the source's last chunk. In pipe mode a
            // record goes out as soon as it is read (the next may be long in coming), and
            // an empty chunk marks the end.
            let mut prev: Option<Chunk> = None;
            loop {
                match chunks.next_chunk() {
                    Err(e) => {
                        let path = entry.source.display();
                        let e = match crate::warc::framing_error(&e) {
                            Some(f) => Error::input(path, f.line, f.msg.clone()),
                            None => Error::io(path, e),
                        };
                        batcher.push(i, &entry, true, Job::Fail(e));
                        return Ok(());
                    }
                    Ok(Some(c)) if self.opts.pipe => {
                        if !batcher.push(i, &entry, false, Job::Chunk(c)) {
                            return Ok(());
                        }
                    }
                    Ok(Some(c)) => {
                        if let Some(p) = prev.replace(c) {
                            if !batcher.push(i, &entry, false, Job::Chunk(p)) {
                                return Ok(());
                            }
                        }
                    }
                    Ok(None) => {
                        // An empty source still gets its (empty) output.
                        let c = prev.take().unwrap_or_else(|| chunks.empty());
                        if !batcher.push(i, &entry, true, Job::Chunk(c)) {
                            return Ok(());
                        }
                        break;
                    }
                }
            }
            i += 1;
        }
        batcher.flush();
        Ok(())
    }

    /// [`Engine::read_sources`] for Parquet files: batches of rows instead of chunks of
    /// text, a file's batches in order, each row group's last one marked.
    pub(super) fn read_tables(
        &self,
        entries: Box<dyn Iterator<Item = Result<Entry>> + Send + '_>,
        text_field: &str,
        target: usize,
        consumed: &Arc<AtomicU64>,
        batcher: &mut Batcher<'_>,
    ) -> Result<()> {
        use crate::parquet::{OpenError, Reader};
        for (i, entry) in entries.enumerate() {
            let entry = match entry {
                Ok(e) => Arc::new(e),
                Err(e) => {
                    // Everything before the failure goes out first.
                    batcher.flush();
                    return Err(e);
                }
            };
            let path = entry.source.display();
            let opened = match &entry.source {
                Source::Stdin => Err(OpenError::Bad(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "Parquet is read from files (its index is at their end), not from standard input",
                ))),
                Source::File { path, .. } => {
                    Reader::open(path, text_field, target, Arc::clone(consumed))
                }
            };
            let mut reader = match opened {
                Ok(r) => r,
                Err(OpenError::NotParquet(why)) => {
                    if !batcher.push(i, &entry, true, Job::Skip(why)) {
                        return Ok(());
                    }
                    continue;
                }
                Err(OpenError::Bad(e)) => {
                    batcher.push(i, &entry, true, Job::Fail(Error::io(path, e)));
                    return Ok(());
                }
            };
            // One batch of lookahead, to tell the file's last.
            let mut prev = None;
            loop {
                match reader.next_rows() {
                    Err(e) => {
                        batcher.push(i, &entry, true, Job::Fail(Error::io(path, e)));
                        return Ok(());
                    }
                    Ok(Some(rows)) => {
                        if let Some(p) = prev.replace(rows) {
                            if !batcher.push(i, &entry, false, Job::Rows(Box::new(p))) {
                                return Ok(());
                            }
                        }
                    }
                    Ok(None) => {
                        // A file always gives a batch, if an empty one (its schema).
                        if let Some(p) = prev.take() {
                            if !batcher.push(i, &entry, true, Job::Rows(Box::new(p))) {
                                return Ok(());
                            }
                        }
                        break;
                    }
                }
            }
        }
        batcher.flush();
        Ok(())
    }
}
