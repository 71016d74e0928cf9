//! Helpers shared by the unit tests of the compressed writers and readers.

use crate::compression::Compression;
use std::io::Write;

/// `n` bytes of Chinese text, compressible but not trivially: a counter in prose.
pub fn text(n: usize) -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0u64;
    while s.len() < n {
        s += &format!(
            "第{i}段：新闻稿件，{}。\n",
            i.wrapping_mul(2654435761) % 9973
        );
        i += 1;
    }
    s.into_bytes()[..n].to_vec()
}

/// `data` compressed by chaff's writer for `c` ([`crate::output::Compressed`]), written
/// in pieces of the given sizes, cycled.
pub fn written(c: Compression, data: &[u8], pieces: &[usize]) -> Vec<u8> {
    let mut w = crate::output::Compressed::new(Vec::new(), c, None, true).unwrap();
    let mut at = 0;
    for &n in pieces.iter().cycle() {
        if at == data.len() {
            break;
        }
        let end = (at + n.max(1)).min(data.len());
        w.write_all(&data[at..end]).unwrap();
        at = end;
    }
    w.finish().unwrap()
}

/// Asserts that `data` compressed as `c` gives the same bytes however it is written: in
/// other pieces, and on rayon pools of 1 and 3 threads.
pub fn assert_the_bytes_depend_on_the_data_alone(c: Compression, data: &[u8]) {
    let a = written(c, data, &[1 << 20]);
    assert!(
        written(c, data, &[1, 77, 4096, 100_003]) == a,
        "{c:?}: other pieces"
    );
    for n in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        assert!(
            pool.install(|| written(c, data, &[5000])) == a,
            "{c:?}: {n} threads"
        );
    }
}

/// Writes `data` to `w` in pieces of the sizes in `cuts`, flushing after a piece where
/// `flushes` says so (both cycled), as a pipe run writes record by record.
pub fn write_with_flushes(w: &mut impl Write, data: &[u8], cuts: &[usize], flushes: &[bool]) {
    let mut at = 0;
    for (&cut, &flush) in cuts.iter().cycle().zip(flushes.iter().cycle()) {
        if at == data.len() {
            break;
        }
        let end = (at + cut.max(1)).min(data.len());
        w.write_all(&data[at..end]).unwrap();
        if flush {
            w.flush().unwrap();
        }
        at = end;
    }
}
