//! Writers: tag records (TSV or JSON lines) and filtered text.

use crate::reader::Line;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The decision for one non-blank line.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Posterior per class, in the model's class order.
    pub posteriors: Vec<f64>,
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

#[derive(Serialize)]
struct TagRecord<'a> {
    path: &'a str,
    line: usize,
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

/// Writes one tag record.
pub fn write_tag_record(
    out: &mut dyn Write,
    format: TagFormat,
    path: &str,
    line: &Line<'_>,
    classes: &[String],
    d: &Decision,
) -> io::Result<()> {
    match format {
        TagFormat::Json => {
            let rec = TagRecord {
                path,
                line: line.number,
                label: &classes[d.label],
                keep: d.keep,
                scores: classes
                    .iter()
                    .map(String::as_str)
                    .zip(d.posteriors.iter().copied())
                    .collect(),
                text: line.text,
            };
            serde_json::to_writer(&mut *out, &rec)?;
            writeln!(out)
        }
        TagFormat::Tsv => {
            write!(
                out,
                "{}\t{}\t{}\t{}",
                escape_tsv(path),
                line.number,
                classes[d.label],
                if d.keep { "keep" } else { "drop" }
            )?;
            for p in &d.posteriors {
                write!(out, "\t{p:.6}")?;
            }
            writeln!(out, "\t{}", escape_tsv(line.text))
        }
    }
}

/// Escapes backslash, tab, CR and LF so a TSV field stays one field.
pub fn escape_tsv(s: &str) -> String {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            _ => o.push(c),
        }
    }
    o
}

/// Writes the kept lines of a document byte for byte. Blank lines are written only
/// between two kept paragraphs (the blank run right before the later one), so the
/// output keeps its paragraph layout and adds nothing. Returns bytes written.
pub fn write_filtered(
    out: &mut dyn Write,
    lines: &[Line<'_>],
    keep: impl Fn(usize) -> bool,
) -> io::Result<u64> {
    let mut written = 0u64;
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut any = false;
    for (i, l) in lines.iter().enumerate() {
        if l.is_blank() {
            pending.push(l.raw);
        } else {
            if keep(i) {
                if any {
                    for b in &pending {
                        out.write_all(b)?;
                        written += b.len() as u64;
                    }
                }
                out.write_all(l.raw)?;
                written += l.raw.len() as u64;
                any = true;
            }
            pending.clear();
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::split_lines;

    #[test]
    fn filtered_keeps_bytes_and_inner_blanks() {
        let text = b"\nkeep1\r\n\n drop\n\nkeep2\n\n\ndrop2\n";
        let lines = split_lines(text).unwrap();
        let mut out = Vec::new();
        let n = write_filtered(&mut out, &lines, |i| lines[i].text.starts_with("keep")).unwrap();
        assert_eq!(out, b"keep1\r\n\nkeep2\n");
        assert_eq!(n as usize, out.len());
    }
}
