//! The throughput floor of any jieba-based line classifier: read every file given (or
//! every file under a folder given) and segment each line with jieba-rs (no HMM), on one
//! thread. Prints `floor_mb_s <MB/s> <bytes> <seconds>` on stdout. Used by
//! bench/throughput.sh; build with `cargo build --release --example floor`.
//!
//! `floor --huge-pages PATH...` runs it with chaff's huge-page allocator, so chaff can also
//! be compared with a floor given the same memory (chaff installs that allocator).

use chaff::huge_pages::HugePageAlloc;
use jieba_rs::Jieba;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

/// Set from the command line before anything big is allocated, so every block of 2 MiB
/// or more (the only ones the two allocators treat differently) is freed by the allocator
/// that made it.
static HUGE: AtomicBool = AtomicBool::new(false);

struct Switch;

// SAFETY: forwards to one of two allocators, chosen before the first big block.
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if HUGE.load(Relaxed) {
            HugePageAlloc.alloc(l)
        } else {
            System.alloc(l)
        }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if HUGE.load(Relaxed) {
            HugePageAlloc.alloc_zeroed(l)
        } else {
            System.alloc_zeroed(l)
        }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if HUGE.load(Relaxed) {
            HugePageAlloc.dealloc(p, l)
        } else {
            System.dealloc(p, l)
        }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if HUGE.load(Relaxed) {
            HugePageAlloc.realloc(p, l, n)
        } else {
            System.realloc(p, l, n)
        }
    }
}

#[global_allocator]
static ALLOC: Switch = Switch;

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
        if a == "--huge-pages" {
            HUGE.store(true, Relaxed);
            continue;
        }
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
