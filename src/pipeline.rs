//! The pipeline: documents -> lines -> features -> model -> decisions -> writers.

use crate::classifier::{argmax, Classifier, KeepPolicy};
use crate::error::{Error, Result};
use crate::output::AtomicFile;
use crate::reader::{Document, Line, Source};
use crate::writer::{write_filtered, write_tag_header, write_tag_record, Decision, TagFormat};
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

/// `chaff tag`: one record per non-blank line, in input order.
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
    for source in sources {
        let doc = Document::read(source)?;
        let lines = doc.lines()?;
        let decisions = decide(classifier, policy, &lines);
        let path = doc.source.display();
        for (l, d) in lines.iter().zip(&decisions) {
            if let Some(d) = d {
                write_tag_record(out, format, &path, l, classes, d).map_err(wr)?;
            }
        }
        summary.add_doc(&lines, &decisions, doc.bytes.len());
    }
    out.flush().map_err(wr)?;
    Ok(summary)
}

/// Where `filter` writes.
pub enum FilterTarget<'a> {
    /// One input (file or stdin) to this writer.
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
            for source in sources {
                let doc = Document::read(source)?;
                let lines = doc.lines()?;
                let decisions = decide(classifier, policy, &lines);
                summary.bytes_out += write_filtered(out, &lines, |i| {
                    decisions[i].as_ref().is_some_and(|d| d.keep)
                })
                .map_err(|e| Error::io("<stdout>", e))?;
                summary.add_doc(&lines, &decisions, doc.bytes.len());
            }
            out.flush().map_err(|e| Error::io("<stdout>", e))?;
        }
        FilterTarget::Dir(dir) => {
            let targets = output_paths(&sources, dir)?;
            for (source, dest) in sources.into_iter().zip(targets) {
                let doc = Document::read(source)?;
                let lines = doc.lines()?;
                let decisions = decide(classifier, policy, &lines);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                let mut f = AtomicFile::create(&dest)?;
                summary.bytes_out += write_filtered(&mut f, &lines, |i| {
                    decisions[i].as_ref().is_some_and(|d| d.keep)
                })
                .map_err(|e| Error::io(&dest, e))?;
                f.commit()?;
                summary.add_doc(&lines, &decisions, doc.bytes.len());
            }
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
