//! Any bytes, read as a WARC file: framed into chunks of whole records at any chunk size,
//! every conversion record classified and written back. Nothing may panic; every failure
//! is a framing error naming a line; the records found do not depend on the chunk size;
//! and a record written back frames again with its length and digest holding.
#![no_main]

use chaff::input::Text;
use chaff::pipeline::decide;
use chaff::reader::{split_str_at, Chunker};
use chaff::warc::{framing_error, parse_head, read_record, sha1_base32, write_record};
use chaff::writer::filtered_runs;
use libfuzzer_sys::fuzz_target;

mod common;
use common::model;

/// The blocks of every record framed in chunks of `target` bytes, and the error that
/// stopped the framing (its line), if one did.
fn frame(bytes: &[u8], target: usize) -> (Vec<Vec<u8>>, Option<usize>) {
    let mut chunker = Chunker::warc(Text::Whole(bytes.to_vec()), target);
    let mut blocks = Vec::new();
    loop {
        match chunker.next_chunk() {
            Ok(Some(chunk)) => {
                let mut end = 0;
                for span in &chunk.records {
                    assert!(span.head.start >= end && span.head.end == span.body.start);
                    assert!(span.body.end <= span.end && span.end <= chunk.bytes.len());
                    end = span.end;
                    let head = parse_head(&chunk.bytes[span.head.clone()], span.line)
                        .expect("a framed record's head parses again");
                    assert_eq!(head.content_length, span.body.len());
                    blocks.push(chunk.bytes[span.body.clone()].to_vec());
                    classify(&chunk.bytes[span.head.clone()], &chunk.bytes[span.body.clone()], span.line);
                }
            }
            Ok(None) => return (blocks, None),
            Err(e) => {
                let f = framing_error(&e).expect("reading memory fails only in framing");
                assert!(f.line >= 1 && !f.msg.is_empty());
                return (blocks, Some(f.line));
            }
        }
    }
}

/// Classifies a conversion record's block and writes the record back filtered: the
/// result frames as one record whose length and digest hold.
fn classify(head: &[u8], block: &[u8], line: usize) {
    let head = parse_head(head, line).expect("parsed before");
    let Ok(text) = std::str::from_utf8(block) else {
        return;
    };
    if !head.is_conversion() {
        return;
    }
    let (clf, policy) = model();
    let doc = split_str_at(text, 1);
    let d = decide(clf, policy, &doc, false);
    let runs = filtered_runs(text, &doc, |i| d[i].as_ref().is_some_and(|d| d.keep));
    let mut out = Vec::new();
    write_record(&mut out, &head, &runs);
    let (mut reader, mut again, mut n) = (&out[..], Vec::new(), line);
    let span = read_record(&mut reader, &mut again, &mut n)
        .expect("a written record frames")
        .expect("one record");
    assert_eq!(span.end, out.len());
    let back = parse_head(&again[span.head.clone()], span.line).expect("its head parses");
    let body = std::str::from_utf8(&again[span.body.clone()]).expect("UTF-8 block");
    assert_eq!(body, runs.concat());
    if let Some(digest) = back.get("WARC-Block-Digest") {
        if digest.to_ascii_lowercase().starts_with("sha1:") {
            assert_eq!(&digest[5..], sha1_base32(&[body]));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let (whole, error) = frame(bytes, usize::MAX);
    let (chunked, error2) = frame(bytes, mode as usize * 13);
    assert_eq!(error, error2);
    if error.is_none() {
        // (A failed chunk's records are not handed out, so only a clean run compares.)
        assert_eq!(whole, chunked);
    }
});
