//! The pipeline: sources -> decoded chunks -> lines -> decisions -> rendered output.
//!
//! One reader thread opens sources in order (decompressing and decoding them, see
//! [`crate::input`]) and cuts them into chunks ([`Chunker`]); worker threads (as many as
//! `--threads`) classify chunks and render their output; the calling thread puts results
//! back in input order and writes them. A fixed number of chunks is in flight at any
//! time, so memory is bounded whatever the dump size, and output is byte-identical
//! whatever the thread count.

use crate::classifier::{argmax, Classifier, KeepPolicy};
use crate::error::{Error, Result};
use crate::input::{self, DecodeOptions, Opened};
use crate::jsonl::{BadRecords, Record};
use crate::output::{AtomicFile, Compressed};
use crate::parquet::{Rows, TableWriter};
use crate::progress::Progress;
use crate::reader::{lines_each, split_lines_at, split_str_at, Chunk, Chunker, Line};
use crate::sources::{Entry, Inputs, Source};
use crate::summary::write_file_stats;
pub use crate::summary::Summary;
use crate::writer::{
    emitted, filter_chunk, filtered_runs, write_tag_header, write_tag_record, Decision, Filtered,
    Joiner, TagFormat,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Decides every line of a document (or of a chunk of one that `continues` past these
/// lines): `None` for blank lines.
pub fn decide(
    classifier: &Classifier,
    policy: &KeepPolicy,
    lines: &[Line<'_>],
    continues: bool,
) -> Vec<Option<Decision>> {
    let (texts, blanks) = paragraphs(lines, continues);
    let mut post = classifier.classify_lines(&texts, &blanks).into_iter();
    lines
        .iter()
        .map(|l| {
            if l.is_blank() {
                return None;
            }
            let posteriors = post.next().unwrap_or_default();
            Some(Decision {
                label: argmax(&posteriors),
                keep: policy.keeps(&posteriors),
                posteriors,
            })
        })
        .collect()
}

/// The non-blank lines' texts, and the number of blank lines before each. When the
/// document `continues` past these lines (a chunk of a large file), one more count: the
/// blank lines after the last paragraph, which the context model reads as the gap after
/// it instead of the end of the document (see [`crate::context::block_index`]).
pub fn paragraphs<'a>(lines: &[Line<'a>], continues: bool) -> (Vec<&'a str>, Vec<usize>) {
    let mut texts = Vec::with_capacity(lines.len());
    let mut blanks = Vec::with_capacity(lines.len());
    let mut run = 0;
    for l in lines {
        if l.is_blank() {
            run += 1;
        } else {
            texts.push(l.text);
            blanks.push(run);
            run = 0;
        }
    }
    if continues && !texts.is_empty() {
        blanks.push(run);
    }
    (texts, blanks)
}

/// What the input files hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    /// Plain text: a file is a document, a line a paragraph.
    Text,
    /// JSON lines: each record is a document whose text is in `text_field`.
    Jsonl {
        /// Name of the text field.
        text_field: String,
    },
    /// WARC (Common Crawl's WET files): each `conversion` record is a document, its block
    /// the text; other records pass through `filter` unchanged.
    Warc,
    /// Parquet tables: each row is a document whose text is in column `text_field`; the
    /// other columns pass through `filter` unchanged.
    Parquet {
        /// Name of the text column.
        text_field: String,
    },
}

/// How a run reads its inputs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Text or JSONL.
    pub format: InputFormat,
    /// Encoding detection and error handling.
    pub decode: DecodeOptions,
    /// Chunk size target in bytes (see [`Chunker`]).
    pub chunk_bytes: usize,
    /// Strict one-record-in, one-record-out (JSONL): every record is written, even if
    /// left empty, and output is flushed after each record.
    pub pipe: bool,
    /// Write JSONL records left with no kept line (with an empty text).
    pub keep_empty: bool,
    /// Fail on a file that is not text instead of skipping it.
    pub strict: bool,
    /// What to do with a JSONL line that is not a usable record.
    pub bad_records: BadRecords,
    /// `filter` to a stream that the caller gzips (`--compress gz`): WARC records are
    /// then gzipped here instead, a gzip member each (WARC readers need one per record,
    /// to seek; a run that writes none writes an empty member), and the caller writes
    /// them as they come.
    pub gzip_stream: bool,
    /// Show a progress bar when stderr is a terminal.
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            format: InputFormat::Text,
            decode: DecodeOptions::default(),
            chunk_bytes: 1 << 20,
            pipe: false,
            keep_empty: false,
            strict: false,
            bad_records: BadRecords::Error,
            gzip_stream: false,
            progress: false,
        }
    }
}

/// Optional side outputs, written in input order.
#[derive(Default)]
pub struct Sidecars<'a> {
    /// Every dropped line as a JSON tag record (`filter --removed`).
    pub removed: Option<&'a mut dyn Write>,
    /// Per input file accounting as JSON lines (`--file-stats`).
    pub file_stats: Option<&'a mut dyn Write>,
    /// Per input file accounting as a line on stderr (`--verbose`).
    pub verbose: bool,
}

/// Where `filter` writes.
pub enum FilterTarget<'a> {
    /// All inputs, in order, to this writer, which the caller flushes (or finishes) after
    /// the run; with `--pipe` it is flushed after every record.
    Stream(&'a mut dyn Write),
    /// One output file per source, at its entry's `dest` (compressed as its name says).
    Files,
}

/// The work of one chunk, ready to be written.
#[derive(Default)]
struct Piece {
    out: Vec<u8>,
    filtered: Option<Filtered>,
    removed: Vec<u8>,
    summary: Summary,
    /// Set when a worker already wrote this (whole) source's output file: bytes written.
    written: Option<u64>,
    /// JSONL lines that were not usable records (skipped or kept as they were): line
    /// number and what is wrong, warned about in input order.
    bad: Vec<(usize, String)>,
    /// When `out` holds gzip members compressed by the worker (WARC): the bytes before
    /// compression, as `bytes_out` counts them.
    plain_len: Option<u64>,
    /// Parquet rows to write (`filter`), instead of `out`.
    table: Option<crate::parquet::Table>,
}

enum Job {
    Chunk(Chunk),
    Rows(Box<crate::parquet::Rows>),
    Skip(String),
    Fail(Error),
}

enum Done {
    Piece(Box<Piece>),
    Skip(String),
    Fail(Error),
}

struct Unit<T> {
    /// The source's place in the run (0, 1, 2, ...).
    source: usize,
    entry: Arc<Entry>,
    last: bool,
    item: T,
}

/// Consecutive units sent to a worker together, numbered in input order. Small files
/// travel in batches: one message per file costs three thread wake-ups (reader to worker
/// to writer and a credit back), which on a busy machine preempt the workers.
type Batch<T> = (u64, Vec<Unit<T>>);

/// Most units in one batch.
const BATCH_UNITS: usize = 32;

/// The reader's side of the job queue: collects units into batches and sends each when
/// it is big enough, after taking a credit.
struct Batcher<'a> {
    credits: &'a mpsc::Receiver<()>,
    jobs: &'a mpsc::SyncSender<Batch<Job>>,
    seq: u64,
    units: Vec<Unit<Job>>,
    /// Chunk bytes in `units`.
    bytes: usize,
    /// Bytes that make a batch big enough.
    limit: usize,
}

impl Batcher<'_> {
    /// Adds a unit, sending the batch when it is full. False once the run is over (the
    /// writer stopped, or a stop was requested).
    fn push(&mut self, source: usize, entry: &Arc<Entry>, last: bool, item: Job) -> bool {
        let (n, end) = match &item {
            Job::Chunk(c) => (c.bytes.len(), false),
            Job::Rows(r) => (r.text_bytes, false),
            // Nothing comes after a failure.
            Job::Fail(_) => (0, true),
            Job::Skip(_) => (0, false),
        };
        self.bytes += n;
        self.units.push(Unit {
            source,
            entry: Arc::clone(entry),
            last,
            item,
        });
        if end || self.bytes >= self.limit || self.units.len() >= BATCH_UNITS {
            return self.flush();
        }
        true
    }

    /// Sends what is collected, if anything.
    fn flush(&mut self) -> bool {
        self.bytes = 0;
        if self.units.is_empty() {
            return true;
        }
        if self.credits.recv().is_err() || crate::interrupt::requested() {
            return false;
        }
        let ok = self
            .jobs
            .send((self.seq, std::mem::take(&mut self.units)))
            .is_ok();
        self.seq += 1;
        ok
    }
}

/// The writer thread's accounting, unit by unit in input order: the run's totals, the
/// current file's, and the side outputs.
struct Tally<'s, 'p> {
    summary: Summary,
    /// The file being written, added to `summary` at its last unit.
    file: Summary,
    side: Sidecars<'s>,
    progress: &'p Progress,
    /// A skipped (non-text) file is an error.
    strict: bool,
    /// What a skipped file is not: "text", or "Parquet".
    kind: &'static str,
    /// What is done with bad JSONL records, for their warnings.
    bad_records: BadRecords,
}

/// Bad JSONL records warned about one by one; the rest are counted in the summary only
/// (a wrong `--text-field` makes every record bad).
const BAD_RECORD_WARNINGS: u64 = 20;

impl Tally<'_, '_> {
    /// Takes one finished unit of `source`: its piece to `sink` (unless a worker wrote it)
    /// and to the side outputs, a skip warned about, a file's accounting closed at its
    /// last unit. A failure ends the run.
    fn absorb(&mut self, unit: Unit<Done>, sink: &mut Sink<'_>) -> Result<()> {
        let source = &unit.entry.source;
        match unit.item {
            Done::Fail(e) => return Err(e),
            Done::Skip(reason) => {
                if self.strict {
                    return Err(Error::NotText {
                        path: source.display().into(),
                        kind: self.kind,
                        reason,
                    });
                }
                self.progress.suspend(|| {
                    eprintln!(
                        "chaff: warning: {}: skipped, not {} ({reason})",
                        source.display(),
                        self.kind
                    )
                });
                self.file.skipped += 1;
            }
            Done::Piece(mut piece) => {
                self.warn_bad(&source.display(), &piece.bad);
                piece.summary.bytes_out = match piece.written {
                    Some(n) => n,
                    None => sink(unit.source, &unit.entry, &piece, unit.last)?,
                };
                if let Some(w) = self.side.removed.as_mut() {
                    w.write_all(&piece.removed)
                        .map_err(|e| Error::io("--removed", e))?;
                }
                self.file.absorb(&piece.summary);
                if unit.last {
                    self.file.files += 1;
                }
            }
        }
        if unit.last {
            let f = std::mem::take(&mut self.file);
            if self.side.verbose {
                self.progress.suspend(|| {
                    let bad = match f.bad_records {
                        0 => String::new(),
                        n => format!("; {n} bad records"),
                    };
                    eprintln!(
                        "chaff: {}: {} documents, {} lines: {} kept, {} dropped, {} blank{bad}",
                        source.display(),
                        f.documents,
                        f.lines,
                        f.kept,
                        f.dropped,
                        f.blank
                    )
                });
            }
            if let Some(w) = self.side.file_stats.as_mut() {
                write_file_stats(&mut **w, &source.display(), &f)
                    .map_err(|e| Error::io("--file-stats", e))?;
            }
            self.summary.absorb(&f);
        }
        Ok(())
    }

    /// Warns about a piece's bad records, up to [`BAD_RECORD_WARNINGS`] in the run.
    fn warn_bad(&self, path: &str, bad: &[(usize, String)]) {
        let before = self.summary.bad_records + self.file.bad_records;
        let what = match self.bad_records {
            BadRecords::Keep => "kept as it is, not classified",
            _ => "skipped",
        };
        for (i, (line, reason)) in bad.iter().enumerate() {
            let n = before + i as u64;
            if n >= BAD_RECORD_WARNINGS {
                if n == BAD_RECORD_WARNINGS {
                    self.progress.suspend(|| {
                        eprintln!("chaff: warning: more bad records: counted, not shown")
                    });
                }
                break;
            }
            self.progress.suspend(|| {
                eprintln!("chaff: warning: {path}:{line}: bad record {what} ({reason})")
            });
        }
    }
}

/// Where the writer thread puts each piece, in input order: the source's place in the
/// run, its entry, the piece, and whether it is the source's last.
type Sink<'a> = dyn FnMut(usize, &Entry, &Piece, bool) -> Result<u64> + 'a;

/// Opens the sources in input order for the reader. Opening a file sniffs its encoding,
/// and for a file that is not UTF-8 that costs more than classifying it (chardetng,
/// ~1,600 instructions a byte of the sniffed head), all on the one reader thread. So
/// once a file has needed detecting as another encoding, with several workers, the next
/// few files are opened ahead on rayon's pool (idle while filtering; as many threads as
/// `--threads`) and taken in input order. UTF-8 dumps and `--encoding` skip that (a
/// hand-over per file costs thread wake-ups), stdin is opened in its turn by the reader,
/// and with one worker the reader opens each file itself, so that `--threads 1` keeps to
/// a classifying thread plus the reader and the writer.
struct Opener<'a> {
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
    fn new(
        entries: Box<dyn Iterator<Item = Result<Entry>> + Send + 'a>,
        decode: DecodeOptions,
        consumed: &'a Arc<AtomicU64>,
    ) -> Self {
        let threads = rayon::current_num_threads();
        Opener {
            entries: entries.peekable(),
            decode,
            consumed,
            pending: Default::default(),
            // A few: each holds an open file and its sniffed head (up to 64 KiB).
            ahead: if threads > 1 && decode.encoding.is_none() {
                (threads * 2).min(16)
            } else {
                0
            },
            opening_ahead: false,
        }
    }

    /// Whether the next source is standard input.
    fn stdin_next(&mut self) -> bool {
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
    fn next(&mut self) -> Option<Result<(Arc<Entry>, Result<Opened>)>> {
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
                // Dropped unsent only if the reader has stopped waiting for it.
                rayon::spawn(move || drop(tx.send(input::open(&e.source, &decode, consumed))));
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
        if let Ok(Opened::Text { encoding, .. }) = &opened {
            if self.ahead > 0 && *encoding != encoding_rs::UTF_8.name() {
                self.opening_ahead = true;
            }
        }
        Some(Ok((entry, opened)))
    }
}

/// What the workers render.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Task<'a> {
    /// `removed`: whether dropped lines are recorded (`--removed`); building the
    /// records costs time, so they are built only when wanted.
    Filter {
        removed: bool,
    },
    Tag(TagFormat),
    Dolma(&'a str),
    Html,
}

/// A classifier, a keep policy and run options: everything a run needs.
pub struct Engine<'a> {
    /// Scores lines.
    pub classifier: &'a Classifier,
    /// Turns scores into keep/drop.
    pub policy: &'a KeepPolicy,
    /// Input handling.
    pub opts: RunOptions,
}

impl Engine<'_> {
    /// `chaff tag`: one record per non-blank line, in input order.
    pub fn tag(
        &self,
        inputs: Inputs<'_>,
        format: TagFormat,
        out: &mut dyn Write,
        side: Sidecars<'_>,
    ) -> Result<Summary> {
        let wr = |e| Error::io("<stdout>", e);
        if format == TagFormat::Tsv {
            write_tag_header(out, self.classifier.model().classes()).map_err(wr)?;
        }
        let pipe = self.opts.pipe;
        let summary = self.run(
            inputs,
            Task::Tag(format),
            false,
            side,
            &mut |_, _, piece, _| {
                out.write_all(&piece.out).map_err(wr)?;
                if pipe {
                    out.flush().map_err(wr)?;
                }
                Ok(piece.out.len() as u64)
            },
        )?;
        out.flush().map_err(wr)?;
        Ok(summary)
    }

    /// `chaff filter`: writes kept lines byte for byte (JSONL: records with their text
    /// reduced to the kept lines).
    pub fn filter(
        &self,
        inputs: Inputs<'_>,
        target: FilterTarget<'_>,
        side: Sidecars<'_>,
    ) -> Result<Summary> {
        let pipe = self.opts.pipe;
        let task = Task::Filter {
            removed: side.removed.is_some(),
        };
        match target {
            FilterTarget::Stream(out) => {
                let wr = |e| Error::io("<stdout>", e);
                let mut joining = Joining::default();
                let mut current = usize::MAX;
                let s = self.run(inputs, task, false, side, &mut |source, _, piece, last| {
                    if source != current {
                        joining = Joining::default();
                        current = source;
                    }
                    let n = emit(out, &mut joining, piece, last).map_err(wr)?;
                    if pipe {
                        out.flush().map_err(wr)?;
                    }
                    Ok(n)
                })?;
                if self.opts.gzip_stream
                    && self.opts.format == InputFormat::Warc
                    && s.bytes_out == 0
                {
                    empty_member(out).map_err(wr)?;
                }
                // Not flushed here: a compressing writer would end a block early, and
                // its bytes would then differ from the same output written to a file.
                Ok(s)
            }
            FilterTarget::Files => self.to_files(inputs, task, side),
        }
    }

    /// `chaff tag --dolma`: for each JSONL source, an attributes file at its entry's
    /// `dest` (compressed as its name says), aligned row for row with the documents.
    pub fn dolma(&self, inputs: Inputs<'_>, name: &str) -> Result<Summary> {
        self.to_files(inputs, Task::Dolma(name), Sidecars::default())
    }

    /// `chaff tag --html`: a self-contained audit page of every line, to `out`.
    pub fn html(&self, inputs: Inputs<'_>, title: &str, out: &mut dyn Write) -> Result<Summary> {
        let wr = |e| Error::io("--html", e);
        out.write_all(crate::html::header(title).as_bytes())
            .map_err(wr)?;
        let summary = self.run(
            inputs,
            Task::Html,
            false,
            Sidecars::default(),
            &mut |_, _, piece, _| {
                out.write_all(&piece.out).map_err(wr)?;
                Ok(piece.out.len() as u64)
            },
        )?;
        out.write_all(crate::html::footer(&summary).as_bytes())
            .map_err(wr)?;
        out.flush().map_err(wr)?;
        Ok(summary)
    }

    /// Runs `task` writing each source's output to its own file (its entry's `dest`),
    /// atomically.
    fn to_files(&self, inputs: Inputs<'_>, task: Task<'_>, side: Sidecars<'_>) -> Result<Summary> {
        // The source being written, its file, and bytes written to it so far.
        let mut open: Option<(usize, Compressed<AtomicFile>, Joining, u64)> = None;
        self.run(
            inputs,
            task,
            true,
            side,
            &mut |source, entry, piece, last| {
                let dest = entry.dest()?;
                if open.as_ref().is_none_or(|o| o.0 != source) {
                    // A source whose first piece is not its last is read in chunks.
                    let compressed = piece.plain_len.is_some();
                    open = Some((
                        source,
                        open_output(dest, !last, compressed)?,
                        Joining::default(),
                        0,
                    ));
                }
                let Some((_, w, joining, written)) = open.as_mut() else {
                    unreachable!("opened above")
                };
                let n = emit(w, joining, piece, last).map_err(|e| Error::io(dest, e))?;
                *written += n;
                if last {
                    if let Some((_, mut w, _, written)) = open.take() {
                        if piece.plain_len.is_some() && written == 0 {
                            empty_member(&mut w).map_err(|e| Error::io(dest, e))?;
                        }
                        place_output(w, entry)?;
                    }
                }
                Ok(n)
            },
        )
    }

    /// Runs the reader, the workers and `sink` (called in input order with each piece).
    /// `files`: each source's output goes to its entry's `dest`. Returns the run's
    /// summary.
    fn run(
        &self,
        inputs: Inputs<'_>,
        task: Task<'_>,
        files: bool,
        side: Sidecars<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<Summary> {
        let threads = rayon::current_num_threads().max(1);
        let in_flight = threads * 4 + 2;
        let consumed = Arc::new(AtomicU64::new(0));
        let progress = Progress::new(self.opts.progress, inputs.size);
        let entries = inputs.entries;
        // Where the reader leaves an error in finding the next source: the run stops
        // there, after everything before it is written.
        let walk_error = Mutex::new(None);
        let mut tally = Tally {
            summary: Summary::default(),
            file: Summary::default(),
            side,
            progress: &progress,
            strict: self.opts.strict,
            kind: match self.opts.format {
                InputFormat::Parquet { .. } => "Parquet",
                _ => "text",
            },
            bad_records: self.opts.bad_records,
        };
        let result = std::thread::scope(|scope| -> Result<()> {
            let (credit_tx, credit_rx) = mpsc::sync_channel::<()>(in_flight);
            for _ in 0..in_flight {
                let _ = credit_tx.send(());
            }
            let (job_tx, job_rx) = mpsc::sync_channel::<Batch<Job>>(in_flight);
            let job_rx = Arc::new(Mutex::new(job_rx));
            let (done_tx, done_rx) = mpsc::channel::<Batch<Done>>();
            let consumed_r = Arc::clone(&consumed);
            // Named threads: `top -H` and profilers tell the reader from the workers.
            std::thread::Builder::new()
                .name("chaff-reader".into())
                .spawn_scoped(scope, {
                    let walk_error = &walk_error;
                    move || {
                        let read = self.read_sources(entries, consumed_r, credit_rx, &job_tx);
                        if let Err(e) = read {
                            *walk_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        }
                        // Only now: the end of the jobs ends the run, which then looks
                        // for the error.
                        drop(job_tx);
                    }
                })
                .map_err(Error::spawn)?;
            // Several workers each write the files they finish, so files are created in
            // parallel; a single worker leaves them to this (writer) thread, which would
            // otherwise idle while the worker classifies.
            let direct = files && threads > 1;
            for w in 0..threads {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                let worker = std::thread::Builder::new().name(format!("chaff-worker-{w}"));
                worker
                    .spawn_scoped(scope, move || loop {
                        let next = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((seq, units)) = next else { return };
                        let mut done = Vec::with_capacity(units.len());
                        for unit in units {
                            let d = self.work(task, direct, unit);
                            // The run ends at a failure: later units are not worked on
                            // (with `direct`, that would write their files).
                            let failed = matches!(d.item, Done::Fail(_));
                            done.push(d);
                            if failed {
                                break;
                            }
                        }
                        if done_tx.send((seq, done)).is_err() {
                            return;
                        }
                    })
                    .map_err(Error::spawn)?;
            }
            drop(done_tx);
            let mut waiting = BTreeMap::new();
            let mut next = 0u64;
            loop {
                if crate::interrupt::requested() {
                    return Err(Error::Interrupted);
                }
                match done_rx.recv_timeout(Duration::from_millis(100)) {
                    Ok((seq, d)) => {
                        waiting.insert(seq, d);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    // The reader also stops early on a stop request: then the run is
                    // interrupted, not finished.
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        if crate::interrupt::requested() {
                            return Err(Error::Interrupted);
                        }
                        return match walk_error.lock().map(|mut e| e.take()) {
                            Ok(Some(e)) => Err(e),
                            _ => Ok(()),
                        };
                    }
                }
                while let Some(batch) = waiting.remove(&next) {
                    next += 1;
                    let _ = credit_tx.send(());
                    for unit in batch {
                        tally.absorb(unit, sink)?;
                        progress.update(consumed.load(Ordering::Relaxed), tally.summary.files);
                    }
                }
            }
        });
        progress.finish();
        result?;
        Ok(tally.summary)
    }

    /// The reader thread: opens each source and sends its chunks in batches, waiting for
    /// a credit before each batch (that bounds memory). Stops at the first failure, which
    /// is sent on; a failure to find the next source is returned instead (there is no
    /// source to send it with).
    fn read_sources(
        &self,
        entries: Box<dyn Iterator<Item = Result<Entry>> + Send + '_>,
        consumed: Arc<AtomicU64>,
        credits: mpsc::Receiver<()>,
        jobs: &mpsc::SyncSender<Batch<Job>>,
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
        if self.opts.format == InputFormat::Warc {
            // Records are framed by byte counts: the bytes as they are, read as UTF-8
            // (only conversion blocks are text, checked where they are classified).
            decode.encoding = Some(encoding_rs::UTF_8);
            decode.lossy = false;
        }
        let mut opener = Opener::new(entries, decode, &consumed);
        let mut i = 0;
        loop {
            // Standard input may keep the reader waiting: what came before goes out first.
            if opener.stdin_next() && !batcher.flush() {
                return Ok(());
            }
            let (entry, opened) = match opener.next() {
                None => break,
                Some(Err(e)) => {
                    // Everything before the failure goes out first.
                    batcher.flush();
                    return Err(e);
                }
                Some(Ok(next)) => next,
            };
            let text = match opened {
                Err(e) => {
                    batcher.push(i, &entry, true, Job::Fail(e));
                    return Ok(());
                }
                Ok(Opened::Binary(reason)) => {
                    if !batcher.push(i, &entry, true, Job::Skip(reason)) {
                        return Ok(());
                    }
                    i += 1;
                    continue;
                }
                Ok(Opened::Text { text, .. }) => text,
            };
            let mut chunker = if self.opts.format == InputFormat::Warc {
                Chunker::warc(text, target)
            } else {
                Chunker::from_text(text, records, target)
            };
            // One chunk of lookahead, to tell the source's last chunk. In pipe mode a
            // record goes out as soon as it is read (the next may be long in coming), and
            // an empty chunk marks the end.
            let mut prev: Option<Chunk> = None;
            loop {
                match chunker.next_chunk() {
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
                        let c = prev.take().unwrap_or(Chunk {
                            first_line: chunker.next_line(),
                            ..Chunk::default()
                        });
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
    fn read_tables(
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

    /// A worker's share: classify and render one chunk or batch of rows (see
    /// [`guarded`]: a panic becomes an error; `files`, a source in one unit is written
    /// here).
    fn work(&self, task: Task<'_>, files: bool, unit: Unit<Job>) -> Unit<Done> {
        let source = &unit.entry.source;
        let (entry, last) = (&unit.entry, unit.last);
        let item = match unit.item {
            Job::Skip(r) => Done::Skip(r),
            Job::Fail(e) => Done::Fail(e),
            Job::Chunk(c) => {
                let members = self.gzip_members(task, entry);
                guarded(entry, last, files, c.first_line, || {
                    self.render(source, task, &c, last, members)
                })
            }
            Job::Rows(rows) => guarded(entry, last, files, rows.first_row + 1, || {
                self.render_rows(&source.display(), task, &rows)
            }),
        };
        Unit {
            source: unit.source,
            entry: unit.entry,
            last: unit.last,
            item,
        }
    }

    /// [`Engine::render`] for a batch of Parquet rows: a row is a document (numbered from
    /// 1 in the file where errors and warnings would give a line).
    fn render_rows(&self, path: &str, task: Task<'_>, rows: &Rows) -> Result<Piece> {
        let mut piece = Piece::default();
        piece.summary.bytes_in = rows.text_bytes as u64;
        let filter = matches!(task, Task::Filter { .. });
        // Per row, what `filter` writes: `None` drops the row, `Err(())` keeps it as it was.
        let mut texts: Vec<Option<Result<String, ()>>> = Vec::new();
        for i in 0..rows.batch.num_rows() {
            let number = rows.first_row + i + 1;
            let text = match rows.text(i) {
                Ok(text) => text,
                Err(m) if self.opts.bad_records == BadRecords::Error => {
                    return Err(invalid(path, format!("row {number}: {m}")));
                }
                Err(m) => {
                    // Counted, warned about by the writer thread, and under `keep` written
                    // as it was.
                    piece.summary.bad_records += 1;
                    piece.bad.push((number, m));
                    texts.push((self.opts.bad_records == BadRecords::Keep).then_some(Err(())));
                    continue;
                }
            };
            let id = rows.id(i);
            let doc = split_str_at(text, 1);
            let decisions = decide(self.classifier, self.policy, &doc, false);
            piece.summary.documents += 1;
            piece.summary.add_lines(&doc, &decisions);
            self.render_doc(task, path, id.as_deref(), &doc, &decisions, &mut piece)?;
            match task {
                Task::Html => {
                    let heading = match &id {
                        Some(id) => format!("{path}#{id}"),
                        None => format!("{path}: row {number}"),
                    };
                    self.render_html(&heading, &doc, false, &decisions, &mut piece);
                }
                Task::Dolma(_) => {
                    return Err(Error::Usage(
                        "--dolma reads JSONL documents, not Parquet".into(),
                    ))
                }
                Task::Filter { .. } => {
                    let kept = filtered_runs(text, &doc, kept(&decisions)).concat();
                    if kept.is_empty() && !self.opts.keep_empty {
                        piece.summary.empty_dropped += 1;
                        texts.push(None);
                    } else {
                        texts.push(Some(Ok(kept)));
                    }
                }
                Task::Tag(_) => {}
            }
        }
        if filter {
            piece.table = Some(rows.filtered(&texts).map_err(|m| invalid(path, m))?);
        }
        Ok(piece)
    }

    /// Whether `filter`'s WARC output for `entry` is gzipped by the workers, a member per
    /// record (see [`RunOptions::gzip_stream`]).
    fn gzip_members(&self, task: Task<'_>, entry: &Entry) -> bool {
        self.opts.format == InputFormat::Warc
            && matches!(task, Task::Filter { .. })
            && match &entry.dest {
                Some(dest) => input::Compression::from_name(dest) == input::Compression::Gzip,
                None => self.opts.gzip_stream,
            }
    }

    /// `last`: the chunk is its source's last (else the document continues after it).
    /// `members`: gzip each output record on its own ([`Engine::gzip_members`]).
    fn render(
        &self,
        source: &Source,
        task: Task<'_>,
        chunk: &Chunk,
        last: bool,
        members: bool,
    ) -> Result<Piece> {
        let path = source.display();
        let mut piece = Piece::default();
        piece.summary.bytes_in = chunk.bytes.len() as u64;
        let lines = || split_lines_at(&chunk.bytes, chunk.first_line);
        match &self.opts.format {
            InputFormat::Text => {
                let lines = lines().map_err(|(l, m)| Error::input(&path, l, m))?;
                let decisions = decide(self.classifier, self.policy, &lines, !last);
                piece.summary.documents = u64::from(chunk.first_line == 1);
                piece.summary.add_lines(&lines, &decisions);
                self.render_doc(task, &path, None, &lines, &decisions, &mut piece)?;
                if task == Task::Html {
                    let heading = if chunk.first_line == 1 {
                        path.clone()
                    } else {
                        format!("{path} (from line {})", chunk.first_line)
                    };
                    self.render_html(&heading, &lines, !last, &decisions, &mut piece);
                }
                if matches!(task, Task::Filter { .. }) {
                    piece.filtered = Some(filter_chunk(&lines, kept(&decisions)));
                }
            }
            InputFormat::Jsonl { text_field } => {
                let lenient = self.opts.bad_records != BadRecords::Error;
                // A line that is not UTF-8 is a bad record too, when bad records are let by.
                let each = match lines() {
                    Ok(lines) => lines.into_iter().map(Ok).collect(),
                    Err(_) if lenient => lines_each(&chunk.bytes, chunk.first_line),
                    Err((l, m)) => return Err(Error::input(&path, l, m)),
                };
                for line in &each {
                    let (number, body) = match line {
                        Ok(l) => (l.number, l.text.as_bytes()),
                        Err(b) => (b.number, b.body),
                    };
                    let parsed = match line {
                        Ok(l) if l.is_blank() => continue,
                        Ok(l) => Record::parse(l.text, text_field).map(|r| (l, r)),
                        Err(b) => Err(b.reason.clone()),
                    };
                    let (line, rec) = match parsed {
                        Ok(parsed) => parsed,
                        Err(m) if !lenient => return Err(Error::input(&path, number, m)),
                        Err(m) => {
                            // Counted, warned about by the writer thread, and under `keep`
                            // written as it was.
                            piece.summary.bad_records += 1;
                            piece.bad.push((number, m));
                            let keep = self.opts.bad_records == BadRecords::Keep;
                            if keep && matches!(task, Task::Filter { .. }) {
                                piece.out.extend_from_slice(body);
                                piece.out.push(b'\n');
                            }
                            continue;
                        }
                    };
                    let id = rec.id();
                    let doc = split_str_at(&rec.text, 1);
                    let decisions = decide(self.classifier, self.policy, &doc, false);
                    piece.summary.documents += 1;
                    piece.summary.add_lines(&doc, &decisions);
                    self.render_doc(task, &path, id.as_deref(), &doc, &decisions, &mut piece)?;
                    if task == Task::Html {
                        let heading = match &id {
                            Some(id) => format!("{path}#{id}"),
                            None => format!("{path}:{}", line.number),
                        };
                        self.render_html(&heading, &doc, false, &decisions, &mut piece);
                    }
                    if let Task::Dolma(name) = task {
                        let raw_id = rec.raw_id().ok_or_else(|| {
                            Error::input(
                                &path,
                                line.number,
                                "record has no \"id\" (Dolma joins attributes by id)",
                            )
                        })?;
                        let id: Box<serde_json::value::RawValue> =
                            serde_json::value::RawValue::from_string(raw_id.to_string())
                                .map_err(|e| Error::input(&path, line.number, e.to_string()))?;
                        let emitted = emitted(&doc, kept(&decisions));
                        let classes = self.classifier.model().classes();
                        let rec = crate::dolma::attributes_record(
                            &id, name, classes, &doc, &decisions, &emitted,
                        )
                        .map_err(|e| Error::input(&path, line.number, e.to_string()))?;
                        piece.out.extend_from_slice(&rec);
                    }
                    if matches!(task, Task::Filter { .. }) {
                        let text = filtered_runs(&rec.text, &doc, kept(&decisions));
                        let empty = text.iter().all(|t| t.is_empty());
                        if empty && !self.opts.keep_empty && !self.opts.pipe {
                            piece.summary.empty_dropped += 1;
                            continue;
                        }
                        rec.write_with_text(&mut piece.out, text_field, &text)
                            .map_err(|e| Error::io(&path, e))?;
                    }
                }
            }
            InputFormat::Warc => self.render_warc(&path, task, chunk, members, &mut piece)?,
            InputFormat::Parquet { .. } => {
                return Err(Error::Internal("Parquet is read as rows, not text".into()))
            }
        }
        Ok(piece)
    }

    /// [`Engine::render`] for a chunk of WARC records.
    fn render_warc(
        &self,
        path: &str,
        task: Task<'_>,
        chunk: &Chunk,
        members: bool,
        piece: &mut Piece,
    ) -> Result<()> {
        let filter = matches!(task, Task::Filter { .. });
        let mut record = Vec::new();
        let mut plain = 0;
        for span in &chunk.records {
            let head = crate::warc::parse_head(&chunk.bytes[span.head.clone()], span.line)
                .map_err(|f| Error::input(path, f.line, f.msg))?;
            let block = &chunk.bytes[span.body.clone()];
            // The record as it was read, closed as a record should be.
            let as_read = |record: &mut Vec<u8>| {
                record.extend_from_slice(&chunk.bytes[span.head.start..span.body.end]);
                record.extend_from_slice(b"\r\n\r\n");
            };
            record.clear();
            if !head.is_conversion() {
                // Not a document: written as it was.
                if filter {
                    as_read(&mut record);
                }
            } else {
                let text = match simdutf8::basic::from_utf8(block) {
                    Ok(text) => text,
                    Err(_) => {
                        let (l, m) = split_lines_at(block, span.body_line)
                            .err()
                            .unwrap_or((span.body_line, "invalid UTF-8".into()));
                        return Err(Error::input(path, l, m));
                    }
                };
                let id = head.get("WARC-Record-ID");
                let doc = split_str_at(text, 1);
                let decisions = decide(self.classifier, self.policy, &doc, false);
                piece.summary.documents += 1;
                piece.summary.add_lines(&doc, &decisions);
                self.render_doc(task, path, id, &doc, &decisions, piece)?;
                match task {
                    Task::Html => {
                        let name = head.get("WARC-Target-URI").or(id);
                        let heading = match name {
                            Some(name) => format!("{path}#{name}"),
                            None => format!("{path}:{}", span.line),
                        };
                        self.render_html(&heading, &doc, false, &decisions, piece);
                    }
                    Task::Dolma(_) => {
                        return Err(Error::Usage(
                            "--dolma reads JSONL documents, not WARC".into(),
                        ))
                    }
                    Task::Filter { .. } => {
                        let runs = filtered_runs(text, &doc, kept(&decisions));
                        let len: usize = runs.iter().map(|r| r.len()).sum();
                        if len == 0 && !self.opts.keep_empty {
                            piece.summary.empty_dropped += 1;
                            continue;
                        }
                        if len == text.len() {
                            // Every line kept: the record as it was.
                            as_read(&mut record);
                        } else {
                            crate::warc::write_record(&mut record, &head, &runs);
                        }
                    }
                    Task::Tag(_) => {}
                }
            }
            if members {
                plain += record.len() as u64;
                crate::gzip::member(&record, &mut piece.out).map_err(|e| Error::io(path, e))?;
            } else {
                piece.out.extend_from_slice(&record);
            }
        }
        if members {
            piece.plain_len = Some(plain);
        }
        Ok(())
    }

    fn render_html(
        &self,
        heading: &str,
        lines: &[Line<'_>],
        continues: bool,
        decisions: &[Option<Decision>],
        piece: &mut Piece,
    ) {
        let (texts, blanks) = paragraphs(lines, continues);
        let ex = crate::explain::explain_lines(self.classifier, &texts, &blanks);
        let classes = self.classifier.model().classes();
        let html = crate::html::document(heading, classes, lines, decisions, &ex, 8);
        piece.out.extend_from_slice(html.as_bytes());
    }

    /// Tag records (for `tag`) and removed-line records (for `filter --removed`).
    fn render_doc(
        &self,
        task: Task<'_>,
        path: &str,
        id: Option<&str>,
        lines: &[Line<'_>],
        decisions: &[Option<Decision>],
        piece: &mut Piece,
    ) -> Result<()> {
        let classes = self.classifier.model().classes();
        let wr = |e| Error::io(path, e);
        for (l, d) in lines.iter().zip(decisions) {
            let Some(d) = d else { continue };
            match task {
                Task::Tag(format) => {
                    write_tag_record(&mut piece.out, format, path, id, l, classes, d).map_err(wr)?
                }
                Task::Filter { removed: true } if !d.keep => {
                    write_tag_record(&mut piece.removed, TagFormat::Json, path, id, l, classes, d)
                        .map_err(wr)?
                }
                Task::Filter { .. } | Task::Dolma(_) | Task::Html => {}
            }
        }
        Ok(())
    }
}

/// Runs `render` for a unit's chunk or rows. A panic in there is a bug: it becomes an
/// error for this unit instead of a hung run. `files`: a source that is one unit (its
/// first, from line 1, and its last) is written to its entry's `dest` here; longer
/// sources are joined in order by the sink.
fn guarded(
    entry: &Entry,
    last: bool,
    files: bool,
    first_line: usize,
    render: impl FnOnce() -> Result<Piece>,
) -> Done {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut piece = render()?;
        if files && last && first_line == 1 {
            piece.written = Some(write_whole(entry, &piece)?);
            // The output itself is written: only the rest goes on to the writer thread
            // (accounting, side outputs, warnings).
            piece.out = Vec::new();
            piece.filtered = None;
            piece.table = None;
        }
        Ok(piece)
    }));
    match r {
        Ok(Ok(p)) => Done::Piece(Box::new(p)),
        Ok(Err(e)) => Done::Fail(e),
        Err(_) => Done::Fail(Error::Internal(format!(
            "{}: a bug stopped the run near line {first_line}",
            entry.source.display(),
        ))),
    }
}

/// An error in a file's content that no line number locates (Parquet).
fn invalid(path: &str, msg: String) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidData, msg),
    )
}

/// Starts an output file, compressed as its name says (unless its pieces come
/// `compressed` already), in its folder (which [`crate::outdir::plan`] created).
fn open_output(dest: &Path, large: bool, compressed: bool) -> Result<Compressed<AtomicFile>> {
    let f = AtomicFile::create(dest)?;
    let how = match compressed {
        true => input::Compression::None,
        false => input::Compression::from_name(dest),
    };
    Compressed::new(f, how, large).map_err(|e| Error::io(dest, e))
}

/// Writes a whole source's output file atomically (compressed as its name says).
fn write_whole(entry: &Entry, piece: &Piece) -> Result<u64> {
    let dest = entry.dest()?;
    let mut w = open_output(dest, false, piece.plain_len.is_some())?;
    let n = emit(&mut w, &mut Joining::default(), piece, true).map_err(|e| Error::io(dest, e))?;
    if piece.plain_len.is_some() && n == 0 {
        empty_member(&mut w).map_err(|e| Error::io(dest, e))?;
    }
    place_output(w, entry)?;
    Ok(n)
}

/// Ends an output of gzip members that got none: an empty file is not a gzip stream, so
/// it gets an empty member.
fn empty_member(w: &mut dyn Write) -> std::io::Result<()> {
    let mut empty = Vec::new();
    crate::gzip::member(&[], &mut empty)?;
    w.write_all(&empty)
}

/// Ends a source's output file and renames it into place, over a file already there
/// only if the entry says so ([`Entry::replace`]).
fn place_output(w: Compressed<AtomicFile>, entry: &Entry) -> Result<()> {
    let dest = entry.dest()?;
    let file = w.finish().map_err(|e| Error::io(dest, e))?;
    file.place(entry.replace).map_err(|e| {
        if e.kind() != std::io::ErrorKind::AlreadyExists || entry.replace {
            return Error::io(dest, e);
        }
        let why = format!(
            "appeared during this run, and the output of {} is not written over it \
             (another input with this output, added after the run began, or another program writing here)",
            entry.source.display()
        );
        Error::io(dest, std::io::Error::new(e.kind(), why))
    })
}

/// How one source's pieces join up in its output: text chunks by the blank lines between
/// them, Parquet rows through the writer of the source's file.
#[derive(Default)]
struct Joining {
    joiner: Joiner,
    /// Started at the source's first piece, ended at its last.
    table: Option<TableWriter>,
}

/// Writes one piece of filter output: joined text chunks, JSONL records as they are, or
/// Parquet rows. `last`: the source's last piece. Returns the bytes of text written.
fn emit(
    out: &mut dyn Write,
    joining: &mut Joining,
    piece: &Piece,
    last: bool,
) -> std::io::Result<u64> {
    if let Some(t) = &piece.table {
        let w = match &mut joining.table {
            Some(w) => w,
            none => none.insert(TableWriter::new(t)?),
        };
        w.write(t, out)?;
        if let Some(w) = joining.table.take_if(|_| last) {
            w.finish(out)?;
        }
        return Ok(t.text_bytes);
    }
    match &piece.filtered {
        Some(f) if piece.out.is_empty() => joining.joiner.push(out, f),
        _ => {
            out.write_all(&piece.out)?;
            Ok(piece.plain_len.unwrap_or(piece.out.len() as u64))
        }
    }
}

fn kept(decisions: &[Option<Decision>]) -> impl Fn(usize) -> bool + '_ {
    |i| decisions[i].as_ref().is_some_and(|d| d.keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::split_str_at;

    #[test]
    fn an_output_that_appears_during_the_run_is_never_written_over() {
        let tmp = tempfile::tempdir().unwrap();
        let m = crate::default_model().unwrap();
        let policy = KeepPolicy::new(&m, &[], None).unwrap();
        let classifier = Classifier::new(m);
        let news = "国务院常务会议部署进一步稳定就业的政策措施。\n";
        let other = "财政部发布今年前十个月全国一般公共预算收支情况。\n";
        // Sources written whole by a worker, and one long enough to be read in chunks
        // and written by the sink.
        for (name, text) in [
            ("a.txt", news.to_string()),
            ("b.txt", other.to_string()),
            ("long.txt", other.repeat(400)),
        ] {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        let file = |name: &str| Source::File {
            path: tmp.path().join(name),
            rel_from: tmp.path().components().count(),
            link: false,
        };
        let out = tmp.path().join("out.txt");
        // Entries as a plan hands them out: what it found at the path decides `replace`.
        let run = |sources: &[&str], replace: bool, threads: usize| {
            let entries: Vec<Result<Entry>> = sources
                .iter()
                .map(|s| {
                    Ok(Entry {
                        source: file(s),
                        dest: Some(out.clone()),
                        replace,
                    })
                })
                .collect();
            let engine = Engine {
                classifier: &classifier,
                policy: &policy,
                opts: RunOptions {
                    chunk_bytes: 4096,
                    ..RunOptions::default()
                },
            };
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let inputs = Inputs {
                    entries: Box::new(entries.into_iter()),
                    size: Box::new(|| None),
                };
                engine
                    .filter(inputs, FilterTarget::Files, Sidecars::default())
                    .map_err(|e| e.to_string())
            })
        };
        let leftovers = || {
            std::fs::read_dir(tmp.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".chaff-tmp")
                })
                .count()
        };
        for threads in [1, 2] {
            for second in ["b.txt", "long.txt"] {
                std::fs::write(&out, "before the run\n").unwrap();
                // A file that was there when the run reached its source is replaced
                // (--force into a folder that held files).
                assert!(run(&["a.txt"], true, threads).is_ok());
                assert_eq!(std::fs::read_to_string(&out).unwrap(), news);
                // Two sources with one output, the second not known to the check: one
                // output stays whole, and the run stops naming the other source. (Two
                // workers may write two small files in either order.)
                std::fs::remove_file(&out).unwrap();
                let e = run(&["a.txt", second], false, threads).unwrap_err();
                let kept = std::fs::read_to_string(&out).unwrap();
                let lost = match kept.as_str() {
                    k if k == news => second,
                    k if k == other && second == "b.txt" && threads > 1 => "a.txt",
                    k => panic!("{k}"),
                };
                let lost = tmp.path().join(lost);
                assert_eq!(
                    e,
                    format!(
                        "{}: appeared during this run, and the output of {} is not written over it \
                         (another input with this output, added after the run began, or another program writing here)",
                        out.display(),
                        lost.display()
                    )
                );
                assert_eq!(leftovers(), 0);
            }
        }
    }

    #[test]
    fn a_source_that_cannot_be_found_stops_the_run_after_what_came_before() {
        let tmp = tempfile::tempdir().unwrap();
        let page = "国务院常务会议部署进一步稳定就业的政策措施。\n";
        let entries: Vec<Result<Entry>> = (0..3)
            .map(|i| {
                let path = tmp.path().join(format!("{i}.txt"));
                std::fs::write(&path, page).unwrap();
                Ok(Entry {
                    source: Source::File {
                        path,
                        rel_from: tmp.path().components().count(),
                        link: false,
                    },
                    dest: Some(tmp.path().join(format!("{i}.out"))),
                    replace: false,
                })
            })
            .collect();
        let mut with_gap = entries;
        with_gap[1] = Err(Error::Usage("the walk failed".into()));
        let m = crate::default_model().unwrap();
        let policy = KeepPolicy::new(&m, &[], None).unwrap();
        let classifier = Classifier::new(m);
        let engine = Engine {
            classifier: &classifier,
            policy: &policy,
            opts: RunOptions::default(),
        };
        let inputs = |e: &[Result<Entry>]| Inputs {
            entries: Box::new(
                e.iter()
                    .map(|e| e.as_ref().cloned().map_err(|e| Error::Usage(e.to_string())))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            size: Box::new(|| None),
        };
        let mut out = Vec::new();
        let e = engine
            .tag(
                inputs(&with_gap),
                TagFormat::Json,
                &mut out,
                Sidecars::default(),
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "the walk failed");
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("0.txt") && !text.contains("2.txt"), "{text}");
        let e = engine
            .filter(inputs(&with_gap), FilterTarget::Files, Sidecars::default())
            .unwrap_err();
        assert_eq!(e.to_string(), "the walk failed");
        let written: Vec<bool> = (0..3)
            .map(|i| tmp.path().join(format!("{i}.out")).exists())
            .collect();
        assert_eq!(written, [true, false, false]);
    }

    #[test]
    fn a_continued_chunk_gives_the_gap_after_its_last_paragraph() {
        let lines = split_str_at("甲\n\n乙\n\n\n", 1);
        assert_eq!(paragraphs(&lines, false), (vec!["甲", "乙"], vec![0, 1]));
        assert_eq!(paragraphs(&lines, true), (vec!["甲", "乙"], vec![0, 1, 2]));
        let blank = split_str_at("\n\n", 1);
        assert_eq!(paragraphs(&blank, true), (vec![], vec![]));
    }
}
