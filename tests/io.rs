//! The I/O layer end to end: JSONL, compression, encodings, binary files, chunking,
//! resume and accounting, through the real binary.

mod common;

use common::*;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `dir/in/000.txt` ... `039.txt`: the first 40 dev pages, page `i` written as
/// `bytes(i, text)`.
fn page_folder(dir: &Path, bytes: impl Fn(usize, String) -> Vec<u8>) -> PathBuf {
    let input = dir.join("in");
    fs::create_dir_all(&input).unwrap();
    for (i, p) in dev_pages(40).iter().enumerate() {
        let text = fs::read_to_string(p).unwrap();
        fs::write(input.join(format!("{i:03}.txt")), bytes(i, text)).unwrap();
    }
    input
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out + "\""
}

/// A JSONL dump of dev pages: `{"id": "pN", "text": page, "meta": {...}}`.
fn dev_jsonl(n: usize) -> (String, Vec<PathBuf>) {
    let pages = dev_pages(n);
    let mut out = String::new();
    for (i, p) in pages.iter().enumerate() {
        let text = fs::read_to_string(p).unwrap();
        out += &format!(
            "{{\"id\":\"p{i}\",\"meta\":{{\"n\": {i}.0, \"ok\": true}},\"text\":{}}}\n",
            json_str(&text)
        );
    }
    (out, pages)
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` as one bzip2 stream of 100 kB blocks (`bzip2 -1`), by libbzip2 itself.
fn bz2(bytes: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` as xz writes them at preset 1, by liblzma itself.
fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` as one lz4 frame, by lz4_flex itself.
fn lz4(bytes: &[u8]) -> Vec<u8> {
    let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stderr_of(args: &[&str]) -> String {
    let o = chaff(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn jsonl_records_keep_their_fields_and_match_text_filtering() {
    let tmp = tempfile::tempdir().unwrap();
    let (dump, pages) = dev_jsonl(40);
    let input = tmp.path().join("dump.jsonl");
    fs::write(&input, &dump).unwrap();
    let out = String::from_utf8(ok(&["filter", "--jsonl", s(&input)])).unwrap();
    let mut n = 0;
    for (line, page) in out.lines().zip(&pages) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let i = n;
        assert_eq!(v["id"], format!("p{i}"));
        // Other fields pass through as written (1.0 stays 1.0, order kept).
        assert!(line.starts_with(&format!(
            "{{\"id\":\"p{i}\",\"meta\":{{\"n\": {i}.0, \"ok\": true}},\"text\":"
        )));
        let text_filtered = ok(&["filter", s(page)]);
        assert_eq!(v["text"].as_str().unwrap().as_bytes(), &text_filtered[..]);
        n += 1;
    }
    assert_eq!(n, pages.len(), "every dev page keeps some news");
    // Same bytes from stdin, from a gzip and a zstd file, with 1 or 2 threads, in pipe mode.
    let o = chaff_in(&root(), &["filter", "--jsonl", "-"], Some(dump.as_bytes()));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), out);
    fs::write(tmp.path().join("dump.jsonl.gz"), gz(dump.as_bytes())).unwrap();
    let z = zstd::encode_all(dump.as_bytes(), 3).unwrap();
    fs::write(tmp.path().join("dump.jsonl.zst"), z).unwrap();
    for f in ["dump.jsonl.gz", "dump.jsonl.zst"] {
        let p = tmp.path().join(f);
        assert_eq!(
            String::from_utf8(ok(&["filter", "--jsonl", s(&p)])).unwrap(),
            out
        );
    }
    let t1 = ok(&[
        "--threads",
        "1",
        "filter",
        "--jsonl",
        "--chunk-bytes",
        "3000",
        s(&input),
    ]);
    assert_eq!(String::from_utf8(t1).unwrap(), out);
    let o = chaff_in(
        &root(),
        &["filter", "--jsonl", "--pipe", "-"],
        Some(dump.as_bytes()),
    );
    assert_eq!(String::from_utf8(o.stdout).unwrap(), out);
}

/// Records as Python's `json.dumps` writes them by default (`", "` and `": "` between
/// members, every non-ASCII character as `\uXXXX`) come out as Python would write them:
/// whole where all of their text is kept, and but for the text's value where some is
/// dropped (the value in ASCII too).
#[test]
fn jsonl_records_are_written_as_they_were_but_for_their_text() {
    let ascii = |s: &str| -> String {
        let json = serde_json::to_string(s).unwrap();
        json.chars()
            .map(|c| match c.is_ascii() {
                true => c.to_string(),
                false => format!("\\u{:04x}", u32::from(c)),
            })
            .collect()
    };
    let news =
        "国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任，确保人民群众生命财产安全。";
    let mixed = format!("{news}\n哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论");
    let whole = format!(
        "{{\"id\": 1, \"text\": {}, \"meta\": {{\"n\": 1.0}}}}",
        ascii(news)
    );
    let cut = format!(
        "{{\"id\": 2, \"text\": {}, \"url\": \"http:\\/\\/x\"}}",
        ascii(&mixed)
    );
    let paragraphs = format!("{{\"id\": 3, \"p\": [{}, {}]}}", ascii(news), ascii(news));
    let dump = format!("{whole}\r\n{cut}\n");
    let o = chaff_in(&root(), &["filter", "--jsonl", "-"], Some(dump.as_bytes()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = format!(
        "{whole}\r\n{{\"id\": 2, \"text\": {}, \"url\": \"http:\\/\\/x\"}}\n",
        // (A record keeps its line end, "\r\n" or "\n"; a kept line in the text keeps
        // its own, as in a text file; the text as it was read, every character outside
        // ASCII escaped.)
        ascii(&format!("{news}\n"))
    );
    assert_eq!(String::from_utf8(o.stdout).unwrap(), want);
    let o = chaff_in(
        &root(),
        &["filter", "--jsonl", "--text-field", "p", "-"],
        Some(format!("{paragraphs}\n").as_bytes()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{paragraphs}\n")
    );
}

/// `tag` and `--removed` records carry a record's id as the record wrote it: a number stays
/// a number (side records join back to the dump on it), a string a string; TSV shows it
/// after the path. Each also carries the record's line in its file (`"record"`), which
/// TSV shows as `path:N` for a record without an id, so that every line joins back.
#[test]
fn tag_records_carry_the_id_as_written() {
    let news =
        "国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任，确保人民群众生命财产安全。";
    // (Written into JSON strings: the line break as its escape.)
    let filler = r"哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论";
    let dump = format!(
        "{{\"id\": 12345678901234567890, \"text\": \"{news}\\n{filler}\"}}\n\
         {{\"id\": \"a\\\"b\", \"text\": \"{filler}\"}}\n\
         {{\"id\": {{\"k\": [1, 2]}}, \"text\": \"{news}\"}}\n"
    );
    let run_on = |dump: &str, args: &[&str]| {
        let o = chaff_in(&root(), args, Some(dump.as_bytes()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let run = |args: &[&str]| run_on(&dump, args);
    // Each JSON tag record of `dump` up to the field `to`.
    let heads = |dump: &str, to: &str| -> Vec<String> {
        (run_on(dump, &["tag", "--json", "--jsonl", "-"]).lines())
            .map(|l| l.split(to).next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        heads(&dump, ",\"line\":"),
        [
            r#"{"path":"-","record":1,"id":12345678901234567890"#,
            r#"{"path":"-","record":1,"id":12345678901234567890"#,
            r#"{"path":"-","record":1,"id":12345678901234567890"#,
            r#"{"path":"-","record":2,"id":"a\"b""#,
            r#"{"path":"-","record":2,"id":"a\"b""#,
            r#"{"path":"-","record":3,"id":{"k": [1, 2]}"#,
        ]
    );
    let tsv = run(&["tag", "--jsonl", "-"]);
    let paths: Vec<&str> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(paths[0], "-#12345678901234567890");
    assert_eq!(paths[3], "-#a\"b");
    assert_eq!(paths[5], "-#{\"k\": [1, 2]}");
    let tmp = tempfile::tempdir().unwrap();
    let removed = tmp.path().join("removed.jsonl");
    run(&[
        "filter",
        "--jsonl",
        "--removed",
        removed.to_str().unwrap(),
        "-",
    ]);
    let removed = fs::read_to_string(&removed).unwrap();
    assert!(
        removed.starts_with(r#"{"path":"-","record":1,"id":12345678901234567890,"line":2,"#),
        "{removed}"
    );
    // Without ids (and a blank line between records, which counts): the record's line.
    let bare = format!("{{\"text\": \"{news}\\n{filler}\"}}\n\n{{\"text\": \"{filler}\"}}\n");
    assert_eq!(
        heads(&bare, ",\"label\":"),
        [
            r#"{"path":"-","record":1,"line":1"#,
            r#"{"path":"-","record":1,"line":2"#,
            r#"{"path":"-","record":1,"line":3"#,
            r#"{"path":"-","record":3,"line":1"#,
            r#"{"path":"-","record":3,"line":2"#,
        ]
    );
    let tsv = run_on(&bare, &["tag", "--jsonl", "-"]);
    let named: Vec<(&str, &str)> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap(), f.next().unwrap())
        })
        .collect();
    assert_eq!(
        named,
        [
            ("-:1", "1"),
            ("-:1", "2"),
            ("-:1", "3"),
            ("-:3", "1"),
            ("-:3", "2")
        ]
    );
}

#[test]
fn jsonl_empty_documents_are_dropped_unless_asked_and_pipe_is_one_to_one() {
    let dump = "{\"id\":1,\"text\":\"哈哈哈哈笑死我了[哈哈][哈哈]\\n点赞 转发 评论\"}\n\n\
                {\"id\":2,\"text\":\"国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任，确保人民群众生命财产安全。\"}\n\
                {\"id\":3,\"text\":\"\"}\n";
    let run = |args: &[&str]| {
        let o = chaff_in(&root(), args, Some(dump.as_bytes()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let plain = run(&["filter", "--jsonl", "-"]);
    assert_eq!(plain.lines().count(), 1, "{plain}");
    assert!(plain.starts_with("{\"id\":2,"));
    let keep = run(&["filter", "--jsonl", "--keep-empty", "-"]);
    assert_eq!(keep.lines().count(), 3);
    assert!(keep.starts_with("{\"id\":1,\"text\":\"\"}"), "{keep}");
    assert_eq!(run(&["filter", "--jsonl", "--pipe", "-"]), keep);
    // Tag output carries the record id.
    let tag = run(&["tag", "--json", "--jsonl", "-"]);
    assert!(tag.lines().all(|l| l.contains("\"id\":")), "{tag}");
    // Bad records: a clear error naming the line.
    for (bad, what) in [
        ("{\"id\":1}\n", "no \"text\" field"),
        ("{\"text\":\"\\ud800\"}\n", "surrogate"),
        ("not json\n", "not a JSON object"),
    ] {
        let input = format!("{{\"text\":\"ok\"}}\n{bad}");
        let o = chaff_in(&root(), &["filter", "--jsonl", "-"], Some(input.as_bytes()));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(
            err.starts_with("chaff: -:2: ") && err.contains(what),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
    }
}

#[test]
fn lossy_reads_a_lone_surrogate_escape_in_jsonl_text_as_a_replacement_character() {
    // What a JavaScript crawler writes for an emoji cut in half, in a news line.
    let news =
        "国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任，确保人民群众生命财产安全。";
    let dump =
        format!("{{\"id\":1,\"text\":\"{news}\\ud83d\"}}\n{{\"id\":2,\"text\":\"{news}\"}}\n");
    let o = chaff_in(&root(), &["filter", "--jsonl", "-"], Some(dump.as_bytes()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.starts_with("chaff: -:1: ") && err.contains("surrogate") && err.contains("--lossy"),
        "{err}"
    );
    for args in [
        &["filter", "--jsonl", "--lossy", "-"][..],
        &["filter", "--jsonl", "--lossy", "--pipe", "-"],
        &["tag", "--json", "--jsonl", "--lossy", "-"],
    ] {
        let o = chaff_in(&root(), args, Some(dump.as_bytes()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        let texts: Vec<String> = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| v["text"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            texts,
            [format!("{news}\u{FFFD}"), news.to_string()],
            "{args:?}"
        );
    }
}

#[test]
fn python_non_finite_floats_in_a_jsonl_record_pass_through() {
    // What Python's json.dumps writes for float("nan") and infinities.
    let news =
        "国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任，确保人民群众生命财产安全。";
    let record = format!(
        "{{\"id\":1,\"score\":NaN,\"text\":\"{news}\\n哈哈哈笑死[哈哈]\",\"m\":[Infinity,-Infinity]}}\n"
    );
    let o = chaff_in(
        &root(),
        &["filter", "--jsonl", "-"],
        Some(record.as_bytes()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{{\"id\":1,\"score\":NaN,\"text\":\"{news}\\n\",\"m\":[Infinity,-Infinity]}}\n")
    );
    // Still JSON lines to the format sniff: a plain-text run skips the file and says so.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("dump.txt");
    fs::write(&f, &record).unwrap();
    let o = chaff_in(&root(), &["filter", s(&f)], None);
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--jsonl"));
}

#[test]
fn bad_jsonl_records_can_be_skipped_or_kept_counted_and_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let (good, _) = dev_jsonl(12);
    let good_lines: Vec<&str> = good.lines().collect();
    // 25 bad lines among the 12 records: every kind, and a truncated last line with no
    // newline, the usual way a dump goes bad.
    let kinds = [
        "{\"id\":\"x\"}",
        "{\"id\":\"y\",\"text\":null}",
        "[1,2]",
        "not json",
        "{\"text\":\"\\ud800\"}",
    ];
    let (mut dump, mut bad_at) = (Vec::new(), Vec::new());
    for i in 0..25 {
        if i < 12 {
            dump.push(good_lines[i].to_string());
        }
        dump.push(kinds[i % kinds.len()].to_string());
        bad_at.push(dump.len());
    }
    dump.push("{\"id\":\"cut\",\"text\":\"新华社北京".to_string());
    bad_at.push(dump.len());
    let input = tmp.path().join("dump.jsonl");
    fs::write(&input, dump.join("\n")).unwrap();
    let run = |args: &[&str]| {
        let o = chaff(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (o.stdout, String::from_utf8(o.stderr).unwrap())
    };
    let good_out = chaff_in(&root(), &["filter", "--jsonl", "-"], Some(good.as_bytes())).stdout;
    assert!(!good_out.is_empty());

    // The default stops at the first bad line, writing nothing.
    let err = fails(&["filter", "--jsonl", s(&input)]);
    assert!(err.contains(&format!("dump.jsonl:{}:", bad_at[0])), "{err}");
    // skip: the good records' output, whatever the threads and chunking.
    // Counted in the summary, --stats, --file-stats and --verbose's line per file.
    let (stats, file_stats) = (
        tmp.path().join("stats.json"),
        tmp.path().join("files.jsonl"),
    );
    let (out, err) = run(&[
        "-v",
        "filter",
        "--jsonl",
        "--bad-records",
        "skip",
        "--stats",
        s(&stats),
        "--file-stats",
        s(&file_stats),
        s(&input),
    ]);
    assert_eq!(out, good_out);
    for f in [&stats, &file_stats] {
        let v: serde_json::Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
        assert_eq!(
            (&v["bad_records"], &v["documents"]),
            (&26.into(), &12.into())
        );
    }
    assert!(err.contains("; 26 bad records not classified"), "{err}");
    assert!(
        err.contains("dump.jsonl: 12 documents, ") && err.contains("blank; 26 bad records\n"),
        "{err}"
    );
    // The first 20 named in input order, then one line for the rest.
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("chaff: warning: "))
        .collect();
    assert_eq!(warned.len(), 21, "{err}");
    for (w, line) in warned[..20].iter().zip(&bad_at) {
        assert!(
            w.contains(&format!("dump.jsonl:{line}: bad record skipped (")),
            "{w}"
        );
    }
    assert!(warned[20].contains("counted, not shown"), "{err}");
    for threads in ["1", "2"] {
        let (o, _) = run(&[
            "--threads",
            threads,
            "filter",
            "--jsonl",
            "--bad-records",
            "skip",
            "--chunk-bytes",
            "3000",
            s(&input),
        ]);
        assert_eq!(o, good_out, "{threads} threads");
    }
    // keep: the bad lines written as they were, where they were; the good records as
    // before. --pipe writes one line for every line read.
    let (kept, err) = run(&["filter", "--jsonl", "--bad-records", "keep", s(&input)]);
    assert!(
        err.contains("bad record kept as it is, not classified ("),
        "{err}"
    );
    let kept = String::from_utf8(kept).unwrap();
    let bad_lines: Vec<&str> = kept
        .lines()
        .filter(|l| !good_out.split(|&b| b == b'\n').any(|g| g == l.as_bytes()))
        .collect();
    let want: Vec<&str> = bad_at.iter().map(|&n| dump[n - 1].as_str()).collect();
    assert_eq!(bad_lines, want);
    let piped = chaff_in(
        &root(),
        &["filter", "--jsonl", "--pipe", "--bad-records", "keep", "-"],
        Some(dump.join("\n").as_bytes()),
    );
    assert!(piped.status.success());
    assert_eq!(
        piped.stdout.iter().filter(|&&b| b == b'\n').count(),
        dump.len()
    );
    // Into an output folder, where with several workers a worker writes a small file's
    // output itself: the same outputs, and the warnings still reach stderr.
    let folder = tmp.path().join("in");
    fs::create_dir(&folder).unwrap();
    for f in ["a.jsonl", "b.jsonl"] {
        fs::copy(&input, folder.join(f)).unwrap();
    }
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("out{threads}"));
        let (_, err) = run(&[
            "--threads",
            threads,
            "filter",
            "--jsonl",
            "--bad-records",
            "keep",
            "-o",
            s(&out),
            s(&folder),
        ]);
        for f in ["a.jsonl", "b.jsonl"] {
            assert_eq!(
                fs::read_to_string(out.join(f)).unwrap(),
                kept,
                "{threads} threads"
            );
        }
        assert!(err.contains("a.jsonl:2: bad record kept as it is"), "{err}");
        assert!(err.contains("; 52 bad records not classified"), "{err}");
    }
    // A CRLF dump comes out in CRLF, records good and bad (the last, cut short, has no
    // line end to keep and gets "\n").
    let crlf = tmp.path().join("crlf.jsonl");
    fs::write(&crlf, dump.join("\r\n")).unwrap();
    let (out, _) = run(&["filter", "--jsonl", "--bad-records", "keep", s(&crlf)]);
    let want = kept.strip_suffix('\n').unwrap().replace('\n', "\r\n") + "\n";
    assert_eq!(String::from_utf8(out).unwrap(), want);
    // A line that is not UTF-8 in a UTF-8 dump is a bad record as well (not an error for
    // the whole chunk), kept byte for byte.
    let mut mixed = good.as_bytes().to_vec();
    let at = good.lines().take(3).map(|l| l.len() + 1).sum::<usize>();
    mixed.splice(
        at..at,
        b"{\"id\":\"bytes\",\"text\":\"\xff\xfe\"}\n"
            .iter()
            .copied(),
    );
    let mixed_path = tmp.path().join("mixed.jsonl");
    fs::write(&mixed_path, &mixed).unwrap();
    let err = fails(&["filter", "--jsonl", s(&mixed_path)]);
    assert!(err.contains("mixed.jsonl:4: invalid UTF-8"), "{err}");
    let (out, err) = run(&["filter", "--jsonl", "--bad-records", "skip", s(&mixed_path)]);
    assert_eq!(out, good_out);
    assert!(
        err.contains("mixed.jsonl:4: bad record skipped (invalid UTF-8"),
        "{err}"
    );
    let (out, _) = run(&["filter", "--jsonl", "--bad-records", "keep", s(&mixed_path)]);
    assert!(out.windows(4).any(|w| w == b"\"\xff\xfe\""));
    // tag leaves a bad record out, the rest tagged as in a clean dump.
    let dump_in = dump.join("\n");
    let tag = chaff_in(
        &root(),
        &["tag", "--json", "--jsonl", "--bad-records", "skip", "-"],
        Some(dump_in.as_bytes()),
    );
    assert!(tag.status.success());
    let clean = chaff_in(
        &root(),
        &["tag", "--json", "--jsonl", "-"],
        Some(good.as_bytes()),
    );
    // But for the record numbers: the k-th good record is the dump's line at[k].
    let at: Vec<usize> = (dump.iter().enumerate())
        .filter(|(_, l)| good_lines.contains(&l.as_str()))
        .map(|(i, _)| i + 1)
        .collect();
    let records = |out: &[u8]| -> Vec<serde_json::Value> {
        (out.split(|&b| b == b'\n').filter(|l| !l.is_empty()))
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    };
    let mut want = records(&clean.stdout);
    for r in &mut want {
        r["record"] = at[r["record"].as_u64().unwrap() as usize - 1].into();
    }
    assert!(!want.is_empty());
    assert_eq!(records(&tag.stdout), want);
    // What cannot be honoured is refused up front.
    let page = "tests/data/sample_page.txt";
    for (args, what) in [
        (
            vec!["tag", "--jsonl", "--bad-records", "keep", s(&input)],
            "keep is for filter",
        ),
        (
            vec!["filter", "--jsonl", "--pipe", "--bad-records", "skip", "-"],
            "--pipe writes a record",
        ),
        (
            vec!["filter", "--bad-records", "skip", page],
            "--bad-records needs --jsonl",
        ),
        (
            vec![
                "tag",
                "--dolma",
                "--attributes-dir",
                s(tmp.path()),
                "--bad-records",
                "skip",
                s(&input),
            ],
            "row for row",
        ),
    ] {
        let err = fails(&args);
        assert!(
            err.contains(what) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}

/// A folder `in` under `tmp` holding the sample page gzipped (`a.txt.gz`) and plain
/// (`b.txt`); the page, and its filtered text.
fn sample_inputs(tmp: &Path) -> (PathBuf, Vec<u8>, Vec<u8>) {
    let input = tmp.join("in");
    fs::create_dir_all(&input).unwrap();
    let page = fs::read(root().join("tests/data/sample_page.txt")).unwrap();
    fs::write(input.join("a.txt.gz"), gz(&page)).unwrap();
    fs::write(input.join("b.txt"), &page).unwrap();
    let expected = ok(&["filter", "tests/data/sample_page.txt"]);
    (input, page, expected)
}

/// `z` decompressed by the codec's own library, named by its file extension.
fn decode(ext: &str, z: &[u8]) -> Vec<u8> {
    let mut reader: Box<dyn Read> = match ext {
        "gz" => Box::new(flate2::read::GzDecoder::new(z)),
        "zst" => Box::new(zstd::stream::read::Decoder::new(z).unwrap()),
        "bz2" => Box::new(bzip2::read::BzDecoder::new(z)),
        "xz" => Box::new(liblzma::read::XzDecoder::new(z)),
        "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(z)),
        _ => panic!("no codec named {ext}"),
    };
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    got
}

#[test]
fn compressed_files_in_an_outdir_come_out_compressed() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, page, expected) = sample_inputs(tmp.path());
    let out = tmp.path().join("out");
    ok(&["filter", "-o", s(&out), s(&input)]);
    assert_eq!(gunzip(&fs::read(out.join("a.txt.gz")).unwrap()), expected);
    assert_eq!(fs::read(out.join("b.txt")).unwrap(), expected);
    let out2 = tmp.path().join("out2");
    ok(&["filter", "--compress", "zst", "-o", s(&out2), s(&input)]);
    // One thread writes every file on the writer thread, several on the workers: the
    // same bytes.
    let out1 = tmp.path().join("out1");
    let one = [
        "--threads",
        "1",
        "filter",
        "--compress",
        "zst",
        "-o",
        s(&out1),
        s(&input),
    ];
    ok(&one);
    for f in ["a.txt.zst", "b.txt.zst"] {
        let z = fs::read(out2.join(f)).unwrap();
        assert_eq!(zstd::decode_all(&z[..]).unwrap(), expected);
        assert!(fs::read(out1.join(f)).unwrap() == z, "{f}");
    }
    let z = ok(&["filter", "--compress", "gz", "tests/data/sample_page.txt"]);
    assert_eq!(gunzip(&z), expected);
    // bzip2 and xz: read, and written back in kind.
    let codecs = tmp.path().join("codecs");
    fs::create_dir_all(&codecs).unwrap();
    // Written by the codecs' own libraries, and their outputs read back by them.
    fs::write(codecs.join("c.txt.bz2"), bz2(&page)).unwrap();
    fs::write(codecs.join("d.txt.xz"), xz(&page)).unwrap();
    fs::write(codecs.join("e.txt.lz4"), lz4(&page)).unwrap();
    let out4 = tmp.path().join("out4");
    ok(&["filter", "-o", s(&out4), s(&codecs)]);
    for f in ["c.txt.bz2", "d.txt.xz", "e.txt.lz4"] {
        let z = fs::read(out4.join(f)).unwrap();
        assert_eq!(decode(f.rsplit('.').next().unwrap(), &z), expected, "{f}");
        // On stdin too, told by their magic bytes.
        let piped = fs::read(codecs.join(f)).unwrap();
        let o = chaff_in(tmp.path(), &["filter", "-"], Some(&piped));
        assert!(o.status.success() && o.stdout == expected, "{f} on stdin");
    }
    // A corrupt gzip file is an error naming it.
    fs::write(input.join("c.txt.gz"), &gz(&page)[..40]).unwrap();
    let err = fails(&["filter", "-o", s(&tmp.path().join("out3")), s(&input)]);
    assert!(err.contains("c.txt.gz"), "{err}");
}

/// Standard output redirected to a file named for a codec (`> clean.jsonl.gz`) is
/// compressed as its name says under `--compress auto`, as a side file is: the same bytes
/// as `--compress` naming the codec writes to a pipe; `tag`'s output too. A codec named by the flag, `none`
/// included, wins; a pipe and a file of another name are written plain.
#[test]
fn stdout_redirected_to_a_compressed_name_is_compressed_as_named() {
    let tmp = tempfile::tempdir().unwrap();
    let page = "tests/data/sample_page.txt";
    let expected = ok(&["filter", page]);
    let record = serde_json::json!({"id": "a", "text": fs::read_to_string(page).unwrap()});
    let jsonl = tmp.path().join("a.jsonl");
    fs::write(&jsonl, format!("{record}\n{record}\n")).unwrap();
    let text = fs::read_to_string(page).unwrap();
    let warc = tmp.path().join("a.warc");
    fs::write(
        &warc,
        format!(
            "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: {}\r\n\r\n{text}\r\n\r\n",
            text.len()
        )
        .repeat(2),
    )
    .unwrap();
    let into = |name: &str, args: &[&str]| {
        let path = tmp.path().join(name);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_chaff"))
            .args(args)
            .current_dir(root())
            .stdout(fs::File::create(&path).unwrap())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        fs::read(path).unwrap()
    };
    for ext in ["gz", "zst", "bz2", "xz", "lz4"] {
        let got = into(&format!("clean.txt.{ext}"), &["filter", "-q", page]);
        assert_eq!(got, ok(&["filter", "-q", "--compress", ext, page]), "{ext}");
        assert_eq!(decode(ext, &got), expected, "{ext}");
        let got = into(
            &format!("clean.jsonl.{ext}"),
            &["filter", "-q", "--jsonl", s(&jsonl)],
        );
        let want = ok(&["filter", "-q", "--compress", ext, "--jsonl", s(&jsonl)]);
        assert_eq!(got, want, "{ext}");
    }
    // tag's records likewise.
    for (name, args) in [
        ("tags.tsv.gz", vec!["tag", "-q", page]),
        ("tags.jsonl.zst", vec!["tag", "-q", "--json", page]),
    ] {
        let ext = name.rsplit('.').next().unwrap();
        assert_eq!(decode(ext, &into(name, &args)), ok(&args), "{name}");
    }
    // A WARC file, a gzip member per record as Common Crawl writes them.
    let got = into("clean.warc.gz", &["filter", "-q", "--warc", s(&warc)]);
    assert_eq!(
        got,
        ok(&["filter", "-q", "--compress", "gz", "--warc", s(&warc)])
    );
    assert_eq!(got.windows(3).filter(|w| w == b"\x1f\x8b\x08").count(), 2);
    // The flag wins; other names and pipes are plain.
    let plain = into(
        "clean.txt.gz",
        &["filter", "-q", "--compress", "none", page],
    );
    assert_eq!(plain, expected);
    assert_eq!(into("clean.txt", &["filter", "-q", page]), expected);
    let zst = into("clean.txt.gz", &["filter", "-q", "--compress", "zst", page]);
    assert_eq!(decode("zst", &zst), expected);
    // Reports too: `chaff man > chaff.1.gz` is what man(1) reads.
    let seed = shared().join("seed");
    for (name, args) in [
        ("chaff.1.gz", vec!["man"]),
        ("report.json.xz", vec!["eval", "--json", s(&seed)]),
        ("model.txt.bz2", vec!["inspect"]),
    ] {
        let ext = name.rsplit('.').next().unwrap();
        assert_eq!(decode(ext, &into(name, &args)), ok(&args), "{name}");
    }
}

#[test]
fn files_chaff_writes_are_compressed_as_named_and_models_read_so() {
    let tmp = tempfile::tempdir().unwrap();
    let page = "tests/data/sample_page.txt";
    let at = |name: &str| tmp.path().join(name);
    // --stats and --plot, beside a plain run of each.
    ok(&["filter", "-q", "--stats", s(&at("s.json")), page]);
    ok(&["filter", "-q", "--stats", s(&at("s.json.zst")), page]);
    assert_eq!(
        stats_counts(&decode("zst", &fs::read(at("s.json.zst")).unwrap())),
        stats_counts(&fs::read(at("s.json")).unwrap())
    );
    let seed = shared().join("seed");
    ok(&["eval", "--plot", s(&at("p.svg")), s(&seed)]);
    ok(&["eval", "--plot", s(&at("p.svg.gz")), s(&seed)]);
    assert_eq!(
        decode("gz", &fs::read(at("p.svg.gz")).unwrap()),
        fs::read(at("p.svg")).unwrap()
    );
    // A model written to a codec's name is compressed, and read back in every command.
    ok(&[
        "train",
        "-q",
        "-o",
        s(&at("m.chaff")),
        "training/sample.tsv",
    ]);
    let plain = fs::read(at("m.chaff")).unwrap();
    for ext in ["gz", "zst", "bz2", "xz", "lz4"] {
        let m = at(&format!("m.chaff.{ext}"));
        ok(&["train", "-q", "-o", s(&m), "training/sample.tsv"]);
        let z = fs::read(&m).unwrap();
        assert_ne!(z, plain, "{ext}");
        assert_eq!(decode(ext, &z), plain, "{ext}");
        assert_eq!(inspect(&m), inspect(&at("m.chaff")), "{ext}");
        let tags = |model: &Path| ok(&["tag", "-q", "-m", s(model), page]);
        assert_eq!(tags(&m), tags(&at("m.chaff")), "{ext}");
    }
    // Updating a compressed model and forgetting the update give the model back.
    let (gz, up) = (at("m.chaff.gz"), at("up.chaff.zst"));
    let more = "training/sample.fasttext";
    ok(&["train", "-q", "--update", s(&gz), "-o", s(&up), more]);
    ok(&[
        "forget",
        "-q",
        "--model",
        s(&up),
        "-o",
        s(&at("back.chaff")),
        more,
    ]);
    assert_eq!(fs::read(at("back.chaff")).unwrap(), plain);
    // A compressed model cut short is a one-line error naming it.
    let cut = at("cut.chaff.gz");
    fs::write(&cut, &fs::read(&gz).unwrap()[..300]).unwrap();
    let err = fails(&["inspect", s(&cut)]);
    assert!(
        err.starts_with(&format!("chaff: {}: ", cut.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_compression_level_applies_to_every_output_and_belongs_to_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, _, expected) = sample_inputs(tmp.path());
    // The level shows in each format's header where it has a place: gzip's XFL byte
    // (4 fastest, 2 best, 0 otherwise) and bzip2's block size digit.
    let header = |ext: &str, z: &[u8]| -> Option<u8> {
        match ext {
            "gz" => Some(z[8]),
            "bz2" => Some(z[3]),
            _ => None,
        }
    };
    for (i, (flag, ext, mark)) in [
        ("gz:1", "gz", Some(4)),
        ("gzip:9", "gz", Some(2)),
        ("gz:5", "gz", Some(0)),
        ("zst:19", "zst", None),
        ("bz2:1", "bz2", Some(b'1')),
        ("xz:0", "xz", None),
    ]
    .into_iter()
    .enumerate()
    {
        let out = tmp.path().join(format!("out{i}"));
        ok(&["filter", "-q", "--compress", flag, "-o", s(&out), s(&input)]);
        for f in ["a.txt", "b.txt"] {
            let z = fs::read(out.join(format!("{f}.{ext}"))).unwrap();
            assert_eq!(decode(ext, &z), expected, "{flag}: {f}");
            assert_eq!(header(ext, &z), mark, "{flag}: {f}");
        }
        let z = ok(&["filter", "--compress", flag, "tests/data/sample_page.txt"]);
        assert_eq!(decode(ext, &z), expected, "{flag}: stdout");
        assert_eq!(header(ext, &z), mark, "{flag}: stdout");
    }
    // The default level is the codec's own: gz as gz:6, bytes and all.
    assert_eq!(
        ok(&["filter", "--compress", "gz", "tests/data/sample_page.txt"]),
        ok(&["filter", "--compress", "gz:6", "tests/data/sample_page.txt"])
    );
    // A run into OUTDIR records its level: --resume finishes it only at that level.
    let out = tmp.path().join("out0");
    fs::remove_file(out.join("b.txt.gz")).unwrap();
    let err = fails(&[
        "filter",
        "--resume",
        "--compress",
        "gz:9",
        "-o",
        s(&out),
        s(&input),
    ]);
    assert!(
        err.contains("other settings: --compress gz:1, now gz:9 (see .chaff-run.json)"),
        "{err}"
    );
    // The same level however spelled.
    ok(&[
        "filter",
        "-q",
        "--resume",
        "--compress",
        "gzip:1",
        "-o",
        s(&out),
        s(&input),
    ]);
    assert_eq!(
        decode("gz", &fs::read(out.join("b.txt.gz")).unwrap()),
        expected
    );
    // Levels out of range, and levels of codecs without any, are refused before anything
    // is read or written.
    for (flag, why) in [
        ("gz:0", "gz levels are 1 to 9"),
        ("zst:22", "zst levels are 1 to 19"),
        ("lz4:9", "lz4 output has no levels"),
        ("auto:1", "a level needs a codec"),
    ] {
        let out = tmp.path().join("refused");
        let o = chaff(&["filter", "--compress", flag, "-o", s(&out), s(&input)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(&format!("--compress {flag}: {why}")), "{err}");
        assert!(!out.exists(), "{flag}");
    }
}

#[test]
fn legacy_chinese_encodings_are_detected_and_written_as_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    // Lines the encoding cannot hold (emoji; Simplified characters in Big5) would make the
    // test about replacement, not decoding.
    let encodable = |file: &str, enc: &'static encoding_rs::Encoding| -> String {
        fs::read_to_string(root().join(file))
            .unwrap()
            .lines()
            .filter(|l| !enc.encode(l).2)
            .map(|l| format!("{l}\n"))
            .collect()
    };
    for (file, enc) in [
        ("tests/data/sample_page.txt", encoding_rs::GBK),
        ("tests/data/traditional_news.txt", encoding_rs::BIG5),
    ] {
        let page = encodable(file, enc);
        let utf8 = tmp.path().join("utf8.txt");
        fs::write(&utf8, &page).unwrap();
        let expected = ok(&["filter", s(&utf8)]);
        assert!(expected.len() > 100, "{file}");
        let p = tmp.path().join(format!("{}.txt", enc.name()));
        fs::write(&p, enc.encode(&page).0).unwrap();
        assert_eq!(ok(&["filter", s(&p)]), expected, "{file}");
        assert_eq!(ok(&["filter", "--encoding", enc.name(), s(&p)]), expected);
    }
    let page = encodable("tests/data/sample_page.txt", encoding_rs::GBK);
    let utf8 = tmp.path().join("utf8.txt");
    fs::write(&utf8, &page).unwrap();
    // UTF-8 with a BOM: the BOM stays with line 1's bytes.
    let bom = tmp.path().join("bom.txt");
    fs::write(&bom, [&b"\xEF\xBB\xBF"[..], page.as_bytes()].concat()).unwrap();
    let with_bom = ok(&["tag", s(&bom)]);
    let without = ok(&["tag", s(&utf8)]);
    let strip = |b: Vec<u8>| {
        String::from_utf8(b)
            .unwrap()
            .lines()
            .map(|l| l.split_once('\t').unwrap().1.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(with_bom), strip(without));
    // Undecodable bytes: an error naming file and line, or U+FFFD with --lossy.
    let bad = tmp.path().join("bad.txt");
    let mut bytes = encoding_rs::GBK.encode(&page).0.into_owned();
    bytes.extend_from_slice(b"\n\x81\x20\n");
    fs::write(&bad, &bytes).unwrap();
    let err = fails(&["filter", "--encoding", "gbk", s(&bad)]);
    let line = page.lines().count() + 2;
    assert!(
        err.contains("bad.txt") && err.contains(&format!("line {line}:")),
        "{err}"
    );
    ok(&["filter", "--encoding", "gbk", "--lossy", s(&bad)]);
    let err = fails(&["filter", "--encoding", "klingon", s(&bad)]);
    assert!(err.contains("klingon"));
}

#[test]
fn binary_files_are_skipped_with_a_warning_or_fail_with_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::copy(
        root().join("tests/data/sample_page.txt"),
        input.join("a.txt"),
    )
    .unwrap();
    fs::write(input.join("b.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").unwrap();
    fs::write(input.join("c.txt"), b"").unwrap();
    let out = tmp.path().join("out");
    let stats = tmp.path().join("stats.json");
    let err = stderr_of(&["filter", "--stats", s(&stats), "-o", s(&out), s(&input)]);
    assert!(err.contains("warning") && err.contains("b.png"), "{err}");
    let st: serde_json::Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        (st["skipped"].as_u64(), st["files"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(!out.join("b.png").exists());
    // The empty file gives an empty output file.
    assert_eq!(fs::read(out.join("c.txt")).unwrap(), b"");
    let err = fails(&[
        "filter",
        "--strict",
        "-o",
        s(&tmp.path().join("o2")),
        s(&input),
    ]);
    assert!(err.contains("b.png") && err.contains("--strict"), "{err}");
    // A crawl's folder with an image beside every page: 20 skips named, then one line;
    // -v names every file, skipped ones so marked.
    for i in 0..30 {
        fs::write(input.join(format!("i{i:02}.png")), b"\x89PNG\r\n\x1a\n\0\0").unwrap();
    }
    let err = stderr_of(&["filter", "-q", "-o", s(&tmp.path().join("o3")), s(&input)]);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 21, "{err}");
    assert!(lines[..20]
        .iter()
        .all(|l| l.contains(": skipped, not plain text (NUL byte")));
    assert_eq!(
        lines[20],
        "chaff: warning: more files skipped: counted, not shown (-v or --file-stats names each)"
    );
    let err = stderr_of(&["filter", "-v", "-o", s(&tmp.path().join("o4")), s(&input)]);
    assert!(err.contains("i29.png: 0 documents, 0 lines: 0 kept, 0 dropped, 0 blank; skipped\n"));
    assert!(
        err.ends_with("; 31 files skipped (see the warnings)\n"),
        "{err}"
    );
}

#[test]
fn files_in_another_format_are_skipped_naming_the_flag_that_reads_them() {
    // Read as plain text, a JSONL record would be one line, kept or dropped whole; a
    // WARC file's headers would be paragraphs, an HTML page's tags lines.
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let page = fs::read_to_string(root().join("tests/data/sample_page.txt")).unwrap();
    fs::write(input.join("a.txt"), &page).unwrap();
    let record = serde_json::json!({"id": "a", "text": page}).to_string();
    fs::write(input.join("b.jsonl"), format!("{record}\n{record}\n")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{record}\n").as_bytes()).unwrap();
    fs::write(input.join("c.jsonl.gz"), gz.finish().unwrap()).unwrap();
    fs::write(input.join("d.json"), format!("[\n{record},\n{record}\n]\n")).unwrap();
    fs::write(input.join("e.parquet"), b"PAR1\x15\x04\x15\x10").unwrap();
    let warc = format!(
        "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: {}\r\n\r\n{page}\r\n\r\n",
        page.len()
    );
    fs::write(input.join("f.warc"), warc).unwrap();
    let html = format!("<!DOCTYPE html>\n<html><body><p>{page}</p></body></html>\n");
    fs::write(input.join("g.html"), html).unwrap();
    // Archives chaff does not read: a tar inside gzip, and a zip.
    let mut tar = vec![0u8; 1024];
    tar[..5].copy_from_slice(b"a.txt");
    tar[257..263].copy_from_slice(b"ustar\x00");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    fs::write(input.join("i.tar.gz"), gz.finish().unwrap()).unwrap();
    fs::write(input.join("j.zip"), b"PK\x03\x04\x14\x00\x00\x00").unwrap();
    // Text under a metadata record is text: the line after it does not open a record.
    let meta = serde_json::json!({"url": "https://example.com/a"});
    fs::write(input.join("h.txt"), format!("{meta}\n\n{page}")).unwrap();
    let out = tmp.path().join("out");
    let stats = tmp.path().join("stats.json");
    let err = stderr_of(&["filter", "--stats", s(&stats), "-o", s(&out), s(&input)]);
    for (file, hint) in [
        ("b.jsonl", "JSON lines: read them with --jsonl"),
        ("c.jsonl.gz", "JSON lines: read them with --jsonl"),
        ("d.json", "a JSON array of records: read it with --jsonl"),
        ("e.parquet", "a Parquet file: read it with --parquet"),
        ("f.warc", "a WARC file: read it with --warc"),
        (
            "g.html",
            "an HTML page: extract its text first; chaff reads text, not markup",
        ),
        (
            "i.tar.gz",
            "a tar archive: extract its files first with tar -xf",
        ),
        ("j.zip", "a zip archive: extract its files first with unzip"),
    ] {
        assert!(
            err.contains(&format!("{file}: skipped, not plain text ({hint})")),
            "{file}: {err}"
        );
        assert!(!out.join(file).exists(), "{file}");
    }
    let st: serde_json::Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        (st["skipped"].as_u64(), st["files"].as_u64()),
        (Some(8), Some(2))
    );
    assert!(out.join("a.txt").exists() && out.join("h.txt").exists());
    // The flag named reads them; a JSONL run is told a Parquet file too, and whatever
    // holds no record to read: WARC, an HTML page. It reads a JSON array, pretty-printed
    // or on one line (one longer than the sniffed head is not held whole).
    let jsonl = tmp.path().join("jsonl");
    fs::create_dir_all(&jsonl).unwrap();
    for f in [
        "b.jsonl",
        "c.jsonl.gz",
        "d.json",
        "e.parquet",
        "f.warc",
        "g.html",
    ] {
        fs::copy(input.join(f), jsonl.join(f)).unwrap();
    }
    let records = vec![serde_json::json!({"id": "a", "text": page}); 100];
    let line = serde_json::to_string(&records).unwrap();
    assert!(line.len() > 64 << 10 && !line.contains('\n'));
    fs::write(jsonl.join("k.json"), line).unwrap();
    // UTF-16 records (a byte-order mark, NUL bytes) are decoded before they are read.
    let utf16: Vec<u8> = "\u{FEFF}{\"text\": \"新闻报道。\"}\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    fs::write(jsonl.join("l.jsonl"), utf16).unwrap();
    // What a dataset's folder holds beside its shards.
    fs::write(
        jsonl.join("README.md"),
        "---\nlicense: mit\n---\n# 数据集\n",
    )
    .unwrap();
    fs::write(
        jsonl.join(".gitattributes"),
        "*.jsonl filter=lfs diff=lfs merge=lfs -text\n",
    )
    .unwrap();
    let o2 = tmp.path().join("o2");
    let err = stderr_of(&["filter", "--jsonl", "-o", s(&o2), s(&jsonl)]);
    for (file, hint) in [
        ("e.parquet", "a Parquet file: read it with --parquet"),
        ("f.warc", "a WARC file: read it with --warc"),
        (
            "g.html",
            "an HTML page: extract its text first; chaff reads text, not markup",
        ),
        (
            "README.md",
            "its first lines are not JSON objects: plain text? chaff reads it without --jsonl",
        ),
    ] {
        assert!(
            err.contains(&format!("{file}: skipped, not JSON lines ({hint})\n")),
            "{file}: {err}"
        );
        assert!(!o2.join(file).exists(), "{file}");
    }
    // A hidden name is not read, as Hadoop leaves it out.
    assert!(
        err.contains(".gitattributes: a file with a hidden name (a leading . or _, as Hadoop leaves them out); not read (name it to read it)\n"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(o2.join("b.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    assert!(o2.join("c.jsonl.gz").exists());
    for (file, records) in [("d.json", 2), ("k.json", 100)] {
        let out: Vec<serde_json::Value> =
            serde_json::from_slice(&fs::read(o2.join(file)).unwrap()).unwrap();
        assert_eq!(out.len(), records, "{file}");
    }
    assert_eq!(
        fs::read_to_string(o2.join("l.jsonl")).unwrap(),
        "{\"text\": \"新闻报道。\"}\n"
    );
    let err = fails(&["filter", "--strict", s(&input.join("b.jsonl"))]);
    assert!(
        err.contains("b.jsonl: not plain text (JSON lines: read them with --jsonl); --strict"),
        "{err}"
    );
    // --plain-text reads each record as a line, as the user says.
    let forced = tmp.path().join("forced.json");
    let b_path = input.join("b.jsonl");
    let b = s(&b_path);
    ok(&[
        "filter",
        "--plain-text",
        "--strict",
        "--stats",
        s(&forced),
        b,
    ]);
    let st: serde_json::Value = serde_json::from_slice(&fs::read(&forced).unwrap()).unwrap();
    assert_eq!(
        (st["skipped"].as_u64(), st["lines"].as_u64()),
        (Some(0), Some(2)),
        "{st}"
    );
    let err = fails(&["filter", "--plain-text", "--jsonl", b]);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// WuDaoCorpora's shape: a file is one JSON array of records (`id`, `title`,
/// `dataType`, `content`), on one line. Pretty-printed records are read too.
#[test]
fn json_arrays_are_read_as_records_and_written_back_as_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let records: Vec<serde_json::Value> = dev_pages(30)
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let text = fs::read_to_string(p).unwrap();
            // Every fourth is filler only: dropped, or kept empty with --keep-empty.
            let content = match i % 4 {
                3 => "转发微博 👍 0 举报 写留言\n求关注，互粉！".to_string(),
                _ => text,
            };
            serde_json::json!({"id": i, "uniqueKey": format!("k{i}"), "title": "标题 [一] {二}",
                "dataType": "新闻", "content": content})
        })
        .collect();
    let lines: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    fs::write(input.join("same.jsonl"), &lines).unwrap();
    let one_line = serde_json::to_string(&records).unwrap();
    fs::write(input.join("one.json"), &one_line).unwrap();
    fs::write(
        input.join("pretty.json"),
        serde_json::to_string_pretty(&records).unwrap(),
    )
    .unwrap();
    fs::write(input.join("z.json.gz"), gz(one_line.as_bytes())).unwrap();
    fs::write(input.join("empty.json"), "[]\n").unwrap();
    // Pretty-printed records one after another, as `jq .` writes them; and one alone.
    let jq: String = records
        .iter()
        .map(|r| serde_json::to_string_pretty(r).unwrap() + "\n")
        .collect();
    fs::write(input.join("jq.json"), &jq).unwrap();
    let single = serde_json::to_string_pretty(&records[0]).unwrap();
    fs::write(input.join("single.json"), &single).unwrap();
    let array = |bytes: &[u8]| -> Vec<serde_json::Value> { serde_json::from_slice(bytes).unwrap() };
    let from_lines = |bytes: &[u8]| -> Vec<serde_json::Value> {
        bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    };
    for (threads, chunk) in [("1", "1000000"), ("2", "20000")] {
        let out = tmp.path().join(format!("out{threads}"));
        let args = [
            "--threads",
            threads,
            "filter",
            "--jsonl",
            "--text-field",
            "content",
        ];
        let chunked = [
            &args[..],
            &["--chunk-bytes", chunk, "-o", s(&out), s(&input)],
        ]
        .concat();
        ok(&chunked);
        let want = from_lines(&fs::read(out.join("same.jsonl")).unwrap());
        assert_eq!(want.len(), 23, "the filler-only records are dropped");
        // The same records as from JSON lines, in an array again; each on a line.
        let one = fs::read(out.join("one.json")).unwrap();
        assert_eq!(array(&one), want);
        assert!(one.starts_with(b"[{\"") && one.ends_with(b"}]\n"));
        assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), want.len());
        assert_eq!(array(&fs::read(out.join("pretty.json")).unwrap()), want);
        assert_eq!(
            array(&gunzip(&fs::read(out.join("z.json.gz")).unwrap())),
            want
        );
        assert_eq!(fs::read(out.join("empty.json")).unwrap(), b"[]\n");
        // Pretty-printed records come out as JSON lines, a record a line.
        assert_eq!(from_lines(&fs::read(out.join("jq.json")).unwrap()), want);
        let single = fs::read(out.join("single.json")).unwrap();
        assert_eq!(from_lines(&single), want[..1]);
        assert_eq!(single.iter().filter(|&&b| b == b'\n').count(), 1);
        // Other fields as written, the text reduced to the kept lines.
        let first = &want[0];
        assert_eq!(first["title"], "标题 [一] {二}");
        assert_eq!(
            first["content"].as_str().unwrap().as_bytes(),
            &ok(&["filter", s(&dev_pages(1)[0])])[..]
        );
    }
    // To stdout, from stdin too; --keep-empty keeps every record.
    let one = input.join("one.json");
    let args = ["filter", "--jsonl", "--text-field", "content"];
    let out = ok(&[&args[..], &[s(&one)]].concat());
    let o = chaff_in(
        &root(),
        &[&args[..], &["-"]].concat(),
        Some(one_line.as_bytes()),
    );
    assert_eq!(o.stdout, out);
    let all = array(&ok(&[&args[..], &["--keep-empty", s(&one)]].concat()));
    assert_eq!(all.len(), records.len());
    assert_eq!(all[3]["content"], "");
    // A bad record is told by its number in the array, and under --bad-records skip
    // left out.
    let bad = tmp.path().join("bad.json");
    fs::write(
        &bad,
        "[{\"content\": \"国务院召开常务会议。\"}, 7,\n {\"content\": 1}]",
    )
    .unwrap();
    let err = fails(&[&args[..], &[s(&bad)]].concat());
    assert!(err.contains("bad.json:2: not a JSON object"), "{err}");
    let o = chaff(&[&args[..], &["--bad-records", "skip", s(&bad)]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.json:2: bad record skipped"), "{err}");
    assert!(err.contains("bad.json:3: bad record skipped"), "{err}");
    assert_eq!(array(&o.stdout).len(), 1);
    // An array cut short fails at its line, and its output is not written.
    let cut = input.join("cut.json");
    fs::write(&cut, &one_line.as_bytes()[..one_line.len() - 200]).unwrap();
    let out = tmp.path().join("cut");
    let err = fails(&[&args[..], &["-o", s(&out), s(&input)]].concat());
    assert!(
        err.contains("cut.json:1: the JSON array is cut short: the stream ends inside record 30"),
        "{err}"
    );
    assert!(!out.join("cut.json").exists());
}

#[test]
fn chunked_files_are_processed_in_parallel_with_identical_output() {
    let tmp = tempfile::tempdir().unwrap();
    // One big text file made of many pages.
    let mut big = Vec::new();
    for p in dev_pages(60) {
        big.extend(fs::read(p).unwrap());
        big.extend_from_slice(b"\n");
    }
    let input = tmp.path().join("big.txt");
    fs::write(&input, &big).unwrap();
    let args = |t: &'static str, c: &'static str| {
        vec!["--threads", t, "filter", "--chunk-bytes", c, s(&input)]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let one = run(args("1", "2000"));
    assert_eq!(run(args("2", "2000")), one);
    assert_eq!(run(args("2", "2000")), one);
    // Every output line is an input line, in order.
    let input_lines: Vec<&[u8]> = big.split_inclusive(|&b| b == b'\n').collect();
    let mut rest = input_lines.iter();
    for l in one.split_inclusive(|&b| b == b'\n') {
        assert!(rest.any(|i| *i == l), "output line not in input order");
    }
    // Chunking only cuts the page context at blank lines: mostly the same decisions.
    let whole = run(args("2", "100000000"));
    let diff = whole.len().abs_diff(one.len()) as f64 / whole.len() as f64;
    assert!(diff < 0.05, "{diff}");
}

#[test]
fn accounting_holds_per_file_on_the_dev_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = shared().join("eval/dev/pages");
    let stats = tmp.path().join("files.jsonl");
    let total = tmp.path().join("total.json");
    ok(&[
        "filter",
        "-q",
        "--file-stats",
        s(&stats),
        "--stats",
        s(&total),
        "-o",
        s(&tmp.path().join("out")),
        s(&dev),
    ]);
    // Labelled (non-blank) lines per page, from the dev labels.
    let labels = fs::read_to_string(shared().join("eval/dev/labels.tsv")).unwrap();
    let mut labelled = std::collections::HashMap::<String, u64>::new();
    for l in labels.lines().skip(1) {
        *labelled
            .entry(l.split('\t').next().unwrap().to_string())
            .or_default() += 1;
    }
    let mut sum = [0u64; 4];
    let mut files = 0;
    for l in fs::read_to_string(&stats).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let n = |k: &str| v[k].as_u64().unwrap();
        let path = PathBuf::from(v["path"].as_str().unwrap());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(n("lines"), text.lines().count() as u64, "{path:?}");
        assert_eq!(n("kept") + n("dropped") + n("blank"), n("lines"));
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(n("kept") + n("dropped"), labelled[name], "{name}");
        let out = fs::read(tmp.path().join("out").join(name)).unwrap();
        assert_eq!(n("bytes_out"), out.len() as u64);
        for (i, k) in ["lines", "kept", "dropped", "blank"].iter().enumerate() {
            sum[i] += n(k);
        }
        files += 1;
    }
    assert_eq!(files, 400);
    let t: serde_json::Value = serde_json::from_slice(&fs::read(&total).unwrap()).unwrap();
    for (i, k) in ["lines", "kept", "dropped", "blank"].iter().enumerate() {
        assert_eq!(t[k].as_u64(), Some(sum[i]), "{k}");
    }
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn resume_finishes_a_partial_outdir_and_refuses_other_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    for p in dev_pages(30) {
        fs::copy(&p, input.join(p.file_name().unwrap())).unwrap();
    }
    // Side files at one path for both runs (the run record names them): the clean run's
    // are moved aside.
    let (stats, removed, files) = (
        tmp.path().join("stats.json"),
        tmp.path().join("removed.jsonl"),
        tmp.path().join("files.jsonl.gz"),
    );
    let filter = |out: &Path, more: &[&str]| {
        let args = [
            &[
                "filter",
                "-q",
                "--stats",
                s(&stats),
                "--removed",
                s(&removed),
            ][..],
            &["--file-stats", s(&files), "-o", s(out)],
            more,
            &[s(&input)],
        ];
        stderr_of(&args.concat())
    };
    let clean = tmp.path().join("clean");
    assert_eq!(filter(&clean, &[]), "");
    let side = |tag: &str| {
        for p in [&stats, &removed, &files] {
            fs::rename(p, p.with_extension(tag)).unwrap();
        }
    };
    side("clean");
    let partial = tmp.path().join("partial");
    assert_eq!(filter(&partial, &[]), "");
    // Simulate a killed run: some outputs missing, a temporary file left behind. The
    // journal vouches for the first 10; the rest is done again.
    let names: Vec<PathBuf> = tree(&partial).into_iter().map(|t| t.0).collect();
    let outputs = names
        .iter()
        .filter(|n| !n.to_string_lossy().starts_with('.'));
    for n in outputs.skip(10).step_by(2) {
        fs::remove_file(partial.join(n)).unwrap();
    }
    fs::write(partial.join(".x.txt.1234.chaff-tmp"), b"half").unwrap();
    let err = fails(&["filter", "-o", s(&partial), s(&input)]);
    assert!(err.contains("--resume"), "{err}");
    let err = fails(&[
        "filter",
        "--resume",
        "--threshold",
        "0.9",
        "-o",
        s(&partial),
        s(&input),
    ]);
    assert!(err.contains("; --threshold (none), now 0.9 (see"), "{err}");
    // Another chaff may write other bytes (0.1.0 wrote JSONL records compactly): a run it
    // began is not finished by this one.
    let manifest = partial.join(".chaff-run.json");
    let record = fs::read_to_string(&manifest).unwrap();
    let version = format!("\"chaff\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(record.contains(&version), "{record}");
    fs::write(&manifest, record.replace(&version, "\"chaff\": \"0.1.0\"")).unwrap();
    let err = fails(&["filter", "--resume", "-o", s(&partial), s(&input)]);
    let want = format!("chaff version 0.1.0, now {};", env!("CARGO_PKG_VERSION"));
    assert!(err.contains(&want), "{err}");
    fs::write(&manifest, record).unwrap();
    // The side files are part of the settings: a resume continues the same ones.
    let want = format!(
        "other settings: --file-stats {}, now (none); --removed {}, now (none) (see",
        files.display(),
        removed.display()
    );
    let err = fails(&["filter", "--resume", "-o", s(&partial), s(&input)]);
    assert!(err.contains(&want), "{err}");
    // A side file with no folder to go in stops the run before anything is written.
    let (nowhere, new) = (tmp.path().join("no/such/r.jsonl"), tmp.path().join("new"));
    let err = fails(&["filter", "--removed", s(&nowhere), "-o", s(&new), s(&input)]);
    assert!(err.contains("no/such") && err.lines().count() == 1, "{err}");
    assert!(!new.exists());
    let err = fails(&["filter", "--removed", s(&input), "-o", s(&new), s(&input)]);
    assert!(err.contains("a folder, not a file"), "{err}");
    assert!(!new.exists());
    // Two side outputs to one file would write over each other.
    let err = fails(&[
        "filter",
        "--removed",
        "x",
        "--stats",
        "x",
        "-o",
        s(&new),
        s(&input),
    ]);
    assert!(
        err.ends_with("--removed and --stats name one file, x: give each its own\n"),
        "{err}"
    );
    assert!(!new.exists());
    assert_eq!(filter(&partial, &["--resume"]), "");
    assert_eq!(tree(&partial), tree(&clean));
    // The side files and the summary cover the whole dump, as the clean run's do; only
    // `resumed` tells the runs apart.
    for p in [&removed, &files] {
        assert_eq!(
            fs::read(p).unwrap(),
            fs::read(p.with_extension("clean")).unwrap()
        );
    }
    let json = |p: &Path| serde_json::from_slice::<serde_json::Value>(&fs::read(p).unwrap());
    let st = fs::read(&stats).unwrap();
    assert_eq!(json(&stats).unwrap()["resumed"], 10);
    assert_eq!(
        stats_counts(&st),
        stats_counts(&fs::read(stats.with_extension("clean")).unwrap())
    );
    // Resumed again, with nothing left to do: the side files are rebuilt from the
    // finished ones, the same again. Without them, everything is done again.
    for (resumed, tag) in [(30, "first"), (0, "second")] {
        assert_eq!(filter(&partial, &["--resume"]), "");
        for p in [&removed, &files] {
            assert_eq!(
                fs::read(p).unwrap(),
                fs::read(p.with_extension("clean")).unwrap()
            );
        }
        assert_eq!(json(&stats).unwrap()["resumed"], resumed);
        side(tag);
    }
    assert_eq!(tree(&partial), tree(&clean));
}

/// Dolma attributes of records decided a chunk at a time (records of tens of thousands of
/// lines, one with `\r` line ends): the class spans cover every paragraph, and removing
/// the `drop` spans from a text leaves what `filter` keeps of it.
#[test]
fn dolma_drop_spans_of_long_records_remove_what_filter_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for p in dev_pages(3) {
        text += &fs::read_to_string(p).unwrap();
    }
    text += &"\n".repeat(40_000);
    text += "哈哈哈哈今天天气真好，晒太阳去咯～\n\n国务院常务会议研究部署。";
    let texts = [text.clone(), text.replace('\n', "\r")];
    let input = tmp.path().join("long.jsonl");
    let records: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{{\"id\":{i},\"text\":{}}}\n", json_str(t)))
        .collect();
    fs::write(&input, records).unwrap();
    let dir = tmp.path().join("attributes");
    ok(&["tag", "--dolma", "--attributes-dir", s(&dir), s(&input)]);
    let attributes = fs::read_to_string(dir.join("long.jsonl")).unwrap();
    let filtered = ok(&["filter", "--jsonl", "--keep-empty", s(&input)]);
    let filtered: Vec<&str> = std::str::from_utf8(&filtered).unwrap().lines().collect();
    assert_eq!(attributes.lines().count(), 2);
    for (i, line) in attributes.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], i);
        let a = &v["attributes"];
        let paragraphs = texts[i]
            .split(['\n', '\r'])
            .filter(|l| !l.trim().is_empty());
        assert_eq!(
            a["chaff__paragraph__news"].as_array().unwrap().len(),
            paragraphs.count()
        );
        // The code points no drop span covers.
        let drop: Vec<std::ops::Range<u64>> = a["chaff__paragraph__drop"]
            .as_array()
            .unwrap()
            .iter()
            .map(|span| span[0].as_u64().unwrap()..span[1].as_u64().unwrap())
            .collect();
        let kept: String = (0u64..)
            .zip(texts[i].chars())
            .filter(|(k, _)| !drop.iter().any(|d| d.contains(k)))
            .map(|(_, c)| c)
            .collect();
        let want: serde_json::Value = serde_json::from_str(filtered[i]).unwrap();
        assert_eq!(kept, want["text"].as_str().unwrap(), "record {i}");
        assert!(!kept.is_empty());
    }
}

#[test]
fn dolma_attribute_runs_resume_as_filter_runs_do() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("documents");
    fs::create_dir_all(&docs).unwrap();
    let (jsonl, _) = dev_jsonl(40);
    let lines: Vec<&str> = jsonl.lines().collect();
    for (k, part) in lines.chunks(8).enumerate() {
        let text = part.join("\n") + "\n";
        match k % 2 {
            0 => fs::write(docs.join(format!("part-{k}.jsonl")), text),
            _ => fs::write(docs.join(format!("part-{k}.jsonl.gz")), gz(text.as_bytes())),
        }
        .unwrap();
    }
    let tag = |dir: &Path, more: &[&str]| {
        let args = [
            &["tag", "--dolma", "--attributes-dir", s(dir)][..],
            more,
            &[s(&docs)],
        ];
        chaff(&args.concat())
    };
    let clean = tmp.path().join("clean");
    assert!(tag(&clean, &["-q"]).status.success());
    let partial = tmp.path().join("partial");
    assert!(tag(&partial, &["-q"]).status.success());
    // The run is recorded as a Dolma run with its tagger name.
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(partial.join(".chaff-run.json")).unwrap()).unwrap();
    assert_eq!(record["dolma"], "paragraph");
    // A killed run: two attribute files missing, a temporary file left behind.
    fs::remove_file(partial.join("part-1.jsonl.gz")).unwrap();
    fs::remove_file(partial.join("part-2.jsonl")).unwrap();
    fs::write(partial.join(".part-3.jsonl.99.chaff-tmp"), b"half").unwrap();
    let refused = |more: &[&str], what: &str| {
        let o = tag(&partial, more);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{more:?}: {err}");
        assert!(
            err.contains(what) && err.lines().count() == 1,
            "{more:?}: {err}"
        );
    };
    refused(&[], "--resume finishes it if it stopped");
    refused(&["--resume", "--threshold", "0.5"], "other settings");
    refused(&["--resume", "--doc-threshold", "0.2"], "other settings");
    refused(&["--resume", "--dolma-name", "other"], "other settings");
    // A filter run's resume does not take the attributes folder for its own.
    let err = fails(&["filter", "--jsonl", "--resume", "-o", s(&partial), s(&docs)]);
    assert!(err.contains("other settings"), "{err}");
    // --jsonl is implied by --dolma: giving it changes nothing.
    let o = tag(&partial, &["--resume", "--jsonl"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // The summary counts the whole dump: part-1 was the first file missing.
    assert!(err.contains("5 files, 40 documents"), "{err}");
    assert!(err.contains("; 1 file already done (--resume)"), "{err}");
    assert_eq!(tree(&partial), tree(&clean));
    // --resume is for an attributes folder.
    let err = fails(&["tag", "--resume", "--jsonl", s(&docs)]);
    assert!(err.contains("--attributes-dir"), "{err}");
}

#[test]
fn hadoop_counters_on_stderr() {
    let err = stderr_of(&["filter", "--hadoop-counters", "tests/data/sample_page.txt"]);
    let kept = err
        .lines()
        .find_map(|l| l.strip_prefix("reporter:counter:chaff,kept,"))
        .unwrap();
    assert!(kept.parse::<u64>().unwrap() > 0);
}

/// Small files travel to the workers in batches; a bad file in the middle of one still
/// stops the run with its name and line, leaves no temporary behind, and every output
/// written is whole. With one worker the writer goes in input order, so nothing after the
/// bad file is written.
#[test]
fn a_bad_file_inside_a_batch_of_small_files_stops_the_run_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let input = page_folder(tmp.path(), |_, text| text.into_bytes());
    let clean = tmp.path().join("clean");
    ok(&["filter", "-o", s(&clean), s(&input)]);
    fs::write(input.join("017.txt"), b"fine line\nfine too\n\xff broken\n").unwrap();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("out{threads}"));
        let err = fails(&["--threads", threads, "filter", "-o", s(&out), s(&input)]);
        assert!(err.contains("017.txt:3:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for (path, bytes) in tree(&out) {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            assert!(!name.contains("chaff-tmp"), "temporary left: {name}");
            if name.ends_with(".txt") {
                assert_ne!(name, "017.txt");
                assert_eq!(bytes, fs::read(clean.join(&name)).unwrap(), "{name}");
                if threads == "1" {
                    assert!(
                        name.as_str() < "017.txt",
                        "{name} written after the failure"
                    );
                }
            }
        }
    }
}

/// With several workers, once a file has needed detecting as a legacy encoding, the next
/// files are opened ahead on other threads: the outputs, their order and a failure's
/// report must not change.
#[test]
fn files_in_mixed_encodings_come_out_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let input = page_folder(tmp.path(), |i, text| match i % 3 {
        0 => text.into_bytes(),
        1 => encoding_rs::GBK.encode(&text).0.into_owned(),
        _ => encoding_rs::GB18030.encode(&text).0.into_owned(),
    });
    let tagged = |threads: &str| ok(&["--threads", threads, "tag", "--json", s(&input)]);
    let one = tagged("1");
    assert!(one.len() > 10_000);
    assert_eq!(tagged("2"), one);
    assert_eq!(tagged("3"), one);
    let (o1, o2) = (tmp.path().join("o1"), tmp.path().join("o2"));
    ok(&["--threads", "1", "filter", "-o", s(&o1), s(&input)]);
    ok(&["--threads", "2", "filter", "-o", s(&o2), s(&input)]);
    let t1 = tree(&o1);
    assert_eq!(
        t1.iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "txt"))
            .count(),
        40
    );
    assert_eq!(tree(&o2), t1);
    // Standard input between files being opened ahead is read in its turn.
    let gbk_page = encoding_rs::GBK
        .encode(&String::from_utf8_lossy(
            &fs::read(input.join("000.txt")).unwrap(),
        ))
        .0
        .into_owned();
    let with_stdin = |threads: &str| {
        let args = [
            "--threads",
            threads,
            "tag",
            "--json",
            s(&input),
            "-",
            s(&input),
        ];
        let o = chaff_in(&root(), &args, Some(&gbk_page));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let mixed = with_stdin("1");
    let text = String::from_utf8(mixed.clone()).unwrap();
    let from_stdin = text
        .lines()
        .filter(|l| l.starts_with("{\"path\":\"-\""))
        .count();
    assert!(from_stdin > 0 && text.len() > 2 * one.len(), "{from_stdin}");
    assert_eq!(with_stdin("2"), mixed);
    assert_eq!(with_stdin("3"), mixed);
    // Two files that fail, after files opened ahead: one line, naming the first.
    fs::write(input.join("025.txt"), b"\x00\x01\x02 binary \x00\x00").unwrap();
    fs::write(input.join("026.txt"), b"ok\n\x81\x20\n".repeat(3)).unwrap();
    let o3 = tmp.path().join("o3");
    let err = fails(&[
        "--threads",
        "2",
        "filter",
        "--strict",
        "-o",
        s(&o3),
        s(&input),
    ]);
    assert!(err.contains("025.txt"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// chaff `args` with standard input piped, and each line it writes to stdout sent on a
/// channel by a thread of its own, so that a test waits for an answer with a timeout
/// (a hang fails, rather than stops, the test). stderr is dropped.
fn piped_lines(
    args: &[&str],
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaff"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    (child, stdin, rx)
}

/// `--pipe` is a streaming step: each record's answer comes out before the next record
/// is written (no read-ahead holds it back: neither the encoding sniff, the reader's
/// lookahead for the source's last chunk, nor a decoder holding text it decoded). The
/// timeout only catches a hang.
#[test]
fn pipe_mode_answers_each_record_before_the_next_arrives() {
    use chaff::compression::Compression;
    use std::time::Duration;
    let paragraph = "国务院常务会议研究部署城市防汛工作，要求压实责任。";
    // Records of a line, and of 150 kB: more than a read of the decoded text (64 KiB)
    // and than a zstd block (128 KiB), so a decoder holds text it has read whole.
    let record = |i: usize| {
        let lines = if i % 2 == 0 {
            1
        } else {
            150_000 / paragraph.len()
        };
        let text = vec![paragraph; lines].join("\\n");
        format!("{{\"id\":{i},\"text\":\"{text}\"}}\n")
    };
    // Plain records; records each sent as a bzip2 stream of its own by libbzip2 (read
    // block by block, each answered once its stream ends); one stream in every codec,
    // written by chaff's own writer (`chaff --pipe --compress C` upstream), flushed
    // after each record.
    let kinds = [
        None,
        Some(Compression::None),
        Some(Compression::Gzip),
        Some(Compression::Zstd),
        Some(Compression::Xz),
        Some(Compression::Lz4),
        Some(Compression::Bzip2),
    ];
    for kind in kinds {
        let (mut child, stdin, rx) =
            piped_lines(&["-q", "filter", "--jsonl", "--pipe", "--keep-empty", "-"]);
        // chaff's writer into the pipe, or the pipe itself for libbzip2's streams.
        let (mut upstream, mut raw) = match kind {
            Some(c) => (
                Some(chaff::output::Compressed::new(stdin, c, None, true).unwrap()),
                None,
            ),
            None => (None, Some(stdin)),
        };
        for i in 0..4 {
            let record = record(i);
            match (&mut upstream, &mut raw) {
                (Some(w), _) => {
                    w.write_all(record.as_bytes()).unwrap();
                    w.flush().unwrap();
                }
                (None, Some(w)) => {
                    w.write_all(&bz2(record.as_bytes())).unwrap();
                    w.flush().unwrap();
                }
                (None, None) => unreachable!(),
            }
            let answer = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!("{kind:?}: no answer to record {i} while stdin stays open")
                });
            assert!(answer.starts_with(&format!("{{\"id\":{i},")), "{kind:?}");
            assert_eq!(
                answer.len() + 1,
                record.len(),
                "{kind:?}: record {i} kept whole"
            );
        }
        if let Some(w) = upstream {
            drop(w.finish().unwrap());
        }
        drop(raw);
        assert!(child.wait().unwrap().success(), "{kind:?}");
        assert!(
            rx.recv_timeout(Duration::from_secs(60)).is_err(),
            "{kind:?}: one answer per record"
        );
    }
    // tag answers each record with its lines' tag records, flushed before the next
    // record arrives.
    let (mut child, mut stdin, rx) =
        piped_lines(&["-q", "tag", "--json", "--jsonl", "--pipe", "-"]);
    for i in 0..3 {
        let text = vec![paragraph; i + 1].join("\\n");
        writeln!(stdin, "{{\"id\":{i},\"text\":\"{text}\"}}").unwrap();
        stdin.flush().unwrap();
        for line in 1..=i + 1 {
            let answer = (rx.recv_timeout(Duration::from_secs(60)))
                .unwrap_or_else(|_| panic!("tag: no answer to record {i} while stdin stays open"));
            let head = format!(
                "{{\"path\":\"-\",\"record\":{},\"id\":{i},\"line\":{line},",
                i + 1
            );
            assert!(answer.starts_with(&head), "{answer}");
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert!(rx.recv_timeout(Duration::from_secs(60)).is_err());
}

/// A file a run writes beside its outputs (or a model `train` and `forget` write) is
/// never an input, nor in an input folder: the input would be replaced (0.2.0 replaced
/// `x.txt` in `filter --removed x.txt x.txt` and `train -o x.txt x.txt`), or read back
/// as one by a later run. Refused before anything is written.
/// `dir/in/NAME`, holding the first dev page: the folder and the page.
fn one_page_folder(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let input = dir.join("in");
    fs::create_dir_all(&input).unwrap();
    let page = fs::read(&dev_pages(1)[0]).unwrap();
    fs::write(input.join(name), &page).unwrap();
    (input, page)
}

#[test]
fn side_files_never_replace_an_input_nor_lie_in_an_input_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, page) = one_page_folder(tmp.path(), "x.txt");
    let x = input.join("x.txt");
    let link = tmp.path().join("link.txt");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let out = tmp.path().join("out");
    let (xs, ls, ins, outs) = (s(&x), s(&link), s(&input), s(&out));
    let inside = input.join("removed.jsonl");
    let model = root().join("models/default.chaff");
    let list = tmp.path().join("list.txt");
    fs::write(&list, format!("{xs}\n")).unwrap();
    let lists = s(&list);
    let runs: [(&[&str], &str); 12] = [
        (
            &["filter", "--files-from", lists, "--stats", lists],
            "--stats names an input",
        ),
        (&["eval", "--plot", xs, xs], "--plot names an input"),
        (&["train", "-o", xs, ls], "-o names an input"),
        (
            &["train", "-o", s(&inside), ins],
            "-o file lies inside the input folder",
        ),
        (
            &["forget", "-m", s(&model), "-o", xs, xs],
            "-o names an input",
        ),
        (&["filter", "--removed", xs, xs], "--removed names an input"),
        (&["filter", "--stats", xs, ls], "--stats names an input"),
        (
            &["filter", "-o", outs, "--file-stats", xs, xs],
            "--file-stats names an input",
        ),
        (&["tag", "--html", xs, ls], "--html names an input"),
        (
            &["filter", "--removed", s(&inside), ins],
            "--removed file lies inside the input folder",
        ),
        (
            &["filter", "-o", outs, "--stats", s(&inside), ins],
            "--stats file lies inside the input folder",
        ),
        (
            &["tag", "--html", s(&inside), ins],
            "--html file lies inside the input folder",
        ),
    ];
    for (args, want) in runs {
        let err = fails(args);
        assert!(
            err.contains(want) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert_eq!(fs::read(&x).unwrap(), page, "{args:?}");
        assert!(!inside.exists() && !out.exists(), "{args:?}");
        assert_eq!(fs::read_dir(&input).unwrap().count(), 1, "{args:?}");
        assert_eq!(fs::read_to_string(&list).unwrap(), format!("{xs}\n"));
    }
    // Nor inside the output folder: among the outputs (an input `removed.jsonl` has its
    // output there, which one of the two renames replaced), and the next step's input.
    fs::create_dir(&out).unwrap();
    fs::write(input.join("removed.jsonl"), &page).unwrap();
    for flag in ["--removed", "--file-stats", "--stats"] {
        let side = out.join("removed.jsonl");
        let err = fails(&["filter", "-o", outs, flag, s(&side), ins]);
        assert_eq!(
            err,
            format!(
                "chaff: {}: {flag} file lies inside the output folder {outs} (among the outputs, which a later step reads as input); write it beside the folder\n",
                side.display()
            )
        );
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }
    fs::remove_file(input.join("removed.jsonl")).unwrap();
    fs::remove_dir(&out).unwrap();
    // Said so too before the run has made the folder (or a folder in it): it said
    // "No such file or directory" of the folder the run would make.
    for side in [out.join("removed.jsonl"), out.join("sub/removed.jsonl")] {
        let err = fails(&["filter", "-o", outs, "--removed", s(&side), ins]);
        assert!(
            err.starts_with(&format!(
                "chaff: {}: --removed file lies inside the output folder {outs} ",
                side.display()
            )),
            "{err}"
        );
        assert!(!out.exists());
    }
    // Nor the model the run reads.
    let m = tmp.path().join("m.chaff");
    fs::copy(&model, &m).unwrap();
    let ms = s(&m);
    for (args, flag) in [
        (&["eval", "-m", ms, "--plot", ms, xs][..], "--plot"),
        (&["filter", "-m", ms, "--stats", ms, xs], "--stats"),
        (
            &["filter", "-m", ms, "-o", outs, "--removed", ms, xs],
            "--removed",
        ),
        (&["tag", "-m", ms, "--html", ms, xs], "--html"),
    ] {
        let err = fails(args);
        assert_eq!(
            err,
            format!("chaff: {ms}: {flag} names an input ({ms}), which the run would replace; write it elsewhere\n")
        );
        assert_eq!(fs::read(&m).unwrap(), fs::read(&model).unwrap());
    }
    fs::remove_file(&m).unwrap();
    // Standard output into an input (`>> x.txt`), as cat(1) refuses it; not when the
    // run writes to a folder.
    for (args, refused) in [
        (&["filter", xs][..], true),
        (&["tag", "--json", ls], true),
        (&["filter", "--files-from", lists], true),
        (&["filter", "-o", outs, xs], false),
    ] {
        let appended = fs::OpenOptions::new().append(true).open(&x).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_chaff"))
            .args(args)
            .stdout(appended)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        if refused {
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains("the input is also standard output"),
                "{args:?}: {err}"
            );
        } else {
            assert!(o.status.success(), "{args:?}: {err}");
        }
        assert_eq!(fs::read(&x).unwrap(), page, "{args:?}");
    }
    // A folder, or a path in no folder, for a file the run writes: refused before the run
    // (not after it, when the finished file is renamed there).
    let missing = tmp.path().join("no/such/folder/file");
    for path in [tmp.path(), missing.as_path()] {
        for flag in ["--stats", "--removed", "--file-stats"] {
            let o = chaff(&["filter", flag, s(path), xs]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                !o.status.success() && o.stdout.is_empty(),
                "{flag} {path:?}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    let err = fails(&["tag", "--html", s(tmp.path()), xs]);
    assert!(err.contains("a folder, not a file"), "{err}");
    // Standard output into a file in an input folder (`> in/clean.jsonl`): the walk would
    // read it as it is written. (Linux tells a descriptor's path.)
    if cfg!(target_os = "linux") {
        let clean = input.join("clean.jsonl");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_chaff"))
            .args(["filter", "--jsonl", ins])
            .stdout(fs::File::create(&clean).unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("inside this input folder"), "{err}");
        assert_eq!(fs::read(&clean).unwrap(), b"");
    }
    // A link in an input folder to a file the run writes (`linked/r.txt ->
    // ../removed.jsonl`) is that file as an input: refused, walked into OUTDIR or not.
    let linked = tmp.path().join("linked");
    fs::create_dir_all(&linked).unwrap();
    fs::write(linked.join("a.txt"), &page).unwrap();
    let removed = tmp.path().join("removed.jsonl");
    fs::write(&removed, b"{\"an earlier run's\":1}\n").unwrap();
    std::os::unix::fs::symlink(&removed, linked.join("r.txt")).unwrap();
    let (lks, rs) = (s(&linked), s(&removed));
    let out = tmp.path().join("out2");
    for args in [
        &[
            "filter",
            "--jsonl",
            "--bad-records",
            "skip",
            "--removed",
            rs,
            lks,
        ][..],
        &["filter", "-o", s(&out), "--removed", rs, lks],
        &[
            "filter",
            "--jsonl",
            "--bad-records",
            "skip",
            "--files-from",
            lists,
            "--stats",
            rs,
            lks,
        ],
        &["tag", "--html", rs, lks],
    ] {
        let err = fails(args);
        assert!(
            err.contains("names an input (") && err.contains("r.txt), which the run would replace"),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?}");
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_chaff"))
        .args(["filter", "--plain-text", lks])
        .stdout(fs::OpenOptions::new().append(true).open(&removed).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the input is also standard output"), "{err}");
    assert_eq!(fs::read(&removed).unwrap(), b"{\"an earlier run's\":1}\n");
    // Standard input redirected from such a file: `- < x.txt >> x.txt` (as cat(1)
    // refuses it), `--removed r.jsonl - < r.jsonl`; from another file, the run goes on.
    let from = |file: &Path, args: &[&str], to: Option<&Path>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_chaff"));
        cmd.args(args).stdin(fs::File::open(file).unwrap());
        if let Some(to) = to {
            cmd.stdout(fs::OpenOptions::new().append(true).open(to).unwrap());
        }
        cmd.output().unwrap()
    };
    let pipe = ["filter", "--jsonl", "--pipe", "-"];
    for (file, args, to, want) in [
        (
            &x,
            &["filter", "-"][..],
            Some(&x),
            "standard input is also standard output",
        ),
        (
            &x,
            &["tag", "-"],
            Some(&x),
            "standard input is also standard output",
        ),
        (
            &removed,
            &pipe,
            Some(&removed),
            "standard input is also standard output",
        ),
        (
            &removed,
            &["filter", "--removed", rs, "-"],
            None,
            "--removed names an input (standard input)",
        ),
        (
            &removed,
            &["filter", "-o", s(&out), "--removed", rs, "-"],
            None,
            "--removed names an input (standard input)",
        ),
    ] {
        let before = fs::read(file).unwrap();
        let o = from(file, args, to.map(|p| p.as_path()));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert_eq!(fs::read(file).unwrap(), before, "{args:?}");
        assert!(!out.exists(), "{args:?}");
    }
    let o = from(&x, &["-q", "filter", "--removed", rs, "-"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, ok(&["-q", "filter", xs]));
}

/// The unfinished files a stopped run left in a folder (a killed run's output folder,
/// now the next step's input) are not read: half written, they are no input.
#[test]
fn side_files_go_straight_into_devices_fifos_and_descriptors_and_through_links() {
    // Renaming a finished file onto a device's path replaced the device node (as root,
    // `--removed /dev/null` left a regular /dev/null), and a descriptor's path
    // (`--removed >(zstd > r.zst)`, /dev/fd/63) could not have a file made beside it.
    let tmp = tempfile::tempdir().unwrap();
    let (input, _) = one_page_folder(tmp.path(), "x.txt");
    let x = input.join("x.txt");
    let xs = s(&x);
    let file = tmp.path().join("removed.jsonl");
    ok(&["filter", "-q", "--removed", s(&file), xs]);
    let removed = fs::read(&file).unwrap();
    assert!(removed.starts_with(b"{\"path\""), "{removed:?}");
    // A descriptor's path: standard error's (the records only: -q).
    for fd in ["/dev/fd/2", "/proc/self/fd/2"] {
        let o = chaff(&["filter", "-q", "--removed", fd, xs]);
        assert!(o.status.success(), "{fd}");
        assert_eq!(o.stderr, removed, "{fd}");
    }
    // A FIFO, read as the run writes it, in a run to stdout and one into a folder.
    let fifo = tmp.path().join("fifo");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let through_fifo = |args: &[&str]| {
        let path = fifo.clone();
        let reader = std::thread::spawn(move || fs::read(path).unwrap());
        let o = chaff(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        reader.join().unwrap()
    };
    let out = tmp.path().join("out");
    for args in [
        &["filter", "-q", "--removed", s(&fifo), xs][..],
        &[
            "filter",
            "-q",
            "-o",
            s(&out),
            "--removed",
            s(&fifo),
            s(&input),
        ],
    ] {
        let got = through_fifo(args);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(removed.clone())
                .unwrap()
                .replace(xs, &format!("{}", x.display())),
            "{args:?}"
        );
    }
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::metadata(&fifo).unwrap().file_type()
    ));
    // A reader that stops early lost records the run was asked for: an error, unlike a
    // closed standard output (`| head`). The records are more than a pipe holds, so the
    // run is still writing when the reader goes.
    let filler = tmp.path().join("filler.txt");
    fs::write(&filler, "哈哈哈哈好开心[哈哈]\n\n".repeat(3000)).unwrap();
    let path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut first = [0u8; 10];
        fs::File::open(path)
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
    });
    let o = chaff(&["filter", "-q", "--removed", s(&fifo), s(&filler)]);
    reader.join().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "chaff: --removed: Broken pipe (os error 32)\n"
    );
    // Resumed: a FIFO keeps nothing to go on from, and needs nothing: the finished file
    // is not redone, and the one added since is all that is written.
    fs::write(
        input.join("y.txt"),
        "哈哈哈嘻嘻嘻[哈哈]\n国务院常务会议研究部署推进经济发展。\n",
    )
    .unwrap();
    let more = through_fifo(&[
        "filter",
        "-q",
        "-o",
        s(&out),
        "--resume",
        "--removed",
        s(&fifo),
        s(&input),
    ]);
    let more = String::from_utf8(more).unwrap();
    assert_eq!(more.lines().count(), 1, "{more}");
    assert!(
        more.contains("y.txt") && more.contains("哈哈哈嘻嘻嘻"),
        "{more}"
    );
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::metadata(&fifo).unwrap().file_type()
    ));
    // A link: its file gets the bytes and the link stays; a link to a device likewise.
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let stats_link = tmp.path().join("stats.json");
    std::os::unix::fs::symlink("elsewhere/stats.json", &stats_link).unwrap();
    let null_link = tmp.path().join("null");
    std::os::unix::fs::symlink("/dev/null", &null_link).unwrap();
    let model_link = tmp.path().join("m.chaff");
    std::os::unix::fs::symlink("elsewhere/m.chaff", &model_link).unwrap();
    let rows = tmp.path().join("rows.tsv");
    fs::write(
        &rows,
        "news\t国务院常务会议研究部署推进经济发展\nfiller\t哈哈哈好开心\n",
    )
    .unwrap();
    ok(&[
        "filter",
        "-q",
        "--stats",
        s(&stats_link),
        "--removed",
        s(&null_link),
        xs,
    ]);
    ok(&["train", "-q", "-o", s(&model_link), s(&rows)]);
    for link in [&stats_link, &null_link, &model_link] {
        assert!(
            fs::symlink_metadata(link).unwrap().file_type().is_symlink(),
            "{link:?}"
        );
    }
    let stats: serde_json::Value =
        serde_json::from_slice(&fs::read(elsewhere.join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats["files"], 1);
    assert!(inspect(&elsewhere.join("m.chaff")).contains("trained on"));
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        2,
        "no temporary file left"
    );
    // Standard output: `-` names no file here, and where the run writes its output
    // there, a side file that is standard output would be mixed into it.
    let o = chaff(&["filter", "--stats", "-", xs]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "chaff: --stats -: name a file, or /dev/stdout to write it to standard output\n"
    );
    assert!(!Path::new("-").exists());
    let o = chaff(&["filter", "--removed", "/dev/stdout", xs]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "chaff: --removed /dev/stdout: standard output carries the run's output, which this would be mixed into; write it elsewhere\n"
    );
    // eval's report is on standard output.
    let o = chaff(&["eval", "--plot", "/dev/fd/1", s(&rows)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8(o.stderr)
        .unwrap()
        .starts_with("chaff: --plot /dev/fd/1: standard output carries"));
    // Into an output folder, standard output is free for it.
    let out2 = tmp.path().join("out2");
    let o = chaff(&["filter", "-q", "-o", s(&out2), "--stats", "/dev/stdout", xs]);
    assert!(o.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(stats["files"], 1);
}

/// Inputs and side files whose names are as long as a name may be (255 bytes) are
/// written: the files kept beside them while they are written (temporary, resumable
/// and partial files, `.NAME` and an ending) would pass that length, so their names are
/// cut and hashed. 0.2.0 failed with `File name too long`.
#[test]
fn names_as_long_as_a_name_may_be_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let page = fs::read(root().join("tests/data/sample_page.txt")).unwrap();
    let (short, long) = (tmp.path().join("short"), tmp.path().join("long"));
    let long_name = |c: &str| format!("{}{c}.txt", "新闻".repeat(41));
    for dir in [&short, &long] {
        fs::create_dir(dir).unwrap();
    }
    // A small file, and a large one, checkpointed (so written under its resumable name).
    for (i, text) in [page.clone(), page.repeat(300)].iter().enumerate() {
        fs::write(short.join(format!("{i}.txt")), text).unwrap();
        fs::write(long.join(long_name(&i.to_string())), text).unwrap();
    }
    assert_eq!(long_name("0").len(), 251);
    let run = |input: &Path, removed: &Path, out: &Path| {
        let mut args = vec!["filter", "-q", "--removed", s(removed)];
        args.extend(["--chunk-bytes", "100000", "--checkpoint-bytes", "100000"]);
        args.extend(["-o", s(out), s(input)]);
        ok(&args);
    };
    let removed_long = tmp.path().join(format!("{}.jsonl", "r".repeat(249)));
    let (removed_short, out_short, out_long) = (
        tmp.path().join("r.jsonl"),
        tmp.path().join("o1"),
        tmp.path().join("o2"),
    );
    run(&short, &removed_short, &out_short);
    run(&long, &removed_long, &out_long);
    for i in 0..2 {
        assert_eq!(
            fs::read(out_long.join(long_name(&i.to_string()))).unwrap(),
            fs::read(out_short.join(format!("{i}.txt"))).unwrap()
        );
    }
    let records = |p: &Path| unpathed(&fs::read(p).unwrap());
    assert_eq!(records(&removed_long), records(&removed_short));
    // Nothing else is left beside them.
    let mut left: Vec<String> = fs::read_dir(&out_long)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    left.sort();
    assert_eq!(left, [".chaff-journal.jsonl", ".chaff-run.json"]);
}

#[test]
fn hidden_names_in_input_folders_are_left_out_as_hadoop_leaves_them() {
    // A Spark job's output folder: parts, a `.crc` beside each, `_SUCCESS`, and the
    // `_temporary` folder of a job still writing.
    let tmp = tempfile::tempdir().unwrap();
    let (jsonl, _) = dev_jsonl(2);
    let dump = tmp.path().join("dump");
    fs::create_dir_all(dump.join("_temporary/0")).unwrap();
    fs::write(dump.join("part-00000.json"), &jsonl).unwrap();
    fs::write(dump.join(".part-00000.json.crc"), b"crc\0\x01\x02").unwrap();
    fs::write(dump.join("_SUCCESS"), b"").unwrap();
    fs::write(dump.join("_temporary/0/part-00001.json"), "{\"text\": \"半").unwrap();
    let out = tmp.path().join("out");
    let o = chaff(&["filter", "-q", "--jsonl", "-o", s(&out), s(&dump)]);
    assert!(o.status.success(), "{o:?}");
    // One line for all of them, however many parts.
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!(
            "chaff: warning: 3 entries of input folders have hidden names (a leading . or _, as Hadoop leaves them out: _SUCCESS, .crc files); not read (the first: {}; name one to read it)\n",
            dump.join(".part-00000.json.crc").display()
        )
    );
    assert_eq!(
        names_in(&out),
        [".chaff-journal.jsonl", ".chaff-run.json", "part-00000.json"]
    );
    // Named, a hidden file is read.
    let o = chaff(&["filter", "--jsonl", s(&dump.join("_SUCCESS"))]);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8(o.stderr)
        .unwrap()
        .starts_with("chaff: 1 file,"));
}

#[test]
fn chaffs_own_files_in_an_input_folder_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, page) = one_page_folder(tmp.path(), "a.txt");
    for name in [
        ".b.txt.chaff-resumable",
        ".r.jsonl.chaff-partial",
        ".c.txt.x1y2.chaff-tmp",
    ] {
        fs::write(input.join(name), &page).unwrap();
    }
    let stats = tmp.path().join("stats.json");
    let out = tmp.path().join("out");
    for to_folder in [false, true] {
        let mut args = vec!["filter", "--stats", s(&stats)];
        if to_folder {
            args.extend(["-o", s(&out)]);
        }
        args.push(s(&input));
        ok(&args);
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
        assert_eq!(v["files"], 1, "{args:?}");
    }
    assert_eq!(
        names_in(&out),
        [".chaff-journal.jsonl", ".chaff-run.json", "a.txt"]
    );
    // A finished run's folder is the next step's input: its journal and settings record
    // are not read (the journal, JSON lines without a text field, failed a --jsonl run).
    let (jsonl, _) = dev_jsonl(3);
    let dump = tmp.path().join("dump");
    fs::create_dir(&dump).unwrap();
    fs::write(dump.join("d.jsonl"), jsonl).unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    ok(&["filter", "-q", "--jsonl", "-o", s(&first), s(&dump)]);
    assert!(first.join(".chaff-journal.jsonl").exists());
    ok(&[
        "filter",
        "-q",
        "--jsonl",
        "-o",
        s(&second),
        "--stats",
        s(&stats),
        s(&first),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        (v["files"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(0))
    );
    let records = |dir: &Path| {
        fs::read_to_string(dir.join("d.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!((records(&first), records(&second)), (3, 3));
}

/// A run of chaff with `args` that reads its standard input, left open for the caller.
fn reading_stdin(args: &[&str]) -> std::process::Child {
    use std::process::Stdio;
    std::process::Command::new(env!("CARGO_BIN_EXE_chaff"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `done` holds, looking every 20 ms; bounded, so a run that never gets
/// there fails the test (`what` says what was waited for).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed().as_secs() < 120, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn two_runs_given_one_side_file_are_refused_rather_than_sharing_it() {
    // Into different output folders (each run holds its own folder's lock), two runs
    // given one --removed both cut and appended to its partial file.
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let (input, page) = one_page_folder(tmp.path(), "a.txt");
    let removed = tmp.path().join("removed.jsonl");
    let partial = chaff::side_file::partial_path(&removed);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut first = reading_stdin(&["-q", "filter", "-o", s(&a), "--removed", s(&removed), "-"]);
    // It holds the partial file's lock once the kernel lists one on that inode (read,
    // not taken: a take of ours could keep the run from its own).
    wait_until("the first run locked", || {
        fs::metadata(&partial).is_ok_and(|m| {
            let inode = format!(":{} ", m.ino());
            let locks = fs::read_to_string("/proc/locks").unwrap_or_default();
            locks
                .lines()
                .any(|l| l.contains("FLOCK") && l.contains(&inode))
        })
    });
    let o = chaff(&["filter", "-o", s(&b), "--removed", s(&removed), s(&input)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!(
            "chaff: {}: another chaff run is writing this side file's partial file (it holds its lock); give each run its own side file, or wait for it to end\n",
            partial.display()
        )
    );
    // The first run is untouched: its side file is what a run alone writes.
    let mut feed = first.stdin.take().unwrap();
    feed.write_all(&page).unwrap();
    drop(feed);
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let alone = tmp.path().join("alone.jsonl");
    let o = chaff_in(
        tmp.path(),
        &["-q", "filter", "--removed", s(&alone), "-"],
        Some(&page),
    );
    assert!(o.status.success());
    assert_eq!(fs::read(&removed).unwrap(), fs::read(&alone).unwrap());
    assert!(!partial.exists());
}

#[test]
fn a_second_run_into_a_folder_in_use_is_refused_and_changes_nothing() {
    use chaff::folder_lock::FolderLock;
    let tmp = tempfile::tempdir().unwrap();
    let (input, page) = one_page_folder(tmp.path(), "a.txt");
    let out = tmp.path().join("out");
    let refused = |args: &[&str]| {
        let before = tree(&out);
        let o = chaff(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err,
            format!(
                "chaff: {}: another chaff run is writing into this folder (it holds the folder's lock); \
                 wait for it to end, or stop it and finish with --resume\n",
                out.display()
            ),
            "{args:?}"
        );
        assert_eq!(tree(&out), before, "{args:?} changed the folder");
    };
    let second_runs: [&[&str]; 4] = [
        &["filter", "-o", s(&out), s(&input)],
        &["filter", "--resume", "-o", s(&out), s(&input)],
        &["filter", "--force", "-o", s(&out), s(&input)],
        &[
            "tag",
            "--dolma",
            "--force",
            "--attributes-dir",
            s(&out),
            s(&input),
        ],
    ];
    // A run that is still reading standard input holds the folder it writes into.
    let mut first = reading_stdin(&["-q", "filter", "-o", s(&out), "-"]);
    // It holds the lock once a take of ours fails.
    wait_until("the first run locked", || {
        out.join(".chaff-run.json").exists() && FolderLock::take(&out).is_err()
    });
    // A temporary file of its own, which a second run's --resume or --force would remove.
    let theirs = out.join(".stdin.txt.x1y2.chaff-tmp");
    fs::write(&theirs, b"the first run's").unwrap();
    for args in second_runs {
        refused(args);
    }
    assert!(theirs.exists());
    fs::remove_file(&theirs).unwrap();
    let mut feed = first.stdin.take().unwrap();
    feed.write_all(&page).unwrap();
    drop(feed);
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        fs::read(out.join("stdin.txt")).unwrap(),
        ok(&["-q", "filter", s(&input)])
    );
    // Its lock ended with it.
    let o = chaff(&["filter", "--resume", "-o", s(&out), "-"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Any holder of the lock (here this test, as flock(1) would) keeps a run out,
    // an output folder made empty or already written in.
    let empty = tmp.path().join("empty");
    for dir in [&empty, &out] {
        fs::create_dir_all(dir).unwrap();
        let held = FolderLock::take(dir).unwrap();
        assert!(held.is_some());
        let o = chaff(&["filter", "--resume", "-o", s(dir), s(&input)]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("another chaff run"));
        drop(held);
    }
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);
    ok(&["-q", "filter", "-o", s(&empty), s(&input)]);
}

#[test]
fn a_full_disk_on_stdout_is_one_line_and_exit_1_for_data_reports_and_help() {
    let tmp = tempfile::tempdir().unwrap();
    let jsonl = tmp.path().join("dev.jsonl");
    fs::write(&jsonl, dev_jsonl(40).0).unwrap();
    let dev = shared().join("eval/dev/pages");
    let seed = shared().join("seed/page.txt");
    // Reports and help too: clap's own printing of --help ignored the failed write.
    let runs: [&[&str]; 9] = [
        &["filter", s(&seed)],
        &["--threads", "1", "tag", s(&dev)],
        &["tag", "--json", s(&dev)],
        &["filter", "--jsonl", s(&jsonl)],
        &["inspect"],
        &["man"],
        &["--help"],
        &["help", "filter"],
        &["--version"],
    ];
    for args in runs {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_chaff"))
            .args(args)
            .stdout(fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("chaff: <stdout>: No space left on device") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}

#[test]
fn compressed_output_of_a_large_dump_is_one_stream_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (jsonl, _) = dev_jsonl(400);
    let input = tmp.path().join("dump.jsonl.gz");
    fs::write(&input, gz(jsonl.as_bytes())).unwrap();
    let plain = ok(&["filter", "--jsonl", s(&input)]);
    // Several of the parallel gzip compressor's blocks; several 1 MB input chunks.
    assert!(plain.len() > 4 * chaff::gzip::BLOCK, "{}", plain.len());
    // Several of the parallel bzip2 compressor's blocks too.
    assert!(plain.len() > chaff::bz2::BLOCK, "{}", plain.len());
    // The first stream (gzip member, zstd frame, bzip2 or xz stream, lz4 frame) alone:
    // readers that stop after one (Rust's GzDecoder and BzDecoder, python-zstandard's
    // default) still get everything.
    let first_stream = |how: &str, z: &[u8]| -> (Vec<u8>, usize) {
        let mut got = Vec::new();
        let mut after = Vec::new();
        if how == "gz" {
            let mut d = flate2::read::GzDecoder::new(z);
            d.read_to_end(&mut got).unwrap();
            d.into_inner().read_to_end(&mut after).unwrap();
        } else if how == "xz" {
            let mut d = liblzma::read::XzDecoder::new(z);
            d.read_to_end(&mut got).unwrap();
            d.into_inner().read_to_end(&mut after).unwrap();
        } else if how == "lz4" {
            let mut d = lz4_flex::frame::FrameDecoder::new(z);
            d.read_to_end(&mut got).unwrap();
            d.into_inner().read_to_end(&mut after).unwrap();
        } else if how == "bz2" {
            let mut d = bzip2::read::BzDecoder::new(z);
            d.read_to_end(&mut got).unwrap();
            d.into_inner().read_to_end(&mut after).unwrap();
        } else {
            let mut d = zstd::stream::read::Decoder::new(z).unwrap().single_frame();
            d.read_to_end(&mut got).unwrap();
            d.finish().read_to_end(&mut after).unwrap();
        }
        (got, after.len())
    };
    for how in ["gz", "zst", "bz2", "xz", "lz4"] {
        let mut outputs = Vec::new();
        for t in ["1", "2", "3"] {
            let out = tmp.path().join(format!("out-{how}-{t}"));
            let args = ["--threads", t, "filter", "--jsonl", "--compress", how];
            ok(&[&args[..], &["-o", s(&out), s(&input)]].concat());
            outputs.push(fs::read(out.join(format!("dump.jsonl.{how}"))).unwrap());
        }
        assert!(
            outputs[1] == outputs[0] && outputs[2] == outputs[0],
            "{how}"
        );
        let stdout = ok(&["filter", "--jsonl", "--compress", how, s(&input)]);
        assert!(stdout == outputs[0], "{how}");
        let (got, after) = first_stream(how, &outputs[0]);
        assert!(
            got == plain && after == 0,
            "{how}: {after} bytes after the first stream"
        );
    }
}

#[test]
fn a_bzip2_dump_of_many_blocks_and_streams_reads_the_same_at_any_thread_count() {
    // As `bzip2 -1` writes (100 kB blocks), a second stream after the first (pbzip2,
    // `cat`): decoded a block at a time on the pool, in order.
    let tmp = tempfile::tempdir().unwrap();
    let (jsonl, _) = dev_jsonl(400);
    let bytes = jsonl.as_bytes();
    let half = bytes.len() / 2;
    let z = [bz2(&bytes[..half]), bz2(&bytes[half..])].concat();
    let input = tmp.path().join("dump.jsonl.bz2");
    fs::write(&input, &z).unwrap();
    let plain_input = tmp.path().join("dump.jsonl");
    fs::write(&plain_input, &jsonl).unwrap();
    let plain = ok(&["filter", "--jsonl", s(&plain_input)]);
    assert!(jsonl.len() > 10 * 100_000, "{}", jsonl.len());
    for t in ["1", "2", "3"] {
        let got = ok(&["--threads", t, "filter", "--jsonl", s(&input)]);
        assert!(got == plain, "--threads {t}");
    }
    // Damaged in its middle: an error naming the file and where, never a shorter dump.
    let mut bad = z.clone();
    bad[z.len() / 3] ^= 0x04;
    fs::write(&input, &bad).unwrap();
    let err = fails(&["filter", "--jsonl", s(&input)]);
    assert!(
        err.contains("dump.jsonl.bz2") && err.contains("damaged"),
        "{err}"
    );
}

#[test]
fn an_xz_dump_of_many_blocks_and_streams_reads_the_same_at_any_thread_count() {
    // As `xz -T0` writes (blocks with their sizes in their headers, here of 256 KiB), then
    // padding and a second stream of one block (`xz -T1`): with 4 workers the file's first
    // stream is decoded on two of liblzma's threads, the second on one, and standard input
    // on one.
    use liblzma::stream::{Action, Check, MtStreamBuilder, Status};
    let tmp = tempfile::tempdir().unwrap();
    let jsonl = dev_jsonl(400).0.repeat(2);
    let bytes = jsonl.as_bytes();
    let half = bytes.len() * 3 / 4;
    let mut stream = MtStreamBuilder::new()
        .threads(2)
        .preset(0)
        .block_size(256 << 10)
        .check(Check::Crc64)
        .encoder()
        .unwrap();
    let mut z = Vec::with_capacity(bytes.len());
    stream
        .process_vec(&bytes[..half], &mut z, Action::Run)
        .unwrap();
    while stream.process_vec(&[], &mut z, Action::Finish).unwrap() != Status::StreamEnd {
        z.reserve(1 << 16);
    }
    assert!(z.len() as u64 >= chaff::unxz::SMALL, "{}", z.len());
    z.extend_from_slice(&[0; 4]);
    z.extend(xz(&bytes[half..]));
    let input = tmp.path().join("dump.jsonl.xz");
    fs::write(&input, &z).unwrap();
    let plain_input = tmp.path().join("dump.jsonl");
    fs::write(&plain_input, &jsonl).unwrap();
    let plain = ok(&["filter", "--jsonl", s(&plain_input)]);
    for t in ["1", "2", "4"] {
        let got = ok(&["--threads", t, "filter", "--jsonl", s(&input)]);
        assert!(got == plain, "--threads {t}");
        let piped = chaff_in(
            tmp.path(),
            &["--threads", t, "filter", "--jsonl", "-"],
            Some(&z),
        );
        assert!(
            piped.status.success() && piped.stdout == plain,
            "stdin, --threads {t}"
        );
    }
    // Damaged in a block decoded on a thread of liblzma's, or cut short: an error naming
    // the file, never a shorter dump.
    let mut bad = z.clone();
    bad[z.len() / 3] ^= 0x04;
    for (what, z) in [("damaged", bad), ("cut", z[..z.len() / 2].to_vec())] {
        fs::write(&input, &z).unwrap();
        for t in ["1", "4"] {
            let o = chaff(&["--threads", t, "filter", "--jsonl", s(&input)]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                o.status.code() == Some(1) && err.contains("dump.jsonl.xz"),
                "{what}, --threads {t}: {err}"
            );
        }
    }
}

/// What may follow a compressed stream: zero padding after gzip (as gzip(1) and Python
/// read it) and xz's stream padding are read past; anything else, in every codec, fails
/// the input with an error naming the file and the byte it begins at, and leaves no
/// output for it; a stream cut short says so, in every codec.
#[test]
fn what_follows_a_compressed_stream_is_read_past_only_as_its_tools_do() {
    let tmp = tempfile::tempdir().unwrap();
    let page_path = &dev_pages(1)[0];
    let page = fs::read(page_path).unwrap();
    let plain = ok(&["filter", s(page_path)]);
    let codecs = [
        ("gz", gz(&page), "gzip member", "a"),
        ("bz2", bz2(&page), "bzip2 stream", "a"),
        ("xz", xz(&page), "xz stream", "an"),
        (
            "zst",
            zstd::encode_all(&page[..], 3).unwrap(),
            "zstd frame",
            "a",
        ),
        ("lz4", lz4(&page), "lz4 frame", "an"),
    ];
    for (ext, z, stream, a) in &codecs {
        let name = format!("page.txt.{ext}");
        let input = tmp.path().join(&name);
        let out = tmp.path().join(format!("out-{ext}"));
        let run = |bytes: &[u8]| {
            fs::write(&input, bytes).unwrap();
            let o = chaff(&["filter", s(&input)]);
            let _ = fs::remove_dir_all(&out);
            let into = chaff(&["filter", "-o", s(&out), s(&input)]);
            assert_eq!(into.status.code(), o.status.code(), "{name}: -o");
            if !o.status.success() {
                // Nothing of the input's output is left in the folder.
                let left: Vec<_> = fs::read_dir(&out)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| n.contains("page"))
                    .collect();
                assert!(left.is_empty(), "{name}: {left:?}");
            }
            (
                o.status.code(),
                o.stdout,
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };
        let at = |n: usize| {
            format!(
                "{name}: what follows the end of {a} {stream}, at byte {n}, is not {a} {stream}"
            )
        };
        // Zero padding: read past where the codec's tools read past it.
        let (code, stdout, err) = run(&[&z[..], &[0; 8]].concat());
        if matches!(*ext, "gz" | "xz") {
            assert!(code == Some(0) && stdout == plain, "{name} padded: {err}");
        } else {
            assert!(
                code == Some(1) && err.contains(&at(z.len())),
                "{name} padded: {err}"
            );
        }
        // Anything else, after the stream or after padding.
        for (tail, from) in [
            (&b"<html>not compressed</html>"[..], 0),
            (b"\0\0\0\0GARBAGE", 4),
        ] {
            let (code, stdout, err) = run(&[&z[..], tail].concat());
            let want = match (*ext, from) {
                // Padding is data where the codec has none.
                ("bz2" | "zst" | "lz4", _) => at(z.len()),
                _ => at(z.len() + from),
            };
            assert!(code == Some(1) && err.contains(&want), "{name}: {err}");
            // A file this small is read whole before anything is written.
            assert!(stdout.is_empty(), "{name}: a shorter text on stdout");
        }
        // Cut short.
        let (code, _, err) = run(&z[..z.len() / 2]);
        let want = format!("{name}: {stream}");
        assert!(code == Some(1) && err.contains(&want), "{name} cut: {err}");
        assert!(
            err.contains(" cut short (the input ends inside it)"),
            "{name} cut: {err}"
        );
    }
    // Damage is named by where its stream begins: in a file of many gzip members (a WARC
    // file's member per record), the member's byte.
    let input = tmp.path().join("pages.txt.gz");
    let first = gz(&page);
    let mut z = [first.clone(), gz(&page)].concat();
    let at = z.len() - 20;
    z[at] ^= 0x21;
    fs::write(&input, &z).unwrap();
    let err = fails(&["filter", s(&input)]);
    let want = format!(
        "pages.txt.gz: the gzip member at byte {} is damaged (",
        first.len()
    );
    assert!(err.contains(&want), "{err}");
}

#[test]
fn listed_inputs_run_as_named_and_mirror_their_whole_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let pages = dev_pages(5);
    let files = [
        "dump/2024/01/part.txt",
        "dump/2024/02/part.txt",
        "dump/extra/a.txt",
        "dump/extra/b.txt",
        "dump/odd\nname.txt",
    ];
    for (f, p) in files.iter().zip(&pages) {
        fs::create_dir_all(t.join(f).parent().unwrap()).unwrap();
        fs::copy(p, t.join(f)).unwrap();
    }
    let run = |args: &[&str], stdin: Option<&[u8]>| {
        let o = chaff_in(t, args, stdin);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), o.stdout, err)
    };
    // Two shards of one name, a path with `./`, a blank line and a folder.
    let list = "dump/2024/01/part.txt\n./dump/2024/02/part.txt\n\ndump/extra\n";
    fs::write(t.join("list.txt"), list).unwrap();
    let named = [
        "dump/2024/01/part.txt",
        "./dump/2024/02/part.txt",
        "dump/extra",
    ];
    let (code, by_name, _) = run(&[&["tag", "-q", "--json"][..], &named].concat(), None);
    assert_eq!(code, Some(0));
    let (code, by_list, _) = run(&["tag", "-q", "--json", "--files-from", "list.txt"], None);
    assert_eq!(code, Some(0));
    assert_eq!(by_list, by_name, "a listed path reads as a named one");
    assert!(!by_list.is_empty());
    // Into OUTDIR, each file under its whole path (`./` left out), filtered as alone.
    let (code, _, err) = run(
        &["filter", "-q", "--files-from", "list.txt", "-o", "out"],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    let alone = |f: &str| {
        let (code, out, err) = run(&["filter", "-q", f], None);
        assert_eq!(code, Some(0), "{err}");
        out
    };
    let want: Vec<(PathBuf, Vec<u8>)> = files[..4]
        .iter()
        .map(|f| (PathBuf::from(f), alone(f)))
        .collect();
    let mut got = tree(&t.join("out"));
    let journal = got.remove(0);
    assert_eq!(journal.0, Path::new(".chaff-journal.jsonl"));
    let record = got.remove(0);
    assert_eq!(record.0, Path::new(".chaff-run.json"));
    assert_eq!(got, want);
    let record: serde_json::Value = serde_json::from_slice(&record.1).unwrap();
    let digest = record["files_from"].as_str().unwrap();
    assert!(digest.starts_with("3 paths, crc32 "), "{digest}");
    assert_eq!(record["inputs"], serde_json::json!([]));
    // --resume needs the same list; with it, everything is done already.
    let resume = || {
        let args = ["filter", "-q", "--resume", "--files-from", "list.txt"];
        run(&[&args[..], &["-o", "out"]].concat(), None)
    };
    let (code, _, err) = resume();
    assert_eq!(code, Some(0), "{err}");
    fs::write(t.join("list.txt"), "dump/extra\n").unwrap();
    let (code, _, err) = resume();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("other settings"), "{err}");
    // A NUL-separated list on stdin, for a name holding a line break, after a named file.
    let nul = b"dump/odd\nname.txt\0dump/extra/b.txt\0";
    let (code, _, err) = run(
        &[
            "filter",
            "-q",
            "--files0-from",
            "-",
            "-o",
            "out0",
            "dump/extra/a.txt",
        ],
        Some(nul),
    );
    assert_eq!(code, Some(0), "{err}");
    let got: Vec<PathBuf> = tree(&t.join("out0")).into_iter().map(|f| f.0).collect();
    let want = [
        ".chaff-journal.jsonl",
        ".chaff-run.json",
        "a.txt",
        "dump/extra/b.txt",
        "dump/odd\nname.txt",
    ];
    assert_eq!(got, want.map(PathBuf::from));
    // Refused or failing lists stop the run before anything is written.
    let no_out = |args: &[&str], stdin: Option<&[u8]>, code: i32, what: &str| {
        let (got, _, err) = run(args, stdin);
        assert_eq!(got, Some(code), "{args:?}: {err}");
        assert!(
            err.starts_with("chaff: ") && err.lines().count() == 1,
            "{err}"
        );
        assert!(err.contains(what), "{args:?}: {err}");
        assert!(!t.join("bad").exists(), "{args:?}");
    };
    no_out(
        &["filter", "--files-from", "-", "-o", "bad", "-"],
        Some(b"dump/extra\n"),
        2,
        "standard input cannot be both the list of inputs and an input",
    );
    fs::write(t.join("list.txt"), "dump/extra\ndump/nope.txt\n").unwrap();
    no_out(
        &["filter", "--files-from", "list.txt", "-o", "bad"],
        None,
        1,
        "list.txt:2: \"dump/nope.txt\": No such file",
    );
    fs::write(t.join("list.txt"), "dump/2024/../extra/a.txt\n").unwrap();
    no_out(
        &["filter", "--files-from", "list.txt", "-o", "bad"],
        None,
        2,
        "a listed path with `..` would be written outside the output folder",
    );
    // To stdout a path with `..` is just a path.
    let (code, out, err) = run(&["filter", "-q", "--files-from", "list.txt"], None);
    assert_eq!((code, out), (Some(0), alone("dump/extra/a.txt")), "{err}");
    no_out(
        &[
            "filter",
            "--files-from",
            "list.txt",
            "--files0-from",
            "list.txt",
        ],
        None,
        2,
        "cannot be used with",
    );
    // An empty list is a run over nothing, with a warning.
    fs::write(t.join("list.txt"), "\n").unwrap();
    let (code, out, err) = run(&["tag", "--json", "--files-from", "list.txt"], None);
    assert_eq!((code, out.len()), (Some(0), 0), "{err}");
    assert!(
        err.starts_with("chaff: warning: list.txt: lists no inputs\n"),
        "{err}"
    );
}

/// The tree the listing property runs in, and the paths its inputs are drawn from.
const LIST_TREE: &[&str] = &[
    "x.txt",
    "a/x.txt",
    "a/y.txt",
    "a/a/x.txt",
    "a/b/x.txt",
    "b/x.txt",
    "b/a/x.txt",
    "b/a/y.txt",
    "b/b/y.txt",
    // Plain text under compressed names: renamed by --compress onto their neighbours'.
    "b/x.txt.gz",
    "a/a/x.txt.zst",
];
const LIST_NAMES: &[&str] = &[
    "x.txt",
    "a",
    "b",
    "./a",
    "a/a",
    "a/b",
    "b/a",
    "a/x.txt",
    "b/x.txt",
    "a/a/x.txt",
    "b/a/x.txt",
    "./b/a/y.txt",
];

/// Where the sources of an input land under an output folder, by the README's rules: a
/// named file by its name, a named folder's files by their path under it, a listed path
/// by its whole path (less a leading `./`); `--compress` (`""`: not given) drops a
/// compression extension and adds its own.
fn landing(name: &str, listed: bool, compress: &str) -> Vec<String> {
    landing_as_named(name, listed)
        .into_iter()
        .map(|f| {
            let stem = f.strip_suffix(".gz").or_else(|| f.strip_suffix(".zst"));
            match compress {
                "none" => stem.unwrap_or(&f).to_string(),
                "gzip" => format!("{}.gz", stem.unwrap_or(&f)),
                _ => f,
            }
        })
        .collect()
}

/// [`landing`] without `--compress`.
fn landing_as_named(name: &str, listed: bool) -> Vec<String> {
    let path = name.trim_start_matches("./");
    let files: Vec<&str> = LIST_TREE
        .iter()
        .copied()
        .filter(|f| *f == path || f.starts_with(&format!("{path}/")))
        .collect();
    files
        .iter()
        .map(|f| match (listed, *f == path) {
            (true, _) => f.to_string(),
            (false, true) => f.rsplit('/').next().unwrap().to_string(),
            (false, false) => f[path.len() + 1..].to_string(),
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// Named and listed inputs in any mix: the run into OUTDIR writes exactly the outputs
    /// the mirroring rules give, or, when two sources would share one, refuses before
    /// writing anything.
    #[test]
    fn outdir_holds_what_the_mirroring_rules_say_or_the_run_refuses(
        named in proptest::collection::vec(proptest::sample::select(LIST_NAMES), 0..3),
        listed in proptest::collection::vec(proptest::sample::select(LIST_NAMES), 0..4),
        compress in proptest::sample::select(&["", "", "none", "gzip"][..]),
    ) {
        proptest::prop_assume!(!named.is_empty() || !listed.is_empty());
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        for f in LIST_TREE {
            fs::create_dir_all(t.join(f).parent().unwrap()).unwrap();
            fs::write(t.join(f), "国务院常务会议研究部署稳就业政策。\n").unwrap();
        }
        fs::write(t.join("list"), listed.iter().map(|p| format!("{p}\n")).collect::<String>())
            .unwrap();
        let mut args = vec!["filter", "-q", "-o", "out"];
        args.extend(named.iter().copied());
        if !listed.is_empty() {
            args.extend(["--files-from", "list"]);
        }
        if !compress.is_empty() {
            args.extend(["--compress", compress]);
        }
        let mut want: Vec<String> =
            named.iter().flat_map(|n| landing(n, false, compress)).collect();
        want.extend(listed.iter().flat_map(|n| landing(n, true, compress)));
        let o = chaff_in(t, &args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        let mut distinct = want.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() < want.len() {
            proptest::prop_assert_eq!(o.status.code(), Some(2), "{:?}: {}", args, err);
            proptest::prop_assert!(err.contains("would both be written to"), "{}", err);
            proptest::prop_assert!(!t.join("out").exists());
        } else {
            proptest::prop_assert!(o.status.success(), "{:?}: {}", args, err);
            let got: Vec<String> = tree(&t.join("out"))
                .into_iter()
                .map(|f| f.0.display().to_string())
                .filter(|f| f != ".chaff-run.json" && f != ".chaff-journal.jsonl")
                .collect();
            proptest::prop_assert_eq!(got, distinct, "{:?}", args);
        }
    }
}

#[test]
fn a_json_pointer_text_field_filters_nested_text_as_top_level_text() {
    let tmp = tempfile::tempdir().unwrap();
    let (dump, _) = dev_jsonl(30);
    let flat = tmp.path().join("flat.jsonl");
    fs::write(&flat, &dump).unwrap();
    // The same records with the text two objects down, beside other fields.
    let nested: String = dump
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let doc = serde_json::json!({"id": v["id"], "page": {"lang": "zh", "a/b": {"body": v["text"]}}, "n": 1});
            format!("{doc}\n")
        })
        .collect();
    let deep = tmp.path().join("deep.jsonl");
    fs::write(&deep, &nested).unwrap();
    let field = "/page/a~1b/body";
    let want: Vec<serde_json::Value> =
        String::from_utf8(ok(&["filter", "-q", "--jsonl", s(&flat)]))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let got: Vec<serde_json::Value> = String::from_utf8(ok(&[
        "filter",
        "-q",
        "--jsonl",
        "--text-field",
        field,
        s(&deep),
    ]))
    .unwrap()
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(got.len(), want.len());
    assert!(want.len() > 20);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["id"], w["id"]);
        assert_eq!(g["page"]["a/b"]["body"], w["text"]);
        assert_eq!(
            (&g["page"]["lang"], &g["n"]),
            (&serde_json::json!("zh"), &serde_json::json!(1))
        );
    }
    // tag scores the same lines alike.
    let tags = |args: &[&str]| unpathed(&ok(args));
    assert_eq!(
        tags(&[
            "tag",
            "-q",
            "--json",
            "--jsonl",
            "--text-field",
            field,
            s(&deep)
        ]),
        tags(&["tag", "-q", "--json", "--jsonl", s(&flat)])
    );
    // A record whose pointer leads nowhere is a bad record naming the pointer; a bad
    // pointer, one given for Parquet or Dolma, is refused.
    fs::write(&deep, "{\"page\": {\"a/b\": \"flat\"}}\n").unwrap();
    let err = fails(&["filter", "--jsonl", "--text-field", field, s(&deep)]);
    assert!(
        err.contains(":1: field \"/page/a~1b\" is not an object"),
        "{err}"
    );
    for (args, what) in [
        (
            vec!["filter", "--jsonl", "--text-field", "/page/~2"],
            "`~` is followed by 0",
        ),
        (
            vec!["filter", "--jsonl", "--text-field", "/page/*/p/*"],
            "a pointer takes one `*`",
        ),
        (
            vec![
                "tag",
                "--dolma",
                "--attributes-dir",
                "attrs",
                "--text-field",
                "/page/body",
            ],
            "--dolma spans index a top-level text field",
        ),
        (
            vec![
                "tag",
                "--dolma",
                "--attributes-dir",
                "attrs",
                "--plain-text",
            ],
            "--dolma tags JSONL documents: --plain-text does not apply",
        ),
    ] {
        let err = fails(&[&args[..], &[s(&deep)]].concat());
        assert!(err.contains(what), "{args:?}: {err}");
    }
}

#[test]
fn a_text_field_of_paragraphs_is_filtered_paragraph_by_paragraph() {
    let tmp = tempfile::tempdir().unwrap();
    // Dev pages as records of their non-blank lines, as the same lines joined by blank
    // lines in a string, and as objects holding them (MNBVC's layout).
    let (mut arrays, mut strings, mut objects) = (String::new(), String::new(), String::new());
    let mut by_id = std::collections::HashMap::new();
    for (i, p) in dev_pages(30).iter().enumerate() {
        let page = fs::read_to_string(p).unwrap();
        let paras: Vec<&str> = page.lines().filter(|l| !l.trim().is_empty()).collect();
        let id = format!("p{i}");
        by_id.insert(
            id.clone(),
            paras.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        );
        arrays += &(serde_json::json!({"id": id, "paragraphs": paras, "n": i}).to_string() + "\n");
        let elements: Vec<serde_json::Value> = paras
            .iter()
            .enumerate()
            .map(|(j, p)| serde_json::json!({"行号": j, "内容": p, "长度": p.len()}))
            .collect();
        let record = serde_json::json!({"id": id, "段落": elements, "段落数": paras.len()});
        objects += &(record.to_string() + "\n");
        strings += &(serde_json::json!({"id": id, "paragraphs": paras.join("\n\n"), "n": i})
            .to_string()
            + "\n");
    }
    let (a, st) = (tmp.path().join("a.jsonl"), tmp.path().join("s.jsonl"));
    let o = tmp.path().join("o.jsonl");
    fs::write(&a, &arrays).unwrap();
    fs::write(&st, &strings).unwrap();
    fs::write(&o, &objects).unwrap();
    let field = ["--jsonl", "--text-field", "paragraphs"];
    // Scored as the blank-separated text is, line for line.
    let tag = |input: &Path| {
        unpathed(&ok(
            &[&["tag", "-q", "--json"][..], &field, &[s(input)]].concat()
        ))
    };
    // Each record names its string by index (JSON `element`): here a line each.
    let tags = tag(&a);
    for t in &tags {
        let strings = &by_id[t["id"].as_str().unwrap()];
        assert_eq!(t["text"], strings[t["element"].as_u64().unwrap() as usize]);
    }
    let unnamed = |tags: &[serde_json::Value]| {
        let mut tags = tags.to_vec();
        tags.iter_mut()
            .for_each(|t| _ = t.as_object_mut().unwrap().remove("element"));
        tags
    };
    assert_eq!(unnamed(&tags), tag(&st));
    // filter keeps exactly the paragraphs whose line is kept, in order, other fields as
    // they were; a record left with none is dropped.
    let out = ok(&[&["filter", "-q"][..], &field, &[s(&a)]].concat());
    let got: Vec<serde_json::Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let want = kept_by_id(&tags);
    assert!(want.len() > 20);
    let got_pairs: Vec<(String, Vec<String>)> = got
        .iter()
        .map(|r| {
            let paras = r["paragraphs"].as_array().unwrap();
            let paras = paras
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect();
            (r["id"].as_str().unwrap().to_string(), paras)
        })
        .collect();
    assert_eq!(got_pairs, want);
    assert!(got.iter().all(|r| r["n"].is_u64()));
    // Objects through `*`: tagged alike; filter keeps exactly those elements, each as it
    // was (its line number says which it was), and the record's other fields.
    let star = ["--jsonl", "--text-field", "/段落/*/内容"];
    let tag_o = ok(&[&["tag", "-q", "--json"][..], &star, &[s(&o)]].concat());
    assert_eq!(unpathed(&tag_o), tags);
    // --removed names each dropped line's string too.
    let removed = tmp.path().join("removed.jsonl");
    ok(&[
        &["filter", "-q", "--removed", s(&removed)][..],
        &star,
        &[s(&o)],
    ]
    .concat());
    let dropped = unpathed(&fs::read(&removed).unwrap());
    assert!(!dropped.is_empty());
    for r in &dropped {
        let strings = &by_id[r["id"].as_str().unwrap()];
        assert_eq!(r["text"], strings[r["element"].as_u64().unwrap() as usize]);
    }
    // Strings of several lines, an empty one, blank lines inside one.
    let odd = tmp.path().join("odd.jsonl");
    fs::write(
        &odd,
        "{\"p\": [\"甲\\n乙\", \"\", \"\\n丙\\n\\n丁\", \"戊\"]}\n",
    )
    .unwrap();
    let odd_tags = unpathed(&ok(&[
        "tag",
        "-q",
        "--json",
        "--jsonl",
        "--text-field",
        "p",
        s(&odd),
    ]));
    let named: Vec<(&str, u64)> = odd_tags
        .iter()
        .map(|t| (t["text"].as_str().unwrap(), t["element"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        named,
        [("甲", 0), ("乙", 0), ("丙", 2), ("丁", 2), ("戊", 3)]
    );
    let out = ok(&[&["filter", "-q"][..], &star, &[s(&o)]].concat());
    let originals: Vec<serde_json::Value> = objects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got_objects = Vec::new();
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let r: serde_json::Value = serde_json::from_slice(line).unwrap();
        let id = r["id"].as_str().unwrap().to_string();
        let was = originals.iter().find(|o| o["id"] == r["id"]).unwrap();
        assert_eq!(r["段落数"], was["段落数"]);
        let mut texts = Vec::new();
        for e in r["段落"].as_array().unwrap() {
            assert_eq!(e, &was["段落"][e["行号"].as_u64().unwrap() as usize]);
            texts.push(e["内容"].as_str().unwrap().to_string());
        }
        got_objects.push((id, texts));
    }
    assert_eq!(got_objects, want);
    // Dolma spans index a string: an array is an error naming the record.
    let err = fails(&[
        "tag",
        "--dolma",
        "--attributes-dir",
        s(&tmp.path().join("attrs")),
        "--text-field",
        "paragraphs",
        s(&a),
    ]);
    assert!(
        err.contains("a.jsonl:1: field \"paragraphs\" holds an array"),
        "{err}"
    );
}

/// With several workers, compressed sources (and ones in a legacy encoding) are decoded
/// ahead of their turn, a few at once: large ones on decoder threads, small ones while
/// they are opened on the pool. Outputs, their order, the accounting and a failure's
/// report must be as with one worker.
#[test]
fn sources_decoded_ahead_come_out_the_same_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (jsonl, _) = dev_jsonl(160);
    let records: Vec<&str> = jsonl.split_inclusive('\n').collect();
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    // Parts of 20 records (about 200 kB: streamed, past the 64 KiB sniff) and, among
    // them, parts of one record (read whole when opened).
    let mut names = Vec::new();
    let mut start = 0;
    for (i, n) in [20, 1, 20, 20, 1, 1, 20, 20, 20, 1, 20, 16]
        .into_iter()
        .enumerate()
    {
        let part = records[start..start + n].concat();
        start += n;
        assert!(n == 1 || part.len() > 1 << 16, "{}", part.len());
        let (ext, bytes) = match i % 7 {
            0 => ("gz", gz(part.as_bytes())),
            1 => ("zst", zstd::encode_all(part.as_bytes(), 3).unwrap()),
            2 => ("xz", xz(part.as_bytes())),
            3 => ("lz4", lz4(part.as_bytes())),
            4 => ("bz2", bz2(part.as_bytes())),
            5 => ("gb", encoding_rs::GB18030.encode(&part).0.into_owned()),
            _ => ("plain", part.into_bytes()),
        };
        let name = format!("part{i:02}.jsonl.{ext}");
        fs::write(input.join(&name), bytes).unwrap();
        names.push(name);
    }
    assert_eq!(start, records.len());
    fs::write(input.join("part12.jsonl.gz"), gz(b"")).unwrap();
    fs::write(input.join("part13.bin"), b"\x00\x01\x02 binary \x00\x00").unwrap();
    let whole = tmp.path().join("whole.jsonl");
    fs::write(&whole, &jsonl).unwrap();
    // Small chunks: every streamed part is many chunks.
    let chunked = ["filter", "--jsonl", "--chunk-bytes", "20000"];
    let expected = ok(&[&chunked[..], &[s(&whole)]].concat());
    assert!(expected.len() > 100_000);
    let stdin_part = records[..3].concat();
    let from_stdin = chaff_in(
        &root(),
        &[&chunked[..], &["-"]].concat(),
        Some(stdin_part.as_bytes()),
    );
    assert!(from_stdin.status.success());
    let mut first = None;
    for t in ["1", "2", "3", "5", "8"] {
        let stats = tmp.path().join(format!("stats-{t}.jsonl"));
        let args = [&["--threads", t][..], &chunked[..]].concat();
        let mut a = args.clone();
        a.extend(["--file-stats", s(&stats), s(&input), "-", s(&input)]);
        let o = chaff_in(&root(), &a, Some(stdin_part.as_bytes()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let both = [&expected[..], &from_stdin.stdout, &expected].concat();
        assert!(o.stdout == both, "--threads {t}");
        let out = tmp.path().join(format!("out-{t}"));
        let mut a = args;
        a.extend(["-o", s(&out), s(&input)]);
        ok(&a);
        let got = (fs::read(&stats).unwrap(), tree(&out));
        // A file each but the binary one, the run record and the journal (the same at
        // every thread count, as the files are).
        assert_eq!(got.1.len(), 15);
        match &first {
            None => first = Some(got),
            Some(f) => assert!(*f == got, "--threads {t}"),
        }
    }
    // A damaged file after sources decoded ahead: one line naming it, and what came
    // before it, as with one worker.
    let mut cut = fs::read(input.join(&names[7])).unwrap();
    cut.truncate(cut.len() / 2);
    fs::write(input.join(&names[7]), cut).unwrap();
    let mut first = None;
    for t in ["1", "2", "5"] {
        let o = chaff(&[&["--threads", t][..], &chunked[..], &[s(&input)]].concat());
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains(&names[7]), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let before = records[..83].concat();
        let expected_before = chaff_in(
            &root(),
            &[&chunked[..], &["-"]].concat(),
            Some(before.as_bytes()),
        );
        assert!(o.stdout.starts_with(&expected_before.stdout));
        match &first {
            None => first = Some((o.stdout, err)),
            Some(f) => assert!(*f == (o.stdout, err), "--threads {t}"),
        }
    }
}

/// A clean run into a folder with side files, made once for the resume property: the
/// inputs, the side files' paths (the same for every run, as the run record names them),
/// and what the clean run left (its folder's tree and its side files' bytes).
struct CleanRun {
    _tmp: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    side: [PathBuf; 3],
    tree: Vec<(PathBuf, Vec<u8>)>,
    side_bytes: [Vec<u8>; 3],
}

fn clean_run() -> &'static CleanRun {
    static C: std::sync::OnceLock<CleanRun> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        fs::create_dir_all(input.join("sub")).unwrap();
        for (i, p) in dev_pages(11).iter().enumerate() {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            match i % 3 {
                0 => fs::copy(p, input.join(name)).map(drop),
                1 => fs::write(
                    input.join(format!("sub/{name}.gz")),
                    gz(&fs::read(p).unwrap()),
                ),
                _ => fs::copy(p, input.join("sub").join(name)).map(drop),
            }
            .unwrap();
        }
        // Skipped as not text: a source with no output.
        fs::write(input.join("sub/image.bin"), [0u8, 1, 2, 0, 255]).unwrap();
        let side = ["removed.jsonl.gz", "files.jsonl", "stats.json"].map(|n| tmp.path().join(n));
        let out = tmp.path().join("out");
        let clean = tmp.path().join("clean");
        ok(&resume_args(&side, &clean, &input, "1", false));
        let side_bytes = side.clone().map(|p| fs::read(p).unwrap());
        CleanRun {
            tree: tree(&clean),
            _tmp: tmp,
            input,
            out,
            side,
            side_bytes,
        }
    })
}

fn resume_args<'a>(
    side: &'a [PathBuf; 3],
    out: &'a Path,
    input: &'a Path,
    threads: &'a str,
    resume: bool,
) -> Vec<&'a str> {
    let mut args = vec![
        "-q",
        "--threads",
        threads,
        "filter",
        "--removed",
        s(&side[0]),
    ];
    args.extend(["--file-stats", s(&side[1]), "--stats", s(&side[2])]);
    if resume {
        args.push("--resume");
    }
    args.extend(["-o", s(out), s(input)]);
    args
}

fn decoded_gz(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut v)
        .unwrap();
    v
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever a stopped or killed run left (the journal cut anywhere, even inside a
    /// line; side files' partials cut anywhere, or the finished side files; outputs
    /// missing, or present beyond what the journal records), `--resume` at any thread
    /// count gives the clean run's folder, side files and summary.
    #[test]
    fn a_resume_from_any_stop_gives_the_clean_runs_files(
        records in 0usize..14,
        torn in 0usize..60,
        cuts in proptest::collection::vec(0.0f64..1.3, 2),
        finished in proptest::prelude::any::<bool>(),
        gone in proptest::collection::vec(proptest::prelude::any::<bool>(), 11),
        threads in 1usize..4,
    ) {
        let c = clean_run();
        let _ = fs::remove_dir_all(&c.out);
        for p in &c.side {
            let _ = fs::remove_file(p);
            let _ = fs::remove_file(partial_of(p));
        }
        let mut outputs = 0;
        for (rel, bytes) in &c.tree {
            let to = c.out.join(rel);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            if rel == Path::new(".chaff-journal.jsonl") {
                let ends: Vec<usize> = bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1)
                    .collect();
                let at = match records {
                    0 => 0,
                    n => ends[(n - 1).min(ends.len() - 1)],
                };
                fs::write(&to, &bytes[..(at + torn).min(bytes.len())]).unwrap();
            } else if rel.to_string_lossy().starts_with('.') {
                fs::write(&to, bytes).unwrap();
            } else {
                if !gone[outputs % gone.len()] {
                    fs::write(&to, bytes).unwrap();
                }
                outputs += 1;
            }
        }
        let plain = [decoded_gz(&c.side_bytes[0]), c.side_bytes[1].clone()];
        for (k, p) in c.side[..2].iter().enumerate() {
            if finished {
                fs::write(p, &c.side_bytes[k]).unwrap();
            } else {
                let keep = ((plain[k].len() as f64 * cuts[k]) as usize).min(plain[k].len());
                fs::write(partial_of(p), &plain[k][..keep]).unwrap();
            }
        }
        let t = threads.to_string();
        let o = chaff(&resume_args(&c.side, &c.out, &c.input, &t, true));
        proptest::prop_assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        proptest::prop_assert!(tree(&c.out) == c.tree, "the folder differs");
        for (k, p) in c.side.iter().enumerate() {
            let got = fs::read(p).unwrap();
            if k == 2 {
                proptest::prop_assert_eq!(stats_counts(&got), stats_counts(&c.side_bytes[2]));
            } else {
                proptest::prop_assert!(got == c.side_bytes[k], "{} differs", p.display());
                proptest::prop_assert!(!partial_of(p).exists());
            }
        }
    }
}

fn partial_of(p: &Path) -> PathBuf {
    chaff::side_file::partial_path(p)
}

/// How many of [`CheckpointedRun`]'s sources are large: plain and one per codec.
const LARGE: usize = 6;

/// The outputs of `c`'s large sources that are checkpointed: all but the xz one.
fn checkpointed(c: &CheckpointedRun) -> impl Iterator<Item = &&'static str> {
    c.names[..LARGE].iter().filter(|n| !n.ends_with(".xz"))
}

/// A clean run into a folder whose JSONL sources are large enough to be checkpointed:
/// one plain and one in each codec, and a small one, with `--removed`.
struct CheckpointedRun {
    _tmp: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    /// `--removed`, `--file-stats`, `--stats`.
    side: [PathBuf; 3],
    tree: Vec<(PathBuf, Vec<u8>)>,
    side_bytes: [Vec<u8>; 3],
    /// Held by a test using `out` and the side files (tests run in parallel).
    lock: std::sync::Mutex<()>,
    /// JSONL inputs (else text).
    jsonl: bool,
    /// The outputs, in input order: the large ones ([`LARGE`]), then a small one.
    names: [&'static str; LARGE + 1],
}

impl CheckpointedRun {
    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Dev pages as JSONL records, `n` of them from page `from`.
fn jsonl_pages(from: usize, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in dev_pages(from + n).iter().enumerate().skip(from) {
        let text = fs::read_to_string(p).unwrap();
        let r = serde_json::json!({"id": format!("p{i}"), "text": text, "n": i});
        serde_json::to_writer(&mut out, &r).unwrap();
        out.push(b'\n');
    }
    out
}

fn checkpointed_args<'a>(c: &'a CheckpointedRun, out: &'a Path, threads: &'a str) -> Vec<&'a str> {
    let mut args = vec!["-q", "--threads", threads, "filter"];
    if c.jsonl {
        args.push("--jsonl");
    }
    args.extend(["--chunk-bytes", "4096", "--checkpoint-bytes", "8192"]);
    args.extend(["--removed", s(&c.side[0]), "--file-stats", s(&c.side[1])]);
    args.extend(["--stats", s(&c.side[2]), "-o", s(out), s(&c.input)]);
    args
}

/// [`checkpointed_args`] with `--resume`, and without `-q`: the run tells where it goes on.
fn resume_inside_args<'a>(c: &'a CheckpointedRun, threads: &'a str) -> Vec<&'a str> {
    let mut args = vec!["--threads", threads, "filter", "--resume"];
    if c.jsonl {
        args.push("--jsonl");
    }
    args.extend(["--chunk-bytes", "4096", "--checkpoint-bytes", "8192"]);
    args.extend(["--removed", s(&c.side[0]), "--file-stats", s(&c.side[1])]);
    args.extend(["--stats", s(&c.side[2]), "-o", s(&c.out), s(&c.input)]);
    args
}

fn checkpointed_run() -> &'static CheckpointedRun {
    static C: std::sync::OnceLock<CheckpointedRun> = std::sync::OnceLock::new();
    C.get_or_init(|| clean_checkpointed_run(true))
}

/// [`checkpointed_run`] with text inputs: each one large document.
fn checkpointed_text_run() -> &'static CheckpointedRun {
    static C: std::sync::OnceLock<CheckpointedRun> = std::sync::OnceLock::new();
    C.get_or_init(|| clean_checkpointed_run(false))
}

fn clean_checkpointed_run(jsonl: bool) -> CheckpointedRun {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let pages = |from: usize, n: usize| match jsonl {
        true => jsonl_pages(from, n),
        false => dev_pages(from + n)[from..]
            .iter()
            .flat_map(|p| fs::read(p).unwrap())
            .collect(),
    };
    let names = match jsonl {
        true => [
            "a.jsonl",
            "b.jsonl.gz",
            "c.jsonl.bz2",
            "d.jsonl.lz4",
            "e.jsonl.xz",
            "f.jsonl.zst",
            "g.jsonl",
        ],
        false => [
            "a.txt",
            "b.txt.gz",
            "c.txt.bz2",
            "d.txt.lz4",
            "e.txt.xz",
            "f.txt.zst",
            "g.txt",
        ],
    };
    fs::write(input.join(names[0]), pages(0, 24)).unwrap();
    fs::write(input.join(names[1]), gz(&pages(24, 24))).unwrap();
    fs::write(input.join(names[2]), bz2(&pages(50, 24))).unwrap();
    fs::write(input.join(names[3]), lz4(&pages(75, 24))).unwrap();
    fs::write(input.join(names[4]), xz(&pages(100, 24))).unwrap();
    fs::write(
        input.join(names[5]),
        zstd::encode_all(&pages(125, 24)[..], 3).unwrap(),
    )
    .unwrap();
    // Small: the first lines of a page, less than one checkpoint interval (8 KB).
    let page = fs::read_to_string(&dev_pages(49)[48]).unwrap();
    let end = page.as_bytes()[..4000]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap();
    let head = &page[..end + 1];
    let small = match jsonl {
        true => serde_json::json!({"id": "small", "text": head}).to_string() + "\n",
        false => head.to_string(),
    };
    fs::write(input.join(names[LARGE]), small).unwrap();
    let side = ["removed.jsonl", "files.jsonl", "stats.json"].map(|n| tmp.path().join(n));
    let mut c = CheckpointedRun {
        input,
        out: tmp.path().join("out"),
        side,
        tree: Vec::new(),
        side_bytes: [Vec::new(), Vec::new(), Vec::new()],
        lock: std::sync::Mutex::new(()),
        jsonl,
        names,
        _tmp: tmp,
    };
    let clean = c._tmp.path().join("clean");
    ok(&checkpointed_args(&c, &clean, "1"));
    c.tree = tree(&clean);
    c.side_bytes = c.side.clone().map(|p| fs::read(p).unwrap());
    c
}

/// The clean run's journal's records, each with the offset after it.
fn journal_lines(c: &CheckpointedRun) -> Vec<(serde_json::Value, usize)> {
    let journal = &c
        .tree
        .iter()
        .find(|(p, _)| p == Path::new(".chaff-journal.jsonl"))
        .unwrap()
        .1;
    let mut at = 0;
    journal
        .split_inclusive(|&b| b == b'\n')
        .map(|line| {
            at += line.len();
            (serde_json::from_slice(line).unwrap(), at)
        })
        .collect()
}

fn clean_output<'a>(c: &'a CheckpointedRun, name: &str) -> &'a [u8] {
    &c.tree.iter().find(|(p, _)| p == Path::new(name)).unwrap().1
}

/// Lays out in `c.out` what a run stopped after the clean run's first `records` journal
/// records (and `torn` bytes of the next) left: the finished sources' outputs, the
/// source in progress's resumable output cut at `cut` of the clean output (none if
/// `cut` is `None`), and the partials of `--removed` and `--file-stats` cut at `sides` of
/// the clean ones.
fn lay_out_stop(
    c: &CheckpointedRun,
    records: usize,
    torn: usize,
    cut: Option<f64>,
    sides: [f64; 2],
) {
    let _ = fs::remove_dir_all(&c.out);
    fs::create_dir_all(&c.out).unwrap();
    for p in &c.side {
        let _ = fs::remove_file(p);
        let _ = fs::remove_file(chaff::side_file::partial_path(p));
    }
    let lines = journal_lines(c);
    let journal = &clean_output(c, ".chaff-journal.jsonl");
    let at = match records {
        0 => 0,
        n => lines[(n - 1).min(lines.len() - 1)].1,
    };
    fs::write(
        c.out.join(".chaff-journal.jsonl"),
        &journal[..(at + torn).min(journal.len())],
    )
    .unwrap();
    fs::write(
        c.out.join(".chaff-run.json"),
        clean_output(c, ".chaff-run.json"),
    )
    .unwrap();
    let finished = lines[..records.min(lines.len())]
        .iter()
        .filter(|(r, _)| r.get("at").is_none())
        .count();
    for name in &c.names[..finished] {
        fs::write(c.out.join(name), clean_output(c, name)).unwrap();
    }
    if let (Some(name), Some(cut)) = (c.names.get(finished), cut) {
        let bytes = clean_output(c, name);
        let keep = ((bytes.len() as f64 * cut) as usize).min(bytes.len());
        let partial = chaff::output::resumable_path(&c.out.join(name));
        fs::write(partial, &bytes[..keep]).unwrap();
    }
    for (k, cut) in sides.iter().enumerate() {
        let keep = (c.side_bytes[k].len() as f64 * cut) as usize;
        let partial = chaff::side_file::partial_path(&c.side[k]);
        fs::write(partial, &c.side_bytes[k][..keep.min(c.side_bytes[k].len())]).unwrap();
    }
}

/// Checks that `c.out` and the side files are the clean run's.
fn assert_clean(c: &CheckpointedRun) {
    assert!(tree(&c.out) == c.tree, "the folder differs");
    assert!(
        fs::read(&c.side[0]).unwrap() == c.side_bytes[0],
        "--removed differs"
    );
    assert!(
        fs::read(&c.side[1]).unwrap() == c.side_bytes[1],
        "--file-stats differs"
    );
    let got = fs::read(&c.side[2]).unwrap();
    assert_eq!(stats_counts(&got), stats_counts(&c.side_bytes[2]));
}

/// A `--stats` file's counts but `resumed` (which only a resumed run has), without the
/// run's time.
fn stats_counts(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let fields = v.as_object_mut().unwrap();
    // Counted alike but for the files found done; timed otherwise.
    for differs in ["resumed", "seconds", "mb_per_s"] {
        assert!(fields.remove(differs).is_some(), "{differs}");
    }
    v
}

/// Lays out the stop of `c`'s run just after `name`'s checkpoint number `k` (from 0),
/// with its whole partial output; returns the line the checkpoint goes on from.
fn stop_at_checkpoint(c: &CheckpointedRun, name: &str, k: usize) -> u64 {
    let lines = journal_lines(c);
    let at = lines
        .iter()
        .enumerate()
        .filter(|(_, (r, _))| r["dest"] == name && r.get("at").is_some())
        .nth(k)
        .unwrap()
        .0;
    lay_out_stop(c, at + 1, 0, Some(1.0), [1.0; 2]);
    lines[at].0["at"]["line"].as_u64().unwrap()
}

#[test]
fn a_resume_goes_on_inside_a_large_source_from_its_checkpoint() {
    // The large sources, plain and in every codec but xz, were checkpointed, JSONL and
    // text (with the blank lines the text output held back); the small one was not.
    for c in [checkpointed_run(), checkpointed_text_run()] {
        let lines = journal_lines(c);
        let checkpoints: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|(r, _)| r.get("at").is_some())
            .map(|(r, _)| r)
            .collect();
        for name in checkpointed(c) {
            let n = checkpoints.iter().filter(|r| r["dest"] == *name).count();
            assert!(n >= 3, "{name}: {n} checkpoints");
            // Only the bzip2 output's need its stream's tail.
            let tails = checkpoints.iter().filter(|r| r["dest"] == *name);
            let tails = tails.filter(|r| r["at"]["bzip2"]["crc"].is_u64()).count();
            assert_eq!(tails, if name.ends_with(".bz2") { n } else { 0 }, "{name}");
        }
        for name in [c.names[4], c.names[LARGE]] {
            assert!(!checkpoints.iter().any(|r| r["dest"] == name), "{name}");
        }
        let joined = checkpoints
            .iter()
            .all(|r| r["at"]["joined"]["pending"].is_string());
        assert_eq!(joined, !c.jsonl);
        // Stopped after each large output's second checkpoint, with its partial
        // output whole: the run goes on from there (and says so) to the clean files.
        let _only = c.lock();
        for name in checkpointed(c) {
            let line = stop_at_checkpoint(c, name, 1);
            // What a killed run kept for an input no longer among the inputs goes
            // once the resumed run is complete.
            let gone = chaff::output::resumable_path(&c.out.join("gone.jsonl"));
            fs::write(&gone, "x").unwrap();
            let o = chaff(&resume_inside_args(c, "2"));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{err}");
            let told = format!("going on with {name} from input line {line}");
            assert!(err.contains(&told), "{err}");
            assert_clean(c);
        }
    }
    let c = checkpointed_run();
    let _only = c.lock();
    stop_at_checkpoint(c, "b.jsonl.gz", 1);
    // A stop inside b.jsonl.gz, with the input changed before the checkpoint (same
    // length, same lines): refused, naming the input and the file to delete.
    let b = c.input.join("b.jsonl.gz");
    let original = fs::read(&b).unwrap();
    let changed = decoded_gz(&original);
    let i = changed.windows(5).position(|w| w == b"\"p25\"").unwrap();
    let mut changed = changed.clone();
    changed[i + 3] = b'7';
    fs::write(&b, gz(&changed)).unwrap();
    let err = fails(&resume_inside_args(c, "1"));
    let partial = chaff::output::resumable_path(&c.out.join("b.jsonl.gz"));
    assert!(
        err.contains("b.jsonl.gz: cannot go on with it from line"),
        "{err}"
    );
    assert!(
        err.contains(&format!("delete {}", partial.display())),
        "{err}"
    );
    // Deleted, the source is redone from its start.
    fs::remove_file(&partial).unwrap();
    let o = chaff(&resume_inside_args(c, "1"));
    fs::write(&b, &original).unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(c.out.join("b.jsonl.gz").exists() && !partial.exists());
    // A bzip2 output that does not open the stream the journal goes on with (another
    // level, or not bzip2 at all): refused, naming it.
    stop_at_checkpoint(c, "c.jsonl.bz2", 1);
    let partial = chaff::output::resumable_path(&c.out.join("c.jsonl.bz2"));
    let mut bytes = fs::read(&partial).unwrap();
    assert_eq!(&bytes[..4], b"BZh9");
    bytes[3] = b'5';
    vouch_for(c, &bytes);
    let why = "it does not open a bzip2 stream of level 9); delete it";
    refused_with(c, &partial, &bytes, why);
}

/// Sets the output's CRC-32 in the last record of `c.out`'s journal (the checkpoint a
/// stop was laid out after) to that of `bytes` up to the checkpoint's length.
fn vouch_for(c: &CheckpointedRun, bytes: &[u8]) {
    let path = c.out.join(".chaff-journal.jsonl");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let last = lines.last_mut().unwrap();
    let mut record: serde_json::Value = serde_json::from_str(last).unwrap();
    let n = record["at"]["output"].as_u64().unwrap() as usize;
    record["at"]["output_crc"] = crc32fast::hash(&bytes[..n]).into();
    *last = record.to_string();
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// Asserts that `--resume` with `bytes` as the resumable output at `partial` stops,
/// saying it cannot go on with it and why (`why` starts the reason); returns what it
/// said.
fn refused_with(c: &CheckpointedRun, partial: &Path, bytes: &[u8], why: &str) -> String {
    fs::write(partial, bytes).unwrap();
    let err = fails(&resume_inside_args(c, "1"));
    let want = format!("{}: cannot go on with it ({why}", partial.display());
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("delete it"), "{err}");
    err
}

#[test]
fn an_output_that_is_not_what_its_text_compresses_to_is_not_gone_on_with() {
    let c = checkpointed_run();
    let _only = c.lock();
    // zstd and lz4 outputs are compressed again from their text up to the
    // checkpoint, which must give the bytes the stopped run wrote: the same text
    // compressed otherwise (another zstd level, lz4 in other blocks, as another build
    // might) is refused, naming the file and the first byte that differs.
    for name in ["d.jsonl.lz4", "f.jsonl.zst"] {
        stop_at_checkpoint(c, name, 1);
        let at = journal_lines(c)
            .into_iter()
            .filter(|(r, _)| r["dest"] == name && r.get("at").is_some())
            .nth(1)
            .unwrap()
            .0["at"]
            .clone();
        let partial = chaff::output::resumable_path(&c.out.join(name));
        let z = fs::read(&partial).unwrap();
        let zst = name.ends_with(".zst");
        let d: Box<dyn Read> = match zst {
            true => Box::new(zstd::stream::read::Decoder::new(&z[..]).unwrap()),
            false => Box::new(lz4_flex::frame::FrameDecoder::new(&z[..])),
        };
        let mut text = Vec::new();
        let plain = at["plain"].as_u64().unwrap();
        d.take(plain).read_to_end(&mut text).unwrap();
        let mut other = match zst {
            true => zstd::encode_all(&text[..], 1).unwrap(),
            false => lz4(&text),
        };
        // As long as the journal says (what is longer is cut back to that), and with
        // the CRC-32 the journal has for it, as if the stopped run had written these.
        other.resize(other.len().max(z.len()), 0);
        vouch_for(c, &other);
        let why = "written again from its text, it differs at byte ";
        refused_with(c, &partial, &other, why);
    }
    // Any output whose bytes are not those the journal vouches for is refused before
    // anything is read from it: a plain one with a byte changed.
    stop_at_checkpoint(c, "a.jsonl", 1);
    let partial = chaff::output::resumable_path(&c.out.join("a.jsonl"));
    let mut bytes = fs::read(&partial).unwrap();
    bytes[100] ^= 1;
    let err = refused_with(c, &partial, &bytes, "its first ");
    assert!(
        err.contains(" bytes are not those the stopped run wrote: CRC-32 "),
        "{err}"
    );
    // A --force run into a folder a stopped run left removes its resumable outputs.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    ok(&checkpointed_args(c, &out, "1"));
    let left = chaff::output::resumable_path(&out.join("x.jsonl"));
    fs::write(&left, "stale").unwrap();
    // And the temporaries a killed run left, whatever bytes their names hold.
    use std::os::unix::ffi::OsStrExt;
    let odd = out.join(std::ffi::OsStr::from_bytes(b".\xff.txt.Ab12Cd.chaff-tmp"));
    fs::write(&odd, "half").unwrap();
    let mut args = checkpointed_args(c, &out, "1");
    args.push("--force");
    ok(&args);
    assert!(!left.exists());
    assert!(!odd.exists());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 40, ..Default::default() })]

    /// Whatever a JSONL or text run stopped inside a large source left (its journal cut
    /// after any record, checkpoints included, or inside one; the resumable output cut
    /// anywhere, or missing; `--removed` and `--file-stats` cut anywhere), `--resume` at
    /// any thread count gives the clean run's folder and side files.
    #[test]
    fn a_resume_from_any_stop_inside_a_source_gives_the_clean_runs_files(
        records in 0.0f64..1.05,
        torn in 0usize..60,
        cut in proptest::option::of(0.0f64..1.2),
        sides in proptest::array::uniform2(0.0f64..1.2),
        threads in 1usize..4,
        jsonl in proptest::prelude::any::<bool>(),
    ) {
        let c = if jsonl { checkpointed_run() } else { checkpointed_text_run() };
        let _only = c.lock();
        // Any share of the journal's records (and with all of them, the run was done).
        let records = (journal_lines(c).len() as f64 * records) as usize;
        lay_out_stop(c, records, torn, cut, sides);
        let t = threads.to_string();
        let o = chaff(&resume_inside_args(c, &t));
        proptest::prop_assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_clean(c);
    }
}

#[test]
fn fifos_sockets_and_devices_in_input_folders_are_not_read_and_are_warned_of() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(dump.join("sub")).unwrap();
    fs::copy("tests/data/sample_page.txt", dump.join("a.txt")).unwrap();
    let page_only = ok(&["filter", "-q", s(&dump)]);
    // A FIFO no one writes to (reading it would wait for ever), a socket and a link to
    // a device.
    let fifo = dump.join("sub/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let _socket = std::os::unix::net::UnixListener::bind(dump.join("sock")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dump.join("null")).unwrap();
    let o = chaff(&["filter", "-q", s(&dump)]);
    assert!(o.status.success());
    assert_eq!(o.stdout, page_only);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err,
        format!(
            "chaff: warning: 3 entries of input folders are FIFOs, sockets or devices, not files; not read (the first: {}, a device)\n",
            dump.join("null").display()
        )
    );
    // Into an output folder, alike; one alone is named with what it is.
    fs::remove_file(dump.join("null")).unwrap();
    fs::remove_file(dump.join("sock")).unwrap();
    let out = tmp.path().join("out");
    let o = chaff(&["filter", "-q", "-o", s(&out), s(&dump)]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!(
            "chaff: warning: {}: a FIFO, not a file; not read\n",
            fifo.display()
        )
    );
    assert_eq!(fs::read(out.join("a.txt")).unwrap(), page_only);
    assert!(!out.join("sub/pipe").exists());
    // A FIFO named on the command line is read: a writer feeds it.
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || fs::write(fifo, fs::read("tests/data/sample_page.txt").unwrap()).unwrap()
    });
    let o = chaff(&["filter", "-q", s(&fifo)]);
    writer.join().unwrap();
    assert_eq!(o.stdout, page_only);
    assert_eq!(String::from_utf8(o.stderr).unwrap(), "");
}
