//! The journal of a run into an output folder: one JSON line per finished source, in
//! input order, appended as the run goes (and before a large JSONL or text source's
//! line, one per checkpoint of its output: [`Checkpoint`]). It is what `--resume` trusts: which
//! sources an earlier run finished (in order, so the side files, which follow input
//! order, can be continued), how far each side file had got after each one, and what
//! each counted (so a resumed run's summary covers the whole dump).
//!
//! A line is written only after its source's output is in place and its side records
//! are written, and the journal is flushed only after the side files are: so whatever a
//! killed run leaves, every line of its journal is backed by an output and side data (a
//! torn last line is ignored).

use crate::error::{Error, Result};
use crate::outdir::Plan;
use crate::side_file::{self, SideFile};
use crate::summary::Summary;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the journal in an output folder.
pub const JOURNAL: &str = ".chaff-journal.jsonl";

/// One finished source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Its output's path in the folder.
    pub dest: String,
    /// Whether it has an output file (a source skipped as not text has none).
    pub output: bool,
    /// Bytes of the `--removed` records (uncompressed) once this source's were written.
    pub removed: u64,
    /// Bytes of the `--file-stats` lines once this source's was written.
    pub file_stats: u64,
    /// What it counted.
    pub counts: Summary,
    /// Set when the source is not finished: where a large source had got when its output
    /// was checkpointed (`counts` are then what it counted so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Checkpoint>,
}

/// How far a large source had got when its output was checkpointed: a run into an
/// output folder flushes the output of a large JSONL or text source and journals this
/// every `--checkpoint-bytes` of input, so that `--resume` goes on inside the source
/// instead of from its start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Bytes of the source's text (decompressed and decoded) read.
    pub input: u64,
    /// Number of the source's next line.
    pub line: u64,
    /// CRC-32 of the text before `input`: a resumed run reads the text again up to
    /// `input`, and checks that it is the same.
    pub crc: u32,
    /// Bytes of the partial output file ([`crate::output::resumable_path`]).
    pub output: u64,
    /// Their CRC-32: a resumed run goes on with the file only if it still holds them.
    pub output_crc: u32,
    /// Bytes of output before compression.
    pub plain: u64,
    /// A text input's output: how its chunks were being joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<crate::writer::Joined>,
    /// A bzip2 output: where its open stream stands (the bytes written cannot tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bzip2: Option<crate::bz2::Tail>,
}

/// A source that `--resume` goes on with from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// Its output's path in the folder ([`in_folder`]).
    pub dest: String,
    /// Where to go on from.
    pub at: Checkpoint,
    /// The output's length before compression at each of its earlier checkpoints, in
    /// order: where the stopped run flushed it (a codec whose state cannot be read back
    /// compresses its text again with the same flushes, [`crate::output::AtomicFile::replay`]).
    pub flushes: Vec<u64>,
    /// What the source had counted by then.
    pub counts: Summary,
}

impl Record {
    /// The side files' lengths this record says were written.
    pub fn side_ends(&self) -> SideEnds {
        SideEnds {
            removed: self.removed,
            file_stats: self.file_stats,
        }
    }
}

/// How far the side files (uncompressed) had got: what the journal records after each
/// source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideEnds {
    /// `--removed` bytes.
    pub removed: u64,
    /// `--file-stats` bytes.
    pub file_stats: u64,
}

/// How the journal names `dest`, an output in `dir`: its path in the folder, so the
/// folder can be moved between runs.
pub fn in_folder(dir: &Path, dest: &Path) -> String {
    dest.strip_prefix(dir)
        .unwrap_or(dest)
        .to_string_lossy()
        .into_owned()
}

/// A 64-bit key of an output's path in its folder ([`in_folder`]): what a resumed run
/// holds of each source it leaves out, to check that its inputs are still the ones
/// found at its start (a path's bytes would cost memory per source).
pub fn dest_key(in_folder: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same key in every run.
    let mut h = std::hash::DefaultHasher::new();
    in_folder.hash(&mut h);
    h.finish()
}

/// The path of the journal in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(JOURNAL)
}

/// The records of the journal in `dir` and the byte offset after each, read one by one,
/// up to the first line that is not a whole record (a killed run's torn last line); none
/// if there is no journal.
pub fn read(dir: &Path) -> Result<Records> {
    let path = path(dir);
    let reader = match std::fs::File::open(&path) {
        Ok(f) => Some(std::io::BufReader::new(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    Ok(Records {
        path,
        reader,
        at: 0,
        line: Vec::new(),
    })
}

/// A journal's records, read one by one ([`read`]): a run of a million sources is not
/// held in memory to be resumed.
pub struct Records {
    path: PathBuf,
    /// `None` at the end.
    reader: Option<std::io::BufReader<std::fs::File>>,
    at: u64,
    line: Vec<u8>,
}

impl Iterator for Records {
    type Item = Result<(Record, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        self.line.clear();
        let n = match reader.read_until(b'\n', &mut self.line) {
            Ok(n) => n,
            Err(e) => {
                self.reader = None;
                return Some(Err(Error::io(&self.path, e)));
            }
        };
        let record = match self.line.last() {
            Some(b'\n') => serde_json::from_slice::<Record>(&self.line).ok(),
            _ => None,
        };
        match record {
            Some(r) => {
                self.at += n as u64;
                Some(Ok((r, self.at)))
            }
            None => {
                self.reader = None;
                None
            }
        }
    }
}

/// The journal being written: opened at the end of the records a resumed run keeps.
pub struct Journal {
    /// The output folder.
    dir: PathBuf,
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    /// The side files' lengths so far.
    ends: SideEnds,
    line: Vec<u8>,
}

impl Journal {
    /// Opens the journal of `dir`, keeping its first `keep` bytes (the records of the
    /// sources this run leaves out; 0 for a new run), which end with the side files at
    /// `ends`.
    pub fn open(dir: &Path, keep: u64, ends: SideEnds) -> Result<Journal> {
        let path = path(dir);
        let file = side_file::append_after(&path, keep)?;
        Ok(Journal {
            file: std::io::BufWriter::new(file),
            dir: dir.to_path_buf(),
            path,
            ends,
            line: Vec::new(),
        })
    }

    /// Counts `n` bytes written to `--removed`.
    pub fn removed(&mut self, n: usize) {
        self.ends.removed += n as u64;
    }

    /// Counts `n` bytes written to `--file-stats`.
    pub fn file_stats(&mut self, n: usize) {
        self.ends.file_stats += n as u64;
    }

    /// Records a finished source whose output is `dest` (buffered: see
    /// [`Journal::flush`]).
    pub fn record(&mut self, dest: &Path, output: bool, counts: &Summary) -> Result<()> {
        self.write(dest, output, counts, None)
    }

    /// Records a checkpoint of the source whose output is `dest`, which has counted
    /// `counts` so far (buffered: see [`Journal::flush`]). Call it only once its partial
    /// output is written out as far as `at` says.
    pub fn checkpoint(&mut self, dest: &Path, at: Checkpoint, counts: &Summary) -> Result<()> {
        self.write(dest, true, counts, Some(at))
    }

    fn write(
        &mut self,
        dest: &Path,
        output: bool,
        counts: &Summary,
        at: Option<Checkpoint>,
    ) -> Result<()> {
        let r = Record {
            dest: in_folder(&self.dir, dest),
            output,
            removed: self.ends.removed,
            file_stats: self.ends.file_stats,
            counts: counts.clone(),
            at,
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &r).map_err(|e| Error::Internal(e.to_string()))?;
        self.line.push(b'\n');
        self.file
            .write_all(&self.line)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes out the records so far. Call it only once the side files' data before them
    /// is written out.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// A run's journal and side files, taken up where an earlier run left them (`--resume`)
/// or begun anew.
pub struct Continued {
    /// The journal, open after the records of the sources left out.
    pub journal: Journal,
    /// `--removed`, continued.
    pub removed: Option<SideFile>,
    /// `--file-stats`, continued.
    pub file_stats: Option<SideFile>,
    /// What the sources left out counted; `resumed` says how many they are.
    pub done: Summary,
    /// The source gone on with from a checkpoint, if any.
    pub inside: Option<Arc<Resume>>,
    /// The output folder, when this run finishes an earlier one: once it is complete,
    /// what a killed run may have left there and this one did not use is removed.
    resumed_in: Option<PathBuf>,
}

/// Opens the journal and the side files of the run `plan` into `dir`. Resuming, the
/// sources an earlier run finished are left out of `plan`: as many of the journal's
/// records as, in order, are this run's first sources with their outputs still there
/// ([`Plan::finished`]) and are covered by what the side files kept of their records.
pub fn begin(
    plan: &mut Plan,
    dir: &Path,
    removed: Option<&Path>,
    file_stats: Option<&Path>,
) -> Result<Continued> {
    let resuming = plan.resuming();
    // The side files' ends after the last record, which is all of them an earlier run
    // could have written (the journal is read twice rather than held).
    let mut last = SideEnds::default();
    if resuming {
        for r in read(dir)? {
            last = r?.0.side_ends();
        }
    }
    // A side file not asked for has no records (the settings say it was not asked for
    // before either).
    let kept = |path: Option<&Path>, want: u64| match path {
        Some(p) if resuming => side_file::available(p, want),
        _ => Ok(u64::MAX),
    };
    let (has_removed, has_stats) = (
        kept(removed, last.removed)?,
        kept(file_stats, last.file_stats)?,
    );
    // The records done: in order, those covered by the side files, as long as each is
    // the next source of this run and its output is there. Then the last checkpoint of
    // the next source that its partial output covers, if any.
    let (mut keep, mut ends, mut done, mut skipped) =
        (0, SideEnds::default(), Summary::default(), Vec::new());
    // The checkpoint, and the journal's length and side ends after it.
    let mut inside: Option<(Resume, u64, SideEnds)> = None;
    if resuming {
        let mut outputs = plan.outputs().peekable();
        // The next source's partial output's length (looked up once).
        let mut partial: Option<(String, u64)> = None;
        // The checkpoints of that source so far: where its output was flushed.
        let mut flushes = Vec::new();
        for r in read(dir)? {
            let (r, at) = r?;
            if r.removed > has_removed || r.file_stats > has_stats {
                break;
            }
            if let Some(c) = &r.at {
                let Some(Ok(dest)) = outputs.peek() else {
                    break;
                };
                if in_folder(dir, dest) != r.dest {
                    break;
                }
                let len = match &partial {
                    Some((d, len)) if *d == r.dest => *len,
                    _ => {
                        let p = crate::output::resumable_path(dest);
                        let len = std::fs::metadata(&p).map_or(0, |m| m.len());
                        partial = Some((r.dest.clone(), len));
                        flushes.clear();
                        len
                    }
                };
                if c.output <= len {
                    let resume = Resume {
                        dest: r.dest.clone(),
                        at: c.clone(),
                        flushes: flushes.clone(),
                        counts: r.counts.clone(),
                    };
                    inside = Some((resume, at, r.side_ends()));
                }
                flushes.push(c.plain);
                continue;
            }
            match outputs.next() {
                Some(Ok(dest)) if plan.finished(&dest, &r) => {}
                _ => break,
            }
            inside = None;
            (keep, ends) = (at, r.side_ends());
            done.absorb(&r.counts);
            skipped.push(dest_key(&r.dest));
        }
    }
    done.resumed = skipped.len() as u64;
    plan.skip_done(skipped);
    let inside = inside.map(|(resume, at, side)| {
        (keep, ends) = (at, side);
        Arc::new(resume)
    });
    plan.resume_inside(inside.clone());
    Ok(Continued {
        journal: Journal::open(dir, keep, ends)?,
        removed: removed
            .map(|p| SideFile::resumable(p, ends.removed))
            .transpose()?,
        file_stats: file_stats
            .map(|p| SideFile::resumable(p, ends.file_stats))
            .transpose()?,
        done,
        inside,
        resumed_in: resuming.then(|| dir.to_path_buf()),
    })
}

impl Continued {
    /// Ends the run `result` tells of, giving its summary and the done sources' counts: a
    /// finished run's side files are put in place; a stopped run's side files, then its
    /// journal, are written out as far as they got, for `--resume`. The text that the
    /// source gone on with from a checkpoint had read before counts as done, not as
    /// read by this run (whose speed is reported), though the source's counts are in
    /// the run's summary (its `--file-stats` line covers it whole).
    pub fn end(self, result: Result<Summary>) -> Result<(Summary, Summary)> {
        let Continued {
            mut journal,
            removed,
            file_stats,
            mut done,
            inside,
            resumed_in,
        } = self;
        let sides = [removed, file_stats].into_iter().flatten();
        match result {
            Ok(mut summary) => {
                journal.flush()?;
                for side in sides {
                    side.commit()?;
                }
                if let Some(dir) = resumed_in {
                    // A checkpointed output a killed run left for an input no longer
                    // among the inputs, say.
                    crate::outdir::remove_temporaries(&dir, true)?;
                }
                if let Some(r) = inside {
                    let before = r.counts.bytes_in.min(summary.bytes_in);
                    summary.bytes_in -= before;
                    done.bytes_in += before;
                }
                Ok((summary, done))
            }
            Err(e) => {
                // Best effort: the error that stopped the run is the one to report.
                for mut side in sides {
                    let _ = side.flush();
                }
                let _ = journal.flush();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(dir: &Path) -> Vec<(Record, u64)> {
        read(dir).unwrap().collect::<Result<_>>().unwrap()
    }

    fn counts(lines: u64) -> Summary {
        Summary {
            files: 1,
            lines,
            kept: lines,
            ..Summary::default()
        }
    }

    #[test]
    fn a_resume_skips_what_the_journal_and_the_side_files_both_cover() {
        use crate::outdir::{plan, Existing};
        use crate::sources::Input;
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        std::fs::create_dir_all(&input).unwrap();
        for n in ["a.txt", "b.txt", "c.txt", "d.txt"] {
            std::fs::write(input.join(n), "x\n").unwrap();
        }
        let removed = tmp.path().join("removed.jsonl");
        let inputs = [input.clone()];
        let planned = |existing| {
            let list = Input::all_given(&inputs).into();
            plan(
                &out,
                list,
                "stdin.txt",
                None,
                existing,
                Some("{}"),
                &Default::default(),
            )
            .unwrap()
        };
        // A stopped run: three sources recorded, the side file written for two of them
        // (the third's records were still in a buffer when it was killed).
        let mut first = planned(Existing::Refuse);
        let mut run = begin(&mut first, &out, Some(&removed), None).unwrap();
        assert_eq!(run.done, Summary::default());
        for (n, bytes) in [("a.txt", 4), ("b.txt", 6), ("c.txt", 5)] {
            std::fs::write(out.join(n), "x\n").unwrap();
            run.removed
                .as_mut()
                .unwrap()
                .write_all(&vec![b'r'; bytes])
                .unwrap();
            run.journal.removed(bytes);
            run.journal.record(&out.join(n), true, &counts(2)).unwrap();
        }
        let mut side = run.removed.take().unwrap();
        side.flush().unwrap();
        run.journal.flush().unwrap();
        drop((run, side, first));
        let partial = side_file::partial_path(&removed);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&partial)
            .unwrap()
            .set_len(12)
            .unwrap();
        let mut resumed = planned(Existing::Resume);
        let run = begin(&mut resumed, &out, Some(&removed), None).unwrap();
        assert_eq!(run.done.resumed, 2);
        assert_eq!((run.done.files, run.done.lines), (2, 4));
        let left: Vec<_> = resumed
            .inputs()
            .entries
            .map(|e| e.unwrap().source)
            .collect();
        let names: Vec<_> = left.iter().map(|s| s.display()).collect();
        assert!(names[0].ends_with("c.txt") && names.len() == 2, "{names:?}");
        // The side file and the journal were cut back to the two sources.
        assert_eq!(std::fs::metadata(&partial).unwrap().len(), 10);
        drop((run, resumed));
        assert_eq!(all(&out).len(), 2);
        // Without the side file's partial (and no finished side file), nothing is done.
        std::fs::remove_file(&partial).unwrap();
        let mut again = planned(Existing::Resume);
        let run = begin(&mut again, &out, Some(&removed), None).unwrap();
        assert_eq!(run.done.resumed, 0);
        assert_eq!(again.inputs().entries.count(), 4);
    }

    #[test]
    fn a_resume_goes_on_from_the_last_checkpoint_its_partial_output_covers() {
        use crate::outdir::{plan, Existing};
        use crate::sources::Input;
        let tmp = tempfile::tempdir().unwrap();
        let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
        std::fs::create_dir_all(&input).unwrap();
        for n in ["a.jsonl", "b.jsonl", "c.jsonl"] {
            std::fs::write(input.join(n), "{}\n").unwrap();
        }
        let inputs = [input.clone()];
        let planned = |existing| {
            let list = Input::all_given(&inputs).into();
            plan(
                &out,
                list,
                "stdin.jsonl",
                None,
                existing,
                Some("{}"),
                &Default::default(),
            )
            .unwrap()
        };
        let at = |output: u64| Checkpoint {
            input: output * 2,
            line: output,
            crc: 7,
            output,
            output_crc: 0,
            plain: output,
            joined: None,
            bzip2: None,
        };
        // A stopped run: a.jsonl finished, b.jsonl checkpointed twice.
        let mut first = planned(Existing::Refuse);
        let mut run = begin(&mut first, &out, None, None).unwrap();
        std::fs::write(out.join("a.jsonl"), "x\n").unwrap();
        run.journal
            .record(&out.join("a.jsonl"), true, &counts(1))
            .unwrap();
        for n in [10, 20] {
            let c = counts(n);
            run.journal
                .checkpoint(&out.join("b.jsonl"), at(n), &c)
                .unwrap();
        }
        run.journal.flush().unwrap();
        drop((run, first));
        let journal = std::fs::read(path(&out)).unwrap();
        let partial = crate::output::resumable_path(&out.join("b.jsonl"));
        // The partial output's length picks the checkpoint; the journal is kept up to it.
        for (len, want) in [
            (None, None),
            (Some(9), None),
            (Some(15), Some(10)),
            (Some(25), Some(20)),
        ] {
            std::fs::write(path(&out), &journal).unwrap();
            let _ = std::fs::remove_file(&partial);
            if let Some(len) = len {
                std::fs::write(&partial, vec![b'x'; len]).unwrap();
            }
            let mut resumed = planned(Existing::Resume);
            let run = begin(&mut resumed, &out, None, None).unwrap();
            assert_eq!(run.done.resumed, 1);
            assert_eq!(run.inside.as_ref().map(|r| r.at.output), want, "{len:?}");
            if let Some(r) = &run.inside {
                assert_eq!(
                    (r.dest.as_str(), &r.counts),
                    ("b.jsonl", &counts(r.at.output))
                );
            }
            let entries: Vec<_> = resumed.inputs().entries.map(|e| e.unwrap()).collect();
            assert_eq!(entries.len(), 2);
            assert_eq!(entries[0].resume, run.inside);
            assert!(entries[1].resume.is_none());
            drop(run);
            let kept = all(&out);
            assert_eq!(kept.len(), 1 + want.map_or(0, |w| w as usize / 10));
        }
        // Once finished (its output in place), the source is done: no checkpoint is used.
        std::fs::write(path(&out), &journal).unwrap();
        std::fs::write(&partial, vec![b'x'; 25]).unwrap();
        let mut j = Journal::open(&out, journal.len() as u64, SideEnds::default()).unwrap();
        std::fs::write(out.join("b.jsonl"), "y\n").unwrap();
        j.record(&out.join("b.jsonl"), true, &counts(30)).unwrap();
        j.checkpoint(&out.join("c.jsonl"), at(5), &counts(5))
            .unwrap();
        j.flush().unwrap();
        drop(j);
        let mut resumed = planned(Existing::Resume);
        let run = begin(&mut resumed, &out, None, None).unwrap();
        assert_eq!((run.done.resumed, run.done.lines), (2, 31));
        // c.jsonl's checkpoint has no partial output to go on with.
        assert!(run.inside.is_none());
    }

    #[test]
    fn records_read_back_up_to_a_torn_line_and_a_reopened_journal_keeps_its_start() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(all(tmp.path()).is_empty());
        let mut j = Journal::open(tmp.path(), 0, SideEnds::default()).unwrap();
        j.removed(10);
        j.record(Path::new("out/a.txt"), true, &counts(3)).unwrap();
        j.file_stats(7);
        j.record(Path::new("out/b.bin"), false, &Summary::default())
            .unwrap();
        j.flush().unwrap();
        drop(j);
        let got = all(tmp.path());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.dest, "out/a.txt");
        assert_eq!(got[0].0.counts, counts(3));
        assert_eq!(
            got[1].0.side_ends(),
            SideEnds {
                removed: 10,
                file_stats: 7
            }
        );
        assert!(!got[1].0.output);
        // A killed run's half line is not a record.
        let full = std::fs::read(path(tmp.path())).unwrap();
        let mut torn = full.clone();
        torn.extend_from_slice(b"{\"dest\":\"out/c");
        std::fs::write(path(tmp.path()), &torn).unwrap();
        assert_eq!(all(tmp.path()), got);
        // Nor is a whole line that is not one (and nothing after it counts).
        let mut bad = full[..got[0].1 as usize].to_vec();
        bad.extend_from_slice(b"{}\n");
        bad.extend_from_slice(&full[got[0].1 as usize..]);
        std::fs::write(path(tmp.path()), &bad).unwrap();
        assert_eq!(all(tmp.path()), got[..1]);
        // Reopened after the first record: the second is gone, new ones follow.
        std::fs::write(path(tmp.path()), &full).unwrap();
        let mut j = Journal::open(tmp.path(), got[0].1, got[0].0.side_ends()).unwrap();
        j.removed(5);
        j.record(Path::new("out/d.txt"), true, &counts(1)).unwrap();
        j.flush().unwrap();
        let again = all(tmp.path());
        assert_eq!(again.len(), 2);
        assert_eq!(again[0], got[0]);
        assert_eq!(
            (again[1].0.dest.as_str(), again[1].0.removed),
            ("out/d.txt", 15)
        );
    }
}
