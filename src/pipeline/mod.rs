//! The pipeline: sources -> decoded chunks -> lines -> decisions -> rendered output.
//!
//! One reader thread opens sources in order (decompressing and decoding them, see
//! [`crate::input`]) and cuts them into chunks ([`crate::reader::Chunker`]), leaving
//! compressed ones, with several workers, to decoder threads that read a few sources at
//! once; worker threads (as many as `--threads`) classify chunks and render their
//! output; the calling thread puts results back in input order and writes them. A fixed
//! number of chunks is in flight at any time, so memory is bounded whatever the dump
//! size, and output is byte-identical whatever the thread count.
//!
//! This module runs those threads; the stages live in its parts: `read` (the reader
//! thread), `decoders` (threads that decompress sources ahead of their turn, several at
//! once, for the reader), `queue` (units of work in batches, against credits), `crew`
//! (the workers as one deciding a long document sees them: those waiting for a job lend
//! it their threads; whether the run is over), `render`
//! (what a worker makes of decided lines, per task), `tally` (the writer thread's
//! accounting) and `sink` (joining pieces into a stream or each source's output file).

mod crew;
mod decoders;
mod queue;
mod read;
mod render;
mod sink;
mod tally;

use crate::classifier::{argmax, Classifier, KeepPolicy};
use crate::error::{Error, Result};
use crate::input::DecodeOptions;
use crate::journal::Checkpoint;
use crate::json_array::ArrayFramer;
use crate::jsonl::BadRecords;
use crate::output::{AtomicFile, Compressed};
use crate::progress::Progress;
use crate::reader::Line;
use crate::sources::{Entry, Inputs};
pub use crate::summary::Summary;
use crate::writer::{write_tag_header, Decision, Joiner, TagFormat};
pub use crew::Crew;
use queue::{Batch, Done, Job, Unit};
use render::{Piece, Task};
use sink::{
    can_checkpoint, emit, empty_member, flush_for_checkpoint, open_output, open_resumable,
    place_output, write_whole, Joining, Sink, Written,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally::Tally;

/// Decides every line of a document (or of a chunk of one that `continues` past these
/// lines): `None` for blank lines. A whole document (lines from line 1 that do not
/// continue) that fails the policy's document threshold has every line dropped
/// ([`KeepPolicy::with_doc_threshold`]); a document read in chunks, longer than one
/// chunk, is not held whole for it.
pub fn decide(
    classifier: &Classifier,
    policy: &KeepPolicy,
    lines: &[Line<'_>],
    continues: bool,
) -> Vec<Option<Decision>> {
    let (texts, blanks) = paragraphs(lines, continues);
    let whole = !continues && lines.first().is_none_or(|l| l.number == 1);
    let (post, passes) = match whole && policy.doc_threshold() > 0.0 {
        true => classifier.classify_document(&texts, &blanks, policy),
        false => (classifier.classify_lines(&texts, &blanks), true),
    };
    let mut post = post.into_iter();
    lines
        .iter()
        .map(|l| {
            if l.is_blank() {
                return None;
            }
            let posteriors = post.next().unwrap_or_default();
            Some(Decision {
                label: argmax(&posteriors),
                keep: passes && policy.keeps(&posteriors),
                posteriors,
            })
        })
        .collect()
}

/// Filters one document held in memory: its kept lines, byte for byte, as `chaff filter`
/// writes a file of this text (a blank-line run kept only between kept paragraphs).
/// [`decide`] gives each line's decision instead.
pub fn filter_str(classifier: &Classifier, policy: &KeepPolicy, text: &str) -> String {
    let Ok(marks) = decide_document(classifier, policy, text, None, |_| {
        Ok::<_, std::convert::Infallible>(())
    });
    crate::writer::marked_runs(text, &marks).concat()
}

/// [`RunOptions::chunk_bytes`]' default, and the byte target of the chunks a document
/// held in memory is decided in ([`decide_document`]).
pub const CHUNK_BYTES: usize = 1 << 20;

/// A chunk of a document held in memory, decided ([`decide_document`]).
pub struct DecidedChunk<'c, 't> {
    /// Its lines, numbered in the document.
    pub lines: &'c [Line<'t>],
    /// Their decisions ([`decide`]).
    pub decisions: &'c [Option<Decision>],
    /// Where it starts in the document's text.
    pub offset: usize,
    /// Whether it is the document's last chunk.
    pub last: bool,
}

/// Decides a document held in memory (a JSONL, WARC or Parquet record's text; a text
/// file whose lines end in `\r`, one chunk of its file) as `filter` decides a text file
/// of it: in the chunks a file is read in ([`crate::reader::text_chunk_spans`] at
/// [`CHUNK_BYTES`] and [`crate::reader::LINE_TARGET`] lines, cut at the document's own
/// line ends), each read by the context model as going on into the next. So a record of
/// millions of lines costs memory by the chunk, not by the line. `each` is handed every
/// chunk in order (an error stops there); the result is every line's mark: `None` for a
/// blank line, else whether it is kept.
///
/// With a `crew`, chunks are decided several at a time, on as many helper threads as it
/// lends at each round (chunks are decided each on its own, so the result is the same);
/// `None` decides them one after another on the calling thread.
pub fn decide_document<E>(
    classifier: &Classifier,
    policy: &KeepPolicy,
    text: &str,
    crew: Option<&Crew>,
    mut each: impl FnMut(DecidedChunk<'_, '_>) -> std::result::Result<(), E>,
) -> std::result::Result<Vec<Option<bool>>, E> {
    let eol = crate::reader::document_line_end(text.as_bytes());
    let mut spans = crate::reader::text_chunk_spans(
        text.as_bytes(),
        eol,
        CHUNK_BYTES,
        crate::reader::LINE_TARGET,
    );
    if spans.is_empty() {
        spans.push((0..0, 1)); // an empty document is a chunk of no lines
    }
    let count = spans.len();
    let decide_span = |k: usize| {
        let (range, first_line) = &spans[k];
        let lines = crate::reader::split_str_ending(&text[range.clone()], *first_line, eol);
        let decisions = decide(classifier, policy, &lines, k + 1 < count);
        (lines, decisions)
    };
    let mut marks = Vec::new();
    let mut k = 0;
    while k < count {
        // A round: this chunk here, the next few on threads lent meanwhile.
        let taken = crew.map_or(0, |c| c.borrow(count - k - 1));
        let (decided, started) = decide_round(k, taken, &decide_span);
        if let Some(c) = crew {
            c.give_back(taken, started);
        }
        for (lines, decisions) in decided {
            marks.extend(decisions.iter().map(|d| d.as_ref().map(|d| d.keep)));
            each(DecidedChunk {
                lines: &lines,
                decisions: &decisions,
                offset: spans[k].0.start,
                last: k + 1 == count,
            })?;
            k += 1;
        }
    }
    Ok(marks)
}

/// A chunk's lines and their decisions.
type Decided<'t> = (Vec<Line<'t>>, Vec<Option<Decision>>);

/// Decides chunks `first..=first + helpers`: the first on this thread, each other on a
/// helper thread of its own (or here, if one cannot be started). Returns them in order,
/// and how many helpers were started. A helper's panic goes on in this thread.
fn decide_round<'t, F>(first: usize, helpers: usize, decide_span: &F) -> (Vec<Decided<'t>>, usize)
where
    F: Fn(usize) -> Decided<'t> + Sync,
{
    if helpers == 0 {
        return (vec![decide_span(first)], 0);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (first + 1..=first + helpers)
            .map(|k| {
                let helper = std::thread::Builder::new().name("chaff-helper".into());
                (k, helper.spawn_scoped(scope, move || decide_span(k)).ok())
            })
            .collect();
        let started = handles.iter().filter(|(_, h)| h.is_some()).count();
        let mut decided = vec![decide_span(first)];
        for (k, handle) in handles {
            decided.push(match handle.map(|h| h.join()) {
                Some(Ok(d)) => d,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => decide_span(k),
            });
        }
        (decided, started)
    })
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
    /// Chunk size target in bytes (see [`crate::reader::Chunker`]).
    pub chunk_bytes: usize,
    /// Strict one-record-in, one-record-out (JSONL): every record is written, even if
    /// left empty, and output is flushed after each record.
    pub pipe: bool,
    /// Write JSONL records left with no kept line (with an empty text).
    pub keep_empty: bool,
    /// Fail on a file that is not what the run reads (text, JSON lines) instead of
    /// skipping it.
    pub strict: bool,
    /// What to do with a JSONL line that is not a usable record.
    pub bad_records: BadRecords,
    /// `filter` to a stream that the caller gzips (`--compress gz`): WARC records are
    /// then gzipped here instead, a gzip member each (WARC readers need one per record,
    /// to seek; a run that writes none writes an empty member), and the caller writes
    /// them as they come.
    pub gzip_stream: bool,
    /// The level of compressed outputs (`--compress CODEC:LEVEL`, so every output is in
    /// that codec); `None`: each codec's default.
    pub compress_level: Option<u32>,
    /// Show a progress bar when stderr is a terminal.
    pub progress: bool,
    /// In a run into an output folder, how often a large JSONL or text source's output
    /// is checkpointed for `--resume`: after the first piece that ends past each
    /// multiple of this many bytes of its text (0: never).
    pub checkpoint_bytes: u64,
}

/// The most blank-line bytes a text output's checkpoint holds ([`crate::writer::Joined`]).
const MOST_JOINED: usize = 4096;

/// [`RunOptions::checkpoint_bytes`]' default: a checkpoint costs a flush (a gzip block
/// ended early) and a journal line, and a stop redoes at most this much.
pub const CHECKPOINT_BYTES: u64 = 64 << 20;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            format: InputFormat::Text,
            decode: DecodeOptions::default(),
            chunk_bytes: CHUNK_BYTES,
            pipe: false,
            keep_empty: false,
            strict: false,
            bad_records: BadRecords::Error,
            gzip_stream: false,
            compress_level: None,
            progress: false,
            checkpoint_bytes: CHECKPOINT_BYTES,
        }
    }
}

/// The output file of the source being written by [`Engine::to_files`].
struct Open {
    /// The source's place in the run.
    source: usize,
    w: Compressed<AtomicFile>,
    joining: Joining,
    /// Bytes of text written to it (before compression).
    written: u64,
    /// Bytes of the source's text read up to its last checkpoint (or where this run
    /// began it).
    checked: u64,
    /// CRC-32 of the source's text up to the last piece written.
    crc: crc32fast::Hasher,
    /// Whether it is checkpointed.
    checkpoints: bool,
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
    /// The output folder's journal (runs into a folder): a record of each source once
    /// its output and side records are written.
    pub journal: Option<&'a mut crate::journal::Journal>,
}

/// Where `filter` writes.
pub enum FilterTarget<'a> {
    /// All inputs, in order, to this writer, which the caller flushes (or finishes) after
    /// the run; with `--pipe` it is flushed after every record.
    Stream(&'a mut dyn Write),
    /// One output file per source, at its entry's `dest` (compressed as its name says).
    Files,
}

/// A classifier, a keep policy and run options: everything a run needs. Its workers are
/// as many as the threads of the rayon pool it runs in (the global one unless called
/// inside another's `install`: `ThreadPoolBuilder::new().num_threads(n).build()?
/// .install(|| engine.filter(...))`, as the tests here run it at 1 and 2 threads).
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
                Ok(Written::bytes(piece.out.len() as u64))
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
                    Ok(Written::bytes(n))
                })?;
                if self.opts.gzip_stream
                    && self.opts.format == InputFormat::Warc
                    && s.bytes_out == 0
                {
                    empty_member(out, self.opts.compress_level).map_err(wr)?;
                }
                // Not flushed here: a compressing writer would end a block early, and
                // its bytes would then differ from the same output written to a file.
                Ok(s)
            }
            FilterTarget::Files => self.to_files(inputs, task, side),
        }
    }

    /// `chaff tag --dolma`: for each JSONL source, an attributes file at its entry's
    /// `dest` (compressed as its name says), aligned row for row with the documents;
    /// each recorded in the output folder's `journal`, if given.
    pub fn dolma(
        &self,
        inputs: Inputs<'_>,
        name: &str,
        journal: Option<&mut crate::journal::Journal>,
    ) -> Result<Summary> {
        let side = Sidecars {
            journal,
            ..Sidecars::default()
        };
        self.to_files(inputs, Task::Dolma(name), side)
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
                Ok(Written::bytes(piece.out.len() as u64))
            },
        )?;
        out.write_all(crate::html::footer(&summary).as_bytes())
            .map_err(wr)?;
        out.flush().map_err(wr)?;
        Ok(summary)
    }

    /// Runs `task` writing each source's output to its own file (its entry's `dest`),
    /// atomically. With a `journal` (a run into an output folder), a large JSONL or text
    /// source's output (but an xz one) is checkpointed every
    /// [`RunOptions::checkpoint_bytes`] of input, and a source the journal's run stopped
    /// inside is gone on with from its checkpoint ([`Entry::resume`]).
    fn to_files(&self, inputs: Inputs<'_>, task: Task<'_>, side: Sidecars<'_>) -> Result<Summary> {
        let every = match (side.journal.is_some(), &self.opts.format) {
            (true, InputFormat::Jsonl { .. } | InputFormat::Text) if !self.opts.pipe => {
                self.opts.checkpoint_bytes
            }
            _ => 0,
        };
        let mut open: Option<Open> = None;
        self.run(
            inputs,
            task,
            true,
            side,
            &mut |source, entry, piece, last| {
                let dest = entry.dest()?;
                if open.as_ref().is_none_or(|o| o.source != source) {
                    // A source whose first piece is not its last is read in chunks.
                    let compressed = piece.plain_len.is_some();
                    let resume = entry.resume.as_deref();
                    let checkpoints = every > 0
                        && !compressed
                        && (!last || resume.is_some())
                        && can_checkpoint(dest);
                    let w = match (checkpoints, resume) {
                        (true, _) => open_resumable(dest, resume, self.opts.compress_level)?,
                        (false, None) => {
                            open_output(dest, !last, compressed, self.opts.compress_level)?
                        }
                        // The reader skipped the text before the checkpoint: the output
                        // must be the one that holds what came of it.
                        (false, Some(_)) => {
                            return Err(Error::Internal(format!(
                            "{}: a checkpoint to go on from, in a run that does not checkpoint it",
                            dest.display()
                        )))
                        }
                    };
                    let joiner = resume
                        .and_then(|r| r.at.joined.as_ref())
                        .map_or_else(Joiner::default, Joiner::resumed);
                    open = Some(Open {
                        source,
                        w,
                        joining: Joining {
                            joiner,
                            // A JSON array's `[` is written with its first record.
                            array: ArrayFramer::resumed(resume.is_some_and(|r| r.at.plain > 0)),
                            ..Joining::default()
                        },
                        written: resume.map_or(0, |r| r.at.plain),
                        checked: resume.map_or(0, |r| r.at.input),
                        crc: resume.map_or_else(crc32fast::Hasher::new, |r| {
                            crc32fast::Hasher::new_with_initial_len(r.at.crc, r.at.input)
                        }),
                        checkpoints,
                    });
                }
                let Some(o) = open.as_mut() else {
                    unreachable!("opened above")
                };
                let n =
                    emit(&mut o.w, &mut o.joining, piece, last).map_err(|e| Error::io(dest, e))?;
                o.written += n;
                let mut checkpoint = None;
                if last {
                    if let Some(Open { mut w, written, .. }) = open.take() {
                        if piece.plain_len.is_some() && written == 0 {
                            empty_member(&mut w, self.opts.compress_level)
                                .map_err(|e| Error::io(dest, e))?;
                        }
                        place_output(w, entry)?;
                    }
                } else if let Some(p) = piece.point.as_ref().filter(|_| o.checkpoints) {
                    o.crc.combine(&p.crc);
                    // A text output's joiner holds blank lines back: they go in the
                    // checkpoint (a run of them too long for a journal line waits for a
                    // later piece).
                    let joined = || match self.opts.format {
                        InputFormat::Text => o
                            .joining
                            .joiner
                            .state()
                            .filter(|j| j.pending.len() <= MOST_JOINED)
                            .map(Some),
                        _ => Some(None),
                    };
                    let due = p.input / every > o.checked / every;
                    if let Some(joined) = due.then(joined).flatten() {
                        let flushed =
                            flush_for_checkpoint(&mut o.w).map_err(|e| Error::io(dest, e))?;
                        checkpoint = Some(Checkpoint {
                            input: p.input,
                            line: p.line as u64,
                            crc: o.crc.clone().finalize(),
                            output: flushed.len,
                            output_crc: flushed.crc,
                            plain: o.written,
                            joined,
                            bzip2: flushed.bzip2,
                        });
                        o.checked = p.input;
                    }
                }
                Ok(Written {
                    bytes: n,
                    checkpoint,
                })
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
        // Workers waiting for a job lend their threads to one deciding a long document.
        let crew = &Crew::default();
        let mut tally = Tally {
            summary: Summary::default(),
            file: Summary::default(),
            side,
            progress: &progress,
            strict: self.opts.strict,
            kind: match self.opts.format {
                InputFormat::Text => "plain text",
                InputFormat::Jsonl { .. } => "JSON lines",
                InputFormat::Warc => "WARC",
                InputFormat::Parquet { .. } => "Parquet",
            },
            bad_records: self.opts.bad_records,
            current: None,
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
                        let read =
                            self.read_sources(entries, consumed_r, credit_rx, &job_tx, threads);
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
                        crew.waiting();
                        let next = job_rx.lock().map(|rx| rx.recv());
                        // At the end of the jobs a worker stays counted as waiting: its
                        // core is free for the rest of the run.
                        let Ok(Ok((seq, units))) = next else { return };
                        crew.working();
                        let mut done = Vec::with_capacity(units.len());
                        for unit in units {
                            let d = self.work(task, direct, unit, crew);
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
            // However the writer stops (done, a stop request, an error), a worker deciding
            // a long document stops too.
            let _end = crew.ending();
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
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        // What the reader has read, while a long job holds the rest.
                        let read = consumed.load(Ordering::Relaxed);
                        progress.update(read, tally.summary.files);
                        continue;
                    }
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
                tally.flush_journal()?;
            }
        });
        progress.finish();
        result?;
        Ok(tally.summary)
    }

    /// A worker's share: classify and render one chunk or batch of rows (see
    /// [`guarded`]: a panic becomes an error; `files`, a source in one unit is written
    /// here).
    fn work(&self, task: Task<'_>, files: bool, unit: Unit<Job>, crew: &Crew) -> Unit<Done> {
        let source = &unit.entry.source;
        let (entry, last) = (&unit.entry, unit.last);
        let item = match unit.item {
            Job::Skip(r) => Done::Skip(r),
            Job::Fail(e) => Done::Fail(e),
            Job::Chunk(c) => {
                let members = self.gzip_members(task, entry);
                guarded(
                    entry,
                    last,
                    files,
                    self.opts.compress_level,
                    c.first_line,
                    || self.render(source, task, &c, last, members, crew),
                )
            }
            Job::Rows(rows) => guarded(
                entry,
                last,
                files,
                self.opts.compress_level,
                rows.first_row + 1,
                || self.render_rows(&source.display(), task, &rows, crew),
            ),
        };
        Unit {
            source: unit.source,
            entry: unit.entry,
            last: unit.last,
            item,
        }
    }
}

/// Runs `render` for a unit's chunk or rows. A panic in there is a bug: it becomes an
/// error for this unit instead of a hung run. `files`: a source that is one unit (its
/// first, from line 1, and its last) is written to its entry's `dest` here, compressed
/// at `level`; longer sources are joined in order by the sink.
fn guarded(
    entry: &Entry,
    last: bool,
    files: bool,
    level: Option<u32>,
    first_line: usize,
    render: impl FnOnce() -> Result<Piece>,
) -> Done {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut piece = render()?;
        if files && last && first_line == 1 {
            piece.written = Some(write_whole(entry, &piece, level)?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::split_str_at;
    use crate::sources::Source;

    /// The default model's classifier, and its keep policy as `filter` sets it.
    fn default_parts() -> (Classifier, KeepPolicy) {
        let m = crate::default_model().unwrap();
        let policy = KeepPolicy::new(&m, &[], None).unwrap();
        (Classifier::new(m), policy)
    }

    #[test]
    fn an_output_that_appears_during_the_run_is_never_written_over() {
        let tmp = tempfile::tempdir().unwrap();
        let (classifier, policy) = default_parts();
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
                        resume: None,
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
                    resume: None,
                })
            })
            .collect();
        let mut with_gap = entries;
        with_gap[1] = Err(Error::Usage("the walk failed".into()));
        let (classifier, policy) = default_parts();
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
    fn a_long_document_decided_on_lent_threads_is_decided_as_on_one() {
        let (classifier, policy) = default_parts();
        let page = "国务院常务会议部署进一步稳定就业的政策措施。\n\n哈哈哈今天好开心～\n发布 👍 0 举报 写留言\n\n";
        // 40,000 lines: 8 chunks of at most LINE_TARGET lines, ragged at the end.
        let text = page.repeat(8_000) + "财政部发布今年前十个月全国一般公共预算收支情况。";
        type Seen = Vec<(usize, bool, Vec<usize>, Vec<Option<(bool, Vec<f64>)>>)>;
        let decided = |crew: Option<&Crew>| {
            let mut seen: Seen = Vec::new();
            let marks = decide_document(&classifier, &policy, &text, crew, |c| {
                seen.push((
                    c.offset,
                    c.last,
                    c.lines.iter().map(|l| l.number).collect(),
                    c.decisions
                        .iter()
                        .map(|d| d.as_ref().map(|d| (d.keep, d.posteriors.to_vec())))
                        .collect(),
                ));
                Ok::<_, ()>(())
            })
            .unwrap();
            (marks, seen)
        };
        let alone = decided(None);
        assert!(alone.1.len() >= 3, "{} chunks", alone.1.len());
        assert_eq!(alone.0.len(), text.lines().count());
        for n in [1, 2, 7] {
            let crew = Crew::new(n);
            assert!(decided(Some(&crew)) == alone, "{n} threads lent");
            assert!(crew.lent() > 0, "{n} threads lent: none started");
            // Every thread came back.
            assert_eq!(crew.borrow(usize::MAX), n);
        }
        // An error from `each` stops there, helpers or not.
        let crew = Crew::new(3);
        let mut calls = 0;
        let stopped = decide_document(&classifier, &policy, &text, Some(&crew), |_| {
            calls += 1;
            if calls == 2 {
                return Err("stop");
            }
            Ok(())
        });
        assert_eq!((stopped, calls), (Err("stop"), 2));
        assert_eq!(crew.borrow(usize::MAX), 3);
    }

    #[test]
    fn a_long_record_stops_between_chunks_once_the_run_is_over() {
        let (classifier, policy) = default_parts();
        let engine = Engine {
            classifier: &classifier,
            policy: &policy,
            opts: RunOptions {
                format: InputFormat::Jsonl {
                    text_field: "text".into(),
                },
                ..RunOptions::default()
            },
        };
        let text = "国务院常务会议部署进一步稳定就业的政策措施。\n\n".repeat(20_000);
        let record = serde_json::json!({ "id": 1, "text": text }).to_string() + "\n";
        let chunk = crate::reader::Chunk {
            first_line: 1,
            next_line: 2,
            end: record.len() as u64,
            bytes: record.into_bytes(),
            records: Vec::new(),
            json_array: false,
        };
        let source = Source::Stdin;
        let task = Task::Filter { removed: false };
        let crew = Crew::default();
        let piece = engine
            .render(&source, task, &chunk, true, false, &crew)
            .unwrap();
        assert_eq!(piece.summary.kept, 20_000);
        // The writer has stopped: the record ends at its first chunk, undecided past it.
        crew.end();
        let e = engine.render(&source, task, &chunk, true, false, &crew);
        assert!(matches!(e, Err(Error::Interrupted)), "{:?}", e.map(|_| ()));
    }

    #[test]
    fn a_document_that_fails_the_doc_threshold_is_dropped_whole() {
        let (classifier, policy) = default_parts();
        let gated = policy.clone().with_doc_threshold(Some(0.3)).unwrap();
        // Three posts, written for this test, set apart as an article's paragraphs are:
        // the context model reads them as one (P(news) ~0.8-0.9), while on its own no
        // line reaches 0.02.
        let posts = "今天终于把房间收拾干净了，周末就是要好好休息一下。\n\n\
                     楼下新开的那家面馆味道还不错，价格也实惠，推荐大家去试试。\n\n\
                     最近在追一部剧，每天晚上都熬夜看，第二天上班好困啊。\n";
        let lines = split_str_at(posts, 1);
        let keeps = |p: &KeepPolicy, lines: &[Line<'_>], continues: bool| -> Vec<bool> {
            let decided = decide(&classifier, p, lines, continues);
            decided.into_iter().flatten().map(|d| d.keep).collect()
        };
        assert_eq!(keeps(&policy, &lines, false), [true, true, true]);
        assert_eq!(keeps(&gated, &lines, false), [false, false, false]);
        // The posteriors are the context model's still: only the keep decision changes.
        let (plain, dropped) = (
            decide(&classifier, &policy, &lines, false),
            decide(&classifier, &gated, &lines, false),
        );
        for (a, b) in plain.iter().flatten().zip(dropped.iter().flatten()) {
            assert_eq!((a.label, &a.posteriors), (b.label, &b.posteriors));
        }
        // A part of a longer document is not held whole for it: not the first chunk, nor
        // one that goes on.
        assert_eq!(
            keeps(&gated, &split_str_at(posts, 7), false),
            [true, true, true]
        );
        assert_eq!(keeps(&gated, &lines, true), keeps(&policy, &lines, true));
        // A page with an article passes, and is decided as without the threshold.
        let page = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/sample_page.txt"
        ))
        .unwrap();
        let page = split_str_at(&page, 1);
        let kept = keeps(&policy, &page, false);
        assert!(kept.contains(&true) && kept.contains(&false));
        assert_eq!(keeps(&gated, &page, false), kept);
        // A document of one paragraph is gated too; one of none has nothing to drop.
        let lone = split_str_at("最近在追一部剧，每天晚上都熬夜看，第二天上班好困啊。\n", 1);
        assert_eq!(keeps(&gated, &lone, false), [false]);
        assert!(keeps(&gated, &split_str_at("\n\n", 1), false).is_empty());
        // Off at 0, and nothing outside [0, 1].
        let off = policy.clone().with_doc_threshold(Some(0.0)).unwrap();
        assert_eq!(keeps(&off, &lines, false), [true, true, true]);
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = policy.clone().with_doc_threshold(Some(bad)).unwrap_err();
            assert!(
                e.to_string()
                    .contains("--doc-threshold must be between 0 and 1"),
                "{e}"
            );
        }
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
