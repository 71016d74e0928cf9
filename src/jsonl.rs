//! JSONL records: one JSON object per line whose text field holds a document.
//!
//! Every other field is kept as the raw JSON it was written as (serde_json `RawValue`),
//! in its original order, so a record comes out exactly as it went in except for the
//! text field.

use indexmap::IndexMap;
use serde_json::value::RawValue;

/// One parsed record.
#[derive(Debug)]
pub struct Record {
    fields: IndexMap<String, Box<RawValue>>,
    /// The document text (the text field, unescaped).
    pub text: String,
}

impl Record {
    /// Parses one JSONL line; the error says what is wrong, for a `path:line:` message.
    pub fn parse(line: &str, text_field: &str) -> Result<Record, String> {
        let fields: IndexMap<String, Box<RawValue>> =
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
            serde_json::to_writer(&mut *out, k)?;
            out.push(b':');
            if k == text_field {
                serde_json::to_writer(&mut *out, text)?;
            } else {
                out.extend_from_slice(v.get().as_bytes());
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
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
