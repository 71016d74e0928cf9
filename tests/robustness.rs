//! Arbitrary bytes through the reader, classifier and writer: no panic, kept output is a
//! byte-exact subsequence of the input lines, and the accounting adds up. (A cheap,
//! deterministic stand-in until the proptest/cargo-fuzz work of the reliability issue.)

use chaff::classifier::{Classifier, KeepPolicy};
use chaff::pipeline::decide;
use chaff::reader::split_lines;
use chaff::writer::write_filtered;

#[test]
fn arbitrary_documents_never_panic_and_output_is_a_subsequence() {
    let model = chaff::default_model().unwrap();
    let policy = KeepPolicy::new(&model, &[], None).unwrap();
    let clf = Classifier::new(model);
    let pieces: &[&[u8]] = &[
        "国务院常务会议研究部署".as_bytes(),
        "哈哈[哈哈]".as_bytes(),
        b"\n",
        b"\r\n",
        b"  ",
        "\u{3000}".as_bytes(),
        "  • ".as_bytes(),
        b"\xef\xbb\xbf",
        b"\0",
        b"#t#",
        "😀".as_bytes(),
        b"a",
        "經濟".as_bytes(),
    ];
    let mut x: u64 = 42;
    for _ in 0..3000 {
        let mut doc = Vec::new();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for k in 0..(x % 40) {
            let r = x.rotate_left(k as u32 * 5);
            doc.extend_from_slice(pieces[(r % pieces.len() as u64) as usize]);
            if r % 97 == 0 {
                doc.push((r >> 8) as u8); // sometimes invalid UTF-8
            }
        }
        let Ok(lines) = split_lines(&doc) else {
            continue;
        };
        assert_eq!(lines.iter().map(|l| l.raw.len()).sum::<usize>(), doc.len());
        let decisions = decide(&clf, &policy, &lines);
        let blank = decisions.iter().filter(|d| d.is_none()).count();
        let kept = decisions.iter().flatten().filter(|d| d.keep).count();
        let dropped = decisions.iter().flatten().filter(|d| !d.keep).count();
        assert_eq!(blank + kept + dropped, lines.len());
        let mut out = Vec::new();
        write_filtered(&mut out, &lines, |i| {
            decisions[i].as_ref().is_some_and(|d| d.keep)
        })
        .unwrap();
        // Every output line is an input line, in order.
        let mut rest = lines.iter();
        for o in split_lines(&out).unwrap() {
            assert!(
                rest.any(|l| l.raw == o.raw),
                "output line not in input order"
            );
        }
    }
}
