//! Reader: turns inputs (files, folders, stdin) into documents of lines.
//!
//! A document keeps its bytes untouched; a line is a byte range with its terminator, so
//! writers can reproduce kept lines byte for byte.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file; `rel` is its path relative to the input it was found under (the file name
    /// for a file given directly), used to mirror the input tree under an output folder.
    File {
        /// Path as given or walked.
        path: PathBuf,
        /// Path relative to the input root.
        rel: PathBuf,
    },
}

impl Source {
    /// The path shown to users ("-" for stdin).
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "-".into(),
            Source::File { path, .. } => path.display().to_string(),
        }
    }
}

/// Expands inputs into sources: files as given, folders walked recursively in sorted
/// (byte-wise) order, `-` as stdin. Missing inputs are errors naming the path.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            let mut seen = Vec::new();
            walk(input, input, &mut seen, &mut out)?;
        } else {
            let rel = input
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| input.clone());
            out.push(Source::File {
                path: input.clone(),
                rel,
            });
        }
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, seen: &mut Vec<PathBuf>, out: &mut Vec<Source>) -> Result<()> {
    // Symlinked folders can form loops; remember every folder's real path on this branch.
    let real = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    if seen.contains(&real) {
        return Ok(());
    }
    seen.push(real);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    entries.sort();
    for path in entries {
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            walk(root, &path, seen, out)?;
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.push(Source::File { path, rel });
        }
    }
    seen.pop();
    Ok(())
}

/// One document: the bytes of one file (or of stdin).
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it came from.
    pub source: Source,
    /// The raw bytes, never modified.
    pub bytes: Vec<u8>,
}

/// One line of a document.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The line's bytes including its terminator ("\n" or "\r\n"), if any.
    pub raw: &'a [u8],
    /// The line's text without terminator.
    pub text: &'a str,
}

impl Line<'_> {
    /// Blank lines (only whitespace, including U+3000) are not paragraphs.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

impl Document {
    /// Reads a source into memory.
    pub fn read(source: Source) -> Result<Document> {
        let bytes = match &source {
            Source::Stdin => {
                let mut b = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut b)
                    .map_err(|e| Error::io("-", e))?;
                b
            }
            Source::File { path, .. } => std::fs::read(path).map_err(|e| Error::io(path, e))?,
        };
        Ok(Document { source, bytes })
    }

    /// The document's lines; fails on the first line that is not valid UTF-8, naming it.
    pub fn lines(&self) -> Result<Vec<Line<'_>>> {
        split_lines(&self.bytes)
            .map_err(|(line, msg)| Error::input(self.source.display(), line, msg))
    }
}

/// Splits bytes into lines (terminators kept in `raw`), checking UTF-8 line by line.
/// A leading UTF-8 byte-order mark is not part of the first line's text.
pub fn split_lines(bytes: &[u8]) -> std::result::Result<Vec<Line<'_>>, (usize, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut number = 0;
    while start < bytes.len() {
        number += 1;
        let end = memchr_nl(&bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
        let raw = &bytes[start..end];
        let mut body = raw;
        if let Some(b) = body.strip_suffix(b"\n") {
            body = b.strip_suffix(b"\r").unwrap_or(b);
        }
        if number == 1 {
            body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        }
        let text = std::str::from_utf8(body).map_err(|e| {
            (
                number,
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
            )
        })?;
        out.push(Line { number, raw, text });
        start = end;
    }
    Ok(out)
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_terminators() {
        let l = split_lines(b"a\r\n\nb").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].raw, b"a\r\n");
        assert_eq!(l[0].text, "a");
        assert!(l[1].is_blank());
        assert_eq!(l[2].raw, b"b");
        assert_eq!(l[2].number, 3);
    }

    #[test]
    fn bad_utf8_names_line() {
        let e = split_lines(b"ok\n\xff\n").unwrap_err();
        assert_eq!(e.0, 2);
    }
}
