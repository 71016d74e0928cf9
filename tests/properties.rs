//! Property tests: for arbitrary byte strings as input documents, `tag` and `filter`
//! (through the library's real pipeline: decoding, chunking, threads) never panic, kept
//! output lines are a byte-exact subsequence of the input lines, and the accounting adds
//! up (kept + dropped + blank == lines; tag writes one record per non-blank line).

mod common;

use chaff::classifier::{Classifier, KeepPolicy};
use chaff::jsonl::BadRecords;
use chaff::pipeline::{Engine, FilterTarget, InputFormat, RunOptions, Sidecars};
use chaff::reader::split_lines;
use chaff::sources::{Inputs, Source};
use chaff::writer::TagFormat;
use common::unpathed;
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
    "\r",
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
    run_with(bytes, format, chunk, BadRecords::Error)
}

fn run_with(bytes: &[u8], format: InputFormat, chunk: usize, bad_records: BadRecords) -> Runs {
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
            bad_records,
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

/// Proptest's first find for the skip above (session 25): a pretty-printed record's
/// opening, which a plain-text run skips.
#[test]
fn a_document_that_opens_like_a_record_is_skipped_whole() {
    let (filtered, tagged) = run(b"{\n\"text\":", InputFormat::Text, 1);
    let (out, s) = filtered.unwrap();
    assert_eq!((s.skipped, s.lines, out.len()), (1, 0, 0));
    assert!(tagged.unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The library's one-call filter of a text in memory writes what a run over a file
    /// of that text writes.
    #[test]
    fn filter_str_writes_what_a_run_writes(
        pieces in prop::collection::vec(
            prop::sample::select(PIECES.iter().copied().filter(|p| *p != "\0").collect::<Vec<_>>()),
            0..80,
        )
    ) {
        let text = pieces.concat();
        let (filtered, _) = run(text.as_bytes(), InputFormat::Text, 1 << 20);
        let (out, s) = filtered.unwrap();
        // What a run skips as not text (a NUL, a record's opening) has no filter of its own.
        prop_assume!(s.skipped == 0);
        let (c, p) = model();
        let kept = chaff::pipeline::filter_str(c, p, &text);
        prop_assert_eq!(String::from_utf8_lossy(&out), kept);
    }

    #[test]
    fn text_filter_output_is_a_subsequence_and_accounting_holds(doc in document(), chunk in 1usize..64) {
        let (filtered, tagged) = run(&doc, InputFormat::Text, chunk);
        prop_assert_eq!(filtered.is_ok(), tagged.is_ok());
        if let (Ok((out, s)), Ok(tag)) = (filtered, tagged) {
            prop_assert_eq!(s.kept + s.dropped + s.blank, s.lines);
            prop_assert_eq!(tag.iter().filter(|&&b| b == b'\n').count() as u64, s.kept + s.dropped);
            prop_assert_eq!(s.bytes_out, out.len() as u64);
            // A file that opens like another format (a JSON record from the pieces) is
            // skipped whole: nothing read, nothing written.
            if s.skipped == 1 {
                prop_assert_eq!((s.lines, out.len()), (0, 0));
            } else if std::str::from_utf8(&doc).is_ok() && !doc.contains(&0) {
                // Raw UTF-8 passes through untouched: every output line is an input line.
                let input = split_lines(&doc).unwrap();
                prop_assert_eq!(s.lines, input.len() as u64);
                let mut rest = input.iter();
                // Lines end at "\n", or at "\r" in a document with no "\n" but its last byte.
                let eol = chaff::reader::document_line_end(&doc);
                for o in out.split_inclusive(|&b| b == eol) {
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

    #[test]
    fn bad_jsonl_records_skipped_or_kept_leave_the_rest_alone(
        records in prop::collection::vec((any::<bool>(), prop::sample::select(PIECES), 0usize..5), 0..24),
        chunk in 1usize..400,
    ) {
        // Good records hold a piece of text; bad ones are one of five kinds of unusable line.
        const BAD: &[&str] = &["{\"id\":1}", "{\"text\":null}", "[]", "not json", "{\"text\":\"\\ud800\"}"];
        let (mut all, mut good, mut bad) = (String::new(), String::new(), Vec::new());
        for (i, (ok, text, kind)) in records.iter().enumerate() {
            let line = if *ok {
                let l = serde_json::json!({"id": i, "text": text}).to_string();
                good += &l;
                good.push('\n');
                l
            } else {
                bad.push(BAD[*kind]);
                BAD[*kind].to_string()
            };
            all += &line;
            all.push('\n');
        }
        let jsonl = || InputFormat::Jsonl { text_field: "text".into() };
        let clean = run(good.as_bytes(), jsonl(), chunk).0.unwrap();
        let skip = run_with(all.as_bytes(), jsonl(), chunk, BadRecords::Skip);
        let (out, s) = skip.0.unwrap();
        // `[]` alone is an empty JSON array: read, and written back as one.
        if all.trim() == "[]" {
            prop_assert_eq!((s.skipped, s.bad_records, s.documents), (0, 0, 0));
            prop_assert_eq!(out, b"[]\n");
            return Ok(());
        }
        // A file no line of which opens a JSON object is no JSON lines: skipped whole,
        // under any policy (the README beside a dataset's shards).
        if !all.lines().any(|l| l.starts_with('{')) && !all.is_empty() {
            prop_assert_eq!((s.skipped, s.bad_records, out.len()), (1, 0, 0));
            let (_, s) = run(all.as_bytes(), jsonl(), chunk).0.unwrap();
            prop_assert_eq!((s.skipped, s.bad_records), (1, 0));
            return Ok(());
        }
        prop_assert_eq!(&out, &clean.0);
        prop_assert_eq!(s.bad_records, bad.len() as u64);
        prop_assert_eq!(s.documents, clean.1.documents);
        // Tag records too, but for the path of each run's temporary file.
        let clean_tag = run(good.as_bytes(), jsonl(), chunk).1.unwrap();
        prop_assert_eq!(unpathed(&skip.1.unwrap()), unpathed(&clean_tag));
        // keep: the bad lines in their places, the good records' output around them.
        let (out, s) = run_with(all.as_bytes(), jsonl(), chunk, BadRecords::Keep).0.unwrap();
        prop_assert_eq!(s.bad_records, bad.len() as u64);
        let out = String::from_utf8(out).unwrap();
        let (kept_bad, rest): (Vec<&str>, Vec<&str>) =
            out.lines().partition(|l| BAD.contains(l));
        prop_assert_eq!(&kept_bad, &bad);
        let rest: String = rest.iter().map(|l| format!("{l}\n")).collect();
        prop_assert_eq!(rest.as_bytes(), &clean.0[..]);
        // The default stops the run at the first bad line.
        prop_assert_eq!(run(all.as_bytes(), jsonl(), chunk).0.is_err(), !bad.is_empty());
    }
}

/// A WARC record's header fields (name, value) and block.
type WarcRecord = (Vec<(String, String)>, Vec<u8>);

/// The records of a WARC file, framed by chaff's own reader.
fn warc_records(bytes: &[u8]) -> Vec<WarcRecord> {
    let (mut reader, mut out, mut line, mut records) = (bytes, Vec::new(), 1, Vec::new());
    while let Some(span) = chaff::warc::read_record(&mut reader, &mut out, &mut line).unwrap() {
        let head = chaff::warc::parse_head(&out[span.head.clone()], span.line).unwrap();
        let fields = head
            .fields
            .iter()
            .map(|f| (f.name.to_string(), f.value.to_string()));
        records.push((fields.collect(), out[span.body.clone()].to_vec()));
    }
    records
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn warc_conversion_records_filter_and_tag_as_jsonl_records_do(
        records in prop::collection::vec(
            (0usize..4, prop::collection::vec(prop::sample::select(PIECES), 0..30)), 0..12),
        crlf in any::<bool>(),
        chunk in 1usize..600,
    ) {
        // Conversion records (3 kinds in 4) among others, with the same texts as JSONL.
        let eol = if crlf { "\r\n" } else { "\n" };
        let (mut warc, mut jsonl, mut others) = (String::new(), String::new(), Vec::new());
        for (i, (kind, pieces)) in records.iter().enumerate() {
            let body: String = pieces.iter().filter(|p| **p != "\0").copied().collect();
            let id = format!("<urn:uuid:{i}>");
            let kind = if *kind == 0 { "metadata" } else { "conversion" };
            let record = format!(
                "WARC/1.0{eol}WARC-Type: {kind}{eol}WARC-Record-ID: {id}{eol}WARC-Block-Digest: sha1:{}{eol}Content-Length: {}{eol}{eol}{body}\r\n\r\n",
                chaff::warc::sha1_base32(&[&body]), body.len());
            warc += &record;
            if kind == "conversion" {
                jsonl += &serde_json::json!({"id": id, "text": body}).to_string();
                jsonl.push('\n');
            } else {
                others.push(record);
            }
        }
        let json = InputFormat::Jsonl { text_field: "text".into() };
        let (j_out, j_sum) = run(jsonl.as_bytes(), json.clone(), chunk).0.unwrap();
        let (w_out, w_sum) = run(warc.as_bytes(), InputFormat::Warc, chunk).0.unwrap();
        prop_assert_eq!(w_sum.documents, j_sum.documents);
        prop_assert_eq!((w_sum.kept, w_sum.dropped, w_sum.blank), (j_sum.kept, j_sum.dropped, j_sum.blank));
        prop_assert_eq!(w_sum.empty_dropped, j_sum.empty_dropped);
        prop_assert_eq!(w_sum.bytes_out, w_out.len() as u64);
        // Conversion records: the JSONL records' texts, with a length and digest that hold.
        let out = warc_records(&w_out);
        let get = |f: &[(String, String)], name: &str| {
            f.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap()
        };
        let texts: Vec<(String, String)> = out.iter()
            .filter(|(f, _)| get(f, "WARC-Type") == "conversion")
            .map(|(f, body)| {
                assert_eq!(get(f, "Content-Length"), body.len().to_string());
                let body = String::from_utf8(body.clone()).unwrap();
                assert_eq!(get(f, "WARC-Block-Digest"), format!("sha1:{}", chaff::warc::sha1_base32(&[&body])));
                (get(f, "WARC-Record-ID"), body)
            })
            .collect();
        let expected: Vec<(String, String)> = String::from_utf8(j_out).unwrap().lines().map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string())
        }).collect();
        prop_assert_eq!(texts, expected);
        // Other records: byte for byte, in their places among the rest.
        let passed = out.iter().filter(|(f, _)| get(f, "WARC-Type") != "conversion").count();
        prop_assert_eq!(passed, others.len());
        let out_text = String::from_utf8(w_out).unwrap();
        for o in &others {
            prop_assert!(out_text.contains(o.as_str()));
        }
        // Tag records: the JSONL run's, record for record, but for the file's path.
        let j_tag = run(jsonl.as_bytes(), json, chunk).1.unwrap();
        let w_tag = run(warc.as_bytes(), InputFormat::Warc, chunk).1.unwrap();
        prop_assert_eq!(unpathed(&w_tag), unpathed(&j_tag));
    }
}

/// `texts` as a Parquet file (an `id` and a `text` column) in row groups of `group` rows.
fn parquet_file(texts: &[String], group: usize) -> Vec<u8> {
    use std::sync::Arc;
    let ids: Vec<i64> = (0..texts.len() as i64).collect();
    let batch = arrow_array::RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(arrow_array::Int64Array::from(ids)) as arrow_array::ArrayRef,
        ),
        (
            "text",
            Arc::new(arrow_array::StringArray::from(texts.to_vec())),
        ),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(group)
        .build();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.into_inner().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn parquet_rows_filter_and_tag_as_jsonl_records_do(
        docs in prop::collection::vec(prop::collection::vec(prop::sample::select(PIECES), 0..30), 0..12),
        group in 1usize..6,
        chunk in 1usize..600,
    ) {
        let texts: Vec<String> = docs.iter().map(|p| p.concat()).collect();
        let jsonl: String = texts.iter().enumerate()
            .map(|(i, t)| serde_json::json!({"id": i, "text": t}).to_string() + "\n")
            .collect();
        let json = InputFormat::Jsonl { text_field: "text".into() };
        let table = InputFormat::Parquet { text_field: "text".into() };
        let file = parquet_file(&texts, group);
        let (j_out, j_sum) = run(jsonl.as_bytes(), json.clone(), chunk).0.unwrap();
        let (p_out, p_sum) = run(&file, table.clone(), chunk).0.unwrap();
        prop_assert_eq!(p_sum.documents, j_sum.documents);
        prop_assert_eq!((p_sum.kept, p_sum.dropped, p_sum.blank), (j_sum.kept, j_sum.dropped, j_sum.blank));
        prop_assert_eq!(p_sum.empty_dropped, j_sum.empty_dropped);
        // The rows written: the JSONL records' ids and texts, in row groups no more than
        // the input's.
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            bytes_file(&p_out)).unwrap();
        prop_assert!(reader.metadata().num_row_groups() <= texts.len().div_ceil(group));
        let mut rows = Vec::new();
        for b in reader.build().unwrap() {
            let b = b.unwrap();
            let ids = b.column(0).as_any().downcast_ref::<arrow_array::Int64Array>().unwrap();
            let ts = b.column(1).as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
            for i in 0..b.num_rows() {
                rows.push(serde_json::json!({"id": ids.value(i), "text": ts.value(i)}));
            }
        }
        let expected: Vec<serde_json::Value> = String::from_utf8(j_out).unwrap().lines()
            .map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(rows, expected);
        let text_out: usize = expected_len(&p_out);
        prop_assert_eq!(p_sum.bytes_out, text_out as u64);
        // Tag records: the JSONL run's, record for record, but for the file's path.
        let j_tag = run(jsonl.as_bytes(), json, chunk).1.unwrap();
        let p_tag = run(&file, table, chunk).1.unwrap();
        prop_assert_eq!(unpathed(&p_tag), unpathed(&j_tag));
    }
}

/// Parquet bytes as a file the reader can seek in.
fn bytes_file(bytes: &[u8]) -> std::fs::File {
    let mut f = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut f, bytes).unwrap();
    f
}

/// Bytes of text in a Parquet file's `text` column.
fn expected_len(bytes: &[u8]) -> usize {
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes_file(bytes))
            .unwrap();
    reader
        .build()
        .unwrap()
        .map(|b| {
            let b = b.unwrap();
            let ts = b
                .column(1)
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap();
            ts.iter().map(|t| t.map_or(0, str::len)).sum::<usize>()
        })
        .sum()
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

/// How a source of [`sources_come_out_alike_at_any_thread_count`] is stored.
#[derive(Debug, Clone, Copy)]
enum Stored {
    Plain,
    Codec(chaff::compression::Compression),
    Gbk,
    Binary,
    /// Gzipped, then cut in half: an error.
    Cut,
}

fn stored() -> impl Strategy<Value = Stored> {
    use chaff::compression::Compression as C;
    prop_oneof![
        Just(Stored::Plain),
        prop::sample::select(vec![C::Gzip, C::Zstd, C::Xz, C::Lz4, C::Bzip2])
            .prop_map(Stored::Codec),
        Just(Stored::Gbk),
        Just(Stored::Binary),
        Just(Stored::Cut),
    ]
}

/// A page of `n` paragraphs, news and posts by `seed`: at 1,200, past the 64 KiB sniff
/// window (a streamed source); at 40 and below, read whole when opened.
fn page(seed: u64, n: usize) -> String {
    const LINES: &[&str] = &[
        "国务院常务会议研究部署进一步稳定就业的政策措施，会议指出要加大对重点群体的帮扶。",
        "哈哈哈今天的奶茶也太好喝了吧 [开心][开心] #周末愉快#",
        "记者从市交通运输局获悉，新建的三条公交线路将于下月起试运行。",
        "发布 👍 0 举报 写留言",
        "  • 这款面膜真的绝了，姐妹们冲！",
    ];
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let l = LINES[(x >> 33) as usize % LINES.len()];
            if (x >> 20) % 3 == 0 {
                format!("{l}\n\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// With several workers, compressed sources are decoded on decoder threads and opened
    /// ahead on the pool, several at once: whatever the mix, the output, the accounting
    /// and a failure are as with one worker.
    #[test]
    fn sources_come_out_alike_at_any_thread_count(
        sources in prop::collection::vec((stored(), any::<u64>(), prop::sample::select(vec![3usize, 40, 1200])), 1..9),
    ) {
        use chaff::compression::Compression;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut list = Vec::new();
        for (i, (how, seed, n)) in sources.iter().enumerate() {
            let text = page(*seed, *n);
            prop_assert!(*n < 1200 || text.len() > 1 << 16, "{}", text.len());
            let compress = |c: Compression| {
                let mut w = chaff::output::Compressed::new(Vec::new(), c, None, true).unwrap();
                w.write_all(text.as_bytes()).unwrap();
                w.finish().unwrap()
            };
            let bytes = match how {
                Stored::Plain => text.clone().into_bytes(),
                Stored::Codec(c) => compress(*c),
                Stored::Gbk => encoding_rs::GBK.encode(&text).0.into_owned(),
                Stored::Binary => b"\x00\x01\x02 binary \x00\x00".repeat(*n),
                Stored::Cut => {
                    let z = compress(Compression::Gzip);
                    z[..z.len() / 2].to_vec()
                }
            };
            let path = dir.path().join(format!("{i:02}"));
            std::fs::write(&path, bytes).unwrap();
            list.push(Source::File { path, rel_from: 1, link: false });
        }
        let (c, p) = model();
        let engine = Engine {
            classifier: c,
            policy: p,
            opts: RunOptions { chunk_bytes: 4000, ..RunOptions::default() },
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut out = Vec::new();
                let r = engine.filter(
                    Inputs::list(list.clone()),
                    FilterTarget::Stream(&mut out),
                    Sidecars::default(),
                );
                let r = r.map(|s| (s.files, s.documents, s.lines, s.kept, s.dropped, s.skipped));
                (out, r.map_err(|e| e.to_string()))
            })
        };
        let one = run(1);
        prop_assert_eq!(one.1.is_err(), sources.iter().any(|s| matches!(s.0, Stored::Cut)));
        for threads in [2, 5] {
            prop_assert_eq!(&run(threads), &one, "{} threads", threads);
        }
    }
}

/// Tag JSON records without what names the document (`path`, `record`, `id`).
fn unnamed(tag: &[u8]) -> Vec<serde_json::Value> {
    let mut all = unpathed(tag);
    for t in &mut all {
        let t = t.as_object_mut().unwrap();
        t.remove("record");
        t.remove("id");
    }
    all
}

/// A record of tens of thousands of lines (most of them blank, as in a broken crawl) is
/// decided as a text file of it is: a chunk at a time, so that it costs memory by the
/// chunk, not by the line, and with the same decisions, line numbers and output, in
/// JSONL, WARC and Parquet alike. Its last chunk here is a post on its own, read alone as
/// in a file (decided with the whole record in view, it scored otherwise). So is a file
/// whose lines end in `\r` alone, which is one chunk of its file however long (files
/// are cut at `\n`).
#[test]
fn records_and_cr_files_of_many_lines_are_decided_as_a_file_of_their_text() {
    let mut text = String::new();
    for p in common::dev_pages(3) {
        text += &std::fs::read_to_string(p).unwrap();
    }
    text += &"\n".repeat(40_000);
    text += "哈哈哈哈今天天气真好，晒太阳去咯～\n";
    let lines = text.lines().count();
    let chunk = chaff::pipeline::CHUNK_BYTES;
    let (file, file_tag) = run(text.as_bytes(), InputFormat::Text, chunk);
    let (file_out, file_sum) = file.unwrap();
    let file_tag = unnamed(&file_tag.unwrap());
    assert_eq!(file_tag.len() as u64, file_sum.kept + file_sum.dropped);
    assert_eq!(file_tag.last().unwrap()["line"], lines);

    let jsonl = serde_json::json!({"id": "r", "text": text}).to_string() + "\n";
    let body_len = text.len();
    let warc = format!(
        "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:uuid:r>\r\nContent-Length: {body_len}\r\n\r\n{text}\r\n\r\n"
    );
    let table = parquet_file(std::slice::from_ref(&text), 1);
    let formats = [
        (
            "jsonl",
            jsonl.into_bytes(),
            InputFormat::Jsonl {
                text_field: "text".into(),
            },
        ),
        ("warc", warc.into_bytes(), InputFormat::Warc),
        (
            "parquet",
            table,
            InputFormat::Parquet {
                text_field: "text".into(),
            },
        ),
    ];
    // Three workers: the record's chunks are decided on the two with no job as well.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for (name, bytes, format) in formats {
        let (filtered, tag) = pool.install(|| run(&bytes, format, chunk));
        let (out, sum) = filtered.unwrap();
        assert_eq!(sum.documents, 1, "{name}");
        let counts = (sum.kept, sum.dropped, sum.blank);
        assert_eq!(
            counts,
            (file_sum.kept, file_sum.dropped, file_sum.blank),
            "{name}"
        );
        let kept = match name {
            "jsonl" => {
                let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                v["text"].as_str().unwrap().to_string()
            }
            "warc" => String::from_utf8(warc_records(&out).remove(0).1).unwrap(),
            _ => {
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                        bytes_file(&out),
                    )
                    .unwrap();
                let b = reader.build().unwrap().next().unwrap().unwrap();
                let texts = b
                    .column(1)
                    .as_any()
                    .downcast_ref::<arrow_array::StringArray>();
                texts.unwrap().value(0).to_string()
            }
        };
        assert_eq!(kept.as_bytes(), &file_out[..], "{name}");
        assert_eq!(unnamed(&tag.unwrap()), file_tag, "{name}");
    }
    assert!(!text.contains('\r'));
    let (filtered, tag) = run(
        text.replace('\n', "\r").as_bytes(),
        InputFormat::Text,
        chunk,
    );
    let (out, sum) = filtered.unwrap();
    assert_eq!(
        (sum.kept, sum.dropped, sum.blank),
        (file_sum.kept, file_sum.dropped, file_sum.blank)
    );
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        String::from_utf8(file_out).unwrap().replace('\n', "\r")
    );
    assert_eq!(unnamed(&tag.unwrap()), file_tag);
}

/// A small JSON value for a record's other fields: nesting, strings with the bytes
/// that frame an array, numbers.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        prop::sample::select(vec!["", "]", "[{,}]", "\\", "\"", "a b", "新闻"])
            .prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z{}\\[\\],]{0,3}", inner, 0..3)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// A JSON array of records, on one line or pretty-printed, and pretty-printed records
    /// one after another, are read as the same records as JSON lines: filter writes the
    /// same records (as an array, or JSON lines), tag the same rows, at any chunk size.
    #[test]
    fn a_json_array_reads_as_its_records_as_json_lines(
        texts in prop::collection::vec(
            prop::collection::vec(prop::sample::select(PIECES), 0..12), 0..8),
        others in prop::collection::vec(json_value(), 8),
        layout in 0u8..3,
        chunk in 1usize..400,
    ) {
        let records: Vec<serde_json::Value> = texts
            .iter()
            .zip(&others)
            .map(|(t, o)| serde_json::json!({"other": o, "text": t.concat()}))
            .collect();
        let array = match layout {
            0 => serde_json::to_string(&records).unwrap(),
            1 => serde_json::to_string_pretty(&records).unwrap(),
            // As `jq .` writes records: pretty-printed, one after another.
            _ => records
                .iter()
                .map(|r| serde_json::to_string_pretty(r).unwrap() + "\n")
                .collect(),
        };
        let lines: String = records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let format = || InputFormat::Jsonl { text_field: "text".into() };
        let (filtered, tagged) = run(array.as_bytes(), format(), chunk);
        let (want, want_tag) = run(lines.as_bytes(), format(), chunk);
        let ((out, sum), (want, want_sum)) = (filtered.unwrap(), want.unwrap());
        let lines = |out: Vec<u8>| -> Vec<serde_json::Value> {
            String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let out = match layout {
            0 | 1 => serde_json::from_slice(&out).unwrap(),
            _ => lines(out),
        };
        let want = lines(want);
        prop_assert_eq!(out, want);
        prop_assert_eq!(
            (sum.documents, sum.kept, sum.dropped, sum.blank),
            (want_sum.documents, want_sum.kept, want_sum.dropped, want_sum.blank)
        );
        // Rows name the same record numbers: an element's number is its line's.
        let rows = |tag: &[u8]| -> Vec<serde_json::Value> {
            tag.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_slice(l).unwrap();
                    v.as_object_mut().unwrap().remove("path");
                    v
                })
                .collect()
        };
        prop_assert_eq!(rows(&tagged.unwrap()), rows(&want_tag.unwrap()));
    }
}
