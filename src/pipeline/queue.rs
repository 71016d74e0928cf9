//! The job queue between the reader and the workers: units of work (a chunk of a
//! source, a batch of Parquet rows, a skip or a failure) travel in numbered batches, each
//! sent against a credit, so a fixed number are in flight.

use super::render::Piece;
use crate::error::Error;
use crate::reader::Chunk;
use crate::sources::Entry;
use std::sync::mpsc;
use std::sync::Arc;

pub(super) enum Job {
    Chunk(Chunk),
    Rows(Box<crate::parquet::Rows>),
    Skip(String),
    Fail(Error),
}

pub(super) enum Done {
    Piece(Box<Piece>),
    Skip(String),
    Fail(Error),
}

pub(super) struct Unit<T> {
    /// The source's place in the run (0, 1, 2, ...).
    pub(super) source: usize,
    pub(super) entry: Arc<Entry>,
    pub(super) last: bool,
    pub(super) item: T,
}

/// Consecutive units sent to a worker together, numbered in input order. Small files
/// travel in batches: one message per file costs three thread wake-ups (reader to worker
/// to writer and a credit back), which on a busy machine preempt the workers.
pub(super) type Batch<T> = (u64, Vec<Unit<T>>);

/// Most units in one batch.
pub(super) const BATCH_UNITS: usize = 32;

/// The reader's side of the job queue: collects units into batches and sends each when
/// it is big enough, after taking a credit.
pub(super) struct Batcher<'a> {
    pub(super) credits: &'a mpsc::Receiver<()>,
    pub(super) jobs: &'a mpsc::SyncSender<Batch<Job>>,
    pub(super) seq: u64,
    pub(super) units: Vec<Unit<Job>>,
    /// Chunk bytes in `units`.
    pub(super) bytes: usize,
    /// Bytes that make a batch big enough.
    pub(super) limit: usize,
}

impl Batcher<'_> {
    /// Adds a unit, sending the batch when it is full. False once the run is over (the
    /// writer stopped, or a stop was requested).
    pub(super) fn push(
        &mut self,
        source: usize,
        entry: &Arc<Entry>,
        last: bool,
        item: Job,
    ) -> bool {
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
    pub(super) fn flush(&mut self) -> bool {
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
