//! JSONL records: one JSON object per line whose text field holds a document.
//!
//! Every other field is kept as the raw JSON it was written as (serde_json `RawValue`),
//! in its original order, so a record comes out exactly as it went in except for the
//! text field.

use indexmap::IndexMap;
use serde_json::value::RawValue;

/// One parsed record, borrowing its raw field values from the line (the text field,
/// most of a record, is not copied before it is unescaped).
#[derive(Debug)]
pub struct Record<'a> {
    fields: IndexMap<String, &'a RawValue>,
    /// The document text (the text field, unescaped).
    pub text: String,
}

impl<'a> Record<'a> {
    /// Parses one JSONL line; the error says what is wrong, for a `path:line:` message.
    pub fn parse(line: &'a str, text_field: &str) -> Result<Record<'a>, String> {
        let fields: IndexMap<String, &'a RawValue> =
            serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let raw = fields
            .get(text_field)
            .ok_or_else(|| format!("record has no {text_field:?} field"))?;
        let text: String = serde_json::from_str(raw.get()).map_err(|e| {
            if raw.get().starts_with('"') {
                // serde_json rejects lone surrogates ("\ud800") with a terse message.
                let hint = if e.to_string().contains("escape") {
                    " (a lone UTF-16 surrogate escape is not text)"
                } else {
                    ""
                };
                format!("field {text_field:?}: {e}{hint}")
            } else {
                format!("field {text_field:?} is not a string")
            }
        })?;
        Ok(Record { fields, text })
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

    /// Writes the record with its text field replaced by `text`, and a newline.
    pub fn write_with_text(
        &self,
        out: &mut Vec<u8>,
        text_field: &str,
        text: &str,
    ) -> std::io::Result<()> {
        out.push(b'{');
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            if k == text_field {
                write_str(out, text);
            } else {
                out.extend_from_slice(v.get().as_bytes());
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// Writes `s` as a JSON string, escaped byte for byte as serde_json escapes it (`\"`,
/// `\\`, the short forms `\b \f \n \r \t`, `\u00xx` for other control characters,
/// nothing else). Eight bytes are tested at a time: nearly all of a document's text
/// needs no escape and is copied in runs.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0; // first byte not yet copied
    let mut i = 0;
    while i < b.len() {
        if let Some(word) = b.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&b[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 15)]);
        } else {
            out.extend_from_slice(short);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `w` is a control character, `"` or `\\` (exact:
/// the has-zero-byte bit trick, which can only err within a word already flagged).
#[inline]
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q & HIGH;
    let s = w ^ (ONES * u64::from(b'\\'));
    let backslash = s.wrapping_sub(ONES) & !s & HIGH;
    below_space | quote | backslash != 0
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
        r.write_with_text(&mut out, "text", "新闻\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":12345678901234567890,\"text\":\"新闻\\n\",\"meta\":{\"b\": 1.50, \"a\": [1,2]}}\n"
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

    proptest::proptest! {
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
