//! The writer thread's accounting: each finished unit, in input order, goes to the sink
//! and the side outputs, and into the run's and its file's counts; skips and bad records
//! are warned about here.

use super::queue::{Done, Unit};
use super::sink::{Sink, Written};
use super::Sidecars;
use crate::error::{Error, Result};
use crate::jsonl::BadRecords;
use crate::progress::Progress;
use crate::summary::{write_file_stats, Summary};

/// The writer thread's accounting, unit by unit in input order: the run's totals, the
/// current file's, and the side outputs.
pub(super) struct Tally<'s, 'p> {
    pub(super) summary: Summary,
    /// The file being written, added to `summary` at its last unit.
    pub(super) file: Summary,
    pub(super) side: Sidecars<'s>,
    pub(super) progress: &'p Progress,
    /// A skipped (non-text) file is an error.
    pub(super) strict: bool,
    /// What a skipped file is not: "text", or "Parquet".
    pub(super) kind: &'static str,
    /// What is done with bad JSONL records, for their warnings.
    pub(super) bad_records: BadRecords,
    /// The place in the run of the source `file` counts.
    pub(super) current: Option<usize>,
}

/// Bad JSONL records warned about one by one; the rest are counted in the summary only
/// (a wrong `--text-field` makes every record bad).
pub(super) const BAD_RECORD_WARNINGS: u64 = 20;

/// Skipped files warned about one by one; the rest are counted (a crawl's folders may
/// hold an image beside every page).
pub(super) const SKIP_WARNINGS: u64 = 20;

impl Tally<'_, '_> {
    /// Takes one finished unit of `source`: its piece to `sink` (unless a worker wrote it)
    /// and to the side outputs, a skip warned about, a file's accounting closed at its
    /// last unit. A failure ends the run.
    pub(super) fn absorb(&mut self, unit: Unit<Done>, sink: &mut Sink<'_>) -> Result<()> {
        let source = &unit.entry.source;
        if self.current != Some(unit.source) {
            self.current = Some(unit.source);
            // A source gone on with from a checkpoint: its counts so far.
            if let Some(r) = &unit.entry.resume {
                self.file = r.counts.clone();
            }
        }
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
                let before = self.summary.skipped + self.file.skipped;
                if before < SKIP_WARNINGS {
                    self.progress.suspend(|| {
                        crate::say!(
                            "chaff: warning: {}: skipped, not {} ({reason})",
                            source.display(),
                            self.kind
                        )
                    });
                } else if before == SKIP_WARNINGS {
                    self.progress.suspend(|| {
                        crate::say!(
                            "chaff: warning: more files skipped: counted, not shown (-v or --file-stats names each)"
                        )
                    });
                }
                self.file.skipped += 1;
            }
            Done::Piece(mut piece) => {
                self.warn_bad(&source.display(), &piece.bad);
                let written = match piece.written {
                    Some(n) => Written::bytes(n),
                    None => sink(unit.source, &unit.entry, &piece, unit.last)?,
                };
                piece.summary.bytes_out = written.bytes;
                if let Some(w) = self.side.removed.as_mut() {
                    w.write_all(&piece.removed)
                        .map_err(|e| Error::io("--removed", e))?;
                    if let Some(j) = self.side.journal.as_mut() {
                        j.removed(piece.removed.len());
                    }
                }
                self.file.absorb(&piece.summary);
                if unit.last {
                    self.file.files += 1;
                }
                if let (Some(at), Some(j)) = (written.checkpoint, self.side.journal.as_mut()) {
                    j.checkpoint(unit.entry.dest()?, at, &self.file)?;
                }
            }
        }
        if unit.last {
            let f = std::mem::take(&mut self.file);
            if self.side.verbose {
                use crate::say::counted;
                self.progress.suspend(|| {
                    let bad = match f.bad_records {
                        0 => String::new(),
                        n => format!("; {}", counted(n, "bad record")),
                    };
                    // Past the warnings' limit, the one line that names a skipped file.
                    let skipped = if f.skipped > 0 { "; skipped" } else { "" };
                    crate::say!(
                        "chaff: {}: {}, {}: {} kept, {} dropped, {} blank{bad}{skipped}",
                        source.display(),
                        counted(f.documents, "document"),
                        counted(f.lines, "line"),
                        f.kept,
                        f.dropped,
                        f.blank
                    )
                });
            }
            if let Some(w) = self.side.file_stats.as_mut() {
                let mut line = Vec::new();
                write_file_stats(&mut line, &source.display(), &f)
                    .and_then(|()| w.write_all(&line))
                    .map_err(|e| Error::io("--file-stats", e))?;
                if let Some(j) = self.side.journal.as_mut() {
                    j.file_stats(line.len());
                }
            }
            if let Some(j) = self.side.journal.as_mut() {
                // Only a source skipped as not text has no output.
                j.record(unit.entry.dest()?, f.skipped == 0, &f)?;
            }
            self.summary.absorb(&f);
        }
        Ok(())
    }

    /// Writes out the journal's records so far, after the side files' data they vouch
    /// for (a killed run then leaves no record that its side files lack).
    pub(super) fn flush_journal(&mut self) -> Result<()> {
        let Some(j) = self.side.journal.as_mut() else {
            return Ok(());
        };
        if let Some(w) = self.side.removed.as_mut() {
            w.flush().map_err(|e| Error::io("--removed", e))?;
        }
        if let Some(w) = self.side.file_stats.as_mut() {
            w.flush().map_err(|e| Error::io("--file-stats", e))?;
        }
        j.flush()
    }

    /// Warns about a piece's bad records, up to [`BAD_RECORD_WARNINGS`] in the run.
    pub(super) fn warn_bad(&self, path: &str, bad: &[(usize, String)]) {
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
                        crate::say!("chaff: warning: more bad records: counted, not shown")
                    });
                }
                break;
            }
            self.progress.suspend(|| {
                crate::say!("chaff: warning: {path}:{line}: bad record {what} ({reason})")
            });
        }
    }
}
