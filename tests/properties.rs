//! Property tests: for arbitrary byte strings as input documents, `tag` and `filter`
//! (through the library's real pipeline: decoding, chunking, threads) never panic, kept
//! output lines are a byte-exact subsequence of the input lines, and the accounting adds
//! up (kept + dropped + blank == lines; tag writes one record per non-blank line).

use chaff::classifier::{Classifier, KeepPolicy};
use chaff::pipeline::{Engine, FilterTarget, InputFormat, RunOptions, Sidecars};
use chaff::reader::split_lines;
use chaff::sources::{Inputs, Source};
use chaff::writer::TagFormat;
use proptest::prelude::*;
use std::sync::OnceLock;

fn model() -> &'static (Classifier, KeepPolicy) {
    static M: OnceLock<(Classifier, KeepPolicy)> = OnceLock::new();
    M.get_or_init(|| {
        let m = chaff::default_model().unwrap();
        let p = KeepPolicy::new(&m, &[], None).unwrap();
        (Classifier::new(m), p)
    })
}

const PIECES: &[&str] = &[
    "国务院常务会议研究部署",
    "哈哈[哈哈]",
    "\n",
    "\r\n",
    "  ",
    "\u{3000}",
    "\u{b}",
    "  • ",
    "\u{feff}",
    "\0",
    "#话题#",
    "😀",
    "a",
    "經濟",
    "\"text\":",
    "{",
    "}",
    "\\ud800",
    "。",
];

fn document() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(prop::sample::select(PIECES), 0..80)
            .prop_map(|p| p.concat().into_bytes()),
        (
            prop::collection::vec(prop::sample::select(PIECES), 0..40),
            prop::collection::vec(any::<u8>(), 0..8)
        )
            .prop_map(|(p, junk)| {
                let mut b = p.concat().into_bytes();
                let at = b.len() / 2;
                b.splice(at..at, junk);
                b
            }),
    ]
}

/// Filter output with its summary, and tag output, for one document.
type Runs = (
    chaff::Result<(Vec<u8>, chaff::pipeline::Summary)>,
    chaff::Result<Vec<u8>>,
);

fn run(bytes: &[u8], format: InputFormat, chunk: usize) -> Runs {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc");
    std::fs::write(&path, bytes).unwrap();
    let sources = vec![Source::File {
        path: path.clone(),
        rel_from: path.components().count() - 1,
        link: false,
    }];
    let (c, p) = model();
    let engine = Engine {
        classifier: c,
        policy: p,
        opts: RunOptions {
            format,
            chunk_bytes: chunk,
            ..RunOptions::default()
        },
    };
    let mut out = Vec::new();
    let filtered = engine
        .filter(
            Inputs::list(sources.clone()),
            FilterTarget::Stream(&mut out),
            Sidecars::default(),
        )
        .map(|s| (out, s));
    let mut tag = Vec::new();
    let tagged = engine
        .tag(
            Inputs::list(sources),
            TagFormat::Json,
            &mut tag,
            Sidecars::default(),
        )
        .map(|_| tag);
    (filtered, tagged)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn text_filter_output_is_a_subsequence_and_accounting_holds(doc in document(), chunk in 1usize..64) {
        let (filtered, tagged) = run(&doc, InputFormat::Text, chunk);
        prop_assert_eq!(filtered.is_ok(), tagged.is_ok());
        if let (Ok((out, s)), Ok(tag)) = (filtered, tagged) {
            prop_assert_eq!(s.kept + s.dropped + s.blank, s.lines);
            prop_assert_eq!(tag.iter().filter(|&&b| b == b'\n').count() as u64, s.kept + s.dropped);
            prop_assert_eq!(s.bytes_out, out.len() as u64);
            if std::str::from_utf8(&doc).is_ok() && !doc.contains(&0) {
                // Raw UTF-8 passes through untouched: every output line is an input line.
                let input = split_lines(&doc).unwrap();
                prop_assert_eq!(s.lines, input.len() as u64);
                let mut rest = input.iter();
                for o in out.split_inclusive(|&b| b == b'\n') {
                    prop_assert!(rest.any(|l| l.raw == o), "output line not an input line in order");
                }
            }
        }
    }

    #[test]
    fn jsonl_never_panics_and_counts_documents(doc in document()) {
        let format = InputFormat::Jsonl { text_field: "text".into() };
        let (filtered, _) = run(&doc, format, 1 << 20);
        if let Ok((out, s)) = filtered {
            prop_assert_eq!(s.kept + s.dropped + s.blank, s.lines);
            let records = out.iter().filter(|&&b| b == b'\n').count() as u64;
            prop_assert_eq!(records + s.empty_dropped, s.documents);
        }
    }
}

#[test]
fn valid_jsonl_records_round_trip() {
    let doc =
        "{\"id\":\"a\",\"text\":\"国务院常务会议研究部署城市防汛工作。\\n\\n哈哈哈[哈哈]\"}\n";
    let (filtered, _) = run(
        doc.as_bytes(),
        InputFormat::Jsonl {
            text_field: "text".into(),
        },
        1 << 20,
    );
    let (out, s) = filtered.unwrap();
    assert_eq!((s.documents, s.lines), (1, 3));
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("{\"id\":\"a\",\"text\":\"国务院"));
}
