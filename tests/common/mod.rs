//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared`, present on every developer machine and in CI.
pub fn shared() -> PathBuf {
    root().join("../shared")
}

/// The first `n` dev pages (`../shared/eval/dev/pages`), in name order.
pub fn dev_pages(n: usize) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(shared().join("eval/dev/pages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    pages.truncate(n);
    pages
}

/// Runs the chaff binary.
pub fn chaff(args: &[&str]) -> Output {
    chaff_in(&root(), args, None)
}

/// Runs the chaff binary in `dir`, optionally feeding `stdin`.
pub fn chaff_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaff"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chaff runs");
    let Some(data) = stdin else {
        return child.wait_with_output().unwrap();
    };
    // Fed from a thread of its own while the output is read: a run's output larger than
    // a pipe holds would otherwise stop it, and it would stop reading what is fed.
    let mut pipe = child.stdin.take().unwrap();
    std::thread::scope(|scope| {
        let fed = scope.spawn(move || pipe.write_all(data));
        let output = child.wait_with_output().unwrap();
        // A run refused before it reads standard input closes it: not the test's failure.
        match fed.join().unwrap() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin: {e}"),
            _ => output,
        }
    })
}

/// stdout of a run that must succeed.
pub fn ok(args: &[&str]) -> Vec<u8> {
    let o = chaff(args);
    assert!(
        o.status.success(),
        "chaff {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// stderr of a run that must fail; checks the one-line `chaff: ` form.
pub fn fails(args: &[&str]) -> String {
    let o = chaff(args);
    assert!(!o.status.success(), "chaff {args:?} should fail");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.starts_with("chaff: ") || err.starts_with("error: "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `tag --json` records without their `path` and `record` number, which say where in
/// which file (to compare runs over differently named inputs, in other formats, or with
/// bad records between the good).
pub fn unpathed(tag: &[u8]) -> Vec<serde_json::Value> {
    tag.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_slice(l).unwrap();
            let fields = v.as_object_mut().unwrap();
            fields.remove("path");
            fields.remove("record");
            v
        })
        .collect()
}

/// The texts of the kept lines in `tag --json` records, by record `id` in order, records
/// with none kept left out: what `filter` keeps of each record's strings.
pub fn kept_by_id(tags: &[serde_json::Value]) -> Vec<(String, Vec<String>)> {
    let mut want: Vec<(String, Vec<String>)> = Vec::new();
    for t in tags {
        let id = t["id"].as_str().unwrap().to_string();
        if want.last().is_none_or(|w| w.0 != id) {
            want.push((id, Vec::new()));
        }
        if t["keep"] == true {
            let text = t["text"].as_str().unwrap().to_string();
            want.last_mut().unwrap().1.push(text);
        }
    }
    want.retain(|w| !w.1.is_empty());
    want
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `chaff inspect MODEL` of a run that must succeed.
pub fn inspect(model: &Path) -> String {
    String::from_utf8(ok(&["inspect", s(model)])).unwrap()
}

/// `chaff eval --json ARGS...` of a run that must succeed: its report, and the report's
/// news_loss and filler_leak.
pub fn eval_report(args: &[&str]) -> (serde_json::Value, f64, f64) {
    let out = ok(&[&["eval", "-q", "--json"], args].concat());
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let (loss, leak) = (
        v["news_loss"].as_f64().unwrap(),
        v["filler_leak"].as_f64().unwrap(),
    );
    (v, loss, leak)
}

/// Evaluates the default model on the labelled page set `dir` and requires news_loss
/// and filler_leak (fractions) within the bounds; `what` names the set in the message.
pub fn assert_within(dir: &Path, max_loss: f64, max_leak: f64, what: &str) {
    let (_, loss, leak) = eval_report(&[s(dir)]);
    assert!(
        loss <= max_loss && leak <= max_leak,
        "{what}: news_loss {loss}, filler_leak {leak}"
    );
}

/// The labels of a labelled page set (`dir/labels.tsv`): (page, line) -> label.
pub fn read_labels(dir: &Path) -> std::collections::HashMap<(String, usize), String> {
    std::fs::read_to_string(dir.join("labels.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|row| {
            let f: Vec<&str> = row.split('\t').collect();
            ((f[0].to_string(), f[1].parse().unwrap()), f[2].to_string())
        })
        .collect()
}

/// Runs a command that must succeed (its stderr is the failure message).
pub fn run_ok(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every layout compose_pages.py makes.
pub const ALL_LAYOUTS: &str = "seed,indented,middle,bare,interleaved";

/// Composes `n` labelled pages with ../shared/tools/compose_pages.py from the corpus
/// `portion` files ("train" or "dev") in `layouts` (comma-separated) into `out`, with
/// the chrome lines of the TSV file `chrome` instead of the seed page's.
pub fn compose(
    portion: &str,
    n: usize,
    seed: u64,
    layouts: &str,
    chrome: Option<&Path>,
    out: &Path,
) {
    let corpus = shared().join("corpus");
    let glob = |dir: &str, file: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(corpus.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path().join(file))
            .filter(|p| p.exists())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let mut cmd = Command::new("python3");
    cmd.arg(shared().join("tools/compose_pages.py"))
        .arg("--news")
        .args(glob("news", &format!("{portion}.articles.jsonl")))
        .arg("--filler")
        .args(glob("filler", &format!("{portion}.txt")))
        .args(["--pages", &n.to_string(), "--seed", &seed.to_string()])
        .args(["--layouts", layouts, "--out"])
        .arg(out);
    if let Some(c) = chrome {
        cmd.arg("--chrome").arg(c);
    }
    run_ok(&mut cmd);
}
