//! Dolma tagger output: for each document, `{"id": ..., "attributes": {...}}` with one
//! span list per class (`[start, end, score]` per non-blank line, in Unicode code points
//! of the document's text) and a `drop` list covering exactly what `chaff filter` removes,
//! so `dolma mix` with a span-replacement filter on it reproduces `chaff filter --jsonl`,
//! and an `empty` span over the whole text of a document left with no kept line (the
//! mixer's exclude filter on it drops the documents `chaff filter` drops).
//! Names follow Dolma's `experiment__tagger__attribute` convention: `chaff__NAME__news`.

use crate::reader::Line;
use crate::writer::Decision;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Checks a tagger name (`--dolma-name`): non-empty and free of `__`, Dolma's separator.
pub fn check_name(name: &str) -> crate::Result<()> {
    if name.is_empty() || name.contains("__") {
        return Err(crate::Error::Usage(format!(
            "--dolma-name {name:?}: must be non-empty and hold no \"__\""
        )));
    }
    Ok(())
}

/// The attribute name for `attribute` under tagger `name`.
pub fn attribute_name(name: &str, attribute: &str) -> String {
    format!("chaff__{name}__{attribute}")
}

/// One attributes record (with its newline) for a document whose raw JSON id is `id`.
/// `emitted[i]` says whether `filter` writes line `i`.
pub fn attributes_record(
    id: &RawValue,
    name: &str,
    classes: &[String],
    lines: &[Line<'_>],
    decisions: &[Option<Decision>],
    emitted: &[bool],
) -> serde_json::Result<Vec<u8>> {
    let mut a = Attributes::new(classes.len());
    a.add(lines, decisions);
    let lens = lines.iter().map(|l| char_len(l.raw));
    a.record(id, name, classes, lens.zip(emitted.iter().copied()))
}

/// A document's attributes, built a chunk of lines at a time (a record decided by
/// [`crate::pipeline::decide_document`]): each class's spans as the lines come, the
/// `drop` and `empty` spans at the end, once it is known which lines `filter` writes.
#[derive(Debug, Clone)]
pub struct Attributes {
    per_class: Vec<Vec<(usize, usize, f64)>>,
    /// Code points before the next line.
    at: usize,
}

impl Attributes {
    /// No lines yet, for a model of `classes` classes.
    pub fn new(classes: usize) -> Attributes {
        Attributes {
            per_class: vec![Vec::new(); classes],
            at: 0,
        }
    }

    /// Adds the document's next lines, with their decisions (`None`: blank).
    pub fn add(&mut self, lines: &[Line<'_>], decisions: &[Option<Decision>]) {
        for (l, d) in lines.iter().zip(decisions) {
            if let Some(d) = d {
                // The text may start after a byte-order mark that is part of the raw line.
                let skip = l.text.as_ptr() as usize - l.raw.as_ptr() as usize;
                let start = self.at + char_len(&l.raw[..skip]);
                let end = start + l.text.chars().count();
                for (c, spans) in self.per_class.iter_mut().enumerate() {
                    spans.push((start, end, d.posteriors[c]));
                }
            }
            self.at += char_len(l.raw);
        }
    }

    /// The record (with its newline) of the document whose raw JSON id is `id`, once
    /// every line was added: `lines` gives each line's length in code points (its
    /// terminator included) and whether `filter` writes it.
    pub fn record(
        self,
        id: &RawValue,
        name: &str,
        classes: &[String],
        lines: impl Iterator<Item = (usize, bool)>,
    ) -> serde_json::Result<Vec<u8>> {
        let mut drop: Vec<(usize, usize, f64)> = Vec::new();
        let (mut at, mut any) = (0usize, false);
        for (len, kept) in lines {
            any |= kept;
            if !kept {
                match drop.last_mut() {
                    Some(last) if last.1 == at => last.1 = at + len,
                    _ => drop.push((at, at + len, 1.0)),
                }
            }
            at += len;
        }
        debug_assert_eq!(at, self.at, "lines are not the ones added");
        let mut attrs: BTreeMap<String, Vec<(usize, usize, f64)>> = BTreeMap::new();
        for (c, spans) in classes.iter().zip(self.per_class) {
            attrs.insert(attribute_name(name, c), spans);
        }
        attrs.insert(attribute_name(name, "drop"), drop);
        let empty = if any { Vec::new() } else { vec![(0, at, 1.0)] };
        attrs.insert(attribute_name(name, "empty"), empty);
        #[derive(serde::Serialize)]
        struct Rec<'a> {
            id: &'a RawValue,
            attributes: BTreeMap<String, Vec<(usize, usize, f64)>>,
        }
        let mut out = serde_json::to_vec(&Rec {
            id,
            attributes: attrs,
        })?;
        out.push(b'\n');
        Ok(out)
    }
}

/// Each line's length in code points, its terminator included, of a whole document's
/// `text` (split at its [`crate::reader::document_line_end`]).
pub fn line_chars(text: &str) -> impl Iterator<Item = usize> + '_ {
    let eol = crate::reader::document_line_end(text.as_bytes());
    crate::reader::line_ranges(text.as_bytes(), eol).map(|line| char_len(&text.as_bytes()[line]))
}

fn char_len(b: &[u8]) -> usize {
    // Lines are valid UTF-8: count the bytes that start a character.
    b.iter().filter(|&&x| (x as i8) >= -0x40).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::split_lines;

    #[test]
    fn tagger_names_without_the_separator_are_accepted() {
        assert!(check_name("chaff_v1").is_ok());
        assert!(check_name("").is_err());
        let e = check_name("a__b").unwrap_err().to_string();
        assert!(e.contains("--dolma-name \"a__b\""), "{e}");
    }

    #[test]
    fn spans_are_code_point_offsets_and_drop_covers_the_removed_text() {
        let text = "新闻一\n\n广告\n新闻二";
        let lines = split_lines(text.as_bytes()).unwrap();
        let dec = |keep: bool, p: f64| {
            Some(Decision {
                posteriors: smallvec::smallvec![1.0 - p, p],
                label: usize::from(keep),
                keep,
            })
        };
        let decisions = vec![dec(true, 0.9), None, dec(false, 0.1), dec(true, 0.8)];
        let emitted =
            crate::writer::emitted(&lines, |i| decisions[i].as_ref().is_some_and(|d| d.keep));
        let id = RawValue::from_string("\"d1\"".into()).unwrap();
        let classes = vec!["filler".to_string(), "news".to_string()];
        let rec = attributes_record(&id, "p", &classes, &lines, &decisions, &emitted).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&rec).unwrap();
        assert_eq!(v["id"], "d1");
        assert_eq!(
            v["attributes"]["chaff__p__news"][0],
            serde_json::json!([0, 3, 0.9])
        );
        assert_eq!(
            v["attributes"]["chaff__p__news"][1],
            serde_json::json!([5, 7, 0.1])
        );
        assert_eq!(
            v["attributes"]["chaff__p__news"][2],
            serde_json::json!([8, 11, 0.8])
        );
        // Removing the drop spans gives filter's output: "新闻一\n新闻二".
        let drop = v["attributes"]["chaff__p__drop"].as_array().unwrap();
        let chars: Vec<char> = text.chars().collect();
        let mut kept = String::new();
        let mut at = 0;
        for s in drop {
            let (a, b) = (
                s[0].as_u64().unwrap() as usize,
                s[1].as_u64().unwrap() as usize,
            );
            kept.extend(&chars[at..a]);
            at = b;
        }
        kept.extend(&chars[at..]);
        assert_eq!(kept, "新闻一\n新闻二");
        assert_eq!(v["attributes"]["chaff__p__empty"], serde_json::json!([]));
    }
}
