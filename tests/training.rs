//! Training reproducibility: the committed model is what the recipe builds, whatever the
//! thread count; update and forget are exact; tuning on labelled pages does what it says.

mod common;
use common::*;
use std::fs;
use std::process::Command;

#[test]
fn committed_model_is_what_the_recipe_builds() {
    let tmp = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("model-{threads}.chaff"));
        run_ok(
            Command::new("bash")
                .arg(root().join("training/build-model.sh"))
                .arg(&out)
                .env("CHAFF_BIN", env!("CARGO_BIN_EXE_chaff"))
                .env("CHAFF_WORK", tmp.path().join("work"))
                .env("CHAFF_SHARED", shared())
                .env("RAYON_NUM_THREADS", threads),
        );
        let built = fs::read(&out).unwrap();
        let committed = fs::read(root().join("models/default.chaff")).unwrap();
        assert!(
            built == committed,
            "models/default.chaff differs from what training/build-model.sh builds with {threads} thread(s); rebuild it"
        );
    }
}

#[test]
fn update_and_forget_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let m = |n: &str| tmp.path().join(n);
    let (p_ab, p_a, p_tsv) = (m("ab"), m("a"), m("tsv"));
    let pin = ["--gamma", "0.3", "--threshold", "0.2", "--min-count", "1"];
    let a = ["training/sample.tsv", "tests/data/pageset"];
    let b = "training/sample.fasttext";
    let mut args = vec!["train", "-o", s(&p_ab)];
    args.extend(pin);
    args.extend(a);
    args.push(b);
    ok(&args);
    let mut args = vec!["train", "-o", s(&p_a)];
    args.extend(pin);
    args.extend(a);
    ok(&args);
    ok(&["train", "--update", s(&m("a")), "-o", s(&m("a+b")), b]);
    assert_eq!(
        fs::read(m("ab")).unwrap(),
        fs::read(m("a+b")).unwrap(),
        "train(A+B) == train(A) then update(B)"
    );
    ok(&["forget", "--model", s(&m("a+b")), "-o", s(&m("a+b-b")), b]);
    assert_eq!(
        fs::read(m("a")).unwrap(),
        fs::read(m("a+b-b")).unwrap(),
        "update(B) then forget(B) == train(A)"
    );
    // Page sets carry transitions; forgetting one is exact too.
    ok(&[
        "forget",
        "--model",
        s(&m("a")),
        "-o",
        s(&m("a-p")),
        "tests/data/pageset",
    ]);
    let mut args = vec!["train", "-o", s(&p_tsv)];
    args.extend(pin);
    args.push("training/sample.tsv");
    ok(&args);
    assert_eq!(inspect(&m("a-p")), inspect(&m("tsv")));
    // Data the model never saw cannot be forgotten; the error says so by a word of it,
    // not a structure token, whatever the hash order.
    let other = m("other.tsv");
    fs::write(&other, "news\t完全不同的一段新闻文本内容\nfiller\t哈哈\n").unwrap();
    for data in ["tests/data/pageset", s(&other)] {
        let model = m("tsv");
        let err = fails(&["forget", "--model", s(&model), "-o", s(&m("x")), data]);
        assert!(
            err.starts_with(
                "chaff: cannot forget this data: the model was not trained on it: it holds "
            ) && !err.contains("\"__"),
            "{err}"
        );
        assert!(!m("x").exists());
    }
    // Nor all of a class: the error says so, rather than speaking of training data.
    let filler = m("filler.tsv");
    let rows = fs::read_to_string("training/sample.tsv").unwrap();
    let fill: String = rows
        .lines()
        .filter(|l| l.starts_with("filler\t"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&filler, fill).unwrap();
    let err = fails(&["forget", "-m", s(&m("tsv")), "-o", s(&m("x")), s(&filler)]);
    assert_eq!(
        err,
        "chaff: cannot forget this data: it is all the model's paragraphs of filler, and a model needs two classes\n"
    );
    assert!(!m("x").exists());
}

#[test]
fn forget_checks_the_lines_themselves_and_update_keeps_them() {
    let tmp = tempfile::tempdir().unwrap();
    let m = |n: &str| tmp.path().join(n);
    let rows = "news\t国务院召开常务会议\nfiller\t哈哈哈好开心\nnews\t财政部发布收支情况\n";
    fs::write(m("a.tsv"), rows).unwrap();
    ok(&[
        "train",
        "-q",
        "--min-count",
        "1",
        "-o",
        s(&m("a")),
        s(&m("a.tsv")),
    ]);
    // The same words in Traditional script count as the line's (scored as Simplified),
    // but it is not a line the model was trained on.
    fs::write(m("t.tsv"), "news\t國務院召開常務會議\n").unwrap();
    let err = fails(&["forget", "-m", s(&m("a")), "-o", s(&m("x")), s(&m("t.tsv"))]);
    assert_eq!(
        err,
        format!(
            "chaff: {}:1: cannot forget this data: the model was not trained on this line (or not as many times)\n",
            m("t.tsv").display()
        )
    );
    assert!(!m("x").exists());
    // Updated with a line, the model has seen it once more; forgotten, once less.
    fs::write(m("b.tsv"), "news\t国务院召开常务会议\n").unwrap();
    let (a, b) = (m("a"), m("b.tsv"));
    ok(&["train", "--update", s(&a), "-o", s(&m("a+b")), s(&b)]);
    let lines = |model: &str| {
        let text = inspect(&m(model));
        let l = text.lines().find(|l| l.starts_with("lines fingerprinted"));
        l.unwrap().rsplit(' ').next().unwrap().to_string()
    };
    assert_eq!((lines("a"), lines("a+b")), ("3".into(), "4".into()));
    let ab = s(&m("a+b")).to_string();
    for _ in 0..2 {
        ok(&["forget", "-m", &ab, "-o", &ab, s(&b)]);
    }
    assert_eq!(lines("a+b"), "2");
}

#[test]
fn train_refuses_settings_no_model_can_use_before_reading_data() {
    // A threshold stored out of range failed every later run of the model, as if that
    // run had given --threshold; the data named is never read (it does not exist).
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.chaff");
    for (flag, want) in [
        (
            "--threshold=2",
            "--threshold must be between 0 and 1, got 2",
        ),
        (
            "--threshold=-0.5",
            "--threshold must be between 0 and 1, got -0.5",
        ),
        (
            "--threshold=nan",
            "--threshold must be between 0 and 1, got NaN",
        ),
        ("--gamma=0", "--gamma must be > 0, got 0"),
        ("--gamma=-1", "--gamma must be > 0, got -1"),
        ("--gamma=inf", "--gamma must be > 0, got inf"),
        ("--alpha=inf", "--alpha must be > 0, got inf"),
    ] {
        let o = chaff(&["train", "-o", s(&m), flag, "/nonexistent/data.tsv"]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert_eq!(
            String::from_utf8(o.stderr).unwrap(),
            format!("chaff: {want}\n")
        );
    }
    // A negative value given as the flag's next argument is read as its value, not as
    // a flag of its own ("unexpected argument '-1' found").
    for (args, want) in [
        (
            &["train", "--threshold", "-0.5"][..],
            "--threshold must be between 0 and 1, got -0.5",
        ),
        (&["train", "--gamma", "-1"], "--gamma must be > 0, got -1"),
        (&["train", "--alpha", "-1"], "--alpha must be > 0, got -1"),
        (
            &["train", "--min-count", "-1"],
            "invalid value '-1' for '--min-count",
        ),
        (
            &["filter", "--threshold", "-0.1"],
            "--threshold must be between 0 and 1, got -0.1",
        ),
        (
            &["filter", "--threads", "-1"],
            "invalid value '-1' for '--threads",
        ),
        (&["explain", "--top", "-1"], "invalid value '-1' for '--top"),
        (&["inspect", "--top", "-1"], "invalid value '-1' for '--top"),
    ] {
        let mut args = args.to_vec();
        if args[0] == "train" {
            args.extend(["-o", s(&m)]);
        }
        args.push("/nonexistent/data.tsv");
        let o = chaff(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(
            err.starts_with(&format!("chaff: {want}")),
            "{args:?}: {err}"
        );
    }
    assert!(!m.exists());
    // -q leaves out the summary line, as in every other command.
    let (tsv, ft) = ("training/sample.tsv", "training/sample.fasttext");
    for args in [
        &["train", "-q", "-o", s(&m), tsv, ft][..],
        &["forget", "-q", "-m", s(&m), ft],
    ] {
        let o = chaff(args);
        assert!(o.status.success(), "{args:?}");
        assert_eq!(String::from_utf8(o.stderr).unwrap(), "", "{args:?}");
    }
    let o = chaff(&["train", "-o", s(&m), "training/sample.tsv"]);
    assert!(String::from_utf8(o.stderr)
        .unwrap()
        .starts_with("chaff: wrote "));
    fs::remove_file(&m).unwrap();
    // Tuning on training data is refused, however the path is spelled.
    let err = fails(&[
        "train",
        "-o",
        s(&m),
        "--tune-on",
        "tests/data/pageset",
        "./tests/data/pageset/",
        "training/sample.tsv",
    ]);
    assert_eq!(
        err,
        "chaff: tests/data/pageset: --tune-on names training data; tune on labelled pages the model is not trained on\n"
    );
    // So is a copy of it, told by its lines.
    let copy = m.with_file_name("copy");
    fs::create_dir_all(copy.join("pages")).unwrap();
    for f in ["labels.tsv", "pages/p1.txt"] {
        fs::copy(root().join("tests/data/pageset").join(f), copy.join(f)).unwrap();
    }
    let (copy, train) = (s(&copy), "tests/data/pageset");
    let err = fails(&["train", "-o", s(&m), "--tune-on", copy, train]);
    assert!(
        err.starts_with("chaff: --tune-on: ")
            && err.contains("(100.0 %) are lines of the training data"),
        "{err}"
    );
    // --update keeps the model's settings: a setting given with it is refused, not
    // ignored.
    let model = root().join("models/default.chaff");
    for flag in ["--alpha=0.5", "--min-count=3", "--threshold=0.2", "--hmm"] {
        let o = chaff(&[
            "train",
            "--update",
            s(&model),
            "-o",
            s(&m),
            flag,
            "training/sample.tsv",
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(
            err.starts_with("chaff: the argument '--update <MODEL>' cannot be used with"),
            "{err}"
        );
    }
    assert!(!m.exists());
}

/// Tuning on pages the model never saw picks the emission scaling and threshold with the
/// least decision cost (30 x news_loss + filler_leak) on them, among candidates that
/// include what the held-out fit picks: so on those pages it never costs more than the
/// fit. The tuning pages are not counted, and the model says what it was tuned on.
#[test]
fn tuning_never_costs_more_on_the_tuning_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, tune) = (tmp.path().join("train"), tmp.path().join("tune"));
    compose("train", 150, 5, ALL_LAYOUTS, None, &train);
    compose("dev", 150, 6, ALL_LAYOUTS, None, &tune);
    let (fit, tuned) = (tmp.path().join("fit.chaff"), tmp.path().join("tuned.chaff"));
    ok(&["train", "-q", "-o", s(&fit), s(&train)]);
    ok(&[
        "train",
        "-q",
        "-o",
        s(&tuned),
        "--tune-on",
        s(&tune),
        s(&train),
    ]);
    let cost = |m: &std::path::Path| -> f64 {
        let (_, loss, leak) = eval_report(&["-m", s(m), s(&tune)]);
        30.0 * loss + leak
    };
    let (c_fit, c_tuned) = (cost(&fit), cost(&tuned));
    assert!(c_tuned <= c_fit + 1e-12, "tuned {c_tuned} > fitted {c_fit}");
    let (a, b) = (inspect(&fit), inspect(&tuned));
    assert_eq!(a.lines().next(), b.lines().next(), "same counts");
    assert!(b.contains(&format!("tuned on: {}", tune.display())), "{b}");
    assert!(!a.contains("tuned on"), "{a}");
}

/// A model written before transitions saw the gap after a paragraph (three blocks, by
/// the gap before) still loads, decodes by the gap before, and stays in that layout when
/// updated, so an update changes its decisions only by the data added.
#[test]
fn gap_before_models_keep_their_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let (cur, old, upd) = (
        tmp.path().join("cur.chaff"),
        tmp.path().join("old.chaff"),
        tmp.path().join("upd.chaff"),
    );
    ok(&[
        "train",
        "-q",
        "-o",
        s(&cur),
        "training/sample.tsv",
        "tests/data/pageset",
    ]);
    let mut m = chaff::model_file::load(&cur).unwrap();
    assert_eq!(m.context.gap_blocks(), chaff::context::BLOCKS);
    m.context = m.context.gap_before_only();
    let mut bytes = chaff::model_file::to_bytes(&m);
    // Written by another version (same length, so the header's length holds): inspect
    // names it, as the file's header does.
    let version = env!("CARGO_PKG_VERSION");
    let was = format!("\"written_by\": \"{version}\"");
    let other: String = version
        .chars()
        .map(|c| if c == '.' { c } else { '9' })
        .collect();
    let at = bytes
        .windows(was.len())
        .position(|w| w == was.as_bytes())
        .unwrap();
    let end = at + was.len() - 1;
    bytes[end - version.len()..end].copy_from_slice(other.as_bytes());
    let body = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..body]).to_le_bytes();
    bytes[body..].copy_from_slice(&crc);
    fs::write(&old, bytes).unwrap();
    assert!(inspect(&old).contains(&format!("\nwritten by: chaff {other}\n")));
    assert!(inspect(&cur).contains(&format!("\nwritten by: chaff {version}\n")));
    assert!(
        inspect(&old).contains("transition blocks 3"),
        "{}",
        inspect(&old)
    );
    let tags = ok(&["tag", "-m", s(&old), "tests/data/sample_page.txt"]);
    assert!(!tags.is_empty());
    ok(&[
        "train",
        "-q",
        "--update",
        s(&old),
        "-o",
        s(&upd),
        "training/sample.fasttext",
    ]);
    assert!(
        inspect(&upd).contains("transition blocks 3"),
        "{}",
        inspect(&upd)
    );
}

/// Labelled data is read as `tag` reads a file: compressed, in a legacy encoding
/// (detected, or named by `--encoding`), or from standard input (`-`), it trains, updates,
/// forgets and evaluates as the plain UTF-8 file does.
#[test]
fn labelled_data_is_read_compressed_in_any_encoding_or_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let m = |n: &str| tmp.path().join(n);
    let tsv = fs::read_to_string(root().join("training/sample.tsv")).unwrap();
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, tsv.as_bytes()).unwrap();
    fs::write(m("sample.tsv.gz"), z.finish().unwrap()).unwrap();
    // GB18030: GBK has no emoji, and the rows hold some.
    fs::write(m("gbk.tsv"), encoding_rs::GB18030.encode(&tsv).0).unwrap();
    // A page set whose pages are zstd files and whose labels are GB18030.
    let set = m("set");
    fs::create_dir_all(set.join("pages")).unwrap();
    let labels = fs::read_to_string(root().join("tests/data/pageset/labels.tsv")).unwrap();
    fs::write(
        set.join("labels.tsv"),
        encoding_rs::GB18030.encode(&labels).0,
    )
    .unwrap();
    let page = fs::read(root().join("tests/data/pageset/pages/p1.txt")).unwrap();
    fs::write(
        set.join("pages/p1.txt"),
        zstd::encode_all(&page[..], 3).unwrap(),
    )
    .unwrap();
    // A model's description but for the inputs it names.
    let described = |model: &str| -> String {
        inspect(&m(model))
            .lines()
            .filter(|l| !l.starts_with("trained on:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let pin = ["--gamma", "0.3", "--threshold", "0.2", "--min-count", "1"];
    let train = |out: &str, inputs: &[&str], stdin: Option<&[u8]>| {
        let o = chaff_in(
            &root(),
            &[&["train", "-o", s(&m(out))], &pin[..], inputs].concat(),
            stdin,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    train(
        "plain",
        &["training/sample.tsv", "tests/data/pageset"],
        None,
    );
    train("gz", &[s(&m("sample.tsv.gz")), s(&set)], None);
    train("detected", &[s(&m("gbk.tsv")), s(&set)], None);
    train("stdin", &["-", "tests/data/pageset"], Some(tsv.as_bytes()));
    for model in ["gz", "detected", "stdin"] {
        assert_eq!(described(model), described("plain"), "{model}");
    }
    // --encoding names what detection would find; forget from stdin undoes the rows.
    let o = chaff(
        &[
            &["train", "-o", s(&m("named")), "--encoding", "gbk"],
            &pin[..],
            &[s(&m("gbk.tsv"))],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    train("tsv-only", &["training/sample.tsv"], None);
    assert_eq!(described("named"), described("tsv-only"));
    train("set-only", &["tests/data/pageset"], None);
    let o = chaff_in(
        &root(),
        &["forget", "-m", s(&m("plain")), "-o", s(&m("forgot")), "-"],
        Some(tsv.as_bytes()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(described("forgot"), described("set-only"));
    // eval reads the page set as it reads the plain one.
    let model = m("plain");
    let (plain, _, _) = eval_report(&["-m", s(&model), "tests/data/pageset"]);
    let (coded, _, _) = eval_report(&["-m", s(&model), s(&set)]);
    assert_eq!(coded, plain);
    // Not text: one line naming the file.
    fs::write(m("bin.tsv"), b"news\t\x00\x01\x02 binary\n").unwrap();
    let err = fails(&["train", "-o", s(&m("x")), s(&m("bin.tsv"))]);
    assert!(
        err.contains("bin.tsv: not labelled text (") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!m("x").exists());
}
