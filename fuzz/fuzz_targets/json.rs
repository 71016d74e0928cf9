//! Any text, read as a JSON object's members and as an array's elements by chaff's scan
//! (`chaff::json`) and by serde_json into raw values: the scan must take exactly what
//! serde_json takes (but for nesting past its limit, which it leaves to serde_json, and
//! Python's non-finite floats, which it takes: serde_json reads the text with those
//! as arrays of the same length, `nonfinite_as_arrays`) and read the same names and raw
//! values. Each string among them is unescaped as serde_json
//! reads it, and with `--lossy` always (a lone surrogate as U+FFFD). An object with a
//! "text" field is also filtered as a JSONL record and written back (`Record`), which
//! must give the same record but for its text (in ASCII if the record was), or the same
//! bytes when all is kept.
#![no_main]

use chaff::json::{
    array_elements, nonfinite_as_arrays, object_members, unescape, unescape_lossy, MAX_DEPTH,
};
use chaff::jsonl::Record;
use chaff::reader::split_str_at;
use chaff::writer::filtered_runs;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Nesting the scan follows in full: fewer brackets than its limit.
    let shallow = text.matches(['[', '{']).count() < MAX_DEPTH as usize;
    let as_json = nonfinite_as_arrays(text, 0);
    // A map keeps the last of a repeated name, as serde_json's reading of one does.
    let by_serde = serde_json::from_str::<BTreeMap<String, &RawValue>>(&as_json).map(|m| {
        m.into_iter()
            .map(|(k, v)| (k, v.get().to_string()))
            .collect::<BTreeMap<_, _>>()
    });
    match object_members(text) {
        Some(members) => {
            for (_, raw) in members.iter().filter(|(_, v)| v.starts_with('"')) {
                strings_agree(raw);
            }
            let read: BTreeMap<String, String> = members
                .into_iter()
                .map(|(k, v)| (k.into_owned(), nonfinite_as_arrays(v, 1)))
                .collect();
            assert_eq!(Some(read), by_serde.ok(), "{text:?}");
        }
        None => assert!(by_serde.is_err() || !shallow, "{text:?}"),
    }
    let by_serde = serde_json::from_str::<Vec<&RawValue>>(&as_json).map(|v| {
        v.into_iter()
            .map(|v| v.get().to_string())
            .collect::<Vec<_>>()
    });
    match array_elements(text) {
        Some(elements) => {
            for raw in elements.iter().filter(|v| v.starts_with('"')) {
                strings_agree(raw);
            }
            let read: Vec<String> = elements.iter().map(|v| nonfinite_as_arrays(v, 1)).collect();
            assert_eq!(Some(read), by_serde.ok(), "{text:?}");
        }
        None => assert!(by_serde.is_err() || !shallow, "{text:?}"),
    }
    record_round_trip(text);
});

/// A record with a "text" field, filtered as `filter` does (every third line dropped, or
/// none): read back, it is the record it was, but for the text, which is the kept text;
/// with all of the text written and its name not repeated, it is the line byte for byte.
fn record_round_trip(line: &str) {
    let Ok(record) = Record::parse(line, "text") else {
        return;
    };
    let doc = split_str_at(&record.text, 1);
    for drop in [false, true] {
        let runs = filtered_runs(&record.text, &doc, |i| !drop || i % 3 != 0);
        let mut out = Vec::new();
        record.write_with_text(&mut out, "text", &runs).unwrap();
        let out = std::str::from_utf8(&out).unwrap();
        let body = out
            .strip_suffix('\n')
            .expect("a record ends with a newline");
        let read = |t: &str| {
            serde_json::from_str::<BTreeMap<String, &RawValue>>(&nonfinite_as_arrays(t, 0)).map(
                |m| {
                    m.into_iter()
                        .map(|(k, v)| (k, v.get().to_string()))
                        .collect::<BTreeMap<_, _>>()
                },
            )
        };
        let (Ok(mut was), Ok(mut now)) = (read(line), read(body)) else {
            // Nesting past serde_json's recursion limit, which the scan leaves to it.
            continue;
        };
        let text = now.remove("text").expect("the text field is written");
        assert_eq!(
            serde_json::from_str::<String>(&text).ok(),
            Some(runs.concat()),
            "{line:?}"
        );
        was.remove("text");
        assert_eq!(was, now, "{line:?}");
        // A record written in ASCII alone (Python's default) stays so.
        if line.bytes().all(|b| b < 0x7F) {
            assert!(body.is_ascii(), "{line:?}");
        }
        let once = chaff::json::object_members(line)
            .is_some_and(|m| m.iter().filter(|(k, _)| k == "text").count() == 1);
        if once && runs.concat() == record.text {
            assert_eq!(body, line, "{line:?}");
        }
    }
}

/// A JSON string's text: chaff's as serde_json's, and lossily whatever it holds.
fn strings_agree(raw: &str) {
    let strict = unescape(raw);
    assert_eq!(strict, serde_json::from_str::<String>(raw).ok(), "{raw:?}");
    let lossy = unescape_lossy(raw);
    assert!(lossy.is_some(), "{raw:?}");
    if strict.is_some() {
        assert_eq!(lossy, strict, "{raw:?}");
    }
}
