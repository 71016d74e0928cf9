//! What the workers make of a chunk or a batch of rows once its lines are decided: the
//! output of each task (`filter`'s kept lines, records or rows; `tag` records; Dolma
//! attributes; the HTML audit page), its accounting and side outputs.

use super::{decide, decide_document, paragraphs, Crew, Engine, InputFormat};
use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::jsonl::{BadRecords, Record};
use crate::parquet::{Kept, Rows};
use crate::reader::{lines_each, split_lines, split_lines_at, split_records_at, Chunk, Line};
use crate::sources::{Entry, Source};
use crate::summary::Summary;
use crate::writer::{
    emitted_marks, filter_chunk, filtered_paragraphs, marked_runs, write_tag_record, Decision,
    Filtered, RecordId, RecordName, TagFormat,
};

/// The work of one chunk, ready to be written.
#[derive(Default)]
pub(super) struct Piece {
    pub(super) out: Vec<u8>,
    pub(super) filtered: Option<Filtered>,
    pub(super) removed: Vec<u8>,
    pub(super) summary: Summary,
    /// Set when a worker already wrote this (whole) source's output file: bytes written.
    pub(super) written: Option<u64>,
    /// JSONL lines that were not usable records (skipped or kept as they were): line
    /// number and what is wrong, warned about in input order.
    pub(super) bad: Vec<(usize, String)>,
    /// When `out` holds gzip members compressed by the worker (WARC): the bytes before
    /// compression, as `bytes_out` counts them.
    pub(super) plain_len: Option<u64>,
    /// Parquet rows to write (`filter`), instead of `out`.
    pub(super) table: Option<crate::parquet::Table>,
    /// Where a JSONL chunk ends in its source: what a checkpoint after it records.
    pub(super) point: Option<Point>,
    /// `out` holds records of a JSON array, written back as one
    /// ([`super::sink::Joining::array`]).
    pub(super) json_array: bool,
}

/// Where a chunk ends in its source, as a checkpoint records it
/// ([`crate::journal::Checkpoint`]).
#[derive(Debug, Clone)]
pub(super) struct Point {
    /// Bytes of the source's text up to the chunk's end.
    pub(super) input: u64,
    /// Number of the line after the chunk.
    pub(super) line: usize,
    /// The chunk's CRC-32 (and length), to be combined with those before it.
    pub(super) crc: crc32fast::Hasher,
}

/// What the workers render.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Task<'a> {
    /// `removed`: whether dropped lines are recorded (`--removed`); building the
    /// records costs time, so they are built only when wanted.
    Filter {
        removed: bool,
    },
    Tag(TagFormat),
    Dolma(&'a str),
    Html,
}

impl Engine<'_> {
    /// [`Engine::render`] for a batch of Parquet rows: a row is a document (numbered from
    /// 1 in the file where errors and warnings would give a line).
    pub(super) fn render_rows(
        &self,
        path: &str,
        task: Task<'_>,
        rows: &Rows,
        crew: &Crew,
    ) -> Result<Piece> {
        let mut piece = Piece::default();
        piece.summary.bytes_in = rows.text_bytes as u64;
        let filter = matches!(task, Task::Filter { .. });
        // Per row, what `filter` writes: `None` drops the row, `Err(())` keeps it as it was.
        let mut texts: Vec<Option<Result<Kept, ()>>> = Vec::new();
        for i in 0..rows.batch.num_rows() {
            let number = rows.first_row + i + 1;
            let document = match rows.document(i) {
                Ok(document) => document,
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
            let id_json = id.as_deref().map(|shown| rows.id_json(shown));
            let text = &document.text;
            let heading = (task == Task::Html).then(|| match &id {
                Some(id) => format!("{path}#{id}"),
                None => format!("{path}: row {number}"),
            });
            let name = RecordName {
                number,
                id: RecordId::both(id.as_deref(), id_json.as_deref()),
            };
            let spans = document.paragraphs.as_deref();
            let marks = self.decide_whole(
                task,
                path,
                Some(name),
                text,
                spans,
                heading.as_deref(),
                None,
                &mut piece,
                crew,
            )?;
            match task {
                Task::Html | Task::Tag(_) => {}
                Task::Dolma(_) => {
                    return Err(Error::Usage(
                        "--dolma reads JSONL documents, not Parquet".into(),
                    ))
                }
                Task::Filter { .. } => {
                    let left = match &document.paragraphs {
                        // A list of paragraphs comes back as the list of those kept.
                        Some(spans) => {
                            Kept::Paragraphs(filtered_paragraphs(text, spans, marked(&marks)))
                        }
                        None => Kept::Text(marked_runs(text, &marks).concat()),
                    };
                    if left.is_empty() && !self.opts.keep_empty {
                        piece.summary.empty_dropped += 1;
                        texts.push(None);
                    } else {
                        texts.push(Some(Ok(left)));
                    }
                }
            }
        }
        if filter {
            piece.table = Some(rows.filtered(&texts).map_err(|m| invalid(path, m))?);
        }
        Ok(piece)
    }

    /// Whether `filter`'s WARC output for `entry` is gzipped by the workers, a member per
    /// record (see [`RunOptions::gzip_stream`](super::RunOptions::gzip_stream)).
    pub(super) fn gzip_members(&self, task: Task<'_>, entry: &Entry) -> bool {
        self.opts.format == InputFormat::Warc
            && matches!(task, Task::Filter { .. })
            && match &entry.dest {
                Some(dest) => Compression::from_name(dest) == Compression::Gzip,
                None => self.opts.gzip_stream,
            }
    }

    /// `last`: the chunk is its source's last (else the document continues after it).
    /// `members`: gzip each output record on its own ([`Engine::gzip_members`]).
    pub(super) fn render(
        &self,
        source: &Source,
        task: Task<'_>,
        chunk: &Chunk,
        last: bool,
        members: bool,
        crew: &Crew,
    ) -> Result<Piece> {
        let path = source.display();
        let mut piece = Piece::default();
        piece.summary.bytes_in = chunk.bytes.len() as u64;
        piece.json_array = chunk.json_array && matches!(task, Task::Filter { .. });
        // Only JSONL and text outputs are checkpointed ([`Engine::to_files`]).
        let lines = matches!(
            self.opts.format,
            InputFormat::Jsonl { .. } | InputFormat::Text
        );
        // (A JSON array's, or pretty-printed records', are the lines they are read as:
        // a resumed run skips as many of the same lines.)
        if lines && self.opts.checkpoint_bytes > 0 && !last {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&chunk.bytes);
            piece.point = Some(Point {
                input: chunk.end,
                line: chunk.next_line,
                crc,
            });
        }
        match &self.opts.format {
            InputFormat::Text
                if chunk.first_line == 1
                    && last
                    && crate::reader::document_line_end(&chunk.bytes) == b'\r' =>
            {
                // A document whose lines end in `\r` alone is its file's one chunk, however
                // long (a file is cut at `\n`): decided a chunk at a time, as a record is.
                let Ok(text) = simdutf8::basic::from_utf8(&chunk.bytes) else {
                    let (l, m) = split_lines(&chunk.bytes)
                        .err()
                        .unwrap_or((1, "invalid UTF-8".into()));
                    return Err(Error::input(&path, l, m));
                };
                let heading = (task == Task::Html).then(|| path.clone());
                let heading = heading.as_deref();
                let marks = self.decide_whole(
                    task, &path, None, text, None, heading, None, &mut piece, crew,
                )?;
                if matches!(task, Task::Filter { .. }) {
                    // The document whole: nothing to join it to.
                    piece.filtered = Some(Filtered {
                        body: marked_runs(text, &marks).concat().into_bytes(),
                        has_para: marks.iter().any(Option::is_some),
                        ..Filtered::default()
                    });
                }
            }
            InputFormat::Text => {
                // A source's one chunk is its document whole (its line ends told as such).
                let lines = if chunk.first_line == 1 && last {
                    split_lines(&chunk.bytes)
                } else {
                    split_lines_at(&chunk.bytes, chunk.first_line)
                };
                let lines = lines.map_err(|(l, m)| Error::input(&path, l, m))?;
                let decisions = decide(self.classifier, self.policy, &lines, !last);
                piece.summary.documents = u64::from(chunk.first_line == 1);
                piece.summary.add_lines(&lines, &decisions);
                piece.summary.doc_threshold_dropped +=
                    u64::from(self.failed_doc_threshold(&decisions));
                self.render_doc(task, &path, None, &lines, 0, None, &decisions, &mut piece)?;
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
                let each = match split_records_at(&chunk.bytes, chunk.first_line) {
                    Ok(lines) => lines.into_iter().map(Ok).collect(),
                    Err(_) if lenient => lines_each(&chunk.bytes, chunk.first_line),
                    Err((l, m)) => return Err(Error::input(&path, l, m)),
                };
                for line in &each {
                    let (number, body, raw) = match line {
                        Ok(l) => (l.number, l.text.as_bytes(), l.raw),
                        Err(b) => (b.number, b.body, b.raw),
                    };
                    // A record comes out ending as it came in: "\r\n" stays "\r\n".
                    let crlf = raw.ends_with(b"\r\n");
                    let parsed = match line {
                        Ok(l) if l.is_blank() => continue,
                        Ok(l) => Record::parse_as(l.text, text_field, self.opts.decode.lossy)
                            .map(|r| (l, r)),
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
                                end_as_read(&mut piece.out, crlf);
                            }
                            continue;
                        }
                    };
                    let id = rec.id();
                    let given = RecordName {
                        number: line.number,
                        id: RecordId::both(id.as_deref(), rec.raw_id()),
                    };
                    let heading = (task == Task::Html).then(|| match &id {
                        Some(id) => format!("{path}#{id}"),
                        None => format!("{path}:{}", line.number),
                    });
                    // Dolma's attributes, built as the record's chunks are decided.
                    let classes = self.classifier.model().classes();
                    let mut attributes = matches!(task, Task::Dolma(_))
                        .then(|| crate::dolma::Attributes::new(classes.len()));
                    let marks = self.decide_whole(
                        task,
                        &path,
                        Some(given),
                        &rec.text,
                        rec.paragraphs.as_deref(),
                        heading.as_deref(),
                        attributes.as_mut(),
                        &mut piece,
                        crew,
                    )?;
                    if let (Task::Dolma(name), Some(attributes)) = (task, attributes) {
                        if rec.paragraphs.is_some() {
                            return Err(Error::input(
                                &path,
                                line.number,
                                format!("field {text_field:?} holds an array: Dolma's spans index a string"),
                            ));
                        }
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
                        let emitted = emitted_marks(&marks);
                        let lines = crate::dolma::line_chars(&rec.text).zip(emitted);
                        let rec = attributes
                            .record(&id, name, classes, lines)
                            .map_err(|e| Error::input(&path, line.number, e.to_string()))?;
                        piece.out.extend_from_slice(&rec);
                    }
                    if matches!(task, Task::Filter { .. }) {
                        let keep_empty = self.opts.keep_empty || self.opts.pipe;
                        if let Some(spans) = &rec.paragraphs {
                            // An array of paragraphs comes back as the array of those kept.
                            let left = filtered_paragraphs(&rec.text, spans, marked(&marks));
                            if left.is_empty() && !keep_empty {
                                piece.summary.empty_dropped += 1;
                                continue;
                            }
                            let left: Vec<(usize, &str)> =
                                left.iter().map(|(i, p)| (*i, p.as_str())).collect();
                            rec.write_with_paragraphs(&mut piece.out, text_field, &left);
                            end_as_read(&mut piece.out, crlf);
                            continue;
                        }
                        let text = marked_runs(&rec.text, &marks);
                        let empty = text.iter().all(|t| t.is_empty());
                        if empty && !keep_empty {
                            piece.summary.empty_dropped += 1;
                            continue;
                        }
                        rec.write_with_text(&mut piece.out, text_field, &text)
                            .map_err(|e| Error::io(&path, e))?;
                        end_as_read(&mut piece.out, crlf);
                    }
                }
            }
            InputFormat::Warc => self.render_warc(&path, task, chunk, members, &mut piece, crew)?,
            InputFormat::Parquet { .. } => {
                return Err(Error::Internal("Parquet is read as rows, not text".into()))
            }
        }
        Ok(piece)
    }

    /// [`Engine::render`] for a chunk of WARC records.
    pub(super) fn render_warc(
        &self,
        path: &str,
        task: Task<'_>,
        chunk: &Chunk,
        members: bool,
        piece: &mut Piece,
        crew: &Crew,
    ) -> Result<()> {
        let filter = matches!(task, Task::Filter { .. });
        let gzip_level = Compression::Gzip.level(self.opts.compress_level);
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
                // A WARC record id is text: a JSON string.
                let id_json = id.map(|shown| serde_json::to_string(shown).unwrap_or_default());
                let given = RecordName {
                    number: span.line,
                    id: RecordId::both(id, id_json.as_deref()),
                };
                let heading =
                    (task == Task::Html).then(|| match head.get("WARC-Target-URI").or(id) {
                        Some(name) => format!("{path}#{name}"),
                        None => format!("{path}:{}", span.line),
                    });
                let marks = self.decide_whole(
                    task,
                    path,
                    Some(given),
                    text,
                    None,
                    heading.as_deref(),
                    None,
                    piece,
                    crew,
                )?;
                match task {
                    Task::Html | Task::Tag(_) => {}
                    Task::Dolma(_) => {
                        return Err(Error::Usage(
                            "--dolma reads JSONL documents, not WARC".into(),
                        ))
                    }
                    Task::Filter { .. } => {
                        let runs = marked_runs(text, &marks);
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
                }
            }
            if members {
                plain += record.len() as u64;
                crate::gzip::member(&record, gzip_level, &mut piece.out)
                    .map_err(|e| Error::io(path, e))?;
            } else {
                piece.out.extend_from_slice(&record);
            }
        }
        if members {
            piece.plain_len = Some(plain);
        }
        Ok(())
    }

    /// Decides a document held whole (a record's `text`, named `name`; a text file's
    /// one chunk) as a file of it is decided ([`super::decide_document`]: a chunk at a
    /// time), counts it and its lines, writes its tag and removed records
    /// ([`Engine::render_doc`]; `spans` as there) and, with a `heading` (`html`), its
    /// report, a section per chunk as for a file. With `attributes`, its Dolma attributes
    /// are built there too. Returns every line's mark: `None` blank, else whether it is kept.
    /// Its chunks are decided on the threads `crew` lends; once the run is over it stops
    /// with [`Error::Interrupted`].
    #[allow(clippy::too_many_arguments)]
    fn decide_whole(
        &self,
        task: Task<'_>,
        path: &str,
        name: Option<RecordName<'_>>,
        text: &str,
        spans: Option<&[std::ops::Range<usize>]>,
        heading: Option<&str>,
        mut attributes: Option<&mut crate::dolma::Attributes>,
        piece: &mut Piece,
        crew: &Crew,
    ) -> Result<Vec<Option<bool>>> {
        piece.summary.documents += 1;
        decide_document(self.classifier, self.policy, text, Some(crew), |c| {
            // A long document stops between chunks when the run is over: it may be
            // minutes of work no one would write.
            if crew.over() {
                return Err(Error::Interrupted);
            }
            piece.summary.add_lines(c.lines, c.decisions);
            piece.summary.doc_threshold_dropped +=
                u64::from(self.failed_doc_threshold(c.decisions));
            let (lines, decisions) = (c.lines, c.decisions);
            self.render_doc(task, path, name, lines, c.offset, spans, decisions, piece)?;
            if let Some(heading) = heading {
                let heading = match lines.first().map(|l| l.number) {
                    Some(n) if n > 1 => format!("{heading} (from line {n})"),
                    _ => heading.to_string(),
                };
                self.render_html(&heading, lines, !c.last, decisions, piece);
            }
            if let Some(attributes) = attributes.as_deref_mut() {
                attributes.add(lines, decisions);
            }
            Ok(())
        })
    }

    pub(super) fn render_html(
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
        let failed = self
            .failed_doc_threshold(decisions)
            .then(|| self.policy.doc_threshold());
        let html = crate::html::document(heading, classes, lines, decisions, &ex, 8, failed);
        piece.out.extend_from_slice(html.as_bytes());
    }

    /// Whether `decisions` drop a line its scores would keep: the document failed
    /// `--doc-threshold` ([`crate::classifier::KeepPolicy::with_doc_threshold`]).
    fn failed_doc_threshold(&self, decisions: &[Option<Decision>]) -> bool {
        self.policy.doc_threshold() > 0.0
            && decisions
                .iter()
                .flatten()
                .any(|d| !d.keep && self.policy.keeps(&d.posteriors))
    }

    /// Tag records (for `tag`) and removed-line records (for `filter --removed`), of the
    /// document that is `record` of its file (`None`: a text file's).
    /// `offset`: where `lines` start in their document's text. `spans`: for a document of
    /// an array's strings, each string's range in that text, so that a record names its
    /// string.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn render_doc(
        &self,
        task: Task<'_>,
        path: &str,
        record: Option<RecordName<'_>>,
        lines: &[Line<'_>],
        offset: usize,
        spans: Option<&[std::ops::Range<usize>]>,
        decisions: &[Option<Decision>],
        piece: &mut Piece,
    ) -> Result<()> {
        let classes = self.classifier.model().classes();
        let wr = |e| Error::io(path, e);
        // The string the line at byte `at` of the text is in.
        let (mut at, mut string) = (offset, 0);
        for (l, d) in lines.iter().zip(decisions) {
            let element = spans.map(|spans| {
                while spans.get(string + 1).is_some_and(|s| s.start <= at) {
                    string += 1;
                }
                string
            });
            at += l.raw.len();
            let Some(d) = d else { continue };
            match task {
                Task::Tag(format) => {
                    write_tag_record(&mut piece.out, format, path, record, l, element, classes, d)
                        .map_err(wr)?
                }
                Task::Filter { removed: true } if !d.keep => write_tag_record(
                    &mut piece.removed,
                    TagFormat::Json,
                    path,
                    record,
                    l,
                    element,
                    classes,
                    d,
                )
                .map_err(wr)?,
                Task::Filter { .. } | Task::Dolma(_) | Task::Html => {}
            }
        }
        Ok(())
    }
}

/// An error in a file's content that no line number locates (Parquet).
pub(super) fn invalid(path: &str, msg: String) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidData, msg),
    )
}

pub(super) fn kept(decisions: &[Option<Decision>]) -> impl Fn(usize) -> bool + '_ {
    |i| decisions[i].as_ref().is_some_and(|d| d.keep)
}

/// [`kept`] for lines marked by [`super::decide_document`].
fn marked(marks: &[Option<bool>]) -> impl Fn(usize) -> bool + '_ {
    |i| marks[i] == Some(true)
}

/// Turns the newline just written at the end of `out` into "\r\n" if the record read
/// ended so (`crlf`), so a CRLF file keeps its line ends through a filter.
fn end_as_read(out: &mut Vec<u8>, crlf: bool) {
    if crlf && out.last() == Some(&b'\n') {
        out.insert(out.len() - 1, b'\r');
    }
}
