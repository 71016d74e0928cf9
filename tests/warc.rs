//! WARC input (`--warc`, Common Crawl's WET files) end to end through the real binary:
//! conversion records are filtered as their text alone would be, everything else passes
//! through, gzip output is a member per record, and broken framing is one line naming
//! the file and line.

mod common;

use chaff::warc::{parse_head, read_record, sha1_base32};
use common::*;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One WARC record as Common Crawl writes it (CRLF framing, sha1 block digest).
fn record(kind: &str, id: usize, uri: Option<&str>, body: &str) -> String {
    let uri = uri.map_or(String::new(), |u| format!("WARC-Target-URI: {u}\r\n"));
    format!(
        "WARC/1.0\r\nWARC-Type: {kind}\r\n{uri}WARC-Date: 2026-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:{id:08}>\r\nWARC-Block-Digest: sha1:{}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}\r\n\r\n",
        sha1_base32(&[body]),
        body.len()
    )
}

const FILLER: &str = "哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论\n";

/// A WET file of the first `n` dev pages: a warcinfo record, the pages as conversion
/// records (a metadata record after the second), and one all-filler page at the end.
/// Returns it with the pages' paths and the records that are not conversions.
fn dev_wet(n: usize) -> (String, Vec<PathBuf>, Vec<String>) {
    let pages = dev_pages(n);
    let info = record("warcinfo", 0, None, "software: chaff-test\r\n");
    let meta = record(
        "metadata",
        9999,
        Some("http://example.com/1"),
        "fetchTimeMs: 12\r\n",
    );
    let mut wet = info.clone();
    for (i, p) in pages.iter().enumerate() {
        let text = fs::read_to_string(p).unwrap();
        let uri = format!("http://example.com/{i}");
        wet += &record("conversion", i + 1, Some(&uri), &text);
        if i == 1 {
            wet += &meta;
        }
    }
    wet += &record(
        "conversion",
        8888,
        Some("http://example.com/filler"),
        FILLER,
    );
    (wet, pages, vec![info, meta])
}

/// The records of a WARC file as chaff's reader frames them: header fields and block,
/// each checked to hold (Content-Length is the block's, a sha1 digest its digest).
fn records(bytes: &[u8]) -> Vec<(Vec<(String, String)>, String)> {
    let (mut reader, mut out, mut line, mut all) = (bytes, Vec::new(), 1, Vec::new());
    while let Some(span) = read_record(&mut reader, &mut out, &mut line).unwrap() {
        let head = parse_head(&out[span.head.clone()], span.line).unwrap();
        let body = String::from_utf8(out[span.body.clone()].to_vec()).unwrap();
        assert_eq!(head.content_length, body.len());
        if let Some(d) = head.get("WARC-Block-Digest") {
            assert_eq!(d, format!("sha1:{}", sha1_base32(&[&body])));
        }
        let fields = head.fields.iter();
        all.push((
            fields
                .map(|f| (f.name.to_string(), f.value.to_string()))
                .collect(),
            body,
        ));
    }
    all
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(n, _)| n == name).unwrap().1
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The members of a gzip file, each decompressed on its own.
fn members(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut d = flate2::bufread::GzDecoder::new(bytes);
        let mut m = Vec::new();
        d.read_to_end(&mut m).unwrap();
        out.push(m);
        bytes = d.into_inner();
    }
    out
}

#[test]
fn conversion_records_are_filtered_as_their_text_and_the_rest_passes_through() {
    let tmp = tempfile::tempdir().unwrap();
    let (wet, pages, others) = dev_wet(30);
    let input = tmp.path().join("dump.warc.wet");
    fs::write(&input, &wet).unwrap();
    let stats = tmp.path().join("stats.json");
    let out = ok(&["filter", "--warc", "--stats", s(&stats), s(&input)]);
    let recs = records(&out);
    // warcinfo, 30 pages, metadata; the all-filler page is left out.
    assert_eq!(recs.len(), 32);
    let text = String::from_utf8(out.clone()).unwrap();
    for o in &others {
        assert!(text.contains(o.as_str()), "passed through byte for byte");
    }
    let conversions: Vec<_> = recs
        .iter()
        .filter(|(f, _)| field(f, "WARC-Type") == "conversion")
        .collect();
    assert_eq!(conversions.len(), pages.len());
    for (i, ((f, body), page)) in conversions.iter().zip(&pages).enumerate() {
        assert_eq!(
            field(f, "WARC-Record-ID"),
            format!("<urn:uuid:{:08}>", i + 1)
        );
        assert_eq!(
            field(f, "WARC-Target-URI"),
            format!("http://example.com/{i}")
        );
        assert_eq!(body.as_bytes(), &ok(&["filter", s(page)])[..], "{page:?}");
    }
    let st: serde_json::Value = serde_json::from_str(&fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(st["documents"], 31);
    assert_eq!(st["empty_dropped"], 1);
    assert_eq!(st["bytes_in"], wet.len());
    assert_eq!(st["bytes_out"], out.len());
    // The same bytes from stdin, from a gzip file, at 1 thread in small chunks.
    let o = chaff_in(&root(), &["filter", "--warc", "-"], Some(wet.as_bytes()));
    assert_eq!(o.stdout, out);
    let gz_in = tmp.path().join("dump.warc.wet.gz");
    fs::write(&gz_in, gz(wet.as_bytes())).unwrap();
    assert_eq!(ok(&["filter", "--warc", s(&gz_in)]), out);
    let one = [
        "--threads",
        "1",
        "filter",
        "--warc",
        "--chunk-bytes",
        "3000",
        s(&input),
    ];
    assert_eq!(ok(&one), out);
    // --keep-empty keeps the all-filler record, with an empty block.
    let kept = records(&ok(&["filter", "--warc", "--keep-empty", s(&input)]));
    let (f, body) = kept.last().unwrap();
    assert_eq!((field(f, "Content-Length"), body.as_str()), ("0", ""));
    // tag: a record per line, named by the WARC record's id, lines counted in its block.
    let tag = String::from_utf8(ok(&["tag", "--warc", "--json", s(&input)])).unwrap();
    let first: serde_json::Value = serde_json::from_str(tag.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "<urn:uuid:00000001>");
    assert_eq!(first["line"], 1);
    assert!(
        !tag.contains("urn:uuid:00009999"),
        "only conversions are documents"
    );
    // Each names the line its WARC record starts at (`record`).
    let wet_lines: Vec<&str> = wet.lines().collect();
    for l in tag.lines() {
        let t: serde_json::Value = serde_json::from_str(l).unwrap();
        let at = t["record"].as_u64().unwrap() as usize;
        assert!(wet_lines[at - 1].starts_with("WARC/1."), "{t}");
        let id = format!("WARC-Record-ID: {}", t["id"].as_str().unwrap());
        let mut head = wet_lines[at..]
            .iter()
            .take_while(|h| !h.trim_end().is_empty());
        assert!(head.any(|h| h.trim_end() == id), "{t}");
    }
    // --removed: the dropped lines as tag records, named the same way.
    let removed = tmp.path().join("removed.jsonl");
    ok(&["filter", "--warc", "--removed", s(&removed), s(&input)]);
    let removed = fs::read_to_string(&removed).unwrap();
    let last: serde_json::Value = serde_json::from_str(removed.lines().last().unwrap()).unwrap();
    assert_eq!(last["id"], "<urn:uuid:00008888>");
    assert_eq!(last["keep"], false);
    assert_eq!(
        removed.lines().count() as u64,
        st["lines"].as_u64().unwrap()
            - st["kept"].as_u64().unwrap()
            - st["blank"].as_u64().unwrap()
    );
    let html = tmp.path().join("audit.html");
    ok(&["tag", "--warc", "--html", s(&html), s(&input)]);
    assert!(fs::read_to_string(&html)
        .unwrap()
        .contains("http://example.com/0"));
}

#[test]
fn gzipped_warc_output_is_a_member_per_record() {
    let tmp = tempfile::tempdir().unwrap();
    let (wet, _, _) = dev_wet(12);
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("a.warc.wet.gz"), gz(wet.as_bytes())).unwrap();
    fs::write(input.join("b.warc"), &wet).unwrap();
    let plain = ok(&["filter", "--warc", s(&input.join("b.warc"))]);
    let n = records(&plain).len();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("out{threads}"));
        let args = [
            "--threads",
            threads,
            "filter",
            "--warc",
            "-o",
            s(&out),
            s(&input),
        ];
        ok(&args);
        assert_eq!(fs::read(out.join("b.warc")).unwrap(), plain);
        let z = fs::read(out.join("a.warc.wet.gz")).unwrap();
        let m = members(&z);
        // WARC readers seek by member: one record each, nothing more.
        assert_eq!(m.len(), n);
        assert!(m
            .iter()
            .all(|r| r.starts_with(b"WARC/1.0\r\n") && records(r).len() == 1));
        assert_eq!(m.concat(), plain);
        // The same records to stdout with --compress gz: the same bytes.
        assert_eq!(gz_stdout(&input.join("b.warc")), z);
        let run = fs::read_to_string(out.join(".chaff-run.json")).unwrap();
        assert!(run.contains("\"warc\": true"), "{run}");
    }
    // A file with no record kept is still a gzip stream (of nothing).
    let filler = tmp.path().join("filler");
    fs::create_dir_all(&filler).unwrap();
    let only = record("conversion", 1, None, FILLER);
    fs::write(filler.join("f.warc.gz"), gz(only.as_bytes())).unwrap();
    let out = tmp.path().join("out-filler");
    ok(&["filter", "--warc", "-o", s(&out), s(&filler)]);
    let z = fs::read(out.join("f.warc.gz")).unwrap();
    assert_eq!(members(&z), vec![Vec::<u8>::new()]);
    assert_eq!(gz_stdout(&filler.join("f.warc.gz")), z);
    // At another level every member is at that level, the empty one too (gzip's XFL
    // byte says 4, fastest, at level 1), and stdout gets the same bytes.
    for (dir, name) in [(&input, "a.warc.wet.gz"), (&filler, "f.warc.gz")] {
        let out = tmp.path().join(format!("fast-{name}"));
        ok(&[
            "filter",
            "--warc",
            "--compress",
            "gz:1",
            "-o",
            s(&out),
            s(dir),
        ]);
        let z = fs::read(out.join(name)).unwrap();
        let fast = ok(&["filter", "--warc", "--compress", "gz:1", s(&dir.join(name))]);
        assert_eq!(fast, z, "{name}");
        let mut rest = &z[..];
        let mut n = 0;
        while !rest.is_empty() {
            assert_eq!(rest[8], 4, "{name}: member {n}'s XFL");
            let mut d = flate2::bufread::GzDecoder::new(rest);
            std::io::copy(&mut d, &mut std::io::sink()).unwrap();
            rest = d.into_inner();
            n += 1;
        }
        let plain = ok(&["filter", "--warc", s(&dir.join(name))]);
        assert_eq!(members(&z).concat(), plain, "{name}");
        assert_eq!(n, records(&plain).len().max(1), "{name}");
    }
}

/// `filter --warc --compress gz INPUT` to stdout.
fn gz_stdout(input: &Path) -> Vec<u8> {
    ok(&["filter", "--warc", "--compress", "gz", s(input)])
}

/// Writes `wet` to a file and returns the one-line error of filtering it (to stdout and
/// into a folder, which must be left without an output file).
fn framing_error(dir: &Path, name: &str, wet: &[u8]) -> String {
    let input = dir.join(name);
    let folder = dir.join(format!("{name}.d"));
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join(name), wet).unwrap();
    fs::write(&input, wet).unwrap();
    let err = fails(&["filter", "--warc", s(&input)]);
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = dir.join(format!("{name}.out"));
    let err2 = fails(&["filter", "--warc", "-o", s(&out), s(&folder)]);
    assert!(!out.join(name).exists(), "no partial output file");
    assert!(err2.contains(name), "{err2}");
    err
}

#[test]
fn broken_framing_is_one_line_naming_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = record("conversion", 1, None, "国务院常务会议研究部署。\n");
    let b = record("conversion", 2, None, "第二条新闻。\n");
    // A Content-Length ten bytes short: the next "record" begins inside the block.
    let short = a.replace("Content-Length: 37", "Content-Length: 27");
    assert_ne!(short, a);
    let err = framing_error(dir, "short.warc", format!("{short}{b}").as_bytes());
    assert!(err.contains("short.warc:9: not a WARC record"), "{err}");
    assert!(err.contains("wrong Content-Length"), "{err}");
    // The input ends inside a record's block: named at the record's first line.
    let cut = format!("{a}{b}");
    let err = framing_error(dir, "cut.warc", &cut.as_bytes()[..cut.len() - 12]);
    assert!(err.contains("cut.warc:12: truncated WARC record"), "{err}");
    let err = framing_error(dir, "text.warc", "一段普通的文字。\n".as_bytes());
    assert!(err.contains("text.warc:1: not a WARC record"), "{err}");
    assert!(
        !err.contains("record before"),
        "no record before line 1: {err}"
    );
    let err = framing_error(
        dir,
        "nolen.warc",
        a.replace("Content-Length: 37\r\n", "").as_bytes(),
    );
    assert!(
        err.contains("nolen.warc:1: WARC record has no Content-Length"),
        "{err}"
    );
    // A block that is not UTF-8: named at its line in the file.
    let mut bad = format!("{b}{a}").into_bytes();
    let at = bad.len() - 10;
    bad[at] = 0xFF;
    let err = framing_error(dir, "bytes.warc", &bad);
    assert!(err.contains("bytes.warc:20: invalid UTF-8"), "{err}");
    // Options that do not apply to WARC are refused up front.
    let f = dir.join("short.warc");
    for (args, says) in [
        (vec!["filter", "--warc", "--jsonl"], "cannot be used with"),
        (vec!["filter", "--warc", "--pipe"], "--pipe needs --jsonl"),
        (
            vec!["filter", "--warc", "--encoding", "gbk"],
            "do not apply to --warc",
        ),
        (vec!["tag", "--warc", "--lossy"], "do not apply to --warc"),
        (
            vec!["filter", "--warc", "--text-field", "t"],
            "--text-field needs --jsonl",
        ),
        (
            vec!["filter", "--warc", "--bad-records", "skip"],
            "--bad-records needs --jsonl",
        ),
        (
            vec!["tag", "--warc", "--dolma", "--attributes-dir", s(dir)],
            "--dolma tags JSONL documents",
        ),
    ] {
        let err = fails(&[&args[..], &[s(&f)]].concat());
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
