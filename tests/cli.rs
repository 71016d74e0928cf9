//! The CLI contract: train / tag / filter / eval / inspect / forget.

mod common;
use common::*;
use std::fs;

#[test]
fn seed_page_keeps_every_news_line_and_drops_the_filler() {
    let page = shared().join("seed/page.txt");
    let labels = fs::read_to_string(shared().join("seed/page.labels.tsv")).unwrap();
    let text = fs::read(&page).unwrap();
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let (mut news, mut filler) = (Vec::new(), Vec::new());
    for row in labels.lines().skip(1) {
        let mut cols = row.split('\t');
        let n: usize = cols.next().unwrap().parse().unwrap();
        match cols.next().unwrap() {
            "news" => news.push(n),
            _ => filler.push(n),
        }
    }
    assert_eq!((news.len(), filler.len()), (96, 22));

    let out = ok(&["filter", s(&page)]);
    let kept: Vec<&[u8]> = out.split_inclusive(|&b| b == b'\n').collect();
    for &n in &news {
        assert!(
            kept.contains(&lines[n - 1]),
            "news line {n} lost or altered"
        );
    }
    let leaked = filler
        .iter()
        .filter(|&&n| kept.contains(&lines[n - 1]))
        .count();
    assert_eq!(leaked, 0, "{leaked} filler lines kept");
    // Nothing added: every output line is an input line.
    for k in &kept {
        assert!(lines.contains(k));
    }

    let tags = String::from_utf8(ok(&["tag", "--json", s(&page)])).unwrap();
    let mut dropped = 0;
    for l in tags.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let n = v["line"].as_u64().unwrap() as usize;
        let keep = v["keep"].as_bool().unwrap();
        assert!(news.contains(&n) || filler.contains(&n));
        if news.contains(&n) {
            assert!(keep, "line {n}");
        } else {
            dropped += usize::from(!keep);
        }
    }
    assert_eq!(dropped, 22);
}

#[test]
fn dev_set_meets_the_accuracy_targets() {
    // The issue's targets for the default model: news_loss <= 0.2 %, filler_leak <= 1 %.
    let (v, loss, leak) = eval_report(&[s(&shared().join("eval/dev"))]);
    assert!(
        loss <= 0.002 && leak <= 0.01,
        "news_loss {loss}, filler_leak {leak}"
    );
    // The model leaks 0.01 %; with transitions by the gap before only it leaked 0.79 %
    // (the first line of every filler block one blank after an article).
    assert!(
        leak <= 0.002,
        "filler_leak {leak}: the gap after is not being used"
    );
    assert!(v["brier"].as_f64().unwrap() < 0.01);
    // The default model was not trained on dev: by its line fingerprints, dev shares
    // with the training data little but page chrome (128 of its 8,354 distinct lines).
    let seen = &v["seen_in_training"];
    let share = seen["distinct_seen"].as_f64().unwrap() / seen["distinct"].as_f64().unwrap();
    assert!(share < 0.03, "{seen}");
}

#[test]
fn double_spaced_pages_are_read_like_single_spaced_ones() {
    // eval/dev with every run of blank lines doubled, as an HTML converter that writes
    // each paragraph break as two blank lines would: paragraphs then sit two blanks
    // apart, the spacing that sets a filler block off on training pages. Read against
    // each page's own spacing they score as the original; taken literally they lost
    // 2.8 % of the news lines.
    let dev = shared().join("eval/dev");
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("pages")).unwrap();
    let gold = read_labels(&dev);
    let mut out_labels = String::from("page\tline\tlabel\n");
    let mut pages: Vec<_> = fs::read_dir(dev.join("pages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for page in &pages {
        let text = fs::read_to_string(dev.join("pages").join(page)).unwrap();
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                out.extend(["", ""]);
                continue;
            }
            out.push(line);
            if let Some(label) = gold.get(&(page.clone(), i + 1)) {
                out_labels += &format!("{page}\t{}\t{label}\n", out.len());
            }
        }
        fs::write(tmp.path().join("pages").join(page), out.join("\n") + "\n").unwrap();
    }
    fs::write(tmp.path().join("labels.tsv"), out_labels).unwrap();
    assert_within(tmp.path(), 0.002, 0.002, "double-spaced dev");
}

#[test]
fn a_separator_line_ends_its_article_and_a_line_of_question_marks_its_block() {
    // Lines with no letter or digit carry no words to judge them by: `*` is frequent in
    // social posts (masked words), and five of them once dropped the `＊＊＊＊＊` that
    // ends an article (7 of dev's 9 lost lines). They take their class from their place.
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("page.txt");
    let article = "国务院召开常务会议\n\n会议指出，要加快推进重点项目建设，稳定经济增长，\
                   切实做好民生保障工作。\n\n会议强调，各地区各部门要狠抓落实，确保各项政策\
                   措施落地见效。\n\n＊＊＊＊＊\n";
    let block = "\n\n发布     👍 7 举报 写留言 🖊\n✋热门推荐\n  • ？？？？？？\n  • \
                 哈哈哈哈太好笑了[嘻嘻]\n  • 有人一起去吗\n";
    fs::write(&page, format!("{article}{block}")).unwrap();
    let out = ok(&["filter", "-q", s(&page)]);
    assert_eq!(String::from_utf8(out).unwrap(), article);
}

#[test]
fn filler_injected_into_articles_is_dropped() {
    // The sealed sets inject filler lines between news paragraphs (compose_pages.py's
    // interleaved layout): a snippet right under a finished paragraph, a blank after it.
    // With one transition matrix for that place and for an article's first paragraph
    // under its headline, 4.7 % of such pages' filler leaked; the tenth matrix tells the
    // two apart by how the line before ends.
    let tmp = tempfile::tempdir().unwrap();
    compose("dev", 200, 3, "interleaved", None, tmp.path());
    assert_within(tmp.path(), 0.002, 0.02, "interleaved pages");
    // A snippet tacked under an article's last paragraph (no blank before it, the page's
    // wider gap after it, under a finished paragraph set off by a blank) shared the
    // matrix of an indented article's last paragraph, and two in three leaked; the
    // eleventh matrix ([`chaff::context::TAIL_BLOCK`]) keeps them apart.
    let label = read_labels(tmp.path());
    let tags = ok(&["tag", "-q", "--json", s(&tmp.path().join("pages"))]);
    let (mut tails, mut kept) = (0, 0);
    for rec in tags.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(rec).unwrap();
        let path = v["path"].as_str().unwrap();
        let page = path.rsplit('/').next().unwrap().to_string();
        let n = v["line"].as_u64().unwrap() as usize;
        if label[&(page, n)] != "filler" || n < 3 {
            continue;
        }
        let text = fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let blank = |i: usize| lines.get(i).is_none_or(|l| l.trim().is_empty());
        let (before, above) = (lines[n - 2], n - 3);
        let wide_gap_after = blank(n) && blank(n + 1);
        let finished = chaff::context::ends_sentence(before);
        if !blank(n - 2) && finished && blank(above) && wide_gap_after {
            tails += 1;
            kept += usize::from(v["keep"].as_bool().unwrap());
        }
    }
    assert!(tails >= 20, "only {tails} snippets under a last paragraph");
    // With the pair's matrix, 53 of 79 such snippets leaked on 600 pages like these.
    assert!(kept * 5 <= tails, "{kept} of {tails} tail snippets kept");
}

#[test]
fn page_chrome_no_training_page_has_is_dropped() {
    // The sealed sets use other sites' chrome. Every training page carries the seed
    // page's ("发布 👍 N 举报 写留言 🖊" over "✋热门推荐"); bench/chrome.tsv holds eight
    // others, written for this project. On pages composed from the corpus dev files with
    // them, every chrome line and block header must go, and the articles stay whole.
    let tmp = tempfile::tempdir().unwrap();
    let chrome = root().join("bench/chrome.tsv");
    compose(
        "dev",
        120,
        5,
        "seed,indented,middle",
        Some(&chrome),
        tmp.path(),
    );
    let table = fs::read_to_string(&chrome).unwrap();
    let pairs: Vec<(&str, &str)> = table.lines().filter_map(|l| l.split_once('\t')).collect();
    assert_eq!(pairs.len(), 8);
    let is_chrome = |text: &str| {
        pairs.iter().any(|(line, header)| {
            let (pre, post) = line.split_once("{n}").unwrap_or((line, ""));
            text == *header
                || (text.starts_with(pre)
                    && text.ends_with(post)
                    && text.len() > pre.len() + post.len()
                    && text[pre.len()..text.len() - post.len()]
                        .bytes()
                        .all(|b| b.is_ascii_digit()))
                || text == *line
        })
    };
    let out = String::from_utf8(ok(&["tag", "--json", s(&tmp.path().join("pages"))])).unwrap();
    let mut seen = 0;
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let text = v["text"].as_str().unwrap();
        if is_chrome(text) {
            seen += 1;
            assert!(!v["keep"].as_bool().unwrap(), "chrome kept: {l}");
        }
    }
    // Two lines (chrome and header) for each of the 120 pages' blocks.
    assert!(seen >= 240, "only {seen} chrome lines found");
    assert_within(tmp.path(), 0.002, 0.002, "unseen chrome");
}

#[test]
fn a_one_paragraph_document_is_read_on_its_own() {
    // Records of one paragraph (posts, comments, news flashes): 150 lines of each corpus
    // dev file, each line a record. The start probability learned from pages (which
    // open with an article) would keep most posts; a lone line gets its own reading.
    let tmp = tempfile::tempdir().unwrap();
    let mut records = String::new();
    let mut labels = Vec::new();
    for kind in ["news", "filler"] {
        let mut files: Vec<_> = fs::read_dir(shared().join("corpus").join(kind))
            .unwrap()
            .map(|e| e.unwrap().path().join("dev.txt"))
            .filter(|p| p.exists())
            .collect();
        files.sort();
        for f in files {
            let text = fs::read_to_string(&f).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()).take(150) {
                records += &(serde_json::json!({ "text": line }).to_string() + "\n");
                labels.push(kind);
            }
        }
    }
    let input = tmp.path().join("lines.jsonl");
    fs::write(&input, &records).unwrap();
    let tags = |extra: &[&str]| {
        let out = ok(&[&["tag", "-q", "--json", "--jsonl"][..], extra, &[s(&input)]].concat());
        let recs: Vec<serde_json::Value> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(recs.len(), labels.len());
        recs
    };
    let with = tags(&[]);
    // Exactly the reading without context, bit for bit.
    assert_eq!(with, tags(&["--no-context"]));
    let count = |kind: &str, kept: bool| {
        with.iter()
            .zip(&labels)
            .filter(|(r, l)| **l == kind && r["keep"] == kept)
            .count()
    };
    let (news, filler) = (
        count("news", true) + count("news", false),
        count("filler", true) + count("filler", false),
    );
    assert!(news >= 500 && filler >= 800, "{news} {filler}");
    // Measured: 0.3 % of the news lines lost (lines of a poem and a reader's letter),
    // a third of the posts kept (before: none lost, 85 % kept).
    assert!(
        count("news", false) * 100 <= news,
        "news lost: {}",
        count("news", false)
    );
    assert!(
        count("filler", true) * 100 <= 45 * filler,
        "posts kept: {}",
        count("filler", true)
    );
    // Two lines are a document with context again: the same post twice, line after line,
    // is read by the page model, which the lone line is not.
    let post = "发布 👍 0 举报 写留言";
    let score = |text: &str| {
        let out = chaff_in(
            tmp.path(),
            &["tag", "-q", "--json", "-"],
            Some(text.as_bytes()),
        );
        assert!(out.status.success());
        let first: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
        first["scores"]["news"].as_f64().unwrap()
    };
    let (alone, paired) = (
        score(&format!("{post}\n")),
        score(&format!("{post}\n{post}\n")),
    );
    assert!(alone < 0.01 && alone != paired, "{alone} {paired}");
}

#[test]
fn documents_of_posts_alone_are_dropped_whole_under_a_doc_threshold() {
    // 120 documents of 1-8 posts each (the corpus dev filler files, in turn), line after
    // line or blank-separated, and no article: the page model, which has learned that a
    // page opens with an article, keeps many of their lines.
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("posts");
    fs::create_dir_all(set.join("pages")).unwrap();
    let mut files: Vec<_> = fs::read_dir(shared().join("corpus/filler"))
        .unwrap()
        .map(|e| e.unwrap().path().join("dev.txt"))
        .filter(|p| p.exists())
        .collect();
    files.sort();
    let sources: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            let text = fs::read_to_string(f).unwrap();
            let posts = text.lines().filter(|l| !l.trim().is_empty());
            posts.map(|l| l.chars().take(80).collect()).collect()
        })
        .collect();
    let mut labels = String::from("page\tline\tlabel\n");
    let mut taken = vec![0; sources.len()];
    for n in 0..120 {
        let (k, gap) = (n % sources.len(), (n / sources.len()) % 2);
        let mut page = String::new();
        let mut line = 1;
        for i in 0..[1, 2, 3, 5, 8][n % 5] {
            if i > 0 && gap == 1 {
                page.push('\n');
                line += 1;
            }
            page += &sources[k][taken[k]];
            page.push('\n');
            labels += &format!("{n:03}.txt\t{line}\tfiller\n");
            taken[k] += 1;
            line += 1;
        }
        fs::write(set.join(format!("pages/{n:03}.txt")), page).unwrap();
    }
    fs::write(set.join("labels.tsv"), labels).unwrap();
    let eval = |set: &std::path::Path, extra: &[&str]| -> serde_json::Value {
        let args = [&["eval", "--json"][..], extra, &[s(set)]].concat();
        serde_json::from_slice(&ok(&args)).unwrap()
    };
    let leak = |v: &serde_json::Value| v["filler_leak"].as_f64().unwrap();
    let (plain, gated) = (eval(&set, &[]), eval(&set, &["--doc-threshold", "0.2"]));
    // Measured: 50 % of the 456 lines kept without, 1 % with.
    assert!(leak(&plain) > 0.3, "{plain}");
    assert!(leak(&gated) < 0.1, "{gated}");
    assert_eq!(gated["doc_threshold"], 0.2);
    assert!(plain.get("doc_threshold").is_none());
    // Every dev page holds an article that passes: the same decisions as without.
    let dev = shared().join("eval/dev");
    let (a, b) = (eval(&dev, &[]), eval(&dev, &["--doc-threshold", "0.2"]));
    assert_eq!(a["confusion"], b["confusion"]);
    // In a JSONL dump the record is the document: a record of posts goes, its news
    // neighbour is kept as it was.
    let news = fs::read_to_string("tests/data/sample_page.txt").unwrap();
    let posts = "今天终于把房间收拾干净了，周末就是要好好休息一下。\n\n\
                 楼下新开的那家面馆味道还不错，价格也实惠，推荐大家去试试。\n";
    let dump = tmp.path().join("dump.jsonl");
    let record = |id: u32, text: &str| serde_json::json!({"id": id, "text": text}).to_string();
    fs::write(
        &dump,
        format!("{}\n{}\n", record(1, &news), record(2, posts)),
    )
    .unwrap();
    let filter = |extra: &[&str]| {
        let o = chaff(&[&["filter", "--jsonl"][..], extra, &[s(&dump)]].concat());
        assert!(o.status.success());
        (o.stdout, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (all, _) = filter(&[]);
    let (out, err) = filter(&["--doc-threshold", "0.3"]);
    assert_eq!(
        all.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(),
        2
    );
    assert_eq!(out, all.split_inclusive(|&b| b == b'\n').next().unwrap());
    assert!(err.contains("1 empty document not written"), "{err}");
    assert!(
        err.contains("; 1 document dropped whole (--doc-threshold)"),
        "{err}"
    );
    assert!(!filter(&[]).1.contains("dropped whole"));
    // The audit page says why a line its score would keep was dropped.
    let page = tmp.path().join("audit.html");
    ok(&[
        "tag",
        "-q",
        "--jsonl",
        "--doc-threshold",
        "0.3",
        "--html",
        s(&page),
        s(&dump),
    ]);
    let html = fs::read_to_string(&page).unwrap();
    let why = "dropped whole: no paragraph reaches the document threshold 0.3 on its own";
    assert_eq!(html.matches(why).count(), 1, "{html}");
    for bad in ["1.5", "-0.2", "NaN"] {
        let err = fails(&["filter", "--doc-threshold", bad, s(&dump)]);
        assert!(
            err.contains("--doc-threshold must be between 0 and 1"),
            "{err}"
        );
        assert_eq!(
            chaff(&["tag", "--doc-threshold", bad, s(&dump)])
                .status
                .code(),
            Some(2)
        );
    }
}

#[test]
fn tag_json_records_follow_input_order() {
    let page = root().join("tests/data/sample_page.txt");
    let out = String::from_utf8(ok(&["tag", "--json", "tests/data/sample_page.txt"])).unwrap();
    let src = fs::read_to_string(&page).unwrap();
    let nonblank: Vec<usize> = src
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), nonblank.len());
    for (r, n) in recs.iter().zip(&nonblank) {
        assert_eq!(r["path"], "tests/data/sample_page.txt");
        assert_eq!(r["line"].as_u64().unwrap() as usize, *n);
        let scores = r["scores"].as_object().unwrap();
        let sum: f64 = scores.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!(scores.contains_key("news") && scores.contains_key("filler"));
    }
    // The sample's article is kept, its chrome and recommendations dropped.
    let keep: Vec<bool> = recs.iter().map(|r| r["keep"].as_bool().unwrap()).collect();
    assert!(keep[..7].iter().all(|&k| k), "{keep:?}");
    assert!(keep[7..].iter().all(|&k| !k), "{keep:?}");

    let tsv = String::from_utf8(ok(&["tag", "tests/data/sample_page.txt"])).unwrap();
    let mut rows = tsv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "path\tline\tlabel\tkeep\tp_filler\tp_news\ttext"
    );
    assert_eq!(rows.count(), nonblank.len());
}

#[test]
fn output_is_byte_identical_across_runs() {
    let dev = shared().join("eval/dev/pages");
    let a = ok(&["tag", "--json", s(&dev)]);
    let b = ok(&["tag", "--json", s(&dev)]);
    assert!(a == b && !a.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let (o1, o2) = (tmp.path().join("o1"), tmp.path().join("o2"));
    // One worker leaves the files to the writer thread; two write their own.
    ok(&["--threads", "1", "filter", "-o", s(&o1), s(&dev)]);
    ok(&["--threads", "2", "filter", "-o", s(&o2), s(&dev)]);
    let mut n = 0;
    for e in fs::read_dir(&o1).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() == ".chaff-run.json" {
            continue;
        }
        // The journal too: it records the sources in input order at any thread count.
        let q = o2.join(p.file_name().unwrap());
        assert_eq!(fs::read(&p).unwrap(), fs::read(&q).unwrap());
        n += 1;
    }
    assert_eq!(n, 401, "the input tree is mirrored, with the journal");
}

#[test]
fn filter_reads_stdin_and_keeps_crlf() {
    let text = "国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任。\r\n\r\n哈哈哈笑死我了[哈哈][哈哈]\r\n\r\n会议指出，今年以来各地区认真落实党中央决策部署，经济运行总体平稳。\r\n";
    let o = chaff_in(&root(), &["filter", "-"], Some(text.as_bytes()));
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "国务院常务会议研究部署城市防汛工作，要求各地区各部门压实责任。\r\n\r\n会议指出，今年以来各地区认真落实党中央决策部署，经济运行总体平稳。\r\n"
    );
}

#[test]
fn eval_reports_loss_leak_and_confusion() {
    let (v, loss, leak) = eval_report(&[s(&shared().join("seed"))]);
    assert_eq!(v["lines"], 118);
    assert_eq!(loss, 0.0);
    assert!(leak <= 2.0 / 22.0);
    let conf = v["confusion"].as_array().unwrap();
    let total: u64 = conf
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 118);
    for c in v["classes"].as_array().unwrap() {
        for k in ["precision", "recall", "f1"] {
            assert!(c[k].as_f64().unwrap() > 0.9);
        }
    }
    let text = String::from_utf8(ok(&["eval", s(&shared().join("seed"))])).unwrap();
    assert!(text.contains("news_loss") && text.contains("confusion"));
    // Pages are decided on every thread and summed in their order: the same report,
    // byte for byte, whatever the threads.
    let dev = shared().join("eval/dev");
    let one = ok(&["--threads", "1", "eval", "--json", s(&dev)]);
    assert_eq!(ok(&["--threads", "3", "eval", "--json", s(&dev)]), one);
}

#[test]
fn eval_says_how_much_of_its_data_the_model_was_trained_on() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.chaff");
    let pages = "tests/data/pageset";
    ok(&["train", "-q", "-o", s(&m), "--min-count", "1", pages]);
    // Its own training pages: every line, and a warning.
    let o = chaff(&["eval", "--json", "-m", s(&m), pages]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let seen = &v["seen_in_training"];
    assert_eq!(seen["lines"], v["lines"]);
    assert!(seen["distinct"].as_u64().unwrap() > 10);
    assert_eq!(seen["distinct_seen"], seen["distinct"]);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("chaff: warning: ")
            && err.contains("(100.0 %) are lines this model was trained on"),
        "{err}"
    );
    // The default model on the seed page, which it was not trained on: none of its
    // distinct lines but what chrome shares with the training pages, and no warning.
    let o = chaff(&["eval", "--json", s(&shared().join("seed"))]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let seen = &v["seen_in_training"];
    let share = seen["distinct_seen"].as_f64().unwrap() / seen["distinct"].as_f64().unwrap();
    assert!(share < 0.1, "{seen}");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
    let text = String::from_utf8(ok(&["eval", "-m", s(&m), pages])).unwrap();
    assert!(text.contains("lines the model was trained on: "), "{text}");
    // A model without fingerprints (format 1) says nothing of it.
    let mut old = chaff::model_file::from_bytes(&std::fs::read(&m).unwrap(), &m).unwrap();
    old.seen = None;
    std::fs::write(&m, chaff::model_file::to_bytes(&old)).unwrap();
    let o = chaff(&["eval", "--json", "-m", s(&m), pages]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("seen_in_training").is_none() && o.stderr.is_empty());
}

#[test]
fn train_formats_classes_and_quiet_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.chaff");
    let o = chaff(&[
        "train",
        "-o",
        s(&m),
        "--min-count",
        "1",
        "training/sample.tsv",
        "training/sample.fasttext",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty(), "train writes nothing to stdout");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines().count() <= 3,
        "training printed too much:\n{err}"
    );
    assert!(
        !err.contains("class_info") && !err.contains("ClassHistogram") && !err.contains("[src/")
    );
    // Three classes across the two files; any number works.
    let out = String::from_utf8(ok(&[
        "tag",
        "--json",
        "-m",
        s(&m),
        "tests/data/sample_page.txt",
    ]))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["scores"].as_object().unwrap().len(), 3);
    let ins = String::from_utf8(ok(&["inspect", s(&m)])).unwrap();
    assert!(ins.contains("ad (paragraphs 2") && ins.contains("top tokens for news"));
    // Classes of any name: without a news class, the class to keep is named.
    let tsv = tmp.path().join("ab.tsv");
    let rows = "good\t国务院常务会议研究部署推进经济发展\nbad\t哈哈哈哈好开心[哈哈]\n";
    fs::write(&tsv, rows.repeat(2)).unwrap();
    let ab = tmp.path().join("ab.chaff");
    ok(&["train", "-q", "-o", s(&ab), s(&tsv)]);
    let page = "tests/data/sample_page.txt";
    assert_eq!(
        fails(&["filter", "-m", s(&ab), page]),
        "chaff: class \"news\" is not in the model (classes: bad, good); name the class to keep with --keep\n"
    );
    assert!(!ok(&["filter", "-q", "-m", s(&ab), "--keep", "good", page]).is_empty());
    // A page set trains too.
    let m2 = tmp.path().join("m2.chaff");
    let o = chaff(&["train", "-o", s(&m2), s(&shared().join("seed"))]);
    assert!(o.status.success());
}

#[test]
fn bad_tuning_pages_are_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.chaff");
    // Tuning needs line order and layout: a TSV is refused.
    let err = fails(&[
        "train",
        "-o",
        s(&m),
        "--tune-on",
        "training/sample.tsv",
        "training/sample.tsv",
    ]);
    assert!(err.contains("--tune-on takes labelled page sets"), "{err}");
    // A label the model does not have, named by page and line.
    let set = tmp.path().join("set");
    fs::create_dir_all(set.join("pages")).unwrap();
    fs::write(set.join("pages/a.txt"), "新闻一段。\n\n广告一条\n").unwrap();
    fs::write(
        set.join("labels.tsv"),
        "page\tline\tlabel\na.txt\t1\tnews\na.txt\t3\tspam\n",
    )
    .unwrap();
    let err = fails(&[
        "train",
        "-o",
        s(&m),
        "--tune-on",
        s(&set),
        "training/sample.tsv",
    ]);
    assert!(err.contains("a.txt:3:") && err.contains("spam"), "{err}");
    // The temperature is either pinned or tuned, not both.
    let err = fails(&[
        "train",
        "-o",
        s(&m),
        "--tune-on",
        "tests/data/pageset",
        "--gamma",
        "0.5",
        "training/sample.tsv",
    ]);
    assert!(err.contains("--gamma"), "{err}");
    assert!(!m.exists(), "no model left behind");
}

#[test]
fn bad_training_data_names_file_and_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.chaff");
    let write = |name: &str, body: &[u8]| {
        let p = tmp.path().join(name);
        fs::write(&p, body).unwrap();
        p
    };
    let cases = [
        (
            write("notab.tsv", "news\t好\nfiller 没有制表符\n".as_bytes()),
            "notab.tsv:2:",
        ),
        (
            write("nolabel.tsv", "news\t好\n\t没有标签\n".as_bytes()),
            "nolabel.tsv:2:",
        ),
        (
            write("ft.txt", "__label__news 好\n没有标签前缀\n".as_bytes()),
            "ft.txt:2:",
        ),
        (write("empty.tsv", b""), "empty.tsv:1:"),
        (
            write("one.tsv", "news\t好消息\nnews\t又一条\n".as_bytes()),
            "at least two",
        ),
        (write("bad.tsv", b"news\tok\nfiller\t\xff\n"), "bad.tsv:2:"),
        // A page set's labels given alone: labels "line", "1", "2", ... otherwise.
        (
            write(
                "page.labels.tsv",
                "line\tlabel\ttext_prefix\n1\tnews\t新闻\n".as_bytes(),
            ),
            "page.labels.tsv:1: a page set's labels (line numbers into pages)",
        ),
        (
            write("labels.tsv", b"page\tline\tlabel\n00000.txt\t1\tnews\n"),
            "labels.tsv:1: a page set's labels",
        ),
    ];
    for (path, want) in &cases {
        let err = fails(&["train", "-o", s(&m), s(path)]);
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!m.exists(), "no model left behind");
        assert_eq!(
            fs::read_dir(tmp.path())
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .path()
                    .to_string_lossy()
                    .contains("chaff-tmp"))
                .count(),
            0
        );
    }
    let err = fails(&["train", "-o", s(&m), "/nonexistent/x.tsv"]);
    assert!(err.contains("/nonexistent/x.tsv"));
}

#[test]
fn page_sets_name_the_labels_row_at_fault_and_warn_of_unlabelled_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    fs::create_dir_all(set.join("pages")).unwrap();
    fs::write(
        set.join("pages/a.txt"),
        "国务院常务会议研究部署推进经济发展。\n\n哈哈哈哈好开心[哈哈]\n",
    )
    .unwrap();
    let head = "page\tline\tlabel\na.txt\t1\tnews\na.txt\t3\tfiller\n";
    let labels = set.join("labels.tsv");
    let m = tmp.path().join("m.chaff");
    let cases = [
        (
            "b.txt\t1\tnews\n",
            "labels.tsv:4: labels page b.txt, which ",
        ),
        ("a.txt\t4\tnews\n", "labels.tsv:4: a.txt has no line 4"),
        (
            "a.txt\t2\tnews\n",
            "labels.tsv:4: a.txt:2 is blank but labelled",
        ),
        (
            "a.txt\t3\tnews\n",
            "labels.tsv:4: a.txt:3 is labelled twice",
        ),
        ("a.txt\t0\tnews\n", "labels.tsv:4: bad line number \"0\""),
        ("../a.txt\t1\tnews\n", "labels.tsv:4: bad page name"),
    ];
    for (row, want) in cases {
        fs::write(&labels, format!("{head}{row}")).unwrap();
        for cmd in ["train", "eval"] {
            let err = match cmd {
                "train" => fails(&["train", "-o", s(&m), s(&set)]),
                _ => fails(&["eval", s(&set)]),
            };
            assert!(err.contains(want), "{cmd} {want}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        assert!(!m.exists(), "no model left behind");
    }
    // A non-blank line left unlabelled is named in its page.
    fs::write(&labels, "page\tline\tlabel\na.txt\t1\tnews\n").unwrap();
    let err = fails(&["eval", s(&set)]);
    assert!(
        err.contains("pages/a.txt:3: non-blank line has no label"),
        "{err}"
    );
    // Pages no row names are left out, with a warning that counts them.
    fs::write(&labels, head).unwrap();
    let quiet = chaff(&["eval", s(&set)]);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    fs::write(set.join("pages/extra.txt"), "广告一条\n").unwrap();
    let one = chaff(&["eval", s(&set)]);
    assert!(one.status.success());
    assert_eq!(
        one.stdout, quiet.stdout,
        "the unlabelled page is not measured"
    );
    let warned = String::from_utf8_lossy(&one.stderr);
    assert!(
        warned.starts_with("chaff: warning: ")
            && warned.contains("pages/extra.txt: no line of it is labelled in ")
            && warned.trim_end().ends_with("; left out"),
        "{warned}"
    );
    fs::create_dir_all(set.join("pages/sub")).unwrap();
    fs::write(set.join("pages/sub/more.txt"), "广告一条\n").unwrap();
    let two = chaff(&["train", "-q", "-o", s(&m), s(&set)]);
    assert!(two.status.success());
    let warned = String::from_utf8_lossy(&two.stderr);
    assert!(
        warned.contains("pages: 2 files have no line labelled in ")
            && warned.contains("(extra.txt, ...); left out"),
        "{warned}"
    );
    // A page in a subfolder is named with it, and then it is no longer left out.
    fs::write(&labels, format!("{head}sub/more.txt\t1\tfiller\n")).unwrap();
    let err = String::from_utf8_lossy(&chaff(&["eval", s(&set)]).stderr).into_owned();
    assert!(
        err.contains("pages/extra.txt: no line") && !err.contains("more.txt"),
        "{err}"
    );
}

#[test]
fn bad_model_and_inputs_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.chaff");
    fs::write(&junk, b"not a model at all").unwrap();
    let err = fails(&["tag", "-m", s(&junk), "tests/data/sample_page.txt"]);
    assert!(err.contains("junk.chaff") && err.contains("not a usable chaff model"));
    let err = fails(&["filter", "--no-such-flag", "x"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = fails(&["tag"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = fails(&["filter", "missing-file.txt"]);
    assert!(err.contains("missing-file.txt"));
    // The inputs are walked through before a run starts: a missing input or a dangling
    // link after good files stops it before a record is written.
    let dir = tmp.path().join("dir");
    fs::create_dir(&dir).unwrap();
    fs::copy(root().join("tests/data/sample_page.txt"), dir.join("a.txt")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("gone"), dir.join("z-dangling")).unwrap();
    let page = "tests/data/sample_page.txt";
    for args in [
        vec!["tag", page, "missing-file.txt"],
        vec!["tag", "--json", page, s(&dir)],
        vec!["filter", "--jsonl", page, s(&dir)],
    ] {
        let o = chaff(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            (err.contains("missing-file.txt") || err.contains("z-dangling"))
                && err.lines().count() == 1,
            "{err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    let err = fails(&["filter", "--keep", "sports", "tests/data/sample_page.txt"]);
    assert!(err.contains("sports") && err.contains("news"));
    // A field name for plain text would be ignored; a thread count the system cannot
    // start used to print a Rust panic from a half-made thread.
    let err = fails(&[
        "filter",
        "--text-field",
        "body",
        "tests/data/sample_page.txt",
    ]);
    assert!(err.contains("--text-field needs --jsonl"), "{err}");
    // So would --keep-empty: a text file's output is written even when empty.
    let err = fails(&["filter", "--keep-empty", "tests/data/sample_page.txt"]);
    assert_eq!(
        err,
        "chaff: --keep-empty needs --jsonl, --warc or --parquet (a text file's output is written even when empty)\n"
    );
    // Flags that do not go together are named first (exit 2), before a model or an
    // input is read: here both are wrong as well.
    for (args, want) in [
        (
            vec!["filter", "-m", s(&junk), "--keep-empty", "missing-file.txt"],
            "--keep-empty needs",
        ),
        (
            vec![
                "filter",
                "-m",
                s(&junk),
                "--text-field",
                "t",
                "missing-file.txt",
            ],
            "--text-field needs",
        ),
        (
            vec![
                "tag",
                "-m",
                s(&junk),
                "--jsonl",
                "--bad-records",
                "keep",
                "missing-file.txt",
            ],
            "--bad-records keep is for filter",
        ),
    ] {
        let o = chaff(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want) && err.lines().count() == 1, "{err}");
    }
    // Flags for a folder run without one, and streaming into a folder.
    let err = fails(&["filter", "--force", "tests/data/sample_page.txt"]);
    assert_eq!(err, "chaff: --force needs -o OUTDIR\n");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let err = fails(&["filter", "--jsonl", "--pipe", "-o", s(&out), "-"]);
    assert_eq!(
        err,
        "chaff: --pipe streams records to standard output; it takes no -o OUTDIR\n"
    );
    assert!(!out.exists());
    let err = fails(&["tag", "--force", "tests/data/sample_page.txt"]);
    assert!(err.contains("--attributes-dir"), "{err}");
    let err = fails(&["tag", "--dolma-name", "x", "tests/data/sample_page.txt"]);
    assert!(err.contains("--dolma"), "{err}");
    let err = fails(&["--threads", "99999", "filter", "tests/data/sample_page.txt"]);
    assert!(
        err.contains("--threads") && err.lines().count() == 1,
        "{err}"
    );
    let bad = tmp.path().join("bad.txt");
    fs::write(&bad, b"ok line\n\xff\xfe broken\n").unwrap();
    let err = fails(&["filter", s(&bad)]);
    assert!(err.contains("bad.txt:2:"), "{err}");
}

#[test]
fn filter_outdir_refuses_existing_files_and_mirrors_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(input.join("a/b")).unwrap();
    fs::copy(
        root().join("tests/data/sample_page.txt"),
        input.join("a/b/p.txt"),
    )
    .unwrap();
    fs::copy(
        root().join("tests/data/sample_page.txt"),
        input.join("top.txt"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    ok(&["filter", "-o", s(&out), s(&input)]);
    let direct = ok(&["filter", "tests/data/sample_page.txt"]);
    assert_eq!(fs::read(out.join("a/b/p.txt")).unwrap(), direct);
    assert_eq!(fs::read(out.join("top.txt")).unwrap(), direct);
    // Another run's folder, as a second batch of `xargs chaff filter -o out` meets it.
    let err = fails(&["filter", "-o", s(&out), s(&input.join("top.txt"))]);
    assert_eq!(
        err,
        format!("chaff: {}: output folder already holds files of another chaff run (--resume finishes it if it stopped, --force writes over it; one run takes any number of inputs with --files-from, rather than a run a batch)\n", out.display())
    );
    ok(&["filter", "--force", "-o", s(&out), s(&input)]);
    // A link to nothing (mkdir said only `File exists`).
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink("nowhere", &dangling).unwrap();
    assert_eq!(
        fails(&["filter", "-o", s(&dangling), s(&input)]),
        format!("chaff: {}: output folder is a link to nowhere (nowhere); make the folder it names, or give another\n", dangling.display())
    );
    fs::remove_file(&dangling).unwrap();
    // A folder of other files.
    let other = tmp.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("notes.txt"), "x").unwrap();
    let err = fails(&["filter", "-o", s(&other), s(&input)]);
    assert!(
        err.contains("output folder already holds files (use --force"),
        "{err}"
    );
    let err = fails(&["filter", "-o", s(&input.join("a")), s(&input)]);
    assert!(err.contains("inside the input folder"), "{err}");
    // An input inside the output folder.
    let err = fails(&[
        "filter",
        "--force",
        "-o",
        s(&input),
        s(&input.join("top.txt")),
    ]);
    assert!(err.contains("inside the output folder"), "{err}");
    // A link in the input folder to a file in the output folder.
    let linked = tmp.path().join("linked");
    fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(out.join("top.txt"), linked.join("l.txt")).unwrap();
    let err = fails(&["filter", "--force", "-o", s(&out), s(&linked)]);
    assert!(
        err.contains("l.txt: input lies inside the output folder"),
        "{err}"
    );
    // A link in an input folder up to a folder that holds the output folder: refused
    // before anything is written, the folder new or not (the walk would read the run's
    // own outputs and journal back as they were written).
    let up = tmp.path().join("up");
    fs::create_dir_all(&up).unwrap();
    std::os::unix::fs::symlink("..", up.join("parent")).unwrap();
    let fresh = tmp.path().join("fresh");
    for made in [false, true] {
        if made {
            fs::create_dir_all(&fresh).unwrap();
        }
        let err = fails(&["filter", "-o", s(&fresh), s(&up)]);
        let want = format!(
            "{}: output folder lies inside the input folder {}",
            fresh.display(),
            up.join("parent").display()
        );
        assert!(err.contains(&want) && err.lines().count() == 1, "{err}");
        assert_eq!(fresh.exists(), made);
        if made {
            assert_eq!(fs::read_dir(&fresh).unwrap().count(), 0);
        }
    }
    fs::remove_dir(&fresh).unwrap();
    // Two inputs that would share an output: the first such pair in input order is
    // named, and nothing is written.
    let (x, y) = (tmp.path().join("x"), tmp.path().join("y"));
    for d in [&x, &y] {
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/same.txt"), "甲\n").unwrap();
        fs::write(d.join("a.txt"), "甲\n").unwrap();
    }
    fs::write(y.join("a.txt.gz"), "not read").unwrap();
    let clash = tmp.path().join("clash");
    let names = |a: std::path::PathBuf, b: std::path::PathBuf| {
        let dest = clash.join("a.txt");
        let (a, b, dest) = (a.display(), b.display(), dest.display());
        format!("{a} and {b} would both be written to {dest}")
    };
    let err = fails(&["filter", "-o", s(&clash), s(&x), s(&y)]);
    assert!(
        err.contains(&names(x.join("a.txt"), y.join("a.txt"))),
        "{err}"
    );
    // The way to keep their paths is named.
    let listed = " (inputs named on the command line are written by their names alone, the folders above them left out: list them with --files-from to keep their paths)\n";
    assert!(err.ends_with(listed), "{err}");
    let (xa, ya) = (x.join("a.txt"), y.join("a.txt"));
    let err = fails(&["filter", "-o", s(&clash), s(&xa), s(&ya)]);
    assert!(
        err.contains(&names(xa.clone(), ya)) && err.ends_with(listed),
        "{err}"
    );
    // One file named twice, however spelled, is told apart.
    let again = x.join("sub/../a.txt");
    let err = fails(&["filter", "-o", s(&clash), s(&xa), s(&again)]);
    assert!(
        err.contains(&names(xa, again)) && err.ends_with(" (one file, named twice)\n"),
        "{err}"
    );
    assert!(!clash.exists());
    // --compress none renames y/a.txt.gz to a.txt, beside y/a.txt.
    let err = fails(&["filter", "--compress", "none", "-o", s(&clash), s(&y)]);
    assert!(
        err.contains(&names(y.join("a.txt"), y.join("a.txt.gz"))),
        "{err}"
    );
    assert!(err.ends_with("a.txt\n"), "{err}");
    // Several inputs need -o.
    let err = fails(&["filter", s(&input)]);
    assert!(err.contains("-o OUTDIR"));
}

#[test]
fn thread_count_does_not_change_output_and_accounting_holds() {
    let dev = shared().join("eval/dev/pages");
    let a = ok(&["--threads", "1", "tag", "--json", s(&dev)]);
    let b = ok(&["--threads", "2", "tag", "--json", s(&dev)]);
    assert!(a == b);
    let tmp = tempfile::tempdir().unwrap();
    let stats = tmp.path().join("stats.json");
    let o = chaff(&[
        "filter",
        "-o",
        s(&tmp.path().join("out")),
        "--stats",
        s(&stats),
        s(&dev),
    ]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one summary line: {err}");
    assert!(err.contains("400 documents"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(n("kept") + n("dropped") + n("blank"), n("lines"));
    // The run's time, as the summary line gives its speed.
    let speed = err
        .split(" MB/s")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    assert_eq!(
        format!("{:.1}", v["mb_per_s"].as_f64().unwrap()),
        speed,
        "{err}"
    );
    assert!(v["seconds"].as_f64().unwrap() > 0.0, "{v}");
    let labels = fs::read_to_string(shared().join("eval/dev/labels.tsv")).unwrap();
    assert_eq!(n("kept") + n("dropped"), labels.lines().count() as u64 - 1);
    let total_lines: u64 = fs::read_dir(&dev)
        .unwrap()
        .map(|e| {
            fs::read(e.unwrap().path())
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
        })
        .sum();
    assert_eq!(n("lines"), total_lines);
    let q = chaff(&["-q", "filter", "tests/data/sample_page.txt"]);
    assert!(q.status.success() && q.stderr.is_empty());
}

#[test]
fn explain_shows_tokens_and_context() {
    let out =
        String::from_utf8(ok(&["explain", "--top", "3", "tests/data/sample_page.txt"])).unwrap();
    assert!(out.starts_with("line 1: news P="), "{out}");
    assert!(out.contains("context adjustment"));
    assert!(out.contains("line 16: filler"), "{out}");
    let one = String::from_utf8(ok(&["explain", "哈哈哈今天好开心[哈哈]"])).unwrap();
    assert!(one.starts_with("line 1: filler"), "{one}");
    assert!(one.contains("__emoticon__"), "{one}");
    // A text of one line is a document of one paragraph: read on its own, as
    // --no-context reads it.
    assert!(
        one.contains("read as: a document of one paragraph, on its own"),
        "{one}"
    );
    assert!(one.contains("context adjustment +0.00"), "{one}");
    // Each line says which layout the context model read it in: a line right under a
    // finished paragraph with a blank after it reads as an insertion.
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("p.txt");
    fs::write(
        &page,
        "国务院常务会议研究部署推进经济发展。\n哈哈哈哈好开心[哈哈]\n\n会议强调要做好相关工作。\n",
    )
    .unwrap();
    let out = String::from_utf8(ok(&["explain", s(&page)])).unwrap();
    let line2 = out.lines().find(|l| l.starts_with("line 2:")).unwrap();
    assert!(
        line2.contains("read as: 0 blank lines before, 1 after, after a sentence end"),
        "{out}"
    );
    // A file is read as tag reads it: gzipped, in GBK, from standard input (`-`).
    let text = fs::read_to_string(&page).unwrap();
    let gz = tmp.path().join("p.txt.gz");
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, text.as_bytes()).unwrap();
    fs::write(&gz, z.finish().unwrap()).unwrap();
    let gbk = tmp.path().join("gbk.txt");
    fs::write(&gbk, encoding_rs::GBK.encode(&text).0).unwrap();
    assert_eq!(String::from_utf8(ok(&["explain", s(&gz)])).unwrap(), out);
    assert_eq!(
        String::from_utf8(ok(&["explain", "--encoding", "gbk", s(&gbk)])).unwrap(),
        out
    );
    let o = chaff_in(&root(), &["explain", "-"], Some(text.as_bytes()));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), out);
    // Bytes that are not UTF-8: the error's hint names flags explain has.
    let bad = tmp.path().join("bad.txt");
    fs::write(&bad, b"ab\xffcd\n").unwrap();
    let err = fails(&["explain", "--encoding", "utf-8", s(&bad)]);
    assert!(
        err.contains("bad.txt:1: invalid UTF-8") && err.contains("--lossy"),
        "{err}"
    );
    let lossy = String::from_utf8(ok(&["explain", "--lossy", s(&bad)])).unwrap();
    assert!(lossy.contains("ab\u{fffd}cd"), "{lossy}");
    // A folder is refused, not explained as the characters of its name.
    let o = chaff(&["explain", s(tmp.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err,
        format!(
            "chaff: {}: is a folder; explain reads one file, - for standard input, or a line of text\n",
            tmp.path().display()
        )
    );
    // A mistyped file name is explained as text, with a warning saying so; Chinese text
    // gets none.
    let missing = tmp.path().join("missing.txt");
    let o = chaff(&["explain", s(&missing)]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.lines()
            .next()
            .unwrap()
            .ends_with(&format!("  {}", s(&missing))),
        "{out}"
    );
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "chaff: warning: no file is named {:?}; explaining those characters as a line of text\n",
            s(&missing)
        )),
        "{err}"
    );
    let o = chaff(&["explain", "哈哈哈今天好开心[哈哈]"]);
    assert!(!String::from_utf8(o.stderr).unwrap().contains("warning"));
    // A file of records (or a page of markup) is explained as lines, with a warning that
    // says what it is and how to explain a record's text; a page of text has none.
    let record = serde_json::json!({"id": 1, "text": "国务院常务会议。\n\n哈哈哈[哈哈]"});
    let jsonl = tmp.path().join("d.jsonl");
    fs::write(&jsonl, format!("{record}\n{record}\n")).unwrap();
    let html = tmp.path().join("p.html");
    fs::write(
        &html,
        "<!DOCTYPE html>\n<html><body><p>新闻</p></body></html>\n",
    )
    .unwrap();
    for (file, what, advice) in [
        (&jsonl, "JSON lines", "jq -r .text FILE | chaff explain -"),
        (&html, "an HTML page", "extract its text first"),
    ] {
        let o = chaff(&["explain", s(file)]);
        assert!(o.status.success() && !o.stdout.is_empty());
        let err = String::from_utf8(o.stderr).unwrap();
        let want = format!(
            "chaff: warning: {}: {what}, explained line by line as plain text; ",
            s(file)
        );
        assert!(
            err.starts_with(&want) && err.ends_with(&format!("{advice}\n")),
            "{err}"
        );
    }
    let o = chaff(&["explain", "tests/data/sample_page.txt"]);
    assert_eq!(String::from_utf8(o.stderr).unwrap(), "");
}

#[test]
fn standard_input_is_named_once_and_not_for_a_model() {
    // `cat - -` would read it twice; the second read is empty, which counted as a file
    // in filter and failed as empty data in train.
    let tmp = tempfile::tempdir().unwrap();
    let want = "chaff: `-` (standard input) is named 2 times; it can be read only once\n";
    let rows = "news\t国务院常务会议研究部署推进经济发展\nfiller\t哈哈哈好开心\n".as_bytes();
    let m = tmp.path().join("m.chaff");
    for args in [
        &["filter", "--jsonl", "-", "-"][..],
        &["tag", "-", "a.txt", "-"],
        &["filter", "-o", "out", "-", "-"],
        &["train", "-o", "m.chaff", "-", "-"],
        &["forget", "-m", s(&m), "-", "-"],
        &["eval", "-", "-"],
    ] {
        let o = chaff_in(tmp.path(), args, Some(rows));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert_eq!(String::from_utf8(o.stderr).unwrap(), want, "{args:?}");
    }
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    // Once is read as before.
    let o = chaff_in(tmp.path(), &["train", "-o", "m.chaff", "-"], Some(rows));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A model is a file: `-` is refused (it read a file named `-`), /dev/stdin works.
    let model = fs::read(tmp.path().join("m.chaff")).unwrap();
    for args in [&["inspect", "-"][..], &["tag", "-m", "-", "a.txt"]] {
        let o = chaff_in(tmp.path(), args, Some(&model));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8(o.stderr).unwrap(),
            "chaff: a model is read from a file, not `-` (/dev/stdin reads one from standard input)\n"
        );
    }
    let o = chaff_in(tmp.path(), &["inspect", "/dev/stdin"], Some(&model));
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .starts_with("classes: filler"));
}

#[test]
fn traditional_script_news_is_read_as_news() {
    // Training news is all Simplified; the featurizer maps Traditional to Simplified.
    let out = String::from_utf8(ok(&[
        "tag",
        "--json",
        "--no-context",
        "tests/data/traditional_news.txt",
    ]))
    .unwrap();
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["scores"]["news"].as_f64().unwrap() > 0.9, "{l}");
    }
}

#[test]
fn completions_man_page_and_verbose() {
    for shell in ["bash", "zsh", "fish"] {
        let out = String::from_utf8(ok(&["completions", shell])).unwrap();
        assert!(
            out.contains("filter") && out.contains("threshold"),
            "{shell}"
        );
    }
    let man = String::from_utf8(ok(&["man"])).unwrap();
    assert!(man.contains(".TH chaff 1") && man.contains("Exit codes"));
    // The top page names each command's page, which holds its options.
    assert!(man.contains("chaff\\-filter(1)"), "{man}");
    let filter = String::from_utf8(ok(&["man", "filter"])).unwrap();
    let version = format!("\"chaff {}\"", env!("CARGO_PKG_VERSION"));
    assert!(filter.contains(".TH chaff-filter 1") && filter.contains(&version));
    assert!(filter.contains("\\-\\-removed") && filter.contains("\\-\\-files0\\-from"));
    assert_eq!(
        fails(&["man", "nope"]),
        "chaff: no command \"nope\" (commands: train, forget, tag, filter, eval, explain, inspect, completions, man)\n"
    );
    let o = chaff(&["-v", "filter", "tests/data/sample_page.txt"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sample_page.txt: 1 document, 21 lines"),
        "{err}"
    );
    let help = String::from_utf8(ok(&["filter", "--help"])).unwrap();
    assert!(help.contains("Example"));
}

#[test]
fn eval_plot_and_reliability_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("seed.svg");
    let out = ok(&[
        "eval",
        "--json",
        "--plot",
        s(&svg),
        s(&shared().join("seed")),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let bins = v["reliability"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    let total: u64 = bins.iter().map(|b| b["lines"].as_u64().unwrap()).sum();
    assert_eq!(total, 118);
    let svg = fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("news loss") && svg.contains("filler leak"));
}

#[test]
fn html_audit_page_lists_every_line() {
    let tmp = tempfile::tempdir().unwrap();
    let html = tmp.path().join("audit.html");
    ok(&["tag", "--html", s(&html), "tests/data/sample_page.txt"]);
    let page = fs::read_to_string(&html).unwrap();
    let tags = String::from_utf8(ok(&["tag", "--json", "tests/data/sample_page.txt"])).unwrap();
    let keep = tags.matches("\"keep\":true").count();
    let drop = tags.matches("\"keep\":false").count();
    assert_eq!(page.matches("class=\"line keep\"").count(), keep);
    assert_eq!(page.matches("class=\"line drop\"").count(), drop);
    // Self-contained: no scripts, no external resources.
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));
    assert!(page.contains("title=\"") && page.contains("context"));
    // Its title names the inputs.
    let title = |inputs: &[&str]| {
        let mut args = vec!["tag", "-q", "--html", s(&html)];
        args.extend(inputs);
        ok(&args);
        let page = fs::read_to_string(&html).unwrap();
        let at = page.find("<title>").unwrap() + 7;
        page[at..at + page[at..].find("</title>").unwrap()].to_string()
    };
    let p = "tests/data/sample_page.txt";
    assert_eq!(title(&[p]), format!("chaff audit: {p}"));
    assert_eq!(title(&[p, p]), format!("chaff audit: {p} and 1 more input"));
    assert_eq!(
        title(&[p, p, p]),
        format!("chaff audit: {p} and 2 more inputs")
    );
}

#[test]
fn removed_side_file_holds_exactly_the_dropped_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let (removed, stats) = (tmp.path().join("removed.jsonl"), tmp.path().join("s.json"));
    let page = "tests/data/sample_page.txt";
    let kept = ok(&[
        "filter",
        "--removed",
        s(&removed),
        "--stats",
        s(&stats),
        page,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&stats).unwrap()).unwrap();
    let records: Vec<serde_json::Value> = fs::read_to_string(&removed)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty());
    assert_eq!(records.len() as u64, v["dropped"].as_u64().unwrap());
    assert!(records
        .iter()
        .all(|r| r["keep"] == false && r["path"] == page));
    // Kept and removed lines together are the page's paragraphs, each once, in order.
    let input = fs::read_to_string(root().join(page)).unwrap();
    let paragraphs: Vec<(usize, &str)> = input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let kept = String::from_utf8(kept).unwrap();
    let mut kept_lines = kept.lines().filter(|l| !l.trim().is_empty());
    let mut removed_iter = records.iter().peekable();
    for (number, text) in paragraphs {
        match removed_iter.peek() {
            Some(r) if r["line"].as_u64() == Some(number as u64) => {
                assert_eq!(r["text"].as_str(), Some(text));
                removed_iter.next();
            }
            _ => assert_eq!(kept_lines.next(), Some(text), "line {number}"),
        }
    }
    assert!(removed_iter.next().is_none() && kept_lines.next().is_none());
    // Side files named for a codec are written in it, as outputs in an OUTDIR are: the
    // same records, compressed.
    let file_stats = tmp.path().join("files.jsonl");
    ok(&["filter", "--file-stats", s(&file_stats), page]);
    let (gz, zst) = (
        tmp.path().join("removed.jsonl.gz"),
        tmp.path().join("files.jsonl.zst"),
    );
    ok(&["filter", "--removed", s(&gz), "--file-stats", s(&zst), page]);
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&fs::read(&gz).unwrap()[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, fs::read(&removed).unwrap());
    let unzstd = zstd::decode_all(&fs::read(&zst).unwrap()[..]).unwrap();
    assert_eq!(unzstd, fs::read(&file_stats).unwrap());
}

#[test]
fn a_page_whose_lines_end_in_cr_alone_is_read_line_by_line() {
    // Classic Mac OS line ends ("\r" alone): with no "\n" in a document, "\r" ends its
    // lines. Read as one line, the page would be one paragraph, its news kept or lost whole.
    let page = fs::read_to_string(shared().join("seed/page.txt")).unwrap();
    assert!(!page.contains('\r'));
    let tmp = tempfile::tempdir().unwrap();
    // The page, read whole; and ten of them (345 kB), read as a stream in one chunk. Each
    // also as a tool may leave it: ended by one "\n" after its "\r" line ends.
    let ten = [page.as_str()].repeat(10).join("\n");
    for (name, lf, ended) in [
        ("one", &page, false),
        ("ten", &ten, false),
        ("one.nl", &page, true),
        ("ten.nl", &ten, true),
    ] {
        let cr = lf.replace('\n', "\r") + if ended { "\n" } else { "" };
        let (lf_path, cr_path) = (tmp.path().join(name), tmp.path().join(format!("{name}.cr")));
        fs::write(&lf_path, lf).unwrap();
        fs::write(&cr_path, &cr).unwrap();
        let by_lf = String::from_utf8(ok(&["filter", "-q", s(&lf_path)])).unwrap();
        assert!(by_lf.lines().count() > 90 && by_lf.len() < lf.len());
        let by_cr = String::from_utf8(ok(&["filter", "-q", s(&cr_path)])).unwrap();
        assert_eq!(by_cr, by_lf.replace('\n', "\r"), "{name}");
        // Line numbers, scores and decisions are those of the "\n" page.
        let tags = |text: &str| {
            let o = chaff_in(
                &root(),
                &["tag", "-q", "--json", "-"],
                Some(text.as_bytes()),
            );
            assert!(o.status.success());
            String::from_utf8(o.stdout).unwrap()
        };
        assert_eq!(tags(&cr), tags(lf), "{name}");
        // The same in a JSONL record's text; its records still end at "\n" alone.
        let records = |text: &str| {
            let r = serde_json::json!({"id": name, "text": text}).to_string() + "\r\n";
            let path = tmp.path().join("r.jsonl");
            fs::write(&path, r.repeat(2)).unwrap();
            let out = ok(&["filter", "-q", "--jsonl", s(&path)]);
            let out: Vec<serde_json::Value> = out
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect();
            assert_eq!(out.len(), 2);
            out[0]["text"].as_str().unwrap().to_string()
        };
        assert_eq!(records(&cr), records(lf).replace('\n', "\r"), "{name}");
    }
}

/// A reader that closes standard output early (`chaff tag dump | head`) chose to stop: the
/// run ends quietly with exit 0, also when the output is an `--html` page written to
/// `/dev/stdout`. A run into an OUTDIR whose `--removed` file is stdout has left its
/// outputs unfinished when that reader goes: exit 1, named.
#[test]
fn a_reader_closing_standard_output_early_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir(&dir).unwrap();
    // Far more output than a pipe holds, so the run is still writing when the reader goes.
    let page = "国务院常务会议研究部署推进经济发展。\n哈哈哈哈好开心[哈哈]\n\n".repeat(4000);
    let input = dir.join("page.txt");
    fs::write(&input, page).unwrap();
    let out = tmp.path().join("out");
    let head = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chaff"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The pipe's reading end is closed here, as `head` closes it.
        let o = child.wait_with_output().unwrap();
        (o.status.code(), String::from_utf8(o.stderr).unwrap())
    };
    for args in [
        vec!["tag", "-q", s(&input)],
        vec!["filter", "-q", s(&input)],
        vec!["tag", "-q", "--html", "/dev/stdout", s(&input)],
        vec!["tag", "-q", "--html", "/dev/fd/1", s(&input)],
    ] {
        assert_eq!(head(&args), (Some(0), String::new()), "{args:?}");
    }
    let args = [
        "filter",
        "-q",
        "-o",
        s(&out),
        "--removed",
        "/dev/stdout",
        s(&dir),
    ];
    assert_eq!(
        head(&args),
        (
            Some(1),
            "chaff: --removed: Broken pipe (os error 32)\n".to_string()
        )
    );
}

/// stderr is for people, and may be gone (the reader of `chaff -v ... 2>&1 | head`
/// exits): what chaff says there is dropped and the run goes on to its end. 0.2.0
/// aborted (exit 134) at its first line after that, leaving its temporary files.
#[test]
fn a_closed_stderr_does_not_stop_a_run() {
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir(&input).unwrap();
    for page in dev_pages(60) {
        fs::copy(&page, input.join(page.file_name().unwrap())).unwrap();
    }
    // A warning too: a file skipped as binary.
    fs::write(input.join("zz.bin"), b"\x00\x01\x02binary").unwrap();
    let (closed, open) = (tmp.path().join("closed"), tmp.path().join("open"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaff"))
        .args(["-v", "filter", "-o", s(&closed), s(&input)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The pipe's reading end goes before the run says anything.
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let o = chaff(&["-v", "filter", "-o", s(&open), s(&input)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("zz.bin: skipped"));
    let files = |dir: &std::path::Path| {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != ".chaff-journal.jsonl" && n != ".chaff-run.json")
            .collect();
        names.sort();
        names
    };
    assert_eq!(files(&closed), files(&open));
    assert_eq!(files(&closed).len(), 60);
    for name in files(&open) {
        assert_eq!(
            fs::read(closed.join(&name)).unwrap(),
            fs::read(open.join(&name)).unwrap()
        );
    }
}
