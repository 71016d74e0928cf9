//! Any bytes, read as every input format chaff accepts: compressed or not, any encoding
//! (detected, forced, lossy), chunked text or JSONL records, then classified and
//! filtered. Nothing may panic, and filtered text must be made of input lines.
#![no_main]

use chaff::input::{open_stream, DecodeOptions, Opened};
use chaff::jsonl::Record;
use chaff::pipeline::decide;
use chaff::sniff::Reads;
use chaff::reader::{lines_each, split_lines, split_lines_at, split_records_at, split_str_at, Chunker};
use chaff::writer::{filter_chunk, filtered_paragraphs, filtered_str, write_filtered};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{gated, model};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let records = mode & 16 != 0;
    let opts = DecodeOptions {
        encoding: match mode % 5 {
            1 => Some(encoding_rs_label("gbk")),
            2 => Some(encoding_rs_label("big5")),
            3 => Some(encoding_rs_label("utf-16le")),
            _ => None,
        },
        lossy: mode & 8 != 0,
        // Eager sniffing comes with records, as in the CLI (`--pipe` needs `--jsonl`).
        eager: records,
        // A run tells other formats apart (and skips them) unless `--plain-text` forces
        // a text run to read them.
        reads: match records {
            true => Reads::JsonLines,
            false => Reads::PlainText,
        },
        force_text: mode & 4 != 0,
        // The pool's size (`open_stream` knows no length: xz is read on one thread).
        workers: 0,
    };
    let target = (mode as usize >> 5) * 7;
    let Ok(Opened::Text { text, .. }) = open_stream(Box::new(std::io::Cursor::new(bytes.to_vec())), &opts) else {
        return;
    };
    let (clf, policy) = model();
    let mut chunker = Chunker::from_text(text, records, target);
    while let Ok(Some(chunk)) = chunker.next_chunk() {
        // Records end at "\n" alone; a text's lines at "\r" too if it has no "\n".
        let split = |bytes, first| match records {
            true => split_records_at(bytes, first),
            false => split_lines_at(bytes, first),
        };
        let Ok(lines) = split(&chunk.bytes, chunk.first_line) else {
            if !records {
                return;
            }
            // Runs that let bad records by read such a chunk line by line: the bad line
            // named is the same, and every byte is in a line, good or bad.
            let (number, _) = split(&chunk.bytes, chunk.first_line).unwrap_err();
            let each = lines_each(&chunk.bytes, chunk.first_line);
            assert_eq!(each.iter().find_map(|l| l.as_ref().err()).map(|b| b.number), Some(number));
            let bytes: usize = each
                .iter()
                .map(|l| match l {
                    Ok(l) => l.raw.len(),
                    Err(b) => b.body.len(),
                })
                .sum();
            assert!(bytes <= chunk.bytes.len());
            return;
        };
        assert_eq!(lines.iter().map(|l| l.raw.len()).sum::<usize>(), chunk.bytes.len());
        if records {
            for l in &lines {
                // The fast unescape must agree with serde_json's on every record.
                let plain = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l.text)
                    .ok()
                    .and_then(|m| m.get("text").and_then(|v| v.as_str().map(String::from)));
                let parsed = Record::parse(l.text, "text");
                if let Ok(r) = &parsed {
                    if let Some(p) = &plain {
                        assert_eq!(&r.text, p);
                    }
                }
                if let Ok(r) = parsed {
                    let doc = split_str_at(&r.text, 1);
                    assert_eq!(doc, split_lines(r.text.as_bytes()).expect("record text is UTF-8"));
                    let d = decide(clf, policy, &doc, false);
                    // A document threshold changes no score, and either no decision or
                    // every one (the document dropped whole).
                    let g = decide(clf, gated(), &doc, false);
                    let kept = |d: &[Option<chaff::writer::Decision>]| -> Vec<Option<bool>> {
                        d.iter().map(|d| d.as_ref().map(|d| d.keep)).collect()
                    };
                    let dropped: Vec<_> = kept(&d).iter().map(|k| k.map(|_| false)).collect();
                    assert!(kept(&g) == kept(&d) || kept(&g) == dropped);
                    for (a, b) in d.iter().zip(&g) {
                        assert_eq!(a.as_ref().map(|a| &a.posteriors), b.as_ref().map(|b| &b.posteriors));
                    }
                    let keep = |i: usize| d[i].as_ref().is_some_and(|d| d.keep);
                    let mut whole = Vec::new();
                    write_filtered(&mut whole, &doc, keep).expect("in-memory write");
                    assert_eq!(filtered_str(&r.text, &doc, keep).as_bytes(), whole);
                    // Records written back parse to the same text (the escaper's output
                    // is valid JSON for any text, also when given in parts).
                    let mut cut = r.text.len() / 2;
                    while !r.text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    let (a, b) = r.text.split_at(cut);
                    let mut out = Vec::new();
                    r.write_with_text(&mut out, "text", &[a, b]).expect("in-memory write");
                    let back = Record::parse(std::str::from_utf8(&out).expect("UTF-8").trim_end(), "text")
                        .expect("a written record parses");
                    assert_eq!(back.text, r.text);
                    // The same text two objects down, reached by a JSON Pointer, comes
                    // back the same through a write.
                    let inner = std::str::from_utf8(&out).expect("UTF-8").trim_end();
                    let line = format!("{{\"a\":{{\"b/c\":{inner},\"d\":1}},\"e\":[]}}");
                    let deep = Record::parse(&line, "/a/b~1c/text").expect("a nested record parses");
                    assert_eq!(deep.text, r.text);
                    let mut again = Vec::new();
                    deep.write_with_text(&mut again, "/a/b~1c/text", &[b, a]).expect("in-memory write");
                    let v: serde_json::Value = serde_json::from_slice(&again).expect("valid JSON");
                    assert_eq!(v["a"]["b/c"]["text"].as_str(), Some(format!("{b}{a}").as_str()));
                    assert_eq!((&v["a"]["d"], &v["e"]), (&serde_json::json!(1), &serde_json::json!([])));
                    // Twice, as objects in an array reached through `*`: one text of the
                    // two set apart by a blank line; written back, the kept elements hold
                    // what filter keeps of each, beside their other fields.
                    let line = format!("{{\"p\":[{inner},{inner}],\"q\":2}}");
                    let star = Record::parse(&line, "/p/*/text").expect("an array record parses");
                    assert_eq!(star.text, format!("{}\n\n{}", r.text, r.text));
                    let sdoc = split_str_at(&star.text, 1);
                    let sd = decide(clf, policy, &sdoc, false);
                    let spans = star.paragraphs.clone().expect("an array field");
                    let kept = filtered_paragraphs(&star.text, &spans, |i| {
                        sd[i].as_ref().is_some_and(|d| d.keep)
                    });
                    let kept: Vec<(usize, &str)> = kept.iter().map(|(i, k)| (*i, k.as_str())).collect();
                    let mut arr = Vec::new();
                    star.write_with_paragraphs(&mut arr, "/p/*/text", &kept);
                    let v: serde_json::Value = serde_json::from_slice(&arr).expect("valid JSON");
                    let elements = v["p"].as_array().expect("an array");
                    assert_eq!(elements.len(), kept.len());
                    for (e, (_, k)) in elements.iter().zip(&kept) {
                        assert_eq!(e["text"].as_str(), Some(*k));
                    }
                    assert_eq!(v["q"], serde_json::json!(2));
                    let _ = r.id();
                }
            }
        } else {
            // Every chunk as a part the document continues past, and as its end.
            let d = decide(clf, policy, &lines, true);
            assert_eq!(d.len(), lines.len());
            let d = decide(clf, policy, &lines, false);
            assert_eq!(d.len(), lines.len());
            let f = filter_chunk(&lines, |i| d[i].as_ref().is_some_and(|d| d.keep));
            assert!(f.body.len() + f.gap.len() + f.tail.len() <= chunk.bytes.len());
        }
    }
});

fn encoding_rs_label(l: &str) -> &'static encoding_rs::Encoding {
    DecodeOptions::parse_encoding(l).expect("known label")
}
