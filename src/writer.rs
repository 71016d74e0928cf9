//! Writers: tag records (TSV or JSON lines) and filtered text.

use crate::json::write_str;
use crate::reader::{split_str_ending, Line};
#[cfg(test)]
use serde::Serialize;
#[cfg(test)]
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The decision for one non-blank line.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Posterior per class, in the model's class order.
    pub posteriors: crate::context::ClassValues,
    /// Index of the most probable class.
    pub label: usize,
    /// Whether `filter` keeps the line.
    pub keep: bool,
}

/// Output format of `chaff tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFormat {
    /// Tab-separated, with a header row.
    Tsv,
    /// One JSON object per line.
    Json,
}

/// A record's id as tag records carry it: its JSON as the record wrote it (a number stays
/// a number, so side records join back to the records they came from) and as text.
#[derive(Debug, Clone, Copy)]
pub struct RecordId<'a> {
    /// The id as text: a string id's characters, any other value's JSON (`path#id`).
    pub shown: &'a str,
    /// The id as JSON (the `id` field of a JSON record).
    pub json: &'a str,
}

impl<'a> RecordId<'a> {
    /// The id of a record that has one in both forms.
    pub fn both(shown: Option<&'a str>, json: Option<&'a str>) -> Option<RecordId<'a>> {
        shown
            .zip(json)
            .map(|(shown, json)| RecordId { shown, json })
    }
}

/// Which record of its file a document is (a JSONL line, a Parquet row, a WARC record),
/// for the tag and `--removed` records of its lines: several records' lines share a path,
/// and this joins each back to its record, with or without an id.
#[derive(Debug, Clone, Copy)]
pub struct RecordName<'a> {
    /// The record's line in its file (JSONL; a WARC record's first line) or its row
    /// (Parquet), from 1: the `record` field of a JSON record, `path:N` in TSV.
    pub number: usize,
    /// Its id, if it has one (`path#id` in TSV, which it is named by then).
    pub id: Option<RecordId<'a>>,
}

/// A tag record's JSON form: written by [`write_tag_record`] field by field, the same
/// bytes serde_json writes for this struct (a test holds them equal).
#[cfg(test)]
#[derive(Serialize)]
struct TagRecord<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::value::RawValue>,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    element: Option<usize>,
    label: &'a str,
    keep: bool,
    scores: BTreeMap<&'a str, f64>,
    text: &'a str,
}

/// Writes the TSV header for `classes`.
pub fn write_tag_header(out: &mut dyn Write, classes: &[String]) -> io::Result<()> {
    write!(out, "path\tline\tlabel\tkeep")?;
    for c in classes {
        write!(out, "\tp_{c}")?;
    }
    writeln!(out, "\ttext")
}

/// Writes one tag record. `record` names the record of the file the line's document is
/// (JSON: a `record` field with its number, and an `id` field, as the record wrote it, if
/// it has one; TSV: the path as `path#id`, or `path:N` for a record without an id);
/// `element`, for a document whose text is an array's (or list's) strings, the 0-based
/// index of the line's string (JSON only: an `element` field after `line`).
#[allow(clippy::too_many_arguments)]
pub fn write_tag_record(
    out: &mut Vec<u8>,
    format: TagFormat,
    path: &str,
    record: Option<RecordName<'_>>,
    line: &Line<'_>,
    element: Option<usize>,
    classes: &[String],
    d: &Decision,
) -> io::Result<()> {
    match format {
        TagFormat::Json => {
            // Straight into the buffer, as serde_json would write `TagRecord` (the
            // scores in class-name order, a `BTreeMap`'s), without its many small writes.
            out.extend_from_slice(b"{\"path\":");
            write_str(out, path);
            if let Some(r) = record {
                write!(out, ",\"record\":{}", r.number)?;
            }
            if let Some(id) = record.and_then(|r| r.id) {
                out.extend_from_slice(b",\"id\":");
                out.extend_from_slice(id.json.as_bytes());
            }
            write!(out, ",\"line\":{}", line.number)?;
            if let Some(e) = element {
                write!(out, ",\"element\":{e}")?;
            }
            out.extend_from_slice(b",\"label\":");
            write_str(out, &classes[d.label]);
            out.extend_from_slice(if d.keep {
                b",\"keep\":true,\"scores\":{"
            } else {
                b",\"keep\":false,\"scores\":{"
            });
            let mut scores: Vec<(&str, f64)> = classes
                .iter()
                .map(String::as_str)
                .zip(d.posteriors.iter().copied())
                .collect();
            scores.sort_by(|a, b| a.0.cmp(b.0));
            let mut first = true;
            for (i, &(class, p)) in scores.iter().enumerate() {
                // A map holds one value per name: the last given.
                if scores.get(i + 1).is_some_and(|next| next.0 == class) {
                    continue;
                }
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_str(out, class);
                out.push(b':');
                serde_json::to_writer(&mut *out, &p)?;
            }
            out.extend_from_slice(b"},\"text\":");
            write_str(out, line.text);
            out.extend_from_slice(b"}\n");
            Ok(())
        }
        TagFormat::Tsv => {
            write_tsv_field(out, path);
            match record {
                Some(RecordName { id: Some(id), .. }) => {
                    out.push(b'#');
                    write_tsv_field(out, id.shown);
                }
                Some(RecordName { number, id: None }) => write!(out, ":{number}")?,
                None => {}
            }
            write!(out, "\t{}\t", line.number)?;
            out.extend_from_slice(classes[d.label].as_bytes());
            out.extend_from_slice(if d.keep { b"\tkeep" } else { b"\tdrop" });
            for p in &d.posteriors {
                write!(out, "\t{p:.6}")?;
            }
            out.push(b'\t');
            write_tsv_field(out, line.text);
            out.push(b'\n');
            Ok(())
        }
    }
}

/// Escapes backslash, tab, CR and LF so a TSV field stays one field.
pub fn escape_tsv(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    write_tsv_field(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

/// [`escape_tsv`] into a buffer: runs without one of the four bytes are copied whole
/// (all four are ASCII, so a run never splits a character).
fn write_tsv_field(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    // Nearly every field has none of them: found out a vector at a time.
    if memchr::memchr3(b'\\', b'\t', b'\r', b).is_none() && memchr::memchr(b'\n', b).is_none() {
        out.extend_from_slice(b);
        return;
    }
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let escaped: &[u8] = match c {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// A chunk of a document, filtered, with what is needed to join it to its neighbours:
/// a blank run between two kept paragraphs is written, any other blank run is not, and
/// such a run may span chunks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filtered {
    /// From the first kept paragraph to the last, byte for byte, with the blank runs
    /// between kept paragraphs.
    pub body: Vec<u8>,
    /// The blank run right before the first kept paragraph (written only if something
    /// was kept earlier in the document).
    pub gap: Vec<u8>,
    /// Whether the first kept paragraph is the chunk's first paragraph (so the blank run
    /// ending the previous chunk joins `gap`).
    pub lead_kept: bool,
    /// Whether the chunk holds any paragraph (non-blank line).
    pub has_para: bool,
    /// The blank run after the last paragraph (the whole chunk if it has none).
    pub tail: Vec<u8>,
}

/// Filters one chunk of lines; `keep(i)` says whether non-blank line `i` is kept.
pub fn filter_chunk(lines: &[Line<'_>], keep: impl Fn(usize) -> bool) -> Filtered {
    let mut f = Filtered::default();
    // Room for the whole chunk up front: grown a doubling at a time, the body was copied
    // over and over (about 1 % of a worker's instructions).
    f.body.reserve(lines.iter().map(|l| l.raw.len()).sum());
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut any = false;
    for (i, l) in lines.iter().enumerate() {
        if l.is_blank() {
            pending.push(l.raw);
            continue;
        }
        if keep(i) {
            if any {
                pending.iter().for_each(|b| f.body.extend_from_slice(b));
            } else {
                pending.iter().for_each(|b| f.gap.extend_from_slice(b));
                f.lead_kept = !f.has_para;
            }
            f.body.extend_from_slice(l.raw);
            any = true;
        }
        pending.clear();
        f.has_para = true;
    }
    pending.iter().for_each(|b| f.tail.extend_from_slice(b));
    f
}

/// Joins filtered chunks of one document, in order.
#[derive(Debug, Default)]
pub struct Joiner {
    any: bool,
    pending: Vec<u8>,
}

/// Where a [`Joiner`] is between two chunks, as a checkpoint records it (text inputs):
/// whether it wrote a paragraph, and the blank lines after the last one, which it
/// writes before the next kept paragraph.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Joined {
    /// A paragraph was written.
    pub any: bool,
    /// The blank lines held back.
    pub pending: String,
}

impl Joiner {
    /// Its state between two chunks; `None` if the lines it holds back are not UTF-8.
    pub fn state(&self) -> Option<Joined> {
        Some(Joined {
            any: self.any,
            pending: String::from_utf8(self.pending.clone()).ok()?,
        })
    }

    /// A joiner in the state `j` ([`Joiner::state`]).
    pub fn resumed(j: &Joined) -> Joiner {
        Joiner {
            any: j.any,
            pending: j.pending.as_bytes().to_vec(),
        }
    }

    /// Writes the next chunk's part of the output; returns bytes written.
    pub fn push(&mut self, out: &mut dyn Write, f: &Filtered) -> io::Result<u64> {
        if !f.has_para {
            // Blank lines before anything was written are never written: not held (a
            // file of millions of blank lines held them all).
            if self.any {
                self.pending.extend_from_slice(&f.tail);
            }
            return Ok(0);
        }
        let mut n = 0;
        if !f.body.is_empty() {
            if self.any {
                if f.lead_kept {
                    out.write_all(&self.pending)?;
                    n += self.pending.len();
                }
                out.write_all(&f.gap)?;
                n += f.gap.len();
            }
            out.write_all(&f.body)?;
            n += f.body.len();
            self.any = true;
        }
        self.pending.clear();
        if self.any {
            self.pending.extend_from_slice(&f.tail);
        }
        Ok(n as u64)
    }
}

/// Writes the kept lines of a whole document byte for byte. Blank lines are written only
/// between two kept paragraphs (the blank run right before the later one), so the
/// output keeps its paragraph layout and adds nothing. Returns bytes written.
pub fn write_filtered(
    out: &mut dyn Write,
    lines: &[Line<'_>],
    keep: impl Fn(usize) -> bool,
) -> io::Result<u64> {
    Joiner::default().push(out, &filter_chunk(lines, keep))
}

/// [`write_filtered`] for a document held in `text` and split by
/// [`crate::reader::split_str_at`] into `lines` (which cover it exactly): the kept text
/// as a `String`, sliced from `text`, so it is not validated as UTF-8 a second time.
pub fn filtered_str(text: &str, lines: &[Line<'_>], keep: impl Fn(usize) -> bool) -> String {
    filtered_runs(text, lines, keep).concat()
}

/// [`filtered_str`] as the runs of `text` it is made of (consecutive lines kept or
/// written between kept ones form one run), without copying them.
pub fn filtered_runs<'t>(
    text: &'t str,
    lines: &[Line<'_>],
    keep: impl Fn(usize) -> bool,
) -> Vec<&'t str> {
    let lens = lines.iter().map(|l| l.raw.len());
    runs_of(text, lens, &emitted(lines, keep))
}

/// [`filtered_runs`] for a whole document from each of its lines' mark, as
/// [`crate::pipeline::decide_document`] gives them (`None` blank, `Some(kept)`), its
/// lines split again as they are read, one at a time.
pub fn marked_runs<'t>(text: &'t str, marks: &[Option<bool>]) -> Vec<&'t str> {
    let eol = crate::reader::document_line_end(text.as_bytes());
    let lens = crate::reader::line_ranges(text.as_bytes(), eol).map(|line| line.len());
    debug_assert_eq!(
        lens.clone().count(),
        marks.len(),
        "marks are not of these lines"
    );
    runs_of(text, lens, &emitted_marks(marks))
}

/// The runs of `text` that are emitted lines (lines of lengths `lens`, in order).
fn runs_of<'t>(text: &'t str, lens: impl Iterator<Item = usize>, emitted: &[bool]) -> Vec<&'t str> {
    let mut runs = Vec::new();
    let mut at = 0;
    let mut open = None; // where the current run began
    for (len, &e) in lens.zip(emitted) {
        match (e, open) {
            (true, None) => open = Some(at),
            (false, Some(from)) => {
                runs.push(&text[from..at]);
                open = None;
            }
            _ => {}
        }
        at += len;
    }
    debug_assert_eq!(at, text.len(), "lines do not cover the text");
    if let Some(from) = open {
        runs.push(&text[from..at]);
    }
    runs
}

/// For a document whose text is a record's paragraphs at `spans` (the strings of an
/// array field, joined by blank lines: [`crate::jsonl::Record::paragraphs`]): each string
/// filtered as a string field is ([`filtered_str`]), by the decisions made on the whole
/// document (`keep(i)` for its line `i`, split at its
/// [`crate::reader::document_line_end`]), in order, with its index in `spans`; a string
/// left empty is left out.
pub fn filtered_paragraphs(
    text: &str,
    spans: &[std::ops::Range<usize>],
    keep: impl Fn(usize) -> bool,
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // Each string is split as the whole was: a `\r` ends lines only in a text with no `\n`.
    let eol = crate::reader::document_line_end(text.as_bytes());
    let (mut first, mut at) = (0, 0); // a string's first line in the whole, and its start
    for (i, span) in spans.iter().enumerate() {
        // A string starts a line of the whole: the line ends before it count its lines.
        if span.start > at {
            first += memchr::memchr_iter(eol, &text.as_bytes()[at..span.start]).count();
            at = span.start;
        }
        let own = &text[span.clone()];
        let own_lines = split_str_ending(own, 1, eol);
        let kept = filtered_str(own, &own_lines, |j| keep(first + j));
        if !kept.is_empty() {
            out.push((i, kept));
        }
    }
    out
}

/// Which lines of a whole document `filter` writes: kept paragraphs and the blank runs
/// between two of them (the same rule as [`write_filtered`]).
pub fn emitted(lines: &[Line<'_>], keep: impl Fn(usize) -> bool) -> Vec<bool> {
    emitted_marks(&marks(lines, keep))
}

/// Each line's mark, as [`crate::pipeline::decide_document`] gives them: `None` for a
/// blank line, else `keep(i)`.
pub fn marks(lines: &[Line<'_>], keep: impl Fn(usize) -> bool) -> Vec<Option<bool>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (!l.is_blank()).then(|| keep(i)))
        .collect()
}

/// [`emitted`] from each line's mark (`None` blank, `Some(kept)`).
pub fn emitted_marks(marks: &[Option<bool>]) -> Vec<bool> {
    let mut out = vec![false; marks.len()];
    let mut blank_from = None; // where the blank run after the last paragraph began
    let mut any = false;
    for (i, &mark) in marks.iter().enumerate() {
        let Some(keep) = mark else {
            blank_from.get_or_insert(i);
            continue;
        };
        if keep {
            if let Some(from) = blank_from.filter(|_| any) {
                out[from..i].fill(true);
            }
            out[i] = true;
            any = true;
        }
        blank_from = None;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_filtered_each_as_a_string_by_the_whole_documents_decisions() {
        let strings = ["甲", "乙\n丙", "", "丁\n\n戊", "己"];
        let text = strings.join("\n\n");
        let mut spans = Vec::new();
        let mut at = 0;
        for s in strings {
            spans.push(at..at + s.len());
            at += s.len() + 2;
        }
        let lines = crate::reader::split_str_at(&text, 1);
        let texts: Vec<&str> = lines.iter().map(|l| l.text).collect();
        assert_eq!(
            texts,
            ["甲", "", "乙", "丙", "", "", "", "丁", "", "戊", "", "己"]
        );
        let kept = |keep: &[usize]| {
            let keep = keep.to_vec();
            filtered_paragraphs(&text, &spans, move |i| keep.contains(&i))
                .into_iter()
                .map(|(i, s)| format!("{i}:{s}"))
                .collect::<Vec<_>>()
        };
        // 乙 dropped, 丙 kept; 丁 and 戊 both kept, with the blank line between them; the
        // empty string and 己 (dropped) are left out.
        assert_eq!(kept(&[0, 3, 7, 9]), ["0:甲", "1:丙", "3:丁\n\n戊"]);
        // The blank lines between strings are never part of one; a kept line keeps its
        // line end, as in a string field.
        assert_eq!(kept(&[3, 7]), ["1:丙", "3:丁\n"]);
        assert!(kept(&[]).is_empty());

        // A string with a "\r" among strings joined by "\n": one line, as in the whole.
        let text = "甲\r乙\n\n丙";
        let lines = crate::reader::split_str_at(text, 1);
        assert_eq!(lines.len(), 3);
        let spans = [0..7, 9..12];
        let got = filtered_paragraphs(text, &spans, |i| i != 2);
        assert_eq!(got, [(0, "甲\r乙".to_string())]);
        // One string alone, its lines ended by "\r": split at them, in it and in the whole.
        let text = "甲\r乙\r";
        let lines = crate::reader::split_str_at(text, 1);
        assert_eq!(lines.len(), 2);
        let whole = [std::ops::Range { start: 0, end: 8 }];
        let got = filtered_paragraphs(text, &whole, |i| i == 1);
        assert_eq!(got, [(0, "乙\r".to_string())]);
    }
    use crate::reader::split_lines;

    proptest::proptest! {
        #[test]
        fn tsv_fields_escape_the_four_characters(s in "(\\PC|[\\\\\t\n\r]|新闻)*") {
            let reference: String = s
                .chars()
                .map(|c| match c {
                    '\\' => "\\\\".to_string(),
                    '\t' => "\\t".to_string(),
                    '\n' => "\\n".to_string(),
                    '\r' => "\\r".to_string(),
                    c => c.to_string(),
                })
                .collect();
            proptest::prop_assert_eq!(escape_tsv(&s), reference);
        }

        #[test]
        fn tag_json_is_what_serde_json_writes(
            path in "(\\PC|[\\x00-\\x1f\"\\\\])*",
            id in proptest::option::of("(\\PC|[\"\\\\\n])*"),
            record in proptest::option::of(1usize..10_000_000),
            number in 1usize..10_000_000,
            element in proptest::option::of(0usize..100_000),
            text in "(\\PC|[\\x00-\\x1f\"\\\\]|新闻)*",
            names in proptest::collection::vec("[a-z\"é]{0,6}", 1..4),
            p in proptest::collection::vec(
                proptest::prop_oneof![0.0f64..=1.0, proptest::num::f64::ANY], 4),
            keep in proptest::bool::ANY,
        ) {
            let classes: Vec<String> = names;
            let d = Decision {
                posteriors: p[..classes.len()].iter().copied().collect(),
                label: classes.len() - 1,
                keep,
            };
            let line = Line { number, raw: text.as_bytes(), text: &text };
            let mut out = Vec::new();
            // A string id, as JSONL records mostly hold them; written as the record has it.
            // Only a record has one (a text file's document is no record).
            let id = id.filter(|_| record.is_some());
            let json = id.as_ref().map(|id| serde_json::to_string(id).unwrap());
            let raw = json.as_deref().map(|j| serde_json::from_str::<&serde_json::value::RawValue>(j).unwrap());
            let given = record.map(|number| RecordName {
                number,
                id: RecordId::both(id.as_deref(), json.as_deref()),
            });
            write_tag_record(&mut out, TagFormat::Json, &path, given, &line, element, &classes, &d)
                .unwrap();
            let rec = TagRecord {
                path: &path,
                record,
                id: raw,
                line: number,
                element,
                label: &classes[d.label],
                keep,
                scores: classes.iter().map(String::as_str).zip(d.posteriors.iter().copied()).collect(),
                text: &text,
            };
            let mut expected = serde_json::to_vec(&rec).unwrap();
            expected.push(b'\n');
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(expected).unwrap());
        }
    }

    proptest::proptest! {
        /// The three ways of writing a document's kept lines agree: from its lines
        /// (`write_filtered`, `filtered_str`) and from its lines' marks alone.
        #[test]
        fn marked_runs_are_what_write_filtered_writes(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["甲", "乙", " ", "\u{3000}", "\n", "\r\n", "\r", "\u{feff}"]),
                0..40,
            ),
            keep in proptest::collection::vec(proptest::bool::ANY, 40),
        ) {
            let text = pieces.concat();
            let lines = crate::reader::split_str_at(&text, 1);
            let keep = |i: usize| keep[i % keep.len()];
            let mut whole = Vec::new();
            write_filtered(&mut whole, &lines, keep).unwrap();
            let marks = marks(&lines, keep);
            let whole = String::from_utf8(whole).unwrap();
            proptest::prop_assert_eq!(filtered_str(&text, &lines, keep), whole.clone());
            proptest::prop_assert_eq!(marked_runs(&text, &marks).concat(), whole);
        }
    }

    #[test]
    fn filtered_keeps_bytes_and_inner_blanks() {
        let text = b"\nkeep1\r\n\n drop\n\nkeep2\n\n\ndrop2\n";
        let lines = split_lines(text).unwrap();
        let mut out = Vec::new();
        let n = write_filtered(&mut out, &lines, |i| lines[i].text.starts_with("keep")).unwrap();
        assert_eq!(out, b"keep1\r\n\nkeep2\n");
        assert_eq!(n as usize, out.len());
    }

    #[test]
    fn emitted_lines_are_what_filter_writes() {
        let text: &[u8] = b"\nk1\n\nd1\n\n\nk2\n\nk3\n\n\nd2\n\n";
        let lines = split_lines(text).unwrap();
        let keep = |i: usize| lines[i].text.starts_with('k');
        let mut whole = Vec::new();
        write_filtered(&mut whole, &lines, keep).unwrap();
        let mask = emitted(&lines, keep);
        let joined: Vec<u8> = lines
            .iter()
            .zip(&mask)
            .filter(|(_, m)| **m)
            .flat_map(|(l, _)| l.raw.to_vec())
            .collect();
        assert_eq!(joined, whole);
        let text = std::str::from_utf8(text).unwrap();
        let lines = crate::reader::split_str_at(text, 1);
        let keep = |i: usize| lines[i].text.starts_with('k');
        assert_eq!(filtered_str(text, &lines, keep).as_bytes(), whole);
        let bom = "\u{feff}k1\r\n\nd\n";
        let lines = crate::reader::split_str_at(bom, 1);
        assert_eq!(filtered_str(bom, &lines, |i| i == 0), "\u{feff}k1\r\n");
    }

    #[test]
    fn chunks_join_like_the_whole_document() {
        let text: &[u8] = b"\nk1\n\nd1\n\n\nk2\n\nk3\n\n\nd2\n\n";
        let lines = split_lines(text).unwrap();
        let keep = |l: &Line<'_>| l.text.starts_with('k');
        let mut whole = Vec::new();
        write_filtered(&mut whole, &lines, |i| keep(&lines[i])).unwrap();
        assert_eq!(whole, b"k1\n\n\nk2\n\nk3\n");
        // Every way of cutting the document into two or three chunks gives the same bytes.
        for a in 0..=lines.len() {
            for b in a..=lines.len() {
                let mut j = Joiner::default();
                let mut out = Vec::new();
                for (k, part) in [&lines[..a], &lines[a..b], &lines[b..]].iter().enumerate() {
                    let f = filter_chunk(part, |i| keep(&part[i]));
                    j.push(&mut out, &f).unwrap();
                    if k == 0 {
                        // Stopped after the first chunk and gone on with from its state
                        // (a checkpoint of a text output): the same bytes.
                        j = Joiner::resumed(&j.state().unwrap());
                    }
                }
                assert_eq!(out, whole, "cut at {a},{b}");
            }
        }
        // Blank lines before anything kept are never written, so not held: a file of
        // millions of them once held them all.
        let blanks = split_lines(b"\n \n\n").unwrap();
        let (mut j, mut out) = (Joiner::default(), Vec::new());
        for _ in 0..3 {
            j.push(&mut out, &filter_chunk(&blanks, |_| true)).unwrap();
        }
        let dropped = split_lines(b"d\n\n").unwrap();
        j.push(&mut out, &filter_chunk(&dropped, |_| false))
            .unwrap();
        assert_eq!((out.len(), j.state().unwrap().pending.len()), (0, 0));
        // Once a paragraph is written, the blank lines after it are held for the next.
        j.push(
            &mut out,
            &filter_chunk(&split_lines(b"k\n").unwrap(), |_| true),
        )
        .unwrap();
        j.push(&mut out, &filter_chunk(&blanks, |_| true)).unwrap();
        assert_eq!(j.state().unwrap().pending, "\n \n\n");
    }
}
