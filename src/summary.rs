//! Run accounting: what a run read, kept and dropped, reported as chaff's one-line
//! summary, `--stats` JSON, `--file-stats` lines and Hadoop Streaming counters.

use crate::error::{Error, Result};
use crate::reader::Line;
use crate::writer::Decision;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Counts for one run; `kept + dropped + blank == lines` always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Input files (or stdin) read to the end.
    pub files: u64,
    /// Files skipped as not text.
    pub skipped: u64,
    /// Files left alone because `--resume` found their output complete.
    pub resumed: u64,
    /// Documents processed (a text file, or a JSONL record).
    pub documents: u64,
    /// JSONL documents left with no kept line and therefore not written.
    pub empty_dropped: u64,
    /// Documents `--doc-threshold` dropped whole that would have kept a line without it;
    /// written only when some were (records of runs before the flag still read).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub doc_threshold_dropped: u64,
    /// JSONL lines that were not usable records, skipped or kept unclassified
    /// (`--bad-records`); they hold no document and no lines.
    pub bad_records: u64,
    /// All lines read.
    pub lines: u64,
    /// Blank lines (no label).
    pub blank: u64,
    /// Paragraphs kept.
    pub kept: u64,
    /// Paragraphs dropped.
    pub dropped: u64,
    /// Bytes of decoded (uncompressed) input.
    pub bytes_in: u64,
    /// Bytes of (uncompressed) output.
    pub bytes_out: u64,
}

impl Summary {
    pub(crate) fn add_lines(&mut self, lines: &[Line<'_>], decisions: &[Option<Decision>]) {
        self.lines += lines.len() as u64;
        for d in decisions {
            match d {
                None => self.blank += 1,
                Some(d) if d.keep => self.kept += 1,
                Some(_) => self.dropped += 1,
            }
        }
    }

    /// Adds another summary's counts.
    pub fn absorb(&mut self, o: &Summary) {
        self.files += o.files;
        self.skipped += o.skipped;
        self.resumed += o.resumed;
        self.documents += o.documents;
        self.empty_dropped += o.empty_dropped;
        self.doc_threshold_dropped += o.doc_threshold_dropped;
        self.bad_records += o.bad_records;
        self.lines += o.lines;
        self.blank += o.blank;
        self.kept += o.kept;
        self.dropped += o.dropped;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }

    /// The one-line human summary printed at the end of a run.
    pub fn line(&self, seconds: f64) -> String {
        self.line_at(self.bytes_in, seconds)
    }

    /// [`Summary::line`] with the speed of `read` bytes in `seconds`: what this run read
    /// when the counts include sources an earlier run did (`--resume`).
    pub fn line_at(&self, read: u64, seconds: f64) -> String {
        use crate::say::counted;
        let mut s = format!(
            "{}, {}, {}: {} kept, {} dropped, {} blank; {:.1} MB in, {:.1} MB out, {:.1} MB/s",
            counted(self.files, "file"),
            counted(self.documents, "document"),
            counted(self.lines, "line"),
            self.kept,
            self.dropped,
            self.blank,
            self.bytes_in as f64 / 1e6,
            self.bytes_out as f64 / 1e6,
            read as f64 / 1e6 / seconds.max(1e-9)
        );
        if self.empty_dropped > 0 {
            s += &format!(
                "; {} not written",
                counted(self.empty_dropped, "empty document")
            );
        }
        if self.doc_threshold_dropped > 0 {
            s += &format!(
                "; {} dropped whole (--doc-threshold)",
                counted(self.doc_threshold_dropped, "document")
            );
        }
        if self.bad_records > 0 {
            s += &format!(
                "; {} not classified",
                counted(self.bad_records, "bad record")
            );
        }
        if self.skipped > 0 {
            s += &format!(
                "; {} skipped (see the warnings)",
                counted(self.skipped, "file")
            );
        }
        if self.resumed > 0 {
            s += &format!(
                "; {} already done (--resume)",
                counted(self.resumed, "file")
            );
        }
        s
    }

    /// Writes the summary as pretty JSON to `path` (`--stats`), atomically, with the
    /// run's time after the counts, as the summary line gives it: `seconds` (from after
    /// the model and dictionary were loaded) and `mb_per_s` (`read`, the bytes of input
    /// this run read, a second: files an `--resume` found done are not read). The counts
    /// are the same from run to run; the time is not.
    pub fn save_json(&self, path: &Path, read: u64, seconds: f64) -> Result<()> {
        /// The counts, then the run's time, as the summary line gives them.
        #[derive(Serialize)]
        struct Stats<'a> {
            #[serde(flatten)]
            summary: &'a Summary,
            seconds: f64,
            mb_per_s: f64,
        }
        let stats = Stats {
            summary: self,
            seconds: (seconds * 1000.0).round() / 1000.0,
            mb_per_s: (read as f64 / 1e6 / seconds.max(1e-9) * 10.0).round() / 10.0,
        };
        let json = serde_json::to_vec_pretty(&stats).map_err(|e| Error::Usage(e.to_string()))?;
        crate::output::write_atomic(path, &json)
    }

    /// Hadoop Streaming counter lines (`reporter:counter:chaff,NAME,N`).
    pub fn hadoop_counters(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        let mut s = String::new();
        if let Some(map) = v.as_object() {
            for (k, n) in map {
                s += &format!("reporter:counter:chaff,{k},{n}\n");
            }
        }
        s
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One `--file-stats` JSON line: the file's path and its counts.
pub(crate) fn write_file_stats(
    out: &mut dyn Write,
    path: &str,
    s: &Summary,
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct FileStats<'a> {
        path: &'a str,
        #[serde(flatten)]
        summary: &'a Summary,
    }
    serde_json::to_writer(&mut *out, &FileStats { path, summary: s })?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_render() {
        let lines = crate::reader::split_lines("新闻\n\n广告\n".as_bytes()).unwrap();
        let d = |keep| {
            Some(Decision {
                posteriors: smallvec::smallvec![0.5, 0.5],
                label: 0,
                keep,
            })
        };
        let mut s = Summary::default();
        s.add_lines(&lines, &[d(true), None, d(false)]);
        assert_eq!((s.lines, s.kept, s.blank, s.dropped), (3, 1, 1, 1));
        let mut total = Summary {
            files: 1,
            bytes_in: 2_000_000,
            ..Summary::default()
        };
        total.absorb(&s);
        assert_eq!(total.kept + total.dropped + total.blank, total.lines);
        assert_eq!(
            total.line(2.0),
            "1 file, 0 documents, 3 lines: 1 kept, 1 dropped, 1 blank; 2.0 MB in, 0.0 MB out, 1.0 MB/s"
        );
        let counters = total.hadoop_counters();
        assert!(
            counters.contains("reporter:counter:chaff,kept,1\n"),
            "{counters}"
        );
        assert_eq!(counters.lines().count(), 12);
        let mut out = Vec::new();
        write_file_stats(&mut out, "a.txt", &total).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            (v["path"].as_str(), v["lines"].as_u64()),
            (Some("a.txt"), Some(3))
        );
        assert!(out.ends_with(b"}\n"));
        // Documents --doc-threshold dropped: said when there are any, and counts written
        // before the field (a stopped run's journal) still read.
        assert!(v.get("doc_threshold_dropped").is_none());
        total.absorb(&Summary {
            doc_threshold_dropped: 2,
            ..Summary::default()
        });
        assert!(total
            .line(2.0)
            .ends_with("; 2 documents dropped whole (--doc-threshold)"));
        assert_eq!(total.hadoop_counters().lines().count(), 13);
        let old = r#"{"files":1,"skipped":0,"resumed":0,"documents":1,"empty_dropped":0,
            "bad_records":0,"lines":3,"blank":1,"kept":1,"dropped":1,"bytes_in":9,"bytes_out":3}"#;
        let read: Summary = serde_json::from_str(old).unwrap();
        assert_eq!((read.doc_threshold_dropped, read.lines), (0, 3));
    }
}
