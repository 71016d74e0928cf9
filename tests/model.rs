//! Model-level checks: the compiled table against linfa-bayes itself, exact counts, and the
//! model file's integrity checks.

use chaff::context::ContextModel;
use chaff::counts::Counts;
use chaff::features::FeatureConfig;
use chaff::model::{Model, TrainInfo};
use chaff::model_file;
use linfa::prelude::*;
use linfa_bayes::{MultinomialNbParams, NaiveBayes};
use ndarray::{Array1, Array2};
use std::path::Path;

fn info() -> TrainInfo {
    TrainInfo {
        alpha: 0.5,
        min_count: 1,
        features: FeatureConfig::default(),
        threshold: 0.5,
        inputs: vec!["test".into()],
        tuned_on: Vec::new(),
    }
}

/// Deterministic pseudo-random documents over a small vocabulary, three classes.
fn corpus() -> Vec<(usize, Vec<String>)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..300)
        .map(|i| {
            let class = i % 3;
            let len = 1 + (next() % 120) as usize; // long rows too: no overflow anywhere
            let toks = (0..len)
                .map(|_| format!("w{}", (next() % 40) + 10 * class as u64))
                .collect();
            (class, toks)
        })
        .collect()
}

#[test]
fn compiled_table_equals_linfa_joint_log_likelihood() {
    let docs = corpus();
    let names = ["a", "b", "c"];
    let mut counts = Counts::new();
    for (c, toks) in &docs {
        let i = counts.class_index(names[*c]);
        counts.add(i, toks.iter().map(String::as_str));
    }
    let model = Model::fit(counts, info(), ContextModel::empty(3, 1.0)).unwrap();
    let vocab = model.vocab().to_vec();

    // linfa fitted the textbook way: one dense row per document, in two fit_with batches.
    let mut x = Array2::<f64>::zeros((docs.len(), vocab.len()));
    for (r, (_, toks)) in docs.iter().enumerate() {
        for t in toks {
            let j = vocab.binary_search(t).unwrap();
            x[(r, j)] += 1.0;
        }
    }
    let y = Array1::from_iter(docs.iter().map(|d| d.0));
    let params = MultinomialNbParams::<f64, usize>::new()
        .alpha(0.5)
        .check()
        .unwrap();
    let half = docs.len() / 2;
    let b1 = DatasetBase::new(
        x.slice(ndarray::s![..half, ..]).to_owned(),
        y.slice(ndarray::s![..half]).to_owned(),
    );
    let b2 = DatasetBase::new(
        x.slice(ndarray::s![half.., ..]).to_owned(),
        y.slice(ndarray::s![half..]).to_owned(),
    );
    let nb = params.fit_with(None, &b1).unwrap();
    let nb = params.fit_with(Some(nb), &b2).unwrap();
    let jll = nb.joint_log_likelihood(x.view());

    let mut ours = Vec::new();
    for (r, (_, toks)) in docs.iter().enumerate() {
        model.joint_log_likelihood(toks.iter().map(String::as_str), &mut ours);
        for c in 0..3 {
            let theirs = jll[&c][r];
            assert!(
                (ours[c] - theirs).abs() < 1e-9,
                "row {r} class {c}: table {} vs linfa {}",
                ours[c],
                theirs
            );
        }
    }
}

#[test]
fn posteriors_are_finite_for_very_long_paragraphs() {
    let model = chaff::default_model().unwrap();
    let c = chaff::classifier::Classifier::new(model);
    let long = "哈哈哈今天好开心[哈哈]".repeat(2000);
    let news = "国务院常务会议研究部署经济工作，要求各地区各部门抓好落实。".repeat(2000);
    for text in [long.as_str(), news.as_str()] {
        for ctx in [true, false] {
            let c2 = chaff::classifier::Classifier::new(chaff::default_model().unwrap())
                .with_context(ctx);
            let p = &c2.classify_lines(&[text], &[])[0];
            assert!(p.iter().all(|v| v.is_finite()), "{p:?}");
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
    let p = &c.classify_lines(&[long.as_str(), news.as_str()], &[]);
    assert!(p[0][0] > 0.5 && p[1][1] > 0.5, "{p:?}");
}

#[test]
fn model_file_round_trips_byte_for_byte() {
    let bytes = chaff::DEFAULT_MODEL;
    let model = model_file::from_bytes(bytes, Path::new("x")).unwrap();
    assert_eq!(model_file::to_bytes(&model), bytes);
}

fn load_err(bytes: &[u8]) -> String {
    match model_file::from_bytes(bytes, Path::new("m.chaff")) {
        Ok(_) => panic!("accepted a bad model file"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_model_files_are_clear_errors() {
    let good = chaff::DEFAULT_MODEL;
    assert!(load_err(b"").contains("magic"));
    assert!(load_err(b"hello world, not a model").contains("magic"));
    assert!(load_err(&good[..100]).contains("m.chaff"));
    for cut in [9, 16, 30, good.len() / 2, good.len() - 1] {
        let e = load_err(&good[..cut]);
        assert!(e.starts_with("m.chaff: not a usable chaff model"), "{e}");
    }
    let mut flipped = good.to_vec();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(load_err(&flipped).contains("checksum"));
    let mut version = good.to_vec();
    version[8] = 99;
    assert!(load_err(&version).contains("version 99"));
    // Random bytes behind a valid magic.
    let mut junk = b"CHAFFMDL".to_vec();
    let mut x: u32 = 12345;
    for _ in 0..5000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        junk.push((x >> 16) as u8);
    }
    load_err(&junk);
    // A well-formed, checksummed file whose vocabulary lists one token twice (its last
    // entry, index and two rows, repeats the one before): an error, not a model whose
    // token table could never be built. (Format 1, where the vocabulary ends the body.)
    let mut model = chaff::default_model().unwrap();
    model.seen = None;
    let v1 = model_file::to_bytes(&model);
    let body = &v1[..v1.len() - 4];
    let entry = 4 + 2 * 8;
    let mut twice = body.to_vec();
    let (last, before) = (body.len() - entry, body.len() - 2 * entry);
    twice.copy_within(before..before + 4, last);
    let crc = crc32fast::hash(&twice);
    twice.extend_from_slice(&crc.to_le_bytes());
    let e = load_err(&twice);
    assert!(e.contains("listed twice in the vocabulary"), "{e}");
    // Format 2's line fingerprints, checksummed but damaged: a count past the file, a
    // fingerprint cut short.
    let at = v1.len() - 4; // where the fingerprints begin
    let rechecked = |mut b: Vec<u8>| {
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        load_err(&b)
    };
    let mut count = good[..good.len() - 4].to_vec();
    count[at + 7] = 0x7f;
    let e = rechecked(count);
    assert!(e.contains("exceed the file"), "{e}");
    let mut cut = good[..good.len() - 5].to_vec();
    *cut.last_mut().unwrap() |= 0x80;
    let e = rechecked(cut);
    assert!(e.contains("truncated in the line fingerprints"), "{e}");
}

#[test]
fn a_model_without_line_fingerprints_is_written_and_read_as_format_1() {
    let mut model = chaff::default_model().unwrap();
    let seen = model
        .seen
        .take()
        .expect("the default model keeps fingerprints");
    assert!(seen.len() > 100_000);
    let v1 = model_file::to_bytes(&model);
    assert_eq!(&v1[8..12], &1u32.to_le_bytes());
    assert_eq!(&chaff::DEFAULT_MODEL[8..12], &2u32.to_le_bytes());
    let back = model_file::from_bytes(&v1, Path::new("v1")).unwrap();
    assert!(back.seen.is_none());
    assert_eq!(model_file::to_bytes(&back), v1);
    // The same model but for its version and the fingerprints that end format 2's body.
    assert_eq!(v1[12..v1.len() - 4], chaff::DEFAULT_MODEL[12..v1.len() - 4]);
}

#[test]
fn a_threshold_out_of_range_is_named_by_where_it_came_from() {
    use chaff::classifier::KeepPolicy;
    let mut m = chaff::default_model().unwrap();
    m.info.threshold = 2.0;
    let e = KeepPolicy::new(&m, &[], None).unwrap_err().to_string();
    assert_eq!(
        e,
        "the model's threshold is 2, not between 0 and 1; give --threshold"
    );
    assert!(KeepPolicy::new(&m, &[], Some(0.5)).is_ok());
    let e = KeepPolicy::new(&m, &[], Some(f64::NAN))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "--threshold must be between 0 and 1, got NaN");
}

#[test]
fn fewer_than_two_classes_is_an_error() {
    let mut counts = Counts::new();
    let i = counts.class_index("news");
    counts.add(i, ["a", "b"]);
    let e = Model::fit(counts, info(), ContextModel::empty(1, 1.0)).unwrap_err();
    assert!(e.to_string().contains("at least two"), "{e}");
}

#[test]
fn windowed_scoring_equals_the_plain_sum_bit_for_bit() {
    // `score_lines` segments a window of lines, prefetching table slots, before summing;
    // it must give exactly the plain definition's numbers (each token's ln P(token | class)
    // added in order), across window boundaries too.
    let c = chaff::classifier::Classifier::new(chaff::default_model().unwrap());
    let (m, f) = (c.model(), c.featurizer());
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let mut text = std::fs::read_to_string(shared.join("seed/page.txt")).unwrap();
    let mut pages: Vec<_> = std::fs::read_dir(shared.join("eval/dev/pages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    for p in pages.iter().take(20) {
        text += &std::fs::read_to_string(p).unwrap();
    }
    text += &"长".repeat(50_000); // one line longer than a segmentation piece
    text += "\n"; // and an empty line
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(lines.len() > 1000);
    let windowed = chaff::classifier::score_lines(m, f, &lines);
    assert_eq!(windowed.len(), lines.len());
    for (line, got) in lines.iter().zip(&windowed) {
        let k = m.classes().len();
        let (mut words, mut structure) = (vec![0.0; k], vec![0.0; k]);
        let (mut nw, mut ns) = (0, 0);
        f.for_each_token_kind(line, |t, is_structure| {
            let (sum, n) = if is_structure {
                (&mut structure, &mut ns)
            } else {
                (&mut words, &mut nw)
            };
            *n += 1;
            if let Some(lp) = m.token_log_probs(t) {
                sum.iter_mut().zip(lp).for_each(|(x, l)| *x += l);
            }
        });
        assert_eq!(got.words.as_slice(), words.as_slice(), "{line:?}");
        assert_eq!(got.structure.as_slice(), structure.as_slice(), "{line:?}");
        assert_eq!((got.word_tokens, got.structure_tokens), (nw, ns));
    }
    assert_eq!(
        chaff::classifier::score_line(m, f, lines[3]),
        windowed[3].clone()
    );
}
