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

/// The lines the bytes read as (as an array, or as values one after another), in reads
/// of `step` bytes; `None` where they fail. Read whole, they must come out the same.
fn read(bytes: &[u8], step: u8, sequence: bool) -> Option<Vec<u8>> {
    fn open<'a>(r: Box<dyn BufRead + 'a>, sequence: bool) -> ArrayLines<Box<dyn BufRead + 'a>> {
        match sequence {
            true => ArrayLines::sequence(r),
            false => ArrayLines::new(r),
        }
    }
    let trickle = Trickle {
        bytes,
        step: usize::from(step).max(1),
    };
    let (mut lines, mut whole) = (Vec::new(), Vec::new());
    let read = open(Box::new(trickle), sequence).read_to_end(&mut lines);
    let whole_read = open(Box::new(bytes), sequence).read_to_end(&mut whole);
    assert_eq!(read.is_ok(), whole_read.is_ok());
    read.ok().map(|_| {
        assert_eq!(lines, whole);
        lines
    })
}

/// Each line of `lines` read as JSON.
fn values(lines: &[u8]) -> Vec<serde_json::Value> {
    lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each line reads as JSON"))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    sequence(step, bytes);
    let lines = read(bytes, step, false);
    let Ok(array) = serde_json::from_slice::<Vec<serde_json::Value>>(bytes) else {
        return;
    };
    // A string holding a raw line break is not JSON, so serde_json reading the array
    // means the framing does too.
    let lines = lines.expect("an array serde_json reads is read");
    assert_eq!(values(&lines), array);
    let mut framed = Vec::new();
    let mut framer = ArrayFramer::default();
    framer.write(&mut framed, &lines).unwrap();
    framer.finish(&mut framed).unwrap();
    assert_eq!(serde_json::from_slice::<Vec<serde_json::Value>>(&framed).unwrap(), array);
});

/// The bytes read as JSON values one after another.
fn sequence(step: u8, bytes: &[u8]) {
    let lines = read(bytes, step, true);
    // Values other than objects may run into each other (`"a""b"`, `1[2]`): records
    // are objects, and only those are compared.
    let Ok(values_read) = serde_json::Deserializer::from_slice(bytes)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    if !values_read.iter().all(serde_json::Value::is_object) {
        return;
    }
    let lines = lines.expect("objects serde_json reads one after another are read");
    assert_eq!(values(&lines), values_read);
}
