//! Any bytes, read as a JSON array of records ([`chaff::json_array::ArrayLines`]) in
//! reads of any size: nothing may panic; where serde_json reads the bytes as one array,
//! the lines are its elements, each read as the same value; and the lines framed back
//! ([`chaff::json_array::ArrayFramer`]) read as the same array. Read as records one after
//! another ([`ArrayLines::sequence`]), where serde_json reads them as objects one after
//! another, the lines are those objects.
#![no_main]

use chaff::json_array::{ArrayFramer, ArrayLines};
use libfuzzer_sys::fuzz_target;
use std::io::{BufRead, Read};

/// Hands out the bytes `step` at a time: the framing must not depend on where reads end.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Trickle<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.bytes[..self.step.min(self.bytes.len())])
    }
    fn consume(&mut self, n: usize) {
        self.bytes = &self.bytes[n..];
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    sequence(step, bytes);
    let mut lines = Vec::new();
    let read = ArrayLines::new(Trickle {
        bytes,
        step: usize::from(step).max(1),
    })
    .read_to_end(&mut lines);
    let mut whole = Vec::new();
    let whole_read = ArrayLines::new(bytes).read_to_end(&mut whole);
    assert_eq!(read.is_ok(), whole_read.is_ok());
    if read.is_ok() {
        assert_eq!(lines, whole);
    }
    let Ok(array) = serde_json::from_slice::<Vec<serde_json::Value>>(bytes) else {
        return;
    };
    // A string holding a raw line break is not JSON, so serde_json reading the array
    // means the framing does too.
    assert!(read.is_ok(), "{:?}", read);
    let elements: Vec<serde_json::Value> = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each element reads as JSON"))
        .collect();
    assert_eq!(elements, array);
    let mut framed = Vec::new();
    let mut framer = ArrayFramer::default();
    framer.write(&mut framed, &lines).unwrap();
    framer.finish(&mut framed).unwrap();
    assert_eq!(serde_json::from_slice::<Vec<serde_json::Value>>(&framed).unwrap(), array);
});

/// The bytes read as JSON values one after another.
fn sequence(step: u8, bytes: &[u8]) {
    let mut lines = Vec::new();
    let read = ArrayLines::sequence(Trickle {
        bytes,
        step: usize::from(step).max(1),
    })
    .read_to_end(&mut lines);
    let mut whole = Vec::new();
    let whole_read = ArrayLines::sequence(bytes).read_to_end(&mut whole);
    assert_eq!(read.is_ok(), whole_read.is_ok());
    if read.is_ok() {
        assert_eq!(lines, whole);
    }
    // Values other than objects may run into each other (`"a""b"`, `1[2]`): records
    // are objects, and only those are compared.
    let Ok(values) = serde_json::Deserializer::from_slice(bytes)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    if !values.iter().all(serde_json::Value::is_object) {
        return;
    }
    assert!(read.is_ok(), "{:?}", read);
    let records: Vec<serde_json::Value> = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each record reads as JSON"))
        .collect();
    assert_eq!(records, values);
}
