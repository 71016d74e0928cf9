//! JSONL records: one JSON object per line whose text field holds a document.
//!
//! Every other field is kept as the raw JSON it was written as (scanned by [`crate::json`],
//! or read as serde_json `RawValue`s where the scan leaves a record to serde_json),
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
//! array of the paragraphs it keeps. A pointer's `*` key, met at an array, stands for
//! each of its elements (`/段落/*/内容`: paragraphs as objects, MNBVC's layout); the keys
//! after it lead to each element's string, and `filter` writes back the elements it
//! keeps, each as it was but for that string.

use crate::json::{self, unescape, write_str, write_str_parts, Members};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
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
    /// The record's line (without its terminator), which the output is cut from.
    line: &'a str,
    /// Where in `line` the text field's value lies (its string, or its array of
    /// paragraphs): the one part of the record the output rewrites. `None` when a name on
    /// the way to it is repeated: the record is then written member by member, without
    /// the members that were never read (see [`write_object`]).
    value: Option<Range<usize>>,
    /// Whether a record all of whose text is kept may be written as it was: `value` is
    /// known, the text was read without a replacement (`--lossy`), and no element of an
    /// array of paragraphs holds a repeated name on the way to its string.
    as_read: bool,
    /// Whether the text field's value was written in ASCII alone (every other character
    /// as a `\uXXXX` escape, as Python's `json.dumps` writes by default): its kept text
    /// is then written so too.
    ascii: bool,
    fields: Object<'a>,
    /// For a JSON Pointer text field: its keys, and the objects they lead into,
    /// outermost first (the last holds the text); both empty for a top-level name.
    keys: Vec<String>,
    nested: Vec<Object<'a>>,
    /// For an array field reached through a `*` (each element): the keys after it, and
    /// per element the objects they lead through (empty where elements are strings).
    item_keys: Vec<String>,
    items: Vec<Item<'a>>,
    /// The document text (the text field, unescaped; an array's strings joined by a
    /// blank line).
    pub text: String,
    /// For a text field holding an array of strings: each string's byte range in
    /// `text`; `None` for a string.
    pub paragraphs: Option<Vec<Range<usize>>>,
}

/// The keys of a text field given as a JSON Pointer (`/a/b`), unescaped; `None` for a
/// top-level name. A `~` not followed by `0` or `1` is an error, and so is more than one
/// `*` key (where the value is an array, `*` stands for each of its elements).
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
    let keys: Result<Vec<String>, String> = rest.split('/').map(key).collect();
    Some(
        keys.and_then(|keys| match keys.iter().filter(|k| *k == "*").count() {
            0 | 1 => Ok(keys),
            _ => Err(format!(
                "{text_field:?}: a pointer takes one `*` (each element of one array)"
            )),
        }),
    )
}

impl<'a> Record<'a> {
    /// Parses one JSONL line; the error says what is wrong, for a `path:line:` message.
    pub fn parse(line: &'a str, text_field: &str) -> Result<Record<'a>, String> {
        Record::parse_as(line, text_field, false)
    }

    /// [`Record::parse`]; if `lossy` (`--lossy`), a lone surrogate escape in the text
    /// is read as U+FFFD rather than refused.
    pub fn parse_as(line: &'a str, text_field: &str, lossy: bool) -> Result<Record<'a>, String> {
        // A byte-order mark opening a line (files written with one, joined by `cat`) is
        // no JSON and can be nothing else: the record after it is read, and written back
        // with the mark before it.
        let body = line.strip_prefix('\u{feff}').unwrap_or(line);
        let fields = Object::parse(body).map_err(|e| {
            let line = body;
            // The two usual ways a file that is JSON is not JSON lines.
            let first = line.trim_start().chars().next();
            let json_like = |c: char| c.is_ascii_digit() || "{[\"-tfn".contains(c);
            let hint = if first.is_some_and(|c| !json_like(c)) {
                // No JSON value opens so: a text file given to a JSONL run.
                " (plain text, not JSON lines? chaff reads text without --jsonl)"
            } else if line.trim_start().starts_with('[') {
                " (a record is a JSON object, not an array)"
            } else if e.is_eof() {
                " (a line cut short, or a record spread over lines: a file whose first line is a { alone is read as pretty-printed records)"
            } else {
                ""
            };
            format!("not a JSON object: {e}{hint}")
        })?;
        let missing = |object: &Object, place: &str| {
            // A name with a `/` in it may be a pointer missing its leading `/`.
            if text_field.contains('/') && !text_field.starts_with('/') {
                return format!(
                    "record has no {text_field:?} field (a JSON Pointer starts with /: /{text_field})"
                );
            }
            // Else the fields there are, and where the text is if the record shows it.
            let flag = text_field_flag(body.as_bytes(), text_field)
                .map(|f| format!("; {f} reads its text"))
                .unwrap_or_default();
            let named = object.fields_named(place);
            format!("record has no {text_field:?} field{named}{flag}")
        };
        // The pointer's tokens as the user wrote them, to name a place in an error.
        let tokens = || text_field.split('/').collect::<Vec<&str>>();
        let (mut keys, mut nested, mut star) = (Vec::new(), Vec::new(), None);
        let raw: &'a str = match pointer_keys(text_field) {
            None => fields.get(text_field).ok_or_else(|| missing(&fields, ""))?,
            Some(pointer) => {
                keys = pointer?;
                let way = |d: usize| tokens()[..d + 2].join("/");
                let raw: &'a str = fields.get(&keys[0]).ok_or_else(|| missing(&fields, ""))?;
                let star_left = !keys.iter().any(|k| k == "*");
                let (raw, at) = follow(raw, &keys[1..], &mut nested, &way, &missing, star_left)?;
                star = at.map(|s| s + 1);
                raw
            }
        };
        // Cut from the line only where every name on the way is written once: an earlier
        // member of a repeated name holds text that was never read.
        let first = keys.first().map_or(text_field, String::as_str);
        let once = fields.written_once(first)
            && nested
                .iter()
                .zip(keys.iter().skip(1))
                .all(|(o, k)| o.written_once(k));
        let value = once.then(|| within(line, raw)).flatten();
        // (A value of CJK text is told from its first bytes. A DEL as it is: not Python's.)
        let ascii = raw.is_ascii() && memchr::memchr(0x7F, raw.as_bytes()).is_none();
        if star.is_some() || raw.starts_with('[') {
            // The array's place as a pointer, and the keys into each element.
            let tokens = tokens();
            let (array, item_keys) = match star {
                Some(s) => (tokens[..s + 1].join("/"), keys.split_off(s)[1..].to_vec()),
                None if keys.is_empty() => (format!("/{}", escape_key(text_field)), Vec::new()),
                None => (text_field.to_string(), Vec::new()),
            };
            let item_tokens = &tokens[tokens.len() - item_keys.len()..];
            let (text, spans, items) = elements(line, raw, &array, &item_keys, item_tokens, lossy)?;
            let items_once = items.iter().all(|item| item.at.is_some());
            let as_read = value.is_some() && items_once && read_exactly(&text, lossy);
            return Ok(Record {
                line,
                value,
                as_read,
                ascii,
                fields,
                keys,
                nested,
                item_keys,
                items,
                text,
                paragraphs: Some(spans),
            });
        }
        let text = string_value(raw, lossy).map_err(|e| match e {
            None if raw.trim() == "null" => format!("field {text_field:?} is null"),
            None => format!("field {text_field:?} is not a string (or an array of strings)"),
            Some(e) => format!("field {text_field:?}: {e}"),
        })?;
        let as_read = value.is_some() && read_exactly(&text, lossy);
        Ok(Record {
            line,
            value,
            as_read,
            ascii,
            fields,
            keys,
            nested,
            item_keys: Vec::new(),
            items: Vec::new(),
            text,
            paragraphs: None,
        })
    }

    /// The record's `id`: a string id as is, any other JSON value as its JSON text.
    pub fn id(&self) -> Option<String> {
        let raw = self.fields.get("id")?;
        Some(serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string()))
    }

    /// The `id` field exactly as written (raw JSON), if any.
    pub fn raw_id(&self) -> Option<&str> {
        self.fields.get("id")
    }

    /// Writes the record with its text field (`text_field`, as given to
    /// [`Record::parse`]) replaced by the concatenation of `text` (the kept runs of the
    /// document, escaped where they lie: no joined copy), and a newline.
    ///
    /// Where the runs are all of the text, in order (everything kept), the record is
    /// written as it was read, byte for byte; else as it was but for the text's value.
    pub fn write_with_text(
        &self,
        out: &mut Vec<u8>,
        text_field: &str,
        text: &[&str],
    ) -> std::io::Result<()> {
        let whole = text.iter().map(|t| t.len()).sum::<usize>() == self.text.len() && {
            // Runs of the text, in order and apart, are all of it: a compare, no copy.
            let mut at = 0;
            text.iter().all(|t| {
                at += t.len();
                self.text.as_bytes()[at - t.len()..at] == *t.as_bytes()
            })
        };
        if whole && self.as_read {
            out.extend_from_slice(self.line.as_bytes());
            out.push(b'\n');
            return Ok(());
        }
        self.write_with(out, text_field, &|out| self.write_string(out, text));
        Ok(())
    }

    /// [`Record::write_with_text`] for a record whose text field holds paragraphs: the
    /// field becomes the array of the elements in `kept` (an element's index in the
    /// array and its text), each as it was but for its text.
    pub fn write_with_paragraphs(
        &self,
        out: &mut Vec<u8>,
        text_field: &str,
        kept: &[(usize, &str)],
    ) {
        let spans = self.paragraphs.as_deref().unwrap_or_default();
        // Every string kept, each whole.
        let whole = kept.len() == spans.len()
            && (kept.iter().zip(spans).enumerate())
                .all(|(n, (&(i, p), s))| i == n && self.text.get(s.clone()) == Some(p));
        if whole && self.as_read {
            out.extend_from_slice(self.line.as_bytes());
            out.push(b'\n');
            return;
        }
        let item_keys: Vec<&str> = self.item_keys.iter().map(String::as_str).collect();
        self.write_with(out, text_field, &|out| {
            out.push(b'[');
            for (n, &(i, p)) in kept.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                let item = self.items.get(i);
                match (item.and_then(|item| item.at.as_ref()), item) {
                    // The element as it was written, but for its string.
                    (Some((element, string)), _) => {
                        out.extend_from_slice(&self.line.as_bytes()[element.start..string.start]);
                        self.write_string(out, &[p]);
                        out.extend_from_slice(&self.line.as_bytes()[string.end..element.end]);
                    }
                    (None, Some(item)) => match item.objects.split_first() {
                        Some((element, deeper)) => {
                            write_object(out, element, &item_keys, deeper, self.ascii, &|out| {
                                self.write_string(out, &[p])
                            })
                        }
                        None => self.write_string(out, &[p]),
                    },
                    (None, None) => self.write_string(out, &[p]),
                }
            }
            out.push(b']');
        });
    }

    /// Writes the concatenation of `parts` as a JSON string, in ASCII alone if the text
    /// was read so.
    fn write_string(&self, out: &mut Vec<u8>, parts: &[&str]) {
        match self.ascii {
            true => json::write_str_parts_ascii(out, parts),
            false => write_str_parts(out, parts),
        }
    }

    /// Writes the record and a newline, with `value` writing its text field's value.
    fn write_with(&self, out: &mut Vec<u8>, text_field: &str, value: &dyn Fn(&mut Vec<u8>)) {
        // Room for the record as read: the same record with some of its text gone,
        // escaped no longer than it was read, fits in it (a record written member by
        // member may not: its names are escaped anew; the buffer then grows). Left to
        // grow on its own, it would double past a long record's end (its escapes overflow
        // the text's decoded length): 205 MB for a record whose output is 103 MB.
        out.reserve(self.line.len() + 2);
        if let Some(at) = &self.value {
            // The record as it was written (spacing, order, escapes), but for the value.
            out.extend_from_slice(&self.line.as_bytes()[..at.start]);
            value(out);
            out.extend_from_slice(&self.line.as_bytes()[at.end..]);
        } else if self.keys.is_empty() {
            write_object(out, &self.fields, &[text_field], &[], self.ascii, value);
        } else {
            let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
            write_object(out, &self.fields, &keys, &self.nested, self.ascii, value);
        }
        out.push(b'\n');
    }
}

/// One element of an array of paragraphs.
#[derive(Debug)]
struct Item<'a> {
    /// The objects on the way to its string (none where the element is the string).
    objects: Vec<Object<'a>>,
    /// Where the element and its string lie in the record's line; `None` when a name on
    /// the way is repeated (the element is then written member by member).
    at: Option<(Range<usize>, Range<usize>)>,
}

/// An array field read: its text, each string's range in it, and its elements.
type Elements<'a> = (String, Vec<Range<usize>>, Vec<Item<'a>>);

/// The text of the array `raw` (at `array`, a pointer for errors; a slice of the record's
/// `line`): each element's string, reached through `item_keys` (written `item_tokens`),
/// joined by blank lines; each string's range in it; and the elements.
fn elements<'a>(
    line: &'a str,
    raw: &'a str,
    array: &str,
    item_keys: &[String],
    item_tokens: &[&str],
    lossy: bool,
) -> Result<Elements<'a>, String> {
    let elements: Vec<&'a str> = match json::array_elements(raw) {
        Some(elements) => elements,
        None => serde_json::from_str::<Vec<&RawValue>>(raw)
            .map_err(|_| format!("field {array:?} is not an array"))?
            .into_iter()
            .map(RawValue::get)
            .collect(),
    };
    let mut text = String::with_capacity(raw.len());
    let (mut spans, mut items) = (Vec::new(), Vec::new());
    for (i, element) in elements.into_iter().enumerate() {
        let way = |d: usize| {
            let rest: String = item_tokens[..d].iter().map(|t| format!("/{t}")).collect();
            format!("{array}/{i}{rest}")
        };
        let missing = |object: &Object, place: &str| {
            let named = object.fields_named(place);
            format!("record has no {:?} field{named}", way(item_keys.len()))
        };
        let mut objects = Vec::new();
        // The pointer has one `*` (pointer_keys), so this one meets none.
        let (string, _) = follow(element, item_keys, &mut objects, &way, &missing, false)?;
        let p = string_value(string, lossy).map_err(|e| match e {
            None if string.trim() == "null" => format!("field {:?} is null", way(item_keys.len())),
            None => format!("field {:?} is not a string", way(item_keys.len())),
            Some(e) => format!("field {:?}: {e}", way(item_keys.len())),
        })?;
        if i > 0 {
            text.push_str("\n\n");
        }
        spans.push(text.len()..text.len() + p.len());
        text.push_str(&p);
        let once = objects
            .iter()
            .zip(item_keys)
            .all(|(o, k)| o.written_once(k));
        let at = once
            .then(|| within(line, element).zip(within(line, string)))
            .flatten();
        items.push(Item { objects, at });
    }
    Ok((text, spans, items))
}

/// A JSON object's members in order, each value raw. A name may repeat (JSON allows
/// it): every member is kept, so a record passes through as it was written, where a map
/// would keep one of them.
#[derive(Debug)]
struct Object<'a>(Members<'a>);

impl<'a> Object<'a> {
    /// The object that `text` holds, by the scan or else by serde_json (which words the
    /// error).
    fn parse(text: &'a str) -> serde_json::Result<Object<'a>> {
        match json::object_members(text) {
            Some(members) => Ok(Object(members)),
            None => serde_json::from_str(text),
        }
    }

    /// Whether exactly one member is named `key`.
    fn written_once(&self, key: &str) -> bool {
        self.0.iter().filter(|(k, _)| k == key).count() == 1
    }

    /// The value of the last member named `key`, as JSON parsers read a repeated name.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|&(_, v)| v)
    }

    /// The object's names for an error, as ` (its fields: id, content)` for the record
    /// and ` (fields of /data: title)` for the object at `place`: a user who named the
    /// wrong field sees the right one.
    fn fields_named(&self, place: &str) -> String {
        const SHOWN: usize = 12;
        let mut names: Vec<String> = Vec::new();
        for (k, _) in &self.0 {
            // A name that would not read as itself in the list (empty, ` text`, `a, b`)
            // is shown as JSON writes it.
            let plain = !k.is_empty()
                && !k.contains(|c: char| {
                    c == ',' || c == '"' || c.is_whitespace() || c.is_control()
                });
            let shown = match plain {
                true => k.to_string(),
                false => serde_json::to_string(k).unwrap_or_default(),
            };
            if !names.contains(&shown) {
                names.push(shown);
            }
        }
        let whose = match place {
            "" => "its fields".to_string(),
            _ => format!("fields of {place}"),
        };
        match names.len() {
            0 if place.is_empty() => " (the record is empty)".into(),
            0 => format!(" ({place} is empty)"),
            n if n > SHOWN => format!(" ({whose}: {}, ...)", names[..SHOWN].join(", ")),
            _ => format!(" ({whose}: {})", names.join(", ")),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Object<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Members<'a> {
            type Value = Object<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Object<'a>, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((Cow::Owned(k), v.get()));
                }
                Ok(Object(members))
            }
        }
        d.deserialize_map(Members(PhantomData))
    }
}

/// Follows `keys` down from `raw` through objects, each pushed on `nested`, and returns
/// the value reached. A `*` key met at an array stops there: the array comes back with
/// the `*`'s place in `keys`. `way(d)` names the value after `d` keys, for errors, and
/// an array met where the pointer could still take a `*` (`star_left`) is named as one.
fn follow<'a>(
    mut raw: &'a str,
    keys: &[String],
    nested: &mut Vec<Object<'a>>,
    way: &dyn Fn(usize) -> String,
    missing: &dyn Fn(&Object, &str) -> String,
    star_left: bool,
) -> Result<(&'a str, Option<usize>), String> {
    for (d, key) in keys.iter().enumerate() {
        if key == "*" && raw.starts_with('[') {
            return Ok((raw, Some(d)));
        }
        let object = Object::parse(raw).map_err(|_| {
            if raw.starts_with('[') && star_left {
                // RFC 6901 reads a number here as an index; chaff's pointers take every
                // element or none, so say which to write.
                let here = way(d);
                return format!(
                    "field {here:?} is an array: a pointer here takes `*` for each of its elements ({here}/*), not one element's index or a name"
                );
            }
            let what = if key == "*" {
                "an array (or an object)"
            } else {
                "an object"
            };
            format!("field {:?} is not {what}", way(d))
        })?;
        raw = object.get(key).ok_or_else(|| missing(&object, &way(d)))?;
        nested.push(object);
    }
    Ok((raw, None))
}

/// Where `part` (a slice of `line`, as raw values are) lies in `line`; `None` if it is
/// not a slice of it.
fn within(line: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= line.len()).then_some(start..end)
}

/// Whether `text`, read from a record, is what the record holds: not so when `--lossy`
/// may have put U+FFFD for a lone surrogate escape (written back as it was, the record
/// would keep the escape that strict readers refuse).
fn read_exactly(text: &str, lossy: bool) -> bool {
    !lossy || !text.contains('\u{FFFD}')
}

/// The text of a raw JSON string (a lone surrogate escape as U+FFFD if `lossy`);
/// `Err(None)` when `raw` is not a string, `Err(Some)` with serde_json's words when it is
/// one that is not text (a lone surrogate escape).
fn string_value(raw: &str, lossy: bool) -> Result<String, Option<String>> {
    let text = match lossy {
        false => unescape(raw),
        true => json::unescape_lossy(raw),
    };
    if let Some(text) = text {
        return Ok(text);
    }
    if !raw.starts_with('"') {
        return Err(None);
    }
    serde_json::from_str(raw).map_err(|e| {
        // serde_json rejects lone surrogates ("\ud800") with a terse message.
        let hint = if e.to_string().contains("escape") {
            " (a lone UTF-16 surrogate escape is not text; --lossy reads it as U+FFFD)"
        } else {
            ""
        };
        Some(format!("{e}{hint}"))
    })
}

/// The `--text-field` that reads the record `line` (one JSON object), for a hint: `text`
/// when that reads it (a crawl's `html` field may hold more), else the field holding the
/// most text: a string, an array of strings, or one level down, a string in an object
/// (`/data/content`) or in each object of an array (`/段落/*/内容`); `None` if none does.
pub fn suggest_text_field(line: &[u8]) -> Option<String> {
    use serde_json::Value;
    let record: serde_json::Map<String, Value> = serde_json::from_slice(line).ok()?;
    // How much text a value holds as a --text-field reads it.
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|e| e.as_str().map(|s| s.chars().count()))
            .sum(),
        _ => None,
    };
    if record.get("text").and_then(text).is_some() {
        return Some("text".into());
    }
    let mut best: Option<(usize, String)> = None;
    let mut consider = |n: Option<usize>, field: String| {
        if let Some(n) = n.filter(|&n| n > 0 && best.as_ref().is_none_or(|b| n > b.0)) {
            best = Some((n, field));
        }
    };
    for (name, value) in &record {
        let pointer = format!("/{}", escape_key(name));
        match value {
            Value::Object(inner) => {
                for (key, v) in inner {
                    consider(text(v), format!("{pointer}/{}", escape_key(key)));
                }
            }
            Value::Array(items) if items.first().is_some_and(Value::is_object) => {
                let key_texts = items[0].as_object().into_iter().flatten();
                for (key, _) in key_texts {
                    let each: Option<usize> = items
                        .iter()
                        .map(|e| {
                            e.get(key)
                                .and_then(Value::as_str)
                                .map(|s| s.chars().count())
                        })
                        .sum();
                    consider(each, format!("{pointer}/*/{}", escape_key(key)));
                }
            }
            // A plain name where it is one, as a user would type it.
            _ if !name.contains('/') && !name.is_empty() => consider(text(value), name.clone()),
            _ => consider(text(value), pointer),
        }
    }
    best.map(|(_, field)| field)
}

/// [`suggest_text_field`] as the flag to type (`--text-field '/段落/*/内容'`), unless it
/// is `given`, the field the run reads already.
pub fn text_field_flag(line: &[u8], given: &str) -> Option<String> {
    let field = suggest_text_field(line).filter(|f| f != given)?;
    Some(format!("--text-field {}", shell_word(&field)))
}

/// `word` as one shell word: as it is when it has nothing a shell would act on, else in
/// single quotes (a pointer's `*` would be a glob).
fn shell_word(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| !c.is_ascii() || c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.into();
    }
    format!("'{}'", word.replace('\'', r"'\''")).into()
}

/// A name as a JSON Pointer token (RFC 6901: `~` as `~0`, `/` as `~1`).
fn escape_key(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Writes the object `fields` with the value at `keys` (into the `nested` objects, one
/// per key after the first) written by `value`; names in ASCII alone if `ascii` (the
/// record's text was written so, and so, then, were its names).
fn write_object(
    out: &mut Vec<u8>,
    fields: &Object<'_>,
    keys: &[&str],
    nested: &[Object<'_>],
    ascii: bool,
    value: &dyn Fn(&mut Vec<u8>),
) {
    out.push(b'{');
    // Of a repeated name on the way to the text, the last member is the one read; the
    // others were never the text to any reader, and would keep unfiltered text.
    let read = fields.0.iter().rposition(|(k, _)| k == keys[0]);
    let mut first = true;
    for (i, (k, v)) in fields.0.iter().enumerate() {
        if k == keys[0] && Some(i) != read {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        match ascii {
            true => json::write_str_parts_ascii(out, &[k]),
            false => write_str(out, k),
        }
        out.push(b':');
        match (k == keys[0], nested.split_first()) {
            (false, _) => out.extend_from_slice(v.as_bytes()),
            (true, None) => value(out),
            (true, Some((inner, deeper))) => {
                write_object(out, inner, &keys[1..], deeper, ascii, value)
            }
        }
    }
    out.push(b'}');
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
        // The record as it was written, but for the text's value.
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"id\": 12345678901234567890, \"text\": \"新闻\\n\", \"meta\": {\"b\": 1.50, \"a\": [1,2]}}\n"
        );
        // In runs, as filter hands them over: the same record.
        let mut runs = Vec::new();
        r.write_with_text(&mut runs, "text", &["新", "", "闻\n"])
            .unwrap();
        assert_eq!(runs, out);
        // All of the text kept: the record byte for byte (escapes, spacing and all).
        let line = r#" {"\u0074ext" : "\u65b0\u95fb\n\u5e7f\u544a" ,"id":[1 ]}	"#;
        let r = Record::parse(line, "text").unwrap();
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新闻\n", "广告"])
            .unwrap();
        assert_eq!(out, format!("{line}\n").as_bytes());
        // Part of it: the rest as it was, the value in ASCII as it was read.
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["广告"]).unwrap();
        let want = " {\"\\u0074ext\" : \"\\u5e7f\\u544a\" ,\"id\":[1 ]}\t\n";
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
        // Read as UTF-8, written so.
        let r = Record::parse(r#"{"text":"新闻\n广告\u0021"}"#, "text").unwrap();
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["广告!"]).unwrap();
        let want = "{\"text\":\"广告!\"}\n";
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
        // What `--lossy` read as U+FFFD is written so even if all of it is kept.
        let r = Record::parse_as(r#"{"text": "新\ud800"}"#, "text", true).unwrap();
        assert_eq!(r.text, "新\u{FFFD}");
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新\u{FFFD}"])
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"text\": \"新\u{FFFD}\"}\n"
        );
        // A name given twice is read as serde_json and Python's json read it, by its
        // last value; the record passes through with both, but for the text field: its
        // last member holds the kept text, an earlier one is dropped.
        let line = r#"{"id":1,"text":"旧","m":0,"id":2,"text":"新","n":{"t":"甲","t":"乙"}}"#;
        let r = Record::parse(line, "text").unwrap();
        assert_eq!((r.text.as_str(), r.raw_id()), ("新", Some("2")));
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新"]).unwrap();
        // (All of the text kept, and still not as it was: the earlier text was never read.)
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"id\":1,\"m\":0,\"id\":2,\"text\":\"新\",\"n\":{\"t\":\"甲\",\"t\":\"乙\"}}\n"
        );
        // Written member by member, a record read in ASCII alone stays so.
        let line = r#"{"\u540d":1,"text":"\u65e7","text":"\u65b0\n\u95fb"}"#;
        let r = Record::parse(line, "text").unwrap();
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新\n"]).unwrap();
        let want = "{\"\\u540d\":1,\"text\":\"\\u65b0\\n\"}\n";
        assert_eq!(std::str::from_utf8(&out).unwrap(), want);
        let line = r#"{"id":1,"text":"旧","m":0,"id":2,"text":"新","n":{"t":"甲","t":"乙"}}"#;
        let r = Record::parse(line, "/n/t").unwrap();
        assert_eq!(r.text, "乙");
        let mut out = Vec::new();
        r.write_with_text(&mut out, "/n/t", &[]).unwrap();
        assert!(out.ends_with(b"\"text\":\"\xE6\x96\xB0\",\"n\":{\"t\":\"\"}}\n"));
    }

    #[test]
    fn a_long_record_is_written_into_the_room_it_was_read_in() {
        // 4.6 MB of text with an escape every few characters: left to grow, the buffer
        // doubled past the record's end.
        let para = r#"新闻段落，\"引号\"。\n评论\t哈哈\n"#;
        let line = format!(r#"{{"id":1,"text":"{}","m":0}}"#, para.repeat(100_000));
        let r = Record::parse(&line, "text").unwrap();
        let kept: Vec<&str> = r.text.split_inclusive('\n').step_by(2).collect();
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &kept).unwrap();
        assert!(
            out.capacity() <= line.len() + 2,
            "{} {}",
            out.capacity(),
            line.len()
        );
        let back = Record::parse(std::str::from_utf8(&out).unwrap().trim_end(), "text");
        assert_eq!(back.unwrap().text, kept.concat());
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
            "{\"id\": 7, \"data\": {\"title\": \"题\", \"a/b\": {\"m~n\": \"新闻\\n\", \"k\": [1, 2]}}, \"x\": null}\n"
        );
        // A one-key pointer is the top-level field.
        let top = Record::parse(r#"{"text": "新闻"}"#, "/text").unwrap();
        assert_eq!(top.text, "新闻");
        // What is wrong, named by the pointer as given.
        let err = |line: &str, field: &str| Record::parse(line, field).unwrap_err();
        assert_eq!(
            err(r#"{"data": {"title": "t"}}"#, "/data/content"),
            "record has no \"/data/content\" field (fields of /data: title); --text-field /data/title reads its text"
        );
        assert_eq!(
            err(r#"{"data": {"content": "t"}}"#, "data/content"),
            "record has no \"data/content\" field (a JSON Pointer starts with /: /data/content)"
        );
        assert_eq!(
            err(r#"{"data": "t"}"#, "/data/content"),
            "field \"/data\" is not an object"
        );
        assert_eq!(
            err(r#"{"data": {"a": [{"content": "t"}]}}"#, "/data/a/content"),
            "field \"/data/a\" is an array: a pointer here takes `*` for each of its elements (/data/a/*), not one element's index or a name"
        );
        assert_eq!(
            err(r#"{"p": ["t", "u"]}"#, "/p/0"),
            "field \"/p\" is an array: a pointer here takes `*` for each of its elements (/p/*), not one element's index or a name"
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
        r.write_with_paragraphs(&mut out, "p", &[(1, "乙\n丙"), (2, "\"丁\"")]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"p\": [\"乙\\n丙\",\"\\\"丁\\\"\"], \"x\": 1}\n"
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
        assert_eq!(out, b"{\"a\": {\"p\": [], \"q\": 2}}\n");
        // Every string kept whole: the record as it was.
        let line = r#"{"p": ["甲" , "乙\n丙"]}"#;
        let r = Record::parse(line, "p").unwrap();
        let mut out = Vec::new();
        r.write_with_paragraphs(&mut out, "p", &[(0, "甲"), (1, "乙\n丙")]);
        assert_eq!(out, format!("{line}\n").as_bytes());
        let mut out = Vec::new();
        r.write_with_paragraphs(&mut out, "p", &[(0, "甲"), (1, "丙")]);
        assert_eq!(out, "{\"p\": [\"甲\",\"丙\"]}\n".as_bytes());
        // A string field has no paragraphs; anything else is a bad record.
        assert_eq!(
            Record::parse(r#"{"p": "甲"}"#, "p").unwrap().paragraphs,
            None
        );
        assert_eq!(
            Record::parse(r#"{"p": ["甲", 1]}"#, "p").unwrap_err(),
            "field \"/p/1\" is not a string"
        );
        assert_eq!(
            Record::parse(r#"{"p": {"q": "甲"}}"#, "p").unwrap_err(),
            "field \"p\" is not a string (or an array of strings)"
        );
        // A null text is named as such (Parquet's words for a null cell).
        assert_eq!(
            Record::parse(r#"{"p": null }"#, "p").unwrap_err(),
            "field \"p\" is null"
        );
        assert_eq!(
            Record::parse(r#"{"p": ["甲", null]}"#, "p").unwrap_err(),
            "field \"/p/1\" is null"
        );
    }

    #[test]
    fn a_star_reaches_the_text_in_each_element_of_an_array_of_objects() {
        // MNBVC's layout: paragraphs as objects, each with its text and its own fields.
        let line = r#"{"文件名": "a.txt", "段落": [{"行号": 1, "内容": "甲\n乙"}, {"行号": 2, "m": {"内容": "x"}, "内容": "丙"}, {"内容": "丁", "行号": 3}], "段落数": 3}"#;
        let field = "/段落/*/内容";
        let r = Record::parse(line, field).unwrap();
        assert_eq!(r.text, "甲\n乙\n\n丙\n\n丁");
        assert_eq!(r.paragraphs, Some(vec![0..7, 9..12, 14..17]));
        let mut out = Vec::new();
        r.write_with_paragraphs(&mut out, field, &[(0, "乙"), (2, "丁\"")]);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"文件名\": \"a.txt\", \"段落\": [{\"行号\": 1, \"内容\": \"乙\"},{\"内容\": \"丁\\\"\", \"行号\": 3}], \"段落数\": 3}\n"
        );
        // Deeper on both sides of the `*`; `*` at the end is the array of strings.
        let r = Record::parse(
            r#"{"d": {"p": [{"t": {"s": "甲"}, "k": 0}]}}"#,
            "/d/p/*/t/s",
        )
        .unwrap();
        assert_eq!(r.text, "甲");
        let mut out = Vec::new();
        r.write_with_paragraphs(&mut out, "/d/p/*/t/s", &[(0, "乙")]);
        assert_eq!(
            out,
            "{\"d\": {\"p\": [{\"t\": {\"s\": \"乙\"}, \"k\": 0}]}}\n".as_bytes()
        );
        let r = Record::parse(r#"{"p": ["甲", "乙"]}"#, "/p/*").unwrap();
        assert_eq!(r.text, "甲\n\n乙");
        // Where the value is an object, `*` is a key as any other.
        assert_eq!(
            Record::parse(r#"{"*": {"*": "甲"}}"#, "/*/x").unwrap_err(),
            "record has no \"/*/x\" field (fields of /*: *); --text-field '/*/*' reads its text"
        );
        assert_eq!(
            Record::parse(r#"{"a": {"*": "甲"}}"#, "/a/*").unwrap().text,
            "甲"
        );
        // Each error names the element by its index.
        let err = |line: &str| Record::parse(line, field).unwrap_err();
        assert_eq!(
            err(r#"{"段落": "甲"}"#),
            "field \"/段落\" is not an array (or an object)"
        );
        assert_eq!(
            err(r#"{"段落": [{"内容": "甲"}, "乙"]}"#),
            "field \"/段落/1\" is not an object"
        );
        assert_eq!(
            err(r#"{"段落": [{"行号": 1}]}"#),
            "record has no \"/段落/0/内容\" field (fields of /段落/0: 行号)"
        );
        assert_eq!(
            err(r#"{"段落": [{"内容": 1}]}"#),
            "field \"/段落/0/内容\" is not a string"
        );
        let e = err(r#"{"段落": [{"内容": "\ud800"}]}"#);
        assert!(
            e.starts_with("field \"/段落/0/内容\": ") && e.contains("surrogate"),
            "{e}"
        );
        let e = pointer_keys("/a/*/b/*").unwrap().unwrap_err();
        assert!(e.contains("one `*`"), "{e}");
        // An empty array is a document with no lines.
        let r = Record::parse(r#"{"段落": []}"#, field).unwrap();
        assert_eq!((r.text.as_str(), r.paragraphs), ("", Some(vec![])));
    }

    /// The members as serde_json reads them (names, raw values), or its error.
    fn by_serde(text: &str) -> Result<Vec<(String, String)>, String> {
        let object: Object = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(object
            .0
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.to_string()))
            .collect())
    }

    /// The members as the scan reads them, each value as serde_json reads it once
    /// Python's non-finite floats are arrays (`json::nonfinite_as_arrays`); `None` where
    /// the scan leaves `text` to serde_json.
    fn by_scan(text: &str) -> Option<Vec<(String, String)>> {
        let members = json::object_members(text)?;
        Some(
            members
                .into_iter()
                .map(|(k, v)| (k.into_owned(), json::nonfinite_as_arrays(v, 1)))
                .collect(),
        )
    }

    /// [`by_serde`] of `text` with Python's non-finite floats as arrays: what the scan
    /// must agree with.
    fn by_serde_nonfinite(text: &str) -> Result<Vec<(String, String)>, String> {
        by_serde(&json::nonfinite_as_arrays(text, 0))
    }

    #[test]
    fn the_scan_reads_objects_as_serde_json_does() {
        for text in [
            r#"{}"#,
            " \t\r\n{ } \n",
            r#"{"id":1,"text":"新闻\n广告","meta":{"a":[1,-0.5e+3,true,false,null,{}]},"x":[]}"#,
            r#"{ "a" : "b" , "a" : [ 1 , 2 ] }"#,
            r#"{"\u0041\n\"\\\/":"\ud800","k\u00e9":0}"#,
            r#"{"n":[0,-0,10,1.0,1e5,1E-5,-12.25e+01]}"#,
            // Python's floats that are not finite, and their words in strings.
            r#"{"a":NaN,"b":[Infinity,-Infinity],"c":"NaN","d":{"NaN":-Infinity}}"#,
        ] {
            let want = by_serde_nonfinite(text).unwrap();
            assert_eq!(by_scan(text), Some(want), "{text}");
        }
        let members = json::object_members(r#"{"a":NaN,"b":[-Infinity]}"#).unwrap();
        assert_eq!(members[0].1, "NaN");
        assert_eq!(members[1].1, "[-Infinity]");
        // What serde_json refuses the scan leaves to it (which words the error).
        for text in [
            "",
            "{",
            "}",
            "[]",
            "1",
            "{,}",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":1 "b":2}"#,
            r#"{a:1}"#,
            r#"{"a":01}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":.5}"#,
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":{"b"}}"#,
            r#"{"a":{"b":1,}}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12G4"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":1}x"#,
            r#"{"a":1}{}"#,
            r#"{"\ud800":1}"#,
            r#"{"a":"x}"#,
            r#"{"a":+1}"#,
            r#"{"a":[}"#,
            r#"{"a":nan}"#,
            r#"{"a":-NaN}"#,
            r#"{"a":NaNa}"#,
            r#"{"a":Infinit}"#,
            r#"{"a":+Infinity}"#,
            r#"{"a":--Infinity}"#,
            r#"{"a":1NaN}"#,
            r#"{"a":NaN1}"#,
            r#"{NaN:1}"#,
        ] {
            assert!(by_serde_nonfinite(text).is_err(), "{text}");
            assert_eq!(by_scan(text), None, "{text}");
        }
        // Nesting past the scan's limit is left to serde_json, which reads it.
        let deep = format!(
            r#"{{"a":{}{}}}"#,
            "[".repeat(json::MAX_DEPTH as usize),
            "]".repeat(json::MAX_DEPTH as usize)
        );
        assert_eq!(by_scan(&deep), None);
        assert!(by_serde(&deep).is_ok());
        assert!(Record::parse(&deep.replace("{\"a\"", "{\"text\":\"甲\",\"a\""), "text").is_ok());
        // Arrays too.
        let elements = json::array_elements(r#" [ "a" , {"b":[]} ,1 ] "#).unwrap();
        assert_eq!(elements, [r#""a""#, r#"{"b":[]}"#, "1"]);
        assert_eq!(json::array_elements("[]").unwrap(), Vec::<&str>::new());
        for text in ["[1,]", "[", "{}", "[1]]", "[,1]"] {
            assert_eq!(json::array_elements(text), None, "{text}");
        }
    }

    /// JSON text: a value of nested arrays and objects with whitespace around its parts.
    fn json_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let string = || "\"([a-z新闻 😀]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,6}\"";
        let ws = || "[ \t\r\n]{0,2}";
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("NaN".to_string()),
            "-?Infinity",
            "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?",
            string(),
        ];
        leaf.prop_recursive(4, 32, 4, move |inner| {
            let element = (ws(), inner.clone(), ws()).prop_map(|(a, v, b)| format!("{a}{v}{b}"));
            let member = (ws(), string(), ws(), ws(), inner, ws())
                .prop_map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"));
            prop_oneof![
                proptest::collection::vec(element, 0..4).prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(member, 0..4)
                    .prop_map(|v| format!("{{{}}}", v.join(","))),
            ]
        })
    }

    proptest::proptest! {
        /// The scan takes what serde_json takes and reads it the same (Python's
        /// non-finite floats aside), on JSON and on JSON with one character changed,
        /// dropped or added.
        #[test]
        fn the_scan_agrees_with_serde_json(
            members in proptest::collection::vec(("\"[a-z]{0,3}\"", json_value()), 0..4),
            edit in proptest::option::of((0usize..10_000, 0usize..3, proptest::sample::select(
                "{}[]\",:\\ 0-+.eEtfnu\u{1}1aNI".chars().collect::<Vec<char>>()))),
        ) {
            let text: String = format!("{{{}}}", members.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(","));
            let mut chars: Vec<char> = text.chars().collect();
            if let Some((at, how, c)) = edit {
                let at = at % chars.len();
                match how {
                    0 => chars[at] = c,
                    1 => { chars.remove(at); }
                    _ => chars.insert(at, c),
                }
            }
            let text: String = chars.into_iter().collect();
            let scan = by_scan(&text);
            match by_serde_nonfinite(&text) {
                Ok(want) => proptest::prop_assert_eq!(scan, Some(want), "{}", text),
                Err(_) => proptest::prop_assert_eq!(scan, None, "{}", text),
            }
        }

        /// A record filtered as `filter` does it (any members around the text, any
        /// spacing, the name or the text written with `\u` escapes, any lines kept) is the
        /// record as it was written but for the text's value, which holds the kept text
        /// as serde_json writes it (every character outside ASCII escaped if the text
        /// was written so); a record whose text is all kept is written as it was.
        #[test]
        fn a_record_is_written_as_it_was_but_for_its_text(
            before in proptest::collection::vec(("\"[a-s]{0,3}\"", json_value()), 0..3),
            after in proptest::collection::vec(("\"[a-s]{0,3}\"", json_value()), 0..3),
            spaces in proptest::collection::vec("[ \t]{0,2}", 5),
            name in proptest::sample::select(vec![r#""text""#, r#""\u0074ext""#, r#""te\u0078\u0074""#]),
            lines in proptest::collection::vec("[新闻甲 a\"]{0,4}", 1..6),
            ascii in proptest::bool::ANY,
            keep in proptest::collection::vec(proptest::bool::ANY, 6),
        ) {
            let members = |m: &[(String, String)]| {
                m.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>()
            };
            let text = lines.join("\n");
            // As Python's `json.dumps` writes it by default (`ensure_ascii`), or as-is.
            let as_written = |text: &str| -> String {
                match ascii {
                    true => serde_json::to_string(text).unwrap().chars().map(|c| match c {
                        c if c.is_ascii() => c.to_string(),
                        c => format!("\\u{:04x}", u32::from(c)),
                    }).collect(),
                    false => serde_json::to_string(text).unwrap(),
                }
            };
            let value = as_written(&text);
            let [s0, s1, s2, s3, s4] = &spaces[..] else { unreachable!() };
            let mut head = members(&before);
            head.push(format!("{s1}{name}{s2}:{s3}"));
            let prefix = format!("{s0}{{{}", head.join(","));
            let suffix = match after.is_empty() {
                true => format!("{s4}}}"),
                false => format!("{s4},{}}}", members(&after).join(",")),
            };
            let line = format!("{prefix}{value}{suffix}");
            let record = Record::parse(&line, "text").unwrap();
            proptest::prop_assert_eq!(&record.text, &text);
            let doc = crate::reader::split_str_at(&record.text, 1);
            let runs = crate::writer::filtered_runs(&record.text, &doc, |i| keep[i % keep.len()]);
            let mut out = Vec::new();
            record.write_with_text(&mut out, "text", &runs).unwrap();
            let kept = runs.concat();
            let want = match kept == text {
                true => format!("{line}\n"),
                false => format!("{prefix}{}{suffix}\n", as_written(&kept)),
            };
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn a_byte_order_mark_opening_a_line_is_passed_over_and_kept() {
        let line = "\u{feff}{\"id\": 1, \"text\": \"新闻\\n广告\"}";
        let r = Record::parse(line, "text").unwrap();
        assert_eq!((r.text.as_str(), r.raw_id()), ("新闻\n广告", Some("1")));
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新闻\n"]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}{\"id\": 1, \"text\": \"新闻\\n\"}\n"
        );
        let mut out = Vec::new();
        r.write_with_text(&mut out, "text", &["新闻\n", "广告"])
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{line}\n"));
        // Only one, and only first.
        assert!(Record::parse("\u{feff}\u{feff}{\"text\": \"\"}", "text").is_err());
        assert!(Record::parse("{\"text\": \"\"}\u{feff}", "text").is_err());
    }

    #[test]
    fn bad_records_explain_themselves() {
        assert!(Record::parse("[1]", "text")
            .unwrap_err()
            .contains("JSON object"));
        // A line holding an array (a file of one is read as its records, where it is
        // told: `crate::sniff::json_framing`), and pretty-printed records, are named for
        // what they are.
        let e = Record::parse(r#"[{"text": "甲"}, {"text": "乙"}]"#, "text").unwrap_err();
        assert!(
            e.ends_with("(a record is a JSON object, not an array)"),
            "{e}"
        );
        let e = Record::parse("{", "text").unwrap_err();
        assert!(
            e.contains("spread over lines") && e.contains("{ alone"),
            "{e}"
        );
        let e = Record::parse("【标题】 新闻正文", "text").unwrap_err();
        assert!(
            e.ends_with("(plain text, not JSON lines? chaff reads text without --jsonl)"),
            "{e}"
        );
        let e = Record::parse(r#"{"text": "甲"} x"#, "text").unwrap_err();
        assert!(!e.contains("jq"), "{e}");
        // The record's fields are named, so the right --text-field is in sight.
        assert_eq!(
            Record::parse(r#"{"id":1,"content":"甲","url":"u","id":2}"#, "text").unwrap_err(),
            "record has no \"text\" field (its fields: id, content, url); --text-field content reads its text"
        );
        assert_eq!(
            Record::parse("{}", "text").unwrap_err(),
            "record has no \"text\" field (the record is empty)"
        );
        // Names that would not read as themselves in the list are quoted.
        let e = Record::parse(r#"{"":1," text ":2,"a, b":3,"标题":4,"t\n":5}"#, "text");
        assert!(e
            .unwrap_err()
            .contains(r#"(its fields: "", " text ", "a, b", 标题, "t\n")"#));
        let many: Vec<String> = (0..20).map(|i| format!("\"f{i}\":{i}")).collect();
        let e = Record::parse(&format!("{{{}}}", many.join(",")), "text").unwrap_err();
        assert!(
            e.ends_with("(its fields: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, ...)"),
            "{e}"
        );
        assert!(Record::parse("{\"text\":1}", "text")
            .unwrap_err()
            .contains("not a string"));
        let e = Record::parse(r#"{"text":"\ud800"}"#, "text").unwrap_err();
        assert!(e.contains("surrogate") && e.contains("--lossy"), "{e}");
    }

    #[test]
    fn lossy_reads_a_lone_surrogate_as_a_replacement_character() {
        let line = r#"{"id":1,"text":"新闻\ud83d\n广告","p":[{"t":"甲\udc00"},{"t":"乙"}]}"#;
        let r = Record::parse_as(line, "text", true).unwrap();
        assert_eq!(r.text, "新闻\u{FFFD}\n广告");
        let r = Record::parse_as(line, "/p/*/t", true).unwrap();
        assert_eq!(r.text, "甲\u{FFFD}\n\n乙");
        for field in ["text", "/p/*/t"] {
            let e = Record::parse_as(line, field, false).unwrap_err();
            assert!(e.contains("surrogate"), "{e}");
        }
        // Only text: JSON that is not valid stays an error.
        let e = Record::parse_as(r#"{"text":"\ud800\uZZZZ"}"#, "text", true).unwrap_err();
        assert!(e.contains("escape"), "{e}");
    }
}
