//! The throughput floor of any jieba-based line classifier: read every file given (or
//! every file under a folder given) and segment each line with jieba-rs (no HMM), on one
//! thread. Prints `floor_mb_s <MB/s> <bytes> <seconds>` on stdout. Used by
//! bench/throughput.sh; build with `cargo build --release --example floor`.

use jieba_rs::Jieba;
use std::path::PathBuf;
use std::time::Instant;

fn files(p: PathBuf, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&p)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            files(e, out);
        }
    } else {
        out.push(p);
    }
}

fn main() {
    let mut all = Vec::new();
    for a in std::env::args().skip(1) {
        files(PathBuf::from(a), &mut all);
    }
    let jieba = Jieba::new();
    let start = Instant::now();
    let (mut bytes, mut tokens) = (0usize, 0usize);
    for f in &all {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        bytes += text.len();
        for line in text.lines() {
            tokens += jieba.cut(line, false).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("{} files, {tokens} tokens", all.len());
    println!(
        "floor_mb_s {:.2} {bytes} {secs:.3}",
        bytes as f64 / 1e6 / secs
    );
}
