//! Labelled data for `train` and `eval`: TSV (`label<TAB>text`), fastText
//! (`__label__X text`), and labelled page sets (a folder with `pages/` and `labels.tsv`
//! holding `page, line, label`).

use crate::error::{Error, Result};
use crate::input::DecodeOptions;
use crate::reader::split_lines;
use crate::sources::Source;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One labelled paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledLine {
    /// 1-based line number in its file.
    pub line: usize,
    /// Class name.
    pub label: String,
    /// The paragraph (without line terminator).
    pub text: String,
}

/// A sequence of labelled paragraphs that belong together: a page of a page set, or a
/// single row of a TSV/fastText file (rows carry no page context).
#[derive(Debug, Clone)]
pub struct LabelledDoc {
    /// File the paragraphs come from.
    pub path: PathBuf,
    /// The non-blank lines, in order.
    pub lines: Vec<LabelledLine>,
    /// For page sets, the page's raw bytes (so `eval` can run the real pipeline).
    pub page: Option<Vec<u8>>,
}

/// Every labelled line's text, in input order.
pub fn texts(docs: &[LabelledDoc]) -> impl Iterator<Item = &str> {
    docs.iter()
        .flat_map(|d| d.lines.iter().map(|l| l.text.as_str()))
}

/// Reads every labelled input (`-`: TSV or fastText rows on standard input); a folder
/// must be a page set. Every file is read as `tag` reads one, decompressed and decoded by
/// `decode`.
pub fn read_labelled(inputs: &[PathBuf], decode: &DecodeOptions) -> Result<Vec<LabelledDoc>> {
    let mut docs = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            docs.extend(read_rows(input, decode)?);
            continue;
        }
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            docs.extend(read_page_set(input, decode)?);
        } else {
            docs.extend(read_rows(input, decode)?);
        }
    }
    Ok(docs)
}

/// The text of the labelled file at `path` (`-`: standard input).
fn read_file(path: &Path, decode: &DecodeOptions) -> Result<Vec<u8>> {
    crate::input::read_whole(&Source::named(path), decode, "labelled text")
}

fn check_label(label: &str, path: &Path, line: usize) -> Result<()> {
    if label.is_empty() {
        return Err(Error::input(path, line, "empty label"));
    }
    if label.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::input(
            path,
            line,
            format!("label {label:?} contains whitespace"),
        ));
    }
    Ok(())
}

/// A TSV or fastText file: each non-blank row is its own one-line document.
fn read_rows(path: &Path, decode: &DecodeOptions) -> Result<Vec<LabelledDoc>> {
    let bytes = read_file(path, decode)?;
    let lines = split_lines(&bytes).map_err(|(l, m)| Error::input(path, l, m))?;
    let first = lines.iter().find(|l| !l.is_blank());
    let Some(first) = first else {
        return Err(Error::input(
            path,
            1,
            "empty training file (no labelled rows)",
        ));
    };
    let fasttext = first.text.starts_with("__label__");
    let mut docs = Vec::new();
    for l in &lines {
        if l.is_blank() {
            continue;
        }
        let (label, text) = if fasttext {
            let Some(rest) = l.text.strip_prefix("__label__") else {
                return Err(Error::input(
                    path,
                    l.number,
                    "expected `__label__LABEL text` (file starts in fastText format)",
                ));
            };
            let (label, text) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
            if text.trim_start().starts_with("__label__") {
                return Err(Error::input(
                    path,
                    l.number,
                    "more than one label on a row; chaff trains one label per paragraph",
                ));
            }
            (label, text)
        } else {
            let Some((label, text)) = l.text.split_once('\t') else {
                return Err(Error::input(
                    path,
                    l.number,
                    "expected `label<TAB>text` (no tab found)",
                ));
            };
            if l.number == first.number && label == "label" && text == "text" {
                continue; // header row
            }
            // A page set's labels, given alone, would read as labels "line", "1", ...
            if l.number == first.number
                && (l.text.starts_with("line\tlabel") || l.text.starts_with("page\tline\tlabel"))
            {
                return Err(Error::input(
                    path,
                    l.number,
                    "a page set's labels (line numbers into pages), not `label<TAB>text` rows: give the folder that holds them and the pages",
                ));
            }
            (label, text)
        };
        check_label(label, path, l.number)?;
        if text.trim().is_empty() {
            return Err(Error::input(path, l.number, "row has a label but no text"));
        }
        docs.push(LabelledDoc {
            path: path.to_path_buf(),
            lines: vec![LabelledLine {
                line: l.number,
                label: label.to_string(),
                text: text.to_string(),
            }],
            page: None,
        });
    }
    Ok(docs)
}

/// Warns of the files in `pages_dir` (walked recursively, as a page may be named with its
/// subfolder) that `labels_path` labels no line of: they are left out, which a page set
/// whose labels were cut short or never written would otherwise do silently.
fn warn_unlabelled(
    pages_dir: &Path,
    labels_path: &Path,
    by_page: &BTreeMap<String, BTreeMap<usize, (String, usize)>>,
) -> Result<()> {
    let mut unlabelled = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(rel) = folders.pop() {
        let dir = pages_dir.join(&rel);
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let e = e.map_err(|e| Error::io(&dir, e))?;
            let name = rel.join(e.file_name());
            // Real folders only are walked, so a link loop cannot hold the walk; a link
            // to a folder is not counted (a page named through it is found by its path).
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                folders.push(name);
            } else if std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir()) {
                continue;
            } else if !by_page.contains_key(&*name.to_string_lossy()) {
                unlabelled.push(name);
            }
        }
    }
    unlabelled.sort();
    match unlabelled.as_slice() {
        [] => {}
        [one] => crate::say!(
            "chaff: warning: {}: no line of it is labelled in {}; left out",
            pages_dir.join(one).display(),
            labels_path.display()
        ),
        [first, ..] => crate::say!(
            "chaff: warning: {}: {} files have no line labelled in {} ({}, ...); left out",
            pages_dir.display(),
            unlabelled.len(),
            labels_path.display(),
            first.display()
        ),
    }
    Ok(())
}

/// A page set: `labels.tsv` must label every non-blank line of every page it names, and
/// only non-blank lines.
fn read_page_set(dir: &Path, decode: &DecodeOptions) -> Result<Vec<LabelledDoc>> {
    let labels_path = dir.join("labels.tsv");
    let pages_dir = dir.join("pages");
    if labels_path.is_file() && pages_dir.is_dir() {
        return read_pages(&labels_path, &pages_dir, None, decode);
    }
    // The seed layout: NAME.txt beside NAME.labels.tsv (columns line, label[, text prefix]).
    let mut pairs = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".labels.tsv") {
            pairs.push((p.clone(), format!("{stem}.txt")));
        }
    }
    if pairs.is_empty() {
        return Err(Error::Usage(format!(
            "{}: a folder given as labelled data must hold pages/ and labels.tsv (or NAME.txt with NAME.labels.tsv)",
            dir.display()
        )));
    }
    pairs.sort();
    let mut docs = Vec::new();
    for (labels, page) in pairs {
        docs.extend(read_pages(&labels, dir, Some(&page), decode)?);
    }
    Ok(docs)
}

/// Reads labels (`page, line, label`, or `line, label[, ...]` for the single page `single`)
/// and the pages they name under `pages_dir`.
fn read_pages(
    labels_path: &Path,
    pages_dir: &Path,
    single: Option<&str>,
    decode: &DecodeOptions,
) -> Result<Vec<LabelledDoc>> {
    let labels_path = labels_path.to_path_buf();
    let bytes = read_file(&labels_path, decode)?;
    let rows = split_lines(&bytes).map_err(|(l, m)| Error::input(&labels_path, l, m))?;
    let mut by_page: BTreeMap<String, BTreeMap<usize, (String, usize)>> = BTreeMap::new();
    for r in &rows {
        if r.is_blank()
            || (r.number == 1 && (r.text.starts_with("page\t") || r.text.starts_with("line\t")))
        {
            continue;
        }
        let mut cols: Vec<&str> = r.text.split('\t').collect();
        if let Some(page) = single {
            if cols.len() < 2 {
                return Err(Error::input(
                    &labels_path,
                    r.number,
                    "expected tab-separated columns line, label",
                ));
            }
            cols.truncate(2);
            cols.insert(0, page);
        }
        if cols.len() != 3 {
            return Err(Error::input(
                &labels_path,
                r.number,
                format!(
                    "expected 3 tab-separated columns (page, line, label), found {}",
                    cols.len()
                ),
            ));
        }
        let line: usize = cols[1].parse().ok().filter(|&n| n > 0).ok_or_else(|| {
            Error::input(
                &labels_path,
                r.number,
                format!("bad line number {:?}", cols[1]),
            )
        })?;
        check_label(cols[2], &labels_path, r.number)?;
        if cols[0].is_empty() || cols[0].contains("..") || cols[0].starts_with('/') {
            return Err(Error::input(
                &labels_path,
                r.number,
                format!("bad page name {:?}", cols[0]),
            ));
        }
        let prev = by_page
            .entry(cols[0].to_string())
            .or_default()
            .insert(line, (cols[2].to_string(), r.number));
        if prev.is_some() {
            return Err(Error::input(
                &labels_path,
                r.number,
                format!("{}:{} is labelled twice", cols[0], line),
            ));
        }
    }
    if by_page.is_empty() {
        return Err(Error::input(&labels_path, 1, "no labels"));
    }
    if single.is_none() {
        warn_unlabelled(pages_dir, &labels_path, &by_page)?;
    }
    let mut docs = Vec::new();
    for (page, labels) in by_page {
        let path = pages_dir.join(&page);
        if !path.exists() {
            // The labels' row names what is wrong: "No such file" alone reads as if
            // chaff had looked for a page of its own choosing.
            let row = labels.values().map(|&(_, row)| row).min().unwrap_or(1);
            return Err(Error::input(
                &labels_path,
                row,
                format!("labels page {page}, which {} lacks", pages_dir.display()),
            ));
        }
        let bytes = read_file(&path, decode)?;
        let lines = split_lines(&bytes).map_err(|(l, m)| Error::input(&path, l, m))?;
        let mut out = Vec::new();
        for l in &lines {
            match labels.get(&l.number) {
                Some((label, _)) if !l.is_blank() => out.push(LabelledLine {
                    line: l.number,
                    label: label.clone(),
                    text: l.text.to_string(),
                }),
                Some((_, row)) => {
                    return Err(Error::input(
                        &labels_path,
                        *row,
                        format!("{page}:{} is blank but labelled", l.number),
                    ))
                }
                None if !l.is_blank() => {
                    return Err(Error::input(
                        &path,
                        l.number,
                        format!("non-blank line has no label in {}", labels_path.display()),
                    ))
                }
                None => {}
            }
        }
        if let Some((&n, (_, row))) = labels.iter().find(|(&n, _)| n > lines.len()) {
            return Err(Error::input(
                &labels_path,
                *row,
                format!("{page} has no line {n}"),
            ));
        }
        docs.push(LabelledDoc {
            path,
            lines: out,
            page: Some(bytes),
        });
    }
    Ok(docs)
}
