//! Training reproducibility: the committed model is what the recipe builds, whatever the
//! thread count; update and forget are exact.

mod common;
use common::*;
use std::fs;
use std::process::Command;

#[test]
fn committed_model_is_what_the_recipe_builds() {
    let tmp = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("model-{threads}.chaff"));
        let st = Command::new("bash")
            .arg(root().join("training/build-model.sh"))
            .arg(&out)
            .env("CHAFF_BIN", env!("CARGO_BIN_EXE_chaff"))
            .env("CHAFF_WORK", tmp.path().join("work"))
            .env("CHAFF_SHARED", shared())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
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
    let inspect = |p: &str| String::from_utf8(ok(&["inspect", p])).unwrap();
    assert_eq!(inspect(s(&m("a-p"))), inspect(s(&m("tsv"))));
    // Data the model never saw cannot be forgotten.
    let err = fails(&[
        "forget",
        "--model",
        s(&m("tsv")),
        "-o",
        s(&m("x")),
        "tests/data/pageset",
    ]);
    assert!(err.contains("cannot forget"), "{err}");
    assert!(!m("x").exists());
}
