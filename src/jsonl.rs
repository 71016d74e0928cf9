//! JSONL records: one JSON object per line whose text field holds a document.
//!
//! Every other field is kept as the raw JSON it was written as (serde_json `RawValue`),
//! in its original order, so a record comes out exactly as it went in except for the
//! text field.
//!
//! The text field is a top-level name (`text`, `content`), or, starting with `/`, a JSON
//! Pointer (RFC 6901) into nested objects (`/data/content`; `~1` stands for `/` in a
//! name, `~0` for `~`). The objects on a pointer's way are parsed the same way, their
//! other fields kept raw.
//!
//! The field holds a string, or an array of strings: a document's paragraphs, as news
//! datasets often store articles. Those are read as one text of paragraphs set apart by
//! a blank line (`"\n\n"`, the layout of a portal page), and `filter` writes back the
//! array of the paragraphs it keeps.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use std::ops::Range;

/// What a run does with a JSONL line that is not a usable record (not a JSON object, no
/// text field, a text field that is not a string), like pandas' `on_bad_lines` or
/// Spark's `mode`: a dump with a truncated last line need not stop a long run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BadRecords {
    /// Stop the run with an error naming the file and line (the default).
    #[default]
    Error,
    /// Leave the record out of the output, warn and count it.
    Skip,
    /// `filter`: write the record unchanged (it is not classified), warn and count it.
    /// Other outputs have nothing to write for it and leave it out.
    Keep,
}

impl BadRecords {
    /// The policy named `error`, `skip` or `keep` (the `--bad-records` values).
    pub fn parse(name: &str) -> Option<BadRecords> {
        match name {
            "error" => Some(BadRecords::Error),
            "skip" => Some(BadRecords::Skip),
            "keep" => Some(BadRecords::Keep),
            _ => None,
        }
    }
}

/// One parsed record, borrowing its raw field values from the line (the text field,
/// most of a record, is not copied before it is unescaped).
#[derive(Debug)]
pub struct Record<'a> {
    fields: IndexMap<String, &'a RawValue>,
    /// For a JSON Pointer text field: its keys, and the objects they lead into,
    /// outermost first (the last holds the text); both empty for a top-level name.
    keys: Vec<String>,
    nested: Vec<IndexMap<String, &'a RawValue>>,
    /// The document text (the text field, unescaped; an array's strings joined by a
    /// blank line).
    pub text: String,
    /// For a text field holding an array of strings: each string's byte range in
    /// `text`; `None` for a string.
    pub paragraphs: Option<Vec<Range<usize>>>,
}

/// The keys of a text field given as a JSON Pointer (`/a/b`), unescaped; `None` for a
/// top-level name. A `~` not followed by `0` or `1` is an error.
pub fn pointer_keys(text_field: &str) -> Option<Result<Vec<String>, String>> {
    let rest = text_field.strip_prefix('/')?;
    let key = |token: &str| {
        let mut out = String::with_capacity(token.len());
        let mut chars = token.chars();
        while let Some(c) = chars.next() {
            out.push(match (c, c == '~') {
                (_, false) => c,
                (_, true) => match chars.next() {
                    Some('0') => '~',
                    Some('1') => '/',
                    _ => {
                        return Err(format!(
                            "{text_field:?}: in a JSON Pointer `~` is followed by 0 (for ~) or 1 (for /)"
                        ))
                    }
                },
            });
        }
        Ok(out)
    };
    Some(rest.split('/').map(key).collect())
}

impl<'a> Record<'a> {
    /// Parses one JSONL line; the error says what is wrong, for a `path:line:` message.
    pub fn parse(line: &'a str, text_field: &str) -> Result<Record<'a>, String> {
        let fields: IndexMap<String, &'a RawValue> =
            serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let missing = || format!("record has no {text_field:?} field");
        let (mut keys, mut nested) = (Vec::new(), Vec::new());
        let raw: &'a RawValue = match pointer_keys(text_field) {
            None => fields.get(text_field).ok_or_else(missing)?,
            Some(pointer) => {
                keys = pointer?;
                let mut raw: &'a RawValue = fields.get(&keys[0]).ok_or_else(missing)?;
                for (depth, key) in keys[1..].iter().enumerate() {
                    let object: IndexMap<String, &'a RawValue> = serde_json::from_str(raw.get())
                        .map_err(|_| {
                            // The pointer up to this object, as the user wrote it.
                            let way: Vec<&str> = text_field.split('/').take(depth + 2).collect();
                            format!("field {:?} is not an object", way.join("/"))
                        })?;
                    raw = object.get(key).ok_or_else(missing)?;
                    nested.push(object);
                }
                raw
            }
        };
        if raw.get().starts_with('[') {
            let items: Vec<String> = serde_json::from_str(raw.get())
                .map_err(|e| format!("field {text_field:?} is not an array of strings ({e})"))?;
            let mut text = String::with_capacity(items.iter().map(|p| p.len() + 2).sum());
            let mut spans = Vec::with_capacity(items.len());
            for (i, p) in items.iter().enumerate() {
                if i > 0 {
                    text.push_str("\n\n");
                }
                spans.push(text.len()..text.len() + p.len());
                text.push_str(p);
            }
            return Ok(Record {
                fields,
                keys,
                nested,
                text,
                paragraphs: Some(spans),
            });
        }
        let fast = unescape(raw.get());
        let text: String = fast
            .map_or_else(|| serde_json::from_str(raw.get()), Ok)
            .map_err(|e| {
                if raw.get().starts_with('"') {
                    // serde_json rejects lone surrogates ("\ud800") with a terse message.
                    let hint = if e.to_string().contains("escape") {
                        " (a lone UTF-16 surrogate escape is not text)"
                    } else {
                        ""
                    };
                    format!("field {text_field:?}: {e}{hint}")
                } else {
                    format!("field {text_field:?} is not a string (or an array of strings)")
                }
            })?;
        Ok(Record {
            fields,
            keys,
            nested,
            text,
            paragraphs: None,
        })
    }

    /// The record's `id`: a string id as is, any other JSON value as its JSON text.
    pub fn id(&self) -> Option<String> {
        let raw = self.fields.get("id")?.get();
        Some(serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string()))
    }

    /// The `id` field exactly as written (raw JSON), if any.
    pub fn raw_id(&self) -> Option<&str> {
        self.fields.get("id").map(|v| v.get())
    }

    /// Writes the record with its text field (`text_field`, as given to
    /// [`Record::parse`]) replaced by the concatenation of `text` (the kept runs of the
    /// document, escaped where they lie: no joined copy), and a newline.
    pub fn write_with_text(
        &self,
        out: &mut Vec<u8>,
        text_field: &str,
        text: &[&str],
    ) -> std::io::Result<()> {
        self.write_with(out, text_field, &|out| write_str_parts(out, text));
        Ok(())
    }

    /// [`Record::write_with_text`] for a record whose text field holds paragraphs: the
    /// field becomes the array of `paragraphs`.
    pub fn write_with_paragraphs(&self, out: &mut Vec<u8>, text_field: &str, paragraphs: &[&str]) {
        self.write_with(out, text_field, &|out| {
            out.push(b'[');
            for (i, p) in paragraphs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, p);
            }
            out.push(b']');
        });
    }

    /// Writes the record and a newline, with `value` writing its text field's value.
    fn write_with(&self, out: &mut Vec<u8>, text_field: &str, value: &dyn Fn(&mut Vec<u8>)) {
        if self.keys.is_empty() {
            write_object(out, &self.fields, &[text_field], &[], value);
        } else {
            let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
            write_object(out, &self.fields, &keys, &self.nested, value);
        }
        out.push(b'\n');
    }
}

/// Writes the object `fields` with the value at `keys` (into the `nested` objects, one
/// per key after the first) written by `value`.
fn write_object(
    out: &mut Vec<u8>,
    fields: &IndexMap<String, &RawValue>,
    keys: &[&str],
    nested: &[IndexMap<String, &RawValue>],
    value: &dyn Fn(&mut Vec<u8>),
) {
    out.push(b'{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        match (k == keys[0], nested.split_first()) {
            (false, _) => out.extend_from_slice(v.get().as_bytes()),
            (true, None) => value(out),
            (true, Some((inner, deeper))) => write_object(out, inner, &keys[1..], deeper, value),
        }
    }
    out.push(b'}');
}

/// The text of a JSON string literal `raw` (quotes included, already checked as JSON by
/// the record's parse), or `None` when it is not a string or holds an escape this does
/// not decode (a lone surrogate): serde_json then decodes it and words the error. Sized
/// once and copied a run at a time between backslashes, where serde_json grows a scratch
/// buffer and copies the result again.
fn unescape(raw: &str) -> Option<String> {
    let body = raw.strip_prefix('"')?.strip_suffix('"')?;
    let b = body.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut start = 0; // first byte not yet copied
    loop {
        // Escapes often come back to back (text written with every non-ASCII character
        // as `\uXXXX`): look at the next byte before searching.
        let at = if b.get(start) == Some(&b'\\') {
            start
        } else {
            match memchr::memchr(b'\\', &b[start..]) {
                Some(i) => start + i,
                None => break,
            }
        };
        if at > start {
            out.push_str(&body[start..at]);
        }
        // The usual `\uXXXX`: a character of the BMP outside the surrogates, pushed
        // without the general path's checks.
        if let Some(&[b'\\', b'u', h1, h2, h3, h4]) = b.get(at..at + 6) {
            if let Some(unit @ (0..=0xD7FF | 0xE000..=0xFFFF)) = hex4(&[h1, h2, h3, h4]) {
                out.push(char::from_u32(unit)?);
                start = at + 6;
                continue;
            }
        }
        let (c, len) = match *b.get(at + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let unit = hex4(b.get(at + 2..at + 6)?)?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low one.
                        if b.get(at + 6..at + 8)? != b"\\u" {
                            return None;
                        }
                        let low = hex4(b.get(at + 8..at + 12)?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        (char::from_u32(cp)?, 12)
                    }
                    // Every other valid escape took the BMP path above: a lone low
                    // surrogate is left here.
                    _ => return None,
                }
            }
            _ => return None,
        };
        out.push(c);
        start = at + len;
    }
    out.push_str(&body[start..]);
    Some(out)
}

/// The value of four hex digits.
#[inline]
fn hex4(h: &[u8]) -> Option<u32> {
    let &[a, b, c, d] = h else {
        return None;
    };
    let [a, b, c, d] = [a, b, c, d].map(|x| u32::from(HEX_VALUE[usize::from(x)]));
    // A byte that is no hex digit has the high bits set.
    ((a | b | c | d) < 16).then_some(a << 12 | b << 8 | c << 4 | d)
}

/// Each byte's value as a hex digit, or 0xFF.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Writes `s` as a JSON string, escaped byte for byte as serde_json escapes it (`\"`,
/// `\\`, the short forms `\b \f \n \r \t`, `\u00xx` for other control characters,
/// nothing else). Eight bytes are tested at a time: nearly all of a document's text
/// needs no escape and is copied in runs.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    write_str_parts(out, &[s]);
}

/// [`write_str`] of the concatenation of `parts`, without joining them first.
fn write_str_parts(out: &mut Vec<u8>, parts: &[&str]) {
    out.reserve(parts.iter().map(|s| s.len()).sum::<usize>() + 2);
    out.push(b'"');
    parts.iter().for_each(|s| escape_into(out, s));
    out.push(b'"');
}

/// The inside of [`write_str`]: `s` escaped, without the quotes. Escaping is byte by
/// byte, so a string's parts may be escaped one after another.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0; // first byte not yet copied
    let mut i = 0;
    while i < b.len() {
        // The next byte that needs an escape: the lowest flagged byte of a word is always
        // a true one (the bit trick errs only above a true match).
        let at = match b.get(i..i + 8) {
            Some(word) => {
                let m = escape_mask(u64::from_le_bytes(word.try_into().unwrap_or_default()));
                if m == 0 {
                    i += 8;
                    continue;
                }
                i + (m.trailing_zeros() / 8) as usize
            }
            None => match b[i..]
                .iter()
                .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
            {
                Some(p) => i + p,
                None => break,
            },
        };
        out.extend_from_slice(&b[start..at]);
        let c = b[at];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
        }
        i = at + 1;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
}

/// The high bit of each byte of `w` that is a control character, `"` or `\\` (the
/// has-zero-byte bit trick: every such byte is flagged, and a byte above a flagged one may
/// be flagged too).
#[inline]
fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q & HIGH;
    let s = w ^ (ONES * u64::from(b'\\'));
    let backslash = s.wrapping_sub(ONES) & !s & HIGH;
    below_space | quote | backslash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_pass_through_unchanged() {
        let line = r#"{"id": 12345678901234567890, "text": "新闻\n广告", "meta": {"b": 1.50, "a": [1,2]}}"#;
        let r = Record::parse(line, "text").unwrap();
        assert_eq!(r.text, "新闻\n广告");
        assert_eq!(r.id().unwrap(), "12345678901234567890");
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新闻\n"]).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"id\":12345678901234567890,\"text\":\"新闻\\n\",\"meta\":{\"b\": 1.50, \"a\": [1,2]}}\n"
        );
        // In runs, as filter hands them over: the same record.
        let mut runs = Vec::new();
        r.write_with_text(&mut runs, "text", &["新", "", "闻\n"])
            .unwrap();
        assert_eq!(runs, out);
        // A key given twice is read as serde_json and Python's json read it: once, in
        // its first place, with its last value.
        let r = Record::parse(r#"{"id":1,"text":"旧","m":0,"id":2,"text":"新"}"#, "text").unwrap();
        assert_eq!((r.text.as_str(), r.raw_id()), ("新", Some("2")));
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新"]).unwrap();
        assert_eq!(out, b"{\"id\":2,\"text\":\"\xE6\x96\xB0\",\"m\":0}\n");
    }

    #[test]
    fn a_json_pointer_reaches_a_nested_text_and_the_rest_passes_through() {
        let line = r#"{"id": 7, "data": {"title": "题", "a/b": {"m~n": "新闻\n广告", "k": [1, 2]}}, "x": null}"#;
        let field = "/data/a~1b/m~0n";
        let r = Record::parse(line, field).unwrap();
        assert_eq!(r.text, "新闻\n广告");
        assert_eq!(r.raw_id(), Some("7"));
        let mut out = Vec::new();
        r.write_with_text(&mut out, field, &["新闻", "\n"]).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"id\":7,\"data\":{\"title\":\"题\",\"a/b\":{\"m~n\":\"新闻\\n\",\"k\":[1, 2]}},\"x\":null}\n"
        );
        // A one-key pointer is the top-level field.
        let top = Record::parse(r#"{"text": "新闻"}"#, "/text").unwrap();
        assert_eq!(top.text, "新闻");
        // What is wrong, named by the pointer as given.
        let err = |line: &str, field: &str| Record::parse(line, field).unwrap_err();
        assert_eq!(
            err(r#"{"data": {"title": "t"}}"#, "/data/content"),
            "record has no \"/data/content\" field"
        );
        assert_eq!(
            err(r#"{"data": "t"}"#, "/data/content"),
            "field \"/data\" is not an object"
        );
        assert_eq!(
            err(r#"{"data": {"a": [{"content": "t"}]}}"#, "/data/a/content"),
            "field \"/data/a\" is not an object"
        );
        assert_eq!(
            err(r#"{"data": {"content": 3}}"#, "/data/content"),
            "field \"/data/content\" is not a string (or an array of strings)"
        );
        let bad = pointer_keys("/data/~2x").unwrap().unwrap_err();
        assert!(bad.contains("`~` is followed by 0"), "{bad}");
        assert_eq!(err(r#"{"data": {}}"#, "/data/~"), bad.replace("~2x", "~"));
        assert!(pointer_keys("text").is_none());
        assert_eq!(pointer_keys("/").unwrap().unwrap(), [""]);
    }

    #[test]
    fn an_array_of_strings_is_paragraphs_set_apart_by_blank_lines() {
        let r = Record::parse(r#"{"p": ["甲", "乙\n丙", ""], "x": 1}"#, "p").unwrap();
        assert_eq!(r.text, "甲\n\n乙\n丙\n\n");
        assert_eq!(r.paragraphs, Some(vec![0..3, 5..12, 14..14]));
        let mut out = Vec::new();
        r.write_with_paragraphs(&mut out, "p", &["乙\n丙", "\"丁\""]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"p\":[\"乙\\n丙\",\"\\\"丁\\\"\"],\"x\":1}\n"
        );
        // Through a pointer too; an array left with nothing is an empty one.
        let r = Record::parse(r#"{"a": {"p": ["甲"], "q": 2}}"#, "/a/p").unwrap();
        assert_eq!(r.text, "甲");
        assert_eq!(
            r.paragraphs.as_deref(),
            Some(&[std::ops::Range { start: 0, end: 3 }][..])
        );
        let mut out = Vec::new();
        r.write_with_paragraphs(&mut out, "/a/p", &[]);
        assert_eq!(out, b"{\"a\":{\"p\":[],\"q\":2}}\n");
        // A string field has no paragraphs; anything else is a bad record.
        assert_eq!(
            Record::parse(r#"{"p": "甲"}"#, "p").unwrap().paragraphs,
            None
        );
        let e = Record::parse(r#"{"p": ["甲", 1]}"#, "p").unwrap_err();
        assert!(
            e.starts_with("field \"p\" is not an array of strings ("),
            "{e}"
        );
        assert_eq!(
            Record::parse(r#"{"p": {"q": "甲"}}"#, "p").unwrap_err(),
            "field \"p\" is not a string (or an array of strings)"
        );
    }

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "新闻",
            "\"quoted\" \\ back\u{7f}",
            all_ascii.as_str(),
            "新闻\n广告\r\n\t\u{8}\u{c}\u{1}\u{1f}end",
            "12345678\"",
            "1234567\\",
        ] {
            assert_eq!(escaped(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn unescaping_matches_serde_json() {
        for raw in [
            r#""""#,
            r#""新闻\n广告""#,
            r#""\"\\\/\b\f\n\r\t""#,
            r#""\u00e9\u4E2D\u0000 \ud83d\ude00 end""#,
            r#""a\\u0041""#,
        ] {
            let want: String = serde_json::from_str(raw).unwrap();
            assert_eq!(unescape(raw).as_deref(), Some(want.as_str()), "{raw}");
        }
        // What it does not decode, serde_json does (and words the error).
        for raw in [
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            "1",
            "null",
        ] {
            assert_eq!(unescape(raw), None, "{raw}");
        }
    }

    proptest::proptest! {
        #[test]
        fn unescape_matches_serde_json_on_any_string(s in "(\\PC|[\\x00-\\x1f\"\\\\/]|\u{1F600}){0,60}") {
            let raw = serde_json::to_string(&s).unwrap();
            proptest::prop_assert_eq!(unescape(&raw), Some(s.clone()));
            // The same text with every character written as \u escapes.
            let mut all = String::from("\"");
            for unit in s.encode_utf16() {
                all.push_str(&format!("\\u{unit:04x}"));
            }
            all.push('"');
            proptest::prop_assert_eq!(unescape(&all), Some(s.clone()));
            // And in upper-case hex, as some writers have it.
            proptest::prop_assert_eq!(unescape(&all.to_uppercase().replace("\\U", "\\u")), Some(s));
        }

        #[test]
        fn escaping_matches_serde_json(s in "(\\PC|[\\x00-\\x1f\"\\\\]|新闻){0,80}") {
            proptest::prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn bad_records_explain_themselves() {
        assert!(Record::parse("[1]", "text")
            .unwrap_err()
            .contains("JSON object"));
        assert!(Record::parse("{\"id\":1}", "text")
            .unwrap_err()
            .contains("no \"text\""));
        assert!(Record::parse("{\"text\":1}", "text")
            .unwrap_err()
            .contains("not a string"));
        let e = Record::parse(r#"{"text":"\ud800"}"#, "text").unwrap_err();
        assert!(e.contains("surrogate"), "{e}");
    }
}
