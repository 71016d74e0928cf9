//! Any text, read as a JSON object's members and as an array's elements by chaff's scan
//! (`chaff::json`) and by serde_json into raw values: the scan must take exactly what
//! serde_json takes (but for nesting past its limit, which it leaves to serde_json, and
//! Python's non-finite floats, which it takes: serde_json reads the text with those
//! as arrays of the same length, `nonfinite_as_arrays`) and read the same names and raw
//! values. Each string among them is unescaped as serde_json
//! reads it, and with `--lossy` always (a lone surrogate as U+FFFD).
#![no_main]

use chaff::json::{
    array_elements, nonfinite_as_arrays, object_members, unescape, unescape_lossy, MAX_DEPTH,
};
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
});

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
