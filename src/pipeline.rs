//! The pipeline: documents -> lines -> features -> model -> decisions -> writers.

use crate::classifier::{argmax, Classifier, KeepPolicy};
use crate::error::{Error, Result};
use crate::output::AtomicFile;
use crate::reader::{Document, Line, Source};
use crate::writer::{write_filtered, write_tag_header, write_tag_record, Decision, TagFormat};
use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Counts for one run; `kept + dropped + blank == lines` always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Documents processed.
    pub documents: u64,
    /// All lines read.
    pub lines: u64,
    /// Blank lines (no label).
    pub blank: u64,
    /// Paragraphs kept.
    pub kept: u64,
    /// Paragraphs dropped.
    pub dropped: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written (filter only).
    pub bytes_out: u64,
}

impl Summary {
    fn add_doc(&mut self, lines: &[Line<'_>], decisions: &[Option<Decision>], bytes: usize) {
        self.documents += 1;
        self.lines += lines.len() as u64;
        self.bytes_in += bytes as u64;
        for d in decisions {
            match d {
                None => self.blank += 1,
                Some(d) if d.keep => self.kept += 1,
                Some(_) => self.dropped += 1,
            }
        }
    }
}

/// Decides every line of a document: `None` for blank lines.
pub fn decide(
    classifier: &Classifier,
    policy: &KeepPolicy,
    lines: &[Line<'_>],
) -> Vec<Option<Decision>> {
    let texts: Vec<&str> = lines
        .iter()
        .filter(|l| !l.is_blank())
        .map(|l| l.text)
        .collect();
    let mut post = classifier.classify_lines(&texts).into_iter();
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

/// Runs `work` on the sources in parallel, in batches of a few per thread (so memory
/// stays bounded), and hands each result to `sink` in input order. The first error in
/// input order stops the run.
fn for_each_ordered<T: Send>(
    sources: Vec<Source>,
    work: impl Fn(Source) -> Result<T> + Sync,
    mut sink: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let batch = rayon::current_num_threads() * 4;
    let mut it = sources.into_iter();
    loop {
        let chunk: Vec<Source> = it.by_ref().take(batch).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        let results: Vec<Result<T>> = chunk.into_par_iter().map(&work).collect();
        for r in results {
            sink(r?)?;
        }
    }
}

/// Reads and decides one document; `emit` renders it (to bytes or to a file).
fn process<T>(
    classifier: &Classifier,
    policy: &KeepPolicy,
    source: Source,
    emit: impl FnOnce(&Document, &[Line<'_>], &[Option<Decision>]) -> Result<T>,
) -> Result<(T, Summary)> {
    let doc = Document::read(source)?;
    let lines = doc.lines()?;
    let decisions = decide(classifier, policy, &lines);
    let mut summary = Summary::default();
    summary.add_doc(&lines, &decisions, doc.bytes.len());
    let out = emit(&doc, &lines, &decisions)?;
    Ok((out, summary))
}

impl Summary {
    /// The one-line human summary printed at the end of a run.
    pub fn line(&self, seconds: f64) -> String {
        format!(
            "{} documents, {} lines: {} kept, {} dropped, {} blank; {:.1} MB in, {:.1} MB out, {:.1} MB/s",
            self.documents,
            self.lines,
            self.kept,
            self.dropped,
            self.blank,
            self.bytes_in as f64 / 1e6,
            self.bytes_out as f64 / 1e6,
            self.bytes_in as f64 / 1e6 / seconds.max(1e-9)
        )
    }

    fn absorb(&mut self, o: &Summary) {
        self.documents += o.documents;
        self.lines += o.lines;
        self.blank += o.blank;
        self.kept += o.kept;
        self.dropped += o.dropped;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

fn kept(decisions: &[Option<Decision>]) -> impl Fn(usize) -> bool + '_ {
    |i| decisions[i].as_ref().is_some_and(|d| d.keep)
}

/// `chaff tag`: one record per non-blank line, in input order (documents are scored in
/// parallel and written in order).
pub fn run_tag(
    classifier: &Classifier,
    policy: &KeepPolicy,
    sources: Vec<Source>,
    format: TagFormat,
    out: &mut dyn Write,
) -> Result<Summary> {
    let classes = classifier.model().classes();
    let wr = |e| Error::io("<stdout>", e);
    if format == TagFormat::Tsv {
        write_tag_header(out, classes).map_err(wr)?;
    }
    let mut summary = Summary::default();
    for_each_ordered(
        sources,
        |source| {
            process(classifier, policy, source, |doc, lines, decisions| {
                let path = doc.source.display();
                let mut buf = Vec::new();
                for (l, d) in lines.iter().zip(decisions) {
                    if let Some(d) = d {
                        write_tag_record(&mut buf, format, &path, l, classes, d).map_err(wr)?;
                    }
                }
                Ok(buf)
            })
        },
        |(buf, s)| {
            summary.absorb(&s);
            out.write_all(&buf).map_err(wr)
        },
    )?;
    out.flush().map_err(wr)?;
    Ok(summary)
}

/// Where `filter` writes.
pub enum FilterTarget<'a> {
    /// All inputs, in order, to this writer.
    Stream(&'a mut dyn Write),
    /// Mirror the input tree under this folder.
    Dir(&'a Path),
}

/// `chaff filter`: writes kept lines byte for byte.
pub fn run_filter(
    classifier: &Classifier,
    policy: &KeepPolicy,
    sources: Vec<Source>,
    target: FilterTarget<'_>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    match target {
        FilterTarget::Stream(out) => {
            let wr = |e| Error::io("<stdout>", e);
            for_each_ordered(
                sources,
                |source| {
                    process(classifier, policy, source, |_, lines, decisions| {
                        let mut buf = Vec::new();
                        write_filtered(&mut buf, lines, kept(decisions)).map_err(wr)?;
                        Ok(buf)
                    })
                },
                |(buf, mut s)| {
                    s.bytes_out = buf.len() as u64;
                    summary.absorb(&s);
                    out.write_all(&buf).map_err(wr)
                },
            )?;
            out.flush().map_err(wr)?;
        }
        FilterTarget::Dir(dir) => {
            let targets = output_paths(&sources, dir)?;
            let dest_of: std::collections::HashMap<String, PathBuf> =
                sources.iter().map(Source::display).zip(targets).collect();
            for_each_ordered(
                sources,
                |source| {
                    let dest = dest_of[&source.display()].clone();
                    process(classifier, policy, source, |_, lines, decisions| {
                        if let Some(parent) = dest.parent() {
                            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                        }
                        let mut f = AtomicFile::create(&dest)?;
                        let n = write_filtered(&mut f, lines, kept(decisions))
                            .map_err(|e| Error::io(&dest, e))?;
                        f.commit()?;
                        Ok(n)
                    })
                },
                |(n, mut s)| {
                    s.bytes_out = n;
                    summary.absorb(&s);
                    Ok(())
                },
            )?;
        }
    }
    Ok(summary)
}

/// Output path of every source under `dir`; two inputs mapping to one output is an error.
pub fn output_paths(sources: &[Source], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(sources.len());
    for s in sources {
        let rel = match s {
            Source::Stdin => PathBuf::from("stdin.txt"),
            Source::File { rel, .. } => rel.clone(),
        };
        let dest = dir.join(&rel);
        if let Some(prev) = seen.insert(dest.clone(), s.display()) {
            return Err(Error::Usage(format!(
                "{} and {} would both be written to {}",
                prev,
                s.display(),
                dest.display()
            )));
        }
        out.push(dest);
    }
    Ok(out)
}
